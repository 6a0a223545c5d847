// bench_util.h — what the Google Benchmark binaries share: the thread count from the environment, the process's
// CPU time, its memory from /proc/self/status, and resetting the peak RSS between cases (Linux).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

namespace wsdol::bench {

// A positive integer from the environment variable `name`, else `fallback`.
inline int env_int(const char* name, int fallback) {
    const char* s = std::getenv(name);
    const int n = s ? std::atoi(s) : fallback;
    return n > 0 ? n : fallback;
}

// CPU seconds of the whole process (all threads).
inline double process_cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

// A field of /proc/self/status in MiB ("VmRSS", "VmHWM"); -1 when unavailable.
inline double proc_status_mb(const std::string& field) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind(field + ":", 0) == 0) return std::atof(line.c_str() + field.size() + 1) / 1024.0;  // kB
    return -1.0;
}

// Resets VmHWM to the current RSS (writes 5 to /proc/self/clear_refs); false where the kernel refuses.
inline bool reset_peak_rss() {
    std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    const bool ok = std::fputs("5", f) >= 0;
    return std::fclose(f) == 0 && ok;
}

}  // namespace wsdol::bench
