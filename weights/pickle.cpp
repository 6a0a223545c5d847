// pickle.cpp — the restricted unpickler (allow-listed globals, inert value tree) and the small protocol-2
// pickler used by write_torch_zip. Opcode semantics follow CPython's Lib/pickle.py (_Unpickler.load_*).
#include "weights/pickle.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "engine/core/error.h"

namespace wsdol::weights::pickle {

// ---------------------------------------------------------------- names

namespace {

struct DTypeInfo {
    TorchDType dtype;
    const char* name;
    int size;
};
constexpr DTypeInfo kDTypes[] = {
    {TorchDType::f32, "float32", 4},        {TorchDType::f64, "float64", 8},
    {TorchDType::f16, "float16", 2},        {TorchDType::bf16, "bfloat16", 2},
    {TorchDType::i64, "int64", 8},          {TorchDType::i32, "int32", 4},
    {TorchDType::i16, "int16", 2},          {TorchDType::i8, "int8", 1},
    {TorchDType::u8, "uint8", 1},           {TorchDType::boolean, "bool", 1},
    {TorchDType::u16, "uint16", 2},         {TorchDType::u32, "uint32", 4},
    {TorchDType::u64, "uint64", 8},         {TorchDType::c32, "complex32", 4},
    {TorchDType::c64, "complex64", 8},      {TorchDType::c128, "complex128", 16},
    {TorchDType::qint8, "qint8", 1},        {TorchDType::quint8, "quint8", 1},
    {TorchDType::qint32, "qint32", 4},      {TorchDType::quint4x2, "quint4x2", 1},
    {TorchDType::quint2x4, "quint2x4", 1},  {TorchDType::f8_e4m3fn, "float8_e4m3fn", 1},
    {TorchDType::f8_e5m2, "float8_e5m2", 1}, {TorchDType::f8_e4m3fnuz, "float8_e4m3fnuz", 1},
    {TorchDType::f8_e5m2fnuz, "float8_e5m2fnuz", 1}, {TorchDType::f8_e8m0fnu, "float8_e8m0fnu", 1},
    {TorchDType::untyped, "uint8 (untyped storage)", 1},
};

// torch.<X>Storage -> element type (torch/storage.py; the legacy typed storages).
struct NamedDType {
    const char* name;
    TorchDType dtype;
};
constexpr NamedDType kStorageTypes[] = {
    {"FloatStorage", TorchDType::f32},         {"DoubleStorage", TorchDType::f64},
    {"HalfStorage", TorchDType::f16},          {"BFloat16Storage", TorchDType::bf16},
    {"LongStorage", TorchDType::i64},          {"IntStorage", TorchDType::i32},
    {"ShortStorage", TorchDType::i16},         {"CharStorage", TorchDType::i8},
    {"ByteStorage", TorchDType::u8},           {"BoolStorage", TorchDType::boolean},
    {"ComplexFloatStorage", TorchDType::c64},  {"ComplexDoubleStorage", TorchDType::c128},
    {"QInt8Storage", TorchDType::qint8},       {"QUInt8Storage", TorchDType::quint8},
    {"QInt32Storage", TorchDType::qint32},     {"QUInt4x2Storage", TorchDType::quint4x2},
    {"QUInt2x4Storage", TorchDType::quint2x4}, {"UntypedStorage", TorchDType::untyped},
};
// torch.<dtype> globals (the arguments of _rebuild_tensor_v3), with PyTorch's aliases.
constexpr NamedDType kDTypeGlobals[] = {
    {"float32", TorchDType::f32},   {"float", TorchDType::f32},       {"float64", TorchDType::f64},
    {"double", TorchDType::f64},    {"float16", TorchDType::f16},     {"half", TorchDType::f16},
    {"bfloat16", TorchDType::bf16}, {"int64", TorchDType::i64},       {"long", TorchDType::i64},
    {"int32", TorchDType::i32},     {"int", TorchDType::i32},         {"int16", TorchDType::i16},
    {"short", TorchDType::i16},     {"int8", TorchDType::i8},         {"uint8", TorchDType::u8},
    {"bool", TorchDType::boolean},  {"uint16", TorchDType::u16},      {"uint32", TorchDType::u32},
    {"uint64", TorchDType::u64},    {"complex32", TorchDType::c32},   {"chalf", TorchDType::c32},
    {"complex64", TorchDType::c64}, {"cfloat", TorchDType::c64},      {"complex128", TorchDType::c128},
    {"cdouble", TorchDType::c128},  {"qint8", TorchDType::qint8},     {"quint8", TorchDType::quint8},
    {"qint32", TorchDType::qint32}, {"quint4x2", TorchDType::quint4x2}, {"quint2x4", TorchDType::quint2x4},
    {"float8_e4m3fn", TorchDType::f8_e4m3fn},     {"float8_e5m2", TorchDType::f8_e5m2},
    {"float8_e4m3fnuz", TorchDType::f8_e4m3fnuz}, {"float8_e5m2fnuz", TorchDType::f8_e5m2fnuz},
    {"float8_e8m0fnu", TorchDType::f8_e8m0fnu},
};
constexpr const char* kLegacyTensorTypes[] = {"FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor",
                                              "LongTensor",  "IntTensor",    "ShortTensor", "CharTensor",
                                              "ByteTensor",  "BoolTensor"};

// Modules whose globals can run code, touch files, processes or the network, or build arbitrary callables
// (the classic pickle gadgets). A global in one of them (or a submodule) refuses the whole file.
constexpr const char* kDangerousModules[] = {
    "os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "pty", "importlib", "imp", "runpy",
    "pickle", "_pickle", "cPickle", "pickletools", "marshal", "ctypes", "code", "codeop", "types", "operator",
    "_operator", "functools", "multiprocessing", "asyncio", "webbrowser", "signal", "threading", "_thread",
    "io", "_io", "tempfile", "pathlib", "glob", "platform", "pdb", "bdb", "timeit", "commands", "popen2",
    "cProfile", "profile", "trace", "inspect", "gc", "resource", "urllib", "urllib2", "http", "ftplib",
    "smtplib", "telnetlib", "requests", "dill", "cloudpickle", "setuptools", "distutils", "pip", "zipimport",
    "torch._C", "torch.hub", "torch.ops", "torch.serialization", "torch.utils.cpp_extension",
    "torch.distributed", "torch.multiprocessing", "torch.package", "numpy.f2py", "numpy.distutils",
    "numpy.testing",
};
// Builtins that evaluate code, import, open files or reach arbitrary attributes.
constexpr const char* kDangerousBuiltins[] = {
    "eval", "exec", "execfile", "compile", "open", "input", "raw_input", "__import__", "getattr", "setattr",
    "delattr", "globals", "locals", "vars", "breakpoint", "exit", "quit", "help", "reload", "apply", "file",
    "type", "classmethod", "staticmethod", "property", "super", "memoryview",
};
// Single functions elsewhere that load or save files.
constexpr const char* kDangerousFunctions[] = {
    "torch.load", "torch.save", "torch.jit.load", "torch.jit.save", "numpy.load", "numpy.save", "numpy.fromfile",
    "numpy.loadtxt", "numpy.genfromtxt", "numpy.memmap",
};

bool in_module(std::string_view module, std::string_view root) {
    return module == root || (module.size() > root.size() && module.substr(0, root.size()) == root &&
                              module[root.size()] == '.');
}

bool is_dangerous(std::string_view module, std::string_view name) {
    for (const char* m : kDangerousModules)
        if (in_module(module, m)) return true;
    if (module == "builtins" || module == "__builtin__" || module == "__builtins__")
        for (const char* b : kDangerousBuiltins)
            if (name == b) return true;
    const std::string qualified = std::string(module) + "." + std::string(name);
    for (const char* f : kDangerousFunctions)
        if (qualified == f) return true;
    return false;
}

}  // namespace

const char* torch_dtype_name(TorchDType t) {
    for (const DTypeInfo& d : kDTypes)
        if (d.dtype == t) return d.name;
    return "?";
}

int torch_dtype_size(TorchDType t) {
    for (const DTypeInfo& d : kDTypes)
        if (d.dtype == t) return d.size;
    return 1;
}

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::none: return "None";
        case Kind::boolean: return "bool";
        case Kind::integer: case Kind::big_integer: return "int";
        case Kind::floating: return "float";
        case Kind::string: return "str";
        case Kind::bytes: return "bytes";
        case Kind::tuple: return "tuple";
        case Kind::list: return "list";
        case Kind::dict: return "dict";
        case Kind::set: return "set";
        case Kind::global: return "global";
        case Kind::object: return "object";
        case Kind::storage: return "storage";
        case Kind::tensor: return "tensor";
        case Kind::opaque: return "value";
        case Kind::unsupported: return "unsupported object";
    }
    return "?";
}

