// test_hostile_cli.cpp — the `wsdol` commands against hostile or careless input (issue 18, outside the training
// runner): each case ends in a clear error naming the option or file, or in correct work, and the user's files
// are byte-identical afterwards (a hash of every file under the folder, before and after).
//   --threads out of range (was a SIGSEGV in the OpenMP runtime), eval/report thresholds that are NaN or outside
//   [0, 1], per-class IoU printed with class names, error prefixes printed once, dataset hints that named a
//   non-existent --list option, `convert X X` and convert onto an existing file, `report --overlay --out` onto
//   its input, `synth` over an earlier larger synth (stale images) and over a folder that is not its own,
//   `inspect` of a training checkpoint (method and step), `tokenize --train` option ranges; the one output rule
//   for report, synth, train-clip and tokenize --train (engine/io/output_dir.h), the train split as every
//   command's default, --batch-size as the one batch flag.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "engine/data/datasets.h"
#include "engine/data/npy.h"
#include "engine/io/checkpoint.h"
#include "engine/io/output_dir.h"
#include "engine/io/safetensors.h"
#include "kernels/cpu/parallel.h"
#include "tests/cli_test_util.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;
using test::run_wsdol;

// FNV-1a 64 of every regular file under `root` (relative path -> hash): equal snapshots = untouched files.
std::map<std::string, uint64_t> snapshot(const fs::path& root) {
    std::map<std::string, uint64_t> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (!e.is_regular_file()) continue;
        uint64_t h = 1469598103934665603ull;
        for (unsigned char c : test::read_bytes(e.path().string())) h = (h ^ c) * 1099511628211ull;
        out[fs::relative(e.path(), root).string()] = h;
    }
    return out;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

// Expects exit code 1, an error line starting "wsdol <command>" (then ':' or a space, as in
// "wsdol tokenize --train: ...") that does not repeat the command, and every piece in the output.
void expect_cli_error(const test::CliResult& r, const std::string& command, const std::vector<std::string>& pieces) {
    EXPECT_EQ(r.code, 1) << r.output;
    const size_t at = r.output.find("wsdol " + command);
    ASSERT_NE(at, std::string::npos) << r.output;
    const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
    EXPECT_NE(line.rfind("wsdol " + command + ": " + command, 0), 0u) << "doubled prefix: " << line;
    for (const std::string& p : pieces) EXPECT_NE(r.output.find(p), std::string::npos) << "'" << p << "' not in: " << r.output;
}

// A small synthetic VOC-layout dataset (10 images, 2 in val) written once per test that asks for it.
std::string make_synth(const test::ScratchDir& dir, const std::string& name = "data", int images = 10) {
    const std::string root = dir.file(name);
    const auto r = run_wsdol("synth --quiet --out " + q(root) + " --images " + std::to_string(images) +
                             " --size 32 --classes 3 --seed 5");
    EXPECT_EQ(r.code, 0) << r.output;
    return root;
}

TEST(HostileCli, ThreadCountOutOfRangeIsAnErrorNamingTheOption) {
    for (const char* n : {"100000", "0", "-3", "4294967297"}) {
        const auto r = run_wsdol(std::string("smoke --steps 1 --threads ") + n);
        expect_cli_error(r, "smoke", {"--threads", "1..1024", n});
    }
    const int before = cpu::num_threads();
    test::expect_error([] { cpu::set_num_threads(100000); }, {"--threads", "1..1024", "100000"});
    EXPECT_EQ(cpu::num_threads(), before);
}

