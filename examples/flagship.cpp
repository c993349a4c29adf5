// Flagship demo (placeholder until the nn layer lands): a 2-4-1 sigmoid MLP learns XOR with the core
// API alone: tensors, linear, mse, backward and a hand-written SGD step.
#include <cstdio>

#include <xgrad/xgrad.hpp>

using namespace xgrad;

int main() {
  manual_seed(0);
  const Tensor x = tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}});
  const Tensor y = tensor({{0}, {1}, {1}, {0}});
  Tensor w1 = (randn({4, 2}) * 1.0).requires_grad_(), b1 = zeros({4}).requires_grad_();
  Tensor w2 = (randn({1, 4}) * 1.0).requires_grad_(), b2 = zeros({1}).requires_grad_();
  const double lr = 1.0;
  for (int epoch = 0; epoch <= 5000; ++epoch) {
    const Tensor h = sigmoid(linear(x, w1, b1));
    const Tensor out = sigmoid(linear(h, w2, b2));
    const Tensor loss = mse_loss(out, y);
    for (Tensor* p : {&w1, &b1, &w2, &b2}) p->zero_grad();
    loss.backward();
    {
      NoGradGuard no_grad;
      for (Tensor* p : {&w1, &b1, &w2, &b2}) p->sub_(p->grad(), lr);
    }
    if (epoch % 1000 == 0) std::printf("epoch %4d  loss %.6f\n", epoch, loss.item<double>());
  }
  NoGradGuard no_grad;
  const Tensor out = sigmoid(linear(sigmoid(linear(x, w1, b1)), w2, b2));
  std::printf("XOR predictions: %.3f %.3f %.3f %.3f\n", out.at({0, 0}), out.at({1, 0}), out.at({2, 0}), out.at({3, 0}));
  return 0;
}
