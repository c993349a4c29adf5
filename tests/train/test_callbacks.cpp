// Callbacks: call order, stop_training, EarlyStopping on scripted values (and restoring the best
// weights), ModelCheckpoint files, learning-rate scheduler callbacks, LambdaCallback.
#include <xgrad/data/data.hpp>
#include <xgrad/nn/nn.hpp>
#include <xgrad/optim/optim.hpp>
#include <xgrad/train/train.hpp>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "data/temp_dir.hpp"
#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;
using xgrad::testing::TempDir;

namespace {

data::TensorDataset small_data(std::int64_t n = 12) {
  manual_seed(17);
  Tensor x = randn({n, 2}, kFloat64);
  Tensor y = x.matmul(tensor({{1.5}, {-0.5}}, kFloat64)) + 0.3;
  return data::TensorDataset(x, y);
}

train::FitOptions quiet() { return train::FitOptions().verbose(0).seed(1); }

nn::StateDict snapshot(const nn::Module& m) {
  nn::StateDict out;
  for (const auto& item : m.state_dict()) out.insert(item.key, item.value.clone());
  return out;
}

bool same_state(const nn::StateDict& a, const nn::StateDict& b) {
  if (a.keys() != b.keys()) return false;
  for (const auto& item : a)
    if (item.value.to_vector<double>() != b.at(item.key).to_vector<double>()) return false;
  return true;
}

// A callback that replaces logs[key] by a scripted value per epoch (put it before the callback under test).
std::shared_ptr<train::LambdaCallback> script(const std::string& key, std::vector<double> values) {
  return std::make_shared<train::LambdaCallback>(train::LambdaCallbackHooks{
      .on_epoch_end = [key, values](train::FitContext&, std::int64_t epoch, train::Logs& logs) {
        logs.insert_or_assign(key, values.at(static_cast<std::size_t>(epoch)));
      }});
}

// A callback that keeps a snapshot of the model's weights at every epoch end.
std::shared_ptr<train::LambdaCallback> recorder(std::vector<nn::StateDict>& out) {
  return std::make_shared<train::LambdaCallback>(train::LambdaCallbackHooks{
      .on_epoch_end = [&out](train::FitContext& ctx, std::int64_t, train::Logs&) { out.push_back(snapshot(ctx.model)); }});
}

}  // namespace

TEST_CASE("callbacks: hooks run in order, the History is appended after on_epoch_end, logs keys") {
  const data::TensorDataset ds = small_data(10);
  nn::Linear model(2, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05));
  std::vector<std::string> events;
  auto cb = std::make_shared<train::LambdaCallback>(train::LambdaCallbackHooks{
      .on_train_begin = [&](train::FitContext& ctx) {
        events.push_back("train_begin");
        CHECK(ctx.steps_per_epoch == 2);
        CHECK(ctx.num_train_samples == 8);
        CHECK(ctx.num_val_samples == 2);
        CHECK(ctx.batch_size == 5);
        CHECK(ctx.epochs == 2);
        CHECK(ctx.seed == 1);
      },
      .on_train_end = [&](train::FitContext& ctx, const train::Logs& logs) {
        events.push_back("train_end");
        CHECK(logs.contains("val_loss"));
        CHECK(ctx.history.size() == 2);
      },
      .on_epoch_begin = [&](train::FitContext& ctx, std::int64_t e) {
        events.push_back("epoch_begin " + std::to_string(e));
        CHECK(ctx.epoch == e);
      },
      .on_epoch_end = [&](train::FitContext& ctx, std::int64_t e, train::Logs& logs) {
        events.push_back("epoch_end " + std::to_string(e));
        CHECK(ctx.history.size() == static_cast<std::size_t>(e));  // not yet recorded
        CHECK(logs.keys() == std::vector<std::string>{"loss", "mae", "val_loss", "val_mae", "lr"});
        logs.insert("custom", 10.0 + static_cast<double>(e));  // recorded by the History
      },
      .on_batch_begin = [&](train::FitContext& ctx, std::int64_t b) {
        events.push_back("batch_begin " + std::to_string(b));
        CHECK(ctx.model.is_training());
      },
      .on_batch_end = [&](train::FitContext&, std::int64_t b, const train::Logs& logs) {
        events.push_back("batch_end " + std::to_string(b));
        CHECK(logs.keys() == std::vector<std::string>{"loss", "mae"});
      }});
  const train::History h = train::fit(model, train::losses::mse, sgd, ds,
                                      quiet().epochs(2).batch_size(5).validation_split(0.2).metric(train::metrics::mae()).callback(cb));
  const std::vector<std::string> expected = {"train_begin", "epoch_begin 0", "batch_begin 0", "batch_end 0", "batch_begin 1",
                                             "batch_end 1",  "epoch_end 0",   "epoch_begin 1", "batch_begin 0", "batch_end 0",
                                             "batch_begin 1", "batch_end 1",  "epoch_end 1",   "train_end"};
  CHECK(events == expected);
  CHECK(h.at("custom") == std::vector<double>{10.0, 11.0});
}

