// fit / evaluate / predict: convergence, History against a hand-written loop, validation_split,
// metrics against hand computations, History CSV, and error messages.
#include <xgrad/data/data.hpp>
#include <xgrad/nn/nn.hpp>
#include <xgrad/optim/optim.hpp>
#include <xgrad/train/train.hpp>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "data/temp_dir.hpp"
#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;

namespace {

// y = 2x + 1 on n points evenly spaced in [-1, 1], float64, shapes (n, 1).
data::TensorDataset line_data(std::int64_t n) {
  Tensor x = linspace(-1.0, 1.0, n, kFloat64).reshape({n, 1});
  Tensor y = x * 2.0 + 1.0;
  return data::TensorDataset(x, y);
}

// A regression problem with 3 inputs and 2 outputs (seeded).
data::TensorDataset regression_data(std::int64_t n, std::uint64_t seed) {
  manual_seed(seed);
  Tensor x = randn({n, 3}, kFloat64);
  Tensor w = tensor({{1.0, -2.0, 0.5}, {0.3, 0.8, -1.0}}, kFloat64);
  Tensor y = x.matmul(w.t()) + randn({n, 2}, kFloat64) * 0.1;
  return data::TensorDataset(x, y);
}

bool same_values(const Tensor& a, const Tensor& b) { return a.shape() == b.shape() && a.to_vector<double>() == b.to_vector<double>(); }

bool same_state(const nn::Module& a, const nn::Module& b) {
  const auto sa = a.state_dict(), sb = b.state_dict();
  if (sa.keys() != sb.keys()) return false;
  for (const auto& item : sa)
    if (!same_values(item.value, sb.at(item.key))) return false;
  return true;
}

train::FitOptions quiet() { return train::FitOptions().verbose(0); }

}  // namespace

TEST_CASE("fit: linear regression y = 2x + 1 converges") {
  manual_seed(0);
  nn::Linear model(1, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.1));
  const train::History h =
      train::fit(model, train::losses::mse, sgd, line_data(64), quiet().epochs(150).batch_size(16).seed(1));
  REQUIRE(h.size() == 150);
  CHECK(h.epochs().front() == 0);
  CHECK(h.epochs().back() == 149);
  CHECK(model.weight().item<double>() == doctest::Approx(2.0).epsilon(1e-6));
  CHECK(model.bias().item<double>() == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(h.loss().back() < 1e-10);
  CHECK(h.loss().back() < h.loss().front());
  CHECK(h.keys() == std::vector<std::string>{"loss", "lr"});
  CHECK(h.lr().front() == 0.1);
  CHECK(model.is_training());
}

TEST_CASE("fit: History losses equal a hand-written loop over the same shuffled batches (bit-exact)") {
  const data::TensorDataset ds = regression_data(50, 11);  // 50 = 3 x 16 + 2: the last batch is small
  manual_seed(3);
  nn::Linear a(3, 2, true, kFloat64);
  nn::Linear b(3, 2, true, kFloat64);
  b.load_state_dict(a.state_dict());
  optim::SGD oa(a.parameters(), optim::SGDOptions(0.05).momentum(0.9));
  optim::SGD ob(b.parameters(), optim::SGDOptions(0.05).momentum(0.9));

  const train::History h = train::fit(a, train::losses::mse, oa, ds, quiet().epochs(4).batch_size(16).seed(7));

  // The custom loop: the same DataLoader rule (seed 7, epoch e), sample-weighted means.
  data::DataLoader loader(ds, {.batch_size = 16, .shuffle = true, .seed = 7});
  std::vector<double> expected, unweighted;
  for (std::int64_t e = 0; e < 4; ++e) {
    loader.set_epoch(e);
    double sum = 0.0, plain = 0.0;
    std::int64_t count = 0, batches = 0;
    for (const data::Batch& batch : loader) {
      ob.zero_grad();
      Tensor loss = mse_loss(b(batch.input), batch.target);
      loss.backward();
      ob.step();
      sum += loss.item<double>() * static_cast<double>(batch.input.size(0));
      plain += loss.item<double>();
      count += batch.input.size(0);
      ++batches;
    }
    CHECK(batches == 4);
    expected.push_back(sum / static_cast<double>(count));
    unweighted.push_back(plain / static_cast<double>(batches));
  }
  CHECK(h.loss() == expected);
  CHECK(h.loss() != unweighted);  // the weighting by batch size matters with a 2-sample last batch
  CHECK(same_state(a, b));
}

