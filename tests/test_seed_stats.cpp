// test_seed_stats.cpp — mean and sample std over seeds, and the verdicts of judge_claim at and around their
// boundaries (engine/eval/seed_stats.h).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/eval/seed_stats.h"

namespace wsdol::eval {
namespace {

TEST(SeedStats, MeanAndSampleStd) {
    const SeedStats s = seed_stats({1.0, 2.0, 4.0});
    EXPECT_EQ(s.n, 3u);
    EXPECT_DOUBLE_EQ(s.mean, 7.0 / 3);
    const double var = ((1 - 7.0 / 3) * (1 - 7.0 / 3) + (2 - 7.0 / 3) * (2 - 7.0 / 3) + (4 - 7.0 / 3) * (4 - 7.0 / 3)) / 2;
    EXPECT_DOUBLE_EQ(s.std, std::sqrt(var));
    EXPECT_DOUBLE_EQ(s.se, std::sqrt(var) / std::sqrt(3.0));
    const SeedStats one = seed_stats({5.0});
    EXPECT_EQ(one.mean, 5.0);
    EXPECT_EQ(one.std, 0.0);
}

TEST(SeedStats, RefusesEmptyAndNonFinite) {
    EXPECT_THROW(seed_stats({}), std::exception);
    EXPECT_THROW(seed_stats({1.0, std::numeric_limits<double>::quiet_NaN()}), std::exception);
}

TEST(SeedStats, ClaimVerdicts) {
    // differences {1, 1.1, 0.9}: mean 1, std 0.1, se 0.058: clearly ahead
    ClaimJudgement j = judge_claim({1.0, 1.1, 0.9});
    EXPECT_EQ(j.verdict, "holds");
    EXPECT_EQ(j.ahead, 3u);
    // {3, -2, 0.5}: mean 0.5 > 0 but within two standard errors
    j = judge_claim({3.0, -2.0, 0.5});
    EXPECT_EQ(j.verdict, "holds on the mean, within the spread");
    EXPECT_EQ(j.ahead, 2u);
    // the mirror images
    EXPECT_EQ(judge_claim({-1.0, -1.1, -0.9}).verdict, "does NOT hold");
    EXPECT_EQ(judge_claim({-3.0, 2.0, -0.5}).verdict, "does NOT hold, within the spread");
    EXPECT_EQ(judge_claim({1.0, -1.0}).verdict, "tie");
    // one seed: no spread to judge with
    EXPECT_EQ(judge_claim({0.4}).verdict, "holds on the mean, within the spread");
    EXPECT_EQ(judge_claim({-0.4}).verdict, "does NOT hold, within the spread");
}

}  // namespace
}  // namespace wsdol::eval
