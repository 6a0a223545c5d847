// torch_state_dict.cpp — state_dict selection for torch.save pickles and the TorchScript module-tree walk.
#include "weights/torch_state_dict.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "engine/core/error.h"

namespace wsdol::weights {

using pickle::GlobalKind;
using pickle::Kind;
using pickle::Value;

namespace {

// A tensor, or a tensor kind we recognise but cannot load (an error when selected, never silently dropped).
bool tensorish(const Value* v) {
    return v->kind == Kind::tensor || (v->kind == Kind::unsupported && v->global == GlobalKind::unsupported_tensor);
}

void check_loadable(const Value* v, const std::string& name, const std::string& label) {
    if (v->kind == Kind::unsupported)
        fail(str("weights: ", label, ": tensor '", name, "' is built by '", v->text,
                 "' (a quantized, sparse, meta or other special tensor), which wsdol cannot load"));
}

std::string key_list(const Value* dict) {
    std::string out;
    size_t n = 0;
    for (const auto& [k, v] : dict->entries) {
        if (n++ == 12) {
            out += ", ...";
            break;
        }
        out += (out.empty() ? "" : ", ") + (k->is_str() ? "'" + k->text + "'" : pickle::describe(k));
    }
    return "[" + out + "]";
}

size_t count_tensors(const Value* dict) {
    size_t n = 0;
    for (const auto& [k, v] : dict->entries) n += k->is_str() && tensorish(v);
    return n;
}

// Takes the string-keyed tensors of `dict`; everything else goes to `skipped` under `prefix`.
void take_tensors(const Value* dict, const std::string& prefix, const std::string& label, SelectedTensors& out) {
    for (const auto& [k, v] : dict->entries) {
        if (k->is_str() && tensorish(v)) {
            check_loadable(v, k->text, label);
            out.tensors.emplace_back(k->text, v);
        } else {
            out.skipped.push_back(prefix + (k->is_str() ? k->text : pickle::describe(k)) + ": " + pickle::describe(v));
        }
    }
}

}  // namespace

SelectedTensors select_state_dict(const Value* root, const std::string& label) {
    SelectedTensors out;
    if (root->kind == Kind::unsupported && root->global != GlobalKind::unsupported_tensor)
        fail(str("weights: ", label, ": the file holds a pickled '", root->text,
                 "' object, not a state_dict (was it saved with torch.save(model) instead of "
                 "torch.save(model.state_dict()))? Its class is outside the allow-list, so it was not loaded; "
                 "re-save the state_dict with PyTorch"));
    if (!root->is_dict())
        fail(str("weights: ", label, ": the top-level object is ", pickle::describe(root),
                 ", not a dict of tensors (a state_dict)"));

    bool all = true;
    for (const auto& [k, v] : root->entries) all = all && k->is_str() && tensorish(v);
    if (all) {  // 1. a state_dict
        take_tensors(root, "", label, out);
        return out;
    }
    for (const char* key : {"model", "state_dict", "model_state_dict"}) {  // 2. a training checkpoint
        const Value* sd = pickle::dict_get(root, key);
        if (!sd || !sd->is_dict() || count_tensors(sd) == 0) continue;
        out.key = key;
        take_tensors(sd, std::string(key) + ".", label, out);
        for (const auto& [k, v] : root->entries)
            if (!(k->is_str() && k->text == key))
                out.skipped.push_back((k->is_str() ? k->text : pickle::describe(k)) + ": " + pickle::describe(v));
        return out;
    }
    if (count_tensors(root) > 0) {  // 3. a dict with some tensors
        take_tensors(root, "", label, out);
        return out;
    }
    std::string detail;
    for (const char* key : {"model", "state_dict", "model_state_dict"})
        if (const Value* v = pickle::dict_get(root, key)) detail += str("; '", key, "' is ", pickle::describe(v));
    fail(str("weights: ", label, ": no state_dict found: the top-level dict has keys ", key_list(root),
             " and neither it nor 'model' / 'state_dict' / 'model_state_dict' maps names to tensors", detail));
}

// ---------------------------------------------------------------- TorchScript

std::map<std::string, ScriptClassInfo> parse_script_classes(const std::string& code) {
    // `class Name(Base):` at column 0 opens a class; its body is the following indented (or blank) lines, among
    // them `__parameters__ = ["a", "b", ]` and `__buffers__ = [...]` (a list may span lines).
    std::map<std::string, ScriptClassInfo> classes;
    ScriptClassInfo* current = nullptr;
    size_t p = 0;
    while (p < code.size()) {
        size_t e = code.find('\n', p);
        if (e == std::string::npos) e = code.size();
        if (e > p && code[p] != ' ' && code[p] != '\t') {  // a top-level statement
            current = nullptr;
            if (code.compare(p, 6, "class ") == 0) {
                const size_t open = code.find('(', p);
                const size_t close = open == std::string::npos ? open : code.find(')', open);
                if (close != std::string::npos && close < e) {
                    current = &classes[code.substr(p + 6, open - p - 6)];
                    *current = ScriptClassInfo();
                    current->is_module = code.compare(open + 1, close - open - 1, "Module") == 0;
                }
            }
        } else if (current) {
            size_t q = p;
            while (q < e && (code[q] == ' ' || code[q] == '\t')) ++q;
            std::vector<std::string>* list = nullptr;
            if (code.compare(q, 14, "__parameters__") == 0) list = &current->parameters;
            else if (code.compare(q, 11, "__buffers__") == 0) list = &current->buffers;
            const size_t bracket = list ? code.find('[', q) : std::string::npos;
            if (bracket != std::string::npos) {
                size_t r = bracket + 1;
                while (r < code.size() && code[r] != ']') {
                    if (code[r] == '"' || code[r] == '\'') {
                        const size_t close = code.find(code[r], r + 1);
                        if (close == std::string::npos) break;
                        list->push_back(code.substr(r + 1, close - r - 1));
                        r = close + 1;
                    } else {
                        ++r;
                    }
                }
                e = std::min(code.find('\n', r), code.size());
            }
        }
        p = e + 1;
    }
    return classes;
}

namespace {

class ScriptWalker {
public:
    ScriptWalker(const CodeReader& read_code, const std::string& label) : read_code_(read_code), label_(label) {}