Value* Arena::make(Kind kind) {
    values_.emplace_back();
    values_.back().kind = kind;
    return &values_.back();
}

// ---------------------------------------------------------------- the machine

namespace {

bool valid_utf8(const uint8_t* s, size_t n) {
    size_t i = 0;
    while (i < n) {
        const uint8_t c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        int len;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
        else return false;
        if (n - i < static_cast<size_t>(len)) return false;
        for (int k = 1; k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        // Overlong forms and out-of-range code points are invalid; lone surrogates are let through, as Python's
        // pickle writes them with "surrogatepass".
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += len;
    }
    return true;
}

class Machine {
public:
    Machine(Arena& arena, const uint8_t* data, size_t size, const Options& options)
        : arena_(arena), d_(data), n_(size), opt_(options) {}

    Value* run(size_t* consumed);

private:
    [[noreturn]] void error(const std::string& what) const {
        fail(str("pickle: ", opt_.label, ": ", what, " (opcode at byte ", op_pos_, ")"));
    }
    Value* make(Kind k) {
        if (arena_.size() >= opt_.limits.max_values)
            error(str("more than ", opt_.limits.max_values, " values (limit; corrupt or hostile file?)"));
        return arena_.make(k);
    }
    void need(size_t k, const char* op) const {
        if (n_ - pos_ < k)
            fail(str("pickle: ", opt_.label, ": truncated: ", op, " at byte ", op_pos_, " needs ", k,
                     " more bytes, only ", n_ - pos_, " left"));
    }
    uint64_t read_le(size_t k, const char* op) {
        need(k, op);
        uint64_t v = 0;
        for (size_t i = 0; i < k; ++i) v |= static_cast<uint64_t>(d_[pos_ + i]) << (8 * i);
        pos_ += k;
        return v;
    }
    std::string read_line(const char* op) {
        const size_t start = pos_;
        while (pos_ < n_ && d_[pos_] != '\n') {
            if (pos_ - start >= opt_.limits.max_line) error(str(op, ": text line longer than ", opt_.limits.max_line));
            ++pos_;
        }
        if (pos_ >= n_) fail(str("pickle: ", opt_.label, ": truncated: ", op, " at byte ", op_pos_, " has no end of line"));
        std::string line(reinterpret_cast<const char*>(d_ + start), pos_ - start);
        ++pos_;
        return line;
    }
    uint64_t parse_decimal(const std::string& line, const char* op) const {
        if (line.empty() || line.size() > 10) error(str(op, ": bad memo index '", line, "'"));
        uint64_t v = 0;
        for (char c : line) {
            if (c < '0' || c > '9') error(str(op, ": bad memo index '", line, "'"));
            v = v * 10 + static_cast<uint64_t>(c - '0');
        }
        if (v > 0xFFFFFFFFull) error(str(op, ": memo index ", v, " out of range"));
        return v;
    }

    // stack
    size_t frame_base() const { return marks_.empty() ? 0 : marks_.back(); }
    void push(Value* v) {
        if (stack_.size() + marks_.size() >= opt_.limits.max_stack)
            error(str("stack deeper than ", opt_.limits.max_stack, " entries (limit; corrupt or hostile file?)"));
        stack_.push_back(v);
    }
    Value* pop(const char* op) {
        if (stack_.size() <= frame_base()) error(str(op, ": stack underflow"));
        Value* v = stack_.back();
        stack_.pop_back();
        return v;
    }
    Value* top(const char* op) const {
        if (stack_.size() <= frame_base()) error(str(op, ": stack underflow"));
        return stack_.back();
    }
    std::vector<Value*> pop_mark(const char* op) {
        if (marks_.empty()) error(str(op, " without a MARK"));
        const size_t base = marks_.back();
        marks_.pop_back();
        std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(base), stack_.end());
        stack_.resize(base);
        return items;
    }
    void memo_put(uint64_t index, Value* v) {
        if (memo_.size() >= opt_.limits.max_memo && !memo_.count(static_cast<uint32_t>(index)))
            error(str("more than ", opt_.limits.max_memo, " memo entries (limit)"));
        memo_[static_cast<uint32_t>(index)] = v;
    }
    Value* memo_get(uint64_t index) const {
        auto it = memo_.find(static_cast<uint32_t>(index));
        if (it == memo_.end()) error(str("memo slot ", index, " was never set (corrupt)"));
        return it->second;
    }

    // values
    Value* make_int(int64_t v) {
        Value* x = make(Kind::integer);
        x->integer = v;
        return x;
    }
    Value* make_long(size_t nbytes, const char* op);
    Value* make_text(Kind kind, size_t len, const char* op);
    void set_item(Value* dict, Value* key, Value* value);
    Value* resolve_global(const std::string& module, const std::string& name);
    Value* call(Value* callable, Value* args, int depth = 0);
    Value* new_object(Value* cls, Value* args);
    void build(Value* obj, Value* state);
    Value* persistent_load(Value* pid);
    Value* rebuild_tensor(Value* callable, Value* args, bool v3);

    Arena& arena_;
    const uint8_t* d_;
    size_t n_;
    size_t pos_ = 0, op_pos_ = 0;
    const Options& opt_;
    std::vector<Value*> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint32_t, Value*> memo_;
    std::unordered_map<const Value*, std::unordered_map<std::string, size_t>> dict_index_;
};

Value* Machine::make_long(size_t nbytes, const char* op) {
    need(nbytes, op);
    const uint8_t* p = d_ + pos_;
    pos_ += nbytes;
    if (nbytes == 0) return make_int(0);
    // Fits int64 when every byte above the 8th is a sign extension of bit 63.
    const bool negative = p[nbytes - 1] & 0x80;
    bool fits = true;
    for (size_t i = 8; i < nbytes; ++i) fits = fits && p[i] == (negative ? 0xFF : 0x00);
    if (nbytes > 8 && fits) fits = ((p[7] & 0x80) != 0) == negative;
    if (!fits) {
        Value* v = make(Kind::big_integer);
        v->text.assign(reinterpret_cast<const char*>(p), nbytes);
        return v;
    }
    uint64_t u = negative ? ~uint64_t(0) : 0;
    for (size_t i = 0; i < std::min<size_t>(nbytes, 8); ++i) {
        u &= ~(uint64_t(0xFF) << (8 * i));
        u |= static_cast<uint64_t>(p[i]) << (8 * i);
    }
    return make_int(static_cast<int64_t>(u));
}

Value* Machine::make_text(Kind kind, size_t len, const char* op) {
    need(len, op);
    if (kind == Kind::string && !valid_utf8(d_ + pos_, len)) error(str(op, ": string is not valid UTF-8 (corrupt)"));
    Value* v = make(kind);
    v->text.assign(reinterpret_cast<const char*>(d_ + pos_), len);
    pos_ += len;
    return v;
}

void Machine::set_item(Value* dict, Value* key, Value* value) {
    // Python dict semantics: assigning an existing key replaces its value in place. String keys are indexed
    // (lazily, once a dict has more than 16 entries); int keys are compared in small dicts only.
    auto& entries = dict->entries;
    if (key->kind == Kind::string) {
        auto found = dict_index_.find(dict);
        if (found == dict_index_.end() && entries.size() > 16) {
            auto& index = dict_index_[dict];
            for (size_t i = 0; i < entries.size(); ++i)
                if (entries[i].first->kind == Kind::string) index.emplace(entries[i].first->text, i);
            found = dict_index_.find(dict);
        }
        if (found != dict_index_.end()) {
            auto [it, inserted] = found->second.emplace(key->text, entries.size());
            if (!inserted) {
                entries[it->second].second = value;
                return;
            }
        } else {
            for (auto& e : entries)
                if (e.first->kind == Kind::string && e.first->text == key->text) {
                    e.second = value;
                    return;
                }
        }
    } else if (key->kind == Kind::integer && entries.size() < 64) {
        for (auto& e : entries)
            if (e.first->kind == Kind::integer && e.first->integer == key->integer) {
                e.second = value;
                return;
            }
    }
    entries.emplace_back(key, value);
}

Value* Machine::resolve_global(const std::string& module, const std::string& name) {
    const std::string qualified = module + "." + name;
    if (is_dangerous(module, name))
        error(str("global '", qualified, "' is not allowed: it can run commands or code, touch files or build "
                  "arbitrary callables, and weights files never need it. The file was refused; nothing was executed"));
    Value* g = make(Kind::global);
    g->text = qualified;
    GlobalKind k = GlobalKind::unknown;
    if (module == "collections" && name == "OrderedDict") {
        k = GlobalKind::ordered_dict;
    } else if (module == "torch._utils") {
        if (name == "_rebuild_tensor_v2" || name == "_rebuild_tensor") k = GlobalKind::rebuild_tensor_v2;
        else if (name == "_rebuild_tensor_v3") k = GlobalKind::rebuild_tensor_v3;
        else if (name == "_rebuild_parameter") k = GlobalKind::rebuild_parameter;
        else if (name == "_rebuild_parameter_with_state") k = GlobalKind::rebuild_parameter_state;
        else if (name.rfind("_rebuild_", 0) == 0) k = GlobalKind::unsupported_tensor;  // qtensor, sparse, meta...
    } else if (module == "torch._tensor" && (name == "_rebuild_from_type_v2" || name == "_rebuild_from_type")) {
        k = GlobalKind::rebuild_from_type_v2;
    } else if (module == "torch" || module == "torch.cuda" || module == "torch.storage") {
        for (const NamedDType& s : kStorageTypes)
            if (name == s.name && (module != "torch.storage" || s.dtype == TorchDType::untyped))
                k = GlobalKind::storage_type, g->dtype = s.dtype;
        if (module == "torch") {
            for (const NamedDType& s : kDTypeGlobals)
                if (name == s.name) k = GlobalKind::dtype, g->dtype = s.dtype;
            if (name == "Size") k = GlobalKind::torch_size;
            if (name == "device") k = GlobalKind::device;
        }
        if (module != "torch.storage")
            for (const char* t : kLegacyTensorTypes)
                if (name == t) k = GlobalKind::legacy_tensor_type;
    } else if (module == "torch.nn.parameter" && name == "Parameter") {
        k = GlobalKind::parameter_class;
    } else if ((module == "builtins" || module == "__builtin__") && (name == "set" || name == "frozenset")) {
        k = GlobalKind::set;
    } else if ((module == "builtins" || module == "__builtin__") && name == "complex") {
        k = GlobalKind::complex;
    } else if (module == "torch.jit._pickle") {
        if (name == "build_intlist" || name == "build_tensorlist" || name == "build_doublelist" ||
            name == "build_boollist" || name == "build_genericlist")
            k = GlobalKind::jit_build_list;
        else if (name == "restore_type_tag")
            k = GlobalKind::jit_restore_type_tag;
    } else if (opt_.mode == Mode::torchscript && in_module(module, "__torch__")) {
        k = GlobalKind::torchscript_class;
    }
    g->global = k;
    return g;
}

Value* Machine::persistent_load(Value* pid) {
    // ('storage', <torch.XStorage>, key, location, numel[, view_metadata]) — torch/serialization.py
    // persistent_id (zip: 5-tuple; legacy stream: 6-tuple whose last item is None or (view_key, offset, size)).
    if (pid->kind == Kind::string)
        error(str("persistent id is the plain string '", pid->text.substr(0, 40),
                  "' (the legacy tar format, which is not supported)"));
    auto bad = [&](const std::string& why) -> Value* {
        error(str("unsupported persistent id ", describe(pid), ": ", why));
    };
    if (pid->kind != Kind::tuple) return bad("expected a tuple");
    const auto& t = pid->items;
    if (t.size() < 5 || t.size() > 6) return bad("expected 5 or 6 items");
    if (!t[0]->is_str() || t[0]->text != "storage") return bad("the first item is not 'storage'");
    if (t[1]->kind != Kind::global || t[1]->global != GlobalKind::storage_type)
        return bad(str("the storage type is ", t[1]->kind == Kind::global ? "'" + t[1]->text + "'" : describe(t[1]),
                       ", not a torch storage type"));
    if (!t[2]->is_str()) return bad("the key is not a string");
    if (!t[3]->is_str()) return bad("the location is not a string");
    if (!t[4]->is_int() || t[4]->integer < 0) return bad("the element count is not a non-negative int");
    Value* s = make(Kind::storage);
    s->storage.dtype = t[1]->dtype;
    s->storage.key = t[2]->text;
    s->storage.location = t[3]->text;
    s->storage.numel = t[4]->integer;
    if (t.size() == 6 && t[5]->kind != Kind::none) {
        const Value* v = t[5];
        if (!v->is_tuple() || v->items.size() != 3 || !v->items[0]->is_str() || !v->items[1]->is_int() ||
            !v->items[2]->is_int() || v->items[1]->integer < 0 || v->items[2]->integer < 0)
            return bad("view_metadata is not (str, int, int)");
        // (view_key, offset, size): this storage is elements [offset, offset + size) of the root storage.
        s->storage.is_view = true;
        s->storage.view_key = v->items[0]->text;
        s->storage.view_offset = v->items[1]->integer;
        s->storage.view_numel = v->items[2]->integer;
    }
    return s;
}

Value* Machine::rebuild_tensor(Value* callable, Value* args, bool v3) {
    // v2: (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])  (v1: first four)
    // v3: (storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
    const auto& a = args->items;
    const char* fn = callable->text.c_str();
    if (a.size() < (v3 ? 7u : 4u) || a.size() > 8)
        error(str(fn, ": expected ", v3 ? "7 or 8" : "4 to 7", " arguments, got ", a.size()));
    if (a[0]->kind != Kind::storage) error(str(fn, ": the storage argument is ", describe(a[0])));
    Value* t = make(Kind::tensor);
    TensorRef& r = t->tensor;
    r.storage = a[0];
    r.dtype = a[0]->storage.dtype;
    if (!a[1]->is_int() || a[1]->integer < 0) error(str(fn, ": storage_offset is ", describe(a[1])));
    r.storage_offset = a[1]->integer;
    auto ints = [&](const Value* v, const char* what, std::vector<int64_t>& out) {
        if (!v->is_tuple()) error(str(fn, ": ", what, " is ", describe(v), ", not a tuple"));
        for (const Value* x : v->items) {
            if (!x->is_int()) error(str(fn, ": ", what, " holds ", describe(x)));
            out.push_back(x->integer);
        }
    };
    ints(a[2], "size", r.size);
    ints(a[3], "stride", r.stride);
    if (r.size.size() != r.stride.size())
        error(str(fn, ": size has ", r.size.size(), " dims but stride has ", r.stride.size()));
    if (a.size() > 4) {
        if (a[4]->kind != Kind::boolean) error(str(fn, ": requires_grad is ", describe(a[4])));
        r.requires_grad = a[4]->boolean;
    }
    if (v3) {
        if (a[6]->kind != Kind::global || a[6]->global != GlobalKind::dtype)
            error(str(fn, ": the dtype argument is ", describe(a[6])));
        r.dtype = a[6]->dtype;
    } else if (r.dtype == TorchDType::untyped) {
        error(str(fn, ": an untyped storage needs _rebuild_tensor_v3 (with a dtype)"));
    }
    return t;
}

Value* Machine::call(Value* callable, Value* args, int depth) {
    if (callable->kind == Kind::unsupported) return callable;  // calling an opaque result stays opaque
    if (callable->kind != Kind::global) error(str("REDUCE: the callable is ", describe(callable), ", not a global"));
    if (!args->is_tuple()) error(str("REDUCE: the arguments of '", callable->text, "' are ", describe(args), ", not a tuple"));
    const auto& a = args->items;
    auto unsupported = [&]() {
        Value* u = make(Kind::unsupported);
        u->text = callable->text;
        u->global = callable->global;
        return u;
    };
    switch (callable->global) {
        case GlobalKind::ordered_dict: {
            Value* d = make(Kind::dict);
            d->boolean = true;
            if (!a.empty()) {  // OrderedDict([(k, v), ...])
                if (a[0]->kind != Kind::list && a[0]->kind != Kind::tuple)
                    error(str("OrderedDict: argument is ", describe(a[0])));
                for (Value* kv : a[0]->items) {
                    if (!kv->is_tuple() || kv->items.size() != 2) error("OrderedDict: an item is not a (key, value) pair");
                    set_item(d, kv->items[0], kv->items[1]);
                }
            }
            return d;
        }
        case GlobalKind::rebuild_tensor_v2: return rebuild_tensor(callable, args, false);
        case GlobalKind::rebuild_tensor_v3: return rebuild_tensor(callable, args, true);
        case GlobalKind::rebuild_parameter:
        case GlobalKind::rebuild_parameter_state: {
            // (data, requires_grad, backward_hooks[, state]) -> the tensor, as a parameter.
            const size_t want = callable->global == GlobalKind::rebuild_parameter ? 3 : 4;
            if (a.size() != want) error(str(callable->text, ": expected ", want, " arguments, got ", a.size()));
            if (a[0]->kind == Kind::unsupported) return a[0];
            if (a[0]->kind != Kind::tensor) error(str(callable->text, ": the data argument is ", describe(a[0])));
            if (a[1]->kind != Kind::boolean) error(str(callable->text, ": requires_grad is ", describe(a[1])));
            Value* t = make(Kind::tensor);
            t->tensor = a[0]->tensor;
            t->tensor.requires_grad = a[1]->boolean;
            t->tensor.is_parameter = true;
            return t;
        }
        case GlobalKind::rebuild_from_type_v2: {
            // (func, new_type, args, state): the tensor is func(*args); the subclass and its state are dropped.
            if (a.size() != 4) error(str(callable->text, ": expected 4 arguments, got ", a.size()));
            if (depth > 4) error(str(callable->text, ": nested too deeply"));
            return call(a[0], a[2], depth + 1);
        }
        case GlobalKind::torch_size: {
            if (a.size() != 1 || (!a[0]->is_tuple() && a[0]->kind != Kind::list))
                error("torch.Size: expected one tuple or list argument");
            Value* t = make(Kind::tuple);
            t->items = a[0]->items;
            return t;
        }
        case GlobalKind::device: {
            if (a.empty() || !a[0]->is_str() || a.size() > 2 || (a.size() == 2 && !a[1]->is_int()))
                error("torch.device: expected (str[, int]) arguments");
            Value* s = make(Kind::string);
            s->text = a[0]->text + (a.size() == 2 ? ":" + std::to_string(a[1]->integer) : "");
            return s;
        }
        case GlobalKind::set: {
            Value* s = make(Kind::set);
            if (!a.empty()) {
                if (a[0]->kind != Kind::list && a[0]->kind != Kind::tuple && a[0]->kind != Kind::set)
                    error(str(callable->text, ": argument is ", describe(a[0])));
                s->items = a[0]->items;
            }
            return s;
        }
        case GlobalKind::complex: {
            Value* c = make(Kind::opaque);
            c->text = "complex";
            return c;
        }
        case GlobalKind::jit_build_list:
            if (a.size() != 1 || a[0]->kind != Kind::list) error(str(callable->text, ": expected one list argument"));
            return a[0];
        case GlobalKind::jit_restore_type_tag:
            if (a.empty()) error(str(callable->text, ": expected (value, type) arguments"));
            return a[0];
        default:
            return unsupported();
    }
}

Value* Machine::new_object(Value* cls, Value* args) {
    if (cls->kind == Kind::unsupported) return cls;
    if (cls->kind != Kind::global) error(str("NEWOBJ: the class is ", describe(cls), ", not a global"));
    if (!args->is_tuple()) error(str("NEWOBJ: the arguments of '", cls->text, "' are ", describe(args)));
    switch (cls->global) {
        case GlobalKind::torchscript_class: {
            Value* o = make(Kind::object);
            o->global = cls->global;
            o->text = cls->text;
            return o;
        }
        case GlobalKind::parameter_class: {
            if (!args->items.empty() && args->items[0]->kind == Kind::tensor) {  // Parameter(data[, requires_grad])
                Value* t = make(Kind::tensor);
                t->tensor = args->items[0]->tensor;
                t->tensor.is_parameter = true;
                return t;
            }
            Value* o = make(Kind::object);  // filled by BUILD
            o->global = cls->global;
            o->text = cls->text;
            return o;
        }
        case GlobalKind::ordered_dict: {
            Value* d = make(Kind::dict);
            d->boolean = true;
            return d;
        }
        case GlobalKind::set: return make(Kind::set);
        default: {
            Value* u = make(Kind::unsupported);
            u->text = cls->text;
            u->global = cls->global;
            return u;
        }
    }
}

void Machine::build(Value* obj, Value* state) {
    switch (obj->kind) {
        case Kind::dict:         // OrderedDict state {'_metadata': ...}: not needed
        case Kind::tensor:       // tensor __dict__ state: not needed
        case Kind::unsupported:  // never instantiated
            return;
        case Kind::object:
            if (obj->global == GlobalKind::parameter_class) {
                // Legacy Parameter: BUILD with (data, ...) — the object becomes that tensor (in place: memo
                // references see the tensor too).
                const Value* data = state->is_tuple() && !state->items.empty() ? state->items[0] : state;
                if (data->kind == Kind::unsupported) {
                    obj->kind = Kind::unsupported;
                    obj->text = data->text;
                    obj->global = data->global;
                    return;
                }
                if (data->kind != Kind::tensor) error(str("BUILD of a Parameter: the state is ", describe(state)));
                obj->kind = Kind::tensor;
                obj->tensor = data->tensor;
                obj->tensor.is_parameter = true;
                return;
            }
            if (obj->has_dict_state || obj->state) error(str("BUILD: object '", obj->text, "' built twice"));
            if (state->is_dict()) {
                obj->entries = state->entries;
                obj->has_dict_state = true;
            } else {
                obj->state = state;  // a custom __setstate__ (its contents are not attributes)
            }
            return;
        default:
            error(str("BUILD on ", describe(obj)));
    }
}

Value* Machine::run(size_t* consumed) {
    while (true) {
        if (pos_ >= n_) fail(str("pickle: ", opt_.label, ": truncated: no STOP opcode in ", n_, " bytes"));
        op_pos_ = pos_;
        const uint8_t op = d_[pos_++];
        switch (op) {
            case 0x80: {  // PROTO
                const uint64_t v = read_le(1, "PROTO");
                if (v > 5) error(str("unsupported pickle protocol ", v));
                break;
            }
            case 0x95: {  // FRAME (a length hint; the data is inline)
                const uint64_t len = read_le(8, "FRAME");
                if (len > n_ - pos_) error(str("FRAME of ", len, " bytes runs past the end (", n_ - pos_, " left)"));
                break;
            }
            case '.': {  // STOP
                Value* v = top("STOP");
                if (consumed) *consumed = pos_;
                return v;
            }
            case '(':  // MARK
                if (stack_.size() + marks_.size() >= opt_.limits.max_stack)
                    error(str("stack deeper than ", opt_.limits.max_stack, " entries (limit)"));
                marks_.push_back(stack_.size());
                break;
            case '0':  // POP (an empty frame pops its mark, as CPython does)
                if (stack_.size() > frame_base()) stack_.pop_back();
                else if (!marks_.empty()) marks_.pop_back();
                else error("POP: stack underflow");
                break;
            case '1': pop_mark("POP_MARK"); break;
            case '2': push(top("DUP")); break;
            case 'J': push(make_int(static_cast<int32_t>(static_cast<uint32_t>(read_le(4, "BININT"))))); break;
            case 'K': push(make_int(static_cast<int64_t>(read_le(1, "BININT1")))); break;
            case 'M': push(make_int(static_cast<int64_t>(read_le(2, "BININT2")))); break;
            case 0x8a: push(make_long(read_le(1, "LONG1"), "LONG1")); break;
            case 0x8b: {
                const uint64_t len = read_le(4, "LONG4");
                if (len > 0x7FFFFFFFull) error("LONG4: negative length");
                push(make_long(len, "LONG4"));
                break;
            }
            case 'G': {  // BINFLOAT: big-endian IEEE double
                need(8, "BINFLOAT");
                uint64_t bits = 0;
                for (int i = 0; i < 8; ++i) bits = (bits << 8) | d_[pos_ + i];
                pos_ += 8;
                Value* v = make(Kind::floating);
                std::memcpy(&v->floating, &bits, 8);
                push(v);
                break;
            }
            case 'N': push(make(Kind::none)); break;
            case 0x88:
            case 0x89: {
                Value* v = make(Kind::boolean);
                v->boolean = op == 0x88;
                push(v);
                break;
            }
            case 'X': push(make_text(Kind::string, read_le(4, "BINUNICODE"), "BINUNICODE")); break;
            case 0x8c: push(make_text(Kind::string, read_le(1, "SHORT_BINUNICODE"), "SHORT_BINUNICODE")); break;
            case 0x8d: push(make_text(Kind::string, read_le(8, "BINUNICODE8"), "BINUNICODE8")); break;
            case 'T': {  // BINSTRING (Python 2 str; signed length) — read as text, as torch.load(encoding='utf-8')
                const uint64_t len = read_le(4, "BINSTRING");
                if (len > 0x7FFFFFFFull) error("BINSTRING: negative length");
                push(make_text(Kind::string, len, "BINSTRING"));
                break;
            }
            case 'U': push(make_text(Kind::string, read_le(1, "SHORT_BINSTRING"), "SHORT_BINSTRING")); break;
            case 'B': push(make_text(Kind::bytes, read_le(4, "BINBYTES"), "BINBYTES")); break;
            case 'C': push(make_text(Kind::bytes, read_le(1, "SHORT_BINBYTES"), "SHORT_BINBYTES")); break;
            case 0x8e: push(make_text(Kind::bytes, read_le(8, "BINBYTES8"), "BINBYTES8")); break;
            case 0x96: push(make_text(Kind::bytes, read_le(8, "BYTEARRAY8"), "BYTEARRAY8")); break;
            case ')': push(make(Kind::tuple)); break;
            case 't': {
                Value* t = make(Kind::tuple);
                t->items = pop_mark("TUPLE");
                push(t);
                break;
            }
            case 0x85:
            case 0x86:
            case 0x87: {  // TUPLE1..3
                const size_t k = op - 0x84;
                Value* t = make(Kind::tuple);
                t->items.resize(k);
                for (size_t i = k; i-- > 0;) t->items[i] = pop("TUPLE1-3");
                push(t);
                break;
            }
            case ']': push(make(Kind::list)); break;
            case 'l': {
                Value* l = make(Kind::list);
                l->items = pop_mark("LIST");
                push(l);
                break;
            }
            case 'a': {
                Value* v = pop("APPEND");
                Value* l = top("APPEND");
                if (l->kind != Kind::list) error(str("APPEND to ", describe(l)));
                l->items.push_back(v);
                break;
            }
            case 'e': {
                std::vector<Value*> items = pop_mark("APPENDS");
                Value* l = top("APPENDS");
                if (l->kind != Kind::list) error(str("APPENDS to ", describe(l)));
                l->items.insert(l->items.end(), items.begin(), items.end());
                break;
            }
            case '}': push(make(Kind::dict)); break;
            case 'd': {
                std::vector<Value*> items = pop_mark("DICT");
                if (items.size() % 2) error("DICT: odd number of items");
                Value* dict = make(Kind::dict);
                for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
                push(dict);
                break;
            }
            case 's': {
                Value* v = pop("SETITEM");
                Value* k = pop("SETITEM");
                Value* dict = top("SETITEM");
                if (!dict->is_dict()) error(str("SETITEM on ", describe(dict)));
                set_item(dict, k, v);
                break;
            }
            case 'u': {
                std::vector<Value*> items = pop_mark("SETITEMS");
                if (items.size() % 2) error("SETITEMS: odd number of items");
                Value* dict = top("SETITEMS");
                if (!dict->is_dict()) error(str("SETITEMS on ", describe(dict)));
                for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
                break;
            }
            case 0x8f: push(make(Kind::set)); break;
            case 0x90: {
                std::vector<Value*> items = pop_mark("ADDITEMS");
                Value* s = top("ADDITEMS");
                if (s->kind != Kind::set) error(str("ADDITEMS on ", describe(s)));
                s->items.insert(s->items.end(), items.begin(), items.end());
                break;
            }
            case 0x91: {
                Value* s = make(Kind::set);
                s->items = pop_mark("FROZENSET");
                push(s);
                break;
            }
            case 'p': memo_put(parse_decimal(read_line("PUT"), "PUT"), top("PUT")); break;
            case 'q': memo_put(read_le(1, "BINPUT"), top("BINPUT")); break;
            case 'r': memo_put(read_le(4, "LONG_BINPUT"), top("LONG_BINPUT")); break;
            case 0x94: memo_put(memo_.size(), top("MEMOIZE")); break;
            case 'g': push(memo_get(parse_decimal(read_line("GET"), "GET"))); break;
            case 'h': push(memo_get(read_le(1, "BINGET"))); break;
            case 'j': push(memo_get(read_le(4, "LONG_BINGET"))); break;
            case 'c': {
                const std::string module = read_line("GLOBAL");
                const std::string name = read_line("GLOBAL");
                push(resolve_global(module, name));
                break;
            }
            case 0x93: {
                Value* name = pop("STACK_GLOBAL");
                Value* module = pop("STACK_GLOBAL");
                if (!name->is_str() || !module->is_str()) error("STACK_GLOBAL: module and name must be strings");
                push(resolve_global(module->text, name->text));
                break;
            }
            case 'R': {
                Value* args = pop("REDUCE");
                Value* callable = pop("REDUCE");
                push(call(callable, args));
                break;
            }
            case 0x81: {
                Value* args = pop("NEWOBJ");
                Value* cls = pop("NEWOBJ");
                push(new_object(cls, args));
                break;
            }
            case 0x92: {
                Value* kwargs = pop("NEWOBJ_EX");
                Value* args = pop("NEWOBJ_EX");
                Value* cls = pop("NEWOBJ_EX");
                if (!kwargs->is_dict()) error("NEWOBJ_EX: keyword arguments are not a dict");
                push(new_object(cls, args));
                break;
            }
            case 'b': {
                Value* state = pop("BUILD");
                build(top("BUILD"), state);
                break;
            }
            case 'Q': push(persistent_load(pop("BINPERSID"))); break;
            case 'P': {
                Value* pid = make(Kind::string);
                pid->text = read_line("PERSID");
                push(persistent_load(pid));
                break;
            }
            default: {
                const char* what = nullptr;
                switch (op) {
                    case 'I': what = "INT (protocol 0 text)"; break;
                    case 'L': what = "LONG (protocol 0 text)"; break;
                    case 'F': what = "FLOAT (protocol 0 text)"; break;
                    case 'S': what = "STRING (protocol 0 text)"; break;
                    case 'V': what = "UNICODE (protocol 0 text)"; break;
                    case 'i': what = "INST"; break;
                    case 'o': what = "OBJ"; break;
                    case 0x82: case 0x83: case 0x84: what = "EXT1/2/4"; break;
                    case 0x97: what = "NEXT_BUFFER"; break;
                    case 0x98: what = "READONLY_BUFFER"; break;
                    default: break;
                }
                if (what) error(str("unsupported opcode ", what));
                char hex[8];
                std::snprintf(hex, sizeof hex, "0x%02x", op);
                error(str("unknown opcode ", hex, " (corrupt, or not a pickle)"));
            }
        }
    }
}

}  // namespace

