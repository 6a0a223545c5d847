// cmd_inspect.cpp — `wsdol inspect FILE [--json] [--all]`: what a weights file holds (format, tensors with dtype and
// shape, element and byte totals, which state_dict was taken and what was skipped, the architecture it matches
// according to weights::detect_architecture and that architecture's parameter count).
#include <algorithm>
#include <cstdio>
#include <map>

#include "apps/cli.h"
#include "engine/io/checkpoint.h"
#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "weights/architecture.h"
#include "weights/weights_file.h"

namespace {

constexpr size_t kShownByDefault = 40;  // tensors listed without --all (first 30, last 10)

std::string thousands(uint64_t v) {
    std::string s = std::to_string(v), out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (i && (s.size() - i) % 3 == 0) out += ',';
        out += s[i];
    }
    return out;
}

// What a wsdol training checkpoint (engine/io/checkpoint.h) records about its run: the method, step, epoch and
// optimizer from the "wsdol.checkpoint" metadata. Not a checkpoint: found = false. Metadata that does not parse
// is reported as such (inspect describes files; it does not refuse them).
struct CheckpointInfo {
    bool found = false;
    std::string method, optimizer, problem;
    int64_t step = 0, epoch = 0;
};

CheckpointInfo checkpoint_info(const std::string& path, const wsdol::weights::WeightsFile& w) {
    CheckpointInfo info;
    if (w.format != wsdol::weights::Format::safetensors) return info;
    const wsdol::io::SafetensorsFile f(path);
    const auto it = f.metadata().find(wsdol::io::kCheckpointMetadataKey);
    if (it == f.metadata().end()) return info;
    info.found = true;
    try {
        const wsdol::json::Value v = wsdol::json::parse(it->second);
        info.step = v.at("step").as_int64();
        info.epoch = v.at("epoch").as_int64();
        if (const auto* o = v.find("optimizer"); o && o->is_object()) info.optimizer = o->at("type").as_string();
        if (const auto* u = v.find("user"); u && u->is_object())
            if (const auto* m = u->find("wsdol.method"); m && m->is_string()) info.method = m->as_string();
    } catch (const wsdol::Error& e) {
        info.problem = e.what();
    }
    return info;
}

