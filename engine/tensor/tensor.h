// tensor.h — the Tensor: a strided view of typed storage on a device, plus its autograd state.
//
// Layout: up to 8 dims; `strides` and `offset` count elements, not bytes; a view shares its base's Storage.
// Views are free (reshape where the strides allow it, view, permute, transpose, narrow/slice, select, expand,
// squeeze/unsqueeze); `contiguous()` copies only when needed. Every view is an op with a backward
// (ops/shape_ops.cpp), so gradients flow through them.
//
// Tensor is a handle (shared_ptr to TensorImpl): copying a Tensor copies the handle, never the data.
// Autograd state (requires_grad, grad, grad_fn) lives on the impl; the rules are in autograd/autograd.h.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/allocator.h"
#include "engine/core/device.h"
#include "engine/core/dtype.h"
#include "engine/core/error.h"
#include "engine/core/rng.h"

namespace wsdol {

constexpr int kMaxDims = 8;
using Shape = std::vector<int64_t>;
class Tensor;
// Tensors with names, in order: state dicts, checkpoint contents, optimizer parameter lists.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
std::string shape_str(const Shape& s);  // "[2, 3, 4]"
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

class Tensor;
struct Node;
using TensorHook = std::function<Tensor(const Tensor& grad)>;  // returns a replacement grad, or undefined to keep it

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    Shape strides;
    int64_t offset = 0;
    DType dtype = DType::f32;
    // autograd (see autograd/autograd.h)
    bool requires_grad = false;            // leaves only; non-leaves require grad through grad_fn
    std::shared_ptr<Node> grad_fn;         // the op that made this tensor (null for leaves)
    int output_nr = 0;                     // which output of grad_fn this is
    std::shared_ptr<TensorImpl> grad;      // accumulated gradient (leaves, or non-leaves with retain_grad)
    bool retains_grad = false;
    std::vector<TensorHook> hooks;         // leaf hooks; non-leaf hooks live on grad_fn
    std::string name;                      // optional, for error messages and debugging
};

class Tensor {
public:
    Tensor() = default;
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    // ---- factories ----
    static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
    static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
    static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
    static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
    static Tensor scalar(double value, DType dtype = DType::f32, Device device = Device::cpu());  // 0-dim
    static Tensor arange(int64_t end, DType dtype = DType::i64, Device device = Device::cpu());
    static Tensor arange(double start, double end, double step, DType dtype, Device device = Device::cpu());
    // From host values (converted to dtype); values.size() must equal the shape's numel.
    static Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::f32,
                              Device device = Device::cpu());
    static Tensor from_blob(const void* data, const Shape& shape, DType dtype);  // copies into a new CPU tensor
    // Random (Philox counters; see core/rng.h). Default generator when none is given.
    static Tensor rand(const Shape& shape, DType dtype = DType::f32, Generator* gen = nullptr);   // U[0,1)
    static Tensor randn(const Shape& shape, DType dtype = DType::f32, Generator* gen = nullptr);  // N(0,1)
    static Tensor uniform(const Shape& shape, double low, double high, DType dtype = DType::f32,
                          Generator* gen = nullptr);
    static Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::i64,
                          Generator* gen = nullptr);

    // ---- metadata ----
    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const { return impl().shape; }
    const Shape& strides() const { return impl().strides; }
    int64_t offset() const { return impl().offset; }
    int dim() const { return static_cast<int>(impl().shape.size()); }
    int64_t size(int d) const;  // negative d counts from the end
    int64_t stride(int d) const;
    int64_t numel() const { return shape_numel(impl().shape); }
    DType dtype() const { return impl().dtype; }
    Device device() const { return impl().storage ? impl().storage->device() : Device::cpu(); }
    bool is_contiguous() const;
    const std::shared_ptr<Storage>& storage() const { return impl().storage; }
    void* data_ptr() const;  // first element (storage + offset)
    template <typename T> T* data() const {
        WSDOL_CHECK(dtype_of<T>::value == dtype(), "tensor data<", dtype_name(dtype_of<T>::value),
                    ">() on a ", dtype_name(dtype()), " tensor");
        return static_cast<T*>(data_ptr());
    }
    TensorImpl& impl() const {
        WSDOL_CHECK(impl_, "use of an undefined tensor");
        return *impl_;
    }
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
    bool same(const Tensor& o) const { return impl_ == o.impl_; }
    int normalize_dim(int d) const;  // -1 -> dim()-1, with a range check naming the shape
    std::string name() const { return impl_ ? impl_->name : ""; }
    Tensor& set_name(const std::string& n) { impl().name = n; return *this; }

    // ---- views (differentiable; defined in ops/shape_ops.cpp) ----
    Tensor view(const Shape& shape) const;     // needs compatible strides; one -1 allowed
    Tensor reshape(const Shape& shape) const;  // a view where possible, else a copy
    Tensor flatten(int start_dim = 0, int end_dim = -1) const;
    Tensor permute(const std::vector<int>& dims) const;
    Tensor transpose(int d0, int d1) const;
    Tensor t() const { return transpose(0, 1); }
    Tensor narrow(int dim, int64_t start, int64_t length) const;
    Tensor slice(int dim, int64_t start, int64_t end, int64_t step = 1) const;  // python-style negative bounds
    Tensor select(int dim, int64_t index) const;  // removes dim
    Tensor expand(const Shape& shape) const;      // -1 keeps a size; size-1 dims broadcast with stride 0
    Tensor squeeze(int dim) const;
    Tensor squeeze() const;  // all size-1 dims
    Tensor unsqueeze(int dim) const;
    Tensor flip(const std::vector<int>& dims) const;  // copies
    Tensor contiguous() const;                        // self if already contiguous
    Tensor clone() const;                             // always copies (differentiable)

    // ---- conversion ----
    Tensor to(DType dtype) const;    // differentiable between floating dtypes
    Tensor to(Device device) const;
    Tensor cpu() const { return to(Device::cpu()); }
    double item() const;                    // one element, as double
    std::vector<double> to_vector() const;  // all elements in logical (row-major) order
    template <typename T> std::vector<T> to_vector_as() const {
        std::vector<double> v = to_vector();
        return std::vector<T>(v.begin(), v.end());
    }
    // Copies src into this tensor's elements (shapes must match after broadcasting src); not recorded by autograd.
    void copy_(const Tensor& src);
    void fill_(double value);  // not recorded by autograd
    void zero_() { fill_(0.0); }

    // ---- autograd (autograd/autograd.cpp) ----
    bool requires_grad() const;
    Tensor& set_requires_grad(bool on = true);  // leaves only
    bool is_leaf() const { return impl().grad_fn == nullptr; }
    Tensor grad() const;
    void set_grad(const Tensor& g);
    void zero_grad();  // drops the gradient (next backward starts from nothing)
    Tensor detach() const;  // same storage, no autograd history
    const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
    void backward(const Tensor& grad_output = Tensor(), bool retain_graph = false) const;
    void register_hook(TensorHook hook) const;
    void retain_grad() const;  // keep .grad() on a non-leaf after backward

    // ---- printing ----
    std::string to_string(int max_per_dim = 6) const;  // PyTorch-like: tensor([[...]], dtype=..., device=...)

private:
    std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Makes a tensor from parts (used by view ops and kernels' callers).
Tensor make_tensor(std::shared_ptr<Storage> storage, const Shape& shape, const Shape& strides, int64_t offset,
                   DType dtype);

}  // namespace wsdol
