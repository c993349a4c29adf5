#include "optimizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_set>

#include "../autograd/grad_mode.hpp"

namespace xgrad::optim {

// ---- ParamGroup ----------------------------------------------------------------------------

ParamGroup::ParamGroup(TensorList params) : params_(std::move(params)) {}

ParamGroup::ParamGroup(TensorList params, std::unique_ptr<OptimizerOptions> options)
    : params_(std::move(params)), options_(std::move(options)) {}

ParamGroup::ParamGroup(const ParamGroup& other)
    : params_(other.params_), options_(other.options_ ? other.options_->clone() : nullptr) {}

ParamGroup& ParamGroup::operator=(const ParamGroup& other) {
  if (this != &other) {
    params_ = other.params_;
    options_ = other.options_ ? other.options_->clone() : nullptr;
  }
  return *this;
}

OptimizerOptions& ParamGroup::options() {
  if (!options_) throw ValueError("ParamGroup::options: this group has no options (it takes the optimizer's defaults when added)");
  return *options_;
}

const OptimizerOptions& ParamGroup::options() const {
  if (!options_) throw ValueError("ParamGroup::options: this group has no options (it takes the optimizer's defaults when added)");
  return *options_;
}

// ---- helpers -------------------------------------------------------------------------------

namespace detail {

double require_scalar(const StateDict& in, const std::string& key, const char* who) {
  const auto it = in.scalars.find(key);
  if (it == in.scalars.end()) throw ValueError(fmt::format("{}: load_state_dict: missing key '{}'", who, key));
  return it->second;
}

bool require_bool(const StateDict& in, const std::string& key, const char* who) {
  const double v = require_scalar(in, key, who);
  if (v != 0.0 && v != 1.0)
    throw ValueError(fmt::format("{}: load_state_dict: key '{}' must be 0 or 1, got {}", who, key, v));
  return v != 0.0;
}

}  // namespace detail

namespace {

// Parses "state.<index>.<field>"; false when `key` does not have that form.
bool parse_state_key(const std::string& key, std::size_t& index, std::string& field) {
  static const std::string prefix = "state.";
  if (key.rfind(prefix, 0) != 0) return false;
  const char* begin = key.data() + prefix.size();
  const char* end = key.data() + key.size();
  const auto [ptr, ec] = std::from_chars(begin, end, index);
  if (ec != std::errc() || ptr == begin || ptr == end || *ptr != '.' || ptr + 1 == end) return false;
  field.assign(ptr + 1, end);
  return true;
}

// Rethrows a ValueError from options validation with the optimizer and group named first.
template <class F>
void with_group_context(const char* who, std::size_t g, F&& f) {
  try {
    f();
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("{}: parameter group {}: {}", who, g, e.what()));
  }
}

}  // namespace

// ---- Optimizer -----------------------------------------------------------------------------

Optimizer::Optimizer(std::unique_ptr<OptimizerOptions> defaults) : defaults_(std::move(defaults)) {}

void Optimizer::init_groups(std::vector<ParamGroup> groups) {
  check_options(*defaults_);
  std::size_t total = 0;
  for (const auto& g : groups) total += g.params().size();
  if (total == 0) throw ValueError(fmt::format("{}: the optimizer got an empty parameter list", name()));
  for (auto& g : groups) add_param_group(std::move(g));
}

void Optimizer::add_param_group(ParamGroup group) {
  const std::size_t g = groups_.size();
  if (!group.has_options()) group.set_options(defaults_->clone());
  with_group_context(name(), g, [&] { check_options(group.options()); });

  std::unordered_set<const TensorImpl*> seen;
  for (const auto& other : groups_)
    for (const auto& p : other.params()) seen.insert(p.impl().get());
  const TensorList& params = group.params();
  for (std::size_t k = 0; k < params.size(); ++k) {
    const Tensor& p = params[k];
    if (!p.defined())
      throw ValueError(fmt::format("{}: add_param_group: parameter {} of group {} is undefined", name(), k, g));
    if (!is_floating(p.dtype()))
      throw ValueError(fmt::format("{}: add_param_group: parameter {} of group {} has dtype {}; only float32 and float64 "
                                   "tensors can be optimized",
                                   name(), k, g, dtype_name(p.dtype())));
    if (!p.is_leaf())
      throw ValueError(fmt::format("{}: add_param_group: parameter {} of group {} (shape {}) is not a leaf tensor (it was "
                                   "produced by {}); optimize the leaf, or detach() it and call requires_grad_()",
                                   name(), k, g, shape_str(p.shape()), p.grad_fn_name()));
    if (!seen.insert(p.impl().get()).second)
      throw ValueError(fmt::format("{}: add_param_group: parameter {} of group {} (shape {}) appears in more than one "
                                   "parameter group, or twice in the same group",
                                   name(), k, g, shape_str(p.shape())));
  }
  state_.emplace_back(params.size());
  groups_.push_back(std::move(group));
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard guard;
  for (auto& group : groups_)
    for (Tensor p : group.params()) p.zero_grad(set_to_none);
}

