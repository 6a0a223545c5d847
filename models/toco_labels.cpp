// toco_labels.cpp — ToCo's pseudo-label utilities (see toco_labels.h for the definitions and the code they restate).
#include "models/toco_labels.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

namespace {

void check_cams(const Tensor& cams, const Tensor& cls_labels, const char* op) {
    WSDOL_CHECK(cams.defined() && cams.dim() == 4, op, ": cams must be (B, C, H, W), got ",
                cams.defined() ? shape_str(cams.shape()) : "undefined");
    WSDOL_CHECK(cls_labels.defined() && cls_labels.dim() == 2 && cls_labels.size(0) == cams.size(0) &&
                    cls_labels.size(1) == cams.size(1),
                op, ": cls_labels must be (B, C) = (", cams.size(0), ", ", cams.size(1), "), got ",
                cls_labels.defined() ? shape_str(cls_labels.shape()) : "undefined");
}

// valid_cam = cams * y, its max over classes and 1 + the first argmax. cams (B, C, H, W).
struct MaxLabel {
    Tensor valid;                 // (B, C, H, W) f32
    std::vector<float> value;     // (B, H, W)
    std::vector<int64_t> label;   // (B, H, W), 1 + argmax
};
MaxLabel max_label(const Tensor& cams, const Tensor& cls_labels) {
    const Tensor c = cams.to(DType::f32).contiguous();
    const Tensor y = cls_labels.to(DType::f32).contiguous();
    const int64_t B = c.size(0), C = c.size(1), HW = c.size(2) * c.size(3);
    MaxLabel m;
    m.valid = Tensor::empty(c.shape());
    m.value.assign(static_cast<size_t>(B * HW), 0.f);
    m.label.assign(static_cast<size_t>(B * HW), 0);
    const float* cp = c.data<float>();
    const float* yp = y.data<float>();
    float* vp = m.valid.data<float>();
    for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < C; ++k)
            for (int64_t p = 0; p < HW; ++p) {
                const int64_t i = (b * C + k) * HW + p;
                const float v = yp[b * C + k] * cp[i];
                vp[i] = v;
                const size_t o = static_cast<size_t>(b * HW + p);
                if (k == 0 || v > m.value[o]) m.value[o] = v, m.label[o] = k + 1;  // torch.max: first index
            }
    return m;
}

// Rows/columns of a box clamped to an (H, W) map, as Python slicing does.
struct Span { int64_t y0, y1, x0, x1; };
Span clamp_box(const ImgBox& box, int64_t H, int64_t W) {
    auto c = [](int64_t v, int64_t n) { return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n); };
    return {c(box[0], H), c(box[1], H), c(box[2], W), c(box[3], W)};
}

Tensor to_label_tensor(const std::vector<int64_t>& v, const Shape& shape) {
    Tensor t = Tensor::empty(shape, DType::i64);
    std::copy(v.begin(), v.end(), t.data<int64_t>());
    return t;
}

}  // namespace

Tensor cam_to_label_plain(const Tensor& cams, const Tensor& cls_labels, const CamLabelThresholds& t) {
    check_cams(cams, cls_labels, "cam_to_label");
    NoGradGuard no_grad;
    MaxLabel m = max_label(cams, cls_labels);
    for (size_t i = 0; i < m.label.size(); ++i)
        if (m.value[i] <= static_cast<float>(t.bkg)) m.label[i] = 0;
    return to_label_tensor(m.label, {cams.size(0), cams.size(2), cams.size(3)});
}

