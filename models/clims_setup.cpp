// clims_setup.cpp — CLIMS stage-0 loading, frozen CLIP, prompts and text bank (see clims_setup.h).
#include "models/clims_setup.h"

#include <algorithm>
#include <map>

#include "engine/autograd/autograd.h"
#include "engine/core/error.h"
#include "engine/data/synth.h"
#include "models/frozen_clip.h"
#include "weights/weights_file.h"

namespace wsdol::models {

void load_clims_stage0_file(ClimsNetwork& net, const std::string& path) {
    const weights::WeightsFile file = weights::read_weights(path);  // errors name the file
    WSDOL_CHECK(!file.tensors.empty(), "clims: ", path, " holds no tensors");
    // A wsdol training checkpoint (engine/io/checkpoint.h): the model under "model.", the optimizer under "optim."
    const bool ours = std::all_of(file.tensors.begin(), file.tensors.end(), [](const auto& kv) {
        return kv.first.rfind("model.", 0) == 0 || kv.first.rfind("optim.", 0) == 0;
    });
    NamedTensors state;
    for (const auto& [name, t] : file.tensors) {
        if (!ours) state.emplace_back(name, t);
        else if (name.rfind("model.", 0) == 0) state.emplace_back(name.substr(6), t);
    }
    load_clims_state(net, state, path);
}

std::shared_ptr<Clip> load_clims_clip(const std::string& path, int64_t head_width) {
    return load_frozen_clip(path, "clims", head_width);  // another architecture: an error naming the file
}

std::vector<std::string> clims_class_prompt_names(const std::vector<std::string>& class_names) {
    static const std::map<std::string, std::string> voc = {
        {"diningtable", "dining table"}, {"person", "player"}, {"pottedplant", "potted plant"},
        {"tvmonitor", "tv monitor"}};
    std::vector<std::string> out;
    for (std::string n : class_names) {
        auto it = voc.find(n);
        if (it != voc.end()) {
            out.push_back(it->second);
            continue;
        }
        std::replace(n.begin(), n.end(), '_', ' ');
        out.push_back(n);
    }
    return out;
}

namespace {
bool is_voc(const std::vector<std::string>& names) {
    static const std::vector<std::string> voc = {
        "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",   "car",  "cat",   "chair",    "cow",
        "diningtable", "dog",   "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"};
    return names == voc;
}
bool is_synth(const std::vector<std::string>& names) {
    if (names.empty() || names.size() > static_cast<size_t>(data::kSynthMaxClasses)) return false;
    return names == data::synth_class_names(static_cast<int>(names.size()));
}
}  // namespace

std::vector<std::string> clims_background_prompts(const std::string& which,
                                                  const std::vector<std::string>& class_names) {
    std::string w = which;
    if (w == "auto") {
        if (is_voc(class_names)) w = "voc";
        else if (is_synth(class_names)) w = "synth";
        else
            fail("clims: option backgrounds=auto knows the VOC classes and the synthetic benchmark only; give "
                 "backgrounds=voc, synth or a comma-separated list of background names");
    }
    if (w == "voc") return clims_voc_background_prompts();
    std::vector<std::string> names;
    if (w == "synth") {
        names = data::synth_background_names();
    } else {
        size_t pos = 0;
        while (pos <= w.size()) {
            size_t end = w.find(',', pos);
            if (end == std::string::npos) end = w.size();
            std::string n = w.substr(pos, end - pos);
            n.erase(0, n.find_first_not_of(' '));
            n.erase(n.find_last_not_of(' ') + 1);
            if (!n.empty()) names.push_back(n);
            pos = end + 1;
        }
        WSDOL_CHECK(!names.empty(), "clims: option backgrounds='", which, "' names no background");
    }
    std::vector<std::string> prompts;
    for (const auto& n : names) prompts.push_back(clims_class_prompt(n));
    return prompts;
}

ClimsTextBank clims_text_bank(Clip& clip, tok::ClipTokenizer& tokenizer, const std::vector<std::string>& class_prompts,
                              const std::vector<std::string>& background_prompts) {
    auto encode = [&](const std::vector<std::string>& prompts) {
        return frozen_prompt_features(clip, tokenizer, prompts);
    };
    WSDOL_CHECK(!class_prompts.empty(), "clims: no class prompts");
    ClimsTextBank bank;
    bank.class_text = encode(class_prompts);
    if (!background_prompts.empty()) bank.background_text = encode(background_prompts);
    return bank;
}

}  // namespace wsdol::models
