// Example 10: the lecture's Keras models trained with train::fit. Checked against computations written
// here in plain doubles: the parameter counts, a whole epoch of batch-1 SGD on the single neuron, the
// reported validation and test losses recomputed from the final weights, early stopping's bookkeeping,
// and the closed-form ridge (L2) and least-squares solutions and the lasso (L1) optimality conditions.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "../../examples/worked/ex10.hpp"

using namespace xgrad;
using namespace xgrad::worked::ex10;

namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix rows_of(const Tensor& t) {
  Matrix m(static_cast<std::size_t>(t.size(0)));
  const std::vector<double> v = t.to_vector<double>();
  const std::size_t cols = v.size() / m.size();
  for (std::size_t i = 0; i < m.size(); ++i) m[i].assign(v.begin() + static_cast<std::ptrdiff_t>(i * cols), v.begin() + static_cast<std::ptrdiff_t>((i + 1) * cols));
  return m;
}

// Solves A z = b by Gaussian elimination with partial pivoting.
std::vector<double> solve(Matrix a, std::vector<double> b) {
  const std::size_t n = b.size();
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t p = c;
    for (std::size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r][c]) > std::abs(a[p][c])) p = r;
    std::swap(a[c], a[p]);
    std::swap(b[c], b[p]);
    for (std::size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (std::size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> z(n);
  for (std::size_t c = n; c-- > 0;) {
    double s = b[c];
    for (std::size_t k = c + 1; k < n; ++k) s -= a[c][k] * z[k];
    z[c] = s / a[c][c];
  }
  return z;
}

// Weights and bias minimizing 1/n Σ (w·x + b - y)² + λ‖w‖² (bias not penalized): b = ȳ - x̄·w and
// (Xcᵀ Xc / n + λ I) w = Xcᵀ yc / n with centered data.
std::pair<std::vector<double>, double> ridge(const Matrix& x, const std::vector<double>& y, double lambda) {
  const std::size_t n = x.size(), f = x[0].size();
  std::vector<double> mx(f, 0.0);
  double my = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < f; ++j) mx[j] += x[i][j] / static_cast<double>(n);
    my += y[i] / static_cast<double>(n);
  }
  Matrix a(f, std::vector<double>(f, 0.0));
  std::vector<double> rhs(f, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < f; ++j) {
      rhs[j] += (x[i][j] - mx[j]) * (y[i] - my) / static_cast<double>(n);
      for (std::size_t k = 0; k < f; ++k) a[j][k] += (x[i][j] - mx[j]) * (x[i][k] - mx[k]) / static_cast<double>(n);
    }
  for (std::size_t j = 0; j < f; ++j) a[j][j] += lambda;
  const std::vector<double> w = solve(a, rhs);
  double b = my;
  for (std::size_t j = 0; j < f; ++j) b -= mx[j] * w[j];
  return {w, b};
}

double mean_squared(const Matrix& x, const std::vector<double>& y, const std::vector<double>& w, double b, double* mae = nullptr) {
  double s = 0.0, a = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    double p = b;
    for (std::size_t j = 0; j < w.size(); ++j) p += w[j] * x[i][j];
    s += (p - y[i]) * (p - y[i]);
    a += std::abs(p - y[i]);
  }
  if (mae != nullptr) *mae = a / static_cast<double>(x.size());
  return s / static_cast<double>(x.size());
}

bool near(double a, double b, double rel) { return std::abs(a - b) <= rel * (1.0 + std::abs(b)); }

}  // namespace

TEST_CASE("ex10: parameter counts of the lecture's models (weights + biases, counted by hand)") {
  CHECK(nn::count_parameters(*neuron_regression(10)) == 10 + 1);
  CHECK(nn::count_parameters(*neuron_classifier(30)) == 30 + 1);
  CHECK(nn::count_parameters(*mlp_regression()) == 2 * 3 + 3 + 3 * 1 + 1);  // 13
  CHECK(nn::count_parameters(*mlp_classifier()) == 13);
  CHECK(nn::count_parameters(*softmax_classifier()) == (4 * 8 + 8) + (8 * 3 + 3));                 // 67
  CHECK(nn::count_parameters(*dropout_model()) == (2 * 4 + 4) + (4 * 3 + 3) + (3 + 1));            // 31
  CHECK(nn::count_parameters(*dropout_model(true)) == 31);
  CHECK(kernels(*dropout_model()).size() == 3);  // the three Linear weights, no biases
}

