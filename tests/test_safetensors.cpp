// test_safetensors.cpp — the JSON reader/writer, the safetensors reader and writer (round trips for every dtype,
// the reference writer's exact bytes, every malformed-file error, truncation and corruption never crashing) and
// the atomic file writer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>

#include "engine/io/atomic_file.h"
#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "tests/io_test_util.h"

namespace wsdol::test {
namespace {

using io::NamedTensors;
using io::RawTensor;
using io::SafetensorsFile;
using io::SaveOrder;

// ---------------------------------------------------------------- JSON

TEST(Json, ParsesAndDumpsCompactly) {
    const std::string text = R"( {"a": [1, -2.5e3, true, false, null], "b": {"c": "x\"y\\z\n"}, "d": []} )";
    const json::Value v = json::parse(text);
    EXPECT_EQ(json::dump(v), R"({"a":[1,-2.5e3,true,false,null],"b":{"c":"x\"y\\z\n"},"d":[]})");
    EXPECT_EQ(v.at("a").items()[0].as_int64(), 1);
    EXPECT_EQ(v.at("a").items()[1].as_double(), -2500.0);
    EXPECT_FALSE(v.at("a").items()[1].is_int64());
    EXPECT_EQ(v.at("b").at("c").as_string(), "x\"y\\z\n");
}

TEST(Json, IntegersAndDoublesRoundTripExactly) {
    const uint64_t big = 18446744073709551615ull;
    EXPECT_EQ(json::parse(json::dump(json::Value(big))).as_uint64(), big);
    EXPECT_EQ(json::parse("-9223372036854775808").as_int64(), std::numeric_limits<int64_t>::min());
    EXPECT_FALSE(json::parse("18446744073709551616").is_uint64());  // 2^64 overflows
    std::mt19937_64 rng(7);
    for (int i = 0; i < 2000; ++i) {
        uint64_t bits = rng();
        double d;
        std::memcpy(&d, &bits, 8);
        if (!std::isfinite(d)) continue;
        const double back = json::parse(json::dump(json::Value(d))).as_double();
        EXPECT_EQ(std::memcmp(&back, &d, 8), 0) << json::dump(json::Value(d));
    }
    for (double d : {0.1, 1e-6, 6e-5, 1e300, 5e-324, -0.0}) {
        const double back = json::parse(json::dump(json::Value(d))).as_double();
        EXPECT_EQ(std::memcmp(&back, &d, 8), 0);
    }
    EXPECT_THROW(json::Value(std::nan("")), Error);
}

TEST(Json, UnicodeEscapesAndValidation) {
    EXPECT_EQ(json::parse(R"("\u00e9\ud83d\ude00")").as_string(), "\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_EQ(json::parse("\"\xc3\xa9\"").as_string(), "\xc3\xa9");
    expect_error([] { json::parse(R"("\ud83d")"); }, {"lone leading surrogate"});
    expect_error([] { json::parse(R"("\ude00")"); }, {"lone trailing surrogate"});
    expect_error([] { json::parse("\"\xc3\""); }, {"invalid UTF-8"});
    expect_error([] { json::parse("\"\xc0\xaf\""); }, {"invalid UTF-8"});          // overlong '/'
    expect_error([] { json::parse("\"\xed\xa0\x80\""); }, {"invalid UTF-8"});      // encoded surrogate
    expect_error([] { json::parse("\"\xf4\x90\x80\x80\""); }, {"invalid UTF-8"});  // > U+10FFFF
    expect_error([] { json::parse("\"a\nb\""); }, {"control character"});
    // Control characters are escaped on output and read back.
    const std::string ctl("\x01\x1f", 2);
    EXPECT_EQ(json::parse(json::dump(json::Value(ctl))).as_string(), ctl);
}

