// cmd_train_clip.cpp — `wsdol train-clip`: trains a small CLIP (models/clip_training.h) on the captions of a
// `wsdol synth` folder, reports its zero-shot accuracy on the held-out val split, and writes DIR/clip.safetensors
// (OpenAI CLIP names), DIR/vocab.txt.gz (the BPE vocabulary, CLIP's file format) and DIR/clip_train.json.
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <climits>
#include <cstdint>
#include <string>

#include "apps/cli.h"
#include "apps/progress.h"
#include "engine/core/error.h"
#include "engine/data/synth.h"
#include "engine/io/output_dir.h"
#include "kernels/cpu/parallel.h"
#include "models/clip_training.h"

namespace {

using namespace wsdol;

// An integer flag with its range, the error naming the flag.
int64_t int_flag(const cli::Args& a, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
    const int64_t v = a.get_int(name, fallback);
    WSDOL_CHECK(v >= lo && v <= hi, "train-clip: --", name, " must be in ", lo, "..", hi, ", got ", v);
    return v;
}
double double_flag(const cli::Args& a, const char* name, double fallback, double lo, double hi) {
    const double v = a.get_double(name, fallback);
    WSDOL_CHECK(std::isfinite(v) && v >= lo && v <= hi, "train-clip: --", name, " must be in [", lo, ", ", hi,
                "], got ", v);
    return v;
}

int run_train_clip(const std::vector<std::string>& args) {
    cli::Args a("train-clip", args,
                {"data", "out", "steps", "epochs", "batch-size", "lr", "weight-decay", "vocab-size", "seed", "image-size",
                 "workers", "threads", "prompt", "width", "vision-layers", "text-layers", "context", "patch", "eval-every", "partial",
                 "vision-warmup-steps", "vision-warmup-lr", "vision-warmup-data", "preset", "object-pairs", "background-pairs",
                 "eval-object-images", "eval-background-images", "synth-difficulty", "scene", "background-prompt",
                 "vision-resnet"},
                {"quiet", "no-flip", "lock-image-tower", "warmup-backgrounds", "no-warmup-backgrounds", "cache-features",
                 "force"});
    const auto data_dir = a.get("data");
    const auto out_dir = a.get("out");
    WSDOL_CHECK(data_dir.has_value(), "train-clip: --data SYNTH_DIR is required");
    WSDOL_CHECK(out_dir.has_value(), "train-clip: --out DIR is required");
    models::SmallClipOptions o;
    if (auto preset = a.get("preset")) {
        // The demo's configuration (models::demo_clip_options); the flags below override it.
        WSDOL_CHECK(*preset == "demo" || *preset == "demo-quick", "train-clip: --preset must be demo or demo-quick, "
                    "got '", *preset, "'");
        o = models::demo_clip_options(static_cast<uint64_t>(int_flag(a, "seed", 0, 0, INT64_MAX)),
                                      int_flag(a, "image-size", 64, 8, 1024), *preset == "demo-quick");
    }
    o.steps = int_flag(a, "steps", o.steps, 1, 10000000);
    o.epochs = int_flag(a, "epochs", o.epochs, 0, 100000);
    o.batch_size = int_flag(a, "batch-size", o.batch_size, 2, 65536);
    o.lr = double_flag(a, "lr", o.lr, 1e-12, 10);
    o.weight_decay = double_flag(a, "weight-decay", o.weight_decay, 0, 10);
    o.vocab_size = static_cast<size_t>(int_flag(a, "vocab-size", static_cast<int64_t>(o.vocab_size), 515, 49408));
    o.seed = static_cast<uint64_t>(int_flag(a, "seed", static_cast<int64_t>(o.seed), 0, INT64_MAX));
    o.model.image_size = int_flag(a, "image-size", o.model.image_size, 8, 1024);
    o.model.vision_patch_size = int_flag(a, "patch", o.model.vision_patch_size, 1, 1024);
    o.model.vision_layers = int_flag(a, "vision-layers", o.model.vision_layers, 1, 64);
    o.model.text_layers = int_flag(a, "text-layers", o.model.text_layers, 1, 64);
    o.model.context_length = int_flag(a, "context", o.model.context_length, 4, 77);
    if (a.get("width")) {
        // one width for both towers and the joint space; heads keep OpenAI's head width 64
        const int64_t width = a.get_int("width", 0);
        WSDOL_CHECK(width >= 64 && width <= 4096 && width % 64 == 0, "train-clip: --width must be a multiple of 64 "
                    "in 64..4096, got ", width);
        o.model.vision_width = o.model.text_width = o.model.embed_dim = width;
        o.model.vision_heads = o.model.text_heads = width / 64;
    }
    if (a.get("vision-resnet")) {
        // OpenAI's ModifiedResNet image tower, one bottleneck block per stage, base width W (attnpool 32 W wide,
        // W / 2 heads of OpenAI's width 64), instead of the ViT
        const int64_t w = int_flag(a, "vision-resnet", 32, 2, 256);
        WSDOL_CHECK(w % 2 == 0, "train-clip: --vision-resnet must be even (attnpool heads = W / 2), got ", w);
        o.model.vision_resnet = true;
        o.model.vision_width = w;
        o.model.vision_heads = w / 2;
        o.model.vision_resnet_layers = {1, 1, 1, 1};
        o.model.vision_patch_size = 32;  // unused by the ResNet; the image size must be a multiple of its stride 32
    }
    WSDOL_CHECK(o.model.image_size % o.model.vision_patch_size == 0 && o.model.image_size >= o.model.vision_patch_size,
                "train-clip: --image-size must be a multiple of the patch size ", o.model.vision_patch_size, ", got ",
                o.model.image_size);
    o.workers = static_cast<int>(int_flag(a, "workers", o.workers, 0, 64));
    o.prompt = a.get_or("prompt", o.prompt);
    o.background_prompt = a.get_or("background-prompt", o.background_prompt);
    if (a.flag("no-flip")) o.flip = false;
    o.eval_every = int_flag(a, "eval-every", o.eval_every, 0, 10000000);
    o.vision_warmup_steps = int_flag(a, "vision-warmup-steps", o.vision_warmup_steps, 0, 10000000);
    o.vision_warmup_lr = double_flag(a, "vision-warmup-lr", o.vision_warmup_lr, 0, 10);
    o.vision_warmup_root = a.get_or("vision-warmup-data", o.vision_warmup_root);
    if (a.flag("lock-image-tower")) o.lock_image_tower = true;
    if (a.flag("warmup-backgrounds")) o.vision_warmup_backgrounds = true;
    if (a.flag("no-warmup-backgrounds")) o.vision_warmup_backgrounds = false;  // e.g. to turn the preset's off
    if (a.flag("cache-features")) o.cache_image_features = true;
    o.object_pairs = int_flag(a, "object-pairs", o.object_pairs, 0, 1000000);
    o.background_pairs = int_flag(a, "background-pairs", o.background_pairs, 0, 1000000);
    o.eval_object_images = int_flag(a, "eval-object-images", o.eval_object_images, 0, 1000000);
    o.eval_background_images = int_flag(a, "eval-background-images", o.eval_background_images, 0, 1000000);
    o.synth_difficulty = a.get_or("synth-difficulty", o.synth_difficulty);
    data::parse_synth_difficulty(o.synth_difficulty);
    o.scene_probability = double_flag(a, "scene", o.scene_probability, 0, 1);
    o.partial_probability = double_flag(a, "partial", o.partial_probability, 0, 1);
    WSDOL_CHECK(!o.lock_image_tower || o.vision_warmup_steps > 0,
                "train-clip: --lock-image-tower needs --vision-warmup-steps N (a random tower would stay random)");
    WSDOL_CHECK(o.vision_warmup_steps == 0 || !o.vision_warmup_root.empty() || o.object_pairs > 0 ||
                    o.background_pairs > 0,
                "train-clip: --vision-warmup-steps needs --vision-warmup-data DIR (a synth folder with the same "
                "classes) or generated pairs (--object-pairs N, --background-pairs N)");
    WSDOL_CHECK(!o.vision_warmup_backgrounds || o.vision_warmup_steps > 0,
                "train-clip: --warmup-backgrounds needs --vision-warmup-steps N");
    WSDOL_CHECK(!o.cache_image_features || o.lock_image_tower,
                "train-clip: --cache-features needs --lock-image-tower (a tower that learns cannot use fixed features)");
    WSDOL_CHECK(o.prompt.find("{}") != std::string::npos, "train-clip: --prompt must contain {}, got '", o.prompt, "'");
    WSDOL_CHECK(o.background_prompt.find("{}") != std::string::npos, "train-clip: --background-prompt must contain {}, "
                "got '", o.background_prompt, "'");
    if (a.get("threads")) cpu::set_num_threads(int_flag(a, "threads", 1, 1, 1024));
    models::validate_small_clip_options(o);  // the rest, by field name

    const bool quiet = a.flag("quiet");
    const models::CaptionedImages train = models::load_captioned_images(*data_dir, "train");
    const models::CaptionedImages val = models::load_captioned_images(*data_dir, "val");
    // A batch larger than the data is refused, as `wsdol train` does (it used to shrink silently).
    const int64_t pairs = static_cast<int64_t>(train.images.size()) + o.object_pairs + o.background_pairs;
    WSDOL_CHECK(o.batch_size <= pairs, "train-clip: --batch-size ", o.batch_size, " is larger than the ", pairs,
                " training pairs (", train.images.size(), " images of ", *data_dir, "'s train split",
                o.object_pairs + o.background_pairs > 0 ? " and the generated pairs" : "", "); give --batch-size <= ",
                pairs);
    // Every option and the data are valid: now the output folder (engine/io/output_dir.h), before the training
    // time is spent. A new or empty folder, or an earlier train-clip's with --force (removing only what it wrote);
    // never inside the data.
    io::OutputDir out(*out_dir, "train-clip", a.flag("force") ? io::Reuse::force : io::Reuse::refuse,
                      {*data_dir, o.vision_warmup_root}, false);
    for (const char* f : {"clip.safetensors", "vocab.txt.gz", "clip_train.json"}) out.path(f);
    out.flush();
    o.model.vocab_size = static_cast<int64_t>(o.vocab_size);  // at most; the trained tokenizer's size replaces it
    const std::string length = o.epochs > 0 ? std::to_string(o.epochs) + " epochs" : std::to_string(o.steps) + " steps";
    std::printf("train-clip: %zu training pairs, %zu val images, %zu classes; %s; %s, batch %lld, %d threads\n",
                train.images.size(), val.images.size(), train.class_names.size(),
                o.model.str().c_str(), length.c_str(), static_cast<long long>(o.batch_size), cpu::num_threads());
    std::fflush(stdout);
    const int64_t batch = o.batch_size;
    const int64_t total = o.epochs > 0 ? o.epochs * (pairs / batch) : o.steps;
    cli::Progress progress("train-clip", total, "step");
    o.on_step = [&](const models::ClipTrainProgress& p) {
        if (quiet) return;
        char extra[96];
        std::snprintf(extra, sizeof extra, "epoch %lld loss %.3f lr %.1e scale %.1f", static_cast<long long>(p.epoch + 1),
                      p.loss, p.lr, std::exp(p.logit_scale));
        progress.update(p.step, extra);
    };
    const models::SmallClipResult r = models::train_small_clip(train, val, o);
    models::write_small_clip(*out_dir, r, o);
    for (const auto& [step, h] : r.history)
        std::printf("  step %lld: zero-shot top-1 %.1f%%, single-object %.1f%%, mAP %.1f%%\n", static_cast<long long>(step),
                    100 * h.top1, 100 * h.single_object, 100 * h.mean_ap);
    const models::ZeroShotResult& z = r.zero_shot;
    std::printf("trained %lld steps in %.1f s: loss %.3f -> %.3f, logit scale %.1f\n", static_cast<long long>(r.steps),
                r.train_seconds, r.losses.front(), r.losses.back(), std::exp(r.model->logit_scale.item()));
    std::printf("zero-shot on %lld held-out images (prompt \"%s\"): top-1 %.1f%% (predicted class present), "
                "single-object %.1f%% of %lld, mean per class %.1f%%, mAP %.1f%%\n",
                static_cast<long long>(z.images), o.prompt.c_str(), 100 * z.top1, 100 * z.single_object,
                static_cast<long long>(z.single_object_images), 100 * z.mean_per_class, 100 * z.mean_ap);
    if (r.vision_warmup_accuracy >= 0) {
        char bg[64] = "";
        if (r.vision_warmup_background_accuracy >= 0)
            std::snprintf(bg, sizeof bg, ", background head %.1f%%", 100 * r.vision_warmup_background_accuracy);
        std::printf("image-tower warm-up: %zu steps in %.1f s, class head %.1f%%%s on its training images\n",
                    r.vision_warmup_losses.size(), r.vision_warmup_seconds, 100 * r.vision_warmup_accuracy, bg);
    }
    auto per_class = [](const char* what, const models::ZeroShotResult& zr) {
        std::printf("zero-shot on %lld %s: top-1 %.1f%% (chance %.1f%%), mean per class %.1f%%, mAP %.1f%%\n  per class:",
                    static_cast<long long>(zr.images), what, 100 * zr.top1, 100 * zr.chance, 100 * zr.mean_per_class,
                    100 * zr.mean_ap);
        for (size_t k = 0; k < zr.class_names.size(); ++k)
            std::printf(" %s %.1f%s", zr.class_names[k].c_str(), 100 * zr.per_class_accuracy[k],
                        k + 1 < zr.class_names.size() ? "," : "\n");
    };
    per_class("val images (single-object per class)", z);
    if (r.zero_shot_objects.images > 0)
        per_class("one-object images, backgrounds independent of the class", r.zero_shot_objects);
    if (r.zero_shot_backgrounds.images > 0)
        per_class("background-only images (prompts naming the backgrounds)", r.zero_shot_backgrounds);
    std::printf("wrote %s/clip.safetensors, vocab.txt.gz, clip_train.json\n", out_dir->c_str());
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "train-clip", "train a small CLIP on a synth folder's captions and report its zero-shot accuracy",
    "usage: wsdol train-clip --data SYNTH_DIR --out DIR [--steps N | --epochs N] [--batch-size B] [--lr X]\n"
    "                        [--weight-decay X] [--vocab-size V] [--seed S] [--image-size R] [--workers W]\n"
    "                        [--threads T] [--prompt TEMPLATE] [--no-flip] [--partial P] [--eval-every N] [--quiet]\n"
    "                        [--width W] [--vision-layers N] [--text-layers N] [--context L] [--patch P]\n"
    "                        [--vision-resnet W]\n"
    "                        [--vision-warmup-steps N [--vision-warmup-lr X] [--vision-warmup-data DIR]\n"
    "                         [--warmup-backgrounds] [--no-warmup-backgrounds] [--lock-image-tower [--cache-features]]]\n"
    "                        [--object-pairs N] [--background-pairs N] [--scene P] [--synth-difficulty D]\n"
    "                        [--eval-object-images N] [--eval-background-images N] [--background-prompt T]\n"
    "                        [--preset demo|demo-quick] [--force]\n\n"
    "Trains a BPE vocabulary (CLIP's file format) on the training captions (SYNTH_DIR/captions.txt, train split),\n"
    "then a small CLIP (ViT 128x4 on 64 px, patch 8; text 128x3, context 32; embed 128) with the symmetric\n"
    "contrastive loss, AdamW and a cosine schedule; evaluates it zero-shot on the val split with one prompt per\n"
    "class (default \"a photo of {}.\", {} = \"a circle\", ...) and writes DIR/clip.safetensors (OpenAI CLIP names:\n"
    "`wsdol inspect` recognises it), DIR/vocab.txt.gz and DIR/clip_train.json (config, accuracy, time).\n"
    "--width sets both towers and the joint space (a multiple of 64; heads = width / 64); --partial is the\n"
    "probability of a partial caption (a subset of the objects, colours and scene dropped at random); --eval-every\n"
    "prints the zero-shot accuracy every N steps. --vision-warmup-steps N first trains the image tower N steps as a\n"
    "multi-label classifier (temporary linear head) on DIR's train split, e.g. an object-centric synth set with the\n"
    "same classes (`wsdol synth --max-objects 1 --home-probability 0`), the demo's stand-in for web-scale data;\n"
    "--vision-warmup-lr X: the warm-up's peak learning rate (default: --lr).\n"
    "--lock-image-tower then keeps it fixed and trains only the text side to match it (LiT), as the demo does.\n"
    "--object-pairs N / --background-pairs N mix N generated pairs into the training pairs (the synth generator,\n"
    "in memory: one object per image on a background independent of its class / background only, \"nothing on\n"
    "water\"); without --vision-warmup-data the warm-up trains on them, and --warmup-backgrounds gives it a second\n"
    "head that classifies the backgrounds. --scene P: with probability P a pair's text is its background's name\n"
    "alone. --cache-features: the locked tower's embeddings are computed once (whole image and mirror image), so\n"
    "the contrastive steps cost the text side only. --eval-object-images N / --eval-background-images N add\n"
    "zero-shot tests on N generated one-object images with independent backgrounds (class prompts) and on N\n"
    "background-only images (prompts naming the backgrounds, --background-prompt, default \"a photo of {}.\"),\n"
    "the same images for every seed; per-class numbers are printed and in clip_train.json. --preset demo: the\n"
    "demo's configuration (models::demo_clip_options); flags given with it override it.\n"
    "--vision-resnet W: OpenAI's ModifiedResNet image tower (one block per stage, base width W) instead of the ViT.\n"
    "Defaults: 360 steps, batch size 64, lr 1e-3, weight decay 0.1, vocab 1024, seed 0. Same seed, same numbers.\n"
    "DIR must be new or empty, or an earlier train-clip output with --force (which removes only what it wrote).\n"
    "\n"
    "examples:\n"
    "  wsdol train-clip --data data --out clip --steps 20 --batch-size 8 --width 64 --vision-layers 1 --text-layers 1 --image-size 32 --vocab-size 600\n"
    "  wsdol train-clip --data data --out clip --steps 20 --batch-size 8 --width 64 --vision-layers 1 --text-layers 1 --image-size 32 --vocab-size 600 --vision-warmup-steps 10 --vision-warmup-data data --lock-image-tower --force",
    run_train_clip});
