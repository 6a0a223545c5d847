// synth.cpp — rendering of the synthetic localization benchmark (see synth.h for what a scene contains).
#include "engine/data/synth.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "engine/core/error.h"
#include "engine/core/rng.h"

namespace wsdol::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A per-image stream: splitmix64 seeded from Philox(seed, index), so image i never depends on image j.
class Stream {
public:
    Stream(uint64_t seed, uint64_t index) {
        uint32_t words[4];
        Philox::draw(seed, index, words);
        state_ = (uint64_t(words[0]) << 32 | words[1]) ^ (uint64_t(words[2]) << 32 | words[3]);
    }
    uint64_t next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    int64_t range(int64_t lo, int64_t hi) { return lo + int64_t(next() % uint64_t(hi - lo + 1)); }  // [lo, hi]
    bool chance(double p) { return uniform() < p; }

private:
    uint64_t state_ = 0;
};

// Stateless per-pixel noise in [0, 1): a hash of (image key, x, y).
double pixel_noise(uint64_t key, int64_t x, int64_t y) {
    uint64_t z = key ^ (uint64_t(y) * 0x9E3779B97F4A7C15ull) ^ (uint64_t(x) * 0xC2B2AE3D27D4EB4Full);
    z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDull;
    z = (z ^ (z >> 33)) * 0xC4CEB9FE1A85EC53ull;
    z ^= z >> 33;
    return double(z >> 11) * (1.0 / 9007199254740992.0);
}

struct Rgb {
    double r, g, b;
};
uint8_t to_byte(double v) { return uint8_t(std::clamp(std::lround(v), 0l, 255l)); }

struct NamedColour {
    const char* name;
    Rgb rgb;
};
constexpr std::array<NamedColour, 10> kColours = {{{"red", {220, 40, 40}},
                                                    {"green", {40, 170, 60}},
                                                    {"blue", {40, 80, 220}},
                                                    {"yellow", {235, 210, 40}},
                                                    {"orange", {240, 140, 30}},
                                                    {"purple", {150, 60, 190}},
                                                    {"white", {240, 240, 240}},
                                                    {"black", {30, 30, 30}},
                                                    {"pink", {240, 120, 180}},
                                                    {"brown", {130, 80, 40}}}};

const std::array<const char*, kSynthMaxClasses> kShapeNames = {
    "circle", "square", "triangle", "star", "ring", "cross", "diamond", "hexagon", "heart", "crescent"};

enum Background { water, rails, grass, sand, sky, bricks, kBackgrounds };
const std::array<const char*, kBackgrounds> kBackgroundNames = {"water", "rails", "grass", "sand", "sky", "bricks"};
const std::array<const char*, kBackgrounds> kBackgroundPhrases = {"on water", "on rails", "on grass",
                                                                  "on sand",  "in the sky", "against bricks"};

// Regular n-gon of circumradius 1 with a vertex at angle `offset`: polar test against the apothem.
bool in_polygon(double u, double v, int n, double offset) {
    const double r = std::sqrt(u * u + v * v);
    const double sector = 2.0 * kPi / n;
    double a = std::atan2(v, u) - offset + sector / 2.0;
    a = a - sector * std::floor(a / sector) - sector / 2.0;  // angle from the nearest vertex, in [-s/2, s/2)
    // The edge between two vertices is at distance cos(pi/n) from the centre along its normal.
    return r * std::cos(std::fabs(a) - sector / 2.0) <= std::cos(kPi / n);
}

// Shape membership in the object's frame: u, v in units of the object's radius (v points down).
bool inside_shape(int shape, double u, double v) {
    const double r2 = u * u + v * v;
    switch (shape) {
        case 0: return r2 <= 1.0;                                     // circle
        case 1: return std::max(std::fabs(u), std::fabs(v)) <= 0.8;  // square
        case 2: return in_polygon(u, v, 3, -kPi / 2);                // triangle, apex up
        case 3: {                                                     // five-pointed star
            const double a = std::atan2(v, u) + kPi / 2;
            const double sector = 2.0 * kPi / 5;
            const double t = std::fabs((a - sector * std::floor(a / sector)) / sector - 0.5) * 2.0;  // 1 at a point
            return std::sqrt(r2) <= 0.42 + 0.58 * t;
        }
        case 4: return r2 <= 1.0 && r2 >= 0.55 * 0.55;  // ring
        case 5:                                          // cross
            return (std::fabs(u) <= 0.3 && std::fabs(v) <= 0.95) || (std::fabs(v) <= 0.3 && std::fabs(u) <= 0.95);
        case 6: return std::fabs(u) / 0.65 + std::fabs(v) <= 1.0;  // diamond
        case 7: return in_polygon(u, v, 6, 0.0);                   // hexagon
        case 8: {                                                   // heart: (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0
            const double x = u * 1.15, y = -v * 1.15 + 0.15;
            const double q = x * x + y * y - 1.0;
            return q * q * q - x * x * y * y * y <= 0.0;
        }
        default: {  // crescent: a disk minus an offset disk
            const double du = u - 0.45, dv = v + 0.2;
            return r2 <= 1.0 && du * du + dv * dv > 0.75 * 0.75;
        }
    }
}

