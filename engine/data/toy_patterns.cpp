// toy_patterns.cpp — generator of the four-class stripes/square/checker task (see toy_patterns.h).
#include "engine/data/toy_patterns.h"

#include <vector>

namespace wsdol::data {

ToyBatch make_toy_patterns(int64_t n, int64_t size, Generator& gen) {
    WSDOL_CHECK(n >= 0 && size >= 8, "make_toy_patterns: need n >= 0 and size >= 8, got n=", n, " size=", size);
    const int64_t plane = size * size;
    std::vector<double> pixels(static_cast<size_t>(n * 3 * plane));
    std::vector<double> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const int cls = static_cast<int>(gen.randint(0, kToyClasses));
        labels[i] = cls;
        const int64_t period = gen.randint(2, 5);        // stripe / checker period in pixels
        const int64_t phase = gen.randint(0, period * 2);
        const int64_t side = gen.randint(size / 4, size / 2 + 1);
        const int64_t top = gen.randint(0, size - side + 1), left = gen.randint(0, size - side + 1);
        const double contrast = 0.6 + 0.4 * gen.uniform();
        double colour[3];
        for (double& c : colour) c = 0.3 + 0.7 * gen.uniform();
        for (int64_t y = 0; y < size; ++y) {
            for (int64_t x = 0; x < size; ++x) {
                bool on = false;
                switch (cls) {
                    case 0: on = ((y + phase) / period) % 2 == 0; break;
                    case 1: on = ((x + phase) / period) % 2 == 0; break;
                    case 2: on = y >= top && y < top + side && x >= left && x < left + side; break;
                    default: on = (((y + phase) / period) + ((x + phase) / period)) % 2 == 0; break;
                }
                for (int c = 0; c < 3; ++c) {
                    const double noise = 0.3 * (gen.uniform() - 0.5);
                    pixels[static_cast<size_t>(((i * 3 + c) * size + y) * size + x)] =
                        (on ? contrast * colour[c] : 0.0) - 0.35 + noise;
                }
            }
        }
    }
    return {Tensor::from_vector(pixels, {n, 3, size, size}, DType::f32), Tensor::from_vector(labels, {n}, DType::i64)};
}

}  // namespace wsdol::data
