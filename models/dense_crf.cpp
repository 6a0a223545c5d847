// dense_crf.cpp — dense CRF mean-field with permutohedral-lattice Gaussian filtering (see dense_crf.h).
//
// The lattice (Adams, Baek & Davis 2010, §3-4): each d-dim feature is lifted onto the hyperplane
// H_d = {y in R^{d+1} : sum y = 0}, scaled so that the blur below approximates a unit-variance Gaussian; the
// permutohedral lattice tiles H_d with simplices whose vertices are the integer points of H_d whose coordinates are
// all congruent mod d+1. A point is "splatted" onto the d+1 vertices of its enclosing simplex with its barycentric
// weights, the vertex values are blurred with [1/2, 1, 1/2] along each of the d+1 lattice directions, and the result
// is "sliced" back at the point with the same weights. densecrf's conventions are kept where they change the
// numbers: float arithmetic, round-to-nearest-even of the remainder-0 point, ties in the simplex ranking go to the
// later coordinate, the blur runs over axes 0..d, and the slice is scaled by 1 / (1 + 2^-d).
#include "models/dense_crf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "kernels/cpu/parallel.h"

namespace wsdol::models {

DenseCrfParams psa_crf_params() { return DenseCrfParams{10, 3, 3, 80, 13, 10}; }
DenseCrfParams irn_crf_params() { return DenseCrfParams{10, 3, 3, 50, 5, 10}; }
DenseCrfParams deeplab_crf_params() { return DenseCrfParams{10, 4, 3, 83, 5, 3}; }

namespace {

// Open-addressing table from a lattice vertex (its first d coordinates; the last is minus their sum) to a dense
// index 0..size-1, in first-insertion order.
class VertexTable {
public:
    VertexTable(int d, int64_t expected) : d_(d) {
        int64_t cap = 16;
        while (cap < 2 * expected) cap <<= 1;
        slots_.assign(static_cast<size_t>(cap), -1);
        keys_.reserve(static_cast<size_t>(expected * d));
    }
    int64_t size() const { return static_cast<int64_t>(keys_.size()) / d_; }
    const int16_t* key(int64_t v) const { return keys_.data() + v * d_; }

    // Index of `key`, inserting it when `insert` (else -1 when absent).
    int64_t find(const int16_t* key, bool insert) {
        if (insert && 2 * (size() + 1) > static_cast<int64_t>(slots_.size())) grow();
        const uint64_t mask = slots_.size() - 1;
        for (uint64_t h = hash(key) & mask;; h = (h + 1) & mask) {
            const int64_t v = slots_[h];
            if (v < 0) {
                if (!insert) return -1;
                slots_[h] = size();
                keys_.insert(keys_.end(), key, key + d_);
                return slots_[h];
            }
            if (std::memcmp(this->key(v), key, sizeof(int16_t) * d_) == 0) return v;
        }
    }

private:
    uint64_t hash(const int16_t* key) const {
        uint64_t h = 1469598103934665603ull;  // FNV-1a over the coordinates
        for (int i = 0; i < d_; ++i) {
            h ^= static_cast<uint16_t>(key[i]);
            h *= 1099511628211ull;
        }
        return h ^ (h >> 29);
    }
    void grow() {
        std::vector<int64_t> old(slots_.size() * 2, -1);
        old.swap(slots_);
        const uint64_t mask = slots_.size() - 1;
        for (int64_t v = 0; v < size(); ++v) {
            uint64_t h = hash(key(v)) & mask;
            while (slots_[h] >= 0) h = (h + 1) & mask;
            slots_[h] = v;
        }
    }