TEST(HostileCli, EvalAndReportThresholdsMustBeInTheUnitInterval) {
    test::ScratchDir dir;
    const std::string data = make_synth(dir);
    const std::string pred = dir.file("pred");
    fs::create_directories(pred);
    const auto before = snapshot(data);
    // Non-finite values are refused by the one number parser (engine/core/parse.h), finite ones out of range by
    // the command; each error names the option and the value.
    for (const char* t : {"nan", "1.5", "-0.1", "inf"}) {
        const std::string form = std::string(t) == "nan" || std::string(t) == "inf" ? "finite" : "[0, 1]";
        expect_cli_error(run_wsdol("eval --task seg --data " + q(data) + " --pred " + q(pred) + " --threshold " + t),
                         "eval", {"--threshold", form, t});
        expect_cli_error(run_wsdol("report --data " + q(data) + " --method a=" + q(pred) + " --out " +
                                   q(dir.file("r.html")) + " --threshold " + t),
                         "report", {"--threshold", form, t});
    }
    expect_cli_error(run_wsdol("eval --task box --data " + q(data) + " --pred " + q(pred) + " --theta 7"), "eval",
                     {"--theta", "[0, 1]"});
    expect_cli_error(run_wsdol("eval --task box --data " + q(data) + " --pred " + q(pred) + " --interval 0"), "eval",
                     {"--interval"});
    EXPECT_EQ(snapshot(data), before);
    EXPECT_FALSE(fs::exists(dir.file("r.html")));
}

TEST(HostileCli, EvalPrintsPerClassIoUWithClassNames) {
    test::ScratchDir dir;
    const std::string data = make_synth(dir);
    const std::string pred = dir.file("pred");
    fs::copy(fs::path(data) / "SegmentationClass", pred);  // perfect label maps
    const auto r = run_wsdol("eval --task seg --data " + q(data) + " --pred " + q(pred));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("mIoU 100.000"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("class  0 background"), std::string::npos) << r.output;
    // At least one of the synth classes (circle, square, triangle) is named on its IoU line.
    EXPECT_TRUE(r.output.find(" circle ") != std::string::npos || r.output.find(" square ") != std::string::npos ||
                r.output.find(" triangle ") != std::string::npos)
        << r.output;
    const auto j = run_wsdol("eval --task seg --json --data " + q(data) + " --pred " + q(pred));
    ASSERT_EQ(j.code, 0) << j.output;
    EXPECT_NE(j.output.find("\"class_names\":[\"background\",\"circle\",\"square\",\"triangle\"]"), std::string::npos)
        << j.output;
}

TEST(HostileCli, ErrorPrefixIsPrintedOnce) {
    expect_cli_error(run_wsdol("eval --task seg"), "eval", {"--data"});
    expect_cli_error(run_wsdol("convert onlyone"), "convert", {"IN and OUT"});
    expect_cli_error(run_wsdol("tokenize --train"), "tokenize", {"--out"});
}

TEST(HostileCli, DatasetHintsNameNoMissingOption) {
    test::ScratchDir dir;
    const std::string data = make_synth(dir);
    test::expect_error([&] { data::open_voc(data, "nosuch"); }, {"nosuch.txt", "split 'nosuch'"});
    try {
        data::open_voc(data, "nosuch");
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).find("--list"), std::string::npos) << e.what();
    }
    // No labels file and no mask: the error names both places it looked, and no option.
    fs::remove(fs::path(data) / "cls_labels.txt");
    fs::remove(fs::path(data) / "SegmentationClass" / "synth_000000.png");
    try {
        data::open_voc(data, "train");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("cls_labels.txt"), std::string::npos) << m;
        EXPECT_NE(m.find("synth_000000.png"), std::string::npos) << m;
        EXPECT_EQ(m.find("--labels"), std::string::npos) << m;
    }
}

TEST(HostileCli, ConvertNeverOverwritesItsInputOrAnExistingFile) {
    test::ScratchDir dir;
    const std::string in = dir.file("ckpt.safetensors");
    io::Checkpoint ck;
    ck.model = {{"w", Tensor::arange(6, DType::f32)}};
    ck.step = 3;
    io::save_checkpoint(in, ck);
    const std::string other = dir.file("other.safetensors");
    test::write_bytes(other, "user bytes");
    fs::create_symlink(in, dir.file("link.safetensors"));
    const auto before = snapshot(dir.path());

    expect_cli_error(run_wsdol("convert " + q(in) + " " + q(in)), "convert", {"is the input", in});
    expect_cli_error(run_wsdol("convert " + q(in) + " " + q(dir.file("link.safetensors"))), "convert",
                     {"is the input"});
    expect_cli_error(run_wsdol("convert " + q(in) + " " + q(dir.file("link.safetensors")) + " --force"), "convert",
                     {"is the input"});
    expect_cli_error(run_wsdol("convert " + q(in) + " " + q(other)), "convert", {other, "exists", "--force"});
    EXPECT_EQ(snapshot(dir.path()), before);

    const auto ok = run_wsdol("convert " + q(in) + " " + q(other) + " --force");
    ASSERT_EQ(ok.code, 0) << ok.output;
    EXPECT_EQ(io::load_safetensors(other).size(), 1u);
    const auto fresh = run_wsdol("convert " + q(in) + " " + q(dir.file("new.pt")));
    EXPECT_EQ(fresh.code, 0) << fresh.output;
}

