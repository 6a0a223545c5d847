// pickle.h — a restricted unpickler for PyTorch checkpoints: a stack machine over the pickle opcodes that
// torch.save and TorchScript emit (../shared/docs/formats.md §2.2), producing a tree of inert values. It never
// executes, imports or looks anything up by name: every GLOBAL is resolved through a fixed allow-list to an
// internal handler (OrderedDict, _rebuild_tensor_v2/v3, _rebuild_parameter, storage-type and dtype markers,
// legacy Parameter, TorchScript objects, torch.jit._pickle list builders, torch.device, set/frozenset/complex).
//
// Globals outside the allow-list:
//   * known-dangerous ones (os.*, posix.*, nt.*, subprocess.*, sys.*, builtins.eval/exec/getattr/__import__/open
//     /compile..., pickle, marshal, importlib, ctypes, socket, operator, functools, ...): the whole file is
//     refused at the GLOBAL opcode, with an error naming the global (nothing was executed);
//   * any other (argparse.Namespace, numpy scalars, a pickled nn.Module class...): REDUCE / NEWOBJ / BUILD on it
//     give an opaque `unsupported` value carrying the global's name. It is never called. Whether such a value is
//     acceptable is decided by the caller: weights/torch_state_dict.h tolerates it only as a non-tensor sibling
//     of the state_dict (recorded in WeightsFile::skipped) and refuses it anywhere a tensor is needed or as the
//     top-level object.
//
// Supported opcodes: PROTO FRAME STOP MARK POP POP_MARK DUP, BININT BININT1 BININT2 LONG1 LONG4 BINFLOAT, NONE
// NEWTRUE NEWFALSE, BINUNICODE SHORT_BINUNICODE BINUNICODE8 BINSTRING SHORT_BINSTRING BINBYTES SHORT_BINBYTES
// BINBYTES8 BYTEARRAY8, EMPTY_TUPLE TUPLE TUPLE1-3, EMPTY_LIST LIST APPEND APPENDS, EMPTY_DICT DICT SETITEM
// SETITEMS, EMPTY_SET ADDITEMS FROZENSET, PUT BINPUT LONG_BINPUT MEMOIZE GET BINGET LONG_BINGET, GLOBAL
// STACK_GLOBAL, REDUCE BUILD NEWOBJ NEWOBJ_EX, PERSID BINPERSID. Anything else (protocol-0 text values INT/LONG/
// FLOAT/STRING/UNICODE, INST/OBJ, EXT*, out-of-band buffers) is an error naming the opcode and its offset.
//
// Bounds: stack depth, memo entries and the number of values are limited (Limits); every length is checked
// against the bytes left; the machine is iterative (no recursion), and values live in an Arena (raw pointers,
// so memo cycles such as a list appended to itself cannot leak). Code that walks a value tree must bound its
// depth (kMaxWalkDepth). Malformed input gives wsdol::Error("pickle: <label>: ... at byte N"), never a crash.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsdol::weights::pickle {

// Element types of PyTorch storages and dtypes (the storage-type globals and torch.<dtype> globals).
enum class TorchDType : uint8_t {
    f32, f64, f16, bf16, i64, i32, i16, i8, u8, boolean, u16, u32, u64,
    c32, c64, c128, qint8, quint8, qint32, quint4x2, quint2x4,
    f8_e4m3fn, f8_e5m2, f8_e4m3fnuz, f8_e5m2fnuz, f8_e8m0fnu,
    untyped,  // torch.UntypedStorage: bytes (the dtype comes from _rebuild_tensor_v3)
};
const char* torch_dtype_name(TorchDType t);  // PyTorch's name: "float32", "int16", "uint8 (untyped storage)" ...
int torch_dtype_size(TorchDType t);          // bytes per element (untyped: 1; quint4x2/2x4: 1, packed)

enum class Kind : uint8_t {
    none, boolean, integer, big_integer, floating, string, bytes,
    tuple, list, dict, set,
    global,       // a resolved GLOBAL (callable or marker); `global` says which handler
    object,       // a TorchScript object (__torch__.*) or a legacy Parameter waiting for its BUILD
    storage,      // a persistent-id storage reference
    tensor,       // a _rebuild_tensor_v2/v3 result (a view of a storage)
    opaque,       // an allowed value we do not model (complex, ...): harmless, `text` describes it
    unsupported,  // the result of calling / instantiating a global outside the allow-list: `text` names it
};
const char* kind_name(Kind k);

enum class GlobalKind : uint8_t {
    unknown,                  // outside the allow-list (inert; calling it gives `unsupported`)
    ordered_dict,             // collections.OrderedDict
    rebuild_tensor_v2,        // torch._utils._rebuild_tensor_v2
    rebuild_tensor_v3,        // torch._utils._rebuild_tensor_v3 (untyped storage + dtype)
    rebuild_parameter,        // torch._utils._rebuild_parameter
    rebuild_parameter_state,  // torch._utils._rebuild_parameter_with_state
    rebuild_from_type_v2,     // torch._tensor._rebuild_from_type_v2(func, type, args, state): func(*args)
    unsupported_tensor,       // torch rebuilders of tensor kinds we cannot load (quantized, sparse, ...)
    storage_type,             // torch.<X>Storage, torch.storage.UntypedStorage (dtype marker)
    dtype,                    // torch.float32, torch.uint16, ... (dtype marker)
    parameter_class,          // torch.nn.parameter.Parameter (legacy NEWOBJ + BUILD)
    legacy_tensor_type,       // torch.FloatTensor ... (marker)
    torch_size,               // torch.Size(tuple)
    device,                   // torch.device(str[, index])
    set,                      // builtins.set / frozenset
    complex,                  // builtins.complex
    jit_build_list,           // torch.jit._pickle.build_{int,tensor,double,bool,generic}list: identity
    jit_restore_type_tag,     // torch.jit._pickle.restore_type_tag(obj, type): obj
    torchscript_class,        // __torch__.* (TorchScript mode only)
};