    int d_;
    std::vector<int64_t> slots_;
    std::vector<int16_t> keys_;
};

class Lattice {
public:
    // features: n points of d floats, row-major.
    Lattice(const float* features, int64_t n, int d) : n_(n), d_(d) {
        const int D = d + 1;
        vertex_.resize(static_cast<size_t>(n * D));
        weight_.resize(static_cast<size_t>(n * D));
        VertexTable table(d, n * D / 4 + 16);

        // Lifting matrix E (paper p.5): diagonal scale 1/sqrt((i+1)(i+2)) times the inverse of the lattice blur's
        // standard deviation sqrt(2/3)(d+1) (paper p.6).
        const float inv_std = static_cast<float>(std::sqrt(2.0 / 3.0) * D);
        std::vector<float> scale(d);
        for (int i = 0; i < d; ++i) scale[i] = static_cast<float>(1.0 / std::sqrt(double((i + 2) * (i + 1))) * inv_std);
        const float inv_D = 1.0f / static_cast<float>(D);

        std::vector<float> lifted(D), rem0(D), bary(D + 1);
        std::vector<int> rank(D);
        std::vector<int16_t> key(d);
        for (int64_t p = 0; p < n; ++p) {
            const float* f = features + p * d;
            // lifted = E f: lifted[j] = sum_{i >= j} s_i f_i - j s_{j-1} f_{j-1}
            float tail = 0;
            for (int j = d; j > 0; --j) {
                const float cf = f[j - 1] * scale[j - 1];
                lifted[j] = tail - static_cast<float>(j) * cf;
                tail += cf;
            }
            lifted[0] = tail;
            // Nearest remainder-0 point: each coordinate rounded to a multiple of D (half to even, as SSE rounding).
            float coord_sum = 0;
            for (int i = 0; i < D; ++i) {
                const float k = std::nearbyint(inv_D * lifted[i]);
                rem0[i] = k * static_cast<float>(D);
                coord_sum += k;
            }
            // Rank of each coordinate's residual, largest first; a tie ranks the later coordinate lower.
            std::fill(rank.begin(), rank.end(), 0);
            for (int i = 0; i < d; ++i) {
                const float ri = lifted[i] - rem0[i];
                for (int j = i + 1; j < D; ++j) {
                    if (ri < lifted[j] - rem0[j]) ++rank[i];
                    else ++rank[j];
                }
            }
            // The rounded point may leave the hyperplane (coordinate sum != 0): shifting the ranks by that sum and
            // wrapping them into [0, d] moves it back onto a remainder-0 point of the same simplex.
            const int shift = static_cast<int>(coord_sum);
            for (int i = 0; i < D; ++i) {
                rank[i] += shift;
                if (rank[i] < 0) {
                    rank[i] += D;
                    rem0[i] += static_cast<float>(D);
                } else if (rank[i] > d) {
                    rank[i] -= D;
                    rem0[i] -= static_cast<float>(D);
                }
            }
            // Barycentric coordinates (paper p.10).
            std::fill(bary.begin(), bary.end(), 0.0f);
            for (int i = 0; i < D; ++i) {
                const float v = (lifted[i] - rem0[i]) * inv_D;
                bary[d - rank[i]] += v;
                bary[d - rank[i] + 1] -= v;
            }
            bary[0] += 1.0f + bary[D];
            // The simplex's vertices: vertex r adds r to the coordinates ranked below D - r, r - D to the others.
            for (int r = 0; r < D; ++r) {
                for (int i = 0; i < d; ++i) {
                    const int offset = rank[i] <= d - r ? r : r - D;
                    key[i] = static_cast<int16_t>(static_cast<int>(rem0[i]) + offset);
                }
                vertex_[p * D + r] = table.find(key.data(), true);
                weight_[p * D + r] = bary[r];
            }
        }
        m_ = table.size();
        // Blur neighbours along lattice direction j: the vertex -/+ (1, ..., 1) with coordinate j moved by +/- d
        // (i.e. -/+ D e_j on the hyperplane).
        neighbor_.assign(static_cast<size_t>(D * m_ * 2), m_);
        std::vector<int16_t> lo(d), hi(d);
        for (int j = 0; j < D; ++j)
            for (int64_t v = 0; v < m_; ++v) {
                const int16_t* k = table.key(v);
                for (int i = 0; i < d; ++i) {
                    lo[i] = static_cast<int16_t>(k[i] - 1);
                    hi[i] = static_cast<int16_t>(k[i] + 1);
                }
                if (j < d) {
                    lo[j] = static_cast<int16_t>(k[j] + d);
                    hi[j] = static_cast<int16_t>(k[j] - d);
                }
                // absent neighbours point at row m_, kept at zero (they contribute nothing)
                const int64_t a = table.find(lo.data(), false), b = table.find(hi.data(), false);
                neighbor_[(j * m_ + v) * 2] = a < 0 ? m_ : a;
                neighbor_[(j * m_ + v) * 2 + 1] = b < 0 ? m_ : b;
            }
    }

