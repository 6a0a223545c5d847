// linalg.cpp — matmul (broadcast batch dims), bmm and linear: shape rules, forward through the "gemm" kernel,
// backward as two more products.
#include "engine/ops/linalg.h"

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace wsdol {

WSDOL_OP(matmul, "linalg", true);
WSDOL_OP(linear, "linalg", true);

namespace {

// A matrix operand for gemm: either row-major (unit last stride) or a transposed view (unit second-last stride).
struct MatOperand {
    Tensor t;        // possibly a contiguous copy
    bool trans;      // true: memory holds the transpose
    int64_t ld;
};

MatOperand as_matrix(const Tensor& x) {  // x: (..., R, C) with batch dims already flattened into one contiguous run
    const int nd = x.dim();
    const int64_t rows = x.shape()[nd - 2], cols = x.shape()[nd - 1];
    const int64_t sr = x.strides()[nd - 2], sc = x.strides()[nd - 1];
    auto batch_ok = [&](int64_t mat_elems) {  // batch dims must step by whole matrices (or not exist)
        int64_t expect = mat_elems;
        for (int d = nd - 3; d >= 0; --d) {
            if (x.shape()[d] != 1 && x.strides()[d] != expect) return false;
            expect *= x.shape()[d];
        }
        return true;
    };
    if ((sc == 1 || cols == 1) && sr >= std::max<int64_t>(cols, 1) && batch_ok(rows * cols) && sr == cols)
        return {x, false, std::max<int64_t>(cols, 1)};
    if ((sr == 1 || rows == 1) && sc == rows && batch_ok(rows * cols)) return {x, true, std::max<int64_t>(rows, 1)};
    Tensor c = x.contiguous();
    return {c, false, std::max<int64_t>(cols, 1)};
}

// out (B, M, N) = a (B, M, K) @ b (B, K, N), batch dims already equal. No recording.
Tensor batched_product(const Tensor& a, const Tensor& b) {
    const int64_t B = a.shape()[0], M = a.shape()[1], K = a.shape()[2], N = b.shape()[2];
    Tensor out = Tensor::empty({B, M, N}, a.dtype(), a.device());
    if (out.numel() == 0) return out;
    if (K == 0) {
        out.zero_();
        return out;
    }
    MatOperand ma = as_matrix(a), mb = as_matrix(b);
    GemmArgs g;
    g.trans_a = ma.trans;
    g.trans_b = mb.trans;
    g.m = M; g.n = N; g.k = K;
    g.a = ma.t.data_ptr(); g.lda = ma.ld; g.stride_a = B > 1 ? M * K : 0;
    g.b = mb.t.data_ptr(); g.ldb = mb.ld; g.stride_b = B > 1 ? K * N : 0;
    g.c = out.data_ptr(); g.ldc = N; g.stride_c = M * N;
    g.batch = B;
    find_kernel<GemmKernel>("gemm", a.device(), a.dtype())(g);
    return out;
}

// Operand checks shared by matmul, bmm and linear; every message names the op and both shapes.
void check_operands(const char* op, const Tensor& a, const Tensor& b) {
    WSDOL_CHECK(a.defined() && b.defined(), op, ": undefined operand");
    auto both = [&] { return str(shape_str(a.shape()), " ", dtype_name(a.dtype()), " and ", shape_str(b.shape()), " ",
                                 dtype_name(b.dtype())); };
    WSDOL_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch: ", both());
    WSDOL_CHECK(is_floating(a.dtype()), op, ": needs floating operands, got ", both());
    WSDOL_CHECK(a.device() == b.device(), op, ": operands on different devices: ", both());
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
    check_operands("matmul", a_in, b_in);
    WSDOL_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, "matmul: operands must have at least 1 dim, got ",
                shape_str(a_in.shape()), " and ", shape_str(b_in.shape()));
    // torch.matmul's vector rules: promote, multiply, drop the added dim.
    if (a_in.dim() == 1) return matmul(a_in.unsqueeze(0), b_in).squeeze(-2);
    if (b_in.dim() == 1) return matmul(a_in, b_in.unsqueeze(-1)).squeeze(-1);
    const int64_t M = a_in.size(-2), K = a_in.size(-1), N = b_in.size(-1);
    WSDOL_CHECK(b_in.size(-2) == K, "matmul: inner dimensions differ: ", shape_str(a_in.shape()), " @ ",
                shape_str(b_in.shape()), " (", K, " vs ", b_in.size(-2), ")");
    const Shape batch_a(a_in.shape().begin(), a_in.shape().end() - 2);
    const Shape batch_b(b_in.shape().begin(), b_in.shape().end() - 2);
    Shape batch;
    try {
        batch = broadcast_shapes("matmul", batch_a, batch_b);
    } catch (const Error& e) {
        fail(str("matmul: batch dims of ", shape_str(a_in.shape()), " and ", shape_str(b_in.shape()),
                 " cannot be broadcast (", e.what(), ")"));
    }
    const int64_t B = shape_numel(batch);
    Tensor out;
    {
        NoGradGuard no_grad;  // the node below records the whole product; inner reshapes are not recorded
        Tensor a3, b3;
        if (batch_b.empty() || shape_numel(batch_b) == 1) {
            // (..., M, K) @ (K, N): fold the batch into rows when a's rows are contiguous.
            Tensor a2 = a_in.expand([&] { Shape s = batch; s.push_back(M); s.push_back(K); return s; }()).reshape({1, B * M, K});
            b3 = b_in.reshape({1, K, N});
            out = batched_product(a2, b3).view([&] { Shape s = batch; s.push_back(M); s.push_back(N); return s; }());
        } else {
            Shape sa = batch, sb = batch;
            sa.push_back(M); sa.push_back(K);
            sb.push_back(K); sb.push_back(N);
            a3 = a_in.expand(sa).reshape({B, M, K});
            b3 = b_in.expand(sb).reshape({B, K, N});
            Shape so = batch;
            so.push_back(M); so.push_back(N);
            out = batched_product(a3, b3).view(so);
        }
    }
    // Each product is computed only for an operand that needs its gradient (a frozen weight costs nothing).
    record("matmul", {a_in, b_in}, {out},
           [sa = saved(a_in), sb = saved(b_in), need_a = a_in.requires_grad(),
            need_b = b_in.requires_grad()](const TensorList& g) -> TensorList {
               Tensor ga, gb;
               if (need_a) ga = sum_to(matmul(g[0], sb.transpose(-1, -2)), sa.shape());
               if (need_b) gb = sum_to(matmul(sa.transpose(-1, -2), g[0]), sb.shape());
               return {ga, gb};
           });
    return out;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
    check_operands("bmm", a, b);
    WSDOL_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1),
                "bmm: expected (B, M, K) and (B, K, N), got ", shape_str(a.shape()), " and ", shape_str(b.shape()));
    return matmul(a, b);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    check_operands("linear", x, weight);
    WSDOL_CHECK(weight.dim() == 2, "linear: weight must be (out, in), got ", shape_str(weight.shape()));
    WSDOL_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ", shape_str(x.shape()),
                " does not match weight ", shape_str(weight.shape()), " (in_features ", weight.size(1), ")");
    const int64_t in = weight.size(1), out_f = weight.size(0);
    if (bias.defined())
        WSDOL_CHECK(bias.dim() == 1 && bias.size(0) == out_f && bias.dtype() == x.dtype(), "linear: bias ",
                    shape_str(bias.shape()), " ", dtype_name(bias.dtype()), " does not match weight ",
                    shape_str(weight.shape()), " ", dtype_name(weight.dtype()), " (expected [", out_f, "])");
    Shape out_shape = x.shape();
    out_shape.back() = out_f;
    Tensor y;
    {
        NoGradGuard no_grad;
        const int64_t rows = x.numel() / std::max<int64_t>(in, 1);
        Tensor x2 = x.reshape({1, rows, in});
        Tensor wt = weight.t().unsqueeze(0);  // (1, in, out): a transposed view, no copy
        y = batched_product(x2, wt);
        if (bias.defined()) y = add(y, bias);
        y = y.view(out_shape);
    }
    // Only the gradients some input needs are computed (frozen backbones skip the weight products).
    record("linear", {x, weight, bias}, {y},
           [sx = saved(x), sw = saved(weight), in, out_f, need_x = x.requires_grad(), need_w = weight.requires_grad(),
            need_b = bias.defined() && bias.requires_grad()](const TensorList& g) -> TensorList {
               const int64_t rows = sx.numel() / std::max<int64_t>(in, 1);
               Tensor g2 = g[0].reshape({rows, out_f});
               Tensor gx, gw, gb;
               if (need_x) gx = matmul(g2, sw).view(sx.shape());               // (rows, in)
               if (need_w) gw = matmul(g2.t(), sx.reshape({rows, in}));        // (out, in)
               if (need_b) gb = sum(g2, {0});                                  // (out)
               return {gx, gw, gb};
           });
    return y;
}

}  // namespace wsdol