TEST(HostileCli, ReportOverlayNeverWritesOntoItsInputs) {
    test::ScratchDir dir;
    const std::string data = make_synth(dir);
    const std::string image = (fs::path(data) / "JPEGImages" / "synth_000000.jpg").string();
    const std::string mask = (fs::path(data) / "SegmentationClass" / "synth_000000.png").string();
    const std::string map = dir.file("map.npy");
    data::write_npy(map, Tensor::full({32, 32}, 0.5, DType::f32));
    const auto before = snapshot(dir.path());
    for (const auto& [key, path] : {std::pair<std::string, std::string>{"image", image}, {"map", map}, {"mask", mask}})
        expect_cli_error(run_wsdol("report --overlay --image " + q(image) + " --map " + q(map) + " --mask " + q(mask) +
                                   " --out " + q(path)),
                         "report", {"--out", "--" + key + " input"});
    expect_cli_error(run_wsdol("report --overlay --image " + q(image) + " --map " + q(map) + " --alpha nan --out " +
                               q(dir.file("o.png"))),
                     "report", {"--alpha"});
    EXPECT_EQ(snapshot(dir.path()), before);
    const auto ok = run_wsdol("report --overlay --image " + q(image) + " --map " + q(map) + " --out " + q(dir.file("o.png")));
    EXPECT_EQ(ok.code, 0) << ok.output;
}

TEST(HostileCli, SynthOverAnEarlierLargerSynthLeavesNoStaleImagesAndKeepsUserFiles) {
    test::ScratchDir dir;
    const std::string root = make_synth(dir, "data", 10);
    test::write_bytes((fs::path(root) / "notes.txt").string(), "mine");
    test::write_bytes((fs::path(root) / "JPEGImages" / "holiday.jpg").string(), "my photo");
    const auto before = snapshot(root);
    const auto refused = run_wsdol("synth --quiet --out " + q(root) + " --images 6 --size 32 --classes 3 --seed 5");
    expect_cli_error(refused, "synth", {root, "earlier `wsdol synth` output", "--force"});
    EXPECT_EQ(snapshot(root), before);
    const auto r = run_wsdol("synth --quiet --out " + q(root) + " --images 6 --size 32 --classes 3 --seed 5 --force");
    ASSERT_EQ(r.code, 0) << r.output;
    int jpgs = 0, pngs = 0;
    for (const auto& e : fs::directory_iterator(fs::path(root) / "JPEGImages")) jpgs += e.path().extension() == ".jpg";
    for (const auto& e : fs::directory_iterator(fs::path(root) / "SegmentationClass")) pngs += e.path().extension() == ".png";
    EXPECT_EQ(jpgs, 6 + 1);  // synth_000000..5 and the user's holiday.jpg
    EXPECT_EQ(pngs, 6);
    EXPECT_FALSE(fs::exists(fs::path(root) / "JPEGImages" / "synth_000006.jpg"));
    EXPECT_EQ(test::read_bytes((fs::path(root) / "notes.txt").string()), "mine");
    EXPECT_EQ(test::read_bytes((fs::path(root) / "JPEGImages" / "holiday.jpg").string()), "my photo");
    // The result equals a fresh synth of 6 images (apart from the user's two files).
    const std::string fresh = make_synth(dir, "fresh", 6);
    auto got = snapshot(root);
    got.erase("notes.txt");
    got.erase("JPEGImages/holiday.jpg");
    EXPECT_EQ(got, snapshot(fresh));
}

