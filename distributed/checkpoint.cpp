#include "checkpoint.hpp"

#include <fmt/format.h>

#include "collectives.hpp"
#include "ddp.hpp"
#include "detail/comm.hpp"
#include "environment.hpp"

namespace xgrad::distributed {

const nn::Module& unwrap(const nn::Module& model) {
  if (const auto* ddp = dynamic_cast<const DistributedDataParallel*>(&model)) return ddp->module();
  return model;
}

nn::Module& unwrap(nn::Module& model) {
  if (auto* ddp = dynamic_cast<DistributedDataParallel*>(&model)) return ddp->module();
  return model;
}

namespace detail {

void save_on_root(const std::string& path, const std::function<void()>& save) {
  std::string error;
  if (rank() == 0) {
    try {
      save();
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "unknown error";
    }
  }
  // The status of rank 0 (empty = success): its length, then its text.
  std::int64_t length = static_cast<std::int64_t>(error.size());
  const std::string what = fmt::format("distributed::save_checkpoint('{}')", path);
  broadcast_bytes(&length, 1, MPI_INT64_T, 0, world(), what);
  error.resize(static_cast<std::size_t>(length));
  if (length > 0) broadcast_bytes(error.data(), length, MPI_CHAR, 0, world(), what);
  if (!error.empty())
    throw DistributedError(fmt::format("distributed::save_checkpoint: rank 0 could not write '{}': {}", path, error));
}

train::Scalars load_everywhere(const std::string& path, const nn::Module& model, const std::function<train::Scalars()>& load) {
  std::string error;
  train::Scalars scalars;
  try {
    scalars = load();
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "unknown error";
  }
  const std::string what = fmt::format("distributed::load_checkpoint('{}')", path);
  const std::vector<std::string> errors = all_gather_strings(error, world(), what);
  std::string failed;
  for (std::size_t r = 0; r < errors.size(); ++r)
    if (!errors[r].empty()) failed += fmt::format("{}rank {}: {}", failed.empty() ? "" : "; ", r, errors[r]);
  if (!failed.empty()) throw DistributedError(fmt::format("distributed::load_checkpoint('{}') failed on {}", path, failed));
  const std::vector<std::uint64_t> hashes = all_gather_state_hash(model);
  std::string differ;
  for (std::size_t r = 1; r < hashes.size(); ++r)
    if (hashes[r] != hashes[0]) differ += fmt::format("{}{}", differ.empty() ? "" : ", ", r);
  if (!differ.empty())
    throw DistributedError(
        fmt::format("distributed::load_checkpoint('{}'): after loading, the weights of rank(s) {} differ from rank 0's "
                    "(did the ranks read different files?)",
                    path, differ));
  return scalars;
}

}  // namespace detail

void save_checkpoint(const std::string& path, const nn::Module& model, const train::Scalars& scalars) {
  detail::save_on_root(path, [&] { train::save_checkpoint(path, unwrap(model), scalars); });
}

void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                     const train::Scalars& scalars) {
  detail::save_on_root(path, [&] { train::save_checkpoint(path, unwrap(model), optimizer, scalars); });
}

train::Scalars load_checkpoint(const std::string& path, nn::Module& model, bool restore_rng) {
  return detail::load_everywhere(path, unwrap(model), [&] { return train::load_checkpoint(path, unwrap(model), restore_rng); });
}

train::Scalars load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer, bool restore_rng) {
  return detail::load_everywhere(path, unwrap(model),
                                 [&] { return train::load_checkpoint(path, unwrap(model), optimizer, restore_rng); });
}

}  // namespace xgrad::distributed
