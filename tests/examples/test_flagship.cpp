// The flagship's full 10-epoch training run. SLOW: about 30 s on one core (it spawns
// build/examples/flagship, which the build makes only with -DXGRAD_BUILD_EXAMPLES=ON).
// Run it alone with: ./build/tests/xgrad_tests -tc="flagship*"
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

using namespace xgrad;

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  return out;
}

}  // namespace

TEST_CASE("flagship [slow, ~30 s]: 10 epochs reach >= 89.5% test accuracy and save a loadable checkpoint") {
  const std::filesystem::path exe = std::filesystem::path(XGRAD_BINARY_DIR) / "examples" / "flagship";
  if (!std::filesystem::exists(exe)) {
    MESSAGE("skipped: " << exe.string() << " not built (configure with -DXGRAD_BUILD_EXAMPLES=ON)");
    return;
  }
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) {
    MESSAGE("skipped: Fashion-MNIST not installed (Debian package dataset-fashion-mnist)");
    return;
  }
  const std::filesystem::path out = std::filesystem::temp_directory_path() / "xgrad_test_flagship";
  std::filesystem::remove_all(out);
  const std::string cmd = exe.string() + " --epochs 10 --out " + out.string() + " > " + (out.string() + ".log") + " 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);

  // curves.csv: header + one row per epoch; the last row's test accuracy is the final one.
  std::ifstream curves(out / "curves.csv");
  REQUIRE(curves.good());
  std::string line;
  std::getline(curves, line);
  CHECK(line == "epoch,train_loss,train_accuracy,test_accuracy,lr,seconds");
  std::vector<std::vector<std::string>> rows;
  while (std::getline(curves, line))
    if (!line.empty()) rows.push_back(split(line));
  REQUIRE(rows.size() == 10);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == 6);
    CHECK(std::stoi(rows[i][0]) == static_cast<int>(i) + 1);
  }
  const double final_acc = std::stod(rows.back()[3]);
  CHECK(final_acc >= 89.5);
  CHECK(std::stod(rows.back()[1]) < std::stod(rows.front()[1]));  // training loss went down

  // The checkpoint: Sequential(Linear, BatchNorm1d, ReLU, Dropout, Linear, BatchNorm1d, ReLU, Dropout, Linear).
  const train::Checkpoint ck = train::load_safetensors((out / "model.safetensors").string());
  const std::vector<std::pair<std::string, Shape>> expected = {
      {"0.weight", {256, 784}},      {"0.bias", {256}},           {"1.weight", {256}},          {"1.bias", {256}},
      {"1.running_mean", {256}},     {"1.running_var", {256}},    {"1.num_batches_tracked", {}}, {"4.weight", {128, 256}},
      {"4.bias", {128}},             {"5.weight", {128}},         {"5.bias", {128}},            {"5.running_mean", {128}},
      {"5.running_var", {128}},      {"5.num_batches_tracked", {}}, {"8.weight", {10, 128}},    {"8.bias", {10}}};
  CHECK(ck.tensors.size() == expected.size());
  for (const auto& [key, shape] : expected) {
    INFO(key);
    const auto it = ck.tensors.find(key);
    REQUIRE(it != ck.tensors.end());
    CHECK(it->second.shape() == shape);
  }
  // 10 epochs of 60000 / 128 batches, rounded up: 469 updates of the running statistics per epoch.
  CHECK(ck.tensors.at("1.num_batches_tracked").item<std::int64_t>() == 4690);
  CHECK(ck.metadata.count("test_accuracy") == 1);

  // The weights file is a usable model: loaded into the same architecture (load_weights, strict), it
  // classifies the test set with the accuracy the run reported.
  nn::Sequential model(nn::Linear(784, 256), nn::BatchNorm1d(256), nn::ReLU(), nn::Dropout(0.2),  //
                       nn::Linear(256, 128), nn::BatchNorm1d(128), nn::ReLU(), nn::Dropout(0.2),  //
                       nn::Linear(128, 10));
  train::load_weights((out / "model.safetensors").string(), model);
  const data::MnistData d = data::load_fashion_mnist("/usr/share/datasets/fashion-mnist");
  const double mu = mean(d.train_images).item<double>();
  const double sigma = xgrad::std(d.train_images, {}, false).item<double>();
  const Tensor predicted = argmax(train::predict(model, (d.test_images - mu) / sigma, 1000), 1);
  const double acc = 100.0 * static_cast<double>(sum(eq(predicted, d.test_labels)).item<std::int64_t>()) / 10000.0;
  CHECK(acc == doctest::Approx(std::stod(ck.metadata.at("test_accuracy"))).epsilon(1e-6));
  CHECK(acc == doctest::Approx(final_acc).epsilon(1e-6));
  std::filesystem::remove_all(out);
}
