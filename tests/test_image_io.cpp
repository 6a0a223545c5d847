// test_image_io.cpp — PNG/JPEG reading (stb and wsdol's raw label-plane reader) and the PNG writer.
// Oracles: fixtures decoded identically by Pillow and OpenCV (tests/reference/eval/gen_png_npy_fixtures.py), the
// exact VOC mask histograms of ../shared/data/real/voc/labels.txt, the CUB image sizes of cub/boxes.txt.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "engine/data/image_io.h"
#include "engine/data/npy.h"
#include "engine/data/png_write.h"
#include "engine/io/crc32.h"
#include "tests/io_test_util.h"
#include "tests/test_eval_util.h"

namespace wsdol::data {
namespace {

using test::expect_error;
using test::ScratchDir;

std::vector<uint8_t> tensor_u8(const Tensor& t) {
    const Tensor c = t.contiguous();
    const auto* p = static_cast<const uint8_t*>(c.data_ptr());
    return std::vector<uint8_t>(p, p + c.numel());
}

TEST(ImageIO, LabelPngFixturesMatchPillowAndOpenCV) {
    for (const char* name : {"pal_d8", "pal_d4", "pal_d2", "pal_d1", "grey_d8", "grey_d1", "pal_adam7_d8",
                             "pal_adam7_d2", "grey_adam7_d4", "pal_filters_d8"}) {
        SCOPED_TRACE(name);
        const Image img = read_label_png(test::eval_fixture(std::string("png/") + name + ".png"));
        const Tensor expected = read_npy(test::eval_fixture(std::string("png/") + name + ".npy"));
        ASSERT_EQ(expected.dim(), 2);
        EXPECT_EQ(img.channels, 1);
        EXPECT_EQ(img.height, expected.size(0));
        EXPECT_EQ(img.width, expected.size(1));
        EXPECT_EQ(img.pixels, tensor_u8(expected));
    }
}

TEST(ImageIO, PngInfo) {
    PngInfo i = read_png_info(test::eval_fixture("png/pal_adam7_d2.png"));
    EXPECT_EQ(i.width, 13);
    EXPECT_EQ(i.height, 11);
    EXPECT_EQ(i.bit_depth, 2);
    EXPECT_EQ(i.color_type, 3);
    EXPECT_TRUE(i.interlaced);
    EXPECT_EQ(i.palette_entries, 4);
    i = read_png_info(test::eval_fixture("png/grey_d1.png"));
    EXPECT_EQ(i.color_type, 0);
    EXPECT_EQ(i.bit_depth, 1);
    EXPECT_FALSE(i.interlaced);
}

// Every real VOC mask decodes to its exact value histogram (labels.txt), at its listed size, with the listed
// classes and 255 band (SBD-only masks have none).
TEST(ImageIO, VocMasksReproduceExactHistograms) {
    WSDOL_REQUIRE_REAL_DATA();
    const auto samples = test::voc_samples();
    ASSERT_EQ(samples.size(), 27u);
    for (const auto& s : samples) {
        SCOPED_TRACE(s.id);
        const std::string path = test::real_data_dir() + "/voc/SegmentationClassAug/" + s.id + ".png";
        const PngInfo info = read_png_info(path);
        EXPECT_EQ(info.color_type, 3);
        EXPECT_EQ(info.palette_entries, 256);
        const Image m = read_label_png(path);
        EXPECT_EQ(m.width, s.width);
        EXPECT_EQ(m.height, s.height);
        std::map<int, int64_t> hist;
        for (uint8_t v : m.pixels) ++hist[v];
        EXPECT_EQ(hist, s.pixel_counts);
        std::vector<int> classes;
        for (const auto& [v, n] : hist)
            if (v != 0 && v != 255) classes.push_back(v);
        EXPECT_EQ(classes, s.mask_classes);
        EXPECT_EQ(hist.count(255) > 0, s.has_255);
    }
}

// The palette embedded in the VOC masks is the VOC colour map, and stb's colour decoding agrees with our indices.
TEST(ImageIO, VocMaskColoursAreTheVocPalette) {
    WSDOL_REQUIRE_REAL_DATA();
    const std::string path = test::real_data_dir() + "/voc/SegmentationClassAug/2011_000006.png";
    const Image labels = read_label_png(path);
    const Image rgb = read_image(path, ColorMode::rgb);
    ASSERT_EQ(rgb.channels, 3);
    ASSERT_EQ(rgb.height, labels.height);
    ASSERT_EQ(rgb.width, labels.width);
    const Palette& pal = voc_palette();
    int64_t bad = 0;
    for (int64_t i = 0; i < labels.height * labels.width; ++i)
        for (int c = 0; c < 3; ++c) bad += rgb.pixels[3 * i + c] != pal[3 * labels.pixels[i] + c];
    EXPECT_EQ(bad, 0);
}

TEST(ImageIO, VocPaletteValues) {
    const Palette& p = voc_palette();
    auto rgb = [&](int i) { return std::vector<int>{p[3 * i], p[3 * i + 1], p[3 * i + 2]}; };
    EXPECT_EQ(rgb(0), (std::vector<int>{0, 0, 0}));
    EXPECT_EQ(rgb(1), (std::vector<int>{128, 0, 0}));
    EXPECT_EQ(rgb(2), (std::vector<int>{0, 128, 0}));
    EXPECT_EQ(rgb(3), (std::vector<int>{128, 128, 0}));
    EXPECT_EQ(rgb(4), (std::vector<int>{0, 0, 128}));
    EXPECT_EQ(rgb(15), (std::vector<int>{192, 128, 128}));
    EXPECT_EQ(rgb(20), (std::vector<int>{0, 64, 128}));
    EXPECT_EQ(rgb(255), (std::vector<int>{224, 224, 192}));
}

// CUB JPEGs: sizes and channel counts of boxes.txt; the one grey JPEG becomes 3 equal channels in RGB mode.
TEST(ImageIO, CubJpegsSizesAndGreyToRgb) {
    WSDOL_REQUIRE_REAL_DATA();
    int checked = 0;
    for (const std::string& line : test::data_lines(test::real_data_dir() + "/cub/boxes.txt")) {
        const auto w = test::split_ws(line);
        const std::string path = test::real_data_dir() + "/cub/images/" + w[0];
        SCOPED_TRACE(path);
        const Image stored = read_image(path);
        EXPECT_EQ(stored.width, std::stoll(w[3]));
        EXPECT_EQ(stored.height, std::stoll(w[4]));
        EXPECT_EQ(stored.channels, std::stoll(w[5]));
        const Image rgb = read_image(path, ColorMode::rgb);
        EXPECT_EQ(rgb.channels, 3);
        if (stored.channels == 1) {
            for (int64_t i = 0; i < rgb.height * rgb.width; ++i) {
                ASSERT_EQ(rgb.pixels[3 * i], stored.pixels[i]);
                ASSERT_EQ(rgb.pixels[3 * i + 1], stored.pixels[i]);
                ASSERT_EQ(rgb.pixels[3 * i + 2], stored.pixels[i]);
            }
        }
        ++checked;
    }
    EXPECT_EQ(checked, 24);
}

// OpenImages masks: 1-bit grey masks read as 0/255 (as OpenCV's imread), RGB and RGBA ignore masks as grey 0/255.
TEST(ImageIO, OpenImagesMasksAsGrey) {
    WSDOL_REQUIRE_REAL_DATA();
    const std::string dir = test::real_data_dir() + "/openimages/val/";
    const Image m = read_image(dir + "0bt_c3/1cd9ac0169ec7df0_m0bt_c3_6932e993.png", ColorMode::gray);
    EXPECT_EQ(m.width, 459);
    EXPECT_EQ(m.height, 632);
    int64_t zeros = 0, full = 0;
    for (uint8_t v : m.pixels) (v == 0 ? zeros : full) += (v == 0 || v == 255);
    EXPECT_EQ(zeros + full, m.width * m.height);
    EXPECT_GT(full, 0);
    // The raw sample plane of the same file is 0/1.
    const Image raw = read_label_png(dir + "0bt_c3/1cd9ac0169ec7df0_m0bt_c3_6932e993.png");
    for (size_t i = 0; i < raw.pixels.size(); ++i) ASSERT_EQ(raw.pixels[i] * 255, m.pixels[i]);

    const Image ignore = read_image(dir + "0bt_c3/3b3b9931325d65c9_ignore.png", ColorMode::gray);
    EXPECT_EQ(ignore.channels, 1);
    int64_t white = 0;
    for (uint8_t v : ignore.pixels) {
        ASSERT_TRUE(v == 0 || v == 255);
        white += v == 255;
    }
    EXPECT_GT(white, 0);
    const Image ones = read_image(dir + "0by6g/b4d953e7105da1d8_m0by6g_9f8621ff.png", ColorMode::gray);
    EXPECT_EQ(read_image(dir + "0by6g/b4d953e7105da1d8_m0by6g_9f8621ff.png").channels, 4);
    for (uint8_t v : ones.pixels) ASSERT_EQ(v, 255);
}

TEST(ImageIO, ColorConversionFollowsOpenCV) {
    Image px;
    px.height = 1;
    px.width = 4;
    px.channels = 3;
    px.pixels = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 37};
    const Image g = convert_color(px, ColorMode::gray);
    // (R*4899 + G*9617 + B*1868 + 8192) >> 14, as cv2.cvtColor(COLOR_RGB2GRAY) gives: 76, 150, 29, 125.
    EXPECT_EQ(g.pixels, (std::vector<uint8_t>{76, 150, 29, 125}));
    const Image rgba = convert_color(px, ColorMode::rgba);
    EXPECT_EQ(rgba.channels, 4);
    EXPECT_EQ(rgba.pixels[3], 255);
    EXPECT_EQ(rgba.pixels[14], 37);
    const Image back = convert_color(rgba, ColorMode::rgb);
    EXPECT_EQ(back.pixels, px.pixels);
}

TEST(PngWrite, PaletteRoundTripAndStbAgrees) {
    ScratchDir dir;
    Image labels;
    labels.height = 37;
    labels.width = 53;
    labels.channels = 1;
    for (int64_t i = 0; i < labels.height * labels.width; ++i)
        labels.pixels.push_back(static_cast<uint8_t>(i % 23 == 0 ? 255 : (i * 7) % 21));
    const std::string path = dir.file("labels.png");
    write_palette_png(path, labels);
    const PngInfo info = read_png_info(path);
    EXPECT_EQ(info.color_type, 3);
    EXPECT_EQ(info.bit_depth, 8);
    EXPECT_EQ(info.palette_entries, 256);
    const Image back = read_label_png(path);
    EXPECT_EQ(back.width, labels.width);
    EXPECT_EQ(back.height, labels.height);
    EXPECT_EQ(back.pixels, labels.pixels);
    // An independent decoder (stb) sees the VOC colours.
    const Image rgb = read_image(path);
    ASSERT_EQ(rgb.channels, 3);
    const Palette& pal = voc_palette();
    for (size_t i = 0; i < labels.pixels.size(); ++i)
        for (int c = 0; c < 3; ++c) ASSERT_EQ(rgb.pixels[3 * i + c], pal[3 * labels.pixels[i] + c]);
}

TEST(PngWrite, GreyRgbRgbaRoundTrip) {
    ScratchDir dir;
    for (int channels = 1; channels <= 4; ++channels) {
        SCOPED_TRACE(channels);
        Image img;
        img.height = 5;
        img.width = 7;
        img.channels = channels;
        for (int64_t i = 0; i < img.numel(); ++i) img.pixels.push_back(static_cast<uint8_t>((i * 37 + 11) % 256));
        const std::string path = dir.file("img" + std::to_string(channels) + ".png");
        write_png(path, img);
        const Image back = read_image(path);  // stb decodes what we wrote
        EXPECT_EQ(back.channels, channels);
        EXPECT_EQ(back.pixels, img.pixels);
        if (channels == 1) {
            EXPECT_EQ(read_label_png(path).pixels, img.pixels);
        }
    }
}

TEST(ImageIO, TensorConversion) {
    Image img;
    img.height = 2;
    img.width = 3;
    img.channels = 2;
    img.pixels = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const Tensor t = image_to_tensor(img);
    EXPECT_EQ(t.shape(), (Shape{2, 3, 2}));
    EXPECT_EQ(t.dtype(), DType::u8);
    EXPECT_EQ(image_from_tensor(t).pixels, img.pixels);
    const Image two_d = image_from_tensor(t.select(2, 1));  // (H, W), non-contiguous
    EXPECT_EQ(two_d.channels, 1);
    EXPECT_EQ(two_d.pixels, (std::vector<uint8_t>{2, 4, 6, 8, 10, 12}));
    expect_error([&] { image_from_tensor(Tensor::zeros({2, 2})); }, {"uint8", "float32"});
}

TEST(ImageIO, Errors) {
    ScratchDir dir;
    expect_error([&] { read_image(dir.file("missing.png")); }, {"missing.png", "cannot open"});
    expect_error([&] { read_label_png(dir.file("missing.png")); }, {"missing.png", "cannot open"});
    test::write_bytes(dir.file("text.png"), "hello, not an image");
    expect_error([&] { read_image(dir.file("text.png")); }, {"text.png", "cannot decode"});
    expect_error([&] { read_label_png(dir.file("text.png")); }, {"text.png", "not a PNG"});

    // An RGB PNG is not a label map.
    Image rgb;
    rgb.height = rgb.width = 2;
    rgb.channels = 3;
    rgb.pixels.assign(12, 9);
    write_png(dir.file("rgb.png"), rgb);
    expect_error([&] { read_label_png(dir.file("rgb.png")); }, {"rgb.png", "RGB", "colour type 2"});

    // Corruptions of a valid palette PNG.
    const std::string good = read_file_bytes(test::eval_fixture("png/pal_d8.png"));
    std::string bad_crc = good;
    bad_crc[20] ^= 0x01;  // inside IHDR data
    test::write_bytes(dir.file("crc.png"), bad_crc);
    expect_error([&] { read_label_png(dir.file("crc.png")); }, {"crc.png", "CRC mismatch", "IHDR"});
    test::write_bytes(dir.file("trunc.png"), good.substr(0, good.size() - 30));
    expect_error([&] { read_label_png(dir.file("trunc.png")); }, {"trunc.png"});
    expect_error([&] { decode_label_png(good.substr(0, 8), "sig-only"); }, {"sig-only", "no IHDR"});

    // A palette index beyond a short palette.
    Image labels;
    labels.height = 1;
    labels.width = 3;
    labels.channels = 1;
    labels.pixels = {0, 1, 7};
    Palette pal{};
    std::string png = encode_palette_png(labels, pal);
    // Shrink PLTE to 4 entries: rebuild the file with a 12-byte PLTE (length field, data and CRC).
    const size_t plte = png.find("PLTE") - 4;
    std::string plte_chunk;
    const char len12[4] = {0, 0, 0, 12};
    plte_chunk.append(len12, 4);
    plte_chunk += "PLTE";
    plte_chunk.append(12, '\0');
    const uint32_t crc = io::crc32(plte_chunk.data() + 4, 16);
    for (int s = 24; s >= 0; s -= 8) plte_chunk.push_back(static_cast<char>(crc >> s));
    png = png.substr(0, plte) + plte_chunk + png.substr(plte + 12 + 768);
    expect_error([&] { decode_label_png(png, "short-palette"); }, {"short-palette", "palette index 7", "4-entry"});

    Image empty;
    expect_error([&] { encode_png(empty); }, {"encode_png"});
    expect_error([&] { encode_palette_png(rgb); }, {"1 channel"});
}

}  // namespace
}  // namespace wsdol::data

