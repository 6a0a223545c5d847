// npy.cpp — the .npy reader and writer of npy.h, with a small parser for the header's Python dict literal.
#include "engine/data/npy.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <map>

#include "engine/core/error.h"
#include "engine/data/image_io.h"  // read_file_bytes
#include "engine/io/atomic_file.h"

namespace wsdol::data {

namespace {

constexpr char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

// One value of the header dict: a string, a bool, or a tuple of non-negative integers.
struct HeaderValue {
    enum Kind { string, boolean, tuple } kind = string;
    std::string text;
    bool flag = false;
    std::vector<int64_t> items;
};

// Parses the header dict literal (numpy writes it with repr(); any Python spacing and either quote style and a
// trailing comma are accepted, as numpy's own reader (ast.literal_eval) accepts them).
class HeaderParser {
public:
    HeaderParser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

    std::map<std::string, HeaderValue> parse() {
        std::map<std::string, HeaderValue> out;
        skip_space();
        expect('{');
        skip_space();
        while (peek() != '}') {
            const std::string key = parse_string();
            skip_space();
            expect(':');
            skip_space();
            WSDOL_CHECK(!out.count(key), name_, ": duplicate key '", key, "' in the .npy header");
            out[key] = parse_value();
            skip_space();
            if (peek() == ',') {
                ++at_;
                skip_space();
            } else {
                WSDOL_CHECK(peek() == '}', name_, ": malformed .npy header (expected ',' or '}' at offset ", at_, ")");
            }
        }
        ++at_;
        skip_space();
        WSDOL_CHECK(at_ == s_.size(), name_, ": malformed .npy header (text after the dict)");
        return out;
    }

private:
    char peek() const {
        WSDOL_CHECK(at_ < s_.size(), name_, ": malformed .npy header (ends early)");
        return s_[at_];
    }
    void expect(char c) {
        WSDOL_CHECK(peek() == c, name_, ": malformed .npy header (expected '", c, "' at offset ", at_, ")");
        ++at_;
    }
    void skip_space() {
        while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
    }
    std::string parse_string() {
        const char q = peek();
        WSDOL_CHECK(q == '\'' || q == '"', name_, ": malformed .npy header (expected a string at offset ", at_, ")");
        ++at_;
        std::string out;
        while (peek() != q) out.push_back(s_[at_++]);
        ++at_;
        return out;
    }
    int64_t parse_int() {
        WSDOL_CHECK(std::isdigit(static_cast<unsigned char>(peek())), name_,
                    ": malformed .npy header (expected a non-negative integer at offset ", at_, ")");
        int64_t v = 0;
        while (at_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[at_]))) {
            WSDOL_CHECK(v <= (std::numeric_limits<int64_t>::max() - 9) / 10, name_, ": .npy shape value too large");
            v = v * 10 + (s_[at_++] - '0');
        }
        if (at_ < s_.size() && s_[at_] == 'L') ++at_;  // Python 2 long literal (old files)
        return v;
    }
    HeaderValue parse_value() {
        HeaderValue v;
        const char c = peek();
        if (c == '\'' || c == '"') {
            v.kind = HeaderValue::string;
            v.text = parse_string();
        } else if (s_.compare(at_, 4, "True") == 0) {
            v.kind = HeaderValue::boolean;
            v.flag = true;
            at_ += 4;
        } else if (s_.compare(at_, 5, "False") == 0) {
            v.kind = HeaderValue::boolean;
            at_ += 5;
        } else if (c == '(' || c == '[') {
            const char close = c == '(' ? ')' : ']';
            v.kind = HeaderValue::tuple;
            ++at_;
            skip_space();
            while (peek() != close) {
                v.items.push_back(parse_int());
                skip_space();
                if (peek() == ',') {
                    ++at_;
                    skip_space();
                } else {
                    WSDOL_CHECK(peek() == close, name_, ": malformed .npy shape at offset ", at_);
                }
            }
            ++at_;
        } else {
            fail(str(name_, ": malformed .npy header (unexpected '", c, "' at offset ", at_,
                     "); descr must be a simple type string (structured dtypes are not supported)"));
        }
        return v;
    }

