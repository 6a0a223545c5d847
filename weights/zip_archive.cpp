// zip_archive.cpp — zip reader (validated, zero-copy for stored records) and stored-only zip writer; see the header.
// Record layouts follow the PKWARE APPNOTE (sections 4.3.7 local header, 4.3.12 central directory header,
// 4.3.14-4.3.16 ZIP64 end record / locator / classic end record, 4.5.3 ZIP64 extra field).
#include "weights/zip_archive.h"

#include <array>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "engine/core/error.h"
#include "engine/io/crc32.h"
#include "engine/io/inflate.h"
#include "engine/io/mapped_file.h"

namespace wsdol::weights {

static_assert(std::endian::native == std::endian::little, "the zip reader and writer assume a little-endian host");

// ---------------------------------------------------------------- byte sources

ByteSource map_file(const std::string& path) {
    io::MappedFile mapped = io::map_file(path, "weights");
    ByteSource s;
    s.label = path;
    s.data = mapped.data;
    s.size = mapped.size;
    s.writable = mapped.writable;
    s.owner = std::move(mapped.owner);
    return s;
}

ByteSource bytes_source(std::string bytes, const std::string& label) {
    // The buffer is over-aligned (64 bytes, like a mapping's page alignment) so that records aligned in the file
    // are aligned in memory too and the zero-copy path is exercised in tests and fuzzing.
    struct Buffer {
        uint8_t* data = nullptr;
        ~Buffer() { std::free(data); }
    };
    auto buffer = std::make_shared<Buffer>();
    const size_t padded = (bytes.size() + 63) / 64 * 64 + 64;
    buffer->data = static_cast<uint8_t*>(std::aligned_alloc(64, padded));
    WSDOL_CHECK(buffer->data, "weights: ", label, ": out of memory for ", bytes.size(), " bytes");
    if (!bytes.empty()) std::memcpy(buffer->data, bytes.data(), bytes.size());
    ByteSource s;
    s.label = label;
    s.data = buffer->data;
    s.size = bytes.size();
    s.owner = std::move(buffer);
    s.writable = true;
    return s;
}



// ---------------------------------------------------------------- reader

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22, kZip64EndSize = 56, kZip64LocatorSize = 20;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
uint64_t le64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

// Deflate output larger than this per input byte is impossible (the format's best case is ~1032:1).
constexpr uint64_t kMaxDeflateRatio = 1040;

}  // namespace

void ZipArchive::error(const std::string& what) const { fail(str("zip: ", source_.label, ": ", what)); }

void ZipArchive::record_error(const ZipEntry& e, const std::string& what) const {
    fail(str("zip: ", source_.label, ": record '", e.name, "': ", what));
}

ZipArchive::ZipArchive(ByteSource source) : source_(std::move(source)) { parse(); }

