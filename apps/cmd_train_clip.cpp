// cmd_train_clip.cpp — `wsdol train-clip`: trains a small CLIP (models/clip_training.h) on the captions of a
// `wsdol synth` folder, reports its zero-shot accuracy on the held-out val split, and writes DIR/clip.safetensors
// (OpenAI CLIP names), DIR/vocab.txt.gz (the BPE vocabulary, CLIP's file format) and DIR/clip_train.json.
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <string>

#include "apps/cli.h"
#include "apps/progress.h"
#include "engine/core/error.h"
#include "kernels/cpu/parallel.h"
#include "models/clip_training.h"

namespace {

using namespace wsdol;

int run_train_clip(const std::vector<std::string>& args) {
    cli::Args a("train-clip", args,
                {"data", "out", "steps", "epochs", "batch", "lr", "weight-decay", "vocab-size", "seed", "image-size",
                 "workers", "threads", "prompt", "width", "vision-layers", "text-layers", "context", "patch", "eval-every", "partial",
                 "vision-warmup-steps", "vision-warmup-data"},
                {"quiet", "no-flip", "lock-image-tower"});
    const auto data_dir = a.get("data");
    const auto out_dir = a.get("out");
    WSDOL_CHECK(data_dir.has_value(), "train-clip: --data SYNTH_DIR is required");
    WSDOL_CHECK(out_dir.has_value(), "train-clip: --out DIR is required");
    models::SmallClipOptions o;
    o.steps = a.get_int("steps", o.steps);
    o.epochs = a.get_int("epochs", o.epochs);
    o.batch_size = a.get_int("batch", o.batch_size);
    o.lr = a.get_double("lr", o.lr);
    o.weight_decay = a.get_double("weight-decay", o.weight_decay);
    o.vocab_size = static_cast<size_t>(a.get_int("vocab-size", static_cast<long long>(o.vocab_size)));
    o.seed = static_cast<uint64_t>(a.get_int("seed", 0));
    o.model.image_size = a.get_int("image-size", o.model.image_size);
    o.model.vision_patch_size = a.get_int("patch", o.model.vision_patch_size);
    o.model.vision_layers = a.get_int("vision-layers", o.model.vision_layers);
    o.model.text_layers = a.get_int("text-layers", o.model.text_layers);
    o.model.context_length = a.get_int("context", o.model.context_length);
    if (a.get("width")) {
        // one width for both towers and the joint space; heads keep OpenAI's head width 64
        const int64_t width = a.get_int("width", 0);
        WSDOL_CHECK(width >= 64 && width % 64 == 0, "train-clip: --width must be a positive multiple of 64, got ", width);
        o.model.vision_width = o.model.text_width = o.model.embed_dim = width;
        o.model.vision_heads = o.model.text_heads = width / 64;
    }
    WSDOL_CHECK(o.model.vision_layers >= 1 && o.model.text_layers >= 1, "train-clip: --vision-layers and "
                "--text-layers must be at least 1");
    WSDOL_CHECK(o.model.context_length >= 4, "train-clip: --context must be at least 4, got ", o.model.context_length);
    o.workers = static_cast<int>(a.get_int("workers", o.workers));
    o.prompt = a.get_or("prompt", o.prompt);
    o.flip = !a.flag("no-flip");
    o.eval_every = a.get_int("eval-every", 0);
    o.vision_warmup_steps = a.get_int("vision-warmup-steps", 0);
    o.vision_warmup_root = a.get_or("vision-warmup-data", "");
    o.lock_image_tower = a.flag("lock-image-tower");
    WSDOL_CHECK(!o.lock_image_tower || o.vision_warmup_steps > 0,
                "train-clip: --lock-image-tower needs --vision-warmup-steps N (a random tower would stay random)");
    WSDOL_CHECK(o.vision_warmup_steps >= 0, "train-clip: --vision-warmup-steps must be >= 0, got ", o.vision_warmup_steps);
    WSDOL_CHECK(o.vision_warmup_steps == 0 || !o.vision_warmup_root.empty(),
                "train-clip: --vision-warmup-steps needs --vision-warmup-data DIR (a synth folder with the same classes)");
    o.partial_probability = a.get_double("partial", o.partial_probability);
    WSDOL_CHECK(o.steps >= 1, "train-clip: --steps must be at least 1, got ", o.steps);
    WSDOL_CHECK(o.epochs >= 0, "train-clip: --epochs must be >= 0, got ", o.epochs);
    WSDOL_CHECK(o.batch_size >= 2, "train-clip: --batch must be at least 2, got ", o.batch_size);
    WSDOL_CHECK(o.lr > 0, "train-clip: --lr must be positive, got ", o.lr);
    WSDOL_CHECK(o.vocab_size >= 515, "train-clip: --vocab-size must be at least 515 (512 byte symbols + 1 merge + "
                "2 specials), got ", o.vocab_size);
    WSDOL_CHECK(o.model.image_size >= o.model.vision_patch_size && o.model.image_size % o.model.vision_patch_size == 0,
                "train-clip: --image-size must be a multiple of the patch size ", o.model.vision_patch_size, ", got ",
                o.model.image_size);
    WSDOL_CHECK(o.workers >= 0, "train-clip: --workers must be >= 0, got ", o.workers);
    WSDOL_CHECK(o.prompt.find("{}") != std::string::npos, "train-clip: --prompt must contain {}, got '", o.prompt, "'");
    if (a.get("threads")) cpu::set_num_threads(a.get_int("threads", 0));

    const bool quiet = a.flag("quiet");
    const models::CaptionedImages train = models::load_captioned_images(*data_dir, "train");
    const models::CaptionedImages val = models::load_captioned_images(*data_dir, "val");
    o.model.vocab_size = static_cast<int64_t>(o.vocab_size);  // at most; the trained tokenizer's size replaces it
    const std::string length = o.epochs > 0 ? std::to_string(o.epochs) + " epochs" : std::to_string(o.steps) + " steps";
    std::printf("train-clip: %zu training pairs, %zu val images, %zu classes; %s; %s, batch %lld, %d threads\n",
                train.images.size(), val.images.size(), train.class_names.size(),
                o.model.str().c_str(), length.c_str(), static_cast<long long>(o.batch_size), cpu::num_threads());
    std::fflush(stdout);
    const int64_t batch = std::min<int64_t>(o.batch_size, static_cast<int64_t>(train.images.size()));
    const int64_t total = o.epochs > 0 ? o.epochs * (static_cast<int64_t>(train.images.size()) / batch) : o.steps;
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
    std::printf("wrote %s/clip.safetensors, vocab.txt.gz, clip_train.json\n", out_dir->c_str());
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "train-clip", "train a small CLIP on a synth folder's captions and report its zero-shot accuracy",
    "usage: wsdol train-clip --data SYNTH_DIR --out DIR [--steps N | --epochs N] [--batch B] [--lr X] [--weight-decay X]\n"
    "                        [--vocab-size V] [--seed S] [--image-size R] [--workers W] [--threads T]\n"
    "                        [--prompt TEMPLATE] [--no-flip] [--partial P] [--eval-every N] [--quiet]\n"
    "                        [--width W] [--vision-layers N] [--text-layers N] [--context L] [--patch P]\n"
    "                        [--vision-warmup-steps N --vision-warmup-data DIR [--lock-image-tower]]\n\n"
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
    "--lock-image-tower then keeps it fixed and trains only the text side to match it (LiT), as the demo does.\n"
    "Defaults: 360 steps, batch 64, lr 1e-3, weight decay 0.1, vocab 1024, seed 0. Same seed, same numbers.",
    run_train_clip});
