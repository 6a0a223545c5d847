// cmd_clip.cpp — `wsdol clip`: CLIP image-text similarity and zero-shot probabilities for images and texts, from
// any CLIP checkpoint the weights/ readers open (OpenAI state_dict or TorchScript release, HF CLIPModel, as
// safetensors or PyTorch files).
//
// Pipeline (as OpenAI's clip.py / open_clip do it):
//   weights  models/clip_checkpoint.h: any format, OpenAI or HF names, strict load
//            (heads = width / --head-width, 64 for every released model) -> strict load into models::Clip (f32)
//   images   engine/data/preprocess.h preset "clip" at the model's input size: Resize(S, BICUBIC, Pillow-exact),
//            CenterCrop(S), /255, CLIP mean/std
//   texts    tokenizer/clip_tokenizer.h: clip.tokenize(text, context_length) with truncate=False by default (a text
//            longer than the context is an error, as in openai's tokenize); --truncate cuts it (eot kept last)
//   output   image_embeds / text_embeds = x / ||x|| (L2 over the embedding dim), logits = exp(logit_scale) *
//            image_embeds @ text_embeds^T (logits_per_image), probs = softmax(logits) over the texts, per image.
// The normalisation, logits and softmax are computed in double from the model's f32 features (PyTorch does them
// in f32; the difference is below 1e-6 relative).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/cli.h"
#include "apps/cli_lists.h"
#include "apps/clip_vocab.h"
#include "engine/autograd/autograd.h"
#include "engine/data/preprocess.h"
#include "engine/io/json.h"
#include "models/clip.h"
#include "models/clip_checkpoint.h"
#include "tokenizer/clip_tokenizer.h"