    void walk(const Value* obj, const std::string& prefix, int depth) {
        if (depth > pickle::kMaxWalkDepth)
            fail(str("weights: ", label_, ": TorchScript module tree deeper than ", pickle::kMaxWalkDepth,
                     " levels at '", prefix, "' (a cycle? corrupt)"));
        if (++visits_ > 1000000) fail(str("weights: ", label_, ": TorchScript module tree has over 10^6 objects"));
        if (!obj->has_dict_state) {
            out.skipped.push_back(str(prefix.empty() ? "<root>" : prefix.substr(0, prefix.size() - 1), ": object '",
                                      obj->text, "' with a custom state (not walked)"));
            return;
        }
        const ScriptClassInfo* info = class_info(obj->text);
        std::map<std::string_view, const Value*> attributes;
        for (const auto& [k, v] : obj->entries)
            if (k->is_str()) attributes[k->text] = v;
        std::set<std::string> state_names;
        if (info) {
            auto take = [&](const std::vector<std::string>& names) {
                for (const std::string& n : names) {
                    state_names.insert(n);
                    auto found = attributes.find(n);
                    const Value* v = found == attributes.end() ? nullptr : found->second;
                    if (!v || v->kind == Kind::none) continue;  // e.g. bias=None
                    if (tensorish(v)) emit(prefix + n, v);
                    else out.skipped.push_back(prefix + n + ": " + pickle::describe(v) + " (declared state, not a tensor)");
                }
            };
            take(info->parameters);
            take(info->buffers);
        } else if (noted_.insert(obj->text).second) {
            out.skipped.push_back(str("note: no TorchScript code for class '", obj->text,
                                      "' could be read, so all its tensor attributes were kept"));
        }
        for (const auto& [k, v] : obj->entries) {
            if (!k->is_str() || state_names.count(k->text)) continue;
            const std::string name = prefix + k->text;
            if (v->kind == Kind::object && v->global == GlobalKind::torchscript_class) {
                const ScriptClassInfo* sub = class_info(v->text);
                if (!sub || sub->is_module) walk(v, name + ".", depth + 1);
                else out.skipped.push_back(name + ": script object '" + v->text + "' (not a module)");
            } else if (tensorish(v)) {
                if (info) out.skipped.push_back(name + ": " + pickle::describe(v) + " (attribute, not a parameter or buffer)");
                else emit(name, v);
            }
        }
    }

    SelectedTensors out;

private:
    void emit(const std::string& name, const Value* v) {
        check_loadable(v, name, label_);
        out.tensors.emplace_back(name, v);
    }

    // The class's parameter/buffer lists, or null when its code cannot be read. Each module's code is read and
    // parsed once.
    const ScriptClassInfo* class_info(const std::string& qualified) {
        const size_t dot = qualified.rfind('.');
        if (dot == std::string::npos) return nullptr;
        const std::string module = qualified.substr(0, dot);
        auto code = modules_.find(module);
        if (code == modules_.end()) {
            std::map<std::string, ScriptClassInfo> classes;
            try {
                if (std::optional<std::string> text = read_code_(module)) classes = parse_script_classes(*text);
            } catch (const Error&) {
                // an unreadable code record (corrupt): fall back to all tensors (noted in `skipped`)
            }
            code = modules_.emplace(module, std::move(classes)).first;
        }
        auto it = code->second.find(qualified.substr(dot + 1));
        return it == code->second.end() ? nullptr : &it->second;
    }

    const CodeReader& read_code_;
    const std::string& label_;
    std::map<std::string, std::map<std::string, ScriptClassInfo>> modules_;
    std::set<std::string> noted_;
    size_t visits_ = 0;
};

}  // namespace

SelectedTensors collect_torchscript(const Value* root, const CodeReader& read_code, const std::string& label) {
    if (root->kind != Kind::object || root->global != GlobalKind::torchscript_class)
        fail(str("weights: ", label, ": TorchScript archive whose data.pkl holds ", pickle::describe(root),
                 ", not a module object"));
    ScriptWalker walker(read_code, label);
    walker.walk(root, "", 0);
    SelectedTensors out = std::move(walker.out);
    // OpenAI CLIP's JIT archives carry three root-level scalar buffers that are not model weights; clip.py's
    // build_model deletes them from the state_dict, and so do we.
    std::vector<std::pair<std::string, const Value*>> kept;
    for (auto& [name, v] : out.tensors) {
        const bool clip_extra = (name == "input_resolution" || name == "context_length" || name == "vocab_size") &&
                                v->kind == Kind::tensor && v->tensor.size.empty();
        if (clip_extra) out.skipped.push_back(name + ": scalar buffer (OpenAI CLIP JIT extra, dropped as clip.py does)");
        else kept.emplace_back(name, v);
    }
    out.tensors = std::move(kept);
    return out;
}

}  // namespace wsdol::weights
