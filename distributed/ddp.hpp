#pragma once
// DistributedDataParallel: data-parallel training of a Module across the ranks of an MPI job, the way
// PyTorch's DDP does it. Every rank holds a full copy of the model and trains on its own shard of each
// batch (see sampler.hpp); during backward the gradients are averaged across the ranks, so that after
// backward every rank holds the same gradient,
//     p.grad() = (1/N)·Σ_r g_r(p)        (g_r = rank r's gradient of its own mean batch loss),
// which, with equal per-rank batches of B samples, is the gradient of the mean loss over all N·B
// samples: N ranks with batch B take the same steps as one process with batch N·B.
//
//   auto model = std::make_shared<nn::Sequential>(...);      // the same model on every rank
//   distributed::DistributedDataParallel ddp(model);          // checks the models, broadcasts rank 0's weights
//   optim::SGD sgd(ddp.parameters(), optim::SGDOptions(0.1));
//   for (...) { sgd.zero_grad(); cross_entropy(ddp(x), y).backward(); sgd.step(); }
//
// Note [buckets]: the parameters (those that require grad) are grouped, in reverse registration order
// (roughly the order in which backward produces their gradients), into buckets of at most
// bucket_cap_bytes (one dtype per bucket; a larger parameter gets a bucket of its own). A hook on each
// parameter (Tensor::register_post_accumulate_grad_hook) copies its freshly accumulated gradient into
// its bucket's flat buffer; when a bucket is complete, a non-blocking MPI_Iallreduce (sum) of the buffer
// starts while backward goes on computing the gradients of earlier layers. Buckets are started in bucket
// order on every rank (MPI needs the same order of collectives everywhere), and MPI is polled from every
// later hook so that the transfers progress during backward. The hook that completes the last bucket
// waits for all of them (with the deadline of Note [deadlines]) and writes (1/N)·Σ back into each
// parameter's grad(). Backward returns with the averaged gradients in place, so optimizers and fit()
// need no change.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../nn/module.hpp"

namespace xgrad::distributed {

/// Options of DistributedDataParallel.
struct DdpOptions {
  /// Largest bucket, in bytes of gradient (Note [buckets]). Smaller buckets start communicating
  /// earlier in backward; larger ones pay the per-message latency fewer times. Default 1 MiB.
  std::int64_t bucket_cap_bytes = std::int64_t{1} << 20;
  /// Broadcast rank 0's buffers (BatchNorm running statistics) at every forward in training mode, so that
  /// all ranks evaluate with the same statistics (PyTorch's broadcast_buffers). When false each rank
  /// keeps its own running statistics (computed from its own shards).
  bool broadcast_buffers = true;
  /// Before backward, find the parameters that the forward's output does not depend on (a walk over the
  /// graph, no recursion) and count them as ready with a zero gradient, so that models which use a
  /// different subset of parameters per batch do not stall. Off by default: then every parameter that
  /// requires grad must receive a gradient in every backward (the next forward throws otherwise,
  /// naming the parameters that did not).
  bool find_unused_parameters = false;
  /// Sum every bucket in rank order, ((g_0 + g_1) + g_2) + ..., with an all-gather instead of an
  /// all-reduce (see ReduceOptions::deterministic): gradients are then bit-for-bit those of one process
  /// accumulating the N shards' gradients in rank order. Costs N·|bucket| received per rank.
  bool deterministic = false;
};

/// Counters of a DistributedDataParallel (for the scaling report and for tests).
struct DdpStats {
  /// Backward passes whose gradients were averaged.
  std::int64_t reductions = 0;
  /// Seconds spent waiting for the last buckets at the end of backward (communication that did not
  /// overlap with computation), summed over the reductions.
  double wait_seconds = 0.0;
  /// Seconds spent in the gradient hooks (copies into buckets, starting and polling the transfers).
  double hook_seconds = 0.0;
};

/// Wraps a module for data-parallel training (Note [buckets]). The wrapped module is registered as the
/// child "module" (so parameters() are the module's, named "module.<name>"; save `module()` to get the
/// names of a single-process model, as distributed::save_checkpoint does). Construction is collective:
/// it checks that every rank has the same model (check_same_model: names, shapes, dtypes; DistributedError
/// naming the first differing parameter otherwise), broadcasts rank 0's parameters and buffers, and
/// creates its own communicator.
class DistributedDataParallel : public nn::Module {
 public:
  /// ValueError for a null module or bucket_cap_bytes < 1; DistributedError as described above.
  explicit DistributedDataParallel(std::shared_ptr<nn::Module> module, DdpOptions options = {});
  /// Removes the gradient hooks from the parameters.
  ~DistributedDataParallel() override;
  DistributedDataParallel(DistributedDataParallel&&) = delete;

  /// In grad mode (and outside no_sync): broadcasts the buffers (broadcast_buffers, training mode only),
  /// prepares the gradient reduction of the next backward, then returns module()(input). Throws
  /// DistributedError when the previous backward left a reduction unfinished (names the parameters
  /// that received no gradient).
  Tensor forward(const Tensor& input) override;

  /// The wrapped module.
  nn::Module& module() const noexcept { return *module_; }
  /// The wrapped module (shared).
  const std::shared_ptr<nn::Module>& module_ptr() const noexcept { return module_; }
  const DdpOptions& options() const noexcept { return options_; }
  /// "world_size=2, buckets=2, bucket_cap_bytes=1048576".
  std::string extra_repr() const override;

  /// Number of buckets.
  std::int64_t bucket_count() const;
  /// The dotted names (as in module().named_parameters()) of each bucket's parameters, in bucket order.
  std::vector<std::vector<std::string>> bucket_parameter_names() const;
  /// Bytes of gradient each rank contributes per backward (Σ over buckets); the bytes each rank sends
  /// and receives depend on MPI's algorithm (about 2·(N-1)/N times this for a ring all-reduce).
  std::int64_t bytes_per_reduction() const;
  /// The counters so far.
  DdpStats stats() const;

  /// While a guard lives, backward accumulates gradients locally without communicating (gradient
  /// accumulation over several micro-batches); the first backward after it ends averages the
  /// accumulated gradients. Like PyTorch's no_sync(). Guards do not nest.
  class NoSyncGuard {
   public:
    explicit NoSyncGuard(DistributedDataParallel& ddp);
    ~NoSyncGuard();
    NoSyncGuard(const NoSyncGuard&) = delete;
    NoSyncGuard& operator=(const NoSyncGuard&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool previous_;
  };

  struct Reducer;  // library-internal (ddp.cpp)

 private:
  std::shared_ptr<nn::Module> module_;
  DdpOptions options_;
  std::unique_ptr<Reducer> reducer_;
};

}  // namespace xgrad::distributed