Value* unpickle(Arena& arena, const uint8_t* data, size_t size, const Options& options, size_t* consumed) {
    Machine m(arena, data, size, options);
    return m.run(consumed);
}

// ---------------------------------------------------------------- helpers

const Value* dict_get(const Value* dict, std::string_view key) {
    if (!dict || !dict->is_dict()) return nullptr;
    const Value* found = nullptr;
    for (const auto& [k, v] : dict->entries)
        if (k->is_str() && k->text == key) found = v;
    return found;
}

std::string describe(const Value* v) {
    if (!v) return "nothing";
    switch (v->kind) {
        case Kind::none: return "None";
        case Kind::boolean: return v->boolean ? "bool True" : "bool False";
        case Kind::integer: return str("int ", v->integer);
        case Kind::big_integer: return str("int (", v->text.size(), "-byte)");
        case Kind::floating: return str("float ", v->floating);
        case Kind::string: {
            std::string s = v->text.size() > 40 ? v->text.substr(0, 40) + "..." : v->text;
            return "str '" + s + "'";
        }
        case Kind::bytes: return str("bytes (", v->text.size(), ")");
        case Kind::tuple: return str("tuple (", v->items.size(), " items)");
        case Kind::list: return str("list (", v->items.size(), " items)");
        case Kind::set: return str("set (", v->items.size(), " items)");
        case Kind::dict: return str(v->boolean ? "OrderedDict (" : "dict (", v->entries.size(), " entries)");
        case Kind::global: return str("global '", v->text, "'");
        case Kind::object: return str("object '", v->text, "'");
        case Kind::storage: return str("storage of ", torch_dtype_name(v->storage.dtype));
        case Kind::tensor: {
            std::string shape = "[";
            for (size_t i = 0; i < v->tensor.size.size(); ++i) shape += (i ? ", " : "") + std::to_string(v->tensor.size[i]);
            return str("tensor ", torch_dtype_name(v->tensor.dtype), " ", shape, "]");
        }
        case Kind::opaque: return v->text;
        case Kind::unsupported: return str(v->text, " (unsupported global, not loaded)");
    }
    return "?";
}

