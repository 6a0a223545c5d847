// transforms_color.cpp — Pillow's 8-bit photometric arithmetic (see transforms_color.h). Where Pillow computes in
// float (C `float`, FLT_EVAL_METHOD 0) we do too, and the build has -ffp-contract=off, so no FMA changes a
// rounding. Pillow stores RGB as 4 bytes per pixel (the 4th unused); that never changes a result.
#include "engine/data/transforms_color.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/error.h"

namespace wsdol::data {
namespace {

void check_8bit(const Image& image, const char* op, bool allow_grey = true) {
    WSDOL_CHECK(image.channels == 3 || (allow_grey && image.channels == 1), op,
                ": expected an RGB", (allow_grey ? " or grey" : ""), " image, got ", image.channels, " channels");
}

// Applies a per-band lookup table (Image.point with a 256 * bands list).
Image apply_lut(const Image& image, const std::vector<std::array<uint8_t, 256>>& luts) {
    Image out = image;
    const int64_t C = image.channels;
    for (int64_t i = 0; i < image.height * image.width; ++i)
        for (int64_t c = 0; c < C; ++c) out.pixels[i * C + c] = luts[c][image.pixels[i * C + c]];
    return out;
}

std::vector<std::array<int64_t, 256>> histograms(const Image& image) {
    std::vector<std::array<int64_t, 256>> h(image.channels);
    for (auto& a : h) a.fill(0);
    const int64_t C = image.channels;
    for (int64_t i = 0; i < image.height * image.width; ++i)
        for (int64_t c = 0; c < C; ++c) ++h[c][image.pixels[i * C + c]];
    return h;
}

inline uint8_t luma(const uint8_t* p) {
    return static_cast<uint8_t>((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
}

// Pillow's CLIP8 on an int.
inline uint8_t clip8(int v) { return static_cast<uint8_t>(v <= 0 ? 0 : v >= 255 ? 255 : v); }

// Pillow Convert.c rgb2hsv_row (follows colorsys.py; float/double exactly as written there).
inline void rgb_to_hsv(const uint8_t* in, uint8_t* out) {
    const uint8_t r = in[0], g = in[1], b = in[2];
    const uint8_t maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
    uint8_t uh = 0, us = 0;
    if (minc != maxc) {
        const float cr = static_cast<float>(maxc - minc);
        const float s = cr / static_cast<float>(maxc);
        const float rc = static_cast<float>(maxc - r) / cr;
        const float gc = static_cast<float>(maxc - g) / cr;
        const float bc = static_cast<float>(maxc - b) / cr;
        float h;
        if (r == maxc)
            h = bc - gc;
        else if (g == maxc)
            h = static_cast<float>(2.0 + rc - bc);  // double arithmetic, stored in a float
        else
            h = static_cast<float>(4.0 + gc - rc);
        // fmod(y, 1.0) for y = h / 6 + 1 in [0.8, 1.9): y - 1 when y >= 1 is exact (Sterbenz), so this is fmod.
        const double y = h / 6.0 + 1.0;
        h = static_cast<float>(y >= 1.0 ? y - 1.0 : y);
        uh = clip8(static_cast<int>(h * 255.0));
        us = clip8(static_cast<int>(s * 255.0));
    }
    out[0] = uh;
    out[1] = us;
    out[2] = maxc;
}

// C round() (half away from zero) for x >= 0, without the libm call: x - floor(x) is exact.
inline int round_nonneg(double x) {
    const double f = std::floor(x);
    return static_cast<int>(f) + static_cast<int>(x - f >= 0.5);  // branch-free: the branch mispredicts
}

// Pillow Convert.c hsv2rgb.
inline void hsv_to_rgb(const uint8_t* in, uint8_t* out) {
    const uint8_t h = in[0], s = in[1], v = in[2];
    if (s == 0) {
        out[0] = out[1] = out[2] = v;
        return;
    }
    const int i = static_cast<int>(std::floor(static_cast<float>(h) * 6.0 / 255.0));
    const float f = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
    const float fs = static_cast<float>(static_cast<float>(s) / 255.0);
    const int p = round_nonneg(static_cast<float>(v) * (1.0 - fs));
    const int q = round_nonneg(static_cast<float>(v) * (1.0 - fs * f));
    const int t = round_nonneg(static_cast<float>(v) * (1.0 - fs * (1.0 - f)));
    const uint8_t up = clip8(p), uq = clip8(q), ut = clip8(t);
    switch (i % 6) {
        case 0: out[0] = v; out[1] = ut; out[2] = up; break;
        case 1: out[0] = uq; out[1] = v; out[2] = up; break;
        case 2: out[0] = up; out[1] = v; out[2] = ut; break;
        case 3: out[0] = up; out[1] = uq; out[2] = v; break;
        case 4: out[0] = ut; out[1] = up; out[2] = v; break;
        default: out[0] = v; out[1] = up; out[2] = uq; break;
    }
}

// rgb_to_hsv through tables, exactly equal to the function above (tested exhaustively): the hue depends only on
// which channel is the maximum and on the two differences max - other (Pillow's rc/gc/bc), the saturation only on
// (max - min, max). hue[case][d1][d2] holds uh for case 0 (r max; d1 = max-g, d2 = max-b), 1 (g max; max-r, max-b),
// 2 (b max; max-r, max-g); sat[cr][max] holds us.
struct HsvTables {
    std::vector<uint8_t> hue = std::vector<uint8_t>(3 * 256 * 256), sat = std::vector<uint8_t>(256 * 256);
    HsvTables() {
        uint8_t hsv[3];
        for (int d1 = 0; d1 < 256; ++d1)
            for (int d2 = 0; d2 < 256; ++d2) {
                const uint8_t c0[3] = {255, uint8_t(255 - d1), uint8_t(255 - d2)};
                const uint8_t c1[3] = {uint8_t(255 - d1), 255, uint8_t(255 - d2)};
                const uint8_t c2[3] = {uint8_t(255 - d1), uint8_t(255 - d2), 255};
                rgb_to_hsv(c0, hsv);
                hue[(0 * 256 + d1) * 256 + d2] = hsv[0];
                rgb_to_hsv(c1, hsv);
                hue[(1 * 256 + d1) * 256 + d2] = hsv[0];
                rgb_to_hsv(c2, hsv);
                hue[(2 * 256 + d1) * 256 + d2] = hsv[0];
            }
        for (int mx = 1; mx < 256; ++mx)
            for (int cr = 1; cr <= mx; ++cr) {
                const uint8_t c[3] = {uint8_t(mx), uint8_t(mx - cr), uint8_t(mx - cr)};
                rgb_to_hsv(c, hsv);
                sat[cr * 256 + mx] = hsv[1];
            }
    }
};

const HsvTables& hsv_tables() {
    static const HsvTables tables;
    return tables;
}

inline void rgb_to_hsv_fast(const HsvTables& t, const uint8_t* in, uint8_t* out) {
    // The channel case is selected without branches (they mispredict on natural images); grey pixels (Pillow's
    // minc == maxc branch, e.g. black padding) return early, a well-predicted branch in flat regions.
    const int r = in[0], g = in[1], b = in[2];
    const int maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
    if (minc == maxc) {
        out[0] = out[1] = 0;
        out[2] = static_cast<uint8_t>(maxc);
        return;
    }
    const int is_r = r == maxc, is_g = (r != maxc) & (g == maxc), is_b = 1 - is_r - is_g;
    const int cs = is_g + 2 * is_b;  // Pillow's case order: r, then g, then b
    const int o1 = is_r ? g : r, o2 = is_b ? g : b;
    out[0] = t.hue[(cs * 256 + (maxc - o1)) * 256 + (maxc - o2)];
    out[1] = t.sat[(maxc - minc) * 256 + maxc];
    out[2] = static_cast<uint8_t>(maxc);
}

// hsv_to_rgb with its per-h and per-s quantities tabulated (they are pure functions of h or s, so the values
// are identical; this removes the three divisions per pixel): i and f from h, fs from s, and p = round(v * (1 -
// fs)) from (s, v). q and t still multiply per pixel, exactly as Pillow.
struct HsvToRgbTables {
    int i6[256];     // floor(h * 6 / 255) % 6
    float f[256];    // h * 6 / 255 - i
    float fs[256];   // s / 255
    std::vector<uint8_t> p = std::vector<uint8_t>(256 * 256);  // [s][v]
    HsvToRgbTables() {
        for (int h = 0; h < 256; ++h) {
            const int i = static_cast<int>(std::floor(static_cast<float>(h) * 6.0 / 255.0));
            i6[h] = i % 6;
            f[h] = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
        }
        for (int s = 0; s < 256; ++s) {
            fs[s] = static_cast<float>(static_cast<float>(s) / 255.0);
            for (int v = 0; v < 256; ++v) p[s * 256 + v] = clip8(round_nonneg(static_cast<float>(v) * (1.0 - fs[s])));
        }
    }
};

const HsvToRgbTables& hsv_to_rgb_tables() {
    static const HsvToRgbTables tables;
    return tables;
}

inline void hsv_to_rgb_fast(const HsvToRgbTables& t, const uint8_t* in, uint8_t* out) {
    const uint8_t h = in[0], s = in[1], v = in[2];
    if (s == 0) {  // grey
        out[0] = out[1] = out[2] = v;
        return;
    }
    const float f = t.f[h], fs = t.fs[s];
    // Branch-free output selection (the sector i is unpredictable on natural images): vals = {v, p, q, t}.
    const uint8_t vals[4] = {v, t.p[s * 256 + v], clip8(round_nonneg(static_cast<float>(v) * (1.0 - fs * f))),
                             clip8(round_nonneg(static_cast<float>(v) * (1.0 - fs * (1.0 - f))))};
    // Pillow's sectors: 0 (v, t, p), 1 (q, v, p), 2 (p, v, t), 3 (p, q, v), 4 (t, p, v), 5 (v, p, q).
    static constexpr uint8_t kPick[6][3] = {{0, 3, 1}, {2, 0, 1}, {1, 0, 3}, {1, 2, 0}, {3, 1, 0}, {0, 1, 2}};
    const uint8_t* pick = kPick[t.i6[h]];
    out[0] = vals[pick[0]];
    out[1] = vals[pick[1]];
    out[2] = vals[pick[2]];
}

}  // namespace

bool hsv_tables_match_direct_conversion() {
    const HsvTables& t = hsv_tables();
    for (int r = 0; r < 256; ++r)
        for (int g = 0; g < 256; ++g)
            for (int b = 0; b < 256; ++b) {
                const uint8_t c[3] = {uint8_t(r), uint8_t(g), uint8_t(b)};
                uint8_t x[3], y[3];
                rgb_to_hsv(c, x);
                rgb_to_hsv_fast(t, c, y);
                if (x[0] != y[0] || x[1] != y[1] || x[2] != y[2]) return false;
                // and the tabulated HSV -> RGB equals the direct one, reading (r, g, b) as (h, s, v)
                hsv_to_rgb(c, x);
                hsv_to_rgb_fast(hsv_to_rgb_tables(), c, y);
                if (x[0] != y[0] || x[1] != y[1] || x[2] != y[2]) return false;
            }
    return true;
}

Image to_grayscale(const Image& image, int out_channels) {
    check_8bit(image, "to_grayscale");
    WSDOL_CHECK(out_channels == 1 || out_channels == 3, "to_grayscale: out_channels must be 1 or 3, got ",
                out_channels);
    Image out;
    out.height = image.height;
    out.width = image.width;
    out.channels = out_channels;
    out.pixels.resize(image.height * image.width * out_channels);
    for (int64_t i = 0; i < image.height * image.width; ++i) {
        const uint8_t l = image.channels == 1 ? image.pixels[i] : luma(&image.pixels[i * 3]);
        for (int c = 0; c < out_channels; ++c) out.pixels[i * out_channels + c] = l;
    }
    return out;
}

namespace {
// One Blend.c value: inside [0, 1] the float result is cast (truncated) directly; outside it is clipped first.
inline uint8_t blend_value(int x, int y, float alpha) {
    const float t = static_cast<float>(x) + alpha * static_cast<float>(y - x);
    if (alpha >= 0.0f && alpha <= 1.0f) return static_cast<uint8_t>(t);
    return t <= 0.0f ? 0 : t >= 255.0f ? 255 : static_cast<uint8_t>(t);
}

// blend(flat image of value `x`, image, alpha) is a per-value lookup table (applied in place).
void blend_flat_inplace(uint8_t x, Image& image, float alpha) {
    std::array<uint8_t, 256> lut;
    for (int v = 0; v < 256; ++v) lut[v] = blend_value(x, v, alpha);
    for (auto& v : image.pixels) v = lut[v];
}
}  // namespace

// Pillow Blend.c: inside [0, 1] the float result is cast (truncated) directly; outside it is clipped first.
Image blend(const Image& a, const Image& b, float alpha) {
    WSDOL_CHECK(a.height == b.height && a.width == b.width && a.channels == b.channels, "blend: image sizes differ (",
                a.height, "x", a.width, "x", a.channels, " vs ", b.height, "x", b.width, "x", b.channels, ")");
    Image out = a;
    const int64_t n = a.numel();
    if (alpha >= 0.0f && alpha <= 1.0f) {
        for (int64_t i = 0; i < n; ++i) {
            const int x = a.pixels[i], y = b.pixels[i];
            out.pixels[i] = static_cast<uint8_t>(static_cast<float>(x) + alpha * static_cast<float>(y - x));
        }
    } else {
        for (int64_t i = 0; i < n; ++i) {
            const int x = a.pixels[i], y = b.pixels[i];
            const float t = static_cast<float>(x) + alpha * static_cast<float>(y - x);
            out.pixels[i] = t <= 0.0f ? 0 : t >= 255.0f ? 255 : static_cast<uint8_t>(t);
        }
    }
    return out;
}

// ImageEnhance.Brightness: degenerate = black.
static void brightness_inplace(Image& image, double factor) {
    blend_flat_inplace(0, image, static_cast<float>(factor));  // blend(black, image)
}

Image adjust_brightness(const Image& image, double factor) {
    check_8bit(image, "adjust_brightness");
    Image out = image;
    brightness_inplace(out, factor);
    return out;
}

// ImageEnhance.Contrast: degenerate = a flat grey of int(mean(L) + 0.5), the mean as ImageStat computes it
// (sum of i * histogram[i] / count, in double).
static void contrast_inplace(Image& image, double factor) {
    std::array<int64_t, 256> h{};
    const int64_t n = image.height * image.width;
    if (image.channels == 1)
        for (int64_t i = 0; i < n; ++i) ++h[image.pixels[i]];
    else
        for (int64_t i = 0; i < n; ++i) ++h[luma(&image.pixels[i * 3])];
    double sum = 0;
    for (int i = 0; i < 256; ++i) sum += double(i) * double(h[i]);
    const int mean = static_cast<int>(sum / double(n) + 0.5);
    blend_flat_inplace(static_cast<uint8_t>(mean), image, static_cast<float>(factor));  // blend(flat grey, image)
}

Image adjust_contrast(const Image& image, double factor) {
    check_8bit(image, "adjust_contrast");
    Image out = image;
    contrast_inplace(out, factor);
    return out;
}

// ImageEnhance.Color: degenerate = convert("L").convert("RGB").
static void saturation_inplace(Image& image, double factor) {
    if (image.channels == 1) return;  // degenerate = the image itself: blend(x, x) = x
    // blend(grey RGB, image): a 256 x 256 table of (grey, value) -> result, cheaper than 3 float ops per value.
    std::vector<uint8_t> lut(256 * 256);
    const float alpha = static_cast<float>(factor);
    for (int x = 0; x < 256; ++x)
        for (int y = 0; y < 256; ++y) lut[x * 256 + y] = blend_value(x, y, alpha);
    for (int64_t i = 0; i < image.height * image.width; ++i) {
        uint8_t* p = &image.pixels[i * 3];
        const uint8_t* row = &lut[luma(p) * 256];
        p[0] = row[p[0]];
        p[1] = row[p[1]];
        p[2] = row[p[2]];
    }
}

Image adjust_saturation(const Image& image, double factor) {
    check_8bit(image, "adjust_saturation");
    Image out = image;
    saturation_inplace(out, factor);
    return out;
}

// ImageEnhance.Sharpness: degenerate = filter(SMOOTH), the 3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13 (Filter.c:
// float sum, +0.5, truncation; the outer rows and columns are copied unfiltered). A sum / 13 is never within
// 1/26 of a rounding boundary, so the exact integer form floor((2 * sum + 13) / 26) equals Pillow's float one.
Image adjust_sharpness(const Image& image, double factor) {
    check_8bit(image, "adjust_sharpness");
    Image smooth = image;
    const int64_t H = image.height, W = image.width, C = image.channels;
    if (H >= 3 && W >= 3) {
        for (int64_t y = 1; y < H - 1; ++y)
            for (int64_t x = 1; x < W - 1; ++x)
                for (int64_t c = 0; c < C; ++c) {
                    int sum = 0;
                    for (int dy = -1; dy <= 1; ++dy)
                        for (int dx = -1; dx <= 1; ++dx) sum += image.at(y + dy, x + dx, c);
                    sum += 4 * image.at(y, x, c);
                    smooth.at(y, x, c) = clip8((2 * sum + 13) / 26);
                }
    }
    return blend(smooth, image, static_cast<float>(factor));
}

// torchvision F_pil.adjust_hue: np_h += np.int32(hue_factor * 255).astype(np.uint8), i.e. the shift truncated
// toward zero then wrapped mod 256.
static void hue_inplace(Image& image, double hue_factor) {
    if (image.channels == 1) return;  // torchvision returns grey images unchanged
    const uint8_t shift = static_cast<uint8_t>(static_cast<int32_t>(hue_factor * 255.0) & 0xFF);
    const HsvTables& tables = hsv_tables();
    const HsvToRgbTables& back = hsv_to_rgb_tables();
    for (int64_t i = 0; i < image.height * image.width; ++i) {
        uint8_t hsv[3];
        uint8_t* px = &image.pixels[i * 3];
        rgb_to_hsv_fast(tables, px, hsv);
        hsv[0] = static_cast<uint8_t>(hsv[0] + shift);
        hsv_to_rgb_fast(back, hsv, px);
    }
}

Image adjust_hue(const Image& image, double hue_factor) {
    WSDOL_CHECK(hue_factor >= -0.5 && hue_factor <= 0.5, "adjust_hue: hue_factor ", hue_factor,
                " is not in [-0.5, 0.5]");
    check_8bit(image, "adjust_hue");
    Image out = image;
    hue_inplace(out, hue_factor);
    return out;
}

Image solarize(const Image& image, int threshold) {
    check_8bit(image, "solarize");
    std::array<uint8_t, 256> lut;
    for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i < threshold ? i : 255 - i);
    return apply_lut(image, std::vector<std::array<uint8_t, 256>>(image.channels, lut));
}

Image posterize(const Image& image, int bits) {
    check_8bit(image, "posterize");
    WSDOL_CHECK(bits >= 0 && bits <= 8, "posterize: bits must be in [0, 8], got ", bits);
    const int mask = ~((1 << (8 - bits)) - 1);
    std::array<uint8_t, 256> lut;
    for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i & mask);
    return apply_lut(image, std::vector<std::array<uint8_t, 256>>(image.channels, lut));
}

Image invert(const Image& image) {
    Image out = image;
    for (auto& v : out.pixels) v = static_cast<uint8_t>(255 - v);
    return out;
}

// ImageOps.equalize: per band, histo = the non-zero bins; step = (sum(histo) - histo[-1]) // 255; identity when
// only one value is present or step is 0; else lut[i] = n // step with n starting at step // 2 and growing by
// h[i] after each entry.
Image equalize(const Image& image) {
    check_8bit(image, "equalize");
    const auto hist = histograms(image);
    std::vector<std::array<uint8_t, 256>> luts(image.channels);
    for (int64_t c = 0; c < image.channels; ++c) {
        const auto& h = hist[c];
        int64_t total = 0, last = 0, nonzero = 0;
        for (int i = 0; i < 256; ++i)
            if (h[i]) {
                total += h[i];
                last = h[i];
                ++nonzero;
            }
        const int64_t step = nonzero <= 1 ? 0 : (total - last) / 255;
        if (step == 0) {
            for (int i = 0; i < 256; ++i) luts[c][i] = static_cast<uint8_t>(i);
            continue;
        }
        int64_t n = step / 2;
        for (int i = 0; i < 256; ++i) {
            luts[c][i] = static_cast<uint8_t>(std::min<int64_t>(n / step, 255));
            n += h[i];
        }
    }
    return apply_lut(image, luts);
}

// ImageOps.autocontrast(cutoff=0): per band lo/hi = the lowest/highest present value; identity when hi <= lo;
// else scale = 255 / (hi - lo), offset = -lo * scale, lut = clip(int(i * scale + offset)) (double arithmetic).
Image autocontrast(const Image& image) {
    check_8bit(image, "autocontrast");
    const auto hist = histograms(image);
    std::vector<std::array<uint8_t, 256>> luts(image.channels);
    for (int64_t c = 0; c < image.channels; ++c) {
        const auto& h = hist[c];
        int lo = 0, hi = 255;
        while (lo < 255 && !h[lo]) ++lo;
        while (hi > 0 && !h[hi]) --hi;
        if (hi <= lo) {
            for (int i = 0; i < 256; ++i) luts[c][i] = static_cast<uint8_t>(i);
            continue;
        }
        const double scale = 255.0 / double(hi - lo), offset = -double(lo) * scale;
        for (int i = 0; i < 256; ++i) luts[c][i] = clip8(static_cast<int>(double(i) * scale + offset));
    }
    return apply_lut(image, luts);
}

// ---------------------------------------------------------------------------------------------------------------
// Gaussian blur: Pillow BoxBlur.c. The Gaussian radius becomes a fractional box radius (Gwosdek et al. 2011,
// computed in float as Pillow does); each of 3 passes per axis is a box of (2r+1) taps with weight
// ww = 2^24 / (2 * radius + 1) (float division, truncated) and the two fractional end taps weight
// fw = (2^24 - (2r+1) * ww) / 2, edges replicated; the sum is rounded with + 2^23 >> 24. Rows first (all 3
// passes), then columns (Pillow transposes and runs the same line blur).
namespace {

float box_radius_for_gaussian(float radius, int passes) {
    const float sigma2 = radius * radius / static_cast<float>(passes);
    const float L = static_cast<float>(std::sqrt(12.0 * sigma2 + 1.0));
    const float l = static_cast<float>(std::floor((L - 1.0) / 2.0));
    float a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2);
    a /= 6 * (sigma2 - (l + 1) * (l + 1));
    return l + a;
}

// One line of `n` pixels with `C` interleaved channels at element stride `stride` between pixels.
void box_blur_line(const uint8_t* in, uint8_t* out, int64_t n, int64_t C, int radius, uint32_t ww, uint32_t fw) {
    const int64_t lastx = n - 1;
    const int64_t edgeA = std::min<int64_t>(radius + 1, n), edgeB = std::max<int64_t>(n - radius - 1, 0);
    for (int64_t c = 0; c < C; ++c) {
        auto px = [&](int64_t x) -> uint32_t { return in[x * C + c]; };
        uint32_t acc = px(0) * uint32_t(radius + 1);
        for (int64_t x = 0; x < edgeA - 1; ++x) acc += px(x);
        acc += px(lastx) * uint32_t(radius - edgeA + 1);
        auto emit = [&](int64_t x, int64_t sub, int64_t add, int64_t left, int64_t right) {
            acc += px(add) - px(sub);
            const uint32_t bulk = acc * ww + (px(left) + px(right)) * fw;
            out[x * C + c] = static_cast<uint8_t>((bulk + (1u << 23)) >> 24);
        };
        if (edgeA <= edgeB) {
            for (int64_t x = 0; x < edgeA; ++x) emit(x, 0, x + radius, 0, x + radius + 1);
            for (int64_t x = edgeA; x < edgeB; ++x) emit(x, x - radius - 1, x + radius, x - radius - 1, x + radius + 1);
            for (int64_t x = edgeB; x <= lastx; ++x) emit(x, x - radius - 1, lastx, x - radius - 1, lastx);
        } else {
            for (int64_t x = 0; x < edgeB; ++x) emit(x, 0, x + radius, 0, x + radius + 1);
            for (int64_t x = edgeB; x < edgeA; ++x) emit(x, 0, lastx, 0, lastx);
            for (int64_t x = edgeA; x <= lastx; ++x) emit(x, x - radius - 1, lastx, x - radius - 1, lastx);
        }
    }
}

// Blurs every row of a (H, W, C) buffer `passes` times with the fractional box radius.
void box_blur_rows(std::vector<uint8_t>& buf, int64_t H, int64_t W, int64_t C, float float_radius, int passes) {
    const int radius = static_cast<int>(float_radius);
    const uint32_t ww = static_cast<uint32_t>(static_cast<float>(1 << 24) / (float_radius * 2 + 1));
    const uint32_t fw = ((1u << 24) - uint32_t(radius * 2 + 1) * ww) / 2;
    std::vector<uint8_t> line(W * C);
    for (int64_t y = 0; y < H; ++y) {
        uint8_t* row = buf.data() + y * W * C;
        for (int p = 0; p < passes; ++p) {
            box_blur_line(row, line.data(), W, C, radius, ww, fw);
            std::memcpy(row, line.data(), W * C);
        }
    }
}

std::vector<uint8_t> transpose(const std::vector<uint8_t>& src, int64_t H, int64_t W, int64_t C) {
    std::vector<uint8_t> dst(src.size());
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x)
            std::memcpy(&dst[(x * H + y) * C], &src[(y * W + x) * C], C);
    return dst;
}

}  // namespace

