// toco_losses.cpp — ToCo's PTC, CTC, segmentation and dense-energy losses and DIAL's GIA and LEA
// (definitions and sources in toco_losses.h).
#include "models/toco_losses.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/dense_crf.h"

namespace wsdol::models {

namespace {
std::string shp(const Tensor& t) { return t.defined() ? shape_str(t.shape()) : "undefined"; }
}  // namespace

Tensor ptc_loss(const Tensor& fmap, const Tensor& aff) {
    WSDOL_CHECK(fmap.defined() && fmap.dim() == 4, "ptc_loss: fmap must be (B, D, h, w), got ", shp(fmap));
    const int64_t B = fmap.size(0), D = fmap.size(1), N = fmap.size(2) * fmap.size(3);
    WSDOL_CHECK(aff.defined() && aff.dim() == 3 && aff.size(0) == B && aff.size(1) == N && aff.size(2) == N,
                "ptc_loss: aff must be (B, hw, hw) = ", shape_str({B, N, N}), ", got ", shp(aff));
    Tensor x = normalize(fmap.reshape({B, D, N}), 2.0, 1, 1e-8);
    Tensor c = abs(bmm(x.transpose(1, 2), x));  // (B, N, N)
    Tensor pos = eq(aff, 1.0).to(DType::f32), neg = eq(aff, 0.0).to(DType::f32);
    const double n_pos = sum(pos).item(), n_neg = sum(neg).item();
    Tensor lp = rsub(1.0, div(sum(mul(pos, c)), n_pos + 1.0));
    Tensor ln = div(sum(mul(neg, c)), n_neg + 1.0);
    return add(mul(lp, 0.5), mul(ln, 0.5));
}

Tensor ctc_loss(const Tensor& student, const Tensor& teacher, const Tensor& flags, double temp) {
    WSDOL_CHECK(flags.defined() && flags.dim() == 2 && flags.size(1) >= 2, "ctc_loss: flags must be (B, ncrops), got ",
                shp(flags));
    const int64_t B = flags.size(0), nc = flags.size(1);
    WSDOL_CHECK(student.defined() && student.dim() == 2 && student.size(0) == nc * B,
                "ctc_loss: student must be (ncrops * B, E) = (", nc * B, ", E), got ", shp(student));
    WSDOL_CHECK(teacher.defined() && teacher.dim() == 2 && teacher.size(0) == 2 * B &&
                    teacher.size(1) == student.size(1),
                "ctc_loss: teacher must be (2 * B, E) = (", 2 * B, ", ", student.size(1), "), got ", shp(teacher));
    WSDOL_CHECK(temp > 0, "ctc_loss: temperature ", temp, " must be > 0");
    const int64_t E = student.size(1);
    Tensor s = student.reshape({nc, B, E}).permute({1, 0, 2});  // (B, nc, E)
    Tensor t = teacher.reshape({2, B, E}).permute({1, 0, 2});   // (B, 2, E)
    Tensor logits = exp(div(bmm(t, s.transpose(1, 2)), temp));  // (B, 2, nc)
    const std::vector<double> f = flags.to_vector();
    Tensor total;
    for (int64_t b = 0; b < B; ++b) {
        std::vector<double> negs, poss;
        for (int64_t j = 0; j < nc; ++j) (f[static_cast<size_t>(b * nc + j)] == 0.0 ? negs : poss).push_back(double(j));
        Tensor lb = logits.select(0, b);  // (2, nc)
        Tensor negsum = negs.empty() ? Tensor::zeros({2})
                                  : sum(index_select(lb, 1, Tensor::from_vector(negs, {int64_t(negs.size())}, DType::i64)), {1});
        Tensor loss;
        for (double j : poss) {
            Tensor pl = lb.select(1, static_cast<int64_t>(j));
            Tensor term = wsdol::neg(log(div(pl, add(add(pl, negsum), 1e-4))));
            loss = loss.defined() ? add(loss, term) : term;
        }
        // Python's for-else: always runs (there is no break).
        Tensor extra = wsdol::neg(log(rdiv(1.0, add(add(negsum, 1.0), 1e-4))));  // -log(1 / (1 + neg + 1e-4))
        loss = loss.defined() ? add(loss, extra) : extra;
        Tensor contrib = div(sum(loss), 2.0 * (static_cast<double>(poss.size()) + 1e-4));
        total = total.defined() ? add(total, contrib) : contrib;
    }
    return div(total, static_cast<double>(B));
}

Tensor seg_loss(const Tensor& logits, const Tensor& labels, int64_t ignore_index, int* empty) {
    WSDOL_CHECK(logits.defined() && logits.dim() == 4, "seg_loss: logits must be (B, K, H, W), got ", shp(logits));
    WSDOL_CHECK(labels.defined() && labels.dim() == 3 && labels.size(0) == logits.size(0) &&
                    labels.size(1) == logits.size(2) && labels.size(2) == logits.size(3),
                "seg_loss: labels must be (B, H, W) = ", shape_str({logits.size(0), logits.size(2), logits.size(3)}),
                ", got ", shp(labels));
    const Tensor lab = labels.to(DType::i64);
    const Tensor ign = Tensor::full(lab.shape(), double(ignore_index), DType::i64);
    const Tensor is_bg = eq(lab, 0.0), is_ign = eq(lab, double(ignore_index));
    const Tensor bg_label = where(is_bg, lab, ign);
    const Tensor fg_label = where(logical_or(is_bg, is_ign), ign, lab);
    int flags = 0;
    Tensor total = Tensor::zeros({}, logits.dtype());
    const Tensor sets[2] = {bg_label, fg_label};
    for (int k = 0; k < 2; ++k) {
        const bool none = sum(ne(sets[k], ign).to(DType::f32)).item() == 0.0;
        if (none) {  // INFERRED guard: PyTorch gives NaN (mean over no pixels); this term counts 0 instead
            flags |= 1 << k;
            continue;
        }
        total = add(total, mul(cross_entropy(logits, sets[k], Tensor(), ignore_index), 0.5));
    }
    if (empty) *empty = flags;
    return total;
}

Tensor energy_filter(const Tensor& features, const Tensor& values, EnergyFilter filter) {
    if (filter == EnergyFilter::lattice) return permutohedral_filter(features, values);
    WSDOL_CHECK(features.dim() == 2 && values.dim() == 2 && features.size(0) == values.size(0),
                "energy_filter: features (N, d) and values (N, V) must share N, got ", shape_str(features.shape()),
                " and ", shape_str(values.shape()));
    const Tensor f = features.detach().to(DType::f64).contiguous(), v = values.detach().to(DType::f64).contiguous();
    const int64_t n = f.size(0), d = f.size(1), V = v.size(1);
    const double* fp = f.data<double>();
    const double* vp = v.data<double>();
    std::vector<double> acc(static_cast<size_t>(n * V), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double d2 = 0;
            for (int64_t k = 0; k < d; ++k) {
                const double t = fp[i * d + k] - fp[j * d + k];
                d2 += t * t;
            }
            const double w = std::exp(-0.5 * d2);
            for (int64_t c = 0; c < V; ++c) acc[static_cast<size_t>(i * V + c)] += w * vp[j * V + c];
        }
    Tensor out = Tensor::empty({n, V});
    float* op = out.data<float>();
    for (size_t i = 0; i < acc.size(); ++i) op[i] = static_cast<float>(acc[i]);
    return out;
}

Tensor energy_loss(const Tensor& images, const Tensor& logits, const Tensor& labels,
                   const std::vector<ImgBox>& img_box, const EnergyLossOptions& o) {
    WSDOL_CHECK(logits.defined() && logits.dim() == 4, "energy_loss: logits must be (B, K, H, W), got ", shp(logits));
    const int64_t B = logits.size(0), K = logits.size(1), H = logits.size(2), W = logits.size(3);
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(0) == B && images.size(1) == 3 &&
                    images.size(2) == H && images.size(3) == W,
                "energy_loss: images must be (B, 3, H, W) = ", shape_str({B, 3, H, W}), ", got ", shp(images));
    WSDOL_CHECK(labels.defined() && labels.dim() == 3 && labels.size(0) == B && labels.size(1) == H &&
                    labels.size(2) == W,
                "energy_loss: labels must be (B, H, W) = ", shape_str({B, H, W}), ", got ", shp(labels));
    WSDOL_CHECK(static_cast<int64_t>(img_box.size()) == B, "energy_loss: ", img_box.size(), " img_box entries for ",
                B, " images");
    WSDOL_CHECK(o.scale_factor > 0 && o.sigma_rgb > 0 && o.sigma_xy > 0,
                "energy_loss: scale_factor, sigma_rgb and sigma_xy must be > 0");
    // F.interpolate(scale_factor=s, recompute_scale_factor=True): output floor(size * s), source scale in/out.
    const auto h = static_cast<int64_t>(std::floor(double(H) * o.scale_factor));
    const auto w = static_cast<int64_t>(std::floor(double(W) * o.scale_factor));
    WSDOL_CHECK(h >= 1 && w >= 1, "energy_loss: ", H, " x ", W, " scaled by ", o.scale_factor, " is empty");
    Tensor probs = softmax(logits, 1);
    Tensor small_probs = interpolate(probs, h, w, InterpMode::bilinear, false);  // (B, K, h, w), differentiable
    Tensor sp, roi, gate, small_img;
    {
        NoGradGuard no_grad;
        // De-normalized image (0-255, float: no uint8 cast in get_energy_loss), ROI, labels: nearest.
        Tensor img = images.detach().to(DType::f32).contiguous().clone();
        for (int64_t c = 0; c < 3; ++c) {
            Tensor ch = img.narrow(1, c, 1);
            ch.copy_(add(mul(ch, o.std[static_cast<size_t>(c)]), o.mean[static_cast<size_t>(c)]));
        }
        small_img = interpolate(img, h, w, InterpMode::nearest).contiguous();
        Tensor crop = Tensor::zeros({B, 1, H, W});
        for (int64_t b = 0; b < B; ++b) {
            auto c = [](int64_t v, int64_t n) { return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n); };
            const ImgBox& bx = img_box[static_cast<size_t>(b)];
            const int64_t y0 = c(bx[0], H), y1 = c(bx[1], H), x0 = c(bx[2], W), x1 = c(bx[3], W);
            if (y1 > y0 && x1 > x0) crop.select(0, b).narrow(1, y0, y1 - y0).narrow(2, x0, x1 - x0).fill_(1.0);
        }
        roi = interpolate(crop, h, w, InterpMode::nearest).contiguous();  // (B, 1, h, w)
        // label.type(torch.uint8): 255 stays 255 (other values are class ids < 255).
        Tensor lab = interpolate(labels.to(DType::f32).unsqueeze(1), h, w, InterpMode::nearest);
        Tensor unlabeled = eq(lab, 255.0);
        sp = small_probs.detach().contiguous();
        Tensor g = sub(roi, max(sp, {1}, true));
        g = where(unlabeled, Tensor::ones({}), g);
        gate = clamp(g, 0.0, std::numeric_limits<double>::infinity()).contiguous();  // (B, 1, h, w)
    }
    // AS = gate * W(S), S = P * ROI, per image with the lattice over (x / sxy, y / sxy, rgb / srgb).
    const double sxy = o.sigma_xy * o.scale_factor;
    Tensor AS = Tensor::empty({B, K, h, w});
    double energy = 0.0;
    {
        NoGradGuard no_grad;
        Tensor S = mul(sp, roi).contiguous();
        for (int64_t b = 0; b < B; ++b) {
            std::vector<double> feat(static_cast<size_t>(h * w * 5));
            const float* ip = small_img.data<float>() + b * 3 * h * w;
            for (int64_t y = 0; y < h; ++y)
                for (int64_t x = 0; x < w; ++x) {
                    const int64_t i = y * w + x;
                    // rloss: float(i) / sigmaxy, float(image) / sigmargb in float arithmetic.
                    feat[static_cast<size_t>(i * 5 + 0)] = static_cast<float>(x) / static_cast<float>(sxy);
                    feat[static_cast<size_t>(i * 5 + 1)] = static_cast<float>(y) / static_cast<float>(sxy);
                    for (int c = 0; c < 3; ++c)
                        feat[static_cast<size_t>(i * 5 + 2 + c)] = ip[c * h * w + i] / static_cast<float>(o.sigma_rgb);
                }
            Tensor F = Tensor::from_vector(feat, {h * w, 5});
            Tensor vals = S.select(0, b).reshape({K, h * w}).t().contiguous();  // (hw, K)
            Tensor filtered = energy_filter(F, vals, o.filter).t().reshape({K, h, w});
            Tensor as = mul(filtered, gate.select(0, b)).contiguous();
            AS.select(0, b).copy_(as);
            const float* sp_ = S.data<float>() + b * K * h * w;
            const float* ap = as.data<float>();
            for (int64_t i = 0; i < K * h * w; ++i) energy += double(sp_[i]) * double(ap[i]);
        }
    }
    const double value = -energy / double(B) * o.weight;
    // rloss's custom backward without a new autograd op: surrogate = sum(P_small * G) with the constant
    // G = -2 weight AS ROI / B has exactly the gradient G; (surrogate - surrogate.detach()) is exactly 0 in value,
    // so out = that + E carries E's value and rloss's gradient (the gate treated as a constant).
    const Tensor G = mul(mul(AS, roi), -2.0 * o.weight / double(B));
    const Tensor surrogate = sum(mul(small_probs, G));
    Tensor out = add(sub(surrogate, surrogate.detach()), value);
    return out;
}

