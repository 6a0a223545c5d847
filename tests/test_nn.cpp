// test_nn.cpp — the Module tree (PyTorch state_dict names and order, load_state_dict reports, modes, conversion),
// initializations, and the attention modules (probabilities, masks, timm vs PyTorch layouts).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "engine/autograd/autograd.h"
#include "engine/nn/attention.h"
#include "engine/nn/conv.h"
#include "engine/nn/dropout.h"
#include "engine/nn/embedding.h"
#include "engine/nn/init.h"
#include "engine/nn/linear.h"
#include "engine/nn/module.h"
#include "engine/nn/norm.h"
#include "engine/nn/sequential.h"
#include "engine/ops/ops.h"

namespace wsdol::nn {
namespace {

// ---------------------------------------------------------------- a small ViT / CLIP-shaped model

struct Mlp : Module {  // timm Mlp: fc1, act, fc2
    Mlp(int64_t d, int64_t hidden, Generator* gen) : Module("Mlp") {
        fc1 = register_module("fc1", std::make_shared<Linear>(d, hidden, true, gen));
        act = register_module("act", std::make_shared<GELU>());
        fc2 = register_module("fc2", std::make_shared<Linear>(hidden, d, true, gen));
    }
    Tensor forward(const Tensor& x) override { return fc2->forward(act->forward(fc1->forward(x))); }
    std::shared_ptr<Linear> fc1, fc2;
    std::shared_ptr<GELU> act;
};

struct Block : Module {  // timm Block: norm1, attn, drop_path1, norm2, mlp, drop_path2
    Block(int64_t d, int64_t heads, Generator* gen) : Module("Block") {
        norm1 = register_module("norm1", std::make_shared<LayerNorm>(d, 1e-6));
        attn = register_module("attn", std::make_shared<Attention>(d, heads, true, 0.0, 0.0, gen));
        drop_path1 = register_module("drop_path1", std::make_shared<DropPath>(0.1, gen));
        norm2 = register_module("norm2", std::make_shared<LayerNorm>(d, 1e-6));
        mlp = register_module("mlp", std::make_shared<Mlp>(d, 2 * d, gen));
        drop_path2 = register_module("drop_path2", std::make_shared<DropPath>(0.1, gen));
    }
    std::shared_ptr<LayerNorm> norm1, norm2;
    std::shared_ptr<Attention> attn;
    std::shared_ptr<DropPath> drop_path1, drop_path2;
    std::shared_ptr<Mlp> mlp;
};

struct PatchEmbed : Module {
    PatchEmbed(int64_t d, Generator* gen) : Module("PatchEmbed") {
        proj = register_module("proj", std::make_shared<Conv2d>(3, d, 4, 4, 0, 1, 1, true, gen));
    }
    std::shared_ptr<Conv2d> proj;
};

struct ResBlock : Module {  // OpenAI CLIP ResidualAttentionBlock: attn, ln_1, mlp (c_fc, gelu, c_proj), ln_2
    ResBlock(int64_t d, int64_t heads, Generator* gen) : Module("ResidualAttentionBlock") {
        attn = register_module("attn", std::make_shared<MultiheadAttention>(d, heads, 0.0, true, false, gen));
        ln_1 = register_module("ln_1", std::make_shared<LayerNorm>(d));
        auto m = std::make_shared<Sequential>();
        m->add("c_fc", std::make_shared<Linear>(d, 2 * d, true, gen));
        m->add("gelu", std::make_shared<QuickGELU>());
        m->add("c_proj", std::make_shared<Linear>(2 * d, d, true, gen));
        mlp = register_module("mlp", m);
        ln_2 = register_module("ln_2", std::make_shared<LayerNorm>(d));
    }
    std::shared_ptr<MultiheadAttention> attn;
    std::shared_ptr<LayerNorm> ln_1, ln_2;
    std::shared_ptr<Sequential> mlp;
};

struct TinyModel : Module {
    explicit TinyModel(uint64_t seed, int64_t D = 8) : Module("TinyModel"), gen(seed) {
        // timm assigns patch_embed before cls_token; PyTorch still lists a module's own parameters first.
        patch_embed = register_module("patch_embed", std::make_shared<PatchEmbed>(D, &gen));
        cls_token = register_parameter("cls_token", Tensor::zeros({1, 1, D}));
        pos_embed = register_parameter("pos_embed", Tensor::zeros({1, 5, D}));
        init::trunc_normal_(pos_embed, 0.0, 0.02, -2.0, 2.0, &gen);
        blocks = register_module("blocks", std::make_shared<ModuleList>());
        for (int i = 0; i < 2; ++i) blocks->push_back(std::make_shared<Block>(D, 2, &gen));
        norm = register_module("norm", std::make_shared<LayerNorm>(D, 1e-6));
        auto transformer = register_module("transformer", std::make_shared<Module>("Transformer"));
        resblocks = std::make_shared<Sequential>();
        transformer->register_module("resblocks", resblocks);
        resblocks->push_back(std::make_shared<ResBlock>(D, 2, &gen));
        bn = register_module("bn", std::make_shared<BatchNorm2d>(D));
        head = register_module("head", std::make_shared<Linear>(D, 3, true, &gen));
    }
    Generator gen;
    Tensor cls_token, pos_embed;
    std::shared_ptr<PatchEmbed> patch_embed;
    std::shared_ptr<ModuleList> blocks;
    std::shared_ptr<LayerNorm> norm;
    std::shared_ptr<Sequential> resblocks;
    std::shared_ptr<BatchNorm2d> bn;
    std::shared_ptr<Linear> head;
};

std::vector<std::string> names_of(const NamedTensors& list) {
    std::vector<std::string> out;
    for (const auto& [n, t] : list) out.push_back(n);
    return out;
}

std::vector<std::string> expected_state_names() {
    std::vector<std::string> s = {"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias"};
    for (int i = 0; i < 2; ++i) {
        const std::string b = "blocks." + std::to_string(i) + ".";
        for (const char* n : {"norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
                              "attn.proj.bias", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                              "mlp.fc2.weight", "mlp.fc2.bias"})
            s.push_back(b + n);
    }
    s.push_back("norm.weight");
    s.push_back("norm.bias");
    for (const char* n : {"attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight", "attn.out_proj.bias",
                          "ln_1.weight", "ln_1.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight",
                          "mlp.c_proj.bias", "ln_2.weight", "ln_2.bias"})
        s.push_back(std::string("transformer.resblocks.0.") + n);
    for (const char* n : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
                          "head.weight", "head.bias"})
        s.push_back(n);
    return s;
}

// Exact equality of all elements (bitwise for finite values: f32 -> double is exact).
bool same_values(const Tensor& a, const Tensor& b) { return a.shape() == b.shape() && a.to_vector() == b.to_vector(); }

void expect_close(const std::vector<double>& got, const std::vector<double>& want, double tol, const char* what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < got.size(); ++i)
        EXPECT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << what << " [" << i << "]";
}

