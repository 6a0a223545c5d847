// registry.cpp — storage for the op and kernel registries (filled by static registration at start-up).
#include "engine/ops/registry.h"

#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

namespace wsdol {

namespace {
std::vector<OpSpec>& ops() {
    static std::vector<OpSpec> v;
    return v;
}
std::unordered_map<std::string, size_t>& op_index() {
    static std::unordered_map<std::string, size_t> m;
    return m;
}
struct KernelEntry {
    void* fn;
    std::type_index signature;
};
using KernelMap = std::map<std::tuple<std::string, int, int>, KernelEntry>;
KernelMap& kernels() {
    static KernelMap m;
    return m;
}
}  // namespace

const std::vector<OpSpec>& op_registry() { return ops(); }

const OpSpec* find_op(const std::string& name) {
    auto it = op_index().find(name);
    return it == op_index().end() ? nullptr : &ops()[it->second];
}

bool register_op(const OpSpec& spec) {
    WSDOL_CHECK(!find_op(spec.name), "op '", spec.name, "' registered twice (families '", find_op(spec.name)->family,
                "' and '", spec.family, "')");
    op_index()[spec.name] = ops().size();
    ops().push_back(spec);
    return true;
}

bool register_kernel(const std::string& name, DeviceKind device, DType dtype, void* fn, std::type_index signature) {
    auto key = std::make_tuple(name, static_cast<int>(device), static_cast<int>(dtype));
    WSDOL_CHECK(!kernels().count(key), "kernel '", name, "' registered twice for ", dtype_name(dtype));
    kernels().emplace(key, KernelEntry{fn, signature});
    return true;
}

void* lookup_kernel(const std::string& name, DeviceKind device, DType dtype, std::type_index signature) {
    auto it = kernels().find(std::make_tuple(name, static_cast<int>(device), static_cast<int>(dtype)));
    const char* dev = device == DeviceKind::cpu ? "cpu" : "cuda";
    if (it == kernels().end()) {
        std::string hint;
        if (device == DeviceKind::cpu && is_half(dtype))
            hint = " (the CPU stores float16/bfloat16 but computes in float32: convert with .to(DType::f32))";
        fail(str("op '", name, "': no kernel for device ", dev, " and dtype ", dtype_name(dtype), hint));
    }
    WSDOL_CHECK(it->second.signature == signature, "kernel '", name, "' on ", dev,
                " was registered with a different signature than requested");
    return it->second.fn;
}

std::vector<KernelKey> registered_kernels() {
    std::vector<KernelKey> out;
    for (auto& [key, entry] : kernels())
        out.push_back({std::get<0>(key), static_cast<DeviceKind>(std::get<1>(key)), static_cast<DType>(std::get<2>(key))});
    return out;
}

bool TensorView::contiguous() const {
    int64_t expected = 1;
    for (int i = ndim - 1; i >= 0; --i) {
        if (shape[i] != 1 && strides[i] != expected) return false;
        expected *= shape[i];
    }
    return true;
}

TensorView view_of(const Tensor& t) {
    TensorView v;
    v.data = t.numel() ? t.data_ptr() : nullptr;
    v.dtype = t.dtype();
    v.ndim = t.dim();
    for (int i = 0; i < v.ndim; ++i) {
        v.shape[i] = t.shape()[i];
        v.strides[i] = t.strides()[i];
    }
    return v;
}

TensorView broadcast_view(const Tensor& t, const Shape& shape) {
    const int nd = static_cast<int>(shape.size());
    WSDOL_CHECK(t.dim() <= nd, "cannot broadcast ", shape_str(t.shape()), " to ", shape_str(shape));
    TensorView v;
    v.data = t.numel() ? t.data_ptr() : nullptr;
    v.dtype = t.dtype();
    v.ndim = nd;
    const int lead = nd - t.dim();
    for (int i = 0; i < nd; ++i) {
        v.shape[i] = shape[i];
        if (i < lead) {
            v.strides[i] = 0;
        } else {
            const int64_t s = t.shape()[i - lead];
            WSDOL_CHECK(s == shape[i] || s == 1, "cannot broadcast ", shape_str(t.shape()), " to ", shape_str(shape));
            v.strides[i] = (s == 1 && shape[i] != 1) ? 0 : t.strides()[i - lead];
        }
    }
    return v;
}

}  // namespace wsdol
