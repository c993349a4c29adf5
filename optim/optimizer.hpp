#pragma once
// Optimizer base: parameter groups, per-parameter state, zero_grad, step, and a serializable
// state_dict. The concrete optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) live in their own headers.
//
// Parameter updates are in-place (add_, mul_, addcmul_, addcdiv_) under NoGradGuard: they bump the
// parameters' version counters, so a graph that saved a parameter before step() refuses to backward
// afterwards instead of producing wrong gradients.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../autograd/tensor.hpp"

namespace xgrad::optim {

/// A flat, serializable snapshot of an optimizer's or scheduler's state: named tensors and named
/// numbers. Checkpoint code can write both maps as they are.
///
/// Optimizer keys (i = index of the parameter counted over all groups in order, g = group index):
///   scalars "num_param_groups", "param_groups.<g>.num_params", "param_groups.<g>.<option>" (lr,
///           momentum, beta1, ..., booleans as 0/1), "state.<i>.step";
///   tensors "state.<i>.<buffer>" (momentum_buffer, exp_avg, exp_avg_sq, ...).
/// Scheduler keys: see scheduler.hpp.
struct StateDict {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, double> scalars;
};
/// The state of an optimizer (see StateDict for the keys).
using OptimizerState = StateDict;

/// Base of the options structs (SGDOptions, AdamOptions, ...): the hyper-parameters of one parameter
/// group. Concrete options have chained setters, `SGDOptions(0.1).momentum(0.9)`, that throw
/// ValueError on an out-of-range value; combinations of options are checked by validate().
class OptimizerOptions {
 public:
  virtual ~OptimizerOptions() = default;
  /// A deep copy.
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
  /// The class name ("SGDOptions", ...), used in error messages.
  virtual const char* name() const noexcept = 0;
  /// The learning rate (what schedulers read and write).
  virtual double get_lr() const = 0;
  /// Sets the learning rate (ValueError when negative).
  virtual void set_lr(double lr) = 0;
  /// Checks every option and every combination of options; throws ValueError naming the option and
  /// its value. Called when a group is added, by step() and by load_state_dict().
  virtual void validate() const = 0;
  /// Writes every option as scalars[prefix + option_name].
  virtual void save(StateDict& out, const std::string& prefix) const = 0;
  /// Reads every option back from scalars[prefix + option_name]; ValueError naming the key when one
  /// is missing or has an impossible value.
  virtual void load(const StateDict& in, const std::string& prefix) = 0;

 protected:
  OptimizerOptions() = default;
  OptimizerOptions(const OptimizerOptions&) = default;
  OptimizerOptions& operator=(const OptimizerOptions&) = default;
};

/// One parameter group: parameters plus the options used for them. A group built without options
/// takes a copy of the optimizer's defaults when it is added.
class ParamGroup {
 public:
  /// A group that will use the optimizer's default options.
  explicit ParamGroup(TensorList params);
  /// A group with its own options (any options struct; the optimizer checks it has the right type).
  template <class Options>
  ParamGroup(TensorList params, const Options& options) : params_(std::move(params)), options_(options.clone()) {}
  ParamGroup(TensorList params, std::unique_ptr<OptimizerOptions> options);

  ParamGroup(const ParamGroup& other);
  ParamGroup& operator=(const ParamGroup& other);
  ParamGroup(ParamGroup&&) noexcept = default;
  ParamGroup& operator=(ParamGroup&&) noexcept = default;
  ~ParamGroup() = default;

  /// The parameters (fixed once the group belongs to an optimizer).
  const TensorList& params() const noexcept { return params_; }
  /// True when the group carries options.
  bool has_options() const noexcept { return options_ != nullptr; }
  /// The group's options (ValueError when the group has none yet).
  OptimizerOptions& options();
  const OptimizerOptions& options() const;
  /// Replaces the group's options.
  void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }

 private:
  TensorList params_;
  std::unique_ptr<OptimizerOptions> options_;
};

/// The state an optimizer keeps for one parameter: the number of updates it received and named
/// buffers (same shape and dtype as the parameter; undefined until first used). Buffer i is named
/// Optimizer::state_names()[i].
struct ParamState {
  std::int64_t step = 0;
  TensorList buffers;
};