TEST_CASE("fit: with lr 0 the epoch loss and metrics are the means over all samples") {
  const data::TensorDataset ds = regression_data(23, 5);
  manual_seed(4);
  nn::Linear model(3, 2, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.0));
  const train::History h = train::fit(model, train::losses::mse, sgd, ds,
                                      quiet().epochs(2).batch_size(5).metric(train::metrics::mae()).metric(train::metrics::mse()));
  // Hand computation over the whole data set.
  const auto out = model(ds.inputs()).to_vector<double>();
  const auto tgt = ds.targets().to_vector<double>();
  double se = 0.0, ae = 0.0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    se += (out[i] - tgt[i]) * (out[i] - tgt[i]);
    ae += std::abs(out[i] - tgt[i]);
  }
  const double mse = se / static_cast<double>(out.size()), mae = ae / static_cast<double>(out.size());
  for (std::size_t e = 0; e < 2; ++e) {
    CHECK(h.loss()[e] == doctest::Approx(mse).epsilon(1e-12));
    CHECK(h.metric("mse")[e] == doctest::Approx(mse).epsilon(1e-12));
    CHECK(h.metric("mae")[e] == doctest::Approx(mae).epsilon(1e-12));
  }
  CHECK(h.keys() == std::vector<std::string>{"loss", "mae", "mse", "lr"});
}

TEST_CASE("fit: validation_split holds out the last fraction, before shuffling") {
  // Inputs are the sample indices, so a forward hook tells which samples fit used for what.
  const std::int64_t n = 10;
  Tensor x = arange(0.0, static_cast<double>(n), 1.0, kFloat64).reshape({n, 1});
  const data::TensorDataset ds(x, x * 3.0);
  manual_seed(1);
  nn::Linear model(1, 1, true, kFloat64);
  std::multiset<double> trained;
  std::vector<double> validated;
  model.register_forward_hook([&](nn::Module& m, const Tensor& input, const Tensor&) {
    for (double v : input.to_vector<double>()) {
      if (m.is_training()) trained.insert(v);
      else validated.push_back(v);
    }
  });
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.01));
  const train::History h =
      train::fit(model, train::losses::mse, sgd, ds, quiet().epochs(2).batch_size(3).validation_split(0.2).seed(5));
  // floor(10 * 0.8) = 8 training samples (0..7, each once per epoch), validation = samples 8, 9 in order.
  std::multiset<double> expected_train;
  for (int e = 0; e < 2; ++e)
    for (int i = 0; i < 8; ++i) expected_train.insert(i);
  CHECK(trained == expected_train);
  CHECK(validated == std::vector<double>{8, 9, 8, 9});
  CHECK(h.keys() == std::vector<std::string>{"loss", "val_loss", "lr"});

  // val_loss is the loss of the final model on samples 8 and 9.
  const data::TensorDataset last(narrow(x, 0, 8, 2), narrow(x, 0, 8, 2) * 3.0);
  const auto ev = train::evaluate(model, train::losses::mse, last);
  CHECK(h.val_loss().back() == ev.at("loss"));
}

