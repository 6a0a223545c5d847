// json.cpp — the JSON reader and writer of json.h: a recursive-descent parser with a depth limit and strict
// UTF-8 checking, and a compact writer.
#include "engine/io/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_set>

#include "engine/core/error.h"

namespace wsdol::json {

const char* type_name(Type t) {
    switch (t) {
        case Type::null: return "null";
        case Type::boolean: return "boolean";
        case Type::number: return "number";
        case Type::string: return "string";
        case Type::array: return "array";
        case Type::object: return "object";
    }
    return "?";
}

// ---------------------------------------------------------------- Value

Value::Value(int64_t v) : type_(Type::number), text_(std::to_string(v)) {}
Value::Value(uint64_t v) : type_(Type::number), text_(std::to_string(v)) {}

Value::Value(double v) : type_(Type::number) {
    WSDOL_CHECK(std::isfinite(v), "json: cannot encode the non-finite number ", v, " (JSON has no inf/nan)");
    char buf[64];
    // Shortest representation that parses back to the same double (C++17 to_chars guarantee).
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    text_.assign(buf, res.ptr);
}

Value Value::array() {
    Value v;
    v.type_ = Type::array;
    return v;
}

Value Value::object() {
    Value v;
    v.type_ = Type::object;
    return v;
}

Value Value::number_literal(std::string text) {
    Value v;
    v.type_ = Type::number;
    v.text_ = std::move(text);
    return v;
}

namespace {
[[noreturn]] void type_mismatch(const char* wanted, Type got) {
    fail(str("json: expected ", wanted, ", got ", type_name(got)));
}
bool literal_is_integer(const std::string& s) {
    return s.find_first_of(".eE") == std::string::npos;
}
}  // namespace

bool Value::as_bool() const {
    if (type_ != Type::boolean) type_mismatch("a boolean", type_);
    return bool_;
}

double Value::as_double() const {
    if (type_ != Type::number) type_mismatch("a number", type_);
    double v = 0;
    auto res = std::from_chars(text_.data(), text_.data() + text_.size(), v);
    WSDOL_CHECK(res.ec == std::errc() && res.ptr == text_.data() + text_.size(), "json: number ", text_,
                " is out of the range of a double");
    return v;
}

bool Value::is_int64() const {
    if (type_ != Type::number || !literal_is_integer(text_)) return false;
    int64_t v;
    auto res = std::from_chars(text_.data(), text_.data() + text_.size(), v);
    return res.ec == std::errc() && res.ptr == text_.data() + text_.size();
}

bool Value::is_uint64() const {
    if (type_ != Type::number || !literal_is_integer(text_) || text_[0] == '-') return false;
    uint64_t v;
    auto res = std::from_chars(text_.data(), text_.data() + text_.size(), v);
    return res.ec == std::errc() && res.ptr == text_.data() + text_.size();
}

int64_t Value::as_int64() const {
    if (type_ != Type::number) type_mismatch("an integer", type_);
    WSDOL_CHECK(is_int64(), "json: expected a 64-bit integer, got ", text_);
    int64_t v = 0;
    std::from_chars(text_.data(), text_.data() + text_.size(), v);
    return v;
}

uint64_t Value::as_uint64() const {
    if (type_ != Type::number) type_mismatch("a non-negative integer", type_);
    WSDOL_CHECK(is_uint64(), "json: expected a non-negative 64-bit integer, got ", text_);
    uint64_t v = 0;
    std::from_chars(text_.data(), text_.data() + text_.size(), v);
    return v;
}

const std::string& Value::as_string() const {
    if (type_ != Type::string) type_mismatch("a string", type_);
    return text_;
}

const std::string& Value::number_text() const {
    if (type_ != Type::number) type_mismatch("a number", type_);
    return text_;
}

const std::vector<Value>& Value::items() const {
    if (type_ != Type::array) type_mismatch("an array", type_);
    return items_;
}

void Value::push_back(Value v) {
    if (type_ != Type::array) type_mismatch("an array", type_);
    items_.push_back(std::move(v));
}

const std::vector<std::pair<std::string, Value>>& Value::members() const {
    if (type_ != Type::object) type_mismatch("an object", type_);
    return members_;
}

const Value* Value::find(std::string_view key) const {
    if (type_ != Type::object) type_mismatch("an object", type_);
    for (const auto& [k, v] : members_)
        if (k == key) return &v;
    return nullptr;
}

const Value& Value::at(std::string_view key) const {
    const Value* v = find(key);
    WSDOL_CHECK(v, "json: missing key \"", key, "\"");
    return *v;
}

Value& Value::set(const std::string& key, Value v) {
    if (type_ != Type::object) type_mismatch("an object", type_);
    for (auto& [k, old] : members_)
        if (k == key) return old = std::move(v);
    members_.emplace_back(key, std::move(v));
    return members_.back().second;
}

void Value::add_member(std::string key, Value v) {
    if (type_ != Type::object) type_mismatch("an object", type_);
    members_.emplace_back(std::move(key), std::move(v));
}

size_t Value::size() const {
    if (type_ == Type::array) return items_.size();
    if (type_ == Type::object) return members_.size();
    type_mismatch("an array or object", type_);
}

// ---------------------------------------------------------------- reader

namespace {

class Parser {
public:
    explicit Parser(std::string_view text) : s_(text) {}

