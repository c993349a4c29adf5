#pragma once
// Callbacks: code that fit() runs at fixed points of training (Keras style), and training checkpoints.
//
// fit() calls, in this order:
//   on_train_begin(ctx)
//   for each epoch e:  on_epoch_begin(ctx, e)
//                      for each batch b: on_batch_begin(ctx, b), the training step, on_batch_end(ctx, b, logs)
//                      validation, then on_epoch_end(ctx, e, logs), then the History records the logs
//   on_train_end(ctx, logs of the last epoch)
// Callbacks run in the order of FitOptions::callbacks (after fit's own progress display). Any callback
// may set ctx.stop_training = true: fit then finishes the current batch loop (checked after every
// batch) or epoch and stops; on_train_end still runs.
//
// Epoch numbers are 0-based in callbacks and in the History (like Keras); they are shown 1-based to
// humans ("Epoch 1/10") and in ModelCheckpoint file names ({epoch} is the number of epochs done).
//
// The second half of this header saves and restores a whole training state (model, optimizer,
// scheduler, random generator, numbers such as the epoch) in one safetensors file; see
// save_checkpoint below and docs/training.md ("Resuming").

#include <concepts>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../nn/module.hpp"
#include "../optim/optimizer.hpp"
#include "../optim/scheduler.hpp"
#include "checkpoint.hpp"
#include "history.hpp"

