// test_method_seam.cpp — a toy method that uses every part of the method seam (models/method.h), trained, run and
// evaluated through the same runner code paths as the real methods (runner/trainer.h, runner/infer.h), with no
// change to the runner for it:
//   batch_spec   a second view ("view2") and the valid-region box ("valid_box") as extras; multi-label on the
//                synthetic benchmark (VOC layout), single-label with class ids on a CUB-layout set
//   losses       reads StepContext: a term switched on half-way through the run (as ToCo's iteration 2,000)
//   predict      class scores, per-class maps, segmentation probabilities with background, and boxes
// and then checks that inference evaluates each of them (seed sweep, segmentation mIoU, Top-1/5, box Loc,
// MaxBoxAccV2).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/autograd/autograd.h"
#include "engine/data/png_write.h"
#include "engine/nn/conv.h"
#include "engine/ops/ops.h"
#include "models/method_registry.h"
#include "runner/infer.h"
#include "runner/trainer.h"
#include "tests/cli_test_util.h"
#include "tests/error_matchers.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;

// One 3x3 convolution to C + 1 channels (channel 0 = background).
class ToyNet : public nn::Module {
public:
    ToyNet(int64_t classes, Generator* gen) : Module("ToyNet") {
        conv = register_module("conv", std::make_shared<nn::Conv2d>(3, classes + 1, 3, 1, 1, 1, 1, true, gen));
    }
    Tensor forward(const Tensor& x) override { return conv->forward(x); }  // (B, 3, H, W) -> (B, C + 1, H, W)
    std::shared_ptr<nn::Conv2d> conv;
};

// What the toy saw, for the test to check that the runner delivered it.
struct Seen {
    int64_t batches = 0;
    int64_t last_step = -1, total_steps = 0;
    bool had_view2 = false, had_box = false, had_class_ids = false;
};
Seen& seen() {
    static Seen s;
    return s;
}

class ToySeam : public models::Method {
public:
    explicit ToySeam(const models::MethodConfig& c)
        : classes_(int64_t(c.class_names.size())),
          single_(c.get_bool("single_label", false)),
          net_(std::make_shared<ToyNet>(classes_, c.generator)) {}
    std::string name() const override { return "toy_seam"; }
    nn::Module& network() override { return *net_; }
    std::vector<models::ParamGroupSpec> param_groups() override { return models::timm_decay_groups(*net_); }
    models::Recipe recipe() const override {
        models::Recipe r;
        r.lr = 0.05;
        r.epochs = 2;
        r.warmup_epochs = 0;
        r.batch_size = 4;
        r.input_size = 32;
        r.augmentation = "irn";  // pads, so the valid box is not always the whole view
        return r;
    }
    models::BatchSpec batch_spec() const override {
        models::BatchSpec s;
        s.labels = single_ ? models::LabelKind::single_label : models::LabelKind::multi_label;
        s.extras = {"view2", "valid_box"};
        return s;
    }
    models::InferSpec infer_spec() const override {
        models::InferSpec s;
        s.resize_to_input = false;  // full resolution: the network is fully convolutional
        return s;
    }
    models::LossTerms losses(const models::MethodBatch& b, const models::StepContext& step) override {
        Seen& s = seen();
        ++s.batches;
        s.last_step = step.step;
        s.total_steps = step.total_steps;
        const Tensor& view2 = b.extra("view2");    // (B, 3, S, S)
        const Tensor& box = b.extra("valid_box");  // (B, 4) [y0, y1, x0, x1)
        s.had_view2 = view2.shape() == b.images.shape();
        s.had_box = box.dim() == 2 && box.size(1) == 4;
        s.had_class_ids = b.class_ids.defined() && b.class_ids.size(0) == b.images.size(0);
        const int64_t C = classes_;
        const Tensor logits = mean(net_->forward(b.images), {2, 3});  // (B, C + 1)
        const Tensor fg = logits.narrow(1, 1, C);
        const Tensor cls = multilabel_soft_margin_loss(fg, b.labels);
        const Tensor logits2 = mean(net_->forward(view2), {2, 3});
        const Tensor diff = sub(logits, logits2);
        const Tensor consistency = mean(mul(diff, diff));
        // A box term: the background channel's mean inside the valid region of the first sample.
        const float* bx = box.contiguous().data<float>();
        const int64_t y0 = int64_t(bx[0]), y1 = int64_t(bx[1]), x0 = int64_t(bx[2]), x1 = int64_t(bx[3]);
        Tensor box_term = Tensor::zeros({});
        if (y1 > y0 && x1 > x0)
            box_term = mul(mean(net_->forward(b.images.narrow(0, 0, 1))
                                    .narrow(1, 0, 1).narrow(2, y0, y1 - y0).narrow(3, x0, x1 - x0)),
                           0.01);
        // Switched on half-way through the run (the step context drives it).
        const double late_weight = step.step >= step.total_steps / 2 ? 1.0 : 0.0;
        const Tensor late = mul(consistency, late_weight);
        return {{{"cls", cls}, {"consistency", consistency}, {"box", box_term}, {"late", late}},
                add(add(cls, late), box_term)};
    }
    models::Prediction predict(const Tensor& image, const std::vector<int>& labels) override {
        NoGradGuard g;
        const int64_t H = image.size(1), W = image.size(2), C = classes_;
        const Tensor out = net_->forward(image.unsqueeze(0)).squeeze(0);  // (C + 1, H, W)
        models::Prediction p;
        p.segmentation = softmax(out, 0).contiguous();
        p.scores = mean(out.narrow(0, 1, C), {1, 2}).contiguous();
        Tensor maps = sigmoid(out.narrow(0, 1, C)).contiguous();
        p.maps = Tensor::zeros({C, H, W});
        for (int c : labels) p.maps.select(0, c).copy_(maps.select(0, c));
        for (int c : labels) {  // the box of the map above 0.5 (the whole image when none is)
            const float* m = p.maps.data<float>() + int64_t(c) * H * W;
            int64_t ya = H, yb = -1, xa = W, xb = -1;
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x)
                    if (m[y * W + x] > 0.5f) ya = std::min(ya, y), yb = std::max(yb, y), xa = std::min(xa, x), xb = std::max(xb, x);
            if (yb < 0) ya = 0, yb = H - 1, xa = 0, xb = W - 1;
            p.boxes.push_back({c, double(xa), double(ya), double(xb), double(yb), 1.0});
        }
        return p;
    }

