// clip_training.h — contrastive image–text training of a small CLIP (models/clip.h) on image–caption pairs, and
// zero-shot classification with it. Used by `wsdol train-clip` and by the demo, which trains a CLIP on the
// synthetic benchmark's captions (engine/data/synth.h) so that the CLIP-guided methods have a CLIP that knows the
// synthetic classes.
//
// The objective is CLIP's (Radford et al. 2021; openai/CLIP, open_clip's ClipLoss): for a batch of B pairs,
//   logits = exp(logit_scale) * normalize(image_features) @ normalize(text_features)^T     (B, B)
//   loss   = (CE(logits, arange(B)) + CE(logits^T, arange(B))) / 2                         (symmetric InfoNCE)
// with logit_scale a learnable scalar initialised to ln(1 / 0.07) and clamped to [0, ln 100] after every
// optimizer step, as OpenAI and open_clip do. Features are divided by their L2 norm without an epsilon, as
// clip/model.py does (open_clip's F.normalize adds eps 1e-12, which only matters for a zero vector).
//
// The training recipe (train_small_clip):
//   * data: a `wsdol synth` folder (or any VOC-layout folder with DIR/captions.txt "<id>\t<caption>" lines and
//     DIR/classes.txt); the train split trains, the val split is held out for the zero-shot evaluation;
//   * vocabulary: a CLIP-format BPE (tokenizer/bpe_train.h) trained on the training captions (and the caption
//     templates below), so that every caption word is one token; the text tower's vocab is its size;
//   * images: decoded once; each sample gets RandomResizedCrop(scale (crop_scale_min, 1), ratio (3/4, 4/3),
//     bicubic) to image_size, a horizontal flip with p 0.5 (captions say nothing about left and right), and
//     CLIP's mean/std normalisation; val images are resized whole (bicubic);
//   * text augmentation, drawn per (epoch, sample): with p partial_probability a partial caption (a random subset
//     of the caption's objects, each with or without its colour, with or without the scene; parse_caption), else
//     the whole caption; then with p template_probability a template ("a photo of {}.", ...) around it. Without
//     it the text tower only ever sees complete "colour shape ... on background" captions and memorises them:
//     the zero-shot prompt "a photo of a star." is then out of distribution (measured: chance-level zero-shot
//     after 360 steps, although the training loss reached 0.2);
//   * AdamW (betas (0.9, 0.98), eps 1e-6 as CLIP's paper; weight decay as open_clip: on tensors with >= 2 dims,
//     none on biases, LayerNorms and logit_scale), a linear warm-up then a cosine decay to 0 per optimizer update
//     (timm's CosineLRScheduler), gradient-norm clipping at 1;
//   * deterministic for a seed on the CPU: model init, sample order, augmentations and template choices come
//     from the seed only, and every kernel is thread-count independent (kernels/cpu/parallel.h).
//
// Zero-shot evaluation (zero_shot_eval): one prompt per class, "a photo of a {class}." (the article "an" before a
// vowel), the class with the highest cosine similarity wins. The synthetic images hold 1-3 objects, so:
//   top1            — the fraction of images whose predicted class is one of the classes present (the headline
//                     number, "zero-shot accuracy");
//   single_object   — accuracy on the images with exactly one labelled class (an ordinary single-label accuracy);
//   mean_per_class  — the mean over classes of that single-object accuracy (balanced; classes without single-object
//                     images are left out of the mean);
//   mean_ap         — multi-label mAP: per class, the average precision of ranking all images by their
//                     similarity to the class prompt (images containing the class are the positives).
// Chance levels for K classes: single_object 1/K; top1 about (mean number of classes per image) / K.
//
// What the CLIP knows of the shapes and of the scenes separately (issue 21). The benchmark's val images take
// their class's home background in most scenes, so `top1` there also credits a CLIP that recognises only the
// backgrounds the captions name. Two generated evaluation sets (synth_pairs; fixed images for every seed) tell
// them apart: zero_shot_objects — the class prompts on one-object images whose background is drawn independently
// of the class; zero_shot_backgrounds — one prompt per background ("a photo of water.") on background-only images
// (chance 1/6). The demo's recipe (demo_clip_options) that passes both: generated one-object and background-only
// pairs mixed into the benchmark's pairs; the image tower warmed up on the generated pairs with two heads (the
// classes' MLSM and a background cross-entropy) and then locked (LiT) with its embeddings cached; texts that name
// the background alone (scene_probability) beside the partial captions.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/image_io.h"
#include "engine/data/synth.h"
#include "engine/data/transforms.h"
#include "engine/io/json.h"
#include "models/clip.h"
#include "tokenizer/clip_tokenizer.h"

