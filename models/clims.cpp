// clims.cpp — CLIMS network, composition, training-step forward, stage-2 maps and poly lr (see clims.h).
#include "models/clims.h"

#include <cmath>
#include <algorithm>
#include <map>

#include "engine/autograd/autograd.h"
#include "engine/core/error.h"
#include "engine/ops/ops.h"
#include "models/attention_maps.h"

namespace wsdol::models {

ResNetConfig clims_resnet50_config() {
    ResNetConfig c = resnet50_irnet_config();  // strides {1, 2, 2, 1}, no fc, frozen stem
    c.bn_mode = BatchNormMode::normal;         // resnet50_v2.py: plain nn.BatchNorm2d, trained in train mode
    return c;
}

ClimsConfig clims_config(int64_t num_classes) {
    ClimsConfig c;
    c.num_classes = num_classes;
    c.resnet = clims_resnet50_config();
    return c;
}

ClimsNetwork::ClimsNetwork(const ClimsConfig& c, Generator* gen) : nn::Module("ClimsNetwork"), cfg(c) {
    WSDOL_CHECK(cfg.num_classes >= 1, "clims: num_classes must be >= 1, got ", cfg.num_classes);
    cfg.resnet.num_classes = 0;
    cfg.resnet.freeze_stem = true;  // CLIMS._freeze_layers: conv1 and bn1 parameters
    resnet50 = register_module("resnet50", std::make_shared<ResNet>(cfg.resnet, gen));
    classifier = register_module("classifier", std::make_shared<nn::Conv2d>(32 * cfg.resnet.width, cfg.num_classes,
                                                                            1, 1, 0, 1, 1, false, gen));
    train(true);
}

Tensor ClimsNetwork::features(const Tensor& images) {
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 3,
                "clims: expected images (B, 3, H, W), got ",
                images.defined() ? shape_str(images.shape()) : "undefined");
    return resnet50->forward_all(images).stages[3];
}

Tensor ClimsNetwork::cams(const Tensor& images) { return classifier->forward(features(images)); }

Tensor ClimsNetwork::forward(const Tensor& images) { return sigmoid(cams(images)); }

void load_clims_state(ClimsNetwork& net, const NamedTensors& state, const std::string& source) {
    std::map<std::string, Tensor> ours;
    std::map<std::string, Shape> expected;
    for (const auto& [name, t] : net.state_dict()) expected.emplace(name, t.shape());
    std::vector<std::string> foreign;
    for (const auto& [name, t] : state) {
        if (expected.count(name)) {
            ours.emplace(name, t);
            continue;
        }
        // IRNet/CLIMS Net: stage1..4, backbone.*, newly_added.* are other paths to the same modules (PyTorch's
        // state_dict writes a shared module under every path); they carry the same tensors.
        static const char* aliases[] = {"stage1.", "stage2.", "stage3.", "stage4.", "backbone.", "newly_added."};
        bool alias = false;
        for (const char* a : aliases) alias = alias || name.rfind(a, 0) == 0;
        if (!alias) foreign.push_back(name);
    }
    std::vector<std::string> missing, mismatched;
    for (const auto& [name, shape] : expected) {
        auto it = ours.find(name);
        if (it == ours.end()) {
            missing.push_back(name);
        } else if (it->second.shape() != shape) {
            mismatched.push_back(str(name, ": file ", shape_str(it->second.shape()), " vs network ", shape_str(shape)));
        }
    }
    if (!missing.empty() || !mismatched.empty() || !foreign.empty()) {
        std::string msg = str("clims: ", source, " is not a stage-0 CAM / CLIMS checkpoint of this network (ResNet-50 "
                              "'resnet50.*' + 'classifier.weight' with ", net.cfg.num_classes, " classes):");
        auto list = [&msg](const char* what, const std::vector<std::string>& v) {
            if (v.empty()) return;
            msg += str("\n  ", what, " (", v.size(), "):");
            for (size_t i = 0; i < v.size() && i < 6; ++i) msg += "\n    " + v[i];
            if (v.size() > 6) msg += str("\n    ... ", v.size() - 6, " more");
        };
        list("missing", missing);
        list("shape differs", mismatched);
        list("unexpected", foreign);
        fail(msg);
    }
    net.load_state_dict(ours, /*strict=*/true);
}