TEST_CASE("callbacks: running batch logs are the sample-weighted means so far") {
  Tensor x = arange(0.0, 5.0, 1.0, kFloat64).reshape({5, 1});
  const data::TensorDataset ds(x, x);
  nn::Linear model(1, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.0));
  train::Metric mean_target{"t", [](const Tensor&, const Tensor& t) { return t.mean().item<double>(); }};
  std::vector<double> running;
  auto cb = std::make_shared<train::LambdaCallback>(train::LambdaCallbackHooks{
      .on_batch_end = [&](train::FitContext&, std::int64_t, const train::Logs& logs) { running.push_back(logs.at("t")); }});
  train::fit(model, train::losses::mse, sgd, ds, quiet().batch_size(2).shuffle(false).metric(mean_target).callback(cb));
  // Batches {0, 1}, {2, 3}, {4}: running means 0.5, 1.5, 2.
  REQUIRE(running.size() == 3);
  CHECK(running[0] == doctest::Approx(0.5));
  CHECK(running[1] == doctest::Approx(1.5));
  CHECK(running[2] == doctest::Approx(2.0));
}

TEST_CASE("callbacks: stop_training set in on_batch_end ends the epoch after that batch, the epoch is still logged") {
  const data::TensorDataset ds = small_data(12);
  nn::Linear model(2, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05));
  int batches = 0;
  auto cb = std::make_shared<train::LambdaCallback>(train::LambdaCallbackHooks{
      .on_batch_end = [&](train::FitContext& ctx, std::int64_t b, const train::Logs&) {
        ++batches;
        if (ctx.epoch == 1 && b == 1) ctx.stop_training = true;
      }});
  const train::History h = train::fit(model, train::losses::mse, sgd, ds, quiet().epochs(5).batch_size(3).callback(cb));
  CHECK(batches == 4 + 2);
  CHECK(h.epochs() == std::vector<std::int64_t>{0, 1});
}

TEST_CASE("EarlyStopping: stops at the right epoch on a scripted val_loss and restores the best weights") {
  const data::TensorDataset ds = small_data();
  manual_seed(2);
  nn::Linear model(2, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05));
  // Best at epoch 1 (0.8); epochs 2 and 3 do not improve -> patience 2 is exhausted at epoch 3.
  std::vector<nn::StateDict> weights;
  auto stopper = std::make_shared<train::EarlyStopping>(train::EarlyStoppingOptions().patience(2).restore_best_weights(true));
  const train::History h = train::fit(model, train::losses::mse, sgd, ds,
                                      quiet().epochs(10).batch_size(4).callbacks(
                                          {script("val_loss", {1.0, 0.8, 0.9, 0.85, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}), recorder(weights),
                                           stopper}));
  CHECK(h.size() == 4);
  CHECK(h.val_loss() == std::vector<double>{1.0, 0.8, 0.9, 0.85});
  CHECK(stopper->stopped_epoch() == 3);
  CHECK(stopper->best_epoch() == 1);
  CHECK(stopper->best() == 0.8);
  REQUIRE(weights.size() == 4);
  CHECK_FALSE(same_state(weights[1], weights[3]));  // training moved the weights
  CHECK(same_state(snapshot(model), weights[1]));
}