namespace wsdol::models {

// ---------------------------------------------------------------- the loss

constexpr double kClipLogitScaleInit = 2.6592600369327779;  // ln(1 / 0.07)
constexpr double kClipLogitScaleMax = 4.6051701859880914;   // ln(100)

// logits_per_image: (B, B), row i = image i against every text; pair i is the positive of row and column i.
// -> () the symmetric cross-entropy (CE over rows + CE over columns) / 2.
Tensor clip_contrastive_loss(const Tensor& logits_per_image);

struct ClipLossOutput {
    Tensor loss;              // ()
    Tensor logits_per_image;  // (B, B)
};
// image_features, text_features: (B, E) unnormalised; logit_scale: () (the log of the temperature's inverse).
ClipLossOutput clip_contrastive_loss(const Tensor& image_features, const Tensor& text_features,
                                     const Tensor& logit_scale);

// In place, outside autograd: logit_scale = clamp(logit_scale, 0, ln 100) (OpenAI's and open_clip's rule).
void clamp_logit_scale_(const Tensor& logit_scale, double max_value = kClipLogitScaleMax);

// ---------------------------------------------------------------- data

// Image–caption pairs of one split of a VOC-layout folder with captions (what `wsdol synth` writes).
struct CaptionedImages {
    std::string root, split;
    std::vector<std::string> ids;
    std::vector<data::Image> images;      // decoded RGB (H, W, 3), full size
    std::vector<std::string> captions;
    std::vector<std::vector<int>> labels;  // classes present, 1..K (cls_labels.txt)
    std::vector<std::string> class_names;  // K names, class k is class_names[k - 1] (classes.txt, background dropped)
    // The background each caption names (caption_background: an index into background_names, -1 where the
    // caption names none); background_names are the synthetic world's (data::synth_background_names()).
    std::vector<int> backgrounds;
    std::vector<std::string> background_names;
};
// Reads ROOT/ImageSets/Segmentation/<split>.txt, ROOT/JPEGImages, ROOT/captions.txt ("<id>\t<caption>"),
// ROOT/cls_labels.txt and ROOT/classes.txt. Errors name the file: a missing captions.txt, an id without a
// caption (or with an empty one), an empty split, an unreadable image.
CaptionedImages load_captioned_images(const std::string& root, const std::string& split);

// The background a caption names: the index into data::synth_background_names() of the background whose phrase
// ends the caption ("... on water" -> 0, "... in the sky" -> 4), else -1.
int caption_background(const std::string& caption);

// Image–caption pairs rendered in memory by the synthetic benchmark's generator (engine/data/synth.h): images
// 0..count-1 of `config` (deterministic: image i depends only on (config, i), for any thread count), with their
// captions, labels and backgrounds; `split` only names the set in messages. K = config.classes.
CaptionedImages synth_captioned_images(const data::SynthConfig& config, int64_t count, const std::string& split);

// The generated sets of SmallClipOptions (object_pairs, background_pairs, eval_object_images,
// eval_background_images) for training classes `class_names` (which must be the synthetic world's first K) and
// images of `size` pixels. Seeds: the training pairs' come from options.seed (streams 0x0C11B000 + 8 * seed + 0/1),
// the evaluation sets' are fixed (0x0E7A1000 + 0/1), so every training seed is judged on the same images and
// never trains on them; none collides with a benchmark or the demo's pretraining set (seed, seed + 1000).
enum class SynthPairKind { objects, backgrounds, eval_objects, eval_backgrounds };
CaptionedImages synth_pairs(SynthPairKind kind, int64_t count, const std::vector<std::string>& class_names,
                            int64_t size, uint64_t seed, const std::string& difficulty);

// ---------------------------------------------------------------- the small CLIP

// The demo's small CLIP: ViT image tower (image 64, patch 8 -> 8 x 8 tokens, width 128, 4 blocks), causal text
// transformer (width 128, 3 blocks, context 32), joint embedding 128, head width 64 (so the heads follow from the
// widths as OpenAI's, and clip_config_from_state_dict / `wsdol inspect` read the configuration back exactly).
// vocab_size is the trained tokenizer's.
ClipConfig small_clip_config(int64_t vocab_size);

struct ClipTrainProgress {
    int64_t step = 0, steps = 0;  // optimizer updates done / in total
    int64_t epoch = 0;            // 0-based epoch of this step
    double loss = 0, lr = 0, logit_scale = 0;  // this step's loss, lr, and logit_scale after its clamp
    double seconds = 0;           // since training started
};

// The defaults ARE the demo configuration. Measured 2026-11-21 on the shared 2-core machine (CPU seconds with
// OMP_WAIT_POLICY=passive, so that they count work, not spinning; a dedicated 2-core run takes about half):
//   synth 1000 images at 128 px (800 train / 200 val), 360 steps: 261 CPU-s (~2.2 min on 2 cores);
//     zero-shot top-1 80.0%, single-object 78.0% (chance 16.7%), mean per class 76.6%, mAP 58.9%
//   synth 600 images at 64 px (480 / 120, the demo's set), 240 steps: 162 CPU-s (~1.4 min);
//     zero-shot top-1 75.8%, single-object 73.1%, mean per class 71.6%, mAP 61.2%
// Accuracy saturates after about 120-180 steps (eval_every history), so fewer steps cost little.
struct SmallClipOptions {
    ClipConfig model = small_clip_config(0);  // vocab_size is replaced by the trained tokenizer's
    int64_t steps = 360;      // optimizer updates (the schedule's horizon), so the time does not depend on the set size
    int64_t epochs = 0;       // > 0: train this many epochs instead (steps = epochs * batches per epoch)
    int64_t batch_size = 64;  // drop_last; capped at the number of training pairs
    double lr = 1e-3, weight_decay = 0.1, warmup_fraction = 0.1;  // warm-up = fraction of all steps
    double beta2 = 0.98, eps = 1e-6;                               // CLIP's AdamW settings
    double grad_clip_norm = 1.0;                                   // 0: no clipping
    uint64_t seed = 0;
    // augmentation
    double crop_scale_min = 0.7;             // RandomResizedCrop scale (crop_scale_min, 1)
    bool flip = true;
    double partial_probability = 0.75;       // use a partial caption (compose_partial_caption) instead of the whole
    double template_probability = 0.5;       // wrap the text in a training template
    int64_t eval_every = 0;                  // > 0: zero-shot on val every this many steps (SmallClipResult::history)
    // vocabulary
    size_t vocab_size = 1024;                // BPE vocabulary (256 + 256 bytes, merges, 2 specials)
    int workers = 1;                         // loader threads (0: on the caller's thread); results never depend on it
    std::string prompt = "a photo of {}.";   // the zero-shot prompt; {} is "a circle", "an ...", ...
    // Supervised warm-up of the image tower before the contrastive steps (INFERRED, the demo's stand-in for the
    // web-scale data that teaches a real CLIP what objects look like): `vision_warmup_steps` steps of
    // multi-label classification — MLSM of a temporary Linear(E -> K) over the image embedding — on the train split
    // of `vision_warmup_root` (e.g. an object-centric synth set with the same classes), with the same AdamW
    // settings, augmentation and a cosine schedule of its own. 0: none (the image tower starts random).
    int64_t vision_warmup_steps = 0;
    double vision_warmup_lr = 0;  // the warm-up's peak learning rate; 0: lr (the contrastive run's)
    std::string vision_warmup_root;
    // After the warm-up, keep the image tower fixed and train only the text side to match it (LiT, "locked-image
    // tuning", Zhai et al. 2022): the contrastive steps cannot then trade the shapes for the backgrounds.
    bool lock_image_tower = false;

