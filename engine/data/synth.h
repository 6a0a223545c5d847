// synth.h — the synthetic localization benchmark behind `wsdol synth` and the demo.
//
// Each image shows 1-3 objects of K shape classes (circle, square, triangle, star, ring, cross, diamond, hexagon,
// heart, crescent; K <= 10) with a class-specific texture, random colour, scale, rotation and position, drawn in
// random order so later objects occlude earlier ones, over one of six textured backgrounds (water, rails, grass,
// sand, sky, bricks) plus distractor clutter (small strokes and blobs that belong to the background).
// The weak-supervision trap: every class has a "home" background and the scene takes the home background of
// its first object with a probability set by the difficulty (like trains on rails and boats on water), so a
// classifier is rewarded for activating the background. Captions name each visible object with its colour and
// the background ("a red star and a blue ring on water").
//
// Masks hold 0 for background, k for class k (1..K), and 255 (ignore, as VOC's void) for the pixels of an object
// whose visible area is smaller than kMinVisiblePixels: such slivers are neither labelled nor captioned.
// Deterministic: image i depends only on (seed, i, config), never on thread count or on other images.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace wsdol::data {

enum class SynthDifficulty { easy, medium, hard };
SynthDifficulty parse_synth_difficulty(const std::string& name);  // "easy" | "medium" | "hard"
const char* synth_difficulty_name(SynthDifficulty difficulty);

struct SynthConfig {
    int classes = 6;         // K, 1..10
    int64_t images = 200;
    int64_t size = 128;      // images are size x size
    uint64_t seed = 0;
    SynthDifficulty difficulty = SynthDifficulty::medium;
    double val_fraction = 0.2;  // the last images form the val split
    // Overrides of the difficulty's settings (for object-centric pretraining sets and control runs):
    double home_probability = -1;  // in [0, 1]: chance the scene takes its first object's home background; < 0: the
                                   // difficulty's (0 makes backgrounds independent of the classes)
    int max_objects = 0;           // 1..3 objects at most per scene; 0: the difficulty's
    // Background-only scenes (for image-text pairs and zero-shot tests that name the backgrounds): no objects, the
    // background drawn uniformly (clutter and occluder as the difficulty says), labels empty, the mask all 0, the
    // caption "nothing <phrase>" ("nothing on water"). false: the ordinary scenes, unchanged.
    bool background_only = false;
};

constexpr int kSynthMaxClasses = 10;
constexpr int64_t kMinVisiblePixels = 16;

struct SynthImage {
    std::string id;                // "synth_000042"
    int64_t size = 0;
    std::vector<uint8_t> rgb;      // (S, S, 3), row-major
    std::vector<uint8_t> mask;     // (S, S): 0 background, 1..K classes, 255 ignore
    std::vector<int> labels;       // visible classes, ascending, each in 1..K
    std::string background;        // "water", ...
    std::string caption;
};

std::vector<std::string> synth_class_names(int classes);  // K names, class k is names[k - 1]
std::vector<std::string> synth_background_names();  // "water", "rails", "grass", "sand", "sky", "bricks"
// The caption phrase of each background, as captions end: "on water", ..., "in the sky", "against bricks".
std::vector<std::string> synth_background_phrases();
std::string synth_image_id(int64_t index);
// The home background of foreground class k (1..K): index (k - 1) % 6 into synth_background_names() — the scene
// takes its first object's home background with the difficulty's probability.
int synth_home_background(int class_id);
// The background index a caption names (captions end with one of synth_background_phrases()); -1 when none.
int synth_caption_background(const std::string& caption);

// Renders image `index` of the dataset described by `config`.
SynthImage synth_image(const SynthConfig& config, int64_t index);

}  // namespace wsdol::data