TEST_CASE("fit: validation_data gives val_ metrics, the model is evaluated in eval mode without recording") {
  const data::TensorDataset ds = regression_data(20, 2);
  const data::TensorDataset val = regression_data(7, 3);
  manual_seed(8);
  auto model = std::make_shared<nn::Sequential>(nn::Linear(3, 4, true, kFloat64), nn::Tanh(), nn::Dropout(0.5),
                                                nn::Linear(4, 2, true, kFloat64));
  int eval_calls = 0;
  model->register_forward_hook([&](nn::Module& m, const Tensor&, const Tensor& out) {
    if (!m.is_training()) {
      ++eval_calls;
      CHECK_FALSE(out.requires_grad());
      CHECK_FALSE(GradMode::is_enabled());
    } else {
      CHECK(out.requires_grad());
    }
  });
  optim::Adam adam(model->parameters(), optim::AdamOptions(0.01));
  const train::History h = train::fit(*model, train::losses::mse, adam, ds,
                                      quiet().epochs(3).batch_size(8).validation_data(val).validation_batch_size(4)
                                          .metric(train::metrics::mae()));
  CHECK(eval_calls == 3 * 2);  // 7 validation samples in batches of 4, every epoch
  CHECK(h.keys() == std::vector<std::string>{"loss", "mae", "val_loss", "val_mae", "lr"});
  // The last val_loss is the final model's evaluation (dropout off in eval mode, so deterministic).
  const auto ev = train::evaluate(*model, train::losses::mse, val, {train::metrics::mae()}, 4);
  CHECK(h.val_loss().back() == ev.at("loss"));
  CHECK(h.val_metric("mae").back() == ev.at("mae"));
  CHECK(model->is_training());
}

TEST_CASE("fit: initial_epoch numbers the epochs and epochs == initial_epoch runs nothing") {
  const data::TensorDataset ds = line_data(8);
  nn::Linear model(1, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.1));
  const train::History h = train::fit(model, train::losses::mse, sgd, ds, quiet().epochs(5).initial_epoch(3));
  CHECK(h.epochs() == std::vector<std::int64_t>{3, 4});
  const train::History none = train::fit(model, train::losses::mse, sgd, ds, quiet().epochs(5).initial_epoch(5));
  CHECK(none.empty());
}

TEST_CASE("fit: classification with cross_entropy and accuracy") {
  // Two well separated blobs; labels int64.
  manual_seed(21);
  const std::int64_t n = 40;
  Tensor x = randn({n, 2}, kFloat64) * 0.3;
  std::vector<std::int64_t> labels(n);
  auto xd = x.to_vector<double>();
  for (std::int64_t i = 0; i < n; ++i) {
    labels[static_cast<std::size_t>(i)] = i % 2;
    xd[static_cast<std::size_t>(2 * i)] += i % 2 == 0 ? -2.0 : 2.0;
  }
  const data::TensorDataset ds(from_vector(xd, {n, 2}, kFloat64), from_vector(labels, {n}));
  nn::Linear model(2, 2, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.5));
  const train::History h = train::fit(model, train::losses::cross_entropy, sgd, ds,
                                      quiet().epochs(20).batch_size(8).seed(3).metric(train::metrics::accuracy()));
  CHECK(h.metric("accuracy").back() == 1.0);
  CHECK(h.loss().back() < h.loss().front());
  const auto ev = train::evaluate(model, train::losses::cross_entropy, ds, {train::metrics::accuracy()});
  CHECK(ev.at("accuracy") == 1.0);
}

