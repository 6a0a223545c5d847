// cli.h — the `wsdol` command table and a small argument parser shared by the subcommands.
// Each subcommand lives in its own apps/cmd_<name>.cpp and registers itself with WSDOL_COMMAND.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wsdol::cli {

struct Command {
    std::string name;
    std::string summary;  // one line for `wsdol --help`
    std::string usage;    // full text for `wsdol NAME --help`
    std::function<int(const std::vector<std::string>& args)> run;
};
bool register_command(Command command);
const std::map<std::string, Command>& commands();

// Parses "--key value", "--key=value" and "--flag" options; everything else is positional.
// Unknown options are an error naming the option and the command. Deprecated spellings (--batch for
// --batch-size) are accepted where the command has the new one, with a notice on stderr.
class Args {
public:
    Args(const std::string& command, const std::vector<std::string>& argv, const std::vector<std::string>& value_options,
         const std::vector<std::string>& flag_options);
    std::optional<std::string> get(const std::string& key) const;  // the last value of a repeated option
    std::vector<std::string> get_all(const std::string& key) const;  // every value, in order (e.g. --set a=1 --set b=2)
    // get_all of a "key=value" option (--set), split at the first '='; an item without one is an error.
    std::vector<std::pair<std::string, std::string>> key_values(const std::string& key) const;
    std::string get_or(const std::string& key, const std::string& fallback) const;
    long long get_int(const std::string& key, long long fallback) const;
    double get_double(const std::string& key, double fallback) const;
    bool flag(const std::string& key) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::string command_;
    std::map<std::string, std::string> values_;
    std::map<std::string, std::vector<std::string>> all_values_;
    std::map<std::string, bool> flags_;
    std::vector<std::string> positional_;
};

}  // namespace wsdol::cli

#define WSDOL_COMMAND(...) \
    static const bool WSDOL_CLI_CONCAT(wsdol_command_, __COUNTER__) = ::wsdol::cli::register_command(__VA_ARGS__)
#define WSDOL_CLI_CONCAT_INNER(a, b) a##b
#define WSDOL_CLI_CONCAT(a, b) WSDOL_CLI_CONCAT_INNER(a, b)
