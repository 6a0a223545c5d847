// tensor.cpp — Tensor factories, metadata, element access, conversion and printing.
// (Views are ops with backward: ops/shape_ops.cpp. Autograd members: autograd/autograd.cpp.)
#include "engine/tensor/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/ops/registry.h"
#include "engine/tensor/tensor_kernels.h"

namespace wsdol {

std::string shape_str(const Shape& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

int64_t shape_numel(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
}

Shape contiguous_strides(const Shape& s) {
    Shape strides(s.size());
    int64_t acc = 1;
    for (int i = static_cast<int>(s.size()) - 1; i >= 0; --i) {
        strides[i] = acc;
        // A hostile file can declare an empty tensor such as [4e8, 0, 6e11]: no data, but strides past int64.
        WSDOL_CHECK(!__builtin_mul_overflow(acc, std::max<int64_t>(s[i], 1), &acc), "shape ", shape_str(s),
                    " is too large (its strides overflow 64 bits)");
    }
    return strides;
}

Tensor make_tensor(std::shared_ptr<Storage> storage, const Shape& shape, const Shape& strides, int64_t offset,
                   DType dtype) {
    WSDOL_CHECK(shape.size() <= static_cast<size_t>(kMaxDims), "tensors have at most ", kMaxDims, " dims, got ",
                shape.size(), " (shape ", shape_str(shape), ")");
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::move(storage);
    impl->shape = shape;
    impl->strides = strides;
    impl->offset = offset;
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

// ---------------------------------------------------------------- factories
Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
    for (int64_t d : shape) WSDOL_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
    auto storage = std::make_shared<Storage>(shape_numel(shape) * dtype_size(dtype), device);
    return make_tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
    Tensor t = empty(shape, dtype, device);
    t.fill_(value);
    return t;
}
Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor Tensor::scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor Tensor::arange(int64_t end, DType dtype, Device device) { return arange(0, static_cast<double>(end), 1, dtype, device); }

Tensor Tensor::arange(double start, double end, double step, DType dtype, Device device) {
    WSDOL_CHECK(step != 0, "arange: step must be non-zero");
    const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((end - start) / step)));
    std::vector<double> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = start + step * static_cast<double>(i);
    return from_vector(v, {n}, dtype, device);
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype, Device device) {
    WSDOL_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
                " values for shape ", shape_str(shape));
    Tensor src = from_blob(values.data(), shape, DType::f64);
    Tensor out = empty(shape, dtype, device);
    out.copy_(src);
    return out;
}

Tensor Tensor::from_blob(const void* data, const Shape& shape, DType dtype) {
    Tensor t = empty(shape, dtype, Device::cpu());
    if (t.numel()) std::memcpy(t.data_ptr(), data, t.numel() * dtype_size(dtype));
    return t;
}

namespace {
Tensor random_tensor(const Shape& shape, DType dtype, Generator* gen, RandomKind kind, double a, double b) {
    Generator& g = gen ? *gen : default_generator();
    Tensor t = Tensor::empty(shape, dtype);
    const uint64_t first = g.reserve(static_cast<uint64_t>(t.numel()));
    if (t.numel()) find_kernel<RandomKernel>("random", t.device(), dtype)(view_of(t), g.seed(), first, kind, a, b);
    return t;
}
}  // namespace

Tensor Tensor::rand(const Shape& shape, DType dtype, Generator* gen) {
    return random_tensor(shape, dtype, gen, RandomKind::uniform, 0.0, 1.0);
}
Tensor Tensor::randn(const Shape& shape, DType dtype, Generator* gen) {
    return random_tensor(shape, dtype, gen, RandomKind::normal, 0.0, 1.0);
}
Tensor Tensor::uniform(const Shape& shape, double low, double high, DType dtype, Generator* gen) {
    return random_tensor(shape, dtype, gen, RandomKind::uniform, low, high);
}
Tensor Tensor::randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Generator* gen) {
    WSDOL_CHECK(high > low, "randint: empty range [", low, ", ", high, ")");
    return random_tensor(shape, dtype, gen, RandomKind::integer, static_cast<double>(low), static_cast<double>(high));
}

// ---------------------------------------------------------------- metadata
int Tensor::normalize_dim(int d) const {
    const int n = dim();
    const int lim = std::max(n, 1);
    WSDOL_CHECK(d >= -lim && d < lim, "dim ", d, " out of range for a tensor of shape ", shape_str(shape()));
    return d < 0 ? d + lim : d;
}
int64_t Tensor::size(int d) const { return shape()[normalize_dim(d)]; }
int64_t Tensor::stride(int d) const { return strides()[normalize_dim(d)]; }

