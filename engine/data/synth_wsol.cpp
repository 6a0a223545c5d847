// synth_wsol.cpp — the WSOL synthetic task in the CUB layout with wsolevaluation masks (see synth_wsol.h).
#include "engine/data/synth_wsol.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/core/error.h"
#include "engine/data/png_write.h"

namespace wsdol::data {
namespace {

namespace fs = std::filesystem;

void write_text(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    WSDOL_CHECK(out.good(), "synth (wsol): cannot write ", path.string());
}

void make_dirs(const fs::path& p) {
    std::error_code ec;
    fs::create_directories(p, ec);
    WSDOL_CHECK(!ec, "synth (wsol): cannot create ", p.string(), ": ", ec.message());
}

std::string class_dir(int k, const std::string& name) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%03d.", k);
    return buf + name;
}

}  // namespace

std::array<int64_t, 4> synth_object_box(const SynthImage& image) {
    WSDOL_CHECK(image.labels.size() == 1, "synth (wsol): image ", image.id, " holds ", image.labels.size(),
                " labels, the WSOL task needs exactly one object");
    const int label = image.labels[0];
    int64_t x0 = image.size, y0 = image.size, x1 = -1, y1 = -1;
    for (int64_t y = 0; y < image.size; ++y)
        for (int64_t x = 0; x < image.size; ++x)
            if (image.mask[size_t(y * image.size + x)] == label) {
                x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
            }
    WSDOL_CHECK(x1 >= 0, "synth (wsol): image ", image.id, " has no pixel of its class ", label);
    return {x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

void write_synth_wsol(const SynthConfig& config_in, const std::string& root_str,
                      const std::function<void(int64_t)>& progress,
                      const std::function<std::string(const std::string&)>& output_path) {
    WSDOL_CHECK(config_in.max_objects == 0 || config_in.max_objects == 1,
                "synth (wsol): the WSOL layout holds one object per image, got --max-objects ", config_in.max_objects);
    SynthConfig config = config_in;
    config.max_objects = 1;
    WSDOL_CHECK(config.images >= 1, "synth (wsol): needs at least one image, got ", config.images);
    const auto names = synth_class_names(config.classes);
    const fs::path root(root_str);
    make_dirs(root);
    // The path to write a file named `rel` (relative to root) at, its folder created.
    auto at = [&](const std::string& rel) -> fs::path {
        if (output_path) return fs::path(output_path(rel));
        const fs::path p = root / rel;
        make_dirs(p.parent_path());
        return p;
    };
    const int64_t n = config.images;
    std::vector<std::string> rel(static_cast<size_t>(n));
    std::vector<int> label(static_cast<size_t>(n));
    std::vector<std::array<int64_t, 4>> box(static_cast<size_t>(n));
    std::string error;
    int64_t done = 0;
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t i = 0; i < n; ++i) {
        try {
            const SynthImage image = synth_image(config, i);
            const std::array<int64_t, 4> b = synth_object_box(image);
            const int k = image.labels[0];
            const std::string r = class_dir(k, names[size_t(k - 1)]) + "/" + image.id + ".png";
            Image rgb;
            rgb.height = rgb.width = image.size;
            rgb.channels = 3;
            rgb.pixels = image.rgb;
            write_text(at("images/" + r), encode_png(rgb));
            Image m;
            m.height = m.width = image.size;
            m.channels = 1;
            m.pixels.resize(image.mask.size());
            for (size_t p = 0; p < m.pixels.size(); ++p) m.pixels[p] = image.mask[p] == k ? 255 : 0;
            write_text(at("masks/" + image.id + ".png"), encode_png(m));
            rel[size_t(i)] = r;
            label[size_t(i)] = k;
            box[size_t(i)] = b;
        } catch (const std::exception& e) {
#pragma omp critical
            error = e.what();
        }
#pragma omp critical
        {
            ++done;
            if (progress) progress(done);
        }
    }
    WSDOL_CHECK(error.empty(), error);

    const int64_t n_val = int64_t(double(n) * config.val_fraction);
    const int64_t n_train = n - n_val;
    std::string classes, images, labels, boxes, split;
    for (int k = 1; k <= config.classes; ++k) classes += str(k, " ", class_dir(k, names[size_t(k - 1)]), "\n");
    std::string ids[2], cls[2], sizes[2], loc[2];  // [0] train, [1] test
    for (int64_t i = 0; i < n; ++i) {
        const int64_t id = i + 1;
        const auto& b = box[size_t(i)];
        images += str(id, " ", rel[size_t(i)], "\n");
        labels += str(id, " ", label[size_t(i)], "\n");
        boxes += str(id, " ", b[0], ".0 ", b[1], ".0 ", b[2], ".0 ", b[3], ".0\n");
        split += str(id, i < n_train ? " 1\n" : " 0\n");
        const int s = i < n_train ? 0 : 1;
        ids[s] += rel[size_t(i)] + "\n";
        cls[s] += str(rel[size_t(i)], ",", label[size_t(i)] - 1, "\n");
        sizes[s] += str(rel[size_t(i)], ",", config.size, ",", config.size, "\n");
        loc[s] += str(rel[size_t(i)], ",masks/", synth_image_id(i), ".png,\n");
    }
    write_text(at("classes.txt"), classes);
    write_text(at("images.txt"), images);
    write_text(at("image_class_labels.txt"), labels);
    write_text(at("bounding_boxes.txt"), boxes);
    write_text(at("train_test_split.txt"), split);
    const char* split_names[2] = {"train", "test"};
    for (int s = 0; s < 2; ++s) {
        const std::string dir = std::string("wsol/") + split_names[s] + "/";
        write_text(at(dir + "image_ids.txt"), ids[s]);
        write_text(at(dir + "class_labels.txt"), cls[s]);
        write_text(at(dir + "image_sizes.txt"), sizes[s]);
        write_text(at(dir + "localization.txt"), loc[s]);
    }
    write_text(at("synth.json"),
               str("{\"generator\": \"wsdol synth\", \"layout\": \"wsol\", \"seed\": ", config.seed, ", \"classes\": ",
                   config.classes, ", \"images\": ", n, ", \"size\": ", config.size, ", \"difficulty\": \"",
                   synth_difficulty_name(config.difficulty), "\", \"home_probability\": ", config.home_probability,
                   ", \"max_objects\": 1, \"train\": ", n_train, ", \"test\": ", n_val, "}\n"));
}

}  // namespace wsdol::data
