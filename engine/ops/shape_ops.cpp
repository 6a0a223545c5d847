// shape_ops.cpp — views and copies: view/reshape, permute, slice/narrow, select, expand, squeeze/unsqueeze,
// flip, contiguous, clone, cast, and the broadcast helpers (broadcast_shapes, sum_to).
//
// A view shares its base's storage (new shape/strides/offset) and records a node whose backward maps the
// gradient back to the base's shape: reshape for view, inverse permutation for permute, "place into zeros" for
// slice/select, sum_to for expand.
#include "engine/ops/shape_ops.h"

#include <algorithm>
#include <numeric>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "engine/tensor/tensor_kernels.h"

namespace wsdol {

WSDOL_OP(view, "shape", true);
WSDOL_OP(permute, "shape", true);
WSDOL_OP(slice, "shape", true);
WSDOL_OP(select, "shape", true);
WSDOL_OP(expand, "shape", true);
WSDOL_OP(flip, "shape", true);
WSDOL_OP(contiguous, "shape", true);
WSDOL_OP(clone, "shape", true);
WSDOL_OP(cast, "shape", true);

namespace {

Tensor alias(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
    return make_tensor(base.storage(), shape, strides, offset, base.dtype());
}

// Gradient of a view that picks part of `base_shape`: zeros with the grad copied through the same view.
Tensor place_into_zeros(const Tensor& grad, const Shape& base_shape, const std::function<Tensor(const Tensor&)>& pick) {
    Tensor out = Tensor::zeros(base_shape, grad.dtype(), grad.device());
    pick(out).copy_(grad);
    return out;
}

// Strides for viewing (shape, strides) as new_shape without copying, or empty if impossible (PyTorch's
// computeStride): dims are grouped into runs that are contiguous among themselves.
Shape view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape) {
    if (shape_numel(shape) == 0 || shape.empty()) return contiguous_strides(new_shape);
    Shape out(new_shape.size());
    int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
    int64_t chunk_base_stride = strides.back();
    int64_t tensor_numel = 1, view_numel = 1;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
        tensor_numel *= shape[d];
        if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
                out[view_d] = view_numel * chunk_base_stride;
                view_numel *= new_shape[view_d];
                --view_d;
            }
            if (view_numel != tensor_numel) return {};
            if (d > 0) {
                chunk_base_stride = strides[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    if (view_d != -1) return {};
    return out;
}

Shape infer_shape(const Shape& requested, int64_t numel, const char* op, const Shape& from) {
    Shape s = requested;
    int infer = -1;
    int64_t known = 1;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == -1) {
            WSDOL_CHECK(infer < 0, op, ": only one dimension can be -1 in ", shape_str(requested));
            infer = static_cast<int>(i);
        } else {
            WSDOL_CHECK(s[i] >= 0, op, ": invalid size in ", shape_str(requested));
            known *= s[i];
        }
    }
    if (infer >= 0) {
        WSDOL_CHECK(known != 0 && numel % known == 0, op, ": cannot view ", shape_str(from), " as ", shape_str(requested));
        s[infer] = numel / known;
    }
    WSDOL_CHECK(shape_numel(s) == numel, op, ": shape ", shape_str(requested), " is invalid for a tensor of shape ",
                shape_str(from), " (", numel, " elements)");
    return s;
}

}  // namespace

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
    const size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (size_t i = 0; i < n; ++i) {
        const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        WSDOL_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
                    " cannot be broadcast (dim ", i, ": ", da, " vs ", db, ")");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
    if (grad.shape() == shape) return grad;
    const int lead = grad.dim() - static_cast<int>(shape.size());
    WSDOL_CHECK(lead >= 0, "sum_to: cannot reduce ", shape_str(grad.shape()), " to ", shape_str(shape));
    std::vector<int> dims;
    for (int i = 0; i < grad.dim(); ++i)
        if (i < lead || (shape[i - lead] == 1 && grad.shape()[i] != 1)) dims.push_back(i);
    Tensor r = dims.empty() ? grad : sum(grad, dims, true);
    return r.view(shape);
}

// ---------------------------------------------------------------- views
Tensor Tensor::view(const Shape& requested) const {
    const Shape new_shape = infer_shape(requested, numel(), "view", shape());
    Shape st = view_strides(shape(), strides(), new_shape);
    WSDOL_CHECK(!st.empty() || new_shape.empty(), "view: cannot view ", shape_str(shape()), " with strides ",
                shape_str(strides()), " as ", shape_str(new_shape), " without a copy; use reshape()");
    if (new_shape.empty()) st = {};
    Tensor out = alias(*this, new_shape, st, offset());
    record("view", {*this}, {out}, [in_shape = shape()](const TensorList& g) -> TensorList {
        return {g[0].reshape(in_shape)};
    });
    return out;
}

