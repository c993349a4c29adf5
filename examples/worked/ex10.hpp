#pragma once
// Worked example 10 (deck 000): the lecture's Keras models, written with xgrad's train::fit().
//
//   Keras (deck 000)                                         xgrad
//   model = Sequential([Dense(1, input_shape=(10,))])        nn::Sequential(nn::Linear(10, 1))
//   model.compile(optimizer=SGD(learning_rate=0.02),         optim::SGD(model.parameters(), SGDOptions(0.02))
//                 loss='mean_squared_error',                 train::losses::mse
//                 metrics=['mean_absolute_error'])           FitOptions().metric(train::metrics::mae())
//   model.fit(X_train, y_train, epochs=100, batch_size=1,    train::fit(model, loss, sgd, train_set,
//             validation_split=0.10)                           FitOptions().epochs(100).batch_size(1).validation_split(0.1))
//   model.predict(X_test)                                    train::predict(model, x_test)
//   EarlyStopping(monitor='val_loss', patience=5,            train::EarlyStopping(EarlyStoppingOptions()
//                 restore_best_weights=True)                   .monitor("val_loss").patience(5).restore_best_weights(true))
//   Dense(1, kernel_regularizer=l1(0.01))                    loss + nn::functional::l1_penalty({kernel}, 0.01)
//
// Keras's `validation_split` holds out the LAST fraction of the training data before shuffling; fit() does
// the same. The data sets are split into training and test parts first (80/20, after a fixed shuffle),
// and standardized with the statistics of the training part only.
// Shared by examples/ex10_keras_models.cpp and tests/examples/test_ex10_keras_models.cpp.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <xgrad/xgrad.hpp>

