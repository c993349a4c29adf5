// Progress display: number/duration/bar formats, the live bar with an injected stream and clock, and
// fit's verbose 1 / 2 output.
#include <xgrad/data/data.hpp>
#include <xgrad/nn/nn.hpp>
#include <xgrad/optim/optim.hpp>
#include <xgrad/train/train.hpp>

#include <cmath>
#include <iostream>
#include <regex>
#include <sstream>

#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;

namespace {

train::Logs logs_of(std::initializer_list<std::pair<std::string, double>> items) {
  train::Logs out;
  for (const auto& [k, v] : items) out.insert(k, v);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

data::TensorDataset small_data() {
  manual_seed(31);
  Tensor x = randn({10, 2}, kFloat64);
  return data::TensorDataset(x, x.sum({1}, true));
}

}  // namespace

TEST_CASE("progress: value, duration and bar formats") {
  CHECK(train::format_value(0.28114) == "0.2811");
  CHECK(train::format_value(0.0) == "0.0000");
  CHECK(train::format_value(-0.5) == "-0.5000");
  CHECK(train::format_value(1234.5) == "1234.5000");
  CHECK(train::format_value(0.001) == "0.0010");
  CHECK(train::format_value(2.5e-5) == "2.5000e-05");
  CHECK(train::format_value(std::nan("")) == "nan");
  CHECK(train::format_value(-INFINITY) == "-inf");

  CHECK(train::format_duration(3723.9) == "1:02:03");
  CHECK(train::format_duration(125.0) == "2:05");
  CHECK(train::format_duration(12.7) == "12s");
  CHECK(train::format_duration(0.25) == "250ms");
  CHECK(train::format_duration(4.5e-5) == "45us");
  CHECK(train::format_duration(-1.0) == "0us");

  CHECK(train::format_bar(0, 10, 5) == "[.....]");
  CHECK(train::format_bar(1, 10, 5) == "[.....]");
  CHECK(train::format_bar(2, 10, 5) == "[>....]");
  CHECK(train::format_bar(5, 10, 5) == "[=>...]");
  CHECK(train::format_bar(9, 10, 5) == "[===>.]");
  CHECK(train::format_bar(10, 10, 5) == "[=====]");
  CHECK(train::format_bar(7, 7) == "[" + std::string(30, '=') + "]");
}

TEST_CASE("progress: the live bar is redrawn in place with \\r and completed with the epoch summary") {
  nn::Linear model(1, 1);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.1));
  train::History history;
  train::FitContext ctx{.model = model, .optimizer = sgd, .history = history, .epochs = 2, .steps_per_epoch = 4};
  std::ostringstream out;
  double now = 100.0;
  train::ProgressBar bar(out, 1, /*terminal=*/true, [&] { return now; }, /*refresh_seconds=*/0.0, /*width=*/10);
  bar.on_train_begin(ctx);
  bar.on_epoch_begin(ctx, 0);
  now = 100.5;
  bar.on_batch_end(ctx, 0, logs_of({{"loss", 1.5e-4}}));
  now = 101.0;
  bar.on_batch_end(ctx, 1, logs_of({{"loss", 0.25}}));
  now = 101.5;
  bar.on_batch_end(ctx, 2, logs_of({{"loss", 0.125}}));
  now = 101.8;
  bar.on_batch_end(ctx, 3, logs_of({{"loss", 0.1}}));  // the last batch is drawn by the epoch end
  now = 102.0;
  train::Logs end = logs_of({{"loss", 0.1}, {"val_loss", 0.2}, {"lr", 0.1}});
  bar.on_epoch_end(ctx, 0, end);
  CHECK(out.str() ==
        "Epoch 1/2\n"
        "\r1/4 [=>........] - ETA: 1s - loss: 1.5000e-04"
        "\r2/4 [====>.....] - ETA: 1s - loss: 0.2500    "  // padded over the longer previous line
        "\r3/4 [======>...] - ETA: 500ms - loss: 0.1250"
        "\r4/4 [==========] - 2s 500ms/step - loss: 0.1000 - val_loss: 0.2000\n");

  // Throttling: with a 45 ms refresh interval, batches 10 ms apart are drawn every 5th batch.
  std::ostringstream out2;
  ctx.steps_per_epoch = 12;
  now = 0.0;
  train::ProgressBar throttled(out2, 1, true, [&] { return now; }, 0.045, 10);
  throttled.on_train_begin(ctx);
  throttled.on_epoch_begin(ctx, 1);
  for (std::int64_t b = 0; b < 12; ++b) {
    now += 0.01;
    throttled.on_batch_end(ctx, b, logs_of({{"loss", 1.0}}));
  }
  std::size_t draws = 0;
  for (char c : out2.str()) draws += c == '\r' ? 1 : 0;
  CHECK(out2.str().rfind("Epoch 2/2\n\r 1/12 [..........] - ETA: ", 0) == 0);  // first batch drawn, count right-aligned to 2 digits
  CHECK(draws == 3);                                        // batches 1, 6, 11 (the 12th is the epoch end's)
}