TEST_CASE("losses: the ready-made LossFns are the mean-reduced xgrad losses") {
  Tensor o = tensor({{0.2, 0.7}, {0.9, 0.4}}, kFloat64);
  Tensor t = tensor({{0.0, 1.0}, {1.0, 0.0}}, kFloat64);
  CHECK(train::losses::mse(o, t).item<double>() == doctest::Approx((0.04 + 0.09 + 0.01 + 0.16) / 4));
  CHECK(train::losses::mae(o, t).item<double>() == doctest::Approx((0.2 + 0.3 + 0.1 + 0.4) / 4));
  const double bce = -(std::log(0.8) + std::log(0.7) + std::log(0.9) + std::log(0.6)) / 4;
  CHECK(train::losses::bce(o, t).item<double>() == doctest::Approx(bce));
  Tensor z = tensor({{0.5, -1.0}, {2.0, 0.0}}, kFloat64);
  auto softplus = [](double v) { return std::log1p(std::exp(v)); };
  const double bcel = (softplus(0.5) + softplus(1.0) + softplus(-2.0) + softplus(0.0)) / 4;  // -log σ(z) or -log(1-σ(z))
  CHECK(train::losses::bce_with_logits(z, t).item<double>() == doctest::Approx(bcel));
  Tensor labels = tensor_int({1, 0});
  const double ce = (std::log(std::exp(0.5) + std::exp(-1.0)) + 1.0 + std::log(std::exp(2.0) + 1.0) - 2.0) / 2;
  CHECK(train::losses::cross_entropy(z, labels).item<double>() == doctest::Approx(ce));
  const train::LossFn smoothed = train::losses::cross_entropy_with({.label_smoothing = 0.2});
  // Smoothed target (1-0.2)·onehot + 0.1: loss = -Σ t_c log_softmax_c.
  const double l0 = std::log(std::exp(0.5) + std::exp(-1.0)), l1 = std::log(std::exp(2.0) + 1.0);
  const double ce_s = ((0.1 * (l0 - 0.5) + 0.9 * (l0 + 1.0)) + (0.9 * (l1 - 2.0) + 0.1 * l1)) / 2;
  CHECK(smoothed(z, labels).item<double>() == doctest::Approx(ce_s));
}

TEST_CASE("metrics: accuracy, binary_accuracy, mae, mse against hand computations") {
  Tensor logits = tensor({{0.1, 2.0, -1.0}, {3.0, 0.0, 0.5}, {0.2, 0.1, 0.3}, {1.0, 1.0, 0.0}});  // argmax 1, 0, 2, 0 (tie)
  const auto acc = train::metrics::accuracy();
  CHECK(acc.name == "accuracy");
  CHECK(acc.fn(logits, tensor_int({1, 0, 0, 0})) == 0.75);
  CHECK(acc.fn(logits, tensor({1.0, 2.0, 0.0, 1.0})) == 0.25);  // float class indices
  CHECK(acc.fn(logits, tensor({{0, 1, 0}, {1, 0, 0}, {0, 0, 1}, {0, 1, 0}})) == 0.75);  // one-hot
  // (2, 2, 3) outputs: argmax over the last dim, targets (2, 2).
  CHECK(acc.fn(logits.reshape({2, 2, 3}), tensor_int({1, 0, 2, 1}).reshape({2, 2})) == 0.75);
  check_throws_with<ShapeError>([&] { acc.fn(logits, tensor_int({1, 0})); }, {"accuracy", "(2,)", "(4,)", "(4, 3)"});
  check_throws_with<ShapeError>([&] { acc.fn(tensor({{0.3}, {0.8}}), tensor({0.0, 1.0})); }, {"accuracy", "(2, 1)", "binary_accuracy"});
  check_throws_with<ValueError>([&] { acc.fn(logits, tensor({1.0, 0.5, 0.0, 0.0})); }, {"accuracy", "integers", "0.5", "row 1"});

  Tensor probs = tensor({{0.9}, {0.4}, {0.6}, {0.1}, {0.5}});
  Tensor truth = tensor({1.0, 1.0, 0.0, 0.0, 0.0});
  const auto bin = train::metrics::binary_accuracy();
  CHECK(bin.name == "binary_accuracy");
  CHECK(bin.fn(probs, truth) == doctest::Approx(3.0 / 5.0));  // 0.9 ok, 0.4 wrong, 0.6 wrong, 0.1 ok, 0.5 ok (not > 0.5)
  CHECK(train::metrics::binary_accuracy(0.35).fn(probs, truth) == doctest::Approx(3.0 / 5.0));  // 0.4 ok now, 0.5 wrong
  CHECK(train::metrics::binary_accuracy(0.0).fn(tensor({-1.0, 2.0}), tensor({0.0, 1.0})) == 1.0);  // logits
  check_throws_with<ShapeError>([&] { bin.fn(probs, tensor({1.0, 0.0})); }, {"binary_accuracy", "(5, 1)", "(2,)"});

  Tensor o = tensor({{1.0, -2.0}, {0.5, 4.0}}, kFloat64);
  Tensor t = tensor({{0.0, 0.0}, {1.0, 1.0}}, kFloat64);
  CHECK(train::metrics::mae().fn(o, t) == doctest::Approx((1.0 + 2.0 + 0.5 + 3.0) / 4));
  CHECK(train::metrics::mse().fn(o, t) == doctest::Approx((1.0 + 4.0 + 0.25 + 9.0) / 4));
  check_throws_with<ShapeError>([&] { train::metrics::mae().fn(o, tensor({1.0, 2.0})); }, {"mae", "(2, 2)", "(2,)"});
  check_throws_with<ShapeError>([&] { train::metrics::mse().fn(o, tensor({1.0, 2.0})); }, {"mse", "(2, 2)", "(2,)"});
}

