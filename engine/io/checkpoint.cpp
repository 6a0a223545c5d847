// checkpoint.cpp — save/load of training checkpoints (layout in checkpoint.h).
#include "engine/io/checkpoint.h"

#include <set>

#include "engine/autograd/autograd.h"
#include "engine/io/json.h"

namespace wsdol::io {
namespace {

constexpr const char* kModelPrefix = "model.";
constexpr const char* kOptimPrefix = "optim.";

// The generators to save/restore: the caller's, plus the default generator unless one is named "default".
std::vector<std::pair<std::string, Generator*>> all_generators(const Checkpoint& ck) {
    auto gens = ck.generators;
    bool has_default = false;
    for (const auto& [name, g] : gens) {
        WSDOL_CHECK(g, "checkpoint: generator '", name, "' is null");
        has_default = has_default || name == "default";
    }
    if (!has_default) gens.emplace_back("default", &default_generator());
    std::set<std::string> seen;
    for (const auto& [name, g] : gens) WSDOL_CHECK(seen.insert(name).second, "checkpoint: generator '", name, "' listed twice");
    return gens;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& ck) {
    NamedTensors tensors;
    std::set<std::string> names;
    for (const auto& [name, t] : ck.model) {
        WSDOL_CHECK(names.insert(name).second, "checkpoint ", path, ": model tensor '", name, "' listed twice");
        tensors.emplace_back(kModelPrefix + name, t);
    }

    json::Value meta = json::Value::object();
    meta.set("version", json::Value(kCheckpointVersion));
    meta.set("step", json::Value(ck.step));
    meta.set("epoch", json::Value(ck.epoch));
    if (ck.optimizer) {
        const optim::OptimizerState st = ck.optimizer->export_state();
        json::Value opt = json::Value::object();
        opt.set("type", json::Value(st.type));
        json::Value groups = json::Value::array();
        for (const auto& g : st.groups) {
            json::Value names_json = json::Value::array();
            for (const std::string& n : g) names_json.push_back(json::Value(n));
            groups.push_back(std::move(names_json));
        }
        opt.set("groups", std::move(groups));
        json::Value scalars = json::Value::object();
        for (const auto& [k, v] : st.scalars) scalars.add_member(k, json::Value(v));
        opt.set("scalars", std::move(scalars));
        meta.set("optimizer", std::move(opt));
        for (const auto& [name, t] : st.tensors) tensors.emplace_back(kOptimPrefix + name, t);
    } else {
        meta.set("optimizer", json::Value());
    }
    if (ck.schedule) {
        json::Value sch = json::Value::object();
        sch.set("type", json::Value(ck.schedule->type_name()));
        json::Value state = json::Value::object();
        for (const auto& [k, v] : ck.schedule->state()) state.add_member(k, json::Value(v));
        sch.set("state", std::move(state));
        meta.set("schedule", std::move(sch));
    } else {
        meta.set("schedule", json::Value());
    }
    json::Value gens = json::Value::object();
    for (const auto& [name, g] : all_generators(ck)) {
        json::Value s = json::Value::object();
        s.set("seed", json::Value(static_cast<uint64_t>(g->seed())));
        s.set("offset", json::Value(static_cast<uint64_t>(g->offset())));
        gens.add_member(name, std::move(s));
    }
    meta.set("generators", std::move(gens));
    json::Value user = json::Value::object();
    for (const auto& [k, v] : ck.user) user.add_member(k, json::Value(v));
    meta.set("user", std::move(user));

    save_safetensors(path, tensors, {{kCheckpointMetadataKey, json::dump(meta)}});
}

void load_checkpoint(const std::string& path, Checkpoint& ck) {
    const SafetensorsFile file(path);
    const std::string where = "checkpoint " + path;
    auto it = file.metadata().find(kCheckpointMetadataKey);
    WSDOL_CHECK(it != file.metadata().end(), where, ": not a wsdol training checkpoint (no '", kCheckpointMetadataKey,
                "' metadata)");
    json::Value meta;
    try {
        meta = json::parse(it->second);
        WSDOL_CHECK(meta.is_object(), "the metadata is not a JSON object");
        const int64_t version = meta.at("version").as_int64();
        WSDOL_CHECK(version == kCheckpointVersion, "version ", version, " is not supported (this build reads ",
                    kCheckpointVersion, ")");
    } catch (const Error& e) {
        fail(str(where, ": invalid checkpoint metadata: ", e.what()));
    }
    // Errors inside the metadata name the file and the failing part.
    auto meta_error = [&](const std::string& part, const Error& e) { fail(str(where, ": ", part, ": ", e.what())); };

    // ---- model: validate names, shapes and dtypes before touching anything
    std::set<std::string> wanted;
    for (const auto& [name, t] : ck.model) {
        WSDOL_CHECK(t.defined(), where, ": model tensor '", name, "' is undefined");
        const std::string key = kModelPrefix + name;
        wanted.insert(key);
        WSDOL_CHECK(file.contains(key), where, ": missing tensor '", key, "'");
        const SafetensorsEntry& e = file.entry(key);
        WSDOL_CHECK(e.dtype == safetensors_dtype_name(t.dtype()) && e.shape == t.shape(), where, ": tensor '", key,
                    "' is ", e.dtype, " ", shape_str(e.shape), " in the file but ", safetensors_dtype_name(t.dtype()),
                    " ", shape_str(t.shape()), " in the model");
    }
    for (const SafetensorsEntry& e : file.entries()) {
        if (starts_with(e.name, kModelPrefix))
            WSDOL_CHECK(wanted.count(e.name), where, ": unexpected tensor '", e.name, "' (not in the model)");
        else
            WSDOL_CHECK(starts_with(e.name, kOptimPrefix), where, ": unexpected tensor '", e.name,
                        "' (neither model. nor optim.)");
    }

    // ---- generators
    std::vector<std::pair<Generator*, std::pair<uint64_t, uint64_t>>> gen_states;
    for (const auto& [name, g] : all_generators(ck)) {
        try {
            const json::Value& s = meta.at("generators").at(name);
            gen_states.push_back({g, {s.at("seed").as_uint64(), s.at("offset").as_uint64()}});
        } catch (const Error& e) {
            meta_error("generator '" + name + "'", e);
        }
    }

    // ---- step, epoch, user metadata
    int64_t step = 0, epoch = 0;
    StringMap user;
    try {
        step = meta.at("step").as_int64();
        epoch = meta.at("epoch").as_int64();
        for (const auto& [k, v] : meta.at("user").members()) user[k] = v.as_string();
    } catch (const Error& e) {
        meta_error("step/epoch/user", e);
    }

    // ---- optimizer (its import validates fully before changing anything)
    if (ck.optimizer) {
        optim::OptimizerState st;
        try {
            const json::Value& opt = meta.at("optimizer");
            WSDOL_CHECK(!opt.is_null(), "the checkpoint holds no optimizer state");
            st.type = opt.at("type").as_string();
            for (const json::Value& g : opt.at("groups").items()) {
                std::vector<std::string> names;
                for (const json::Value& n : g.items()) names.push_back(n.as_string());
                st.groups.push_back(std::move(names));
            }
            for (const auto& [k, v] : opt.at("scalars").members()) st.scalars[k] = v.as_double();
        } catch (const Error& e) {
            meta_error("optimizer", e);
        }
        for (const SafetensorsEntry& e : file.entries())
            if (starts_with(e.name, kOptimPrefix))
                st.tensors.emplace_back(e.name.substr(std::string(kOptimPrefix).size()), file.tensor(e.name));
        ck.optimizer->import_state(st, where);
    }

    // ---- schedule
    if (ck.schedule) {
        optim::ScheduleState state;
        try {
            const json::Value& sch = meta.at("schedule");
            WSDOL_CHECK(!sch.is_null(), "the checkpoint holds no schedule state");
            const std::string type = sch.at("type").as_string();
            WSDOL_CHECK(type == ck.schedule->type_name(), "the checkpoint's schedule is ", type, ", not ",
                        ck.schedule->type_name());
            for (const auto& [k, v] : sch.at("state").members()) state[k] = v.as_double();
        } catch (const Error& e) {
            meta_error("schedule", e);
        }
        ck.schedule->load_state(state, where);
    }

    // ---- commit: model tensors, generators, counters
    {
        NoGradGuard no_grad;
        for (auto& [name, t] : ck.model) t.copy_(file.tensor(kModelPrefix + name));
    }
    for (auto& [g, s] : gen_states) g->set_state(s.first, s.second);
    ck.step = step;
    ck.epoch = epoch;
    ck.user = std::move(user);
}

}  // namespace wsdol::io
