// The code of docs/training.md, compiled and run. Every ```cpp block of the guide must appear in this
// file (compared line by line, ignoring indentation and blank lines): the first test checks that.
#include <xgrad/data/data.hpp>
#include <xgrad/nn/nn.hpp>
#include <xgrad/optim/optim.hpp>
#include <xgrad/train/train.hpp>

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "data/temp_dir.hpp"
#include "support/test_util.hpp"

using namespace xgrad;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  REQUIRE_MESSAGE(f.good(), "cannot read " << path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Lines without leading/trailing spaces, blank lines dropped, joined with '\n'.
std::string normalized(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    const auto b = line.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    const auto e = line.find_last_not_of(" \t\r");
    out += line.substr(b, e - b + 1) + "\n";
  }
  return out;
}

std::vector<std::string> cpp_blocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  std::size_t pos = 0;
  while ((pos = markdown.find("```cpp\n", pos)) != std::string::npos) {
    pos += 7;
    const std::size_t end = markdown.find("```", pos);
    REQUIRE(end != std::string::npos);
    blocks.push_back(markdown.substr(pos, end - pos));
    pos = end + 3;
  }
  return blocks;
}

// Three Gaussian blobs in 2-D, shuffled (labels int64).
data::TensorDataset blobs(std::int64_t n, std::uint64_t seed) {
  manual_seed(seed);
  Tensor labels = randint(0, 3, {n});
  const std::vector<std::int64_t> l = labels.to_vector<std::int64_t>();
  std::vector<double> centers;
  for (std::int64_t c : l) {
    centers.push_back(c == 1 ? 3.0 : 0.0);
    centers.push_back(c == 2 ? 3.0 : 0.0);
  }
  Tensor x = from_vector(centers, {n, 2}) + randn({n, 2}) * 0.5;
  return data::TensorDataset(x, labels);
}

// [doc: custom callback]
// Stops training once the training loss falls below a target.
class StopAtLoss : public train::Callback {
 public:
  explicit StopAtLoss(double target) : target_(target) {}
  void on_epoch_end(train::FitContext& ctx, std::int64_t, train::Logs& logs) override {
    if (logs.at("loss") < target_) ctx.stop_training = true;
  }

 private:
  double target_;
};
// [end]

// [doc: a model]
// Linear -> BatchNorm -> ReLU -> Linear, with named children.
struct Mlp : nn::Module {
  std::shared_ptr<nn::Linear> hidden, out;
  std::shared_ptr<nn::BatchNorm1d> norm;
  Mlp(std::int64_t in, std::int64_t width, std::int64_t classes) : nn::Module("Mlp") {
    hidden = register_module("hidden", std::make_shared<nn::Linear>(in, width));
    norm = register_module("norm", std::make_shared<nn::BatchNorm1d>(width));
    out = register_module("out", std::make_shared<nn::Linear>(width, classes));
  }
  Tensor forward(const Tensor& x) override { return (*out)(relu((*norm)((*hidden)(x)))); }
};
// [end]

}  // namespace

TEST_CASE("docs/training.md: every code block is compiled in this file") {
  const std::string doc = read_text(XGRAD_SOURCE_DIR "/docs/training.md");
  const std::string self = normalized(read_text(XGRAD_SOURCE_DIR "/tests/train/test_fit_docs.cpp"));
  const auto blocks = cpp_blocks(doc);
  CHECK(blocks.size() >= 15);
  for (const std::string& block : blocks) {
    INFO("block:\n" << block);
    CHECK(self.find(normalized(block)) != std::string::npos);
  }
}

