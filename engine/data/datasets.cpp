// datasets.cpp — listing and checking the samples of VOC, COCO (WSSS), CUB and wsolevaluation layouts.
#include "engine/data/datasets.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/core/error.h"
#include "engine/data/image_io.h"
#include "engine/eval/eval_data.h"

namespace wsdol::data {
namespace {

namespace fs = std::filesystem;

std::string join(const std::string& a, const std::string& b) { return (fs::path(a) / b).string(); }
bool is_file(const std::string& p) { return fs::is_regular_file(p); }

// Runs `check` for one sample; under skip_bad a failure is recorded and the sample dropped.
template <typename Fn>
void add_checked(Dataset& dataset, const DatasetOptions& options, Sample sample, Fn&& check) {
    try {
        check(sample);
    } catch (const Error& e) {
        if (!options.skip_bad) throw;
        dataset.skipped.push_back(sample.id + ": " + e.what());
        return;
    }
    dataset.samples.push_back(std::move(sample));
}

// Image header and, when there is one, the mask: both readable and of the same size.
void check_image_and_mask(Sample& s, const DatasetOptions& options) {
    WSDOL_CHECK(is_file(s.image_path), s.image_path, ": image not found (sample ", s.id, ")");
    if (options.require_masks) WSDOL_CHECK(!s.mask_path.empty() && is_file(s.mask_path),
                                           s.mask_path.empty() ? "<no mask>" : s.mask_path, ": mask not found (sample ",
                                           s.id, ")");
    if (!options.check_files) return;
    image_size(s.image_path, &s.width, &s.height);
    if (s.mask_path.empty()) return;
    const PngInfo info = read_png_info(s.mask_path);
    WSDOL_CHECK(info.width == s.width && info.height == s.height, s.mask_path, ": mask is ", info.width, "x",
                info.height, " but its image ", s.image_path, " is ", s.width, "x", s.height, " (W x H)");
}

std::vector<int> labels_from_mask(const std::string& path, int num_classes) {
    const Image mask = read_label_png(path);
    std::set<int> present;
    for (uint8_t v : mask.pixels) {
        if (v == 0 || v == 255) continue;
        WSDOL_CHECK(v < num_classes, path, ": mask value ", int(v), " is not a class (", num_classes,
                    " classes, 255 = ignore)");
        present.insert(v);
    }
    return std::vector<int>(present.begin(), present.end());
}

// "k name" lines (k = 0, 1, ... in order), as `wsdol synth` writes ROOT/classes.txt.
std::vector<std::string> read_class_file(const std::string& path) {
    std::vector<std::string> names;
    size_t line_no = 0;
    for (const std::string& line : eval::read_text_lines(path)) {
        ++line_no;
        std::istringstream fields(line);
        int64_t k = -1;
        std::string name;
        fields >> k >> name;
        WSDOL_CHECK(k == int64_t(names.size()) && !name.empty(), path, ":", line_no, ": expected '",
                    names.size(), " <name>', got '", line, "'");
        names.push_back(name);
    }
    return names;
}

// The segmentation datasets share everything but the paths of one id.
struct SegPaths {
    std::string image, mask;
};

Dataset open_segmentation(const std::string& kind, const std::string& root, const std::string& split,
                          const DatasetOptions& options, std::vector<std::string> class_names,
                          const std::string& default_list, const std::function<SegPaths(const std::string&)>& paths) {
    WSDOL_CHECK(fs::is_directory(root), root, ": dataset folder not found");
    Dataset d;
    d.kind = kind, d.root = root, d.split = split, d.class_names = std::move(class_names);
    const std::string list = options.list_file.empty() ? default_list : options.list_file;
    WSDOL_CHECK(is_file(list), list, ": id list for split '", split, "' not found (a ", kind,
                " dataset lists the ids of each split there: choose a split that has one, or write it)");
    const std::vector<std::string> ids = eval::read_id_list(list);
    std::string labels_file = options.labels_file;
    if (labels_file.empty() && is_file(join(root, "cls_labels.txt"))) labels_file = join(root, "cls_labels.txt");
    std::map<std::string, std::vector<int>> labels;
    if (!labels_file.empty()) labels = eval::read_image_labels(labels_file, int(d.class_names.size()) - 1);
    for (const std::string& id : ids) {
        const SegPaths p = paths(id);
        Sample s;
        s.id = id;
        s.image_path = p.image;
        s.mask_path = is_file(p.mask) ? p.mask : "";
        add_checked(d, options, std::move(s), [&](Sample& sample) {
            check_image_and_mask(sample, options);
            if (!labels_file.empty()) {
                const auto it = labels.find(sample.id);
                WSDOL_CHECK(it != labels.end(), labels_file, ": no labels for ", sample.id);
                sample.labels = it->second;
            } else {
                WSDOL_CHECK(!sample.mask_path.empty(), sample.id, ": no image-level labels (", join(root, "cls_labels.txt"),
                            " is absent) and no mask to derive them from (", paths(sample.id).mask, ")");
                sample.labels = labels_from_mask(sample.mask_path, int(d.class_names.size()));
            }
        });
    }
    return d;
}

std::vector<std::string> read_fields(const std::string& line, size_t count, const std::string& path, size_t line_no) {
    std::istringstream s(line);
    std::vector<std::string> out;
    for (std::string f; s >> f;) out.push_back(f);
    WSDOL_CHECK(out.size() == count, path, ":", line_no, ": expected ", count, " fields, got '", line, "'");
    return out;
}

// A finite number (NaN and infinities are refused: they would become boxes nobody can score).
double parse_number(const std::string& text, const std::string& path, size_t line_no) {
    try {
        size_t used = 0;
        const double v = std::stod(text, &used);
        if (used == text.size() && std::isfinite(v)) return v;
    } catch (...) {
    }
    fail(str(path, ":", line_no, ": expected a number, got '", text, "'"));
}

// An integer in [lo, hi] written as one (CUB's image and class ids). Converting any double instead was undefined
// behaviour for values such as 1e32 (found by fuzz/fuzz_datasets.cpp).
int64_t parse_integer(const std::string& text, const std::string& path, size_t line_no, int64_t lo, int64_t hi) {
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    WSDOL_CHECK(ec == std::errc() && end == text.data() + text.size() && v >= lo && v <= hi, path, ":", line_no,
                ": expected an integer in ", lo, "..", hi, ", got '", text, "'");
    return v;
}

// CUB's "image_id value ..." files as id -> remaining fields.
std::map<int64_t, std::vector<std::string>> read_cub_table(const std::string& path, size_t fields) {
    std::map<int64_t, std::vector<std::string>> out;
    size_t line_no = 0;
    for (const std::string& line : eval::read_text_lines(path)) {
        ++line_no;
        std::vector<std::string> f = read_fields(line, fields + 1, path, line_no);
        const int64_t id = parse_integer(f[0], path, line_no, 0, std::numeric_limits<int64_t>::max());
        f.erase(f.begin());
        WSDOL_CHECK(out.emplace(id, std::move(f)).second, path, ":", line_no, ": image id ", id, " repeated");
    }
    return out;
}

}  // namespace

const std::vector<std::string>& voc_class_names() {
    static const std::vector<std::string> names = {
        "background", "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",
        "car",        "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",
        "motorbike",  "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};
    return names;
}

const std::vector<std::string>& coco_class_names() {
    static const std::vector<std::string> names = {
        "background", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
        "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse",
        "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie",
        "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
        "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl",
        "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake",
        "chair", "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
        "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
        "scissors", "teddy bear", "hair drier", "toothbrush"};
    return names;
}

std::vector<std::string> read_class_names(const std::string& path) { return read_class_file(path); }

std::vector<std::string> dataset_class_names(const std::string& root) {
    return is_file(join(root, "classes.txt")) ? read_class_file(join(root, "classes.txt")) : voc_class_names();
}

Dataset open_voc(const std::string& root, const std::string& split, const DatasetOptions& options,
                 std::vector<std::string> class_names) {
    if (class_names.empty())
        class_names = is_file(join(root, "classes.txt")) ? read_class_file(join(root, "classes.txt")) : voc_class_names();
    // SBD's augmented masks when present (what ToCo/AFA/MCTformer read), else the official ones.
    const std::string mask_dir =
        fs::is_directory(join(root, "SegmentationClassAug")) ? "SegmentationClassAug" : "SegmentationClass";
    return open_segmentation("voc", root, split, options, std::move(class_names),
                             join(root, "ImageSets/Segmentation/" + split + ".txt"), [&](const std::string& id) {
                                 return SegPaths{join(root, "JPEGImages/" + id + ".jpg"),
                                                 join(root, mask_dir + "/" + id + ".png")};
                             });
}

Dataset open_coco(const std::string& root, const std::string& split, const DatasetOptions& options) {
    const bool nested = fs::is_directory(join(root, "JPEGImages"));
    return open_segmentation(
        "coco", root, split, options, coco_class_names(), join(root, split + ".txt"), [&](const std::string& id) {
            // Stems name their folder: COCO_train2014_000000000009 -> train2014.
            const size_t a = id.find('_'), b = id.find('_', a + 1);
            WSDOL_CHECK(id.rfind("COCO_", 0) == 0 && b != std::string::npos && b > a + 1, "coco: '", id,
                        "' is not a COCO file stem (COCO_<folder>_<id>)");
            const std::string folder = id.substr(a + 1, b - a - 1);
            return SegPaths{join(root, (nested ? "JPEGImages/" : "") + folder + "/" + id + ".jpg"),
                            join(root, "SegmentationClass/" + folder + "/" + id + ".png")};
        });
}

Dataset open_cub(const std::string& root, const std::string& split, const DatasetOptions& options) {
    WSDOL_CHECK(split == "train" || split == "test", "cub: split must be train or test, got '", split, "'");
    Dataset d;
    d.kind = "cub", d.root = root, d.split = split;
    for (const auto& [id, f] : read_cub_table(join(root, "classes.txt"), 1)) d.class_names.push_back(f[0]);
    const auto images = read_cub_table(join(root, "images.txt"), 1);
    const auto classes = read_cub_table(join(root, "image_class_labels.txt"), 1);
    const auto boxes = read_cub_table(join(root, "bounding_boxes.txt"), 4);
    const auto is_train = read_cub_table(join(root, "train_test_split.txt"), 1);
    for (const auto& entry : images) {
        const int64_t id = entry.first;  // a plain variable: clang < 16 cannot capture structured bindings
        const std::vector<std::string>& f = entry.second;
        const auto t = is_train.find(id);
        WSDOL_CHECK(t != is_train.end(), join(root, "train_test_split.txt"), ": no entry for image id ", id);
        if ((t->second[0] == "1") != (split == "train")) continue;
        Sample s;
        s.id = f[0];
        s.image_path = join(root, "images/" + f[0]);
        add_checked(d, options, std::move(s), [&](Sample& sample) {
            const auto c = classes.find(id);
            WSDOL_CHECK(c != classes.end(), join(root, "image_class_labels.txt"), ": no class for image id ", id);
            const int label = int(parse_integer(c->second[0], join(root, "image_class_labels.txt"), 0, 1,
                                                100000000)) - 1;  // 1-based on disk
            WSDOL_CHECK(label >= 0 && label < int(d.class_names.size()), join(root, "image_class_labels.txt"),
                        ": class ", label + 1, " of image id ", id, " is not in classes.txt");
            sample.labels = {label};
            const auto b = boxes.find(id);
            WSDOL_CHECK(b != boxes.end(), join(root, "bounding_boxes.txt"), ": no box for image id ", id);
            double v[4];
            for (int k = 0; k < 4; ++k) v[k] = parse_number(b->second[k], join(root, "bounding_boxes.txt"), 0);
            sample.boxes = {eval::BoxF{v[0], v[1], v[0] + v[2], v[1] + v[3]}};
            check_image_and_mask(sample, options);
            // A box must lie in its image (x, y >= 0, w, h >= 0, x + w <= W, y + h <= H): a box outside would
            // silently score 0 IoU for every prediction.
            if (sample.width > 0)
                WSDOL_CHECK(v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[3] >= 0 && v[0] + v[2] <= double(sample.width) &&
                                v[1] + v[3] <= double(sample.height),
                            join(root, "bounding_boxes.txt"), ": box (x ", v[0], ", y ", v[1], ", w ", v[2], ", h ", v[3],
                            ") of image id ", id, " is not inside its image ", sample.image_path, " (", sample.width,
                            "x", sample.height, ")");
        });
    }
    return d;
}

Dataset open_wsol(const std::string& metadata_dir, const std::string& image_root, const std::string& mask_root,
                  const DatasetOptions& options) {
    const eval::WsolMetadata meta = eval::read_wsol_metadata(metadata_dir);
    Dataset d;
    d.kind = "wsol", d.root = image_root, d.split = metadata_dir;
    int64_t max_class = -1;
    for (const auto& [id, c] : meta.class_labels) max_class = std::max(max_class, c);
    for (int64_t k = 0; k <= max_class; ++k) d.class_names.push_back(std::to_string(k));
    for (const std::string& id : meta.image_ids) {
        Sample s;
        s.id = id;
        s.image_path = join(image_root, id);
        add_checked(d, options, std::move(s), [&](Sample& sample) {
            const auto c = meta.class_labels.find(id);
            if (!meta.class_labels.empty()) {
                WSDOL_CHECK(c != meta.class_labels.end(), join(metadata_dir, "class_labels.txt"), ": no class for ", id);
                sample.labels = {int(c->second)};
            }
            if (const auto b = meta.boxes.find(id); b != meta.boxes.end())
                for (const eval::Box& box : b->second)
                    sample.boxes.push_back({double(box.x0), double(box.y0), double(box.x1), double(box.y1)});
            if (const auto m = meta.mask_paths.find(id); m != meta.mask_paths.end())
                for (const std::string& mask : m->second) {
                    sample.instance_masks.push_back(join(mask_root, mask));
                    WSDOL_CHECK(is_file(sample.instance_masks.back()), sample.instance_masks.back(),
                                ": mask not found (sample ", id, ")");
                }
            if (const auto g = meta.ignore_paths.find(id); g != meta.ignore_paths.end() && !g->second.empty()) {
                sample.ignore_mask = join(mask_root, g->second);
                WSDOL_CHECK(is_file(sample.ignore_mask), sample.ignore_mask, ": ignore mask not found (sample ", id,
                            ")");
            }
            check_image_and_mask(sample, options);
            if (!options.check_files) return;
            for (const std::string& mask : sample.instance_masks) {
                const PngInfo info = read_png_info(mask);
                WSDOL_CHECK(info.width == sample.width && info.height == sample.height, mask, ": mask is ",
                            info.width, "x", info.height, " but its image is ", sample.width, "x", sample.height);
            }
        });
    }
    return d;
}

bool has_background_class(const Dataset& dataset) { return dataset.kind == "voc" || dataset.kind == "coco"; }

std::vector<std::string> foreground_class_names(const Dataset& dataset) {
    if (!has_background_class(dataset)) return dataset.class_names;
    WSDOL_CHECK(dataset.class_names.size() >= 2, dataset.root, ": needs at least one foreground class");
    return std::vector<std::string>(dataset.class_names.begin() + 1, dataset.class_names.end());
}

int foreground_label(const Dataset& dataset, int label) { return has_background_class(dataset) ? label - 1 : label; }

std::vector<std::string> dataset_kinds() { return {"auto", "voc", "coco", "cub", "openimages", "ilsvrc"}; }

Dataset open_dataset(const std::string& root, const std::string& split, const DatasetOptions& options,
                     const std::string& kind) {
    namespace fs = std::filesystem;
    WSDOL_CHECK(fs::is_directory(root), root, ": dataset folder not found");
    std::string k = kind;
    if (k == "auto") {
        if (fs::exists(fs::path(root) / "images.txt")) k = "cub";
        else if (fs::exists(fs::path(root) / "train2014") || fs::exists(fs::path(root) / "JPEGImages" / "train2014"))
            k = "coco";
        else k = "voc";
    }
    if (k == "voc") return open_voc(root, split, options);
    if (k == "coco") return open_coco(root, split, options);
    if (k == "cub") return open_cub(root, split, options);
    if (k == "openimages" || k == "ilsvrc") {
        // The wsolevaluation repository's layout: ROOT/metadata/<Name>/<split>, ROOT/dataset/<Name>, and for
        // OpenImages ROOT/maskdata/<Name>.
        const std::string name = k == "openimages" ? "OpenImages" : "ILSVRC";
        const fs::path meta = fs::path(root) / "metadata" / name / split;
        WSDOL_CHECK(fs::is_directory(meta), root, ": no wsolevaluation metadata folder ", meta.string(),
                    " (expected ROOT/metadata/", name, "/<split>, ROOT/dataset/", name, ")");
        return open_wsol(meta.string(), (fs::path(root) / "dataset" / name).string(),
                         (fs::path(root) / "maskdata" / name).string(), options);
    }
    fail(str("dataset kind '", kind, "' is not known (auto | voc | coco | cub | openimages | ilsvrc)"));
}

}  // namespace wsdol::data