TEST(Json, RejectsMalformedInput) {
    for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", "-", "1e", "tru", "nul",
                            "{} x", "[1 2]", "{1:2}", "\"abc", "\"\\x\"", "+1", ".5", "NaN", "Infinity"}) {
        EXPECT_THROW(json::parse(bad), Error) << bad;
    }
    expect_error([] { json::parse(R"({"a":1,"b":2,"a":3})"); }, {"duplicate key \"a\""});
    std::string deep(10000, '[');
    expect_error([&] { json::parse(deep); }, {"nesting deeper than"});
}

// ---------------------------------------------------------------- round trips

// A tensor of `dtype` filled with arbitrary bit patterns (all 0/1 for bool).
Tensor random_bits(const Shape& shape, DType dtype, uint64_t seed) {
    Tensor t = Tensor::empty(shape, dtype);
    std::mt19937_64 rng(seed);
    auto* p = static_cast<uint8_t*>(t.data_ptr());
    const size_t n = t.numel() * dtype_size(dtype);
    for (size_t i = 0; i < n; ++i) p[i] = dtype == DType::boolean ? rng() & 1 : static_cast<uint8_t>(rng());
    return t;
}

TEST(Safetensors, RoundTripEveryDtypeBitExact) {
    ScratchDir dir;
    NamedTensors tensors;
    const DType dtypes[] = {DType::f64, DType::f32, DType::f16, DType::bf16, DType::i64,
                            DType::i32, DType::u8, DType::boolean};
    uint64_t seed = 1;
    for (DType d : dtypes) {
        tensors.emplace_back(std::string("t_") + dtype_name(d), random_bits({3, 5, 7}, d, seed++));
        tensors.emplace_back(std::string("s_") + dtype_name(d), random_bits({}, d, seed++));       // 0-dim
        tensors.emplace_back(std::string("z_") + dtype_name(d), random_bits({4, 0, 2}, d, seed++));  // zero-size
    }
    const io::StringMap meta = {{"format", "pt"}, {"note", "h\xc3\xa9llo \"quoted\"\n"}};
    const std::string path = dir.file("all.safetensors");
    io::save_safetensors(path, tensors, meta);

    SafetensorsFile f(path);
    EXPECT_EQ(f.metadata(), meta);
    EXPECT_EQ(f.entries().size(), tensors.size());
    EXPECT_EQ(f.header_length() % 8, 0u);
    for (const auto& [name, t] : tensors) {
        ASSERT_TRUE(f.contains(name)) << name;
        const Tensor got = f.tensor(name);
        EXPECT_TRUE(bit_equal(got, t)) << name;
        EXPECT_EQ(got.dim(), t.dim()) << name;
        const Tensor copied = f.tensor(name, /*copy=*/true);
        EXPECT_TRUE(bit_equal(copied, t)) << name;
        if (t.numel() > 0) {
            // The reference layout aligns every tensor, so the default read wraps the mapped bytes.
            EXPECT_EQ(got.data_ptr(), static_cast<const void*>(f.raw_data(name))) << name;
            EXPECT_NE(copied.data_ptr(), static_cast<const void*>(f.raw_data(name))) << name;
            EXPECT_EQ(reinterpret_cast<uintptr_t>(f.raw_data(name)) % dtype_size(t.dtype()), 0u) << name;
        }
    }
    // load_safetensors returns all of them.
    io::StringMap meta2;
    const NamedTensors all = io::load_safetensors(path, &meta2);
    EXPECT_EQ(all.size(), tensors.size());
    EXPECT_EQ(meta2, meta);
}

TEST(Safetensors, ZeroCopyTensorOutlivesTheFileObjectAndWritesStayPrivate) {
    ScratchDir dir;
    const std::string path = dir.file("a.safetensors");
    const Tensor x = Tensor::arange(0, 12, 1, DType::f32).reshape({3, 4});
    io::save_safetensors(path, {{"x", x}});
    const std::string before = read_bytes(path);
    Tensor t;
    {
        SafetensorsFile f(path);
        t = f.tensor("x");
    }
    EXPECT_TRUE(bit_equal(t, x));  // the storage keeps the mapping alive
    t.fill_(7.0);                  // copy-on-write: the file is untouched
    EXPECT_EQ(t.to_vector()[5], 7.0);
    EXPECT_EQ(read_bytes(path), before);
}

