// rng.h — counter-based random numbers (Philox4x32-10) with a state that fits in two integers.
//
// A Generator is (seed, offset). An op that needs N random numbers reserves the counter range
// [offset, offset + N) and element i draws from counter offset + i, so the numbers do not depend on how many
// threads compute them, and saving (seed, offset) in a checkpoint resumes the stream exactly.
#pragma once
#include <cstdint>

namespace wsdol {

struct Philox {
    // Four 32-bit random words for (key = seed, counter = index).
    static void draw(uint64_t seed, uint64_t index, uint32_t out[4]);
    // Uniform float in [0, 1) from one 32-bit word (24 high bits, as torch.rand does).
    static float to_unit(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
    static double to_unit_f64(uint32_t hi, uint32_t lo) {
        return static_cast<double>((static_cast<uint64_t>(hi) << 21) ^ (lo >> 11)) * (1.0 / 9007199254740992.0);
    }
};

class Generator {
public:
    explicit Generator(uint64_t seed = 0) : seed_(seed) {}
    uint64_t seed() const { return seed_; }
    uint64_t offset() const { return offset_; }
    void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }
    // Reserves n counters and returns the first.
    uint64_t reserve(uint64_t n) { const uint64_t first = offset_; offset_ += n; return first; }
    // Scalar draws (each consumes one counter).
    double uniform();                 // [0, 1)
    double normal();                  // N(0, 1), Box-Muller
    uint64_t next_u64();
    int64_t randint(int64_t low, int64_t high);  // [low, high)

private:
    uint64_t seed_ = 0;
    uint64_t offset_ = 0;
};

// The process-wide default generator (wsdol::manual_seed sets it), used where no generator is passed.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace wsdol
