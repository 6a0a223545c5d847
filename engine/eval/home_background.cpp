// home_background.cpp — the home-background fraction of seeds (see home_background.h).
#include "engine/eval/home_background.h"

#include <limits>

#include "engine/core/error.h"
#include "engine/data/synth.h"

namespace wsdol::eval {

namespace {
double ratio(int64_t a, int64_t b) { return b > 0 ? double(a) / double(b) : std::numeric_limits<double>::quiet_NaN(); }
}  // namespace

double HomeBackgroundClass::home_fraction() const { return ratio(home_marked, home_pixels); }
double HomeBackgroundClass::away_fraction() const { return ratio(away_marked, away_pixels); }

HomeBackgroundMeter::HomeBackgroundMeter(int num_foreground) {
    WSDOL_CHECK(num_foreground >= 1 && num_foreground <= data::kSynthMaxClasses,
                "home background: the synthetic benchmark has 1..", data::kSynthMaxClasses,
                " foreground classes, got ", num_foreground);
    per_class_.resize(size_t(num_foreground));
}

void HomeBackgroundMeter::add(const uint8_t* gt, const uint8_t* pred, int64_t n, const std::vector<int>& classes,
                              int background) {
    const int K = int(per_class_.size());
    WSDOL_CHECK(background >= 0 && background < int(data::synth_background_names().size()),
                "home background: background index ", background, " is not a synth background");
    for (int k : classes) {
        WSDOL_CHECK(k >= 1 && k <= K, "home background: class ", k, " is not in 1..", K);
        HomeBackgroundClass& c = per_class_[size_t(k - 1)];
        int64_t pixels = 0, marked = 0;
        for (int64_t i = 0; i < n; ++i)
            if (gt[i] == 0) {
                ++pixels;
                marked += pred[i] == k;
            }
        if (data::synth_home_background(k) == background) {
            ++c.home_images, c.home_pixels += pixels, c.home_marked += marked;
        } else {
            ++c.away_images, c.away_pixels += pixels, c.away_marked += marked;
        }
    }
}

}  // namespace wsdol::eval
