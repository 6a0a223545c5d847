// torch_tensors.cpp — tensor references + storage bytes -> Tensors (validated; zero-copy where possible).
#include "weights/torch_tensors.h"

#include <algorithm>
#include <cstring>

namespace wsdol::weights {

using pickle::TorchDType;

bool torch_dtype_loadable(TorchDType t, DType* out) {
    DType d;
    switch (t) {
        case TorchDType::f32: d = DType::f32; break;
        case TorchDType::f64: d = DType::f64; break;
        case TorchDType::f16: d = DType::f16; break;
        case TorchDType::bf16: d = DType::bf16; break;
        case TorchDType::i64: d = DType::i64; break;
        case TorchDType::i32: d = DType::i32; break;
        case TorchDType::u8: d = DType::u8; break;
        case TorchDType::boolean: d = DType::boolean; break;
        // Widened without loss (the safetensors reader's rule for I8/I16/U16/U32).
        case TorchDType::i16: case TorchDType::i8: case TorchDType::u16: d = DType::i32; break;
        case TorchDType::u32: d = DType::i64; break;
        default: return false;
    }
    if (out) *out = d;
    return true;
}

namespace {

[[noreturn]] void tensor_error(const std::string& label, const std::string& name, const std::string& what) {
    fail(str("weights: ", label, ": tensor '", name, "': ", what));
}

// Reads element i (an element index into `base`) as Src, byte-swapping when asked.
template <typename Src>
Src load(const uint8_t* base, int64_t i, bool swap) {
    Src v;
    if (!swap) {
        std::memcpy(&v, base + i * static_cast<int64_t>(sizeof(Src)), sizeof(Src));
    } else {
        uint8_t tmp[sizeof(Src)];
        const uint8_t* p = base + i * static_cast<int64_t>(sizeof(Src));
        for (size_t k = 0; k < sizeof(Src); ++k) tmp[k] = p[sizeof(Src) - 1 - k];
        std::memcpy(&v, tmp, sizeof(Src));
    }
    return v;
}

// out[j] = Dst(element at base[offset + sum idx_d * stride_d]) for every index in row-major order.
template <typename Src, typename Dst>
void gather(const uint8_t* base, const Shape& size, const Shape& stride, int64_t offset, bool swap, Dst* out) {
    const int nd = static_cast<int>(size.size());
    if (nd == 0) {
        out[0] = static_cast<Dst>(load<Src>(base, offset, swap));
        return;
    }
    if (shape_numel(size) == 0) return;
    std::vector<int64_t> idx(nd, 0);
    const int64_t inner = size[nd - 1], inner_stride = stride[nd - 1];
    int64_t j = 0;
    while (true) {
        int64_t start = offset;
        for (int d = 0; d < nd - 1; ++d) start += idx[d] * stride[d];
        for (int64_t k = 0; k < inner; ++k) out[j++] = static_cast<Dst>(load<Src>(base, start + k * inner_stride, swap));
        int d = nd - 2;
        while (d >= 0 && ++idx[d] == size[d]) idx[d--] = 0;
        if (d < 0) break;
    }
}

}  // namespace

Tensor materialize_tensor(const pickle::TensorRef& ref, StorageBytes& bytes, const std::string& label,
                          const std::string& name) {
    const pickle::StorageRef& st = ref.storage->storage;
    DType target;
    if (!torch_dtype_loadable(ref.dtype, &target))
        tensor_error(label, name, str("dtype ", pickle::torch_dtype_name(ref.dtype),
                                      " is not supported (wsdol loads float32/64, float16, bfloat16, int64/32/16/8, "
                                      "uint8/16/32 and bool)"));
    if (ref.size.size() > static_cast<size_t>(kMaxDims))
        tensor_error(label, name, str("has ", ref.size.size(), " dims; wsdol tensors have at most ", kMaxDims));
    const int64_t elem = pickle::torch_dtype_size(ref.dtype);
    const int64_t storage_elem = pickle::torch_dtype_size(st.dtype);

    // The storage: numel x item size bytes of the record; a legacy view is a window of it.
    int64_t root_bytes = 0;
    if (__builtin_mul_overflow(st.numel, storage_elem, &root_bytes) || static_cast<uint64_t>(root_bytes) > bytes.nbytes)
        tensor_error(label, name, str("storage '", bytes.record, "' holds ", bytes.nbytes, " bytes but the pickle says ",
                                      st.numel, " x ", storage_elem, "-byte elements (truncated or corrupt)"));
    int64_t window_begin = 0, window_bytes = root_bytes;
    if (st.is_view) {
        int64_t end = 0;
        if (__builtin_add_overflow(st.view_offset, st.view_numel, &end) || end > st.numel)
            tensor_error(label, name, str("storage view [", st.view_offset, ", +", st.view_numel, ") lies outside its ",
                                          st.numel, "-element storage '", bytes.record, "'"));
        window_begin = st.view_offset * storage_elem;
        window_bytes = st.view_numel * storage_elem;
    }

    // The elements the view reaches: [storage_offset, storage_offset + sum (size_d - 1) * stride_d].
    Shape shape(ref.size.begin(), ref.size.end());
    int64_t numel = 1, last = ref.storage_offset;
    for (size_t d = 0; d < ref.size.size(); ++d) {
        if (ref.size[d] < 0 || ref.stride[d] < 0)
            tensor_error(label, name, str("negative size or stride (size ", shape_str(shape), ", stride ",
                                          shape_str(Shape(ref.stride.begin(), ref.stride.end())), ")"));
        if (__builtin_mul_overflow(numel, ref.size[d], &numel))
            tensor_error(label, name, str("size ", shape_str(shape), " overflows"));
    }
    if (numel > 0) {
        for (size_t d = 0; d < ref.size.size(); ++d) {
            int64_t reach = 0;
            if (__builtin_mul_overflow(ref.size[d] - 1, ref.stride[d], &reach) || __builtin_add_overflow(last, reach, &last))
                tensor_error(label, name, "strides overflow");
        }
        int64_t end_bytes = 0;
        if (__builtin_add_overflow(last, int64_t(1), &end_bytes) || __builtin_mul_overflow(end_bytes, elem, &end_bytes) ||
            end_bytes > window_bytes)
            tensor_error(label, name, str("view (offset ", ref.storage_offset, ", size ", shape_str(shape), ", stride ",
                                          shape_str(Shape(ref.stride.begin(), ref.stride.end())),
                                          ") reaches past the end of its storage '", bytes.record, "' (",
                                          window_bytes / elem, " elements)"));
    }
    if (numel == 0) return Tensor::empty(shape, target);
    // An expanded (stride 0) or overlapping view has more elements than its storage; copying it out multiplies
    // the file's bytes. Legitimate ones are small (a broadcast mask); a corrupt size could ask for terabytes, so
    // such views are refused above 256 MiB once copied.
    constexpr int64_t kMaxRepeatedViewBytes = int64_t(256) << 20;
    if (numel > window_bytes / elem && (numel > kMaxRepeatedViewBytes / static_cast<int64_t>(dtype_size(target))))
        tensor_error(label, name, str("an expanded or overlapping view of ", numel, " elements over a storage of ",
                                      window_bytes / elem, " would take more than 256 MiB once copied (corrupt?)"));

    const uint8_t* window = bytes.data + window_begin;
    const bool widened = target == DType::i32 ? ref.dtype != TorchDType::i32
                                              : target == DType::i64 && ref.dtype != TorchDType::i64;
    bool contiguous = true;
    for (int64_t d = static_cast<int64_t>(ref.size.size()) - 1, expect = 1; d >= 0; --d) {
        if (ref.size[d] != 1 && ref.stride[d] != expect) contiguous = false;
        expect *= ref.size[d];
    }

    Tensor out;
    if (!widened && !bytes.big_endian && contiguous && bytes.writable &&
        reinterpret_cast<uintptr_t>(bytes.data) % elem == 0 && window_begin % elem == 0) {
        // Zero copy: one Storage over the whole record, shared by every view of it (tied weights stay tied).
        if (!bytes.zero_copy)
            bytes.zero_copy = std::make_shared<Storage>(const_cast<uint8_t*>(bytes.data), bytes.nbytes, Device::cpu(),
                                                        bytes.owner);
        out = make_tensor(bytes.zero_copy, shape, contiguous_strides(shape), window_begin / elem + ref.storage_offset,
                          target);
    } else {
        out = Tensor::empty(shape, target);
        const Shape stride(ref.stride.begin(), ref.stride.end());
        const bool swap = bytes.big_endian && elem > 1;
        const int64_t off = ref.storage_offset;
        void* dst = out.data_ptr();
        if (contiguous && !widened && !swap) {
            std::memcpy(dst, window + off * elem, static_cast<size_t>(numel * elem));
        } else {
            switch (ref.dtype) {
                case TorchDType::f32: gather<float>(window, shape, stride, off, swap, static_cast<float*>(dst)); break;
                case TorchDType::f64: gather<double>(window, shape, stride, off, swap, static_cast<double*>(dst)); break;
                case TorchDType::f16:
                case TorchDType::bf16: gather<uint16_t>(window, shape, stride, off, swap, static_cast<uint16_t*>(dst)); break;
                case TorchDType::i64: gather<int64_t>(window, shape, stride, off, swap, static_cast<int64_t*>(dst)); break;
                case TorchDType::i32: gather<int32_t>(window, shape, stride, off, swap, static_cast<int32_t*>(dst)); break;
                case TorchDType::i16: gather<int16_t>(window, shape, stride, off, swap, static_cast<int32_t*>(dst)); break;
                case TorchDType::i8: gather<int8_t>(window, shape, stride, off, swap, static_cast<int32_t*>(dst)); break;
                case TorchDType::u16: gather<uint16_t>(window, shape, stride, off, swap, static_cast<int32_t*>(dst)); break;
                case TorchDType::u32: gather<uint32_t>(window, shape, stride, off, swap, static_cast<int64_t*>(dst)); break;
                case TorchDType::u8:
                case TorchDType::boolean: gather<uint8_t>(window, shape, stride, off, swap, static_cast<uint8_t*>(dst)); break;
                default: tensor_error(label, name, "internal: unhandled dtype");
            }
        }
    }
    if (target == DType::boolean) {
        const uint8_t* p = static_cast<const uint8_t*>(out.data_ptr());
        for (int64_t i = 0; i < numel; ++i)
            if (p[i] > 1)
                tensor_error(label, name, str("bool data holds the byte ", int(p[i]), " at element ", i,
                                              " (must be 0 or 1; corrupt)"));
    }
    return out;
}

}  // namespace wsdol::weights
