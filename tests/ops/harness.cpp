// harness.cpp — case registry and the helpers for writing op cases.
#include "tests/ops/harness.h"

#include <cmath>
#include <map>

namespace wsdol::test {

namespace {
std::vector<std::pair<std::string, CaseFactory>>& factories() {
    static std::vector<std::pair<std::string, CaseFactory>> f;
    return f;
}
}  // namespace

bool register_cases(const std::string& family, CaseFactory factory) {
    factories().emplace_back(family, std::move(factory));
    return true;
}

const std::vector<OpCase>& all_cases() {
    static const std::vector<OpCase> cases = [] {
        std::vector<OpCase> out;
        for (auto& [family, f] : factories())
            for (OpCase& c : f()) out.push_back(std::move(c));
        return out;
    }();
    return cases;
}

OpCase make_case(std::string op, std::string label, TensorList inputs, CaseFn run, CaseFn reference, bool check_grad) {
    OpCase c;
    c.op = std::move(op);
    c.label = std::move(label);
    c.inputs = std::move(inputs);
    c.run = std::move(run);
    c.reference = std::move(reference);
    c.check_grad = check_grad;
    return c;
}

Tensor rand_input(const Shape& shape, uint64_t seed, double low, double high) {
    Generator g(seed);
    return Tensor::uniform(shape, low, high, DType::f64, &g);
}

Tensor rand_away_from(const Shape& shape, uint64_t seed, const std::vector<double>& kinks, double margin, double low,
                      double high) {
    Generator g(seed);
    std::vector<double> v(shape_numel(shape));
    for (double& x : v) {
        for (;;) {
            x = low + (high - low) * g.uniform();
            bool ok = true;
            for (double k : kinks) ok = ok && std::fabs(x - k) >= margin;
            if (ok) break;
        }
    }
    return Tensor::from_vector(v, shape, DType::f64);
}

Tensor positive_input(const Shape& shape, uint64_t seed, double low, double high) {
    return rand_input(shape, seed, low, high);
}

Tensor index_input(const Shape& shape, int64_t high, uint64_t seed) {
    Generator g(seed);
    return Tensor::randint(0, high, shape, DType::i64, &g);
}

int64_t Host::index(const std::vector<int64_t>& idx) const {
    WSDOL_CHECK(idx.size() == shape.size(), "Host::index: ", idx.size(), " indices for shape ", shape_str(shape));
    int64_t flat = 0;
    for (size_t d = 0; d < shape.size(); ++d) {
        WSDOL_CHECK(idx[d] >= 0 && idx[d] < shape[d], "Host::index: index ", idx[d], " out of range in dim ", d);
        flat = flat * shape[d] + idx[d];
    }
    return flat;
}

double broadcast_at(const Host& h, const std::vector<int64_t>& out_index) {
    const size_t lead = out_index.size() - h.shape.size();
    int64_t flat = 0;
    for (size_t d = 0; d < h.shape.size(); ++d) {
        const int64_t i = h.shape[d] == 1 ? 0 : out_index[lead + d];
        flat = flat * h.shape[d] + i;
    }
    return h.v[flat];
}

void for_each_index(const Shape& shape, const std::function<void(const std::vector<int64_t>&)>& fn) {
    const int64_t n = shape_numel(shape);
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t i = 0; i < n; ++i) {
        fn(idx);
        for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
        }
    }
}

}  // namespace wsdol::test
