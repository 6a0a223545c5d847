// cdtr_losses.cpp — CDTR's losses (see cdtr_losses.h), written with differentiable engine ops.
#include "models/cdtr_losses.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/ops/ops.h"
#include "models/cdtr.h"

namespace wsdol::models {

Tensor cdtr_area_loss(const Tensor& m_ca, double p) {
    WSDOL_CHECK(m_ca.dim() == 3, "cdtr_area_loss: m_ca must be (B, gh, gw), got ", shape_str(m_ca.shape()));
    WSDOL_CHECK(p >= 0.0 && p < 1.0, "cdtr_area_loss: p must be in [0, 1), got ", p);
    const int64_t B = m_ca.size(0), N = m_ca.size(1) * m_ca.size(2);
    const Tensor flat = m_ca.reshape({B, N});
    // int(N * p) as the code (Python int() truncates; N p >= 0)
    const auto index = static_cast<int64_t>(std::floor(static_cast<double>(N) * p));
    const Tensor theta = sort(flat, 1).narrow(1, index, 1);              // (B, 1)
    const Tensor kept = where(gt(flat, theta), Tensor::zeros(flat.shape(), flat.dtype()), flat);  // values > theta zeroed
    return div(sum(kept), static_cast<double>(N));
}

Tensor cdtr_map_loss(const Tensor& m_ocm, const Tensor& m_ca, bool broadcast) {
    WSDOL_CHECK(m_ocm.dim() == 4 && m_ocm.size(1) == 1 && m_ca.dim() == 3 && m_ocm.size(0) == m_ca.size(0) &&
                    m_ocm.size(2) == m_ca.size(1) && m_ocm.size(3) == m_ca.size(2),
                "cdtr_map_loss: m_ocm must be (B, 1, gh, gw) and m_ca (B, gh, gw), got ", shape_str(m_ocm.shape()),
                " and ", shape_str(m_ca.shape()));
    // broadcast: (B, 1, gh, gw) - (B, gh, gw) -> (B, B, gh, gw), [i, j] = m_ocm[i] - m_ca[j] (NumPy rules)
    const Tensor d = broadcast ? sub(m_ocm, m_ca) : sub(m_ocm.squeeze(1), m_ca);
    return mean(mul(d, d));
}

AutomaticWeightedLoss::AutomaticWeightedLoss(int64_t num) : Module("AutomaticWeightedLoss") {
    WSDOL_CHECK(num >= 1, "AutomaticWeightedLoss: needs at least one loss, got ", num);
    params = register_parameter("params", Tensor::ones({num}));
}

Tensor AutomaticWeightedLoss::total(const std::vector<Tensor>& losses) {
    WSDOL_CHECK(static_cast<int64_t>(losses.size()) == params.size(0), "AutomaticWeightedLoss: ", losses.size(),
                " losses for ", params.size(0), " weights");
    Tensor total;
    for (size_t i = 0; i < losses.size(); ++i) {
        const Tensor p = params.narrow(0, static_cast<int64_t>(i), 1).reshape({});
        const Tensor p2 = mul(p, p);
        const Tensor term = add(mul(div(Tensor::full({}, 0.5, p.dtype()), p2), losses[i]),
                                log(add(p2, 1.0)));
        total = total.defined() ? add(total, term) : term;
    }
    return total;
}

Tensor AutomaticWeightedLoss::forward(const Tensor&) {
    WSDOL_CHECK(false, "AutomaticWeightedLoss: use total() with the list of losses");
    return Tensor();
}

std::vector<Tensor> cdtr_sba_images(const Tensor& object_map, const Tensor& images) {
    WSDOL_CHECK(object_map.dim() == 4 && object_map.size(1) == 1 && images.dim() == 4 &&
                    object_map.size(0) == images.size(0),
                "cdtr_sba_images: object map (B, 1, gh, gw) and images (B, C, H, W) expected, got ",
                shape_str(object_map.shape()), " and ", shape_str(images.shape()));
    const Tensor o = interpolate(object_map, images.size(2), images.size(3), InterpMode::bilinear, true);
    return {mul(o, images), mul(rsub(1.0, o), images)};
}

Tensor cdtr_sba_loss(const Tensor& fg_features, const Tensor& bg_features, const Tensor& text_features) {
    WSDOL_CHECK(fg_features.dim() == 2 && fg_features.shape() == bg_features.shape() &&
                    fg_features.shape() == text_features.shape(),
                "cdtr_sba_loss: features must all be (B, E), got ", shape_str(fg_features.shape()), ", ",
                shape_str(bg_features.shape()), ", ", shape_str(text_features.shape()));
    auto unit = [](const Tensor& f) { return div(f, norm(f, 2.0, {-1}, true)); };  // no eps, as clip_util
    const Tensor t = unit(text_features);
    const Tensor sf = clamp(sum(mul(unit(fg_features), t), {-1}), 1e-4, 0.9999);
    const Tensor sb = clamp(sum(mul(unit(bg_features), t), {-1}), 1e-4, 0.9999);
    return mean(neg(log(div(sf, add(sf, sb)))));
}

Tensor cdtr_prompt_classes(const Tensor& labels, int64_t num_classes, bool code_quirk) {
    WSDOL_CHECK(labels.dim() == 1 && labels.dtype() == DType::i64, "cdtr_prompt_classes: labels must be (B) i64, got ",
                shape_str(labels.shape()), " ", dtype_name(labels.dtype()));
    WSDOL_CHECK(num_classes >= 1, "cdtr_prompt_classes: num_classes must be positive, got ", num_classes);
    if (!code_quirk) return labels.clone();
    std::vector<double> ids(static_cast<size_t>(labels.size(0)));
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<double>(static_cast<int64_t>(i) % num_classes);
    return Tensor::from_vector(ids, {labels.size(0)}, DType::i64);
}

std::string cdtr_class_prompt(const std::string& class_name) {
    // CUB's "%03d." prefix: three digits and a dot before a non-empty name
    const bool numbered = class_name.size() > 4 && class_name[3] == '.' &&
                          std::all_of(class_name.begin(), class_name.begin() + 3, [](char ch) { return ch >= '0' && ch <= '9'; });
    return "a photo of " + (numbered ? class_name.substr(4) : class_name) + ".";
}

CdtrStepLosses cdtr_step_losses(Cdtr& net, const Tensor& images, const Tensor& class_ids, const CdtrLossOptions& o,
                                const std::function<Tensor(const Tensor&)>& clip_image, int64_t clip_size,
                                const Tensor& prompt_features) {
    const int64_t C = net.cdtr_cfg.num_classes;
    WSDOL_CHECK(class_ids.dim() == 1 && class_ids.dtype() == DType::i64 && class_ids.size(0) == images.size(0),
                "cdtr: class ids must be (B) i64 for ", images.size(0), " images, got ", shape_str(class_ids.shape()));
    for (double v : class_ids.to_vector())
        WSDOL_CHECK(v >= 0 && v < double(C), "cdtr: class id ", v, " is out of range for ", C, " classes");
    const CdtrOutput out = net.forward_cdtr(images);
    CdtrStepLosses s;
    const Tensor cls = cross_entropy(out.logits, class_ids), csm = cross_entropy(out.csm_logits, class_ids);
    const Tensor area = cdtr_area_loss(out.m_ca, o.area_p);
    const Tensor map = cdtr_map_loss(out.m_ocm, out.m_ca, o.broadcast_mse);
    s.terms = {{"cls", cls}, {"csm", csm}, {"ocm_s", area}, {"ocm_a", map}};
    std::vector<Tensor> five{cls, csm, area, map};
    if (out.ski_logits.defined()) {
        const Tensor ski = cross_entropy(out.ski_logits, class_ids);
        s.terms.emplace_back("ski", ski);
        five.push_back(ski);
    } else {
        five.push_back(Tensor::zeros({}, out.logits.dtype()));
    }
    if (o.awl) {
        s.total = net.awl->total(five);
    } else {
        for (const Tensor& l : five) s.total = s.total.defined() ? add(s.total, l) : l;
    }
    if (clip_image) {
        WSDOL_CHECK(prompt_features.defined() && prompt_features.dim() == 2 && prompt_features.size(0) == C,
                    "cdtr: SBA needs the prompt features (C, E) of the ", C, " classes, got ",
                    prompt_features.defined() ? shape_str(prompt_features.shape()) : std::string("none"));
        std::vector<Tensor> fgbg = cdtr_sba_images(Cdtr::object_map(out, class_ids), images);
        for (Tensor& x : fgbg)
            if (clip_size > 0 && (x.size(2) != clip_size || x.size(3) != clip_size))
                x = interpolate(x, clip_size, clip_size, InterpMode::bilinear, false);
        const Tensor text = index_select(prompt_features, 0, cdtr_prompt_classes(class_ids, C, o.prompt_quirk));
        const Tensor sba = cdtr_sba_loss(clip_image(fgbg[0]), clip_image(fgbg[1]), text);
        s.terms.emplace_back("sba", sba);
        s.total = add(s.total, mul(sba, o.alpha));
    }
    return s;
}

}  // namespace wsdol::models
