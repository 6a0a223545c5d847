// embedding.h — nn.Embedding: a lookup table weight (num_embeddings, embedding_dim), PyTorch init N(0, 1).
#pragma once
#include <optional>

#include "engine/nn/module.h"

namespace wsdol::nn {

class Embedding : public Module {
public:
    // padding_idx (as PyTorch): that row starts at zero and receives no gradient.
    Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt,
              Generator* gen = nullptr, DType dtype = DType::f32);
    // ids: i64, any shape -> (..., embedding_dim)
    Tensor forward(const Tensor& ids) override;
    std::string extra_repr() const override;

    int64_t num_embeddings, embedding_dim;
    std::optional<int64_t> padding_idx;
    Tensor weight;  // (num_embeddings, embedding_dim)
};

}  // namespace wsdol::nn