TEST_CASE("docs/training.md: custom loop, then fit() with the same numbers") {
  // [doc: custom loop]
  // y = 2x + 1 on 64 points: one in-memory dataset, read in shuffled batches of 16.
  Tensor x = linspace(-1.0, 1.0, 64, kFloat64).reshape({64, 1});
  Tensor y = x * 2.0 + 1.0;
  data::TensorDataset dataset(x, y);
  data::DataLoader loader(dataset, {.batch_size = 16, .shuffle = true, .seed = 42});

  manual_seed(0);
  nn::Linear model(1, 1, /*bias=*/true, kFloat64);
  optim::SGD optimizer(model.parameters(), optim::SGDOptions(0.1));

  std::vector<double> epoch_losses;
  for (std::int64_t epoch = 0; epoch < 100; ++epoch) {
    model.train();
    loader.set_epoch(epoch);  // the order of an epoch depends only on (seed, epoch)
    double sum = 0.0;
    std::int64_t count = 0;
    for (const data::Batch& batch : loader) {
      optimizer.zero_grad();
      Tensor loss = mse_loss(model(batch.input), batch.target);
      loss.backward();
      optimizer.step();
      sum += loss.item<double>() * static_cast<double>(batch.input.size(0));
      count += batch.input.size(0);
    }
    epoch_losses.push_back(sum / static_cast<double>(count));  // mean over the epoch's samples
  }

  // Inference: eval mode (dropout off, batch norm uses its running statistics), no graph.
  model.eval();
  NoGradGuard no_grad;
  Tensor prediction = model(tensor({{0.5}}, kFloat64));  // close to 2 * 0.5 + 1 = 2
  // [end]
  CHECK(prediction.item<double>() == doctest::Approx(2.0).epsilon(1e-6));

  {
    EnableGradGuard grad;
    // [doc: fit]
    manual_seed(0);  // the same initial weights as the custom loop
    nn::Linear model(1, 1, /*bias=*/true, kFloat64);
    optim::SGD optimizer(model.parameters(), optim::SGDOptions(0.1));
    train::History history = train::fit(model, train::losses::mse, optimizer, dataset,
                                        train::FitOptions().epochs(100).batch_size(16).seed(42).verbose(0));
    // history.loss() == epoch_losses: the same batches, the same updates, the same numbers.
    // [end]
    CHECK(history.loss() == epoch_losses);
  }
}

TEST_CASE("docs/training.md: classification with validation, metrics and callbacks") {
  xgrad::testing::TempDir tmp;
  const std::string dir = tmp.path();
  const data::TensorDataset train_set = blobs(300, 1);
  const data::TensorDataset test_set = blobs(100, 2);
  manual_seed(3);
  // [doc: classification]
  auto model = std::make_shared<nn::Sequential>(nn::Linear(2, 16), nn::ReLU(), nn::Linear(16, 3));
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(0.01));

  auto early_stopping = std::make_shared<train::EarlyStopping>(
      train::EarlyStoppingOptions().monitor("val_loss").patience(5).restore_best_weights(true));
  auto best_checkpoint = std::make_shared<train::ModelCheckpoint>(
      dir + "/best.safetensors", train::ModelCheckpointOptions().monitor("val_loss").save_best_only(true));

  train::History history = train::fit(*model, train::losses::cross_entropy, optimizer, train_set,
                                      train::FitOptions()
                                          .epochs(50)
                                          .batch_size(32)
                                          .seed(7)
                                          .validation_split(0.2)  // the LAST 20% of train_set
                                          .metric(train::metrics::accuracy())
                                          .callback(early_stopping)
                                          .callback(best_checkpoint)
                                          .verbose(0));

  history.to_csv(dir + "/history.csv");  // epoch,loss,accuracy,val_loss,val_accuracy,lr
  std::map<std::string, double> scores =
      train::evaluate(*model, train::losses::cross_entropy, test_set, {train::metrics::accuracy()});
  Tensor logits = train::predict(*model, test_set.inputs());  // (100, 3)
  Tensor predicted_class = argmax(logits, 1);
  // [end]
  CHECK(scores.at("accuracy") > 0.9);
  CHECK(history.val_metric("accuracy").back() > 0.85);
  CHECK(logits.shape() == Shape{100, 3});
  CHECK(predicted_class.shape() == Shape{100});
  CHECK(xgrad::testing::read_bytes(dir + "/history.csv").rfind("epoch,loss,accuracy,val_loss,val_accuracy,lr\n", 0) == 0);
  // With restore_best_weights the model holds the weights of the best val_loss epoch, which is also the
  // epoch ModelCheckpoint saved last.
  auto reloaded = std::make_shared<nn::Sequential>(nn::Linear(2, 16), nn::ReLU(), nn::Linear(16, 3));
  train::load_checkpoint(dir + "/best.safetensors", *reloaded);
  CHECK(allclose(train::predict(*reloaded, test_set.inputs()), logits, 0.0, 0.0));

  // [doc: custom callback use]
  auto stop = std::make_shared<StopAtLoss>(0.05);
  train::fit(*model, train::losses::cross_entropy, optimizer, train_set,
             train::FitOptions().epochs(100).callback(stop).verbose(0));
  // [end]

  // [doc: lambda callback]
  std::vector<double> grad_norms;
  auto log_grad_norm = std::make_shared<train::LambdaCallback>(train::LambdaCallbackHooks{
      .on_batch_end = [&](train::FitContext& ctx, std::int64_t, const train::Logs&) {
        double sq = 0.0;
        for (const Tensor& p : ctx.model.parameters()) sq += p.grad().square().sum().item<double>();
        grad_norms.push_back(std::sqrt(sq));
      }});
  // [end]
  train::fit(*model, train::losses::cross_entropy, optimizer, train_set,
             train::FitOptions().epochs(1).batch_size(100).callback(log_grad_norm).verbose(0));
  CHECK(grad_norms.size() == 3);
}

