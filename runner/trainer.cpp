// trainer.cpp — settings resolution, the training loop, checkpoints and resume (see trainer.h).
#include "runner/trainer.h"
#include "runner/sample_pipelines.h"

#include <algorithm>
#include <array>
#include <set>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/core/parse.h"
#include "engine/data/image_io.h"
#include "engine/data/loader.h"
#include "engine/data/transforms_pipeline.h"
#include "engine/io/checkpoint.h"
#include "engine/io/json.h"
#include "engine/io/output_dir.h"
#include "engine/io/safetensors.h"
#include "engine/ops/ops.h"
#include "engine/optim/adam.h"
#include "engine/optim/clip_grad.h"
#include "engine/optim/schedule.h"
#include "engine/optim/sgd.h"
#include "kernels/cpu/parallel.h"
#include "weights/architecture.h"
#include "weights/weights_file.h"

namespace wsdol::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCheckpointFile = "checkpoint.safetensors";

double parse_double(const std::string& key, const std::string& s) { return parse_number(str("setting '", key, "'"), s); }
int64_t parse_int(const std::string& key, const std::string& s) { return parse_integer(str("setting '", key, "'"), s); }
bool parse_bool(const std::string& key, const std::string& s) { return parse_boolean(str("setting '", key, "'"), s); }
std::string one_of(const std::string& key, const std::string& s, const std::vector<std::string>& allowed) {
    return parse_choice(str("setting '", key, "'"), s, allowed);
}

// One setting: how it reads from text into a TrainConfig and back (canonical text). `recipe` fields are applied
// after the method's recipe is known.
struct Field {
    const char* key;
    bool identity;
    bool recipe;
    std::function<void(TrainConfig&, const std::string&)> set;
    std::function<std::string(const TrainConfig&)> get;
};