Image gaussian_blur(const Image& image, double radius) {
    check_8bit(image, "gaussian_blur");
    WSDOL_CHECK(radius >= 0, "gaussian_blur: radius must be >= 0, got ", radius);
    if (radius == 0) return image;  // ImageFilter.GaussianBlur returns a copy for radius 0
    constexpr int kPasses = 3;
    const float r = box_radius_for_gaussian(static_cast<float>(radius), kPasses);
    Image out = image;
    const int64_t H = image.height, W = image.width, C = image.channels;
    if (r == 0) return out;
    box_blur_rows(out.pixels, H, W, C, r, kPasses);
    std::vector<uint8_t> t = transpose(out.pixels, H, W, C);
    box_blur_rows(t, W, H, C, r, kPasses);
    out.pixels = transpose(t, W, H, C);
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// ColorJitter (torchvision): fn_idx = randperm(4) first, then one uniform per enabled component in the order
// brightness, contrast, saturation, hue; then the enabled adjustments in fn_idx order.
ColorJitterParams color_jitter_params(SampleRng& rng, double brightness, double contrast, double saturation,
                                      double hue) {
    ColorJitterParams p;
    const std::vector<int> perm = rng.permutation(4);
    for (int k = 0; k < 4; ++k) p.order[k] = perm[k];
    p.enabled = {brightness > 0, contrast > 0, saturation > 0, hue > 0};
    if (p.enabled[0]) p.brightness = rng.uniform(std::max(0.0, 1 - brightness), 1 + brightness);
    if (p.enabled[1]) p.contrast = rng.uniform(std::max(0.0, 1 - contrast), 1 + contrast);
    if (p.enabled[2]) p.saturation = rng.uniform(std::max(0.0, 1 - saturation), 1 + saturation);
    if (p.enabled[3]) p.hue = rng.uniform(-hue, hue);
    return p;
}

void color_jitter_inplace(Image& image, const ColorJitterParams& p) {
    check_8bit(image, "color_jitter");
    WSDOL_CHECK(!p.enabled[3] || (p.hue >= -0.5 && p.hue <= 0.5), "color_jitter: hue ", p.hue,
                " is not in [-0.5, 0.5]");
    for (int k = 0; k < 4; ++k) {
        const int fn = p.order[k];
        if (!p.enabled[fn]) continue;
        switch (fn) {
            case 0: brightness_inplace(image, p.brightness); break;
            case 1: contrast_inplace(image, p.contrast); break;
            case 2: saturation_inplace(image, p.saturation); break;
            default: hue_inplace(image, p.hue); break;
        }
    }
}

Image color_jitter(const Image& image, const ColorJitterParams& p) {
    Image out = image;
    color_jitter_inplace(out, p);
    return out;
}

}  // namespace wsdol::data
