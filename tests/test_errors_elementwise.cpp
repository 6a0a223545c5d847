// test_errors_elementwise.cpp — bad inputs to the elementwise ops throw wsdol::Error with a message that names the
// op, the offending argument and the shapes/dtypes/values involved.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "tests/error_matchers.h"

namespace wsdol {
namespace {

using test::expect_error;

struct NamedBinary {
    std::string name;
    std::function<Tensor(const Tensor&, const Tensor&)> fn;
    bool floating_only;  // div (no integer form)
};

// Every binary op of the family, called with two tensors.
std::vector<NamedBinary> binary_ops() {
    return {
        {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, false},
        {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, false},
        {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, false},
        {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, true},
        {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, false},
        {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, false},
        {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, false},
        {"eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); }, false},
        {"ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); }, false},
        {"lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); }, false},
        {"le", [](const Tensor& a, const Tensor& b) { return le(a, b); }, false},
        {"gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); }, false},
        {"ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); }, false},
        {"logical_and", [](const Tensor& a, const Tensor& b) { return logical_and(a, b); }, false},
        {"logical_or", [](const Tensor& a, const Tensor& b) { return logical_or(a, b); }, false},
        {"logical_xor", [](const Tensor& a, const Tensor& b) { return logical_xor(a, b); }, false},
    };
}

TEST(ElementwiseErrors, BinaryShapesThatDoNotBroadcast) {
    for (const NamedBinary& op : binary_ops()) {
        SCOPED_TRACE(op.name);
        expect_error([&] { op.fn(Tensor::ones({2, 3}), Tensor::ones({4})); }, op.name + ": ",
                     {"[2, 3]", "[4]", "cannot be broadcast"});
        expect_error([&] { op.fn(Tensor::ones({5, 1, 3}), Tensor::ones({2, 4, 1})); }, op.name + ": ",
                     {"[5, 1, 3]", "[2, 4, 1]", "cannot be broadcast"});
        expect_error([&] { op.fn(Tensor::ones({0, 3}), Tensor::ones({2, 3})); }, op.name + ": ",  // 0 is not 1
                     {"[0, 3]", "[2, 3]", "cannot be broadcast"});
    }
    expect_error([] { where(Tensor::ones({2, 3}, DType::boolean), Tensor::ones({4}), Tensor::ones({2, 3})); },
                 "where: ", {"[2, 3] (condition)", "[4] (a)", "[2, 3] (b)", "cannot be broadcast"});
    expect_error([] { where(Tensor::ones({3}, DType::boolean), Tensor::ones({2, 3}), Tensor::ones({4, 1, 2})); },
                 "where: ", {"[3] (condition)", "[2, 3] (a)", "[4, 1, 2] (b)"});
    expect_error([] { where(Tensor::ones({5}, DType::boolean), Tensor::ones({3}), Tensor::ones({3})); },
                 "where: ", {"[5] (condition)", "[3] (a)", "[3] (b)"});
}

TEST(ElementwiseErrors, BinaryDtypeMismatch) {
    for (const NamedBinary& op : binary_ops()) {
        SCOPED_TRACE(op.name);
        expect_error([&] { op.fn(Tensor::ones({2}, DType::f32), Tensor::ones({2, 2}, DType::f64)); }, op.name + ": ",
                     {"dtype mismatch", "float32 [2]", "float64 [2, 2]"});
        if (!op.floating_only)
            expect_error([&] { op.fn(Tensor::ones({3}, DType::i64), Tensor::ones({3}, DType::i32)); }, op.name + ": ",
                         {"dtype mismatch", "int64", "int32"});
    }
    expect_error([] { where(Tensor::ones({2}, DType::boolean), Tensor::ones({2}, DType::f32), Tensor::ones({2}, DType::f64)); },
                 "where: ", {"dtype mismatch", "float32 [2]", "float64 [2]"});
}

TEST(ElementwiseErrors, WhereConditionMustBeBool) {
    for (DType t : {DType::f32, DType::i64, DType::u8}) {
        expect_error([t] { where(Tensor::ones({2, 3}, t), Tensor::ones({2, 3}), Tensor::zeros({2, 3})); },
                     "where: ", {"condition must be a bool tensor", dtype_name(t), "[2, 3]"});
    }
}

TEST(ElementwiseErrors, UndefinedOperands) {
    expect_error([] { add(Tensor(), Tensor::ones({2})); }, "add: ", {"undefined"});
    expect_error([] { exp(Tensor()); }, "exp: ", {"undefined"});
    expect_error([] { where(Tensor(), Tensor::ones({2}), Tensor::ones({2})); }, "where: ", {"undefined"});
    expect_error([] { lt(Tensor(), 1.0); }, "lt: ", {"undefined"});
}

TEST(ElementwiseErrors, IntegerTensorsWhereRealsAreNeeded) {
    const Tensor i = Tensor::ones({2, 3}, DType::i64);
    expect_error([&] { div(i, i); }, "div: ", {"integer division", "int64", "[2, 3]"});
    expect_error([&] { div(i, 2.0); }, "div: ", {"integer division", "int64", "[2, 3]"});
    expect_error([&] { rdiv(1.0, i); }, "rdiv: ", {"needs a floating tensor", "int64 [2, 3]"});
    const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> real_only = {
        {"exp", [](const Tensor& x) { return exp(x); }},
        {"log", [](const Tensor& x) { return log(x); }},
        {"sqrt", [](const Tensor& x) { return sqrt(x); }},
        {"rsqrt", [](const Tensor& x) { return rsqrt(x); }},
        {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
        {"tanh", [](const Tensor& x) { return tanh(x); }},
        {"gelu", [](const Tensor& x) { return gelu(x); }},
        {"gelu(approximate=tanh)", [](const Tensor& x) { return gelu(x, GeluApprox::tanh); }},
        {"quick_gelu", [](const Tensor& x) { return quick_gelu(x); }},
        {"leaky_relu", [](const Tensor& x) { return leaky_relu(x); }},
    };
    for (const auto& [name, fn] : real_only) {
        SCOPED_TRACE(name);
        expect_error([&] { fn(i); }, name + ": ", {"needs a floating tensor", "int64 [2, 3]"});
    }
}

TEST(ElementwiseErrors, ScalarsThatAnIntegerTensorCannotHold) {
    const Tensor i = Tensor::ones({4}, DType::i32);
    expect_error([&] { mul(i, 0.5); }, "mul: ", {"scalar 0.5", "int32", "[4]"});
    expect_error([&] { add(i, 1e12); }, "add: ", {"scalar 1e+12", "int32"});
    expect_error([&] { rsub(std::numeric_limits<double>::quiet_NaN(), i); }, "rsub: ", {"scalar nan", "int32"});
    expect_error([&] { clamp(i, -0.5, 3); }, "clamp: ", {"bounds [-0.5, 3]", "int32", "[4]"});
    expect_error([&] { pow(i, -1.0); }, "pow: ", {"negative integer powers", "exponent -1", "int32 tensor [4]"});
    expect_error([&] { pow(i, 1.5); }, "pow: ", {"exponent 1.5", "integral exponent"});
}

TEST(ElementwiseErrors, BoolTensorsInArithmetic) {
    const Tensor b = Tensor::ones({3}, DType::boolean);
    expect_error([&] { sub(b, b); }, "sub: ", {"bool", "[3]"});
    expect_error([&] { pow(b, b); }, "pow: ", {"bool", "[3]"});
    expect_error([&] { div(b, b); }, "div: ", {"integer division", "bool"});
    expect_error([&] { neg(b); }, "neg: ", {"bool", "[3]"});
    expect_error([&] { abs(b); }, "abs: ", {"bool", "[3]"});
    expect_error([&] { add(b, 1.0); }, "add: ", {"bool", "[3]"});
}

TEST(ElementwiseErrors, LeavesInputsUntouchedAfterAnError) {
    // A failed op records nothing: the leaf still has no grad and can be used again.
    Tensor a = Tensor::ones({2, 3}).set_requires_grad(true);
    EXPECT_THROW(mul(a, Tensor::ones({4})), Error);
    Tensor y = sum(mul(a, 2.0));
    y.backward();
    EXPECT_EQ(a.grad().to_vector(), std::vector<double>(6, 2.0));
}

}  // namespace
}  // namespace wsdol
