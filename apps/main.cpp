// main.cpp — the `wsdol` program: dispatches to the subcommands registered in apps/cmd_*.cpp.
// Errors (wsdol::Error) print as "wsdol NAME: message" with exit code 1 (once: a message that already begins with
// the command name is not prefixed twice); bad usage exits 2.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "engine/core/error.h"
#include "engine/core/parse.h"

namespace wsdol::cli {

namespace {
std::map<std::string, Command>& table() {
    static std::map<std::string, Command> t;
    return t;
}
}  // namespace

bool register_command(Command command) {
    table()[command.name] = std::move(command);
    return true;
}
const std::map<std::string, Command>& commands() { return table(); }

Args::Args(const std::string& command, const std::vector<std::string>& argv,
           const std::vector<std::string>& value_options, const std::vector<std::string>& flag_options)
    : command_(command) {
    auto is_in = [](const std::vector<std::string>& v, const std::string& s) {
        for (const auto& x : v)
            if (x == s) return true;
        return false;
    };
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a.size() > 2 && a.rfind("--", 0) == 0) {
            std::string key = a.substr(2), value;
            const size_t eq = key.find('=');
            const bool inline_value = eq != std::string::npos;
            if (inline_value) {
                value = key.substr(eq + 1);
                key = key.substr(0, eq);
            }
            // Deprecated spellings (one CLI vocabulary across commands): accepted with a notice on stderr.
            static const std::pair<const char*, const char*> kDeprecated[] = {{"batch", "batch-size"}};
            for (const auto& [old_key, new_key] : kDeprecated) {
                if (key == old_key && !is_in(value_options, key) && !is_in(flag_options, key) &&
                    is_in(value_options, new_key)) {
                    std::fprintf(stderr, "wsdol %s: --%s is deprecated, use --%s\n", command_.c_str(), old_key, new_key);
                    key = new_key;
                }
            }
            if (is_in(flag_options, key)) {
                WSDOL_CHECK(!inline_value, command_, ": option --", key, " takes no value");
                flags_[key] = true;
            } else if (is_in(value_options, key)) {
                if (!inline_value) {
                    WSDOL_CHECK(i + 1 < argv.size(), command_, ": option --", key, " needs a value");
                    value = argv[++i];
                }
                values_[key] = value;
                all_values_[key].push_back(value);
            } else {
                fail(str(command_, ": unknown option --", key, " (see wsdol ", command_, " --help)"));
            }
        } else {
            positional_.push_back(a);
        }
    }
}

std::optional<std::string> Args::get(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}
std::vector<std::string> Args::get_all(const std::string& key) const {
    auto it = all_values_.find(key);
    return it == all_values_.end() ? std::vector<std::string>{} : it->second;
}
std::vector<std::pair<std::string, std::string>> Args::key_values(const std::string& key) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const std::string& item : get_all(key)) {
        const size_t eq = item.find('=');
        WSDOL_CHECK(eq != std::string::npos && eq > 0, command_, ": --", key, " expects key=value, got '", item, "'");
        out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
    return out;
}
std::string Args::get_or(const std::string& key, const std::string& fallback) const {
    return get(key).value_or(fallback);
}
long long Args::get_int(const std::string& key, long long fallback) const {
    auto v = get(key);
    return v ? parse_integer(str(command_, ": --", key), *v) : fallback;
}
double Args::get_double(const std::string& key, double fallback) const {
    auto v = get(key);
    return v ? parse_number(str(command_, ": --", key), *v) : fallback;
}
bool Args::flag(const std::string& key) const { return flags_.count(key) > 0; }

}  // namespace wsdol::cli

namespace {
void print_help() {
    std::printf("wsdol — weakly supervised dense object localization engine\n\nusage: wsdol COMMAND [options]\n\ncommands:\n");
    for (const auto& [name, cmd] : wsdol::cli::commands()) std::printf("  %-10s %s\n", name.c_str(), cmd.summary.c_str());
    std::printf("\n`wsdol COMMAND --help` describes a command.\n");
}
}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        print_help();
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") args[0] = "version";
    auto it = wsdol::cli::commands().find(args[0]);
    if (it == wsdol::cli::commands().end()) {
        std::fprintf(stderr, "wsdol: unknown command '%s' (see wsdol --help)\n", args[0].c_str());
        return 2;
    }
    const wsdol::cli::Command& cmd = it->second;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    for (const auto& a : rest) {
        if (a == "--help" || a == "-h") {
            std::printf("%s\n", cmd.usage.c_str());
            return 0;
        }
    }
    try {
        return cmd.run(rest);
    } catch (const wsdol::Error& e) {
        // Messages that already start with the command ("eval: ...", "tokenize --train: ...") get only "wsdol ".
        const std::string message = e.what();
        const bool named = message.rfind(cmd.name, 0) == 0 && message.size() > cmd.name.size() &&
                           (message[cmd.name.size()] == ':' || message[cmd.name.size()] == ' ');
        if (named) std::fprintf(stderr, "wsdol %s\n", message.c_str());
        else std::fprintf(stderr, "wsdol %s: %s\n", cmd.name.c_str(), message.c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "wsdol %s: internal error: %s\n", cmd.name.c_str(), e.what());
        return 1;
    }
}
