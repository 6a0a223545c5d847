// transforms.cpp — per-sample random streams, geometric transforms and normalisation (see transforms.h).
#include "engine/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/error.h"
#include "engine/core/rng.h"

namespace wsdol::data {

// ---------------------------------------------------------------------------------------------------------------
// SampleRng: the key is two chained Philox draws, first keyed by the run seed with the epoch as counter, then
// keyed by that result with the sample index as counter; the stream then draws Philox(key, 0), (key, 1), ...

SampleRng::SampleRng(uint64_t seed, uint64_t epoch, uint64_t index) {
    uint32_t w[4];
    Philox::draw(seed ^ 0x5851F42D4C957F2DULL, epoch, w);
    const uint64_t epoch_key = (uint64_t(w[0]) << 32 | w[1]) ^ (uint64_t(w[2]) << 32 | w[3]);
    Philox::draw(epoch_key, index, w);
    key_ = (uint64_t(w[0]) << 32 | w[1]) ^ (uint64_t(w[2]) << 16);
}

uint32_t SampleRng::next_u32() {
    if (used_ == 4) {
        Philox::draw(key_, counter_++, words_);
        used_ = 0;
    }
    return words_[used_++];
}

double SampleRng::uniform() {
    const uint32_t hi = next_u32(), lo = next_u32();
    return Philox::to_unit_f64(hi, lo);
}

double SampleRng::uniform(double a, double b) { return a + (b - a) * uniform(); }

int64_t SampleRng::below(int64_t n) {
    WSDOL_CHECK(n >= 1, "SampleRng::below: n must be >= 1, got ", n);
    const uint64_t x = (uint64_t(next_u32()) << 32) | next_u32();
    // Multiply-shift: bias at most n / 2^64, irrelevant for image sizes.
    return static_cast<int64_t>((static_cast<unsigned __int128>(x) * static_cast<uint64_t>(n)) >> 64);
}

double SampleRng::normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

std::vector<int> SampleRng::permutation(int n) {
    std::vector<int> p(n);
    for (int i = 0; i < n; ++i) p[i] = i;
    for (int i = n - 1; i > 0; --i) std::swap(p[i], p[below(i + 1)]);
    return p;
}

// ---------------------------------------------------------------------------------------------------------------
// Plain geometric transforms.

Image hflip(const Image& image) {
    Image out = image;
    const int64_t C = image.channels, W = image.width;
    for (int64_t y = 0; y < image.height; ++y) {
        const uint8_t* src = image.pixels.data() + y * W * C;
        uint8_t* dst = out.pixels.data() + y * W * C;
        for (int64_t x = 0; x < W; ++x) std::memcpy(dst + x * C, src + (W - 1 - x) * C, C);
    }
    return out;
}

Image crop(const Image& image, int64_t top, int64_t left, int64_t height, int64_t width, uint8_t fill) {
    WSDOL_CHECK(height >= 0 && width >= 0, "crop: negative size ", height, "x", width);
    Image out;
    out.height = height;
    out.width = width;
    out.channels = image.channels;
    out.pixels.assign(height * width * image.channels, fill);
    const int64_t C = image.channels;
    const int64_t x0 = std::max<int64_t>(left, 0), x1 = std::min<int64_t>(left + width, image.width);
    if (x1 <= x0) return out;
    for (int64_t y = std::max<int64_t>(top, 0); y < std::min<int64_t>(top + height, image.height); ++y)
        std::memcpy(out.pixels.data() + ((y - top) * width + (x0 - left)) * C,
                    image.pixels.data() + (y * image.width + x0) * C, (x1 - x0) * C);
    return out;
}

Image resize(const Image& image, int64_t height, int64_t width, PilFilter filter) {
    WSDOL_CHECK(height > 0 && width > 0, "resize: output size must be positive, got ", height, "x", width);
    Image out;
    out.height = height;
    out.width = width;
    out.channels = image.channels;
    out.pixels = pil_resize(image.pixels.data(), image.height, image.width, image.channels, height, width, filter);
    return out;
}

// Pillow resizes with NEAREST through ImagingScaleAffine (Geometry.c): the source coordinate starts at
// 0.5 * scale and grows by scale per output pixel, accumulated in double (so a centre that falls exactly on an
// integer can land just below it), truncated; a coordinate outside the source leaves the pixel 0 (fill).
Image resize_nearest(const Image& image, int64_t height, int64_t width) {
    WSDOL_CHECK(height > 0 && width > 0, "resize_nearest: output size must be positive, got ", height, "x", width);
    Image out;
    out.height = height;
    out.width = width;
    out.channels = image.channels;
    out.pixels.assign(height * width * image.channels, 0);
    const double sx = double(image.width) / double(width), sy = double(image.height) / double(height);
    std::vector<int64_t> xs(width);
    double xo = sx * 0.5;
    for (int64_t x = 0; x < width; ++x, xo += sx) xs[x] = static_cast<int64_t>(xo);
    const int64_t C = image.channels;
    double yo = sy * 0.5;
    for (int64_t y = 0; y < height; ++y, yo += sy) {
        const int64_t ys = static_cast<int64_t>(yo);
        if (ys >= image.height) continue;
        for (int64_t x = 0; x < width; ++x)
            if (xs[x] < image.width)
                std::memcpy(&out.pixels[(y * width + x) * C], &image.pixels[(ys * image.width + xs[x]) * C], C);
    }
    return out;
}

// torchvision _compute_resized_output_size with an int size and no max_size.
Image resize_shorter(const Image& image, int64_t size, PilFilter filter) {
    const int64_t H = image.height, W = image.width;
    const int64_t s = std::min(H, W), l = std::max(H, W);
    const int64_t new_long = static_cast<int64_t>(double(size) * double(l) / double(s));
    return W <= H ? resize(image, new_long, size, filter) : resize(image, size, new_long, filter);
}

// torchvision F.center_crop: pads with zeros (symmetric, as F.pad) when the crop is larger, then crops at
// int(round((H - h) / 2.0)). Padding then cropping equals a PIL crop at a possibly negative offset.
Image center_crop(const Image& image, int64_t height, int64_t width) {
    const int64_t H = image.height, W = image.width;
    if (height > H || width > W) {
        // F.center_crop pads (h - H) // 2 on top and (h - H + 1) // 2 at the bottom, then crops at round().
        const int64_t pt = height > H ? (height - H) / 2 : 0, pl = width > W ? (width - W) / 2 : 0;
        const int64_t PH = height > H ? height : H, PW = width > W ? width : W;
        const int64_t top = static_cast<int64_t>(std::nearbyint((PH - height) / 2.0));
        const int64_t left = static_cast<int64_t>(std::nearbyint((PW - width) / 2.0));
        return crop(image, top - pt, left - pl, height, width, 0);
    }
    const int64_t top = static_cast<int64_t>(std::nearbyint((H - height) / 2.0));
    const int64_t left = static_cast<int64_t>(std::nearbyint((W - width) / 2.0));
    return crop(image, top, left, height, width, 0);
}

// np.round is round-half-to-even, as std::nearbyint in the default rounding mode.
Image resize_long(const Image& image, int64_t long_side, PilFilter filter) {
    const double scale = double(long_side) / double(std::max(image.height, image.width));
    const int64_t h = static_cast<int64_t>(std::nearbyint(image.height * scale));
    const int64_t w = static_cast<int64_t>(std::nearbyint(image.width * scale));
    return resize(image, h, w, filter);
}

// ---------------------------------------------------------------------------------------------------------------
// RandomResizedCrop (torchvision get_params). torch draws the two uniforms in float32 (torch.empty(1).uniform_)
// and takes exp of a float32 log-ratio; we draw them in double and round them to float at the same places, so
// the formulas are the same (the random numbers themselves are our own stream).
CropBox random_resized_crop_params(int64_t H, int64_t W, SampleRng& rng, std::array<double, 2> scale,
                                   std::array<double, 2> ratio) {
    WSDOL_CHECK(H > 0 && W > 0, "random_resized_crop: empty image ", H, "x", W);
    const double area = double(H) * double(W);
    const float log_lo = std::log(static_cast<float>(ratio[0])), log_hi = std::log(static_cast<float>(ratio[1]));
    for (int attempt = 0; attempt < 10; ++attempt) {
        const float s = static_cast<float>(rng.uniform(scale[0], scale[1]));
        const double target_area = area * double(s);
        const float log_r = static_cast<float>(rng.uniform(log_lo, log_hi));
        const double aspect = double(std::exp(log_r));
        // Python round(): half to even.
        const int64_t w = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area * aspect)));
        const int64_t h = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area / aspect)));
        if (0 < w && w <= W && 0 < h && h <= H) {
            CropBox b;
            b.height = h;
            b.width = w;
            b.top = rng.below(H - h + 1);
            b.left = rng.below(W - w + 1);
            return b;
        }
    }
    // Fallback: central crop clamped to the ratio range.
    const double in_ratio = double(W) / double(H);
    const double rmin = std::min(ratio[0], ratio[1]), rmax = std::max(ratio[0], ratio[1]);
    CropBox b;
    if (in_ratio < rmin) {
        b.width = W;
        b.height = static_cast<int64_t>(std::nearbyint(b.width / rmin));
    } else if (in_ratio > rmax) {
        b.height = H;
        b.width = static_cast<int64_t>(std::nearbyint(b.height * rmax));
    } else {
        b.width = W;
        b.height = H;
    }
    b.top = (H - b.height) / 2;
    b.left = (W - b.width) / 2;
    return b;
}