namespace {
bool find_unsupported_in(const Value* v, std::string* name, int depth, std::unordered_set<const Value*>& seen) {
    if (!v || depth > kMaxWalkDepth || !seen.insert(v).second) return false;
    if (v->kind == Kind::unsupported) {
        if (name) *name = v->text;
        return true;
    }
    for (const Value* x : v->items)
        if (find_unsupported_in(x, name, depth + 1, seen)) return true;
    for (const auto& [k, x] : v->entries)
        if (find_unsupported_in(k, name, depth + 1, seen) || find_unsupported_in(x, name, depth + 1, seen)) return true;
    return v->state && find_unsupported_in(v->state, name, depth + 1, seen);
}
}  // namespace

bool find_unsupported(const Value* v, std::string* name, int depth) {
    std::unordered_set<const Value*> seen;
    return find_unsupported_in(v, name, depth, seen);
}

// ---------------------------------------------------------------- writer

Pickler::Pickler() { out_ = "\x80\x02"; }

void Pickler::integer(int64_t v) {
    if (v >= 0 && v < 256) {
        out_ += 'K';
        out_ += static_cast<char>(v);
    } else if (v >= 0 && v < 65536) {
        out_ += 'M';
        out_ += static_cast<char>(v & 0xFF);
        out_ += static_cast<char>(v >> 8);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        out_ += 'J';
        const uint32_t u = static_cast<uint32_t>(static_cast<int32_t>(v));
        for (int i = 0; i < 4; ++i) out_ += static_cast<char>((u >> (8 * i)) & 0xFF);
    } else {
        // LONG1: the shortest little-endian two's complement that keeps the sign bit right.
        const uint64_t u = static_cast<uint64_t>(v);
        int n = 8;
        while (n > 1) {
            const uint8_t top = (u >> (8 * (n - 1))) & 0xFF, next = (u >> (8 * (n - 2))) & 0xFF;
            if ((top == 0x00 && !(next & 0x80)) || (top == 0xFF && (next & 0x80))) --n;
            else break;
        }
        out_ += '\x8a';
        out_ += static_cast<char>(n);
        for (int i = 0; i < n; ++i) out_ += static_cast<char>((u >> (8 * i)) & 0xFF);
    }
}

