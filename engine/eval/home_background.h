// home_background.h — how much of a class's "home" background a seed marks as that class: the synthetic
// benchmark's trap (engine/data/synth.h: each class k has a home background, (k - 1) % 6, which the scene takes
// with the difficulty's probability, like boats on water), i.e. what CLIMS's background-suppression loss (L_CBS,
// ../shared/docs/methods.md §4.2) is meant to remove.
//
// For class k: over the images that contain k (image-level labels) and whose scene background is k's home, the
// pixels whose ground truth is background (0; 255 and objects are not counted), and of those the ones a
// prediction labels k. The same counts over the images that contain k on another background ("away") tell a
// home-specific leak from a general one. fraction = marked / pixels (NaN when there are no such pixels).
#pragma once
#include <cstdint>
#include <vector>

namespace wsdol::eval {

struct HomeBackgroundClass {
    int64_t home_images = 0, home_pixels = 0, home_marked = 0;  // images with k on its home background
    int64_t away_images = 0, away_pixels = 0, away_marked = 0;  // images with k on another background
    double home_fraction() const;  // home_marked / home_pixels, NaN when 0 pixels
    double away_fraction() const;
};

class HomeBackgroundMeter {
public:
    explicit HomeBackgroundMeter(int num_foreground);  // K: classes 1..K
    // gt, pred: n labels (0 background, k class k, 255 void in gt); classes: the image's foreground classes
    // (1..K); background: the scene's background index (0..5, synth_background_names()).
    void add(const uint8_t* gt, const uint8_t* pred, int64_t n, const std::vector<int>& classes, int background);
    // class k at index k - 1
    const std::vector<HomeBackgroundClass>& classes() const { return per_class_; }

private:
    std::vector<HomeBackgroundClass> per_class_;
};

}  // namespace wsdol::eval
