// contours.h — border following on binary masks, as OpenCV's findContours does it (Suzuki & Abe 1985,
// "Topological structural analysis of digitized binary images by border following"), plus contourArea and
// boundingRect. The WSOL box metrics (wsolevaluation, TS-CAM, CDTR) all take "the largest contour's bounding
// box" from cv2.findContours(mask, RETR_TREE, CHAIN_APPROX_SIMPLE); reproducing their numbers needs the same
// contours IN THE SAME ORDER, because max(contours, key=cv2.contourArea) keeps the first of equal areas.
//
// What is reproduced (checked against opencv-python on the fixture of tests/reference/eval/gen_contour_boxes.py):
//  - foreground = nonzero, 8-connected; background 4-connected; the image is padded with a zero border, so
//    components touching the image edge are traced like any other.
//  - the raster scan, the border-start rules (outer: 0 then unvisited 1; hole: pixel >= 1 then 0), the pixel
//    labelling while tracing (negative label where the right neighbour was examined and is 0), the parent rule
//    through the last border met on the row (LNBD), and RETR_EXTERNAL's skip rule.
//  - the tracing order (first neighbour searched clockwise from the west for outer borders / from the east for
//    holes, then counter-clockwise around each pixel) and CHAIN_APPROX_SIMPLE's vertices (one point where the
//    chain direction changes).
//  - the output order: OpenCV inserts each new contour at the HEAD of its parent's child list and lists the tree
//    depth-first (a node, then its children, then its next sibling). Siblings therefore come in reverse order of
//    discovery, and the last-found of equally large components wins a max-area tie.
// Labels are plain ints here (OpenCV's 8-bit scanner wraps its labels mod 127 and disambiguates through bounding
// rectangles; with distinct labels the parent found is the same border).
#pragma once
#include <cstdint>
#include <vector>

namespace wsdol::eval {

struct Point {
    int x = 0, y = 0;
    bool operator==(const Point& o) const { return x == o.x && y == o.y; }
};

struct Rect {
    int x = 0, y = 0, width = 0, height = 0;  // boundingRect: width = max_x - min_x + 1
    bool operator==(const Rect& o) const { return x == o.x && y == o.y && width == o.width && height == o.height; }
};

struct Contour {
    std::vector<Point> points;  // CHAIN_APPROX_SIMPLE vertices, in OpenCV's order (first = start pixel)
    bool is_hole = false;       // a hole border (RETR_TREE only; external contours are outer borders)
    int parent = -1;            // index of the enclosing contour in the returned list (-1: none), as hierarchy[i][3]
};

enum class ContourRetrieval {
    external,  // cv2.RETR_EXTERNAL: outer borders of components not inside a hole of another component
    tree,      // cv2.RETR_TREE: every outer and hole border, with the full nesting
};

// mask: (H, W) row-major, nonzero = foreground. Contours in cv2.findContours' order.
std::vector<Contour> find_contours(const uint8_t* mask, int64_t height, int64_t width, ContourRetrieval mode);

// cv2.contourArea (non-oriented): |shoelace area| of the polygon through the vertices (pixel centres). A single
// pixel or a 1-pixel-thin line has area 0; a solid w x h rectangle (w-1)(h-1).
double contour_area(const std::vector<Point>& points);

// cv2.boundingRect of the vertices.
Rect bounding_rect(const std::vector<Point>& points);

// Index of the contour with the largest area, the first one on ties (Python's max(contours, key=contourArea));
// -1 when the list is empty.
int largest_contour(const std::vector<Contour>& contours);

}  // namespace wsdol::eval
