// test_checkpoint.cpp — training checkpoints: everything round-trips bit-exactly (model, optimizer state, schedule,
// RNG generators, counters, user metadata), a resumed run equals the uninterrupted one bit for bit, mismatches
// are errors naming the file and tensor, and a writer SIGKILLed at random moments never leaves a torn file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "engine/io/atomic_file.h"
#include "engine/io/checkpoint.h"
#include "engine/io/json.h"
#include "engine/ops/ops.h"
#include "engine/optim/adam.h"
#include "engine/optim/clip_grad.h"
#include "engine/optim/sgd.h"
#include "tests/io_test_util.h"

namespace wsdol::test {
namespace {

using io::Checkpoint;

// A tiny "model": two weights, a bias and an integer buffer (like BatchNorm's num_batches_tracked).
struct TinyModel {
    Tensor w1 = param(Tensor::randn({16, 8}));
    Tensor w2 = param(Tensor::randn({4, 16}));
    Tensor b = param(Tensor::zeros({4}));
    Tensor counter = Tensor::zeros({}, DType::i64);
    static Tensor param(Tensor t) {
        t.set_requires_grad(true);
        return t;
    }
    io::NamedTensors named() const { return {{"w1", w1}, {"w2", w2}, {"b", b}, {"counter", counter}}; }
    io::NamedTensors params() const { return {{"w1", w1}, {"w2", w2}, {"b", b}}; }
};

// One training step of a least-squares problem on random data drawn from `data_gen`, with a noise term from
// the default generator (so both generators' states matter for the continuation).
void train_step(TinyModel& m, optim::Optimizer& opt, optim::PolyWarmupLR& sched, Generator& data_gen) {
    const Tensor x = Tensor::randn({8}, DType::f32, &data_gen);
    const Tensor y = Tensor::randn({4}, DType::f32, &data_gen);
    const Tensor h = matmul(m.w1, x.reshape({8, 1})).reshape({16});
    const Tensor out = add(matmul(m.w2, h.reshape({16, 1})).reshape({4}), m.b);
    const Tensor noise = mul(Tensor::randn({4}), 0.01);  // default generator
    const Tensor diff = sub(add(out, noise), y);
    sum(mul(diff, diff)).backward();
    optim::clip_grad_norm_(m.params(), 1.0);
    sched.step();
    opt.step();
    opt.zero_grad();
    m.counter.fill_(m.counter.item() + 1);
}

std::unique_ptr<optim::AdamW> make_optimizer(const TinyModel& m) {
    optim::AdamWOptions decay, no_decay;
    decay.lr = 1e-2;
    no_decay.lr = 2e-2;
    no_decay.weight_decay = 0;
    return std::make_unique<optim::AdamW>(std::vector<optim::AdamW::Group>{
        {{{"w1", m.w1}, {"w2", m.w2}}, decay}, {{{"b", m.b}}, no_decay}});
}

TEST(Checkpoint, ResumeIsBitExact) {
    ScratchDir dir;
    const std::string path = dir.file("ck.safetensors");
    const optim::PolyWarmupOptions poly{3, 20, 1e-6, 0.9};

    // Uninterrupted: 12 steps.
    manual_seed(123);
    Generator data_a(7);
    TinyModel a;
    auto opt_a = make_optimizer(a);
    optim::PolyWarmupLR sched_a(*opt_a, poly);
    for (int s = 0; s < 12; ++s) train_step(a, *opt_a, sched_a, data_a);

    // Interrupted: 5 steps, checkpoint, then a fresh process state resumes for 7 more.
    manual_seed(123);
    Generator data_b(7);
    TinyModel b;
    auto opt_b = make_optimizer(b);
    optim::PolyWarmupLR sched_b(*opt_b, poly);
    for (int s = 0; s < 5; ++s) train_step(b, *opt_b, sched_b, data_b);
    Checkpoint save{b.named(), opt_b.get(), &sched_b, {{"data", &data_b}}, 5, 1, {{"run", "test"}}};
    io::save_checkpoint(path, save);
    const uint64_t default_offset = default_generator().offset();

    manual_seed(999);  // scrambled state: the checkpoint must restore everything
    Generator data_c(0);
    TinyModel c;
    auto opt_c = make_optimizer(c);
    optim::PolyWarmupLR sched_c(*opt_c, poly);
    Checkpoint load{c.named(), opt_c.get(), &sched_c, {{"data", &data_c}}};
    io::load_checkpoint(path, load);
    EXPECT_EQ(load.step, 5);
    EXPECT_EQ(load.epoch, 1);
    EXPECT_EQ(load.user, (io::StringMap{{"run", "test"}}));
    EXPECT_EQ(sched_c.global_step(), 5);
    EXPECT_EQ(data_c.seed(), 7u);
    EXPECT_EQ(data_c.offset(), data_b.offset());
    EXPECT_EQ(default_generator().seed(), 123u);
    EXPECT_EQ(default_generator().offset(), default_offset);
    EXPECT_TRUE(bit_equal(c.w1, b.w1));
    EXPECT_EQ(c.counter.item(), 5);
    for (int s = 5; s < 12; ++s) train_step(c, *opt_c, sched_c, data_c);

    EXPECT_TRUE(bit_equal(c.w1, a.w1));
    EXPECT_TRUE(bit_equal(c.w2, a.w2));
    EXPECT_TRUE(bit_equal(c.b, a.b));
    EXPECT_EQ(c.counter.item(), 12);
    EXPECT_EQ(opt_c->lr(0), opt_a->lr(0));
    EXPECT_TRUE(bit_equal(opt_c->state_buffer("w1", "exp_avg_sq"), opt_a->state_buffer("w1", "exp_avg_sq")));
    EXPECT_FALSE(bit_equal(c.w1, b.w1));  // training moved on after the checkpoint
}

TEST(Checkpoint, FileLayoutIsPlainSafetensors) {
    ScratchDir dir;
    const std::string path = dir.file("ck.safetensors");
    TinyModel m;
    optim::SGD opt(m.params(), optim::SGDOptions{0.1, 0.9});
    m.w1.set_grad(Tensor::ones({16, 8}));
    opt.step();
    Generator g(1ull << 63);
    g.reserve(12345678901ull);
    io::save_checkpoint(path, Checkpoint{m.named(), &opt, nullptr, {{"aug", &g}}, 77, 3, {{"k", "v"}}});

    io::SafetensorsFile f(path);
    EXPECT_TRUE(f.contains("model.w1"));
    EXPECT_TRUE(f.contains("model.counter"));
    EXPECT_TRUE(f.contains("optim.w1.momentum_buffer"));
    EXPECT_FALSE(f.contains("optim.w2.momentum_buffer"));  // w2 had no gradient
    EXPECT_TRUE(bit_equal(f.tensor("model.w2"), m.w2));
    const json::Value meta = json::parse(f.metadata().at(io::kCheckpointMetadataKey));
    EXPECT_EQ(meta.at("version").as_int64(), io::kCheckpointVersion);
    EXPECT_EQ(meta.at("step").as_int64(), 77);
    EXPECT_EQ(meta.at("optimizer").at("type").as_string(), "SGD");
    EXPECT_EQ(meta.at("optimizer").at("scalars").at("group.0.momentum").as_double(), 0.9);
    EXPECT_TRUE(meta.at("schedule").is_null());
    EXPECT_EQ(meta.at("generators").at("aug").at("seed").as_uint64(), 1ull << 63);
    EXPECT_EQ(meta.at("generators").at("aug").at("offset").as_uint64(), 12345678901ull);
    EXPECT_TRUE(meta.at("generators").find("default"));

    // Loading only the model (no optimizer/schedule pointers) is allowed.
    TinyModel fresh;
    Checkpoint only_model{fresh.named()};
    io::load_checkpoint(path, only_model);
    EXPECT_TRUE(bit_equal(fresh.w1, m.w1));
    EXPECT_EQ(only_model.step, 77);
}

TEST(Checkpoint, MismatchesNameFileAndTensor) {
    ScratchDir dir;
    const std::string path = dir.file("ck.safetensors");
    TinyModel m;
    auto opt = make_optimizer(m);
    optim::PolyWarmupLR sched(*opt, {3, 20, 1e-6, 0.9});
    io::save_checkpoint(path, Checkpoint{m.named(), opt.get(), &sched});

    {  // missing tensor
        TinyModel t;
        io::NamedTensors named = t.named();
        named.emplace_back("extra", Tensor::zeros({2}));
        Checkpoint ck{named};
        expect_error([&] { io::load_checkpoint(path, ck); }, {path, "missing tensor 'model.extra'"});
    }
    {  // wrong shape
        Checkpoint ck{{{"w1", Tensor::zeros({8, 16})}, {"w2", m.w2}, {"b", m.b}, {"counter", m.counter}}};
        expect_error([&] { io::load_checkpoint(path, ck); }, {path, "'model.w1'", "[16, 8]", "[8, 16]"});
    }
    {  // wrong dtype
        Checkpoint ck{{{"w1", m.w1}, {"w2", m.w2}, {"b", m.b}, {"counter", Tensor::zeros({}, DType::i32)}}};
        expect_error([&] { io::load_checkpoint(path, ck); }, {path, "'model.counter'", "I64", "I32"});
    }
    {  // a tensor in the file that the model lacks
        Checkpoint ck{{{"w1", m.w1}, {"w2", m.w2}, {"b", m.b}}};
        expect_error([&] { io::load_checkpoint(path, ck); }, {path, "unexpected tensor 'model.counter'"});
    }
    {  // optimizer of another type
        TinyModel t;
        optim::SGD sgd(t.params());
        Checkpoint ck{t.named(), &sgd};
        expect_error([&] { io::load_checkpoint(path, ck); }, {path, "optimizer state is for AdamW, not SGD"});
    }
    {  // optimizer over other parameter names
        TinyModel t;
        optim::AdamW other(std::vector<optim::AdamW::Group>{{{{"w1", t.w1}, {"b", t.b}}, {}}, {{{"w2", t.w2}}, {}}});
        Checkpoint ck{t.named(), &other};
        expect_error([&] { io::load_checkpoint(path, ck); }, {path, "group 0 parameter 1 is 'w2'", "'b'"});
    }
    {  // schedule of another type
        TinyModel t;
        auto o = make_optimizer(t);
        optim::StepLR step(*o, {5, 0.5});
        Checkpoint ck{t.named(), o.get(), &step};
        expect_error([&] { io::load_checkpoint(path, ck); }, {path, "schedule", "PolyWarmupLR, not StepLR"});
    }
    {  // a generator the file does not hold
        TinyModel t;
        Generator g;
        Checkpoint ck{t.named(), nullptr, nullptr, {{"other", &g}}};
        expect_error([&] { io::load_checkpoint(path, ck); }, {path, "generator 'other'", "missing key"});
    }
    {  // a checkpoint without optimizer state, loaded with an optimizer
        const std::string bare = dir.file("bare.safetensors");
        io::save_checkpoint(bare, Checkpoint{m.named()});
        TinyModel t;
        auto o = make_optimizer(t);
        Checkpoint ck{t.named(), o.get()};
        expect_error([&] { io::load_checkpoint(bare, ck); }, {bare, "holds no optimizer state"});
    }
    {  // a plain safetensors file
        const std::string plain = dir.file("plain.safetensors");
        io::save_safetensors(plain, {{"w1", m.w1}});
        Checkpoint ck{{{"w1", m.w1}}};
        expect_error([&] { io::load_checkpoint(plain, ck); }, {plain, "not a wsdol training checkpoint"});
    }
    // A failed load leaves the model untouched.
    TinyModel t;
    const std::string before = tensor_bytes(t.w1);
    Checkpoint ck{{{"w1", t.w1}, {"w2", Tensor::zeros({1})}, {"b", t.b}, {"counter", t.counter}}};
    EXPECT_THROW(io::load_checkpoint(path, ck), Error);
    EXPECT_EQ(tensor_bytes(t.w1), before);
}

// A child process saves ever newer versions of a large checkpoint to one path; it is SIGKILLed at random
// moments. The file at the path must always load and be one complete version (every value equal to its step).
TEST(Checkpoint, SurvivesSigkillDuringSave) {
    ScratchDir dir;
    const std::string path = dir.file("ck.safetensors");
    // ~24 MB per checkpoint, prepared before fork(): the child runs no OpenMP code (libgomp is not fork-safe),
    // it only rewrites the values with std::fill and saves.
    Tensor big1 = Tensor::zeros({3 << 20}), big2 = Tensor::zeros({3 << 20});
    Tensor small = Tensor::zeros({7}, DType::i64);
    auto fill_version = [&](int64_t v) {
        std::fill(big1.data<float>(), big1.data<float>() + big1.numel(), static_cast<float>(v));
        std::fill(big2.data<float>(), big2.data<float>() + big2.numel(), static_cast<float>(-v));
        std::fill(small.data<int64_t>(), small.data<int64_t>() + small.numel(), v);
    };
    auto contents = [&](int64_t v) {
        return Checkpoint{{{"big1", big1}, {"big2", big2}, {"small", small}}, nullptr, nullptr, {}, v, v, {}};
    };
    fill_version(0);
    io::save_checkpoint(path, contents(0));

    std::mt19937 rng(2024);
    int64_t last_version = 0;
    int interrupted_writes = 0;
    for (int kill = 0; kill < 5; ++kill) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0) << "fork failed";
        if (pid == 0) {
            // Child: save versions last+1, last+2, ... until killed. Exit codes report failures.
            try {
                for (int64_t v = last_version + 1;; ++v) {
                    fill_version(v);
                    io::save_checkpoint(path, contents(v));
                }
            } catch (...) {
                ::_exit(3);
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 400));
        ASSERT_EQ(::kill(pid, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "the child stopped on its own (status " << status << ")";

        Tensor r1 = Tensor::zeros({3 << 20}), r2 = Tensor::zeros({3 << 20}), rs = Tensor::zeros({7}, DType::i64);
        Checkpoint ck{{{"big1", r1}, {"big2", r2}, {"small", rs}}};
        ASSERT_NO_THROW(io::load_checkpoint(path, ck)) << "after kill " << kill;
        const int64_t v = ck.step;
        EXPECT_GE(v, last_version) << "after kill " << kill;
        EXPECT_EQ(ck.epoch, v);
        const float* p1 = r1.data<float>();
        const float* p2 = r2.data<float>();
        EXPECT_TRUE(std::all_of(p1, p1 + r1.numel(), [&](float x) { return x == static_cast<float>(v); }));
        EXPECT_TRUE(std::all_of(p2, p2 + r2.numel(), [&](float x) { return x == static_cast<float>(-v); }));
        EXPECT_EQ(rs.to_vector(), std::vector<double>(7, static_cast<double>(v)));
        last_version = v;
        interrupted_writes += io::remove_stale_temporaries(path);  // a kill mid-write leaves a temp file
    }
    RecordProperty("interrupted_writes", interrupted_writes);
    RecordProperty("last_version", static_cast<int>(last_version));
    EXPECT_GT(last_version, 0);  // the child did complete some saves
}

}  // namespace
}  // namespace wsdol::test