TEST(Safetensors, NonContiguousInputIsWrittenInLogicalOrder) {
    const Tensor x = Tensor::arange(0, 6, 1, DType::f32).reshape({2, 3}).t();  // (3, 2), strided
    const SafetensorsFile f = SafetensorsFile::from_bytes(io::safetensors_bytes({{"x", x}}));
    EXPECT_EQ(f.tensor("x").to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
    EXPECT_EQ(f.tensor("x").shape(), (Shape{3, 2}));
}

TEST(Safetensors, MatchesTheReferenceWriterBytes) {
    // Byte vectors from the reference implementation's own tests (safetensors/src/tensor.rs).
    const std::vector<double> vals = {0, 1, 2, 3, 4, 5};
    const std::string one = io::safetensors_bytes({{"attn.0", Tensor::from_vector(vals, {1, 2, 3})}});
    const std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
    ASSERT_EQ(header.size(), 64u);
    std::string data;
    for (double v : vals) {
        float f = static_cast<float>(v);
        data.append(reinterpret_cast<const char*>(&f), 4);
    }
    EXPECT_EQ(one, st_file(header, data));

    // Padding with spaces to a multiple of 8 (this 65-byte header gets 7 spaces, as in the reference test).
    const std::string two = io::safetensors_bytes({{"attn0", Tensor::from_vector(vals, {1, 1, 2, 3})}});
    const std::string header2 = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
    EXPECT_EQ(two, st_file(header2 + std::string(72 - header2.size(), ' '), data));

    EXPECT_EQ(io::safetensors_bytes({}), st_file("{}      ", ""));
    const std::string with_meta = io::safetensors_bytes({}, {{"framework", "pt"}});
    EXPECT_EQ(with_meta, st_file(R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' '), ""));
    EXPECT_EQ(with_meta.size(), 48u);
}

// A file written by the reference implementation (tests/reference/safetensors/make_numpy_all_dtypes.py):
// every dtype reads back, and re-serializing its entries (given in scrambled order) reproduces it byte for byte.
TEST(Safetensors, ReadsAndReproducesAReferenceFile) {
    const std::string path = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/safetensors/numpy_all_dtypes.safetensors";
    const SafetensorsFile f(path);
    EXPECT_EQ(f.metadata(), (io::StringMap{{"format", "np"}, {"x", "y \xc3\xa9 \"q\""}}));
    EXPECT_EQ(f.entries().size(), 16u);
    EXPECT_EQ(f.tensor("i64").to_vector(), (std::vector<double>{-5, 1099511627776.0, 7, 8}));
    EXPECT_EQ(f.tensor("i32").to_vector(), (std::vector<double>{1, -2, 3}));
    EXPECT_EQ(f.tensor("i16").to_vector(), (std::vector<double>{-300, 2, 30000}));
    EXPECT_EQ(f.tensor("i8").to_vector(), (std::vector<double>{-128, 5, 127}));
    EXPECT_EQ(f.tensor("u8").to_vector(), (std::vector<double>{0, 200, 255}));
    EXPECT_EQ(f.tensor("u16").to_vector(), (std::vector<double>{65535, 3}));
    EXPECT_EQ(f.tensor("u32").to_vector(), (std::vector<double>{4000000000.0, 1}));
    EXPECT_EQ(f.tensor("bool").to_vector(), (std::vector<double>{1, 0, 1}));
    EXPECT_EQ(f.tensor("bool").dtype(), DType::boolean);
    EXPECT_EQ(f.tensor("scalar").dim(), 0);
    EXPECT_EQ(f.tensor("scalar").item(), 3.5);
    EXPECT_EQ(f.tensor("zero").shape(), (Shape{0, 3}));
    EXPECT_EQ(f.tensor("f32").shape(), (Shape{4, 5}));
    EXPECT_EQ(f.tensor("f16").dtype(), DType::f16);
    EXPECT_EQ(f.tensor("a.weight").to_vector(), std::vector<double>(4, 1.0));
    std::vector<RawTensor> raw;
    for (const auto& e : f.entries()) raw.push_back({e.name, e.dtype, e.shape, f.raw_data(e.name), e.nbytes()});
    std::mt19937 rng(3);
    std::shuffle(raw.begin(), raw.end(), rng);
    EXPECT_EQ(io::safetensors_raw_bytes(raw, f.metadata()), read_bytes(path));
}

