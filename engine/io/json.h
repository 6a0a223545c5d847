// json.h — a small JSON value, reader and writer (RFC 8259), for safetensors headers and checkpoint metadata.
//
// Reader: strict and safe on hostile input (safetensors headers come from downloaded files and are fuzzed):
//  - the whole text must be one value, surrounded only by JSON whitespace;
//  - strings must be valid UTF-8 (no overlong forms, no surrogates), \u escapes are decoded, lone surrogate
//    escapes are rejected (as serde_json, which the reference safetensors reader uses, rejects them);
//  - duplicate keys in an object are an error naming the key;
//  - nesting deeper than kMaxDepth is an error (no stack overflow);
//  - numbers keep their literal text, so 64-bit integers (offsets, RNG seeds) round-trip exactly; as_double()
//    parses with std::from_chars (locale-independent, correctly rounded).
// Writer: compact, no spaces (the layout serde_json::to_string produces), object members in insertion order,
// doubles in the shortest form that reads back to the same bits.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsdol::json {

constexpr int kMaxDepth = 128;

enum class Type { null, boolean, number, string, array, object };
const char* type_name(Type t);  // "null", "boolean", ...

class Value {
public:
    Value() = default;  // null
    Value(std::nullptr_t) {}
    Value(bool b) : type_(Type::boolean), bool_(b) {}
    Value(int v) : Value(static_cast<int64_t>(v)) {}
    Value(int64_t v);
    Value(uint64_t v);
    Value(double v);  // must be finite (JSON has no inf/nan): throws otherwise
    Value(const char* s) : type_(Type::string), text_(s) {}
    Value(std::string s) : type_(Type::string), text_(std::move(s)) {}
    static Value array();
    static Value object();
    static Value number_literal(std::string text);  // an already validated JSON number literal

    Type type() const { return type_; }
    bool is_null() const { return type_ == Type::null; }
    bool is_bool() const { return type_ == Type::boolean; }
    bool is_number() const { return type_ == Type::number; }
    bool is_string() const { return type_ == Type::string; }
    bool is_array() const { return type_ == Type::array; }
    bool is_object() const { return type_ == Type::object; }

    // Typed access; each throws wsdol::Error naming the expected and actual type on mismatch.
    bool as_bool() const;
    double as_double() const;
    // Exact integer reads: the literal must be an integer (no fraction or exponent) in range.
    bool is_int64() const;
    bool is_uint64() const;
    int64_t as_int64() const;
    uint64_t as_uint64() const;
    const std::string& as_string() const;
    const std::string& number_text() const;  // the literal of a number

    // Arrays.
    const std::vector<Value>& items() const;
    void push_back(Value v);
    // Objects (members in insertion order).
    const std::vector<std::pair<std::string, Value>>& members() const;
    const Value* find(std::string_view key) const;  // null when absent
    const Value& at(std::string_view key) const;    // throws naming the key when absent
    Value& set(const std::string& key, Value v);    // replaces an existing member or appends
    void add_member(std::string key, Value v);      // appends without looking for an existing key
    size_t size() const;                            // items or members

private:
    Type type_ = Type::null;
    bool bool_ = false;
    std::string text_;  // string contents, or the number literal
    std::vector<Value> items_;
    std::vector<std::pair<std::string, Value>> members_;
};

// Parses `text`. Errors are wsdol::Error("invalid JSON at byte N: what").
Value parse(std::string_view text);
// Compact serialization.
std::string dump(const Value& v);
void dump_to(const Value& v, std::string& out);
// Appends `s` as a JSON string literal (quoted, escaped).
void append_quoted(std::string& out, std::string_view s);

}  // namespace wsdol::json
