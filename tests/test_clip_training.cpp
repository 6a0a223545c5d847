// test_clip_training.cpp — models/clip_training: the contrastive loss and its gradients against open_clip's ClipLoss
// on OpenAI's CLIP (fixtures from tests/reference/clip_training/gen_clip_loss.py), the logit-scale clamp, caption
// parsing, a tiny training run that learns (loss down, zero-shot above chance) deterministically, and
// `wsdol train-clip` (files that load strictly, errors naming the file).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/data/synth.h"
#include "engine/io/json.h"
#include "engine/ops/ops.h"
#include "kernels/cpu/parallel.h"
#include "models/clip_training.h"
#include "tests/cli_test_util.h"
#include "tests/error_matchers.h"
#include "tests/io_test_util.h"
#include "tests/parity_util.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/clip_tokenizer.h"
#include "weights/architecture.h"
#include "weights/weights_file.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;
using models::Clip;
using models::ClipConfig;

std::string fixture(const std::string& name) {
    return std::string(WSDOL_SOURCE_DIR) + "/tests/reference/clip_training/" + name;
}

// ---------------------------------------------------------------- loss parity

TEST(ClipTraining, LossAndGradientsMatchOpenClip) {
    const test::ParityFixture fx(fixture("clip_loss.safetensors"));
    Tensor img = fx.input("image_features"), txt = fx.input("text_features");
    Tensor scale = fx.at("param.logit_scale").clone();
    scale.set_requires_grad(true);
    const models::ClipLossOutput out = models::clip_contrastive_loss(img, txt, scale);
    fx.expect_outputs({{"loss", out.loss}, {"logits_per_image", out.logits_per_image}});
    fx.loss({{"loss", out.loss}}).backward();
    fx.expect("grad.param.logit_scale", scale.grad(), test::kParityGradTol);
    fx.expect("grad.input.image_features", img.grad(), test::kParityGradTol);
    fx.expect("grad.input.text_features", txt.grad(), test::kParityGradTol);
}

TEST(ClipTraining, TinyClipThroughTheLossMatchesPyTorch) {
    const test::ParityFixture fx(fixture("clip_model_loss.safetensors"));
    ClipConfig c;
    c.embed_dim = 16;
    c.image_size = 16;
    c.vision_patch_size = 4;
    c.vision_width = 32;
    c.vision_layers = 2;
    c.vision_heads = 1;
    c.context_length = 12;
    c.vocab_size = 100;
    c.text_width = 32;
    c.text_heads = 1;
    c.text_layers = 2;
    Clip model(c);
    const nn::LoadReport report = model.load_state_dict(fx.state_dict(), true);
    ASSERT_TRUE(report.ok()) << report.str();
    Tensor images = fx.input("images");
    const models::ClipOutput out = model.forward(images, fx.at("input.text"));
    const Tensor loss = models::clip_contrastive_loss(out.logits_per_image);
    fx.expect_outputs({{"loss", loss}, {"logits_per_image", out.logits_per_image}});
    fx.loss({{"loss", loss}}).backward();
    fx.expect_gradients(model, {{"images", images}});
}

TEST(ClipTraining, LossOfPerfectAndUniformLogits) {
    // Uniform logits: log(B) both ways. A strongly diagonal matrix: close to 0.
    EXPECT_NEAR(models::clip_contrastive_loss(Tensor::zeros({5, 5})).item(), std::log(5.0), 1e-6);
    const Tensor diag = mul(Tensor::from_vector({1, 0, 0, 0, 1, 0, 0, 0, 1}, {3, 3}), 50.0);
    EXPECT_LT(models::clip_contrastive_loss(diag).item(), 1e-10);
    // Asymmetric: two images close to text 0 are two confusions in column 0's softmax but one in each of rows 1
    // and 2, so the two directions differ, and the loss is their mean.
    const Tensor rows_ok = Tensor::from_vector({10, 0, 0, 9.5, 10, 0, 9.5, 0, 10}, {3, 3});
    const double rows = cross_entropy(rows_ok, Tensor::arange(3)).item();
    const double cols = cross_entropy(rows_ok.t(), Tensor::arange(3)).item();
    EXPECT_NEAR(models::clip_contrastive_loss(rows_ok).item(), (rows + cols) / 2, 1e-6);
    EXPECT_GT(std::abs(cols - rows), 0.01);
}

TEST(ClipTraining, BadLossInputsAreNamed) {
    try {
        models::clip_contrastive_loss(Tensor::zeros({3, 4}));
        FAIL() << "non-square logits accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("clip_contrastive_loss: expected square logits (B, B)"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("[3, 4]"), std::string::npos) << e.what();
    }
    try {
        models::clip_contrastive_loss(Tensor::zeros({3, 4}), Tensor::zeros({2, 4}), Tensor::scalar(1.0));
        FAIL() << "feature batches of different sizes accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("image_features and text_features of the same shape"), std::string::npos)
            << e.what();
    }
}

TEST(ClipTraining, LogitScaleIsClampedToZeroAndLog100) {
    Tensor s = Tensor::scalar(5.0);
    s.set_requires_grad(true);
    models::clamp_logit_scale_(s);
    EXPECT_NEAR(s.item(), std::log(100.0), 1e-6);
    EXPECT_TRUE(s.requires_grad());
    Tensor t = Tensor::scalar(-0.5);
    models::clamp_logit_scale_(t);
    EXPECT_EQ(t.item(), 0.0);
    Tensor u = Tensor::scalar(models::kClipLogitScaleInit);
    models::clamp_logit_scale_(u);
    EXPECT_NEAR(u.item(), std::log(1 / 0.07), 1e-6);
}

// ---------------------------------------------------------------- captions