void ZipArchive::parse() {
    const uint8_t* d = source_.data;
    const uint64_t n = source_.size;
    if (n < kEndSize) error(str("file is ", n, " bytes, too short for a zip end-of-central-directory record"));

    // The end record sits at the end, followed only by its comment (at most 65535 bytes): scan backwards.
    uint64_t end = UINT64_MAX;
    const uint64_t lowest = n - kEndSize > 65535 ? n - kEndSize - 65535 : 0;
    for (uint64_t pos = n - kEndSize + 1; pos-- > lowest;) {
        if (le32(d + pos) == kEndSig && pos + kEndSize + le16(d + pos + 20) <= n) {
            end = pos;
            break;
        }
    }
    if (end == UINT64_MAX)
        error("no end-of-central-directory record (truncated, or not a zip file)");
    const uint8_t* e = d + end;
    uint64_t disk = le16(e + 4), cd_disk = le16(e + 6), count_disk = le16(e + 8), count = le16(e + 10);
    uint64_t cd_size = le32(e + 12), cd_offset = le32(e + 16);
    uint64_t cd_limit = end;  // the central directory ends before the (ZIP64) end records

    // ZIP64: a locator right before the end record points at the ZIP64 end record, whose fields replace
    // the 16/32-bit ones (PyTorch always writes it; other writers only when a field overflows).
    if (end >= kZip64LocatorSize && le32(d + end - kZip64LocatorSize) == kZip64LocatorSig) {
        const uint8_t* loc = d + end - kZip64LocatorSize;
        const uint64_t z_end = le64(loc + 8);
        if (le32(loc + 4) != 0 || le32(loc + 16) > 1) error("multi-disk (spanned) zip archives are not supported");
        if (z_end > end - kZip64LocatorSize || end - kZip64LocatorSize - z_end < kZip64EndSize)
            error(str("ZIP64 locator points at offset ", z_end, ", outside the file before the locator (at ",
                      end - kZip64LocatorSize, ")"));
        const uint8_t* z = d + z_end;
        if (le32(z) != kZip64EndSig) error(str("no ZIP64 end-of-central-directory record at offset ", z_end));
        disk = le32(z + 16);
        cd_disk = le32(z + 20);
        count_disk = le64(z + 24);
        count = le64(z + 32);
        cd_size = le64(z + 40);
        cd_offset = le64(z + 48);
        cd_limit = z_end;
    } else if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu) {
        error("the end record says ZIP64 but there is no ZIP64 locator before it (truncated or corrupt)");
    }
    if (disk != 0 || cd_disk != 0 || count_disk != count) error("multi-disk (spanned) zip archives are not supported");
    if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset)
        error(str("central directory [", cd_offset, ", +", cd_size, ") runs past its end at offset ", cd_limit,
                  " (truncated or corrupt)"));
    if (count > cd_size / kCentralSize)
        error(str("central directory of ", cd_size, " bytes cannot hold the ", count, " entries it claims"));

    entries_.reserve(count);
    uint64_t pos = cd_offset;
    const uint64_t cd_end = cd_offset + cd_size;
    for (uint64_t i = 0; i < count; ++i) {
        if (cd_end - pos < kCentralSize || le32(d + pos) != kCentralSig)
            error(str("central directory entry ", i, " at offset ", pos, " is corrupt (bad signature or truncated)"));
        const uint8_t* c = d + pos;
        ZipEntry z;
        z.flags = le16(c + 8);
        z.method = le16(c + 10);
        z.crc = le32(c + 16);
        z.compressed_size = le32(c + 20);
        z.size = le32(c + 24);
        const uint64_t name_len = le16(c + 28), extra_len = le16(c + 30), comment_len = le16(c + 32);
        const uint64_t start_disk = le16(c + 34);
        z.local_header_offset = le32(c + 42);
        if (cd_end - pos - kCentralSize < name_len + extra_len + comment_len)
            error(str("central directory entry ", i, " at offset ", pos, " runs past the central directory"));
        z.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);

        // ZIP64 extra field (id 1): only the fields whose 32-bit slot holds 0xFFFFFFFF are present, in this order.
        const uint8_t* x = c + kCentralSize + name_len;
        const uint8_t* x_end = x + extra_len;
        bool need_size = z.size == 0xFFFFFFFFu, need_csize = z.compressed_size == 0xFFFFFFFFu;
        bool need_offset = z.local_header_offset == 0xFFFFFFFFu, need_disk = start_disk == 0xFFFF;
        while (x_end - x >= 4) {
            const uint16_t id = le16(x), len = le16(x + 2);
            if (static_cast<uint64_t>(x_end - x - 4) < len)
                error(str("central directory entry '", z.name, "': extra field runs past the entry"));
            if (id == 0x0001) {
                const uint8_t* f = x + 4;
                uint64_t left = len;
                auto take = [&](uint64_t& field) {
                    if (left < 8) error(str("central directory entry '", z.name, "': ZIP64 extra field too short"));
                    field = le64(f);
                    f += 8;
                    left -= 8;
                };
                if (need_size) take(z.size), need_size = false;
                if (need_csize) take(z.compressed_size), need_csize = false;
                if (need_offset) take(z.local_header_offset), need_offset = false;
                if (need_disk) {
                    if (left < 4) error(str("central directory entry '", z.name, "': ZIP64 extra field too short"));
                    if (le32(f) != 0) error("multi-disk (spanned) zip archives are not supported");
                    need_disk = false;
                }
            }
            x += 4 + len;
        }
        if (need_size || need_csize || need_offset)
            error(str("central directory entry '", z.name, "' needs a ZIP64 extra field but has none"));
        if (need_disk || (start_disk != 0 && start_disk != 0xFFFF))
            error("multi-disk (spanned) zip archives are not supported");

        if (z.flags & 0x0001) record_error(z, "is encrypted (not supported)");
        if (z.method != 0 && z.method != 8)
            record_error(z, str("uses compression method ", z.method, " (only stored (0) and deflate (8) are supported)"));
        if (z.method == 0 && z.compressed_size != z.size)
            record_error(z, str("is stored (uncompressed) but its sizes differ (", z.compressed_size, " vs ", z.size,
                                ")"));
        // Local header: its own name and extra lengths decide where the data starts.
        if (z.local_header_offset > cd_offset || cd_offset - z.local_header_offset < kLocalSize)
            record_error(z, str("local header offset ", z.local_header_offset, " is outside the data area [0, ",
                                cd_offset, ")"));
        const uint8_t* l = d + z.local_header_offset;
        if (le32(l) != kLocalSig) record_error(z, str("no local header at offset ", z.local_header_offset));
        const uint64_t local_name = le16(l + 26), local_extra = le16(l + 28);
        z.data_offset = z.local_header_offset + kLocalSize + local_name + local_extra;
        if (z.data_offset > cd_offset || z.compressed_size > cd_offset - z.data_offset)
            record_error(z, str("data [", z.data_offset, ", +", z.compressed_size,
                                ") runs past the start of the central directory at ", cd_offset,
                                " (truncated or corrupt)"));
        if (local_name != name_len || std::memcmp(l + kLocalSize, z.name.data(), name_len) != 0)
            record_error(z, "the local header names a different record (corrupt)");

        if (!index_.emplace(z.name, entries_.size()).second) error(str("duplicate record '", z.name, "'"));
        entries_.push_back(std::move(z));
        pos += kCentralSize + name_len + extra_len + comment_len;
    }
    crc_checked_.assign(entries_.size(), 0);
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second];
}