TEST_CASE("EarlyStopping: patience 0, min_delta, mode max/auto, baseline, no restore") {
  const data::TensorDataset ds = small_data();
  nn::Linear model(2, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05));
  auto run = [&](std::vector<double> values, const std::string& key, train::EarlyStoppingOptions opts) {
    auto stopper = std::make_shared<train::EarlyStopping>(opts.monitor(key));
    const train::History h =
        train::fit(model, train::losses::mse, sgd, ds, quiet().epochs(static_cast<std::int64_t>(values.size())).callbacks({script(key, values), stopper}));
    return std::make_pair(h.size(), stopper->stopped_epoch());
  };
  // patience 0: the first epoch without improvement stops.
  CHECK(run({3, 2, 2, 1}, "val_loss", train::EarlyStoppingOptions()) == std::make_pair(std::size_t{3}, std::int64_t{2}));
  // min_delta 0.5: 2.8 and 2.6 are not improvements on 3.0.
  CHECK(run({3, 2.8, 2.6, 1, 0}, "val_loss", train::EarlyStoppingOptions().patience(2).min_delta(0.5)) ==
        std::make_pair(std::size_t{3}, std::int64_t{2}));
  // "val_accuracy" is maximized in automatic mode.
  CHECK(run({0.5, 0.6, 0.55, 0.58, 0.9}, "val_accuracy", train::EarlyStoppingOptions().patience(2)) ==
        std::make_pair(std::size_t{4}, std::int64_t{3}));
  // Explicit mode max on a loss-like name.
  CHECK(run({1, 2, 3, 4}, "score", train::EarlyStoppingOptions().mode(train::MonitorMode::max)) ==
        std::make_pair(std::size_t{4}, std::int64_t{-1}));
  // Baseline 0.5: improvements that stay above it still count as waiting.
  CHECK(run({0.9, 0.8, 0.7, 0.4, 0.3}, "val_loss", train::EarlyStoppingOptions().patience(3).baseline(0.5)) ==
        std::make_pair(std::size_t{3}, std::int64_t{2}));
  // NaN never improves.
  CHECK(run({1.0, std::nan(""), 0.5}, "val_loss", train::EarlyStoppingOptions()) == std::make_pair(std::size_t{2}, std::int64_t{1}));
  // Runs to the end: stopped_epoch -1; without restore_best_weights the final weights are kept.
  const nn::StateDict before = snapshot(model);
  CHECK(run({3, 2, 1}, "val_loss", train::EarlyStoppingOptions().patience(1)) == std::make_pair(std::size_t{3}, std::int64_t{-1}));
  CHECK_FALSE(same_state(before, snapshot(model)));
}

TEST_CASE("EarlyStopping and ReduceLROnPlateauCallback: a missing monitored value is an error naming the keys") {
  const data::TensorDataset ds = small_data();
  nn::Linear model(2, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05));
  check_throws_with<ValueError>(
      [&] { train::fit(model, train::losses::mse, sgd, ds, quiet().callback(std::make_shared<train::EarlyStopping>())); },
      {"EarlyStopping", "'val_loss'", "available: loss, lr", "validation_split or validation_data"});
  optim::ReduceLROnPlateau plateau(sgd);
  check_throws_with<ValueError>(
      [&] {
        train::fit(model, train::losses::mse, sgd, ds,
                   quiet().callback(std::make_shared<train::ReduceLROnPlateauCallback>(plateau, "accuracy")));
      },
      {"ReduceLROnPlateauCallback", "'accuracy'", "available: loss, lr"});
  check_throws_with<ValueError>([] { train::EarlyStoppingOptions().patience(-1); }, {"EarlyStoppingOptions::patience", "-1"});
  check_throws_with<ValueError>([] { train::EarlyStoppingOptions().min_delta(-0.1); }, {"EarlyStoppingOptions::min_delta", "-0.1"});
  check_throws_with<ValueError>([] { train::EarlyStoppingOptions().monitor(""); }, {"EarlyStoppingOptions::monitor", "empty"});
  check_throws_with<ValueError>([&] { train::ReduceLROnPlateauCallback(plateau, ""); }, {"ReduceLROnPlateauCallback", "empty"});
}

TEST_CASE("EarlyStopping: verbose messages go to the fit output") {
  const data::TensorDataset ds = small_data();
  nn::Linear model(2, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05));
  std::ostringstream out;
  auto stopper = std::make_shared<train::EarlyStopping>(train::EarlyStoppingOptions().verbose(true).restore_best_weights(true));
  train::fit(model, train::losses::mse, sgd, ds, quiet().epochs(5).output(out).callbacks({script("val_loss", {1, 2, 3, 4, 5}), stopper}));
  CHECK(out.str() ==
        "Epoch 2: early stopping (val_loss did not improve on 1 for 1 epoch)\n"
        "Restoring model weights from the end of the best epoch: 1.\n");
}