// ---------------------------------------------------------------- names and order

TEST(NnModule, StateDictNamesFollowPyTorch) {
    TinyModel m(1);
    const std::vector<std::string> want = expected_state_names();
    EXPECT_EQ(names_of(m.state_dict()), want);
    std::vector<std::string> params;
    for (const std::string& n : want)
        if (n.find("running_") == std::string::npos && n.find("num_batches") == std::string::npos) params.push_back(n);
    EXPECT_EQ(names_of(m.named_parameters()), params);
    EXPECT_EQ(names_of(m.named_buffers()),
              (std::vector<std::string>{"bn.running_mean", "bn.running_var", "bn.num_batches_tracked"}));
    EXPECT_EQ(m.find("bn.num_batches_tracked").dtype(), DType::i64);
    EXPECT_EQ(m.find("bn.num_batches_tracked").dim(), 0);
    EXPECT_EQ(m.find("transformer.resblocks.0.attn.in_proj_weight").shape(), (Shape{24, 8}));
    EXPECT_TRUE(m.find("blocks.1.attn.qkv.weight").same(m.blocks->at<Block>(1)->attn->qkv->weight));
    for (const Tensor& p : m.parameters()) EXPECT_TRUE(p.requires_grad() && p.is_leaf());
    // named_modules: self first, then pre-order with dotted names.
    auto mods = m.named_modules();
    ASSERT_GE(mods.size(), 4u);
    EXPECT_EQ(mods[0].first, "");
    EXPECT_EQ(mods[1].first, "patch_embed");
    EXPECT_EQ(mods[2].first, "patch_embed.proj");
    EXPECT_EQ(mods[3].first, "blocks");
    EXPECT_EQ(mods[4].first, "blocks.0");
}

TEST(NnModule, SummaryListsModulesWithShapes) {
    TinyModel m(1);
    const std::string s = m.summary();
    EXPECT_NE(s.find("TinyModel cls_token[1, 1, 8] pos_embed[1, 5, 8]\n"), std::string::npos) << s;
    EXPECT_NE(s.find("    blocks.0.attn: Attention(dim=8, num_heads=2)\n"), std::string::npos) << s;
    EXPECT_NE(s.find("blocks.0.attn.qkv: Linear(in_features=8, out_features=24, bias=True) weight[24, 8] bias[24]"),
              std::string::npos) << s;
    EXPECT_NE(s.find("bn: BatchNorm2d(8, eps=1e-05, momentum=0.1"), std::string::npos) << s;
}

TEST(NnModule, SharedParameterListedOnceInParametersButEverywhereInStateDict) {
    auto root = std::make_shared<Module>("Root");
    auto a = root->register_module("a", std::make_shared<Linear>(3, 3));
    auto b = root->register_module("b", std::make_shared<Module>("Tied"));
    b->register_parameter("weight", a->weight);  // tied weights (e.g. an embedding and a decoder)
    EXPECT_EQ(names_of(root->named_parameters()), (std::vector<std::string>{"a.weight", "a.bias"}));
    EXPECT_EQ(names_of(root->state_dict()), (std::vector<std::string>{"a.weight", "a.bias", "b.weight"}));
}

