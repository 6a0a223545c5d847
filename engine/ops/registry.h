// registry.h — the op registry and the kernel registry.
//
// OP REGISTRY. Every op is declared once with WSDOL_OP(name, family, differentiable) in the file that defines it
// (shape rule, forward, backward side by side). The test harness (tests/ops/) attaches cases to each registered
// name and drives, from that one list: forward vs a plain reference, backward vs finite differences (f64, CPU),
// and backend vs CPU. An op registered without a case fails the suite; a recorded autograd node whose op is not
// registered fails it too.
//
// KERNEL REGISTRY. Kernels are registered per (kernel name, device kind, dtype) by each backend
// (kernels/cpu/*.cpp, kernels/cuda/*.cu) with WSDOL_KERNEL. Ops look them up with `find_kernel<Signature>`;
// a missing kernel is an error naming op, device and dtype. The signature of each kernel family is declared in
// the op family's header (engine/ops/<family>.h), so every backend implements the same function type.
#pragma once
#include <string>
#include <typeindex>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/dtype.h"
#include "engine/core/error.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

struct OpSpec {
    std::string name;
    std::string family;  // "elementwise", "reduce", "conv", ... (file that defines it)
    bool differentiable = true;
};

const std::vector<OpSpec>& op_registry();
const OpSpec* find_op(const std::string& name);
bool register_op(const OpSpec& spec);  // duplicate names are a start-up error

// ---- kernels ----
struct KernelKey {
    std::string name;
    DeviceKind device;
    DType dtype;
};
bool register_kernel(const std::string& name, DeviceKind device, DType dtype, void* fn, std::type_index signature);
void* lookup_kernel(const std::string& name, DeviceKind device, DType dtype, std::type_index signature);
std::vector<KernelKey> registered_kernels();

template <typename Fn>
Fn* find_kernel(const std::string& name, Device device, DType dtype) {
    return reinterpret_cast<Fn*>(lookup_kernel(name, device.kind, dtype, std::type_index(typeid(Fn))));
}

// A non-owning description of a tensor's elements for kernels: data already points at the first element.
struct TensorView {
    void* data = nullptr;
    DType dtype = DType::f32;
    int ndim = 0;
    int64_t shape[kMaxDims] = {};
    int64_t strides[kMaxDims] = {};  // elements
    int64_t numel() const {
        int64_t n = 1;
        for (int i = 0; i < ndim; ++i) n *= shape[i];
        return n;
    }
    bool contiguous() const;
    template <typename T> T* ptr() const { return static_cast<T*>(data); }
};
TensorView view_of(const Tensor& t);
// The same view with its shape broadcast to `shape` (stride 0 on broadcast dims; leading dims added).
TensorView broadcast_view(const Tensor& t, const Shape& shape);

}  // namespace wsdol

#define WSDOL_CONCAT_INNER(a, b) a##b
#define WSDOL_CONCAT(a, b) WSDOL_CONCAT_INNER(a, b)

// Declares an op: WSDOL_OP(add, "elementwise", true);
#define WSDOL_OP(op_name, family, differentiable)                                                        \
    static const bool WSDOL_CONCAT(wsdol_op_registered_, __COUNTER__) =                                 \
        ::wsdol::register_op(::wsdol::OpSpec{#op_name, family, differentiable})

// Registers a kernel: WSDOL_KERNEL("binary", cpu, f32, BinaryKernel, &binary_cpu<float>);
#define WSDOL_KERNEL(kernel_name, device_kind, dtype_value, Signature, fn)                                 \
    static const bool WSDOL_CONCAT(wsdol_kernel_registered_, __COUNTER__) = ::wsdol::register_kernel(     \
        kernel_name, ::wsdol::DeviceKind::device_kind, ::wsdol::DType::dtype_value,                      \
        reinterpret_cast<void*>(static_cast<Signature*>(fn)), std::type_index(typeid(Signature)))