TEST_CASE("progress: not a terminal (or verbose 2) prints one plain line per epoch") {
  nn::Linear model(1, 1);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.1));
  train::History history;
  train::FitContext ctx{.model = model, .optimizer = sgd, .history = history, .epochs = 10, .steps_per_epoch = 3};
  for (int verbose : {1, 2}) {
    std::ostringstream out;
    double now = 0.0;
    train::ProgressBar bar(out, verbose, /*terminal=*/verbose == 2, [&] { return now; });
    bar.on_train_begin(ctx);
    bar.on_epoch_begin(ctx, 4);
    for (std::int64_t b = 0; b < 3; ++b) {
      now += 0.02;
      bar.on_batch_end(ctx, b, logs_of({{"loss", 0.5}}));
    }
    train::Logs end = logs_of({{"loss", 0.5}, {"mae", 0.25}, {"val_loss", 0.75}, {"val_mae", 0.5}, {"lr", 0.01}});
    bar.on_epoch_end(ctx, 4, end);
    CHECK(out.str() == "Epoch 5/10 - 60ms 20ms/step - loss: 0.5000 - mae: 0.2500 - val_loss: 0.7500 - val_mae: 0.5000\n");
  }
  std::ostringstream out;
  check_throws_with<ValueError>([&] { train::ProgressBar(out, 0, false); }, {"ProgressBar", "verbose", "0"});
  check_throws_with<ValueError>([&] { train::ProgressBar(out, 1, false, train::steady_seconds, -1.0); }, {"ProgressBar", "refresh"});
  check_throws_with<ValueError>([&] { train::ProgressBar(out, 1, false, train::steady_seconds, 0.05, 0); }, {"ProgressBar", "width"});
  CHECK_FALSE(train::is_terminal(out));
}

TEST_CASE("fit: verbose 2 prints one line per epoch in the documented format") {
  const data::TensorDataset ds = small_data();
  nn::Linear model(2, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05));
  std::ostringstream out;
  const train::History h = train::fit(model, train::losses::mse, sgd, ds,
                                      train::FitOptions().epochs(3).batch_size(4).verbose(2).output(out).validation_split(0.2)
                                          .metric(train::metrics::mae()));
  const auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 3);
  const std::regex line_re(
      R"(Epoch (\d)/3 - \d+(us|ms|s) \d+(us|ms|s)/step - loss: (\d+\.\d{4}) - mae: (\d+\.\d{4}) - val_loss: (\d+\.\d{4}) - val_mae: (\d+\.\d{4}))");
  for (std::size_t e = 0; e < 3; ++e) {
    std::smatch m;
    INFO(lines[e]);
    REQUIRE(std::regex_match(lines[e], m, line_re));
    CHECK(m[1] == std::to_string(e + 1));
    CHECK(m[4] == train::format_value(h.loss()[e]));
    CHECK(m[5] == train::format_value(h.metric("mae")[e]));
    CHECK(m[6] == train::format_value(h.val_loss()[e]));
    CHECK(m[7] == train::format_value(h.val_metric("mae")[e]));
  }
  CHECK(out.str().find('\r') == std::string::npos);

  // verbose 1 on a stream that is not a terminal: the same one-line format.
  std::ostringstream out1;
  train::fit(model, train::losses::mse, sgd, ds, train::FitOptions().epochs(2).batch_size(4).output(out1));
  const auto lines1 = lines_of(out1.str());
  REQUIRE(lines1.size() == 2);
  CHECK(std::regex_match(lines1[1], std::regex(R"(Epoch 2/2 - \S+ \S+/step - loss: \d+\.\d{4})")));

  // verbose 0 prints nothing.
  std::ostringstream out0;
  train::fit(model, train::losses::mse, sgd, ds, train::FitOptions().epochs(2).verbose(0).output(out0));
  CHECK(out0.str().empty());
}

TEST_CASE("fit: verbose 1 with terminal(true) draws the live bar on the injected stream") {
  const data::TensorDataset ds = small_data();
  nn::Linear model(2, 1, true, kFloat64);
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05));
  std::ostringstream out;
  train::fit(model, train::losses::mse, sgd, ds,
             train::FitOptions().epochs(2).batch_size(2).output(out).terminal(true).validation_data(ds));
  const std::string text = out.str();
  CHECK(text.rfind("Epoch 1/2\n", 0) == 0);
  CHECK(text.find("\nEpoch 2/2\n") != std::string::npos);
  // Each epoch ends with the completed bar, timing, loss and val_loss on the redrawn line.
  const std::regex final_re(R"(\r5/5 \[={30}\] - \S+ \S+/step - loss: \d+\.\d{4} - val_loss: \d+\.\d{4} *\n)");
  const auto finals = std::distance(std::sregex_iterator(text.begin(), text.end(), final_re), std::sregex_iterator());
  CHECK(finals == 2);
  CHECK(text.find(" - ETA: ") != std::string::npos);  // the first batch of each epoch is always drawn
}
