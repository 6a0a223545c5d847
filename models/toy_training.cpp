// toy_training.cpp — the tiny-ViT training loop on the toy pattern task (see toy_training.h).
#include "models/toy_training.h"

#include "engine/autograd/autograd.h"
#include "engine/data/toy_patterns.h"
#include "engine/io/checkpoint.h"
#include "engine/ops/ops.h"
#include "engine/optim/adam.h"
#include "engine/optim/clip_grad.h"
#include "engine/optim/schedule.h"

namespace wsdol::models {

ViTConfig tiny_vit_config(int64_t image_size, int64_t num_classes) {
    ViTConfig c;
    c.image_size = image_size;
    c.patch_size = 8;
    c.embed_dim = 64;
    c.depth = 2;
    c.num_heads = 4;
    c.num_classes = num_classes;
    return c;
}

namespace {
// timm's convention: no weight decay on biases, norm weights (1-D) and the token/position embeddings.
bool decays(const std::string& name, const Tensor& p) {
    return p.dim() > 1 && name != "pos_embed" && name != "cls_token";
}
}  // namespace

ToyTrainResult train_toy_vit(const ToyTrainConfig& c) {
    // Three independent random streams: model init + dropout, training data, evaluation data.
    Generator model_gen(c.seed * 3 + 1), data_gen(c.seed * 3 + 2);
    ViTConfig vc = tiny_vit_config(c.image_size, data::kToyClasses);
    vc.drop_path_rate = c.drop_path;
    vc.drop_rate = c.dropout;
    VisionTransformer model(vc, &model_gen);

    optim::NamedTensors decay, no_decay;
    for (auto& [name, p] : model.named_parameters()) (decays(name, p) ? decay : no_decay).emplace_back(name, p);
    optim::AdamWOptions with_wd, without_wd;
    with_wd.lr = without_wd.lr = c.lr;
    with_wd.weight_decay = c.weight_decay;
    without_wd.weight_decay = 0.0;
    optim::AdamW optimizer({{decay, with_wd}, {no_decay, without_wd}});
    optim::CosineLROptions sched_opts;
    sched_opts.t_initial = c.steps;
    sched_opts.lr_min = c.lr * 0.01;
    sched_opts.warmup_t = static_cast<int64_t>(c.warmup_steps);
    sched_opts.warmup_lr_init = c.lr * 0.01;
    sched_opts.t_in_epochs = false;
    optim::CosineLRScheduler schedule(optimizer, sched_opts);

    io::Checkpoint ckpt;
    ckpt.model = model.state_dict();
    ckpt.optimizer = &optimizer;
    ckpt.schedule = &schedule;
    ckpt.generators = {{"model", &model_gen}, {"data", &data_gen}};
    int64_t step = 0;
    if (!c.resume.empty()) {
        io::load_checkpoint(c.resume, ckpt);
        step = ckpt.step;
    }

    ToyTrainResult result;
    const int64_t end = c.stop_after >= 0 ? std::min(c.steps, c.stop_after) : c.steps;
    std::vector<Tensor> params = model.parameters();
    model.train();
    for (; step < end; ++step) {
        data::ToyBatch batch = data::make_toy_patterns(c.batch_size, c.image_size, data_gen);
        Tensor loss = cross_entropy(model.forward(batch.images), batch.labels);
        model.zero_grad();
        loss.backward();
        optim::clip_grad_norm_(params, 1.0);
        optimizer.step();
        schedule.step_update(step + 1);
        result.losses.push_back(loss.item());
        if (c.on_step) c.on_step(step + 1, result.losses.back(), optimizer.lr(0));
    }
    result.last_step = step;
    if (!c.checkpoint.empty()) {
        ckpt.model = model.state_dict();
        ckpt.step = step;
        io::save_checkpoint(c.checkpoint, ckpt);
    }
    if (step == c.steps && c.eval_images > 0) {
        Generator eval_gen(c.seed * 3 + 3);
        data::ToyBatch eval = data::make_toy_patterns(c.eval_images, c.image_size, eval_gen);
        NoGradGuard no_grad;
        model.eval();
        Tensor predicted = argmax(model.forward(eval.images), 1);
        result.eval_accuracy = sum(eq(predicted, eval.labels).to(DType::f64)).item() / static_cast<double>(c.eval_images);
    }
    return result;
}

}  // namespace wsdol::models