TEST(ClipTraining, CaptionsSplitIntoObjectsAndScene) {
    const std::vector<std::string> classes = {"circle", "square", "triangle", "star", "ring", "cross"};
    const models::CaptionParts p = models::parse_caption("an orange star, an orange ring and a blue cross on sand", classes);
    ASSERT_EQ(p.objects.size(), 3u);
    EXPECT_EQ(p.objects[0], "an orange star");
    EXPECT_EQ(p.objects[2], "a blue cross");
    EXPECT_EQ(p.bare[1], "a ring");
    EXPECT_EQ(p.scene, "on sand");
    const models::CaptionParts q = models::parse_caption("a white circle in the sky", classes);
    ASSERT_EQ(q.objects.size(), 1u);
    EXPECT_EQ(q.scene, "in the sky");
    EXPECT_TRUE(models::parse_caption("nothing on water", classes).objects.empty());
    EXPECT_TRUE(models::parse_caption("a dog on grass", classes).objects.empty());

    // Partial captions keep the object order, name only caption objects, and are reproducible from the stream.
    for (uint64_t i = 0; i < 50; ++i) {
        data::SampleRng a(1, 2, i), b(1, 2, i);
        const std::string t = models::compose_partial_caption(p, a);
        EXPECT_EQ(t, models::compose_partial_caption(p, b));
        EXPECT_TRUE(t.find("star") != std::string::npos || t.find("ring") != std::string::npos ||
                    t.find("cross") != std::string::npos) << t;
        EXPECT_EQ(t.find("circle"), std::string::npos) << t;
        if (t.find("star") != std::string::npos && t.find("cross") != std::string::npos) {
            EXPECT_LT(t.find("star"), t.find("cross")) << t;
        }
    }
    EXPECT_EQ(models::zero_shot_prompt("a photo of {}.", "star"), "a photo of a star.");
    EXPECT_EQ(models::zero_shot_prompt("a photo of {}.", "ellipse"), "a photo of an ellipse.");
}

// ---------------------------------------------------------------- training

// In-memory pairs straight from the synth renderer.
models::CaptionedImages synth_pairs(int classes, int64_t first, int64_t count, int64_t size, uint64_t seed,
                                    bool object_centric = false) {
    data::SynthConfig sc;
    if (object_centric) {  // one object per image, background independent of the class (the demo's warm-up set)
        sc.max_objects = 1;
        sc.home_probability = 0;
    }
    sc.classes = classes;
    sc.images = first + count;
    sc.size = size;
    sc.seed = seed;
    sc.difficulty = data::SynthDifficulty::easy;
    models::CaptionedImages out;
    out.class_names = data::synth_class_names(classes);
    for (int64_t i = first; i < first + count; ++i) {
        const data::SynthImage s = data::synth_image(sc, i);
        data::Image im;
        im.height = im.width = s.size;
        im.channels = 3;
        im.pixels = s.rgb;
        out.ids.push_back(s.id);
        out.images.push_back(std::move(im));
        out.captions.push_back(s.caption);
        out.labels.push_back(s.labels);
    }
    return out;
}

models::SmallClipOptions tiny_options() {
    models::SmallClipOptions o;
    o.model.image_size = 32;
    o.model.vision_patch_size = 8;
    o.model.vision_width = o.model.text_width = o.model.embed_dim = 64;
    o.model.vision_heads = o.model.text_heads = 1;
    o.model.vision_layers = 1;
    o.model.text_layers = 1;
    o.model.context_length = 24;
    o.batch_size = 32;
    o.steps = 120;
    o.lr = 2e-3;
    o.workers = 0;
    return o;
}

TEST(ClipTraining, TinyRunLowersTheLossAndBeatsChanceZeroShot) {
    const models::CaptionedImages train = synth_pairs(3, 0, 192, 32, 5), val = synth_pairs(3, 192, 96, 32, 5);
    const models::SmallClipOptions o = tiny_options();
    const models::SmallClipResult r = models::train_small_clip(train, val, o);
    ASSERT_EQ(r.losses.size(), size_t(o.steps));
    auto mean_of = [&](size_t begin, size_t end) {
        double s = 0;
        for (size_t i = begin; i < end; ++i) s += r.losses[i];
        return s / double(end - begin);
    };
    const double first = mean_of(0, 10), last = mean_of(r.losses.size() - 10, r.losses.size());
    std::printf("tiny CLIP: loss %.3f -> %.3f; zero-shot top-1 %.3f, single-object %.3f (%lld images), mAP %.3f\n",
                first, last, r.zero_shot.top1, r.zero_shot.single_object,
                static_cast<long long>(r.zero_shot.single_object_images), r.zero_shot.mean_ap);
    EXPECT_LT(last, 0.8 * first);  // partial captions repeat within a batch ("a star"), so the floor stays high
    EXPECT_EQ(r.zero_shot.images, 96);
    EXPECT_GT(r.zero_shot.single_object, 0.5);  // chance 1/3
    EXPECT_GT(r.zero_shot.mean_ap, 0.6);
    EXPECT_EQ(r.model->cfg.vocab_size, int64_t(r.tokenizer->vocab_size()));
    EXPECT_EQ(r.truncated_captions, 0);
    EXPECT_LE(r.model->logit_scale.item(), models::kClipLogitScaleMax);
}

TEST(ClipTraining, SameSeedSameNumbersForAnyWorkerAndThreadCount) {
    const models::CaptionedImages train = synth_pairs(3, 0, 64, 32, 9), val = synth_pairs(3, 64, 16, 32, 9);
    models::SmallClipOptions o = tiny_options();
    o.steps = 6;
    o.batch_size = 16;
    const models::SmallClipResult a = models::train_small_clip(train, val, o);
    o.workers = 2;
    const int threads = cpu::num_threads();
    cpu::set_num_threads(threads == 1 ? 2 : 1);
    const models::SmallClipResult b = models::train_small_clip(train, val, o);
    cpu::set_num_threads(threads);
    EXPECT_EQ(a.losses, b.losses);
    EXPECT_EQ(a.vocab_text, b.vocab_text);
    const NamedTensors pa = a.model->state_dict(), pb = b.model->state_dict();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].second.to_vector(), pb[i].second.to_vector()) << pa[i].first;
    o.seed = 1;
    const models::SmallClipResult c = models::train_small_clip(train, val, o);
    EXPECT_NE(a.losses, c.losses);
}

