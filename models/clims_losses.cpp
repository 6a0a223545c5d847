// clims_losses.cpp — CLIMS stage-1 losses (see clims_losses.h for the formulas and their sources).
#include "models/clims_losses.h"

#include <map>

#include "engine/autograd/autograd.h"
#include "engine/core/error.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

const char* clims_variant_name(ClimsVariant v) { return v == ClimsVariant::improved ? "improved" : "camera_ready"; }

ClimsVariant clims_variant_from_name(const std::string& name) {
    if (name == "improved") return ClimsVariant::improved;
    if (name == "camera_ready" || name == "camera-ready") return ClimsVariant::camera_ready;
    fail(str("clims: unknown variant '", name, "' (expected improved or camera_ready)"));
}

ClimsLossWeights clims_default_weights(ClimsVariant v) {
    if (v == ClimsVariant::improved) return {10, 24, 1, 0.2};  // README --hyper 10,24,1,0.2
    return {10, 25, 29.5, 1.15};                                 // previous_version/train_CLIMS.py --hyper
}

namespace {
constexpr double kClampLo = 1e-4, kClampHi = 0.9999;  // clip_loss.py x.clamp(0.0001, 0.9999)

Tensor weighted_mean(const Tensor& nll, const Tensor& w) { return mean(w.defined() ? mul(nll, w) : nll); }

void check_features(const Tensor& t, const char* what, int64_t rows, int64_t width) {
    WSDOL_CHECK(t.defined() && t.dim() == 2, "clims losses: ", what, " must be (N, E), got ",
                t.defined() ? shape_str(t.shape()) : std::string("undefined"));
    WSDOL_CHECK((rows < 0 || t.size(0) == rows) && (width < 0 || t.size(1) == width), "clims losses: ", what,
                " has shape ", shape_str(t.shape()), ", expected (", rows < 0 ? std::string("*") : std::to_string(rows),
                ", ", width < 0 ? std::string("*") : std::to_string(width), ")");
}
}  // namespace

Tensor clims_normalize(const Tensor& x) { return div(x, norm(x, 2.0, {-1}, true)); }

Tensor clims_sim_max(const Tensor& x, const Tensor& w, bool clamp_range) {
    const Tensor s = clamp_range ? clamp(x, kClampLo, kClampHi) : x;
    return weighted_mean(neg(log(s)), w);
}

Tensor clims_sim_min(const Tensor& x, const Tensor& w, bool clamp_range) {
    const Tensor s = clamp_range ? clamp(x, kClampLo, kClampHi) : x;
    return weighted_mean(neg(log(rsub(1.0, s))), w);
}

Tensor clims_background_suppression(const Tensor& fg_features, const Tensor& background_text, double threshold) {
    check_features(fg_features, "fg_features", -1, -1);
    check_features(background_text, "background_text", -1, fg_features.size(1));
    const Tensor s = matmul(clims_normalize(fg_features), clims_normalize(background_text).transpose(0, 1));  // (N, K)
    // mask = where(s > threshold, 1, 0): a constant (no gradient through the comparison)
    const Tensor mask = cast(gt(s.detach(), threshold), s.dtype());
    return neg(sum(mul(log(rsub(1.0, s)), mask)));
}

