// test_image_io_npy.cpp — the .npy reader and writer against files written by numpy 2.x
// (tests/reference/eval/gen_png_npy_fixtures.py): values, byte-identical re-writing, and every rejection.
#include <gtest/gtest.h>

#include "engine/data/image_io.h"
#include "engine/data/npy.h"
#include "tests/io_test_util.h"
#include "tests/test_eval_util.h"

namespace wsdol::data {
namespace {

using test::expect_error;

std::string npy_fixture(const std::string& name) { return test::eval_fixture("npy/" + name); }

TEST(Npy, ReadsNumpyFilesAndRewritesThemByteForByte) {
    for (const char* name : {"f32_3x4.npy", "f64_2x3x2.npy", "u8_5.npy", "i64_2x2.npy", "bool_2x3.npy",
                             "f64_scalar.npy", "f32_empty_2x0x3.npy", "i32_4.npy", "f16_3.npy"}) {
        SCOPED_TRACE(name);
        const std::string bytes = read_file_bytes(npy_fixture(name));
        const Tensor t = read_npy(npy_fixture(name));
        EXPECT_EQ(npy_bytes(t), bytes);  // same header layout and data as numpy.save
    }
}

TEST(Npy, Values) {
    Tensor t = read_npy(npy_fixture("f32_3x4.npy"));
    EXPECT_EQ(t.dtype(), DType::f32);
    EXPECT_EQ(t.shape(), (Shape{3, 4}));
    EXPECT_EQ(t.data<float>()[0], 0.6989043354988098f);
    EXPECT_EQ(t.data<float>()[11], -2.424171209335327f);
    t = read_npy(npy_fixture("f64_2x3x2.npy"));
    EXPECT_EQ(t.shape(), (Shape{2, 3, 2}));
    EXPECT_EQ(t.data<double>()[3], 2.117445987746547);
    t = read_npy(npy_fixture("u8_5.npy"));
    EXPECT_EQ(t.to_vector(), (std::vector<double>{0, 1, 127, 128, 255}));
    t = read_npy(npy_fixture("i64_2x2.npy"));
    EXPECT_EQ(t.dtype(), DType::i64);
    EXPECT_EQ(t.data<int64_t>()[0], -(int64_t(1) << 62));
    EXPECT_EQ(t.data<int64_t>()[3], (int64_t(1) << 62) + 7);
    t = read_npy(npy_fixture("bool_2x3.npy"));
    EXPECT_EQ(t.dtype(), DType::boolean);
    EXPECT_EQ(t.to_vector(), (std::vector<double>{1, 0, 1, 0, 0, 1}));
    t = read_npy(npy_fixture("f64_scalar.npy"));
    EXPECT_EQ(t.dim(), 0);
    EXPECT_EQ(t.item(), 2.5);
    t = read_npy(npy_fixture("f32_empty_2x0x3.npy"));
    EXPECT_EQ(t.shape(), (Shape{2, 0, 3}));
    t = read_npy(npy_fixture("i32_4.npy"));
    EXPECT_EQ(t.to_vector(), (std::vector<double>{1, -2, 3, -4}));
    t = read_npy(npy_fixture("f16_3.npy"));
    EXPECT_EQ(t.dtype(), DType::f16);
    EXPECT_EQ(t.to_vector(), (std::vector<double>{0.5, -1.0, 65504.0}));
    t = read_npy(npy_fixture("f32_v2_2x2.npy"));  // format version 2.0 (4-byte header length)
    EXPECT_EQ(t.to_vector(), (std::vector<double>{1, 2, 3, 4}));
}

TEST(Npy, WriteReadRoundTrip) {
    test::ScratchDir dir;
    const Tensor a = Tensor::arange(0.0, 6.0, 1.0, DType::f64).reshape({2, 3});
    write_npy(dir.file("a.npy"), a.t());  // non-contiguous input is written in C order
    const Tensor b = read_npy(dir.file("a.npy"));
    EXPECT_EQ(b.shape(), (Shape{3, 2}));
    EXPECT_EQ(b.to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
    // Version 1.0 header padded to a multiple of 64 bytes, then the 4 data bytes. (A header needing version 2.0,
    // over 65535 bytes, cannot arise from at most 8 dims; the reader's 2.0 path is tested with numpy's file.)
    const std::string small = npy_bytes(Tensor::zeros({1, 1, 1, 1, 1, 1, 1, 1}));
    EXPECT_EQ(small[6], '\x01');
    EXPECT_EQ((small.size() - 4) % 64, 0u);
}

TEST(Npy, Rejections) {
    expect_error([] { read_npy(npy_fixture("f32_fortran_3x2.npy")); }, {"f32_fortran_3x2.npy", "Fortran"});
    expect_error([] { read_npy(npy_fixture("f32_bigendian_3.npy")); }, {"f32_bigendian_3.npy", "big-endian", ">f4"});
    expect_error([] { read_npy(npy_fixture("object.npy")); }, {"object.npy", "pickle"});
    expect_error([] { read_npy(npy_fixture("u16_2.npy")); }, {"u16_2.npy", "unsupported .npy dtype '<u2'"});
    expect_error([] { read_npy("/nonexistent/x.npy"); }, {"/nonexistent/x.npy", "cannot open"});

    const std::string good = read_file_bytes(npy_fixture("f32_3x4.npy"));
    expect_error([&] { parse_npy(good.substr(0, good.size() - 4), "t.npy"); }, {"t.npy", "truncated .npy data"});
    expect_error([&] { parse_npy(good + "xx", "t.npy"); }, {"t.npy", "2 trailing bytes"});
    expect_error([&] { parse_npy("NUMPY not", "t.npy"); }, {"t.npy", "bad magic"});
    std::string v9 = good;
    v9[6] = 9;
    expect_error([&] { parse_npy(v9, "t.npy"); }, {"t.npy", "version 9.0"});
    std::string bad_header = good;
    bad_header.replace(bad_header.find("'shape'"), 7, "'shapf'");
    expect_error([&] { parse_npy(bad_header, "t.npy"); }, {"t.npy", "no 'shape'"});
    std::string bad_bool = read_file_bytes(npy_fixture("bool_2x3.npy"));
    bad_bool.back() = 2;
    expect_error([&] { parse_npy(bad_bool, "b.npy"); }, {"b.npy", "must be 0 or 1"});
    expect_error([] { npy_bytes(Tensor::zeros({2}, DType::bf16)); }, {"bfloat16"});
}

// Found by fuzz/fuzz_npy.cpp: an empty array whose other sizes multiply past int64 (strides overflowed, UB).
TEST(Npy, EmptyArrayWithHugeSizesIsRefused) {
    const std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (408485642, 0, 612085034174), }";
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + '\0' + header;
    expect_error([&] { parse_npy(bytes, "huge.npy"); }, {"huge.npy", "shape too large", "[408485642, 0, 612085034174]"});
    // A modest empty array still reads.
    const std::string ok_header = "{'descr': '<i4', 'fortran_order': False, 'shape': (4, 0, 6), }";
    const Tensor t = parse_npy(std::string("\x93NUMPY\x01\x00", 8) + char(ok_header.size()) + '\0' + ok_header, "ok.npy");
    EXPECT_EQ(t.shape(), (Shape{4, 0, 6}));
}

}  // namespace
}  // namespace wsdol::data
