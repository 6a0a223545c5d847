// safetensors.cpp — the safetensors reader (mmap, lazy, validated) and writer (reference layout, atomic).
#include "engine/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <set>

#include "engine/io/atomic_file.h"
#include "engine/io/json.h"
#include "engine/io/mapped_file.h"

namespace wsdol::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swapping");

// ---------------------------------------------------------------- dtypes

namespace {

struct DTypeInfo {
    const char* name;
    int bits;
    int rank;  // position in the reference Rust `Dtype` enum (increasing alignment): the writer's sort key
};

// Every dtype the format defines (formats.md §2.1). Ranks follow the Rust enum order
// BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, I16, U16, F16, BF16, I32, U32, F32, C64, F64,
// I64, U64; the two FNUZ fp8 variants sit with the other fp8 types.
constexpr DTypeInfo kDTypes[] = {
    {"BOOL", 8, 0},         {"F4", 4, 1},           {"F6_E2M3", 6, 2},      {"F6_E3M2", 6, 3},
    {"U8", 8, 4},           {"I8", 8, 5},           {"F8_E5M2", 8, 6},      {"F8_E4M3", 8, 7},
    {"F8_E8M0", 8, 8},      {"F8_E4M3FNUZ", 8, 8},  {"F8_E5M2FNUZ", 8, 8},  {"I16", 16, 9},
    {"U16", 16, 10},        {"F16", 16, 11},        {"BF16", 16, 12},       {"I32", 32, 13},
    {"U32", 32, 14},        {"F32", 32, 15},        {"C64", 64, 16},        {"F64", 64, 17},
    {"I64", 64, 18},        {"U64", 64, 19},
};

const DTypeInfo* find_dtype(const std::string& name) {
    for (const DTypeInfo& d : kDTypes)
        if (name == d.name) return &d;
    return nullptr;
}

}  // namespace

bool safetensors_dtype_known(const std::string& name) { return find_dtype(name) != nullptr; }

int safetensors_dtype_bits(const std::string& name) {
    const DTypeInfo* d = find_dtype(name);
    WSDOL_CHECK(d, "safetensors: unknown dtype '", name, "'");
    return d->bits;
}

const char* safetensors_dtype_name(DType dtype) {
    switch (dtype) {
        case DType::f32: return "F32";
        case DType::f64: return "F64";
        case DType::f16: return "F16";
        case DType::bf16: return "BF16";
        case DType::i32: return "I32";
        case DType::i64: return "I64";
        case DType::u8: return "U8";
        case DType::boolean: return "BOOL";
    }
    fail("safetensors: invalid dtype");
}

// ---------------------------------------------------------------- reader

namespace {


uint64_t read_le64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

// a * b, or false on uint64 overflow.
bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

}  // namespace

void SafetensorsFile::error(const std::string& what) const { fail(str("safetensors: ", path_, ": ", what)); }

void SafetensorsFile::tensor_error(const std::string& name, const std::string& what) const {
    fail(str("safetensors: ", path_, ": tensor '", name, "': ", what));
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
    io::MappedFile mapped = io::map_file(path, "safetensors");  // read-only fallback: tensors are then copied
    data_ = mapped.data;
    size_ = mapped.size;
    read_only_ = !mapped.writable;
    owner_ = std::move(mapped.owner);
    if (size_ < 8) error(str("file is ", size_, " bytes, shorter than the 8-byte header length field"));
    parse_header();
}

SafetensorsFile SafetensorsFile::from_bytes(std::string bytes, const std::string& label) {
    SafetensorsFile f;
    f.path_ = label;
    auto owned = std::make_shared<std::string>(std::move(bytes));
    f.data_ = reinterpret_cast<const uint8_t*>(owned->data());
    f.size_ = owned->size();
    f.owner_ = owned;
    if (f.size_ < 8) f.error(str("file is ", f.size_, " bytes, shorter than the 8-byte header length field"));
    f.parse_header();
    return f;
}

