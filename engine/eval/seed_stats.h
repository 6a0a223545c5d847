// seed_stats.h — results over several training seeds: mean and spread of one number, and the judgement of a
// claim "method > baseline" from the paired per-seed differences (the demo, the README's 3-seed tables).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace wsdol::eval {

struct SeedStats {
    size_t n = 0;
    double mean = 0;
    double std = 0;  // sample standard deviation (n - 1); 0 for one value
    double se = 0;   // standard error of the mean, std / sqrt(n)
};
// values: one per seed, all finite (checked).
SeedStats seed_stats(const std::vector<double>& values);

// "method > baseline" judged on the per-seed differences method - baseline (the same seed for both, so what the
// seed shares — data order, the benchmark — cancels). The verdict, decided here:
//   holds                               mean > 2 standard errors
//   holds on the mean, within the spread 0 < mean <= 2 standard errors (or one seed ahead: no spread to judge)
//   tie                                 mean == 0
//   does NOT hold, within the spread    -2 standard errors <= mean < 0 (or one seed behind)
//   does NOT hold                       mean < -2 standard errors
struct ClaimJudgement {
    SeedStats diff;       // of the per-seed differences
    size_t ahead = 0;     // seeds where the method is strictly ahead
    std::string verdict;  // one of the five above
};
ClaimJudgement judge_claim(const std::vector<double>& differences);

}  // namespace wsdol::eval