// The image tower's supervised warm-up: its own steps (recorded), a falling classification loss, and then the
// usual contrastive run; a warm-up set with other classes is refused.
TEST(ClipTraining, VisionWarmUpTrainsTheImageTowerAsAClassifier) {
    // Two balanced classes, one per image: a head alone (its bias) cannot go below ln 2 = 0.693 per column, so a
    // loss well under it means the image tower learned to tell the shapes apart.
    const models::CaptionedImages train = synth_pairs(2, 0, 64, 32, 5), val = synth_pairs(2, 64, 16, 32, 5);
    const models::CaptionedImages warmup = synth_pairs(2, 0, 192, 32, 6, /*object_centric=*/true);
    models::SmallClipOptions o = tiny_options();
    o.steps = 2;
    o.vision_warmup_steps = 150;
    const models::SmallClipResult r = models::train_small_clip(train, val, o, &warmup);
    ASSERT_EQ(r.vision_warmup_losses.size(), 150u);
    EXPECT_EQ(r.losses.size(), 2u);
    auto mean_of = [&](size_t begin, size_t end) {
        double s = 0;
        for (size_t i = begin; i < end; ++i) s += r.vision_warmup_losses[i];
        return s / double(end - begin);
    };
    const double first = mean_of(0, 10), last = mean_of(140, 150);
    std::printf("vision warm-up: MLSM %.3f -> %.3f\n", first, last);
    EXPECT_GT(first, 0.65);
    EXPECT_LT(last, 0.6);
    // Without the warm-up the same run starts from the same random tower and ends elsewhere.
    o.vision_warmup_steps = 0;
    const models::SmallClipResult plain = models::train_small_clip(train, val, o, &warmup);
    EXPECT_TRUE(plain.vision_warmup_losses.empty());
    EXPECT_NE(plain.losses, r.losses);
    // Other classes: refused, naming the problem.
    o.vision_warmup_steps = 4;
    const models::CaptionedImages four = synth_pairs(3, 0, 32, 32, 6, true);
    test::expect_error([&] { models::train_small_clip(train, val, o, &four); },
                       {"train_small_clip", "vision warm-up set's classes differ"});
    test::expect_error([&] { models::train_small_clip(std::string("/nonexistent"), o); },
                       {"train_small_clip", "vision_warmup_steps 4 needs vision_warmup_root"});
}

// LiT: with lock_image_tower the contrastive steps leave the warmed-up image tower untouched (any number of them)
// and train the text side; unlocked, they move the tower too.
TEST(ClipTraining, LockedImageTowerStaysAsWarmedUp) {
    const models::CaptionedImages train = synth_pairs(2, 0, 64, 32, 5), val = synth_pairs(2, 64, 16, 32, 5);
    const models::CaptionedImages warmup = synth_pairs(2, 0, 64, 32, 6, /*object_centric=*/true);
    models::SmallClipOptions o = tiny_options();
    o.vision_warmup_steps = 4;
    o.lock_image_tower = true;
    o.steps = 2;
    const models::SmallClipResult two = models::train_small_clip(train, val, o, &warmup);
    o.steps = 5;
    const models::SmallClipResult five = models::train_small_clip(train, val, o, &warmup);
    o.lock_image_tower = false;
    const models::SmallClipResult unlocked = models::train_small_clip(train, val, o, &warmup);
    const NamedTensors a = two.model->state_dict(), b = five.model->state_dict(), c = unlocked.model->state_dict();
    ASSERT_EQ(a.size(), b.size());
    int visual = 0, text_moved = 0, visual_moved_unlocked = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const bool is_visual = a[i].first.rfind("visual.", 0) == 0;
        const bool same = a[i].second.to_vector() == b[i].second.to_vector();
        if (is_visual) {
            ++visual;
            EXPECT_TRUE(same) << a[i].first << " moved although the image tower is locked";
            visual_moved_unlocked += b[i].second.to_vector() != c[i].second.to_vector();
        } else {
            text_moved += !same;
        }
    }
    EXPECT_GT(visual, 0);
    EXPECT_GT(text_moved, 0);             // the text side (and logit scale) trained
    EXPECT_GT(visual_moved_unlocked, 0);  // unlocked, the contrastive steps move the tower
}

// ---------------------------------------------------------------- generated pairs, scenes, evaluation sets (issue 21)

TEST(ClipTraining, SynthBackgroundOnlyScenesAndDefaultsUnchanged) {
    data::SynthConfig c;
    c.classes = 6;
    c.size = 32;
    c.seed = 3;
    const data::SynthImage plain = data::synth_image(c, 7);
    c.background_only = true;
    const std::vector<std::string> names = data::synth_background_names(), phrases = data::synth_background_phrases();
    std::vector<int> seen(names.size(), 0);
    for (int64_t i = 0; i < 40; ++i) {
        const data::SynthImage b = data::synth_image(c, i);
        EXPECT_TRUE(b.labels.empty());
        for (uint8_t m : b.mask) ASSERT_EQ(m, 0);
        const auto at = std::find(names.begin(), names.end(), b.background);
        ASSERT_NE(at, names.end()) << b.background;
        EXPECT_EQ(b.caption, "nothing " + phrases[size_t(at - names.begin())]);
        EXPECT_EQ(models::caption_background(b.caption), int(at - names.begin()));
        ++seen[size_t(at - names.begin())];
        EXPECT_EQ(b.rgb, data::synth_image(c, i).rgb);  // deterministic
    }
    for (size_t k = 0; k < seen.size(); ++k) EXPECT_GT(seen[k], 0) << names[k];  // uniform over 6: all appear
    // The option leaves ordinary scenes as they were.
    c.background_only = false;
    EXPECT_EQ(data::synth_image(c, 7).rgb, plain.rgb);
    EXPECT_EQ(data::synth_image(c, 7).caption, plain.caption);
}

