// autograd.cpp — recording nodes and running backward (rules in autograd.h).
#include "engine/autograd/autograd.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "engine/ops/registry.h"
#include "engine/ops/ops.h"

namespace wsdol {

namespace {
thread_local bool g_grad_enabled = true;
std::atomic<uint64_t> g_sequence{0};
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool any_requires_grad(const TensorList& inputs) {
    if (!g_grad_enabled) return false;
    for (const Tensor& t : inputs)
        if (t.defined() && t.requires_grad()) return true;
    return false;
}

std::shared_ptr<Node> record(const char* op, const TensorList& inputs, const TensorList& outputs, BackwardFn backward) {
    if (!any_requires_grad(inputs)) return nullptr;
    WSDOL_CHECK(find_op(op), "autograd: op '", op, "' records a node but is not registered (WSDOL_OP)");
    auto node = std::make_shared<Node>();
    node->op = op;
    node->sequence = g_sequence++;
    node->backward = std::move(backward);
    node->inputs.resize(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& t = inputs[i];
        if (!t.defined() || !t.requires_grad()) continue;
        if (t.impl().grad_fn) {
            node->inputs[i].node = t.impl().grad_fn;
            node->inputs[i].output_nr = t.impl().output_nr;
        } else {
            node->inputs[i].leaf = t.impl_ptr();
        }
    }
    node->outputs.reserve(outputs.size());
    node->output_hooks.resize(outputs.size());
    for (size_t k = 0; k < outputs.size(); ++k) {
        const Tensor& out = outputs[k];
        node->outputs.push_back({out.shape(), out.dtype(), out.device()});
        out.impl().grad_fn = node;
        out.impl().output_nr = static_cast<int>(k);
        out.impl().requires_grad = false;
    }
    return node;
}

Node::~Node() {
    // Take over the inputs whose last owner is this node and release them from a worklist, not recursively.
    std::vector<std::shared_ptr<Node>> worklist;
    for (Edge& e : inputs)
        if (e.node && e.node.use_count() == 1) worklist.push_back(std::move(e.node));
    while (!worklist.empty()) {
        std::shared_ptr<Node> n = std::move(worklist.back());
        worklist.pop_back();
        for (Edge& e : n->inputs)
            if (e.node && e.node.use_count() == 1) worklist.push_back(std::move(e.node));
        n->backward = nullptr;  // saved tensors may own further nodes only through their (detached) impls: none
    }
}

// ---------------------------------------------------------------- Tensor's autograd members
bool Tensor::requires_grad() const { return impl().requires_grad || impl().grad_fn != nullptr; }

Tensor& Tensor::set_requires_grad(bool on) {
    WSDOL_CHECK(!impl().grad_fn, "set_requires_grad: only leaves can be set (this tensor was made by '",
                impl().grad_fn->op, "'); use detach() first");
    WSDOL_CHECK(!on || is_floating(dtype()), "set_requires_grad: only floating tensors can require grad, not ",
                dtype_name(dtype()));
    impl().requires_grad = on;
    return *this;
}

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }
void Tensor::set_grad(const Tensor& g) { impl().grad = g.defined() ? g.impl_ptr() : nullptr; }
void Tensor::zero_grad() { impl().grad.reset(); }

Tensor Tensor::detach() const {
    Tensor out = make_tensor(impl().storage, shape(), strides(), offset(), dtype());
    out.impl().name = impl().name;
    return out;
}

void Tensor::register_hook(TensorHook hook) const {
    WSDOL_CHECK(requires_grad(), "register_hook on a tensor that does not require grad");
    if (impl().grad_fn) impl().grad_fn->output_hooks[impl().output_nr].push_back(std::move(hook));
    else impl().hooks.push_back(std::move(hook));
}

void Tensor::retain_grad() const {
    WSDOL_CHECK(requires_grad(), "retain_grad on a tensor that does not require grad");
    if (!impl().grad_fn) return;  // leaves keep their grad anyway
    impl().grad_fn->retained.resize(impl().grad_fn->outputs.size());
    impl().grad_fn->retained[impl().output_nr] = impl_ptr();
}

void Tensor::backward(const Tensor& grad_output, bool retain_graph) const {
    run_backward({*this}, {grad_output}, retain_graph);
}

// ---------------------------------------------------------------- the engine
namespace {

Tensor accumulate(const Tensor& a, const Tensor& b) {
    if (!a.defined()) return b;
    if (!b.defined()) return a;
    return add(a, b);
}

Tensor apply_hooks(const std::vector<TensorHook>& hooks, Tensor g) {
    for (const TensorHook& h : hooks) {
        Tensor r = h(g);
        if (r.defined()) g = r;
    }
    return g;
}

void check_grad_matches(const char* what, const Tensor& g, const Shape& shape, const std::string& op) {
    WSDOL_CHECK(g.shape() == shape, "backward of '", op, "' produced a ", what, " gradient of shape ",
                shape_str(g.shape()), " for an input of shape ", shape_str(shape));
}

struct Targets {  // for grad(): where to capture instead of accumulate
    std::map<std::pair<Node*, int>, size_t> at_output;
    std::unordered_map<TensorImpl*, size_t> at_leaf;
    TensorList captured;
};

void execute(const TensorList& roots, const TensorList& grad_roots, bool retain_graph, Targets* targets) {
    NoGradGuard no_grad;  // rule 7
    std::unordered_map<Node*, TensorList> pending;  // node -> accumulated grads of its outputs
    std::vector<std::shared_ptr<Node>> root_nodes;
    for (size_t r = 0; r < roots.size(); ++r) {
        const Tensor& root = roots[r];
        WSDOL_CHECK(root.requires_grad(), "backward: tensor ", r, " does not require grad and has no grad_fn");
        Tensor g = r < grad_roots.size() ? grad_roots[r] : Tensor();
        if (!g.defined()) {
            WSDOL_CHECK(root.numel() == 1, "backward: grad can be implied only for scalar outputs, got shape ",
                        shape_str(root.shape()));
            g = Tensor::ones(root.shape(), root.dtype(), root.device());
        }
        WSDOL_CHECK(g.shape() == root.shape(), "backward: gradient of shape ", shape_str(g.shape()),
                    " for an output of shape ", shape_str(root.shape()));
        if (!root.impl().grad_fn) {  // a leaf root
            if (targets && targets->at_leaf.count(root.impl_ptr().get())) {
                Tensor& slot = targets->captured[targets->at_leaf[root.impl_ptr().get()]];
                slot = accumulate(slot, g);
            } else {
                g = apply_hooks(root.impl().hooks, g);
                root.impl().grad = accumulate(root.grad(), g).impl_ptr();
            }
            continue;
        }
        Node* n = root.impl().grad_fn.get();
        TensorList& slots = pending[n];
        slots.resize(n->outputs.size());
        slots[root.impl().output_nr] = accumulate(slots[root.impl().output_nr], g);
        root_nodes.push_back(root.impl().grad_fn);
    }

    // Dependency counts over the graph reachable from the roots (iterative DFS; rule 6).
    std::unordered_map<Node*, int> dependents;
    std::unordered_set<Node*> seen;
    std::vector<Node*> stack;
    for (auto& n : root_nodes)
        if (seen.insert(n.get()).second) stack.push_back(n.get());
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        WSDOL_CHECK(!n->freed, "backward through the graph a second time: the saved tensors of '", n->op,
                    "' were already freed; pass retain_graph=true to the first backward");
        for (const Edge& e : n->inputs) {
            if (!e.node) continue;
            ++dependents[e.node.get()];
            if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
        }
    }

