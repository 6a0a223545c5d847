// gzip.cpp — gzip container parsing and checking around stb_image's inflater (see gzip.h).
#include "tokenizer/gzip.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "engine/core/error.h"
#include "engine/io/crc32.h"
#include "engine/io/inflate.h"

namespace wsdol::tok {
namespace {

uint32_t read_le32(const unsigned char* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void put_le16(std::string& out, uint32_t v) {
    out.push_back(static_cast<char>(v & 0xFF));
    out.push_back(static_cast<char>((v >> 8) & 0xFF));
}
void put_le32(std::string& out, uint32_t v) {
    put_le16(out, v & 0xFFFF);
    put_le16(out, v >> 16);
}

}  // namespace

std::string gunzip(std::string_view z, const std::string& what) {
    const auto* p = reinterpret_cast<const unsigned char*>(z.data());
    const size_t n = z.size();
    WSDOL_CHECK(n >= 18, "gzip: ", what, ": ", n, " bytes is too short for a gzip file (header 10 + trailer 8)");
    WSDOL_CHECK(p[0] == 0x1F && p[1] == 0x8B, "gzip: ", what, ": not a gzip file (magic bytes missing)");
    WSDOL_CHECK(p[2] == 8, "gzip: ", what, ": compression method ", int(p[2]), " is not deflate (8)");
    const unsigned flags = p[3];
    WSDOL_CHECK((flags & 0xE0) == 0, "gzip: ", what, ": reserved header flags set (", flags, ")");
    size_t pos = 10;
    if (flags & 0x04) {  // FEXTRA: 2-byte length + data
        WSDOL_CHECK(pos + 2 <= n, "gzip: ", what, ": truncated FEXTRA field");
        const size_t xlen = size_t(p[pos]) | size_t(p[pos + 1]) << 8;
        pos += 2 + xlen;
    }
    for (unsigned bit : {0x08u, 0x10u}) {  // FNAME, FCOMMENT: zero-terminated
        if (!(flags & bit)) continue;
        while (pos < n && p[pos] != 0) ++pos;
        WSDOL_CHECK(pos < n, "gzip: ", what, ": unterminated ", bit == 0x08 ? "file name" : "comment", " field");
        ++pos;
    }
    if (flags & 0x02) pos += 2;  // FHCRC
    WSDOL_CHECK(pos + 8 <= n, "gzip: ", what, ": truncated (no room for the deflate data and the trailer)");
    const size_t deflate_len = n - 8 - pos;
    WSDOL_CHECK(deflate_len <= size_t(std::numeric_limits<int>::max()), "gzip: ", what, ": larger than 2 GiB");
    std::optional<std::string> inflated = io::inflate_raw(p + pos, deflate_len);
    WSDOL_CHECK(inflated.has_value(), "gzip: ", what, ": corrupt deflate data");
    const std::string out = std::move(*inflated);
    const uint32_t want_crc = read_le32(p + n - 8), want_size = read_le32(p + n - 4);
    const uint32_t got_crc = io::crc32(out.data(), out.size());
    WSDOL_CHECK(got_crc == want_crc, "gzip: ", what, ": CRC-32 mismatch (trailer ", want_crc, ", data ", got_crc,
                "); the file is corrupt or has several members");
    WSDOL_CHECK(uint32_t(out.size()) == want_size, "gzip: ", what, ": size mismatch (trailer ", want_size,
                ", data ", out.size(), ")");
    return out;
}

std::string read_maybe_gzip_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    WSDOL_CHECK(f.good(), "cannot open ", path);
    std::ostringstream s;
    s << f.rdbuf();
    WSDOL_CHECK(!f.bad(), "error reading ", path);
    std::string bytes = s.str();
    if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1F &&
        static_cast<unsigned char>(bytes[1]) == 0x8B)
        return gunzip(bytes, path);
    return bytes;
}

std::string gzip_stored(std::string_view bytes) {
    std::string out = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);  // no flags, mtime 0, OS unknown
    size_t pos = 0;
    do {
        const size_t len = std::min<size_t>(65535, bytes.size() - pos);
        const bool final = pos + len == bytes.size();
        out.push_back(final ? 1 : 0);  // BFINAL, BTYPE=00 (stored), padded to the byte boundary
        put_le16(out, uint32_t(len));
        put_le16(out, uint32_t(~len & 0xFFFF));
        out.append(bytes.substr(pos, len));
        pos += len;
    } while (pos < bytes.size());
    put_le32(out, io::crc32(bytes.data(), bytes.size()));
    put_le32(out, uint32_t(bytes.size()));
    return out;
}

}  // namespace wsdol::tok