namespace xgrad::worked::ex10 {

/// The base seed of every run (weights and shuffles).
inline constexpr std::uint64_t kSeed = 0;
/// Epochs of every model.fit of deck 000.
inline constexpr std::int64_t kEpochs = 100;

/// A data set: x (N, F) float32, y (N, 1) float32 (regression, binary labels) or (N) int64 labels.
struct Data {
  Tensor x;
  Tensor y;
};

/// Training and test parts.
struct Split {
  Data train;
  Data test;
};

inline std::string sklearn_path(const std::string& file) {
  return "/usr/lib/python3/dist-packages/sklearn/datasets/data/" + file;
}

/// Rows in the order i * step mod n (step coprime with n): a fixed shuffle for files sorted by class.
inline Data permute_rows(const Data& d, std::int64_t step) {
  const std::int64_t n = d.x.size(0);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = (i * step) % n;
  const Tensor t = from_vector(idx, {n});
  return {index_select(d.x, 0, t), index_select(d.y, 0, t)};
}

/// The first 80% of the rows for training, the last 20% for testing (sklearn's train_test_split with
/// test_size=0.2 on shuffled rows). Features (and the target, for regression) are standardized with the
/// training part's mean and standard deviation, applied to both parts.
inline Split train_test_split(const Data& d, bool standardize_target) {
  const std::int64_t n = d.x.size(0), n_train = n * 4 / 5;
  Split s{{narrow(d.x, 0, 0, n_train), narrow(d.y, 0, 0, n_train)}, {narrow(d.x, 0, n_train, n - n_train), narrow(d.y, 0, n_train, n - n_train)}};
  data::StandardScaler sx;
  s.train.x = sx.fit_transform(s.train.x);
  s.test.x = sx.transform(s.test.x);
  if (standardize_target) {
    data::StandardScaler sy;
    s.train.y = sy.fit_transform(s.train.y);
    s.test.y = sy.transform(s.test.y);
  }
  return s;
}

/// Diabetes (442 x 10, regression target as a column), for the single-neuron regression.
inline Split diabetes() {
  const data::CsvData f = data::read_csv(sklearn_path("diabetes_data_raw.csv.gz"),
                                         {.has_header = false, .target_column = data::ColumnRef::none(), .delimiter = ' '});
  const data::CsvData t = data::read_csv(sklearn_path("diabetes_target.csv.gz"),
                                         {.has_header = false, .target_column = 0, .delimiter = ' ', .target_dtype = kFloat32});
  return train_test_split(permute_rows({f.features, t.target.reshape({-1, 1})}, 7), true);
}

/// Breast cancer (569 x 30, labels 0/1 as a float column): the slides' X_train_cancer.
inline Split breast_cancer() {
  const data::CsvData d = data::load_sklearn_csv(sklearn_path("breast_cancer.csv"));
  return train_test_split(permute_rows({d.features, d.target.to(kFloat32).reshape({-1, 1})}, 7), false);
}

/// Iris (150 x 4, int64 labels 0-2; the file is sorted by class, hence the shuffle).
inline Split iris() {
  const data::CsvData d = data::load_sklearn_csv(sklearn_path("iris.csv"));
  return train_test_split(permute_rows({d.features, d.target}, 7), false);
}

/// Two features ~ N(0, 1); regression target x0 + 2 x1 + 0.1 noise; class (x0 + 2 x1 > 0).
inline Split synthetic(std::int64_t n, bool classification, std::uint64_t seed) {
  manual_seed(seed);
  const Tensor x = randn({n, 2});
  const Tensor s = narrow(x, 1, 0, 1) + 2.0 * narrow(x, 1, 1, 1);
  const Tensor y = classification ? gt(s, 0.0).to(kFloat32) : s + 0.1 * randn({n, 1});
  return train_test_split({x, y}, false);
}

/// Five features ~ N(0, 1) of which only the first two matter: y = x0 + 2 x1 + 0.5 noise (for L1/L2).
/// With few samples (100: 80 for training) least squares gives the useless features visibly non-zero
/// weights, which the L1 penalty removes.
inline Split sparse_regression(std::int64_t n = 100, std::uint64_t seed = 5) {
  manual_seed(seed);
  const Tensor x = randn({n, 5});
  const Tensor y = narrow(x, 1, 0, 1) + 2.0 * narrow(x, 1, 1, 1) + 0.5 * randn({n, 1});
  return train_test_split({x, y}, false);
}

// ---- the lecture's models ----------------------------------------------------------------------------

/// Dense(1, activation='linear').
inline std::shared_ptr<nn::Sequential> neuron_regression(std::int64_t features) {
  return std::make_shared<nn::Sequential>(nn::Linear(features, 1));
}
/// Dense(1, activation='sigmoid').
inline std::shared_ptr<nn::Sequential> neuron_classifier(std::int64_t features) {
  return std::make_shared<nn::Sequential>(nn::Linear(features, 1), nn::Sigmoid());
}
/// Dense(3, input_shape=(2,), activation='linear') -> Dense(1, activation='linear').
inline std::shared_ptr<nn::Sequential> mlp_regression() {
  return std::make_shared<nn::Sequential>(nn::Linear(2, 3), nn::Linear(3, 1));
}
/// Dense(3, input_shape=(2,), activation='linear') -> Dense(1, activation='sigmoid').
inline std::shared_ptr<nn::Sequential> mlp_classifier() {
  return std::make_shared<nn::Sequential>(nn::Linear(2, 3), nn::Linear(3, 1), nn::Sigmoid());
}
/// Dense(8, input_shape=(4,), activation='relu') -> Dense(3, activation='softmax') (deck 000 prints only the
/// predicted probabilities of its multiclass model; these layers are chosen here). The softmax is part
/// of the loss here (cross_entropy on the logits, the stable form of softmax + categorical
/// cross-entropy); predicted probabilities are softmax(predict(x)).
inline std::shared_ptr<nn::Sequential> softmax_classifier() {
  return std::make_shared<nn::Sequential>(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 3));
}
/// Dense(4, relu) -> Dropout(0.5) -> Dense(3, relu) -> Dense(1): Keras's Dropout(0.5) is inverted dropout
/// with drop rate 0.5 (nn::Dropout(0.5)); `classic` uses the slides' formulation instead, keep probability
/// p = 0.5 in training and activations scaled by p at inference (nn::ClassicDropout(0.5)).
inline std::shared_ptr<nn::Sequential> dropout_model(bool classic = false) {
  auto m = std::make_shared<nn::Sequential>(nn::Linear(2, 4), nn::ReLU());
  if (classic) m->push_back(nn::ClassicDropout(0.5));
  else m->push_back(nn::Dropout(0.5));
  m->push_back(nn::Linear(4, 3));
  m->push_back(nn::ReLU());
  m->push_back(nn::Linear(3, 1));
  return m;
}

/// The "weight" tensors (Keras's kernels) of a model's Linear layers: what kernel_regularizer penalizes.
inline TensorList kernels(const nn::Module& m) {
  TensorList out;
  for (const auto& item : m.named_parameters())
    if (item.key.size() >= 6 && item.key.compare(item.key.size() - 6, 6, "weight") == 0) out.push_back(item.value);
  return out;
}

// ---- training -------------------------------------------------------------------------------------

/// One model.compile + model.fit + model.evaluate of the slides.
struct Run {
  std::shared_ptr<nn::Sequential> model;
  train::History history;
  std::map<std::string, double> test;  // evaluate() on the test part: "loss" and the metrics
  std::int64_t train_samples = 0;      // after validation_split
};