TEST_CASE("fit: a user metric is averaged over samples (weighted by batch size)") {
  // Inputs 0..6; the metric is the batch mean of the inputs; batches of 3 (3, 3, 1): the epoch value is the
  // mean over samples, 3, not the mean of the batch means (1 + 4 + 6) / 3.
  Tensor x = arange(0.0, 7.0, 1.0, kFloat64).reshape({7, 1});
  const data::TensorDataset ds(x, x);
  nn::Linear model(1, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.0));
  train::Metric mean_input{"mean_target", [&](const Tensor&, const Tensor& target) { return target.mean().item<double>(); }};
  const train::History h =
      train::fit(model, train::losses::mse, sgd, ds, quiet().epochs(1).batch_size(3).shuffle(false).metric(mean_input));
  CHECK(h.metric("mean_target")[0] == doctest::Approx(3.0).epsilon(1e-15));
}

TEST_CASE("evaluate and predict: batched results equal the whole-batch computation, training flag restored") {
  const data::TensorDataset ds = regression_data(10, 9);
  manual_seed(2);
  nn::Sequential model(nn::Linear(3, 5, true, kFloat64), nn::ReLU(), nn::Dropout(0.3), nn::Linear(5, 2, true, kFloat64));
  model.train();
  const auto ev = train::evaluate(model, train::losses::mse, ds, {train::metrics::mae()}, 3);
  CHECK(model.is_training());
  Tensor full;
  {
    NoGradGuard g;
    model.eval();
    full = model(ds.inputs());
    model.train();
  }
  CHECK(ev.at("loss") == doctest::Approx(mse_loss(full, ds.targets()).item<double>()).epsilon(1e-12));
  CHECK(ev.at("mae") == doctest::Approx(l1_loss(full, ds.targets()).item<double>()).epsilon(1e-12));
  CHECK(ev.size() == 2);

  const Tensor p = train::predict(model, ds.inputs(), 4);
  CHECK(model.is_training());
  CHECK(p.shape() == Shape{10, 2});
  CHECK_FALSE(p.requires_grad());
  CHECK(allclose(p, full, 1e-12, 1e-12));
  model.eval();
  const Tensor p1 = train::predict(model, ds.inputs(), 100);
  CHECK_FALSE(model.is_training());
  CHECK(allclose(p1, full, 1e-12, 1e-12));
}

