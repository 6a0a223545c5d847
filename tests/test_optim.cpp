// test_optim.cpp — SGD, Adam, AdamW against PyTorch's update formulas written out here in double; parameter
// groups; clip_grad_norm_; the timm / ToCo / StepLR schedules against their Python formulas; state export and
// import continuing bit-identically; thread-count independence of the fused kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/ops/ops.h"
#include "engine/optim/adam.h"
#include "engine/optim/clip_grad.h"
#include "engine/optim/schedule.h"
#include "engine/optim/sgd.h"
#include "kernels/cpu/parallel.h"
#include "tests/io_test_util.h"

namespace wsdol::test {
namespace {

using namespace wsdol::optim;
using Vec = std::vector<double>;
constexpr double kPi = 3.141592653589793;  // math.pi

Vec random_vec(size_t n, uint64_t seed, double lo = -1, double hi = 1) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(lo, hi);
    Vec v(n);
    for (double& x : v) x = u(rng);
    return v;
}

// Gradients bounded away from 0 (Adam's update divides by sqrt(v) + eps).
Vec random_grad(size_t n, uint64_t seed) {
    Vec g = random_vec(n, seed, 0.1, 1.0);
    std::mt19937_64 rng(seed + 1000);
    for (double& x : g)
        if (rng() & 1) x = -x;
    return g;
}

Tensor make_param(const Vec& v, DType dtype, const Shape& shape = {}) {
    Tensor p = Tensor::from_vector(v, shape.empty() ? Shape{static_cast<int64_t>(v.size())} : shape, dtype);
    p.set_requires_grad(true);
    return p;
}

void set_grad(Tensor& p, const Vec& g) { p.set_grad(Tensor::from_vector(g, p.shape(), p.dtype())); }

void expect_near_vec(const Vec& got, const Vec& want, double rel, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < got.size(); ++i)
        EXPECT_NEAR(got[i], want[i], rel * (1 + std::fabs(want[i]))) << what << " [" << i << "]";
}

// ---------------------------------------------------------------- reference formulas (torch.optim, in double)

struct RefSGD {
    double lr, momentum, dampening, wd;
    bool nesterov, maximize;
    Vec buf = {};
    bool has_buf = false;
    void step(Vec& p, Vec g) {
        for (size_t i = 0; i < p.size(); ++i) {
            if (maximize) g[i] = -g[i];
            g[i] += wd * p[i];
        }
        if (momentum != 0) {
            if (!has_buf) {
                buf = g;
                has_buf = true;
            } else {
                for (size_t i = 0; i < p.size(); ++i) buf[i] = momentum * buf[i] + (1 - dampening) * g[i];
            }
            for (size_t i = 0; i < p.size(); ++i) g[i] = nesterov ? g[i] + momentum * buf[i] : buf[i];
        }
        for (size_t i = 0; i < p.size(); ++i) p[i] -= lr * g[i];
    }
};

struct RefAdam {
    double lr, beta1, beta2, eps, wd;
    bool amsgrad, maximize, decoupled;
    Vec m = {}, v = {}, vmax = {};
    int t = 0;
    void step(Vec& p, Vec g) {
        if (m.empty()) m = v = vmax = Vec(p.size(), 0.0);
        ++t;
        const double bc1 = 1 - std::pow(beta1, t), bc2 = 1 - std::pow(beta2, t);
        for (size_t i = 0; i < p.size(); ++i) {
            if (maximize) g[i] = -g[i];
            if (decoupled) p[i] *= 1 - lr * wd;
            else g[i] += wd * p[i];
            m[i] = beta1 * m[i] + (1 - beta1) * g[i];
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
            vmax[i] = std::max(vmax[i], v[i]);
            const double second = amsgrad ? vmax[i] : v[i];
            const double m_hat = m[i] / bc1;
            const double denom = std::sqrt(second) / std::sqrt(bc2) + eps;  // eps outside the sqrt
            p[i] -= lr * m_hat / denom;
        }
    }
};

// Tolerance per dtype: f64 agrees to rounding; f32 accumulates float rounding over the steps.
double tol(DType d) { return d == DType::f64 ? 1e-12 : 2e-6; }

// ---------------------------------------------------------------- SGD