const std::vector<Field>& fields() {
    static const std::vector<Field> f = [] {
        std::vector<Field> v;
        auto text = [&](const char* key, bool identity, std::string TrainConfig::*member) {
            v.push_back({key, identity, false, [member](TrainConfig& c, const std::string& s) { c.*member = s; },
                         [member](const TrainConfig& c) { return c.*member; }});
        };
        auto recipe_num = [&](const char* key, double models::Recipe::*member, double lo) {
            v.push_back({key, true, true,
                         [key, member, lo](TrainConfig& c, const std::string& s) {
                             const double x = parse_double(key, s);
                             WSDOL_CHECK(x >= lo, "setting '", key, "': must be at least ", lo, ", got ", s);
                             c.recipe.*member = x;
                         },
                         [member](const TrainConfig& c) { return number_text(c.recipe.*member); }});
        };
        auto recipe_int = [&](const char* key, int64_t models::Recipe::*member, int64_t lo) {
            v.push_back({key, true, true,
                         [key, member, lo](TrainConfig& c, const std::string& s) {
                             const int64_t x = parse_int(key, s);
                             WSDOL_CHECK(x >= lo, "setting '", key, "': must be at least ", lo, ", got ", s);
                             c.recipe.*member = x;
                         },
                         [member](const TrainConfig& c) { return std::to_string(c.recipe.*member); }});
        };
        auto recipe_choice = [&](const char* key, std::string models::Recipe::*member, std::vector<std::string> ok) {
            v.push_back({key, true, true,
                         [key, member, ok](TrainConfig& c, const std::string& s) { c.recipe.*member = one_of(key, s, ok); },
                         [member](const TrainConfig& c) { return c.recipe.*member; }});
        };
        text("method", true, &TrainConfig::method);
        text("split", true, &TrainConfig::split);
        v.push_back({"seed", true, false,
                     [](TrainConfig& c, const std::string& s) {
                         const int64_t x = parse_int("seed", s);
                         WSDOL_CHECK(x >= 0, "setting 'seed': must be non-negative, got ", s);
                         c.seed = uint64_t(x);
                     },
                     [](const TrainConfig& c) { return std::to_string(c.seed); }});
        recipe_int("epochs", &models::Recipe::epochs, 1);
        recipe_int("batch_size", &models::Recipe::batch_size, 1);
        recipe_num("lr", &models::Recipe::lr, 0);
        recipe_num("weight_decay", &models::Recipe::weight_decay, 0);
        recipe_num("momentum", &models::Recipe::momentum, 0);
        recipe_choice("optimizer", &models::Recipe::optimizer, {"adamw", "sgd"});
        recipe_choice("schedule", &models::Recipe::schedule, {"cosine", "poly", "constant", "step"});
        recipe_int("warmup_epochs", &models::Recipe::warmup_epochs, 0);
        recipe_num("warmup_lr", &models::Recipe::warmup_lr, 0);
        recipe_num("min_lr", &models::Recipe::min_lr, 0);
        recipe_int("input_size", &models::Recipe::input_size, 8);
        recipe_choice("augmentation", &models::Recipe::augmentation, sample_pipeline_names());
        recipe_num("grad_clip", &models::Recipe::grad_clip, 0);
        recipe_choice("schedule_step", &models::Recipe::schedule_step, {"update", "epoch"});
        recipe_int("lr_batch", &models::Recipe::lr_batch, 0);
        // The step schedule's milestones: epochs done (non-negative, non-decreasing, may be fractional), comma-
        // separated; "" for none.
        v.push_back({"lr_steps", true, true,
                     [](TrainConfig& c, const std::string& s) {
                         std::vector<double> steps;
                         size_t pos = 0;
                         while (pos < s.size()) {
                             size_t end = s.find(',', pos);
                             if (end == std::string::npos) end = s.size();
                             const double x = parse_double("lr_steps", s.substr(pos, end - pos));
                             WSDOL_CHECK(x >= 0, "setting 'lr_steps': milestones must be non-negative, got ", s);
                             WSDOL_CHECK(steps.empty() || x >= steps.back(),
                                         "setting 'lr_steps': milestones must be non-decreasing, got ", s);
                             steps.push_back(x);
                             pos = end + 1;
                         }
                         c.recipe.lr_steps = steps;
                     },
                     [](const TrainConfig& c) {
                         std::string s;
                         for (double x : c.recipe.lr_steps) s += (s.empty() ? "" : ",") + number_text(x);
                         return s;
                     }});
        recipe_num("lr_step_factor", &models::Recipe::lr_step_factor, 0);
        text("dataset_kind", true, &TrainConfig::dataset_kind);
        text("data", false, &TrainConfig::data);
        text("out", false, &TrainConfig::out);
        text("clip", false, &TrainConfig::clip);
        text("clip_vocab", false, &TrainConfig::clip_vocab);
        text("backbone", false, &TrainConfig::backbone);
        v.push_back({"workers", false, false,
                     [](TrainConfig& c, const std::string& s) {
                         c.workers = int(parse_int("workers", s));
                         WSDOL_CHECK(c.workers >= 0 && c.workers <= 64, "setting 'workers': must be in 0..64, got ", s);
                     },
                     [](const TrainConfig& c) { return std::to_string(c.workers); }});
        v.push_back({"checkpoint_every", false, false,
                     [](TrainConfig& c, const std::string& s) {
                         c.checkpoint_every = parse_int("checkpoint_every", s);
                         WSDOL_CHECK(c.checkpoint_every >= 0, "setting 'checkpoint_every': must be >= 0 (0: only at "
                                     "the end), got ", s);
                     },
                     [](const TrainConfig& c) { return std::to_string(c.checkpoint_every); }});
        v.push_back({"stop_after", false, false,
                     [](TrainConfig& c, const std::string& s) {
                         c.stop_after = parse_int("stop_after", s);
                         WSDOL_CHECK(c.stop_after >= -1, "setting 'stop_after': must be >= 0, got ", s);
                     },
                     [](const TrainConfig& c) { return std::to_string(c.stop_after); }});
        v.push_back({"resume", false, false,
                     [](TrainConfig& c, const std::string& s) { c.resume = parse_bool("resume", s); },
                     [](const TrainConfig& c) { return std::string(c.resume ? "true" : "false"); }});
        v.push_back({"force", false, false,
                     [](TrainConfig& c, const std::string& s) { c.force = parse_bool("force", s); },
                     [](const TrainConfig& c) { return std::string(c.force ? "true" : "false"); }});
        v.push_back({"threads", false, false,
                     [](TrainConfig& c, const std::string& s) {
                         c.threads = int(parse_int("threads", s));
                         WSDOL_CHECK(c.threads >= 0, "setting 'threads': must be >= 0, got ", s);
                     },
                     [](const TrainConfig& c) { return std::to_string(c.threads); }});
        return v;
    }();
    return f;
}

const Field& field(const std::string& key) {
    for (const Field& f : fields())
        if (key == f.key) return f;
    std::string known;
    for (const Field& f : fields()) known += (known.empty() ? "" : ", ") + std::string(f.key);
    fail(str("unknown setting '", key, "' (known: ", known, ", options.<method option>)"));
}

std::string normalise_key(std::string key) {
    std::replace(key.begin(), key.end(), '-', '_');
    return key;
}

std::vector<std::string> split_json_names(const std::string& text, const std::string& what) {
    const json::Value v = json::parse(text);
    WSDOL_CHECK(v.is_array(), what, ": expected a JSON array");
    std::vector<std::string> out;
    for (const auto& item : v.items()) out.push_back(item.as_string());
    return out;
}

