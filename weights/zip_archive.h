// zip_archive.h — the zip container of PyTorch checkpoints (torch.save since 1.6, TorchScript archives):
// a validating reader over a memory-mapped file (or bytes in memory), and the writer used by write_torch_zip.
//
// READER (ZipArchive): finds the end-of-central-directory record (and the ZIP64 locator / ZIP64 end record that
// PyTorch always writes), reads every central-directory entry (ZIP64 extra fields supply sizes and offsets that
// do not fit 32 bits), and resolves each entry's data offset from its local header (local offset + 30 + name
// length + extra length; PyTorch pads the extra field so storages start 64-byte aligned). Sizes and CRCs come
// from the central directory: PyTorch writes zeros in the local headers and the real values in data
// descriptors. Every offset and size is checked against the file size; any inconsistency is an error naming the
// file and the record. Stored (method 0) records are returned without a copy (a pointer into the mapping);
// deflated (method 8) records are inflated with stb_image's zlib decoder (compiled once, in
// engine/data/stb_image_impl.cpp). The CRC-32 of a record is checked the first time its bytes are requested. Encrypted, multi-disk and other compression methods are refused.
//
// WRITER (ZipWriter): stored records only, each record's data 64-byte aligned through an "FB" padding extra
// field (as PyTorch's writer does), CRC-32 and sizes in the local header (no data descriptors), ZIP64 extra
// fields for records whose size or offset needs them (or for all, on request), and always the ZIP64 end
// record + locator followed by the classic end record, as PyTorch writes them.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wsdol::weights {

// Bytes of a whole file (memory-mapped) or of a buffer, with the object that keeps them alive.
struct ByteSource {
    std::string label;                // the path, or a name for in-memory bytes; used in every message
    const uint8_t* data = nullptr;
    uint64_t size = 0;
    std::shared_ptr<void> owner;      // the mapping or the buffer
    bool writable = false;            // private writable mapping / owned buffer: zero-copy tensors are allowed
};

// Maps `path` (engine/io/mapped_file.h): privately, copy-on-write, falling back to read-only (writable = false).
// Throws wsdol::Error("weights: <path>: cannot open ...") naming the path.
ByteSource map_file(const std::string& path);
// Takes ownership of `bytes`.
ByteSource bytes_source(std::string bytes, const std::string& label);

struct ZipEntry {
    std::string name;
    uint16_t method = 0;               // 0 stored, 8 deflate
    uint16_t flags = 0;
    uint32_t crc = 0;
    uint64_t compressed_size = 0;
    uint64_t size = 0;                 // uncompressed
    uint64_t local_header_offset = 0;
    uint64_t data_offset = 0;          // first byte of the (compressed) data
};

// The bytes of one record: a pointer into the source for stored records, an owned buffer for inflated ones.
struct RecordBytes {
    const uint8_t* data = nullptr;
    uint64_t size = 0;
    std::shared_ptr<void> owner;
    bool writable = false;             // the bytes may back zero-copy tensors that are written to
    bool in_source = false;            // points into the source (aligned as the file is)
};

class ZipArchive {
public:
    // Parses and validates the central directory. Throws wsdol::Error("zip: <label>: ...").
    explicit ZipArchive(ByteSource source);

    const ByteSource& source() const { return source_; }
    const std::string& label() const { return source_.label; }
    const std::vector<ZipEntry>& entries() const { return entries_; }  // central-directory order
    const ZipEntry* find(const std::string& name) const;              // null when absent
    // The record's bytes (CRC-checked once). Throws naming the record when it cannot be read.
    RecordBytes record(const ZipEntry& entry) const;
    // The record as a string (a copy); refuses records larger than max_size.
    std::string read_string(const ZipEntry& entry, uint64_t max_size) const;

private:
    [[noreturn]] void error(const std::string& what) const;
    [[noreturn]] void record_error(const ZipEntry& entry, const std::string& what) const;
    void parse();

    ByteSource source_;
    std::vector<ZipEntry> entries_;
    std::map<std::string, size_t> index_;
    mutable std::vector<uint8_t> crc_checked_;
};

// ---- writer ----

class ZipWriter {
public:
    using Sink = std::function<void(const void* data, size_t size)>;
    // `force_zip64` writes ZIP64 extra fields for every record (tests; readers must handle both layouts).
    explicit ZipWriter(Sink sink, bool force_zip64 = false);
    // Appends a stored record whose data starts at a multiple of `alignment` bytes in the file.
    void add(const std::string& name, const void* data, uint64_t size, uint64_t alignment = 64);
    void add(const std::string& name, std::string_view bytes, uint64_t alignment = 64) {
        add(name, bytes.data(), bytes.size(), alignment);
    }
    // Writes the central directory and the end records. No add() after this.
    void finish();
    uint64_t bytes_written() const { return offset_; }

private:
    struct Written {
        std::string name;
        uint32_t crc;
        uint64_t size;
        uint64_t local_header_offset;
    };
    void put(const void* data, size_t size);
    Sink sink_;
    bool force_zip64_;
    bool finished_ = false;
    uint64_t offset_ = 0;
    std::vector<Written> written_;
};

}  // namespace wsdol::weights