Tensor cam_to_label_box(const Tensor& cams, const Tensor& cls_labels, const std::vector<ImgBox>& img_box,
                        bool ignore_mid, const CamLabelThresholds& t, Tensor* valid_cam) {
    check_cams(cams, cls_labels, "cam_to_label");
    const int64_t B = cams.size(0), H = cams.size(2), W = cams.size(3);
    WSDOL_CHECK(static_cast<int64_t>(img_box.size()) == B, "cam_to_label: ", img_box.size(), " img_box entries for ",
                B, " images");
    NoGradGuard no_grad;
    MaxLabel m = max_label(cams, cls_labels);
    // Thresholds compared in f32, as the f32 tensor against a Python float.
    for (size_t i = 0; i < m.label.size(); ++i) {
        const float v = m.value[i];
        if (v <= static_cast<float>(t.bkg)) m.label[i] = 0;
        if (ignore_mid) {
            if (v <= static_cast<float>(t.high)) m.label[i] = t.ignore_index;
            if (v <= static_cast<float>(t.low)) m.label[i] = 0;
        }
    }
    std::vector<int64_t> out(m.label.size(), t.ignore_index);
    for (int64_t b = 0; b < B; ++b) {
        const Span s = clamp_box(img_box[static_cast<size_t>(b)], H, W);
        for (int64_t y = s.y0; y < s.y1; ++y)
            for (int64_t x = s.x0; x < s.x1; ++x) {
                const size_t i = static_cast<size_t>((b * H + y) * W + x);
                out[i] = m.label[i];
            }
    }
    if (valid_cam) *valid_cam = m.valid;
    return to_label_tensor(out, {B, H, W});
}

Tensor cam_to_roi_mask(const Tensor& cams, const Tensor& cls_labels, double high, double low) {
    check_cams(cams, cls_labels, "cam_to_roi_mask");
    NoGradGuard no_grad;
    MaxLabel m = max_label(cams, cls_labels);
    std::vector<int64_t> roi(m.value.size());
    for (size_t i = 0; i < roi.size(); ++i) {
        const float v = m.value[i];
        roi[i] = v <= static_cast<float>(low) ? 0 : (v >= static_cast<float>(high) ? 2 : 1);
    }
    return to_label_tensor(roi, {cams.size(0), cams.size(2), cams.size(3)});
}

Tensor multi_scale_cam_merge(const std::vector<Tensor>& per_scale, int64_t H, int64_t W) {
    WSDOL_CHECK(!per_scale.empty(), "multi_scale_cam: no scales");
    NoGradGuard no_grad;
    Tensor sum;
    for (size_t s = 0; s < per_scale.size(); ++s) {
        const Tensor& c = per_scale[s];
        WSDOL_CHECK(c.defined() && c.dim() == 4 && c.size(0) % 2 == 0, "multi_scale_cam: scale ", s,
                    " must be (2B, C, h, w) (the input and its flip), got ",
                    c.defined() ? shape_str(c.shape()) : "undefined");
        const int64_t B = c.size(0) / 2;
        Tensor r = interpolate(c.to(DType::f32), H, W, InterpMode::bilinear, false);
        Tensor m = relu(maximum(r.narrow(0, 0, B), r.narrow(0, B, B).flip({3})));
        WSDOL_CHECK(!sum.defined() || sum.shape() == m.shape(), "multi_scale_cam: scale ", s, " gives ",
                    shape_str(m.shape()), ", scale 0 gave ", shape_str(sum.shape()));
        sum = sum.defined() ? add(sum, m) : m;
    }
    // cam + adaptive_max_pool2d(-cam) = cam - min; then / (max + 1e-5).
    Tensor shifted = sub(sum, min(sum, {2, 3}, true));
    return div(shifted, add(max(shifted, {2, 3}, true), 1e-5)).contiguous();
}