Tensor Tensor::reshape(const Shape& requested) const {
    const Shape new_shape = infer_shape(requested, numel(), "reshape", shape());
    if (!view_strides(shape(), strides(), new_shape).empty() || new_shape.empty() || numel() == 0)
        return view(new_shape);
    return contiguous().view(new_shape);
}

Tensor Tensor::flatten(int start_dim, int end_dim) const {
    if (dim() == 0) return reshape({1});
    const int s = normalize_dim(start_dim), e = normalize_dim(end_dim);
    WSDOL_CHECK(s <= e, "flatten: start_dim ", start_dim, " after end_dim ", end_dim);
    Shape ns(shape().begin(), shape().begin() + s);
    int64_t m = 1;
    for (int i = s; i <= e; ++i) m *= shape()[i];
    ns.push_back(m);
    ns.insert(ns.end(), shape().begin() + e + 1, shape().end());
    return reshape(ns);
}

Tensor Tensor::permute(const std::vector<int>& dims) const {
    WSDOL_CHECK(static_cast<int>(dims.size()) == dim(), "permute: ", dims.size(), " dims given for a tensor of shape ",
                shape_str(shape()));
    std::vector<int> d(dims.size());
    std::vector<bool> used(dims.size(), false);
    Shape ns(dims.size()), nst(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) {
        d[i] = normalize_dim(dims[i]);
        WSDOL_CHECK(!used[d[i]], "permute: dim ", dims[i], " repeated");
        used[d[i]] = true;
        ns[i] = shape()[d[i]];
        nst[i] = strides()[d[i]];
    }
    Tensor out = alias(*this, ns, nst, offset());
    record("permute", {*this}, {out}, [d](const TensorList& g) -> TensorList {
        std::vector<int> inverse(d.size());
        for (size_t i = 0; i < d.size(); ++i) inverse[d[i]] = static_cast<int>(i);
        return {g[0].permute(inverse)};
    });
    return out;
}

Tensor Tensor::transpose(int d0, int d1) const {
    std::vector<int> p(dim());
    std::iota(p.begin(), p.end(), 0);
    std::swap(p[normalize_dim(d0)], p[normalize_dim(d1)]);
    return permute(p);
}

Tensor Tensor::slice(int dim_, int64_t start, int64_t end, int64_t step) const {
    const int d = normalize_dim(dim_);
    WSDOL_CHECK(step > 0, "slice: step must be positive, got ", step);
    const int64_t n = shape()[d];
    if (start < 0) start += n;
    if (end < 0) end += n;
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, start, n);
    Shape ns = shape(), nst = strides();
    ns[d] = (end - start + step - 1) / step;
    nst[d] = strides()[d] * step;
    Tensor out = alias(*this, ns, nst, offset() + start * strides()[d]);
    record("slice", {*this}, {out}, [in_shape = shape(), d, start, end, step](const TensorList& g) -> TensorList {
        return {place_into_zeros(g[0], in_shape, [&](const Tensor& z) { return z.slice(d, start, end, step); })};
    });
    return out;
}

Tensor Tensor::narrow(int dim_, int64_t start, int64_t length) const {
    const int d = normalize_dim(dim_);
    WSDOL_CHECK(start >= 0 && length >= 0 && start + length <= shape()[d], "narrow: [", start, ", ", start + length,
                ") out of range for dim ", dim_, " of shape ", shape_str(shape()));
    return slice(d, start, start + length, 1);
}

Tensor Tensor::select(int dim_, int64_t index) const {
    const int d = normalize_dim(dim_);
    const int64_t n = shape()[d];
    WSDOL_CHECK(index >= -n && index < n, "select: index ", index, " out of range for dim ", dim_, " of shape ",
                shape_str(shape()));
    if (index < 0) index += n;
    Shape ns = shape(), nst = strides();
    ns.erase(ns.begin() + d);
    nst.erase(nst.begin() + d);
    Tensor out = alias(*this, ns, nst, offset() + index * strides()[d]);
    record("select", {*this}, {out}, [in_shape = shape(), d, index](const TensorList& g) -> TensorList {
        return {place_into_zeros(g[0], in_shape, [&](const Tensor& z) { return z.select(d, index); })};
    });
    return out;
}

