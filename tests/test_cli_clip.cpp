// test_cli_clip.cpp — `wsdol clip` run as a program: one tiny CLIP (real vocabulary size and context, tiny widths;
// tests/reference/cli/gen_cli_fixtures.py) stored as safetensors, torch.save zip and TorchScript archive gives
// bit-identical embeddings from all three files, and PyTorch's embeddings / logits / probabilities of the same
// images and texts (open_clip preprocessing, the reference tokenizer) within 1e-4 (1 + |b|); plus the text table
// and the errors (missing image, unreadable weights, not CLIP, text too long, vocabulary mismatch). An HF
// CLIPModel file and an OpenAI CLIP with a ModifiedResNet tower (both f16) are checked against PyTorch likewise.
//
// Tolerance: the images are PNGs, so the preprocessed tensors equal PyTorch's bit for bit (test_preprocess.cpp);
// what remains is f32 model arithmetic in another summation order (~1e-7 on the embeddings; ~1e-6 through the
// f16-valued ModifiedResNet) and the normalisation / logits done in double here and in f32 by PyTorch (~1e-7
// relative): embeddings and probabilities within 1e-4 (1 + |b|), logits (= 100 cos) within 1e-4 (100 + |b|).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "tests/cli_test_util.h"

namespace wsdol {
namespace {

const std::string kDir = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/cli/";
const std::string kModels = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/models/";
const std::string kVocab = std::string(WSDOL_SHARED_DIR) + "/data/clip/bpe_simple_vocab_16e6.txt.gz";
// as gen_cli_fixtures.py IMAGES and TEXTS
const std::vector<std::string> kImages{"images/synth_wide.png", "images/real_cub.png", "images/synth_grey.png"};
const std::vector<std::string> kTexts{"a photo of a bird", "a diagram of stripes",
                                      "Café déjà vu! <b>grey</b> square 😀"};

// single-quoted for the shell (appends rather than operator+ chains: GCC 12 warns falsely (-Wrestrict) on those)
std::string sq(const std::string& s) {
    std::string r(1, '\'');
    r.append(s);
    r.push_back('\'');
    return r;
}

std::string clip_args(const std::string& weights, const std::string& extra = "--json") {
    std::string cmd = "clip --weights " + sq(weights) + " --head-width 4 --vocab " + sq(kVocab) + " --image";
    for (const auto& i : kImages) cmd.append(" ").append(sq(kDir + i));
    cmd += " --text";
    for (const auto& t : kTexts) cmd.append(" ").append(sq(t));
    return cmd + " " + extra;
}

std::vector<std::vector<double>> matrix(const json::Value& root, const char* key) {
    std::vector<std::vector<double>> m;
    for (const json::Value& row : root.at(key).items()) {
        m.emplace_back();
        for (const json::Value& x : row.items()) m.back().push_back(x.as_double());
    }
    return m;
}

// |ours - b| <= 1e-4 (floor + |b|): floor 1 for embeddings and probabilities; for the logits (= 100 cos) the floor
// is the logit scale, since an embedding error e becomes a logit error of up to 100 e (logits near 0 would
// otherwise get a 100x tighter bound than the embeddings they come from).
void expect_matches_torch(const std::vector<std::vector<double>>& ours, const Tensor& ref, const std::string& what,
                          double floor = 1.0) {
    ASSERT_EQ(ref.dim(), 2);
    ASSERT_EQ(static_cast<int64_t>(ours.size()), ref.size(0)) << what;
    const std::vector<double> b = ref.to_vector();
    double worst = 0;
    for (size_t i = 0; i < ours.size(); ++i) {
        ASSERT_EQ(static_cast<int64_t>(ours[i].size()), ref.size(1)) << what;
        for (size_t j = 0; j < ours[i].size(); ++j) {
            const double bound = 1e-4 * (floor + std::fabs(b[i * ours[i].size() + j]));
            const double err = std::fabs(ours[i][j] - b[i * ours[i].size() + j]);
            worst = std::max(worst, err / bound);
            EXPECT_LE(err, bound) << what << "[" << i << "][" << j << "]";
        }
    }
    std::printf("  %-13s max err/bound %.3g\n", what.c_str(), worst);
}

bool have_vocab() { return std::filesystem::exists(kVocab); }

TEST(CliClip, ThreeFormatsGiveIdenticalEmbeddingsAndMatchPyTorch) {
    if (!have_vocab()) GTEST_SKIP() << "no CLIP vocab at " << kVocab;
    const NamedTensors ref = io::load_safetensors(kDir + "clip_expected.safetensors");
    auto ref_of = [&](const std::string& name) {
        for (const auto& [n, t] : ref)
            if (n == name) return t;
        ADD_FAILURE() << "no " << name;
        return Tensor();
    };
    std::vector<std::string> dumps;
    for (const char* file : {"clip_tiny.safetensors", "clip_tiny.pth", "clip_tiny.pt"}) {
        SCOPED_TRACE(file);
        const test::CliResult r = test::run_wsdol(clip_args(kDir + file));
        ASSERT_EQ(r.code, 0) << r.output;
        const json::Value root = json::parse(r.output);
        EXPECT_EQ(root.at("format").as_string(),
                  std::string(file).ends_with(".safetensors") ? "safetensors"
                  : std::string(file).ends_with(".pth")       ? "PyTorch zip (torch.save)"
                                                              : "TorchScript archive");
        ASSERT_EQ(root.at("images").size(), 3u);
        EXPECT_EQ(root.at("texts").items()[2].as_string(), kTexts[2]);
        EXPECT_NEAR(root.at("logit_scale").as_double(), 100.0, 1e-4);
        expect_matches_torch(matrix(root, "image_embeds"), ref_of("image_embeds"), "image_embeds");
        expect_matches_torch(matrix(root, "text_embeds"), ref_of("text_embeds"), "text_embeds");
        expect_matches_torch(matrix(root, "logits"), ref_of("logits"), "logits", 100.0);
        expect_matches_torch(matrix(root, "probs"), ref_of("probs"), "probs");
        // unit norm
        for (const auto& row : matrix(root, "image_embeds")) {
            double ss = 0;
            for (double x : row) ss += x * x;
            EXPECT_NEAR(ss, 1.0, 1e-6);
        }
        std::string d;
        for (const char* key : {"image_embeds", "text_embeds", "logits", "probs"}) d += json::dump(root.at(key));
        dumps.push_back(d);
    }
    // bit-equal across the three formats (the JSON prints the shortest text that reads back to the same double)
    EXPECT_EQ(dumps[0], dumps[1]) << "safetensors vs torch zip";
    EXPECT_EQ(dumps[0], dumps[2]) << "safetensors vs TorchScript";
}

// The embeddings, logits and probabilities of a `wsdol clip --json` output against a reference file's.
void expect_matches_reference(const json::Value& root, const std::string& reference_file) {
    const NamedTensors ref = io::load_safetensors(kDir + reference_file);
    for (const char* key : {"image_embeds", "text_embeds", "logits", "probs"}) {
        Tensor b;
        for (const auto& [n, t] : ref)
            if (n == key) b = t;
        ASSERT_TRUE(b.defined()) << reference_file << " has no " << key;
        expect_matches_torch(matrix(root, key), b, key, std::string(key) == "logits" ? 100.0 : 1.0);
    }
}

// An HF transformers CLIPModel (f16 file): renamed to OpenAI names (weights/name_maps.h) and checked against HF's
// own forward (image_embeds / text_embeds / logits_per_image).
TEST(CliClip, HuggingFaceCheckpointMatchesTransformers) {
    if (!have_vocab()) GTEST_SKIP() << "no CLIP vocab at " << kVocab;
    const test::CliResult r = test::run_wsdol(clip_args(kDir + "clip_tiny_hf.safetensors"));
    ASSERT_EQ(r.code, 0) << r.output;
    const json::Value root = json::parse(r.output);
    EXPECT_NE(root.at("architecture").as_string().find("HF CLIPModel"), std::string::npos);
    expect_matches_reference(root, "clip_hf_expected.safetensors");
}

// OpenAI CLIP with a ModifiedResNet image tower (f16 file, input 64 = 32 x the attnpool grid).
TEST(CliClip, ModifiedResNetCheckpointMatchesOpenAI) {
    if (!have_vocab()) GTEST_SKIP() << "no CLIP vocab at " << kVocab;
    const test::CliResult r = test::run_wsdol(clip_args(kDir + "clip_tiny_rn.safetensors"));
    ASSERT_EQ(r.code, 0) << r.output;
    const json::Value root = json::parse(r.output);
    EXPECT_NE(root.at("preprocess").as_string().find("resize 64 (bicubic), center crop 64"), std::string::npos);
    expect_matches_reference(root, "clip_rn_expected.safetensors");
}

TEST(CliClip, TableListsEveryTextPerImage) {
    if (!have_vocab()) GTEST_SKIP() << "no CLIP vocab at " << kVocab;
    const test::CliResult r = test::run_wsdol(clip_args(kDir + "clip_tiny.safetensors", ""));
    ASSERT_EQ(r.code, 0) << r.output;
    for (const auto& t : kTexts) EXPECT_NE(r.output.find(t), std::string::npos) << r.output;
    for (const auto& i : kImages) EXPECT_NE(r.output.find(i), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("preprocess:  clip: resize 32 (bicubic), center crop 32"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("logit scale: 100"), std::string::npos) << r.output;
    // the fixture's probabilities (gen_cli_fixtures.py prints them): the third text wins every image, 78.19% first
    size_t best = 0, pos = 0;
    while ((pos = r.output.find("<- best", pos)) != std::string::npos) ++best, ++pos;
    EXPECT_EQ(best, 3u);
    EXPECT_NE(r.output.find("78.19%"), std::string::npos) << r.output;
}

TEST(CliClip, RepeatedAndInlineListOptions) {
    if (!have_vocab()) GTEST_SKIP() << "no CLIP vocab at " << kVocab;
    const std::string w = kDir + "clip_tiny.safetensors";
    const test::CliResult r = test::run_wsdol("clip --json --head-width 4 --vocab " + sq(kVocab) + " --weights " +
                                              sq(w) + " --image " + sq(kDir + kImages[0]) + " --text=" +
                                              sq("--dashes--") + " --image " + sq(kDir + kImages[1]) +
                                              " --text 'a cat' 'a dog'");
    ASSERT_EQ(r.code, 0) << r.output;
    const json::Value root = json::parse(r.output);
    ASSERT_EQ(root.at("images").size(), 2u);
    ASSERT_EQ(root.at("texts").size(), 3u);
    EXPECT_EQ(root.at("texts").items()[0].as_string(), "--dashes--");
    EXPECT_EQ(matrix(root, "probs")[1].size(), 3u);
}

TEST(CliClip, Errors) {
    if (!have_vocab()) GTEST_SKIP() << "no CLIP vocab at " << kVocab;
    const std::string w = kDir + "clip_tiny.safetensors";
    const std::string base = "clip --head-width 4 --vocab " + sq(kVocab) + " ";
    const std::string img = " --image " + sq(kDir + kImages[0]);
    auto expect_failure = [](const std::string& args, const std::vector<std::string>& pieces) {
        const test::CliResult r = test::run_wsdol(args);
        EXPECT_NE(r.code, 0) << args << "\n" << r.output;
        for (const auto& p : pieces) EXPECT_NE(r.output.find(p), std::string::npos) << "'" << p << "' not in: " << r.output;
    };
    expect_failure(base + "--weights " + sq(w) + " --image /nonexistent/cat.png --text cat",
                   {"clip: --image /nonexistent/cat.png: no such file"});
    expect_failure(base + "--weights /nonexistent/w.pt" + img + " --text cat", {"--weights /nonexistent/w.pt"});
    // a file that is no weights file at all: the reader's error names it
    expect_failure(base + "--weights " + sq(kDir + "labels10.txt") + img + " --text cat", {"labels10.txt"});
    expect_failure(base + "--weights " + sq(kModels + "deit.safetensors") + img + " --text cat",
                   {"deit.safetensors is not a CLIP checkpoint", "timm ViT"});
    expect_failure(base + "--weights " + sq(kModels + "timm_clip.safetensors") + img + " --text cat",
                   {"timm_clip.safetensors holds only timm's CLIP image tower"});
    // the reduced model fixtures have a 64-token vocabulary: the real tokenizer's ids would not index it
    expect_failure("clip --head-width 16 --vocab " + sq(kVocab) + " --weights " + sq(kModels + "clip_vit.safetensors") +
                       img + " --text cat",
                   {"token_embedding.weight has 64 rows but the CLIP tokenizer", "49408"});
    expect_failure("clip --vocab " + sq(kVocab) + " --weights " + sq(w) + img + " --text cat",
                   {"clip_tiny.safetensors", "is not a multiple of the head width 64", "--head-width"});
    std::string long_text;
    for (int i = 0; i < 80; ++i) long_text += "word ";
    expect_failure(base + "--weights " + sq(w) + img + " --text cat " + sq(long_text),
                   {"--text 2 \"word word", "too long for context length 77", "--truncate"});
    const test::CliResult ok = test::run_wsdol(base + "--truncate --json --weights " + sq(w) + img + " --text " +
                                               sq(long_text));
    EXPECT_EQ(ok.code, 0) << ok.output;
    expect_failure(base + "--weights " + sq(w) + img, {"at least one --text"});
    expect_failure(base + "--weights " + sq(w) + " --text cat", {"at least one --image"});
    expect_failure(base + img + " --text cat", {"--weights FILE is required"});
    expect_failure(base + "--weights " + sq(w) + img + " --text", {"option --text needs at least one value"});
    expect_failure("clip --vocab /nonexistent/vocab.gz --weights " + sq(w) + img + " --text cat",
                   {"--vocab /nonexistent/vocab.gz does not exist"});
}

}  // namespace
}  // namespace wsdol
