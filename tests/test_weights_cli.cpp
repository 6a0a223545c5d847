// test_weights_cli.cpp — `wsdol inspect` and `wsdol convert`, run as the real binary (WSDOL_BINARY): output,
// --json, exit codes and one-line errors, and conversions read back bit-exactly.
#include <gtest/gtest.h>

#include "engine/io/json.h"
#include "tests/cli_test_util.h"
#include "tests/weights_test_util.h"

namespace wsdol::test {
namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

TEST(WeightsCli, InspectText) {
    const CliResult r = run_wsdol("inspect " + quoted(format_fixture("ckpt_model_args.pt")));
    ASSERT_EQ(r.code, 0) << r.output;
    for (const char* piece : {"format:        PyTorch zip (torch.save)", "state_dict:    ['model'] (\"module.\" prefix stripped)",
                              "tensors:       6 (1 float16, 4 float32, 1 int64)", "elements:      129",
                              "conv.weight             float32   [4, 3, 3, 3]", "skipped (2):",
                              "args: argparse.Namespace (unsupported global, not loaded)"})
        EXPECT_NE(r.output.find(piece), std::string::npos) << piece << "\n" << r.output;
}

TEST(WeightsCli, InspectTruncatesLongListsUnlessAll) {
    const std::string file = quoted(format_fixture("sd_many_views.pt"));
    const CliResult shortened = run_wsdol("inspect " + file);
    ASSERT_EQ(shortened.code, 0);
    EXPECT_NE(shortened.output.find("... 970 more (--all lists every tensor)"), std::string::npos) << shortened.output;
    EXPECT_EQ(shortened.output.find("layer.500.w"), std::string::npos);
    EXPECT_NE(shortened.output.find("layer.1009.w"), std::string::npos);
    const CliResult all = run_wsdol("inspect --all " + file);
    EXPECT_NE(all.output.find("layer.500.w"), std::string::npos);
}

TEST(WeightsCli, InspectJson) {
    const CliResult r = run_wsdol("inspect --json " + quoted(format_fixture("torchscript_traced_clip_text.pt")));
    ASSERT_EQ(r.code, 0) << r.output;
    const json::Value v = json::parse(r.output);
    EXPECT_EQ(v.at("format").as_string(), "TorchScript archive");
    EXPECT_EQ(v.at("num_tensors").as_int64(), 30);
    EXPECT_EQ(v.at("num_elements").as_int64(), 1921);
    EXPECT_EQ(v.at("tensors").items().size(), 30u);
    EXPECT_EQ(v.at("tensors").items()[0].at("name").as_string(), "positional_embedding");
    EXPECT_EQ(v.at("tensors").items()[1].at("dtype").as_string(), "float16");
    EXPECT_EQ(v.at("tensors").items()[0].at("shape").items()[1].as_int64(), 8);
    EXPECT_EQ(v.at("skipped").items().size(), 2u);
    EXPECT_TRUE(v.at("architecture").at("name").is_string());
    EXPECT_TRUE(v.at("architecture").at("description").is_string());
}

TEST(WeightsCli, InspectNamesTheArchitecture) {
    // A reduced OpenAI CLIP TorchScript release from the models fixtures: detect_architecture's verdict is shown.
    const CliResult r = run_wsdol("inspect " + quoted(std::string(WSDOL_SOURCE_DIR) +
                                                      "/tests/reference/models/clip_vit_fp16.pt"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("architecture:  OpenAI CLIP ViT"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("parameters:    61,569"), std::string::npos) << r.output;
}

TEST(WeightsCli, ErrorsAreOneLineWithExitCodeOne) {
    const CliResult evil = run_wsdol("inspect " + quoted(format_fixture("evil_os_system_legacy.pt")));
    EXPECT_EQ(evil.code, 1);
    EXPECT_EQ(evil.output.rfind("wsdol inspect: pickle: ", 0), 0u) << evil.output;
    EXPECT_NE(evil.output.find("global 'os.system' is not allowed"), std::string::npos);
    EXPECT_EQ(evil.output.find('\n'), evil.output.size() - 1);  // one line
    const CliResult jpeg = run_wsdol("inspect " + quoted(format_fixture("not_weights.jpg")));
    EXPECT_EQ(jpeg.code, 1);
    EXPECT_NE(jpeg.output.find("unrecognised format"), std::string::npos);
    EXPECT_EQ(run_wsdol("inspect").code, 1);
    EXPECT_EQ(run_wsdol("inspect --bogus x").code, 1);
}

TEST(WeightsCli, ConvertToSafetensorsAndTorchRoundTrips) {
    ScratchDir dir;
    const std::string in = quoted(format_fixture("sd_basic_legacy.pt"));
    const std::string st = dir.file("out.safetensors"), pt = dir.file("out.pth");
    CliResult r = run_wsdol("convert " + in + " " + quoted(st));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("wrote"), std::string::npos);
    expect_matches_expected(weights::read_weights(st).tensors, "sd_basic.expected.safetensors");
    r = run_wsdol("convert " + quoted(st) + " " + quoted(pt));
    ASSERT_EQ(r.code, 0) << r.output;
    const weights::WeightsFile w = weights::read_weights(pt);
    EXPECT_EQ(w.format, weights::Format::torch_zip);
    expect_matches_expected(w.tensors, "sd_basic.expected.safetensors");
    // .bin is a PyTorch checkpoint too (HF pytorch_model.bin); --format overrides the extension.
    r = run_wsdol("convert " + in + " " + quoted(dir.file("model.bin")));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(weights::read_weights(dir.file("model.bin")).format, weights::Format::torch_zip);
    r = run_wsdol("convert " + in + " " + quoted(dir.file("weights.data")) + " --format safetensors");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(weights::read_weights(dir.file("weights.data")).format, weights::Format::safetensors);
}

TEST(WeightsCli, ConvertDtype) {
    ScratchDir dir;
    const std::string out = dir.file("half.safetensors");
    const CliResult r = run_wsdol("convert " + quoted(format_fixture("sd_basic.pt")) + " " + quoted(out) + " --dtype f16");
    ASSERT_EQ(r.code, 0) << r.output;
    const weights::WeightsFile w = weights::read_weights(out);
    const weights::WeightsFile ref = weights::read_weights(format_fixture("sd_basic.pt"));
    for (size_t i = 0; i < ref.tensors.size(); ++i) {
        const Tensor* got = nullptr;
        for (const auto& [n, t] : w.tensors)
            if (n == ref.tensors[i].first) got = &t;
        ASSERT_NE(got, nullptr) << ref.tensors[i].first;
        const Tensor& want = ref.tensors[i].second;
        if (is_floating(want.dtype())) {
            EXPECT_EQ(got->dtype(), DType::f16) << ref.tensors[i].first;
            EXPECT_TRUE(bit_equal(*got, want.to(DType::f16))) << ref.tensors[i].first;
        } else {
            EXPECT_TRUE(bit_equal(*got, want)) << ref.tensors[i].first;  // integers and bools untouched
        }
    }
}

TEST(WeightsCli, ConvertErrors) {
    ScratchDir dir;
    const std::string in = quoted(format_fixture("sd_basic.pt"));
    CliResult r = run_wsdol("convert " + in + " " + quoted(dir.file("x.unknown")));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("cannot tell the output format"), std::string::npos) << r.output;
    r = run_wsdol("convert " + in + " " + quoted(dir.file("x.pt")) + " --dtype f8");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("--dtype must be f32, f16 or keep"), std::string::npos) << r.output;
    r = run_wsdol("convert " + quoted(format_fixture("evil_builtins_eval.pt")) + " " + quoted(dir.file("x.pt")));
    EXPECT_EQ(r.code, 1);
    EXPECT_FALSE(std::filesystem::exists(dir.file("x.pt")));
}

}  // namespace
}  // namespace wsdol::test
