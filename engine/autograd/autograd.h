// autograd.h — the dynamic tape: how ops record themselves and how backward runs.
//
// THE RULES (tested in tests/test_autograd.cpp)
//  1. Recording. An op whose inputs include a tensor that requires grad, run while grad mode is on, records one
//     Node: its name, edges to the producers of its inputs, and a backward function written in terms of other
//     ops (so it runs on any device). Its outputs get grad_fn = that node. Ops record through `record()` below.
//  2. Saved tensors. A backward function captures what it needs by value, always detached (`saved(t)`), so a node
//     never owns its own output's history (no reference cycles) and saved data cannot be recorded twice.
//  3. Leaves. A tensor with requires_grad and no grad_fn is a leaf. backward() ADDS into a leaf's .grad(); the
//     gradient accumulates across backward calls until zero_grad(). Leaf hooks run before accumulation.
//  4. Intermediates. Gradients of non-leaves exist only during backward and are freed as soon as their node has
//     run, unless retain_grad() was called (then .grad() holds the latest, not accumulated across calls).
//     Hooks on a non-leaf see (and may replace) the gradient flowing into it.
//  5. Freeing. After backward, every node it ran drops its backward function and saved tensors. Running
//     backward through a freed node again is an error naming the op, unless the first call passed
//     retain_graph = true.
//  6. Order. Nodes run in reverse topological order, built iteratively (no recursion: 1000-block graphs are fine).
//     A node runs once, after all its consumers, with the sum of the gradients they sent it.
//  7. Grad mode. NoGradGuard turns recording off in a scope (optimizer steps, evaluation). Backward runs with
//     recording off: no double backward.
//  8. Gradient dtype and shape equal the input's; a backward function returns an undefined Tensor for an input
//     that needs no gradient (check `needs_grad(i)` to skip the work).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor/tensor.h"

namespace wsdol {

using TensorList = std::vector<Tensor>;
// grads of the outputs (undefined ones are zero-filled by the engine) -> grads of the inputs (one per input).
using BackwardFn = std::function<TensorList(const TensorList& grad_outputs)>;

struct Edge {
    std::shared_ptr<Node> node;        // producer of the input, or null for a leaf / an input not needing grad
    std::shared_ptr<TensorImpl> leaf;  // the leaf itself when the input is a leaf that requires grad
    int output_nr = 0;
};

struct OutputMeta {
    Shape shape;
    DType dtype;
    Device device;
};

struct Node {
    std::string op;                          // op name, for errors and graph dumps
    std::vector<Edge> inputs;                // one per op input
    std::vector<OutputMeta> outputs;         // to zero-fill missing output grads
    std::vector<std::vector<TensorHook>> output_hooks;
    std::vector<std::weak_ptr<TensorImpl>> retained;  // outputs that asked for retain_grad
    BackwardFn backward;                     // null once freed
    bool freed = false;
    uint64_t sequence = 0;                   // creation order; ties in topological order break on it
    ~Node();  // releases long chains iteratively (a recursive release of 100k nodes would overflow the stack)
    bool needs_grad(size_t input) const {
        return input < inputs.size() && (inputs[input].node || inputs[input].leaf);
    }
};

// Grad mode.
bool grad_enabled();
struct NoGradGuard {
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;
private:
    bool previous_;
};

// True when grad mode is on and any of the tensors requires grad.
bool any_requires_grad(const TensorList& inputs);

// Records `op` producing `outputs` from `inputs` if any input requires grad (rule 1). Returns the node or null.
// The backward function's i-th result is the gradient for inputs[i].
std::shared_ptr<Node> record(const char* op, const TensorList& inputs, const TensorList& outputs, BackwardFn backward);

// A detached handle for capture in backward functions (rule 2).
inline Tensor saved(const Tensor& t) { return t.defined() ? t.detach() : Tensor(); }

// Runs backward from `roots` with `grad_roots` (same shapes; undefined = ones for a scalar root).
void run_backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph);

// Gradients of `outputs` with respect to `inputs` without touching .grad() of leaves (for tests and
// gradient-based maps). Inputs may be leaves or intermediates.
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                bool retain_graph = false);

}  // namespace wsdol