ClimsComposition clims_compose(const Tensor& maps, const Tensor& images, const Tensor& labels, int64_t size) {
    WSDOL_CHECK(maps.defined() && maps.dim() == 4, "clims_compose: maps must be (B, C, h, w), got ",
                maps.defined() ? shape_str(maps.shape()) : std::string("undefined"));
    const int64_t B = maps.size(0), C = maps.size(1);
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(0) == B && images.size(1) == 3,
                "clims_compose: images must be (", B, ", 3, H, W), got ",
                images.defined() ? shape_str(images.shape()) : std::string("undefined"));
    WSDOL_CHECK(labels.defined() && labels.dim() == 2 && labels.size(0) == B && labels.size(1) == C,
                "clims_compose: labels must be (", B, ", ", C, "), got ",
                labels.defined() ? shape_str(labels.shape()) : std::string("undefined"));
    WSDOL_CHECK(size >= 1, "clims_compose: size must be >= 1, got ", size);
    ClimsComposition out;
    std::vector<double> flat, img_idx;
    const std::vector<double> lv = labels.to_vector();
    for (int64_t n = 0; n < B; ++n)
        for (int64_t k = 0; k < C; ++k)
            if (lv[n * C + k] == 1.0) {  // train_clims.py: label == 1
                out.pair_image.push_back(n);
                out.pair_class.push_back(k);
                flat.push_back(static_cast<double>(n * C + k));
                img_idx.push_back(static_cast<double>(n));
            }
    const int64_t N = static_cast<int64_t>(flat.size());
    WSDOL_CHECK(N >= 1, "clims_compose: the batch has no positive (image, class) pair");
    // cam_224 = F.interpolate(x, (S, S), bilinear, align_corners=True).reshape(B C, 1, S, S)
    const Tensor cam = interpolate(maps, size, size, InterpMode::bilinear, true).reshape({B * C, 1, size, size});
    const Tensor img = interpolate(images, size, size, InterpMode::bilinear, true);  // (B, 3, S, S)
    const Tensor cam_sel = index_select(cam, 0, Tensor::from_vector(flat, {N}, DType::i64));       // (N, 1, S, S)
    const Tensor img_sel = index_select(img, 0, Tensor::from_vector(img_idx, {N}, DType::i64));    // (N, 3, S, S)
    out.fg = mul(cam_sel, img_sel);
    out.bg = mul(rsub(1.0, cam_sel), img_sel);
    return out;
}

ClimsStepOutput clims_step(ClimsNetwork& net, Clip& clip, const ClimsTextBank& text, const Tensor& images,
                           const Tensor& labels, const ClimsLossOptions& options) {
    WSDOL_CHECK(text.class_text.defined() && text.class_text.dim() == 2 &&
                    text.class_text.size(0) == net.cfg.num_classes,
                "clims: class_text must be (", net.cfg.num_classes, ", E), got ",
                text.class_text.defined() ? shape_str(text.class_text.shape()) : std::string("undefined"));
    ClimsStepOutput out;
    out.maps = net.forward(images);
    out.composition = clims_compose(out.maps, images, labels, clip.cfg.image_size);
    // The reference encodes fg twice (clip_forward and the CBS loss) with identical results; once here.
    out.fg_features = frozen_image_features(clip, out.composition.fg, "clims");
    out.bg_features = frozen_image_features(clip, out.composition.bg, "clims");
    std::vector<double> cls(out.composition.pair_class.begin(), out.composition.pair_class.end());
    ClimsLossInputs in;
    in.fg_features = out.fg_features;
    in.bg_features = out.bg_features;
    in.pair_text =
        index_select(text.class_text, 0, Tensor::from_vector(cls, {static_cast<int64_t>(cls.size())}, DType::i64));
    in.background_text = text.background_text;
    in.pair_class = out.composition.pair_class;
    in.maps = out.maps;
    out.losses = clims_losses(in, options);
    return out;
}