    // in, out: n x V floats, row-major (may alias). out_i ≈ sum_j exp(-|f_i - f_j|^2 / 2) in_j.
    void filter(const float* in, float* out, int64_t V) const {
        const int D = d_ + 1;
        // m_ + 1 rows: the last one stays zero and stands for every absent blur neighbour.
        std::vector<float> values(static_cast<size_t>((m_ + 1) * V), 0.0f), next(values.size(), 0.0f);
        for (int64_t p = 0; p < n_; ++p)  // splat (raster order: each vertex sums its points in a fixed order)
            for (int r = 0; r < D; ++r) {
                float* dst = values.data() + vertex_[p * D + r] * V;
                const float w = weight_[p * D + r];
                for (int64_t k = 0; k < V; ++k) dst[k] += w * in[p * V + k];
            }
        // densecrf blurs 1- and 2-channel signals in double (0.5 is a double literal there), wider ones in float.
        const bool blur_in_double = V <= 2;
        for (int j = 0; j < D; ++j) {
            cpu::parallel_for(m_, 4 * V, [&](int64_t begin, int64_t end) {
                for (int64_t v = begin; v < end; ++v) {
                    const float* self = values.data() + v * V;
                    const float* na = values.data() + neighbor_[(j * m_ + v) * 2] * V;
                    const float* nb = values.data() + neighbor_[(j * m_ + v) * 2 + 1] * V;
                    float* dst = next.data() + v * V;
                    if (blur_in_double) {
                        for (int64_t k = 0; k < V; ++k) dst[k] = static_cast<float>(self[k] + 0.5 * (na[k] + nb[k]));
                    } else {
                        for (int64_t k = 0; k < V; ++k) dst[k] = self[k] + 0.5f * (na[k] + nb[k]);
                    }
                }
            });
            values.swap(next);
        }
        const float alpha = 1.0f / (1.0f + std::pow(2.0f, -static_cast<float>(d_)));
        cpu::parallel_for(n_, D * V, [&](int64_t begin, int64_t end) {
            std::vector<float> acc(static_cast<size_t>(V));
            for (int64_t p = begin; p < end; ++p) {
                std::fill(acc.begin(), acc.end(), 0.0f);
                for (int r = 0; r < D; ++r) {
                    const float* src = values.data() + vertex_[p * D + r] * V;
                    const float w = weight_[p * D + r];
                    if (blur_in_double) {
                        for (int64_t k = 0; k < V; ++k) acc[k] += w * src[k] * alpha;
                    } else {
                        const float wa = w * alpha;
                        for (int64_t k = 0; k < V; ++k) acc[k] += wa * src[k];
                    }
                }
                std::copy(acc.begin(), acc.end(), out + p * V);
            }
        });
    }

private:
    int64_t n_, m_ = 0;
    int d_;
    std::vector<int64_t> vertex_;   // (n, d+1)
    std::vector<float> weight_;     // (n, d+1)
    std::vector<int64_t> neighbor_;  // (d+1, m, 2); m = absent
};

// One Gaussian pairwise term with Potts compatibility and symmetric normalization.
struct Kernel {
    Kernel(const std::vector<float>& features, int64_t n, int d, float weight)
        : lattice(features.data(), n, d), weight(weight), norm(static_cast<size_t>(n)) {
        std::vector<float> ones(static_cast<size_t>(n), 1.0f), k1(static_cast<size_t>(n));
        lattice.filter(ones.data(), k1.data(), 1);
        for (int64_t i = 0; i < n; ++i) norm[i] = static_cast<float>(1.0 / std::sqrt(k1[i] + 1e-20));
    }
    Lattice lattice;
    float weight;
    std::vector<float> norm;  // (n)
};

void softmax_rows(const std::vector<float>& energy, std::vector<float>& q, int64_t n, int64_t L) {
    cpu::parallel_for(n, 4 * L, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const float* e = energy.data() + i * L;
            float* o = q.data() + i * L;
            const float top = *std::max_element(e, e + L);
            float total = 0;
            for (int64_t l = 0; l < L; ++l) {
                o[l] = std::exp(e[l] - top);
                total += o[l];
            }
            for (int64_t l = 0; l < L; ++l) o[l] /= total;
        }
    });
}

