#pragma once
// Learning-rate schedulers. Each one acts on every parameter group of an optimizer by setting the
// group's lr (OptimizerOptions::set_lr). Call step() once per epoch (or per iteration, if the
// schedule is meant in iterations), after the optimizer's step().
//
// A scheduler keeps a reference to its optimizer: the optimizer must outlive it.
//
// Epoch counting follows PyTorch 1.13: constructing a scheduler performs the step to epoch 0 (the lr
// of epoch 0 is the initial lr for every scheduler except LambdaLR, which sets base_lr·λ(0)); the
// k-th call of step() moves to epoch k. StepLR, MultiStepLR, ExponentialLR and CosineAnnealingLR
// use PyTorch's chainable (recursive) forms, which multiply the group's *current* lr, so they compose
// with other schedulers and with manual lr changes; with nothing else touching the lr they equal the
// closed forms given below. LambdaLR and TimeBasedDecay are computed from the base lrs.
//
// Resuming: restore the optimizer's state_dict (it holds each group's current lr), then the
// scheduler's; the schedule then continues exactly as without the interruption.

#include <cstdint>
#include <functional>
#include <vector>

#include "optimizer.hpp"

namespace xgrad::optim {

/// The state of a scheduler (see StateDict). LRScheduler keys: scalars "last_epoch",
/// "num_param_groups", "base_lrs.<g>", "last_lrs.<g>".
using SchedulerState = StateDict;

/// Base of the epoch-based schedulers.
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Moves to the next epoch and sets every group's lr. ValueError when the optimizer's number of
  /// groups changed since the scheduler was created.
  void step();
  /// The lr of every group as set by the last step (or by the constructor).
  const std::vector<double>& get_last_lr() const noexcept { return last_lrs_; }
  /// The current epoch (0 right after construction).
  std::int64_t last_epoch() const noexcept { return last_epoch_; }
  /// Each group's lr when the scheduler was created.
  const std::vector<double>& base_lrs() const noexcept { return base_lrs_; }
  /// The scheduler's name ("StepLR", ...).
  virtual const char* name() const noexcept = 0;

  /// The epoch counter, base lrs and last lrs (keys: see SchedulerState).
  virtual SchedulerState state_dict() const;
  /// Restores state_dict() output; ValueError naming the key when one is missing or the number of
  /// groups differs. Does not change the optimizer's lrs (restore the optimizer's state for that).
  virtual void load_state_dict(const SchedulerState& state);

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  /// The lr of every group at epoch last_epoch() (already advanced).
  virtual std::vector<double> compute_lr() = 0;
  /// The constructor's step to epoch 0; derived constructors call it last.
  void initial_step() { step(); }
  /// The current lr of group g.
  double group_lr(std::size_t g) const;

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lrs_;
  std::int64_t last_epoch_ = -1;
};

/// Multiplies the lr by gamma every step_size epochs: lr_e = base_lr · gamma^⌊e / step_size⌋.
/// Defaults: gamma 0.1. ValueError for step_size < 1 or gamma <= 0.
class StepLR final : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  const char* name() const noexcept override { return "StepLR"; }

 protected:
  std::vector<double> compute_lr() override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// Multiplies the lr by gamma at each milestone epoch: lr_e = base_lr · gamma^(number of milestones
/// <= e). A milestone listed twice counts twice. Defaults: gamma 0.1. ValueError for a milestone < 1
/// or gamma <= 0.
class MultiStepLR final : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);
  const char* name() const noexcept override { return "MultiStepLR"; }

 protected:
  std::vector<double> compute_lr() override;

 private:
  std::vector<std::int64_t> milestones_;  // sorted
  double gamma_;
};

/// Multiplies the lr by gamma every epoch: lr_e = base_lr · gamma^e. ValueError for gamma <= 0.
class ExponentialLR final : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);
  const char* name() const noexcept override { return "ExponentialLR"; }

 protected:
  std::vector<double> compute_lr() override;

 private:
  double gamma_;
};

/// Cosine annealing (SGDR without restarts), PyTorch's recursive form whose closed form is
///   lr_e = eta_min + (base_lr - eta_min) · (1 + cos(π e / T_max)) / 2,
/// continuing as a cosine (back up to base_lr at e = 2 T_max, ...) after T_max. Defaults: eta_min 0.
/// ValueError for T_max < 1 or eta_min < 0.
class CosineAnnealingLR final : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0);
  const char* name() const noexcept override { return "CosineAnnealingLR"; }

 protected:
  std::vector<double> compute_lr() override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

/// The lectures' "decaying learning rate" (Keras's time-based decay): lr_t = base_lr / (1 + decay · t)
/// with t = last_epoch() (the number of step() calls: epochs or iterations, as you call it).
/// ValueError for decay < 0.
class TimeBasedDecay final : public LRScheduler {
 public:
  TimeBasedDecay(Optimizer& optimizer, double decay);
  const char* name() const noexcept override { return "TimeBasedDecay"; }

 protected:
  std::vector<double> compute_lr() override;

 private:
  double decay_;
};

/// lr_e = base_lr · λ(e) for a user function λ (one for all groups, or one per group). λ(e) must be
/// >= 0 (the optimizer's options reject a negative lr). ValueError for an empty function or a list
/// whose size differs from the number of groups.
class LambdaLR final : public LRScheduler {
 public:
  using Lambda = std::function<double(int)>;
  LambdaLR(Optimizer& optimizer, Lambda lr_lambda);
  LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas);
  const char* name() const noexcept override { return "LambdaLR"; }

 protected:
  std::vector<double> compute_lr() override;

 private:
  std::vector<Lambda> lambdas_;
};