RoiCrops crop_from_roi(const Tensor& images, const Tensor& roi, int64_t crop_num, int64_t crop_size,
                       const PermutationFn& permutation) {
    WSDOL_CHECK(images.defined() && images.dim() == 4, "crop_from_roi: images must be (B, C, H, W), got ",
                images.defined() ? shape_str(images.shape()) : "undefined");
    const int64_t B = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
    WSDOL_CHECK(roi.defined() && roi.dim() == 3 && roi.size(0) == B && roi.size(1) == H && roi.size(2) == W,
                "crop_from_roi: roi must be (B, H, W) = ", shape_str({B, H, W}), ", got ",
                roi.defined() ? shape_str(roi.shape()) : "undefined");
    WSDOL_CHECK(crop_num >= 1 && crop_size >= 1, "crop_from_roi: crop_num and crop_size must be >= 1");
    const int64_t m = crop_size / 2;
    WSDOL_CHECK(H - 2 * m >= 1 && W - 2 * m >= 1 && (H - 2 * m) * (W - 2 * m) >= crop_num, "crop_from_roi: a ",
                H, " x ", W, " view has too few positions for ", crop_num, " crops of ", crop_size);
    NoGradGuard no_grad;
    const Tensor r = roi.to(DType::i64).contiguous();
    const int64_t* rp = r.data<int64_t>();
    const Tensor img = images.contiguous();
    RoiCrops out;
    std::vector<std::vector<Tensor>> per_crop(static_cast<size_t>(crop_num));
    std::vector<double> flags(static_cast<size_t>(B * (crop_num + 2)), 1.0);
    for (int64_t b = 0; b < B; ++b) {
        std::vector<std::pair<int64_t, int64_t>> cand, all;
        for (int64_t y = m; y < H - m; ++y)
            for (int64_t x = m; x < W - m; ++x) {
                all.emplace_back(y - m, x - m);
                if (rp[(b * H + y) * W + x] <= 1) cand.emplace_back(y - m, x - m);
            }
        if (static_cast<int64_t>(cand.size()) < crop_num) cand = all;
        const int64_t n = static_cast<int64_t>(cand.size());
        const std::vector<int64_t> perm = permutation(b, n);
        WSDOL_CHECK(static_cast<int64_t>(perm.size()) >= crop_num, "crop_from_roi: the permutation of image ", b,
                    " has ", perm.size(), " entries, need ", crop_num);
        for (int64_t i = 0; i < crop_num; ++i) {
            const int64_t k = perm[static_cast<size_t>(i)];
            WSDOL_CHECK(k >= 0 && k < n, "crop_from_roi: permutation entry ", k, " out of range [0, ", n, ")");
            const auto [h0, w0] = cand[static_cast<size_t>(k)];
            per_crop[static_cast<size_t>(i)].push_back(
                img.select(0, b).narrow(1, h0, crop_size).narrow(2, w0, crop_size).contiguous());
            int64_t s = 0;
            for (int64_t y = h0; y < h0 + crop_size; ++y)
                for (int64_t x = w0; x < w0 + crop_size; ++x) s += rp[(b * H + y) * W + x];
            const float ratio = static_cast<float>(s) / static_cast<float>(crop_size * crop_size);
            if (ratio <= 0.2f) flags[static_cast<size_t>(b * (crop_num + 2) + 2 + i)] = 0.0;
        }
    }
    for (auto& v : per_crop) out.crops.push_back(stack(v, 0));
    out.flags = Tensor::from_vector(flags, {B, crop_num + 2});
    (void)C;
    return out;
}

Tensor label_to_aff_mask(const Tensor& labels, int64_t ignore_index) {
    WSDOL_CHECK(labels.defined() && labels.dim() == 3, "label_to_aff_mask: labels must be (B, h, w), got ",
                labels.defined() ? shape_str(labels.shape()) : "undefined");
    const int64_t B = labels.size(0), N = labels.size(1) * labels.size(2);
    const Tensor l = labels.to(DType::i64).contiguous();
    const int64_t* lp = l.data<int64_t>();
    Tensor out = Tensor::empty({B, N, N}, DType::i64);
    int64_t* op = out.data<int64_t>();
    for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < N; ++i)
            for (int64_t j = 0; j < N; ++j) {
                const int64_t li = lp[b * N + i], lj = lp[b * N + j];
                int64_t v = li == lj ? 1 : 0;
                if (li == ignore_index || lj == ignore_index || i == j) v = ignore_index;
                op[(b * N + i) * N + j] = v;
            }
    return out;
}

Tensor denormalize_to_unit(const Tensor& images, const std::array<double, 3>& mean, const std::array<double, 3>& std) {
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 3,
                "denormalize: images must be (B, 3, H, W), got ",
                images.defined() ? shape_str(images.shape()) : "undefined");
    NoGradGuard no_grad;
    Tensor x = images.to(DType::f32).contiguous();
    Tensor out = Tensor::empty(x.shape());
    const int64_t B = x.size(0), HW = x.size(2) * x.size(3);
    const float* xp = x.data<float>();
    float* op = out.data<float>();
    for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < 3; ++c)
            for (int64_t p = 0; p < HW; ++p) {
                const int64_t i = (b * 3 + c) * HW + p;
                // f32 arithmetic as the f32 tensor times Python floats.
                const float v = xp[i] * static_cast<float>(std[static_cast<size_t>(c)]) +
                                static_cast<float>(mean[static_cast<size_t>(c)]);
                const float u = std::trunc(std::clamp(v, 0.0f, 255.0f));
                op[i] = u / 255.0f;
            }
    return out;
}

