// toco_labels_diag.cpp — why a ToCo / DIAL run's segmentation does or does not beat its CAM seeds: the quality of
// the pseudo labels the segmentation loss is trained on, measured against the ground truth (a diagnostic for the
// synthetic-benchmark results, README "ToCo / DIAL results").
//
//   toco_labels_diag CHECKPOINT DATA [SPLIT]
//
// For every image of SPLIT (whole image as the crop, img_box = the whole image) it runs the training step's label
// path on the trained network (models/toco_training.h): the no-grad multi-scale CAMs (1, 0.5, 1.5 + flip), then
//   seeds      cam_to_label at the background threshold 0.5 (ToCo's CAM evaluation)
//   pre-PAR    cam_to_label with ignore_mid (<= 0.25 background, (0.25, 0.7] ignored)
//   refined    refine_cams_with_bkg_v2 (PAR), the segmentation loss's target
// and prints, for each, the mIoU over the pixels it labels (ignored pixels left out), the fraction of pixels it
// labels, and the mIoU of the seeds on the same pixels.
#include <cstdio>
#include <string>

#include "engine/autograd/autograd.h"
#include "engine/data/datasets.h"
#include "engine/data/image_io.h"
#include "engine/data/transforms.h"
#include "engine/eval/seg_metrics.h"
#include "engine/ops/ops.h"
#include "kernels/cpu/parallel.h"
#include "models/toco_method.h"
#include "models/toco_training.h"
#include "runner/trainer.h"

using namespace wsdol;

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: toco_labels_diag CHECKPOINT DATA [SPLIT]\n");
        return 2;
    }
    try {
        cpu::set_num_threads(1);
        const std::string split = argc > 3 ? argv[3] : "val";
        data::DatasetOptions dopt;
        const data::Dataset ds = data::open_dataset(argv[2], split, dopt);
        train::LoadedMethod lm = train::load_trained_method(argv[1], data::foreground_class_names(ds));
        auto* tm = dynamic_cast<models::TocoMethod*>(lm.method.get());
        WSDOL_CHECK(tm, argv[1], ": not a toco / dial checkpoint");
        models::TocoNet& net = tm->net();
        net.eval();
        const int64_t C = net.cfg.num_classes - 1, S = net.cfg.vit.image_size;
        const int K = int(C + 1);
        eval::ConfusionMatrix seeds(K), pre(K), refined(K), seeds_on_pre(K), seeds_on_refined(K);
        int64_t pixels = 0, pre_labelled = 0, refined_labelled = 0;
        const models::Par par(tm->step_options.par);
        NoGradGuard no_grad;
        for (const auto& s : ds.samples) {
            data::Image rgb = data::read_image(s.image_path, data::ColorMode::rgb);
            const data::Image gt_full = data::read_label_png(s.mask_path);
            if (rgb.height != S || rgb.width != S) rgb = data::resize(rgb, S, S, data::PilFilter::bilinear);
            const data::Image gt = gt_full.height == S && gt_full.width == S ? gt_full : data::resize_nearest(gt_full, S, S);
            const Tensor x = data::normalize(rgb, data::kImageNetMean, data::kImageNetStd).unsqueeze(0);
            Tensor y = Tensor::zeros({1, C});
            for (int l : s.labels) {
                const int k = data::foreground_label(ds, l);
                if (k >= 0 && k < C) y.data<float>()[k] = 1.0f;
            }
            const auto [cams, cams_aux] = models::toco_multi_scale_cams(net, x, tm->step_options.cam_scales);
            const std::vector<models::ImgBox> box = {{0, S, 0, S}};
            const Tensor l_seed = models::cam_to_label_box(cams, y, box, false, tm->step_options.thresholds);
            Tensor valid;
            const Tensor l_pre = models::cam_to_label_box(cams, y, box, true, tm->step_options.thresholds, &valid);
            const Tensor l_ref = models::refine_cams_with_bkg_v2(par, models::denormalize_to_unit(x), valid, y, box,
                                                                 tm->step_options.thresholds);
            const int64_t n = S * S;
            const size_t un = static_cast<size_t>(n);
            std::vector<uint8_t> g(gt.pixels.begin(), gt.pixels.end()), ps(un), pp(un), pr(un);
            std::vector<uint8_t> g_pre(g), g_ref(g);
            const int64_t* a = l_seed.contiguous().data<int64_t>();
            const int64_t* b = l_pre.contiguous().data<int64_t>();
            const int64_t* c = l_ref.contiguous().data<int64_t>();
            for (int64_t i = 0; i < n; ++i) {
                ps[size_t(i)] = uint8_t(a[i]);
                pp[size_t(i)] = b[i] == 255 ? 0 : uint8_t(b[i]);
                pr[size_t(i)] = c[i] == 255 ? 0 : uint8_t(c[i]);
                if (b[i] == 255) g_pre[size_t(i)] = 255;
                else ++pre_labelled;
                if (c[i] == 255) g_ref[size_t(i)] = 255;
                else ++refined_labelled;
            }
            pixels += n;
            seeds.add(g.data(), ps.data(), n);
            pre.add(g_pre.data(), pp.data(), n);
            refined.add(g_ref.data(), pr.data(), n);
            seeds_on_pre.add(g_pre.data(), ps.data(), n);
            seeds_on_refined.add(g_ref.data(), ps.data(), n);
        }
        auto line = [&](const char* name, const eval::ConfusionMatrix& m) {
            const eval::SegScores sc = m.scores();
            std::printf("%-28s mIoU %6.2f  per class:", name, sc.miou);
            for (double v : sc.iou) std::printf(" %5.1f", v);
            std::printf("\n");
        };
        std::printf("%s, %s split '%s', %zu images, %lld px\n", argv[1], argv[2], split.c_str(), ds.samples.size(),
                    (long long)pixels);
        line("seeds (t 0.5), all pixels", seeds);
        line("pre-PAR labels", pre);
        line("  seeds on those pixels", seeds_on_pre);
        line("refined (PAR) labels", refined);
        line("  seeds on those pixels", seeds_on_refined);
        std::printf("labelled fraction: pre-PAR %.3f, refined %.3f\n", double(pre_labelled) / double(pixels),
                    double(refined_labelled) / double(pixels));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "toco_labels_diag: %s\n", e.what());
        return 1;
    }
    return 0;
}