RecordBytes ZipArchive::record(const ZipEntry& entry) const {
    const size_t i = static_cast<size_t>(&entry - entries_.data());
    WSDOL_CHECK(i < entries_.size(), "zip: ", source_.label, ": record() of an entry from another archive");
    RecordBytes r;
    r.size = entry.size;
    if (entry.method == 0) {
        r.data = source_.data + entry.data_offset;
        r.owner = source_.owner;
        r.writable = source_.writable;
        r.in_source = true;
    } else {
        if (entry.size > entry.compressed_size * kMaxDeflateRatio + 1024)
            record_error(entry, str("claims ", entry.size, " bytes from ", entry.compressed_size,
                                    " compressed bytes, more than deflate can produce (corrupt)"));
        if (entry.size > static_cast<uint64_t>(INT_MAX) || entry.compressed_size > static_cast<uint64_t>(INT_MAX))
            record_error(entry, "is a deflated record over 2 GiB (not supported; store it uncompressed)");
        std::optional<std::string> inflated =
            io::inflate_raw(source_.data + entry.data_offset, entry.compressed_size, entry.size);
        if (!inflated) record_error(entry, "deflate data is corrupt");
        if (inflated->size() != entry.size)
            record_error(entry, str("inflates to ", inflated->size(), " bytes, the directory says ", entry.size));
        auto buffer = std::make_shared<std::string>(std::move(*inflated));
        r.data = reinterpret_cast<const uint8_t*>(buffer->data());
        r.owner = buffer;
        r.writable = true;
        r.in_source = false;
    }
    if (!crc_checked_[i] || entry.method != 0) {
        const uint32_t crc = io::crc32(r.data, r.size);
        if (crc != entry.crc)
            record_error(entry, str("CRC-32 mismatch (directory 0x", std::hex, entry.crc, ", data 0x", crc, std::dec,
                                    "): the file is corrupt"));
        crc_checked_[i] = 1;
    }
    return r;
}

std::string ZipArchive::read_string(const ZipEntry& entry, uint64_t max_size) const {
    if (entry.size > max_size)
        record_error(entry, str("is ", entry.size, " bytes, more than the ", max_size, " expected (corrupt?)"));
    const RecordBytes r = record(entry);
    return std::string(reinterpret_cast<const char*>(r.data), r.size);
}

// ---------------------------------------------------------------- writer

namespace {

struct Bytes {
    std::string b;
    void u16(uint64_t v) { for (int k = 0; k < 2; ++k) b.push_back(static_cast<char>((v >> (8 * k)) & 0xFF)); }
    void u32(uint64_t v) { for (int k = 0; k < 4; ++k) b.push_back(static_cast<char>((v >> (8 * k)) & 0xFF)); }
    void u64(uint64_t v) { for (int k = 0; k < 8; ++k) b.push_back(static_cast<char>((v >> (8 * k)) & 0xFF)); }
    void raw(std::string_view s) { b.append(s); }
};

constexpr uint64_t kU32Max = 0xFFFFFFFFu;
// DOS date/time of the records: 1980-01-01 00:00 (fixed, so that the same tensors give the same bytes).
constexpr uint16_t kDosTime = 0, kDosDate = (0 << 9) | (1 << 5) | 1;
constexpr uint16_t kFlagUtf8 = 0x0800;  // names are UTF-8

}  // namespace

ZipWriter::ZipWriter(Sink sink, bool force_zip64) : sink_(std::move(sink)), force_zip64_(force_zip64) {}

void ZipWriter::put(const void* data, size_t size) {
    if (size) sink_(data, size);
    offset_ += size;
}