void check_image(const Tensor& image, int64_t H, int64_t W, const char* op) {
    WSDOL_CHECK(image.dtype() == DType::u8 && image.dim() == 3 && image.size(2) == 3, op,
                ": image must be (H, W, 3) uint8, got ", dtype_name(image.dtype()), " ", shape_str(image.shape()));
    WSDOL_CHECK(image.size(0) == H && image.size(1) == W, op, ": image ", shape_str(image.shape()),
                " does not match the maps' ", H, "x", W);
}

}  // namespace

Tensor permutohedral_filter(const Tensor& features, const Tensor& values) {
    WSDOL_CHECK(features.dim() == 2 && values.dim() == 2 && features.size(0) == values.size(0),
                "permutohedral_filter: features (N, d) and values (N, V) must share N, got ",
                shape_str(features.shape()), " and ", shape_str(values.shape()));
    WSDOL_CHECK(features.size(1) >= 1 && features.size(1) <= 16, "permutohedral_filter: feature dimension ",
                features.size(1), " must be in [1, 16]");
    const int64_t n = features.size(0), V = values.size(1);
    const Tensor f = features.detach().to(DType::f32).cpu().contiguous();
    const Tensor v = values.detach().to(DType::f32).cpu().contiguous();
    Tensor out = Tensor::empty({n, V}, DType::f32);
    if (n == 0) return out;
    Lattice lattice(f.data<float>(), n, static_cast<int>(features.size(1)));
    lattice.filter(v.data<float>(), out.data<float>(), V);
    return out;
}