TEST_CASE("ex10: the data are split 80/20 and standardized with the training statistics") {
  const Split d = diabetes();
  CHECK(d.train.x.shape() == Shape{353, 10});  // 442 · 4/5
  CHECK(d.test.x.shape() == Shape{89, 10});
  for (const Tensor& t : {d.train.x, d.train.y}) {
    const Matrix m = rows_of(t);
    for (std::size_t j = 0; j < m[0].size(); ++j) {
      double mu = 0.0, sq = 0.0;
      for (const auto& r : m) mu += r[j] / static_cast<double>(m.size());
      for (const auto& r : m) sq += (r[j] - mu) * (r[j] - mu) / static_cast<double>(m.size());
      CHECK(std::abs(mu) < 1e-5);
      CHECK(std::abs(std::sqrt(sq) - 1.0) < 1e-5);
    }
  }
  CHECK(breast_cancer().test.x.shape() == Shape{114, 30});
  CHECK(iris().train.y.dtype() == kInt64);
}

TEST_CASE("ex10: one epoch of the single-neuron regression (batch 1) equals SGD written out in plain doubles") {
  const Split d = diabetes();
  manual_seed(kSeed);
  auto model = neuron_regression(10);
  const std::vector<double> w0 = model->at<nn::Linear>(0)->weight().to_vector<double>();
  double b = model->at<nn::Linear>(0)->bias().item<double>();
  std::ostringstream quiet;
  const Run r = fit_model(model, d, {.lr = 0.02, .metrics = {train::metrics::mae()}, .epochs = 1, .batch_size = 1}, quiet);

  // validation_split 0.1 keeps the first floor(353·0.9) = 317 rows for training, the last 36 for validation.
  const std::size_t n_train = 317;
  CHECK(r.train_samples == 317);
  const Matrix x = rows_of(d.train.x);
  std::vector<double> y;
  for (const auto& row : rows_of(d.train.y)) y.push_back(row[0]);
  // fit's shuffle of epoch 0 is the DataLoader order for (seed, epoch 0).
  const data::DataLoader loader(data::TensorDataset(narrow(d.train.x, 0, 0, 317), narrow(d.train.y, 0, 0, 317)),
                                {.batch_size = 1, .shuffle = true, .seed = kSeed});
  std::vector<double> w = w0;
  double loss_sum = 0.0, mae_sum = 0.0;
  for (std::int64_t i : loader.order(0)) {
    const auto k = static_cast<std::size_t>(i);
    double p = b;
    for (std::size_t j = 0; j < 10; ++j) p += w[j] * x[k][j];
    const double e = p - y[k];
    loss_sum += e * e;  // MSE of one sample, before its update
    mae_sum += std::abs(e);
    for (std::size_t j = 0; j < 10; ++j) w[j] -= 0.02 * 2.0 * e * x[k][j];  // ∂(p - y)²/∂w = 2(p - y)x
    b -= 0.02 * 2.0 * e;
  }
  CHECK(near(r.history.loss()[0], loss_sum / n_train, 1e-4));
  CHECK(near(r.history.metric("mae")[0], mae_sum / n_train, 1e-4));
  const std::vector<double> w_fit = model->at<nn::Linear>(0)->weight().to_vector<double>();
  for (std::size_t j = 0; j < 10; ++j) CHECK(near(w_fit[j], w[j], 1e-4));
  CHECK(near(model->at<nn::Linear>(0)->bias().item<double>(), b, 1e-4));
  // validation: the last 36 training rows, with the weights after the epoch
  const Matrix xv(x.begin() + 317, x.end());
  const std::vector<double> yv(y.begin() + 317, y.end());
  double val_mae = 0.0;
  CHECK(near(r.history.val_loss()[0], mean_squared(xv, yv, w, b, &val_mae), 1e-4));
  CHECK(near(r.history.val_metric("mae")[0], val_mae, 1e-4));
}