ClimsLossValues clims_losses(const ClimsLossInputs& in, const ClimsLossOptions& o) {
    check_features(in.fg_features, "fg_features", -1, -1);
    const int64_t N = in.fg_features.size(0), E = in.fg_features.size(1);
    WSDOL_CHECK(N >= 1, "clims losses: no positive (image, class) pair in the batch");
    check_features(in.bg_features, "bg_features", N, E);
    check_features(in.pair_text, "pair_text", N, E);
    WSDOL_CHECK(in.maps.defined() && in.maps.dim() == 4, "clims losses: maps must be (B, C, h, w), got ",
                in.maps.defined() ? shape_str(in.maps.shape()) : std::string("undefined"));
    const Tensor fg = clims_normalize(in.fg_features), bg = clims_normalize(in.bg_features);
    const Tensor txt = clims_normalize(in.pair_text);
    // clip_forward: (N, 1, E) @ (N, E, 1) -> (N, 1, 1); the row-wise dot product
    const Tensor s_oo = sum(mul(fg, txt), {1}), s_bo = sum(mul(bg, txt), {1});  // (N)

    ClimsLossValues v;
    v.s_oo = s_oo.detach();
    v.s_bo = s_bo.detach();
    const bool improved = o.variant == ClimsVariant::improved;
    Tensor w;
    if (!improved && !o.class_weight.empty()) {
        WSDOL_CHECK(in.pair_class.size() == static_cast<size_t>(N), "clims losses: pair_class has ",
                    in.pair_class.size(), " entries for ", N, " pairs");
        std::vector<double> wv(N);
        for (int64_t n = 0; n < N; ++n) {
            const int64_t k = in.pair_class[n];
            WSDOL_CHECK(k >= 0 && k < static_cast<int64_t>(o.class_weight.size()), "clims losses: pair class ", k,
                        " outside class_weight (", o.class_weight.size(), " classes)");
            wv[n] = o.class_weight[k];
        }
        w = Tensor::from_vector(wv, {N}, s_oo.dtype());
    }
    v.otm = clims_sim_max(s_oo, w, improved);
    v.btm = clims_sim_min(s_bo, w, improved);
    if (improved) {
        WSDOL_CHECK(in.background_text.defined(), "clims losses: no background prompts (background_text undefined)");
        v.cbs = clims_background_suppression(in.fg_features, in.background_text, o.cbs_threshold);
    } else {
        // previous_version BackgroundSuppressionLoss: per pair, the mean over its class's prompts, summed
        Tensor total = Tensor::scalar(0.0, s_oo.dtype());
        if (!o.class_background.empty()) {
            WSDOL_CHECK(in.pair_class.size() == static_cast<size_t>(N), "clims losses: pair_class has ",
                        in.pair_class.size(), " entries for ", N, " pairs");
            check_features(in.background_text, "background_text", -1, E);
            const Tensor bt = clims_normalize(in.background_text);
            for (int64_t n = 0; n < N; ++n) {
                const int64_t k = in.pair_class.at(n);
                if (k >= static_cast<int64_t>(o.class_background.size()) || o.class_background[k].empty()) continue;
                std::vector<double> rows(o.class_background[k].begin(), o.class_background[k].end());
                const Tensor idx = Tensor::from_vector(rows, {static_cast<int64_t>(rows.size())}, DType::i64);
                const Tensor s = matmul(fg.narrow(0, n, 1), index_select(bt, 0, idx).transpose(0, 1));  // (1, m)
                total = add(total, neg(mean(log(rsub(1.0, s)))));
            }
        }
        v.cbs = total;
    }
    v.reg = mean(in.maps);
    const ClimsLossWeights& h = o.weights;
    v.total = add(add(mul(v.otm, h.otm), mul(v.btm, h.btm)), add(mul(v.cbs, h.cbs), mul(v.reg, h.reg)));
    return v;
}

std::vector<std::string> clims_camera_ready_prompts(const std::vector<std::string>& class_names,
                                                    ClimsLossOptions& options) {
    // previous_version/clip_utils.py background_dict['bg'] and cal_weights' `valid` list
    const std::map<std::string, std::vector<std::string>> sets = {
        {"boat", {"a photo of river", "a photo of water", "a photo of lake", "a photo of sea", "a photo of building"}},
        {"train", {"a photo of railroad", "a photo of railway", "a photo of branches", "a photo of tree"}}};
    const std::vector<std::string> heavy = {"sofa", "diningtable", "chair"};
    std::vector<std::string> prompts;
    options.class_background.assign(class_names.size(), {});
    options.class_weight.assign(class_names.size(), 1.0);
    for (size_t k = 0; k < class_names.size(); ++k) {
        for (const auto& h : heavy)
            if (class_names[k] == h) options.class_weight[k] = 3.0;
        auto it = sets.find(class_names[k]);
        if (it == sets.end()) continue;
        for (const auto& p : it->second) {
            options.class_background[k].push_back(static_cast<int>(prompts.size()));
            prompts.push_back(p);
        }
    }
    return prompts;
}

}  // namespace wsdol::models
