// test_eval_contours.cpp — find_contours / contour_area / bounding_rect against cv2 on the seeded mask fixture
// (tests/reference/eval/gen_contour_boxes.py): same contours, same order, same hierarchy, same vertices.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine/eval/contours.h"
#include "tests/test_eval_util.h"

namespace wsdol::eval {
namespace {

struct ExpectedContour {
    int parent = -1;
    double area = 0;
    Rect rect;
    std::vector<Point> points;
};

struct MaskCase {
    int index = 0;
    std::string kind;
    int64_t h = 0, w = 0;
    std::vector<uint8_t> mask;
    std::vector<ExpectedContour> tree, external;
    int largest = -1;
};

std::vector<ExpectedContour> read_contours(std::istream& in, const std::string& word) {
    std::string line, tag;
    std::getline(in, line);
    std::istringstream head(line);
    size_t n = 0;
    head >> tag >> n;
    EXPECT_EQ(tag, word);
    std::vector<ExpectedContour> out(n);
    for (auto& c : out) {
        std::getline(in, line);
        std::istringstream s(line);
        size_t np = 0;
        s >> c.parent >> c.area >> c.rect.x >> c.rect.y >> c.rect.width >> c.rect.height >> np;
        c.points.resize(np);
        for (auto& p : c.points) s >> p.x >> p.y;
    }
    return out;
}

std::vector<MaskCase> load_cases() {
    std::ifstream in(test::eval_fixture("contour_boxes.txt"));
    EXPECT_TRUE(in.good());
    std::vector<MaskCase> cases;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream s(line);
        std::string tag;
        MaskCase c;
        s >> tag >> c.index >> c.kind >> c.h >> c.w;
        EXPECT_EQ(tag, "mask");
        for (int64_t y = 0; y < c.h; ++y) {
            std::getline(in, line);
            EXPECT_EQ(static_cast<int64_t>(line.size()), c.w);
            for (char ch : line) c.mask.push_back(ch == '1');
        }
        c.tree = read_contours(in, "tree");
        c.external = read_contours(in, "external");
        std::getline(in, line);
        std::istringstream l(line);
        l >> tag >> c.largest;
        EXPECT_EQ(tag, "largest");
        cases.push_back(std::move(c));
    }
    return cases;
}

void expect_same(const std::vector<Contour>& got, const std::vector<ExpectedContour>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        SCOPED_TRACE("contour " + std::to_string(i));
        EXPECT_EQ(got[i].parent, want[i].parent);
        EXPECT_EQ(contour_area(got[i].points), want[i].area);
        EXPECT_EQ(bounding_rect(got[i].points), want[i].rect);
        EXPECT_EQ(got[i].points, want[i].points);
    }
}

TEST(EvalContours, MatchOpenCVOnFixture) {
    const auto cases = load_cases();
    ASSERT_EQ(cases.size(), 119u);
    int64_t contours_checked = 0;
    for (const auto& c : cases) {
        SCOPED_TRACE("mask " + std::to_string(c.index) + " (" + c.kind + ")");
        const auto tree = find_contours(c.mask.data(), c.h, c.w, ContourRetrieval::tree);
        expect_same(tree, c.tree);
        EXPECT_EQ(largest_contour(tree), c.largest);
        expect_same(find_contours(c.mask.data(), c.h, c.w, ContourRetrieval::external), c.external);
        contours_checked += static_cast<int64_t>(c.tree.size() + c.external.size());
    }
    EXPECT_GT(contours_checked, 1000);
}

TEST(EvalContours, HoleFlagsAlternateWithNesting) {
    // A ring around an island: outer border, its hole, the island inside the hole.
    const int64_t h = 9, w = 9;
    std::vector<uint8_t> m(h * w, 0);
    for (int y = 1; y < 8; ++y)
        for (int x = 1; x < 8; ++x) m[y * w + x] = (y == 1 || y == 7 || x == 1 || x == 7 || (y == 4 && x == 4));
    const auto tree = find_contours(m.data(), h, w, ContourRetrieval::tree);
    ASSERT_EQ(tree.size(), 3u);
    EXPECT_FALSE(tree[0].is_hole);
    EXPECT_EQ(tree[0].parent, -1);
    EXPECT_TRUE(tree[1].is_hole);
    EXPECT_EQ(tree[1].parent, 0);
    EXPECT_FALSE(tree[2].is_hole);
    EXPECT_EQ(tree[2].parent, 1);
    EXPECT_EQ(contour_area(tree[0].points), 36.0);  // (7-1) x (7-1) through pixel centres
    EXPECT_EQ(bounding_rect(tree[0].points), (Rect{1, 1, 7, 7}));
    EXPECT_EQ(contour_area(tree[2].points), 0.0);  // a single pixel
    // RETR_EXTERNAL drops the hole and the island inside it.
    EXPECT_EQ(find_contours(m.data(), h, w, ContourRetrieval::external).size(), 1u);
}

TEST(EvalContours, AreaAndRectConventions) {
    EXPECT_EQ(contour_area({}), 0.0);
    EXPECT_EQ(contour_area({{3, 4}}), 0.0);
    EXPECT_EQ(contour_area({{0, 0}, {4, 0}}), 0.0);
    EXPECT_EQ(contour_area({{0, 0}, {0, 2}, {3, 2}, {3, 0}}), 6.0);  // either orientation counts positive
    EXPECT_EQ(contour_area({{0, 0}, {1, 1}, {0, 1}}), 0.5);
    EXPECT_EQ(bounding_rect({{2, 5}}), (Rect{2, 5, 1, 1}));
    EXPECT_EQ(bounding_rect({{2, 5}, {7, 1}, {4, 9}}), (Rect{2, 1, 6, 9}));
    EXPECT_EQ(largest_contour({}), -1);
    EXPECT_TRUE(find_contours(nullptr, 0, 5, ContourRetrieval::tree).empty());
}

}  // namespace
}  // namespace wsdol::eval
