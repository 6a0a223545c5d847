// torch_state_dict.h — finding the state_dict in an unpickled checkpoint (torch.save output or a TorchScript
// module tree), without materializing anything yet.
//
// torch.save files (select_state_dict), in this order:
//   1. the top object is a dict whose values are all tensors -> that dict;
//   2. the top object is a dict and top["model"], top["state_dict"] or top["model_state_dict"] (first that
//      qualifies) is a dict holding tensors -> that dict (its non-tensor entries are skipped); the other
//      top-level entries are skipped ("args: argparse.Namespace (unsupported global, not loaded)");
//   3. the top object is a dict holding some tensors -> its tensors; the rest is skipped;
//   otherwise an error that lists the top-level keys. A top-level object of a class outside the allow-list
//   (e.g. torch.save(model) of a whole nn.Module) is refused naming its global and saying how to re-save.
//   Values that would have to be tensors but are tensor kinds we cannot load (quantized, sparse...) are errors
//   naming the tensor. Entries skipped are described in `skipped` (name: what it was).
//
// TorchScript archives (collect_torchscript): the module tree is walked from the root, joining attribute names
// with '.'. Which attributes are state is read from the archive's code: each class's `__parameters__ = [...]`
// and `__buffers__ = [...]` lines (code/<module path>.py); per object, parameters then buffers (as
// nn.Module.state_dict orders them), then submodules (classes declared `(Module)`) in attribute order. Tensor
// attributes that are neither (e.g. a plain `self.attn_mask = ...`) are skipped. Where a class's code cannot be
// read (missing record, deflate decoder not linked in), every tensor attribute of that class is kept and a note
// says so. OpenAI CLIP's JIT extras `input_resolution`, `context_length`, `vocab_size` (root-level scalar
// buffers, deleted by clip.py's build_model) are dropped and listed in `skipped`.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "weights/pickle.h"

namespace wsdol::weights {

struct SelectedTensors {
    std::vector<std::pair<std::string, const pickle::Value*>> tensors;  // name -> Kind::tensor value, file order
    std::string key;                    // "" (top level), "model", "state_dict", "model_state_dict"
    std::vector<std::string> skipped;   // "name: description"
};

SelectedTensors select_state_dict(const pickle::Value* root, const std::string& label);

// Reads the TorchScript source of a module path ("__torch__.torch.nn.modules.linear" -> code/__torch__/torch/nn/
// modules/linear.py); nullopt when the record is missing; may throw when it cannot be read (caught: fallback).
using CodeReader = std::function<std::optional<std::string>(const std::string& module)>;

SelectedTensors collect_torchscript(const pickle::Value* root, const CodeReader& read_code, const std::string& label);

// The parameter and buffer names of the classes in TorchScript source `code` (one pass over the text).
struct ScriptClassInfo {
    std::vector<std::string> parameters, buffers;
    bool is_module = false;  // declared `class Name(Module):`
};
std::map<std::string, ScriptClassInfo> parse_script_classes(const std::string& code);

}  // namespace wsdol::weights
