#include "callbacks.hpp"

#include <fmt/args.h>
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <ostream>
#include <sstream>

#include "../autograd/grad_mode.hpp"
#include "../autograd/ops/factories.hpp"
#include "../autograd/random.hpp"

namespace xgrad::train {

// ---- Callback ------------------------------------------------------------------------------------

void Callback::on_train_begin(FitContext&) {}
void Callback::on_train_end(FitContext&, const Logs&) {}
void Callback::on_epoch_begin(FitContext&, std::int64_t) {}
void Callback::on_epoch_end(FitContext&, std::int64_t, Logs&) {}
void Callback::on_batch_begin(FitContext&, std::int64_t) {}
void Callback::on_batch_end(FitContext&, std::int64_t, const Logs&) {}

// ---- monitoring helpers ------------------------------------------------------------------------------

MonitorMode resolve_mode(MonitorMode mode, const std::string& monitor) {
  if (mode != MonitorMode::automatic) return mode;
  return monitor.find("acc") != std::string::npos ? MonitorMode::max : MonitorMode::min;
}

double monitored_value(const char* who, const std::string& monitor, const Logs& logs) {
  if (const double* v = logs.find(monitor)) return *v;
  const std::string hint = monitor.rfind("val_", 0) == 0
                               ? " (validation values need FitOptions::validation_split or validation_data)"
                               : std::string();
  throw ValueError(fmt::format("{}: the monitored value '{}' is not in the logs (available: {}){}", who, monitor,
                               logs.empty() ? std::string("none") : fmt::format("{}", fmt::join(logs.keys(), ", ")), hint));
}

namespace {
double worst_value(MonitorMode mode) {
  return mode == MonitorMode::max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}
void check_monitor(const char* who, const std::string& monitor) {
  if (monitor.empty()) throw ValueError(fmt::format("{}: the monitored name is empty", who));
}
}  // namespace

// ---- EarlyStopping --------------------------------------------------------------------------------

EarlyStoppingOptions& EarlyStoppingOptions::monitor(std::string v) {
  check_monitor("EarlyStoppingOptions::monitor", v);
  monitor_ = std::move(v);
  return *this;
}

EarlyStoppingOptions& EarlyStoppingOptions::patience(std::int64_t v) {
  if (v < 0) throw ValueError(fmt::format("EarlyStoppingOptions::patience: must be >= 0, got {}", v));
  patience_ = v;
  return *this;
}

EarlyStoppingOptions& EarlyStoppingOptions::min_delta(double v) {
  if (!(v >= 0.0)) throw ValueError(fmt::format("EarlyStoppingOptions::min_delta: must be >= 0, got {}", v));
  min_delta_ = v;
  return *this;
}

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : options_(std::move(options)) {}

bool EarlyStopping::improves(double value, double reference) const {
  if (std::isnan(value)) return false;
  return mode_ == MonitorMode::max ? value > reference + options_.min_delta() : value < reference - options_.min_delta();
}

void EarlyStopping::on_train_begin(FitContext&) {
  mode_ = resolve_mode(options_.mode(), options_.monitor());
  best_ = worst_value(mode_);
  best_epoch_ = -1;
  wait_ = 0;
  stopped_epoch_ = -1;
  best_weights_.reset();
}

void EarlyStopping::on_epoch_end(FitContext& ctx, std::int64_t epoch, Logs& logs) {
  const double value = monitored_value("EarlyStopping", options_.monitor(), logs);
  if (improves(value, best_)) {
    best_ = value;
    best_epoch_ = epoch;
    if (options_.restore_best_weights()) {
      NoGradGuard no_grad;
      nn::StateDict snapshot;
      for (const auto& item : ctx.model.state_dict()) snapshot.insert(item.key, item.value.clone());
      best_weights_ = std::move(snapshot);
    }
    if (!options_.baseline() || improves(value, *options_.baseline())) {
      wait_ = 0;
      return;
    }
  }
  ++wait_;
  if (wait_ >= options_.patience()) {
    stopped_epoch_ = epoch;
    ctx.stop_training = true;
    if (options_.verbose() && ctx.out != nullptr)
      *ctx.out << fmt::format("Epoch {}: early stopping ({} did not improve on {:.6g} for {} epoch{})\n", epoch + 1,
                              options_.monitor(), best_, wait_, wait_ == 1 ? "" : "s");
  }
}

void EarlyStopping::on_train_end(FitContext& ctx, const Logs&) {
  if (!options_.restore_best_weights() || !best_weights_) return;
  ctx.model.load_state_dict(*best_weights_);
  if (options_.verbose() && ctx.out != nullptr)
    *ctx.out << fmt::format("Restoring model weights from the end of the best epoch: {}.\n", best_epoch_ + 1);
}

// ---- ModelCheckpoint ------------------------------------------------------------------------------

ModelCheckpointOptions& ModelCheckpointOptions::monitor(std::string v) {
  check_monitor("ModelCheckpointOptions::monitor", v);
  monitor_ = std::move(v);
  return *this;
}

std::string format_checkpoint_path(const std::string& pattern, std::int64_t epoch_number, const Logs& logs) {
  fmt::dynamic_format_arg_store<fmt::format_context> args;
  args.push_back(fmt::arg("epoch", epoch_number));
  for (const auto& item : logs)
    if (item.key != "epoch") args.push_back(fmt::arg(item.key.c_str(), item.value));
  try {
    return fmt::vformat(pattern, args);
  } catch (const fmt::format_error& e) {
    throw ValueError(fmt::format("ModelCheckpoint: cannot format the path pattern '{}': {} (available names: epoch{}{})",
                                 pattern, e.what(), logs.empty() ? "" : ", ", fmt::join(logs.keys(), ", ")));
  }
}

ModelCheckpoint::ModelCheckpoint(std::string path_pattern, ModelCheckpointOptions options)
    : pattern_(std::move(path_pattern)), options_(std::move(options)) {
  if (pattern_.empty()) throw ValueError("ModelCheckpoint: the path pattern is empty");
}

void ModelCheckpoint::on_train_begin(FitContext&) {
  mode_ = resolve_mode(options_.mode(), options_.monitor());
  best_ = worst_value(mode_);
}

void ModelCheckpoint::on_epoch_end(FitContext& ctx, std::int64_t epoch, Logs& logs) {
  if (options_.save_best_only()) {
    const double value = monitored_value("ModelCheckpoint", options_.monitor(), logs);
    const bool better = mode_ == MonitorMode::max ? value > best_ : value < best_;
    if (!better) return;
    best_ = value;
  }
  const std::string path = format_checkpoint_path(pattern_, epoch + 1, logs);
  Scalars scalars;
  scalars["epoch"] = static_cast<double>(epoch + 1);
  if (ctx.seed <= (std::uint64_t{1} << 53)) scalars["seed"] = static_cast<double>(ctx.seed);
  for (const auto& item : logs) scalars["logs." + item.key] = item.value;
  if (options_.save_optimizer()) save_checkpoint(path, ctx.model, ctx.optimizer, scalars);
  else save_checkpoint(path, ctx.model, scalars);
  saved_.push_back(path);
  if (options_.verbose() && ctx.out != nullptr) *ctx.out << fmt::format("Epoch {}: saved {}\n", epoch + 1, path);
}

// ---- schedulers -----------------------------------------------------------------------------------

LRSchedulerCallback::LRSchedulerCallback(optim::LRScheduler& scheduler, ScheduleUnit unit) : scheduler_(scheduler), unit_(unit) {}

void LRSchedulerCallback::on_epoch_end(FitContext&, std::int64_t, Logs&) {
  if (unit_ == ScheduleUnit::epoch) scheduler_.step();
}

void LRSchedulerCallback::on_batch_end(FitContext&, std::int64_t, const Logs&) {
  if (unit_ == ScheduleUnit::batch) scheduler_.step();
}

ReduceLROnPlateauCallback::ReduceLROnPlateauCallback(optim::ReduceLROnPlateau& scheduler, std::string monitor)
    : scheduler_(scheduler), monitor_(std::move(monitor)) {
  check_monitor("ReduceLROnPlateauCallback", monitor_);
}

void ReduceLROnPlateauCallback::on_epoch_end(FitContext&, std::int64_t, Logs& logs) {
  scheduler_.step(monitored_value("ReduceLROnPlateauCallback", monitor_, logs));
}

// ---- LambdaCallback ---------------------------------------------------------------------------------

LambdaCallback::LambdaCallback(LambdaCallbackHooks hooks) : hooks_(std::move(hooks)) {}

void LambdaCallback::on_train_begin(FitContext& ctx) {
  if (hooks_.on_train_begin) hooks_.on_train_begin(ctx);
}
void LambdaCallback::on_train_end(FitContext& ctx, const Logs& logs) {
  if (hooks_.on_train_end) hooks_.on_train_end(ctx, logs);
}
void LambdaCallback::on_epoch_begin(FitContext& ctx, std::int64_t epoch) {
  if (hooks_.on_epoch_begin) hooks_.on_epoch_begin(ctx, epoch);
}
void LambdaCallback::on_epoch_end(FitContext& ctx, std::int64_t epoch, Logs& logs) {
  if (hooks_.on_epoch_end) hooks_.on_epoch_end(ctx, epoch, logs);
}
void LambdaCallback::on_batch_begin(FitContext& ctx, std::int64_t batch) {
  if (hooks_.on_batch_begin) hooks_.on_batch_begin(ctx, batch);
}
void LambdaCallback::on_batch_end(FitContext& ctx, std::int64_t batch, const Logs& logs) {
  if (hooks_.on_batch_end) hooks_.on_batch_end(ctx, batch, logs);
}

// ---- training checkpoints -----------------------------------------------------------------------------

namespace {
constexpr const char* kFormat = "xgrad.training_checkpoint";
constexpr const char* kFormatVersion = "1";
const std::string kModel = "model.";
const std::string kOptimizer = "optimizer.";
const std::string kScheduler = "scheduler.";
const std::string kExtra = "extra.";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

bool has_prefix(const TensorMap& tensors, const std::string& prefix) {
  const auto it = tensors.lower_bound(prefix);
  return it != tensors.end() && starts_with(it->first, prefix);
}
}  // namespace

TensorMap state_dict_to_tensors(const optim::StateDict& state, const std::string& prefix) {
  TensorMap out;
  for (const auto& [key, t] : state.tensors) out.emplace(prefix + "tensors." + key, t);
  for (const auto& [key, v] : state.scalars) out.emplace(prefix + "scalars." + key, scalar_tensor(v, kFloat64));
  return out;
}

optim::StateDict state_dict_from_tensors(const TensorMap& tensors, const std::string& prefix) {
  optim::StateDict out;
  const std::string tp = prefix + "tensors.", sp = prefix + "scalars.";
  for (auto it = tensors.lower_bound(prefix); it != tensors.end() && starts_with(it->first, prefix); ++it) {
    const auto& [key, t] = *it;
    if (starts_with(key, tp)) {
      out.tensors.emplace(key.substr(tp.size()), t);
    } else if (starts_with(key, sp)) {
      if (!t.defined() || t.numel() != 1 || !is_floating(t.dtype()))
        throw IOError(fmt::format("state_dict_from_tensors: '{}' must be a one-element floating-point tensor, got shape {} dtype {}",
                                  key, t.defined() ? shape_str(t.shape()) : "undefined",
                                  t.defined() ? dtype_name(t.dtype()) : "none"));
      out.scalars.emplace(key.substr(sp.size()), t.item<double>());
    }
  }
  return out;
}

namespace detail {

void save_checkpoint_impl(const std::string& path, const nn::Module& model, const optim::Optimizer* optimizer,
                          const optim::StateDict* scheduler_state, const Scalars& scalars) {
  TensorMap tensors;
  for (const auto& item : model.state_dict()) tensors.emplace(kModel + item.key, item.value);
  Metadata metadata{{"format", kFormat}, {"format_version", kFormatVersion}};
  if (optimizer != nullptr) {
    tensors.merge(state_dict_to_tensors(optimizer->state_dict(), kOptimizer));
    metadata["optimizer"] = optimizer->name();
  }
  if (scheduler_state != nullptr) tensors.merge(state_dict_to_tensors(*scheduler_state, kScheduler));
  for (const auto& [name, v] : scalars) {
    if (name.empty()) throw ValueError(fmt::format("save_checkpoint: '{}': a scalar has an empty name", path));
    tensors.emplace(kExtra + name, scalar_tensor(v, kFloat64));
  }
  std::ostringstream rng;
  rng << generator();
  metadata["rng_state"] = rng.str();
  save_safetensors(path, tensors, metadata);
}

Scalars load_checkpoint_impl(const std::string& path, nn::Module& model, optim::Optimizer* optimizer,
                             const std::function<void(const optim::StateDict&)>* load_scheduler, bool restore_rng) {
  Checkpoint ck = load_safetensors(path);
  const auto format = ck.metadata.find("format");
  if (format == ck.metadata.end() || format->second != kFormat)
    throw IOError(fmt::format("load_checkpoint: '{}' is not an xgrad training checkpoint (no metadata format = \"{}\"); "
                              "for a plain weights file use load_safetensors and Module::load_state_dict",
                              path, kFormat));

  // Everything is read and checked before the model changes.
  nn::StateDict model_state;
  for (auto it = ck.tensors.lower_bound(kModel); it != ck.tensors.end() && starts_with(it->first, kModel); ++it)
    model_state.insert(it->first.substr(kModel.size()), it->second);
  optim::StateDict optimizer_state;
  if (optimizer != nullptr) {
    const auto saved = ck.metadata.find("optimizer");
    if (saved == ck.metadata.end())
      throw ValueError(fmt::format("load_checkpoint: '{}' holds no optimizer state (saved without an optimizer), but an {} "
                                   "optimizer was given",
                                   path, optimizer->name()));
    if (saved->second != optimizer->name())
      throw ValueError(fmt::format("load_checkpoint: '{}' holds the state of a {} optimizer, but the optimizer given is {}", path,
                                   saved->second, optimizer->name()));
    optimizer_state = state_dict_from_tensors(ck.tensors, kOptimizer);
  }
  optim::StateDict scheduler_state;
  if (load_scheduler != nullptr) {
    if (!has_prefix(ck.tensors, kScheduler))
      throw ValueError(fmt::format("load_checkpoint: '{}' holds no scheduler state (saved without a scheduler)", path));
    scheduler_state = state_dict_from_tensors(ck.tensors, kScheduler);
  }
  Scalars scalars;
  for (auto it = ck.tensors.lower_bound(kExtra); it != ck.tensors.end() && starts_with(it->first, kExtra); ++it) {
    const Tensor& t = it->second;
    if (t.numel() != 1 || !is_floating(t.dtype()))
      throw IOError(fmt::format("load_checkpoint: '{}': '{}' must be a one-element floating-point tensor, got shape {}", path,
                                it->first, shape_str(t.shape())));
    scalars.emplace(it->first.substr(kExtra.size()), t.item<double>());
  }
  std::optional<std::mt19937_64> rng;
  if (restore_rng) {
    if (const auto saved = ck.metadata.find("rng_state"); saved != ck.metadata.end()) {
      std::istringstream in(saved->second);
      std::mt19937_64 g;
      in >> g;
      if (!in) throw IOError(fmt::format("load_checkpoint: '{}': the metadata 'rng_state' is not a generator state", path));
      rng = g;
    }
  }

  // Load, rolling back on failure so that an error leaves model and optimizer unchanged.
  nn::StateDict model_backup;
  {
    NoGradGuard no_grad;
    for (const auto& item : model.state_dict()) model_backup.insert(item.key, item.value.clone());
  }
  std::optional<optim::StateDict> optimizer_backup;
  if (optimizer != nullptr) optimizer_backup = optimizer->state_dict();
  bool model_loaded = false, optimizer_loaded = false;
  try {
    model.load_state_dict(model_state);
    model_loaded = true;
    if (optimizer != nullptr) {
      optimizer->load_state_dict(optimizer_state);
      optimizer_loaded = true;
    }
    if (load_scheduler != nullptr) (*load_scheduler)(scheduler_state);
  } catch (...) {
    if (model_loaded) model.load_state_dict(model_backup);
    if (optimizer_loaded) optimizer->load_state_dict(*optimizer_backup);
    throw;
  }
  if (rng) generator() = *rng;
  return scalars;
}

}  // namespace detail

void save_checkpoint(const std::string& path, const nn::Module& model, const Scalars& scalars) {
  detail::save_checkpoint_impl(path, model, nullptr, nullptr, scalars);
}

void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer, const Scalars& scalars) {
  detail::save_checkpoint_impl(path, model, &optimizer, nullptr, scalars);
}

Scalars load_checkpoint(const std::string& path, nn::Module& model, bool restore_rng) {
  return detail::load_checkpoint_impl(path, model, nullptr, nullptr, restore_rng);
}

Scalars load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer, bool restore_rng) {
  return detail::load_checkpoint_impl(path, model, &optimizer, nullptr, restore_rng);
}

}  // namespace xgrad::train