std::vector<std::string> clims_voc_prompt_names() {
    // clip_utils.py category_dict['voc'] ("player" for person)
    return {"aeroplane", "bicycle", "bird",  "boat",         "bottle", "bus",   "car",  "cat",   "chair", "cow",
            "dining table", "dog", "horse", "motorbike", "player", "potted plant", "sheep", "sofa", "train",
            "tv monitor"};
}

std::vector<std::string> clims_voc_background_prompts() {
    // clip_utils.py background_dict['voc']
    return {"a photo of tree.",    "a photo of river.",    "a photo of sea.",   "a photo of lake.",
            "a photo of water.",   "a photo of railway.",  "a photo of railroad.", "a photo of track.",
            "a photo of stone.",   "a photo of rocks."};
}

std::string clims_class_prompt(const std::string& name) { return "a photo of " + name + "."; }

ClimsStage2Maps clims_stage2_reduce(const std::vector<Tensor>& scale_cams, int64_t H, int64_t W,
                                    const std::vector<int>& labels, const ClimsStage2Options& o) {
    NoGradGuard no_grad;
    WSDOL_CHECK(!scale_cams.empty(), "clims stage 2: no scale outputs");
    WSDOL_CHECK(o.strided_stride >= 1 && o.high_res_stride >= 1, "clims stage 2: strides must be >= 1");
    // imutils.get_strided_size / get_strided_up_size
    const int64_t sh = (H - 1) / o.strided_stride + 1, sw = (W - 1) / o.strided_stride + 1;
    const int64_t uh = ((H - 1) / o.high_res_stride + 1) * o.high_res_stride;
    const int64_t uw = ((W - 1) / o.high_res_stride + 1) * o.high_res_stride;
    Tensor strided, high;
    for (const Tensor& c : scale_cams) {
        WSDOL_CHECK(c.defined() && c.dim() == 3 && c.size(0) == scale_cams[0].size(0),
                    "clims stage 2: every scale's CAM must be (C, h, w) with one C, got ",
                    c.defined() ? shape_str(c.shape()) : std::string("undefined"));
        const Tensor x = c.detach().unsqueeze(0);  // (1, C, h, w)
        const Tensor s = interpolate(x, sh, sw, InterpMode::bilinear, false).select(0, 0);
        const Tensor u = interpolate(x, uh, uw, InterpMode::bilinear, false).select(0, 0);
        strided = strided.defined() ? add(strided, s) : s;
        high = high.defined() ? add(high, u) : u;
    }
    high = high.narrow(1, 0, H).narrow(2, 0, W);
    const int64_t C = strided.size(0);
    ClimsStage2Maps out;
    std::vector<int> sorted = labels;
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> keys;
    for (int k : sorted) {
        WSDOL_CHECK(k >= 0 && k < C, "clims stage 2: label ", k, " outside the ", C, " classes");
        if (!out.keys.empty() && out.keys.back() == k) continue;
        out.keys.push_back(k);
        keys.push_back(k);
    }
    const int64_t K = static_cast<int64_t>(keys.size());
    if (K == 0) {
        out.strided = Tensor::zeros({0, sh, sw});
        out.high_res = Tensor::zeros({0, H, W});
        return out;
    }
    const Tensor idx = Tensor::from_vector(keys, {K}, DType::i64);
    const Tensor st = index_select(strided, 0, idx), hr = index_select(high.contiguous(), 0, idx);
    // cam /= F.adaptive_max_pool2d(cam, (1, 1)) + 1e-5
    out.strided = div(st, add(max(st, {1, 2}, true), 1e-5)).contiguous();
    out.high_res = div(hr, add(max(hr, {1, 2}, true), 1e-5)).contiguous();
    return out;
}

data::IrnCamFile clims_irn_cam_file(const ClimsStage2Maps& m) {
    data::IrnCamFile f;
    std::vector<double> keys(m.keys.begin(), m.keys.end());
    f.keys = Tensor::from_vector(keys, {static_cast<int64_t>(keys.size())}, DType::i64);
    f.cam = m.strided;
    f.high_res = m.high_res;
    return f;
}

