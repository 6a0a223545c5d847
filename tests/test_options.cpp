// test_options.cpp — one option vocabulary (engine/core/parse.h): for every registered method an unknown option
// and a malformed value are errors naming the key and the valid keys or form; the same boolean words work in
// method options, settings and CLI flags; shape options are checked before anything is allocated.
#include <gtest/gtest.h>

#include "engine/core/parse.h"
#include "models/method_registry.h"
#include "models/mmcst_method.h"
#include "runner/trainer.h"
#include "tests/cli_test_util.h"
#include "tests/error_matchers.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

models::MethodConfig config_of(std::map<std::string, std::string> options, Generator* gen) {
    models::MethodConfig c;
    c.class_names = {"a", "b", "c"};
    c.options = std::move(options);
    c.generator = gen;
    c.weights_from_checkpoint = true;  // no pretrained files: only the options matter here
    return c;
}

// Small shape options for the methods that read them (the defaults are ViT-B/DeiT-S sized).
const std::map<std::string, std::string> kSmall = {{"image_size", "32"}, {"patch_size", "8"}, {"embed_dim", "32"},
                                                   {"depth", "4"}, {"num_heads", "2"}};
// (depth 4: ToCo/DIAL take block -3, CDTR's OCM depth - 3 blocks)

// Options that let a method build without any file (a method whose default needs a CLIP or a backbone file).
const std::map<std::string, std::map<std::string, std::string>> kWithoutFiles = {
    {"cdtr", {{"sba", "false"}}}};

// `extra` over the small shapes when the method reads them, else over its defaults.
models::MethodConfig small_config(const std::string& method, std::map<std::string, std::string> extra, Generator* gen) {
    if (auto it = kWithoutFiles.find(method); it != kWithoutFiles.end())
        for (const auto& kv : it->second) extra.insert(kv);
    std::map<std::string, std::string> o = extra;
    for (const auto& kv : kSmall) o.insert(kv);
    try {
        models::make_method(method, config_of(o, gen));
        return config_of(o, gen);
    } catch (const Error& e) {
        if (std::string(e.what()).find("unknown option") == std::string::npos) return config_of(o, gen);
        return config_of(extra, gen);
    }
}

TEST(Options, EveryMethodNamesAnUnknownOptionAndListsTheValidOnes) {
    for (const auto& info : models::registered_methods()) {
        Generator gen(1);
        models::MethodConfig defaults = small_config(info.name, {}, &gen);
        ASSERT_NO_THROW(info.make(defaults)) << info.name << " must build from its (small) defaults";
        models::MethodConfig unknown = small_config(info.name, {}, &gen);
        unknown.options["no_such_option"] = "1";
        test::expect_error([&] { models::make_method(info.name, unknown); },
                           {"method " + info.name, "unknown option 'no_such_option'", "valid options:"});
        // A malformed value of a numeric and of a boolean option is an error naming the option and the form (the
        // first of each kind the method reads: every method parses through the same engine/core/parse.h).
        bool tested_number = false, tested_boolean = false;
        for (const auto& [key, value] : defaults.options_used()) {
            bool numeric = true;
            const bool boolean = value == "true" || value == "false";
            try {
                parse_number("x", value);
            } catch (const Error&) {
                numeric = false;
            }
            if ((!numeric && !boolean) || (boolean && tested_boolean) || (!boolean && tested_number)) continue;
            (boolean ? tested_boolean : tested_number) = true;
            models::MethodConfig bad = small_config(info.name, {}, &gen);
            bad.options[key] = "abc";
            test::expect_error([&] { models::make_method(info.name, bad); },
                               {"method option '" + key + "'", boolean ? "expected a boolean" : "expected"});
        }
    }
}

TEST(Options, TheSameBooleanWordsEverywhere) {
    const std::vector<std::pair<std::string, bool>> words = {{"true", true},  {"yes", true}, {"on", true},
                                                             {"1", true},     {"false", false}, {"no", false},
                                                             {"off", false},  {"0", false}};
    for (const auto& [word, value] : words) {
        EXPECT_EQ(parse_boolean("w", word), value) << word;
        models::MethodConfig c;
        c.options = {{"flag", word}};
        EXPECT_EQ(c.get_bool("flag", !value), value) << word;
        // MCTformer reads its switches through its own table (v1) and the shared getter (patch_refine).
        Generator gen(1);
        std::map<std::string, std::string> o = kSmall;
        o["patch_refine"] = word;
        o["learnable_temperature"] = word;
        models::MethodConfig mc = config_of(o, &gen);
        auto m = models::make_method("mctformer", mc);
        EXPECT_EQ(mc.options_used().at("patch_refine"), value ? "true" : "false") << word;
        auto* mm = dynamic_cast<models::MmcstMethod*>(m.get());
        ASSERT_NE(mm, nullptr);
        EXPECT_EQ(mm->net().cfg.learnable_temperature, value) << word;
        // Trainer settings.
        train::TrainSettings s;
        s.set("force", word);
        EXPECT_NO_THROW(s.set("resume", word));
    }
    test::expect_error([] { parse_boolean("method option 'v1'", "ja"); },
                       {"method option 'v1'", "true | false, yes | no, on | off, 1 | 0", "'ja'"});
    test::expect_error([] { parse_integer("setting 'epochs'", "2.5"); }, {"setting 'epochs'", "integer", "'2.5'"});
    test::expect_error([] { parse_number("setting 'lr'", "nan"); }, {"setting 'lr'", "number", "'nan'"});
}

TEST(Options, ShapeOptionsAreCheckedBeforeBuilding) {
    Generator gen(1);
    const std::vector<std::pair<std::map<std::string, std::string>, std::vector<std::string>>> cases = {
        {{{"patch_size", "0"}}, {"patch_size must be >= 1"}},
        {{{"patch_size", "7"}}, {"image_size (64)", "multiple of patch_size (7)"}},
        {{{"num_heads", "0"}}, {"num_heads must be >= 1"}},
        {{{"num_heads", "5"}}, {"embed_dim (96)", "multiple of num_heads (5)"}},
        {{{"depth", "0"}}, {"depth must be >= 1"}},
        {{{"embed_dim", "0"}}, {"embed_dim (0)"}},
        {{{"depth", "1000000"}}, {"depth 1000000", "GB to train", "memory"}},
        {{{"drop_path_rate", "1.5"}}, {"drop_path_rate must be in [0, 1)"}},
    };
    for (const std::string method : {"cam", "vit_classifier", "mctformer"}) {
        for (const auto& [options, wanted] : cases) {
            std::map<std::string, std::string> o = options;
            if (method != "mctformer") o.emplace("image_size", "64");
            if (method == "mctformer") {
                o.emplace("image_size", "64");
                o.emplace("embed_dim", "96");
                o.emplace("num_heads", "3");
                o.emplace("patch_size", "8");
                o.emplace("depth", "2");
            } else {
                o.emplace("embed_dim", "96");
                o.emplace("num_heads", "3");
                o.emplace("patch_size", "8");
            }
            std::vector<std::string> w = wanted;
            w.push_back(method);
            test::expect_error([&] { models::make_method(method, config_of(o, &gen)); }, w);
        }
    }
    test::expect_error([&] { models::make_method("tinycam", config_of({{"width", "0"}}, &gen)); },
                       {"tinycam: option width must be in 1..4096, got 0"});
}

}  // namespace
}  // namespace wsdol