namespace xgrad::train {

/// What fit() shares with its callbacks: the model and optimizer being trained, the History so far, the
/// run's settings, and the stop flag.
struct FitContext {
  /// The model being trained (in training mode during the batches, in eval mode during validation).
  nn::Module& model;
  /// The optimizer updating the model.
  optim::Optimizer& optimizer;
  /// The epochs recorded so far (the current epoch is appended after on_epoch_end).
  History& history;
  /// FitOptions::epochs: training stops before this epoch number.
  std::int64_t epochs = 0;
  /// FitOptions::initial_epoch: the first epoch of this run.
  std::int64_t initial_epoch = 0;
  /// The epoch in progress (0-based).
  std::int64_t epoch = 0;
  /// Number of training batches per epoch.
  std::int64_t steps_per_epoch = 0;
  /// Samples per training batch.
  std::int64_t batch_size = 0;
  /// Number of training samples (after validation_split).
  std::int64_t num_train_samples = 0;
  /// Number of validation samples (0 without validation data).
  std::int64_t num_val_samples = 0;
  /// The seed of the shuffles (FitOptions::seed, or the value drawn when it was unset).
  std::uint64_t seed = 0;
  /// FitOptions::verbose (0 silent, 1 progress bar, 2 one line per epoch).
  int verbose = 0;
  /// The stream where fit and callbacks print (FitOptions::output, std::cout by default).
  std::ostream* out = nullptr;
  /// Set to true to stop training after the current batch.
  bool stop_training = false;
};

/// Base class of callbacks: every hook does nothing by default; override the ones you need. A callback
/// object may be reused across fit() calls (on_train_begin should reset its state).
class Callback {
 public:
  virtual ~Callback() = default;
  /// Before the first epoch.
  virtual void on_train_begin(FitContext& ctx);
  /// After the last epoch (also after an early stop). `logs` are the last epoch's (empty when no epoch
  /// ran).
  virtual void on_train_end(FitContext& ctx, const Logs& logs);
  /// Before epoch `epoch`'s first batch.
  virtual void on_epoch_begin(FitContext& ctx, std::int64_t epoch);
  /// After epoch `epoch`'s validation. `logs` holds "loss", the metrics, "val_loss" and the "val_"
  /// metrics (with validation data) and "lr"; a callback may add or change entries, which later
  /// callbacks and the History see.
  virtual void on_epoch_end(FitContext& ctx, std::int64_t epoch, Logs& logs);
  /// Before training batch `batch` (0-based within the epoch).
  virtual void on_batch_begin(FitContext& ctx, std::int64_t batch);
  /// After training batch `batch`'s optimizer step. `logs` holds the running epoch means so far
  /// ("loss" and the metrics, averaged over the samples seen in this epoch).
  virtual void on_batch_end(FitContext& ctx, std::int64_t batch, const Logs& logs);
};

/// Shared ownership of a callback (what FitOptions::callbacks holds).
using CallbackPtr = std::shared_ptr<Callback>;

/// Which direction of a monitored value is an improvement.
enum class MonitorMode {
  /// Lower is better (losses, errors).
  min,
  /// Higher is better (accuracies).
  max,
  /// max when the monitored name contains "acc" (accuracy, val_binary_accuracy, ...), min otherwise.
  automatic,
};

/// Resolves MonitorMode::automatic for `monitor` (see MonitorMode); min and max are returned as they are.
MonitorMode resolve_mode(MonitorMode mode, const std::string& monitor);

/// Reads `monitor` from `logs`; ValueError naming `who`, the key and the available keys when it is
/// absent (a "val_" key needs validation data: FitOptions::validation_split or validation_data).
double monitored_value(const char* who, const std::string& monitor, const Logs& logs);

/// Options of EarlyStopping (chained setters; ValueError for negative patience, a negative or NaN
/// min_delta, or an empty monitor). Defaults: monitor "val_loss", mode automatic, patience 0,
/// min_delta 0, no baseline, restore_best_weights false, verbose false.
class EarlyStoppingOptions {
 public:
  /// The logged value to watch ("val_loss", "val_accuracy", "loss", ...).
  EarlyStoppingOptions& monitor(std::string v);
  const std::string& monitor() const noexcept { return monitor_; }
  /// Whether lower or higher is better.
  EarlyStoppingOptions& mode(MonitorMode v) { mode_ = v; return *this; }
  MonitorMode mode() const noexcept { return mode_; }
  /// Number of epochs without improvement after which training stops (0 and 1 both stop at the first
  /// epoch that does not improve, as in Keras).
  EarlyStoppingOptions& patience(std::int64_t v);
  std::int64_t patience() const noexcept { return patience_; }
  /// Smallest change that counts as an improvement: value < best - min_delta (min) or
  /// value > best + min_delta (max).
  EarlyStoppingOptions& min_delta(double v);
  double min_delta() const noexcept { return min_delta_; }
  /// A value the monitored quantity must beat: epochs that improve on the best so far but not on
  /// the baseline still count as epochs without improvement.
  EarlyStoppingOptions& baseline(double v) { baseline_ = v; return *this; }
  const std::optional<double>& baseline() const noexcept { return baseline_; }
  /// Keep a copy of the model's state_dict() at the best epoch and load it back when training ends
  /// (whether or not it stopped early).
  EarlyStoppingOptions& restore_best_weights(bool v) { restore_best_weights_ = v; return *this; }
  bool restore_best_weights() const noexcept { return restore_best_weights_; }
  /// Print a line to the fit output when stopping and when restoring weights.
  EarlyStoppingOptions& verbose(bool v) { verbose_ = v; return *this; }
  bool verbose() const noexcept { return verbose_; }

 private:
  std::string monitor_ = "val_loss";
  MonitorMode mode_ = MonitorMode::automatic;
  std::int64_t patience_ = 0;
  double min_delta_ = 0.0;
  std::optional<double> baseline_;
  bool restore_best_weights_ = false;
  bool verbose_ = false;
};

/// Stops training when the monitored value has not improved for `patience` epochs (Keras's
/// EarlyStopping). At every epoch end, with v = logs[monitor]:
///   if v improves on best (see min_delta; NaN never improves): best = v, best_epoch = epoch, snapshot
///   the weights (restore_best_weights); wait = 0 unless a baseline is set and v does not beat it;
///   otherwise wait += 1; when wait >= patience: ctx.stop_training = true, stopped_epoch = epoch.
/// At train end, with restore_best_weights, the snapshot (every parameter and buffer, cloned) is loaded
/// back into the model. ValueError (from on_epoch_end) when the logs have no `monitor` value.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_train_begin(FitContext& ctx) override;
  void on_epoch_end(FitContext& ctx, std::int64_t epoch, Logs& logs) override;
  void on_train_end(FitContext& ctx, const Logs& logs) override;

