#include "scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "detail/util.hpp"

namespace xgrad::optim {

namespace {

void check_gamma(const char* who, double gamma) { detail::check_positive(who, "gamma", gamma); }

std::int64_t require_int(const StateDict& in, const std::string& key, const char* who) {
  const double v = detail::require_scalar(in, key, who);
  if (!(v >= -1.0) || v != std::floor(v) || v > 9.0e15)
    throw ValueError(fmt::format("{}: load_state_dict: key '{}' must be an integer >= -1, got {}", who, key, v));
  return static_cast<std::int64_t>(v);
}

std::vector<double> read_lrs(const StateDict& in, const std::string& prefix, std::size_t n, const char* who) {
  std::vector<double> out(n);
  for (std::size_t g = 0; g < n; ++g) out[g] = detail::require_scalar(in, fmt::format("{}.{}", prefix, g), who);
  return out;
}

void check_group_count(const StateDict& in, std::size_t n, const char* who) {
  const double saved = detail::require_scalar(in, "num_param_groups", who);
  if (saved != static_cast<double>(n))
    throw ValueError(fmt::format("{}: load_state_dict: key 'num_param_groups': the state has {} parameter groups, the "
                                 "scheduler has {}",
                                 who, saved, n));
}

}  // namespace

// ---- LRScheduler ---------------------------------------------------------------------------

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (std::size_t g = 0; g < optimizer_.num_param_groups(); ++g) base_lrs_.push_back(group_lr(g));
}

double LRScheduler::group_lr(std::size_t g) const { return optimizer_.param_group(g).options().get_lr(); }

void LRScheduler::step() {
  if (optimizer_.num_param_groups() != base_lrs_.size())
    throw ValueError(fmt::format("{}: the optimizer has {} parameter groups, but the scheduler was created for {}; create "
                                 "the scheduler after adding every group",
                                 name(), optimizer_.num_param_groups(), base_lrs_.size()));
  ++last_epoch_;
  std::vector<double> lrs = compute_lr();
  for (std::size_t g = 0; g < lrs.size(); ++g) {
    try {
      optimizer_.param_group(g).options().set_lr(lrs[g]);
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("{}: epoch {}, parameter group {}: {}", name(), last_epoch_, g, e.what()));
    }
  }
  last_lrs_ = std::move(lrs);
}

SchedulerState LRScheduler::state_dict() const {
  SchedulerState out;
  out.scalars["last_epoch"] = static_cast<double>(last_epoch_);
  out.scalars["num_param_groups"] = static_cast<double>(base_lrs_.size());
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    out.scalars[fmt::format("base_lrs.{}", g)] = base_lrs_[g];
    out.scalars[fmt::format("last_lrs.{}", g)] = g < last_lrs_.size() ? last_lrs_[g] : base_lrs_[g];
  }
  return out;
}

void LRScheduler::load_state_dict(const SchedulerState& in) {
  check_group_count(in, base_lrs_.size(), name());
  const std::int64_t epoch = require_int(in, "last_epoch", name());
  std::vector<double> base = read_lrs(in, "base_lrs", base_lrs_.size(), name());
  std::vector<double> last = read_lrs(in, "last_lrs", base_lrs_.size(), name());
  last_epoch_ = epoch;
  base_lrs_ = std::move(base);
  last_lrs_ = std::move(last);
}

// ---- StepLR --------------------------------------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) throw ValueError(fmt::format("StepLR: invalid step_size {} (must be >= 1)", step_size));
  check_gamma("StepLR", gamma);
  initial_step();
}

std::vector<double> StepLR::compute_lr() {
  std::vector<double> lrs;
  const bool decay = last_epoch_ != 0 && last_epoch_ % step_size_ == 0;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) lrs.push_back(decay ? group_lr(g) * gamma_ : group_lr(g));
  return lrs;
}