/// Whether ReduceLROnPlateau's metric should go down (a loss) or up (an accuracy).
enum class PlateauMode { min, max };
/// How ReduceLROnPlateau's threshold is applied: relative (best · (1 ∓ threshold)) or absolute
/// (best ∓ threshold).
enum class ThresholdMode { rel, abs };

/// Options of ReduceLROnPlateau (chained setters; checked by the scheduler's constructor). Defaults:
/// mode min, factor 0.1, patience 10, threshold 1e-4, threshold_mode rel, cooldown 0, min_lr 0,
/// eps 1e-8.
class ReduceLROnPlateauOptions {
 public:
  /// min: improvement means a lower metric; max: a higher one.
  ReduceLROnPlateauOptions& mode(PlateauMode v) { mode_ = v; return *this; }
  PlateauMode mode() const noexcept { return mode_; }
  /// New lr = lr · factor (0 < factor < 1).
  ReduceLROnPlateauOptions& factor(double v) { factor_ = v; return *this; }
  double factor() const noexcept { return factor_; }
  /// Number of epochs without improvement tolerated before reducing (>= 0).
  ReduceLROnPlateauOptions& patience(std::int64_t v) { patience_ = v; return *this; }
  std::int64_t patience() const noexcept { return patience_; }
  /// Minimal improvement that counts (>= 0), see ThresholdMode.
  ReduceLROnPlateauOptions& threshold(double v) { threshold_ = v; return *this; }
  double threshold() const noexcept { return threshold_; }
  ReduceLROnPlateauOptions& threshold_mode(ThresholdMode v) { threshold_mode_ = v; return *this; }
  ThresholdMode threshold_mode() const noexcept { return threshold_mode_; }
  /// Epochs to wait after a reduction before counting bad epochs again (>= 0).
  ReduceLROnPlateauOptions& cooldown(std::int64_t v) { cooldown_ = v; return *this; }
  std::int64_t cooldown() const noexcept { return cooldown_; }
  /// Lower bound of the lr, for every group (>= 0).
  ReduceLROnPlateauOptions& min_lr(double v) { min_lrs_ = {v}; return *this; }
  /// Lower bound of the lr, one per group (each >= 0).
  ReduceLROnPlateauOptions& min_lrs(std::vector<double> v) { min_lrs_ = std::move(v); return *this; }
  const std::vector<double>& min_lrs() const noexcept { return min_lrs_; }
  /// A reduction smaller than eps is skipped (>= 0).
  ReduceLROnPlateauOptions& eps(double v) { eps_ = v; return *this; }
  double eps() const noexcept { return eps_; }

 private:
  PlateauMode mode_ = PlateauMode::min;
  double factor_ = 0.1;
  std::int64_t patience_ = 10;
  double threshold_ = 1e-4;
  ThresholdMode threshold_mode_ = ThresholdMode::rel;
  std::int64_t cooldown_ = 0;
  std::vector<double> min_lrs_ = {0.0};
  double eps_ = 1e-8;
};

/// Reduces the lr when a metric stops improving, as PyTorch 1.13's ReduceLROnPlateau. Each
/// step(metric):
///   epoch += 1; if metric is better than best (mode min, rel: metric < best·(1 - threshold);
///   abs: metric < best - threshold; mode max: metric > best·(1 + threshold) / best + threshold)
///   then best = metric, bad = 0, else bad += 1;
///   during a cooldown: cooldown_counter -= 1 and bad = 0;
///   if bad > patience: every group's lr ← max(lr · factor, min_lr) (skipped when the change is
///   <= eps), cooldown_counter = cooldown, bad = 0.
/// best starts at +∞ (min) or -∞ (max). A NaN metric never improves.
class ReduceLROnPlateau {
 public:
  /// ValueError for factor outside (0, 1), patience < 0, threshold < 0, cooldown < 0, eps < 0, a
  /// negative min_lr, or a min_lrs list whose size is neither 1 nor the number of groups.
  explicit ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});

  /// Records this epoch's metric and reduces the lrs when needed.
  void step(double metric);
  /// The lr of every group after the last step (the current lrs right after construction).
  const std::vector<double>& get_last_lr() const noexcept { return last_lrs_; }
  std::int64_t last_epoch() const noexcept { return last_epoch_; }
  double best() const noexcept { return best_; }
  std::int64_t num_bad_epochs() const noexcept { return num_bad_epochs_; }
  std::int64_t cooldown_counter() const noexcept { return cooldown_counter_; }
  bool in_cooldown() const noexcept { return cooldown_counter_ > 0; }
  const ReduceLROnPlateauOptions& options() const noexcept { return options_; }

  /// Scalars "last_epoch", "best", "num_bad_epochs", "cooldown_counter", "num_param_groups",
  /// "last_lrs.<g>" (the options are construction arguments and are not saved).
  SchedulerState state_dict() const;
  /// Restores state_dict() output; ValueError naming the key when one is missing or invalid.
  void load_state_dict(const SchedulerState& state);

 private:
  bool is_better(double a) const;
  Optimizer& optimizer_;
  ReduceLROnPlateauOptions options_;
  std::vector<double> min_lrs_;
  std::vector<double> last_lrs_;
  double best_;
  std::int64_t num_bad_epochs_ = 0;
  std::int64_t cooldown_counter_ = 0;
  std::int64_t last_epoch_ = 0;
};

}  // namespace xgrad::optim