void ZipWriter::add(const std::string& name, const void* data, uint64_t size, uint64_t alignment) {
    WSDOL_CHECK(!finished_, "zip writer: add('", name, "') after finish()");
    WSDOL_CHECK(!name.empty() && name.size() <= 0xFFFF, "zip writer: record name of ", name.size(), " bytes");
    WSDOL_CHECK(alignment >= 1 && alignment <= 4096, "zip writer: alignment ", alignment, " out of range");
    const uint32_t crc = io::crc32(data, size);
    const bool zip64 = force_zip64_ || size >= kU32Max;
    Bytes h;
    h.u32(kLocalSig);
    h.u16(zip64 ? 45 : 20);  // version needed: 4.5 for ZIP64, else 2.0
    h.u16(kFlagUtf8);
    h.u16(0);  // stored
    h.u16(kDosTime);
    h.u16(kDosDate);
    h.u32(crc);
    h.u32(zip64 ? kU32Max : size);
    h.u32(zip64 ? kU32Max : size);
    h.u16(name.size());
    const size_t extra_len_at = h.b.size();
    h.u16(0);  // extra length, patched below
    h.raw(name);
    if (zip64) {  // local ZIP64 extra: both sizes
        h.u16(0x0001);
        h.u16(16);
        h.u64(size);
        h.u64(size);
    }
    // Padding extra field "FB" (PyTorch's id) so the data starts at a multiple of `alignment`.
    const uint64_t unpadded = offset_ + h.b.size() + 4;
    const uint64_t pad = (alignment - unpadded % alignment) % alignment;
    h.u16(0x4246);  // "FB"
    h.u16(pad);
    h.b.append(pad, 'Z');
    const uint64_t extra_len = h.b.size() - kLocalSize - name.size();
    h.b[extra_len_at] = static_cast<char>(extra_len & 0xFF);
    h.b[extra_len_at + 1] = static_cast<char>(extra_len >> 8);
    written_.push_back({name, crc, size, offset_});
    put(h.b.data(), h.b.size());
    put(data, size);
}

void ZipWriter::finish() {
    WSDOL_CHECK(!finished_, "zip writer: finish() twice");
    finished_ = true;
    const uint64_t cd_offset = offset_;
    for (const Written& w : written_) {
        const bool big_size = force_zip64_ || w.size >= kU32Max;
        const bool big_offset = force_zip64_ || w.local_header_offset >= kU32Max;
        Bytes c;
        c.u32(kCentralSig);
        c.u16((3 << 8) | 45);  // made by: Unix, spec 4.5
        c.u16(big_size || big_offset ? 45 : 20);
        c.u16(kFlagUtf8);
        c.u16(0);
        c.u16(kDosTime);
        c.u16(kDosDate);
        c.u32(w.crc);
        c.u32(big_size ? kU32Max : w.size);
        c.u32(big_size ? kU32Max : w.size);
        c.u16(w.name.size());
        c.u16((big_size ? 16 : 0) + (big_offset ? 8 : 0) + (big_size || big_offset ? 4 : 0));
        c.u16(0);  // comment
        c.u16(0);  // disk
        c.u16(0);  // internal attributes
        c.u32(0);  // external attributes
        c.u32(big_offset ? kU32Max : w.local_header_offset);
        c.raw(w.name);
        if (big_size || big_offset) {
            c.u16(0x0001);
            c.u16((big_size ? 16 : 0) + (big_offset ? 8 : 0));
            if (big_size) c.u64(w.size), c.u64(w.size);
            if (big_offset) c.u64(w.local_header_offset);
        }
        put(c.b.data(), c.b.size());
    }
    const uint64_t cd_size = offset_ - cd_offset;
    const uint64_t count = written_.size();
    // ZIP64 end record and locator (always, as PyTorch writes them), then the classic end record with
    // 0xFFFF/0xFFFFFFFF wherever the value does not fit.
    const uint64_t z_end = offset_;
    Bytes z;
    z.u32(kZip64EndSig);
    z.u64(kZip64EndSize - 12);
    z.u16((3 << 8) | 45);
    z.u16(45);
    z.u32(0);
    z.u32(0);
    z.u64(count);
    z.u64(count);
    z.u64(cd_size);
    z.u64(cd_offset);
    z.u32(kZip64LocatorSig);
    z.u32(0);
    z.u64(z_end);
    z.u32(1);
    z.u32(kEndSig);
    z.u16(0);
    z.u16(0);
    z.u16(count >= 0xFFFF ? 0xFFFF : count);
    z.u16(count >= 0xFFFF ? 0xFFFF : count);
    z.u32(cd_size >= kU32Max ? kU32Max : cd_size);
    z.u32(cd_offset >= kU32Max ? kU32Max : cd_offset);
    z.u16(0);
    put(z.b.data(), z.b.size());
}

}  // namespace wsdol::weights