TEST_CASE("docs/training.md: schedules, checkpoints, resuming") {
  xgrad::testing::TempDir tmp;
  const std::string dir = tmp.path();
  const std::string path = dir + "/state.safetensors";
  Tensor x = linspace(-1.0, 1.0, 64, kFloat64).reshape({64, 1});
  data::TensorDataset dataset(x, x * 2.0 + 1.0);
  {
    manual_seed(0);
    nn::Linear model(1, 1, true, kFloat64);
    // [doc: schedule]
    optim::SGD optimizer(model.parameters(), optim::SGDOptions(0.1).momentum(0.9));
    optim::CosineAnnealingLR schedule(optimizer, /*T_max=*/20);
    train::History history = train::fit(
        model, train::losses::mse, optimizer, dataset,
        train::FitOptions().epochs(20).verbose(0).callback(std::make_shared<train::LRSchedulerCallback>(schedule)));
    // history.lr() holds the learning rate of every epoch: 0.1, 0.0994, 0.0976, ...
    // [end]
    CHECK(history.lr().front() == 0.1);
    CHECK(history.lr()[1] == doctest::Approx(0.05 * (1 + std::cos(M_PI / 20))).epsilon(1e-12));

    // [doc: save and load]
    // Everything needed to continue: model, optimizer, scheduler, the epoch, the random generator.
    train::save_checkpoint(path, model, optimizer, schedule, {{"epoch", 20.0}});

    // Later (another process): build the same model, optimizer and scheduler, then load.
    train::Scalars saved = train::load_checkpoint(path, model, optimizer, schedule);
    auto next_epoch = static_cast<std::int64_t>(saved.at("epoch"));
    // [end]
    CHECK(next_epoch == 20);
  }

  std::vector<double> straight_state;
  {
    manual_seed(1);
    nn::Linear model(1, 1, true, kFloat64);
    optim::Adam optimizer(model.parameters(), optim::AdamOptions(0.05));
    train::fit(model, train::losses::mse, optimizer, dataset, train::FitOptions().epochs(30).batch_size(16).seed(1234).verbose(0));
    straight_state = model.weight().to_vector<double>();
    straight_state.push_back(model.bias().item<double>());
  }
  manual_seed(1);
  nn::Linear model(1, 1, true, kFloat64);
  optim::Adam optimizer(model.parameters(), optim::AdamOptions(0.05));
  // [doc: resume with fit]
  auto options = [] { return train::FitOptions().epochs(30).batch_size(16).seed(1234).verbose(0); };

  // The first run stops after 10 epochs (think: killed), writing a checkpoint after every epoch.
  auto every_epoch = std::make_shared<train::ModelCheckpoint>(
      dir + "/epoch-{epoch:03d}.safetensors", train::ModelCheckpointOptions().save_optimizer(true));
  train::fit(model, train::losses::mse, optimizer, dataset, options().epochs(10).callback(every_epoch));

  // The resumed run: load the last file, continue from its epoch with the same seed.
  train::Scalars saved = train::load_checkpoint(dir + "/epoch-010.safetensors", model, optimizer);
  train::fit(model, train::losses::mse, optimizer, dataset,
             options().initial_epoch(static_cast<std::int64_t>(saved.at("epoch"))));
  // model now holds exactly the weights of an uninterrupted 30-epoch run.
  // [end]
  std::vector<double> resumed_state = model.weight().to_vector<double>();
  resumed_state.push_back(model.bias().item<double>());
  CHECK(resumed_state == straight_state);
}