TEST(HostileCli, SynthRefusesAFolderThatIsNotItsOwnOutput) {
    test::ScratchDir dir;
    const std::string mine = dir.file("mine");
    fs::create_directories(mine);
    test::write_bytes(mine + "/cls_labels.txt", "2007_000032 1\n");
    const auto before = snapshot(mine);
    expect_cli_error(run_wsdol("synth --quiet --out " + q(mine) + " --images 2 --size 32"), "synth",
                     {mine, "is not empty and was not written by wsdol"});
    // A synth.json that is not ours (another tool's, or edited), with or without --force: refused too.
    test::write_bytes(mine + "/synth.json", "{\"images\": 100}");
    const auto with_json = snapshot(mine);
    expect_cli_error(run_wsdol("synth --quiet --out " + q(mine) + " --images 2 --size 32 --force"), "synth",
                     {mine, "is not empty and was not written by wsdol"});
    // Another command's output folder: refused, naming the command.
    test::write_bytes(mine + "/.wsdol-output", "{\"command\": \"train\", \"created\": []}");
    expect_cli_error(run_wsdol("synth --quiet --out " + q(mine) + " --images 2 --size 32 --force"), "synth",
                     {mine, "holds the output of `wsdol train`"});
    fs::remove(mine + "/.wsdol-output");
    EXPECT_EQ(snapshot(mine), with_json);
    fs::remove(mine + "/synth.json");
    EXPECT_EQ(snapshot(mine), before);
    expect_cli_error(run_wsdol("synth --quiet --out " + q(dir.file("x")) + " --images 100000000000"), "synth",
                     {"--images"});
    EXPECT_FALSE(fs::exists(dir.file("x")));
}

TEST(HostileCli, InspectShowsATrainingCheckpointsMethodAndStep) {
    test::ScratchDir dir;
    const std::string path = dir.file("checkpoint.safetensors");
    io::Checkpoint ck;
    ck.model = {{"head.weight", Tensor::arange(4, DType::f32)}};
    ck.step = 1234;
    ck.epoch = 5;
    ck.user = {{"wsdol.method", "toco"}};
    io::save_checkpoint(path, ck);
    const auto before = snapshot(dir.path());
    const auto r = run_wsdol("inspect " + q(path));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("training checkpoint, method toco, step 1234, epoch 5"), std::string::npos) << r.output;
    const auto j = run_wsdol("inspect --json " + q(path));
    ASSERT_EQ(j.code, 0) << j.output;
    EXPECT_NE(j.output.find("\"checkpoint\":{\"method\":\"toco\",\"step\":1234,\"epoch\":5"), std::string::npos)
        << j.output;
    // Plain weights: no checkpoint line.
    const std::string plain = dir.file("plain.safetensors");
    io::save_safetensors(plain, {{"w", Tensor::arange(4, DType::f32)}});
    const auto p = run_wsdol("inspect " + q(plain));
    ASSERT_EQ(p.code, 0) << p.output;
    EXPECT_EQ(p.output.find("checkpoint:"), std::string::npos) << p.output;
    auto after = snapshot(dir.path());
    after.erase("plain.safetensors");
    EXPECT_EQ(after, before);
}

TEST(HostileCli, TokenizeTrainOptionRanges) {
    test::ScratchDir dir;
    const std::string corpus = dir.file("corpus.txt"), out = dir.file("vocab.txt");
    test::write_bytes(corpus, "a photo of a cat\n");
    const auto before = snapshot(dir.path());
    expect_cli_error(run_wsdol("tokenize --train --vocab-size 100 --out " + q(out), corpus), "tokenize",
                     {"--vocab-size", "515", "100"});
    expect_cli_error(run_wsdol("tokenize --train --vocab-size -5 --out " + q(out), corpus), "tokenize",
                     {"--vocab-size"});
    expect_cli_error(run_wsdol("tokenize --train --min-count 0 --out " + q(out), corpus), "tokenize", {"--min-count"});
    EXPECT_EQ(snapshot(dir.path()), before);
}

