// test_weights_formats.cpp — reading every checkpoint format of weights/weights_file.h against fixtures written by
// PyTorch (tests/reference/formats/gen_format_fixtures.py; each compared bit for bit with its companion
// safetensors file), state_dict selection, zero-copy sharing, and the PyTorch zip writer (byte-identical to a
// file torch.load verified, round trips, ZIP64, atomicity).
#include <gtest/gtest.h>

#include <random>

#include "tests/weights_test_util.h"
#include "weights/pickle.h"
#include "weights/torch_state_dict.h"
#include "weights/zip_archive.h"

namespace wsdol::test {
namespace {

using weights::Format;
using weights::read_weights;
using weights::WeightsFile;

const Tensor& find(const WeightsFile& w, const std::string& name) {
    for (const auto& [n, t] : w.tensors)
        if (n == name) return t;
    static Tensor none;
    ADD_FAILURE() << "no tensor '" << name << "'";
    return none;
}

// ---------------------------------------------------------------- torch.save state dicts

TEST(WeightsFormats, StateDictEveryDtypeViewsAndParameters) {
    for (const char* file : {"sd_basic.pt", "sd_basic_legacy.pt", "sd_basic_proto4.pt"}) {
        SCOPED_TRACE(file);
        const WeightsFile w = read_weights(format_fixture(file));
        EXPECT_EQ(w.format, std::string(file) == "sd_basic_legacy.pt" ? Format::torch_legacy_pickle : Format::torch_zip);
        EXPECT_EQ(w.state_dict_key, "");
        EXPECT_FALSE(w.stripped_module_prefix);
        EXPECT_TRUE(w.skipped.empty());
        expect_matches_expected(w.tensors, "sd_basic.expected.safetensors");
        // File order is kept (the OrderedDict's insertion order).
        ASSERT_EQ(w.tensors.size(), 21u);
        EXPECT_EQ(w.tensors[0].first, "f32");
        EXPECT_EQ(w.tensors[7].first, "i8");
        EXPECT_EQ(w.tensors[20].first, "bn.num_batches_tracked");
        // int8 / int16 widen to int32; scalars and zero-size tensors keep their shapes.
        EXPECT_EQ(find(w, "i16").dtype(), DType::i32);
        EXPECT_EQ(find(w, "scalar").dim(), 0);
        EXPECT_EQ(find(w, "zero").shape(), (Shape{0, 3}));
        // Views of one storage: contiguous ones share it without a copy (offsets honoured), the transposed and
        // column views are copied out contiguously. (Zip records are 64-byte aligned; a legacy stream's storages
        // sit wherever the previous one ended, so there they are copied when misaligned.)
        const Tensor& base = find(w, "view.base");
        const Tensor& rows = find(w, "view.rows");
        const Tensor& row = find(w, "view.row");
        if (w.format == Format::torch_zip) {
            EXPECT_EQ(base.storage(), rows.storage());
            EXPECT_EQ(base.storage(), row.storage());
            EXPECT_EQ(rows.offset() - base.offset(), 6);
        }
        EXPECT_EQ(rows.to_vector()[0], 6.0);
        EXPECT_EQ(row.to_vector()[5], 11.0);
        EXPECT_TRUE(find(w, "view.t").is_contiguous());
        EXPECT_NE(find(w, "view.t").storage(), base.storage());
        EXPECT_EQ(find(w, "view.col").to_vector(), (std::vector<double>{2, 8, 14, 20}));
        EXPECT_EQ(find(w, "expand").to_vector(), (std::vector<double>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}));
    }
}

TEST(WeightsFormats, ZeroCopyTensorsOutliveTheFileAndWritesStayPrivate) {
    const std::string path = format_fixture("sd_basic.pt");
    const std::string before = read_bytes(path);
    Tensor base;
    {
        WeightsFile w = read_weights(path);
        base = find(w, "view.base");
    }
    EXPECT_EQ(base.to_vector()[5], 5.0);  // the mapping is still alive
    base.fill_(-1.0);                     // copy-on-write: the file is untouched
    EXPECT_EQ(read_bytes(path), before);
}

TEST(WeightsFormats, RebuildTensorV3Dtypes) {
    const WeightsFile w = read_weights(format_fixture("sd_v3.pt"));
    expect_matches_expected(w.tensors, "sd_v3.expected.safetensors");
    EXPECT_EQ(find(w, "u16").dtype(), DType::i32);
    EXPECT_EQ(find(w, "u16").to_vector(), (std::vector<double>{0, 65535, 3}));
    EXPECT_EQ(find(w, "u32").dtype(), DType::i64);
    EXPECT_EQ(find(w, "u32").to_vector()[0], 4000000000.0);
}

TEST(WeightsFormats, UnsupportedDtypesNameTheTensor) {
    expect_error([] { read_weights(format_fixture("sd_complex.pt")); },
                 {"sd_complex.pt", "tensor 'c'", "complex64", "not supported"});
    expect_error([] { read_weights(format_fixture("sd_float8.pt")); },
                 {"sd_float8.pt", "tensor 'f8'", "float8_e4m3fn", "not supported"});
}

TEST(WeightsFormats, TrainingCheckpointModelArgsAndModulePrefix) {
    for (const char* file : {"ckpt_model_args.pt", "ckpt_model_args_legacy.pt"}) {
        SCOPED_TRACE(file);
        const WeightsFile w = read_weights(format_fixture(file));
        EXPECT_EQ(w.state_dict_key, "model");
        EXPECT_TRUE(w.stripped_module_prefix);
        expect_matches_expected(w.tensors, "ckpt_small.expected.safetensors");
        EXPECT_TRUE(has_entry(w.skipped, "args: argparse.Namespace (unsupported global, not loaded)"));
        EXPECT_TRUE(has_entry(w.skipped, "epoch: int 7"));
        EXPECT_EQ(w.tensors[0].first, "conv.weight");
        EXPECT_EQ(find(w, "fc.weight").dtype(), DType::f16);
    }
    const WeightsFile w = read_weights(format_fixture("ckpt_state_dict.pt"));
    EXPECT_EQ(w.state_dict_key, "state_dict");
    EXPECT_FALSE(w.stripped_module_prefix);
    expect_matches_expected(w.tensors, "ckpt_small.expected.safetensors");
    EXPECT_TRUE(has_entry(w.skipped, "epoch: int 1"));
    EXPECT_TRUE(has_entry(w.skipped, "best_acc: float 0.5"));
}

TEST(WeightsFormats, ManyViewsOfOneStorage) {
    // 1010 entries: two SETITEMS batches, memo indices past 255 (LONG_BINPUT / LONG_BINGET), one shared storage.
    const WeightsFile w = read_weights(format_fixture("sd_many_views.pt"));
    expect_matches_expected(w.tensors, "sd_many_views.expected.safetensors");
    ASSERT_EQ(w.tensors.size(), 1010u);
    EXPECT_EQ(w.tensors[1009].first, "layer.1009.w");
    EXPECT_EQ(w.tensors[1009].second.item(), 1009.0);
    EXPECT_EQ(w.tensors[0].second.storage(), w.tensors[1009].second.storage());
}

TEST(WeightsFormats, BigEndianRecordsAreSwapped) {
    const WeightsFile w = read_weights(format_fixture("big_endian.pt"));
    expect_matches_expected(w.tensors, "ckpt_small.expected.safetensors");
}

TEST(WeightsFormats, DeflatedRecords) {
    const WeightsFile w = read_weights(format_fixture("deflated.pt"));
    EXPECT_EQ(w.state_dict_key, "state_dict");
    expect_matches_expected(w.tensors, "ckpt_small.expected.safetensors");
}

TEST(WeightsFormats, UnknownGlobalAsASiblingIsSkipped) {
    const WeightsFile w = read_weights(format_fixture("unknown_global_sibling.pt"));
    ASSERT_EQ(w.tensors.size(), 1u);
    EXPECT_EQ(w.tensors[0].first, "w");
    EXPECT_EQ(w.tensors[0].second.to_vector(), (std::vector<double>{1, 2}));
    EXPECT_TRUE(has_entry(w.skipped, "evil: argparse.Namespace (unsupported global, not loaded)"));
}

TEST(WeightsFormats, WholePickledModuleIsRefusedNamingItsClass) {
    expect_error([] { read_weights(format_fixture("whole_module.pt")); },
                 {"whole_module.pt", "'torch.nn.modules.linear.Linear'", "not a state_dict", "state_dict()"});
}

TEST(WeightsFormats, LegacyTarIsRefusedWithAConversionRecipe) {
    expect_error([] { read_weights(format_fixture("legacy_tar.pth")); },
                 {"legacy_tar.pth", "legacy tar", "torch.save(torch.load("});
}

// A legacy stream (magic, 1001, sys_info, object, keys, storages) built by hand: old PyTorch wrote storage views as
// 6-tuple persistent ids ('storage', type, root_key, location, root_numel, (view_key, offset, size)).
std::string legacy_stream(bool little_endian, int64_t stored_count) {
    using weights::pickle::Pickler;
    std::string out("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e", 15);
    Pickler proto;
    proto.integer(1001);
    proto.stop();
    out += proto.bytes();
    Pickler sys;
    sys.bytes() += '}';
    sys.mark();
    sys.string("little_endian");
    sys.boolean(little_endian);
    sys.setitems();
    sys.stop();
    out += sys.bytes();
    Pickler obj;
    obj.bytes() += '}';
    obj.mark();
    auto tensor = [&](const std::string& name, bool view, int64_t offset, int64_t size, int64_t stride) {
        obj.string(name);
        obj.global("torch._utils", "_rebuild_tensor_v2");
        obj.mark();
        obj.mark();
        obj.string("storage");
        obj.global("torch", "FloatStorage");
        obj.string("root");
        obj.string("cpu");
        obj.integer(6);
        if (view) {
            obj.mark();
            obj.string("view1");
            obj.integer(2);
            obj.integer(3);
            obj.tuple_from_mark();
        } else {
            obj.none();
        }
        obj.tuple_from_mark();
        obj.binpersid();
        obj.integer(offset);
        obj.int_tuple({size});
        obj.int_tuple({stride});
        obj.boolean(false);
        obj.global("collections", "OrderedDict");
        obj.empty_tuple();
        obj.reduce();
        obj.tuple_from_mark();
        obj.reduce();
    };
    tensor("view", true, 1, 2, 1);     // elements 1..2 of the view [2, 5) of root: root[3], root[4]
    tensor("whole", false, 1, 3, 2);   // root[1], root[3], root[5]
    obj.setitems();
    obj.stop();
    out += obj.bytes();
    Pickler keys;
    keys.bytes() += ']';
    keys.mark();
    keys.string("root");
    keys.bytes() += 'e';
    keys.stop();
    out += keys.bytes();
    out.append(reinterpret_cast<const char*>(&stored_count), 8);
    for (int i = 0; i < 6; ++i) {
        const float v = static_cast<float>(i * 10);
        out.append(reinterpret_cast<const char*>(&v), 4);
    }
    return out;
}

TEST(WeightsFormats, LegacyStreamStorageViews) {
    const WeightsFile w = weights::read_weights_from_bytes(legacy_stream(true, 6), "views.pt");
    EXPECT_EQ(w.format, Format::torch_legacy_pickle);
    ASSERT_EQ(w.tensors.size(), 2u);
    EXPECT_EQ(find(w, "view").to_vector(), (std::vector<double>{30, 40}));
    EXPECT_EQ(find(w, "whole").to_vector(), (std::vector<double>{10, 30, 50}));
    expect_error([] { weights::read_weights_from_bytes(legacy_stream(false, 6), "be.pt"); },
                 {"be.pt", "big-endian legacy"});
    expect_error([] { weights::read_weights_from_bytes(legacy_stream(true, 5), "count.pt"); },
                 {"count.pt", "storage 'root'", "holds 5 elements but the pickle says 6"});
}

// ---------------------------------------------------------------- TorchScript

TEST(WeightsFormats, TorchScriptScriptedModule) {
    const WeightsFile w = read_weights(format_fixture("torchscript_scripted.pt"));
    EXPECT_EQ(w.format, Format::torchscript);
    for (const char* extra : {"input_resolution: scalar buffer", "context_length: scalar buffer",
                              "vocab_size: scalar buffer"})
        EXPECT_TRUE(has_entry(w.skipped, extra)) << extra;
    expect_matches_expected(w.tensors, "torchscript_scripted.expected.safetensors");
    EXPECT_TRUE(has_entry(w.skipped, "attn_mask: tensor float32 [3, 3] (attribute, not a parameter or buffer)"));
    // nn.Module.state_dict order: own parameters, own buffers, then submodules.
    EXPECT_EQ(w.tensors[0].first, "class_embedding");
    EXPECT_EQ(w.tensors[1].first, "scale");
    EXPECT_EQ(w.tensors[2].first, "conv1.weight");
    EXPECT_EQ(w.tensors.back().first, "blocks.2.weight");  // bias=False: no blocks.2.bias
}

TEST(WeightsFormats, TorchScriptTracedClipLikeTower) {
    const WeightsFile w = read_weights(format_fixture("torchscript_traced_clip_text.pt"));
    EXPECT_EQ(w.format, Format::torchscript);
    // Mixed precision as in the OpenAI release: every tensor keeps its storage's dtype.
    expect_matches_expected(w.tensors, "torchscript_traced_clip_text.expected.safetensors");
    EXPECT_EQ(find(w, "transformer.resblocks.1.mlp.c_fc.weight").dtype(), DType::f16);
    EXPECT_EQ(find(w, "transformer.resblocks.1.ln_2.weight").dtype(), DType::f32);
    EXPECT_TRUE(has_entry(w.skipped, "context_length: scalar buffer"));
}

TEST(WeightsFormats, ScriptClassParser) {
    const std::string code =
        "class Block(Module):\n"
        "  __parameters__ = [\"weight\", \"bias\", ]\n"
        "  __buffers__ = [\"running_mean\",\n    \"running_var\", ]\n"
        "  weight : Tensor\n"
        "  def forward(self: __torch__.Block) -> Tensor:\n"
        "    return self.weight\n"
        "class Helper(object):\n"
        "  __parameters__ = []\n";
    const auto classes = weights::parse_script_classes(code);
    ASSERT_EQ(classes.size(), 2u);
    const weights::ScriptClassInfo& block = classes.at("Block");
    EXPECT_TRUE(block.is_module);
    EXPECT_EQ(block.parameters, (std::vector<std::string>{"weight", "bias"}));
    EXPECT_EQ(block.buffers, (std::vector<std::string>{"running_mean", "running_var"}));
    EXPECT_FALSE(classes.at("Helper").is_module);
    EXPECT_TRUE(classes.at("Helper").parameters.empty());
    EXPECT_TRUE(weights::parse_script_classes("class Broken(\n  __parameters__ = [\"x\"\n").empty());
}

// ---------------------------------------------------------------- safetensors through read_weights

TEST(WeightsFormats, SafetensorsAndModulePrefix) {
    ScratchDir dir;
    const std::string path = dir.file("m.safetensors");
    io::save_safetensors(path, {{"module.a", Tensor::ones({2})}, {"module.b.c", Tensor::zeros({1}, DType::i64)}});
    WeightsFile w = read_weights(path);
    EXPECT_EQ(w.format, Format::safetensors);
    EXPECT_TRUE(w.stripped_module_prefix);
    EXPECT_EQ(find(w, "a").numel(), 2);
    EXPECT_EQ(find(w, "b.c").dtype(), DType::i64);
    // Not every name has the prefix: nothing is stripped.
    io::save_safetensors(path, {{"module.a", Tensor::ones({2})}, {"b", Tensor::ones({1})}});
    w = read_weights(path);
    EXPECT_FALSE(w.stripped_module_prefix);
}

// ---------------------------------------------------------------- writer

NamedTensors writer_input() {
    return io::SafetensorsFile(format_fixture("writer_input.safetensors")).load_all(true);
}

TEST(WeightsWriter, BytesMatchTheFilesTorchLoadVerified) {
    // writer_expected*.pt were written by this writer and checked with torch.load(weights_only=True) by
    // tests/reference/formats/check_torch_load.py; the writer must keep producing exactly those bytes.
    weights::TorchZipOptions options;
    options.archive_name = "writer_expected";
    EXPECT_EQ(weights::torch_zip_bytes(writer_input(), options), read_bytes(format_fixture("writer_expected.pt")));
    options.archive_name = "writer_expected_zip64";
    options.force_zip64 = true;
    EXPECT_EQ(weights::torch_zip_bytes(writer_input(), options),
              read_bytes(format_fixture("writer_expected_zip64.pt")));
}

TEST(WeightsWriter, RoundTripEveryDtypeNonContiguousAndManyEntries) {
    ScratchDir dir;
    NamedTensors in;
    Generator gen(3);
    in.emplace_back("f32", Tensor::randn({3, 5}, DType::f32, &gen));
    in.emplace_back("f64.t", Tensor::randn({4, 2}, DType::f64, &gen).t());  // non-contiguous input
    in.emplace_back("f16", Tensor::randn({7}, DType::f32, &gen).to(DType::f16));
    in.emplace_back("bf16", Tensor::randn({2, 2}, DType::f32, &gen).to(DType::bf16));
    in.emplace_back("i64", Tensor::from_vector({-1, 1e15, 3}, {3}, DType::i64));
    in.emplace_back("i32", Tensor::from_vector({-7, 7}, {2}, DType::i32));
    in.emplace_back("u8", Tensor::from_vector({0, 255}, {2}, DType::u8));
    in.emplace_back("bool", Tensor::from_vector({1, 0, 1}, {3}, DType::boolean));
    in.emplace_back("scalar", Tensor::scalar(2.5));
    in.emplace_back("empty", Tensor::zeros({0, 2}));
    for (int i = 0; i < 1200; ++i) in.emplace_back("many." + std::to_string(i), Tensor::full({1}, i));
    for (bool zip64 : {false, true}) {
        const std::string path = dir.file(zip64 ? "z64.pt" : "plain.pt");
        weights::TorchZipOptions options;
        options.force_zip64 = zip64;
        weights::write_torch_zip(path, in, options);
        const WeightsFile w = read_weights(path);
        EXPECT_EQ(w.format, Format::torch_zip);
        ASSERT_EQ(w.tensors.size(), in.size());
        for (size_t i = 0; i < in.size(); ++i) {
            EXPECT_EQ(w.tensors[i].first, in[i].first);
            EXPECT_TRUE(bit_equal(w.tensors[i].second, in[i].second)) << in[i].first;
        }
        // torch.save layout: top folder = the file's stem, data.pkl first, storages 64-byte aligned.
        weights::ZipArchive zip(weights::map_file(path));
        EXPECT_EQ(zip.entries().front().name, zip64 ? "z64/data.pkl" : "plain/data.pkl");
        for (const weights::ZipEntry& e : zip.entries()) {
            if (e.name.find("/data/") == std::string::npos) continue;
            EXPECT_EQ(e.data_offset % 64, 0u) << e.name;
        }
    }
}

TEST(WeightsWriter, BadInputLeavesTheTargetUntouched) {
    ScratchDir dir;
    const std::string path = dir.file("keep.pt");
    weights::write_torch_zip(path, {{"a", Tensor::ones({2})}});
    const std::string before = read_bytes(path);
    expect_error([&] { weights::write_torch_zip(path, {{"a", Tensor::ones({1})}, {"a", Tensor::ones({1})}}); },
                 {"write_torch_zip", "duplicate tensor name 'a'"});
    expect_error([&] { weights::write_torch_zip(path, {{"u", Tensor()}}); }, {"tensor 'u' is undefined"});
    EXPECT_EQ(read_bytes(path), before);
    int leftovers = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) leftovers += entry.path() != path;
    EXPECT_EQ(leftovers, 0);
}

TEST(WeightsWriter, EmptyStateDict) {
    ScratchDir dir;
    const std::string path = dir.file("empty.pt");
    weights::write_torch_zip(path, {});
    const WeightsFile w = read_weights(path);
    EXPECT_TRUE(w.tensors.empty());
    EXPECT_TRUE(w.skipped.empty());
}

}  // namespace
}  // namespace wsdol::test
