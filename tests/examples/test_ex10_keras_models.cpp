// Example 10: the lecture's Keras models learn, and their sizes are what the architectures imply.
#include <doctest/doctest.h>

#include "../../examples/worked/ex10.hpp"

using namespace xgrad;
using namespace xgrad::worked::ex10;

TEST_CASE("ex10: parameter counts of the lecture's models (weights + biases, counted by hand)") {
  CHECK(nn::count_parameters(neuron_regression(10)) == 10 + 1);
  CHECK(nn::count_parameters(neuron_classifier(30)) == 30 + 1);
  CHECK(nn::count_parameters(mlp_regression()) == 2 * 3 + 3 + 3 * 1 + 1);       // 13
  CHECK(nn::count_parameters(mlp_classifier()) == 13);
  CHECK(nn::count_parameters(softmax_classifier()) == 4 * 3 + 3);              // 15
  CHECK(nn::count_parameters(dropout_model()) == (2 * 4 + 4) + (4 * 3 + 3) + (3 + 1));  // 31, Dropout has none
}

TEST_CASE("ex10: fit holds out the last validation_split of the samples and records one loss per epoch") {
  const Data d = synthetic(100, false, 11);
  nn::Sequential m = mlp_regression();
  const History h = fit(m, d.x, d.y, mse(), {.lr = 0.01, .epochs = 7, .batch_size = 10, .validation_split = 0.1});
  CHECK(h.loss.size() == 7);
  CHECK(h.val_loss.size() == 7);
  // The reported final val_loss is the MSE on the last 10 samples, recomputed here by hand.
  NoGradGuard no_grad;
  m.eval();
  const std::vector<float> p = m(narrow(d.x, 0, 90, 10)).to_vector<float>(), y = narrow(d.y, 0, 90, 10).to_vector<float>();
  double s = 0.0;
  for (int i = 0; i < 10; ++i) s += (p[i] - y[i]) * (p[i] - y[i]);
  CHECK(h.val_loss.back() == doctest::Approx(s / 10.0).epsilon(1e-5));
}

TEST_CASE("ex10: the single neurons and the 2-3-1 networks learn") {
  {
    const Data d = breast_cancer();
    nn::Sequential m = neuron_classifier(d.x.size(1));
    const History h = fit(m, d.x, d.y, bce(), {.lr = 0.01, .epochs = 10, .batch_size = 10, .validation_split = 0.1});
    CHECK(h.loss.back() < 0.5 * h.loss.front());
    CHECK(accuracy(m, d) > 0.95);
  }
  {
    const Data d = synthetic(500, false, 1);
    manual_seed(12);
    nn::Sequential m = mlp_regression();
    const History h = fit(m, d.x, d.y, mse(), {.lr = 0.01, .epochs = 20, .batch_size = 10, .validation_split = 0.1});
    CHECK(h.val_loss.back() < 0.1);  // the target is linear; only the 0.1 noise (variance 0.01) remains
  }
  {
    const Data d = synthetic(500, true, 2);
    nn::Sequential m = mlp_classifier();
    const History h = fit(m, d.x, d.y, bce(), {.lr = 0.02, .epochs = 20, .batch_size = 10, .validation_split = 0.1});
    CHECK(h.loss.back() < h.loss.front());
    CHECK(accuracy(m, d) > 0.9);  // linearly separable classes
  }
}

TEST_CASE("ex10: the softmax classifier reaches > 90% on iris and its probabilities sum to 1") {
  const Data d = iris();
  nn::Sequential m = softmax_classifier();
  fit(m, d.x, d.y, softmax_cross_entropy(), {.lr = 0.1, .epochs = 50, .batch_size = 10});
  CHECK(accuracy(m, d) > 0.9);
  NoGradGuard no_grad;
  const std::vector<float> p = softmax(m(d.x), 1).to_vector<float>();
  for (std::size_t i = 0; i < p.size(); i += 3) CHECK(p[i] + p[i + 1] + p[i + 2] == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("ex10: EarlyStopping stops after patience epochs without improvement and restores the best weights") {
  const Data d = synthetic(500, false, 4);
  manual_seed(13);
  nn::Sequential m = dropout_model();
  const History h = fit(m, d.x, d.y, mse(), {.lr = 0.01, .epochs = 300, .batch_size = 10, .validation_split = 0.1, .patience = 5});
  if (h.stopped_early) {
    CHECK(static_cast<int>(h.val_loss.size()) == h.best_epoch + 1 + 5);
  }
  // Restored: the model's validation loss now is the best one recorded.
  const double v = evaluate(m, mse(), narrow(d.x, 0, 450, 50), narrow(d.y, 0, 450, 50));
  CHECK(v == doctest::Approx(h.val_loss[static_cast<std::size_t>(h.best_epoch)]).epsilon(1e-6));
  for (double l : h.val_loss) CHECK(v <= l + 1e-9);
}

TEST_CASE("ex10: an L1 penalty shrinks the weights' absolute sum") {
  auto abs_sum = [](nn::Module& m) {
    double s = 0.0;
    for (const auto& item : m.named_parameters())
      if (item.key.find("weight") != std::string::npos) s += sum(abs(item.value)).item<double>();
    return s;
  };
  const Data d = synthetic(500, false, 5);
  manual_seed(6);
  nn::Sequential plain = mlp_regression();
  fit(plain, d.x, d.y, mse(), {.lr = 0.01, .epochs = 30, .batch_size = 10});
  manual_seed(6);
  nn::Sequential l1 = mlp_regression();
  const TensorList params = l1.parameters();
  fit(l1, d.x, d.y, mse(), {.lr = 0.01, .epochs = 30, .batch_size = 10, .penalty = [params] {
        return nn::functional::l1_penalty(params, 0.05);
      }});
  CHECK(abs_sum(l1) < abs_sum(plain));
}
