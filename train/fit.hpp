#pragma once
// fit(), evaluate() and predict(): a Keras-style training loop on top of nn, optim and data.
//
// fit() is optional: a hand-written loop (zero_grad, forward, loss, backward, step over a DataLoader)
// is a first-class way to train and gives the same numbers (see docs/training.md). fit() runs exactly
// that loop and adds validation, metrics, callbacks (early stopping, checkpoints, schedulers), a progress
// display and a History.
//
//   auto history = train::fit(model, train::losses::cross_entropy, optimizer, train_set,
//                             train::FitOptions().epochs(10).batch_size(64).seed(42)
//                                 .validation_split(0.1).metric(train::metrics::accuracy()));

#include <concepts>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../autograd/ops/loss.hpp"
#include "../autograd/tensor.hpp"
#include "../data/dataset.hpp"
#include "../nn/module.hpp"
#include "../optim/optimizer.hpp"
#include "callbacks.hpp"
#include "history.hpp"
#include "metrics.hpp"

namespace xgrad::train {

/// A loss: a one-element tensor (the mean over the batch's samples, so that fit's sample-weighted epoch
/// mean is the mean over the epoch's samples) computed from the model's output and the batch's targets.
using LossFn = std::function<Tensor(const Tensor& output, const Tensor& target)>;

/// Ready-made losses with the LossFn signature (pass them by name: `fit(model, losses::mse, ...)`); all
/// use the mean reduction. For other settings write a lambda, e.g.
/// `[](const Tensor& o, const Tensor& t) { return huber_loss(o, t, Reduction::mean, 0.5); }`.
namespace losses {
/// mse_loss(output, target): mean squared error (shapes must be equal).
Tensor mse(const Tensor& output, const Tensor& target);
/// l1_loss(output, target): mean absolute error (shapes must be equal).
Tensor mae(const Tensor& output, const Tensor& target);
/// binary_cross_entropy(output, target): output holds probabilities in [0, 1] (after a sigmoid).
Tensor bce(const Tensor& output, const Tensor& target);
/// binary_cross_entropy_with_logits(output, target): output holds logits (no sigmoid; stabler).
Tensor bce_with_logits(const Tensor& output, const Tensor& target);
/// cross_entropy(output, target): logits (N, C) against class indices (N) or probabilities (N, C).
Tensor cross_entropy(const Tensor& output, const Tensor& target);
/// cross_entropy with options (class weights, label smoothing, ignore_index) as a LossFn. Note that
/// with class weights or ignored labels the batch loss is not a plain mean over samples.
LossFn cross_entropy_with(CrossEntropyOptions options);
}  // namespace losses

/// Options of fit() (chained setters; each setter throws ValueError naming the option and the value when
/// it is out of range). Defaults: epochs 1, initial_epoch 0, batch_size 32, shuffle true, seed unset,
/// drop_last false, no validation, no metrics, no callbacks, verbose 1, output std::cout, terminal
/// auto-detected.
class FitOptions {
 public:
  /// The defaults (see above).
  FitOptions();

  /// Train until this epoch number (exclusive): epochs - initial_epoch epochs run (>= 0).
  FitOptions& epochs(std::int64_t v);
  std::int64_t epochs() const noexcept { return epochs_; }
  /// The first epoch number (>= 0), to resume a run: its shuffle order, the epoch numbers in the History
  /// and the callbacks continue from there (Keras's initial_epoch).
  FitOptions& initial_epoch(std::int64_t v);
  std::int64_t initial_epoch() const noexcept { return initial_epoch_; }
  /// Samples per training batch (>= 1).
  FitOptions& batch_size(std::int64_t v);
  std::int64_t batch_size() const noexcept { return batch_size_; }
  /// Batch size of validation (>= 1); defaults to batch_size.
  FitOptions& validation_batch_size(std::int64_t v);
  std::int64_t validation_batch_size() const noexcept { return validation_batch_size_ > 0 ? validation_batch_size_ : batch_size_; }
  /// Visit the training samples in a new random order every epoch. The order of epoch e depends only on
  /// (seed, e) (data::DataLoader's rule), so a resumed run sees the same orders.
  FitOptions& shuffle(bool v) { shuffle_ = v; return *this; }
  bool shuffle() const noexcept { return shuffle_; }
  /// Base seed of the shuffles. When unset, fit draws one from xgrad::generator() (53 bits, so that a
  /// checkpoint stores it exactly); set it to make runs reproducible and resumable.
  FitOptions& seed(std::uint64_t v) { seed_ = v; return *this; }
  const std::optional<std::uint64_t>& seed() const noexcept { return seed_; }
  /// Drop each epoch's last batch when it is smaller than batch_size.
  FitOptions& drop_last(bool v) { drop_last_ = v; return *this; }
  bool drop_last() const noexcept { return drop_last_; }
  /// Hold out the LAST `v` fraction of the training data (in [0, 1)) for validation, before any
  /// shuffling, as Keras does: train = samples [0, s), validation = [s, n) with s = floor(n·(1 - v)).
  /// If the data are sorted (by class, by time), shuffle them first. 0 disables.
  FitOptions& validation_split(double v);
  double validation_split() const noexcept { return validation_split_; }
  /// Validation data (shared; kept alive by the options). Replaces a previous validation_data.
  FitOptions& validation_data(std::shared_ptr<const data::Dataset> v);
  /// Validation data given by value (copied into a shared_ptr, e.g. a TensorDataset).
  template <class D>
    requires std::derived_from<D, data::Dataset>
  FitOptions& validation_data(D v) {
    return validation_data(std::shared_ptr<const data::Dataset>(std::make_shared<const D>(std::move(v))));
  }
  /// Validation inputs and targets as tensors (a data::TensorDataset).
  FitOptions& validation_data(const Tensor& inputs, const Tensor& targets);
  const std::shared_ptr<const data::Dataset>& validation_data() const noexcept { return validation_data_; }
  /// Replaces the metrics (logged under their names, and "val_" + name on validation data).
  FitOptions& metrics(std::vector<Metric> v) { metrics_ = std::move(v); return *this; }
  /// Appends one metric.
  FitOptions& metric(Metric v) { metrics_.push_back(std::move(v)); return *this; }
  const std::vector<Metric>& metrics() const noexcept { return metrics_; }
  /// Replaces the callbacks (run in this order).
  FitOptions& callbacks(std::vector<CallbackPtr> v) { callbacks_ = std::move(v); return *this; }
  /// Appends one callback (ValueError for a null pointer).
  FitOptions& callback(CallbackPtr v);
  const std::vector<CallbackPtr>& callbacks() const noexcept { return callbacks_; }
  /// 0: silent; 1: a live progress bar on a terminal (one line per epoch otherwise); 2: one line per
  /// epoch. See progress.hpp for the formats.
  FitOptions& verbose(int v);
  int verbose() const noexcept { return verbose_; }
  /// Where the progress display and callbacks print (std::cout by default). The stream must outlive fit.
  FitOptions& output(std::ostream& v) { output_ = &v; return *this; }
  std::ostream& output() const noexcept { return *output_; }
  /// Forces (true) or disables (false) the live progress bar; by default it is used when the output is a
  /// terminal (see is_terminal).
  FitOptions& terminal(bool v) { terminal_ = v; return *this; }
  const std::optional<bool>& terminal() const noexcept { return terminal_; }