TEST(ClipTraining, CaptionsNameTheirBackground) {
    EXPECT_EQ(models::caption_background("a red star on water"), 0);
    EXPECT_EQ(models::caption_background("a red star and a blue ring in the sky"), 4);
    EXPECT_EQ(models::caption_background("nothing against bricks"), 5);
    EXPECT_EQ(models::caption_background("on sand"), 3);
    EXPECT_EQ(models::caption_background("a red star"), -1);
    EXPECT_EQ(models::caption_background("a red star on seawater"), -1);  // whole words only
    EXPECT_EQ(models::background_prompt("a photo of {}.", "water"), "a photo of water.");
}

TEST(ClipTraining, GeneratedPairsAreObjectCentricSeededAndFixedForEvaluation) {
    const std::vector<std::string> classes = data::synth_class_names(4);
    using models::SynthPairKind;
    const models::CaptionedImages a = models::synth_pairs(SynthPairKind::objects, 60, classes, 32, 0, "easy");
    const models::CaptionedImages b = models::synth_pairs(SynthPairKind::objects, 60, classes, 32, 1, "easy");
    ASSERT_EQ(a.images.size(), 60u);
    EXPECT_EQ(a.class_names, classes);
    std::vector<int> per_background(6, 0);
    for (size_t i = 0; i < a.images.size(); ++i) {
        EXPECT_EQ(a.labels[i].size(), 1u) << a.captions[i];
        EXPECT_EQ(a.images[i].width, 32);
        EXPECT_EQ(a.backgrounds[i], models::caption_background(a.captions[i]));
        ASSERT_GE(a.backgrounds[i], 0);
        ++per_background[size_t(a.backgrounds[i])];
    }
    EXPECT_NE(a.captions, b.captions);  // the training pairs follow the seed
    const models::CaptionedImages e0 = models::synth_pairs(SynthPairKind::eval_objects, 20, classes, 32, 0, "easy");
    const models::CaptionedImages e1 = models::synth_pairs(SynthPairKind::eval_objects, 20, classes, 32, 7, "easy");
    EXPECT_EQ(e0.captions, e1.captions);  // the evaluation set does not
    EXPECT_NE(std::vector<std::string>(a.captions.begin(), a.captions.begin() + 20), e0.captions);
    const models::CaptionedImages bg = models::synth_pairs(SynthPairKind::backgrounds, 12, classes, 32, 0, "easy");
    for (size_t i = 0; i < bg.images.size(); ++i) {
        EXPECT_TRUE(bg.labels[i].empty());
        EXPECT_GE(bg.backgrounds[i], 0);
    }
    // Thread count does not matter.
    const int threads = cpu::num_threads();
    cpu::set_num_threads(threads == 1 ? 2 : 1);
    const models::CaptionedImages again = models::synth_pairs(SynthPairKind::objects, 60, classes, 32, 0, "easy");
    cpu::set_num_threads(threads);
    for (size_t i = 0; i < a.images.size(); ++i) EXPECT_EQ(a.images[i].pixels, again.images[i].pixels);
    // Not the synthetic world's classes, a bad difficulty: named.
    test::expect_error([&] { models::synth_pairs(SynthPairKind::objects, 4, {"dog", "cat"}, 32, 0, "easy"); },
                       {"object_pairs", "synthetic world's classes", "'dog'"});
    test::expect_error([&] { models::synth_pairs(SynthPairKind::objects, 4, classes, 32, 0, "brutal"); },
                       {"difficulty", "brutal"});
}