namespace wsdol::data {
namespace {

// Found by fuzz/fuzz_image.cpp (three inputs in tests/reference/fuzz/): a JPEG whose Huffman table declares more
// than 256 symbols overflowed stb_image's tables (an out-of-bounds write in stbi__build_huffman). decode_image, image_size and image_size_from_bytes
// refuse it, naming the file, before stb sees it; valid JPEGs still read.
// Found by fuzz/fuzz_image.cpp (tests/reference/fuzz/pnm_integer_overflow.pgm, "P5\n557 \n7666...6"): stb's PNM
// header reader accumulated a header number in an int without an overflow check (signed overflow, UB). Refused,
// naming the file and the field, before stb sees it; the largest int and PNM files with comments still read.
// A 160-byte GIF (found by fuzz_image) whose header claims 14087 x 14135: refused before stb allocates 2 GB.
TEST(ImageIO, ImagesOverThePixelLimitAreRefusedBeforeDecoding) {
    const std::string path = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/fuzz/gif_huge_canvas.gif";
    test::expect_error([&] { read_image(path); }, {"gif_huge_canvas.gif", "image too large to decode", "8192 x 8192"});
    int64_t w = 0, h = 0;
    image_size(path, &w, &h);  // the header alone still reads
    EXPECT_GT(w * h, kMaxImagePixels);
}

TEST(ImageIO, PnmHeaderNumberOverflowIsRefused) {
    const std::string path = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/fuzz/pnm_integer_overflow.pgm";
    const std::string bytes = read_file_bytes(path);
    test::expect_error([&] { decode_image(bytes, "big.pgm"); }, {"big.pgm", "corrupt PNM header", "height"});
    int64_t w = 0, h = 0;
    test::expect_error([&] { image_size_from_bytes(bytes, "big.pgm", &w, &h); }, {"big.pgm", "PNM header"});
    test::expect_error([&] { image_size(path, &w, &h); }, {"pnm_integer_overflow.pgm", "PNM header"});
    test::expect_error([&] { decode_image("P6 # comment\n2147483648 1 255\n", "w.ppm"); }, {"w.ppm", "width"});
    test::expect_error([&] { decode_image("P5 2 2 99999999999", "m.pgm"); }, {"m.pgm", "maximum value"});
    // 2^31 - 1 itself is no overflow: the header reads, and the size is over the pixel limit.
    test::expect_error([&] { decode_image("P5 2147483647 1 255\n", "max.pgm"); }, {"max.pgm", "image too large"});
    // A valid 2 x 1 PGM with a comment reads.
    const Image im = decode_image(std::string("P5\n# two pixels\n2 1\n255\n") + std::string("\x07\xF0", 2), "ok.pgm");
    EXPECT_EQ(im.width, 2);
    EXPECT_EQ(im.height, 1);
    EXPECT_EQ(im.channels, 1);
    EXPECT_EQ(int(im.pixels[1]), 0xF0);
}

TEST(ImageIO, JpegWithAnOversizedHuffmanTableIsRefused) {
    const std::string path = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/fuzz/jpeg_dht_overflow.jpg";
    const std::string bytes = read_file_bytes(path);
    test::expect_error([&] { decode_image(bytes, "dht.jpg"); }, {"dht.jpg", "corrupt JPEG", "Huffman table"});
    int64_t w = 0, h = 0;
    test::expect_error([&] { image_size_from_bytes(bytes, "dht.jpg", &w, &h); }, {"dht.jpg", "Huffman table"});
    test::expect_error([&] { image_size(path, &w, &h); }, {"jpeg_dht_overflow.jpg", "Huffman table"});
    // The same with 0xFF fill bytes before the SOI marker (stb accepts them; the second fuzz finding).
    const std::string fill = read_file_bytes(std::string(WSDOL_SOURCE_DIR) + "/tests/reference/fuzz/jpeg_dht_overflow_fill.jpg");
    test::expect_error([&] { decode_image(fill, "fill.jpg"); }, {"fill.jpg", "Huffman table"});
    test::expect_error([&] { image_size_from_bytes(fill, "fill.jpg", &w, &h); }, {"fill.jpg", "Huffman table"});
    // A DHT segment whose length leaves a partial table: stb reads the next table past the segment's end (third).
    const std::string past = read_file_bytes(std::string(WSDOL_SOURCE_DIR) + "/tests/reference/fuzz/jpeg_dht_past_segment.jpg");
    test::expect_error([&] { decode_image(past, "past.jpg"); }, {"past.jpg", "Huffman table"});
    // A minimal hand-made one: one DHT segment whose 16 counts are all 255 (4080 symbols).
    std::string dht = "\xFF\xD8\xFF\xC4";
    dht += std::string("\x00\x13\x00", 3) + std::string(16, '\xFF');
    test::expect_error([&] { decode_image(dht, "made.jpg"); }, {"made.jpg", "4080 symbols"});
    // A valid JPEG (from the fuzz seeds) is unaffected.
    const std::string ok = read_file_bytes(std::string(WSDOL_SOURCE_DIR) + "/fuzz/corpus/image/rgb.jpg");
    const Image im = decode_image(ok, "rgb.jpg");
    EXPECT_EQ(im.width, 7);
    EXPECT_EQ(im.height, 5);
    image_size_from_bytes(ok, "rgb.jpg", &w, &h);
    EXPECT_EQ(w, 7);
    EXPECT_EQ(h, 5);
}

}  // namespace
}  // namespace wsdol::data