Tensor pairwise_cosine(const Tensor& a, const Tensor& b, double eps) {
    WSDOL_CHECK(a.defined() && a.dim() >= 2 && b.defined() && b.dim() == 2 && a.size(-1) == b.size(1),
                "pairwise_cosine: expected a (..., d) and b (M, d), got ", shp(a), " and ", shp(b));
    Tensor dot = matmul(a, b.t());                                         // (..., M)
    Tensor na = sum(mul(a, a), {-1}, true);                                // (..., 1)
    Tensor nb = sum(mul(b, b), {1}).reshape({1, b.size(0)});               // (1, M)
    Tensor den = sqrt(clamp(mul(na, nb), eps * eps, std::numeric_limits<double>::infinity()));
    return div(dot, den);
}

Tensor gia_loss(const Tensor& cls, const Tensor& text_fg, const Tensor& text_bg, const Tensor& labels) {
    WSDOL_CHECK(cls.defined() && cls.dim() == 2, "gia_loss: cls must be (B, d), got ", shp(cls));
    WSDOL_CHECK(text_fg.defined() && text_fg.dim() == 2 && text_bg.defined() && text_bg.dim() == 2 &&
                    text_bg.size(0) == 1,
                "gia_loss: texts must be (C, d) and (1, d), got ", shp(text_fg), " and ", shp(text_bg));
    WSDOL_CHECK(labels.defined() && labels.dim() == 2 && labels.size(0) == cls.size(0) &&
                    labels.size(1) == text_fg.size(0),
                "gia_loss: labels must be (B, C) = (", cls.size(0), ", ", text_fg.size(0), "), got ", shp(labels));
    // INFERRED: clamp(1e-4, 0.9999) before the logs (CLIMS's convention).
    Tensor sf = clamp(pairwise_cosine(cls, text_fg), 1e-4, 0.9999);  // (B, C)
    Tensor sb = clamp(pairwise_cosine(cls, text_bg), 1e-4, 0.9999);  // (B, 1)
    Tensor per = sub(neg(sum(mul(labels.to(cls.dtype()), log(sf)), {1})), log(rsub(1.0, sb)).squeeze(1));
    return mean(per);  // INFERRED: mean over the batch
}