// Class texture in the object's frame, as a brightness factor: classes share the four patterns in turn.
double texture(int shape, double u, double v) {
    switch (shape % 4) {
        case 0: return 1.0 - 0.15 * (u * u + v * v);                             // solid, shaded
        case 1: return std::sin(u * kPi * 3.0) > 0.0 ? 1.0 : 0.62;               // stripes
        case 2: {                                                                 // dots
            const double fu = u * 3.0 - std::floor(u * 3.0) - 0.5, fv = v * 3.0 - std::floor(v * 3.0) - 0.5;
            return fu * fu + fv * fv < 0.09 ? 0.55 : 1.0;
        }
        default: return (int(std::floor(u * 2.5)) + int(std::floor(v * 2.5))) % 2 == 0 ? 1.0 : 0.65;  // checker
    }
}

struct Difficulty {
    double home_probability;    // the scene takes the first object's home background
    double min_radius, max_radius;  // object radius as a fraction of the image size
    int max_objects;
    int min_clutter, max_clutter;
    double occluder_probability;  // a pole drawn over the objects (background label)
};
Difficulty difficulty_of(SynthDifficulty d) {
    switch (d) {
        case SynthDifficulty::easy: return {0.5, 0.14, 0.30, 2, 0, 2, 0.0};
        case SynthDifficulty::medium: return {0.75, 0.09, 0.28, 3, 2, 5, 0.15};
        default: return {0.9, 0.06, 0.25, 3, 5, 10, 0.35};
    }
}

Rgb background_pixel(int background, int64_t x, int64_t y, int64_t S, uint64_t key, const double* params) {
    const double n = pixel_noise(key, x, y) - 0.5;  // [-0.5, 0.5)
    switch (background) {
        case water: {
            const double wave = std::sin(0.35 * y * 128.0 / S + 2.0 * std::sin(0.08 * x * 128.0 / S + params[0]));
            const double light = wave > 0.7 ? 45.0 : 0.0;
            return {30 + light + 20 * n, 90 + light + 20 * n, 170 + light * 0.6 + 20 * n};
        }
        case rails: {
            const double yy = y / double(S);
            const double rail0 = params[1], rail1 = params[1] + 0.22;
            const bool on_rail = std::fabs(yy - rail0) < 0.018 || std::fabs(yy - rail1) < 0.018;
            const bool between = yy > rail0 - 0.04 && yy < rail1 + 0.04;
            const bool sleeper = between && std::fmod(x + params[0] * 10.0, S / 10.0) < S / 32.0;
            if (on_rail) return {70 + 10 * n, 70 + 10 * n, 80 + 10 * n};
            if (sleeper) return {100 + 20 * n, 70 + 15 * n, 40 + 10 * n};
            return {120 + 60 * n, 115 + 60 * n, 105 + 60 * n};  // gravel
        }
        case grass: {
            const double blade = pixel_noise(key ^ 0x5bd1e995ull, x, y / 4) - 0.5;
            return {50 + 20 * n + 30 * blade, 140 + 25 * n + 50 * blade, 50 + 20 * n + 20 * blade};
        }
        case sand: {
            const double dune = 15.0 * std::sin((0.05 * x + 0.1 * y) * 128.0 / S + params[0]);
            return {210 + dune + 24 * n, 190 + dune + 24 * n, 140 + dune + 20 * n};
        }
        case sky: {
            const double t = y / double(S);
            Rgb c{100 + 90 * t, 160 + 60 * t, 230 + 20 * t};
            double cloud = 0.0;  // three soft white blobs
            for (int i = 0; i < 3; ++i) {
                const double dx = (x / double(S) - params[2 + 2 * i]) / 0.12;
                const double dy = (y / double(S) - params[3 + 2 * i]) / 0.06;
                cloud = std::max(cloud, std::exp(-(dx * dx + dy * dy)));
            }
            return {c.r + (245 - c.r) * cloud + 6 * n, c.g + (245 - c.g) * cloud + 6 * n,
                    c.b + (250 - c.b) * cloud + 6 * n};
        }
        default: {  // bricks: rows of S/16, bricks of S/8 with every other row shifted by half a brick
            const int64_t row_h = std::max<int64_t>(S / 16, 4), brick_w = std::max<int64_t>(S / 8, 8);
            const int64_t row = y / row_h;
            const int64_t shifted = x + (row % 2) * brick_w / 2;
            if (y % row_h == 0 || shifted % brick_w == 0) return {200 + 10 * n, 200 + 10 * n, 190 + 10 * n};
            const double brick = pixel_noise(key ^ 0x27d4eb2full, shifted / brick_w, row) - 0.5;
            return {160 + 40 * brick + 15 * n, 70 + 20 * brick + 10 * n, 50 + 15 * brick + 10 * n};
        }
    }
}