    const std::string& s_;
    const std::string& name_;
    size_t at_ = 0;
};

// descr -> dtype (little-endian / byte-order-free forms only).
DType dtype_from_descr(const std::string& descr, const std::string& name) {
    static const std::map<std::string, DType> table = {
        {"<f4", DType::f32}, {"<f8", DType::f64}, {"<f2", DType::f16}, {"<i4", DType::i32}, {"<i8", DType::i64},
        {"|u1", DType::u8},  {"<u1", DType::u8},  {"|b1", DType::boolean}, {"<b1", DType::boolean}};
    auto it = table.find(descr);
    if (it != table.end()) return it->second;
    WSDOL_CHECK(descr.empty() || descr[0] != '>', name, ": big-endian .npy data ('", descr,
                "') is not supported; save it little-endian (arr.astype(arr.dtype.newbyteorder('<')))");
    WSDOL_CHECK(descr != "|O", name, ": .npy holds Python objects (a pickle); only plain numeric arrays are supported");
    fail(str(name, ": unsupported .npy dtype '", descr, "' (supported: <f4 <f8 <f2 <i4 <i8 |u1 |b1)"));
}

const char* descr_of(DType t) {
    switch (t) {
        case DType::f32: return "<f4";
        case DType::f64: return "<f8";
        case DType::f16: return "<f2";
        case DType::i32: return "<i4";
        case DType::i64: return "<i8";
        case DType::u8: return "|u1";
        case DType::boolean: return "|b1";
        default: fail(str("write_npy: dtype ", dtype_name(t), " has no .npy equivalent"));
    }
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& name) {
    WSDOL_CHECK(bytes.size() >= 10 && std::memcmp(bytes.data(), kMagic, 6) == 0, name,
                ": not a .npy file (bad magic)");
    const int major = static_cast<unsigned char>(bytes[6]);
    const int minor = static_cast<unsigned char>(bytes[7]);
    WSDOL_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, name, ": unsupported .npy format version ",
                major, ".", minor);
    size_t header_len = 0, header_at = 0;
    const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
    if (major == 1) {
        header_len = size_t(u[8]) | (size_t(u[9]) << 8);
        header_at = 10;
    } else {
        WSDOL_CHECK(bytes.size() >= 12, name, ": truncated .npy header");
        header_len = size_t(u[8]) | (size_t(u[9]) << 8) | (size_t(u[10]) << 16) | (size_t(u[11]) << 24);
        header_at = 12;
    }
    WSDOL_CHECK(header_len <= bytes.size() - header_at, name, ": truncated .npy header (", header_len,
                " bytes announced)");
    const std::string header = bytes.substr(header_at, header_len);
    auto dict = HeaderParser(header, name).parse();
    for (const char* key : {"descr", "fortran_order", "shape"})
        WSDOL_CHECK(dict.count(key), name, ": .npy header has no '", key, "'");
    WSDOL_CHECK(dict.size() == 3, name, ": .npy header has unexpected keys");
    const HeaderValue& descr = dict["descr"];
    const HeaderValue& fortran = dict["fortran_order"];
    const HeaderValue& shape_v = dict["shape"];
    WSDOL_CHECK(descr.kind == HeaderValue::string, name, ": .npy 'descr' must be a string");
    WSDOL_CHECK(fortran.kind == HeaderValue::boolean, name, ": .npy 'fortran_order' must be True or False");
    WSDOL_CHECK(shape_v.kind == HeaderValue::tuple, name, ": .npy 'shape' must be a tuple");
    const DType dtype = dtype_from_descr(descr.text, name);
    const Shape shape(shape_v.items.begin(), shape_v.items.end());
    WSDOL_CHECK(shape.size() <= static_cast<size_t>(kMaxDims), name, ": .npy array has ", shape.size(),
                " dims (at most ", kMaxDims, " supported)");
    // Overflow-safe element count. The bound is on the product of the non-zero sizes (the largest stride), so an
    // empty array such as (4e8, 0, 6e11) is refused too: its strides would overflow (found by fuzz_npy).
    int64_t numel = 1, extent = 1;
    for (int64_t d : shape) {
        WSDOL_CHECK(d >= 0, name, ": .npy shape has a negative size ", shape_str(shape));
        const int64_t e = std::max<int64_t>(d, 1);
        WSDOL_CHECK(extent <= std::numeric_limits<int64_t>::max() / 16 / e, name, ": .npy shape too large ",
                    shape_str(shape));
        extent *= e;
        numel *= d;
    }
    WSDOL_CHECK(!fortran.flag || shape.size() <= 1, name,
                ": Fortran-order .npy arrays are not supported; save a C-order copy (np.ascontiguousarray)");
    const size_t data_at = header_at + header_len;
    const size_t nbytes = static_cast<size_t>(numel) * dtype_size(dtype);
    const size_t have = bytes.size() - data_at;
    WSDOL_CHECK(have >= nbytes, name, ": truncated .npy data (", have, " bytes, expected ", nbytes, " for ",
                shape_str(shape), " ", descr.text, ")");
    WSDOL_CHECK(have == nbytes, name, ": ", have - nbytes, " trailing bytes after the .npy data");
    if (dtype == DType::boolean) {
        for (size_t i = 0; i < nbytes; ++i)
            WSDOL_CHECK(u[data_at + i] <= 1, name, ": .npy bool element ", i, " is ", int(u[data_at + i]),
                        " (must be 0 or 1)");
    }
    return Tensor::from_blob(bytes.data() + data_at, shape, dtype);
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file_bytes(path), path); }