TEST(Safetensors, ReferenceOrderIsByDtypeRankThenName) {
    NamedTensors tensors = {{"b_bool", Tensor::ones({3}, DType::boolean)}, {"a_u8", Tensor::ones({3}, DType::u8)},
                            {"f16", Tensor::ones({3}, DType::f16)},        {"bf16", Tensor::ones({3}, DType::bf16)},
                            {"i32", Tensor::ones({3}, DType::i32)},        {"z_f32", Tensor::ones({3}, DType::f32)},
                            {"a_f32", Tensor::ones({3}, DType::f32)},      {"f64", Tensor::ones({3}, DType::f64)},
                            {"i64", Tensor::ones({3}, DType::i64)}};
    const SafetensorsFile f = SafetensorsFile::from_bytes(io::safetensors_bytes(tensors));
    // Rust Dtype order: BOOL < U8 < ... < F16 < BF16 < I32 < F32 < F64 < I64; written in descending order.
    EXPECT_EQ(f.names(), (std::vector<std::string>{"i64", "f64", "a_f32", "z_f32", "i32", "bf16", "f16", "a_u8",
                                                    "b_bool"}));
    for (const auto& e : f.entries()) {
        const uint64_t absolute = 8 + f.header_length() + e.begin;
        EXPECT_EQ(absolute % (io::safetensors_dtype_bits(e.dtype) / 8), 0u) << e.name;
    }
}

TEST(Safetensors, GivenOrderMayBeMisalignedAndIsCopied) {
    const Tensor u = Tensor::from_vector({1, 2, 3}, {3}, DType::u8);
    const Tensor x = Tensor::from_vector({1.5, -2.25, 1e30}, {3}, DType::f64);
    const SafetensorsFile f =
        SafetensorsFile::from_bytes(io::safetensors_bytes({{"u", u}, {"x", x}}, {}, SaveOrder::given));
    EXPECT_EQ(f.names(), (std::vector<std::string>{"u", "x"}));
    EXPECT_EQ(f.entry("x").begin, 3u);
    const Tensor got = f.tensor("x");
    EXPECT_TRUE(bit_equal(got, x));
    EXPECT_NE(got.data_ptr(), static_cast<const void*>(f.raw_data("x")));  // misaligned: copied
}