// ---- MultiStepLR ---------------------------------------------------------------------------

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  for (std::int64_t m : milestones_)
    if (m < 1) throw ValueError(fmt::format("MultiStepLR: invalid milestone {} (milestones must be >= 1)", m));
  check_gamma("MultiStepLR", gamma);
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::compute_lr() {
  const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  std::vector<double> lrs;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g)
    lrs.push_back(hits == 0 ? group_lr(g) : group_lr(g) * std::pow(gamma_, static_cast<double>(hits)));
  return lrs;
}

// ---- ExponentialLR -------------------------------------------------------------------------

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  check_gamma("ExponentialLR", gamma);
  initial_step();
}

std::vector<double> ExponentialLR::compute_lr() {
  std::vector<double> lrs;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) lrs.push_back(last_epoch_ == 0 ? group_lr(g) : group_lr(g) * gamma_);
  return lrs;
}

// ---- CosineAnnealingLR ---------------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LRScheduler(optimizer), t_max_(T_max), eta_min_(eta_min) {
  if (T_max < 1) throw ValueError(fmt::format("CosineAnnealingLR: invalid T_max {} (must be >= 1)", T_max));
  detail::check_nonneg("CosineAnnealingLR", "eta_min", eta_min);
  initial_step();
}

std::vector<double> CosineAnnealingLR::compute_lr() {
  constexpr double pi = std::numbers::pi;
  const auto e = static_cast<double>(last_epoch_);
  const auto T = static_cast<double>(t_max_);
  std::vector<double> lrs;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    const double lr = group_lr(g);
    if (last_epoch_ == 0) {
      lrs.push_back(lr);
    } else if ((last_epoch_ - 1 - t_max_) % (2 * t_max_) == 0) {
      // The step after a minimum, where the ratio below would divide by 1 + cos(π) = 0.
      lrs.push_back(lr + (base_lrs_[g] - eta_min_) * (1.0 - std::cos(pi / T)) / 2.0);
    } else {
      lrs.push_back((1.0 + std::cos(pi * e / T)) / (1.0 + std::cos(pi * (e - 1.0) / T)) * (lr - eta_min_) + eta_min_);
    }
  }
  return lrs;
}

// ---- TimeBasedDecay ------------------------------------------------------------------------

TimeBasedDecay::TimeBasedDecay(Optimizer& optimizer, double decay) : LRScheduler(optimizer), decay_(decay) {
  detail::check_nonneg("TimeBasedDecay", "decay", decay);
  initial_step();
}

std::vector<double> TimeBasedDecay::compute_lr() {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base / (1.0 + decay_ * static_cast<double>(last_epoch_)));
  return lrs;
}

// ---- LambdaLR ------------------------------------------------------------------------------

LambdaLR::LambdaLR(Optimizer& optimizer, Lambda lr_lambda)
    : LambdaLR(optimizer, std::vector<Lambda>(optimizer.num_param_groups(), lr_lambda)) {}

LambdaLR::LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas)
    : LRScheduler(optimizer), lambdas_(std::move(lr_lambdas)) {
  if (lambdas_.size() != base_lrs_.size())
    throw ValueError(fmt::format("LambdaLR: got {} lr_lambdas for {} parameter groups", lambdas_.size(), base_lrs_.size()));
  for (std::size_t g = 0; g < lambdas_.size(); ++g)
    if (!lambdas_[g]) throw ValueError(fmt::format("LambdaLR: lr_lambda {} is an empty function", g));
  initial_step();
}

std::vector<double> LambdaLR::compute_lr() {
  std::vector<double> lrs;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) lrs.push_back(base_lrs_[g] * lambdas_[g](static_cast<int>(last_epoch_)));
  return lrs;
}