/// What to train and how (Keras's compile and fit arguments).
struct Recipe {
  double lr = 0.01;  // SGD(learning_rate=lr)
  train::LossFn loss = train::losses::mse;
  std::vector<train::Metric> metrics{};
  std::int64_t epochs = kEpochs;
  std::int64_t batch_size = 32;
  double validation_split = 0.1;
  std::vector<train::CallbackPtr> callbacks{};
  std::int64_t print_every = 0;  // > 0: one line every print_every epochs to `out`
};

/// Prints one line every `k` epochs (and at the last one): "epoch  20/100  loss 0.5012  mae 0.5621 ...".
inline train::CallbackPtr print_every(std::int64_t k) {
  return std::make_shared<train::LambdaCallback>(train::LambdaCallbackHooks{
      .on_epoch_end = [k](train::FitContext& ctx, std::int64_t epoch, train::Logs& logs) {
        if ((epoch + 1) % k != 0 && epoch + 1 != ctx.epochs) return;
        std::string line = fmt::format("    epoch {:>3}/{}", epoch + 1, ctx.epochs);
        for (const auto& [name, value] : logs)
          if (name != "lr") line += fmt::format("  {} {:.4f}", name, value);
        *ctx.out << line << "\n";
      }});
}

/// Trains `model` on d.train with plain SGD and train::fit, then evaluates it on d.test.
inline Run fit_model(std::shared_ptr<nn::Sequential> model, const Split& d, const Recipe& r, std::ostream& out) {
  optim::SGD sgd(model->parameters(), optim::SGDOptions(r.lr));
  train::FitOptions options = train::FitOptions()
                                  .epochs(r.epochs)
                                  .batch_size(r.batch_size)
                                  .validation_split(r.validation_split)
                                  .metrics(r.metrics)
                                  .callbacks(r.callbacks)
                                  .seed(kSeed)
                                  .verbose(0)
                                  .output(out);
  if (r.print_every > 0) options.callback(print_every(r.print_every));
  Run run;
  run.model = model;
  run.history = train::fit(*model, r.loss, sgd, data::TensorDataset(d.train.x, d.train.y), options);
  run.test = train::evaluate(*model, r.loss, data::TensorDataset(d.test.x, d.test.y), r.metrics);
  run.train_samples = static_cast<std::int64_t>(static_cast<double>(d.train.x.size(0)) * (1.0 - r.validation_split));
  return run;
}

/// Which penalty regularized_neuron adds to the MSE.
enum class Penalty { none, l1, l2 };
/// The penalty strength λ, learning rate and epochs of the L1/L2 demonstration (full-batch SGD).
inline constexpr double kLambda = 0.2, kRegLr = 0.02;
inline constexpr std::int64_t kRegEpochs = 1000;

/// Dense(1, kernel_regularizer=l1(λ) or l2(λ)) on d (5 features): loss = MSE + λΣ|w| or λΣw² over the
/// kernel (not the bias), full-batch SGD, no validation split.
inline Run regularized_neuron(const Split& d, Penalty penalty, double lambda, std::ostream& out) {
  auto model = neuron_regression(d.train.x.size(1));
  const TensorList kernel = kernels(*model);
  train::LossFn loss = train::losses::mse;
  if (penalty == Penalty::l1)
    loss = [kernel, lambda](const Tensor& o, const Tensor& t) { return train::losses::mse(o, t) + nn::functional::l1_penalty(kernel, lambda); };
  if (penalty == Penalty::l2)
    loss = [kernel, lambda](const Tensor& o, const Tensor& t) { return train::losses::mse(o, t) + nn::functional::l2_penalty(kernel, lambda); };
  return fit_model(model, d,
                   {.lr = kRegLr, .loss = loss, .epochs = kRegEpochs, .batch_size = d.train.x.size(0), .validation_split = 0.0}, out);
}

/// MSE on d of the mean of `passes` training-mode forward passes (each with a new dropout mask): the
/// Monte-Carlo average of the noisy networks, to compare with the eval-mode network. Restores eval mode.
inline double mc_dropout_mse(nn::Module& model, const Data& d, int passes = 200) {
  NoGradGuard no_grad;
  model.train();
  Tensor sum = zeros_like(d.y);
  for (int i = 0; i < passes; ++i) sum = sum + model(d.x);
  model.eval();
  return mse_loss(sum / static_cast<double>(passes), d.y).item<double>();
}

/// EarlyStopping(monitor='val_loss', patience=5, restore_best_weights=True) of deck 000.
inline std::shared_ptr<train::EarlyStopping> lecture_early_stopping() {
  return std::make_shared<train::EarlyStopping>(
      train::EarlyStoppingOptions().monitor("val_loss").patience(5).restore_best_weights(true));
}

}  // namespace xgrad::worked::ex10