  /// The epoch at which training was stopped, or -1 when it ran to the end.
  std::int64_t stopped_epoch() const noexcept { return stopped_epoch_; }
  /// The best monitored value seen (±inf before the first epoch).
  double best() const noexcept { return best_; }
  /// The epoch of the best value (-1 before the first improvement).
  std::int64_t best_epoch() const noexcept { return best_epoch_; }
  /// Epochs since the last improvement.
  std::int64_t wait() const noexcept { return wait_; }
  const EarlyStoppingOptions& options() const noexcept { return options_; }

 private:
  bool improves(double value, double reference) const;
  EarlyStoppingOptions options_;
  MonitorMode mode_ = MonitorMode::min;
  double best_ = 0.0;
  std::int64_t best_epoch_ = -1;
  std::int64_t wait_ = 0;
  std::int64_t stopped_epoch_ = -1;
  std::optional<nn::StateDict> best_weights_;
};

/// Options of ModelCheckpoint (chained setters). Defaults: monitor "val_loss", mode automatic,
/// save_best_only false, save_optimizer false, verbose false.
class ModelCheckpointOptions {
 public:
  /// The logged value compared by save_best_only.
  ModelCheckpointOptions& monitor(std::string v);
  const std::string& monitor() const noexcept { return monitor_; }
  /// Whether lower or higher is better.
  ModelCheckpointOptions& mode(MonitorMode v) { mode_ = v; return *this; }
  MonitorMode mode() const noexcept { return mode_; }
  /// Save only when the monitored value improves on the best so far (strictly).
  ModelCheckpointOptions& save_best_only(bool v) { save_best_only_ = v; return *this; }
  bool save_best_only() const noexcept { return save_best_only_; }
  /// Also save the optimizer's state (needed to resume training; not needed to deploy the model).
  ModelCheckpointOptions& save_optimizer(bool v) { save_optimizer_ = v; return *this; }
  bool save_optimizer() const noexcept { return save_optimizer_; }
  /// Print a line to the fit output for every file written.
  ModelCheckpointOptions& verbose(bool v) { verbose_ = v; return *this; }
  bool verbose() const noexcept { return verbose_; }

 private:
  std::string monitor_ = "val_loss";
  MonitorMode mode_ = MonitorMode::automatic;
  bool save_best_only_ = false;
  bool save_optimizer_ = false;
  bool verbose_ = false;
};

/// Saves a training checkpoint (see save_checkpoint) at the end of every epoch, or only when the
/// monitored value improves (save_best_only). The path is a pattern formatted with fmt: {epoch} is the
/// number of epochs done (1-based, as Keras), and every log value is available by name, e.g.
/// "ckpt/model-{epoch:03d}-{val_loss:.4f}.safetensors". Writes are atomic (a crash leaves the previous
/// file intact).
/// Each file holds the model, the optimizer when save_optimizer, the random generator state, and the
/// scalars "epoch" (epochs done: the initial_epoch to resume from), "seed" (the fit's shuffle seed,
/// when it is below 2^53 so that a double holds it exactly) and "logs.<name>" for every log value.
/// ValueError naming the pattern for a bad pattern or unknown name; ValueError when save_best_only and
/// the logs lack the monitored value; IOError when the file cannot be written.
class ModelCheckpoint : public Callback {
 public:
  /// `path_pattern`: see above (ValueError when empty).
  explicit ModelCheckpoint(std::string path_pattern, ModelCheckpointOptions options = {});
  void on_train_begin(FitContext& ctx) override;
  void on_epoch_end(FitContext& ctx, std::int64_t epoch, Logs& logs) override;

  /// The files written, in order (including ones later overwritten when the pattern repeats a name).
  const std::vector<std::string>& saved_paths() const noexcept { return saved_; }
  /// The best monitored value so far (save_best_only).
  double best() const noexcept { return best_; }
  const ModelCheckpointOptions& options() const noexcept { return options_; }

 private:
  std::string pattern_;
  ModelCheckpointOptions options_;
  MonitorMode mode_ = MonitorMode::min;
  double best_ = 0.0;
  std::vector<std::string> saved_;
};

/// Formats a ModelCheckpoint path pattern: {epoch} = `epoch_number`, and each log value by name.
/// ValueError naming the pattern (and the available names) when it does not format.
std::string format_checkpoint_path(const std::string& pattern, std::int64_t epoch_number, const Logs& logs);