Tensor lea_loss(const Tensor& patches, const Tensor& obj, const Tensor& text_fg, const Tensor& text_bg,
                const Tensor& labels, const LeaOptions& o) {
    WSDOL_CHECK(patches.defined() && patches.dim() == 3, "lea_loss: patches must be (B, N, d), got ", shp(patches));
    const int64_t B = patches.size(0), N = patches.size(1);
    WSDOL_CHECK(obj.defined() && obj.dim() == 2 && obj.size(0) == B && obj.size(1) == N,
                "lea_loss: the object mask must be (B, N) = (", B, ", ", N, "), got ", shp(obj));
    WSDOL_CHECK(labels.defined() && labels.dim() == 2 && labels.size(0) == B && labels.size(1) == text_fg.size(0),
                "lea_loss: labels must be (B, C) = (", B, ", ", text_fg.size(0), "), got ", shp(labels));
    WSDOL_CHECK(o.tau > 0, "lea_loss: tau ", o.tau, " must be > 0");
    const Tensor m = obj.to(patches.dtype()).unsqueeze(2);  // (B, N, 1)
    const Tensor vf = mul(patches, m), vb = mul(patches, rsub(1.0, m));  // INFERRED: masked after projection
    const Tensor y = labels.to(patches.dtype()).unsqueeze(1);            // (B, 1, C)
    Tensor sp_fg = sum(mul(pairwise_cosine(vf, text_fg), y), {2});        // (B, N)
    Tensor sn_fg = pairwise_cosine(vf, text_bg).squeeze(2);
    Tensor sp_bg = pairwise_cosine(vb, text_bg).squeeze(2);
    Tensor sn_bg = sum(mul(pairwise_cosine(vb, text_fg), y), {2});
    // -log(e^{a/t} / (e^{a/t} + e^{b/t})) = -log_softmax over the pair, position 0.
    auto nll = [&](const Tensor& a, const Tensor& b) {
        return neg(log_softmax(stack({div(a, o.tau), div(b, o.tau)}, 2), 2).select(2, 0));  // (B, N)
    };
    Tensor lf = nll(sp_fg, sn_fg), lb = nll(sp_bg, sn_bg);
    Tensor fg_term, bg_term;
    if (o.masked_mean) {
        const Tensor mm = obj.to(patches.dtype());
        const Tensor nf = sum(mm, {1}), nbk = sum(rsub(1.0, mm), {1});
        fg_term = div(sum(mul(lf, mm), {1}), clamp(nf, 1.0, INFINITY));       // empty set -> 0
        bg_term = div(sum(mul(lb, rsub(1.0, mm)), {1}), clamp(nbk, 1.0, INFINITY));
    } else {
        fg_term = mean(lf, {1});
        bg_term = mean(lb, {1});
    }
    return mean(add(fg_term, mul(bg_term, o.lambda)));
}

}  // namespace wsdol::models
