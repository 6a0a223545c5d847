// weights_file.cpp — format detection and the readers of every supported weights format, and the PyTorch zip
// writer (see weights_file.h; formats: ../shared/docs/formats.md §2).
#include "weights/weights_file.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "engine/io/atomic_file.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "weights/pickle.h"
#include "weights/torch_state_dict.h"
#include "weights/torch_tensors.h"
#include "weights/zip_archive.h"

namespace wsdol::weights {

const char* format_name(Format format) {
    switch (format) {
        case Format::safetensors: return "safetensors";
        case Format::torch_zip: return "PyTorch zip (torch.save)";
        case Format::torchscript: return "TorchScript archive";
        case Format::torch_legacy_pickle: return "PyTorch legacy pickle stream";
        case Format::torch_legacy_tar: return "PyTorch legacy tar";
    }
    return "?";
}

namespace {

// torch.save's legacy magic number 0x1950a86a20f9469cfc6c as its pickle: PROTO 2, LONG1 of 10 bytes (the value,
// little-endian), STOP. The first 8 bytes identify the format (formats.md §2.3 A).
constexpr uint8_t kLegacyMagicPickle[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                          0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
constexpr uint64_t kMaxSmallRecord = 1 << 20;  // byteorder, version, code files are tiny
constexpr uint64_t kMaxCodeRecord = 64 << 20;

enum class Detected { safetensors, zip, legacy_pickle, legacy_tar };

std::string hex_prefix(const uint8_t* d, uint64_t n) {
    std::string out;
    char buf[4];
    for (uint64_t i = 0; i < n && i < 8; ++i) {
        std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", d[i]);
        out += buf;
    }
    return out;
}

// From the bytes, in PyTorch's order (zip, tar, magic-number pickle), then safetensors.
Detected detect(const ByteSource& s) {
    const uint8_t* d = s.data;
    const uint64_t n = s.size;
    if (n == 0) fail(str("weights: ", s.label, ": empty file (0 bytes): unrecognised format"));
    if (n >= 4 && d[0] == 'P' && d[1] == 'K' && ((d[2] == 3 && d[3] == 4) || (d[2] == 5 && d[3] == 6)))
        return Detected::zip;
    if (n >= 262 && std::memcmp(d + 257, "ustar", 5) == 0) return Detected::legacy_tar;
    if (n >= 8 && std::memcmp(d, kLegacyMagicPickle, 8) == 0) return Detected::legacy_pickle;
    // safetensors: a little-endian u64 header length (any real one is far below 2^32), then '{'.
    if (n >= 9 && d[8] == '{' && d[4] == 0 && d[5] == 0 && d[6] == 0 && d[7] == 0) return Detected::safetensors;
    std::string hint;
    if (d[0] == 0x80) hint = " (a pickle stream without torch.save's magic number: not a PyTorch checkpoint)";
    else if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) hint = " (a JPEG image)";
    else if (n >= 4 && std::memcmp(d, "\x89PNG", 4) == 0) hint = " (a PNG image)";
    else if (n >= 2 && d[0] == 0x1f && d[1] == 0x8b) hint = " (gzip-compressed: decompress it first)";
    fail(str("weights: ", s.label, ": unrecognised format", hint,
             ": not safetensors, a PyTorch zip / TorchScript archive or a legacy PyTorch file (first bytes: ",
             hex_prefix(d, n), ")"));
}

[[noreturn]] void refuse_tar(const std::string& label) {
    fail(str("weights: ", label, ": a legacy tar-format PyTorch checkpoint (PyTorch <= 0.3), which wsdol does not "
             "read. Convert it with a PyTorch version that still loads it, e.g. python -c \"import torch; "
             "torch.save(torch.load('IN.pth', weights_only=False), 'OUT.pt')\" (only for files you trust), then read "
             "OUT.pt"));
}

// "module." on every name (nn.DataParallel / DistributedDataParallel) is removed.
void strip_module_prefix(WeightsFile& w) {
    if (w.tensors.empty()) return;
    for (const auto& [name, t] : w.tensors)
        if (name.rfind("module.", 0) != 0) return;
    for (auto& [name, t] : w.tensors) name.erase(0, 7);
    w.stripped_module_prefix = true;
}

void materialize_all(WeightsFile& w, const SelectedTensors& selected,
                     const std::function<StorageBytes&(const std::string& key, const std::string& tensor)>& storage) {
    w.state_dict_key = selected.key;
    w.skipped = selected.skipped;
    w.tensors.reserve(selected.tensors.size());
    for (const auto& [name, v] : selected.tensors) {
        const pickle::TensorRef& ref = v->tensor;
        StorageBytes& bytes = storage(ref.storage->storage.key, name);
        w.tensors.emplace_back(name, materialize_tensor(ref, bytes, w.path, name));
    }
    strip_module_prefix(w);
}

// ---------------------------------------------------------------- zip / TorchScript

WeightsFile read_zip(ByteSource source) {
    const std::string label = source.label;
    ZipArchive zip(std::move(source));
    WeightsFile w;
    w.path = label;
    if (zip.entries().empty()) fail(str("weights: ", label, ": an empty zip archive, not a PyTorch checkpoint"));
    // The top folder: the first record's name up to its first '/', as PyTorch's reader takes it.
    const std::string& first = zip.entries().front().name;
    const size_t slash = first.find('/');
    if (slash == std::string::npos || slash == 0)
        fail(str("weights: ", label, ": a zip archive whose first record '", first,
                 "' is not inside a top folder: not a PyTorch checkpoint"));
    const std::string prefix = first.substr(0, slash + 1);
    const ZipEntry* pkl = zip.find(prefix + "data.pkl");
    if (!pkl)
        fail(str("weights: ", label, ": a zip archive without '", prefix,
                 "data.pkl': not a PyTorch checkpoint (nor a TorchScript archive)"));
    const bool torchscript = zip.find(prefix + "constants.pkl") != nullptr;
    w.format = torchscript ? Format::torchscript : Format::torch_zip;

    bool big_endian = false;
    if (const ZipEntry* bo = zip.find(prefix + "byteorder")) {
        const std::string order = zip.read_string(*bo, kMaxSmallRecord);
        if (order == "big") big_endian = true;
        else if (order != "little")
            fail(str("weights: ", label, ": record 'byteorder' says '", order.substr(0, 32), "' (expected little or big)"));
    }  // absent: little-endian, as torch.load assumes

    const RecordBytes pkl_bytes = zip.record(*pkl);
    pickle::Arena arena;
    pickle::Options options;
    options.label = label + " (data.pkl)";
    options.mode = torchscript ? pickle::Mode::torchscript : pickle::Mode::state_dict;
    const pickle::Value* root = pickle::unpickle(arena, pkl_bytes.data, pkl_bytes.size, options);

    SelectedTensors selected;
    if (torchscript) {
        CodeReader read_code = [&](const std::string& module) -> std::optional<std::string> {
            std::string path = prefix + "code/" + module + ".py";
            for (size_t i = prefix.size() + 5; i + 3 < path.size(); ++i)
                if (path[i] == '.') path[i] = '/';
            const ZipEntry* e = zip.find(path);
            if (!e) return std::nullopt;
            return zip.read_string(*e, kMaxCodeRecord);
        };
        selected = collect_torchscript(root, read_code, label);
    } else {
        selected = select_state_dict(root, label);
    }

    std::map<std::string, StorageBytes> storages;
    materialize_all(w, selected, [&](const std::string& key, const std::string& tensor) -> StorageBytes& {
        auto it = storages.find(key);
        if (it != storages.end()) return it->second;
        const ZipEntry* e = zip.find(prefix + "data/" + key);
        if (!e)
            fail(str("weights: ", label, ": tensor '", tensor, "': its storage record '", prefix, "data/", key,
                     "' is missing (truncated or corrupt)"));
        const RecordBytes r = zip.record(*e);
        StorageBytes b;
        b.data = r.data;
        b.nbytes = r.size;
        b.owner = r.owner;
        b.writable = r.writable;
        b.big_endian = big_endian;
        b.record = prefix + "data/" + key;
        return storages.emplace(key, std::move(b)).first->second;
    });
    return w;
}

// ---------------------------------------------------------------- legacy pickle stream

WeightsFile read_legacy_pickle(const ByteSource& source) {
    const std::string& label = source.label;
    const uint8_t* d = source.data;
    const uint64_t n = source.size;
    WeightsFile w;
    w.path = label;
    w.format = Format::torch_legacy_pickle;
    pickle::Arena arena;
    uint64_t pos = 0;
    auto next = [&](const char* what) -> const pickle::Value* {
        pickle::Options options;
        options.label = str(label, " (", what, " pickle at byte ", pos, ")");
        size_t used = 0;
        const pickle::Value* v = pickle::unpickle(arena, d + pos, n - pos, options, &used);
        pos += used;
        return v;
    };
    // 1. magic number, 2. protocol version, 3. sys_info, 4. the object, 5. the storage keys (formats.md §2.3 A).
    const pickle::Value* magic = next("magic number");
    if (magic->kind != pickle::Kind::big_integer || magic->text.size() != 10 ||
        std::memcmp(magic->text.data(), kLegacyMagicPickle + 4, 10) != 0)
        fail(str("weights: ", label, ": legacy PyTorch file with a wrong magic number (corrupt)"));
    const pickle::Value* protocol = next("protocol version");
    if (!protocol->is_int() || protocol->integer != 1001)
        fail(str("weights: ", label, ": legacy PyTorch file with protocol version ", pickle::describe(protocol),
                 " (only 1001 exists)"));
    const pickle::Value* sys_info = next("sys_info");
    if (!sys_info->is_dict()) fail(str("weights: ", label, ": legacy sys_info is ", pickle::describe(sys_info)));
    const pickle::Value* little = pickle::dict_get(sys_info, "little_endian");
    if (little && little->kind == pickle::Kind::boolean && !little->boolean)
        fail(str("weights: ", label, ": a big-endian legacy PyTorch file, which wsdol does not read; re-save it with "
                 "a current PyTorch (torch.save writes the zip format, which records its byte order)"));
    const size_t values_before_object = arena.size();
    const pickle::Value* root = next("object");
    const size_t values_after_object = arena.size();
    const pickle::Value* keys = next("storage keys");
    if (keys->kind != pickle::Kind::list)
        fail(str("weights: ", label, ": legacy storage key list is ", pickle::describe(keys)));
    SelectedTensors selected = select_state_dict(root, label);

    // The storages the object refers to (every persistent id, selected or not: the data section holds them all).
    struct Info {
        int64_t numel;
        int elem;
    };
    std::map<std::string, Info> info;
    for (size_t i = values_before_object; i < values_after_object; ++i) {
        const pickle::Value& v = arena.values()[i];
        if (v.kind != pickle::Kind::storage) continue;
        const Info now{v.storage.numel, pickle::torch_dtype_size(v.storage.dtype)};
        auto [it, inserted] = info.emplace(v.storage.key, now);
        if (!inserted && (it->second.numel != now.numel || it->second.elem != now.elem))
            fail(str("weights: ", label, ": storage '", v.storage.key, "' is described twice differently (corrupt)"));
    }
    // 6. per key, in list order: an int64 element count, then count x item size bytes.
    std::map<std::string, StorageBytes> storages;
    for (const pickle::Value* k : keys->items) {
        if (!k->is_str()) fail(str("weights: ", label, ": legacy storage key list holds ", pickle::describe(k)));
        auto it = info.find(k->text);
        if (it == info.end())
            fail(str("weights: ", label, ": storage '", k->text, "' is listed but no tensor refers to it (corrupt)"));
        if (n - pos < 8)
            fail(str("weights: ", label, ": truncated: storage '", k->text, "' at byte ", pos, " is missing"));
        int64_t count;
        std::memcpy(&count, d + pos, 8);
        uint64_t nbytes = 0;
        if (count != it->second.numel ||
            __builtin_mul_overflow(static_cast<uint64_t>(count), static_cast<uint64_t>(it->second.elem), &nbytes))
            fail(str("weights: ", label, ": storage '", k->text, "' at byte ", pos, " holds ", count,
                     " elements but the pickle says ", it->second.numel, " (corrupt)"));
        if (nbytes > n - pos - 8)
            fail(str("weights: ", label, ": truncated: storage '", k->text, "' needs ", nbytes, " bytes at byte ",
                     pos + 8, ", the file has ", n - pos - 8, " left"));
        StorageBytes b;
        b.data = d + pos + 8;
        b.nbytes = nbytes;
        b.owner = source.owner;
        b.writable = source.writable;
        b.record = "storage " + k->text;
        if (!storages.emplace(k->text, std::move(b)).second)
            fail(str("weights: ", label, ": storage '", k->text, "' is listed twice (corrupt)"));
        pos += 8 + nbytes;
    }
    materialize_all(w, selected, [&](const std::string& key, const std::string& tensor) -> StorageBytes& {
        auto it = storages.find(key);
        if (it == storages.end())
            fail(str("weights: ", label, ": tensor '", tensor, "': its storage '", key,
                     "' is not in the file's storage list (corrupt)"));
        return it->second;
    });
    return w;
}

WeightsFile read_safetensors(const io::SafetensorsFile& f) {
    WeightsFile w;
    w.path = f.path();
    w.format = Format::safetensors;
    w.tensors = f.load_all();
    // A wsdol training checkpoint (engine/io/checkpoint.h): its network is the "model." tensors (the optimizer's
    // "optim." state is left out), so `--backbone runs/x/checkpoint.safetensors` reads like the network's own file.
    if (f.metadata().count(io::kCheckpointMetadataKey)) {
        NamedTensors model;
        for (auto& [name, t] : w.tensors) {
            if (name.rfind("model.", 0) == 0) model.emplace_back(name.substr(6), t);
            else w.skipped.push_back(name + ": training state of a wsdol checkpoint");
        }
        w.tensors = std::move(model);
        w.state_dict_key = "model";
    }
    strip_module_prefix(w);
    return w;
}

}  // namespace

WeightsFile read_weights(const std::string& path) {
    ByteSource source = map_file(path);
    switch (detect(source)) {
        case Detected::zip: return read_zip(std::move(source));
        case Detected::legacy_pickle: return read_legacy_pickle(source);
        case Detected::legacy_tar: refuse_tar(path);
        case Detected::safetensors: break;
    }
    source = ByteSource();  // the safetensors reader maps the file itself
    return read_safetensors(io::SafetensorsFile(path));
}

WeightsFile read_weights_from_bytes(std::string bytes, const std::string& label) {
    ByteSource probe;
    probe.label = label;
    probe.data = reinterpret_cast<const uint8_t*>(bytes.data());
    probe.size = bytes.size();
    switch (detect(probe)) {
        case Detected::zip: return read_zip(bytes_source(std::move(bytes), label));
        case Detected::legacy_pickle: return read_legacy_pickle(bytes_source(std::move(bytes), label));
        case Detected::legacy_tar: refuse_tar(label);
        case Detected::safetensors: break;
    }
    return read_safetensors(io::SafetensorsFile::from_bytes(std::move(bytes), label));
}

// ---------------------------------------------------------------- writer

namespace {

const char* storage_type_name(DType t) {
    switch (t) {
        case DType::f32: return "FloatStorage";
        case DType::f64: return "DoubleStorage";
        case DType::f16: return "HalfStorage";
        case DType::bf16: return "BFloat16Storage";
        case DType::i32: return "IntStorage";
        case DType::i64: return "LongStorage";
        case DType::u8: return "ByteStorage";
        case DType::boolean: return "BoolStorage";
    }
    fail("write_torch_zip: invalid dtype");
}

// data.pkl: an OrderedDict of _rebuild_tensor_v2(persistent storage, 0, size, stride, False, OrderedDict()) in
// protocol 2, item batches of 1000 (torch.save's exact opcode pattern, formats.md §2.2); records: data.pkl,
// byteorder, data/<i> (64-byte aligned), version.
void write_zip(const ZipWriter::Sink& sink, const std::string& label, const NamedTensors& tensors,
               const std::string& archive, bool force_zip64) {
    WSDOL_CHECK(!archive.empty() && archive.find('/') == std::string::npos, "write_torch_zip: ", label,
                ": bad archive name '", archive, "'");
    std::set<std::string> seen;
    std::vector<Tensor> data;
    data.reserve(tensors.size());
    for (const auto& [name, t] : tensors) {
        WSDOL_CHECK(t.defined(), "write_torch_zip: ", label, ": tensor '", name, "' is undefined");
        WSDOL_CHECK(seen.insert(name).second, "write_torch_zip: ", label, ": duplicate tensor name '", name, "'");
        data.push_back(t.detach().cpu().contiguous());
    }
    pickle::Pickler p;
    p.global("collections", "OrderedDict");
    p.empty_tuple();
    p.reduce();
    p.put();
    for (size_t begin = 0; begin < tensors.size(); begin += 1000) {
        p.mark();
        for (size_t i = begin; i < std::min(tensors.size(), begin + 1000); ++i) {
            const Tensor& t = data[i];
            p.string(tensors[i].first);
            p.global("torch._utils", "_rebuild_tensor_v2");
            p.mark();
            p.mark();  // persistent id ('storage', torch.XStorage, key, 'cpu', numel)
            p.string("storage");
            p.global("torch", storage_type_name(t.dtype()));
            p.string(std::to_string(i));
            p.string("cpu");
            p.integer(t.numel());
            p.tuple_from_mark();
            p.binpersid();
            p.integer(0);
            p.int_tuple(t.shape());
            p.int_tuple(contiguous_strides(t.shape()));
            p.boolean(false);
            p.global("collections", "OrderedDict");  // backward_hooks
            p.empty_tuple();
            p.reduce();
            p.tuple_from_mark();
            p.reduce();
        }
        p.setitems();
    }
    p.stop();

    ZipWriter zip(sink, force_zip64);
    const std::string prefix = archive + "/";
    zip.add(prefix + "data.pkl", p.bytes());
    zip.add(prefix + "byteorder", "little");
    for (size_t i = 0; i < data.size(); ++i)
        zip.add(prefix + "data/" + std::to_string(i), data[i].numel() ? data[i].data_ptr() : "",
                static_cast<uint64_t>(data[i].numel()) * dtype_size(data[i].dtype()));
    zip.add(prefix + "version", "3\n");
    zip.finish();
}

}  // namespace

void write_torch_zip(const std::string& path, const NamedTensors& tensors, const TorchZipOptions& options) {
    std::string archive = options.archive_name;
    if (archive.empty()) archive = std::filesystem::path(path).stem().string();  // torch.save: basename minus ext
    if (archive.empty() || archive == "." || archive == "..") archive = "archive";
    io::AtomicFileWriter out(path);
    write_zip([&](const void* p, size_t n) { out.write(p, n); }, path, tensors, archive, options.force_zip64);
    out.commit();
}

void write_torch_zip(const std::string& path, const NamedTensors& tensors) { write_torch_zip(path, tensors, {}); }

std::string torch_zip_bytes(const NamedTensors& tensors, const TorchZipOptions& options) {
    std::string out;
    write_zip([&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }, "<memory>", tensors,
              options.archive_name.empty() ? "archive" : options.archive_name, options.force_zip64);
    return out;
}

}  // namespace wsdol::weights