Tensor refine_cams_with_bkg_v2(const Par& par, const Tensor& images01, const Tensor& cams, const Tensor& cls_labels,
                               const std::vector<ImgBox>& img_box, const CamLabelThresholds& t) {
    check_cams(cams, cls_labels, "refine_cams_with_bkg_v2");
    const int64_t B = cams.size(0), C = cams.size(1), H = cams.size(2), W = cams.size(3);
    WSDOL_CHECK(images01.defined() && images01.dim() == 4 && images01.size(0) == B && images01.size(2) == H &&
                    images01.size(3) == W,
                "refine_cams_with_bkg_v2: images must be (B, 3, H, W) = (", B, ", 3, ", H, ", ", W, "), got ",
                images01.defined() ? shape_str(images01.shape()) : "undefined");
    WSDOL_CHECK(static_cast<int64_t>(img_box.size()) == B, "refine_cams_with_bkg_v2: ", img_box.size(),
                " img_box entries for ", B, " images");
    NoGradGuard no_grad;
    const int64_t h2 = H / 2, w2 = W / 2;
    const Tensor imgs = interpolate(images01.to(DType::f32), h2, w2, InterpMode::bilinear, false);
    const Tensor y = cls_labels.to(DType::f32).contiguous();
    std::vector<int64_t> lab_h(static_cast<size_t>(B * H * W), t.ignore_index), lab_l = lab_h;
    for (int64_t b = 0; b < B; ++b) {
        std::vector<int64_t> keys{0};
        for (int64_t c = 0; c < C; ++c)
            if (y.data<float>()[b * C + c] != 0.0f) keys.push_back(c + 1);
        std::vector<Tensor> chans;
        for (size_t k = 1; k < keys.size(); ++k) chans.push_back(cams.select(0, b).select(0, keys[k] - 1));
        const Span s = clamp_box(img_box[static_cast<size_t>(b)], H, W);
        for (int pass = 0; pass < 2; ++pass) {
            const double bg = pass == 0 ? t.high : t.low;
            std::vector<Tensor> stackv{Tensor::full({H, W}, bg)};
            for (auto& c : chans) stackv.push_back(c.to(DType::f32));
            // The whole stack is downscaled first (the constant background channel stays constant).
            Tensor st = interpolate(stack(stackv, 0).unsqueeze(0), h2, w2, InterpMode::bilinear, false);
            Tensor refined = par(imgs.narrow(0, b, 1), softmax(st, 1));
            Tensor up = interpolate(refined, H, W, InterpMode::bilinear, false);
            const Tensor am = argmax(up, 1).contiguous();  // (1, H, W)
            const int64_t* ap = am.data<int64_t>();
            auto& dst = pass == 0 ? lab_h : lab_l;
            for (int64_t yy = s.y0; yy < s.y1; ++yy)
                for (int64_t xx = s.x0; xx < s.x1; ++xx)
                    dst[static_cast<size_t>((b * H + yy) * W + xx)] = keys[static_cast<size_t>(ap[yy * W + xx])];
        }
    }
    std::vector<int64_t> out(lab_h.size());
    for (size_t i = 0; i < out.size(); ++i) {
        out[i] = lab_h[i];
        if (lab_h[i] == 0) out[i] = t.ignore_index;
        if (lab_h[i] + lab_l[i] == 0) out[i] = 0;
    }
    return to_label_tensor(out, {B, H, W});
}

std::vector<ImgBox> img_boxes_from_tensor(const Tensor& boxes) {
    WSDOL_CHECK(boxes.defined() && boxes.dim() == 2 && boxes.size(1) == 4,
                "img_box: expected a (B, 4) tensor {y0, y1, x0, x1}, got ",
                boxes.defined() ? shape_str(boxes.shape()) : "undefined");
    const std::vector<double> v = boxes.to_vector();
    std::vector<ImgBox> out(static_cast<size_t>(boxes.size(0)));
    for (size_t b = 0; b < out.size(); ++b)
        for (size_t k = 0; k < 4; ++k) out[b][k] = static_cast<int64_t>(v[b * 4 + k]);
    return out;
}

}  // namespace wsdol::models
