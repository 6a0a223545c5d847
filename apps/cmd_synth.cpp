// cmd_synth.cpp — `wsdol synth`: writes the synthetic localization benchmark (engine/data/synth.h) in the VOC
// layout, so every reader, trainer and evaluator that takes VOC takes it too.
//
//   DIR/JPEGImages/<id>.jpg                 RGB, JPEG quality 95 (stb_image_write)
//   DIR/SegmentationClass/<id>.png          palette PNG with the VOC colour map: 0 background, k class k, 255 ignore
//   DIR/ImageSets/Segmentation/{train,val,trainval}.txt   one id per line
//   DIR/cls_labels.txt                      "<id> c1 c2 ..." image-level labels (class ids 1..K)
//   DIR/captions.txt                        "<id>\t<caption>"
//   DIR/classes.txt                         "0 background" then "k <name>"
//   DIR/synth.json                          the configuration (seed, classes, images, size, difficulty)
// --layout wsol writes the single-object WSOL task instead (CUB layout + wsolevaluation masks, engine/data/synth_wsol.h).
// The bytes depend only on the configuration: the same command writes byte-identical files on any thread count.
#include <stb/stb_image_write.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/cli.h"
#include "apps/progress.h"
#include "engine/core/error.h"
#include "engine/data/png_write.h"
#include "engine/data/synth.h"
#include "engine/io/output_dir.h"
#include "engine/data/synth_wsol.h"

namespace {

namespace fs = std::filesystem;
using namespace wsdol;

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    WSDOL_CHECK(out.good(), "synth: cannot write ", path.string());
}

std::string encode_jpeg(const data::SynthImage& image) {
    std::string bytes;
    auto sink = [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
    };
    const int ok = stbi_write_jpg_to_func(sink, &bytes, int(image.size), int(image.size), 3, image.rgb.data(), 95);
    WSDOL_CHECK(ok != 0, "synth: JPEG encoding failed for ", image.id);
    return bytes;
}

// --layout wsol: the single-object WSOL task in the CUB layout plus wsolevaluation masks (engine/data/synth_wsol.h).
int run_synth_wsol(const cli::Args& a, const data::SynthConfig& config, io::OutputDir& out) {
    const fs::path root(out.dir());
    cli::Progress progress("synth", config.images, "img");
    const auto start = std::chrono::steady_clock::now();
    data::write_synth_wsol(
        config, root.string(),
        [&](int64_t done) {
            if (!a.flag("quiet")) progress.update(done);
        },
        [&](const std::string& relative) { return out.path(relative); });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int64_t n_test = int64_t(double(config.images) * config.val_fraction);
    std::printf("wrote %lld single-object images (%lld train, %lld test) of %lldx%lld, %d classes, %s, CUB layout + "
                "wsolevaluation masks, to %s in %.2f s\n",
                (long long)config.images, (long long)(config.images - n_test), (long long)n_test,
                (long long)config.size, (long long)config.size, config.classes,
                data::synth_difficulty_name(config.difficulty), root.string().c_str(), seconds);
    return 0;
}

