#include "embedding.hpp"

#include <fmt/format.h>

#include "../autograd/ops.hpp"
#include "functional.hpp"
#include "init.hpp"

namespace xgrad::nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, Dtype dtype)
    : Module("Embedding"), num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {
  if (num_embeddings <= 0 || embedding_dim <= 0)
    throw ValueError(fmt::format("Embedding: num_embeddings and embedding_dim must be positive, got {} and {}", num_embeddings,
                                 embedding_dim));
  if (!is_floating(dtype)) throw DtypeError(fmt::format("Embedding: the table must be float32 or float64, not {}", dtype_name(dtype)));
  weight_ = &register_parameter("weight", zeros({num_embeddings, embedding_dim}, dtype));
  init::normal_(*weight_);
}

Tensor Embedding::forward(const Tensor& indices) { return functional::embedding(indices, *weight_); }

std::string Embedding::extra_repr() const { return fmt::format("{}, {}", num_embeddings_, embedding_dim_); }

}  // namespace xgrad::nn