/// When an LRSchedulerCallback steps its scheduler.
enum class ScheduleUnit {
  /// After every epoch (on_epoch_end, after the epoch's "lr" is logged).
  epoch,
  /// After every training batch (on_batch_end), for schedules counted in iterations.
  batch,
};

/// Steps an epoch-based learning-rate scheduler (StepLR, CosineAnnealingLR, ...) during fit: scheduler.step()
/// after every epoch (or every batch with ScheduleUnit::batch). The scheduler is held by reference and
/// must outlive fit.
class LRSchedulerCallback : public Callback {
 public:
  explicit LRSchedulerCallback(optim::LRScheduler& scheduler, ScheduleUnit unit = ScheduleUnit::epoch);
  void on_epoch_end(FitContext& ctx, std::int64_t epoch, Logs& logs) override;
  void on_batch_end(FitContext& ctx, std::int64_t batch, const Logs& logs) override;
  /// The scheduler.
  optim::LRScheduler& scheduler() const noexcept { return scheduler_; }

 private:
  optim::LRScheduler& scheduler_;
  ScheduleUnit unit_;
};

/// Steps a ReduceLROnPlateau with the monitored value after every epoch: scheduler.step(logs[monitor]).
/// ValueError (from on_epoch_end) when the logs have no such value. The scheduler is held by
/// reference and must outlive fit.
class ReduceLROnPlateauCallback : public Callback {
 public:
  /// ValueError for an empty monitor.
  explicit ReduceLROnPlateauCallback(optim::ReduceLROnPlateau& scheduler, std::string monitor = "val_loss");
  void on_epoch_end(FitContext& ctx, std::int64_t epoch, Logs& logs) override;
  /// The scheduler.
  optim::ReduceLROnPlateau& scheduler() const noexcept { return scheduler_; }

 private:
  optim::ReduceLROnPlateau& scheduler_;
  std::string monitor_;
};

/// The functions of a LambdaCallback; each may be left empty.
struct LambdaCallbackHooks {
  /// Called as Callback::on_train_begin.
  std::function<void(FitContext&)> on_train_begin = {};
  /// Called as Callback::on_train_end.
  std::function<void(FitContext&, const Logs&)> on_train_end = {};
  /// Called as Callback::on_epoch_begin.
  std::function<void(FitContext&, std::int64_t epoch)> on_epoch_begin = {};
  /// Called as Callback::on_epoch_end (may change the logs).
  std::function<void(FitContext&, std::int64_t epoch, Logs&)> on_epoch_end = {};
  /// Called as Callback::on_batch_begin.
  std::function<void(FitContext&, std::int64_t batch)> on_batch_begin = {};
  /// Called as Callback::on_batch_end.
  std::function<void(FitContext&, std::int64_t batch, const Logs&)> on_batch_end = {};
};

/// A callback made of functions, for one-off needs:
///   auto log = std::make_shared<LambdaCallback>(LambdaCallbackHooks{
///       .on_epoch_end = [](FitContext&, std::int64_t e, Logs& logs) { fmt::print("{} {}\n", e, logs.at("loss")); }});
class LambdaCallback : public Callback {
 public:
  explicit LambdaCallback(LambdaCallbackHooks hooks);
  void on_train_begin(FitContext& ctx) override;
  void on_train_end(FitContext& ctx, const Logs& logs) override;
  void on_epoch_begin(FitContext& ctx, std::int64_t epoch) override;
  void on_epoch_end(FitContext& ctx, std::int64_t epoch, Logs& logs) override;
  void on_batch_begin(FitContext& ctx, std::int64_t batch) override;
  void on_batch_end(FitContext& ctx, std::int64_t batch, const Logs& logs) override;

 private:
  LambdaCallbackHooks hooks_;
};