TEST_CASE("docs/training.md: writing models, initialization, weights files") {
  xgrad::testing::TempDir tmp;
  const std::string dir = tmp.path();
  // [doc: module features]
  Mlp model(4, 16, 3);
  std::string table = model.summary({32, 4});  // Keras-like: each layer, its output shape, its parameter count
  std::vector<std::string> names = model.named_parameters().keys();  // "hidden.weight", "hidden.bias", "norm.weight", ...
  std::vector<std::string> buffers = model.named_buffers().keys();   // "norm.running_mean", "norm.running_var", ...
  nn::StateDict state = model.state_dict();  // parameters and buffers by dotted name (shared with the model)
  model.load_state_dict(state);              // strict: missing, unexpected and mis-shaped keys are one error
  model.hidden->requires_grad_(false);       // freeze a layer (transfer learning); requires_grad_() unfreezes
  auto handle = model.out->register_forward_hook([](nn::Module&, const Tensor&, const Tensor& y) {
    std::cout << "logits " << shape_str(y.shape()) << "\n";  // observe (or return a replacement output)
  });
  handle.remove();
  model.to(kFloat64);  // converts parameters and buffers: do it before creating the optimizer
  // [end]
  for (const char* part : {"hidden (Linear)", "(32, 16)", "norm (BatchNorm1d)", "out (Linear)", "(32, 3)", "Total params: 163",
                           "Trainable params: 163"})
    CHECK_MESSAGE(table.find(part) != std::string::npos, "missing " << part << " in\n" << table);
  CHECK(names == std::vector<std::string>{"hidden.weight", "hidden.bias", "norm.weight", "norm.bias", "out.weight", "out.bias"});
  CHECK(buffers == std::vector<std::string>{"norm.running_mean", "norm.running_var", "norm.num_batches_tracked"});
  CHECK_FALSE(handle.active());
  CHECK(nn::count_parameters(model, /*trainable_only=*/true) == 163 - (16 * 4 + 16));
  CHECK(model.out->weight().dtype() == kFloat64);

  {
    // [doc: init]
    manual_seed(42);  // initial weights, dropout masks and unseeded shuffles all come from this generator
    nn::Linear layer(256, 128);
    nn::init::kaiming_normal_(layer.weight(), 0.0, nn::init::FanMode::fan_in, nn::init::Nonlinearity::relu);  // N(0, 2/256)
    nn::init::zeros_(layer.bias());
    // [end]
    const std::vector<double> w = layer.weight().to_vector<double>();
    double sq = 0.0;
    for (double v : w) sq += v * v;
    CHECK(sq / static_cast<double>(w.size()) == doctest::Approx(2.0 / 256).epsilon(0.05));  // 32768 draws: ~1% spread
    CHECK(layer.bias().abs().sum().item<double>() == 0.0);
  }

  // [doc: weights]
  train::save_weights(dir + "/model.safetensors", model, {{"framework", "xgrad"}});
  Mlp restored(4, 16, 3);
  restored.to(kFloat64);
  train::load_weights(dir + "/model.safetensors", restored);  // ValueError naming the file and every bad key
  // [end]
  for (const auto& item : model.state_dict()) CHECK(allclose(item.value, restored.state_dict().at(item.key), 0.0, 0.0));
  CHECK(train::load_safetensors(dir + "/model.safetensors").metadata.at("framework") == "xgrad");
}

TEST_CASE("docs/training.md: parameter groups, schedule, clipping, option errors") {
  manual_seed(8);
  const Tensor inputs = randn({10, 4});
  const Tensor labels = randint(0, 3, {10});
  // [doc: groups]
  // Parameter groups: a pretrained body with a small learning rate, a new head with the default one.
  nn::Sequential body(nn::Linear(4, 16), nn::ReLU());
  nn::Linear head(16, 3);
  optim::SGD optimizer({optim::ParamGroup(body.parameters(), optim::SGDOptions(0.001).momentum(0.9)),
                        optim::ParamGroup(head.parameters())},
                       optim::SGDOptions(0.01).momentum(0.9).nesterov(true));
  optim::StepLR schedule(optimizer, /*step_size=*/10, /*gamma=*/0.5);  // both groups' lr halve every 10 epochs

  Tensor loss = cross_entropy(head(body(inputs)), labels);
  optimizer.zero_grad();
  loss.backward();
  double norm = optim::clip_grad_norm_(optimizer.parameters(), /*max_norm=*/1.0);  // or clip_grad_value_
  optimizer.step();
  schedule.step();  // once per epoch
  // [end]
  CHECK(norm > 0.0);
  CHECK(optimizer.num_param_groups() == 2);
  CHECK(optimizer.param_group(0).options().get_lr() == 0.001);
  CHECK(optimizer.param_group(1).options().get_lr() == 0.01);
  CHECK(static_cast<const optim::SGDOptions&>(optimizer.param_group(1).options()).nesterov());
  xgrad::testing::check_throws_with<ValueError>([] { optim::SGDOptions(-0.1); }, {"SGDOptions: invalid lr -0.1 (must be >= 0)"});
}