void SafetensorsFile::parse_header() {
    const uint64_t n = read_le64(data_);
    if (n > kSafetensorsMaxHeader)
        error(str("header length ", n, " exceeds the limit of ", kSafetensorsMaxHeader, " bytes"));
    if (n > size_ - 8)
        error(str("header length ", n, " runs past the end of the file (", size_, " bytes, so at most ", size_ - 8,
                  " bytes of header)"));
    header_length_ = n;
    const std::string_view header(reinterpret_cast<const char*>(data_ + 8), n);
    if (header.empty() || header[0] != '{') error("header does not start with '{'");

    json::Value root;
    try {
        root = json::parse(header);
    } catch (const Error& e) {
        error(str("invalid header JSON: ", e.what()));
    }
    if (!root.is_object()) error("header is not a JSON object");

    for (const auto& [name, value] : root.members()) {
        if (name == "__metadata__") {
            if (!value.is_object())
                error(str("__metadata__ must be an object of strings, got ", json::type_name(value.type())));
            for (const auto& [key, item] : value.members()) {
                if (!item.is_string())
                    error(str("__metadata__ must map strings to strings; key '", key, "' holds a ",
                              json::type_name(item.type())));
                metadata_[key] = item.as_string();
            }
            continue;
        }
        if (!value.is_object())
            tensor_error(name, str("entry must be an object, got ", json::type_name(value.type())));
        const json::Value* dtype = value.find("dtype");
        const json::Value* shape = value.find("shape");
        const json::Value* offsets = value.find("data_offsets");
        if (!dtype || !shape || !offsets)
            tensor_error(name, str("entry lacks '", !dtype ? "dtype" : !shape ? "shape" : "data_offsets", "'"));
        if (!dtype->is_string()) tensor_error(name, "dtype must be a string");
        const DTypeInfo* info = find_dtype(dtype->as_string());
        if (!info) tensor_error(name, str("unknown dtype '", dtype->as_string(), "'"));
        if (!shape->is_array()) tensor_error(name, "shape must be a list of non-negative integers");
        SafetensorsEntry e;
        e.name = name;
        e.dtype = info->name;
        uint64_t numel = 1, extent = 1;  // extent: product of max(size, 1), the largest stride (empty tensors too)
        bool overflow = false;
        for (const json::Value& d : shape->items()) {
            if (!d.is_uint64() || d.as_uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                tensor_error(name, str("shape must be a list of non-negative integers, found ",
                                       d.is_number() ? d.number_text() : json::type_name(d.type())));
            e.shape.push_back(static_cast<int64_t>(d.as_uint64()));
            overflow = overflow || !checked_mul(numel, d.as_uint64(), numel) ||
                       !checked_mul(extent, std::max<uint64_t>(d.as_uint64(), 1), extent) ||
                       extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
        }
        if (!offsets->is_array() || offsets->size() != 2 || !offsets->items()[0].is_uint64() ||
            !offsets->items()[1].is_uint64())
            tensor_error(name, "data_offsets must be [begin, end], two non-negative integers");
        e.begin = offsets->items()[0].as_uint64();
        e.end = offsets->items()[1].as_uint64();
        uint64_t bits = 0;
        if (overflow || !checked_mul(numel, static_cast<uint64_t>(info->bits), bits))
            tensor_error(name, str("shape ", shape_str(e.shape), " x ", e.dtype, " overflows"));
        if (bits % 8 != 0)
            tensor_error(name, str("shape ", shape_str(e.shape), " of ", e.dtype, " is not a whole number of bytes"));
        if (e.end < e.begin)
            tensor_error(name, str("data_offsets [", e.begin, ", ", e.end, "] end before they begin"));
        if (e.end - e.begin != bits / 8)
            tensor_error(name, str("shape ", shape_str(e.shape), " of ", e.dtype, " needs ", bits / 8,
                                   " bytes but data_offsets [", e.begin, ", ", e.end, "] span ", e.end - e.begin));
        entries_.push_back(std::move(e));
    }
    // (duplicate names cannot reach here: the JSON reader rejects duplicate keys, naming them)

    // The offsets must tile the data buffer: sorted by (begin, end), no gap, no overlap, no trailing bytes.
    std::stable_sort(entries_.begin(), entries_.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    const uint64_t buffer = size_ - 8 - n;
    uint64_t expected = 0;
    for (size_t i = 0; i < entries_.size(); ++i) {
        const SafetensorsEntry& e = entries_[i];
        if (e.begin != expected) {
            if (i == 0)
                tensor_error(e.name, str("data_offsets [", e.begin, ", ", e.end,
                                         "] leave a gap: the first tensor must begin at 0"));
            const SafetensorsEntry& prev = entries_[i - 1];
            tensor_error(e.name, str("data_offsets [", e.begin, ", ", e.end, "] ",
                                     e.begin < expected ? "overlap" : "leave a gap after", " tensor '", prev.name,
                                     "' at [", prev.begin, ", ", prev.end, "]"));
        }
        expected = e.end;
    }
    if (expected > buffer) {
        for (const SafetensorsEntry& e : entries_)
            if (e.end > buffer)
                tensor_error(e.name, str("truncated file: the tensor needs bytes [", e.begin, ", ", e.end,
                                         ") of the data buffer but the file holds only ", buffer, " bytes of data"));
    }
    if (expected < buffer)
        error(str("the data buffer has ", buffer, " bytes but the tensors cover only ", expected,
                  " (trailing bytes or missing tensors)"));
    for (size_t i = 0; i < entries_.size(); ++i) index_[entries_[i].name] = i;
}

std::vector<std::string> SafetensorsFile::names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const SafetensorsEntry& e : entries_) out.push_back(e.name);
    return out;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) error(str("no tensor named '", name, "'"));
    return entries_[it->second];
}