private:
    int64_t classes_;
    bool single_;
    std::shared_ptr<ToyNet> net_;
};

WSDOL_METHOD(models::MethodInfo{"toy_seam", "test-only: every part of the method seam",
                                [](const models::MethodConfig& c) { return std::make_unique<ToySeam>(c); }});

// A CUB-layout set: 12 images of 40x36, class k = a bright square of colour k on grey, its box the square.
void write_cub(const std::string& root) {
    fs::create_directories(fs::path(root) / "images" / "all");
    std::ofstream images(fs::path(root) / "images.txt"), labels(fs::path(root) / "image_class_labels.txt"),
        boxes(fs::path(root) / "bounding_boxes.txt"), split(fs::path(root) / "train_test_split.txt"),
        classes(fs::path(root) / "classes.txt");
    classes << "1 red\n2 green\n3 blue\n";
    for (int i = 1; i <= 12; ++i) {
        const int k = (i - 1) % 3;
        data::Image im;
        im.height = 36, im.width = 40, im.channels = 3;
        im.pixels.assign(size_t(36 * 40 * 3), 100);
        const int y0 = 4 + i % 5, x0 = 6 + i % 7;
        for (int y = y0; y < y0 + 16; ++y)
            for (int x = x0; x < x0 + 14; ++x) im.pixels[size_t((y * 40 + x) * 3 + k)] = 250;
        const std::string name = "all/img" + std::to_string(i) + ".png";
        data::write_png((fs::path(root) / "images" / name).string(), im);
        images << i << " " << name << "\n";
        labels << i << " " << k + 1 << "\n";
        boxes << i << " " << x0 << " " << y0 << " 14 16\n";
        split << i << " " << (i <= 8 ? 1 : 0) << "\n";
    }
}