Tensor dense_crf_unary(const Tensor& image, const Tensor& unary, const DenseCrfParams& params) {
    NoGradGuard no_grad;
    WSDOL_CHECK(unary.dim() == 3 && unary.size(0) >= 1, "dense_crf: unary must be (L, H, W), got ",
                shape_str(unary.shape()));
    const int64_t L = unary.size(0), H = unary.size(1), W = unary.size(2), n = H * W;
    check_image(image, H, W, "dense_crf");
    WSDOL_CHECK(params.iterations >= 0, "dense_crf: iterations ", params.iterations, " must be >= 0");
    WSDOL_CHECK(params.gaussian_sxy > 0 && params.bilateral_sxy > 0 && params.bilateral_srgb > 0,
                "dense_crf: standard deviations must be > 0 (gaussian sxy ", params.gaussian_sxy, ", bilateral sxy ",
                params.bilateral_sxy, ", srgb ", params.bilateral_srgb, ")");
    if (n == 0) return Tensor::zeros({L, H, W});
    const Tensor img = image.cpu().contiguous();
    const uint8_t* rgb = img.data<uint8_t>();

    // Features as DenseCRF2D: (x / sx, y / sy) and (x / sx, y / sy, r / sr, g / sg, b / sb), float divisions.
    const float gs = static_cast<float>(params.gaussian_sxy), bs = static_cast<float>(params.bilateral_sxy),
                cs = static_cast<float>(params.bilateral_srgb);
    std::vector<float> fg(static_cast<size_t>(n * 2)), fb(static_cast<size_t>(n * 5));
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            const int64_t i = y * W + x;
            fg[i * 2 + 0] = static_cast<float>(x) / gs;
            fg[i * 2 + 1] = static_cast<float>(y) / gs;
            fb[i * 5 + 0] = static_cast<float>(x) / bs;
            fb[i * 5 + 1] = static_cast<float>(y) / bs;
            for (int c = 0; c < 3; ++c) fb[i * 5 + 2 + c] = static_cast<float>(rgb[i * 3 + c]) / cs;
        }
    std::vector<Kernel> kernels;
    kernels.reserve(2);
    if (params.iterations > 0) {
        kernels.emplace_back(fg, n, 2, static_cast<float>(params.gaussian_compat));
        kernels.emplace_back(fb, n, 5, static_cast<float>(params.bilateral_compat));
    }

    // Per-pixel rows of L values (densecrf's column-major (L, N) matrices).
    const Tensor u = unary.detach().to(DType::f32).cpu().contiguous();
    const float* up = u.data<float>();
    std::vector<float> neg_unary(static_cast<size_t>(n * L)), energy(neg_unary.size()), q(neg_unary.size()),
        scaled(neg_unary.size()), filtered(neg_unary.size());
    for (int64_t l = 0; l < L; ++l)
        for (int64_t i = 0; i < n; ++i) neg_unary[i * L + l] = -up[l * n + i];
    softmax_rows(neg_unary, q, n, L);
    for (int it = 0; it < params.iterations; ++it) {
        energy = neg_unary;
        for (const Kernel& k : kernels) {
            for (int64_t i = 0; i < n; ++i)
                for (int64_t l = 0; l < L; ++l) scaled[i * L + l] = q[i * L + l] * k.norm[i];
            k.lattice.filter(scaled.data(), filtered.data(), L);
            // Potts: the message is -(-w * n ⊙ K(n ⊙ Q)), in densecrf's order of float operations.
            for (int64_t i = 0; i < n; ++i)
                for (int64_t l = 0; l < L; ++l)
                    energy[i * L + l] -= -k.weight * (filtered[i * L + l] * k.norm[i]);
        }
        softmax_rows(energy, q, n, L);
    }
    Tensor out = Tensor::empty({L, H, W}, DType::f32);
    float* op = out.data<float>();
    for (int64_t l = 0; l < L; ++l)
        for (int64_t i = 0; i < n; ++i) op[l * n + i] = q[i * L + l];
    return out;
}

Tensor dense_crf(const Tensor& image, const Tensor& probs, const DenseCrfParams& params) {
    NoGradGuard no_grad;
    WSDOL_CHECK(probs.dim() == 3, "dense_crf: probs must be (L, H, W), got ", shape_str(probs.shape()));
    // pydensecrf unary_from_softmax: -log(np.clip(p, 1e-5, 1.0)), as float32.
    const Tensor unary = neg(log(clamp(probs.detach().to(DType::f32).cpu(), 1e-5, 1.0)));
    return dense_crf_unary(image, unary, params);
}

Tensor unary_from_labels(const Tensor& labels, int64_t num_labels, double gt_prob) {
    WSDOL_CHECK(labels.dim() == 2, "unary_from_labels: labels must be (H, W), got ", shape_str(labels.shape()));
    WSDOL_CHECK(num_labels >= 2, "unary_from_labels: num_labels ", num_labels, " must be >= 2");
    WSDOL_CHECK(gt_prob > 0 && gt_prob < 1, "unary_from_labels: gt_prob ", gt_prob, " must be in (0, 1)");
    const int64_t H = labels.size(0), W = labels.size(1);
    const std::vector<double> lab = labels.to_vector();
    // pydensecrf: energies computed in float64, stored as float32.
    const float p_energy = static_cast<float>(-std::log(gt_prob));
    const float n_energy = static_cast<float>(-std::log((1.0 - gt_prob) / static_cast<double>(num_labels - 1)));
    Tensor out = Tensor::full({num_labels, H, W}, n_energy, DType::f32);
    float* o = out.data<float>();
    for (int64_t i = 0; i < H * W; ++i) {
        const double v = lab[i];
        WSDOL_CHECK(v >= 0 && v < num_labels && v == std::floor(v), "unary_from_labels: label ", v, " at pixel ", i,
                    " out of range for ", num_labels, " labels");
        o[static_cast<int64_t>(v) * H * W + i] = p_energy;
    }
    return out;
}