const uint8_t* SafetensorsFile::raw_data(const std::string& name) const {
    return data_ + 8 + header_length_ + entry(name).begin;
}

namespace {

// Widens n little-endian elements of type From at src into To at dst (the I8/I16/U16/U32 loads).
template <typename From, typename To>
void widen(const uint8_t* src, To* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        From v;
        std::memcpy(&v, src + i * sizeof(From), sizeof(From));
        dst[i] = static_cast<To>(v);
    }
}

}  // namespace

Tensor SafetensorsFile::tensor(const std::string& name, bool copy) const {
    const SafetensorsEntry& e = entry(name);
    if (e.shape.size() > static_cast<size_t>(kMaxDims))
        tensor_error(name, str("has ", e.shape.size(), " dims ", shape_str(e.shape), "; wsdol tensors have at most ",
                               kMaxDims));
    const uint8_t* src = raw_data(name);
    const int64_t numel = shape_numel(e.shape);

    // Widened integer types: always a copy.
    if (e.dtype == "I8" || e.dtype == "I16" || e.dtype == "U16" || e.dtype == "U32") {
        const DType target = e.dtype == "U32" ? DType::i64 : DType::i32;
        Tensor t = Tensor::empty(e.shape, target);
        if (numel == 0) return t;
        if (e.dtype == "I8") widen<int8_t>(src, t.data<int32_t>(), numel);
        else if (e.dtype == "I16") widen<int16_t>(src, t.data<int32_t>(), numel);
        else if (e.dtype == "U16") widen<uint16_t>(src, t.data<int32_t>(), numel);
        else widen<uint32_t>(src, t.data<int64_t>(), numel);
        return t;
    }

    DType dtype;
    if (e.dtype == "F32") dtype = DType::f32;
    else if (e.dtype == "F64") dtype = DType::f64;
    else if (e.dtype == "F16") dtype = DType::f16;
    else if (e.dtype == "BF16") dtype = DType::bf16;
    else if (e.dtype == "I32") dtype = DType::i32;
    else if (e.dtype == "I64") dtype = DType::i64;
    else if (e.dtype == "U8") dtype = DType::u8;
    else if (e.dtype == "BOOL") dtype = DType::boolean;
    else tensor_error(name, str("has dtype ", e.dtype, ", which wsdol tensors cannot represent"));

    if (dtype == DType::boolean) {
        for (int64_t i = 0; i < numel; ++i)
            if (src[i] > 1)
                tensor_error(name, str("BOOL data holds the byte ", int(src[i]), " at element ", i,
                                       " (must be 0 or 1)"));
    }
    if (numel == 0) return Tensor::empty(e.shape, dtype);
    const size_t elem = dtype_size(dtype);
    if (!copy && !read_only_ && reinterpret_cast<uintptr_t>(src) % elem == 0) {
        // Zero copy: the storage points into the mapping and keeps it alive.
        auto storage = std::make_shared<Storage>(const_cast<uint8_t*>(src), e.nbytes(), Device::cpu(), owner_);
        return make_tensor(std::move(storage), e.shape, contiguous_strides(e.shape), 0, dtype);
    }
    return Tensor::from_blob(src, e.shape, dtype);  // misaligned (old writers) or copy requested
}

