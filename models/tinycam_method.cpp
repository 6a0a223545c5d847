// tinycam_method.cpp — the "tinycam" method (see tinycam_method.h).
#include "models/tinycam_method.h"

#include <cstdio>

#include "engine/autograd/autograd.h"
#include "engine/nn/conv.h"
#include "engine/nn/dropout.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

namespace {

int64_t tinycam_width(const MethodConfig& config) {
    const int64_t width = config.get_int("width", 16);
    WSDOL_CHECK(width >= 1 && width <= 4096, "tinycam: option width must be in 1..4096, got ", width);
    return width;
}

class TinyCamNet : public nn::Module {
public:
    TinyCamNet(int64_t num_classes, int64_t width, double dropout, Generator* gen) : Module("TinyCamNet") {
        conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(3, width, 3, 2, 1, 1, 1, true, gen));
        drop = register_module("drop", std::make_shared<nn::Dropout>(dropout, gen));
        head = register_module("head", std::make_shared<nn::Conv2d>(width, num_classes, 1, 1, 0, 1, 1, true, gen));
    }
    // x: (B, 3, H, W) -> (B, C, H/2, W/2) class score maps
    Tensor forward(const Tensor& x) override { return head->forward(drop->forward(relu(conv1->forward(x)))); }

    std::shared_ptr<nn::Conv2d> conv1, head;
    std::shared_ptr<nn::Dropout> drop;
};

class TinyCam : public Method {
public:
    TinyCam(const MethodConfig& config)
        : num_classes_(int64_t(config.class_names.size())),
          net_(std::make_shared<TinyCamNet>(num_classes_, tinycam_width(config),
                                            config.get_double("dropout", 0.1), config.generator)) {
        WSDOL_CHECK(config.backbone_weights.empty(), "tinycam: has no backbone, so --backbone ",
                    config.backbone_weights, " cannot be used");
    }
    std::string name() const override { return "tinycam"; }
    nn::Module& network() override { return *net_; }
    std::vector<ParamGroupSpec> param_groups() override {
        return timm_decay_groups(*net_);
    }
    Recipe recipe() const override {
        Recipe r;
        r.optimizer = "adamw";
        r.lr = 1e-2;
        r.weight_decay = 1e-4;
        r.epochs = 4;
        r.warmup_epochs = 0;
        r.min_lr = 1e-4;
        r.batch_size = 16;
        r.input_size = 64;
        r.augmentation = "flip";
        return r;
    }
    LossTerms losses(const MethodBatch& batch, const StepContext&) override {
        net_->train();
        Tensor maps = net_->forward(batch.images);  // (B, C, h, w)
        Tensor logits = mean(maps, {2, 3});          // (B, C)
        Tensor cls = multilabel_soft_margin_loss(logits, batch.labels);
        return LossTerms{{{"cls", cls}}, cls};
    }
    Prediction predict(const Tensor& image, const std::vector<int>& labels) override {
        Prediction p;
        p.maps = localize(image, labels);
        return p;
    }
    Tensor localize(const Tensor& image, const std::vector<int>& labels) {
        NoGradGuard no_grad;
        net_->eval();
        const int64_t H = image.size(1), W = image.size(2);
        Tensor maps = relu(net_->forward(image.unsqueeze(0)));                              // (1, C, h, w)
        maps = interpolate(maps, H, W, InterpMode::bilinear, false).squeeze(0).contiguous();  // (C, H, W)
        Tensor out = Tensor::zeros({num_classes_, H, W});
        for (int c : labels) {
            WSDOL_CHECK(c >= 0 && c < num_classes_, "tinycam: label ", c, " out of range for ", num_classes_,
                        " classes");
            Tensor m = maps.select(0, c);
            out.select(0, c).copy_(div(m, add(max(m), 1e-5)));
        }
        return out;
    }

private:
    int64_t num_classes_;
    std::shared_ptr<TinyCamNet> net_;
};

}  // namespace

std::unique_ptr<Method> make_tinycam(const MethodConfig& config) { return std::make_unique<TinyCam>(config); }

WSDOL_METHOD(MethodInfo{"tinycam", "a two-layer conv CAM (seconds to train; for tests and smoke runs)", make_tinycam});

}  // namespace wsdol::models