std::string names_json(const std::vector<std::string>& names) {
    json::Value a = json::Value::array();
    for (const auto& n : names) a.push_back(n);
    return json::dump(a);
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

// The user metadata of a training checkpoint (throws naming the file when it is not one).
io::StringMap checkpoint_user_metadata(const std::string& path) {
    WSDOL_CHECK(fs::is_regular_file(path), path, ": checkpoint not found");
    io::SafetensorsFile file(path);
    auto it = file.metadata().find(io::kCheckpointMetadataKey);
    WSDOL_CHECK(it != file.metadata().end(), path, ": not a wsdol training checkpoint (no ", io::kCheckpointMetadataKey,
                " metadata)");
    const json::Value meta = json::parse(it->second);
    io::StringMap user;
    if (const json::Value* u = meta.find("user"))
        for (const auto& [k, v] : u->members()) user[k] = v.as_string();
    for (const char* key : {"wsdol.method", "wsdol.config", "wsdol.classes"})
        WSDOL_CHECK(user.count(key), path, ": not a checkpoint of `wsdol train` (no ", key, " entry)");
    return user;
}

// Applies a stored config JSON (identity keys + options) onto `config`.
void apply_config_json(TrainConfig& config, const std::string& text, const std::string& what) {
    const json::Value v = json::parse(text);
    WSDOL_CHECK(v.is_object(), what, ": the stored config is not a JSON object");
    for (const auto& [key, value] : v.members()) {
        if (key == "options") {
            config.options.clear();
            for (const auto& [k, o] : value.members()) config.options[k] = o.as_string();
            continue;
        }
        field(key).set(config, value.as_string());
    }
}

void notice(const TrainHooks& hooks, const std::string& line) {
    if (hooks.log) hooks.log(line);
}

// Everything a run needs, built and checked before the first step.
struct Run {
    TrainConfig config;
    data::Dataset dataset;
    std::vector<std::string> classes;
    std::unique_ptr<Generator> model_gen;
    std::unique_ptr<models::Method> method;
    models::BatchSpec spec;
    io::StringMap stored;  // the checkpoint's user metadata when resuming
};

// The files the method declares it needs (models/method_registry.h MethodInfo::needs): a required one that was
// not given is an error naming the flag and what the file is for; a given stage input must exist.
void check_needs(const TrainConfig& c, const TrainHooks& hooks) {
    for (const models::Need& need : models::method_info(c.method).needs) {  // (an unknown method: error listing all)
        std::string given, flag;
        if (need.name == "backbone") given = c.backbone, flag = "--backbone FILE";
        else if (need.name == "clip") given = c.clip, flag = "--clip FILE";
        else if (need.name.rfind("stage:", 0) == 0) {
            const std::string key = need.name.substr(6);
            auto it = c.stage_inputs.find(key);
            given = it == c.stage_inputs.end() ? "" : it->second;
            flag = "--input " + key + "=PATH";
        }
        if (given.empty()) {
            WSDOL_CHECK(!need.required, c.method, ": needs ", flag, ": ", need.what);
            continue;
        }
        WSDOL_CHECK(fs::exists(given), c.method, ": ", flag, " '", given, "' not found (", need.what, ")");
    }
    for (const auto& [key, path] : c.stage_inputs) {
        bool declared = false;
        for (const models::Need& need : models::method_info(c.method).needs) declared = declared || need.name == "stage:" + key;
        WSDOL_CHECK(declared, c.method, ": takes no input '", key, "' (--input ", key, "=", path, ")");
    }
    (void)hooks;
}

Run prepare(const TrainSettings& settings, const TrainHooks& hooks) {
    Run run;
    TrainConfig& c = run.config;
    // Run keys and the non-recipe identity keys first; recipe keys after the method's recipe is known.
    for (const auto& [key, value] : settings.values)
        if (!field(key).recipe) field(key).set(c, value);
    WSDOL_CHECK(!c.data.empty(), "train: --data DIR is required");
    WSDOL_CHECK(!c.out.empty(), "train: --out DIR is required");
    if (c.threads > 0) cpu::set_num_threads(c.threads);

    const std::string ckpt = checkpoint_path(c.out);
    if (c.resume) {
        run.stored = checkpoint_user_metadata(ckpt);
        // Explicit identity settings must agree with the stored run.
        TrainConfig stored_config;
        stored_config.method = run.stored.at("wsdol.method");
        apply_config_json(stored_config, run.stored.at("wsdol.config"), ckpt);
        const json::Value stored_json = json::parse(run.stored.at("wsdol.config"));
        for (const auto& [key, value] : settings.values) {
            const Field& f = field(key);
            if (!f.identity) continue;
            TrainConfig probe;
            f.set(probe, value);
            const std::string mine = f.get(probe), theirs = f.get(stored_config);
            WSDOL_CHECK(mine == theirs, "--resume: setting '", key, "' is ", mine, " here but ", theirs, " in ", ckpt,
                        " (a resumed run keeps its configuration; start a new run in another --out to change it)");
        }
        for (const auto& [key, value] : settings.options) {
            auto it = stored_config.options.find(key);
            WSDOL_CHECK(it != stored_config.options.end() && it->second == value, "--resume: method option '", key,
                        "' is ", value, " here but ", it == stored_config.options.end() ? "unset" : it->second, " in ",
                        ckpt);
        }
        // Take the stored identity keys; keep this call's run keys.
        const TrainConfig run_keys = c;
        c = stored_config;
        for (const Field& f : fields())
            if (!f.identity) f.set(c, f.get(run_keys));
        notice(hooks, str("resuming ", c.method, " from ", ckpt));
    } else {
        WSDOL_CHECK(!c.method.empty(), "train: --method is required (", [] {
            std::string s;
            for (const auto& m : models::registered_methods()) s += (s.empty() ? "" : " | ") + m.name;
            return s;
        }(), ")");
        c.options = settings.options;
    }

    c.stage_inputs = settings.inputs;
    // The dataset: every image checked now, so a missing file fails before training.
    WSDOL_CHECK(fs::is_directory(c.data), c.data, ": --data folder not found");
    data::DatasetOptions dopt;
    dopt.check_files = true;
    run.dataset = data::open_dataset(c.data, c.split, dopt, c.dataset_kind);
    run.classes = data::foreground_class_names(run.dataset);
    WSDOL_CHECK(!run.dataset.samples.empty(), c.data, ": split '", c.split, "' has no images");
    if (c.resume) {
        const auto stored_classes = split_json_names(run.stored.at("wsdol.classes"), ckpt);
        WSDOL_CHECK(stored_classes == run.classes, "--resume: classes of ", c.data, " (", join(run.classes),
                    ") differ from the checkpoint's classes (", join(stored_classes), ") in ", ckpt);
        if (run.stored.count("wsdol.num_samples"))
            WSDOL_CHECK(run.stored.at("wsdol.num_samples") == std::to_string(run.dataset.samples.size()),
                        "--resume: split '", c.split, "' of ", c.data, " has ", run.dataset.samples.size(),
                        " images, the checkpoint was trained on ", run.stored.at("wsdol.num_samples"));
    }

    // A CLIP file must be a CLIP (OpenAI names), whatever the method does with it.
    if (!c.clip.empty()) {
        WSDOL_CHECK(fs::is_regular_file(c.clip), "--clip ", c.clip, ": file not found");
        const weights::DetectedArchitecture arch = weights::detect_architecture(weights::read_weights(c.clip).tensors);
        WSDOL_CHECK(arch.arch == weights::Architecture::openai_clip_vit ||
                        arch.arch == weights::Architecture::openai_clip_resnet,
                    "--clip ", c.clip, ": not a CLIP checkpoint in OpenAI names (found: ",
                    arch.description.empty() ? weights::architecture_name(arch.arch) : arch.description, ")");
    }
    if (!c.backbone.empty()) WSDOL_CHECK(fs::is_regular_file(c.backbone), "--backbone ", c.backbone, ": file not found");

    check_needs(c, hooks);

    // The method (its generator seeded from the run seed; restored from the checkpoint on resume).
    manual_seed(c.seed);
    run.model_gen = std::make_unique<Generator>(c.seed * 2 + 1);
    models::MethodConfig mc;
    mc.class_names = run.classes;
    mc.options = c.options;
    mc.backbone_weights = c.backbone;
    mc.clip_checkpoint = c.clip;
    mc.clip_vocab = c.clip_vocab;
    mc.stage_inputs = c.stage_inputs;
    mc.generator = run.model_gen.get();
    mc.weights_from_checkpoint = c.resume;
    mc.notice = hooks.log;
    run.method = models::make_method(c.method, mc);
    c.options = mc.options_used();
    if (!c.resume && c.backbone.empty())
        notice(hooks, str(c.method, ": no --backbone given: the network starts from random initialisation"));
    if (!c.resume) {
        c.recipe = run.method->recipe();
        for (const auto& [key, value] : settings.values)
            if (field(key).recipe) field(key).set(c, value);
        // A recipe whose lr was given per lr_batch images scales it with the batch size (DeiT/MCTformer: lr x
        // batch / 512), unless the lr is set explicitly.
        const models::Recipe defaults = run.method->recipe();
        if (c.recipe.lr_batch > 0 && !settings.values.count("lr") && c.recipe.batch_size != defaults.batch_size)
            c.recipe.lr = defaults.lr * double(c.recipe.batch_size) / double(defaults.batch_size);
        // The step schedule's milestones are given for the recipe's epochs: a shorter (or longer) run scales them by
        // epochs / recipe epochs, so the decays fall at the same fraction of the run (INFERRED, README
        // "Decisions"), unless they are set explicitly.
        if (c.recipe.schedule == "step" && !settings.values.count("lr_steps") && c.recipe.epochs != defaults.epochs)
            for (double& m : c.recipe.lr_steps) m = m * double(c.recipe.epochs) / double(defaults.epochs);
    }
    // (On resume every recipe field comes from the checkpoint; fields it predates keep their defaults.)
    WSDOL_CHECK(c.recipe.schedule != "step" || !c.recipe.lr_steps.empty(), "setting 'schedule': 'step' needs "
                "milestones (setting 'lr_steps', in epochs, e.g. lr_steps=30)");
    run.spec = run.method->batch_spec();
    check_batch_spec(c.method, c.recipe.augmentation, run.spec);
    check_image_sizes(c.method, run.dataset, run.spec);
    WSDOL_CHECK(int64_t(run.dataset.samples.size()) >= c.recipe.batch_size, "train: split '", c.split, "' of ", c.data,
                " has ", run.dataset.samples.size(), " images, fewer than one batch (batch_size ",
                c.recipe.batch_size, ")");
    return run;
}

}  // namespace

