// backbone_bn.h — the BatchNorm behaviours the CNN backbones of the methods need (models/resnet.h,
// models/wide_resnet38.h), as one BatchNorm2d subclass whose mode survives model.train().
//
//   normal  PyTorch's default: batch statistics in train mode (running_mean / running_var / num_batches_tracked
//           updated, momentum 0.1, unbiased var), running statistics in eval mode.
//   frozen  running statistics ALWAYS (the layer stays in eval mode when the model trains, so nothing is updated);
//           weight and bias still get gradients. This is what IRNet's / CLIMS stage-0's `FixedBatchNorm` does
//           (jiwoon-ahn/irn net/resnet50.py: F.batch_norm(..., training=False); its affine parameters are in the
//           optimizer, only bn1's are frozen by resnet50_cam.Net.train) — methods.md §4.1.
//   fixed   frozen + weight and bias requires_grad = false (no gradient, not trained). This is PSA / MCTformer's
//           ResNet-38d (network/resnet38d.py Net.train: every BatchNorm2d layer.eval() and weight/bias
//           requires_grad = False) — methods.md §1.2, §6.1.
// NOTE on names: the issue-4 task text called IRNet's FixedBatchNorm "fixed"; by behaviour IRNet/CLIMS stage 0 is
// `frozen` here (affine trainable), and `fixed` is ResNet-38d's (affine frozen too).
//
// The mode lives in the layer: train(true) on any ancestor leaves a frozen/fixed layer in eval mode (as PyTorch
// code does by calling layer.eval() after super().train()). Parameter names are BatchNorm2d's.
#pragma once
#include "engine/nn/norm.h"

namespace wsdol::models {

enum class BatchNormMode { normal, frozen, fixed };
const char* batch_norm_mode_name(BatchNormMode mode);  // "normal", "frozen", "fixed"

class BackboneBatchNorm2d : public nn::BatchNorm2d {
public:
    // eps 1e-5, momentum 0.1 (PyTorch defaults, used by torchvision and ResNet-38d alike).
    explicit BackboneBatchNorm2d(int64_t num_features, BatchNormMode mode = BatchNormMode::normal);
    // Switches the mode: fixed turns weight/bias requires_grad off, the others on; frozen/fixed go to eval mode.
    void set_mode(BatchNormMode mode);
    BatchNormMode mode() const { return mode_; }
    // normal: as BatchNorm2d; frozen / fixed: always eval (running statistics, no update).
    void train(bool on = true) override;
    std::string extra_repr() const override;

private:
    BatchNormMode mode_;
};

}  // namespace wsdol::models
