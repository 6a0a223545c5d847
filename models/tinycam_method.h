// tinycam_method.h — "tinycam": the smallest real WSSS method, a two-layer fully convolutional classifier whose
// class score maps are its CAMs (Zhou et al. 2016 with a 3x3 conv + 1x1 conv instead of a backbone).
//
// Network (input (B, 3, S, S), normalised):
//   conv1  3x3, stride 2, padding 1, 3 -> width      (B, width, S/2, S/2)
//   relu, dropout(p)                                  (dropout draws from MethodConfig::generator)
//   head   1x1, width -> C                            (B, C, S/2, S/2) class score maps
//   global average pooling                            (B, C) logits
// Loss: "cls" = multilabel soft margin loss of the logits against the multi-hot labels (PyTorch's
// MultiLabelSoftMarginLoss, as CAM/MCTformer's classification term).
// localize: relu(score maps), bilinear (align_corners=False) to the image size, each present class divided by its
// max + 1e-5 (the CAM normalisation of MCTformer/IRN), absent classes zero.
// It trains in seconds on the synthetic benchmark, so it serves the trainer's tests and smoke runs; the
// paper's methods (cam, mctformer, mmcst) sit behind the same seam.
// Options: width (16), dropout (0.1).
#pragma once
#include "models/method_registry.h"

namespace wsdol::models {

std::unique_ptr<Method> make_tinycam(const MethodConfig& config);

}  // namespace wsdol::models
