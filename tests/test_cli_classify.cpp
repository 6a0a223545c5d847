// test_cli_classify.cpp — `wsdol classify` run as a program on the reduced timm DeiT (plain, distilled) and
// torchvision ResNet checkpoints of tests/reference/models: logits equal PyTorch's on the same images through the
// reference preprocessing (tests/reference/cli/gen_cli_fixtures.py: the DeiT repo's eval transform, timm's
// create_transform, torchvision's IMAGENET1K_V1 transforms) within 1e-4 (1 + |b|); the torch.save / DeiT-release
// / legacy files give bit-identical output to their safetensors twins; top-K, labels and errors.
//
// Tolerance: PNG inputs, so the input tensors are PyTorch's bit for bit (test_preprocess.cpp); the rest is f32
// model arithmetic in another order (the model tests see ~6e-8 on logits of order 1).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "tests/cli_test_util.h"

namespace wsdol {
namespace {

const std::string kDir = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/cli/";
const std::string kModels = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/models/";
const std::string kImages = " --image '" + kDir + "images/real_voc.png' '" + kDir + "images/synth_tall.png'";

std::string classify(const std::string& weights, const std::string& extra) {
    return "classify --weights '" + kModels + weights + "'" + kImages + " " + extra;
}

json::Value run_json(const std::string& args) {
    const test::CliResult r = test::run_wsdol(args + " --json");
    EXPECT_EQ(r.code, 0) << args << "\n" << r.output;
    if (r.code != 0) return json::Value::object();
    return json::parse(r.output);
}

void expect_logits(const json::Value& root, const std::string& ref_name) {
    const NamedTensors ref = io::load_safetensors(kDir + "classify_expected.safetensors");
    Tensor b;
    for (const auto& [n, t] : ref)
        if (n == ref_name + ".logits") b = t;
    ASSERT_TRUE(b.defined()) << ref_name;
    const std::vector<double> bv = b.to_vector();
    const json::Value* logits = root.find("logits");
    ASSERT_TRUE(logits) << ref_name;
    ASSERT_EQ(static_cast<int64_t>(logits->size()), b.size(0));
    double worst = 0;
    for (size_t i = 0; i < logits->size(); ++i) {
        const auto& row = logits->items()[i].items();
        ASSERT_EQ(static_cast<int64_t>(row.size()), b.size(1));
        double psum = 0;
        for (size_t j = 0; j < row.size(); ++j) {
            const double ref_v = bv[i * row.size() + j], bound = 1e-4 * (1 + std::fabs(ref_v));
            const double err = std::fabs(row[j].as_double() - ref_v);
            worst = std::max(worst, err / bound);
            EXPECT_LE(err, bound) << ref_name << "[" << i << "][" << j << "]";
            psum += root.at("probs").items()[i].items()[j].as_double();
        }
        EXPECT_NEAR(psum, 1.0, 1e-12);
    }
    std::printf("  %-15s max err/bound %.3g\n", ref_name.c_str(), worst);
}

std::string outputs(const json::Value& root) { return json::dump(root.at("logits")) + json::dump(root.at("probs")); }

TEST(CliClassify, DeiTMatchesTimmOnDeiTRepoPreprocessing) {
    const json::Value st = run_json(classify("deit.safetensors", "--head-width 16"));
    expect_logits(st, "deit");
    EXPECT_NE(st.at("preprocess").as_string().find("deit: resize 36 (bicubic), center crop 32"), std::string::npos);
    // DeiT's release layout {'model': state_dict} in a torch.save zip: the same numbers
    const json::Value pth = run_json(classify("deit.pth", "--head-width 16"));
    EXPECT_EQ(outputs(pth), outputs(st));
    EXPECT_EQ(pth.at("format").as_string(), "PyTorch zip (torch.save)");
}

TEST(CliClassify, PreprocessVitMatchesTimmCreateTransform) {
    const json::Value r = run_json(classify("deit.safetensors", "--head-width 16 --preprocess vit"));
    expect_logits(r, "deit_vit");
    EXPECT_NE(r.at("preprocess").as_string().find("vit: resize 35 (bicubic), center crop 32, mean (0.5, 0.5, 0.5)"),
              std::string::npos);
}

TEST(CliClassify, DistilledDeiTAveragesItsHeads) {
    const json::Value st = run_json(classify("deit_distilled.safetensors", "--head-width 16"));
    expect_logits(st, "deit_distilled");
    EXPECT_EQ(outputs(run_json(classify("deit_distilled.pth", "--head-width 16"))), outputs(st));
}

TEST(CliClassify, ResNetMatchesTorchvisionTransforms) {
    const json::Value st = run_json(classify("resnet.safetensors", ""));
    expect_logits(st, "resnet");
    EXPECT_NE(st.at("preprocess").as_string().find("resnet: resize 256 (bilinear), center crop 224"),
              std::string::npos);
    EXPECT_EQ(outputs(run_json(classify("resnet.pth", ""))), outputs(st));
    EXPECT_EQ(outputs(run_json(classify("resnet_legacy.pth", ""))), outputs(st));  // no BN counters, pickle stream
}

TEST(CliClassify, TopKWithLabels) {
    const test::CliResult r = test::run_wsdol(classify("resnet.safetensors", "--top 3 --labels '" + kDir + "labels10.txt'"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("preprocess: resnet: resize 256 (bilinear)"), std::string::npos) << r.output;
    // PyTorch's top class of both images is 7 ("cock", gen_cli_fixtures.py prints it)
    EXPECT_NE(r.output.find("   1.  "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("7  cock"), std::string::npos) << r.output;
    size_t lines = 0, pos = 0;
    while ((pos = r.output.find("%  ", pos)) != std::string::npos) ++lines, ++pos;
    EXPECT_EQ(lines, 6u) << r.output;  // 3 per image

    const json::Value j = run_json(classify("resnet.safetensors", "--top 20 --labels '" + kDir + "labels10.txt'"));
    const auto& top = j.at("top").items()[0].items();
    ASSERT_EQ(top.size(), 10u);  // K is capped at the number of classes
    EXPECT_EQ(top[0].at("index").as_int64(), 7);
    EXPECT_EQ(top[0].at("label").as_string(), "cock");
    for (size_t k = 1; k < top.size(); ++k) EXPECT_GE(top[k - 1].at("prob").as_double(), top[k].at("prob").as_double());
}

TEST(CliClassify, DefaultPreprocessIsNamed) {
    const test::CliResult r = test::run_wsdol(classify("deit.safetensors", "--head-width 16 --top 1"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("--preprocess vit for timm augreg/jx ViT weights"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("class 3"), std::string::npos) << r.output;  // no labels: "class N"
}

// JPEG input (stb decodes it; no bit-exact reference, see engine/data/preprocess.h): runs, probabilities sum to 1.
TEST(CliClassify, JpegInput) {
    const std::string jpg = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/formats/not_weights.jpg";
    const json::Value r = run_json("classify --weights '" + kModels + "resnet.safetensors' --image '" + jpg + "'");
    ASSERT_EQ(r.at("probs").size(), 1u);
    double sum = 0;
    for (const json::Value& p : r.at("probs").items()[0].items()) sum += p.as_double();
    EXPECT_NEAR(sum, 1.0, 1e-12);
}

TEST(CliClassify, Errors) {
    auto expect_failure = [](const std::string& args, const std::vector<std::string>& pieces) {
        const test::CliResult r = test::run_wsdol(args);
        EXPECT_NE(r.code, 0) << args << "\n" << r.output;
        for (const auto& p : pieces) EXPECT_NE(r.output.find(p), std::string::npos) << "'" << p << "' not in: " << r.output;
    };
    expect_failure(classify("clip_vit.safetensors", ""), {"clip_vit.safetensors is a CLIP checkpoint", "wsdol clip"});
    expect_failure(classify("hf_clip.safetensors", ""), {"is a CLIP checkpoint"});
    expect_failure("classify --weights '" + kDir + "labels10.txt'" + kImages, {"labels10.txt"});
    expect_failure(classify("deit.safetensors", ""), {"deit.safetensors", "width 32 is not a multiple of the head width 64"});
    expect_failure(classify("resnet.safetensors", "--labels '" + kDir + "images/../labels10.txt' --labels '" +
                                                      kModels + "full_size_keys.txt'"),
                   {"--labels", "full_size_keys.txt has", "lines but the model has 10 classes"});
    expect_failure(classify("resnet.safetensors", "--preprocess imagenet"), {"unknown preset 'imagenet'", "timm-deit"});
    expect_failure(classify("resnet.safetensors", "--top 0"), {"--top must be at least 1"});
    expect_failure("classify --weights '" + kModels + "resnet.safetensors' --image /nonexistent/x.jpg",
                   {"classify: --image /nonexistent/x.jpg: no such file"});
    expect_failure("classify --weights /nonexistent/w.pth" + kImages, {"--weights /nonexistent/w.pth: no such file"});
    expect_failure("classify" + kImages, {"--weights FILE is required"});
    expect_failure("classify --weights '" + kModels + "resnet.safetensors'", {"at least one --image"});
    expect_failure("classify stray --weights '" + kModels + "resnet.safetensors'" + kImages, {"unexpected argument 'stray'"});
}

}  // namespace
}  // namespace wsdol
