#include "fit.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <set>

#include "../autograd/grad_mode.hpp"
#include "../autograd/ops/shape_ops.hpp"
#include "../autograd/random.hpp"
#include "../data/dataloader.hpp"
#include "progress.hpp"

namespace xgrad::train {

// ---- losses ---------------------------------------------------------------------------------------

namespace losses {
Tensor mse(const Tensor& output, const Tensor& target) { return mse_loss(output, target); }
Tensor mae(const Tensor& output, const Tensor& target) { return l1_loss(output, target); }
Tensor bce(const Tensor& output, const Tensor& target) { return binary_cross_entropy(output, target); }
Tensor bce_with_logits(const Tensor& output, const Tensor& target) { return binary_cross_entropy_with_logits(output, target); }
Tensor cross_entropy(const Tensor& output, const Tensor& target) { return xgrad::cross_entropy(output, target); }
LossFn cross_entropy_with(CrossEntropyOptions options) {
  return [options = std::move(options)](const Tensor& output, const Tensor& target) {
    return xgrad::cross_entropy(output, target, options);
  };
}
}  // namespace losses

// ---- FitOptions -----------------------------------------------------------------------------------

FitOptions::FitOptions() : output_(&std::cout) {}

FitOptions& FitOptions::epochs(std::int64_t v) {
  if (v < 0) throw ValueError(fmt::format("FitOptions::epochs: must be >= 0, got {}", v));
  epochs_ = v;
  return *this;
}

FitOptions& FitOptions::initial_epoch(std::int64_t v) {
  if (v < 0) throw ValueError(fmt::format("FitOptions::initial_epoch: must be >= 0, got {}", v));
  initial_epoch_ = v;
  return *this;
}

FitOptions& FitOptions::batch_size(std::int64_t v) {
  if (v < 1) throw ValueError(fmt::format("FitOptions::batch_size: must be >= 1, got {}", v));
  batch_size_ = v;
  return *this;
}

FitOptions& FitOptions::validation_batch_size(std::int64_t v) {
  if (v < 1) throw ValueError(fmt::format("FitOptions::validation_batch_size: must be >= 1, got {}", v));
  validation_batch_size_ = v;
  return *this;
}

FitOptions& FitOptions::validation_split(double v) {
  if (!(v >= 0.0 && v < 1.0)) throw ValueError(fmt::format("FitOptions::validation_split: must be in [0, 1), got {}", v));
  validation_split_ = v;
  return *this;
}

FitOptions& FitOptions::validation_data(std::shared_ptr<const data::Dataset> v) {
  if (!v) throw ValueError("FitOptions::validation_data: the dataset is null");
  validation_data_ = std::move(v);
  return *this;
}

FitOptions& FitOptions::validation_data(const Tensor& inputs, const Tensor& targets) {
  return validation_data(data::TensorDataset(inputs, targets));
}

FitOptions& FitOptions::callback(CallbackPtr v) {
  if (!v) throw ValueError("FitOptions::callback: the callback is null");
  callbacks_.push_back(std::move(v));
  return *this;
}

FitOptions& FitOptions::verbose(int v) {
  if (v < 0 || v > 2) throw ValueError(fmt::format("FitOptions::verbose: must be 0, 1 or 2, got {}", v));
  verbose_ = v;
  return *this;
}

// ---- the loop -------------------------------------------------------------------------------------

namespace {

void check_metrics(const char* who, const std::vector<Metric>& metrics) {
  std::set<std::string> seen;
  for (const Metric& m : metrics) {
    if (m.name.empty()) throw ValueError(fmt::format("{}: a metric has an empty name", who));
    if (m.name == "loss" || m.name == "lr")
      throw ValueError(fmt::format("{}: a metric cannot be called '{}' (the name is reserved)", who, m.name));
    if (m.name.rfind("val_", 0) == 0)
      throw ValueError(fmt::format("{}: metric name '{}' starts with 'val_', which is reserved for validation values", who, m.name));
    if (!m.fn) throw ValueError(fmt::format("{}: metric '{}' has an empty function", who, m.name));
    if (!seen.insert(m.name).second) throw ValueError(fmt::format("{}: metric '{}' is given twice", who, m.name));
  }
}

// Shared ownership of a dataset that the caller keeps alive (fit's and evaluate's arguments).
std::shared_ptr<const data::Dataset> borrow(const data::Dataset& d) {
  return std::shared_ptr<const data::Dataset>(&d, [](const data::Dataset*) {});
}

double loss_value(const char* who, const Tensor& l) {
  if (!l.defined()) throw ValueError(fmt::format("{}: the loss function returned an undefined tensor", who));
  if (l.numel() != 1)
    throw ValueError(fmt::format("{}: the loss function must return a one-element tensor (a mean over the batch), got shape {}", who,
                                 shape_str(l.shape())));
  return l.item<double>();
}

void check_target(const char* who, const data::Batch& batch) {
  if (!batch.target.defined())
    throw ValueError(fmt::format("{}: the dataset has no targets (every sample needs a target for the loss)", who));
}

// Sample-weighted running means of the loss and the metrics.
struct Accumulator {
  double samples = 0.0;
  double loss = 0.0;
  std::vector<double> metrics;