// ---- ReduceLROnPlateau ---------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(optimizer), options_(std::move(options)) {
  constexpr const char* who = "ReduceLROnPlateau";
  detail::check_option(options_.factor() > 0.0 && options_.factor() < 1.0, who, "factor", options_.factor(), "in (0, 1)");
  if (options_.patience() < 0) throw ValueError(fmt::format("{}: invalid patience {} (must be >= 0)", who, options_.patience()));
  if (options_.cooldown() < 0) throw ValueError(fmt::format("{}: invalid cooldown {} (must be >= 0)", who, options_.cooldown()));
  detail::check_nonneg(who, "threshold", options_.threshold());
  detail::check_nonneg(who, "eps", options_.eps());
  if (options_.mode() != PlateauMode::min && options_.mode() != PlateauMode::max)
    throw ValueError(fmt::format("{}: invalid mode {}", who, static_cast<int>(options_.mode())));
  if (options_.threshold_mode() != ThresholdMode::rel && options_.threshold_mode() != ThresholdMode::abs)
    throw ValueError(fmt::format("{}: invalid threshold_mode {}", who, static_cast<int>(options_.threshold_mode())));
  const std::size_t n = optimizer_.num_param_groups();
  const auto& min_lrs = options_.min_lrs();
  if (min_lrs.size() != 1 && min_lrs.size() != n)
    throw ValueError(fmt::format("{}: expected 1 or {} min_lrs (one per parameter group), got {}", who, n, min_lrs.size()));
  for (double m : min_lrs) detail::check_nonneg(who, "min_lr", m);
  min_lrs_ = min_lrs.size() == n ? min_lrs : std::vector<double>(n, min_lrs.front());
  best_ = options_.mode() == PlateauMode::min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  for (std::size_t g = 0; g < n; ++g) last_lrs_.push_back(optimizer_.param_group(g).options().get_lr());
}

bool ReduceLROnPlateau::is_better(double a) const {
  const double th = options_.threshold();
  const bool rel = options_.threshold_mode() == ThresholdMode::rel;
  if (options_.mode() == PlateauMode::min) return rel ? a < best_ * (1.0 - th) : a < best_ - th;
  return rel ? a > best_ * (th + 1.0) : a > best_ + th;
}

void ReduceLROnPlateau::step(double metric) {
  const std::size_t n = optimizer_.num_param_groups();
  if (n != min_lrs_.size())
    throw ValueError(fmt::format("ReduceLROnPlateau: the optimizer has {} parameter groups, but the scheduler was created "
                                 "for {}; create the scheduler after adding every group",
                                 n, min_lrs_.size()));
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (in_cooldown()) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs during a cooldown do not count
  }
  if (num_bad_epochs_ > options_.patience()) {
    for (std::size_t g = 0; g < n; ++g) {
      OptimizerOptions& o = optimizer_.param_group(g).options();
      const double old_lr = o.get_lr();
      const double new_lr = std::max(old_lr * options_.factor(), min_lrs_[g]);
      if (old_lr - new_lr > options_.eps()) o.set_lr(new_lr);
    }
    cooldown_counter_ = options_.cooldown();
    num_bad_epochs_ = 0;
  }
  last_lrs_.clear();
  for (std::size_t g = 0; g < n; ++g) last_lrs_.push_back(optimizer_.param_group(g).options().get_lr());
}

SchedulerState ReduceLROnPlateau::state_dict() const {
  SchedulerState out;
  out.scalars["last_epoch"] = static_cast<double>(last_epoch_);
  out.scalars["best"] = best_;
  out.scalars["num_bad_epochs"] = static_cast<double>(num_bad_epochs_);
  out.scalars["cooldown_counter"] = static_cast<double>(cooldown_counter_);
  out.scalars["num_param_groups"] = static_cast<double>(last_lrs_.size());
  for (std::size_t g = 0; g < last_lrs_.size(); ++g) out.scalars[fmt::format("last_lrs.{}", g)] = last_lrs_[g];
  return out;
}

void ReduceLROnPlateau::load_state_dict(const SchedulerState& in) {
  constexpr const char* who = "ReduceLROnPlateau";
  check_group_count(in, min_lrs_.size(), who);
  const std::int64_t epoch = require_int(in, "last_epoch", who);
  const double best = detail::require_scalar(in, "best", who);
  const std::int64_t bad = require_int(in, "num_bad_epochs", who);
  const std::int64_t cooldown = require_int(in, "cooldown_counter", who);
  std::vector<double> last = read_lrs(in, "last_lrs", min_lrs_.size(), who);
  last_epoch_ = epoch;
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
  last_lrs_ = std::move(last);
}

}  // namespace xgrad::optim