std::string npy_bytes(const Tensor& t) {
    const Tensor c = t.cpu().contiguous();
    // The header numpy 2.x writes: keys sorted, repr() values, then spare spaces so the first axis can grow to
    // 21 digits in place (numpy.lib.format.GROWTH_AXIS_MAX_DIGITS), then spaces up to a multiple of 64 bytes
    // (ARRAY_ALIGN) with a final '\n'.
    std::string shape_repr = "(";
    for (int i = 0; i < c.dim(); ++i) {
        if (i) shape_repr += ", ";
        shape_repr += std::to_string(c.size(i));
    }
    if (c.dim() == 1) shape_repr += ",";
    shape_repr += ")";
    std::string header = std::string("{'descr': '") + descr_of(c.dtype()) +
                         "', 'fortran_order': False, 'shape': " + shape_repr + ", }";
    if (c.dim() > 0) header.append(21 - std::to_string(c.size(0)).size(), ' ');
    size_t hlen = header.size() + 1;  // + '\n'
    int major = 1;
    size_t prefix = 10;
    size_t pad = 64 - (prefix + hlen) % 64;
    if (hlen + pad >= 65536) {
        major = 2;
        prefix = 12;
        pad = 64 - (prefix + hlen) % 64;
    }
    header.append(pad, ' ');
    header.push_back('\n');
    std::string out(kMagic, 6);
    out.push_back(static_cast<char>(major));
    out.push_back('\0');
    const size_t n = header.size();
    out.push_back(static_cast<char>(n & 0xff));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (major == 2) {
        out.push_back(static_cast<char>((n >> 16) & 0xff));
        out.push_back(static_cast<char>((n >> 24) & 0xff));
    }
    out += header;
    out.append(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * dtype_size(c.dtype()));
    return out;
}

void write_npy(const std::string& path, const Tensor& t) {
    std::string bytes;
    try {
        bytes = npy_bytes(t);
    } catch (const Error& e) {
        fail(str(path, ": ", e.what()));
    }
    io::write_file_atomic(path, bytes);
}

}  // namespace wsdol::data