Image resized_crop(const Image& image, const CropBox& box, int64_t size, PilFilter filter) {
    return resize(crop(image, box.top, box.left, box.height, box.width, 0), size, size, filter);
}

// ---------------------------------------------------------------------------------------------------------------
// ToCo random_scaling / random_crop.

std::array<int64_t, 2> rescaled_size(int64_t H, int64_t W, double ratio) {
    // Python int() truncates toward zero.
    return {static_cast<int64_t>(ratio * double(H)), static_cast<int64_t>(ratio * double(W))};
}

Image rescale(const Image& image, double ratio, PilFilter filter) {
    const auto [h, w] = rescaled_size(image.height, image.width, ratio);
    return resize(image, h, w, filter);
}

Image rescale_nearest(const Image& image, double ratio) {
    const auto [h, w] = rescaled_size(image.height, image.width, ratio);
    return resize_nearest(image, h, w);
}

PadCrop pad_crop_params(int64_t h, int64_t w, int64_t crop, int64_t pad_top, int64_t pad_left, int64_t crop_top,
                        int64_t crop_left) {
    PadCrop p;
    p.crop = crop;
    p.pad_top = pad_top;
    p.pad_left = pad_left;
    p.crop_top = crop_top;
    p.crop_left = crop_left;
    // ToCo: img_H_start = max(H_pad - H_start, 0), img_H_end = min(crop, h + H_pad - H_start), same for W.
    p.img_box = {std::max<int64_t>(pad_top - crop_top, 0), std::min<int64_t>(crop, h + pad_top - crop_top),
                 std::max<int64_t>(pad_left - crop_left, 0), std::min<int64_t>(crop, w + pad_left - crop_left)};
    return p;
}