TEST_CASE("ex10: the 100-epoch runs of the slides learn, reported losses equal hand recomputations") {
  std::ostringstream quiet;
  {
    const Split d = diabetes();
    manual_seed(kSeed);
    const Run r = fit_model(neuron_regression(10), d, {.lr = 0.02, .metrics = {train::metrics::mae()}, .batch_size = 1}, quiet);
    CHECK(r.history.size() == 100);
    const std::vector<double> w = r.model->at<nn::Linear>(0)->weight().to_vector<double>();
    const double b = r.model->at<nn::Linear>(0)->bias().item<double>();
    std::vector<double> yt;
    for (const auto& row : rows_of(d.test.y)) yt.push_back(row[0]);
    double mae = 0.0;
    const double mse = mean_squared(rows_of(d.test.x), yt, w, b, &mae);
    CHECK(near(r.test.at("loss"), mse, 1e-5));
    CHECK(near(r.test.at("mae"), mae, 1e-5));
    // It learned: far better than predicting the training mean (0 after standardization), and close to the
    // least-squares optimum (batch-1 SGD with a constant lr keeps jittering around it, hence not equal).
    std::vector<double> y_train;
    for (const auto& row : rows_of(d.train.y)) y_train.push_back(row[0]);
    const auto [w_ols, b_ols] = ridge(rows_of(d.train.x), y_train, 0.0);
    const double ols = mean_squared(rows_of(d.test.x), yt, w_ols, b_ols);
    double baseline = 0.0;
    for (double v : yt) baseline += v * v / static_cast<double>(yt.size());
    CHECK(mse < 0.75 * baseline);
    CHECK(mse < 1.2 * ols);
  }
  {
    const Split d = breast_cancer();
    manual_seed(kSeed);
    const Run r = fit_model(neuron_classifier(30), d,
                            {.lr = 0.01, .loss = train::losses::bce, .metrics = {train::metrics::binary_accuracy()}, .batch_size = 10},
                            quiet);
    // test accuracy by hand: σ(w·x + b) > 0.5 against the labels
    const std::vector<double> w = r.model->at<nn::Linear>(0)->weight().to_vector<double>();
    const double b = r.model->at<nn::Linear>(0)->bias().item<double>();
    const Matrix x = rows_of(d.test.x);
    const std::vector<double> y = d.test.y.to_vector<double>();
    double correct = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      double z = b;
      for (std::size_t j = 0; j < 30; ++j) z += w[j] * x[i][j];
      correct += ((1.0 / (1.0 + std::exp(-z)) > 0.5) == (y[i] > 0.5)) ? 1.0 : 0.0;
    }
    CHECK(r.test.at("binary_accuracy") == doctest::Approx(correct / static_cast<double>(x.size())));
    CHECK(r.test.at("binary_accuracy") > 0.95);
  }
  {
    const Split d = synthetic(500, false, 1);
    manual_seed(kSeed);
    const Run r = fit_model(mlp_regression(), d, {.lr = 0.01, .metrics = {train::metrics::mae()}, .batch_size = 10}, quiet);
    CHECK(r.history.val_loss().back() < 0.02);  // only the noise (variance 0.01) remains: the target is linear
  }
  {
    const Split d = synthetic(500, true, 2);
    manual_seed(kSeed);
    const Run r = fit_model(mlp_classifier(), d,
                            {.lr = 0.02, .loss = train::losses::bce, .metrics = {train::metrics::binary_accuracy()}, .batch_size = 10},
                            quiet);
    CHECK(r.test.at("binary_accuracy") > 0.9);  // linearly separable classes
  }
  {
    const Split d = iris();
    manual_seed(kSeed);
    const Run r = fit_model(softmax_classifier(), d,
                            {.lr = 0.1, .loss = train::losses::cross_entropy, .metrics = {train::metrics::accuracy()}, .batch_size = 10},
                            quiet);
    CHECK(r.test.at("accuracy") > 0.9);
    const std::vector<double> p = softmax(train::predict(*r.model, d.test.x), 1).to_vector<double>();
    for (std::size_t i = 0; i < p.size(); i += 3) CHECK(p[i] + p[i + 1] + p[i + 2] == doctest::Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("ex10: EarlyStopping(val_loss, patience 5, restore_best_weights) stops 5 epochs after the best and restores it") {
  const Split d = synthetic(500, false, 4);
  manual_seed(kSeed);
  const auto stop = lecture_early_stopping();
  std::ostringstream quiet;
  const Run r = fit_model(dropout_model(), d, {.lr = 0.01, .epochs = 300, .batch_size = 10, .callbacks = {stop}}, quiet);
  const std::vector<double>& val = r.history.val_loss();
  REQUIRE(stop->stopped_epoch() >= 0);  // the demonstration needs an early stop
  CHECK(static_cast<std::int64_t>(val.size()) == stop->stopped_epoch() + 1);
  CHECK(stop->stopped_epoch() == stop->best_epoch() + 5);
  // the best epoch is the minimum so far, and none of the 5 epochs after it improved
  const auto best = static_cast<std::size_t>(stop->best_epoch());
  for (std::size_t e = 0; e < val.size(); ++e) CHECK(val[e] >= val[best]);
  CHECK(stop->best() == val[best]);
  // restored: the model's loss on the validation rows (the last 10% of the 400 training rows) is the best one
  const Tensor xv = narrow(d.train.x, 0, 360, 40), yv = narrow(d.train.y, 0, 360, 40);
  const std::vector<double> p = train::predict(*r.model, xv).to_vector<double>(), y = yv.to_vector<double>();
  double s = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) s += (p[i] - y[i]) * (p[i] - y[i]);
  CHECK(s / 40.0 == doctest::Approx(val[best]).epsilon(1e-5));
}

TEST_CASE("ex10: L2 gives the ridge solution, no penalty least squares, L1 the lasso's optimality conditions") {
  const Split d = sparse_regression();
  REQUIRE(d.train.x.shape() == Shape{80, 5});
  const Matrix x = rows_of(d.train.x);
  std::vector<double> y;
  for (const auto& row : rows_of(d.train.y)) y.push_back(row[0]);
  std::ostringstream quiet;
  auto train_with = [&](Penalty penalty, double lambda) {
    manual_seed(kSeed);
    const Run r = regularized_neuron(d, penalty, lambda, quiet);
    return std::pair{r.model->at<nn::Linear>(0)->weight().to_vector<double>(), r.model->at<nn::Linear>(0)->bias().item<double>()};
  };
  // Full-batch gradient descent on a strictly convex quadratic converges to its minimizer: the closed form.
  for (const auto& [penalty, lambda] : {std::pair{Penalty::none, 0.0}, std::pair{Penalty::l2, kLambda}, std::pair{Penalty::l2, 1.0}}) {
    INFO("lambda " << lambda);
    const auto [w, b] = train_with(penalty, lambda);
    const auto [w_star, b_star] = ridge(x, y, lambda);
    for (std::size_t j = 0; j < 5; ++j) CHECK(std::abs(w[j] - w_star[j]) < 1e-4);
    CHECK(std::abs(b - b_star) < 1e-4);
  }
  // Least squares leaves the useless weights visibly non-zero (what L1 is there to fix).
  const auto [w_ols, b_ols] = ridge(x, y, 0.0);
  CHECK(std::max({std::abs(w_ols[2]), std::abs(w_ols[3]), std::abs(w_ols[4])}) > 0.05);
  // L1: at the lasso optimum, for every weight either w_j ≠ 0 and g_j + λ sign(w_j) = 0, or |g_j| <= λ,
  // with g = ∂(1/n Σ r²)/∂w = 2/n Xᵀr. Subgradient descent with a fixed lr does not land on the kink: a
  // zero weight jumps across it by lr·(λ ± g_j) <= 2·lr·λ every step. That bounds the slack.
  const double lambda = kLambda, slack = 2.0 * kRegLr * kLambda;
  const auto [w, b] = train_with(Penalty::l1, lambda);
  std::vector<double> g(5, 0.0);
  double mean_r = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    double r = b - y[i];
    for (std::size_t j = 0; j < 5; ++j) r += w[j] * x[i][j];
    mean_r += r / static_cast<double>(x.size());
    for (std::size_t j = 0; j < 5; ++j) g[j] += 2.0 * r * x[i][j] / static_cast<double>(x.size());
  }
  CHECK(std::abs(mean_r) < 1e-4);  // the bias is not penalized: its gradient 2·mean(r) vanishes
  for (std::size_t j = 0; j < 2; ++j) {  // the two useful weights stay large: stationarity holds
    CHECK(std::abs(w[j]) > 0.5);
    CHECK(std::abs(g[j] + lambda * (w[j] > 0 ? 1.0 : -1.0)) < slack);
  }
  for (std::size_t j = 2; j < 5; ++j) {  // the useless ones sit at zero
    CHECK(std::abs(w[j]) <= slack);
    CHECK(std::abs(g[j]) <= lambda + slack);
  }
}