// ---- training checkpoints ------------------------------------------------------------------------
//
// A training checkpoint is one safetensors file (written atomically by save_safetensors) holding:
//   "model.<name>"                  every tensor of model.state_dict() (parameters and buffers);
//   "optimizer.tensors.<key>"       the optimizer's state tensors (optim::StateDict::tensors: momentum
//   "optimizer.scalars.<key>"       buffers, Adam moments, ...) and its numbers (group options such as lr,
//                                   step counts) as 0-d float64 tensors, when an optimizer is saved;
//   "scheduler.tensors.<key>", "scheduler.scalars.<key>"   likewise for a scheduler, when one is saved;
//   "extra.<name>"                  the caller's numbers (epoch, ...) as 0-d float64 tensors;
// and the metadata "format" = "xgrad.training_checkpoint", "format_version" = "1", "optimizer" (the
// optimizer's name, when saved) and "rng_state" (the calling thread's xgrad::generator(), so that dropout
// masks continue identically after a resume). Every number is stored bit-exactly.

/// Named numbers stored with a training checkpoint ("epoch", "seed", "best_val_loss", ...).
using Scalars = std::map<std::string, double>;

/// Flattens an optim::StateDict (optimizer or scheduler state) into named tensors: tensors become
/// prefix + "tensors." + key, scalars become 0-d float64 tensors prefix + "scalars." + key.
TensorMap state_dict_to_tensors(const optim::StateDict& state, const std::string& prefix);
/// The inverse of state_dict_to_tensors: reads the entries of `tensors` under `prefix` (others are
/// ignored). IOError naming the key when a scalar entry is not a one-element floating tensor.
optim::StateDict state_dict_from_tensors(const TensorMap& tensors, const std::string& prefix);

/// Saves `model` (and `scalars`) to `path` as a training checkpoint (see above), atomically. ValueError
/// for an empty scalar name; IOError naming the path when the file cannot be written.
void save_checkpoint(const std::string& path, const nn::Module& model, const Scalars& scalars = {});
/// Saves `model`, `optimizer` (its state_dict()) and `scalars` to `path`.
void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                     const Scalars& scalars = {});

/// A learning-rate scheduler whose state can be checkpointed (LRScheduler and its subclasses,
/// ReduceLROnPlateau).
template <class S>
concept CheckpointableScheduler = requires(S& s, const S& cs, const optim::StateDict& state) {
  { cs.state_dict() } -> std::convertible_to<optim::StateDict>;
  s.load_state_dict(state);
};

namespace detail {
void save_checkpoint_impl(const std::string& path, const nn::Module& model, const optim::Optimizer* optimizer,
                          const optim::StateDict* scheduler_state, const Scalars& scalars);
Scalars load_checkpoint_impl(const std::string& path, nn::Module& model, optim::Optimizer* optimizer,
                             const std::function<void(const optim::StateDict&)>* load_scheduler, bool restore_rng);
}  // namespace detail

/// Saves `model`, `optimizer`, `scheduler` (its state_dict()) and `scalars` to `path`.
template <CheckpointableScheduler S>
void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                     const S& scheduler, const Scalars& scalars = {}) {
  const optim::StateDict state = scheduler.state_dict();
  detail::save_checkpoint_impl(path, model, &optimizer, &state, scalars);
}

/// Loads a training checkpoint written by save_checkpoint into `model` (Module::load_state_dict,
/// strict) and returns its scalars. With `restore_rng`, the calling thread's xgrad::generator() is
/// set to the saved state. Either everything is loaded or, on any error, nothing changes (the model is
/// rolled back): IOError for an unreadable file or one that is not a training checkpoint; ValueError
/// (from load_state_dict) naming missing, unexpected or mis-shaped model tensors.
Scalars load_checkpoint(const std::string& path, nn::Module& model, bool restore_rng = true);
/// Also restores `optimizer` (Optimizer::load_state_dict). ValueError when the file holds no optimizer
/// state or the state of a different optimizer (both names given), or when the groups do not match.
Scalars load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer, bool restore_rng = true);
/// Also restores `scheduler` (its load_state_dict). ValueError when the file holds no scheduler state.
template <CheckpointableScheduler S>
Scalars load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer, S& scheduler,
                        bool restore_rng = true) {
  const std::function<void(const optim::StateDict&)> load = [&scheduler](const optim::StateDict& s) { scheduler.load_state_dict(s); };
  return detail::load_checkpoint_impl(path, model, &optimizer, &load, restore_rng);
}

}  // namespace xgrad::train