ClimsStage2Maps clims_stage2_maps(ClimsNetwork& net, const Tensor& image, const std::vector<int>& labels,
                                  const ClimsStage2Options& o) {
    NoGradGuard no_grad;
    nn::EvalModeGuard eval(net);
    WSDOL_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3, "clims stage 2: image must be (3, H, W), "
                "got ", image.defined() ? shape_str(image.shape()) : std::string("undefined"));
    WSDOL_CHECK(!o.scales.empty(), "clims stage 2: no scales");
    const int64_t H = image.size(1), W = image.size(2);
    const ImageRescale rescale = imagenet_pil_bicubic_rescale();
    std::vector<Tensor> outs;
    for (double s : o.scales) {
        WSDOL_CHECK(s > 0, "clims stage 2: scale ", s, " must be > 0");
        Tensor img = image.detach();
        if (s != 1.0) {
            // imutils.pil_rescale: int(np.round(size * scale)) (round half to even = nearbyint)
            const int64_t h = static_cast<int64_t>(std::nearbyint(H * s));
            const int64_t w = static_cast<int64_t>(std::nearbyint(W * s));
            WSDOL_CHECK(h >= 1 && w >= 1, "clims stage 2: scale ", s, " makes the ", H, "x", W, " image empty");
            img = rescale(img, h, w);
        }
        // CAM.forward: relu(conv2d(features, classifier.weight)); x[0] + x[1].flip(-1)
        const Tensor x = relu(net.cams(stack({img, img.flip({2})}, 0)));
        outs.push_back(add(x.select(0, 0), x.select(0, 1).flip({2})));
    }
    return clims_stage2_reduce(outs, H, W, labels, o);
}

std::vector<uint8_t> clims_seed_labels(const ClimsStage2Maps& m, double threshold) {
    WSDOL_CHECK(m.high_res.defined() && m.high_res.dim() == 3 &&
                    m.high_res.size(0) == static_cast<int64_t>(m.keys.size()),
                "clims_seed_labels: high_res must be (K, H, W) with K = ", m.keys.size(), " keys, got ",
                m.high_res.defined() ? shape_str(m.high_res.shape()) : std::string("undefined"));
    const int64_t K = m.high_res.size(0), HW = m.high_res.size(1) * m.high_res.size(2);
    const Tensor hr = m.high_res.detach().to(DType::f32).contiguous();
    const float* v = hr.data<float>();
    const float t = static_cast<float>(threshold);  // np.pad(cams (f32), constant_values=thres) stores f32(thres)
    std::vector<uint8_t> out(static_cast<size_t>(HW), 0);
    for (int64_t k = 0; k < K; ++k)
        WSDOL_CHECK(m.keys[k] >= 0 && m.keys[k] < 255, "clims_seed_labels: key ", m.keys[k], " out of range");
    for (int64_t i = 0; i < HW; ++i) {
        float best = t;
        uint8_t label = 0;
        for (int64_t k = 0; k < K; ++k)
            if (v[k * HW + i] > best) {  // np.argmax: the first maximum wins
                best = v[k * HW + i];
                label = static_cast<uint8_t>(m.keys[k] + 1);
            }
        out[i] = label;
    }
    return out;
}

double clims_nanmean_iou(const std::vector<double>& iou) {
    double s = 0;
    int64_t n = 0;
    for (double x : iou)
        if (!std::isnan(x)) {
            s += x;
            ++n;
        }
    return n == 0 ? std::nan("") : s / static_cast<double>(n);
}

double clims_poly_lr(double lr0, int64_t t, int64_t max_step, double power) {
    WSDOL_CHECK(max_step >= 1, "clims_poly_lr: max_step must be >= 1, got ", max_step);
    // PolyOptimizer.step: the lr is updated only while global_step < max_step
    const int64_t tt = t < max_step ? t : max_step - 1;
    return lr0 * std::pow(1.0 - static_cast<double>(tt) / static_cast<double>(max_step), power);
}

}  // namespace wsdol::models
