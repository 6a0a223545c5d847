// safetensors.h — reading and writing the safetensors format (huggingface/safetensors; ../shared/docs/formats.md
// §2.1): 8-byte little-endian header length N, N bytes of UTF-8 JSON
//   {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
// then the data buffer (offsets are relative to its start; little-endian, row-major, no strides).
//
// READER (SafetensorsFile): the file is memory-mapped and opening it parses and validates ONLY the header; each
// tensor is materialized on request. When the tensor's bytes are aligned to its element size, the Tensor's
// Storage wraps the mapped bytes without a copy (the Storage holds the mapping alive); otherwise (files from
// old writers) the bytes are copied. The mapping is MAP_PRIVATE and writable: writing into a zero-copy tensor
// (an optimizer step, say) copies that page privately and never touches the file. (Where the system refuses a
// writable mapping, the file is mapped read-only and every tensor is copied.)
// Validation follows the reference reader (safetensors/src/tensor.rs read_metadata + Metadata::validate), and
// every error names the file and, where one is involved, the tensor:
//   file shorter than 8 bytes; header length > 100,000,000 or past the end of the file; header not starting
//   with '{' (the format's rule), not valid UTF-8 or not valid JSON, or not an object; duplicate names; entries
//   that are not {dtype, shape, data_offsets} objects; unknown dtype; shape x dtype size overflowing or not equal
//   to end - begin; end < begin; offsets that, sorted by begin, do not tile the data buffer exactly (first begins
//   at 0, each begins where the previous ends: no gap, no overlap) up to its last byte (no trailing bytes, and a
//   truncated file is reported naming the first tensor whose bytes are missing); "__metadata__" not a
//   string -> string object. Malformed input never crashes (the reader is fuzzed).
// Dtypes: the engine's own (F64 F32 F16 BF16 I64 I32 U8 BOOL) load as themselves; I8, I16 and U16 load widened
// to int32 and U32 to int64 (lossless; always a copy); other known dtypes (U64, F8_*, F6_*, F4, C64) are
// validated but cannot be materialized (error naming the tensor). BOOL bytes must be 0 or 1.
//
// WRITER: SaveOrder::reference (the default) lays tensors out as the reference writer does — by descending
// dtype rank (the order of the Rust `Dtype` enum, which is increasing element size, so every tensor's offset is
// aligned to its element size), then by name (bytewise) — so our files are byte-identical to
// safetensors.torch.save_file's for the same tensors and metadata. SaveOrder::given keeps the caller's order
// (offsets may then be unaligned; readers copy). The JSON header lists "__metadata__" first (only when the
// metadata is non-empty, keys sorted), then the tensors in data order, compact, padded with spaces to a
// multiple of 8 bytes. Files are written atomically (atomic_file.h).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor/tensor.h"

namespace wsdol::io {

using wsdol::NamedTensors;
using StringMap = std::map<std::string, std::string>;

constexpr uint64_t kSafetensorsMaxHeader = 100000000;  // the reference reader's limit (MAX_HEADER_SIZE)

// ---- dtypes ----
bool safetensors_dtype_known(const std::string& name);
int safetensors_dtype_bits(const std::string& name);  // element size in bits; throws on unknown names
const char* safetensors_dtype_name(DType dtype);      // DType::f32 -> "F32"

// ---- reader ----
struct SafetensorsEntry {
    std::string name;
    std::string dtype;  // the file's dtype string, e.g. "BF16"
    Shape shape;
    uint64_t begin = 0, end = 0;  // byte range in the data buffer
    uint64_t nbytes() const { return end - begin; }
};

class SafetensorsFile {
public:
    // Maps and validates `path`. Throws wsdol::Error("safetensors: <path>: ...") on any problem.
    explicit SafetensorsFile(const std::string& path);
    // The same, over bytes in memory (tests, fuzzing, network buffers); `label` names it in errors.
    static SafetensorsFile from_bytes(std::string bytes, const std::string& label = "<memory>");

    const std::string& path() const { return path_; }
    const std::vector<SafetensorsEntry>& entries() const { return entries_; }  // in data-offset order
    std::vector<std::string> names() const;                                   // in data-offset order
    bool contains(const std::string& name) const { return index_.count(name) != 0; }
    const SafetensorsEntry& entry(const std::string& name) const;  // throws naming file and tensor
    const StringMap& metadata() const { return metadata_; }
    uint64_t header_length() const { return header_length_; }  // N
    uint64_t file_size() const { return size_; }

    // The tensor `name` (see the dtype rules above). copy = true always copies into fresh memory.
    Tensor tensor(const std::string& name, bool copy = false) const;
    // The raw bytes of `name` (entry(name).nbytes() of them).
    const uint8_t* raw_data(const std::string& name) const;
    // Every tensor, in data-offset order.
    NamedTensors load_all(bool copy = false) const;

private:
    SafetensorsFile() = default;
    void parse_header();
    [[noreturn]] void error(const std::string& what) const;
    [[noreturn]] void tensor_error(const std::string& name, const std::string& what) const;

    std::string path_;
    std::shared_ptr<void> owner_;  // the mapping (or the in-memory bytes); tensors' storages share it
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
    uint64_t header_length_ = 0;
    bool read_only_ = false;  // mapped read-only (no zero-copy tensors then)
    std::vector<SafetensorsEntry> entries_;
    std::map<std::string, size_t> index_;
    StringMap metadata_;
};

// Loads every tensor of `path` (in data-offset order); fills `metadata` when given.
NamedTensors load_safetensors(const std::string& path, StringMap* metadata = nullptr);

// ---- writer ----
enum class SaveOrder { reference, given };

// A tensor given as bytes, for dtypes the engine has no DType for (I8, U16, ...) or data not in a Tensor.
struct RawTensor {
    std::string name;
    std::string dtype;  // a safetensors dtype string
    Shape shape;
    const void* data = nullptr;  // shape_numel(shape) * bits / 8 bytes, little-endian, row-major
    uint64_t nbytes = 0;
};

// Tensors may live on any device and have any strides (they are copied to contiguous CPU memory to write).
void save_safetensors(const std::string& path, const NamedTensors& tensors, const StringMap& metadata = {},
                      SaveOrder order = SaveOrder::reference);
void save_safetensors_raw(const std::string& path, const std::vector<RawTensor>& tensors,
                          const StringMap& metadata = {}, SaveOrder order = SaveOrder::reference);
// The same file as bytes in memory.
std::string safetensors_bytes(const NamedTensors& tensors, const StringMap& metadata = {},
                              SaveOrder order = SaveOrder::reference);
std::string safetensors_raw_bytes(const std::vector<RawTensor>& tensors, const StringMap& metadata = {},
                                  SaveOrder order = SaveOrder::reference);

}  // namespace wsdol::io