// ToCo: H = max(crop, h); H_pad = np.random.randint(H - h + 1); H_start = random.randrange(0, H - crop + 1);
// columns likewise (the draw order here: pad rows, pad columns, crop rows, crop columns).
PadCrop random_pad_crop_params(int64_t h, int64_t w, int64_t crop, SampleRng& rng) {
    WSDOL_CHECK(h > 0 && w > 0 && crop > 0, "random_pad_crop: bad sizes image ", h, "x", w, ", crop ", crop);
    const int64_t H = std::max(crop, h), W = std::max(crop, w);
    const int64_t pad_top = rng.below(H - h + 1), pad_left = rng.below(W - w + 1);
    const int64_t crop_top = rng.below(H - crop + 1), crop_left = rng.below(W - crop + 1);
    return pad_crop_params(h, w, crop, pad_top, pad_left, crop_top, crop_left);
}

// The crop window in image coordinates starts at (crop_top - pad_top, crop_left - pad_left); everything outside
// the image is the canvas fill.
Image pad_crop(const Image& image, const PadCrop& p, uint8_t fill) {
    return crop(image, p.crop_top - p.pad_top, p.crop_left - p.pad_left, p.crop, p.crop, fill);
}

Image rescale_flip_pad_crop(const Image& image, double ratio, bool flip, const PadCrop& p, PilFilter filter,
                            uint8_t fill) {
    const auto [h, w] = rescaled_size(image.height, image.width, ratio);
    WSDOL_CHECK(h > 0 && w > 0, "rescale: ratio ", ratio, " gives an empty image from ", image.height, "x",
                image.width);
    Image out;
    out.height = out.width = p.crop;
    out.channels = image.channels;
    out.pixels.assign(p.crop * p.crop * image.channels, fill);
    // The crop's top-left corner in (flipped) rescaled-image coordinates, and the visible part of the image.
    const int64_t oy = p.crop_top - p.pad_top, ox = p.crop_left - p.pad_left;
    const int64_t y0 = std::max<int64_t>(oy, 0), y1 = std::min<int64_t>(oy + p.crop, h);
    const int64_t x0 = std::max<int64_t>(ox, 0), x1 = std::min<int64_t>(ox + p.crop, w);
    if (y1 <= y0 || x1 <= x0) return out;
    // Columns [x0, x1) of the flipped image are columns [w - x1, w - x0) of the unflipped one, mirrored.
    const int64_t ux0 = flip ? w - x1 : x0;
    Image window;
    window.height = y1 - y0;
    window.width = x1 - x0;
    window.channels = image.channels;
    window.pixels = pil_resize_window(image.pixels.data(), image.height, image.width, image.channels, h, w, filter,
                                      y0, ux0, y1 - y0, x1 - x0);
    if (flip) window = hflip(window);
    const int64_t C = image.channels;
    for (int64_t y = 0; y < window.height; ++y)
        std::memcpy(&out.pixels[((y0 - oy + y) * p.crop + (x0 - ox)) * C], &window.pixels[y * window.width * C],
                    window.width * C);
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisation, f32 as torchvision: ToTensor divides by 255 in f32, Normalize subtracts then divides in f32.

void normalize_into(const Image& image, const std::array<float, 3>& mean, const std::array<float, 3>& std,
                    float* out) {
    WSDOL_CHECK(image.channels == 3, "normalize: expected a 3-channel image, got ", image.channels, " channels");
    const int64_t HW = image.height * image.width;
    float lut[3][256];
    for (int c = 0; c < 3; ++c)
        for (int v = 0; v < 256; ++v) lut[c][v] = (static_cast<float>(v) / 255.0f - mean[c]) / std[c];
    const uint8_t* px = image.pixels.data();
    for (int c = 0; c < 3; ++c) {
        float* dst = out + c * HW;
        for (int64_t i = 0; i < HW; ++i) dst[i] = lut[c][px[i * 3 + c]];
    }
}

Tensor normalize(const Image& image, const std::array<float, 3>& mean, const std::array<float, 3>& std) {
    Tensor t = Tensor::empty({3, image.height, image.width}, DType::f32);
    normalize_into(image, mean, std, t.data<float>());
    return t;
}

}  // namespace wsdol::data