TEST_CASE("History: columns, NaN for missing values, rows, CSV") {
  train::History h;
  train::Logs a;
  a.insert("loss", 0.5);
  a.insert("lr", 0.1);
  h.append(0, a);
  train::Logs b;
  b.insert("loss", 0.25);
  b.insert("extra", 3.0);
  b.insert("lr", 0.05);
  h.append(1, b);
  CHECK(h.size() == 2);
  CHECK(h.keys() == std::vector<std::string>{"loss", "lr", "extra"});
  CHECK(std::isnan(h.at("extra")[0]));
  CHECK(h.at("extra")[1] == 3.0);
  CHECK(h.lr() == std::vector<double>{0.1, 0.05});
  CHECK(h.row(1).at("loss") == 0.25);
  CHECK(h.to_csv() == "epoch,loss,lr,extra\n0,0.5,0.1,nan\n1,0.25,0.05,3\n");
  check_throws_with<IndexError>([&] { h.val_loss(); }, {"History", "val_loss", "loss, lr, extra"});
  check_throws_with<IndexError>([&] { h.row(2); }, {"History::row", "2"});

  xgrad::testing::TempDir dir;
  h.to_csv(dir.file("h.csv"));
  CHECK(xgrad::testing::read_bytes(dir.file("h.csv")) == h.to_csv());
  check_throws_with<IOError>([&] { h.to_csv(dir.file("missing/h.csv")); }, {"History::to_csv", "missing/h.csv"});
}

TEST_CASE("History: to_csv of a fit run writes every value so that it reads back exactly") {
  const data::TensorDataset ds = regression_data(12, 1);
  nn::Linear model(3, 2, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.1));
  const train::History h = train::fit(model, train::losses::mse, sgd, ds,
                                      quiet().epochs(3).batch_size(4).validation_split(0.25).metric(train::metrics::mae()));
  std::istringstream csv(h.to_csv());
  std::string line;
  std::getline(csv, line);
  CHECK(line == "epoch,loss,mae,val_loss,val_mae,lr");
  for (std::size_t e = 0; e < 3; ++e) {
    REQUIRE(std::getline(csv, line));
    std::istringstream row(line);
    std::string cell;
    std::getline(row, cell, ',');
    CHECK(std::stoll(cell) == static_cast<long long>(e));
    for (const std::string& key : h.keys()) {
      std::getline(row, cell, ',');
      CHECK(std::stod(cell) == h.at(key)[e]);
    }
  }
}