struct Value;

struct StorageRef {
    TorchDType dtype = TorchDType::f32;
    std::string key;          // the record key ("0", "1", ... or a legacy pointer string)
    std::string location;     // "cpu", "cuda:0" (ignored)
    int64_t numel = 0;        // elements of the whole (root) storage (bytes for untyped)
    // Legacy view_metadata (view_key, offset, size): the tensor's storage is elements
    // [view_offset, view_offset + view_numel) of the root storage `key`.
    bool is_view = false;
    std::string view_key;
    int64_t view_offset = 0, view_numel = 0;
};

struct TensorRef {
    const Value* storage = nullptr;   // Kind::storage
    TorchDType dtype = TorchDType::f32;  // the element type (the storage's, or v3's dtype argument)
    int64_t storage_offset = 0;       // elements
    std::vector<int64_t> size, stride;
    bool requires_grad = false;
    bool is_parameter = false;
};

struct Value {
    Kind kind = Kind::none;
    bool boolean = false;             // Kind::boolean; for dicts: an OrderedDict
    int64_t integer = 0;
    double floating = 0;
    std::string text;                 // string/bytes; big_integer (little-endian two's complement bytes); global,
                                      // object and unsupported: the qualified name "module.name"; opaque: description
    std::vector<Value*> items;        // tuple, list, set
    std::vector<std::pair<Value*, Value*>> entries;  // dict (insertion order); object attributes (BUILD dict)
    GlobalKind global = GlobalKind::unknown;          // global, object
    TorchDType dtype = TorchDType::f32;              // storage_type / dtype markers
    Value* state = nullptr;           // object: a non-dict BUILD state (custom __setstate__)
    bool has_dict_state = false;      // object: BUILD gave a dict
    StorageRef storage;               // Kind::storage
    TensorRef tensor;                 // Kind::tensor

    bool is_str() const { return kind == Kind::string; }
    bool is_int() const { return kind == Kind::integer; }
    bool is_tuple() const { return kind == Kind::tuple; }
    bool is_dict() const { return kind == Kind::dict; }
    bool is_tensor() const { return kind == Kind::tensor; }
};

// Owns every Value of one or more pickles (a legacy file holds several). Values are never freed individually.
class Arena {
public:
    Value* make(Kind kind);
    size_t size() const { return values_.size(); }
    const std::deque<Value>& values() const { return values_; }

private:
    std::deque<Value> values_;
};

struct Limits {
    size_t max_stack = size_t(1) << 20;    // stack entries (including marks)
    size_t max_memo = size_t(1) << 22;     // distinct memo slots
    size_t max_values = size_t(1) << 22;   // values in the arena (a big TorchScript data.pkl has ~10^5)
    size_t max_line = 4096;                // GLOBAL / PUT / GET / PERSID text lines
};

enum class Mode { state_dict, torchscript };  // torchscript: __torch__.* classes become objects

struct Options {
    std::string label;   // "<file>:data.pkl", named in every error
    Mode mode = Mode::state_dict;
    Limits limits;
};

// Unpickles one pickle starting at data[0]; returns the object left by STOP. *consumed (when given) receives
// the number of bytes up to and including STOP. Throws wsdol::Error on anything malformed or refused.
Value* unpickle(Arena& arena, const uint8_t* data, size_t size, const Options& options, size_t* consumed = nullptr);

// ---- helpers over value trees ----

constexpr int kMaxWalkDepth = 100;

// dict[key] for a string key; null when absent or when `dict` is not a dict.
const Value* dict_get(const Value* dict, std::string_view key);
// A short description for messages and WeightsFile::skipped: "int 5", "str 'abc'", "dict (3 entries)",
// "argparse.Namespace (unsupported global)", "tensor float32 [2, 3]".
std::string describe(const Value* v);
// True when the value is, or holds within depth limits, an `unsupported` value; `name` receives its global.
bool find_unsupported(const Value* v, std::string* name, int depth = 0);

// ---- writer: the opcodes write_torch_zip needs (protocol 2) ----

class Pickler {
public:
    Pickler();  // emits PROTO 2
    std::string& bytes() { return out_; }
    void mark() { out_ += '('; }
    void stop() { out_ += '.'; }
    void none() { out_ += 'N'; }
    void boolean(bool b) { out_ += b ? '\x88' : '\x89'; }
    void integer(int64_t v);               // BININT1 / BININT2 / BININT / LONG1 as the value needs
    void string(std::string_view s);       // BINUNICODE (s must be UTF-8)
    void global(std::string_view module, std::string_view name);  // GLOBAL, memoized: later uses are BINGET
    void empty_tuple() { out_ += ')'; }
    void tuple_from_mark() { out_ += 't'; }
    void int_tuple(const std::vector<int64_t>& values);  // EMPTY_TUPLE, TUPLE1-3, or MARK ... TUPLE
    void reduce() { out_ += 'R'; }
    void binpersid() { out_ += 'Q'; }
    void setitems() { out_ += 'u'; }
    void put();                            // BINPUT / LONG_BINPUT of the top of the stack into the next slot

private:
    std::string out_;
    uint32_t next_memo_ = 0;
    std::vector<std::pair<std::string, uint32_t>> globals_;
};

}  // namespace wsdol::weights::pickle
