// mask_gt.cpp — OpenCV nearest-neighbour resize and the wsolevaluation mask GT of mask_gt.h.
#include "engine/eval/mask_gt.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/data/image_io.h"

namespace wsdol::eval {

std::vector<uint8_t> resize_nearest(const uint8_t* src, int64_t src_h, int64_t src_w, int64_t dst_h, int64_t dst_w) {
    WSDOL_CHECK(src_h > 0 && src_w > 0 && dst_h > 0 && dst_w > 0, "resize_nearest: bad sizes ", src_h, "x", src_w,
                " -> ", dst_h, "x", dst_w);
    // OpenCV resize(): inv_scale = dst / src; resizeNN uses ifx = 1 / inv_scale and floor(x * ifx).
    const double ifx = 1.0 / (static_cast<double>(dst_w) / static_cast<double>(src_w));
    const double ify = 1.0 / (static_cast<double>(dst_h) / static_cast<double>(src_h));
    std::vector<int64_t> sx(static_cast<size_t>(dst_w));
    for (int64_t x = 0; x < dst_w; ++x)
        sx[x] = std::min(static_cast<int64_t>(std::floor(static_cast<double>(x) * ifx)), src_w - 1);
    std::vector<uint8_t> out(static_cast<size_t>(dst_h * dst_w));
    for (int64_t y = 0; y < dst_h; ++y) {
        const int64_t sy = std::min(static_cast<int64_t>(std::floor(static_cast<double>(y) * ify)), src_h - 1);
        const uint8_t* row = src + sy * src_w;
        for (int64_t x = 0; x < dst_w; ++x) out[y * dst_w + x] = row[sx[x]];
    }
    return out;
}

MaskGt wsol_mask_gt(const std::vector<std::string>& mask_paths, const std::string& ignore_path, int64_t size) {
    WSDOL_CHECK(!mask_paths.empty(), "mask GT: no instance masks");
    MaskGt gt;
    gt.height = gt.width = size;
    const size_t n = static_cast<size_t>(size * size);
    std::vector<uint8_t> fg(n, 0);
    for (const std::string& path : mask_paths) {
        // cv2.imread(path, IMREAD_GRAYSCALE): 1-bit masks read as 0/255, colour masks converted to grey.
        const data::Image m = data::read_image(path, data::ColorMode::gray);
        const auto r = resize_nearest(m.pixels.data(), m.height, m.width, size, size);
        for (size_t i = 0; i < n; ++i) fg[i] |= r[i] > 0;  // > 0.5 on the float grey value
    }
    std::vector<uint8_t> ignore(n, 0);
    if (!ignore_path.empty()) {
        const data::Image m = data::read_image(ignore_path, data::ColorMode::gray);
        ignore = resize_nearest(m.pixels.data(), m.height, m.width, size, size);
    }
    gt.labels.resize(n);
    for (size_t i = 0; i < n; ++i) {
        if (fg[i]) {
            gt.labels[i] = 1;
            ++gt.positives;
        } else if (ignore[i] > 0) {
            gt.labels[i] = 255;
            ++gt.ignored;
        } else {
            gt.labels[i] = 0;
            ++gt.negatives;
        }
    }
    return gt;
}

}  // namespace wsdol::eval