TEST_CASE("ModelCheckpoint: one loadable file per epoch, named from the pattern") {
  TempDir dir;
  const data::TensorDataset ds = small_data();
  manual_seed(4);
  nn::Linear model(2, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05).momentum(0.9));
  std::vector<nn::StateDict> weights;
  std::vector<double> losses;
  auto ckpt = std::make_shared<train::ModelCheckpoint>(dir.path() + "/m-{epoch:02d}-{val_loss:.2f}.safetensors");
  const train::History h = train::fit(
      model, train::losses::mse, sgd, ds,
      quiet().epochs(3).batch_size(4).callbacks({script("val_loss", {0.5, 0.25, 0.125}), recorder(weights), ckpt}));
  REQUIRE(ckpt->saved_paths().size() == 3);
  CHECK(ckpt->saved_paths()[0] == dir.path() + "/m-01-0.50.safetensors");
  CHECK(ckpt->saved_paths()[2] == dir.path() + "/m-03-0.12.safetensors");
  for (std::size_t e = 0; e < 3; ++e) {
    nn::Linear fresh(2, 1, true, kFloat64);
    const train::Scalars s = train::load_checkpoint(ckpt->saved_paths()[e], fresh);
    CHECK(same_state(snapshot(fresh), weights[e]));
    CHECK(s.at("epoch") == static_cast<double>(e + 1));
    CHECK(s.at("seed") == 1.0);
    CHECK(s.at("logs.loss") == h.loss()[e]);
    CHECK(s.at("logs.val_loss") == h.val_loss()[e]);
    CHECK(s.at("logs.lr") == 0.05);
  }
  // Without save_optimizer the files hold no optimizer state.
  nn::Linear fresh(2, 1, true, kFloat64);
  optim::SGD other(fresh.parameters(), optim::SGDOptions(0.05).momentum(0.9));
  check_throws_with<ValueError>([&] { train::load_checkpoint(ckpt->saved_paths()[0], fresh, other); },
                                {"load_checkpoint", "no optimizer state", "SGD"});
}

TEST_CASE("ModelCheckpoint: save_best_only writes only on improvement, save_optimizer stores the optimizer") {
  TempDir dir;
  const data::TensorDataset ds = small_data();
  nn::Linear model(2, 1, true, kFloat64);
  optim::Adam adam(model.parameters(), optim::AdamOptions(0.01));
  std::vector<nn::StateDict> weights;
  std::vector<optim::OptimizerState> states;
  auto record_optimizer = std::make_shared<train::LambdaCallback>(train::LambdaCallbackHooks{
      .on_epoch_end = [&](train::FitContext& ctx, std::int64_t, train::Logs&) { states.push_back(ctx.optimizer.state_dict()); }});
  auto best = std::make_shared<train::ModelCheckpoint>(
      dir.file("best.safetensors"), train::ModelCheckpointOptions().save_best_only(true).save_optimizer(true));
  auto acc = std::make_shared<train::ModelCheckpoint>(dir.file("acc-{epoch}.safetensors"),
                                                      train::ModelCheckpointOptions().monitor("val_accuracy").save_best_only(true));
  train::fit(model, train::losses::mse, adam, ds,
             quiet().epochs(5).batch_size(4).callbacks({script("val_loss", {0.9, 0.7, 0.8, 0.6, 0.6}),
                                                        script("val_accuracy", {0.1, 0.3, 0.2, 0.2, 0.4}), recorder(weights),
                                                        record_optimizer, best, acc}));
  CHECK(best->saved_paths() == std::vector<std::string>(3, dir.file("best.safetensors")));  // epochs 0, 1, 3
  CHECK(best->best() == 0.6);
  CHECK(acc->saved_paths() == std::vector<std::string>{dir.file("acc-1.safetensors"), dir.file("acc-2.safetensors"),
                                                       dir.file("acc-5.safetensors")});
  // best.safetensors holds epoch 3 (0-based): weights and the Adam state of that moment.
  nn::Linear fresh(2, 1, true, kFloat64);
  optim::Adam fresh_adam(fresh.parameters(), optim::AdamOptions(0.5));
  const train::Scalars s = train::load_checkpoint(dir.file("best.safetensors"), fresh, fresh_adam);
  CHECK(s.at("epoch") == 4.0);
  CHECK(same_state(snapshot(fresh), weights[3]));
  const optim::OptimizerState loaded = fresh_adam.state_dict();
  CHECK(loaded.scalars == states[3].scalars);  // lr 0.01 and step counts restored
  REQUIRE(loaded.tensors.size() == states[3].tensors.size());
  for (const auto& [key, t] : states[3].tensors) CHECK(loaded.tensors.at(key).to_vector<double>() == t.to_vector<double>());
  // A different optimizer type is refused, naming both.
  optim::SGD sgd(fresh.parameters(), optim::SGDOptions(0.1));
  check_throws_with<ValueError>([&] { train::load_checkpoint(dir.file("best.safetensors"), fresh, sgd); },
                                {"load_checkpoint", "Adam", "SGD"});
}

