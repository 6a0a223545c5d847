// seed_stats.cpp — see seed_stats.h.
#include "engine/eval/seed_stats.h"

#include <cmath>

#include "engine/core/error.h"

namespace wsdol::eval {

SeedStats seed_stats(const std::vector<double>& values) {
    WSDOL_CHECK(!values.empty(), "seed_stats: no values");
    SeedStats s;
    s.n = values.size();
    for (double v : values) {
        WSDOL_CHECK(std::isfinite(v), "seed_stats: a value is not finite (", v, ")");
        s.mean += v;
    }
    s.mean /= double(s.n);
    if (s.n > 1) {
        double ss = 0;
        for (double v : values) ss += (v - s.mean) * (v - s.mean);
        s.std = std::sqrt(ss / double(s.n - 1));
        s.se = s.std / std::sqrt(double(s.n));
    }
    return s;
}

ClaimJudgement judge_claim(const std::vector<double>& differences) {
    ClaimJudgement j;
    j.diff = seed_stats(differences);
    for (double d : differences) j.ahead += d > 0;
    const double m = j.diff.mean, band = 2 * j.diff.se;
    if (m > 0)
        j.verdict = (j.diff.n > 1 && m > band) ? "holds" : "holds on the mean, within the spread";
    else if (m < 0)
        j.verdict = (j.diff.n > 1 && -m > band) ? "does NOT hold" : "does NOT hold, within the spread";
    else
        j.verdict = "tie";
    return j;
}

}  // namespace wsdol::eval