TEST_CASE("fit: option and argument errors have clear messages") {
  const data::TensorDataset ds = line_data(6);
  nn::Linear model(1, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.1));
  using train::FitOptions;
  check_throws_with<ValueError>([] { FitOptions().batch_size(0); }, {"FitOptions::batch_size", ">= 1", "0"});
  check_throws_with<ValueError>([] { FitOptions().epochs(-1); }, {"FitOptions::epochs", ">= 0", "-1"});
  check_throws_with<ValueError>([] { FitOptions().initial_epoch(-2); }, {"FitOptions::initial_epoch", "-2"});
  check_throws_with<ValueError>([] { FitOptions().validation_split(1.0); }, {"FitOptions::validation_split", "[0, 1)", "1"});
  check_throws_with<ValueError>([] { FitOptions().validation_split(-0.1); }, {"FitOptions::validation_split", "-0.1"});
  check_throws_with<ValueError>([] { FitOptions().validation_split(std::nan("")); }, {"FitOptions::validation_split", "nan"});
  check_throws_with<ValueError>([] { FitOptions().validation_batch_size(0); }, {"FitOptions::validation_batch_size", "0"});
  check_throws_with<ValueError>([] { FitOptions().verbose(3); }, {"FitOptions::verbose", "0, 1 or 2", "3"});
  check_throws_with<ValueError>([] { FitOptions().callback(nullptr); }, {"FitOptions::callback", "null"});
  check_throws_with<ValueError>([] { FitOptions().validation_data(std::shared_ptr<const data::Dataset>()); },
                                {"FitOptions::validation_data", "null"});

  const data::TensorDataset empty(zeros({0, 1}, kFloat64), zeros({0, 1}, kFloat64));
  check_throws_with<ValueError>([&] { train::fit(model, train::losses::mse, sgd, empty, quiet()); }, {"fit", "training dataset is empty"});
  check_throws_with<ValueError>([&] { train::fit(model, train::LossFn(), sgd, ds, quiet()); }, {"fit", "loss function is empty"});
  check_throws_with<ValueError>([&] { train::fit(model, train::losses::mse, sgd, ds, quiet().epochs(2).initial_epoch(3)); },
                                {"fit", "epochs (2)", "initial_epoch (3)"});
  check_throws_with<ValueError>(
      [&] { train::fit(model, train::losses::mse, sgd, ds, quiet().validation_split(0.5).validation_data(ds)); },
      {"fit", "validation_split", "validation_data", "choose one"});
  const data::TensorDataset one(zeros({1, 1}, kFloat64), zeros({1, 1}, kFloat64));
  check_throws_with<ValueError>([&] { train::fit(model, train::losses::mse, sgd, one, quiet().validation_split(0.5)); },
                                {"fit", "validation_split 0.5 of 1 samples", "0 training and 1 validation"});
  check_throws_with<ValueError>([&] { train::fit(model, train::losses::mse, sgd, ds, quiet().batch_size(8).drop_last(true)); },
                                {"fit", "drop_last", "6 training samples", "batch_size 8"});
  const data::TensorDataset no_targets(zeros({4, 1}, kFloat64), Tensor());
  check_throws_with<ValueError>([&] { train::fit(model, train::losses::mse, sgd, no_targets, quiet()); }, {"fit", "no targets"});
  const train::LossFn per_sample = [](const Tensor& o, const Tensor& t) { return mse_loss(o, t, Reduction::none); };
  check_throws_with<ValueError>([&] { train::fit(model, per_sample, sgd, ds, quiet().batch_size(4)); },
                                {"fit", "one-element tensor", "(4, 1)"});
  check_throws_with<ValueError>([&] { train::fit(model, train::losses::mse, sgd, ds, quiet().metric({"loss", train::metrics::mae().fn})); },
                                {"fit", "'loss'", "reserved"});
  check_throws_with<ValueError>(
      [&] { train::fit(model, train::losses::mse, sgd, ds, quiet().metric(train::metrics::mae()).metric(train::metrics::mae())); },
      {"fit", "'mae'", "twice"});
  check_throws_with<ValueError>([&] { train::fit(model, train::losses::mse, sgd, ds, quiet().metric({"val_x", train::metrics::mae().fn})); },
                                {"fit", "val_x", "reserved"});
  check_throws_with<ValueError>([&] { train::fit(model, train::losses::mse, sgd, ds, quiet().metric({"", train::metrics::mae().fn})); },
                                {"fit", "empty name"});
  check_throws_with<ValueError>([&] { train::fit(model, train::losses::mse, sgd, ds, quiet().metric({"m", nullptr})); },
                                {"fit", "'m'", "empty function"});

  check_throws_with<ValueError>([&] { train::evaluate(model, train::losses::mse, empty); }, {"evaluate", "empty"});
  check_throws_with<ValueError>([&] { train::evaluate(model, train::losses::mse, ds, {}, 0); }, {"evaluate", "batch_size", "0"});
  check_throws_with<ValueError>([&] { train::evaluate(model, train::losses::mse, no_targets); }, {"evaluate", "no targets"});
  check_throws_with<ValueError>([&] { train::predict(model, Tensor()); }, {"predict", "undefined"});
  check_throws_with<ValueError>([&] { train::predict(model, scalar_tensor(1.0, kFloat64)); }, {"predict", "0-d"});
  check_throws_with<ValueError>([&] { train::predict(model, zeros({0, 1}, kFloat64)); }, {"predict", "no sample", "(0, 1)"});
  check_throws_with<ValueError>([&] { train::predict(model, zeros({2, 1}, kFloat64), 0); }, {"predict", "batch_size", "0"});
}