    // ---- object-centric and background-only pairs (issue 21: a small CLIP that knows the shapes AND the scenes)
    // Generated in memory by the benchmark's generator (synth_pairs; the training classes must be the synthetic
    // world's, the images the training images' size, difficulty `synth_difficulty`):
    int64_t object_pairs = 0;      // one-object images on class-independent backgrounds, mixed into the pairs
    int64_t background_pairs = 0;  // background-only images ("nothing on water"), mixed into the pairs
    // Without vision_warmup_root, the warm-up (vision_warmup_steps) trains on these generated pairs.
    int64_t eval_object_images = 0;      // > 0: zero-shot on this many one-object, independent-background images
    int64_t eval_background_images = 0;  // > 0: zero-shot over the backgrounds on this many background-only images
    std::string synth_difficulty = "medium";
    // Text: with p scene_probability the text of a pair whose caption names a background is that background's name
    // alone ("water"; then the template draw as usual), so that prompts naming only the scene are in distribution.
    double scene_probability = 0;
    // The warm-up gets a second head: cross-entropy over the backgrounds (Linear(E -> 6)), beside the classes'
    // MLSM, so that the locked image tower separates the scenes as well as the shapes. Needs every warm-up image's
    // caption to name its background.
    bool vision_warmup_backgrounds = false;
    // With a locked image tower: the image embeddings are computed once (the whole image, and its mirror image when
    // flip) instead of per step, and each step trains only the text side on them: the contrastive steps then cost
    // the text tower only. The per-epoch sample order and the mirror choice come from the seed.
    bool cache_image_features = false;
    std::string background_prompt = "a photo of {}.";  // the zero-shot prompt of a background; {} is "water", ...