bool Tensor::is_contiguous() const {
    int64_t expected = 1;
    for (int i = dim() - 1; i >= 0; --i) {
        if (shape()[i] != 1 && strides()[i] != expected) return false;
        expected *= shape()[i];
    }
    return true;
}

void* Tensor::data_ptr() const {
    const TensorImpl& t = impl();
    if (!t.storage || !t.storage->data()) return nullptr;
    return static_cast<char*>(t.storage->data()) + t.offset * static_cast<int64_t>(dtype_size(t.dtype));
}

// ---------------------------------------------------------------- element access and conversion
void Tensor::copy_(const Tensor& src) {
    WSDOL_CHECK(src.defined(), "copy_: undefined source");
    if (numel() == 0) return;
    Tensor s = src;
    if (s.device() != device()) s = s.to(device());
    const TensorView dst_view = view_of(*this);
    const TensorView src_view = broadcast_view(s, shape());
    find_kernel<CopyKernel>("copy", device(), s.dtype())(dst_view, src_view);
}

void Tensor::fill_(double value) {
    if (numel() == 0) return;
    find_kernel<FillKernel>("fill", device(), dtype())(view_of(*this), value);
}

std::vector<double> Tensor::to_vector() const {
    Tensor host = device().is_cpu() ? *this : to(Device::cpu());
    Tensor out = Tensor::empty(shape(), DType::f64);
    {
        NoGradGuard no_grad;
        out.copy_(host);
    }
    const double* p = out.data<double>();
    return std::vector<double>(p, p + out.numel());
}

double Tensor::item() const {
    WSDOL_CHECK(numel() == 1, "item(): tensor of shape ", shape_str(shape()), " has ", numel(), " elements, not 1");
    return to_vector()[0];
}

// ---------------------------------------------------------------- printing
std::string Tensor::to_string(int max_per_dim) const {
    if (!defined()) return "tensor(undefined)";
    std::vector<double> v = to_vector();
    const bool floating = is_floating(dtype());
    bool all_int = true;
    double max_abs = 0;
    for (double x : v) {
        if (std::isfinite(x)) {
            max_abs = std::max(max_abs, std::fabs(x));
            if (x != std::floor(x)) all_int = false;
        }
    }
    const bool sci = floating && (max_abs >= 1e8 || (max_abs > 0 && max_abs < 1e-4));
    auto fmt = [&](double x) {
        char buf[64];
        if (dtype() == DType::boolean) return std::string(x != 0 ? "True" : "False");
        if (!floating) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(x));
        else if (std::isnan(x)) std::snprintf(buf, sizeof buf, "nan");
        else if (std::isinf(x)) std::snprintf(buf, sizeof buf, x > 0 ? "inf" : "-inf");
        else if (sci) std::snprintf(buf, sizeof buf, "%.4e", x);
        else if (all_int) std::snprintf(buf, sizeof buf, "%.0f.", x);
        else std::snprintf(buf, sizeof buf, "%.4f", x);
        return std::string(buf);
    };
    size_t width = 0;
    for (double x : v) width = std::max(width, fmt(x).size());
    const Shape& s = shape();
    const Shape cs = contiguous_strides(s);
    std::ostringstream os;
    os << "tensor(";
    // recursive print over dims with elision of the middle when a dim exceeds max_per_dim
    std::function<void(int, int64_t, int)> rec = [&](int d, int64_t base, int indent) {
        if (d == static_cast<int>(s.size())) {
            std::string f = fmt(v[base]);
            os << std::string(width - f.size(), ' ') << f;
            return;
        }
        os << "[";
        const int64_t n = s[d];
        const bool elide = n > max_per_dim;
        for (int64_t i = 0; i < n; ++i) {
            if (elide && i == max_per_dim / 2) {
                os << (d + 1 == static_cast<int>(s.size()) ? "..., " : "...,\n" + std::string(indent + 1, ' '));
                i = n - max_per_dim / 2 - 1;
                continue;
            }
            rec(d + 1, base + i * cs[d], indent + 1);
            if (i + 1 < n) {
                if (d + 1 == static_cast<int>(s.size())) os << ", ";
                else os << "," << std::string(s.size() - d - 1, '\n') << std::string(indent + 1, ' ');
            }
        }
        os << "]";
    };
    if (numel() == 0) os << "[]";
    else rec(0, 0, 7);
    os << ", shape=" << shape_str(s) << ", dtype=" << dtype_name(dtype()) << ", device=" << device().name();
    if (impl().grad_fn) os << ", grad_fn=<" << impl().grad_fn->op << ">";
    else if (impl().requires_grad) os << ", requires_grad=True";
    os << ")";
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace wsdol
