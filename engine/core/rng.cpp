// rng.cpp — Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
#include "engine/core/rng.h"

#include <cmath>

namespace wsdol {

void Philox::draw(uint64_t seed, uint64_t index, uint32_t out[4]) {
    uint32_t c0 = static_cast<uint32_t>(index), c1 = static_cast<uint32_t>(index >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
        const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
        const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
        const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
        c1 = static_cast<uint32_t>(p1);
        c3 = static_cast<uint32_t>(p0);
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

double Generator::uniform() {
    uint32_t w[4];
    Philox::draw(seed_, reserve(1), w);
    return Philox::to_unit_f64(w[0], w[1]);
}

double Generator::normal() {
    uint32_t w[4];
    Philox::draw(seed_, reserve(1), w);
    const double u1 = 1.0 - Philox::to_unit_f64(w[0], w[1]);  // (0, 1]
    const double u2 = Philox::to_unit_f64(w[2], w[3]);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

uint64_t Generator::next_u64() {
    uint32_t w[4];
    Philox::draw(seed_, reserve(1), w);
    return (static_cast<uint64_t>(w[0]) << 32) | w[1];
}

int64_t Generator::randint(int64_t low, int64_t high) {
    const uint64_t span = static_cast<uint64_t>(high - low);
    return low + static_cast<int64_t>(next_u64() % (span ? span : 1));
}

Generator& default_generator() {
    static Generator g(0);
    return g;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

}  // namespace wsdol
