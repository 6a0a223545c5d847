// cli_test_util.h — running the `wsdol` binary from a test: exit code and everything it printed.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace wsdol::test {

struct CliResult {
    int code = -1;       // exit status; -1 when the process did not exit normally
    std::string output;  // stdout and stderr, interleaved
};

// Runs `wsdol <args>` through the shell (quote arguments yourself); `stdin_file` feeds standard input.
inline CliResult run_wsdol(const std::string& args, const std::string& stdin_file = "") {
    std::string cmd = std::string(WSDOL_BINARY) + " " + args;
    if (!stdin_file.empty()) cmd += " < '" + stdin_file + "'";
    cmd += " 2>&1";
    CliResult r;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    const int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

}  // namespace wsdol::test
