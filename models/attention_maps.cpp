// attention_maps.cpp — MCTformer/MMCST attention localisation maps, the multi-scale + flip driver and the
// per-class normalizations (see attention_maps.h; spec ../shared/docs/methods.md §2.1, §2.2, §4.3).
#include "models/attention_maps.h"

#include <cmath>
#include <string>

#include "engine/autograd/autograd.h"
#include "engine/data/pil_resize.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

const char* attention_map_type_name(AttentionMapType t) {
    switch (t) {
        case AttentionMapType::fused: return "fused";
        case AttentionMapType::attention: return "attention";
        case AttentionMapType::cam: return "cam";
    }
    return "?";
}

AttentionMapType attention_map_type_from_name(const std::string& name) {
    if (name == "fused") return AttentionMapType::fused;
    if (name == "attention") return AttentionMapType::attention;
    if (name == "cam") return AttentionMapType::cam;
    fail(str("attention map type: unknown '", name, "' (expected fused, attention or cam)"));
}

Tensor attention_class_maps(const std::vector<Tensor>& attn_probs, const AttentionTokenLayout& layout,
                            const Tensor& cam, const AttentionMapOptions& options) {
    NoGradGuard no_grad;
    const int64_t L = static_cast<int64_t>(attn_probs.size());
    WSDOL_CHECK(L >= 1, "attention_class_maps: no attention tensors given");
    const int64_t C = layout.num_classes, N = layout.grid_h * layout.grid_w;
    WSDOL_CHECK(C >= 1 && layout.grid_h >= 1 && layout.grid_w >= 1,
                "attention_class_maps: layout needs num_classes >= 1 and a non-empty grid, got C ", C, ", grid ",
                layout.grid_h, "x", layout.grid_w);
    WSDOL_CHECK(options.class_blocks >= 1 && options.class_blocks <= L, "attention_class_maps: class_blocks ",
                options.class_blocks, " must be in [1, ", L, "] (the number of blocks given)");
    const Tensor& first = attn_probs[0];
    WSDOL_CHECK(first.dim() == 4 && first.size(2) == first.size(3),
                "attention_class_maps: attention probs must be (B, heads, T, T), got ", shape_str(first.shape()));
    const int64_t B = first.size(0), T = first.size(2);
    WSDOL_CHECK(layout.class_start >= 0 && layout.class_start + C <= T && layout.patch_start >= 0 &&
                    layout.patch_start + N <= T,
                "attention_class_maps: layout (classes [", layout.class_start, ", ", layout.class_start + C,
                "), patches [", layout.patch_start, ", ", layout.patch_start + N, ")) does not fit T = ", T);
    for (int64_t l = 0; l < L; ++l)
        WSDOL_CHECK(attn_probs[l].shape() == first.shape(), "attention_class_maps: block ", l, " probs ",
                    shape_str(attn_probs[l].shape()), " differ from block 0's ", shape_str(first.shape()));
    const bool needs_cam = options.type != AttentionMapType::attention;
    if (needs_cam)
        WSDOL_CHECK(cam.defined() && cam.shape() == Shape({B, C, layout.grid_h, layout.grid_w}),
                    "attention_class_maps: type '", attention_map_type_name(options.type),
                    "' needs cam (B, C, gh, gw) = ",
                    shape_str({B, C, layout.grid_h, layout.grid_w}), ", got ",
                    cam.defined() ? shape_str(cam.shape()) : std::string("none"));

    // Ā_l: head average (torch.mean over dim 2 of the stacked (L, B, H, T, T) in MCTformer).
    std::vector<Tensor> avg(L);
    for (int64_t l = 0; l < L; ++l) avg[l] = mean(attn_probs[l].detach(), {1});  // (B, T, T)

    // A_c2p over the last K blocks, summed in block order (torch .sum(0) over the stacked slice).
    Tensor maps;  // (B, C, N)
    if (options.type != AttentionMapType::cam) {
        Tensor c2p;
        for (int64_t l = L - options.class_blocks; l < L; ++l) {
            Tensor part = avg[l].narrow(1, layout.class_start, C).narrow(2, layout.patch_start, N);
            c2p = c2p.defined() ? add(c2p, part) : part.contiguous();
        }
        maps = c2p;
    }
    if (needs_cam) {
        Tensor relu_cam = relu(cam.detach()).reshape({B, C, N});  // MCTformer: F.relu(x_patch.detach())
        maps = maps.defined() ? mul(maps, relu_cam) : relu_cam;
    }
    if (options.patch_refine) {
        Tensor p2p;  // (B, N, N): row i = query patch
        for (int64_t l = 0; l < L; ++l) {
            Tensor part = avg[l].narrow(1, layout.patch_start, N).narrow(2, layout.patch_start, N);
            p2p = p2p.defined() ? add(p2p, part) : part.contiguous();
        }
        // M (B, C, N) = maps (B, C, N) . A_p2p^T, i.e. M_c(i) = sum_j A_p2p(i, j) maps_c(j)
        maps = bmm(maps.contiguous(), p2p.transpose(1, 2).contiguous());
    }
    return maps.reshape({B, C, layout.grid_h, layout.grid_w}).contiguous();
}