    std::function<void(const ClipTrainProgress&)> on_step;  // optional (contrastive steps only)
};

// Errors name the option (as a SmallClipOptions field): ranges of steps, sizes, probabilities, the patch size
// dividing the image size, ... train_small_clip calls it first.
void validate_small_clip_options(const SmallClipOptions& options);

// The demo's small CLIP (issue 21; README "demo CLIP"): measured in clip_training.cpp's comment at this function.
// image_size: the benchmark's image size (the model's input), quick: the test-sized preset (seconds). Needs no
// pretraining folder: the object-centric and background-only pairs are generated in memory. The CLI's
// `train-clip --preset demo` is the same configuration.
SmallClipOptions demo_clip_options(uint64_t seed, int64_t image_size, bool quick = false);

struct ZeroShotResult {
    int64_t images = 0, single_object_images = 0;
    double top1 = 0, single_object = 0, mean_per_class = 0, mean_ap = 0;
    std::vector<double> per_class_accuracy;  // single-object accuracy per class (-1 where the class has none)
    std::vector<double> per_class_ap;
    std::vector<std::string> prompts;
    std::vector<std::string> class_names;  // what the classes are (shapes, or backgrounds)
    double chance = 0;                      // 1 / K: the single-label accuracy of a random guess
};

struct SmallClipResult {
    std::shared_ptr<Clip> model;
    std::string vocab_text;          // the BPE file (header + merges), as ClipTokenizer::from_merges reads it
    std::shared_ptr<tok::ClipTokenizer> tokenizer;
    std::vector<double> losses;      // one per step
    ZeroShotResult zero_shot;        // on the val split
    // On the generated evaluation sets (empty, images == 0, unless eval_object_images / eval_background_images):
    ZeroShotResult zero_shot_objects;      // class prompts, one-object images on class-independent backgrounds
    ZeroShotResult zero_shot_backgrounds;  // background prompts, background-only images
    int64_t object_pairs = 0, background_pairs = 0;  // generated pairs among train_pairs
    double vision_warmup_accuracy = -1;    // the warm-up heads on their own training images at the end (top-1 of
    double vision_warmup_background_accuracy = -1;  // the class head, single-object images; of the background head)
    double cache_seconds = 0;              // computing the cached image features
    std::vector<std::pair<int64_t, ZeroShotResult>> history;  // (step, zero-shot) every eval_every steps
    int64_t train_pairs = 0, val_images = 0, steps = 0;
    double train_seconds = 0, eval_seconds = 0;
    std::vector<double> vision_warmup_losses;  // one per warm-up step (empty without a warm-up)
    double vision_warmup_seconds = 0;
    int64_t truncated_captions = 0;  // captions longer than the context (cut, eot kept last)
};

// Trains a small CLIP on ROOT's train split and evaluates it zero-shot on ROOT's val split (see the top).
SmallClipResult train_small_clip(const std::string& root, const SmallClipOptions& options = {});
// The same on pairs already loaded (tests); `vision_warmup`, when given, replaces options.vision_warmup_root (its
// class names must be the training set's).
SmallClipResult train_small_clip(const CaptionedImages& train, const CaptionedImages& val,
                                 const SmallClipOptions& options = {}, const CaptionedImages* vision_warmup = nullptr);

// Caption structure for the text augmentation: "<object>, <object> and <object> <scene>", each object a phrase
// ending in a class name ("a red star"), as `wsdol synth` writes them. objects: the phrases; bare: "a <class>"
// for each; scene: the words after the last object ("on water", may be empty). Empty when the caption does not
// parse (no class name in a segment): such captions are only used whole.
struct CaptionParts {
    std::vector<std::string> objects, bare;
    std::string scene;
};
CaptionParts parse_caption(const std::string& caption, const std::vector<std::string>& class_names);
// A partial caption: a random non-empty subset of the objects (in order), each with its attributes (p 0.5) or
// bare, joined as the synth captions are, with the scene appended with p 0.5.
std::string compose_partial_caption(const CaptionParts& parts, data::SampleRng& rng);

// The zero-shot prompt of a class name: the template with "{}" replaced by "a <name>" / "an <name>".
std::string zero_shot_prompt(const std::string& templ, const std::string& class_name);
// Zero-shot classification of `images` (val: resized whole) with one prompt per class.
ZeroShotResult zero_shot_eval(Clip& model, tok::ClipTokenizer& tokenizer, const CaptionedImages& images,
                              const std::string& templ = "a photo of {}.");
// The zero-shot prompt of a background: the template with "{}" replaced by the name ("a photo of water.").
std::string background_prompt(const std::string& templ, const std::string& background_name);
// Zero-shot classification of the backgrounds: the classes are images.background_names (one prompt each,
// background_prompt), each image's label its background; every image's caption must name one.
ZeroShotResult zero_shot_eval_backgrounds(Clip& model, tok::ClipTokenizer& tokenizer, const CaptionedImages& images,
                                          const std::string& templ = "a photo of {}.");
// The core of both: images (N of (H, W, 3), resized whole), labels (per image, classes 1..K present), one prompt
// per class. The metrics of the top of this file.
ZeroShotResult zero_shot_eval_prompts(Clip& model, tok::ClipTokenizer& tokenizer, const std::vector<data::Image>& images,
                                      const std::vector<std::vector<int>>& labels,
                                      const std::vector<std::string>& prompts);

// Writes OUT/clip.safetensors (OpenAI CLIP names, metadata: config and vocab), OUT/vocab.txt.gz (the BPE file,
// ClipTokenizer::from_file reads it) and OUT/clip_train.json (config, accuracy, time), each atomically.
void write_small_clip(const std::string& out_dir, const SmallClipResult& result, const SmallClipOptions& options);
// One zero-shot result as clip_train.json writes it (split, images, top1, single_object, mean_per_class, mean_ap,
// prompts, per_class_accuracy, per_class_ap, definition, chance, class_names), for results files that show it.
json::Value zero_shot_json(const ZeroShotResult& result, const std::string& split);

}  // namespace wsdol::models