Tensor Tensor::expand(const Shape& requested) const {
    WSDOL_CHECK(requested.size() >= static_cast<size_t>(dim()), "expand: cannot expand ", shape_str(shape()), " to ",
                shape_str(requested));
    const int lead = static_cast<int>(requested.size()) - dim();
    Shape ns(requested.size()), nst(requested.size());
    for (size_t i = 0; i < requested.size(); ++i) {
        const int j = static_cast<int>(i) - lead;
        if (j < 0) {
            WSDOL_CHECK(requested[i] >= 0, "expand: -1 not allowed for a new leading dim in ", shape_str(requested));
            ns[i] = requested[i];
            nst[i] = 0;
        } else {
            const int64_t cur = shape()[j];
            const int64_t want = requested[i] == -1 ? cur : requested[i];
            WSDOL_CHECK(cur == want || cur == 1, "expand: cannot expand ", shape_str(shape()), " to ",
                        shape_str(requested), " (dim ", i, ": ", cur, " -> ", want, ")");
            ns[i] = want;
            nst[i] = cur == want ? strides()[j] : 0;
        }
    }
    Tensor out = alias(*this, ns, nst, offset());
    record("expand", {*this}, {out}, [in_shape = shape()](const TensorList& g) -> TensorList {
        return {sum_to(g[0], in_shape)};
    });
    return out;
}

Tensor Tensor::squeeze(int dim_) const {
    const int d = normalize_dim(dim_);
    if (dim() == 0 || shape()[d] != 1) return view(shape());
    Shape ns = shape();
    ns.erase(ns.begin() + d);
    return view(ns);
}

Tensor Tensor::squeeze() const {
    Shape ns;
    for (int64_t s : shape())
        if (s != 1) ns.push_back(s);
    return view(ns);
}

Tensor Tensor::unsqueeze(int dim_) const {
    const int n = dim() + 1;
    WSDOL_CHECK(dim_ >= -n && dim_ < n, "unsqueeze: dim ", dim_, " out of range for shape ", shape_str(shape()));
    const int d = dim_ < 0 ? dim_ + n : dim_;
    Shape ns = shape();
    ns.insert(ns.begin() + d, 1);
    return view(ns);
}

// ---------------------------------------------------------------- copies
Tensor Tensor::flip(const std::vector<int>& dims) const {
    std::vector<int> d;
    for (int x : dims) d.push_back(normalize_dim(x));
    // A flipped view has negative strides, which our kernels do not take; copy through a reversed walk instead.
    Tensor out = Tensor::empty(shape(), dtype(), device());
    {
        Shape st = strides();
        int64_t off = offset();
        for (int x : d) {
            if (shape()[x] > 0) off += (shape()[x] - 1) * st[x];
            st[x] = -st[x];
        }
        TensorView src = view_of(*this);
        for (int i = 0; i < src.ndim; ++i) src.strides[i] = st[i];
        src.data = numel() ? static_cast<char*>(storage()->data()) + off * static_cast<int64_t>(dtype_size(dtype())) : nullptr;
        if (numel()) find_kernel<CopyKernel>("copy", device(), dtype())(view_of(out), src);
    }
    record("flip", {*this}, {out}, [d](const TensorList& g) -> TensorList { return {g[0].flip(d)}; });
    return out;
}

Tensor Tensor::contiguous() const {
    if (is_contiguous()) return *this;
    Tensor out = Tensor::empty(shape(), dtype(), device());
    out.copy_(*this);
    record("contiguous", {*this}, {out}, [](const TensorList& g) -> TensorList { return {g[0]}; });
    return out;
}

Tensor Tensor::clone() const {
    Tensor out = Tensor::empty(shape(), dtype(), device());
    out.copy_(*this);
    record("clone", {*this}, {out}, [](const TensorList& g) -> TensorList { return {g[0]}; });
    return out;
}

Tensor cast(const Tensor& x, DType dtype) {
    if (x.dtype() == dtype) return x;
    WSDOL_CHECK(!x.requires_grad() || is_floating(dtype), "cast: a tensor that requires grad can only be cast to a ",
                "floating dtype, not ", dtype_name(dtype));
    Tensor out = Tensor::empty(x.shape(), dtype, x.device());
    out.copy_(x);
    record("cast", {x}, {out}, [from = x.dtype()](const TensorList& g) -> TensorList { return {cast(g[0], from)}; });
    return out;
}

Tensor Tensor::to(DType dtype) const { return cast(*this, dtype); }

Tensor Tensor::to(Device target) const {
    if (target == device()) return *this;
    WSDOL_CHECK(!requires_grad(), "to(", target.name(), "): moving a tensor that requires grad between devices is ",
                "not recorded by autograd; detach() first or create parameters on the target device");
    Tensor out = Tensor::empty(shape(), dtype(), target);
    Tensor src = contiguous();
    using DeviceCopy = void(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);
    const Device backend = target.is_cpu() ? device() : target;
    find_kernel<DeviceCopy>("device_copy", backend, DType::u8)(out.data_ptr(), target, src.data_ptr(), device(),
                                                               numel() * dtype_size(dtype()));
    return out;
}

}  // namespace wsdol
