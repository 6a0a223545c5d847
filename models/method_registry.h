// method_registry.h — the table of training methods by name ("cam", "mctformer", "mmcst", "tinycam", ...) and the
// configuration a method is built from. `wsdol train/infer/demo` build methods only through make_method, so a new
// method is one file that registers itself with WSDOL_METHOD (or one line in method_registry.cpp).
//
// Options: method-specific settings arrive as strings (from the config file's "options" object or the CLI's
// `--set key=value`). A method reads them with MethodConfig's typed getters, which record every key read;
// make_method then refuses any option the method did not read, naming it (a typo never passes silently), and
// options_used() lists the resolved values (defaults included) for the checkpoint and `--dry-run`.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/core/rng.h"
#include "models/method.h"

namespace wsdol::models {

struct MethodConfig {
    std::vector<std::string> class_names;        // the C foreground classes (no background), in label order
    std::map<std::string, std::string> options;  // method-specific options as given (strings)
    std::string backbone_weights;                // pretrained backbone file ("" : random init, with a notice)
    std::string clip_checkpoint;                 // CLIP checkpoint (methods with a frozen CLIP; "" : none given)
    std::string clip_vocab;                      // CLIP BPE vocab (bpe_simple_vocab_16e6.txt.gz); "" : default lookup
    // Outputs of an earlier stage by key (MethodInfo::needs "stage:<key>"), e.g. "maps" -> a folder of <id>.npy.
    std::map<std::string, std::string> stage_inputs;
    // The stream every random draw of the method must come from (weight init, dropout, drop-path). The trainer
    // owns it and stores its state in checkpoints, so an interrupted run resumes bit-identically.
    Generator* generator = nullptr;
    // True when the trainer will overwrite every tensor of network() from a checkpoint right after construction
    // (resume, `wsdol infer`): skip loading pretrained files and the random-init notice.
    bool weights_from_checkpoint = false;
    // One-line notices for the user (random initialisation, what a pretrained file provided); may be empty.
    std::function<void(const std::string&)> notice;
    void say(const std::string& line) const {
        if (notice) notice(line);
    }

    // Typed option reads; each records the key and its resolved value (the fallback when absent). A value that
    // does not parse is an error naming the option.
    std::string get(const std::string& key, const std::string& fallback) const;
    double get_double(const std::string& key, double fallback) const;
    int64_t get_int(const std::string& key, int64_t fallback) const;
    bool get_bool(const std::string& key, bool fallback) const;  // true/false/1/0/yes/no
    // Every option read so far, with its resolved value (as text).
    const std::map<std::string, std::string>& options_used() const { return used_; }

private:
    mutable std::map<std::string, std::string> used_;
};

struct ViTConfig;  // models/vit.h
// The ViT shape options of the ViT-based methods (cam with backbone=vit, vit_classifier): image_size, patch_size,
// embed_dim, depth, num_heads, drop_path_rate (the stochastic-depth rate, the same key as MCTformer/MMCST); each
// defaults to cfg's current value, and the shape is checked (models/vit.h check_vit_shape).
void read_vit_options(const MethodConfig& config, ViTConfig& cfg, const std::string& method);

using MethodFactory = std::function<std::unique_ptr<Method>(const MethodConfig&)>;

// Builds a method from a released checkpoint of its reference repository (e.g. MCTformer-V2's
// `{"model": state_dict}` .pth): reads the network's size from the tensor shapes into `config.options`, builds the
// method and loads the weights; errors name the file and the tensor.
using ReleaseLoader = std::function<std::unique_ptr<Method>(const std::string& weights_file, MethodConfig& config)>;

struct MethodInfo {
    std::string name;
    std::string summary;  // one line for `wsdol train --help`
    MethodFactory make;
    // The files the method must (or may) be given; the runner checks the required ones before building it, with
    // an error naming the flag and what the file is for.
    std::vector<Need> needs;
    ReleaseLoader from_release;  // empty: the method has no released layout to read
};

bool register_method(MethodInfo info);
std::vector<MethodInfo> registered_methods();  // sorted by name
bool has_method(const std::string& name);
const MethodInfo& method_info(const std::string& name);  // throws naming the known methods
// Builds method `name`. Errors: an unknown name (listing the known ones), an option the method did not read.
std::unique_ptr<Method> make_method(const std::string& name, const MethodConfig& config);

}  // namespace wsdol::models

#define WSDOL_METHOD(...) \
    static const bool WSDOL_METHOD_CONCAT(wsdol_method_, __COUNTER__) = ::wsdol::models::register_method(__VA_ARGS__)
#define WSDOL_METHOD_CONCAT_INNER(a, b) a##b
#define WSDOL_METHOD_CONCAT(a, b) WSDOL_METHOD_CONCAT_INNER(a, b)