NamedTensors SafetensorsFile::load_all(bool copy) const {
    NamedTensors out;
    out.reserve(entries_.size());
    for (const SafetensorsEntry& e : entries_) out.emplace_back(e.name, tensor(e.name, copy));
    return out;
}

NamedTensors load_safetensors(const std::string& path, StringMap* metadata) {
    SafetensorsFile f(path);
    if (metadata) *metadata = f.metadata();
    return f.load_all();
}

// ---------------------------------------------------------------- writer

namespace {

using Sink = std::function<void(const void*, size_t)>;

// Validates the entries, orders them, builds the padded header; then streams header and data to `sink`.
void write_safetensors(const std::string& label, const std::vector<RawTensor>& tensors, const StringMap& metadata,
                       SaveOrder order, const Sink& sink) {
    std::set<std::string> seen;
    std::vector<const RawTensor*> sorted;
    sorted.reserve(tensors.size());
    for (const RawTensor& t : tensors) {
        WSDOL_CHECK(t.name != "__metadata__", "safetensors: ", label, ": '__metadata__' cannot name a tensor");
        WSDOL_CHECK(seen.insert(t.name).second, "safetensors: ", label, ": duplicate tensor name '", t.name, "'");
        const DTypeInfo* info = find_dtype(t.dtype);
        WSDOL_CHECK(info, "safetensors: ", label, ": tensor '", t.name, "': unknown dtype '", t.dtype, "'");
        uint64_t numel = 1, bits = 0;
        for (int64_t d : t.shape) {
            WSDOL_CHECK(d >= 0, "safetensors: ", label, ": tensor '", t.name, "': negative dim in ", shape_str(t.shape));
            WSDOL_CHECK(checked_mul(numel, static_cast<uint64_t>(d), numel), "safetensors: ", label, ": tensor '",
                        t.name, "': shape ", shape_str(t.shape), " overflows");
        }
        WSDOL_CHECK(checked_mul(numel, static_cast<uint64_t>(info->bits), bits) && bits % 8 == 0, "safetensors: ",
                    label, ": tensor '", t.name, "': shape ", shape_str(t.shape), " of ", t.dtype,
                    " is not a whole number of bytes");
        WSDOL_CHECK(t.nbytes == bits / 8, "safetensors: ", label, ": tensor '", t.name, "': shape ",
                    shape_str(t.shape), " of ", t.dtype, " needs ", bits / 8, " bytes, got ", t.nbytes);
        WSDOL_CHECK(t.nbytes == 0 || t.data, "safetensors: ", label, ": tensor '", t.name, "': null data");
        sorted.push_back(&t);
    }
    if (order == SaveOrder::reference) {
        // Descending dtype rank, then name (bytewise, as Rust's String ordering): see the header comment.
        std::stable_sort(sorted.begin(), sorted.end(), [](const RawTensor* a, const RawTensor* b) {
            const int ra = find_dtype(a->dtype)->rank, rb = find_dtype(b->dtype)->rank;
            return ra != rb ? ra > rb : a->name < b->name;
        });
    }

    json::Value header = json::Value::object();
    if (!metadata.empty()) {
        json::Value meta = json::Value::object();
        for (const auto& [k, v] : metadata) meta.add_member(k, json::Value(v));
        header.add_member("__metadata__", std::move(meta));
    }
    uint64_t offset = 0;
    for (const RawTensor* t : sorted) {
        json::Value entry = json::Value::object();
        entry.add_member("dtype", json::Value(t->dtype));
        json::Value shape = json::Value::array();
        for (int64_t d : t->shape) shape.push_back(json::Value(d));
        entry.add_member("shape", std::move(shape));
        json::Value offsets = json::Value::array();
        offsets.push_back(json::Value(offset));
        offsets.push_back(json::Value(offset + t->nbytes));
        entry.add_member("data_offsets", std::move(offsets));
        header.add_member(t->name, std::move(entry));
        offset += t->nbytes;
    }
    std::string text = json::dump(header);
    text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned, as the reference writer pads
    WSDOL_CHECK(text.size() <= kSafetensorsMaxHeader, "safetensors: ", label, ": header of ", text.size(),
                " bytes exceeds the format's limit of ", kSafetensorsMaxHeader);
    const uint64_t n = text.size();
    uint8_t len[8];
    std::memcpy(len, &n, 8);  // little-endian host (static_assert above)
    sink(len, 8);
    sink(text.data(), text.size());
    for (const RawTensor* t : sorted)
        if (t->nbytes) sink(t->data, t->nbytes);
}

// Tensors -> raw entries over contiguous CPU copies (kept alive in `hold`).
std::vector<RawTensor> raw_entries(const NamedTensors& tensors, std::vector<Tensor>& hold) {
    std::vector<RawTensor> raw;
    raw.reserve(tensors.size());
    hold.reserve(tensors.size());
    for (const auto& [name, t] : tensors) {
        WSDOL_CHECK(t.defined(), "safetensors: tensor '", name, "' is undefined");
        Tensor c = t.detach().cpu().contiguous();
        hold.push_back(c);
        RawTensor r;
        r.name = name;
        r.dtype = safetensors_dtype_name(c.dtype());
        r.shape = c.shape();
        r.nbytes = static_cast<uint64_t>(c.numel()) * dtype_size(c.dtype());
        r.data = r.nbytes ? c.data_ptr() : nullptr;
        raw.push_back(std::move(r));
    }
    return raw;
}

}  // namespace

void save_safetensors_raw(const std::string& path, const std::vector<RawTensor>& tensors, const StringMap& metadata,
                          SaveOrder order) {
    AtomicFileWriter out(path);
    write_safetensors(path, tensors, metadata, order, [&](const void* p, size_t n) { out.write(p, n); });
    out.commit();
}

std::string safetensors_raw_bytes(const std::vector<RawTensor>& tensors, const StringMap& metadata, SaveOrder order) {
    std::string out;
    write_safetensors("<memory>", tensors, metadata, order,
                      [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
    return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors, const StringMap& metadata,
                      SaveOrder order) {
    std::vector<Tensor> hold;
    save_safetensors_raw(path, raw_entries(tensors, hold), metadata, order);
}

std::string safetensors_bytes(const NamedTensors& tensors, const StringMap& metadata, SaveOrder order) {
    std::vector<Tensor> hold;
    return safetensors_raw_bytes(raw_entries(tensors, hold), metadata, order);
}

}  // namespace wsdol::io