TEST(MethodSeam, ToyMethodTrainsPredictsAndEvaluatesSegmentation) {
    test::ScratchDir dir;
    const auto r = test::run_wsdol("synth --quiet --out '" + dir.file("data") + "' --images 20 --size 40 --classes 3 --seed 5");
    ASSERT_EQ(r.code, 0) << r.output;
    seen() = {};
    train::TrainSettings s;
    s.set("method", "toy_seam");
    s.set("data", dir.file("data"));
    s.set("out", dir.file("run"));
    std::vector<std::pair<double, double>> late;  // (step, late term) as the hooks saw them
    train::TrainHooks hooks;
    hooks.on_step = [&](const train::StepInfo& st) {
        for (const auto& [n, v] : st.terms)
            if (n == "late") late.emplace_back(double(st.step), v);
    };
    const train::TrainResult tr = train::train(s, hooks);
    ASSERT_TRUE(tr.finished);
    EXPECT_EQ(seen().batches, tr.total_steps);
    EXPECT_EQ(seen().last_step, tr.total_steps - 1);
    EXPECT_EQ(seen().total_steps, tr.total_steps);
    EXPECT_TRUE(seen().had_view2);
    EXPECT_TRUE(seen().had_box);
    EXPECT_FALSE(seen().had_class_ids);
    ASSERT_EQ(int64_t(late.size()), tr.total_steps);
    for (const auto& [step, v] : late) {  // step is 1-based after the update
        if (step - 1 < tr.total_steps / 2) EXPECT_EQ(v, 0.0) << step;
        else EXPECT_GT(v, 0.0) << step;
    }
    train::InferOptions io;
    io.checkpoint = tr.checkpoint;
    io.data = dir.file("data");
    io.out = dir.file("pred");
    const train::InferResult ir = train::run_inference(io);
    EXPECT_EQ(ir.images, 16);
    EXPECT_TRUE(ir.evaluated);                // maps vs masks: the seed sweep
    EXPECT_TRUE(ir.segmentation_evaluated);   // segmentation vs masks
    EXPECT_TRUE(ir.classification_evaluated);
    EXPECT_GE(ir.segmentation_miou, 0.0);
    EXPECT_LE(ir.segmentation_miou, 100.0);
    EXPECT_EQ(ir.segmentation_iou.size(), 4u);
    EXPECT_FALSE(ir.boxes_evaluated);  // the VOC layout has no boxes
    // The PNG is the segmentation's argmax, the .npy the maps, at the image's size.
    std::ifstream ids(dir.file("data") + "/ImageSets/Segmentation/train.txt");
    std::string first;
    ASSERT_TRUE(std::getline(ids, first));
    EXPECT_TRUE(fs::exists(dir.file("pred") + "/" + first + ".png"));
    EXPECT_TRUE(fs::exists(dir.file("pred") + "/" + first + ".npy"));
}

TEST(MethodSeam, ToyMethodOnSingleLabelBoxesGetsLocMetrics) {
    test::ScratchDir dir;
    write_cub(dir.file("cub"));
    seen() = {};
    train::TrainSettings s;
    s.set("method", "toy_seam");
    s.set("data", dir.file("cub"));
    s.set("out", dir.file("run"));
    s.set("options.single_label", "true");
    const train::TrainResult tr = train::train(s);
    ASSERT_TRUE(tr.finished);
    EXPECT_EQ(tr.total_steps, 4);  // 8 training images, batch 4, 2 epochs
    EXPECT_TRUE(seen().had_class_ids);
    train::InferOptions io;
    io.checkpoint = tr.checkpoint;
    io.data = dir.file("cub");
    io.split = "test";
    io.out = dir.file("pred");
    const train::InferResult ir = train::run_inference(io);
    EXPECT_EQ(ir.images, 4);
    EXPECT_TRUE(ir.classification_evaluated);
    EXPECT_TRUE(ir.boxes_evaluated);
    EXPECT_TRUE(ir.max_box_acc_evaluated);
    EXPECT_FALSE(ir.evaluated);  // no masks
    for (double v : {ir.top1_cls, ir.top5_cls, ir.gt_known_loc, ir.top1_loc, ir.max_box_acc_v2}) {
        EXPECT_GE(v, 0.0);
        EXPECT_LE(v, 100.0);
    }
    EXPECT_EQ(ir.top5_cls, 100.0);  // 3 classes: the label is always among the top 5
    EXPECT_TRUE(fs::exists(dir.file("pred") + "/all/img9.npy"));
}

TEST(MethodSeam, UndeclaredExtrasAndUnknownPipelinesAreErrors) {
    models::MethodBatch b;
    test::expect_error([&] { b.extra("view2"); }, {"batch extra 'view2' is missing", "batch_spec"});
    test::ScratchDir dir;
    write_cub(dir.file("cub"));
    train::TrainSettings s;
    s.set("method", "toy_seam");
    s.set("data", dir.file("cub"));
    s.set("out", dir.file("run"));
    s.set("augmentation", "timm");
    s.set("options.single_label", "true");
    // timm makes view2 and valid_box too; a pipeline name that does not exist is refused naming the known ones.
    s.set("augmentation", "mosaic");
    test::expect_error([&] { train::resolve_config(s); }, {"augmentation", "mosaic", "timm", "irn", "flip", "none"});
    EXPECT_FALSE(fs::exists(dir.file("run")));
}

}  // namespace
}  // namespace wsdol