TEST(Safetensors, RawDtypesRoundTripAndWiden) {
    const int8_t i8[] = {-128, -1, 0, 127};
    const int16_t i16[] = {-32768, -2, 3, 32767};
    const uint16_t u16[] = {0, 1, 40000, 65535};
    const uint32_t u32[] = {0, 7, 3000000000u, 4294967295u};
    const uint64_t u64[] = {1, 2};
    const uint8_t f8[] = {0x38, 0x40, 0xff};
    const std::vector<RawTensor> raw = {{"i8", "I8", {4}, i8, 4},       {"i16", "I16", {2, 2}, i16, 8},
                                        {"u16", "U16", {4}, u16, 8},    {"u32", "U32", {4}, u32, 16},
                                        {"u64", "U64", {2}, u64, 16},   {"f8", "F8_E4M3", {3}, f8, 3}};
    const SafetensorsFile f = SafetensorsFile::from_bytes(io::safetensors_raw_bytes(raw));
    EXPECT_EQ(f.tensor("i8").to_vector(), (std::vector<double>{-128, -1, 0, 127}));
    EXPECT_EQ(f.tensor("i8").dtype(), DType::i32);
    EXPECT_EQ(f.tensor("i16").to_vector(), (std::vector<double>{-32768, -2, 3, 32767}));
    EXPECT_EQ(f.tensor("u16").to_vector(), (std::vector<double>{0, 1, 40000, 65535}));
    EXPECT_EQ(f.tensor("u32").dtype(), DType::i64);
    EXPECT_EQ(f.tensor("u32").to_vector(), (std::vector<double>{0, 7, 3000000000.0, 4294967295.0}));
    for (const RawTensor& r : raw) {
        EXPECT_EQ(f.entry(r.name).dtype, r.dtype);
        EXPECT_EQ(std::memcmp(f.raw_data(r.name), r.data, r.nbytes), 0) << r.name;
    }
    expect_error([&] { f.tensor("u64"); }, {"<memory>", "'u64'", "U64", "cannot represent"});
    expect_error([&] { f.tensor("f8"); }, {"'f8'", "F8_E4M3"});
}

TEST(Safetensors, WriterRejectsBadInput) {
    const Tensor x = Tensor::zeros({2});
    expect_error([&] { io::safetensors_bytes({{"a", x}, {"a", x}}); }, {"duplicate tensor name 'a'"});
    expect_error([&] { io::safetensors_bytes({{"__metadata__", x}}); }, {"'__metadata__' cannot name a tensor"});
    const float data[3] = {};
    expect_error([&] { io::safetensors_raw_bytes({{"r", "F32", {2}, data, 12}}); }, {"'r'", "needs 8 bytes, got 12"});
    expect_error([&] { io::safetensors_raw_bytes({{"r", "F33", {2}, data, 8}}); }, {"'r'", "unknown dtype 'F33'"});
}

// ---------------------------------------------------------------- malformed files

// Writes `bytes` to a file and expects opening it to fail with a message naming the file and `parts`.
void expect_open_error(const ScratchDir& dir, const std::string& bytes, std::initializer_list<std::string> parts) {
    static int counter = 0;
    const std::string path = dir.file("bad" + std::to_string(counter++) + ".safetensors");
    write_bytes(path, bytes);
    try {
        SafetensorsFile f(path);
        ADD_FAILURE() << "opening a malformed file succeeded; expected '" << *parts.begin() << "'";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
        for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nmissing: " << p;
    }
}

std::string f32_entry(const std::string& name, const std::string& shape, uint64_t begin, uint64_t end) {
    return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(begin) +
           "," + std::to_string(end) + "]}";
}

TEST(SafetensorsMalformed, FileTooShortOrHeaderLengthWrong) {
    ScratchDir dir;
    expect_open_error(dir, "", {"0 bytes, shorter than the 8-byte header"});
    expect_open_error(dir, std::string("\x02\x00\x00", 3), {"3 bytes, shorter than the 8-byte header"});
    expect_open_error(dir, std::string(7, '\0'), {"7 bytes"});
    expect_open_error(dir, st_file("{}", "", 100), {"header length 100 runs past the end of the file"});
    expect_open_error(dir, st_file("{}", "", 100000001), {"header length 100000001 exceeds the limit"});
}

TEST(SafetensorsMalformed, HeaderNotJsonObject) {
    ScratchDir dir;
    expect_open_error(dir, st_file("", ""), {"does not start with '{'"});
    expect_open_error(dir, st_file(" {}", ""), {"does not start with '{'"});
    expect_open_error(dir, st_file("[1,2]", ""), {"does not start with '{'"});
    expect_open_error(dir, st_file("{\"a\":", ""), {"invalid header JSON"});
    expect_open_error(dir, st_file("{\"a\":1} trailing", ""), {"invalid header JSON", "unexpected text"});
    expect_open_error(dir, st_file("{\"\xff\":1}", ""), {"invalid header JSON", "invalid UTF-8"});
    expect_open_error(dir, st_file("{\"a\":[1,2]}", ""), {"tensor 'a'", "entry must be an object"});
}