void Pickler::string(std::string_view s) {
    out_ += 'X';
    const uint32_t n = static_cast<uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out_ += static_cast<char>((n >> (8 * i)) & 0xFF);
    out_.append(s);
}

void Pickler::put() {
    const uint32_t i = next_memo_++;
    if (i < 256) {
        out_ += 'q';
        out_ += static_cast<char>(i);
    } else {
        out_ += 'r';
        for (int k = 0; k < 4; ++k) out_ += static_cast<char>((i >> (8 * k)) & 0xFF);
    }
}

void Pickler::global(std::string_view module, std::string_view name) {
    const std::string key = std::string(module) + "\n" + std::string(name);
    for (const auto& [k, slot] : globals_) {
        if (k == key) {
            if (slot < 256) {
                out_ += 'h';
                out_ += static_cast<char>(slot);
            } else {
                out_ += 'j';
                for (int i = 0; i < 4; ++i) out_ += static_cast<char>((slot >> (8 * i)) & 0xFF);
            }
            return;
        }
    }
    out_ += 'c';
    out_ += key;
    out_ += '\n';
    globals_.emplace_back(key, next_memo_);
    put();
}

void Pickler::int_tuple(const std::vector<int64_t>& values) {
    if (values.empty()) {
        out_ += ')';
        return;
    }
    if (values.size() > 3) out_ += '(';
    for (int64_t v : values) integer(v);
    if (values.size() > 3) out_ += 't';
    else out_ += static_cast<char>(0x84 + values.size());
}

}  // namespace wsdol::weights::pickle
