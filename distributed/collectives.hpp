#pragma once
// Collective operations on tensors across the ranks of the job: broadcast, all-reduce (sum, mean),
// all-gather, and the model-level helpers built on them (broadcast of parameters and buffers, the check
// that every rank holds the same model). All are collective: every rank must call them in the same
// order with tensors of the same shape and dtype. All complete within the deadline (Note [deadlines] in
// environment.hpp) or throw DistributedError. None is recorded by autograd (see functional.hpp for the
// differentiable all-reduce).

#include <cstdint>
#include <string>
#include <vector>

#include "../autograd/tensor.hpp"
#include "../nn/module.hpp"

namespace xgrad::distributed {

/// How all_reduce combines the ranks' tensors x_0 .. x_{N-1}.
enum class ReduceOp {
  /// Σ_r x_r
  sum,
  /// (1/N)·Σ_r x_r
  mean,
};

/// Options of all_reduce.
struct ReduceOptions {
  /// false: one MPI_Iallreduce (MPI chooses the algorithm, so the order of the additions depends on
  /// N and the message size; every rank still receives the same bits). true: the ranks' tensors are
  /// all-gathered and summed in rank order, ((x_0 + x_1) + x_2) + ..., on every rank: the result is
  /// bit-for-bit the same as a sequential sum in one process (costs N·|x| received per rank instead
  /// of ~2·|x|).
  bool deterministic = false;
};

/// Replaces `tensor` on every rank with rank `root`'s values (in place, like MPI_Bcast). Every rank must
/// pass a tensor of the same shape and dtype: DistributedError naming the ranks, shapes and dtypes
/// otherwise (checked before any data moves). Bumps the version counter; allowed on leaves that require
/// grad (runs without recording).
void broadcast(Tensor& tensor, int root = 0);

/// Replaces `tensor` on every rank with the sum (or mean) over the ranks, element-wise, in place.
/// float32, float64 and int64 (sum only) tensors of the same shape on every rank. Bumps the version
/// counter; runs without recording (see functional::all_reduce for the differentiable form).
void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::sum, ReduceOptions options = {});

/// The sum (or mean) of a number over the ranks (e.g. a loss or a count for logging).
double all_reduce(double value, ReduceOp op = ReduceOp::sum);

/// Every rank's `tensor` stacked along a new first dimension: shape (N, ...tensor.shape), row r from rank
/// r. Shapes and dtypes must agree (DistributedError naming the ranks otherwise).
Tensor all_gather(const Tensor& tensor);

/// Checks that every rank holds the same model: the same parameters and buffers, by name, in the same
/// order, with the same shapes, dtypes and requires_grad. One all-gather of a 64-bit hash when they agree;
/// otherwise the descriptions are exchanged and every rank throws the same DistributedError naming
/// `who`, the ranks and the first differing entries (e.g. "rank 1 has parameter '2.weight' of shape
/// (64, 32) float32, rank 0 has (128, 32) float32"; "rank 1 lacks buffer 'bn.running_mean'").
void check_same_model(const nn::Module& model, const std::string& who = "check_same_model");

/// Broadcasts every parameter and buffer of `model` from `root` (after check_same_model), so that all
/// ranks start from the same weights. Runs without recording; bumps the version counters.
void broadcast_parameters(nn::Module& model, int root = 0);

/// One 64-bit FNV-1a hash of the values (bytes) of every parameter and buffer of `model`, in
/// state_dict order: equal on two ranks when their weights are bit-for-bit equal (use it with
/// all_gather to check that ranks stayed in sync).
std::uint64_t state_hash(const nn::Module& model);

/// The state_hash of every rank (index = rank).
std::vector<std::uint64_t> all_gather_state_hash(const nn::Module& model);

}  // namespace xgrad::distributed
