// progress.h — a one-line progress bar for long commands: done/total, rate, elapsed and ETA, on stderr.
// Redrawn at most ten times a second; on a terminal the line is rewritten in place (\r), otherwise (logs, CI)
// a plain line is printed every 10% so the output stays readable.
#pragma once
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace wsdol::cli {

class Progress {
public:
    Progress(std::string label, int64_t total, std::string unit)
        : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(::isatty(2) != 0),
          start_(std::chrono::steady_clock::now()) {}

    // Reports that `done` items are finished (monotonic); `extra` is appended (e.g. "loss 0.41").
    void update(int64_t done, const std::string& extra = "") {
        const auto now = std::chrono::steady_clock::now();
        const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
        const bool finished = done >= total_;
        if (tty_ ? (since_draw < 0.1 && !finished) : (done * 10 / std::max<int64_t>(total_, 1) == last_decile_ && !finished))
            return;
        last_draw_ = now;
        last_decile_ = done * 10 / std::max<int64_t>(total_, 1);
        const double elapsed = std::chrono::duration<double>(now - start_).count();
        const double rate = elapsed > 0 ? done / elapsed : 0.0;
        const double eta = rate > 0 ? (total_ - done) / rate : 0.0;
        constexpr int kWidth = 24;
        const int filled = int(kWidth * std::min<int64_t>(done, total_) / std::max<int64_t>(total_, 1));
        std::string bar(filled, '#');
        bar.resize(kWidth, '.');
        std::fprintf(stderr, "%s%s [%s] %lld/%lld %s  %.1f %s/s  %s elapsed  ETA %s%s%s%s", tty_ ? "\r" : "",
                     label_.c_str(), bar.c_str(), (long long)done, (long long)total_, unit_.c_str(), rate,
                     unit_.c_str(), clock(elapsed).c_str(), clock(eta).c_str(), extra.empty() ? "" : "  ",
                     extra.c_str(), tty_ && !finished ? "\x1b[K" : "\n");
        std::fflush(stderr);
    }

private:
    static std::string clock(double seconds) {
        const long s = long(seconds + 0.5);
        char buffer[32];
        if (s >= 3600) std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
        else std::snprintf(buffer, sizeof buffer, "%ld:%02ld", s / 60, s % 60);
        return buffer;
    }

    std::string label_, unit_;
    int64_t total_;
    bool tty_;
    std::chrono::steady_clock::time_point start_, last_draw_{};
    int64_t last_decile_ = -1;
};

}  // namespace wsdol::cli