class OptimDtype : public testing::TestWithParam<DType> {};
INSTANTIATE_TEST_SUITE_P(F32F64, OptimDtype, testing::Values(DType::f32, DType::f64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST_P(OptimDtype, SGDMatchesTorchFormulas) {
    const DType dt = GetParam();
    struct Config {
        SGDOptions o;
        const char* label;
    };
    std::vector<Config> configs;
    configs.push_back({SGDOptions{0.1, 0, 0, 0, false, false}, "plain"});
    configs.push_back({SGDOptions{0.05, 0.9, 0.1, 1e-2, false, false}, "momentum+dampening+wd"});
    configs.push_back({SGDOptions{0.05, 0.9, 0, 5e-4, true, false}, "nesterov+wd"});
    configs.push_back({SGDOptions{0.02, 0.5, 0, 1e-1, true, true}, "nesterov+wd+maximize"});
    for (const Config& c : configs) {
        const Vec p0 = random_vec(37, 3);
        Tensor p = make_param(p0, dt);
        SGD opt({{"w", p}}, c.o);
        RefSGD ref{c.o.lr, c.o.momentum, c.o.dampening, c.o.weight_decay, c.o.nesterov, c.o.maximize};
        Vec want = dt == DType::f32 ? Tensor::from_vector(p0, {37}, dt).to_vector() : p0;
        for (int s = 0; s < 6; ++s) {
            const Vec g = Tensor::from_vector(random_grad(37, 100 + s), {37}, dt).to_vector();  // exact in dt
            set_grad(p, g);
            opt.step();
            ref.step(want, g);
            expect_near_vec(p.to_vector(), want, tol(dt) * (s + 1), std::string(c.label) + " step " + std::to_string(s));
        }
        EXPECT_EQ(opt.state_buffer("w", "momentum_buffer").defined(), c.o.momentum != 0) << c.label;
    }
}

TEST(SGD, HandComputedSteps) {
    // One parameter, lr 0.1, momentum 0.9, dampening 0, wd 0.01, nesterov; grads 1.0 then 2.0. By hand:
    //   step 1: g = 1 + 0.01*1 = 1.01; b = 1.01; g = 1.01 + 0.9*1.01 = 1.919; p = 1 - 0.1919 = 0.8081
    //   step 2: g = 2 + 0.01*0.8081 = 2.008081; b = 0.9*1.01 + 2.008081 = 2.917081;
    //           g = 2.008081 + 0.9*2.917081 = 4.6334539; p = 0.8081 - 0.46334539 = 0.34475461
    Tensor p = make_param({1.0}, DType::f64);
    SGD opt({{"w", p}}, SGDOptions{0.1, 0.9, 0, 0.01, true, false});
    set_grad(p, {1.0});
    opt.step();
    EXPECT_NEAR(p.item(), 0.8081, 1e-15);
    set_grad(p, {2.0});
    opt.step();
    EXPECT_NEAR(p.item(), 0.34475461, 1e-15);
}

// ---------------------------------------------------------------- Adam / AdamW

TEST_P(OptimDtype, AdamMatchesTorchFormulas) {
    const DType dt = GetParam();
    for (int variant = 0; variant < 4; ++variant) {
        AdamOptions o;
        o.lr = 1e-2;
        o.beta1 = 0.9;
        o.beta2 = 0.99;
        o.eps = 1e-8;
        o.weight_decay = variant >= 1 ? 0.05 : 0;
        o.amsgrad = variant >= 2;
        o.maximize = variant == 3;
        const Vec p0 = random_vec(41, 5);
        Tensor p = make_param(p0, dt);
        Adam opt({{"w", p}}, o);
        RefAdam ref{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad, o.maximize, false};
        Vec want = Tensor::from_vector(p0, {41}, dt).to_vector();
        for (int s = 0; s < 8; ++s) {
            Vec g = Tensor::from_vector(random_grad(41, 200 + s), {41}, dt).to_vector();
            if (s == 4)
                for (double& x : g) x *= 0.1;  // shrinking grads make amsgrad's max matter
            set_grad(p, g);
            opt.step();
            ref.step(want, g);
            expect_near_vec(p.to_vector(), want, tol(dt) * 10 * (s + 1),
                            "Adam variant " + std::to_string(variant) + " step " + std::to_string(s));
        }
        EXPECT_EQ(opt.state_step("w"), 8);
        EXPECT_EQ(opt.state_buffer("w", "max_exp_avg_sq").defined(), o.amsgrad);
    }
}

TEST_P(OptimDtype, AdamWMatchesTorchFormulas) {
    const DType dt = GetParam();
    AdamWOptions o;  // defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2
    EXPECT_EQ(o.weight_decay, 1e-2);
    o.lr = 6e-3;
    const Vec p0 = random_vec(29, 7);
    Tensor p = make_param(p0, dt);
    AdamW opt({{"w", p}}, o);
    EXPECT_STREQ(opt.type_name(), "AdamW");
    RefAdam ref{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, false, false, true};
    Vec want = Tensor::from_vector(p0, {29}, dt).to_vector();
    for (int s = 0; s < 8; ++s) {
        const Vec g = Tensor::from_vector(random_grad(29, 300 + s), {29}, dt).to_vector();
        set_grad(p, g);
        opt.step();
        ref.step(want, g);
        expect_near_vec(p.to_vector(), want, tol(dt) * 10 * (s + 1), "AdamW step " + std::to_string(s));
    }
}

TEST(Adam, HandComputedFirstStep) {
    // At t = 1, m_hat = g and v_hat = g^2, so p -= lr * g / (|g| + eps): lr 0.1, g = 0.5 -> p = 2 - 0.1*0.5/0.5.
    Tensor p = make_param({2.0}, DType::f64);
    Adam opt({{"w", p}}, AdamOptions{0.1, 0.9, 0.999, 0, 0, false, false});
    set_grad(p, {0.5});
    opt.step();
    EXPECT_NEAR(p.item(), 1.9, 1e-15);
    // eps is added OUTSIDE the square root: with eps 0.1, p = 2 - 0.1 * 0.5 / (0.5 + 0.1).
    Tensor e = make_param({2.0}, DType::f64);
    Adam opt_e({{"w", e}}, AdamOptions{0.1, 0.9, 0.999, 0.1, 0, false, false});
    set_grad(e, {0.5});
    opt_e.step();
    EXPECT_NEAR(e.item(), 2 - 0.05 / 0.6, 1e-15);
    // AdamW with wd 0.5 first shrinks p by (1 - 0.1*0.5): 2 * 0.95 - 0.1 = 1.8.
    Tensor q = make_param({2.0}, DType::f64);
    AdamWOptions ow;
    ow.lr = 0.1;
    ow.eps = 0;
    ow.weight_decay = 0.5;
    AdamW optw({{"w", q}}, ow);
    set_grad(q, {0.5});
    optw.step();
    EXPECT_NEAR(q.item(), 1.8, 1e-15);
}

// ---------------------------------------------------------------- groups, skipping, errors

TEST(Optimizer, ParamGroupsHaveTheirOwnHyperparametersAndSkipMissingGrads) {
    const Vec a0 = random_vec(5, 1), b0 = random_vec(4, 2), c0 = random_vec(3, 3);
    Tensor a = make_param(a0, DType::f64), b = make_param(b0, DType::f64), c = make_param(c0, DType::f64);
    AdamOptions oa;
    oa.lr = 1e-2;
    oa.weight_decay = 0.1;
    AdamOptions ob;
    ob.lr = 3e-3;
    ob.beta1 = 0.5;
    ob.beta2 = 0.9;
    Adam opt(std::vector<Adam::Group>{{{{"a", a}}, oa}, {{{"b", b}, {"c", c}}, ob}});
    EXPECT_EQ(opt.num_groups(), 2u);
    EXPECT_EQ(opt.lr(1), 3e-3);
    EXPECT_EQ(opt.param_names(1), (std::vector<std::string>{"b", "c"}));
    RefAdam ra{oa.lr, oa.beta1, oa.beta2, oa.eps, oa.weight_decay, false, false, false};
    RefAdam rb{ob.lr, ob.beta1, ob.beta2, ob.eps, ob.weight_decay, false, false, false};
    RefAdam rc = rb;
    Vec wa = a0, wb = b0, wc = c0;
    for (int s = 0; s < 4; ++s) {
        const Vec ga = random_grad(5, 10 + s), gb = random_grad(4, 20 + s), gc = random_grad(3, 30 + s);
        set_grad(a, ga);
        set_grad(b, gb);
        if (s >= 2) set_grad(c, gc);  // c has no gradient on the first two steps: skipped, no state
        else c.zero_grad();
        opt.step();
        ra.step(wa, ga);
        rb.step(wb, gb);
        if (s >= 2) rc.step(wc, gc);
        if (s == 1) {
            EXPECT_EQ(opt.state_step("c"), 0);
            EXPECT_FALSE(opt.state_buffer("c", "exp_avg").defined());
            EXPECT_EQ(c.to_vector(), c0);
        }
    }
    expect_near_vec(a.to_vector(), wa, 1e-12, "group 0");
    expect_near_vec(b.to_vector(), wb, 1e-12, "group 1 b");
    expect_near_vec(c.to_vector(), wc, 1e-12, "group 1 c (started late)");
    EXPECT_EQ(opt.state_step("a"), 4);
    EXPECT_EQ(opt.state_step("c"), 2);
    opt.zero_grad();
    EXPECT_FALSE(a.grad().defined());
}

TEST(Optimizer, NonContiguousParameterIsUpdatedInPlace) {
    Tensor base = Tensor::from_vector(random_vec(12, 4), {3, 4}, DType::f32);
    Tensor p = base.t();  // (4, 3), strided view
    ASSERT_FALSE(p.is_contiguous());
    p.set_requires_grad(true);
    const Vec before = p.to_vector();
    const Vec g = random_grad(12, 5);
    set_grad(p, g);
    SGD opt({{"w", p}}, SGDOptions{0.5});
    opt.step();
    const Vec after = p.to_vector();
    for (size_t i = 0; i < g.size(); ++i)
        EXPECT_FLOAT_EQ(static_cast<float>(after[i]), static_cast<float>(before[i]) - 0.5f * static_cast<float>(g[i]));
    EXPECT_EQ(base.t().to_vector(), after);  // written through to the base storage
}

TEST(Optimizer, BadInputErrors) {
    Tensor p = make_param({1, 2, 3}, DType::f32);
    expect_error([&] { SGD({{"w", p}}, SGDOptions{0.1, 0, 0, 0, true}); }, {"Nesterov", "momentum"});
    expect_error([&] { SGD({{"w", p}, {"w", make_param({1}, DType::f32)}}); }, {"'w' appears twice"});
    expect_error([&] { SGD({{"a", p}, {"b", p}}); }, {"'a' and 'b' are the same tensor"});
    expect_error([&] { SGD({{"w", p}}, SGDOptions{-1}); }, {"invalid learning rate"});
    AdamOptions bad;
    bad.beta1 = 1.0;
    expect_error([&] { Adam({{"w", p}}, bad); }, {"invalid beta1"});
    expect_error([&] { SGD({{"i", Tensor::zeros({2}, DType::i64)}}); }, {"'i'", "only floating tensors"});
    SGD opt({{"w", p}}, SGDOptions{0.1});
    p.set_grad(Tensor::zeros({2}));
    expect_error([&] { opt.step(); }, {"gradient of 'w' is [2]", "parameter is [3]"});
    Tensor h = make_param({1, 2}, DType::f16);
    SGD opt_h({{"h", h}});
    h.set_grad(Tensor::zeros({2}, DType::f16));
    expect_error([&] { opt_h.step(); }, {"sgd_step", "float16"});
}

TEST(Optimizer, TimmWeightDecaySplit) {
    auto p = [](const Shape& s, bool trainable = true) {
        Tensor t = Tensor::zeros(s);
        t.set_requires_grad(trainable);
        return t;
    };
    const NamedTensors named = {{"pos_embed", p({1, 197, 384})}, {"patch_embed.proj.weight", p({384, 3, 16, 16})},
                                {"patch_embed.proj.bias", p({384})},  {"blocks.0.norm1.weight", p({384})},
                                {"head.weight", p({20, 384})},        {"frozen.weight", p({4, 4}, false)},
                                {"scale", p({})},                     {"odd.bias", p({2, 2})}};
    const WeightDecaySplit split = split_weight_decay(named, {"pos_embed", "cls_token"});
    auto names = [](const NamedTensors& v) {
        std::vector<std::string> out;
        for (const auto& [n, t] : v) out.push_back(n);
        return out;
    };
    EXPECT_EQ(names(split.decay), (std::vector<std::string>{"patch_embed.proj.weight", "head.weight"}));
    EXPECT_EQ(names(split.no_decay), (std::vector<std::string>{"pos_embed", "patch_embed.proj.bias",
                                                                "blocks.0.norm1.weight", "scale", "odd.bias"}));
}

// ---------------------------------------------------------------- clip_grad_norm_

TEST(ClipGrad, MatchesTorchFormula) {
    Tensor a = make_param(random_vec(7, 1), DType::f64), b = make_param(random_vec(5, 2), DType::f64);
    Tensor none = make_param({1.0}, DType::f64);  // no grad: ignored
    const Vec ga = random_grad(7, 3), gb = random_grad(5, 4);
    double sa = 0, sb = 0, inf_norm = 0, l1 = 0;
    for (double x : ga) sa += x * x, inf_norm = std::max(inf_norm, std::fabs(x)), l1 += std::fabs(x);
    for (double x : gb) sb += x * x, inf_norm = std::max(inf_norm, std::fabs(x)), l1 += std::fabs(x);
    const double total = std::sqrt(std::sqrt(sa) * std::sqrt(sa) + std::sqrt(sb) * std::sqrt(sb));

    set_grad(a, ga);
    set_grad(b, gb);
    const double max_norm = 0.5;
    const double got = clip_grad_norm_(std::vector<Tensor>{a, none, b}, max_norm);
    EXPECT_NEAR(got, total, 1e-14);
    const double coef = max_norm / (total + 1e-6);
    ASSERT_LT(coef, 1.0);
    for (size_t i = 0; i < ga.size(); ++i) EXPECT_NEAR(a.grad().to_vector()[i], ga[i] * coef, 1e-15);
    for (size_t i = 0; i < gb.size(); ++i) EXPECT_NEAR(b.grad().to_vector()[i], gb[i] * coef, 1e-15);
    EXPECT_NEAR(total_grad_norm({a, b}), max_norm, 1e-6);  // clipped to max_norm (minus the 1e-6 guard)

    // Below the limit: the gradients keep every bit.
    set_grad(a, ga);
    set_grad(b, gb);
    EXPECT_NEAR(clip_grad_norm_(std::vector<Tensor>{a, b}, 100.0), total, 1e-14);
    EXPECT_EQ(a.grad().to_vector(), ga);

    EXPECT_NEAR(total_grad_norm({a, b}, INFINITY), inf_norm, 0);
    EXPECT_NEAR(total_grad_norm({a, b}, 1.0), l1, 1e-13);
    double s3 = 0;
    for (double x : ga) s3 += std::pow(std::fabs(x), 3);
    const double n3a = std::pow(s3, 1.0 / 3);
    s3 = 0;
    for (double x : gb) s3 += std::pow(std::fabs(x), 3);
    const double n3b = std::pow(s3, 1.0 / 3);
    EXPECT_NEAR(total_grad_norm({a, b}, 3.0), std::pow(std::pow(n3a, 3) + std::pow(n3b, 3), 1.0 / 3), 1e-13);
    EXPECT_EQ(total_grad_norm({none}), 0.0);

    set_grad(a, {NAN, 1, 1, 1, 1, 1, 1});
    expect_error([&] { clip_grad_norm_(std::vector<Tensor>{a}, 1.0, 2.0, true); }, {"non-finite"});
    EXPECT_TRUE(std::isnan(clip_grad_norm_(std::vector<Tensor>{a}, 1.0)));
    EXPECT_TRUE(std::isnan(a.grad().to_vector()[1]));  // a NaN coefficient propagates, as in PyTorch
    expect_error([&] { total_grad_norm({a}, -1.0); }, {"norm_type"});
}

TEST(ClipGrad, DeterministicAcrossThreadCounts) {
    Tensor p = make_param(Vec(1), DType::f32);
    const Tensor g = Tensor::randn({1 << 20});
    const int saved = cpu::num_threads();
    std::vector<double> norms;
    std::vector<std::string> clipped;
    for (int threads : {1, 2, 3}) {
        cpu::set_num_threads(threads);
        Tensor q = Tensor::zeros({1 << 20});
        q.set_requires_grad(true);
        q.set_grad(g.clone());
        norms.push_back(clip_grad_norm_(std::vector<Tensor>{q}, 1.0));
        clipped.push_back(tensor_bytes(q.grad()));
    }
    cpu::set_num_threads(saved);
    EXPECT_EQ(norms[0], norms[1]);
    EXPECT_EQ(norms[0], norms[2]);
    EXPECT_EQ(clipped[0], clipped[1]);
    EXPECT_EQ(clipped[0], clipped[2]);
    EXPECT_NEAR(norms[0], 1024.0, 5.0);  // sqrt(2^20) for unit-variance entries
}

TEST(Optimizer, FusedKernelsDeterministicAcrossThreadCounts) {
    const int n = 300000;
    const Vec p0 = random_vec(n, 1), g0 = random_grad(n, 2);
    const int saved = cpu::num_threads();
    std::vector<std::string> results;
    for (int threads : {1, 2, 4}) {
        cpu::set_num_threads(threads);
        Tensor p = make_param(p0, DType::f32);
        AdamW opt({{"w", p}});
        for (int s = 0; s < 3; ++s) {
            set_grad(p, g0);
            opt.step();
        }
        results.push_back(tensor_bytes(p));
    }
    cpu::set_num_threads(saved);
    EXPECT_EQ(results[0], results[1]);
    EXPECT_EQ(results[0], results[2]);
}

// ---------------------------------------------------------------- schedules

// Two groups with different base lrs (the schedules scale each from its own initial lr).
struct TwoGroups {
    Tensor a = make_param({1.0}, DType::f32), b = make_param({1.0}, DType::f32);
    std::unique_ptr<AdamW> opt;
    TwoGroups(double lr_a = 6e-5, double lr_b = 6e-4) {
        AdamWOptions oa, ob;
        oa.lr = lr_a;
        ob.lr = lr_b;
        const NamedTensors ga = {{"a", a}}, gb = {{"b", b}};
        opt = std::make_unique<AdamW>(std::vector<AdamW::Group>{{ga, oa}, {gb, ob}});
        AdamW braced({{ga, oa}, {gb, ob}});  // the braced group-list form compiles too
        EXPECT_EQ(braced.num_groups(), 2u);
    }
};

// timm's _get_lr, written out (cycle_mul == 1 and != 1 branches).
double timm_cosine(double base, double t, const CosineLROptions& o) {
    if (t < o.warmup_t) return o.warmup_lr_init + t * ((base - o.warmup_lr_init) / o.warmup_t);
    if (o.warmup_prefix) t -= o.warmup_t;
    double i, t_i, t_curr;
    if (o.cycle_mul != 1) {
        i = std::floor(std::log(1 - t / o.t_initial * (1 - o.cycle_mul)) / std::log(o.cycle_mul));
        t_i = std::pow(o.cycle_mul, i) * o.t_initial;
        t_curr = t - (1 - std::pow(o.cycle_mul, i)) / (1 - o.cycle_mul) * o.t_initial;
    } else {
        i = std::floor(t / o.t_initial);
        t_i = o.t_initial;
        t_curr = t - o.t_initial * i;
    }
    if (i >= o.cycle_limit) return o.lr_min;
    const double lr_max = base * std::pow(o.cycle_decay, i);
    return o.lr_min + 0.5 * (lr_max - o.lr_min) * (1 + std::cos(kPi * std::pow(t_curr, o.k_decay) / std::pow(t_i, o.k_decay)));
}

TEST(Schedule, TimmCosineEpochBasedWithWarmup) {
    TwoGroups m(5e-4, 1e-3);
    CosineLROptions o;
    o.t_initial = 10;
    o.lr_min = 1e-5;
    o.warmup_t = 3;
    o.warmup_lr_init = 1e-6;
    CosineLRScheduler sched(*m.opt, o);
    EXPECT_EQ(m.opt->lr(0), 1e-6);  // construction sets warmup_lr_init
    EXPECT_EQ(m.opt->lr(1), 1e-6);
    for (int e = 0; e <= 14; ++e) {
        sched.step(e);
        EXPECT_DOUBLE_EQ(m.opt->lr(0), timm_cosine(5e-4, e, o)) << "epoch " << e;
        EXPECT_DOUBLE_EQ(m.opt->lr(1), timm_cosine(1e-3, e, o)) << "epoch " << e;
        sched.step_update(e * 100 + 7);  // ignored: the schedule counts epochs
        EXPECT_DOUBLE_EQ(m.opt->lr(0), timm_cosine(5e-4, e, o));
    }
    // Chosen values: warm-up is linear from warmup_lr_init; t_initial counts from 0 (warm-up not subtracted).
    EXPECT_DOUBLE_EQ(sched.lr_at(1)[0], 1e-6 + (5e-4 - 1e-6) / 3);
    EXPECT_DOUBLE_EQ(sched.lr_at(5)[0], 1e-5 + 0.5 * (5e-4 - 1e-5) * (1 + std::cos(kPi * 0.5)));
    EXPECT_DOUBLE_EQ(sched.lr_at(10)[0], 1e-5);  // past the single cycle: lr_min
    EXPECT_EQ(sched.cycle_length(), 10);
}

TEST(Schedule, TimmCosineStepBasedCyclesAndKDecay) {
    TwoGroups m(1e-3, 2e-3);
    CosineLROptions o;
    o.t_initial = 50;
    o.lr_min = 1e-6;
    o.cycle_mul = 2;
    o.cycle_decay = 0.5;
    o.cycle_limit = 3;
    o.warmup_t = 5;
    o.warmup_lr_init = 1e-5;
    o.warmup_prefix = true;
    o.t_in_epochs = false;
    o.k_decay = 2;
    CosineLRScheduler sched(*m.opt, o);
    for (int t : {0, 1, 4, 5, 6, 30, 54, 55, 56, 100, 154, 155, 200, 354, 355, 356, 1000}) {
        sched.step_update(t);
        EXPECT_DOUBLE_EQ(m.opt->lr(0), timm_cosine(1e-3, t, o)) << "update " << t;
        EXPECT_DOUBLE_EQ(m.opt->lr(1), timm_cosine(2e-3, t, o)) << "update " << t;
    }
    sched.step(3);  // ignored: the schedule counts updates
    EXPECT_DOUBLE_EQ(m.opt->lr(0), timm_cosine(1e-3, 1000, o));
    EXPECT_EQ(sched.cycle_length(), 350);  // 50 + 100 + 200
    EXPECT_EQ(sched.lr_at(1000)[0], 1e-6);
    // Second cycle starts at t = 55 (5 warm-up + 50) at half the peak.
    EXPECT_DOUBLE_EQ(sched.lr_at(55)[0], 1e-6 + 0.5 * (0.5e-3 - 1e-6) * 2);
}

TEST(Schedule, ToCoPolyWarmup) {
    TwoGroups m(6e-5, 6e-4);
    PolyWarmupOptions o{1500, 20000, 1e-6, 0.9};
    PolyWarmupLR sched(*m.opt, o);
    auto toco = [&](double base, int64_t s) {  // ToCo's formula, written out
        if (s < 1500) return base * (1 - (1 - s / 1500.0) * (1 - 1e-6));
        return base * std::pow(1 - s / 20000.0, 0.9);
    };
    for (int64_t s = 0; s < 20005; ++s) {
        sched.step();  // sets the lr for global step s, then advances
        const double want_a = toco(6e-5, std::min<int64_t>(s, 19999));  // after max_iter the lr stays
        if (s == 0 || s == 750 || s == 1499 || s == 1500 || s == 1501 || s == 10000 || s == 19999 || s >= 20000) {
            EXPECT_DOUBLE_EQ(m.opt->lr(0), want_a) << "step " << s;
            EXPECT_DOUBLE_EQ(m.opt->lr(1), toco(6e-4, std::min<int64_t>(s, 19999))) << "step " << s;
        }
    }
    EXPECT_NEAR(toco(1.0, 0), 1e-6, 1e-16);  // starts at warmup_ratio * lr
    EXPECT_NEAR(toco(1.0, 1500) - toco(1.0, 1499), std::pow(1 - 0.075, 0.9) - (1 - (1 / 1500.0) * (1 - 1e-6)), 1e-15);
    EXPECT_EQ(sched.global_step(), 20005);
}

TEST(Schedule, StepLR) {
    TwoGroups m(0.1, 0.01);
    StepLR sched(*m.opt, StepLROptions{3, 0.1});
    double chain0 = 0.1, chain1 = 0.01;
    for (int e = 1; e <= 10; ++e) {
        sched.step();
        if (e % 3 == 0) chain0 *= 0.1, chain1 *= 0.1;  // PyTorch's chainable form
        EXPECT_EQ(m.opt->lr(0), chain0) << "epoch " << e;
        EXPECT_EQ(m.opt->lr(1), chain1) << "epoch " << e;
        EXPECT_NEAR(m.opt->lr(0), 0.1 * std::pow(0.1, e / 3), 1e-17);  // closed form
    }
    EXPECT_EQ(sched.last_epoch(), 10);
    expect_error([&] { StepLR(*m.opt, StepLROptions{0, 0.1}); }, {"step_size"});
}

// TS-CAM's adjust_learning_rate_normal (vasgaowei/TS-CAM 25aece44 lib/core/engine.py) restated: before 1-based
// epoch e of 1..60, lr *= 0.1 when e % 30 == 0 (epochs 30 and 60) — milestones 29 and 59 epochs done, in updates.
TEST(Schedule, MultiStepMatchesTsCamsChainedDecay) {
    TwoGroups m(5e-5, 5e-6);
    const int64_t per_epoch = 3;
    MultiStepLR sched(*m.opt, MultiStepOptions{{29 * per_epoch, 59 * per_epoch}, 0.1});
    std::vector<double> ref = {5e-5, 5e-6};
    int64_t t = 0;
    for (int e = 1; e <= 60; ++e) {
        if (e % 30 == 0)
            for (double& lr : ref) lr = 0.1 * lr;
        for (int i = 0; i < per_epoch; ++i, ++t) {
            EXPECT_EQ(m.opt->lr(0), ref[0]) << "epoch " << e << " update " << t;
            EXPECT_EQ(m.opt->lr(1), ref[1]) << "epoch " << e << " update " << t;
            sched.step_update(t + 1);
        }
    }
    EXPECT_EQ(sched.lr_at(29 * per_epoch - 1)[0], 5e-5);
    EXPECT_EQ(sched.lr_at(29 * per_epoch)[0], 0.1 * 5e-5);
    EXPECT_EQ(sched.lr_at(59 * per_epoch)[0], 0.1 * (0.1 * 5e-5));
    MultiStepLR resumed(*m.opt, MultiStepOptions{{29 * per_epoch, 59 * per_epoch}, 0.1});
    resumed.load_state(sched.state());
    EXPECT_EQ(resumed.state(), sched.state());
    expect_error([&] { MultiStepLR(*m.opt, MultiStepOptions{{5, 3}, 0.1}); }, {"non-decreasing"});
    expect_error([&] { MultiStepLR(*m.opt, MultiStepOptions{{-1}, 0.1}); }, {"negative"});
    expect_error([&] { MultiStepLR(*m.opt, MultiStepOptions{{1}, 0.0}); }, {"gamma"});
    expect_error([&] { resumed.load_state({{"last_update", 2.5}}, "ck.st"); }, {"ck.st", "must be an integer"});
}

TEST(Schedule, StateRoundTripsAndRejectsBadState) {
    TwoGroups m;
    PolyWarmupLR a(*m.opt, {10, 100, 1e-6, 0.9});
    for (int i = 0; i < 17; ++i) a.step();
    PolyWarmupLR b(*m.opt, {10, 100, 1e-6, 0.9});
    b.load_state(a.state());
    EXPECT_EQ(b.global_step(), 17);
    expect_error([&] { b.load_state({{"global_step", 1.5}}, "ck.st"); }, {"ck.st", "must be an integer"});
    expect_error([&] { b.load_state({}, "ck.st"); }, {"ck.st", "missing 'global_step'"});
    expect_error([&] { b.load_state({{"global_step", 1}, {"x", 2}}, "ck.st"); }, {"unexpected key 'x'"});
    CosineLRScheduler c(*m.opt, CosineLROptions{10});
    c.step(4);
    CosineLRScheduler d(*m.opt, CosineLROptions{10});
    d.load_state(c.state());
    EXPECT_EQ(d.state(), c.state());
}

// ---------------------------------------------------------------- state export/import, bit-exact resume

// A small quadratic problem: f(p) = 0.5 * sum(a * (p - c)^2), gradient a * (p - c), with a and c fixed.
struct Quadratic {
    Tensor a = Tensor::from_vector(random_vec(64, 41, 0.5, 2.0), {8, 8});
    Tensor c = Tensor::from_vector(random_vec(64, 42), {8, 8});
    Tensor a2 = Tensor::from_vector(random_vec(5, 43, 0.5, 2.0), {5});
    Tensor c2 = Tensor::from_vector(random_vec(5, 44), {5});
    void grads(Tensor& w, Tensor& b) const {
        w.set_grad(mul(a, sub(w.detach(), c)));
        b.set_grad(mul(a2, sub(b.detach(), c2)));
    }
};

template <typename Opt, typename Options>
std::unique_ptr<Opt> build(Tensor& w, Tensor& b, const Options& o1, const Options& o2) {
    return std::make_unique<Opt>(std::vector<typename Opt::Group>{{{{"w", w}}, o1}, {{{"b", b}}, o2}});
}

template <typename Opt, typename Options>
void check_resume(const Options& o1, const Options& o2) {
    const Quadratic q;
    const Vec w0 = random_vec(64, 1), b0 = random_vec(5, 2);
    auto run = [&](int steps, Tensor& w, Tensor& b, Opt& opt, LRScheduler* sched, int start) {
        for (int s = start; s < start + steps; ++s) {
            q.grads(w, b);
            if (s % 3 == 1) b.zero_grad();  // a parameter without a gradient now and then
            clip_grad_norm_(opt.named_params(), 0.5);
            if (auto* p = dynamic_cast<PolyWarmupLR*>(sched)) p->step();
            opt.step();
            if (auto* c = dynamic_cast<CosineLRScheduler*>(sched)) c->step_update(s + 1);
        }
    };
    for (int which = 0; which < 2; ++which) {
        // Uninterrupted: 12 steps.
        Tensor w = make_param(w0, DType::f32, {8, 8}), b = make_param(b0, DType::f32);
        auto opt = build<Opt>(w, b, o1, o2);
        std::unique_ptr<LRScheduler> sched;
        CosineLROptions co;
        co.t_initial = 20;
        co.warmup_t = 4;
        co.warmup_lr_init = 1e-4;
        co.t_in_epochs = false;
        if (which == 0) sched = std::make_unique<PolyWarmupLR>(*opt, PolyWarmupOptions{3, 12, 1e-6, 0.9});
        else sched = std::make_unique<CosineLRScheduler>(*opt, co);
        run(12, w, b, *opt, sched.get(), 0);

        // Interrupted after 5: export, rebuild everything from scratch, import, continue 7.
        Tensor w1 = make_param(w0, DType::f32, {8, 8}), b1 = make_param(b0, DType::f32);
        auto opt1 = build<Opt>(w1, b1, o1, o2);
        std::unique_ptr<LRScheduler> sched1;
        if (which == 0) sched1 = std::make_unique<PolyWarmupLR>(*opt1, PolyWarmupOptions{3, 12, 1e-6, 0.9});
        else sched1 = std::make_unique<CosineLRScheduler>(*opt1, co);
        run(5, w1, b1, *opt1, sched1.get(), 0);
        const OptimizerState st = opt1->export_state();
        const ScheduleState sst = sched1->state();
        const Tensor w_saved = w1.clone(), b_saved = b1.clone();

        Tensor w2 = make_param(Vec(64, 0.0), DType::f32, {8, 8}), b2 = make_param(Vec(5, 0.0), DType::f32);
        w2.detach().copy_(w_saved);
        b2.detach().copy_(b_saved);
        auto opt2 = build<Opt>(w2, b2, o1, o2);
        std::unique_ptr<LRScheduler> sched2;
        if (which == 0) sched2 = std::make_unique<PolyWarmupLR>(*opt2, PolyWarmupOptions{3, 12, 1e-6, 0.9});
        else sched2 = std::make_unique<CosineLRScheduler>(*opt2, co);
        opt2->import_state(st);
        sched2->load_state(sst);
        run(7, w2, b2, *opt2, sched2.get(), 5);

        EXPECT_TRUE(bit_equal(w2, w)) << opt->type_name() << " schedule " << which;
        EXPECT_TRUE(bit_equal(b2, b)) << opt->type_name() << " schedule " << which;
        EXPECT_EQ(opt2->lr(0), opt->lr(0));
        EXPECT_EQ(opt2->lr(1), opt->lr(1));
        const Vec wv = w.to_vector();
        EXPECT_NE(wv, w0);  // the run did move the parameters
    }
}

TEST(OptimizerState, ExportImportContinuesBitExactly) {
    SGDOptions s1{0.05, 0.9, 0, 1e-3, true}, s2{0.01, 0.5, 0.1, 0};
    check_resume<SGD>(s1, s2);
    AdamOptions a1, a2;
    a1.lr = 1e-2;
    a1.amsgrad = true;
    a1.weight_decay = 1e-3;
    a2.lr = 3e-3;
    a2.beta1 = 0.8;
    check_resume<Adam>(a1, a2);
    AdamWOptions w1, w2;
    w1.lr = 1e-2;
    w2.lr = 5e-3;
    w2.weight_decay = 0.1;
    check_resume<AdamW>(w1, w2);
}

TEST(OptimizerState, ExportLayoutAndImportErrors) {
    Tensor w = make_param(random_vec(6, 1), DType::f32, {2, 3}), b = make_param(random_vec(2, 2), DType::f32);
    AdamW opt({{"w", w}, {"b", b}});
    set_grad(w, random_grad(6, 3));
    opt.step();  // b has no gradient: no state
    opt.set_lr(0, 4e-4);
    const OptimizerState st = opt.export_state();
    EXPECT_EQ(st.type, "AdamW");
    EXPECT_EQ(st.groups, (std::vector<std::vector<std::string>>{{"w", "b"}}));
    ASSERT_EQ(st.tensors.size(), 2u);
    EXPECT_EQ(st.tensors[0].first, "w.exp_avg");
    EXPECT_EQ(st.tensors[1].first, "w.exp_avg_sq");
    EXPECT_EQ(st.scalars.at("w.step"), 1);
    EXPECT_EQ(st.scalars.count("b.step"), 0u);
    EXPECT_EQ(st.scalars.at("group.0.lr"), 4e-4);
    EXPECT_EQ(st.scalars.at("group.0.initial_lr"), 1e-3);
    EXPECT_EQ(st.scalars.at("group.0.weight_decay"), 1e-2);
    EXPECT_EQ(st.scalars.at("group.0.amsgrad"), 0);

    Tensor w2 = make_param(Vec(6, 0), DType::f32, {2, 3}), b2 = make_param(Vec(2, 0), DType::f32);
    AdamW other({{"w", w2}, {"b", b2}});
    other.import_state(st);
    EXPECT_EQ(other.lr(0), 4e-4);
    EXPECT_EQ(other.state_step("w"), 1);
    EXPECT_TRUE(bit_equal(other.state_buffer("w", "exp_avg"), opt.state_buffer("w", "exp_avg")));

    auto bad = [&](auto mutate, std::initializer_list<std::string> parts) {
        OptimizerState s = st;
        mutate(s);
        expect_error([&] { other.import_state(s, "ck.safetensors"); }, parts);
    };
    bad([](OptimizerState& s) { s.type = "SGD"; }, {"ck.safetensors", "is for SGD, not AdamW"});
    bad([](OptimizerState& s) { s.groups[0][1] = "bias"; }, {"ck.safetensors", "'bias'", "'b'"});
    bad([](OptimizerState& s) { s.groups.push_back({}); }, {"2 parameter groups"});
    bad([](OptimizerState& s) { s.tensors[0].second = Tensor::zeros({3, 2}); }, {"'w.exp_avg'", "[3, 2]", "[2, 3]"});
    bad([](OptimizerState& s) { s.tensors[0].second = Tensor::zeros({2, 3}, DType::f64); }, {"'w.exp_avg'", "float64"});
    bad([](OptimizerState& s) { s.tensors.emplace_back("c.exp_avg", Tensor::zeros({2})); }, {"unexpected tensor 'c.exp_avg'"});
    bad([](OptimizerState& s) { s.scalars.erase("group.0.eps"); }, {"missing scalar 'group.0.eps'"});
    bad([](OptimizerState& s) { s.scalars["group.0.momentum"] = 1; }, {"unexpected scalar 'group.0.momentum'"});
    bad([](OptimizerState& s) { s.scalars.erase("w.step"); }, {"'w' has state buffers but no step count"});
    // A failed import changed nothing.
    EXPECT_EQ(other.lr(0), 4e-4);
    EXPECT_EQ(other.state_step("w"), 1);
}

}  // namespace
}  // namespace wsdol::test
