// test_models_util.h — helpers shared by the model and name-map tests: the reduced checkpoints of
// tests/reference/models/ (written by gen_model_checkpoints.py), bit-exact comparison of a model's state with a
// checkpoint, tolerance comparison of forward outputs, and the full-size name/shape lists as shape-only tensors.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/nn/module.h"
#include "engine/tensor/tensor.h"

namespace wsdol::test {

inline std::string model_fixture(const std::string& name) {
    return std::string(WSDOL_SOURCE_DIR) + "/tests/reference/models/" + name;
}

inline NamedTensors load_model_fixture(const std::string& name) { return io::load_safetensors(model_fixture(name)); }

inline Tensor tensor_named(const NamedTensors& tensors, const std::string& name) {
    for (const auto& [n, t] : tensors)
        if (n == name) return t;
    ADD_FAILURE() << "no tensor '" << name << "'";
    return Tensor();
}

inline NamedTensors without(const NamedTensors& tensors, const std::string& name) {
    NamedTensors out;
    for (const auto& [n, t] : tensors)
        if (n != name) out.emplace_back(n, t);
    return out;
}

inline std::string bytes_of(const Tensor& t) {
    const Tensor c = t.contiguous();
    return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * dtype_size(c.dtype()));
}

// Every entry of the model's state equals the checkpoint tensor of the same name bit for bit, after the one
// conversion loading makes (the checkpoint's dtype to the model's: f16 -> f32 is exact). skip_absent: entries
// the checkpoint lacks are not compared (optional ones).
inline void expect_state_matches(const nn::Module& model, const NamedTensors& checkpoint, bool skip_absent = false) {
    std::map<std::string, Tensor> file(checkpoint.begin(), checkpoint.end());
    for (const auto& [name, mine] : model.state_dict()) {
        auto it = file.find(name);
        if (it == file.end()) {
            if (skip_absent) continue;
            ADD_FAILURE() << "checkpoint has no '" << name << "'";
            continue;
        }
        const Tensor expected = it->second.dtype() == mine.dtype() ? it->second : it->second.to(mine.dtype());
        EXPECT_EQ(mine.shape(), expected.shape()) << name;
        EXPECT_TRUE(mine.shape() == expected.shape() && bytes_of(mine) == bytes_of(expected))
            << name << " differs from the checkpoint";
    }
}

// |a - b| <= atol + rtol |b| elementwise; the message names the worst element.
inline void expect_close(const Tensor& a, const Tensor& b, double atol, double rtol, const std::string& what) {
    ASSERT_TRUE(a.defined() && b.defined()) << what;
    ASSERT_EQ(a.shape(), b.shape()) << what;
    const std::vector<double> x = a.to_vector(), y = b.to_vector();
    double worst = 0.0;
    size_t at = 0;
    bool ok = true;
    for (size_t i = 0; i < x.size(); ++i) {
        const double err = std::abs(x[i] - y[i]);
        if (!(err <= atol + rtol * std::abs(y[i]))) ok = false;
        if (!(err <= worst)) {
            worst = err;
            at = i;
        }
    }
    EXPECT_TRUE(ok) << what << ": max |diff| " << worst << " at flat index " << at << " (" << x[at] << " vs "
                    << y[at] << ")";
}

// A tensor with the given shape and dtype whose storage is one element (a broadcast view): name/shape lists at full
// size cost nothing.
inline Tensor shape_only(const Shape& shape, DType dtype) {
    Tensor t = Tensor::zeros(Shape(shape.size(), 1), dtype);
    return shape.empty() ? t : t.expand(shape);
}

// tests/reference/models/full_size_keys.txt: label -> names, dtypes and shapes (in state_dict order).
inline std::map<std::string, NamedTensors> full_size_key_lists() {
    std::map<std::string, NamedTensors> lists;
    std::ifstream f(model_fixture("full_size_keys.txt"));
    EXPECT_TRUE(f.good()) << "cannot read full_size_keys.txt";
    std::string line, label;
    while (std::getline(f, line)) {
        if (line.empty() || (line[0] == '#' && line.rfind("## ", 0) != 0)) continue;
        std::istringstream in(line);
        if (line.rfind("## ", 0) == 0) {
            std::string hashes;
            in >> hashes >> label;
            lists[label];
            continue;
        }
        std::string name, dtype, dims;
        in >> name >> dtype >> dims;
        Shape shape;
        if (dims != "-") {
            std::istringstream d(dims);
            for (std::string part; std::getline(d, part, ',');) shape.push_back(std::stoll(part));
        }
        lists[label].emplace_back(name, shape_only(shape, dtype_from_name(dtype)));
    }
    return lists;
}

}  // namespace wsdol::test
