// synth_wsol.h — the WSOL synthetic task: a single-object, single-label version of the synthetic benchmark
// (engine/data/synth.h with one object per scene) written in the CUB-200-2011 layout, plus per-image foreground
// masks in the wsolevaluation layout for PxAP. Read back with data::open_cub (boxes, labels, split) and
// data::open_wsol (masks). Deterministic: the bytes depend only on the configuration, never on the thread count.
//
//   ROOT/classes.txt                 "k NNN.name" (k = 1..K)
//   ROOT/images.txt                  "i NNN.name/<id>.png" (i = 1..N, image i is synth index i - 1)
//   ROOT/images/NNN.name/<id>.png    RGB PNG (lossless)
//   ROOT/image_class_labels.txt      "i k"
//   ROOT/bounding_boxes.txt          "i x y w h": the object's visible pixels, x = first column, w = columns spanned
//                                    (last - first + 1), likewise y, h (CUB's x, y, width, height convention)
//   ROOT/train_test_split.txt        "i 1" for the first N - floor(N val_fraction) images, "i 0" for the rest
//   ROOT/masks/<id>.png              grey PNG, 255 on the object's visible pixels, 0 elsewhere
//   ROOT/wsol/{train,test}/          wsolevaluation metadata over image root ROOT/images and mask root ROOT:
//                                    image_ids.txt, class_labels.txt (id,class with class 0-based),
//                                    image_sizes.txt (id,w,h), localization.txt (id,masks/<id>.png,) with no
//                                    ignore mask (single objects have no slivers)
//   ROOT/synth.json                  the configuration, with "layout": "wsol"
#pragma once
#include <array>
#include <functional>
#include <string>

#include "engine/data/synth.h"

namespace wsdol::data {

// config.max_objects must be 0 or 1 (0 is taken as 1). Writes into `root` (created when missing). `progress`, when
// given, is called with the number of images written so far (from one thread at a time). `output_path`, when
// given, maps each file's name relative to `root` to the path to write (it may be called from several threads at
// once; `wsdol synth` records the names in its output marker, engine/io/output_dir.h); else root/name.
void write_synth_wsol(const SynthConfig& config, const std::string& root,
                      const std::function<void(int64_t)>& progress = {},
                      const std::function<std::string(const std::string&)>& output_path = {});

// The box of the object in a single-object synth image: {x, y, w, h} of the pixels whose mask value is the image's
// label. Throws when the image does not hold exactly one label.
std::array<int64_t, 4> synth_object_box(const SynthImage& image);

}  // namespace wsdol::data
