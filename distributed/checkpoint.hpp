#pragma once
// Training checkpoints in a data-parallel job: written by rank 0 only (atomically, by
// train::save_checkpoint), read by every rank. The files are ordinary training checkpoints
// (train/callbacks.hpp): a single-process run can resume from a distributed one and vice versa.
//
//   if (epoch_done) distributed::save_checkpoint(path, ddp, sgd, schedule, {{"epoch", e + 1.0}});   // every rank calls it
//   train::Scalars s = distributed::load_checkpoint(path, ddp, sgd, schedule);                       // every rank calls it

#include <functional>
#include <string>

#include "../nn/module.hpp"
#include "../optim/optimizer.hpp"
#include "../train/callbacks.hpp"

namespace xgrad::distributed {

/// The module whose weights a checkpoint holds: the wrapped module of a DistributedDataParallel (so
/// the names are those of a single-process model), otherwise `model` itself.
const nn::Module& unwrap(const nn::Module& model);
/// The same for a mutable module.
nn::Module& unwrap(nn::Module& model);

namespace detail {
/// Runs `save` on rank 0 and tells every rank how it went (a collective: the other ranks wait until the
/// file is complete); every rank throws the same error (naming the path and rank 0's message) on failure.
void save_on_root(const std::string& path, const std::function<void()>& save);
/// Runs `load` on every rank; every rank throws when any rank failed (naming the ranks and their
/// messages), or when the ranks' models differ afterwards (state_hash). Returns what `load` returned.
train::Scalars load_everywhere(const std::string& path, const nn::Module& model, const std::function<train::Scalars()>& load);
}  // namespace detail

/// Every rank calls it; rank 0 writes train::save_checkpoint(path, unwrap(model), scalars) atomically
/// (Note [atomic save] in train/checkpoint.hpp) and the others wait until it is done. The state of the
/// random generator stored is rank 0's. DistributedError on every rank when rank 0 cannot write the file
/// (the message carries rank 0's IOError).
void save_checkpoint(const std::string& path, const nn::Module& model, const train::Scalars& scalars = {});
/// Also the optimizer's state (the optimizer must be built over the parameters of `model`).
void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                     const train::Scalars& scalars = {});
/// Also a scheduler's state.
template <train::CheckpointableScheduler S>
void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer, const S& scheduler,
                     const train::Scalars& scalars = {}) {
  detail::save_on_root(path, [&] { train::save_checkpoint(path, unwrap(model), optimizer, scheduler, scalars); });
}

/// Every rank calls it and reads `path` (which every rank must be able to read: a shared file system,
/// or a copy per machine) into unwrap(model) with train::load_checkpoint, then checks that all ranks now
/// hold bit-identical weights. With `restore_rng` every rank's generator gets the state saved (rank
/// 0's): reseed per rank afterwards if ranks need different random streams. Returns the scalars.
/// DistributedError on every rank when any rank failed (naming the ranks and their errors).
train::Scalars load_checkpoint(const std::string& path, nn::Module& model, bool restore_rng = true);
/// Also the optimizer's state.
train::Scalars load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer, bool restore_rng = true);
/// Also a scheduler's state.
template <train::CheckpointableScheduler S>
train::Scalars load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer, S& scheduler,
                               bool restore_rng = true) {
  return detail::load_everywhere(path, unwrap(model),
                                 [&] { return train::load_checkpoint(path, unwrap(model), optimizer, scheduler, restore_rng); });
}

}  // namespace xgrad::distributed
