// contours.cpp — Suzuki-Abe border following with OpenCV's scan, labelling, tracing and ordering conventions
// (see contours.h). Written from the paper and the behaviour of cv2.findContours; no OpenCV code.
#include "engine/eval/contours.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace wsdol::eval {

namespace {

// Chain-code directions, counter-clockwise as seen on screen (y grows downwards):
// 0 east, 1 north-east, 2 north, 3 north-west, 4 west, 5 south-west, 6 south, 7 south-east.
constexpr int kDx[8] = {1, 1, 0, -1, -1, -1, 0, 1};
constexpr int kDy[8] = {0, -1, -1, -1, 0, 1, 1, 1};

struct Node {
    Contour contour;
    int parent = -1;  // node index, -1 = the image frame
    std::vector<int> children;  // in order of discovery
};

class Scanner {
public:
    Scanner(const uint8_t* mask, int64_t height, int64_t width, ContourRetrieval mode)
        : h_(height), w_(width), stride_(width + 2), mode_(mode) {
        // Padded label image: 0 background, 1 unvisited foreground, +n / -n pixels of border n (n >= 2).
        img_.assign(static_cast<size_t>((height + 2) * stride_), 0);
        for (int64_t y = 0; y < height; ++y)
            for (int64_t x = 0; x < width; ++x) img_[(y + 1) * stride_ + x + 1] = mask[y * width + x] != 0;
        for (int s = 0; s < 16; ++s) delta_[s] = kDx[s & 7] + kDy[s & 7] * stride_;
    }

    std::vector<Contour> run() {
        // Raster scan over the padded interior columns 1..W of rows 1..H (as OpenCV's scanner, which stops
        // before the last padded column).
        for (int64_t y = 1; y <= h_; ++y) {
            int64_t lnbd_x = 0;  // last border pixel met on this row (column 0 = the frame)
            int prev = 0;
            for (int64_t x = 1; x <= w_; ++x) {
                const int p = img_[y * stride_ + x];
                if (p == prev) continue;
                bool is_hole = false;
                bool start = false;
                if (prev == 0 && p == 1) {
                    start = true;  // outer border
                } else if (p == 0 && prev >= 1) {
                    start = true;  // hole border, traced from the foreground pixel on the left
                    is_hole = true;
                    if (prev != 1) lnbd_x = x - 1;
                }
                if (start && mode_ == ContourRetrieval::external &&
                    (is_hole || img_[y * stride_ + lnbd_x] > 0))
                    start = false;
                if (!start) {
                    prev = p;
                    if (p != 0 && p != 1) lnbd_x = x;
                    continue;
                }
                const int64_t sx = x - (is_hole ? 1 : 0);
                int parent = -1;
                if (mode_ == ContourRetrieval::tree && lnbd_x > 0) {
                    // The border that owns the last border pixel met; a border of the same kind shares its parent,
                    // a border of the other kind is the parent (Suzuki & Abe, table 1).
                    const int label = std::abs(img_[y * stride_ + lnbd_x]);
                    parent = label_to_node_[label];
                    if (nodes_[parent].contour.is_hole == is_hole) parent = nodes_[parent].parent;
                }
                lnbd_x = sx;
                const int label = mode_ == ContourRetrieval::tree ? next_label_++ : 2;
                Node node;
                node.contour.is_hole = is_hole;
                node.parent = parent;
                trace(y * stride_ + sx, is_hole, label, node.contour.points);
                const int id = static_cast<int>(nodes_.size());
                if (mode_ == ContourRetrieval::tree) label_to_node_.push_back(id);
                nodes_.push_back(std::move(node));
                (parent < 0 ? roots_ : nodes_[parent].children).push_back(id);
                // Resume after the start pixel, whose value the tracing may have changed.
                prev = img_[y * stride_ + x];
            }
        }
        // OpenCV's order: depth-first, each child list newest first.
        std::vector<Contour> out;
        std::vector<int> index_of(nodes_.size(), -1);
        out.reserve(nodes_.size());
        emit(roots_, -1, index_of, out);
        return out;
    }

private:
    // Follows the border starting at padded index i0, labels its pixels, and appends the CHAIN_APPROX_SIMPLE
    // vertices (unpadded coordinates).
    void trace(int64_t i0, bool is_hole, int label, std::vector<Point>& points) {
        Point pt{static_cast<int>(i0 % stride_) - 1, static_cast<int>(i0 / stride_) - 1};
        // First neighbour, searched clockwise starting next to the known 0 pixel (west for an outer border, east
        // for a hole).
        int s_end = is_hole ? 0 : 4;
        int s = s_end;
        int64_t i1 = 0;
        do {
            s = (s - 1) & 7;
            i1 = i0 + delta_[s];
        } while (img_[i1] == 0 && s != s_end);
        if (s == s_end) {  // isolated pixel
            img_[i0] = -label;
            points.push_back(pt);
            return;
        }
        int64_t i3 = i0, i4 = 0;
        int prev_s = s ^ 4;
        for (;;) {
            // Counter-clockwise around i3, starting after the direction we came from.
            s_end = s;
            while (s < 15) {
                i4 = i3 + delta_[++s];
                if (img_[i4] != 0) break;
            }
            s &= 7;
            // The east neighbour was examined and is 0: a right-hand border pixel (negative label).
            if (static_cast<unsigned>(s - 1) < static_cast<unsigned>(s_end)) {
                img_[i3] = -label;
            } else if (img_[i3] == 1) {
                img_[i3] = label;
            }
            if (s != prev_s) {  // CHAIN_APPROX_SIMPLE: keep the points where the direction changes
                points.push_back(pt);
                prev_s = s;
            }
            pt.x += kDx[s];
            pt.y += kDy[s];
            if (i4 == i0 && i3 == i1) break;
            i3 = i4;
            s = (s + 4) & 7;
        }
    }