// The zero-shot metrics on a tiny case, recomputed here from the model's own embeddings: top-1 (predicted class
// present), single-object accuracy per class, their mean, and AP per class by the precision-at-each-positive rule.
TEST(ClipTraining, ZeroShotMetricsOnATinyCase) {
    ClipConfig c = models::small_clip_config(600);
    c.image_size = 16;
    c.vision_patch_size = 8;
    c.vision_width = c.text_width = c.embed_dim = 64;
    c.vision_heads = c.text_heads = 1;
    c.vision_layers = c.text_layers = 1;
    c.context_length = 16;
    Generator gen(11);
    Clip model(c, &gen);
    tok::BpeTrainOptions bo;
    bo.vocab_size = 600;
    const tok::BpeTrainResult merges = tok::train_bpe("a photo of water.\na photo of sand.\na photo of grass.\n", bo);
    tok::ClipTokenizer tokenizer = tok::ClipTokenizer::from_merges(merges.file_text(), merges.merges.size(), "test");
    const std::vector<std::string> prompts = {"a photo of water.", "a photo of sand.", "a photo of grass."};
    models::CaptionedImages set = synth_pairs(3, 0, 9, 16, 4);
    std::vector<std::vector<int>> labels = {{1}, {2}, {3}, {1, 2}, {2}, {3}, {1}, {2, 3}, {3}};
    const models::ZeroShotResult r = models::zero_shot_eval_prompts(model, tokenizer, set.images, labels, prompts);

    // reference: cosine similarities from encode_image / encode_text
    NoGradGuard no_grad;
    model.eval();
    Tensor ids = Tensor::zeros({3, 16}, DType::i64);
    for (int k = 0; k < 3; ++k) {
        const auto row = tokenizer.encode_row(prompts[size_t(k)], 16, true, true);
        for (size_t j = 0; j < row.size(); ++j) ids.data<int64_t>()[k * 16 + int64_t(j)] = row[j];
    }
    Tensor txt = model.encode_text(ids);
    txt = div(txt, norm(txt, 2.0, {1}, true));
    Tensor imgs = Tensor::empty({9, 3, 16, 16});
    for (int i = 0; i < 9; ++i) {
        const data::Image rs = data::resize(set.images[size_t(i)], 16, 16, data::PilFilter::bicubic);
        data::normalize_into(rs, data::kClipMean, data::kClipStd, imgs.data<float>() + i * 3 * 16 * 16);
    }
    Tensor img = model.encode_image(imgs);
    img = div(img, norm(img, 2.0, {1}, true));
    const std::vector<double> sim = matmul(img, txt.t()).to_vector();
    int top1 = 0, single = 0, single_ok = 0;
    std::vector<int> ok(3, 0), tot(3, 0);
    for (int i = 0; i < 9; ++i) {
        const int best = int(std::max_element(sim.begin() + i * 3, sim.begin() + i * 3 + 3) - (sim.begin() + i * 3)) + 1;
        const bool hit = std::find(labels[size_t(i)].begin(), labels[size_t(i)].end(), best) != labels[size_t(i)].end();
        top1 += hit;
        if (labels[size_t(i)].size() == 1) {
            ++single, single_ok += hit, ++tot[size_t(labels[size_t(i)][0] - 1)];
            ok[size_t(labels[size_t(i)][0] - 1)] += hit;
        }
    }
    EXPECT_EQ(r.images, 9);
    EXPECT_EQ(r.single_object_images, single);
    EXPECT_DOUBLE_EQ(r.top1, top1 / 9.0);
    EXPECT_DOUBLE_EQ(r.single_object, double(single_ok) / single);
    EXPECT_DOUBLE_EQ(r.chance, 1.0 / 3.0);
    double mean = 0, map = 0;
    for (int k = 0; k < 3; ++k) {
        EXPECT_DOUBLE_EQ(r.per_class_accuracy[size_t(k)], double(ok[size_t(k)]) / tot[size_t(k)]) << k;
        mean += double(ok[size_t(k)]) / tot[size_t(k)] / 3;
        std::vector<std::pair<double, bool>> ranked;
        for (int i = 0; i < 9; ++i)
            ranked.emplace_back(sim[size_t(i * 3 + k)], std::find(labels[size_t(i)].begin(), labels[size_t(i)].end(),
                                                                  k + 1) != labels[size_t(i)].end());
        std::stable_sort(ranked.begin(), ranked.end(), [](auto& x, auto& y) { return x.first > y.first; });
        double hits = 0, sum = 0;
        for (size_t j = 0; j < ranked.size(); ++j)
            if (ranked[j].second) hits += 1, sum += hits / double(j + 1);
        EXPECT_DOUBLE_EQ(r.per_class_ap[size_t(k)], sum / hits) << k;
        map += sum / hits / 3;
    }
    EXPECT_DOUBLE_EQ(r.mean_per_class, mean);
    EXPECT_DOUBLE_EQ(r.mean_ap, map);

    // The background evaluation is the same computation with each image's background as its one label.
    set.background_names = {"water", "sand", "grass"};
    set.backgrounds = {0, 1, 2, 0, 1, 2, 0, 1, 2};
    const models::ZeroShotResult b = models::zero_shot_eval_backgrounds(model, tokenizer, set, "a photo of {}.");
    const models::ZeroShotResult b_ref = models::zero_shot_eval_prompts(
        model, tokenizer, set.images, {{1}, {2}, {3}, {1}, {2}, {3}, {1}, {2}, {3}}, prompts);
    EXPECT_EQ(b.prompts, prompts);
    EXPECT_EQ(b.per_class_accuracy, b_ref.per_class_accuracy);
    EXPECT_EQ(b.class_names, set.background_names);
    EXPECT_DOUBLE_EQ(b.top1, b_ref.top1);
    set.backgrounds[4] = -1;
    test::expect_error([&] { models::zero_shot_eval_backgrounds(model, tokenizer, set); },
                       {"zero_shot_eval_backgrounds", "names no background"});
    test::expect_error([&] { models::zero_shot_eval_prompts(model, tokenizer, set.images, {{4}}, prompts); },
                       {"zero_shot_eval"});
}