Tensor crf_label_inference(const Tensor& image, const Tensor& labels, int64_t num_labels,
                           const DenseCrfParams& params) {
    const Tensor q = dense_crf_unary(image, unary_from_labels(labels, num_labels, 0.7), params);
    return argmax(q, 0);  // first index of the max, as numpy.argmax
}

namespace {

// The GT classes' maps as (K, H, W), in label order.
Tensor gt_channels(const Tensor& maps, const std::vector<int>& labels, const char* op) {
    WSDOL_CHECK(maps.dim() == 3, op, ": maps must be (C, H, W), got ", shape_str(maps.shape()));
    WSDOL_CHECK(!labels.empty(), op, ": the image has no classes");
    std::vector<Tensor> rows;
    for (int c : labels) {
        WSDOL_CHECK(c >= 0 && c < maps.size(0), op, ": label ", c, " out of range for ", maps.size(0), " classes");
        rows.push_back(maps.select(0, c));
    }
    return stack(rows, 0).to(DType::f32).cpu().contiguous();
}

}  // namespace

Tensor crf_with_alpha(const Tensor& image, const Tensor& maps, const std::vector<int>& labels, double alpha,
                      const DenseCrfParams& params) {
    NoGradGuard no_grad;
    const Tensor v = gt_channels(maps, labels, "crf_with_alpha");  // (K, H, W)
    // psa: bg_score = np.power(1 - np.max(v, axis=0, keepdims=True), alpha); concatenate((bg_score, v))
    const Tensor bg = pow(rsub(1.0, max(v, {0}, true)), alpha);
    const Tensor q = dense_crf(image, cat({bg, v}, 0), params);  // (1 + K, H, W)
    Tensor out = Tensor::zeros({1 + maps.size(0), maps.size(1), maps.size(2)});
    out.select(0, 0).copy_(q.select(0, 0));
    for (size_t k = 0; k < labels.size(); ++k) out.select(0, 1 + labels[k]).copy_(q.select(0, 1 + k));
    return out;
}

Tensor irn_confident_labels(const Tensor& image, const Tensor& maps, const std::vector<int>& labels,
                            double fg_threshold, double bg_threshold, const DenseCrfParams& params) {
    NoGradGuard no_grad;
    const Tensor v = gt_channels(maps, labels, "irn_confident_labels");  // (K, H, W)
    const int64_t K = v.size(0), H = v.size(1), W = v.size(2);
    // np.argmax(np.pad(cams, ((1, 0), (0, 0), (0, 0)), constant_values=t), axis=0) -> CRF label inference
    auto pass = [&](double t) {
        const Tensor scores = cat({Tensor::full({1, H, W}, t, DType::f32), v}, 0);
        return crf_label_inference(image, argmax(scores, 0), K + 1, params).to_vector();
    };
    const std::vector<double> fg = pass(fg_threshold), bg = pass(bg_threshold);
    std::vector<double> out(static_cast<size_t>(H * W));
    for (int64_t i = 0; i < H * W; ++i) {
        // keys = [0, 1 + labels...]: index 0 = background
        const double fg_id = fg[i] == 0 ? 0 : 1 + labels[static_cast<size_t>(fg[i]) - 1];
        const double bg_id = bg[i] == 0 ? 0 : 1 + labels[static_cast<size_t>(bg[i]) - 1];
        out[i] = fg_id == 0 ? (bg_id == 0 ? 0 : 255) : fg_id;
    }
    return Tensor::from_vector(out, {H, W}, DType::u8);
}

}  // namespace wsdol::models