struct Object {
    int shape;  // 0..K-1 (class = shape + 1)
    int colour;
    double cx, cy, radius, angle;
};

std::string article(const char* word) {
    return std::string(std::strchr("aeiou", word[0]) ? "an " : "a ") + word;
}

}  // namespace

SynthDifficulty parse_synth_difficulty(const std::string& name) {
    if (name == "easy") return SynthDifficulty::easy;
    if (name == "medium") return SynthDifficulty::medium;
    if (name == "hard") return SynthDifficulty::hard;
    fail(str("synth: unknown difficulty '", name, "' (expected easy, medium or hard)"));
}

const char* synth_difficulty_name(SynthDifficulty difficulty) {
    switch (difficulty) {
        case SynthDifficulty::easy: return "easy";
        case SynthDifficulty::medium: return "medium";
        default: return "hard";
    }
}

std::vector<std::string> synth_class_names(int classes) {
    WSDOL_CHECK(classes >= 1 && classes <= kSynthMaxClasses, "synth: --classes must be 1..", kSynthMaxClasses,
                ", got ", classes);
    return std::vector<std::string>(kShapeNames.begin(), kShapeNames.begin() + classes);
}

std::vector<std::string> synth_background_names() {
    return std::vector<std::string>(kBackgroundNames.begin(), kBackgroundNames.end());
}

std::vector<std::string> synth_background_phrases() {
    return std::vector<std::string>(kBackgroundPhrases.begin(), kBackgroundPhrases.end());
}

std::string synth_image_id(int64_t index) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "synth_%06lld", (long long)index);
    return buffer;
}

int synth_home_background(int class_id) {
    WSDOL_CHECK(class_id >= 1 && class_id <= kSynthMaxClasses, "synth: class id ", class_id, " is not in 1..",
                kSynthMaxClasses);
    return (class_id - 1) % kBackgrounds;  // render(): home = objects[0].shape % kBackgrounds, label = shape + 1
}

int synth_caption_background(const std::string& caption) {
    for (int b = 0; b < kBackgrounds; ++b) {
        const std::string phrase = kBackgroundPhrases[size_t(b)];
        if (caption.size() >= phrase.size() &&
            caption.compare(caption.size() - phrase.size(), phrase.size(), phrase) == 0 &&
            (caption.size() == phrase.size() || caption[caption.size() - phrase.size() - 1] == ' '))
            return b;
    }
    return -1;
}