TEST_CASE("ModelCheckpoint: errors for a bad pattern, an unknown name, a missing monitor, an unwritable path") {
  TempDir dir;
  const data::TensorDataset ds = small_data();
  nn::Linear model(2, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05));
  auto fit_with = [&](std::shared_ptr<train::Callback> cb) { train::fit(model, train::losses::mse, sgd, ds, quiet().callback(cb)); };
  check_throws_with<ValueError>([&] { fit_with(std::make_shared<train::ModelCheckpoint>(dir.file("m-{val_loss}.st"))); },
                                {"ModelCheckpoint", "m-{val_loss}.st", "available names: epoch, loss, lr"});
  check_throws_with<ValueError>([&] { fit_with(std::make_shared<train::ModelCheckpoint>(dir.file("m-{epoch"))); },
                                {"ModelCheckpoint", "m-{epoch"});
  check_throws_with<ValueError>(
      [&] {
        fit_with(std::make_shared<train::ModelCheckpoint>(dir.file("m.st"), train::ModelCheckpointOptions().save_best_only(true)));
      },
      {"ModelCheckpoint", "'val_loss'", "available: loss, lr"});
  check_throws_with<IOError>([&] { fit_with(std::make_shared<train::ModelCheckpoint>(dir.file("no/such/dir/m.st"))); },
                             {"no/such/dir/m.st"});
  check_throws_with<ValueError>([] { train::ModelCheckpoint(""); }, {"ModelCheckpoint", "empty"});
  CHECK(train::format_checkpoint_path("e{epoch:03d}_{loss:.1f}", 7, [] {
          train::Logs l;
          l.insert("loss", 0.25);
          return l;
        }()) == "e007_0.2");
}

TEST_CASE("LRSchedulerCallback: steps per epoch (logged lr is the epoch's) or per batch, ReduceLROnPlateauCallback") {
  const data::TensorDataset ds = small_data(12);
  nn::Linear model(2, 1, true, kFloat64);
  {
    optim::SGD sgd(model.parameters(), optim::SGDOptions(0.1));
    optim::StepLR step(sgd, 2, 0.5);
    const train::History h = train::fit(model, train::losses::mse, sgd, ds,
                                        quiet().epochs(5).callback(std::make_shared<train::LRSchedulerCallback>(step)));
    const std::vector<double> expected = {0.1, 0.1, 0.05, 0.05, 0.025};
    REQUIRE(h.lr().size() == 5);
    for (std::size_t i = 0; i < 5; ++i) CHECK(h.lr()[i] == doctest::Approx(expected[i]).epsilon(1e-15));
  }
  {
    optim::SGD sgd(model.parameters(), optim::SGDOptions(0.1));
    optim::ExponentialLR expo(sgd, 0.5);
    const train::History h =
        train::fit(model, train::losses::mse, sgd, ds,
                   quiet().epochs(2).batch_size(4).callback(std::make_shared<train::LRSchedulerCallback>(expo, train::ScheduleUnit::batch)));
    // 3 batches per epoch, each followed by a step: the lr after epoch e's last batch is 0.1·0.5^(3(e+1)).
    CHECK(h.lr()[0] == doctest::Approx(0.1 / 8).epsilon(1e-15));
    CHECK(h.lr()[1] == doctest::Approx(0.1 / 64).epsilon(1e-15));
  }
  {
    optim::SGD sgd(model.parameters(), optim::SGDOptions(0.1));
    optim::ReduceLROnPlateau plateau(sgd, optim::ReduceLROnPlateauOptions().patience(1).factor(0.5));
    const train::History h =
        train::fit(model, train::losses::mse, sgd, ds,
                   quiet().epochs(6).callbacks({script("val_loss", {1.0, 1.0, 1.0, 0.5, 0.5, 0.5}),
                                                std::make_shared<train::ReduceLROnPlateauCallback>(plateau)}));
    // Bad epochs 1, 2 -> reduce after epoch 2; improvement at 3; bad 4, 5 -> reduce after epoch 5.
    CHECK(h.lr() == std::vector<double>{0.1, 0.1, 0.1, 0.05, 0.05, 0.05});
    CHECK(sgd.param_group(0).options().get_lr() == 0.025);
  }
}