    void emit(const std::vector<int>& siblings, int parent_index, std::vector<int>& index_of, std::vector<Contour>& out) {
        for (auto it = siblings.rbegin(); it != siblings.rend(); ++it) {
            Node& n = nodes_[*it];
            index_of[*it] = static_cast<int>(out.size());
            n.contour.parent = parent_index;
            out.push_back(std::move(n.contour));
            emit(n.children, index_of[*it], index_of, out);
        }
    }

    int64_t h_, w_, stride_;
    ContourRetrieval mode_;
    std::vector<int> img_;
    int64_t delta_[16];
    std::vector<Node> nodes_;
    std::vector<int> roots_;
    std::vector<int> label_to_node_ = {-1, -1};  // labels start at 2
    int next_label_ = 2;
};

}  // namespace

std::vector<Contour> find_contours(const uint8_t* mask, int64_t height, int64_t width, ContourRetrieval mode) {
    WSDOL_CHECK(height >= 0 && width >= 0, "find_contours: bad mask size ", height, "x", width);
    WSDOL_CHECK(height < (int64_t(1) << 30) / std::max<int64_t>(width + 2, 1), "find_contours: mask too large (",
                height, "x", width, ")");
    if (height == 0 || width == 0) return {};
    return Scanner(mask, height, width, mode).run();
}

double contour_area(const std::vector<Point>& points) {
    // Same accumulation as cv::contourArea: sum of prev.x*p.y - prev.y*p.x starting from the last vertex.
    if (points.empty()) return 0.0;
    double a = 0.0;
    Point prev = points.back();
    for (const Point& p : points) {
        a += static_cast<double>(prev.x) * p.y - static_cast<double>(prev.y) * p.x;
        prev = p;
    }
    return std::fabs(a * 0.5);
}

Rect bounding_rect(const std::vector<Point>& points) {
    if (points.empty()) return Rect{};
    int x0 = points[0].x, x1 = x0, y0 = points[0].y, y1 = y0;
    for (const Point& p : points) {
        x0 = std::min(x0, p.x);
        x1 = std::max(x1, p.x);
        y0 = std::min(y0, p.y);
        y1 = std::max(y1, p.y);
    }
    return Rect{x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

int largest_contour(const std::vector<Contour>& contours) {
    int best = -1;
    double best_area = 0.0;
    for (size_t i = 0; i < contours.size(); ++i) {
        const double a = contour_area(contours[i].points);
        if (best < 0 || a > best_area) {
            best = static_cast<int>(i);
            best_area = a;
        }
    }
    return best;
}

}  // namespace wsdol::eval