 private:
  std::int64_t epochs_ = 1;
  std::int64_t initial_epoch_ = 0;
  std::int64_t batch_size_ = 32;
  std::int64_t validation_batch_size_ = 0;
  bool shuffle_ = true;
  std::optional<std::uint64_t> seed_;
  bool drop_last_ = false;
  double validation_split_ = 0.0;
  std::shared_ptr<const data::Dataset> validation_data_;
  std::vector<Metric> metrics_;
  std::vector<CallbackPtr> callbacks_;
  int verbose_ = 1;
  std::ostream* output_;
  std::optional<bool> terminal_;
};

/// Trains `model` on `train_data` for epochs initial_epoch .. epochs-1 and returns the History.
///
/// Every epoch e: model.train(); the training samples are visited in batches (order of epoch e, see
/// FitOptions::shuffle); each batch runs
///   optimizer.zero_grad(); output = model(input); l = loss(output, target); l.backward(); optimizer.step();
/// and the metrics on output.detach() under NoGradGuard. The epoch's "loss" and metrics are the means
/// over its batches weighted by batch size (= the mean over samples). Then, with validation data, the
/// model is evaluated (eval mode, NoGradGuard; see evaluate) into "val_loss" and "val_<metric>"; "lr" is
/// the learning rate of parameter group 0 after the epoch's last batch. Callbacks run as described in
/// callbacks.hpp; fit stops early when one sets ctx.stop_training. The model is left in training mode.
///
/// Errors (ValueError unless noted): an empty LossFn; an empty training dataset; a dataset without
/// targets; epochs < initial_epoch; both validation_split and validation_data set; a validation_split
/// that leaves no training or no validation sample (both counts given); drop_last with fewer samples
/// than batch_size; a loss that is not a one-element tensor (its shape given); metric names that are
/// empty, repeated, "loss" or "lr"; and whatever the model, loss, optimizer and callbacks throw.
History fit(nn::Module& model, const LossFn& loss, optim::Optimizer& optimizer, const data::Dataset& train_data,
            const FitOptions& options = FitOptions());

/// Evaluates `model` on `data` in eval mode under NoGradGuard, in order, `batch_size` samples at a time:
/// returns {"loss": sample-weighted mean of loss, "<metric>": sample-weighted mean of each metric}. The
/// model's training flag is restored afterwards. ValueError for an empty dataset, a dataset without
/// targets, batch_size < 1, a non-scalar loss or bad metric names.
std::map<std::string, double> evaluate(nn::Module& model, const LossFn& loss, const data::Dataset& data,
                                       const std::vector<Metric>& metrics = {}, std::int64_t batch_size = 32);

/// The outputs of `model` for `inputs` (N, ...), computed in eval mode under NoGradGuard in batches of
/// `batch_size` rows along dimension 0 and concatenated: (N, ...output shape). The model's training flag
/// is restored afterwards. ValueError for an undefined or 0-d input, N = 0 or batch_size < 1.
Tensor predict(nn::Module& model, const Tensor& inputs, std::int64_t batch_size = 32);

}  // namespace xgrad::train
