// sample_pipelines.h — the training sample pipelines by name, and the batch a method declared (models/method.h
// BatchSpec) built from the loader's samples.
//
// A pipeline turns one decoded RGB image into the (3, S, S) f32 training view, normalized, and reports the valid
// image region inside it. The single-view pipelines (timm, irn, flip, none) can also make these per-sample extras
// when a method declares them:
//   "valid_box"  (4) f32 [y0, y1, x0, x1) of the image inside the view (ToCo's img_box; the whole view when
//                nothing is padded)
//   "view2"      (3, S, S) f32 a second view of the same image through the same pipeline with its own stream
//   pixel labels (LabelKind::pixel_labels): the sample's label PNG transformed with the image's geometry
//                (nearest resizing, 255 padding); pipelines "none", "flip" and "irn" support it.
// The multi-view pipeline "toco" makes instead:
//   "valid_box"     (4) f32 img_box of the main view (not mirrored by its flip, as coded)
//   "global_views"  (2, 3, S, S) f32: [0] the main view (the same values as the image), [1] the second global view
//   "crop_source"   (3, S, S) f32 the view the local crops are cut from
// Pipelines (the reference each reproduces):
//   timm   timm create_transform(S, is_training=True): RandomResizedCrop, flip, RandAugment, RandomErasing
//   irn    IRNet resnet50_cam = data::irn_train_view: long side U{320..640}·S/512 (PIL bicubic), flip, random S
//          crop padded with 0 in normalized space (the mean colour)
//   flip   PIL-bilinear resize to S x S, flip p 0.5
//   none   PIL-bilinear resize to S x S
//   toco   ToCo's multi-view sample (engine/data/transforms_pipeline.h toco_views): rescale U(0.5, 2), flip,
//          padded S crop; the main view and the crop source each flipped again independently with their own
//          photometric draws; the second global view a RandomResizedCrop(S, (0.4, 1)) of the original image
#pragma once
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/datasets.h"
#include "engine/data/loader.h"
#include "models/method.h"

namespace wsdol::train {

struct PipelineInfo {
    std::string name;
    std::string summary;
    bool pixel_labels = false;  // can carry a label map through its geometry
    std::vector<std::string> extras;  // the batch extras it makes
};
const std::vector<PipelineInfo>& sample_pipelines();
std::vector<std::string> sample_pipeline_names();

// Normalization constants of a batch spec (CLIP's or ImageNet's mean/std).
std::array<float, 3> spec_mean(const models::BatchSpec& spec);
std::array<float, 3> spec_std(const models::BatchSpec& spec);

// Checks that `pipeline` exists and can make what `spec` declares; errors name the method, the pipeline and the
// extra (called before training).
void check_batch_spec(const std::string& method, const std::string& pipeline, const models::BatchSpec& spec);

// Checks every sample's image size (read when the dataset's files were checked) against the spec's
// min_image_side; the error names the method, the first image too small, its size and the count (before training).
void check_image_sizes(const std::string& method, const data::Dataset& dataset, const models::BatchSpec& spec);

struct PipelineInputs {
    const data::Dataset* dataset = nullptr;
    std::string pipeline;
    int64_t size = 0;
    models::BatchSpec spec;
    std::string pixel_label_dir;  // LabelKind::pixel_labels: <dir>/<id>.png ("" : the dataset's masks)
    // Samples whose batch is being skipped on resume: their slot is zero-filled without decoding anything.
    std::shared_ptr<std::vector<char>> skip;
};
data::ExampleFn make_example_fn(const PipelineInputs& inputs);

// The MethodBatch of one loader batch: labels of the declared kind over `num_classes` foreground classes
// (dataset labels mapped by data::foreground_label), the extras stacked, the CLIP view when declared.
models::MethodBatch make_method_batch(const data::Batch& batch, const PipelineInputs& inputs, int64_t num_classes);

}  // namespace wsdol::train