/// A closure that re-evaluates the model and returns the loss (it must call backward itself).
using LossClosure = std::function<Tensor()>;

/// Base of every optimizer.
///
/// Parameters must be floating-point leaf tensors and may appear in only one group. State is kept
/// per parameter, aligned with the parameters' positions in the groups (the optimizer holds the
/// parameter tensors, so their identity is stable).
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Adds a group (its options default to a copy of the optimizer's defaults). ValueError for a
  /// parameter that is undefined, not a floating-point leaf, or already in a group, and for options
  /// of the wrong type or with invalid values.
  void add_param_group(ParamGroup group);

  /// Clears the gradient of every parameter: resets it to undefined (set_to_none, the default, which
  /// frees memory and lets step() skip the parameter) or fills it with zeros.
  void zero_grad(bool set_to_none = true);

  /// One update of every parameter that has a gradient, under NoGradGuard (parameters without a
  /// gradient are skipped and their state is untouched). With a closure, first evaluates it with
  /// gradients enabled and returns its loss (an undefined Tensor otherwise).
  virtual Tensor step(const LossClosure& closure = nullptr);

  /// The optimizer's name ("SGD", "Adam", ...).
  virtual const char* name() const noexcept = 0;
  /// The names of the per-parameter state buffers, in ParamState::buffers order.
  virtual std::vector<std::string> state_names() const = 0;

  std::size_t num_param_groups() const noexcept { return groups_.size(); }
  const std::vector<ParamGroup>& param_groups() const noexcept { return groups_; }
  /// Group g (mutable: schedulers and users change its options; its parameter list is fixed).
  ParamGroup& param_group(std::size_t g);
  const ParamGroup& param_group(std::size_t g) const;
  /// The default options new groups copy.
  const OptimizerOptions& defaults() const noexcept { return *defaults_; }
  OptimizerOptions& defaults() noexcept { return *defaults_; }
  /// Every parameter, group by group.
  TensorList parameters() const;

  /// The state of `param` (ValueError when it is not one of this optimizer's parameters).
  const ParamState& state(const Tensor& param) const;
  /// The state buffer `buffer` (one of state_names()) of `param`; undefined until the optimizer
  /// created it.
  Tensor state_buffer(const Tensor& param, const std::string& buffer) const;

  /// A snapshot of the options of every group and the state of every parameter (state tensors are
  /// copies: later steps do not change the snapshot). Keys: see StateDict.
  OptimizerState state_dict() const;
  /// Restores a snapshot taken from an optimizer of the same type with the same group structure
  /// (the parameters themselves are not part of it). Checks, before changing anything: the number of
  /// groups and of parameters per group, every option (present and valid), every state key (known
  /// buffer name, parameter index in range) and every state tensor's shape; throws ValueError naming
  /// the offending key. Tensors are copied and converted to the parameter's dtype.
  void load_state_dict(const OptimizerState& state);

 protected:
  /// `defaults` must be the optimizer's own options type.
  explicit Optimizer(std::unique_ptr<OptimizerOptions> defaults);
  /// Adds the groups of a constructor; ValueError "empty parameter list" when there is no parameter.
  void init_groups(std::vector<ParamGroup> groups);

  /// Throws ValueError unless `options` is the optimizer's options type; then validates them.
  virtual void check_options(const OptimizerOptions& options) const = 0;
  /// Updates one parameter from its gradient (called under NoGradGuard, grad defined, same shape).
  virtual void update(const OptimizerOptions& options, Tensor& param, const Tensor& grad, ParamState& state) = 0;

 private:
  std::unique_ptr<OptimizerOptions> defaults_;
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<ParamState>> state_;  // state_[g][j] belongs to groups_[g].params()[j]
  const ParamState* find_state(const Tensor& param, const char* what) const;
};

namespace detail {
/// Reads scalars[key]; ValueError naming `key` and `who` when missing.
double require_scalar(const StateDict& in, const std::string& key, const char* who);
/// Reads a 0/1 scalar; ValueError when missing or neither 0 nor 1.
bool require_bool(const StateDict& in, const std::string& key, const char* who);
}  // namespace detail

}  // namespace xgrad::optim