    Value parse_document() {
        skip_ws();
        Value v = parse_value(0);
        skip_ws();
        if (pos_ != s_.size()) error("unexpected text after the JSON value");
        return v;
    }

private:
    std::string_view s_;
    size_t pos_ = 0;

    [[noreturn]] void error(const std::string& what) const {
        fail(str("invalid JSON at byte ", pos_, ": ", what));
    }
    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return s_[pos_]; }

    void skip_ws() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
    }

    void expect_word(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) error(str("expected '", word, "'"));
        pos_ += word.size();
    }

    Value parse_value(int depth) {
        if (depth >= kMaxDepth) error(str("nesting deeper than ", kMaxDepth, " levels"));
        if (at_end()) error("unexpected end of input");
        switch (peek()) {
            case '{': return parse_object(depth);
            case '[': return parse_array(depth);
            case '"': return Value(parse_string());
            case 't': expect_word("true"); return Value(true);
            case 'f': expect_word("false"); return Value(false);
            case 'n': expect_word("null"); return Value();
            default:
                if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_number();
                error(str("unexpected character '", printable(peek()), "'"));
        }
    }

    static std::string printable(char c) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) return std::string(1, c);
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02x", u);
        return buf;
    }

    Value parse_object(int depth) {
        ++pos_;  // '{'
        Value obj = Value::object();
        std::unordered_set<std::string> keys;  // duplicate detection in O(1) per key (headers can be huge)
        skip_ws();
        if (!at_end() && peek() == '}') {
            ++pos_;
            return obj;
        }
        while (true) {
            skip_ws();
            if (at_end() || peek() != '"') error("expected a string key");
            const size_t key_pos = pos_;
            std::string key = parse_string();
            if (!keys.insert(key).second) {
                pos_ = key_pos;
                error(str("duplicate key \"", key, "\""));
            }
            skip_ws();
            if (at_end() || peek() != ':') error("expected ':' after an object key");
            ++pos_;
            skip_ws();
            obj.add_member(std::move(key), parse_value(depth + 1));
            skip_ws();
            if (at_end()) error("unexpected end of input in an object");
            if (peek() == ',') { ++pos_; continue; }
            if (peek() == '}') { ++pos_; return obj; }
            error("expected ',' or '}' in an object");
        }
    }

    Value parse_array(int depth) {
        ++pos_;  // '['
        Value arr = Value::array();
        skip_ws();
        if (!at_end() && peek() == ']') {
            ++pos_;
            return arr;
        }
        while (true) {
            skip_ws();
            arr.push_back(parse_value(depth + 1));
            skip_ws();
            if (at_end()) error("unexpected end of input in an array");
            if (peek() == ',') { ++pos_; continue; }
            if (peek() == ']') { ++pos_; return arr; }
            error("expected ',' or ']' in an array");
        }
    }

    Value parse_number() {
        const size_t start = pos_;
        auto digit = [&] { return !at_end() && peek() >= '0' && peek() <= '9'; };
        if (peek() == '-') ++pos_;
        if (!digit()) error("expected a digit");
        if (peek() == '0') {
            ++pos_;
        } else {
            while (digit()) ++pos_;
        }
        if (!at_end() && peek() == '.') {
            ++pos_;
            if (!digit()) error("expected a digit after '.'");
            while (digit()) ++pos_;
        }
        if (!at_end() && (peek() == 'e' || peek() == 'E')) {
            ++pos_;
            if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
            if (!digit()) error("expected a digit in the exponent");
            while (digit()) ++pos_;
        }
        return Value::number_literal(std::string(s_.substr(start, pos_ - start)));
    }

    unsigned hex4() {
        if (pos_ + 4 > s_.size()) error("truncated \\u escape");
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= c - '0';
            else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
            else error("invalid hex digit in a \\u escape");
        }
        return v;
    }

    static void append_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    // Length of the valid UTF-8 sequence starting at pos_ (whose first byte is >= 0x80), or 0 if invalid.
    size_t utf8_sequence_length() const {
        const auto byte = [&](size_t i) { return static_cast<unsigned char>(s_[pos_ + i]); };
        const unsigned char b0 = byte(0);
        size_t n;
        uint32_t cp;
        if (b0 >= 0xC2 && b0 <= 0xDF) { n = 2; cp = b0 & 0x1F; }
        else if (b0 >= 0xE0 && b0 <= 0xEF) { n = 3; cp = b0 & 0x0F; }
        else if (b0 >= 0xF0 && b0 <= 0xF4) { n = 4; cp = b0 & 0x07; }
        else return 0;  // continuation byte, overlong 2-byte lead (C0/C1), or beyond U+10FFFF
        if (pos_ + n > s_.size()) return 0;
        for (size_t i = 1; i < n; ++i) {
            if ((byte(i) & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (byte(i) & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF) return 0;  // overlong / range
        if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                                        // surrogates
        return n;
    }

    std::string parse_string() {
        ++pos_;  // opening quote
        std::string out;
        while (true) {
            if (at_end()) error("unterminated string");
            const unsigned char c = static_cast<unsigned char>(peek());
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c < 0x20) error("control character in a string (must be escaped)");
            if (c == '\\') {
                ++pos_;
                if (at_end()) error("unterminated escape");
                const char e = s_[pos_++];
                switch (e) {
                    case '"': out += '"'; break;
                    case '\\': out += '\\'; break;
                    case '/': out += '/'; break;
                    case 'b': out += '\b'; break;
                    case 'f': out += '\f'; break;
                    case 'n': out += '\n'; break;
                    case 'r': out += '\r'; break;
                    case 't': out += '\t'; break;
                    case 'u': {
                        uint32_t cp = hex4();
                        if (cp >= 0xDC00 && cp <= 0xDFFF) error("lone trailing surrogate in a \\u escape");
                        if (cp >= 0xD800 && cp <= 0xDBFF) {
                            if (s_.substr(pos_, 2) != "\\u") error("lone leading surrogate in a \\u escape");
                            pos_ += 2;
                            const uint32_t lo = hex4();
                            if (lo < 0xDC00 || lo > 0xDFFF) error("invalid trailing surrogate in a \\u escape");
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        }
                        append_utf8(out, cp);
                        break;
                    }
                    default: --pos_; error(str("invalid escape '\\", printable(e), "'"));
                }
                continue;
            }
            if (c < 0x80) {
                out += static_cast<char>(c);
                ++pos_;
                continue;
            }
            const size_t n = utf8_sequence_length();
            if (n == 0) error("invalid UTF-8 in a string");
            out.append(s_.substr(pos_, n));
            pos_ += n;
        }
    }
};

}  // namespace

