// Training checkpoints: save_checkpoint / load_checkpoint round trips, rollback on errors, and training
// resumed from a checkpoint continuing bit-exactly as the uninterrupted run.
#include <xgrad/data/data.hpp>
#include <xgrad/nn/nn.hpp>
#include <xgrad/optim/optim.hpp>
#include <xgrad/train/train.hpp>

#include <cmath>

#include "data/temp_dir.hpp"
#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;
using xgrad::testing::TempDir;

namespace {

data::TensorDataset problem(std::int64_t n = 40) {
  manual_seed(77);
  Tensor x = randn({n, 4}, kFloat64);
  Tensor y = (x.matmul(tensor({{1.0}, {-1.0}, {0.5}, {2.0}}, kFloat64))).tanh() + randn({n, 1}, kFloat64) * 0.05;
  return data::TensorDataset(x, y);
}

// A model with dropout, so that the random generator's state matters for the resume.
std::shared_ptr<nn::Sequential> make_model(std::uint64_t seed) {
  manual_seed(seed);
  return std::make_shared<nn::Sequential>(nn::Linear(4, 8, true, kFloat64), nn::Tanh(), nn::Dropout(0.25),
                                          nn::Linear(8, 1, true, kFloat64));
}

std::vector<double> flat_state(const nn::Module& m) {
  std::vector<double> out;
  for (const auto& item : m.state_dict())
    for (double v : item.value.to_vector<double>()) out.push_back(v);
  return out;
}

}  // namespace