TEST_CASE("docs/training.md: data") {
  xgrad::testing::TempDir tmp;
  const std::string csv_path = tmp.file("table.csv");
  {
    std::ofstream f(csv_path);
    f << "a,b,label\n";
    for (int i = 0; i < 100; ++i) f << i * 0.5 << ',' << (i % 7) << ',' << (i % 3) << '\n';
  }
  // [doc: data]
  // A CSV file with a header; the column named "label" is the target, every other column a feature.
  data::CsvData table = data::read_csv(csv_path, {.target_column = "label"});
  auto parts = data::random_split(data::TensorDataset(table.features, table.target), {0.8, 0.2}, /*seed=*/1);

  // Standardize with the TRAINING statistics, then apply the same transform to the test data.
  data::StandardScaler scaler;
  Tensor train_x = scaler.fit_transform(narrow(table.features, 0, 0, 80));
  Tensor test_x = scaler.transform(narrow(table.features, 0, 80, 20));
  Tensor targets = one_hot(table.target, /*num_classes=*/3);  // (100, 3) float32 rows
  // [end]
  CHECK(table.features.shape() == Shape{100, 2});
  CHECK(table.feature_names == std::vector<std::string>{"a", "b"});
  CHECK(parts.size() == 2);
  CHECK(parts[0].size() == 80);
  CHECK(parts[1].size() == 20);
  CHECK(std::abs(train_x.mean({0}).to_vector<double>()[0]) < 1e-6);
  CHECK(test_x.mean({0}).to_vector<double>()[0] > 1.0);  // the test rows lie beyond the training range of column a
  CHECK(targets.shape() == Shape{100, 3});
  CHECK(targets.dtype() == kFloat32);
  CHECK(targets.at({4, 1}) == 1.0);  // row 4 has label 4 % 3 = 1
}

TEST_CASE("docs/training.md: the lectures' conventions") {
  manual_seed(9);
  const Tensor inputs = randn({8, 2});
  const Tensor targets = randn({8, 1});
  // [doc: conventions]
  nn::Sequential lecture_net(nn::Linear(2, 4), nn::ReLU(), nn::ClassicDropout(/*keep_prob=*/0.5), nn::Linear(4, 1));
  optim::SGD keras_sgd(lecture_net.parameters(),
                       optim::SGDOptions(0.01).momentum(0.9).momentum_style(optim::MomentumStyle::keras));
  nn::BatchNorm1d keras_bn(4, nn::BatchNormOptions::keras_defaults());  // momentum 0.99, Keras convention, eps 1e-3
  // an L2 penalty λ‖w‖² with λ = 1e-4 is SGD's weight_decay 2e-4:
  Tensor penalized = mse_loss(lecture_net(inputs), targets) + nn::functional::l2_penalty(lecture_net.parameters(), 1e-4);
  // [end]
  CHECK(keras_bn.options().momentum == 0.99);
  CHECK(keras_bn.options().convention == nn::MomentumConvention::keras);
  CHECK(keras_bn.options().eps == 1e-3);
  // the claim of the comment: the penalty's gradient step equals SGD's weight decay 2λ
  const TensorList params = lecture_net.parameters();
  std::vector<Tensor> before;
  for (const Tensor& p : params) before.push_back(p.detach().clone());
  keras_sgd.zero_grad();
  (nn::functional::l2_penalty(params, 1e-4) * 1.0).backward();
  for (std::size_t i = 0; i < params.size(); ++i) CHECK(allclose(params[i].grad(), before[i] * 2e-4, 1e-6, 1e-12));
  CHECK(penalized.dim() == 0);
}