TEST(NnModule, NonPersistentBufferIsNotSaved) {
    Module m("M");
    m.register_buffer("kept", Tensor::zeros({2}));
    m.register_buffer("attn_mask", Tensor::zeros({2, 2}), false);
    EXPECT_EQ(names_of(m.state_dict()), (std::vector<std::string>{"kept"}));
    EXPECT_EQ(names_of(m.named_buffers()), (std::vector<std::string>{"kept", "attn_mask"}));
}

TEST(NnModule, EvalModeGuardRestoresTheModeEvenOnAnError) {
    Generator gen(1);
    nn::Dropout drop(0.5, &gen);
    for (bool training : {true, false}) {
        drop.train(training);
        {
            nn::EvalModeGuard guard(drop);
            EXPECT_FALSE(drop.is_training());
        }
        EXPECT_EQ(drop.is_training(), training);
        try {
            nn::EvalModeGuard guard(drop);
            throw std::runtime_error("inference failed");
        } catch (const std::runtime_error&) {
        }
        EXPECT_EQ(drop.is_training(), training);
    }
}

TEST(NnModule, RegistrationErrorsNameTheProblem) {
    Module m("Thing");
    m.register_parameter("w", Tensor::zeros({2}));
    try {
        m.register_buffer("w", Tensor::zeros({2}));
        FAIL() << "expected a duplicate-name error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("already taken"), std::string::npos) << e.what();
    }
    EXPECT_THROW(m.register_parameter("a.b", Tensor::zeros({1})), Error);
    try {
        m.parameter("nope");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no parameter 'nope' (has: w)"), std::string::npos) << e.what();
    }
    TinyModel t(1);
    try {
        t.find("blocks.7.attn.qkv.weight");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no module '7'"), std::string::npos) << e.what();
    }
    EXPECT_THROW(t.blocks->at<Block>(5), Error);
    EXPECT_THROW(t.blocks->at<Linear>(0), Error);  // wrong type
}

// ---------------------------------------------------------------- load_state_dict

TEST(NnModule, LoadStateDictRoundTrip) {
    TinyModel a(1), b(2);
    ASSERT_FALSE(same_values(a.head->weight, b.head->weight));
    a.bn->num_batches_tracked.fill_(5);
    std::map<std::string, Tensor> sd;
    for (auto& [n, t] : a.state_dict()) sd[n] = t;
    const Tensor b_head = b.head->weight;  // the same handle must see the loaded values
    LoadReport r = b.load_state_dict(sd);
    EXPECT_TRUE(r.ok()) << r.str();
    for (auto& [n, t] : a.state_dict()) EXPECT_TRUE(same_values(b.find(n), t)) << n;
    EXPECT_TRUE(same_values(b_head, a.head->weight));
    EXPECT_EQ(b.bn->num_batches_tracked.item(), 5);
    EXPECT_TRUE(b_head.requires_grad() && b_head.is_leaf());
}

TEST(NnModule, LoadStateDictReportsMissingUnexpectedAndMismatchedByName) {
    TinyModel a(1), b(2);
    std::map<std::string, Tensor> sd;
    for (auto& [n, t] : a.state_dict()) sd[n] = t;
    sd.erase("head.bias");
    sd.erase("bn.running_var");
    sd["head.extra"] = Tensor::zeros({3});
    sd["norm.weight"] = Tensor::zeros({9});  // model has [8]
    const std::vector<double> before = b.head->weight.to_vector();
    try {
        b.load_state_dict(sd, /*strict=*/true);
        FAIL() << "strict load should throw";
    } catch (const Error& e) {
        const std::string msg = e.what();
        for (const char* key : {"head.bias", "bn.running_var", "head.extra", "norm.weight", "[9]", "[8]", "missing",
                                "unexpected", "size mismatch"})
            EXPECT_NE(msg.find(key), std::string::npos) << "'" << key << "' not in: " << msg;
    }
    EXPECT_EQ(b.head->weight.to_vector(), before) << "a failed strict load must not copy anything";

    LoadReport r = b.load_state_dict(sd, /*strict=*/false);
    EXPECT_EQ(r.missing, (std::vector<std::string>{"bn.running_var", "head.bias"}));
    EXPECT_EQ(r.unexpected, (std::vector<std::string>{"head.extra"}));
    ASSERT_EQ(r.mismatched.size(), 1u);
    EXPECT_EQ(r.mismatched[0], "norm.weight: checkpoint [9] vs model [8]");
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(same_values(b.head->weight, a.head->weight)) << "non-strict load copies what matches";
    EXPECT_FALSE(same_values(b.norm->weight, Tensor::zeros({9})));
}

