// cmd_train.cpp — `wsdol train`: trains a localization method (runner/trainer.h) on a VOC-layout dataset
// with a progress bar (loss, lr, images/s, ETA), periodic atomic checkpoints and --resume.
#include <cstdio>

#include "apps/cli.h"
#include "apps/progress.h"
#include "runner/trainer.h"

namespace {

using namespace wsdol;

// The CLI flags: every setting of trainer.h by its dashed name, plus the config file, --set, --dry-run, --quiet.
std::vector<std::string> value_flags() {
    std::vector<std::string> v = {"config", "set", "input"};
    for (std::string k : train::setting_keys()) {
        if (k == "resume" || k == "force") continue;
        for (char& ch : k)
            if (ch == '_') ch = '-';
        v.push_back(k);
    }
    return v;
}

int run_train(const std::vector<std::string>& args) {
    cli::Args a("train", args, value_flags(), {"resume", "force", "dry-run", "quiet", "log-terms"});
    WSDOL_CHECK(a.positional().empty(), "train: unexpected argument '", a.positional().empty() ? "" : a.positional()[0],
                "'");
    train::TrainSettings settings;
    for (const std::string& k : value_flags()) {
        if (k == "config" || k == "set" || k == "input") continue;
        if (auto v = a.get(k)) settings.set(k, *v);
    }
    if (a.flag("resume")) settings.set("resume", "true");
    if (a.flag("force")) settings.set("force", "true");
    for (const auto& [key, value] : a.key_values("input")) settings.set("inputs." + key, value);
    for (const auto& [key, value] : a.key_values("set")) {
        // --set always names a method option (settings have their own flags): "--set backbone=vit" is the CAM
        // option, "--backbone FILE" the pretrained weights.
        settings.set(key.rfind("options.", 0) == 0 ? key : "options." + key, value);
    }
    if (auto config = a.get("config")) train::read_config_file(*config, settings);

    const bool quiet = a.flag("quiet");
    train::TrainHooks hooks;
    hooks.log = [](const std::string& line) { std::printf("%s\n", line.c_str()); std::fflush(stdout); };
    if (a.flag("dry-run")) {
        const train::TrainConfig c = train::resolve_config(settings, hooks);
        std::printf("%s", train::describe(c).c_str());
        return 0;
    }
    // The bar counts images, so its rate is images/s and its ETA covers the remaining steps of this call.
    std::unique_ptr<cli::Progress> bar;
    if (!quiet) {
        hooks.on_start = [&](const train::StepInfo& s) {
            bar = std::make_unique<cli::Progress>("train", (s.total_steps - s.first_step) * s.batch_size, "img");
        };
        hooks.on_step = [&](const train::StepInfo& s) {
            char extra[200];
            std::snprintf(extra, sizeof extra, "step %lld/%lld  epoch %lld/%lld  loss %.4f  lr %.3g",
                          (long long)s.step, (long long)s.total_steps, (long long)s.epoch + 1, (long long)s.epochs,
                          s.loss, s.lr);
            bar->update((s.step - s.first_step) * s.batch_size, extra);
        };
    }
    if (a.flag("log-terms")) {  // one line per step on stdout: the total and every loss term the method returns
        auto progress = hooks.on_step;
        hooks.on_step = [progress](const train::StepInfo& s) {
            if (progress) progress(s);
            std::printf("step %lld/%lld loss %.6g", (long long)s.step, (long long)s.total_steps, s.loss);
            for (const auto& [name, v] : s.terms) std::printf(" %s %.6g", name.c_str(), v);
            std::printf("\n");
            std::fflush(stdout);
        };
    }
    const train::TrainResult r = train::train(settings, hooks);
    const int64_t steps = r.last_step - r.first_step;
    std::printf("%s: %lld steps in %.1f s (%.1f img/s), final loss %.4f%s\n", r.config.method.c_str(), (long long)steps,
                r.seconds, r.seconds > 0 ? steps * r.config.recipe.batch_size / r.seconds : 0.0,
                r.losses.empty() ? 0.0 : r.losses.back(),
                r.finished ? "" : str(" (stopped at step ", r.last_step, "/", r.total_steps, "; --resume continues)").c_str());
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "train", "train a localization method (cam, mctformer, mmcst, ...) with checkpoints and --resume",
    "usage: wsdol train --method NAME --data DIR --out DIR [--config FILE] [--set key=value ...]\n"
    "                   [--backbone FILE] [--clip FILE --clip-vocab FILE] [--input NAME=PATH ...] [--split NAME]\n"
    "                   [--dataset-kind auto|voc|coco|cub|openimages|ilsvrc] [--seed S] [--epochs N]\n"
    "                   [--batch-size B] [--lr X] [--weight-decay X] [--momentum X] [--optimizer adamw|sgd]\n"
    "                   [--schedule cosine|poly|constant|step [--lr-steps E1,E2 --lr-step-factor F]]\n"
    "                   [--schedule-step update|epoch] [--warmup-epochs N]\n"
    "                   [--warmup-lr X] [--min-lr X] [--lr-batch N] [--input-size S] [--augmentation NAME]\n"
    "                   [--grad-clip X] [--resume | --force] [--checkpoint-every N] [--stop-after N]\n"
    "                   [--workers W] [--threads T] [--dry-run] [--quiet] [--log-terms]\n"
    "\n"
    "Trains method NAME on the VOC-layout dataset DIR (split --split, default train; classes from DIR/classes.txt,\n"
    "as `wsdol synth` writes) and writes DIR_OUT/checkpoint.safetensors atomically every --checkpoint-every steps\n"
    "(default 50; 0: only at the end) and at the end. A progress bar on stderr shows step, epoch, loss, lr,\n"
    "images/s and ETA.\n"
    "Settings (flags or a config file; flags win over the file); method options with --set key=value:\n"
    "  identity: method split seed epochs batch-size lr weight-decay momentum optimizer(adamw|sgd)\n"
    "            schedule(cosine|poly|constant|step) lr-steps lr-step-factor warmup-epochs warmup-lr min-lr input-size\n"
    "            augmentation(timm|irn|flip|none|toco) grad-clip, and the method's options (--set key=value, or\n"
    "            \"options\" in the config file); defaults come from the method's recipe (see --dry-run).\n"
    "  run:      data out clip clip-vocab backbone workers checkpoint-every stop-after threads\n"
    "Config file: a JSON object {\"method\": \"cam\", \"epochs\": 5, \"options\": {\"backbone\": \"vit\"}}, or\n"
    "'key = value' lines ('#' comments).\n"
    "--backbone FILE loads pretrained backbone weights (e.g. ViT-B/16 ImageNet) and --clip FILE a CLIP checkpoint\n"
    "(OpenAI names) for methods that use one; without them a method initialises randomly and says so.\n"
    "--resume continues OUT/checkpoint.safetensors: the stored configuration is used; an explicit setting that\n"
    "differs from it, another class list or dataset size is an error naming the field. The resumed run's final\n"
    "checkpoint is bit-identical to an uninterrupted run's. --stop-after N stops after N steps in total (as an\n"
    "interruption would). --log-terms prints every step's loss and loss terms on stdout, one line a step.\n"
    "--dry-run prints the resolved configuration and exits. Results do not depend on\n"
    "--workers or --threads.\n"
    "\n"
    "examples (in a folder holding a small synth set `data`; see wsdol synth --help):\n"
    "  wsdol train --method tinycam --data data --out runs/tinycam --epochs 2 --batch-size 8\n"
    "  wsdol train --method tinycam --data data --out runs/tinycam --epochs 3 --batch-size 8 --force\n"
    "  wsdol train --method cam --data data --out runs/cam --batch-size 8 --dry-run\n"
    "  wsdol train --method vit_classifier --data data --out runs/vit --epochs 1 --batch-size 8 --input-size 32 --set image_size=32 --set patch_size=8 --set embed_dim=64 --set depth=2 --set num_heads=2\n"
    "  wsdol train --method mctformer --data data --out runs/mctformer --backbone runs/vit/checkpoint.safetensors --epochs 1 --batch-size 4 --input-size 32 --set image_size=32 --set patch_size=8 --set embed_dim=64 --set depth=2 --set num_heads=2",
    run_train});
