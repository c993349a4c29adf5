// Example 10 (deck 000): the lecture's Keras models with a Keras-like fit (SGD, batch size,
// validation_split, EarlyStopping), each trained briefly: single-neuron regression and classification,
// the 2-3-1 networks, a softmax classifier on iris, the dropout model, early stopping and L1/L2.
//
// Usage: ex10_keras_models
#include <cmath>
#include <cstdio>

#include "worked/ex10.hpp"

using namespace xgrad;
using namespace xgrad::worked::ex10;

namespace {

void report(const char* name, nn::Module& m, const History& h) {
  std::printf("%-34s params %4lld  loss %.4f -> %.4f", name, static_cast<long long>(nn::count_parameters(m)), h.loss.front(),
              h.loss.back());
  if (!h.val_loss.empty()) std::printf("  val_loss %.4f -> %.4f", h.val_loss.front(), h.val_loss.back());
  std::printf("  (%zu epochs)\n", h.loss.size());
}

double weight_abs_sum(nn::Module& m) {
  double s = 0.0;
  for (const auto& item : m.named_parameters())
    if (item.key.find("weight") != std::string::npos) s += sum(abs(item.value)).item<double>();
  return s;
}

}  // namespace

int main() {
  manual_seed(0);
  {
    const Data d = diabetes();
    nn::Sequential m = neuron_regression(d.x.size(1));
    const History h = fit(m, d.x, d.y, mse(), {.lr = 0.02, .epochs = 20, .batch_size = 1, .validation_split = 0.1});
    report("Dense(1, linear), SGD 0.02, MSE", m, h);
  }
  {
    const Data d = breast_cancer();
    nn::Sequential m = neuron_classifier(d.x.size(1));
    const History h = fit(m, d.x, d.y, bce(), {.lr = 0.01, .epochs = 30, .batch_size = 10, .validation_split = 0.1});
    report("Dense(1, sigmoid), SGD 0.01, BCE", m, h);
    std::printf("%34s accuracy %.2f%%\n", "", 100.0 * accuracy(m, d));
  }
  {
    const Data d = synthetic(500, false, 1);
    nn::Sequential m = mlp_regression();
    const History h = fit(m, d.x, d.y, mse(), {.lr = 0.01, .epochs = 30, .batch_size = 10, .validation_split = 0.1});
    report("Dense(3) -> Dense(1), regression", m, h);
  }
  {
    const Data d = synthetic(500, true, 2);
    nn::Sequential m = mlp_classifier();
    const History h = fit(m, d.x, d.y, bce(), {.lr = 0.02, .epochs = 30, .batch_size = 10, .validation_split = 0.1});
    report("Dense(3) -> Dense(1, sigmoid)", m, h);
    std::printf("%34s accuracy %.2f%%\n", "", 100.0 * accuracy(m, d));
  }
  {
    const Data d = iris();
    nn::Sequential m = softmax_classifier();
    const History h = fit(m, d.x, d.y, softmax_cross_entropy(), {.lr = 0.1, .epochs = 50, .batch_size = 10});
    report("Dense(3, softmax) on iris", m, h);
    std::printf("%34s accuracy %.2f%%\n", "", 100.0 * accuracy(m, d));
    NoGradGuard no_grad;
    m.eval();
    const Tensor p = softmax(m(narrow(d.x, 0, 0, 5)), 1);
    const std::vector<float> pv = p.to_vector<float>();
    const std::vector<std::int64_t> cls = argmax(p, 1).to_vector<std::int64_t>(), lab = narrow(d.y, 0, 0, 5).to_vector<std::int64_t>();
    for (int i = 0; i < 5; ++i)
      std::printf("%34s p = [%.3f %.3f %.3f]  argmax %lld  label %lld\n", "", pv[3 * i], pv[3 * i + 1], pv[3 * i + 2],
                  static_cast<long long>(cls[i]), static_cast<long long>(lab[i]));
  }
  {
    const Data d = synthetic(500, false, 3);
    nn::Sequential m = dropout_model();
    const History h = fit(m, d.x, d.y, mse(), {.lr = 0.01, .epochs = 30, .batch_size = 10, .validation_split = 0.1});
    report("Dense(4,relu)-Dropout(.5)-Dense(3,relu)-Dense(1)", m, h);
  }
  {
    const Data d = synthetic(500, false, 4);
    nn::Sequential m = dropout_model();
    const History h = fit(m, d.x, d.y, mse(),
                          {.lr = 0.01, .epochs = 200, .batch_size = 10, .validation_split = 0.1, .patience = 5});
    report("EarlyStopping(val_loss, patience 5)", m, h);
    std::printf("%34s stopped early: %s, best epoch %d (val_loss %.4f), weights restored\n", "", h.stopped_early ? "yes" : "no",
                h.best_epoch + 1, h.val_loss[static_cast<std::size_t>(h.best_epoch)]);
  }
  for (int kind = 0; kind < 3; ++kind) {
    const Data d = synthetic(500, false, 5);
    manual_seed(6);
    nn::Sequential m = mlp_regression();
    FitOptions o{.lr = 0.01, .epochs = 30, .batch_size = 10};
    const TensorList params = m.parameters();
    if (kind == 1) o.penalty = [params] { return nn::functional::l1_penalty(params, 0.01); };
    if (kind == 2) o.penalty = [params] { return nn::functional::l2_penalty(params, 0.01); };
    const History h = fit(m, d.x, d.y, mse(), o);
    const char* names[] = {"no regularization", "L1 (lambda 0.01)", "L2 (lambda 0.01)"};
    std::printf("%-34s loss %.4f  sum |w| %.4f\n", names[kind], h.loss.back(), weight_abs_sum(m));
  }
  return 0;
}