  explicit Accumulator(std::size_t n_metrics) : metrics(n_metrics, 0.0) {}
  void add(double batch_loss, const std::vector<Metric>& ms, const Tensor& output, const Tensor& target, double n) {
    samples += n;
    loss += batch_loss * n;
    if (ms.empty()) return;
    NoGradGuard no_grad;
    const Tensor out = output.detach();
    for (std::size_t i = 0; i < ms.size(); ++i) metrics[i] += ms[i].fn(out, target) * n;
  }
  Logs logs(const std::vector<Metric>& ms, const std::string& prefix = {}) const {
    Logs out;
    out.insert(prefix + "loss", loss / samples);
    for (std::size_t i = 0; i < ms.size(); ++i) out.insert(prefix + ms[i].name, metrics[i] / samples);
    return out;
  }
};

// Restores a module's top-level training flag at scope exit.
class TrainingFlagGuard {
 public:
  explicit TrainingFlagGuard(nn::Module& m) : module_(m), was_training_(m.is_training()) {}
  ~TrainingFlagGuard() { module_.train(was_training_); }
  TrainingFlagGuard(const TrainingFlagGuard&) = delete;
  TrainingFlagGuard& operator=(const TrainingFlagGuard&) = delete;

 private:
  nn::Module& module_;
  bool was_training_;
};

// Evaluation in eval mode under NoGradGuard; the caller handles the training flag.
Accumulator evaluate_impl(const char* who, nn::Module& model, const LossFn& loss, std::shared_ptr<const data::Dataset> dataset,
                          const std::vector<Metric>& metrics, std::int64_t batch_size) {
  NoGradGuard no_grad;
  model.eval();
  data::DataLoader loader(std::move(dataset), {.batch_size = batch_size, .shuffle = false, .seed = 0, .drop_last = false});
  Accumulator acc(metrics.size());
  for (const data::Batch& batch : loader) {
    check_target(who, batch);
    const Tensor output = model(batch.input);
    const double l = loss_value(who, loss(output, batch.target));
    acc.add(l, metrics, output, batch.target, static_cast<double>(batch.input.size(0)));
  }
  return acc;
}

void check_loss_fn(const char* who, const LossFn& loss) {
  if (!loss) throw ValueError(fmt::format("{}: the loss function is empty", who));
}

}  // namespace

History fit(nn::Module& model, const LossFn& loss, optim::Optimizer& optimizer, const data::Dataset& train_data,
            const FitOptions& options) {
  constexpr const char* who = "fit";
  check_loss_fn(who, loss);
  check_metrics(who, options.metrics());
  if (options.epochs() < options.initial_epoch())
    throw ValueError(fmt::format("fit: epochs ({}) is below initial_epoch ({}): epochs is the epoch number to stop at, not a count",
                                 options.epochs(), options.initial_epoch()));
  const std::int64_t n = train_data.size();
  if (n == 0) throw ValueError("fit: the training dataset is empty");

  // Training and validation sets.
  std::shared_ptr<const data::Dataset> train_set = borrow(train_data);
  std::shared_ptr<const data::Dataset> val_set = options.validation_data();
  if (options.validation_split() > 0.0) {
    if (val_set) throw ValueError("fit: both validation_split and validation_data are set; choose one");
    data::TrainValSplit split = data::validation_split(train_set, options.validation_split(), /*shuffle=*/false);
    if (split.train.size() == 0 || split.val.size() == 0)
      throw ValueError(fmt::format("fit: validation_split {} of {} samples leaves {} training and {} validation samples; both "
                                   "need at least one",
                                   options.validation_split(), n, split.train.size(), split.val.size()));
    train_set = std::make_shared<const data::Subset>(std::move(split.train));
    val_set = std::make_shared<const data::Subset>(std::move(split.val));
  }
  if (val_set && val_set->size() == 0) throw ValueError("fit: the validation dataset is empty");

  const std::uint64_t seed = options.seed() ? *options.seed() : (generator()() >> 11);
  data::DataLoader loader(train_set, {.batch_size = options.batch_size(), .shuffle = options.shuffle(), .seed = seed,
                                      .drop_last = options.drop_last()});
  if (loader.size() == 0)
    throw ValueError(fmt::format("fit: drop_last with {} training samples and batch_size {} leaves no batch", train_set->size(),
                                 options.batch_size()));

  History history;
  FitContext ctx{.model = model,
                 .optimizer = optimizer,
                 .history = history,
                 .epochs = options.epochs(),
                 .initial_epoch = options.initial_epoch(),
                 .epoch = options.initial_epoch(),
                 .steps_per_epoch = loader.size(),
                 .batch_size = options.batch_size(),
                 .num_train_samples = train_set->size(),
                 .num_val_samples = val_set ? val_set->size() : 0,
                 .seed = seed,
                 .verbose = options.verbose(),
                 .out = &options.output(),
                 .stop_training = false};

  std::vector<CallbackPtr> callbacks;
  if (options.verbose() > 0)
    callbacks.push_back(std::make_shared<ProgressBar>(options.output(), options.verbose(),
                                                      options.terminal().value_or(is_terminal(options.output()))));
  callbacks.insert(callbacks.end(), options.callbacks().begin(), options.callbacks().end());

  const std::vector<Metric>& metrics = options.metrics();
  for (const auto& cb : callbacks) cb->on_train_begin(ctx);
  Logs last_logs;
  for (std::int64_t epoch = options.initial_epoch(); epoch < options.epochs() && !ctx.stop_training; ++epoch) {
    ctx.epoch = epoch;
    for (const auto& cb : callbacks) cb->on_epoch_begin(ctx, epoch);
    model.train();
    loader.set_epoch(epoch);
    Accumulator acc(metrics.size());
    std::int64_t b = 0;
    for (const data::Batch& batch : loader) {
      check_target(who, batch);
      for (const auto& cb : callbacks) cb->on_batch_begin(ctx, b);
      optimizer.zero_grad();
      const Tensor output = model(batch.input);
      const Tensor l = loss(output, batch.target);
      const double lv = loss_value(who, l);
      l.backward();
      optimizer.step();
      acc.add(lv, metrics, output, batch.target, static_cast<double>(batch.input.size(0)));
      if (!callbacks.empty()) {
        const Logs batch_logs = acc.logs(metrics);
        for (const auto& cb : callbacks) cb->on_batch_end(ctx, b, batch_logs);
      }
      ++b;
      if (ctx.stop_training) break;
    }

    Logs logs = acc.logs(metrics);
    if (val_set) {
      const Accumulator val = evaluate_impl(who, model, loss, val_set, metrics, options.validation_batch_size());
      for (const auto& item : val.logs(metrics, "val_")) logs.insert(item.key, item.value);
      model.train();
    }
    logs.insert("lr", optimizer.param_group(0).options().get_lr());
    for (const auto& cb : callbacks) cb->on_epoch_end(ctx, epoch, logs);
    history.append(epoch, logs);
    last_logs = std::move(logs);
  }
  model.train();
  for (const auto& cb : callbacks) cb->on_train_end(ctx, last_logs);
  return history;
}

std::map<std::string, double> evaluate(nn::Module& model, const LossFn& loss, const data::Dataset& data,
                                       const std::vector<Metric>& metrics, std::int64_t batch_size) {
  constexpr const char* who = "evaluate";
  check_loss_fn(who, loss);
  check_metrics(who, metrics);
  if (batch_size < 1) throw ValueError(fmt::format("evaluate: batch_size must be >= 1, got {}", batch_size));
  if (data.size() == 0) throw ValueError("evaluate: the dataset is empty");
  TrainingFlagGuard flag(model);
  const Accumulator acc = evaluate_impl(who, model, loss, borrow(data), metrics, batch_size);
  std::map<std::string, double> out;
  for (const auto& item : acc.logs(metrics)) out.emplace(item.key, item.value);
  return out;
}

Tensor predict(nn::Module& model, const Tensor& inputs, std::int64_t batch_size) {
  if (!inputs.defined()) throw ValueError("predict: the inputs are undefined");
  if (inputs.dim() == 0) throw ValueError("predict: the inputs must have a batch dimension, got a 0-d tensor");
  if (batch_size < 1) throw ValueError(fmt::format("predict: batch_size must be >= 1, got {}", batch_size));
  const std::int64_t n = inputs.size(0);
  if (n == 0) throw ValueError(fmt::format("predict: the inputs have no sample (shape {})", shape_str(inputs.shape())));
  TrainingFlagGuard flag(model);
  NoGradGuard no_grad;
  model.eval();
  const Tensor x = inputs.detach();
  TensorList outputs;
  for (std::int64_t start = 0; start < n; start += batch_size) outputs.push_back(model(narrow(x, 0, start, std::min(batch_size, n - start))));
  return outputs.size() == 1 ? outputs.front() : cat(outputs, 0);
}

}  // namespace xgrad::train