namespace {

using wsdol::Tensor;

constexpr int64_t kImagesPerBatch = 16;  // bounds the activation memory for long image lists

// rows: (N, E) f32 features -> N rows of x / ||x||_2, rounded to f32.
std::vector<std::vector<float>> l2_normalized_rows(const Tensor& features) {
    const int64_t N = features.size(0), E = features.size(1);
    const std::vector<double> v = features.to_vector();
    std::vector<std::vector<float>> rows(static_cast<size_t>(N), std::vector<float>(static_cast<size_t>(E)));
    for (int64_t n = 0; n < N; ++n) {
        double ss = 0;
        for (int64_t e = 0; e < E; ++e) ss += v[n * E + e] * v[n * E + e];
        const double norm = std::sqrt(ss);
        for (int64_t e = 0; e < E; ++e) rows[n][e] = static_cast<float>(norm > 0 ? v[n * E + e] / norm : 0.0);
    }
    return rows;
}

wsdol::json::Value json_row(const std::vector<float>& row) {
    wsdol::json::Value a = wsdol::json::Value::array();
    for (float x : row) a.push_back(wsdol::json::Value(static_cast<double>(x)));
    return a;
}
wsdol::json::Value json_row(const std::vector<double>& row) {
    wsdol::json::Value a = wsdol::json::Value::array();
    for (double x : row) a.push_back(wsdol::json::Value(x));
    return a;
}

int run_clip(const std::vector<std::string>& args) {
    const wsdol::cli::ListArgs lists = wsdol::cli::take_lists("clip", args, {"image", "text"});
    const wsdol::cli::Args a("clip", lists.rest, {"weights", "vocab", "head-width"}, {"json", "truncate"});
    WSDOL_CHECK(a.positional().empty(), "clip: unexpected argument '", a.positional().front(),
                "' (images go after --image, texts after --text)");
    WSDOL_CHECK(a.get("weights"), "clip: --weights FILE is required (see wsdol clip --help)");
    auto list = [&](const char* name) {
        auto it = lists.lists.find(name);
        return it == lists.lists.end() ? std::vector<std::string>{} : it->second;
    };
    const std::vector<std::string> images = list("image"), texts = list("text");
    WSDOL_CHECK(!images.empty(), "clip: at least one --image IMG is required");
    WSDOL_CHECK(!texts.empty(), "clip: at least one --text \"...\" is required");
    for (const std::string& p : images)
        WSDOL_CHECK(std::filesystem::is_regular_file(p), "clip: --image ", p, ": no such file");
    const std::string weights_path = *a.get("weights");
    WSDOL_CHECK(std::filesystem::is_regular_file(weights_path), "clip: --weights ", weights_path, ": no such file");
    const long long head_width = a.get_int("head-width", 64);
    WSDOL_CHECK(head_width >= 1, "clip: --head-width must be positive, got ", head_width);

    // Texts first: a tokenizer error should not wait for the model.
    const std::string vocab = wsdol::cli::find_clip_vocab("clip", a.get("vocab"));
    wsdol::tok::ClipTokenizer tok = wsdol::tok::ClipTokenizer::from_file(vocab);
    const wsdol::models::LoadedClip clip = wsdol::models::load_clip_checkpoint(weights_path, head_width);
    const wsdol::models::ClipConfig& cfg = clip.model->cfg;
    WSDOL_CHECK(static_cast<int64_t>(tok.vocab_size()) <= cfg.vocab_size, "clip: ", weights_path,
                ": token_embedding.weight has ", cfg.vocab_size, " rows but the CLIP tokenizer (", vocab, ") has ",
                tok.vocab_size(), " tokens");
    std::vector<double> ids;
    ids.reserve(texts.size() * static_cast<size_t>(cfg.context_length));
    for (size_t i = 0; i < texts.size(); ++i) {
        std::vector<int32_t> row;
        try {
            row = tok.encode_row(texts[i], static_cast<int>(cfg.context_length), a.flag("truncate"), true);
        } catch (const wsdol::Error& e) {
            wsdol::fail(wsdol::str("clip: --text ", i + 1, " \"", texts[i].substr(0, 40),
                                   texts[i].size() > 40 ? "...\"" : "\"", ": ", e.what(),
                                   " (--truncate cuts it, as clip.tokenize(truncate=True))"));
        }
        ids.insert(ids.end(), row.begin(), row.end());
    }

    const wsdol::data::PreprocessSpec spec = wsdol::data::preprocess_spec("clip", cfg.image_size);
    wsdol::NoGradGuard no_grad;
    const Tensor text_ids = Tensor::from_vector(ids, {static_cast<int64_t>(texts.size()), cfg.context_length},
                                                wsdol::DType::i64);
    const std::vector<std::vector<float>> text_embeds = l2_normalized_rows(clip.model->encode_text(text_ids));
    std::vector<std::vector<float>> image_embeds;
    for (size_t begin = 0; begin < images.size(); begin += kImagesPerBatch) {
        const size_t end = std::min(images.size(), begin + static_cast<size_t>(kImagesPerBatch));
        const std::vector<std::string> chunk(images.begin() + begin, images.begin() + end);
        for (auto& row : l2_normalized_rows(clip.model->encode_image(wsdol::data::preprocess_files(chunk, spec))))
            image_embeds.push_back(std::move(row));
    }

    // logit_scale.exp() in f32 as clip/model.py, then logits and the softmax over texts in double.
    const double scale = static_cast<double>(static_cast<float>(std::exp(clip.model->logit_scale.item())));
    std::vector<std::vector<double>> logits(images.size()), probs(images.size()), cosines(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
        double top = -INFINITY;
        for (size_t t = 0; t < texts.size(); ++t) {
            double c = 0;
            for (size_t e = 0; e < image_embeds[i].size(); ++e)
                c += static_cast<double>(image_embeds[i][e]) * static_cast<double>(text_embeds[t][e]);
            cosines[i].push_back(c);
            logits[i].push_back(scale * c);
            top = std::max(top, scale * c);
        }
        double sum = 0;
        for (double l : logits[i]) sum += std::exp(l - top);
        for (double l : logits[i]) probs[i].push_back(std::exp(l - top) / sum);
    }

    if (a.flag("json")) {
        using wsdol::json::Value;
        Value root = Value::object();
        root.add_member("weights", Value(weights_path));
        root.add_member("format", Value(clip.format));
        root.add_member("architecture", Value(clip.description));
        root.add_member("preprocess", Value(spec.str()));
        root.add_member("logit_scale", Value(scale));
        Value jimages = Value::array(), jtexts = Value::array();
        for (const auto& p : images) jimages.push_back(Value(p));
        for (const auto& t : texts) jtexts.push_back(Value(t));
        root.add_member("images", std::move(jimages));
        root.add_member("texts", std::move(jtexts));
        Value ie = Value::array(), te = Value::array(), jl = Value::array(), jp = Value::array();
        for (const auto& r : image_embeds) ie.push_back(json_row(r));
        for (const auto& r : text_embeds) te.push_back(json_row(r));
        for (const auto& r : logits) jl.push_back(json_row(r));
        for (const auto& r : probs) jp.push_back(json_row(r));
        root.add_member("image_embeds", std::move(ie));
        root.add_member("text_embeds", std::move(te));
        root.add_member("logits", std::move(jl));
        root.add_member("probs", std::move(jp));
        std::printf("%s\n", wsdol::json::dump(root).c_str());
        return 0;
    }

    std::printf("weights:     %s\nformat:      %s\n", weights_path.c_str(), clip.format.c_str());
    std::printf("model:       %s\n", clip.description.c_str());
    std::printf("preprocess:  %s\n", spec.str().c_str());
    std::printf("logit scale: %.4g (probabilities = softmax over the texts of scale * cosine)\n", scale);
    for (size_t i = 0; i < images.size(); ++i) {
        const size_t best = static_cast<size_t>(
            std::max_element(probs[i].begin(), probs[i].end()) - probs[i].begin());
        std::printf("\n%s\n  %8s  %8s  %s\n", images[i].c_str(), "prob", "cosine", "text");
        for (size_t t = 0; t < texts.size(); ++t)
            std::printf("  %7.2f%%  %8.4f  %s%s\n", 100.0 * probs[i][t], cosines[i][t], texts[t].c_str(),
                        t == best ? "   <- best" : "");
    }
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "clip", "CLIP zero-shot: image-text cosine similarities and probabilities from a CLIP checkpoint",
    "usage: wsdol clip --weights FILE --image IMG... --text \"...\"... [--vocab FILE] [--json] [--truncate]\n"
    "                  [--head-width N]\n\n"
    "Loads a CLIP checkpoint (OpenAI state_dict or the OpenAI TorchScript release .pt, HF CLIPModel; safetensors\n"
    "or PyTorch zip/legacy files; ViT or ModifiedResNet image tower), embeds every image and text, and prints for\n"
    "each image the cosine similarity to every text and the zero-shot probabilities softmax(exp(logit_scale) *\n"
    "cosine) over the texts. --image and --text take one or more values and may repeat.\n\n"
    "Images are preprocessed as OpenAI CLIP does: resize the shorter side to the model's input size (BICUBIC,\n"
    "Pillow-exact), center crop, /255, mean (0.48145466, 0.4578275, 0.40821073), std (0.26862954, 0.26130258,\n"
    "0.27577711) (images are converted to RGB first; see engine/data/preprocess.h). Texts are tokenized as\n"
    "clip.tokenize: a text longer than the model's context (77 tokens) is an error unless --truncate.\n\n"
    "  --json          one JSON object: weights, format, architecture, preprocess, logit_scale, images, texts,\n"
    "                  image_embeds and text_embeds (L2-normalized, one list per input), logits and probs (one\n"
    "                  list over the texts per image)\n"
    "  --truncate      cut too-long texts to the context (eot kept last) instead of failing\n"
    "  --head-width N  attention head width used to infer the head counts (default 64, every released CLIP)\n"
    "  --vocab FILE    the BPE vocabulary; else $WSDOL_CLIP_VOCAB, else\n"
    "                  ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz from the current directory or beside the\n"
    "                  repository holding the executable\n"
    "\n"
    "examples (the first after wsdol train-clip --help's, with a synth set `data`; the second needs OpenAI's\n"
    "released ViT-B/16):\n"
    "  wsdol clip --weights clip/clip.safetensors --vocab clip/vocab.txt.gz --image data/JPEGImages/synth_000000.jpg --text \"a photo of a circle.\" --text \"a photo of a square.\"\n"
    "  wsdol clip --weights ViT-B-16.pt --image photo.jpg --text \"a photo of a dog.\" --text \"a photo of a cat.\" --json",
    run_clip});