TEST(NnModule, LoadStateDictConvertsToTheModelDtype) {
    Linear lin(3, 2);
    Tensor w = Tensor::from_vector({0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {2, 3}, DType::f64);
    Tensor b = Tensor::from_vector({1.5, -2.5}, {2}, DType::f16);
    lin.load_state_dict(std::map<std::string, Tensor>{{"weight", w}, {"bias", b}});
    EXPECT_EQ(lin.weight.dtype(), DType::f32);
    EXPECT_EQ(lin.weight.to_vector(), Tensor::from_vector(w.to_vector(), {2, 3}, DType::f32).to_vector());
    EXPECT_EQ(lin.bias.to_vector(), (std::vector<double>{1.5, -2.5}));
    BatchNorm2d bn(2);
    bn.load_state_dict(std::map<std::string, Tensor>{{"weight", Tensor::ones({2}, DType::f64)},
                                                     {"bias", Tensor::zeros({2}, DType::f64)},
                                                     {"running_mean", Tensor::zeros({2}, DType::f16)},
                                                     {"running_var", Tensor::ones({2}, DType::bf16)},
                                                     {"num_batches_tracked", Tensor::scalar(7, DType::f64)}});
    EXPECT_EQ(bn.num_batches_tracked.dtype(), DType::i64);
    EXPECT_EQ(bn.num_batches_tracked.item(), 7);
    EXPECT_EQ(bn.running_var.dtype(), DType::f32);
}

TEST(NnModule, ToDtypeConvertsFloatingStateInPlace) {
    TinyModel m(3);
    const Tensor handle = m.head->weight;
    const std::vector<double> before = handle.to_vector();
    m.to(DType::f64);
    EXPECT_EQ(handle.dtype(), DType::f64);  // the module's field and any other handle see the conversion
    EXPECT_EQ(handle.to_vector(), before);
    EXPECT_TRUE(handle.requires_grad());
    EXPECT_EQ(m.bn->running_mean.dtype(), DType::f64);
    EXPECT_EQ(m.bn->num_batches_tracked.dtype(), DType::i64);  // integer buffers keep their dtype (PyTorch)
}

// ---------------------------------------------------------------- modes and gradients

TEST(NnModule, TrainEvalIsRecursive) {
    TinyModel m(1);
    m.eval();
    for (auto& [n, mod] : m.named_modules()) EXPECT_FALSE(mod->is_training()) << n;
    m.train();
    for (auto& [n, mod] : m.named_modules()) EXPECT_TRUE(mod->is_training()) << n;
}

TEST(NnModule, ZeroGradAndFreeze) {
    Linear lin(4, 2);
    Tensor x = Tensor::ones({3, 4});
    sum(lin.forward(x)).backward();
    ASSERT_TRUE(lin.weight.grad().defined());
    lin.zero_grad();
    EXPECT_FALSE(lin.weight.grad().defined());
    lin.requires_grad_(false);
    EXPECT_FALSE(lin.weight.requires_grad());
    EXPECT_FALSE(lin.forward(x).requires_grad());
    EXPECT_EQ(lin.num_parameters(), 4 * 2 + 2);
}

TEST(NnModule, DropoutFollowsTrainEval) {
    Generator gen(11);
    Dropout drop(0.5, &gen);
    Tensor x = Tensor::ones({1000});
    Tensor y = drop.forward(x);
    int zeros = 0;
    for (double v : y.to_vector()) {
        EXPECT_TRUE(v == 0.0 || v == 2.0) << v;  // survivors scaled by 1 / (1 - p)
        zeros += v == 0.0;
    }
    EXPECT_GT(zeros, 400);
    EXPECT_LT(zeros, 600);
    drop.eval();
    EXPECT_EQ(drop.forward(x).to_vector(), x.to_vector());
}

TEST(NnModule, DropPathFollowsTrainEval) {
    Generator gen(12);
    DropPath dp(0.5, &gen);
    Tensor x = Tensor::ones({64, 3, 2});
    std::vector<double> y = dp.forward(x).to_vector();
    int dropped = 0;
    for (int n = 0; n < 64; ++n) {
        for (int i = 1; i < 6; ++i) EXPECT_EQ(y[n * 6 + i], y[n * 6]) << "a whole sample is kept or dropped";
        EXPECT_TRUE(y[n * 6] == 0.0 || y[n * 6] == 2.0);
        dropped += y[n * 6] == 0.0;
    }
    EXPECT_GT(dropped, 10);
    EXPECT_LT(dropped, 54);
    dp.eval();
    EXPECT_EQ(dp.forward(x).to_vector(), x.to_vector());
}

TEST(NnModule, BatchNormTrainUsesBatchStatsAndUpdatesRunningStats) {
    BatchNorm2d bn(2);
    Generator g(5);
    Tensor x = Tensor::uniform({3, 2, 2, 2}, -1, 3, DType::f32, &g);
    const std::vector<double> xv = x.to_vector();
    // per-channel batch mean and variances
    double mean[2] = {0, 0}, var_b[2] = {0, 0};
    for (int c = 0; c < 2; ++c) {
        std::vector<double> v;
        for (int n = 0; n < 3; ++n)
            for (int i = 0; i < 4; ++i) v.push_back(xv[(n * 2 + c) * 4 + i]);
        for (double a : v) mean[c] += a / 12;
        for (double a : v) var_b[c] += (a - mean[c]) * (a - mean[c]) / 12;
    }
    std::vector<double> y = bn.forward(x).to_vector();
    for (int c = 0; c < 2; ++c)
        for (int n = 0; n < 3; ++n)
            for (int i = 0; i < 4; ++i) {
                const int k = (n * 2 + c) * 4 + i;
                EXPECT_NEAR(y[k], (xv[k] - mean[c]) / std::sqrt(var_b[c] + 1e-5), 1e-5);
            }
    EXPECT_EQ(bn.num_batches_tracked.item(), 1);
    const std::vector<double> rm = bn.running_mean.to_vector(), rv = bn.running_var.to_vector();
    for (int c = 0; c < 2; ++c) {
        EXPECT_NEAR(rm[c], 0.1 * mean[c], 1e-6);
        EXPECT_NEAR(rv[c], 0.9 + 0.1 * var_b[c] * 12 / 11, 1e-6);  // running var is unbiased (PyTorch)
    }
    // eval: the running statistics, and nothing updates
    bn.eval();
    y = bn.forward(x).to_vector();
    for (int c = 0; c < 2; ++c)
        for (int n = 0; n < 3; ++n)
            for (int i = 0; i < 4; ++i) {
                const int k = (n * 2 + c) * 4 + i;
                EXPECT_NEAR(y[k], (xv[k] - rm[c]) / std::sqrt(rv[c] + 1e-5), 1e-5);
            }
    EXPECT_EQ(bn.num_batches_tracked.item(), 1);
    EXPECT_EQ(bn.running_mean.to_vector(), rm);
}

TEST(NnModule, BatchNormCumulativeAverageWithoutMomentum) {
    BatchNorm2d bn(1, 1e-5, std::nullopt);
    Tensor a = Tensor::full({2, 1, 1, 2}, 3.0), b = Tensor::full({2, 1, 1, 2}, 5.0);
    bn.forward(a);
    EXPECT_NEAR(bn.running_mean.item(), 3.0, 1e-6);  // factor 1/1
    bn.forward(b);
    EXPECT_NEAR(bn.running_mean.item(), 4.0, 1e-6);  // factor 1/2
    EXPECT_EQ(bn.num_batches_tracked.item(), 2);
}

TEST(NnModule, EmbeddingPaddingRowIsZeroAndGetsNoGradient) {
    Generator g(3);
    Embedding emb(5, 4, 1, &g);
    std::vector<double> w = emb.weight.to_vector();
    for (int j = 0; j < 4; ++j) EXPECT_EQ(w[4 + j], 0.0);
    Tensor ids = Tensor::from_vector({1, 2, 1, 0}, {2, 2}, DType::i64);
    Tensor out = emb.forward(ids);
    EXPECT_EQ(out.shape(), (Shape{2, 2, 4}));
    sum(out).backward();
    std::vector<double> gw = emb.weight.grad().to_vector();
    for (int j = 0; j < 4; ++j) {
        EXPECT_EQ(gw[0 * 4 + j], 1.0);
        EXPECT_EQ(gw[1 * 4 + j], 0.0) << "padding_idx row";
        EXPECT_EQ(gw[2 * 4 + j], 1.0);
    }
}

TEST(NnModule, SequentialRunsInOrder) {
    Generator g(4);
    Sequential seq;
    auto l1 = seq.push_back(std::make_shared<Linear>(3, 4, true, &g));
    seq.push_back(std::make_shared<ReLU>());
    auto l2 = seq.push_back(std::make_shared<Linear>(4, 2, true, &g));
    seq.push_back(std::make_shared<Identity>());
    EXPECT_EQ(names_of(seq.state_dict()), (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
    Tensor x = Tensor::uniform({5, 3}, -1, 1, DType::f32, &g);
    EXPECT_EQ(seq.forward(x).to_vector(), linear(relu(linear(x, l1->weight, l1->bias)), l2->weight, l2->bias).to_vector());
    EXPECT_THROW(Module("Plain").forward(x), Error);
}

TEST(NnModule, LayersCallTheirOpsWithTheirSettings) {
    Generator g(6);
    Tensor x = Tensor::uniform({2, 4, 8, 8}, -1, 1, DType::f32, &g);
    Conv2d conv(4, 6, 3, 2, 1, 1, 2, true, &g);
    Tensor y = conv.forward(x);
    EXPECT_EQ(y.shape(), (Shape{2, 6, 4, 4}));
    EXPECT_EQ(y.to_vector(), conv2d(x, conv.weight, conv.bias, {2, 2}, {1, 1}, {1, 1}, 2).to_vector());
    GroupNorm gn(2, 4);
    init::uniform_(gn.weight, 0.5, 1.5, &g);
    EXPECT_EQ(gn.forward(x).to_vector(), group_norm(x, 2, gn.weight, gn.bias, 1e-5).to_vector());
    LayerNorm ln(Shape{8, 8}, 1e-6);
    EXPECT_EQ(ln.forward(x).to_vector(), layer_norm(x, {8, 8}, ln.weight, ln.bias, 1e-6).to_vector());
    LayerNorm plain(8, 1e-5, /*elementwise_affine=*/false);
    EXPECT_TRUE(plain.state_dict().empty());
    EXPECT_EQ(plain.forward(x).to_vector(), layer_norm(x, {8}, Tensor(), Tensor(), 1e-5).to_vector());
    BatchNorm2d no_stats(4, 1e-5, 0.1, true, /*track_running_stats=*/false);
    EXPECT_EQ(names_of(no_stats.state_dict()), (std::vector<std::string>{"weight", "bias"}));
    no_stats.eval();  // no running statistics: batch statistics even in eval (PyTorch)
    EXPECT_EQ(no_stats.forward(x).to_vector(),
              batch_norm(x, Tensor(), Tensor(), no_stats.weight, no_stats.bias, true, 0.1, 1e-5).to_vector());
}

// ---------------------------------------------------------------- init

TEST(NnInit, SameSeedSameBits) {
    Generator g1(42), g2(42), g3(43);
    Linear a(64, 32, true, &g1), b(64, 32, true, &g2), c(64, 32, true, &g3);
    EXPECT_TRUE(same_values(a.weight, b.weight));
    EXPECT_TRUE(same_values(a.bias, b.bias));
    EXPECT_FALSE(same_values(a.weight, c.weight));
    TinyModel m1(9), m2(9);
    for (auto& [n, t] : m1.state_dict()) EXPECT_TRUE(same_values(t, m2.find(n))) << n;
}

TEST(NnInit, PyTorchDefaultBounds) {
    Generator g(1);
    Linear lin(64, 256, true, &g);
    const double bound = 1.0 / std::sqrt(64.0);  // kaiming_uniform_(a = sqrt(5)) == U(-1/sqrt(fan_in), ..)
    double max_abs = 0;
    for (double v : lin.weight.to_vector()) max_abs = std::max(max_abs, std::fabs(v));
    EXPECT_LE(max_abs, bound);
    EXPECT_GT(max_abs, 0.95 * bound);  // actually spans the range
    for (double v : lin.bias.to_vector()) EXPECT_LE(std::fabs(v), bound);
    Conv2d conv(6, 16, 3, 1, 1, 1, 2, true, &g);  // fan_in = 6 / 2 * 3 * 3 = 27
    EXPECT_EQ(init::fan_in_and_fan_out(conv.weight), (std::pair<int64_t, int64_t>{27, 16 * 9}));
    for (double v : conv.weight.to_vector()) EXPECT_LE(std::fabs(v), 1.0 / std::sqrt(27.0));
    MultiheadAttention mha(16, 4, 0.0, true, false, &g);
    const double xb = std::sqrt(6.0 / (16 + 48));  // xavier_uniform_ over (3D, D)
    for (double v : mha.in_proj_weight.to_vector()) EXPECT_LE(std::fabs(v), xb);
    for (double v : mha.in_proj_bias.to_vector()) EXPECT_EQ(v, 0.0);
    for (double v : mha.out_proj->bias.to_vector()) EXPECT_EQ(v, 0.0);
    EXPECT_NEAR(init::calculate_gain("leaky_relu", std::sqrt(5.0)), std::sqrt(1.0 / 3.0), 1e-15);
    EXPECT_NEAR(init::calculate_gain("tanh"), 5.0 / 3.0, 1e-15);
}

TEST(NnInit, TruncNormalAndErfinv) {
    for (double y : {-0.999999, -0.9, -0.5, -1e-3, 0.0, 0.25, 0.7, 0.99, 0.9999999})
        EXPECT_NEAR(std::erf(init::erfinv(y)), y, 1e-15) << y;
    EXPECT_TRUE(std::isinf(init::erfinv(1.0)));
    Generator g(8);
    Tensor t = Tensor::empty({20000});
    init::trunc_normal_(t, 0.0, 0.02, -2.0, 2.0, &g);  // timm's ViT init: effectively untruncated N(0, 0.02^2)
    double s = 0, s2 = 0;
    for (double v : t.to_vector()) {
        s += v;
        s2 += v * v;
    }
    EXPECT_NEAR(s / 20000, 0.0, 0.001);
    EXPECT_NEAR(std::sqrt(s2 / 20000), 0.02, 0.0008);
    init::trunc_normal_(t, 0.5, 1.0, 0.0, 1.0, &g);  // strongly truncated: all in [0, 1]
    for (double v : t.to_vector()) EXPECT_TRUE(v >= 0.0 && v <= 1.0) << v;
    Tensor n = Tensor::empty({20000}, DType::f64);
    init::normal_(n, 1.0, 2.0, &g);
    s = s2 = 0;
    for (double v : n.to_vector()) {
        s += v;
        s2 += (v - 1) * (v - 1);
    }
    EXPECT_NEAR(s / 20000, 1.0, 0.05);
    EXPECT_NEAR(std::sqrt(s2 / 20000), 2.0, 0.05);
}

// ---------------------------------------------------------------- attention modules

// Causal additive mask (T, T): 0 on and below the diagonal, -inf above.
Tensor causal(int64_t T) {
    Tensor m = Tensor::zeros({T, T});
    std::vector<double> v(T * T, 0.0);
    for (int64_t i = 0; i < T; ++i)
        for (int64_t j = i + 1; j < T; ++j) v[i * T + j] = -std::numeric_limits<double>::infinity();
    return Tensor::from_vector(v, {T, T});
}

TEST(NnAttention, MultiheadAttentionProbabilitiesAndMask) {
    Generator g(21);
    const int64_t T = 5, B = 3, D = 8, H = 2;
    MultiheadAttention mha(D, H, 0.0, true, false, &g);
    init::uniform_(mha.in_proj_bias, -0.5, 0.5, &g);  // non-zero biases, so their wiring is tested too
    Tensor x = Tensor::uniform({T, B, D}, -1, 1, DType::f32, &g);
    AttentionOutput r = mha.forward(x, causal(T), true);
    ASSERT_EQ(r.out.shape(), (Shape{T, B, D}));
    ASSERT_EQ(r.probs.shape(), (Shape{B, H, T, T}));
    const std::vector<double> p = r.probs.to_vector();
    for (int64_t row = 0; row < B * H * T; ++row) {
        const int64_t i = row % T;
        double s = 0;
        for (int64_t j = 0; j < T; ++j) {
            s += p[row * T + j];
            if (j > i) EXPECT_EQ(p[row * T + j], 0.0) << "masked key " << j << " of query " << i;
            else EXPECT_GT(p[row * T + j], 0.0);
        }
        EXPECT_NEAR(s, 1.0, 1e-6);
    }

    // Reference: PyTorch's multi_head_attention_forward written out with loops.
    const std::vector<double> xv = x.to_vector(), w = mha.in_proj_weight.to_vector(), bi = mha.in_proj_bias.to_vector();
    const std::vector<double> ow = mha.out_proj->weight.to_vector(), ob = mha.out_proj->bias.to_vector();
    const int64_t hd = D / H;
    auto proj = [&](int64_t t, int64_t b, int64_t row) {  // row of the packed projection, for token t of sample b
        double acc = bi[row];
        for (int64_t e = 0; e < D; ++e) acc += w[row * D + e] * xv[(t * B + b) * D + e];
        return acc;
    };
    std::vector<double> attn_out(T * B * D, 0.0), want(T * B * D, 0.0);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < T; ++i) {
                std::vector<double> s(T);
                double mx = -1e300;
                for (int64_t j = 0; j <= i; ++j) {
                    double dot = 0;
                    for (int64_t d = 0; d < hd; ++d) dot += proj(i, b, h * hd + d) * proj(j, b, D + h * hd + d);
                    s[j] = dot / std::sqrt(static_cast<double>(hd));
                    mx = std::max(mx, s[j]);
                }
                double z = 0;
                for (int64_t j = 0; j <= i; ++j) z += std::exp(s[j] - mx);
                for (int64_t d = 0; d < hd; ++d) {
                    double acc = 0;
                    for (int64_t j = 0; j <= i; ++j) acc += std::exp(s[j] - mx) / z * proj(j, b, 2 * D + h * hd + d);
                    attn_out[(i * B + b) * D + h * hd + d] = acc;
                }
                for (int64_t j = 0; j < T; ++j)
                    EXPECT_NEAR(p[((b * H + h) * T + i) * T + j], j <= i ? std::exp(s[j] - mx) / z : 0.0, 1e-5);
            }
    for (int64_t t = 0; t < T * B; ++t)
        for (int64_t o = 0; o < D; ++o) {
            double acc = ob[o];
            for (int64_t e = 0; e < D; ++e) acc += ow[o * D + e] * attn_out[t * D + e];
            want[t * D + o] = acc;
        }
    expect_close(r.out.to_vector(), want, 1e-5, "MultiheadAttention out");

    // The general (query, key, value) path with q = k = v gives the same result as the packed one.
    AttentionOutput r2 = mha.forward(x, x, x, causal(T), true);
    expect_close(r2.out.to_vector(), r.out.to_vector(), 1e-6, "q/k/v path");
    // batch_first: the same module on (B, T, D).
    mha.batch_first = true;
    AttentionOutput r3 = mha.forward(x.transpose(0, 1).contiguous(), causal(T), false);
    expect_close(r3.out.transpose(0, 1).contiguous().to_vector(), r.out.to_vector(), 1e-6, "batch_first");
    EXPECT_FALSE(r3.probs.defined());
}

TEST(NnAttention, CrossAttentionShapes) {
    Generator g(22);
    MultiheadAttention mha(6, 3, 0.0, true, false, &g);
    Tensor q = Tensor::uniform({2, 4, 6}, -1, 1, DType::f32, &g), kv = Tensor::uniform({7, 4, 6}, -1, 1, DType::f32, &g);
    AttentionOutput r = mha.forward(q, kv, kv, Tensor(), true);
    EXPECT_EQ(r.out.shape(), (Shape{2, 4, 6}));
    EXPECT_EQ(r.probs.shape(), (Shape{4, 3, 2, 7}));
    // A 3-D (B * H, Tq, Tk) mask, as PyTorch accepts it: block key 0 for every (sample, head).
    std::vector<double> m(4 * 3 * 2 * 7, 0.0);
    for (size_t i = 0; i < m.size(); i += 7) m[i] = -std::numeric_limits<double>::infinity();
    AttentionOutput rm = mha.forward(q, kv, kv, Tensor::from_vector(m, {12, 2, 7}), true);
    const std::vector<double> p = rm.probs.to_vector();
    for (size_t i = 0; i < p.size(); i += 7) EXPECT_EQ(p[i], 0.0);
}

TEST(NnAttention, TimmAttentionMatchesMultiheadAttentionWithTheSameWeights) {
    Generator g(23);
    const int64_t B = 2, N = 6, D = 12, H = 3;
    Attention timm_attn(D, H, true, 0.0, 0.0, &g);
    init::uniform_(timm_attn.qkv->bias, -0.3, 0.3, &g);
    MultiheadAttention mha(D, H, 0.0, true, /*batch_first=*/true, &g);
    // formats.md: timm's qkv packs rows [q | k | v] exactly as in_proj_weight does.
    std::map<std::string, Tensor> sd = {{"in_proj_weight", timm_attn.qkv->weight}, {"in_proj_bias", timm_attn.qkv->bias},
                                        {"out_proj.weight", timm_attn.proj->weight}, {"out_proj.bias", timm_attn.proj->bias}};
    mha.load_state_dict(sd);
    Tensor x = Tensor::uniform({B, N, D}, -1, 1, DType::f32, &g);
    AttentionOutput a = timm_attn.forward(x, Tensor(), true), m = mha.forward(x, Tensor(), true);
    EXPECT_EQ(a.out.shape(), (Shape{B, N, D}));
    EXPECT_EQ(a.probs.shape(), (Shape{B, H, N, N}));
    expect_close(a.out.to_vector(), m.out.to_vector(), 1e-6, "out");
    expect_close(a.probs.to_vector(), m.probs.to_vector(), 1e-6, "probs");
    EXPECT_EQ(timm_attn.forward(x).to_vector(), a.out.to_vector());
}

TEST(NnAttention, GradientsFlowThroughReturnedProbabilities) {
    Generator g(24);
    Attention attn(8, 2, true, 0.0, 0.0, &g);
    Tensor x = Tensor::uniform({2, 4, 8}, -1, 1, DType::f32, &g);
    AttentionOutput r = attn.forward(x, Tensor(), true);
    Tensor w = Tensor::uniform(r.probs.shape(), 0, 1, DType::f32, &g);
    sum(mul(r.probs, w)).backward();  // the loss sees only the probabilities (as attention-map losses do)
    ASSERT_TRUE(attn.qkv->weight.grad().defined());
    double norm_q = 0, norm_v = 0;
    const std::vector<double> gq = attn.qkv->weight.grad().to_vector();
    for (int64_t i = 0; i < 8 * 8; ++i) norm_q += std::fabs(gq[i]);                // q rows
    for (int64_t i = 2 * 8 * 8; i < 3 * 8 * 8; ++i) norm_v += std::fabs(gq[i]);    // v rows
    EXPECT_GT(norm_q, 0.0);
    EXPECT_EQ(norm_v, 0.0) << "v does not affect the probabilities";
    EXPECT_FALSE(attn.proj->weight.grad().defined()) << "proj is downstream of the probabilities only via out";
}

TEST(NnAttention, AttentionDropoutOnlyInTraining) {
    Generator g(25);
    Attention attn(8, 2, false, 0.5, 0.0, &g);
    Tensor x = Tensor::uniform({1, 5, 8}, -1, 1, DType::f32, &g);
    attn.eval();
    const std::vector<double> e1 = attn.forward(x).to_vector(), e2 = attn.forward(x).to_vector();
    EXPECT_EQ(e1, e2);
    attn.train();
    EXPECT_NE(attn.forward(x).to_vector(), e1);
}

}  // namespace
}  // namespace wsdol::nn
