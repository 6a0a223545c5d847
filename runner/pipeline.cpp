// pipeline.cpp — declared chains of train/infer stages (see pipeline.h).
#include "runner/pipeline.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/core/error.h"
#include "engine/core/parse.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json.h"
#include "engine/io/output_dir.h"
#include "models/clip_checkpoint.h"
#include "runner/infer.h"
#include "runner/trainer.h"

namespace wsdol::train {

namespace fs = std::filesystem;

namespace {

std::string scalar_text(const json::Value& v, const std::string& where) {
    if (v.is_string()) return v.as_string();
    if (v.is_number()) return v.number_text();
    if (v.is_bool()) return v.as_bool() ? "true" : "false";
    fail(str(where, ": expected a string, number or boolean"));
}

// ${name} and ${stage:NAME} in `text`.
std::string substitute(const std::string& text, const std::map<std::string, std::string>& vars,
                       const std::map<std::string, std::string>& earlier, const std::string& where) {
    std::string out;
    size_t pos = 0;
    while (true) {
        const size_t a = text.find("${", pos);
        if (a == std::string::npos) break;
        const size_t b = text.find('}', a);
        WSDOL_CHECK(b != std::string::npos, where, ": unterminated ${ in '", text, "'");
        out += text.substr(pos, a - pos);
        const std::string key = text.substr(a + 2, b - a - 2);
        if (key.rfind("stage:", 0) == 0) {
            auto it = earlier.find(key.substr(6));
            WSDOL_CHECK(it != earlier.end(), where, ": ${", key, "} names no earlier stage");
            out += it->second;
        } else {
            auto it = vars.find(key);
            WSDOL_CHECK(it != vars.end(), where, ": variable ${", key, "} is not defined (\"vars\" or --var)");
            out += it->second;
        }
        pos = b + 1;
    }
    return out + text.substr(pos);
}

// The canonical text of a stage (what its done file records).
std::string stage_text(const PipelineStage& s) {
    json::Value v = json::Value::object();
    v.set("run", s.run);
    json::Value settings = json::Value::object(), options = json::Value::object(), inputs = json::Value::object();
    for (const auto& [k, x] : s.settings) settings.set(k, x);
    for (const auto& [k, x] : s.options) options.set(k, x);
    for (const auto& [k, x] : s.inputs) inputs.set(k, x);
    v.set("settings", settings);
    v.set("options", options);
    v.set("inputs", inputs);
    return json::dump(v) + "\n";
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The files the stages that will run read, checked before the first stage starts (so a wrong CLIP or a missing
// file never costs the training of the stages before it):
//   a path inside the folder of a stage that runs in this call is checked when its reader starts (train/infer
//   name it then); one inside a finished, skipped stage's folder must exist now (a missing stage output);
//   any other path must exist; a "clip" file must hold a whole CLIP (models::check_clip_file).
// will_run[i]: stage i runs in this call.
void check_stage_files(const Pipeline& p, const std::string& out_dir, const std::vector<bool>& will_run) {
    auto producer = [&](const std::string& path) -> int {  // the stage whose folder holds `path`, else -1
        for (size_t j = 0; j < p.stages.size(); ++j) {
            const std::string dir = (fs::path(out_dir) / p.stages[j].name).string();
            if (path == dir || path.rfind(dir + "/", 0) == 0) return int(j);
        }
        return -1;
    };
    for (size_t i = 0; i < p.stages.size(); ++i) {
        if (!will_run[i]) continue;
        const PipelineStage& s = p.stages[i];
        std::vector<std::pair<std::string, std::string>> files;  // (key, path)
        for (const char* key : {"data", "clip", "clip_vocab", "backbone", "checkpoint", "weights"}) {
            auto it = s.settings.find(key);
            if (it != s.settings.end() && !it->second.empty()) files.emplace_back(key, it->second);
        }
        for (const auto& [k, v] : s.inputs)
            if (!v.empty()) files.emplace_back("inputs." + k, v);
        for (const auto& [key, path] : files) {
            const std::string where = str("pipeline stage '", s.name, "': ", key, " ", path);
            const int j = producer(path);
            if (j >= 0 && will_run[size_t(j)]) continue;
            if (j >= 0)
                WSDOL_CHECK(fs::exists(path), where, " does not exist: stage '", p.stages[size_t(j)].name,
                            "' finished earlier but this output of it is missing (--force reruns the stages)");
            WSDOL_CHECK(fs::exists(path), where, " does not exist");
            if (key == "data") WSDOL_CHECK(fs::is_directory(path), where, " is not a folder");
            if (key == "clip") models::check_clip_file(path, str("pipeline stage '", s.name, "': clip"));
        }
    }
}

}  // namespace

Pipeline read_pipeline(const std::string& path, const std::string& out_dir,
                       const std::map<std::string, std::string>& overrides) {
    WSDOL_CHECK(fs::is_regular_file(path), path, ": pipeline file not found");
    json::Value root;
    try {
        root = json::parse(read_text(path));
    } catch (const Error& e) {
        fail(str(path, ": ", e.what()));
    }
    WSDOL_CHECK(root.is_object(), path, ": a pipeline is a JSON object with \"stages\"");
    for (const auto& [k, v] : root.members())
        WSDOL_CHECK(k == "vars" || k == "stages" || k == "comment", path, ": unknown key '", k,
                    "' (valid: vars, stages, comment)");
    std::map<std::string, std::string> vars;
    if (const json::Value* v = root.find("vars")) {
        WSDOL_CHECK(v->is_object(), path, ": \"vars\" must be an object");
        for (const auto& [k, x] : v->members()) vars[k] = scalar_text(x, str(path, ": vars.", k));
    }
    for (const auto& [k, x] : overrides) vars[k] = x;
    const json::Value* stages = root.find("stages");
    WSDOL_CHECK(stages && stages->is_array() && !stages->items().empty(), path, ": \"stages\" must be a non-empty array");
    Pipeline p;
    std::map<std::string, std::string> earlier;
    for (size_t i = 0; i < stages->items().size(); ++i) {
        const json::Value& st = stages->items()[i];
        const std::string where0 = str(path, ": stage ", i + 1);
        WSDOL_CHECK(st.is_object(), where0, ": must be an object");
        PipelineStage s;
        for (const auto& [k, v] : st.members())
            WSDOL_CHECK(k == "name" || k == "run" || k == "settings" || k == "comment", where0, ": unknown key '", k,
                        "' (valid: name, run, settings, comment)");
        WSDOL_CHECK(st.find("name") && st.at("name").is_string(), where0, ": needs a \"name\"");
        s.name = st.at("name").as_string();
        const std::string where = str(path, ": stage '", s.name, "'");
        WSDOL_CHECK(!s.name.empty() && s.name.find_first_of("/\\.") == std::string::npos, where,
                    ": a stage name is a plain folder name");
        WSDOL_CHECK(!earlier.count(s.name), where, ": two stages have this name");
        s.run = st.find("run") ? scalar_text(st.at("run"), where + ": run") : "";
        parse_choice(where + ": run", s.run, {"train", "infer"});
        if (const json::Value* set = st.find("settings")) {
            WSDOL_CHECK(set->is_object(), where, ": \"settings\" must be an object");
            for (const auto& [k, v] : set->members()) {
                if (k == "options" || k == "inputs") {
                    WSDOL_CHECK(v.is_object(), where, ": \"", k, "\" must be an object");
                    for (const auto& [ok, ov] : v.members())
                        (k == "options" ? s.options : s.inputs)[ok] =
                            substitute(scalar_text(ov, where + ": " + k + "." + ok), vars, earlier, where);
                    continue;
                }
                WSDOL_CHECK(k != "out", where, ": \"out\" is set by the pipeline (", out_dir, "/", s.name, ")");
                s.settings[k] = substitute(scalar_text(v, where + ": " + k), vars, earlier, where);
            }
        }
        WSDOL_CHECK(s.run != "infer" || s.inputs.empty(), where, ": an infer stage takes no \"inputs\"");
        earlier[s.name] = (fs::path(out_dir) / s.name).string();
        p.stages.push_back(std::move(s));
    }
    return p;
}

PipelineResult run_pipeline(const Pipeline& p, const PipelineOptions& o) {
    auto say = [&](const std::string& line) {
        if (o.log) o.log(line);
    };
    // Which stages run in this call (the loop below decides the same way), then their files, before anything runs.
    std::vector<bool> will_run;
    for (bool redo = o.force; const PipelineStage& s : p.stages) {
        const bool run = redo || !fs::exists(fs::path(o.out) / (s.name + ".done"));
        will_run.push_back(run);
        redo = redo || run;
    }
    check_stage_files(p, o.out, will_run);
    io::OutputDir out(o.out, "pipeline", io::Reuse::resume);
    PipelineResult result;
    bool redo_rest = o.force;
    for (const PipelineStage& s : p.stages) {
        const std::string done_name = s.name + ".done", text = stage_text(s);
        const std::string done_path = (fs::path(o.out) / done_name).string();
        const bool was_done = fs::exists(done_path);
        if (!redo_rest && was_done) {
            WSDOL_CHECK(read_text(done_path) == text, "pipeline: stage '", s.name, "' finished earlier with other "
                        "settings (", done_path, "); --force reruns it and the stages after it");
            say(str("stage ", s.name, ": finished earlier, skipped"));
            result.skipped.push_back(s.name);
            continue;
        }
        // A finished stage that runs again (an earlier stage ran, or --force) starts over; an interrupted one
        // (its folder without a done file) continues. Only what earlier runs created is removed.
        if (out.created(done_name)) out.remove(done_name);
        if ((was_done || o.force) && out.created(s.name)) out.remove(s.name);
        const std::string dir = out.path(s.name);
        say(str("stage ", s.name, ": ", s.run, " -> ", dir));
        if (s.run == "train") {
            TrainSettings ts;
            for (const auto& [k, v] : s.settings) ts.set(k, v);
            for (const auto& [k, v] : s.options) ts.set("options." + k, v);
            for (const auto& [k, v] : s.inputs) ts.set("inputs." + k, v);
            ts.set("out", dir);
            if (fs::exists(checkpoint_path(dir))) ts.set("resume", "true");  // an interrupted stage continues
            if (o.stop_after_steps >= 0) ts.set("stop_after", std::to_string(o.stop_after_steps));
            TrainHooks hooks;
            hooks.log = o.log;
            const TrainResult r = train(ts, hooks);
            if (!r.finished) {
                say(str("stage ", s.name, ": stopped at step ", r.last_step, "/", r.total_steps,
                        " (the next run resumes it)"));
                return result;
            }
        } else {
            InferOptions io_;
            io_.out = dir;
            for (const auto& [k, v] : s.settings) {
                if (k == "checkpoint") io_.checkpoint = v;
                else if (k == "weights") io_.weights = v;
                else if (k == "method") io_.method = v;
                else if (k == "data") io_.data = v;
                else if (k == "split") io_.split = v;
                else if (k == "dataset_kind") io_.dataset_kind = v;
                else if (k == "clip") io_.clip = v;
                else if (k == "clip_vocab") io_.clip_vocab = v;
                else if (k == "threshold") io_.threshold = parse_number("pipeline stage '" + s.name + "': threshold", v);
                else if (k == "max_images")
                    io_.max_images = parse_integer("pipeline stage '" + s.name + "': max_images", v);
                else
                    fail(str("pipeline stage '", s.name, "': unknown infer setting '", k, "' (valid: checkpoint, weights, "
                             "method, data, split, dataset_kind, clip, clip_vocab, threshold, max_images, options)"));
            }
            io_.method_options = s.options;
            const InferResult r = run_inference(io_);
            if (r.evaluated)
                say(str("stage ", s.name, ": seed mIoU ", number_text(r.mctformer_miou), " (MCTformer sweep), best ",
                        number_text(r.best_miou)));
            if (r.segmentation_evaluated)
                say(str("stage ", s.name, ": segmentation mIoU ", number_text(r.segmentation_miou)));
        }
        io::write_file_atomic(out.path(done_name), text);
        result.ran.push_back(s.name);
        redo_rest = true;
        if (s.name == o.stop_after_stage) return result;
    }
    result.finished = true;
    return result;
}

}  // namespace wsdol::train
