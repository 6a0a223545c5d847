// test_weights_robustness.cpp — damaged and foreign files: every truncation of small PyTorch zip, TorchScript and
// legacy files is an error (never a crash or a silent success), thousands of seeded random byte corruptions
// never crash (errors are wsdol::Error naming the file), and files of other kinds are "unrecognised format".
#include <gtest/gtest.h>

#include <random>

#include "tests/weights_test_util.h"
#include "weights/pickle.h"
#include "weights/zip_archive.h"

namespace wsdol::test {
namespace {

using weights::read_weights;
using weights::read_weights_from_bytes;

// Reads `bytes`; returns "" on success, else the error message. Any other exception fails the test.
std::string try_read(const std::string& bytes, const std::string& label) {
    try {
        const weights::WeightsFile w = read_weights_from_bytes(bytes, label);
        for (const auto& [name, t] : w.tensors) (void)t.to_vector();  // touch every element
        return "";
    } catch (const Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << label << ": not a wsdol::Error: " << e.what();
        return e.what();
    }
}

void expect_every_truncation_fails(const std::string& file, size_t step = 1) {
    const std::string bytes = read_bytes(format_fixture(file));
    ASSERT_GT(bytes.size(), 100u);
    ASSERT_EQ(try_read(bytes, file), "") << "the intact file must load";
    size_t failures = 0, cuts = 0;
    for (size_t n = 0; n < bytes.size(); n += step) {
        ++cuts;
        const std::string msg = try_read(bytes.substr(0, n), file);
        EXPECT_FALSE(msg.empty()) << file << " cut to " << n << " of " << bytes.size() << " bytes loaded";
        if (!msg.empty()) {
            ++failures;
            EXPECT_NE(msg.find(file), std::string::npos) << msg;
        }
    }
    EXPECT_EQ(failures, cuts);
}

TEST(WeightsRobustness, EveryTruncationOfAZipCheckpointFails) { expect_every_truncation_fails("ckpt_state_dict.pt"); }
TEST(WeightsRobustness, EveryTruncationOfALegacyFileFails) { expect_every_truncation_fails("sd_basic_legacy.pt"); }
TEST(WeightsRobustness, TruncationsOfATorchScriptArchiveFail) {
    expect_every_truncation_fails("torchscript_scripted.pt", 7);
}

TEST(WeightsRobustness, RandomCorruptionNeverCrashes) {
    // 4000 corrupted copies (1 to 4 random bytes replaced at random places, seeded) of four fixtures. A corruption
    // may go unnoticed (a legacy file's tensor bytes have no checksum; zip padding bytes are unused), but nothing
    // may crash, and every failure is a wsdol::Error naming the file.
    const std::vector<std::string> files = {"sd_basic.pt", "sd_basic_legacy.pt", "torchscript_scripted.pt",
                                            "ckpt_model_args.pt"};
    std::mt19937_64 rng(20261121);
    int errors = 0, loaded = 0;
    for (const std::string& file : files) {
        const std::string good = read_bytes(format_fixture(file));
        for (int i = 0; i < 1000; ++i) {
            std::string bad = good;
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] = static_cast<char>(rng() & 0xFF);
            const std::string msg = try_read(bad, file);
            if (msg.empty()) {
                ++loaded;
            } else {
                ++errors;
                EXPECT_NE(msg.find(file), std::string::npos) << msg;
            }
        }
    }
    EXPECT_GT(errors, 1000);  // most corruptions are caught (CRC-32 of zip records, structure checks)
    RecordProperty("corrupt_loaded", loaded);
}

TEST(WeightsRobustness, CorruptZipRecordDataIsCaughtByTheChecksum) {
    std::string bytes = read_bytes(format_fixture("ckpt_state_dict.pt"));
    const weights::WeightsFile good = read_weights_from_bytes(bytes, "ckpt.pt");
    // The first storage's bytes: find conv.weight's first float in the file and flip one bit of it.
    const float first = good.tensors[0].second.data<float>()[0];
    const size_t at = bytes.find(std::string(reinterpret_cast<const char*>(&first), 4));
    ASSERT_NE(at, std::string::npos);
    bytes[at] ^= 0x10;
    expect_error([&] { read_weights_from_bytes(bytes, "ckpt.pt"); }, {"ckpt.pt", "data/0", "CRC-32 mismatch"});
}

TEST(WeightsRobustness, ForeignFilesAreUnrecognised) {
    ScratchDir dir;
    expect_error([] { read_weights(format_fixture("not_weights.jpg")); },
                 {"not_weights.jpg", "unrecognised format", "JPEG"});
    const std::string empty = dir.file("empty.pt");
    write_bytes(empty, "");
    expect_error([&] { read_weights(empty); }, {"empty.pt", "empty file", "unrecognised format"});
    const std::string text = dir.file("notes.txt");
    write_bytes(text, "these are not weights\nat all\n");
    expect_error([&] { read_weights(text); }, {"notes.txt", "unrecognised format"});
    expect_error([] { read_weights_from_bytes(std::string("\x80\x02]q\x00.", 6), "raw.pkl"); },
                 {"raw.pkl", "unrecognised format", "pickle stream without torch.save's magic number"});
    expect_error([] { read_weights_from_bytes(std::string("\x1f\x8b\x08\x00", 4), "x.gz"); }, {"gzip"});
    expect_error([&] { read_weights(dir.file("missing.pt")); }, {"missing.pt", "cannot open"});
    expect_error([&] { read_weights(dir.path().string()); }, {"not a regular file"});
    // A zip that is not a PyTorch checkpoint.
    std::string zip;
    weights::ZipWriter w([&](const void* p, size_t n) { zip.append(static_cast<const char*>(p), n); });
    w.add("readme.txt", "hello");
    w.finish();
    expect_error([&] { read_weights_from_bytes(zip, "other.zip"); }, {"other.zip", "not inside a top folder"});
    std::string zip2;
    weights::ZipWriter w2([&](const void* p, size_t n) { zip2.append(static_cast<const char*>(p), n); });
    w2.add("top/readme.txt", "hello");
    w2.finish();
    expect_error([&] { read_weights_from_bytes(zip2, "other.zip"); }, {"other.zip", "without 'top/data.pkl'"});
}

TEST(WeightsRobustness, StorageTooSmallAndViewsOutOfRange) {
    // Hand-made zips whose pickle claims more than the storage record holds, or a view past its end.
    auto make = [](int64_t numel, int64_t offset, int64_t size, int64_t stride, const std::string& data) {
        weights::pickle::Pickler p;
        p.global("torch._utils", "_rebuild_tensor_v2");
        p.mark();
        p.mark();
        p.string("storage");
        p.global("torch", "FloatStorage");
        p.string("0");
        p.string("cpu");
        p.integer(numel);
        p.tuple_from_mark();
        p.binpersid();
        p.integer(offset);
        p.int_tuple({size});
        p.int_tuple({stride});
        p.tuple_from_mark();
        p.reduce();
        std::string dict = "\x80\x02}(";
        dict += std::string("X\x01\x00\x00\x00t", 6);  // BINUNICODE "t"
        dict += p.bytes().substr(2);
        dict += "u.";
        std::string zip;
        weights::ZipWriter w([&](const void* q, size_t n) { zip.append(static_cast<const char*>(q), n); });
        w.add("a/data.pkl", dict);
        w.add("a/data/0", data);
        w.finish();
        return zip;
    };
    const std::string eight(8, '\0');
    EXPECT_EQ(try_read(make(2, 0, 2, 1, eight), "ok.pt"), "");
    expect_error([&] { read_weights_from_bytes(make(3, 0, 2, 1, eight), "big.pt"); },
                 {"big.pt", "tensor 't'", "holds 8 bytes", "3 x 4-byte"});
    expect_error([&] { read_weights_from_bytes(make(2, 1, 2, 1, eight), "off.pt"); },
                 {"off.pt", "tensor 't'", "reaches past the end"});
    expect_error([&] { read_weights_from_bytes(make(2, 0, 2, -1, eight), "neg.pt"); }, {"negative size or stride"});
    // stride 0 over one element: a legal expanded view, unless it would copy out more than 256 MiB.
    EXPECT_EQ(try_read(make(2, 0, 1000, 0, eight), "expand.pt"), "");
    expect_error([&] { read_weights_from_bytes(make(2, 0, int64_t(1) << 40, 0, eight), "huge.pt"); },
                 {"huge.pt", "more than 256 MiB"});
}

}  // namespace
}  // namespace wsdol::test