Tensor Optimizer::step(const LossClosure& closure) {
  Tensor loss;
  if (closure) {
    EnableGradGuard enable;
    loss = closure();
  }
  NoGradGuard guard;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const OptimizerOptions& options = groups_[g].options();
    with_group_context(name(), g, [&] { check_options(options); });
    const TensorList& params = groups_[g].params();
    for (std::size_t j = 0; j < params.size(); ++j) {
      Tensor p = params[j];
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      update(options, p, grad, state_[g][j]);
    }
  }
  return loss;
}

ParamGroup& Optimizer::param_group(std::size_t g) {
  if (g >= groups_.size())
    throw IndexError(fmt::format("{}: param_group: index {} is out of range ({} groups)", name(), g, groups_.size()));
  return groups_[g];
}

const ParamGroup& Optimizer::param_group(std::size_t g) const {
  if (g >= groups_.size())
    throw IndexError(fmt::format("{}: param_group: index {} is out of range ({} groups)", name(), g, groups_.size()));
  return groups_[g];
}

TensorList Optimizer::parameters() const {
  TensorList out;
  for (const auto& group : groups_) out.insert(out.end(), group.params().begin(), group.params().end());
  return out;
}

const ParamState* Optimizer::find_state(const Tensor& param, const char* what) const {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const TensorList& params = groups_[g].params();
    for (std::size_t j = 0; j < params.size(); ++j)
      if (params[j].is_same(param)) return &state_[g][j];
  }
  throw ValueError(fmt::format("{}: {}: the tensor is not a parameter of this optimizer", name(), what));
}

const ParamState& Optimizer::state(const Tensor& param) const { return *find_state(param, "state"); }

Tensor Optimizer::state_buffer(const Tensor& param, const std::string& buffer) const {
  const auto names = state_names();
  const auto it = std::find(names.begin(), names.end(), buffer);
  if (it == names.end())
    throw ValueError(fmt::format("{}: state_buffer: unknown buffer '{}' (known: {})", name(), buffer, fmt::join(names, ", ")));
  const ParamState& st = *find_state(param, "state_buffer");
  const auto k = static_cast<std::size_t>(it - names.begin());
  return k < st.buffers.size() ? st.buffers[k] : Tensor();
}

OptimizerState Optimizer::state_dict() const {
  NoGradGuard guard;
  OptimizerState out;
  const auto names = state_names();
  out.scalars["num_param_groups"] = static_cast<double>(groups_.size());
  std::size_t i = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = fmt::format("param_groups.{}.", g);
    out.scalars[prefix + "num_params"] = static_cast<double>(groups_[g].params().size());
    groups_[g].options().save(out, prefix);
    for (const ParamState& st : state_[g]) {
      bool any = st.step > 0;
      for (std::size_t k = 0; k < st.buffers.size() && k < names.size(); ++k) {
        if (!st.buffers[k].defined()) continue;
        out.tensors[fmt::format("state.{}.{}", i, names[k])] = st.buffers[k].detach().clone();
        any = true;
      }
      if (any) out.scalars[fmt::format("state.{}.step", i)] = static_cast<double>(st.step);
      ++i;
    }
  }
  return out;
}