void TrainSettings::set(const std::string& raw_key, const std::string& value) {
    const std::string key = normalise_key(raw_key);
    if (key.rfind("options.", 0) == 0) {
        WSDOL_CHECK(key.size() > 8, "setting '", raw_key, "': empty option name");
        options[key.substr(8)] = value;
        return;
    }
    if (key.rfind("inputs.", 0) == 0) {
        WSDOL_CHECK(key.size() > 7, "setting '", raw_key, "': empty input name");
        inputs[key.substr(7)] = value;
        return;
    }
    field(key);  // validates the name
    values[key] = value;
}

void read_config_file(const std::string& path, TrainSettings& settings) {
    WSDOL_CHECK(fs::is_regular_file(path), path, ": config file not found");
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    TrainSettings from_file;
    const size_t first = text.find_first_not_of(" \t\r\n");
    try {
        if (first != std::string::npos && text[first] == '{') {
            const json::Value v = json::parse(text);
            auto scalar = [&](const std::string& key, const json::Value& x) -> std::string {
                if (x.is_string()) return x.as_string();
                if (x.is_number()) return x.number_text();
                if (x.is_bool()) return x.as_bool() ? "true" : "false";
                fail(str("setting '", key, "': expected a string, number or boolean"));
            };
            for (const auto& [key, value] : v.members()) {
                if (key == "options") {
                    WSDOL_CHECK(value.is_object(), "'options' must be an object of method options");
                    for (const auto& [k, o] : value.members()) from_file.options[k] = scalar(k, o);
                    continue;
                }
                if (key == "inputs") {
                    WSDOL_CHECK(value.is_object(), "'inputs' must be an object of stage inputs (name: path)");
                    for (const auto& [k, o] : value.members()) from_file.inputs[k] = scalar(k, o);
                    continue;
                }
                from_file.set(key, scalar(key, value));
            }
        } else {
            std::istringstream lines(text);
            std::string line;
            int number = 0;
            while (std::getline(lines, line)) {
                ++number;
                const size_t hash = line.find('#');
                if (hash != std::string::npos) line.resize(hash);
                auto trim = [](std::string s) {
                    const size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
                    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
                };
                line = trim(line);
                if (line.empty()) continue;
                const size_t eq = line.find('=');
                WSDOL_CHECK(eq != std::string::npos, "line ", number, ": expected 'key = value', got '", line, "'");
                from_file.set(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
            }
        }
    } catch (const Error& e) {
        fail(str(path, ": ", e.what()));
    }
    for (const auto& [k, v] : from_file.values) settings.values.emplace(k, v);
    for (const auto& [k, v] : from_file.options) settings.options.emplace(k, v);
    for (const auto& [k, v] : from_file.inputs) settings.inputs.emplace(k, v);
}

std::vector<std::string> setting_keys() {
    std::vector<std::string> keys;
    for (const Field& f : fields()) keys.push_back(f.key);
    return keys;
}

bool is_identity_key(const std::string& key) { return field(normalise_key(key)).identity; }

std::string checkpoint_path(const std::string& out_dir) { return (fs::path(out_dir) / kCheckpointFile).string(); }


std::string config_json(const TrainConfig& config) {
    json::Value v = json::Value::object();
    for (const Field& f : fields())
        if (f.identity && std::string(f.key) != "method") v.set(f.key, f.get(config));
    json::Value o = json::Value::object();
    for (const auto& [k, value] : config.options) o.set(k, value);
    v.set("options", o);
    return json::dump(v);
}

std::string describe(const TrainConfig& c) {
    std::string s = str("method ", c.method, "\n");
    for (const Field& f : fields())
        if (std::string(f.key) != "method") s += str("  ", f.key, " = ", f.get(c), f.identity ? "" : "   (run)", "\n");
    for (const auto& [k, v] : c.options) s += str("  options.", k, " = ", v, "\n");
    for (const auto& [k, v] : c.stage_inputs) s += str("  inputs.", k, " = ", v, "   (run)\n");
    return s;
}

TrainConfig resolve_config(const TrainSettings& settings, const TrainHooks& hooks) {
    return prepare(settings, hooks).config;
}

TrainResult train(const TrainSettings& settings, const TrainHooks& hooks) {
    Run run = prepare(settings, hooks);
    TrainConfig& c = run.config;
    models::Method& method = *run.method;
    nn::Module& net = method.network();

    // Optimizer over the method's parameter groups; parameters in no group stay frozen.
    const NamedTensors all = net.named_parameters();
    std::map<std::string, Tensor> by_name(all.begin(), all.end());
    std::set<std::string> seen;
    std::vector<std::pair<NamedTensors, models::ParamGroupSpec>> groups;
    for (const models::ParamGroupSpec& g : method.param_groups()) {
        NamedTensors params;
        for (const std::string& name : g.params) {
            auto it = by_name.find(name);
            WSDOL_CHECK(it != by_name.end(), c.method, ": parameter group '", g.name, "' names '", name,
                        "', which network() does not have");
            WSDOL_CHECK(seen.insert(name).second, c.method, ": parameter '", name, "' is in two groups");
            params.emplace_back(name, it->second);
        }
        if (!params.empty()) groups.emplace_back(std::move(params), g);
    }
    WSDOL_CHECK(!groups.empty(), c.method, ": no trainable parameters (empty parameter groups)");
    std::unique_ptr<optim::Optimizer> optimizer;
    if (c.recipe.optimizer == "adamw") {
        std::vector<optim::AdamW::Group> gs;
        for (const auto& [params, spec] : groups) {
            optim::AdamWOptions o;
            o.lr = c.recipe.lr * spec.lr_scale;
            o.weight_decay = c.recipe.weight_decay * spec.weight_decay_scale;
            gs.push_back({params, o});
        }
        optimizer = std::make_unique<optim::AdamW>(gs);
    } else {
        std::vector<optim::SGD::Group> gs;
        for (const auto& [params, spec] : groups) {
            optim::SGDOptions o;
            o.lr = c.recipe.lr * spec.lr_scale;
            o.weight_decay = c.recipe.weight_decay * spec.weight_decay_scale;
            o.momentum = c.recipe.momentum;
            gs.push_back({params, o});
        }
        optimizer = std::make_unique<optim::SGD>(gs);
    }

    // Loader: a stateless function of (seed, epoch, sample), so resume needs only the position.
    auto skip = std::make_shared<std::vector<char>>(run.dataset.samples.size(), 0);
    data::LoaderOptions lo;
    lo.batch_size = c.recipe.batch_size;
    lo.height = lo.width = c.recipe.input_size;
    lo.workers = c.workers;
    lo.prefetch = std::max(2, c.workers * 2);
    lo.seed = c.seed;
    lo.shuffle = true;
    lo.drop_last = true;
    const data::Dataset& ds = run.dataset;
    PipelineInputs pin;
    pin.dataset = &ds;
    pin.pipeline = c.recipe.augmentation;
    pin.size = c.recipe.input_size;
    pin.spec = run.spec;
    pin.skip = skip;
    if (auto it = c.stage_inputs.find("labels"); it != c.stage_inputs.end()) pin.pixel_label_dir = it->second;
    data::Loader loader(int64_t(ds.samples.size()), make_example_fn(pin), lo,
                        [&ds](int64_t i) { return ds.samples[i].image_path; });
    const int64_t per_epoch = loader.batches_per_epoch();
    const int64_t total = per_epoch * c.recipe.epochs;

    std::unique_ptr<optim::LRScheduler> schedule;
    optim::CosineLRScheduler* cosine = nullptr;
    optim::PolyWarmupLR* poly = nullptr;
    optim::MultiStepLR* multistep = nullptr;
    const bool by_epoch = c.recipe.schedule_step == "epoch";
    WSDOL_CHECK(!by_epoch || c.recipe.schedule == "cosine", "setting 'schedule_step': epoch stepping is timm's "
                "cosine schedule (MCTformer); schedule '", c.recipe.schedule, "' steps per update");
    if (c.recipe.schedule == "cosine") {
        optim::CosineLROptions o;
        // Per update (timm step_update), or per epoch as MCTformer's main.py calls lr_scheduler.step(epoch) after
        // epoch `epoch`: epochs 0 and 1 both run at the warm-up start (the reference's one-epoch lag).
        o.t_initial = by_epoch ? c.recipe.epochs : total;
        o.lr_min = c.recipe.min_lr;
        o.warmup_t = c.recipe.warmup_epochs * (by_epoch ? 1 : per_epoch);
        o.warmup_lr_init = c.recipe.warmup_lr;
        o.t_in_epochs = by_epoch;
        auto s = std::make_unique<optim::CosineLRScheduler>(*optimizer, o);
        cosine = s.get();
        schedule = std::move(s);
    } else if (c.recipe.schedule == "poly") {
        optim::PolyWarmupOptions o;
        o.warmup_iter = c.recipe.warmup_epochs * per_epoch;
        o.max_iter = total;
        auto s = std::make_unique<optim::PolyWarmupLR>(*optimizer, o);
        poly = s.get();
        schedule = std::move(s);
    } else if (c.recipe.schedule == "step") {
        optim::MultiStepOptions o;
        // Milestone m (epochs done) -> update round(m x updates per epoch): an epoch boundary for whole m
        for (double m : c.recipe.lr_steps) o.milestones.push_back(int64_t(std::floor(m * double(per_epoch) + 0.5)));
        o.gamma = c.recipe.lr_step_factor;
        auto s = std::make_unique<optim::MultiStepLR>(*optimizer, o);
        multistep = s.get();
        schedule = std::move(s);
    }

    // The output folder (engine/io/output_dir.h): a new or empty folder, or this run's own with --resume; --force
    // starts over, removing only what an earlier run created there. Never inside the dataset or an input file.
    std::vector<std::string> inputs = {c.data, c.backbone, c.clip, c.clip_vocab};
    for (const auto& [k, v] : c.stage_inputs) inputs.push_back(v);
    io::OutputDir out_dir(c.out, "train", c.resume ? io::Reuse::resume : c.force ? io::Reuse::force : io::Reuse::refuse,
                          inputs);
    const std::string ckpt_path = out_dir.path(kCheckpointFile);
    io::Checkpoint ckpt;
    ckpt.model = net.state_dict();
    ckpt.optimizer = optimizer.get();
    ckpt.schedule = schedule.get();
    ckpt.generators = {{"model", run.model_gen.get()}};
    ckpt.user = {{"wsdol.method", c.method},
                 {"wsdol.config", config_json(c)},
                 {"wsdol.classes", names_json(run.classes)},
                 {"wsdol.num_samples", std::to_string(ds.samples.size())}};
    int64_t step = 0;
    if (c.resume) {
        io::load_checkpoint(ckpt_path, ckpt);  // validates every tensor, the optimizer layout and the schedule type
        step = ckpt.step;
        WSDOL_CHECK(step <= total, ckpt_path, ": step ", step, " is past the run's ", total, " steps");
        ckpt.user = {{"wsdol.method", c.method},
                     {"wsdol.config", config_json(c)},
                     {"wsdol.classes", names_json(run.classes)},
                     {"wsdol.num_samples", std::to_string(ds.samples.size())}};
    }
    auto save = [&](int64_t at) {
        ckpt.model = net.state_dict();
        ckpt.step = at;
        ckpt.epoch = at / per_epoch;
        io::save_checkpoint(ckpt_path, ckpt);
    };

    TrainResult result;
    result.first_step = step;
    result.total_steps = total;
    const int64_t end = c.stop_after >= 0 ? std::min(total, std::max(step, c.stop_after)) : total;
    // A VOC-layout folder without classes.txt is read as PASCAL VOC (its 20 classes): said, not silent.
    const bool voc_names_assumed = ds.kind == "voc" && !fs::exists(fs::path(c.data) / "classes.txt");
    notice(hooks, str(c.method, ": ", ds.samples.size(), " images (", c.split, "), ", run.classes.size(),
                      voc_names_assumed ? str(" classes (no classes.txt in ", c.data, ": the PASCAL VOC classes)")
                                        : std::string(" classes"),
                      ", batch ", c.recipe.batch_size, ", ", c.recipe.epochs, " epochs = ", total, " steps, ",
                      c.recipe.optimizer, " lr ", number_text(c.recipe.lr), " ", c.recipe.schedule, ", input ",
                      c.recipe.input_size, ", ", net.num_parameters(), " parameters",
                      step > 0 ? str(", resuming at step ", step) : std::string()));
    std::vector<Tensor> trainable;
    for (const auto& [params, spec] : groups)
        for (const auto& [n, p] : params) trainable.push_back(p);

    if (hooks.on_start) {
        StepInfo info;
        info.step = info.first_step = step;
        info.total_steps = total;
        info.epoch = step / per_epoch;
        info.epochs = c.recipe.epochs;
        info.batch_size = c.recipe.batch_size;
        info.lr = optimizer->lr(0);
        hooks.on_start(info);
    }
    const auto start = std::chrono::steady_clock::now();
    int64_t loaded_epoch = -1;
    const int64_t C = int64_t(run.classes.size());
    while (step < end) {
        const int64_t epoch = step / per_epoch, in_epoch = step % per_epoch;
        if (epoch != loaded_epoch) {
            // Resuming inside an epoch: the batches before `in_epoch` were consumed; their samples are skipped.
            std::fill(skip->begin(), skip->end(), 0);
            if (in_epoch > 0) {
                const auto order = loader.epoch_order(epoch);
                for (int64_t i = 0; i < in_epoch * c.recipe.batch_size; ++i) (*skip)[order[i]] = 1;
            }
            loader.start_epoch(epoch);
            data::Batch discard;
            for (int64_t i = 0; i < in_epoch; ++i) loader.next(discard);
            loaded_epoch = epoch;
        }
        data::Batch batch;
        WSDOL_CHECK(loader.next(batch), "trainer: the loader ran out of batches in epoch ", epoch);
        const models::MethodBatch mb = make_method_batch(batch, pin, C);
        models::StepContext context;
        context.step = step;
        context.total_steps = total;
        context.epoch = epoch;
        context.epochs = c.recipe.epochs;
        context.steps_per_epoch = per_epoch;
        models::LossTerms terms = method.losses(mb, context);
        const double loss = terms.total.item();
        WSDOL_CHECK(std::isfinite(loss), c.method, ": loss is ", loss, " at step ", step + 1, " (epoch ", epoch, ")");
        net.zero_grad();
        terms.total.backward();
        if (c.recipe.grad_clip > 0) optim::clip_grad_norm_(trainable, c.recipe.grad_clip);
        if (poly) poly->step();
        optimizer->step();
        ++step;
        if (cosine && !by_epoch) cosine->step_update(step);
        if (multistep) multistep->step_update(step);
        if (cosine && by_epoch && step % per_epoch == 0) cosine->step(step / per_epoch - 1);
        result.losses.push_back(loss);
        if (hooks.on_step) {
            StepInfo info;
            info.step = step;
            info.total_steps = total;
            info.first_step = result.first_step;
            info.epoch = epoch;
            info.epochs = c.recipe.epochs;
            info.batch_size = c.recipe.batch_size;
            info.loss = loss;
            info.lr = optimizer->lr(0);
            for (const auto& [name, t] : terms.terms) info.terms.emplace_back(name, t.item());
            hooks.on_step(info);
        }
        if (c.checkpoint_every > 0 && step % c.checkpoint_every == 0 && step < end) save(step);
        if (step % per_epoch == 0) loaded_epoch = -1;
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    save(step);
    result.last_step = step;
    result.finished = step == total;
    result.checkpoint = ckpt_path;
    result.config = c;
    notice(hooks, str("saved ", ckpt_path, " at step ", step, "/", total));
    return result;
}

LoadedMethod load_trained_method(const std::string& checkpoint, const std::vector<std::string>& dataset_classes,
                                 const std::string& clip, const std::string& clip_vocab,
                                 const std::map<std::string, std::string>& option_overrides) {
    const io::StringMap user = checkpoint_user_metadata(checkpoint);
    LoadedMethod lm;
    lm.config.method = user.at("wsdol.method");
    apply_config_json(lm.config, user.at("wsdol.config"), checkpoint);
    lm.class_names = split_json_names(user.at("wsdol.classes"), checkpoint);
    if (!dataset_classes.empty())
        WSDOL_CHECK(dataset_classes == lm.class_names, "classes of the dataset (", join(dataset_classes),
                    ") differ from the classes of ", checkpoint, " (", join(lm.class_names), ")");
    lm.generator = std::make_unique<Generator>(lm.config.seed * 2 + 1);
    models::MethodConfig mc;
    mc.class_names = lm.class_names;
    for (const auto& [key, value] : option_overrides) lm.config.options[key] = value;
    mc.options = lm.config.options;
    mc.clip_checkpoint = clip;
    mc.clip_vocab = clip_vocab;
    mc.generator = lm.generator.get();
    mc.weights_from_checkpoint = true;
    lm.method = models::make_method(lm.config.method, mc);
    io::Checkpoint ckpt;
    ckpt.model = lm.method->network().state_dict();
    ckpt.generators = {{"model", lm.generator.get()}};
    const Generator saved_default = default_generator();
    io::load_checkpoint(checkpoint, ckpt);
    default_generator() = saved_default;  // loading a model must not move this process's default stream
    lm.step = ckpt.step;
    return lm;
}

LoadedMethod load_released_method(const std::string& method, const std::string& weights,
                                  const std::vector<std::string>& class_names,
                                  const std::map<std::string, std::string>& option_overrides) {
    const models::MethodInfo& info = models::method_info(method);
    WSDOL_CHECK(info.from_release, method, ": reads no released checkpoint layout (train it with `wsdol train`, "
                "then infer with --checkpoint)");
    WSDOL_CHECK(fs::is_regular_file(weights), "--weights ", weights, ": file not found");
    LoadedMethod lm;
    lm.config.method = method;
    lm.class_names = class_names;
    lm.generator = std::make_unique<Generator>(1);
    models::MethodConfig mc;
    mc.class_names = class_names;
    mc.options = option_overrides;
    mc.generator = lm.generator.get();
    mc.weights_from_checkpoint = true;
    lm.method = info.from_release(weights, mc);
    lm.config.options = mc.options_used();
    lm.config.recipe = lm.method->recipe();
    return lm;
}

}  // namespace wsdol::train