// The issue-21 options together (generated pairs, two-head warm-up, locked tower with cached features, scene
// texts, evaluation sets): the same bits for any thread and worker count, everything recorded, and the eval sets'
// numbers what zero_shot_eval gives on the same images.
TEST(ClipTraining, GeneratedPairsTwoHeadWarmUpAndCachedFeaturesAreDeterministic) {
    const models::CaptionedImages train = synth_pairs(3, 0, 48, 32, 9), val = synth_pairs(3, 48, 16, 32, 9);
    models::SmallClipOptions o = tiny_options();
    o.steps = 5;
    o.batch_size = 16;
    o.object_pairs = 24;
    o.background_pairs = 12;
    o.eval_object_images = 10;
    o.eval_background_images = 8;
    o.synth_difficulty = "easy";
    o.vision_warmup_steps = 3;
    o.vision_warmup_backgrounds = true;
    o.lock_image_tower = true;
    o.cache_image_features = true;
    o.scene_probability = 0.3;
    const models::SmallClipResult a = models::train_small_clip(train, val, o);
    EXPECT_EQ(a.train_pairs, 48 + 24 + 12);
    EXPECT_EQ(a.object_pairs, 24);
    EXPECT_EQ(a.background_pairs, 12);
    EXPECT_EQ(a.vision_warmup_losses.size(), 3u);
    EXPECT_GE(a.vision_warmup_accuracy, 0.0);
    EXPECT_GE(a.vision_warmup_background_accuracy, 0.0);
    EXPECT_EQ(a.losses.size(), 5u);
    EXPECT_EQ(a.zero_shot_objects.images, 10);
    EXPECT_EQ(a.zero_shot_backgrounds.images, 8);
    EXPECT_EQ(a.zero_shot_backgrounds.prompts.front(), "a photo of water.");
    EXPECT_EQ(a.zero_shot_backgrounds.class_names, data::synth_background_names());
    const models::ZeroShotResult again = models::zero_shot_eval(
        *a.model, *a.tokenizer,
        models::synth_pairs(models::SynthPairKind::eval_objects, 10, train.class_names, 32, 0, "easy"));
    EXPECT_EQ(again.per_class_accuracy, a.zero_shot_objects.per_class_accuracy);
    EXPECT_EQ(again.per_class_ap, a.zero_shot_objects.per_class_ap);

    o.workers = 2;
    const int threads = cpu::num_threads();
    cpu::set_num_threads(threads == 1 ? 3 : 1);
    const models::SmallClipResult b = models::train_small_clip(train, val, o);
    cpu::set_num_threads(threads);
    EXPECT_EQ(a.vision_warmup_losses, b.vision_warmup_losses);
    EXPECT_EQ(a.losses, b.losses);
    EXPECT_EQ(a.zero_shot_backgrounds.per_class_ap, b.zero_shot_backgrounds.per_class_ap);
    const NamedTensors pa = a.model->state_dict(), pb = b.model->state_dict();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].second.to_vector(), pb[i].second.to_vector()) << pa[i].first;

    // Cached features and per-step features of the locked tower train the text side differently (no crops),
    // and the locked tower is the warmed-up one in both.
    o.cache_image_features = false;
    const models::SmallClipResult c = models::train_small_clip(train, val, o);
    EXPECT_NE(a.losses, c.losses);
    const NamedTensors pc = c.model->state_dict();
    for (size_t i = 0; i < pa.size(); ++i)
        if (pa[i].first.rfind("visual.", 0) == 0) EXPECT_EQ(pa[i].second.to_vector(), pc[i].second.to_vector());

    // The demo preset (quick) runs and fills every metric.
    const models::SmallClipOptions d = models::demo_clip_options(0, 64, /*quick=*/false);
    EXPECT_TRUE(d.lock_image_tower && d.cache_image_features && d.model.vision_resnet);
    EXPECT_GT(d.eval_object_images, 0);
    EXPECT_GT(d.eval_background_images, 0);
    EXPECT_FALSE(models::demo_clip_options(0, 48, true).model.vision_resnet);  // 48 is no multiple of 32
    models::validate_small_clip_options(d);
    models::validate_small_clip_options(models::demo_clip_options(3, 48, true));
}

// The demo's convolutional image tower (BatchNorm in training mode during the warm-up, running statistics when
// the features are cached): the same bits for any thread count, and the locked tower stays as warmed up.
TEST(ClipTraining, ResNetTowerWarmUpAndCachedFeaturesAreDeterministic) {
    const models::CaptionedImages train = synth_pairs(3, 0, 32, 32, 9), val = synth_pairs(3, 32, 8, 32, 9);
    models::SmallClipOptions o = tiny_options();
    o.model.vision_resnet = true;
    o.model.vision_width = 4;
    o.model.vision_heads = 2;
    o.model.vision_resnet_layers = {1, 1, 1, 1};
    o.model.vision_patch_size = 32;
    o.steps = 3;
    o.batch_size = 8;
    o.object_pairs = 16;
    o.background_pairs = 8;
    o.synth_difficulty = "easy";
    o.vision_warmup_steps = 2;
    o.lock_image_tower = true;
    o.cache_image_features = true;
    o.eval_object_images = 6;
    const models::SmallClipResult a = models::train_small_clip(train, val, o);
    const int threads = cpu::num_threads();
    cpu::set_num_threads(threads == 1 ? 3 : 1);
    const models::SmallClipResult b = models::train_small_clip(train, val, o);
    cpu::set_num_threads(threads);
    EXPECT_EQ(a.vision_warmup_losses, b.vision_warmup_losses);
    EXPECT_EQ(a.losses, b.losses);
    EXPECT_EQ(a.zero_shot_objects.per_class_ap, b.zero_shot_objects.per_class_ap);
    const NamedTensors pa = a.model->state_dict(), pb = b.model->state_dict();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].second.to_vector(), pb[i].second.to_vector()) << pa[i].first;
    // vision_warmup_lr: equal to lr it changes nothing; another value changes the warm-up, not the text side's lr
    models::SmallClipOptions same_lr = o;
    same_lr.vision_warmup_lr = o.lr;
    EXPECT_EQ(models::train_small_clip(train, val, same_lr).vision_warmup_losses, a.vision_warmup_losses);
    models::SmallClipOptions other_lr = o;
    other_lr.vision_warmup_lr = o.lr * 3;
    const std::vector<double> other = models::train_small_clip(train, val, other_lr).vision_warmup_losses;
    ASSERT_EQ(other.size(), a.vision_warmup_losses.size());
    EXPECT_EQ(other[0], a.vision_warmup_losses[0]);  // the first step's loss is before any update
    EXPECT_NE(other.back(), a.vision_warmup_losses.back());
    // the locked tower: more contrastive steps leave it as it was
    o.steps = 6;
    const models::SmallClipResult c = models::train_small_clip(train, val, o);
    const NamedTensors pc = c.model->state_dict();
    for (size_t i = 0; i < pa.size(); ++i)
        if (pa[i].first.rfind("visual.", 0) == 0) EXPECT_EQ(pa[i].second.to_vector(), pc[i].second.to_vector()) << pa[i].first;
}