TEST_CASE("training checkpoint: model, optimizer, scheduler, scalars and generator round trip") {
  TempDir dir;
  const std::string path = dir.file("state.safetensors");
  auto model = make_model(1);
  optim::SGD sgd(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  optim::StepLR step(sgd, 3, 0.5);
  const data::TensorDataset ds = problem(16);
  train::fit(*model, train::losses::mse, sgd, ds,
             train::FitOptions().epochs(4).batch_size(4).verbose(0).seed(3).callback(std::make_shared<train::LRSchedulerCallback>(step)));
  train::save_checkpoint(path, *model, sgd, step, {{"epoch", 4.0}, {"best", 0.125}, {"third", 1.0 / 3.0}});
  const std::uint64_t next_draw = std::mt19937_64(generator())();

  auto other = make_model(2);
  optim::SGD sgd2(other->parameters(), optim::SGDOptions(0.7).momentum(0.1));
  optim::StepLR step2(sgd2, 3, 0.5);
  generator().seed(12345);
  const train::Scalars s = train::load_checkpoint(path, *other, sgd2, step2);
  CHECK(s == train::Scalars{{"epoch", 4.0}, {"best", 0.125}, {"third", 1.0 / 3.0}});
  CHECK(flat_state(*other) == flat_state(*model));
  CHECK(sgd2.state_dict().scalars == sgd.state_dict().scalars);
  for (const auto& [key, t] : sgd.state_dict().tensors) CHECK(sgd2.state_dict().tensors.at(key).to_vector<double>() == t.to_vector<double>());
  CHECK(step2.state_dict().scalars == step.state_dict().scalars);
  CHECK(generator()() == next_draw);  // the generator continues where it was when saved

  // restore_rng = false leaves the generator alone.
  generator().seed(5);
  const std::uint64_t expected = std::mt19937_64(generator())();
  train::load_checkpoint(path, *other, false);
  CHECK(generator()() == expected);

  // The file is a plain safetensors file with the documented names.
  const train::Checkpoint raw = train::load_safetensors(path);
  CHECK(raw.metadata.at("format") == "xgrad.training_checkpoint");
  CHECK(raw.metadata.at("optimizer") == "SGD");
  CHECK(raw.tensors.count("model.0.weight") == 1);
  CHECK(raw.tensors.count("optimizer.tensors.state.0.momentum_buffer") == 1);
  CHECK(raw.tensors.at("optimizer.scalars.param_groups.0.lr").item<double>() == sgd.param_group(0).options().get_lr());
  CHECK(raw.tensors.at("scheduler.scalars.last_epoch").item<double>() == 4.0);
  CHECK(raw.tensors.at("extra.best").item<double>() == 0.125);
}

TEST_CASE("training checkpoint: state_dict_to_tensors / state_dict_from_tensors are inverse") {
  optim::StateDict st;
  st.tensors["state.0.exp_avg"] = tensor({1.0, 2.0}, kFloat64);
  st.tensors["state.1.exp_avg"] = scalar_tensor(3.0, kFloat64);  // a 0-d buffer stays a tensor
  st.scalars["state.0.step"] = 7.0;
  st.scalars["param_groups.0.lr"] = 0.001;
  const train::TensorMap flat = train::state_dict_to_tensors(st, "opt.");
  CHECK(flat.size() == 4);
  CHECK(flat.count("opt.tensors.state.1.exp_avg") == 1);
  CHECK(flat.at("opt.scalars.state.0.step").dtype() == kFloat64);
  train::TensorMap with_others = flat;
  with_others["model.w"] = zeros({2});
  const optim::StateDict back = train::state_dict_from_tensors(with_others, "opt.");
  CHECK(back.scalars == st.scalars);
  REQUIRE(back.tensors.size() == 2);
  CHECK(back.tensors.at("state.0.exp_avg").to_vector<double>() == std::vector<double>{1.0, 2.0});
  CHECK(back.tensors.at("state.1.exp_avg").dim() == 0);
  with_others["opt.scalars.bad"] = zeros({2});
  check_throws_with<IOError>([&] { train::state_dict_from_tensors(with_others, "opt."); },
                             {"state_dict_from_tensors", "opt.scalars.bad", "one-element", "(2,)"});
}

TEST_CASE("training checkpoint: errors leave model and optimizer unchanged") {
  TempDir dir;
  nn::Linear model(3, 2, true, kFloat64);
  optim::Adam adam(model.parameters(), optim::AdamOptions(0.01));
  const std::string path = dir.file("c.safetensors");
  train::save_checkpoint(path, model, adam, {{"epoch", 1.0}});

  // Not a training checkpoint.
  train::save_safetensors(dir.file("plain.safetensors"), {{"weight", zeros({2, 3}, kFloat64)}});
  check_throws_with<IOError>([&] { train::load_checkpoint(dir.file("plain.safetensors"), model); },
                             {"load_checkpoint", "plain.safetensors", "not an xgrad training checkpoint", "load_safetensors"});
  check_throws_with<IOError>([&] { train::load_checkpoint(dir.file("missing.safetensors"), model); }, {"missing.safetensors"});

  // A model of another shape: ValueError from load_state_dict, nothing changed.
  nn::Linear wider(3, 4, true, kFloat64);
  const auto before = flat_state(wider);
  check_throws_with<ValueError>([&] { train::load_checkpoint(path, wider); }, {"weight", "(4, 3)", "(2, 3)"});
  CHECK(flat_state(wider) == before);

  // The model loads but the optimizer does not (two parameter groups instead of one): the model is rolled back.
  nn::Linear same(3, 2, true, kFloat64);
  optim::Adam two_groups({optim::ParamGroup({same.weight()}), optim::ParamGroup({same.bias()})}, optim::AdamOptions(0.5));
  const auto before_same = flat_state(same);
  const auto opt_before = two_groups.state_dict().scalars;
  check_throws_with<ValueError>([&] { train::load_checkpoint(path, same, two_groups); }, {"Adam", "num_param_groups"});
  CHECK(flat_state(same) == before_same);
  CHECK(two_groups.state_dict().scalars == opt_before);

  // No scheduler state in the file.
  optim::Adam adam2(same.parameters(), optim::AdamOptions(0.5));
  optim::ExponentialLR expo(adam2, 0.9);
  check_throws_with<ValueError>([&] { train::load_checkpoint(path, same, adam2, expo); }, {"load_checkpoint", "no scheduler state"});
  CHECK(flat_state(same) == before_same);
  check_throws_with<ValueError>([&] { train::save_checkpoint(dir.file("x.safetensors"), model, {{"", 1.0}}); },
                                {"save_checkpoint", "empty name"});
}

TEST_CASE("resume: training resumed from a checkpoint continues bit-exactly as the uninterrupted run") {
  TempDir dir;
  const data::TensorDataset ds = problem();
  const auto options = [] {
    return train::FitOptions().epochs(6).batch_size(8).seed(123).verbose(0).validation_split(0.2).metric(train::metrics::mae());
  };

  // Uninterrupted: 6 epochs, a checkpoint (with the Adam state) after every epoch.
  auto straight = make_model(5);
  optim::Adam adam(straight->parameters(), optim::AdamOptions(0.01));
  auto ckpt = std::make_shared<train::ModelCheckpoint>(dir.path() + "/ep{epoch}.safetensors",
                                                       train::ModelCheckpointOptions().save_optimizer(true));
  const train::History full = train::fit(*straight, train::losses::mse, adam, ds, options().callback(ckpt));
  REQUIRE(full.size() == 6);

  // Interrupted after epoch 3: a differently initialized model and a fresh optimizer load the checkpoint.
  auto resumed = make_model(99);
  optim::Adam adam2(resumed->parameters(), optim::AdamOptions(0.3));
  manual_seed(4242);  // whatever happened to the generator meanwhile
  const train::Scalars s = train::load_checkpoint(dir.file("ep3.safetensors"), *resumed, adam2);
  REQUIRE(s.at("epoch") == 3.0);
  const auto seed = static_cast<std::uint64_t>(s.at("seed"));
  CHECK(seed == 123);
  const train::History rest = train::fit(*resumed, train::losses::mse, adam2, ds,
                                         options().initial_epoch(static_cast<std::int64_t>(s.at("epoch"))).seed(seed));
  REQUIRE(rest.size() == 3);
  CHECK(rest.epochs() == std::vector<std::int64_t>{3, 4, 5});
  for (const std::string& key : full.keys())
    for (std::size_t i = 0; i < 3; ++i) {
      INFO(key << " epoch " << 3 + i);
      CHECK(rest.at(key)[i] == full.at(key)[3 + i]);
    }
  CHECK(flat_state(*resumed) == flat_state(*straight));
  CHECK(adam2.state_dict().scalars == adam.state_dict().scalars);

  // Without the generator state the dropout masks differ, and so does the run (the checkpoint's
  // rng_state is what makes the resume exact).
  auto no_rng = make_model(99);
  optim::Adam adam3(no_rng->parameters(), optim::AdamOptions(0.3));
  manual_seed(4242);
  train::load_checkpoint(dir.file("ep3.safetensors"), *no_rng, adam3, /*restore_rng=*/false);
  const train::History other = train::fit(*no_rng, train::losses::mse, adam3, ds, options().initial_epoch(3).seed(seed));
  CHECK(other.loss() != std::vector<double>(full.loss().begin() + 3, full.loss().end()));
}

TEST_CASE("resume: with a scheduler saved by a LambdaCallback") {
  TempDir dir;
  const data::TensorDataset ds = problem(24);
  const std::string path = dir.file("last.safetensors");
  const auto options = [] { return train::FitOptions().epochs(5).batch_size(6).seed(9).verbose(0); };

  auto straight = make_model(6);
  optim::SGD sgd(straight->parameters(), optim::SGDOptions(0.2).momentum(0.5));
  optim::StepLR step(sgd, 2, 0.5);
  const train::History full = train::fit(
      *straight, train::losses::mse, sgd, ds,
      options().callback(std::make_shared<train::LRSchedulerCallback>(step)).callback(std::make_shared<train::LambdaCallback>(
          train::LambdaCallbackHooks{.on_epoch_end = [&](train::FitContext& ctx, std::int64_t epoch, train::Logs&) {
            if (epoch == 1) train::save_checkpoint(path, ctx.model, ctx.optimizer, step, {{"epoch", static_cast<double>(epoch + 1)}});
          }})));

  auto resumed = make_model(7);
  optim::SGD sgd2(resumed->parameters(), optim::SGDOptions(0.9));  // momentum comes back from the checkpoint
  optim::StepLR step2(sgd2, 2, 0.5);
  const train::Scalars s = train::load_checkpoint(path, *resumed, sgd2, step2);
  const train::History rest = train::fit(*resumed, train::losses::mse, sgd2, ds,
                                         options().initial_epoch(static_cast<std::int64_t>(s.at("epoch")))
                                             .callback(std::make_shared<train::LRSchedulerCallback>(step2)));
  CHECK(rest.lr() == std::vector<double>(full.lr().begin() + 2, full.lr().end()));
  CHECK(rest.loss() == std::vector<double>(full.loss().begin() + 2, full.loss().end()));
  CHECK(flat_state(*resumed) == flat_state(*straight));
}
