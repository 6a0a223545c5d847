// cmd_classify.cpp — `wsdol classify`: top-K ImageNet-style predictions of timm ViT / DeiT (plain and distilled)
// and torchvision ResNet (Bottleneck) checkpoints for a list of images.
//
// The network is read off the state_dict (weights/architecture.h detect_architecture, then the shapes):
//   timm ViT/DeiT   embed dim D and prefix tokens from cls_token (1, P, D), patch size from patch_embed.proj.weight,
//                   depth from blocks.i, MLP ratio from blocks.0.mlp.fc1, input size from pos_embed (P [+1 dist] +
//                   g*g tokens -> g * patch), classes from head.weight; heads = D / --head-width (64 in every
//                   released DeiT/ViT: DeiT-Ti 3, DeiT-S 6, DeiT-B / ViT-B 12). Distilled DeiT (dist_token,
//                   head_dist) outputs (head(x[:, 0]) + head_dist(x[:, 1])) / 2, timm's eval output.
//   torchvision     width from conv1.weight, blocks per stage from layerL.b, classes from fc.weight (Bottleneck
//   ResNet          ResNets 50/101/152; the BasicBlock ResNets 18/34 are refused), input size 224.
// Preprocessing (engine/data/preprocess.h, the preset table there) is chosen with --preprocess; the defaults are
// resnet (torchvision IMAGENET1K_V1) for ResNets and deit (the DeiT repo's eval transform) for timm ViTs and
// DeiTs. timm's own ViT augreg / jx weights were trained with mean = std = 0.5 and are evaluated with crop_pct
// 0.9: pass --preprocess vit for those (the file's names cannot tell DeiT and ViT weights apart).
// Probabilities: softmax of the f32 logits, computed in double.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <set>

#include "apps/cli.h"
#include "apps/cli_lists.h"
#include "engine/autograd/autograd.h"
#include "engine/data/preprocess.h"
#include "engine/io/json.h"
#include "models/resnet.h"
#include "models/vit.h"
#include "weights/name_maps.h"
#include "weights/weights_file.h"

namespace {

using wsdol::Shape;
using wsdol::Tensor;
using wsdol::weights::Architecture;

constexpr int64_t kImagesPerBatch = 16;  // bounds the activation memory for long image lists

struct Classifier {
    wsdol::nn::ModulePtr model;
    int64_t image_size = 224;  // the model's input size (ViT: fixed by pos_embed)
    int64_t num_classes = 0;
    std::string default_preprocess;
    std::string format, description;
};

// name -> shape, and helpers that fail naming the file and the key.
struct Shapes {
    std::string path;
    std::map<std::string, Shape> shapes;
    bool has(const std::string& key) const { return shapes.count(key) > 0; }
    const Shape& of(const std::string& key, size_t rank) const {
        auto it = shapes.find(key);
        WSDOL_CHECK(it != shapes.end(), "classify: ", path, ": no '", key, "'");
        WSDOL_CHECK(it->second.size() == rank, "classify: ", path, ": '", key, "' has shape ",
                    wsdol::shape_str(it->second), ", expected ", rank, " dims");
        return it->second;
    }
    // distinct values of the name component after `prefix` (block indices)
    int64_t count_indices(const std::string& prefix) const {
        std::set<std::string> seen;
        for (const auto& [name, s] : shapes)
            if (name.rfind(prefix, 0) == 0)
                seen.insert(name.substr(prefix.size(), name.find('.', prefix.size()) - prefix.size()));
        return static_cast<int64_t>(seen.size());
    }
};

wsdol::models::ViTConfig vit_config(const Shapes& s, int64_t head_width, bool distilled) {
    wsdol::models::ViTConfig c;
    const Shape& cls = s.of("cls_token", 3);
    c.num_prefix_tokens = cls[1];
    c.embed_dim = cls[2];
    const Shape& patch = s.of("patch_embed.proj.weight", 4);
    c.patch_size = patch[3];
    c.in_chans = patch[1];
    WSDOL_CHECK(c.in_chans == 3, "classify: ", s.path, ": patch_embed.proj.weight takes ", c.in_chans,
                " input channels; images have 3");
    c.depth = s.count_indices("blocks.");
    c.mlp_ratio = static_cast<double>(s.of("blocks.0.mlp.fc1.weight", 2)[0]) / static_cast<double>(c.embed_dim);
    c.qkv_bias = s.has("blocks.0.attn.qkv.bias");
    c.distilled = distilled;
    const int64_t tokens = s.of("pos_embed", 3)[1] - c.num_prefix_tokens - (distilled ? 1 : 0);
    const auto g = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(std::max<int64_t>(tokens, 0)))));
    WSDOL_CHECK(tokens > 0 && g * g == tokens, "classify: ", s.path, ": pos_embed has ", tokens,
                " patch tokens, not a square grid");
    c.image_size = g * c.patch_size;
    WSDOL_CHECK(s.has("head.weight"), "classify: ", s.path, ": no classifier head (head.weight); this is a feature "
                "extractor, not a classifier");
    c.num_classes = s.of("head.weight", 2)[0];
    WSDOL_CHECK(c.embed_dim % head_width == 0, "classify: ", s.path, ": width ", c.embed_dim,
                " is not a multiple of the head width ", head_width, " (see --head-width)");
    c.num_heads = c.embed_dim / head_width;
    return c;
}