// Report pages and overlays follow the one output rule (engine/io/output_dir.h OutputFile): never inside the
// dataset or a prediction folder, never over a metrics file, an existing file only with --force.
TEST(HostileCli, ReportNeverWritesIntoItsInputsAndReplacesOnlyWithForce) {
    test::ScratchDir dir;
    const std::string data = make_synth(dir);
    const std::string pred = dir.file("pred");
    fs::copy(fs::path(data) / "SegmentationClass", pred);
    const std::string metrics = dir.file("m.json");
    test::write_bytes(metrics, "{\"mIoU\": 1}");
    const std::string page = dir.file("page.html");
    test::write_bytes(page, "my page");
    fs::create_directories(dir.file("afolder"));
    const auto before = snapshot(dir.path());
    const std::string base = "report --quiet --data " + q(data) + " --method gt=" + q(pred);
    expect_cli_error(run_wsdol(base + " --out " + q(data + "/report.html")), "report",
                     {"--out", "lies inside the --data input"});
    expect_cli_error(run_wsdol(base + " --force --out " + q(pred + "/report.html")), "report",
                     {"--out", "lies inside the --method gt input"});
    expect_cli_error(run_wsdol(base + " --metrics " + q(metrics) + " --force --out " + q(metrics)), "report",
                     {"--out", "is the --metrics input"});
    expect_cli_error(run_wsdol(base + " --out " + q(page)), "report", {page, "exists", "--force"});
    expect_cli_error(run_wsdol(base + " --out " + q(dir.file("afolder"))), "report", {"is a folder"});
    expect_cli_error(run_wsdol(base + " --split train --list " + q(data + "/ImageSets/Segmentation/val.txt") +
                               " --out " + q(dir.file("r.html"))),
                     "report", {"--split", "--list"});
    EXPECT_EQ(snapshot(dir.path()), before);
    const auto ok = run_wsdol(base + " --force --out " + q(page));
    ASSERT_EQ(ok.code, 0) << ok.output;
    EXPECT_NE(test::read_bytes(page).find("<html"), std::string::npos);
}

// eval and report read the train split by default, as infer writes it (eval over infer's output used to fail on
// the val ids); --split names another split.
TEST(HostileCli, EvalAndReportDefaultToTheTrainSplitLikeInfer) {
    test::ScratchDir dir;
    const std::string data = make_synth(dir);
    const std::string pred = dir.file("pred");
    fs::create_directories(pred);
    for (const auto& id : data::open_voc(data, "train").samples)
        fs::copy_file(fs::path(data) / "SegmentationClass" / (id.id + ".png"), fs::path(pred) / (id.id + ".png"));
    const auto train = run_wsdol("eval --task seg --data " + q(data) + " --pred " + q(pred));
    ASSERT_EQ(train.code, 0) << train.output;
    EXPECT_NE(train.output.find("mIoU 100.000"), std::string::npos) << train.output;
    const auto val = run_wsdol("eval --task seg --data " + q(data) + " --pred " + q(pred) + " --split val");
    expect_cli_error(val, "eval", {"missing prediction"});
    expect_cli_error(run_wsdol("eval --task seg --data " + q(data) + " --pred " + q(pred) + " --split nosuch"), "eval",
                     {"nosuch.txt", "split 'nosuch'"});
    const auto report = run_wsdol("report --quiet --data " + q(data) + " --method gt=" + q(pred) + " --out " +
                                  q(dir.file("r.html")));
    EXPECT_EQ(report.code, 0) << report.output;
}

// --batch-size is the one name for the batch size; --batch (train-clip's and smoke's old name) is accepted with a
// notice, and train accepts it too.
TEST(HostileCli, BatchSizeIsOneFlagAndBatchIsADeprecatedAlias) {
    const auto smoke = run_wsdol("smoke --steps 1 --batch 4");
    ASSERT_EQ(smoke.code, 0) << smoke.output;
    EXPECT_NE(smoke.output.find("wsdol smoke: --batch is deprecated, use --batch-size"), std::string::npos)
        << smoke.output;
    EXPECT_NE(smoke.output.find("batch 4,"), std::string::npos) << smoke.output;
    const auto now = run_wsdol("smoke --steps 1 --batch-size 4");
    ASSERT_EQ(now.code, 0) << now.output;
    EXPECT_EQ(now.output.find("deprecated"), std::string::npos) << now.output;
    expect_cli_error(run_wsdol("smoke --steps 1 --batch-size 0"), "smoke", {"--batch-size"});
    test::ScratchDir dir;
    const std::string data = make_synth(dir);
    const auto train = run_wsdol("train --method tinycam --data " + q(data) + " --out " + q(dir.file("run")) +
                                 " --batch 4 --dry-run");
    ASSERT_EQ(train.code, 0) << train.output;
    EXPECT_NE(train.output.find("--batch is deprecated, use --batch-size"), std::string::npos) << train.output;
    EXPECT_NE(train.output.find("batch_size = 4"), std::string::npos) << train.output;
    // A command without a batch size still names --batch as unknown.
    expect_cli_error(run_wsdol("eval --batch 3"), "eval", {"unknown option --batch"});
}

