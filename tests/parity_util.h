// parity_util.h — reads a model-parity fixture (written by tests/reference/parity/parity_common.py) and checks
// our forward outputs, attention probabilities and gradients against PyTorch's with the issue-4 tolerances,
// printing every tensor's error as a fraction of its bound.
//
// Fixture keys: param.<name>, input.<name>, output.<name>, weight.<name> (loss weights), grad.input.<name>,
// grad.param.<name>. The loss is sum_n sum(output_n * weight_n) over the outputs that carry a weight.
// Bounds: forward |a - b| <= 1e-4 (1 + |b|), gradients |a - b| <= 1e-3 (1 + |b|) (f32, CPU), element by element.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/nn/module.h"
#include "engine/ops/ops.h"
#include "engine/tensor/tensor.h"

namespace wsdol::test {

constexpr double kParityForwardTol = 1e-4;
constexpr double kParityGradTol = 1e-3;

// max_i |a_i - b_i| / (tol (1 + |b_i|)); parity holds when it is <= 1. NaN anywhere gives +inf.
inline double parity_error_fraction(const Tensor& actual, const Tensor& expected, double tol) {
    const std::vector<double> a = actual.to_vector(), b = expected.to_vector();
    double worst = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double frac = std::abs(a[i] - b[i]) / (tol * (1.0 + std::abs(b[i])));
        if (!(frac <= worst)) worst = std::isnan(frac) ? INFINITY : frac;
    }
    return worst;
}

class ParityFixture {
public:
    explicit ParityFixture(const std::string& path) : path_(path) {
        for (auto& [name, t] : io::load_safetensors(path)) tensors_.emplace(name, t);
    }

    const std::string& path() const { return path_; }
    bool has(const std::string& key) const { return tensors_.count(key) != 0; }

    // The tensor under `key` (e.g. "input.images", "output.logits"); a test failure when absent.
    Tensor at(const std::string& key) const {
        auto it = tensors_.find(key);
        if (it == tensors_.end()) {
            ADD_FAILURE() << path_ << ": no tensor '" << key << "'";
            return Tensor();
        }
        return it->second;
    }

    // The model's state as PyTorch named it (the "param." prefix stripped), for weights::load_into or load_state_dict.
    NamedTensors state_dict() const {
        NamedTensors out;
        for (const auto& [name, t] : tensors_)
            if (name.rfind("param.", 0) == 0) out.emplace_back(name.substr(6), t);
        return out;
    }

    // An input ready for backward: a copy of input.<name> that requires grad when it is floating.
    Tensor input(const std::string& name) const {
        Tensor t = at("input." + name).clone();
        if (is_floating(t.dtype())) t.set_requires_grad(true);
        return t;
    }

    // The fixture's scalar loss over our outputs: sum_n sum(outputs[n] * weight.n) for every weight in the file.
    Tensor loss(const std::map<std::string, Tensor>& outputs) const {
        Tensor total;
        for (const auto& [key, w] : tensors_) {
            if (key.rfind("weight.", 0) != 0) continue;
            const std::string name = key.substr(7);
            auto it = outputs.find(name);
            if (it == outputs.end()) {
                ADD_FAILURE() << path_ << ": the loss needs output '" << name << "', which the test did not give";
                continue;
            }
            Tensor term = sum(mul(it->second, w));
            total = total.defined() ? add(total, term) : term;
        }
        return total;
    }

    // One check: prints "<fixture> <key>: err/bound = x" and fails when x > 1.
    void expect(const std::string& key, const Tensor& actual, double tol) const {
        const Tensor expected = at(key);
        ASSERT_TRUE(actual.defined()) << path_ << ": " << key << " not computed (no gradient reached it?)";
        ASSERT_EQ(actual.shape(), expected.shape()) << path_ << ": " << key;
        const double frac = parity_error_fraction(actual, expected, tol);
        std::printf("[parity] %-28s %-44s err/bound %.3g\n", short_name().c_str(), key.c_str(), frac);
        EXPECT_LE(frac, 1.0) << path_ << ": " << key << " differs from PyTorch by " << frac << " x its bound";
    }

    // Forward: every output.<name> in the file against outputs[name].
    void expect_outputs(const std::map<std::string, Tensor>& outputs) const {
        for (const auto& [key, t] : tensors_) {
            if (key.rfind("output.", 0) != 0) continue;
            auto it = outputs.find(key.substr(7));
            if (it == outputs.end()) {
                ADD_FAILURE() << path_ << ": output '" << key.substr(7) << "' not given by the test";
                continue;
            }
            expect(key, it->second, kParityForwardTol);
        }
    }

    // Backward: grad.param.<name> for every parameter of `model` (all must be in the file, and vice versa) and
    // grad.input.<name> for the given inputs.
    void expect_gradients(const nn::Module& model, const std::map<std::string, Tensor>& inputs) const {
        size_t params_in_file = 0;
        for (const auto& [key, t] : tensors_) params_in_file += key.rfind("grad.param.", 0) == 0;
        const NamedTensors params = model.named_parameters();
        EXPECT_EQ(params.size(), params_in_file) << path_ << ": parameter count differs from PyTorch's";
        for (const auto& [name, p] : params) expect("grad.param." + name, p.grad(), kParityGradTol);
        for (const auto& [name, x] : inputs) expect("grad.input." + name, x.grad(), kParityGradTol);
    }

private:
    std::string short_name() const {
        const size_t slash = path_.find_last_of('/');
        return slash == std::string::npos ? path_ : path_.substr(slash + 1);
    }

    std::string path_;
    std::map<std::string, Tensor> tensors_;
};

inline std::string parity_fixture(const std::string& name) {
    return std::string(WSDOL_SOURCE_DIR) + "/tests/reference/parity/" + name;
}

}  // namespace wsdol::test