wsdol::models::ResNetConfig resnet_config(const Shapes& s) {
    WSDOL_CHECK(s.has("layer1.0.conv3.weight"), "classify: ", s.path, ": a BasicBlock ResNet (18/34: no "
                "layer1.0.conv3.weight); only Bottleneck ResNets (50/101/152) are supported");
    wsdol::models::ResNetConfig c;
    c.width = s.of("conv1.weight", 4)[0];
    for (int b = 0; b < 4; ++b) c.layers[b] = s.count_indices(wsdol::str("layer", b + 1, "."));
    WSDOL_CHECK(s.has("fc.weight"), "classify: ", s.path, ": no classifier (fc.weight)");
    c.num_classes = s.of("fc.weight", 2)[0];
    return c;
}

Classifier load_classifier(const std::string& path, int64_t head_width) {
    const wsdol::weights::WeightsFile w = wsdol::weights::read_weights(path);
    const wsdol::weights::DetectedArchitecture d = wsdol::weights::detect_architecture(w.tensors);
    Shapes s{path, {}};
    for (const auto& [name, t] : w.tensors) s.shapes[name] = t.shape();
    Classifier out;
    switch (d.arch) {
        case Architecture::timm_vit:
        case Architecture::timm_deit_distilled: {
            const wsdol::models::ViTConfig c = vit_config(s, head_width, d.arch == Architecture::timm_deit_distilled);
            out.model = std::make_shared<wsdol::models::VisionTransformer>(c);
            out.image_size = c.image_size;
            out.num_classes = c.num_classes;
            out.default_preprocess = "deit";
            break;
        }
        case Architecture::torchvision_resnet: {
            const wsdol::models::ResNetConfig c = resnet_config(s);
            out.model = std::make_shared<wsdol::models::ResNet>(c);
            out.num_classes = c.num_classes;
            out.default_preprocess = "resnet";
            break;
        }
        case Architecture::openai_clip_vit:
        case Architecture::openai_clip_resnet:
        case Architecture::hf_clip:
        case Architecture::timm_clip_vit:
            wsdol::fail(wsdol::str("classify: ", path, " is a CLIP checkpoint (", d.description,
                                   "); use `wsdol clip` for zero-shot classification"));
        default:
            wsdol::fail(wsdol::str("classify: ", path, " is not a timm ViT/DeiT or torchvision ResNet classifier (",
                                   d.description, ")"));
    }
    try {
        wsdol::weights::load_into(*out.model, w.tensors, d.arch, true);
    } catch (const wsdol::Error& e) {
        wsdol::fail(wsdol::str("classify: ", path, ": ", e.what()));
    }
    out.model->eval();
    out.format = wsdol::weights::format_name(w.format);
    out.description = d.description;
    return out;
}

std::vector<std::string> read_labels(const std::string& path, int64_t num_classes) {
    std::ifstream f(path, std::ios::binary);
    WSDOL_CHECK(f.good(), "classify: --labels ", path, ": cannot open");
    std::vector<std::string> labels;
    std::string line;
    while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        labels.push_back(line);
    }
    WSDOL_CHECK(static_cast<int64_t>(labels.size()) == num_classes, "classify: --labels ", path, " has ",
                labels.size(), " lines but the model has ", num_classes, " classes");
    return labels;
}