int run_synth(const std::vector<std::string>& args) {
    cli::Args a("synth", args,
                {"out", "classes", "images", "size", "seed", "difficulty", "val-fraction", "home-probability",
                 "max-objects", "layout"},
                {"quiet", "force"});
    const auto out_arg = a.get("out");
    WSDOL_CHECK(out_arg.has_value(), "synth: --out DIR is required");
    data::SynthConfig config;
    config.classes = int(a.get_int("classes", config.classes));
    config.images = a.get_int("images", config.images);
    config.size = a.get_int("size", config.size);
    config.seed = uint64_t(a.get_int("seed", 0));
    config.difficulty = data::parse_synth_difficulty(a.get_or("difficulty", "medium"));
    config.val_fraction = a.get_double("val-fraction", config.val_fraction);
    config.home_probability = a.get_double("home-probability", config.home_probability);
    config.max_objects = int(a.get_int("max-objects", config.max_objects));
    WSDOL_CHECK(config.images >= 1 && config.images <= 10000000, "synth: --images must be in 1..10000000, got ",
                config.images);
    WSDOL_CHECK(config.val_fraction >= 0 && config.val_fraction < 1, "synth: --val-fraction must be in [0, 1), got ",
                config.val_fraction);
    const std::string layout = a.get_or("layout", "voc");
    WSDOL_CHECK(layout == "voc" || layout == "wsol", "synth: --layout must be voc or wsol, got '", layout, "'");
    WSDOL_CHECK(layout == "voc" || config.max_objects <= 1, "synth: --layout wsol holds one object per image, got "
                "--max-objects ", config.max_objects);
    const auto names = data::synth_class_names(config.classes);  // validates --classes
    data::synth_image(config, 0);                                    // validates --size before any file is written

    // Every option is valid: now the output folder (engine/io/output_dir.h). A new or empty folder, or an earlier
    // synth's with --force, which first removes what that synth created (and only that: files a user added stay,
    // and images of a larger earlier run do not linger beside the new ones). A dataset that is not a synth output
    // is never written into: the lists and label files written here would replace its own.
    io::OutputDir out(*out_arg, "synth", a.flag("force") ? io::Reuse::force : io::Reuse::refuse, {}, false);
    const fs::path root(*out_arg);
    if (layout == "wsol") return run_synth_wsol(a, config, out);
    // Every file's name is recorded before the parallel loop writes it.
    std::vector<std::string> image_files(config.images), mask_files(config.images);
    for (int64_t i = 0; i < config.images; ++i) {
        const std::string id = data::synth_image_id(i);
        image_files[size_t(i)] = out.path("JPEGImages/" + id + ".jpg");
        mask_files[size_t(i)] = out.path("SegmentationClass/" + id + ".png");
    }
    out.flush();
    std::vector<std::string> label_lines(config.images), caption_lines(config.images);
    cli::Progress progress("synth", config.images, "img");
    std::atomic<int64_t> done{0};
    std::string error;
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t i = 0; i < config.images; ++i) {
        try {
            const data::SynthImage image = data::synth_image(config, i);
            write_bytes(image_files[size_t(i)], encode_jpeg(image));
            data::Image mask;
            mask.height = mask.width = image.size;
            mask.channels = 1;
            mask.pixels = image.mask;
            write_bytes(mask_files[size_t(i)], data::encode_palette_png(mask));
            std::string labels = image.id;
            for (int label : image.labels) {
                labels += ' ';
                labels += std::to_string(label);
            }
            label_lines[i] = labels;
            caption_lines[i] = image.id;
            caption_lines[i] += '\t';
            caption_lines[i] += image.caption;
        } catch (const std::exception& e) {
#pragma omp critical
            error = e.what();
        }
        const int64_t finished = ++done;
        if (!a.flag("quiet")) {
#pragma omp critical
            progress.update(finished);
        }
    }
    WSDOL_CHECK(error.empty(), error);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const int64_t n_val = int64_t(config.images * config.val_fraction);
    const int64_t n_train = config.images - n_val;
    std::string train, val, trainval, labels, captions, classes = "0 background\n";
    for (int64_t i = 0; i < config.images; ++i) {
        const std::string id = data::synth_image_id(i);
        (i < n_train ? train : val) += id + "\n";
        trainval += id + "\n";
        labels += label_lines[i] + "\n";
        captions += caption_lines[i] + "\n";
    }
    for (int k = 1; k <= config.classes; ++k) classes += std::to_string(k) + " " + names[k - 1] + "\n";
    write_bytes(out.path("ImageSets/Segmentation/train.txt"), train);
    write_bytes(out.path("ImageSets/Segmentation/val.txt"), val);
    write_bytes(out.path("ImageSets/Segmentation/trainval.txt"), trainval);
    write_bytes(out.path("cls_labels.txt"), labels);
    write_bytes(out.path("captions.txt"), captions);
    write_bytes(out.path("classes.txt"), classes);
    write_bytes(out.path("synth.json"),
                str("{\"generator\": \"wsdol synth\", \"seed\": ", config.seed, ", \"classes\": ", config.classes,
                    ", \"images\": ", config.images, ", \"size\": ", config.size, ", \"difficulty\": \"",
                    data::synth_difficulty_name(config.difficulty), "\", \"home_probability\": ",
                    config.home_probability, ", \"max_objects\": ", config.max_objects, ", \"train\": ", n_train, ", \"val\": ", n_val,
                    "}\n"));
    std::printf("wrote %lld images (%lld train, %lld val) of %lldx%lld, %d classes, %s, to %s in %.2f s (%.0f img/s)\n",
                (long long)config.images, (long long)n_train, (long long)n_val, (long long)config.size,
                (long long)config.size, config.classes, data::synth_difficulty_name(config.difficulty),
                root.string().c_str(), seconds, config.images / seconds);
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "synth", "write the synthetic localization benchmark (VOC layout, masks, labels, captions)",
    "usage: wsdol synth --out DIR [--classes K] [--images N] [--size S] [--seed X] [--difficulty easy|medium|hard]\n"
    "                   [--val-fraction F] [--home-probability P] [--max-objects M] [--layout voc|wsol] [--force]\n"
    "                   [--quiet]\n\n"
    "Renders N images of S x S pixels with 1-3 objects of K shape classes (K <= 10) on textured backgrounds that\n"
    "co-occur with the classes, plus clutter and occluders, and writes them in the PASCAL VOC layout:\n"
    "JPEGImages/, SegmentationClass/ (palette PNGs; 255 = ignore), ImageSets/Segmentation/{train,val,trainval}.txt,\n"
    "cls_labels.txt, captions.txt, classes.txt and synth.json. The last F of the images (default 0.2) form val.\n"
    "--home-probability P overrides the difficulty's chance that a scene takes its first object's home background\n"
    "(0: backgrounds independent of the classes); --max-objects M (1..3) its most objects per scene (1: one object\n"
    "per image, as in an object-centric pretraining set).\n"
    "--layout wsol writes the WSOL task instead: one object per image, in the CUB-200-2011 layout (images.txt,\n"
    "image_class_labels.txt, bounding_boxes.txt, train_test_split.txt, classes.txt, images/) with the last F as the\n"
    "test split, plus foreground masks (masks/) and wsolevaluation metadata (wsol/{train,test}/) for PxAP.\n"
    "Defaults: K 6, N 200, S 128, seed 0, medium. The same arguments always give byte-identical files.\n"
    "DIR must be new or empty (DIR/.wsdol-output then lists every file written); over an earlier `wsdol synth`\n"
    "output --force starts over, removing only the files that run wrote (files you added stay). Any other folder\n"
    "is refused, never written into.\n"
    "\n"
    "examples:\n"
    "  wsdol synth --out synth --images 100 --size 64\n"
    "  wsdol synth --out synth --images 50 --size 64 --classes 4 --force\n"
    "  wsdol synth --out pretrain --images 100 --size 64 --max-objects 1 --home-probability 0\n"
    "  wsdol synth --out wsol --layout wsol --images 40 --size 64 --classes 3",
    run_synth});