void Optimizer::load_state_dict(const OptimizerState& in) {
  const char* who = name();
  const auto names = state_names();

  const double n_groups = detail::require_scalar(in, "num_param_groups", who);
  if (n_groups != static_cast<double>(groups_.size()))
    throw ValueError(fmt::format("{}: load_state_dict: key 'num_param_groups': the state has {} parameter groups, this "
                                 "optimizer has {}",
                                 who, n_groups, groups_.size()));

  // Options of every group, and the flat parameter index -> (group, position) map.
  std::vector<std::unique_ptr<OptimizerOptions>> new_options;
  std::vector<std::pair<std::size_t, std::size_t>> where;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = fmt::format("param_groups.{}.", g);
    const std::size_t n = groups_[g].params().size();
    const double n_saved = detail::require_scalar(in, prefix + "num_params", who);
    if (n_saved != static_cast<double>(n))
      throw ValueError(fmt::format("{}: load_state_dict: key '{}num_params': the state has {} parameters in group {}, "
                                   "this optimizer has {}",
                                   who, prefix, n_saved, g, n));
    auto options = groups_[g].options().clone();
    options->load(in, prefix);
    try {
      check_options(*options);
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("{}: load_state_dict: keys '{}*': {}", who, prefix, e.what()));
    }
    new_options.push_back(std::move(options));
    for (std::size_t j = 0; j < n; ++j) where.emplace_back(g, j);
  }

  std::vector<std::vector<ParamState>> new_state;
  for (const auto& group : groups_) new_state.emplace_back(group.params().size());

  std::size_t index = 0;
  std::string field;
  for (const auto& [key, value] : in.scalars) {
    if (key == "num_param_groups" || key.rfind("param_groups.", 0) == 0) continue;
    if (!parse_state_key(key, index, field) || field != "step")
      throw ValueError(fmt::format("{}: load_state_dict: unknown scalar key '{}'", who, key));
    if (index >= where.size())
      throw ValueError(fmt::format("{}: load_state_dict: key '{}' refers to parameter {}, but the optimizer has {} parameters",
                                   who, key, index, where.size()));
    if (!(value >= 0.0) || value != std::floor(value) || value > 9.0e15)
      throw ValueError(fmt::format("{}: load_state_dict: key '{}' must be a non-negative integer, got {}", who, key, value));
    new_state[where[index].first][where[index].second].step = static_cast<std::int64_t>(value);
  }

  NoGradGuard guard;
  for (const auto& [key, t] : in.tensors) {
    if (!parse_state_key(key, index, field))
      throw ValueError(fmt::format("{}: load_state_dict: unknown tensor key '{}'", who, key));
    const auto it = std::find(names.begin(), names.end(), field);
    if (it == names.end())
      throw ValueError(fmt::format("{}: load_state_dict: key '{}' names an unknown state buffer '{}' ({} keeps: {})", who, key,
                                   field, who, fmt::join(names, ", ")));
    if (index >= where.size())
      throw ValueError(fmt::format("{}: load_state_dict: key '{}' refers to parameter {}, but the optimizer has {} parameters",
                                   who, key, index, where.size()));
    const auto [g, j] = where[index];
    const Tensor& p = groups_[g].params()[j];
    if (!t.defined()) throw ValueError(fmt::format("{}: load_state_dict: key '{}' holds an undefined tensor", who, key));
    if (!is_floating(t.dtype()))
      throw ValueError(fmt::format("{}: load_state_dict: key '{}' has dtype {}, expected a floating-point tensor", who, key,
                                   dtype_name(t.dtype())));
    if (t.shape() != p.shape())
      throw ValueError(fmt::format("{}: load_state_dict: key '{}' has shape {}, but parameter {} has shape {}", who, key,
                                   shape_str(t.shape()), index, shape_str(p.shape())));
    ParamState& st = new_state[g][j];
    st.buffers.resize(names.size());
    // A private copy in the parameter's dtype (never aliasing the caller's tensors).
    st.buffers[static_cast<std::size_t>(it - names.begin())] =
        t.dtype() == p.dtype() ? t.detach().clone() : t.detach().to(p.dtype()).contiguous();
  }

  // Every update counts a step, so buffers without a step count never come from state_dict(): loading
  // them would restart the step count (Adam's bias correction) under moments that are not fresh.
  for (std::size_t i = 0; i < where.size(); ++i) {
    const ParamState& st = new_state[where[i].first][where[i].second];
    if (st.step > 0) continue;
    std::vector<std::string> present;
    for (std::size_t k = 0; k < st.buffers.size(); ++k)
      if (st.buffers[k].defined()) present.push_back(fmt::format("'state.{}.{}'", i, names[k]));
    if (!present.empty())
      throw ValueError(fmt::format("{}: load_state_dict: missing key 'state.{}.step': parameter {} has state ({}) but no step count",
                                   who, i, i, fmt::join(present, ", ")));
  }

  for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].set_options(std::move(new_options[g]));
  state_ = std::move(new_state);
}

}  // namespace xgrad::optim