int run_inspect(const std::vector<std::string>& args) {
    wsdol::cli::Args a("inspect", args, {}, {"json", "all"});
    WSDOL_CHECK(a.positional().size() == 1, "inspect: expected one FILE (see wsdol inspect --help)");
    const std::string& path = a.positional()[0];
    const wsdol::weights::WeightsFile w = wsdol::weights::read_weights(path);

    uint64_t elements = 0, bytes = 0;
    std::map<std::string, size_t> per_dtype;
    for (const auto& [name, t] : w.tensors) {
        elements += static_cast<uint64_t>(t.numel());
        bytes += static_cast<uint64_t>(t.numel()) * wsdol::dtype_size(t.dtype());
        ++per_dtype[wsdol::dtype_name(t.dtype())];
    }
    const wsdol::weights::DetectedArchitecture arch = wsdol::weights::detect_architecture(w.tensors);
    const CheckpointInfo ckpt = checkpoint_info(path, w);

    if (a.flag("json")) {
        using wsdol::json::Value;
        Value root = Value::object();
        root.add_member("file", Value(path));
        root.add_member("format", Value(wsdol::weights::format_name(w.format)));
        root.add_member("state_dict_key", Value(w.state_dict_key));
        root.add_member("stripped_module_prefix", Value(w.stripped_module_prefix));
        root.add_member("num_tensors", Value(static_cast<uint64_t>(w.tensors.size())));
        root.add_member("num_elements", Value(elements));
        root.add_member("num_bytes", Value(bytes));
        Value a_json = Value::object();
        a_json.add_member("name", Value(wsdol::weights::architecture_name(arch.arch)));
        a_json.add_member("description", Value(arch.description));
        a_json.add_member("parameter_count", Value(arch.parameter_count));
        root.add_member("architecture", std::move(a_json));
        if (ckpt.found) {
            Value c = Value::object();
            c.add_member("method", ckpt.method.empty() ? Value() : Value(ckpt.method));
            c.add_member("step", Value(ckpt.step));
            c.add_member("epoch", Value(ckpt.epoch));
            c.add_member("optimizer", ckpt.optimizer.empty() ? Value() : Value(ckpt.optimizer));
            if (!ckpt.problem.empty()) c.add_member("problem", Value(ckpt.problem));
            root.add_member("checkpoint", std::move(c));
        }
        Value list = Value::array();
        for (const auto& [name, t] : w.tensors) {
            Value e = Value::object();
            e.add_member("name", Value(name));
            e.add_member("dtype", Value(wsdol::dtype_name(t.dtype())));
            Value shape = Value::array();
            for (int64_t d : t.shape()) shape.push_back(Value(d));
            e.add_member("shape", std::move(shape));
            list.push_back(std::move(e));
        }
        root.add_member("tensors", std::move(list));
        Value skipped = Value::array();
        for (const std::string& s : w.skipped) skipped.push_back(Value(s));
        root.add_member("skipped", std::move(skipped));
        std::printf("%s\n", wsdol::json::dump(root).c_str());
        return 0;
    }

    std::printf("file:          %s\n", path.c_str());
    std::printf("format:        %s\n", wsdol::weights::format_name(w.format));
    std::printf("state_dict:    %s%s\n",
                w.state_dict_key.empty() ? "the top-level object" : ("['" + w.state_dict_key + "']").c_str(),
                w.stripped_module_prefix ? " (\"module.\" prefix stripped)" : "");
    std::string dtypes;
    for (const auto& [d, n] : per_dtype) dtypes += (dtypes.empty() ? "" : ", ") + std::to_string(n) + " " + d;
    std::printf("tensors:       %zu (%s)\n", w.tensors.size(), dtypes.empty() ? "none" : dtypes.c_str());
    std::printf("elements:      %s\n", thousands(elements).c_str());
    std::printf("bytes:         %s (%.1f MiB)\n", thousands(bytes).c_str(), bytes / 1048576.0);
    if (ckpt.found && ckpt.problem.empty())
        std::printf("checkpoint:    training checkpoint, method %s, step %lld, epoch %lld%s%s\n",
                    ckpt.method.empty() ? "(not recorded)" : ckpt.method.c_str(), (long long)ckpt.step,
                    (long long)ckpt.epoch, ckpt.optimizer.empty() ? "" : ", optimizer ", ckpt.optimizer.c_str());
    else if (ckpt.found)
        std::printf("checkpoint:    training checkpoint with unreadable metadata (%s)\n", ckpt.problem.c_str());
    std::printf("architecture:  %s\n", arch.description.c_str());
    if (arch.arch != wsdol::weights::Architecture::unknown)
        std::printf("parameters:    %s (floating tensors; BN statistics and counters excluded)\n",
                    thousands(static_cast<uint64_t>(arch.parameter_count)).c_str());

    const bool all = a.flag("all") || w.tensors.size() <= kShownByDefault;
    size_t width = 4;
    for (const auto& [name, t] : w.tensors) width = std::max(width, name.size());
    width = std::min<size_t>(width, 72);
    std::printf("\n  %-*s  %-8s  %s\n", static_cast<int>(width), "name", "dtype", "shape");
    for (size_t i = 0; i < w.tensors.size(); ++i) {
        if (!all && i == 30) {
            std::printf("  ... %zu more (--all lists every tensor)\n", w.tensors.size() - 40);
            i = w.tensors.size() - 10;
        }
        const auto& [name, t] = w.tensors[i];
        std::printf("  %-*s  %-8s  %s\n", static_cast<int>(width), name.c_str(), wsdol::dtype_name(t.dtype()),
                    wsdol::shape_str(t.shape()).c_str());
    }
    if (!w.skipped.empty()) {
        std::printf("\nskipped (%zu):\n", w.skipped.size());
        for (const std::string& s : w.skipped) std::printf("  %s\n", s.c_str());
    }
    return 0;
}

WSDOL_COMMAND({"inspect", "list the tensors of a weights file (safetensors, PyTorch, TorchScript)",
               "usage: wsdol inspect FILE [--json] [--all]\n\n"
               "Reads FILE (safetensors; PyTorch .pt/.pth/.bin zip checkpoints, TorchScript archives and legacy\n"
               "pickle-stream files, through a restricted unpickler that never executes anything) and prints its\n"
               "format, the state_dict it holds (a training checkpoint's ['model'] / ['state_dict'] / ...; a\n"
               "DataParallel \"module.\" prefix is stripped), each tensor's name, dtype and shape, the element and\n"
               "byte totals, the architecture recognised from the names and shapes (with its parameter count),\n"
               "and the entries left out. For a wsdol training checkpoint it also prints the method, step, epoch\n"
               "and optimizer the run recorded.\n\n"
               "  --json   one JSON object instead of text (every tensor listed)\n"
               "  --all    list every tensor (default: the first 30 and the last 10 when there are more than 40)\n\n"
               "examples (after wsdol train --help's):\n"
               "  wsdol inspect runs/tinycam/checkpoint.safetensors\n"
               "  wsdol inspect runs/vit/checkpoint.safetensors --json --all",
               run_inspect});

}  // namespace
