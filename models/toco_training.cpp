// toco_training.cpp — one ToCo / DIAL training step (see toco_training.h).
#include "models/toco_training.h"

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

Tensor TocoStepResult::term(const std::string& name) const {
    for (const auto& [n, t] : terms)
        if (n == name) return t;
    WSDOL_CHECK(false, "toco step: no loss term '", name, "'");
    return Tensor();
}

std::pair<Tensor, Tensor> toco_multi_scale_cams(TocoNet& net, const Tensor& images, const std::vector<double>& scales) {
    NoGradGuard no_grad;
    const int64_t H = images.size(2), W = images.size(3);
    std::vector<Tensor> cam, aux;
    auto run = [&](const Tensor& x) {
        auto [a, c] = net.cams(cat({x, x.flip({3})}, 0));
        aux.push_back(a);
        cam.push_back(c);
    };
    run(images);  // multi_scale_cam2 always runs scale 1 first, then every scale != 1 in order
    for (double s : scales) {
        if (s == 1.0) continue;
        // int(s * h): Python truncation of the double product
        const auto h = static_cast<int64_t>(s * double(H)), w = static_cast<int64_t>(s * double(W));
        run(interpolate(images, h, w, InterpMode::bilinear, false));
    }
    return {multi_scale_cam_merge(cam, H, W), multi_scale_cam_merge(aux, H, W)};
}

TocoStepResult toco_step_losses(TocoNet& net, const TocoBatch& batch, int64_t step, const TocoStepOptions& o,
                                const PermutationFn& permutation) {
    const Tensor& x = batch.images;
    WSDOL_CHECK(x.defined() && x.dim() == 4 && x.size(1) == 3, "toco step: images must be (B, 3, H, W), got ",
                x.defined() ? shape_str(x.shape()) : "undefined");
    const int64_t B = x.size(0), H = x.size(2), W = x.size(3), C = net.cfg.num_classes - 1;
    WSDOL_CHECK(batch.cls_labels.defined() && batch.cls_labels.dim() == 2 && batch.cls_labels.size(0) == B &&
                    batch.cls_labels.size(1) == C,
                "toco step: cls_labels must be (B, C) = (", B, ", ", C, ")");
    WSDOL_CHECK(static_cast<int64_t>(batch.img_box.size()) == B, "toco step: ", batch.img_box.size(),
                " img_box entries (the valid_box extra) for ", B, " images");
    WSDOL_CHECK(!o.use_ctc || (batch.global_view.defined() && batch.local_view.defined() &&
                               batch.local_view.size(0) == B && batch.local_view.size(2) == H &&
                               batch.local_view.size(3) == W),
                "toco step: CTC needs the second global view and the local view (B, 3, ", H, ", ", W, ")");
    WSDOL_CHECK(!(o.use_gia || o.use_lea) || (batch.text_fg.defined() && batch.text_bg.defined() && net.proj_visual),
                "toco step: GIA / LEA need the text embeddings and a network built with dial = true");
    const Tensor y = batch.cls_labels.to(DType::f32);
    TocoStepResult r;
    // 1-2. No-grad CAMs and the roi mask of the aux CAM.
    std::tie(r.cams, r.cams_aux) = toco_multi_scale_cams(net, x, o.cam_scales);
    // 3-4. Local crops, the main forward, the projection forward.
    TocoOutput out;
    Tensor teacher, student;
    if (o.use_ctc) {
        const Tensor roi = cam_to_roi_mask(r.cams_aux, y, o.thresholds.high, o.thresholds.low);
        RoiCrops rc = crop_from_roi(batch.local_view, roi, o.ncrops - 2, o.local_crop_size, permutation);
        r.flags = rc.flags;
        out = net.forward_all(x);  // ToCo: the encoder runs on the main image before forward_proj
        std::vector<Tensor> crops{x, batch.global_view};
        for (auto& c : rc.crops) crops.push_back(c);
        std::tie(teacher, student) = net.forward_proj(crops);
    } else {
        out = net.forward_all(x);
    }
    auto add_term = [&](const std::string& name, const Tensor& t) { r.terms.emplace_back(name, t); };
    const Tensor cls_loss = multilabel_soft_margin_loss(out.cls_logits, y);
    const Tensor aux_loss = multilabel_soft_margin_loss(out.aux_logits, y);
    add_term("cls", cls_loss);
    add_term("cls_aux", aux_loss);
    Tensor total = add(cls_loss, aux_loss);
    if (o.use_ctc) {
        const Tensor ctc = ctc_loss(student, teacher, r.flags, o.temp);
        add_term("ctc", ctc);
        total = add(total, mul(ctc, o.w_ctc));
    }
    // 5. Segmentation pseudo label: PAR-refined valid_cam of the final CAM.
    Tensor valid_cam;
    cam_to_label_box(r.cams, y, batch.img_box, true, o.thresholds, &valid_cam);
    const Par par(o.par);
    r.refined_label = refine_cams_with_bkg_v2(par, denormalize_to_unit(x), valid_cam, y, batch.img_box, o.thresholds);
    const Tensor segs = interpolate(out.seg, H, W, InterpMode::bilinear, false);
    const Tensor seg = seg_loss(segs, r.refined_label, o.thresholds.ignore_index, &r.seg_empty);
    const Tensor reg = energy_loss(x, segs, r.refined_label, batch.img_box, o.energy);
    add_term("seg", seg);
    add_term("reg", reg);
    // PTC: the aux CAM at token resolution, labelled with the crop-scale img_box (ToCo's coordinates on the
    // token grid, clamped like Python slicing: reproduced as coded, §3.3).
    const int64_t h = out.x4.size(2), w = out.x4.size(3);
    const Tensor cams_aux_small = interpolate(r.cams_aux, h, w, InterpMode::bilinear, false);
    if (o.use_ptc) {
        const Tensor aux_label = cam_to_label_box(cams_aux_small, y, batch.img_box, true, o.thresholds);
        const Tensor ptc = ptc_loss(out.x4, label_to_aff_mask(aux_label, o.thresholds.ignore_index));
        add_term("ptc", ptc);
        total = add(total, mul(ptc, o.w_ptc));
    }
    // The switch: ToCo multiplies seg and reg by 0.0 while n_iter <= 2000 (with the seg guard that is the same as
    // leaving them out).
    if (step > o.seg_start) total = add(total, add(mul(seg, o.w_seg), mul(reg, o.w_reg)));
    // DIAL.
    if (o.use_gia || o.use_lea) {
        const Tensor tf = net.proj_text->forward(batch.text_fg), tb = net.proj_text->forward(batch.text_bg);
        if (o.use_gia) {
            const Tensor gia = gia_loss(net.proj_visual->forward(out.cls_token), tf, tb, y);
            add_term("gia", gia);
            total = add(total, mul(gia, o.w_gia));
        }
        if (o.use_lea) {
            // INFERRED realisation of M_obj (§3.8): the aux CAM at token resolution, GT classes, max > beta.
            Tensor obj;
            {
                NoGradGuard no_grad;
                obj = gt(max(mul(cams_aux_small, y.unsqueeze(2).unsqueeze(3)), {1}), o.beta)
                          .to(DType::f32)
                          .reshape({B, h * w});
            }
            const Tensor patches = net.proj_visual->forward(out.x4.flatten(2).transpose(1, 2));  // (B, N, joint)
            const Tensor lea = lea_loss(patches, obj, tf, tb, y, o.lea);
            add_term("lea", lea);
            total = add(total, mul(lea, o.w_lea));
        }
    }
    r.total = total;
    return r;
}

}  // namespace wsdol::models
