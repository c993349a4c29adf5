// The differentiable all-reduce and SyncBatchNorm: gradcheck of functions that span all ranks, and
// SyncBatchNorm on N shards against BatchNorm1d on the whole batch in one process.
//
// Gradchecking a function across ranks: every rank holds the same full input X (the same values, the
// same finite-difference perturbations, since gradcheck runs in lockstep on every rank) and computes
// the same output F(X). ReplicateMean (forward: identity; backward: mean of the ranks' gradients) marks
// X as replicated: each rank's backward yields ∂(Σ_s L_s)/∂X along the paths through its own part,
// and averaging those over the ranks gives ∂L/∂X, the Jacobian that finite differences of the per-rank
// F measure (all L_s are equal).
#include <xgrad/autograd/function.hpp>

#include "mpi_util.hpp"

using namespace xgrad;
using namespace xgrad::mpitest;

namespace {

struct ReplicateMean : autograd::Function<ReplicateMean> {
  static Tensor forward(autograd::FunctionContext&, const TensorList& in) { return in[0].clone(); }
  static TensorList backward(autograd::FunctionContext&, const TensorList& g) {
    Tensor r = g[0].clone();
    dist::all_reduce(r, dist::ReduceOp::mean);
    return {r};
  }
};

// The rows of rank r's block of a (N·B, C) tensor.
Tensor my_block(const Tensor& x, std::int64_t per_rank) { return narrow(x, 0, dist::rank() * per_rank, per_rank); }

// Rank r's (B, C) result placed in block r of zeros (N·B, C), all-reduced: every rank gets the
// concatenation of all ranks' results.
Tensor gather_blocks(const Tensor& mine, std::int64_t per_rank) {
  const int n = dist::world_size(), r = dist::rank();
  TensorList parts;
  if (r > 0) parts.push_back(zeros({r * per_rank, mine.size(1)}, mine.dtype()));
  parts.push_back(mine);
  if (r < n - 1) parts.push_back(zeros({(n - 1 - r) * per_rank, mine.size(1)}, mine.dtype()));
  return dist::functional::all_reduce(cat(parts, 0));
}

}  // namespace

TEST_CASE("functional::all_reduce: values, and gradcheck of a function of every rank's data") {
  const int n = dist::world_size();
  manual_seed(5);
  const Tensor x = randn({3, 2}, kFloat64).requires_grad_();  // the same on every rank
  // forward: Σ_s (s + 1)·x = n(n+1)/2 · x
  const Tensor y = dist::functional::all_reduce(x * (dist::rank() + 1.0));
  CHECK(max(abs(y - x * (n * (n + 1) / 2.0))).item<double>() < 1e-12);
  const Tensor m = dist::functional::all_reduce(x, dist::ReduceOp::mean);
  CHECK(max(abs(m - x)).item<double>() < 1e-12);
  // F(X) = Σ_s (s + 1)·sin(X)² summed over ranks: ∂F/∂X = n(n+1)/2 · 2 sin cos
  manual_seed(11);  // gradcheck's random upstream gradient must be the same on every rank
  CHECK(gradcheck(
      [](const TensorList& in) {
        const Tensor xr = ReplicateMean::apply({in[0]});
        return dist::functional::all_reduce(square(sin(xr)) * (dist::rank() + 1.0));
      },
      {x}));
  manual_seed(12);
  CHECK(gradcheck(
      [](const TensorList& in) {
        const Tensor xr = ReplicateMean::apply({in[0]});
        return dist::functional::all_reduce(xr * xr * (dist::rank() + 1.0), dist::ReduceOp::mean);
      },
      {x}));
}

TEST_CASE("SyncBatchNorm: gradcheck over all ranks' shards (input, weight and bias)") {
  const std::int64_t b = 3, c = 2;
  const int n = dist::world_size();
  manual_seed(21);
  const Tensor x = randn({n * b, c}, kFloat64).requires_grad_();
  const Tensor w = (randn({c}, kFloat64) + 1.5).requires_grad_();
  const Tensor beta = randn({c}, kFloat64).requires_grad_();
  auto bn = std::make_shared<dist::SyncBatchNorm>(c, 1e-5, 0.1, true, true, kFloat64);
  auto fn = [&](const TensorList& in) {
    const Tensor xr = ReplicateMean::apply({in[0]});
    const Tensor wr = ReplicateMean::apply({in[1]});
    const Tensor br = ReplicateMean::apply({in[2]});
    const Tensor y = functional_call(*bn, {{"weight", wr}, {"bias", br}}, my_block(xr, b));
    return gather_blocks(y, b);
  };
  manual_seed(22);
  CHECK(gradcheck(fn, {x, w, beta}));
  // (N, C, L) inputs too
  manual_seed(23);
  const Tensor x3 = randn({n * 2, c, 2}, kFloat64).requires_grad_();
  manual_seed(24);
  CHECK(gradcheck(
      [&](const TensorList& in) {
        const Tensor xr = ReplicateMean::apply({in[0]});
        const Tensor y = (*bn)(narrow(xr, 0, dist::rank() * 2, 2));
        return gather_blocks(y.reshape({2, c * 2}), 2);
      },
      {x3}));
}

TEST_CASE("SyncBatchNorm on N shards equals BatchNorm1d on the whole batch: outputs, gradients, running statistics") {
  const std::int64_t b = 5, c = 4;
  const int n = dist::world_size();
  manual_seed(31);
  const Tensor x = randn({n * b, c}, kFloat64) * 3.0 + 1.0;
  const Tensor g = randn({n * b, c}, kFloat64);  // upstream gradient of the whole batch
  dist::SyncBatchNorm sync(c, 1e-5, 0.1, true, true, kFloat64);
  nn::BatchNorm1d ref(c, 1e-5, 0.1, true, true, kFloat64);
  {
    NoGradGuard ng;
    sync.weight().copy_(tensor({0.5, 1.0, 1.5, 2.0}, kFloat64));
    ref.weight().copy_(tensor({0.5, 1.0, 1.5, 2.0}, kFloat64));
  }
  for (int step = 0; step < 3; ++step) {
    const Tensor xr = my_block(x, b).clone().requires_grad_();
    const Tensor y = sync(xr);
    (y * my_block(g, b)).sum().backward();
    const Tensor xa = x.clone().requires_grad_();
    const Tensor ya = ref(xa);
    (ya * g).sum().backward();
    CHECK(max(abs(y - my_block(ya, b))).item<double>() < 1e-12);
    // rank r's input gradient is the whole-batch gradient's block r (it includes the other ranks' terms)
    CHECK(max(abs(xr.grad() - my_block(xa.grad(), b))).item<double>() < 1e-12);
  }
  // γ, β gradients: each rank has its shard's part; their sum is the whole batch's gradient
  Tensor gw = sync.weight().grad().clone(), gb = sync.bias().grad().clone();
  dist::all_reduce(gw);
  dist::all_reduce(gb);
  CHECK(max(abs(gw - ref.weight().grad())).item<double>() < 1e-11);
  CHECK(max(abs(gb - ref.bias().grad())).item<double>() < 1e-11);
  CHECK(max(abs(sync.running_mean() - ref.running_mean())).item<double>() < 1e-12);
  CHECK(max(abs(sync.running_var() - ref.running_var())).item<double>() < 1e-12);
  CHECK(sync.num_batches_tracked().item<std::int64_t>() == 3);
  // eval mode uses the running statistics, without communication
  sync.eval();
  ref.eval();
  NoGradGuard ng;
  CHECK(max(abs(sync(my_block(x, b)) - my_block(ref(x), b))).item<double>() < 1e-12);
}
