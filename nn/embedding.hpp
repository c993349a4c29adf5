#pragma once
// Embedding: a learnable lookup table of vectors.

#include <cstdint>

#include "module.hpp"

namespace xgrad::nn {

/// Maps int64 indices of any shape S to rows of a learnable table "weight" (num_embeddings,
/// embedding_dim), initialized N(0, 1) like PyTorch: output shape S + (embedding_dim). Equivalent to
/// one_hot(indices)·weight without building the one-hot matrix. Gradient: each output row's gradient is
/// added into its weight row (repeated indices accumulate). DtypeError for non-int64 indices; IndexError
/// naming the first index outside [0, num_embeddings).
class Embedding : public Module {
 public:
  /// ValueError for non-positive sizes.
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, Dtype dtype = kFloat32);
  Embedding(Embedding&&) = default;

  /// functional::embedding(indices, weight): int64 indices of shape S -> rows of shape S + (embedding_dim).
  Tensor forward(const Tensor& indices) override;
  /// "10, 3" (num_embeddings, embedding_dim).
  std::string extra_repr() const override;
  /// The table (num_embeddings, embedding_dim): a reference to the registry slot.
  Tensor& weight() { return *weight_; }
  std::int64_t num_embeddings() const noexcept { return num_embeddings_; }
  std::int64_t embedding_dim() const noexcept { return embedding_dim_; }

 private:
  std::int64_t num_embeddings_, embedding_dim_;
  Tensor* weight_;
};

}  // namespace xgrad::nn