Value parse(std::string_view text) { return Parser(text).parse_document(); }

// ---------------------------------------------------------------- writer

void append_quoted(std::string& out, std::string_view s) {
    out += '"';
    for (char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof(buf), "\\u%04x", c);
                    out += buf;
                } else {
                    out += ch;  // UTF-8 passes through unchanged (serde_json does the same)
                }
        }
    }
    out += '"';
}

void dump_to(const Value& v, std::string& out) {
    switch (v.type()) {
        case Type::null: out += "null"; return;
        case Type::boolean: out += v.as_bool() ? "true" : "false"; return;
        case Type::number: out += v.number_text(); return;
        case Type::string: append_quoted(out, v.as_string()); return;
        case Type::array: {
            out += '[';
            bool first = true;
            for (const Value& item : v.items()) {
                if (!first) out += ',';
                first = false;
                dump_to(item, out);
            }
            out += ']';
            return;
        }
        case Type::object: {
            out += '{';
            bool first = true;
            for (const auto& [key, item] : v.members()) {
                if (!first) out += ',';
                first = false;
                append_quoted(out, key);
                out += ':';
                dump_to(item, out);
            }
            out += '}';
            return;
        }
    }
}

std::string dump(const Value& v) {
    std::string out;
    dump_to(v, out);
    return out;
}

}  // namespace wsdol::json