Tensor upsample_label_maps(const Tensor& maps, int64_t out_h, int64_t out_w, const Tensor& labels) {
    NoGradGuard no_grad;
    WSDOL_CHECK(maps.dim() == 4, "upsample_label_maps: maps must be (B, C, h, w), got ", shape_str(maps.shape()));
    WSDOL_CHECK(out_h >= 1 && out_w >= 1, "upsample_label_maps: output size ", out_h, "x", out_w, " is empty");
    Tensor up = interpolate(maps.detach(), out_h, out_w, InterpMode::bilinear, /*align_corners=*/false);
    if (!labels.defined()) return up;
    WSDOL_CHECK(labels.shape() == Shape({maps.size(0), maps.size(1)}), "upsample_label_maps: labels ",
                shape_str(labels.shape()), " must be (B, C) = ", shape_str({maps.size(0), maps.size(1)}));
    return mul(up, labels.detach().to(maps.dtype()).reshape({maps.size(0), maps.size(1), 1, 1}));
}

namespace {

// (C) label mask from the list of present classes.
Tensor label_mask(const std::vector<int>& labels, int64_t C, DType dtype, Device device, const char* op) {
    std::vector<double> m(C, 0.0);
    for (int c : labels) {
        WSDOL_CHECK(c >= 0 && c < C, op, ": label ", c, " out of range for ", C, " classes");
        m[c] = 1.0;
    }
    return Tensor::from_vector(m, {C}, dtype, device);
}

}  // namespace

Tensor pil_bicubic_rescale(const Tensor& image, int64_t h, int64_t w, const std::vector<double>& mean_rgb,
                           const std::vector<double>& std_rgb) {
    WSDOL_CHECK(image.dim() == 3 && image.size(0) == 3, "pil_bicubic_rescale: image must be (3, H, W), got ",
                shape_str(image.shape()));
    WSDOL_CHECK(mean_rgb.size() == 3 && std_rgb.size() == 3, "pil_bicubic_rescale: mean and std need 3 values");
    WSDOL_CHECK(h >= 1 && w >= 1, "pil_bicubic_rescale: output size ", h, "x", w, " is empty");
    const int64_t H = image.size(1), W = image.size(2);
    const Tensor src = image.detach().to(DType::f64).cpu().contiguous();
    const double* x = src.data<double>();
    std::vector<uint8_t> hwc(static_cast<size_t>(H * W * 3));
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t i = 0; i < H * W; ++i) {
            const double v = std::nearbyint((x[c * H * W + i] * std_rgb[c] + mean_rgb[c]) * 255.0);
            hwc[i * 3 + c] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    const std::vector<uint8_t> out = data::pil_resize(hwc.data(), H, W, 3, h, w, data::PilFilter::bicubic);
    // ToTensor (x / 255) then Normalize ((x - mean) / std), in f32 as torchvision does.
    std::vector<double> chw(static_cast<size_t>(3 * h * w));
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t i = 0; i < h * w; ++i) {
            const float v = static_cast<float>(out[i * 3 + c]) / 255.0f;
            chw[c * h * w + i] = (v - static_cast<float>(mean_rgb[c])) / static_cast<float>(std_rgb[c]);
        }
    return Tensor::from_vector(chw, {3, h, w}, image.dtype(), image.device());
}

ImageRescale imagenet_pil_bicubic_rescale() {
    return [](const Tensor& image, int64_t h, int64_t w) {
        return pil_bicubic_rescale(image, h, w, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225});
    };
}

