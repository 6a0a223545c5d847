// cli_lists.h — options that take several values (`--image a.png b.png --image c.png`), for commands that work on
// lists of files or texts. cli::Args keeps one value per option; take_lists() pulls the list options out first and
// hands the rest to Args.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace wsdol::cli {

struct ListArgs {
    std::map<std::string, std::vector<std::string>> lists;  // option name -> values, in command-line order
    std::vector<std::string> rest;                          // everything else, for cli::Args
};

// `--NAME v1 v2 ...` takes every following argument up to the next one that starts with "--" (and is longer than
// two characters); `--NAME=v` takes exactly one value (so a value that starts with "--" can be given this way).
// An option may repeat; its values accumulate. `--NAME` followed by no value is an error naming the option.
inline ListArgs take_lists(const std::string& command, const std::vector<std::string>& argv,
                           const std::vector<std::string>& list_options) {
    auto is_option = [](const std::string& a) { return a.size() > 2 && a.rfind("--", 0) == 0; };
    ListArgs out;
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        const std::string* list = nullptr;  // the list option `a` opens (`--NAME v1 v2 ...`)
        bool inline_value = false;          // `--NAME=v`
        if (is_option(a)) {
            for (const std::string& name : list_options) {
                if (a == "--" + name) {
                    list = &name;
                } else if (a.rfind("--" + name + "=", 0) == 0) {
                    out.lists[name].push_back(a.substr(name.size() + 3));
                    inline_value = true;
                }
                if (list || inline_value) break;
            }
        }
        if (list) {
            size_t taken = 0;
            while (i + 1 < argv.size() && !is_option(argv[i + 1])) {
                out.lists[*list].push_back(argv[++i]);
                ++taken;
            }
            WSDOL_CHECK(taken > 0, command, ": option --", *list, " needs at least one value");
        } else if (!inline_value) {
            out.rest.push_back(a);
        }
    }
    return out;
}

}  // namespace wsdol::cli
