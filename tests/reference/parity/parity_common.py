"""parity_common.py — how every model-parity fixture is written (shared by the generators in tests/reference/).

A parity fixture is one safetensors file holding, for one network in PyTorch with seeded random weights:
  param.<name>        every entry of the model's state_dict (parameters and buffers), as PyTorch names it
  input.<name>        the inputs (images (B, C, H, W) f32, token ids (B, T) i64, masks ...)
  output.<name>       the outputs compared in the forward check (logits, embeddings, attention probabilities
                      "output.attn.<i>" (B, H, T, T) per block, intermediate features ...)
  weight.<name>       for every output that enters the loss: a fixed random tensor of the output's shape
  grad.input.<name>   d loss / d input, for floating inputs
  grad.param.<name>   d loss / d parameter, for every parameter (requires_grad) of the model
The scalar loss is fixed by the file itself: loss = sum over the weighted outputs of sum(output * weight), so the
C++ test (tests/parity_util.h) rebuilds exactly the same loss without knowing the network.
Tolerances (issue 4): forward |a - b| <= 1e-4 (1 + |b|), gradients |a - b| <= 1e-3 (1 + |b|), f32 on the CPU.
"""
import torch
from safetensors.torch import save_file


def loss_weights(outputs, seed):
    """One N(0, 1) weight tensor per output, drawn from its own seeded generator (independent of the model's)."""
    gen = torch.Generator().manual_seed(seed)
    return {name: torch.randn(t.shape, generator=gen, dtype=t.dtype) for name, t in outputs.items()}


def write_parity_fixture(path, model, inputs, forward, seed, loss_outputs=None, metadata=None):
    """Runs forward(model, **inputs) -> {name: tensor}, backpropagates the weighted-sum loss over the outputs
    named in loss_outputs (default: all), and writes the fixture. Floating inputs get gradients."""
    inputs = {k: (v.detach().clone().requires_grad_(True) if v.is_floating_point() else v) for k, v in inputs.items()}
    model.zero_grad(set_to_none=True)
    outputs = forward(model, **inputs)
    names = list(outputs) if loss_outputs is None else list(loss_outputs)
    weights = loss_weights({n: outputs[n] for n in names}, seed + 1)
    loss = sum((outputs[n] * weights[n]).sum() for n in names)
    loss.backward()
    tensors = {}
    for name, t in model.state_dict().items():
        tensors["param." + name] = t.detach().clone().contiguous()
    for name, t in inputs.items():
        tensors["input." + name] = t.detach().clone().contiguous()
        if t.is_floating_point():
            tensors["grad.input." + name] = t.grad.detach().clone().contiguous()
    for name, t in outputs.items():
        tensors["output." + name] = t.detach().clone().contiguous()
    for name, w in weights.items():
        tensors["weight." + name] = w.contiguous()
    for name, p in model.named_parameters():
        if p.requires_grad:
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            tensors["grad.param." + name] = g.detach().clone().contiguous()
    meta = {"seed": str(seed), "loss": "sum_n sum(output.n * weight.n)"}
    meta.update(metadata or {})
    save_file(tensors, path, metadata=meta)
    return tensors