// train-clip writes through the one output rule: never inside its data, an earlier output only with --force,
// checked before the training time is spent; the batch may not exceed the data.
TEST(HostileCli, TrainClipOutputFollowsTheOneRule) {
    test::ScratchDir dir;
    const std::string data = make_synth(dir, "data", 12);
    const std::string tiny = " --quiet --steps 2 --batch-size 4 --width 64 --vision-layers 1 --text-layers 1 "
                             "--image-size 32 --context 16 --workers 0";
    const auto before = snapshot(data);
    expect_cli_error(run_wsdol("train-clip --data " + q(data) + " --out " + q(data + "/clip") + tiny), "train-clip",
                     {"lies inside the input", data});
    expect_cli_error(run_wsdol("train-clip --data " + q(data) + " --out " + q(dir.file("c")) + tiny +
                               " --batch-size 11"),
                     "train-clip", {"--batch-size 11", "larger than the 10 training pairs"});
    EXPECT_EQ(snapshot(data), before);
    EXPECT_FALSE(fs::exists(dir.file("c")));
    const std::string out = dir.file("clip");
    ASSERT_EQ(run_wsdol("train-clip --data " + q(data) + " --out " + q(out) + tiny).code, 0);
    test::write_bytes(out + "/notes.txt", "mine");
    const auto written = snapshot(out);
    const auto again = run_wsdol("train-clip --data " + q(data) + " --out " + q(out) + tiny);
    expect_cli_error(again, "train-clip", {out, "--force"});
    EXPECT_EQ(again.output.find("--resume"), std::string::npos) << again.output;
    EXPECT_EQ(snapshot(out), written);
    const auto forced = run_wsdol("train-clip --data " + q(data) + " --out " + q(out) + tiny + " --force");
    ASSERT_EQ(forced.code, 0) << forced.output;
    EXPECT_EQ(test::read_bytes(out + "/notes.txt"), "mine");
    EXPECT_TRUE(fs::exists(out + "/clip.safetensors"));
}