namespace {

// One try at image `index`; `attempt` > 0 re-draws a scene whose objects all ended up hidden.
SynthImage render(const SynthConfig& config, int64_t index, uint64_t attempt) {
    const int K = int(synth_class_names(config.classes).size());
    WSDOL_CHECK(config.size >= 16 && config.size <= 4096, "synth: --size must be 16..4096, got ", config.size);
    const int64_t S = config.size;
    Difficulty diff = difficulty_of(config.difficulty);
    if (config.home_probability >= 0) {
        WSDOL_CHECK(config.home_probability <= 1, "synth: --home-probability must be in [0, 1], got ",
                    config.home_probability);
        diff.home_probability = config.home_probability;
    }
    if (config.max_objects != 0) {
        WSDOL_CHECK(config.max_objects >= 1 && config.max_objects <= 3, "synth: --max-objects must be 1..3, got ",
                    config.max_objects);
        diff.max_objects = config.max_objects;
    }
    Stream stream(config.seed, uint64_t(index) + (attempt << 40));
    const uint64_t key = stream.next();

    SynthImage out;
    out.id = synth_image_id(index);
    out.size = S;
    out.rgb.resize(S * S * 3);
    out.mask.assign(S * S, 0);

    // Objects first (the background depends on the first object's class).
    std::vector<Object> objects;
    const int count = config.background_only ? 0 : int(stream.range(1, diff.max_objects));
    for (int i = 0; i < count; ++i) {
        Object o;
        o.shape = int(stream.range(0, K - 1));
        o.colour = int(stream.range(0, int(kColours.size()) - 1));
        o.radius = stream.uniform(diff.min_radius, diff.max_radius) * S;
        o.cx = stream.uniform(0.5 * o.radius, S - 0.5 * o.radius);
        o.cy = stream.uniform(0.5 * o.radius, S - 0.5 * o.radius);
        o.angle = stream.uniform(-0.5, 0.5) * (o.shape == 0 || o.shape == 4 ? 0.0 : 1.0);  // radians
        objects.push_back(o);
    }
    int background = 0;
    if (config.background_only) {
        background = int(stream.range(0, kBackgrounds - 1));
    } else {
        const int home = objects[0].shape % kBackgrounds;
        background = stream.chance(diff.home_probability) ? home : int(stream.range(0, kBackgrounds - 1));
    }
    out.background = kBackgroundNames[background];
    double params[8];
    for (double& p : params) p = stream.uniform();
    params[0] *= 2 * kPi;
    params[1] = 0.2 + 0.45 * params[1];  // rail position

    // Background.
    for (int64_t y = 0; y < S; ++y)
        for (int64_t x = 0; x < S; ++x) {
            const Rgb c = background_pixel(background, x, y, S, key, params);
            uint8_t* p = &out.rgb[(y * S + x) * 3];
            p[0] = to_byte(c.r), p[1] = to_byte(c.g), p[2] = to_byte(c.b);
        }

    // Clutter: short strokes and small blobs in object colours, part of the background (label 0).
    const int clutter = int(stream.range(diff.min_clutter, diff.max_clutter));
    for (int i = 0; i < clutter; ++i) {
        const Rgb c = kColours[stream.range(0, int(kColours.size()) - 1)].rgb;
        const double x0 = stream.uniform(0, S), y0 = stream.uniform(0, S);
        const bool blob = stream.chance(0.5);
        const double len = stream.uniform(0.04, 0.12) * S, theta = stream.uniform(0, 2 * kPi);
        const double width = blob ? stream.uniform(0.015, 0.035) * S : stream.uniform(0.004, 0.012) * S + 0.5;
        const double x1 = x0 + (blob ? 0.0 : len * std::cos(theta)), y1 = y0 + (blob ? 0.0 : len * std::sin(theta));
        const int64_t lo_x = std::max<int64_t>(0, int64_t(std::min(x0, x1) - width - 1));
        const int64_t hi_x = std::min<int64_t>(S - 1, int64_t(std::max(x0, x1) + width + 1));
        const int64_t lo_y = std::max<int64_t>(0, int64_t(std::min(y0, y1) - width - 1));
        const int64_t hi_y = std::min<int64_t>(S - 1, int64_t(std::max(y0, y1) + width + 1));
        const double dx = x1 - x0, dy = y1 - y0, len2 = std::max(dx * dx + dy * dy, 1e-12);
        for (int64_t y = lo_y; y <= hi_y; ++y)
            for (int64_t x = lo_x; x <= hi_x; ++x) {
                const double t = std::clamp(((x - x0) * dx + (y - y0) * dy) / len2, 0.0, 1.0);
                const double ex = x - (x0 + t * dx), ey = y - (y0 + t * dy);
                if (ex * ex + ey * ey > width * width) continue;
                uint8_t* p = &out.rgb[(y * S + x) * 3];
                p[0] = to_byte(c.r), p[1] = to_byte(c.g), p[2] = to_byte(c.b);
            }
    }

    // Objects, in order: later ones occlude earlier ones. owner[] records which object a pixel shows.
    std::vector<int8_t> owner(S * S, -1);
    for (int i = 0; i < count; ++i) {
        const Object& o = objects[i];
        const Rgb base = kColours[o.colour].rgb;
        const double cs = std::cos(o.angle), sn = std::sin(o.angle);
        const int64_t lo_x = std::max<int64_t>(0, int64_t(o.cx - o.radius - 1));
        const int64_t hi_x = std::min<int64_t>(S - 1, int64_t(o.cx + o.radius + 1));
        const int64_t lo_y = std::max<int64_t>(0, int64_t(o.cy - o.radius - 1));
        const int64_t hi_y = std::min<int64_t>(S - 1, int64_t(o.cy + o.radius + 1));
        for (int64_t y = lo_y; y <= hi_y; ++y)
            for (int64_t x = lo_x; x <= hi_x; ++x) {
                const double px = x + 0.5 - o.cx, py = y + 0.5 - o.cy;  // pixel centre
                const double u = (px * cs + py * sn) / o.radius, v = (-px * sn + py * cs) / o.radius;
                if (!inside_shape(o.shape, u, v)) continue;
                const double shade = texture(o.shape, u, v) + 0.08 * (pixel_noise(key ^ 0x1234567ull, x, y) - 0.5);
                uint8_t* p = &out.rgb[(y * S + x) * 3];
                p[0] = to_byte(base.r * shade), p[1] = to_byte(base.g * shade), p[2] = to_byte(base.b * shade);
                owner[y * S + x] = int8_t(i);
            }
    }

    // Occluder: a grey pole over everything (background label), in the harder settings.
    if (stream.chance(diff.occluder_probability)) {
        const double x0 = stream.uniform(0.1, 0.9) * S, slope = stream.uniform(-0.3, 0.3);
        const double half = stream.uniform(0.015, 0.035) * S;
        for (int64_t y = 0; y < S; ++y)
            for (int64_t x = 0; x < S; ++x) {
                if (std::fabs(x - (x0 + slope * (y - S / 2.0))) > half) continue;
                const double n = pixel_noise(key ^ 0x9abcdefull, x, y) - 0.5;
                uint8_t* p = &out.rgb[(y * S + x) * 3];
                p[0] = to_byte(150 + 20 * n), p[1] = to_byte(150 + 20 * n), p[2] = to_byte(155 + 20 * n);
                owner[y * S + x] = -1;
            }
    }

    // Masks, labels and caption from what is visible.
    std::vector<int64_t> visible(count, 0);
    for (int8_t o : owner)
        if (o >= 0) ++visible[o];
    std::vector<bool> listed(count);
    for (int i = 0; i < count; ++i) listed[i] = visible[i] >= kMinVisiblePixels;
    for (int64_t p = 0; p < S * S; ++p)
        if (owner[p] >= 0) out.mask[p] = listed[owner[p]] ? uint8_t(objects[owner[p]].shape + 1) : 255;
    std::vector<std::string> phrases;
    for (int i = 0; i < count; ++i) {
        if (!listed[i]) continue;
        out.labels.push_back(objects[i].shape + 1);
        phrases.push_back(article(kColours[objects[i].colour].name) + " " + kShapeNames[objects[i].shape]);
    }
    std::sort(out.labels.begin(), out.labels.end());
    out.labels.erase(std::unique(out.labels.begin(), out.labels.end()), out.labels.end());
    for (size_t i = 0; i < phrases.size(); ++i) {
        if (i > 0) out.caption += i + 1 == phrases.size() ? " and " : ", ";
        out.caption += phrases[i];
    }
    out.caption += (out.caption.empty() ? "nothing " : " ") + std::string(kBackgroundPhrases[background]);
    return out;
}

}  // namespace

SynthImage synth_image(const SynthConfig& config, int64_t index) {
    // A scene must show at least one object (weak labels are never empty, as in VOC); the rare scene whose
    // objects are all slivers or hidden by the occluder is re-drawn from a stream derived from (seed, index).
    for (uint64_t attempt = 0;; ++attempt) {
        SynthImage image = render(config, index, attempt);
        if (!image.labels.empty() || config.background_only || attempt == 63) return image;
    }
}

}  // namespace wsdol::data