Tensor multiscale_flip_maps(const Tensor& image, const ClassMapForward& forward, const std::vector<int>& labels,
                            const TestTimeOptions& options) {
    NoGradGuard no_grad;
    WSDOL_CHECK(image.dim() == 3, "multiscale_flip_maps: image must be (3, H, W), got ", shape_str(image.shape()));
    WSDOL_CHECK(!options.scales.empty(), "multiscale_flip_maps: no scales given");
    WSDOL_CHECK(static_cast<bool>(forward), "multiscale_flip_maps: no forward function given");
    WSDOL_CHECK(options.upsample_stride >= 1, "multiscale_flip_maps: upsample_stride must be >= 1");
    const int64_t H = image.size(1), W = image.size(2);
    const ImageRescale rescale = options.rescale ? options.rescale : imagenet_pil_bicubic_rescale();
    const int64_t s = options.upsample_stride;
    const int64_t up_h = options.upsample == MapUpsample::to_image ? H : s * ((H + s - 1) / s);
    const int64_t up_w = options.upsample == MapUpsample::to_image ? W : s * ((W + s - 1) / s);

    Tensor total;  // (C, H, W)
    for (double scale : options.scales) {
        WSDOL_CHECK(scale > 0, "multiscale_flip_maps: scale ", scale, " must be > 0");
        Tensor img = image.detach();
        if (scale != 1.0) {
            // IRNet imutils.pil_rescale: int(np.round(size * scale)); np.round rounds half to even, as nearbyint.
            const int64_t h = static_cast<int64_t>(std::nearbyint(H * scale));
            const int64_t w = static_cast<int64_t>(std::nearbyint(W * scale));
            WSDOL_CHECK(h >= 1 && w >= 1, "multiscale_flip_maps: scale ", scale, " makes the ", H, "x", W,
                        " image empty");
            img = rescale(img, h, w);
        }
        const Tensor batch = options.flip ? stack({img, img.flip({2})}, 0) : img.unsqueeze(0);
        const Tensor maps = forward(batch);
        WSDOL_CHECK(maps.defined() && maps.dim() == 4 && maps.size(0) == batch.size(0),
                    "multiscale_flip_maps: forward must return (N, C, h, w) with N = ", batch.size(0), ", got ",
                    maps.defined() ? shape_str(maps.shape()) : std::string("nothing"));
        const Tensor up = interpolate(maps.detach(), up_h, up_w, InterpMode::bilinear, /*align_corners=*/false);
        for (int64_t n = 0; n < batch.size(0); ++n) {
            // The mirrored pass is flipped back at the upsampled size, before any crop (IRNet flips at the
            // network's resolution; bilinear upsampling commutes with the flip).
            Tensor m = up.select(0, n);
            if (n == 1) m = m.flip({2});
            if (up_h != H || up_w != W) m = m.narrow(1, 0, H).narrow(2, 0, W);
            if (total.defined())
                WSDOL_CHECK(m.size(0) == total.size(0), "multiscale_flip_maps: scale ", scale, " gave ",
                            m.size(0), " classes, earlier passes ", total.size(0));
            total = total.defined() ? add(total, m) : m.contiguous();
        }
    }
    const Tensor mask = label_mask(labels, total.size(0), total.dtype(), total.device(), "multiscale_flip_maps");
    return mul(total, mask.reshape({-1, 1, 1}));
}

Tensor minmax_normalize_maps(const Tensor& maps, const std::vector<int>& labels) {
    NoGradGuard no_grad;
    WSDOL_CHECK(maps.dim() == 3, "minmax_normalize_maps: maps must be (C, H, W), got ", shape_str(maps.shape()));
    const Tensor mask = label_mask(labels, maps.size(0), maps.dtype(), maps.device(), "minmax_normalize_maps");
    const Tensor lo = min(maps, {1, 2}, true), hi = max(maps, {1, 2}, true);
    // MCTformer: (cam - cam.min()) / (cam.max() - cam.min() + 1e-8)
    return mul(div(sub(maps, lo), add(sub(hi, lo), 1e-8)), mask.reshape({-1, 1, 1}));
}

Tensor max_normalize_maps(const Tensor& maps, const std::vector<int>& labels) {
    NoGradGuard no_grad;
    WSDOL_CHECK(maps.dim() == 3, "max_normalize_maps: maps must be (C, H, W), got ", shape_str(maps.shape()));
    const Tensor mask = label_mask(labels, maps.size(0), maps.dtype(), maps.device(), "max_normalize_maps");
    // IRNet: cam /= F.adaptive_max_pool2d(cam, (1, 1)) + 1e-5
    return mul(div(maps, add(max(maps, {1, 2}, true), 1e-5)), mask.reshape({-1, 1, 1}));
}

Tensor background_from_maps(const Tensor& maps, double alpha) {
    NoGradGuard no_grad;
    WSDOL_CHECK(maps.dim() == 3 && maps.size(0) >= 1, "background_from_maps: maps must be (C, H, W), got ",
                shape_str(maps.shape()));
    // PSA: np.power(1 - np.max(cam_values, axis=0), alpha)
    return pow(rsub(1.0, max(maps, {0})), alpha);
}

}  // namespace wsdol::models