TEST(SafetensorsMalformed, BadEntries) {
    ScratchDir dir;
    const std::string d8(8, '\0');
    expect_open_error(dir, st_file(R"({"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", d8),
                      {"tensor 'w'", "unknown dtype 'F33'"});
    expect_open_error(dir, st_file(R"({"w":{"dtype":3,"shape":[2],"data_offsets":[0,8]}})", d8),
                      {"tensor 'w'", "dtype must be a string"});
    expect_open_error(dir, st_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", d8), {"tensor 'w'", "lacks 'dtype'"});
    expect_open_error(dir, st_file(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", d8), {"tensor 'w'", "lacks 'shape'"});
    expect_open_error(dir, st_file(R"({"w":{"dtype":"F32","shape":[2]}})", d8), {"tensor 'w'", "lacks 'data_offsets'"});
    expect_open_error(dir, st_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8),
                      {"tensor 'w'", "non-negative integers", "-2"});
    expect_open_error(dir, st_file(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", d8),
                      {"tensor 'w'", "non-negative integers"});
    expect_open_error(dir, st_file(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", d8),
                      {"tensor 'w'", "shape must be a list"});
    expect_open_error(dir, st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", d8),
                      {"tensor 'w'", "data_offsets must be [begin, end]"});
    expect_open_error(dir, st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", d8),
                      {"tensor 'w'", "data_offsets must be [begin, end]"});
    expect_open_error(dir, st_file(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", d8),
                      {"tensor 'w'", "overflows"});
    // An empty tensor whose other sizes multiply past int64 (its strides would overflow): refused too.
    expect_open_error(dir, st_file(R"({"w":{"dtype":"F32","shape":[408485642,0,612085034174],"data_offsets":[0,0]}})", ""),
                      {"tensor 'w'", "overflows"});
    expect_error([] { Tensor::empty({408485642, 0, 612085034174}); }, {"[408485642, 0, 612085034174]", "too large"});
    expect_open_error(dir, st_file(R"({"w":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}})", std::string(1, '\0')),
                      {"tensor 'w'", "not a whole number of bytes"});
    expect_open_error(dir, st_file(R"({"__metadata__":{"k":1}})", ""), {"__metadata__", "key 'k' holds a number"});
    expect_open_error(dir, st_file(R"({"__metadata__":[]})", ""), {"__metadata__ must be an object"});
}

TEST(SafetensorsMalformed, SizeMismatchAndDuplicates) {
    ScratchDir dir;
    expect_open_error(dir, st_file("{" + f32_entry("w", "[2,3]", 0, 20) + "}", std::string(20, '\0')),
                      {"tensor 'w'", "shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] span 20"});
    expect_open_error(dir, st_file("{" + f32_entry("w", "[2]", 8, 0) + "}", std::string(8, '\0')),
                      {"tensor 'w'", "end before they begin"});
    expect_open_error(dir,
                      st_file("{" + f32_entry("w", "[2]", 0, 8) + "," + f32_entry("w", "[2]", 8, 16) + "}",
                              std::string(16, '\0')),
                      {"duplicate key \"w\""});
}

TEST(SafetensorsMalformed, OffsetsMustTileTheBuffer) {
    ScratchDir dir;
    // Overlap: b starts inside a.
    expect_open_error(dir,
                      st_file("{" + f32_entry("a", "[2]", 0, 8) + "," + f32_entry("b", "[2]", 4, 12) + "}",
                              std::string(12, '\0')),
                      {"tensor 'b'", "overlap tensor 'a'"});
    // Gap between a and b.
    expect_open_error(dir,
                      st_file("{" + f32_entry("a", "[2]", 0, 8) + "," + f32_entry("b", "[2]", 12, 20) + "}",
                              std::string(20, '\0')),
                      {"tensor 'b'", "leave a gap after tensor 'a'"});
    // First tensor not at 0.
    expect_open_error(dir, st_file("{" + f32_entry("a", "[2]", 4, 12) + "}", std::string(12, '\0')),
                      {"tensor 'a'", "the first tensor must begin at 0"});
    // Trailing bytes after the last tensor.
    expect_open_error(dir, st_file("{" + f32_entry("a", "[2]", 0, 8) + "}", std::string(12, '\0')),
                      {"data buffer has 12 bytes but the tensors cover only 8"});
    // Data truncated: names the first tensor whose bytes are missing.
    expect_open_error(dir,
                      st_file("{" + f32_entry("a", "[2]", 0, 8) + "," + f32_entry("b", "[4]", 8, 24) + "}",
                              std::string(10, '\0')),
                      {"tensor 'b'", "truncated file", "[8, 24)", "only 10 bytes of data"});
    // A header lying about offsets far beyond the file.
    expect_open_error(dir,
                      st_file("{" + f32_entry("a", "[0]", 0, 0) + "," +
                                  f32_entry("b", "[2]", 18446744073709551600ull, 18446744073709551608ull) + "}",
                              std::string(8, '\0')),
                      {"tensor 'b'", "leave a gap after tensor 'a'"});
    // Out-of-order entries in the JSON are fine (sorted by offset).
    const std::string ok = st_file("{" + f32_entry("b", "[1]", 8, 12) + "," + f32_entry("a", "[2]", 0, 8) + "}",
                                   std::string(12, '\0'));
    EXPECT_EQ(SafetensorsFile::from_bytes(ok).names(), (std::vector<std::string>{"a", "b"}));
}

TEST(SafetensorsMalformed, MaterializationErrorsNameTheTensor) {
    const std::string nine = R"({"big":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})";
    const SafetensorsFile f = SafetensorsFile::from_bytes(st_file(nine, std::string(1, '\0')), "nine.st");
    expect_error([&] { f.tensor("big"); }, {"nine.st", "tensor 'big'", "has 9 dims"});
    expect_error([&] { f.tensor("nope"); }, {"nine.st", "no tensor named 'nope'"});
    const std::string flags = R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})";
    const SafetensorsFile g = SafetensorsFile::from_bytes(st_file(flags, std::string("\x01\x00\x07", 3)), "m.st");
    expect_error([&] { g.tensor("m"); }, {"m.st", "tensor 'm'", "byte 7 at element 2"});
}

TEST(SafetensorsMalformed, NotAFile) {
    ScratchDir dir;
    expect_error([&] { SafetensorsFile f(dir.file("missing.safetensors")); }, {"missing.safetensors", "cannot open"});
    expect_error([&] { SafetensorsFile f(dir.path().string()); }, {"not a regular file"});
}

// Every strict prefix of a valid file is rejected with an error naming the file (never a crash).
TEST(SafetensorsMalformed, TruncationAtEveryCutPoint) {
    ScratchDir dir;
    NamedTensors tensors = {{"a", random_bits({5, 3}, DType::f32, 1)},
                            {"b", random_bits({7}, DType::f64, 2)},
                            {"c", random_bits({0, 4}, DType::f32, 3)},
                            {"d", random_bits({9}, DType::u8, 4)}};
    const std::string full = io::safetensors_bytes(tensors, {{"k", "v"}});
    EXPECT_NO_THROW(SafetensorsFile::from_bytes(full));
    for (size_t cut = 0; cut < full.size(); ++cut) {
        try {
            SafetensorsFile::from_bytes(full.substr(0, cut), "cut" + std::to_string(cut));
            ADD_FAILURE() << "truncation at " << cut << " of " << full.size() << " was accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("cut" + std::to_string(cut)), std::string::npos) << e.what();
        }
    }
    // The same through real files (mmap path) at a spread of cut points.
    for (size_t cut = 0; cut < full.size(); cut += 7) {
        const std::string path = dir.file("cut.safetensors");
        write_bytes(path, full.substr(0, cut));
        EXPECT_THROW(SafetensorsFile f(path), Error) << "cut " << cut;
    }
}

// Random corruption of a valid file: opening and materializing either work or throw wsdol::Error.
// WSDOL_FUZZ_ITERS=N runs N corruptions instead of 3000 (e.g. under a sanitizer build).
TEST(SafetensorsMalformed, RandomCorruptionNeverCrashes) {
    const char* env = std::getenv("WSDOL_FUZZ_ITERS");
    const int iters = env ? std::atoi(env) : 3000;
    NamedTensors tensors = {{"a", random_bits({4, 3}, DType::f32, 5)},
                            {"m", random_bits({6}, DType::boolean, 6)},
                            {"b", random_bits({2}, DType::i64, 7)}};
    const std::string full = io::safetensors_bytes(tensors, {{"k", "v"}});
    std::mt19937_64 rng(11);
    int opened = 0;
    for (int iter = 0; iter < iters; ++iter) {
        std::string bytes = full;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips; ++k) {
            // Mostly in the length field and header, where structure lives.
            const size_t limit = (rng() % 4 == 0) ? bytes.size() : std::min<size_t>(bytes.size(), 8 + 150);
            bytes[rng() % limit] = static_cast<char>(rng() % 4 == 0 ? "{}[]\",:0123456789"[rng() % 17] : rng());
        }
        if (rng() % 8 == 0) bytes.resize(rng() % bytes.size());
        try {
            const SafetensorsFile f = SafetensorsFile::from_bytes(bytes);
            ++opened;
            for (const auto& e : f.entries()) {
                try {
                    (void)f.tensor(e.name).numel();
                } catch (const Error&) {
                }
            }
        } catch (const Error&) {
        }
    }
    EXPECT_GT(opened, 0);  // some corruptions (in tensor data) leave a valid file
}

// ---------------------------------------------------------------- atomic replacement

TEST(AtomicFile, ReplacesWholeFilesAndKeepsOldMappingsValid) {
    ScratchDir dir;
    const std::string path = dir.file("m.safetensors");
    io::save_safetensors(path, {{"x", Tensor::full({1000}, 1.0)}});
    SafetensorsFile old_file(path);
    const Tensor old_x = old_file.tensor("x");
    io::save_safetensors(path, {{"x", Tensor::full({1000}, 2.0)}, {"y", Tensor::zeros({3})}});
    EXPECT_EQ(old_x.to_vector()[999], 1.0);  // the old inode lives on behind the old mapping
    EXPECT_EQ(SafetensorsFile(path).tensor("x").to_vector()[0], 2.0);
    // No temporary files are left behind.
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        ++entries;
        EXPECT_EQ(e.path().filename().string(), "m.safetensors");
    }
    EXPECT_EQ(entries, 1);
}

TEST(AtomicFile, UncommittedWriterLeavesTargetUntouched) {
    ScratchDir dir;
    const std::string path = dir.file("t.bin");
    io::write_file_atomic(path, "old");
    {
        io::AtomicFileWriter w(path);
        w.write("new contents");
        EXPECT_TRUE(std::filesystem::exists(w.temp_path()));
    }  // destroyed without commit
    EXPECT_EQ(read_bytes(path), "old");
    write_bytes(path + ".tmp.999999.0", "stale");
    EXPECT_EQ(io::remove_stale_temporaries(path), 1);
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp.999999.0"));
    expect_error([&] { io::write_file_atomic(dir.file("no/such/dir/f.bin"), "x"); }, {"cannot create temporary file"});
}

}  // namespace
}  // namespace wsdol::test