// A marker that lists paths outside its folder (edited, or planted) is refused before anything is removed; a
// forced rerun removes the empty folders the earlier run made, so nested outputs (the demo's data/) start clean.
TEST(HostileCli, ForceRemovesOnlyWhatTheMarkerListsInsideItsFolder) {
    test::ScratchDir dir;
    const std::string victim = dir.file("victim.txt");
    test::write_bytes(victim, "precious");
    const std::string out = dir.file("out");
    fs::create_directories(out);
    for (const std::string& bad : std::vector<std::string>{"../victim.txt", "a/../../victim.txt", victim}) {
        test::write_bytes(out + "/.wsdol-output", "{\"command\": \"synth\", \"created\": [\"" + bad + "\"]}");
        expect_cli_error(run_wsdol("synth --quiet --force --images 2 --size 32 --out " + q(out)), "synth",
                         {".wsdol-output is damaged", bad});
        EXPECT_EQ(test::read_bytes(victim), "precious");
    }
    fs::remove_all(out);
    const std::string data = make_synth(dir, "data", 4);
    test::write_bytes(data + "/JPEGImages/mine.jpg", "user");
    const auto r = run_wsdol("synth --quiet --force --images 3 --size 32 --classes 3 --out " + q(data));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(test::read_bytes(data + "/JPEGImages/mine.jpg"), "user");
    // Inside a parent output (as the demo runs synth into DIR/data): a forced parent takes the synth folder back
    // whole, the folders synth made (ImageSets/Segmentation, ...) included, so the next synth there starts clean.
    const std::string parent = dir.file("demo");
    {
        io::OutputDir p(parent, "demo", io::Reuse::refuse);
        const auto s = run_wsdol("synth --quiet --images 3 --size 32 --classes 3 --out " + q(p.path("data")));
        ASSERT_EQ(s.code, 0) << s.output;
    }
    { io::OutputDir p(parent, "demo", io::Reuse::force); }
    EXPECT_FALSE(fs::exists(parent + "/data"));
    const auto fresh = run_wsdol("synth --quiet --images 2 --size 32 --classes 3 --out " + q(parent + "/data"));
    EXPECT_EQ(fresh.code, 0) << fresh.output;
    // With a user's file in it, the nested folder stays with the file and its owner's marker (listing nothing
    // created), so the demo's synth takes it again with --force; the user's file survives both.
    const std::string parent2 = dir.file("demo2");
    {
        io::OutputDir p(parent2, "demo", io::Reuse::refuse);
        const auto s = run_wsdol("synth --quiet --images 3 --size 32 --classes 3 --out " + q(p.path("data")));
        ASSERT_EQ(s.code, 0) << s.output;
    }
    test::write_bytes(parent2 + "/data/JPEGImages/mine.txt", "user");
    { io::OutputDir p(parent2, "demo", io::Reuse::force); }
    EXPECT_EQ(test::read_bytes(parent2 + "/data/JPEGImages/mine.txt"), "user");
    EXPECT_FALSE(fs::exists(parent2 + "/data/JPEGImages/synth_000000.jpg"));
    EXPECT_FALSE(fs::exists(parent2 + "/data/ImageSets"));
    expect_cli_error(run_wsdol("synth --quiet --images 2 --size 32 --classes 3 --out " + q(parent2 + "/data")), "synth",
                     {"earlier `wsdol synth` output", "--force"});
    const auto again = run_wsdol("synth --quiet --force --images 2 --size 32 --classes 3 --out " + q(parent2 + "/data"));
    EXPECT_EQ(again.code, 0) << again.output;
    EXPECT_EQ(test::read_bytes(parent2 + "/data/JPEGImages/mine.txt"), "user");
}

TEST(HostileCli, TokenizeTrainReplacesAFileOnlyWithForce) {
    test::ScratchDir dir;
    const std::string corpus = dir.file("corpus.txt"), out = dir.file("vocab.txt");
    test::write_bytes(corpus, "a photo of a cat\na photo of a dog\n");
    test::write_bytes(out, "my vocabulary");
    const auto before = snapshot(dir.path());
    expect_cli_error(run_wsdol("tokenize --train --vocab-size 515 --out " + q(out), corpus), "tokenize",
                     {out, "exists", "--force"});
    expect_cli_error(run_wsdol("tokenize --train --vocab-size 515 --out " + q(corpus) + " --force", corpus),
                     "tokenize", {"--out", "is the standard input"});
    EXPECT_EQ(snapshot(dir.path()), before);
    const auto ok = run_wsdol("tokenize --train --vocab-size 515 --force --out " + q(out), corpus);
    ASSERT_EQ(ok.code, 0) << ok.output;
    EXPECT_NE(test::read_bytes(out), "my vocabulary");
}

// A VOC-layout folder without classes.txt is read as PASCAL VOC: the trainer says so instead of training on the 20
// VOC classes silently; with classes.txt it names no such assumption.
TEST(HostileCli, TrainSaysWhenAFolderWithoutClassesTxtIsReadAsVoc) {
    test::ScratchDir dir;
    const std::string root = make_synth(dir);
    const auto with = run_wsdol("train --method tinycam --data " + q(root) + " --out " + q(dir.file("a")) +
                                " --epochs 1 --batch-size 4");
    EXPECT_EQ(with.code, 0) << with.output;
    EXPECT_EQ(with.output.find("no classes.txt"), std::string::npos) << with.output;
    std::filesystem::remove(root + "/classes.txt");
    const auto without = run_wsdol("train --method tinycam --data " + q(root) + " --out " + q(dir.file("b")) +
                                   " --epochs 1 --batch-size 4");
    EXPECT_EQ(without.code, 0) << without.output;
    EXPECT_NE(without.output.find("20 classes (no classes.txt in " + root + ": the PASCAL VOC classes)"),
              std::string::npos) << without.output;
}

}  // namespace
}  // namespace wsdol