TEST(ClipTraining, BadOptionsAreNamed) {
    const models::CaptionedImages train = synth_pairs(3, 0, 16, 32, 9), val = synth_pairs(3, 16, 4, 32, 9);
    auto expect_bad = [&](const std::function<void(models::SmallClipOptions&)>& change, const std::string& name) {
        models::SmallClipOptions o = tiny_options();
        o.steps = 1;
        change(o);
        test::expect_error([&] { models::train_small_clip(train, val, o); }, {"train_small_clip", name});
    };
    expect_bad([](auto& o) { o.vision_warmup_lr = -1; }, "vision_warmup_lr");
    expect_bad([](auto& o) { o.model.vision_patch_size = 0; }, "model.vision_patch_size");
    expect_bad([](auto& o) { o.model.vision_patch_size = 5; }, "model.image_size");
    expect_bad([](auto& o) { o.model.vision_heads = 3; }, "model.vision_heads");
    expect_bad([](auto& o) { o.model.context_length = 2; }, "model.context_length");
    expect_bad([](auto& o) { o.batch_size = 1; }, "batch_size");
    expect_bad([](auto& o) { o.lr = 0; }, "lr");
    expect_bad([](auto& o) { o.scene_probability = 1.5; }, "scene_probability");
    expect_bad([](auto& o) { o.partial_probability = -0.1; }, "partial_probability");
    expect_bad([](auto& o) { o.crop_scale_min = 0; }, "crop_scale_min");
    expect_bad([](auto& o) { o.object_pairs = -1; }, "object_pairs");
    expect_bad([](auto& o) { o.synth_difficulty = "brutal"; }, "brutal");
    expect_bad([](auto& o) { o.cache_image_features = true; }, "cache_image_features needs lock_image_tower");
    expect_bad([](auto& o) { o.vision_warmup_backgrounds = true; }, "vision_warmup_backgrounds needs");
    expect_bad([](auto& o) { o.background_prompt = "water"; }, "background_prompt");
    expect_bad([](auto& o) { o.vocab_size = 10; }, "vocab_size");
    // a warm-up set whose captions name no background cannot train the background head
    models::CaptionedImages no_scene = synth_pairs(3, 0, 8, 32, 1, true);
    no_scene.background_names = data::synth_background_names();
    no_scene.backgrounds.assign(no_scene.images.size(), -1);
    models::SmallClipOptions o = tiny_options();
    o.steps = 1;
    o.vision_warmup_steps = 1;
    o.vision_warmup_backgrounds = true;
    test::expect_error([&] { models::train_small_clip(train, val, o, &no_scene); },
                       {"vision_warmup_backgrounds", "names no background"});
}

// ---------------------------------------------------------------- CLI

const char* kTinyCli = " --quiet --force --steps 4 --batch-size 8 --width 64 --vision-layers 1 --text-layers 1 --image-size 32 "
                       "--context 24 --workers 0";

TEST(TrainClipCli, WritesACheckpointThatLoadsStrictly) {
    test::ScratchDir dir;
    const std::string data = dir.file("synth"), out = dir.file("clip");
    ASSERT_EQ(test::run_wsdol("synth --quiet --out '" + data + "' --images 40 --size 32 --classes 3").code, 0);
    const auto r = test::run_wsdol("train-clip --data '" + data + "' --out '" + out + "'" + kTinyCli);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("zero-shot on 8 held-out images"), std::string::npos) << r.output;

    const weights::WeightsFile wf = weights::read_weights(out + "/clip.safetensors");
    const weights::DetectedArchitecture arch = weights::detect_architecture(wf.tensors);
    EXPECT_EQ(arch.arch, weights::Architecture::openai_clip_vit) << arch.description;
    const ClipConfig cfg = models::clip_config_from_state_dict(wf.tensors);  // head width 64: 1 head at width 64
    EXPECT_EQ(cfg.image_size, 32);
    EXPECT_EQ(cfg.vision_width, 64);
    EXPECT_EQ(cfg.context_length, 24);
    Clip model(cfg);
    const nn::LoadReport report = model.load_state_dict(wf.tensors, true);
    EXPECT_TRUE(report.ok()) << report.str();

    tok::ClipTokenizer tokenizer = tok::ClipTokenizer::from_file(out + "/vocab.txt.gz", SIZE_MAX);
    EXPECT_EQ(int64_t(tokenizer.vocab_size()), cfg.vocab_size);
    EXPECT_EQ(tokenizer.encode("a photo of a circle.").size(), 6u);  // every word is one token

    const json::Value doc = json::parse(test::read_bytes(out + "/clip_train.json"));
    EXPECT_EQ(doc.at("steps").as_int64(), 4);
    EXPECT_EQ(doc.at("zero_shot").at("images").as_int64(), 8);
    EXPECT_GE(doc.at("zero_shot").at("top1").as_double(), 0.0);
    EXPECT_EQ(doc.at("model").at("vocab_size").as_int64(), cfg.vocab_size);
}