    // Ready queue ordered by creation sequence (latest first), so equal-rank nodes run in a fixed order.
    auto later = [](Node* a, Node* b) { return a->sequence < b->sequence; };
    std::vector<Node*> ready;
    for (auto& n : root_nodes)
        if (dependents[n.get()] == 0 && std::find(ready.begin(), ready.end(), n.get()) == ready.end())
            ready.push_back(n.get());
    std::vector<std::shared_ptr<Node>> keep_alive(root_nodes);

    while (!ready.empty()) {
        std::sort(ready.begin(), ready.end(), later);
        Node* n = ready.back();
        ready.pop_back();
        TensorList grads = std::move(pending[n]);
        pending.erase(n);
        grads.resize(n->outputs.size());
        for (size_t k = 0; k < grads.size(); ++k) {
            if (!grads[k].defined())
                grads[k] = Tensor::zeros(n->outputs[k].shape, n->outputs[k].dtype, n->outputs[k].device);
            grads[k] = apply_hooks(n->output_hooks[k], grads[k]);
            if (k < n->retained.size())
                if (auto impl = n->retained[k].lock()) impl->grad = grads[k].impl_ptr();
            if (targets) {
                auto it = targets->at_output.find({n, static_cast<int>(k)});
                if (it != targets->at_output.end()) targets->captured[it->second] = grads[k];
            }
        }
        WSDOL_CHECK(n->backward, "backward through the graph a second time: the saved tensors of '", n->op,
                    "' were already freed; pass retain_graph=true to the first backward");
        TensorList input_grads = n->backward(grads);
        WSDOL_CHECK(input_grads.size() == n->inputs.size(), "backward of '", n->op, "' returned ", input_grads.size(),
                    " gradients for ", n->inputs.size(), " inputs");
        if (!retain_graph) {
            n->backward = nullptr;  // rule 5: frees the saved tensors
            n->freed = true;
        }
        for (size_t i = 0; i < n->inputs.size(); ++i) {
            const Edge& e = n->inputs[i];
            Tensor& g = input_grads[i];
            if (e.leaf) {
                if (!g.defined()) continue;
                check_grad_matches("leaf", g, e.leaf->shape, n->op);
                if (targets) {
                    auto it = targets->at_leaf.find(e.leaf.get());
                    if (it != targets->at_leaf.end()) {
                        targets->captured[it->second] = accumulate(targets->captured[it->second], g);
                        continue;
                    }
                    continue;  // grad() never touches .grad of leaves
                }
                g = apply_hooks(e.leaf->hooks, g);
                Tensor current = e.leaf->grad ? Tensor(e.leaf->grad) : Tensor();
                e.leaf->grad = accumulate(current, g).impl_ptr();
            } else if (e.node) {
                if (g.defined()) {
                    check_grad_matches("", g, e.node->outputs[e.output_nr].shape, n->op);
                    TensorList& slots = pending[e.node.get()];
                    slots.resize(e.node->outputs.size());
                    slots[e.output_nr] = accumulate(slots[e.output_nr], g);
                }
                if (--dependents[e.node.get()] == 0) {
                    keep_alive.push_back(e.node);
                    ready.push_back(e.node.get());
                }
            }
        }
    }
}

}  // namespace

void run_backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph) {
    execute(roots, grad_roots, retain_graph, nullptr);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs, bool retain_graph) {
    Targets targets;
    targets.captured.resize(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& t = inputs[i];
        WSDOL_CHECK(t.requires_grad(), "grad: input ", i, " does not require grad");
        if (t.impl().grad_fn) targets.at_output[{t.impl().grad_fn.get(), t.impl().output_nr}] = i;
        else targets.at_leaf[t.impl_ptr().get()] = i;
    }
    execute(outputs, grad_outputs, retain_graph, &targets);
    return targets.captured;
}

}  // namespace wsdol
