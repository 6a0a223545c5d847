// embedding.cpp — nn.Embedding.
#include "engine/nn/embedding.h"

#include "engine/nn/init.h"
#include "engine/ops/ops.h"

namespace wsdol::nn {

Embedding::Embedding(int64_t num, int64_t dim, std::optional<int64_t> padding, Generator* gen, DType dtype)
    : Module("Embedding"), num_embeddings(num), embedding_dim(dim), padding_idx(padding) {
    WSDOL_CHECK(num >= 0 && dim >= 0, "Embedding: negative size (", num, ", ", dim, ")");
    if (padding_idx) {
        // PyTorch accepts a negative padding_idx counting from the end.
        WSDOL_CHECK(*padding_idx >= -num && *padding_idx < num, "Embedding: padding_idx ", *padding_idx,
                    " out of range for ", num, " embeddings");
        if (*padding_idx < 0) *padding_idx += num;
    }
    weight = register_parameter("weight", Tensor::empty({num, dim}, dtype));
    init::normal_(weight, 0.0, 1.0, gen);
    if (padding_idx) {
        init::zeros_(weight.select(0, *padding_idx).detach());
        // F.embedding(padding_idx=...) leaves that row's gradient at zero; a leaf hook does the same here.
        weight.register_hook([row = *padding_idx](const Tensor& g) {
            Tensor out = g.clone();
            out.select(0, row).zero_();
            return out;
        });
    }
}

Tensor Embedding::forward(const Tensor& ids) { return embedding(weight, ids); }

std::string Embedding::extra_repr() const {
    return str(num_embeddings, ", ", embedding_dim, padding_idx ? str(", padding_idx=", *padding_idx) : "");
}

}  // namespace wsdol::nn
