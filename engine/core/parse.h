// parse.h — the one vocabulary for numbers and booleans in text settings: CLI flags, config files, `--set`
// method options and stored checkpoint configurations all read through these, so the same words work everywhere.
//   numbers   decimal or scientific ("5e-4"), finite; integers: optional sign and digits only
//   booleans  true | false, yes | no, on | off, 1 | 0 (exactly these, lower case)
// Errors name `what` (e.g. "setting 'lr'", "method option 'depth'", "--threads"), the text and the expected form.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace wsdol {

double parse_number(const std::string& what, const std::string& text);
int64_t parse_integer(const std::string& what, const std::string& text);
bool parse_boolean(const std::string& what, const std::string& text);
// `text` when it is one of `allowed`, else an error listing them.
std::string parse_choice(const std::string& what, const std::string& text, const std::vector<std::string>& allowed);
// Shortest text that reads back to the same double.
std::string number_text(double v);
inline constexpr const char* kBooleanWords = "true | false, yes | no, on | off, 1 | 0";

}  // namespace wsdol