int run_classify(const std::vector<std::string>& args) {
    const wsdol::cli::ListArgs lists = wsdol::cli::take_lists("classify", args, {"image"});
    const wsdol::cli::Args a("classify", lists.rest, {"weights", "labels", "top", "preprocess", "head-width"},
                             {"json"});
    WSDOL_CHECK(a.positional().empty(), "classify: unexpected argument '", a.positional().front(),
                "' (images go after --image)");
    WSDOL_CHECK(a.get("weights"), "classify: --weights FILE is required (see wsdol classify --help)");
    auto it = lists.lists.find("image");
    WSDOL_CHECK(it != lists.lists.end(), "classify: at least one --image IMG is required");
    const std::vector<std::string>& images = it->second;
    for (const std::string& p : images)
        WSDOL_CHECK(std::filesystem::is_regular_file(p), "classify: --image ", p, ": no such file");
    const std::string weights_path = *a.get("weights");
    WSDOL_CHECK(std::filesystem::is_regular_file(weights_path), "classify: --weights ", weights_path,
                ": no such file");
    const long long head_width = a.get_int("head-width", 64), top_k = a.get_int("top", 5);
    WSDOL_CHECK(head_width >= 1, "classify: --head-width must be positive, got ", head_width);
    WSDOL_CHECK(top_k >= 1, "classify: --top must be at least 1, got ", top_k);
    if (auto p = a.get("preprocess")) wsdol::data::preprocess_spec(*p);  // an unknown name fails before loading

    const Classifier net = load_classifier(weights_path, head_width);
    std::vector<std::string> labels;
    if (auto l = a.get("labels")) labels = read_labels(*l, net.num_classes);
    const std::string preset = a.get_or("preprocess", net.default_preprocess);
    const wsdol::data::PreprocessSpec spec = wsdol::data::preprocess_spec(preset, net.image_size);

    wsdol::NoGradGuard no_grad;
    const int64_t K = net.num_classes;
    std::vector<std::vector<double>> logits, probs;
    for (size_t begin = 0; begin < images.size(); begin += kImagesPerBatch) {
        const size_t end = std::min(images.size(), begin + static_cast<size_t>(kImagesPerBatch));
        const std::vector<std::string> chunk(images.begin() + begin, images.begin() + end);
        const std::vector<double> v = net.model->forward(wsdol::data::preprocess_files(chunk, spec)).to_vector();
        for (size_t i = 0; i < chunk.size(); ++i) {
            std::vector<double> row(v.begin() + i * K, v.begin() + (i + 1) * K);
            const double top = *std::max_element(row.begin(), row.end());
            double sum = 0;
            for (double l : row) sum += std::exp(l - top);
            std::vector<double> p;
            for (double l : row) p.push_back(std::exp(l - top) / sum);
            logits.push_back(std::move(row));
            probs.push_back(std::move(p));
        }
    }
    // top-K per image: descending probability, ties to the lower class index
    const size_t k = static_cast<size_t>(std::min<long long>(top_k, K));
    std::vector<std::vector<size_t>> best(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
        std::vector<size_t> order(static_cast<size_t>(K));
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return probs[i][x] > probs[i][y]; });
        best[i].assign(order.begin(), order.begin() + k);
    }
    auto label_of = [&](size_t c) { return labels.empty() ? wsdol::str("class ", c) : labels[c]; };

    if (a.flag("json")) {
        using wsdol::json::Value;
        Value root = Value::object();
        root.add_member("weights", Value(weights_path));
        root.add_member("format", Value(net.format));
        root.add_member("architecture", Value(net.description));
        root.add_member("preprocess", Value(spec.str()));
        Value jimages = Value::array(), jl = Value::array(), jp = Value::array(), jtop = Value::array();
        for (size_t i = 0; i < images.size(); ++i) {
            jimages.push_back(Value(images[i]));
            Value l = Value::array(), p = Value::array(), t = Value::array();
            for (double x : logits[i]) l.push_back(Value(x));
            for (double x : probs[i]) p.push_back(Value(x));
            for (size_t c : best[i]) {
                Value e = Value::object();
                e.add_member("index", Value(static_cast<int64_t>(c)));
                e.add_member("label", Value(label_of(c)));
                e.add_member("prob", Value(probs[i][c]));
                t.push_back(std::move(e));
            }
            jl.push_back(std::move(l));
            jp.push_back(std::move(p));
            jtop.push_back(std::move(t));
        }
        root.add_member("images", std::move(jimages));
        root.add_member("logits", std::move(jl));
        root.add_member("probs", std::move(jp));
        root.add_member("top", std::move(jtop));
        std::printf("%s\n", wsdol::json::dump(root).c_str());
        return 0;
    }

    std::printf("weights:    %s\nformat:     %s\n", weights_path.c_str(), net.format.c_str());
    std::printf("model:      %s\n", net.description.c_str());
    std::printf("preprocess: %s%s\n", spec.str().c_str(),
                a.get("preprocess") ? ""
                : preset == "deit"  ? " (default for timm ViT/DeiT; --preprocess vit for timm augreg/jx ViT weights)"
                                    : " (default)");
    for (size_t i = 0; i < images.size(); ++i) {
        std::printf("\n%s\n", images[i].c_str());
        for (size_t r = 0; r < best[i].size(); ++r) {
            const size_t c = best[i][r];
            std::printf("  %2zu. %7.2f%%  %5zu  %s\n", r + 1, 100.0 * probs[i][c], c, label_of(c).c_str());
        }
    }
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "classify", "top-K ImageNet-style predictions of a timm ViT/DeiT or torchvision ResNet checkpoint",
    "usage: wsdol classify --weights FILE --image IMG... [--labels FILE] [--top K] [--preprocess NAME] [--json]\n"
    "                      [--head-width N]\n\n"
    "Loads a classifier checkpoint (safetensors, PyTorch zip or legacy file; DeiT's {'model': ...} releases and\n"
    "DataParallel 'module.' prefixes are unwrapped): timm ViT / DeiT (plain or distilled; the distilled output is\n"
    "the mean of its two heads) or torchvision ResNet-50/101/152, recognised from the names and shapes. Prints the\n"
    "K most probable classes of each image (softmax of the logits). --image takes one or more files and may repeat.\n\n"
    "  --preprocess NAME  evaluation preprocessing (S = the model's input size, 224 for released models):\n"
    "      resnet     torchvision IMAGENET1K_V1: Resize(256, bilinear), CenterCrop(224), ImageNet mean/std\n"
    "                 (default for ResNets)\n"
    "      resnet-v2  torchvision ResNet-50 IMAGENET1K_V2: Resize(232, bilinear), CenterCrop(224), ImageNet\n"
    "      deit       DeiT repo eval: Resize(int(S / 0.875) = 256, bicubic), CenterCrop(S), ImageNet mean/std\n"
    "                 (default for timm ViT / DeiT)\n"
    "      timm-deit  timm's deit_* pretrained_cfg: crop_pct 0.9 -> Resize(248, bicubic), CenterCrop(S), ImageNet\n"
    "      vit        timm ViT augreg / jx weights: crop_pct 0.9 -> Resize(248, bicubic), CenterCrop(S),\n"
    "                 mean = std = 0.5 (use this for vit_base_patch16_224.augreg*, jx_vit_base_p16_224)\n"
    "      clip       Resize(S, bicubic), CenterCrop(S), CLIP mean/std\n"
    "    Resizes are Pillow-exact; images are converted to RGB first. See engine/data/preprocess.h.\n"
    "  --labels FILE      class names, one per line (as many lines as the model has classes); default 'class N'\n"
    "  --top K            how many classes to print per image (default 5)\n"
    "  --json             one JSON object: weights, format, architecture, preprocess, images, and per image\n"
    "                     logits, probs (over all classes) and top (index, label, prob)\n"
    "  --head-width N     ViT attention head width used to infer the head count (default 64, every released\n"
    "                     DeiT / ViT; a wsdol ViT trained with embed_dim D and H heads has D / H)\n"
    "\n"
    "examples (the first after wsdol train --help's; the second needs DeiT-S's released weights):\n"
    "  wsdol classify --weights runs/vit/checkpoint.safetensors --head-width 32 --image data/JPEGImages/synth_000000.jpg --top 3\n"
    "  wsdol classify --weights deit_small_patch16_224-cd65a155.pth --image photo.jpg --labels imagenet_classes.txt",
    run_classify});