TEST(TrainClipCli, BadDataIsNamed) {
    test::ScratchDir dir;
    const std::string data = dir.file("synth"), out = dir.file("clip");
    ASSERT_EQ(test::run_wsdol("synth --quiet --out '" + data + "' --images 20 --size 32 --classes 3").code, 0);
    const std::string cmd = "train-clip --data '" + data + "' --out '" + out + "'" + kTinyCli;

    // a caption missing for one id
    const std::string captions = test::read_bytes(data + "/captions.txt");
    {
        std::ofstream f(data + "/captions.txt", std::ios::trunc);
        f << captions.substr(captions.find('\n') + 1);  // drops synth_000000
    }
    auto r = test::run_wsdol(cmd);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find(data + "/captions.txt has no caption for 'synth_000000'"), std::string::npos) << r.output;

    // no captions file
    fs::remove(data + "/captions.txt");
    r = test::run_wsdol(cmd);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("no captions file " + data + "/captions.txt"), std::string::npos) << r.output;

    // an empty training split
    {
        std::ofstream f(data + "/captions.txt", std::ios::trunc);
        f << captions;
        std::ofstream g(data + "/ImageSets/Segmentation/train.txt", std::ios::trunc);
    }
    r = test::run_wsdol(cmd);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("ImageSets/Segmentation/train.txt"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("empty"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out + "/clip.safetensors"));

    // not a folder at all
    r = test::run_wsdol("train-clip --data '" + dir.file("nothing") + "' --out '" + out + "'" + kTinyCli);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find(dir.file("nothing")), std::string::npos) << r.output;

    // the image-tower warm-up: without its data, a lock without a warm-up, a warm-up set with other classes
    r = test::run_wsdol(cmd + " --vision-warmup-steps 3");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("--vision-warmup-steps needs --vision-warmup-data DIR"), std::string::npos) << r.output;
    r = test::run_wsdol(cmd + " --lock-image-tower");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("--lock-image-tower needs --vision-warmup-steps"), std::string::npos) << r.output;
    const std::string other = dir.file("other");
    ASSERT_EQ(test::run_wsdol("synth --quiet --out '" + other + "' --images 20 --size 32 --classes 4").code, 0);
    {
        std::ofstream g(data + "/ImageSets/Segmentation/train.txt", std::ios::trunc);
        for (int i = 0; i < 16; ++i) g << "synth_0000" << (i < 10 ? "0" : "") << i << "\n";
    }
    r = test::run_wsdol(cmd + " --vision-warmup-steps 3 --vision-warmup-data '" + other + "'");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("vision warm-up set's classes differ"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out + "/clip.safetensors"));
    // ... and with a set of the same classes the warm-up runs and is recorded
    r = test::run_wsdol(cmd + " --vision-warmup-steps 3 --vision-warmup-data '" + data + "' --lock-image-tower");
    ASSERT_EQ(r.code, 0) << r.output;
    const json::Value written = json::parse(test::read_bytes(out + "/clip_train.json"));
    const json::Value& options = written.at("options");
    EXPECT_EQ(options.at("vision_warmup_steps").as_double(), 3.0);
    EXPECT_TRUE(options.at("lock_image_tower").as_bool());
}

// Every numeric option is range-checked with an error naming it (--patch 0 used to divide by zero: SIGFPE).
TEST(TrainClipCli, BadOptionsAreNamedNeverACrash) {
    test::ScratchDir dir;
    const std::string data = dir.file("synth"), out = dir.file("clip");
    ASSERT_EQ(test::run_wsdol("synth --quiet --out '" + data + "' --images 20 --size 32 --classes 3").code, 0);
    const std::string cmd = "train-clip --data '" + data + "' --out '" + out + "'" + kTinyCli;
    for (const auto& [flag, name] : std::vector<std::pair<std::string, std::string>>{
             {"--patch 0", "--patch"}, {"--patch -8", "--patch"}, {"--patch 5", "--image-size"},
             {"--image-size 0", "--image-size"}, {"--threads 0", "--threads"}, {"--threads -3", "--threads"},
             {"--batch-size 1", "--batch-size"}, {"--batch-size 17", "larger than the 16 training pairs"}, {"--steps 0", "--steps"}, {"--epochs -1", "--epochs"}, {"--lr 0", "--lr"},
             {"--lr nan", "--lr"}, {"--weight-decay -1", "--weight-decay"}, {"--vocab-size 100", "--vocab-size"},
             {"--vocab-size 1000000", "--vocab-size"}, {"--context 200", "--context"}, {"--width 96", "--width"},
             {"--vision-layers 0", "--vision-layers"}, {"--workers -1", "--workers"}, {"--eval-every -2", "--eval-every"},
             {"--partial 2", "--partial"}, {"--scene -0.5", "--scene"}, {"--object-pairs -4", "--object-pairs"},
             {"--eval-background-images -1", "--eval-background-images"}, {"--synth-difficulty brutal", "brutal"},
             {"--preset fast", "--preset"}, {"--background-prompt water", "--background-prompt"},
             {"--cache-features", "--cache-features needs --lock-image-tower"},
             {"--warmup-backgrounds", "--warmup-backgrounds needs --vision-warmup-steps"}}) {
        const auto r = test::run_wsdol(cmd + " " + flag);
        EXPECT_EQ(r.code, 1) << flag << ": " << r.output;
        EXPECT_NE(r.output.find(name), std::string::npos) << flag << ": " << r.output;
    }
    EXPECT_FALSE(fs::exists(out + "/clip.safetensors"));
    // The generated pairs and evaluation sets through the CLI: written to clip_train.json with per-class numbers.
    const auto r = test::run_wsdol(cmd + " --object-pairs 12 --background-pairs 6 --eval-object-images 6 "
                                   "--eval-background-images 6 --vision-warmup-steps 2 --warmup-backgrounds "
                                   "--lock-image-tower --cache-features --scene 0.2");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("background-only images"), std::string::npos) << r.output;
    const json::Value doc = json::parse(test::read_bytes(out + "/clip_train.json"));
    EXPECT_EQ(doc.at("train_pairs").as_int64(), 16 + 12 + 6);
    EXPECT_EQ(doc.at("zero_shot_objects").at("images").as_int64(), 6);
    EXPECT_EQ(doc.at("zero_shot_objects").at("per_class_accuracy").size(), 3u);
    EXPECT_EQ(doc.at("zero_shot_backgrounds").at("class_names").size(), 6u);
    EXPECT_EQ(doc.at("zero_shot_backgrounds").at("prompts").items().at(0).as_string(), "a photo of water.");
    EXPECT_TRUE(doc.at("options").at("cache_image_features").as_bool());
}

}  // namespace
}  // namespace wsdol
