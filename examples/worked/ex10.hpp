#pragma once
// Worked example 10 (deck 000): the Keras models of the lecture, written with a small fit() that has
// Keras' semantics: the last `validation_split` fraction of the samples (before shuffling) is held out,
// the rest is shuffled every epoch and visited in batches; the history records the mean training loss
// and the validation loss per epoch; early stopping monitors val_loss with `patience` and can restore
// the best weights. Shared by examples/ex10_keras_models.cpp and tests/examples/test_ex10_keras_models.cpp.

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

namespace xgrad::worked::ex10 {

using LossFn = std::function<Tensor(const Tensor& prediction, const Tensor& target)>;

/// Options of fit (Keras names).
struct FitOptions {
  double lr = 0.01;               // SGD learning rate
  int epochs = 100;
  std::int64_t batch_size = 32;
  double validation_split = 0.0;  // last fraction of the samples held out
  int patience = 0;               // > 0: EarlyStopping(monitor="val_loss", patience)
  bool restore_best_weights = true;
  std::function<Tensor()> penalty = nullptr;  // added to each batch's loss (L1/L2 regularization)
  std::uint64_t seed = 0;
};

/// What fit returns.
struct History {
  std::vector<double> loss;      // mean training loss per epoch (without the penalty)
  std::vector<double> val_loss;  // validation loss per epoch (empty without validation data)
  int best_epoch = -1;           // 0-based epoch of the lowest val_loss
  bool stopped_early = false;
};

/// Loss of the model on (x, y) in eval mode, without a graph.
inline double evaluate(nn::Module& m, const LossFn& loss, const Tensor& x, const Tensor& y) {
  NoGradGuard no_grad;
  m.eval();
  const double v = loss(m(x), y).item<double>();
  m.train();
  return v;
}

/// Copies of the module's state (clones, so later training does not change them).
inline nn::StateDict snapshot(const nn::Module& m) {
  nn::StateDict s;
  for (const auto& item : m.state_dict()) s.insert(item.key, item.value.detach().clone());
  return s;
}

/// Keras-like fit with plain SGD.
inline History fit(nn::Module& m, const Tensor& x, const Tensor& y, const LossFn& loss, const FitOptions& o) {
  const std::int64_t n = x.size(0);
  const auto n_train = static_cast<std::int64_t>(static_cast<double>(n) * (1.0 - o.validation_split));
  const Tensor xt = narrow(x, 0, 0, n_train), yt = narrow(y, 0, 0, n_train);
  const bool has_val = n_train < n;
  const Tensor xv = has_val ? narrow(x, 0, n_train, n - n_train) : Tensor(), yv = has_val ? narrow(y, 0, n_train, n - n_train) : Tensor();
  optim::SGD sgd(m.parameters(), optim::SGDOptions(o.lr));
  data::DataLoader loader(data::TensorDataset(xt, yt), {.batch_size = o.batch_size, .shuffle = true, .seed = o.seed});
  History h;
  double best = std::numeric_limits<double>::infinity();
  nn::StateDict best_state;
  int waited = 0;
  m.train();
  for (int e = 0; e < o.epochs; ++e) {
    double sum_loss = 0.0;
    std::int64_t seen = 0;
    for (const data::Batch& b : loader) {
      const Tensor l = loss(m(b.input), b.target);
      const Tensor total = o.penalty ? l + o.penalty() : l;
      sgd.zero_grad();
      total.backward();
      sgd.step();
      sum_loss += l.item<double>() * static_cast<double>(b.input.size(0));
      seen += b.input.size(0);
    }
    h.loss.push_back(sum_loss / static_cast<double>(seen));
    if (!has_val) continue;
    const double v = evaluate(m, loss, xv, yv);
    h.val_loss.push_back(v);
    if (v < best) {
      best = v;
      h.best_epoch = e;
      waited = 0;
      if (o.patience > 0 && o.restore_best_weights) best_state = snapshot(m);
    } else if (o.patience > 0 && ++waited >= o.patience) {
      h.stopped_early = true;
      break;
    }
  }
  if (o.patience > 0 && o.restore_best_weights && best_state.size() > 0) m.load_state_dict(best_state);
  return h;
}

inline LossFn mse() {
  return [](const Tensor& p, const Tensor& t) { return mse_loss(p, t); };
}
inline LossFn bce() {
  return [](const Tensor& p, const Tensor& t) { return binary_cross_entropy(p, t); };
}
inline LossFn softmax_cross_entropy() {
  return [](const Tensor& logits, const Tensor& t) { return cross_entropy(logits, t); };
}

/// A data set (x (N, F) float32, y (N, 1) float32 or (N) int64 labels).
struct Data {
  Tensor x;
  Tensor y;
};

inline std::string sklearn_path(const std::string& file) {
  return "/usr/lib/python3/dist-packages/sklearn/datasets/data/" + file;
}

/// Rows in the order i * step mod n (step coprime with n): a fixed shuffle for sorted files.
inline Data permute_rows(const Data& d, std::int64_t step) {
  const std::int64_t n = d.x.size(0);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = (i * step) % n;
  const Tensor t = from_vector(idx, {n});
  return {index_select(d.x, 0, t), index_select(d.y, 0, t)};
}

/// Diabetes, standardized features and target, shuffled (for the single-neuron regression).
inline Data diabetes() {
  const data::CsvData f = data::read_csv(sklearn_path("diabetes_data_raw.csv.gz"),
                                         {.has_header = false, .target_column = data::ColumnRef::none(), .delimiter = ' '});
  const data::CsvData t = data::read_csv(sklearn_path("diabetes_target.csv.gz"),
                                         {.has_header = false, .target_column = 0, .delimiter = ' ', .target_dtype = kFloat32});
  data::StandardScaler sx, sy;
  return permute_rows({sx.fit_transform(f.features), sy.fit_transform(t.target.reshape({-1, 1}))}, 7);
}

/// Breast cancer, standardized, labels as a float column (for the sigmoid neuron).
inline Data breast_cancer() {
  const data::CsvData d = data::load_sklearn_csv(sklearn_path("breast_cancer.csv"));
  data::StandardScaler s;
  return permute_rows({s.fit_transform(d.features), d.target.to(kFloat32).reshape({-1, 1})}, 7);
}

/// Iris, standardized, int64 labels, shuffled (the file is sorted by class).
inline Data iris() {
  const data::CsvData d = data::load_sklearn_csv(sklearn_path("iris.csv"));
  data::StandardScaler s;
  return permute_rows({s.fit_transform(d.features), d.target}, 7);
}

/// Two features ~ N(0, 1); regression target x0 + 2 x1 + 0.1 noise, class (x0 + 2 x1 > 0).
inline Data synthetic(std::int64_t n, bool classification, std::uint64_t seed) {
  manual_seed(seed);
  const Tensor x = randn({n, 2});
  const Tensor s = narrow(x, 1, 0, 1) + 2.0 * narrow(x, 1, 1, 1);
  if (classification) return {x, gt(s, 0.0).to(kFloat32)};
  return {x, s + 0.1 * randn({n, 1})};
}

/// Classification accuracy in [0, 1]: argmax over logits (N, C) against int64 labels, or p > 0.5
/// against 0/1 labels for (N, 1) probabilities.
inline double accuracy(nn::Module& m, const Data& d) {
  NoGradGuard no_grad;
  m.eval();
  const Tensor out = m(d.x);
  m.train();
  const Tensor pred = out.size(1) == 1 ? gt(out, 0.5).to(kFloat32) : argmax(out, 1);
  return static_cast<double>(sum(eq(pred, d.y)).item<std::int64_t>()) / static_cast<double>(d.x.size(0));
}

// The lecture's models.
inline nn::Sequential neuron_regression(std::int64_t f) { return nn::Sequential(nn::Linear(f, 1)); }
inline nn::Sequential neuron_classifier(std::int64_t f) { return nn::Sequential(nn::Linear(f, 1), nn::Sigmoid()); }
inline nn::Sequential mlp_regression() { return nn::Sequential(nn::Linear(2, 3), nn::Linear(3, 1)); }
inline nn::Sequential mlp_classifier() { return nn::Sequential(nn::Linear(2, 3), nn::Linear(3, 1), nn::Sigmoid()); }
inline nn::Sequential softmax_classifier() { return nn::Sequential(nn::Linear(4, 3)); }
inline nn::Sequential dropout_model() {
  return nn::Sequential(nn::Linear(2, 4), nn::ReLU(), nn::Dropout(0.5), nn::Linear(4, 3), nn::ReLU(), nn::Linear(3, 1));
}

}  // namespace xgrad::worked::ex10
