// Example 10 (deck 000): the lecture's Keras models with xgrad's train::fit(), each with the slide's
// compile/fit arguments (SGD learning rate, loss, metrics, 100 epochs, batch size, validation_split 0.1):
// the single-neuron regression and classifier, the one-hidden-layer 2-3-1 networks, a softmax classifier on
// iris, the dropout model (inverted and the slides' classic dropout), EarlyStopping(val_loss, patience 5,
// restore_best_weights) and L1/L2 kernel regularizers.
//
// Usage: ex10_keras_models            (about 10 s)
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <sstream>

#include "worked/ex10.hpp"

using namespace xgrad;
using namespace xgrad::worked::ex10;

namespace {

void title(const std::string& keras, const std::string& xgrad_code) {
  fmt::print("\n== {}\n   xgrad: {}\n", keras, xgrad_code);
}

void summary(const Run& r) {
  fmt::print("   {} parameters; trained on {} samples, validated on the last 10% of the training data\n",
             nn::count_parameters(*r.model), r.train_samples);
  const auto& h = r.history;
  std::string line = fmt::format("   after {} epochs: loss {:.4f}", h.size(), h.loss().back());
  if (h.contains("val_loss")) line += fmt::format(", val_loss {:.4f}", h.val_loss().back());
  line += "; test:";
  for (const auto& [name, value] : r.test) line += fmt::format(" {} {:.4f}", name, value);
  fmt::print("{}\n", line);
}

}  // namespace

int main() {
  fmt::print("The Keras models of deck 000, trained with train::fit (SGD, Keras semantics: validation_split takes the\n"
             "last 10% of the training data before shuffling). Data: 80% training / 20% test, standardized with the\n"
             "training statistics.\n");
  {
    title("Dense(1, 'linear'); SGD(0.02), MSE, metrics=['mean_absolute_error']; fit(epochs=100, batch_size=1, validation_split=0.1)",
          "Sequential(Linear(10, 1)), losses::mse, metrics::mae()   [diabetes, target standardized]");
    const Split d = diabetes();
    manual_seed(kSeed);
    const Run r = fit_model(neuron_regression(10), d,
                            {.lr = 0.02, .metrics = {train::metrics::mae()}, .batch_size = 1, .print_every = 25}, std::cout);
    summary(r);
    const Tensor pred = train::predict(*r.model, narrow(d.test.x, 0, 0, 5));
    for (std::int64_t i = 0; i < 5; ++i)
      fmt::print("   Predicted: {:.4f}, Actual: {:.4f}\n", pred.at({i, 0}), d.test.y.at({i, 0}));
  }
  {
    title("Dense(1, 'sigmoid'); SGD(0.01), binary_crossentropy, metrics=['accuracy']; fit(epochs=100, batch_size=10, validation_split=0.1)",
          "Sequential(Linear(30, 1), Sigmoid()), losses::bce, metrics::binary_accuracy()   [breast cancer]");
    const Split d = breast_cancer();
    manual_seed(kSeed);
    const Run r = fit_model(neuron_classifier(30), d,
                            {.lr = 0.01, .loss = train::losses::bce, .metrics = {train::metrics::binary_accuracy()}, .batch_size = 10,
                             .print_every = 25},
                            std::cout);
    summary(r);
  }
  {
    title("Dense(3, 'linear') -> Dense(1, 'linear'); SGD(0.01), MSE, metrics=['mae']; fit(epochs=100, batch_size=10, validation_split=0.1)",
          "Sequential(Linear(2, 3), Linear(3, 1))   [y = x0 + 2 x1 + noise]");
    const Split d = synthetic(500, false, 1);
    manual_seed(kSeed);
    const Run r = fit_model(mlp_regression(), d, {.lr = 0.01, .metrics = {train::metrics::mae()}, .batch_size = 10}, std::cout);
    summary(r);
    const Tensor pred = train::predict(*r.model, narrow(d.test.x, 0, 0, 5));
    for (std::int64_t i = 0; i < 5; ++i)
      fmt::print("   Predicted: {:.4f}, Actual: {:.4f}\n", pred.at({i, 0}), d.test.y.at({i, 0}));
    NoGradGuard no_grad;
    const Tensor product = matmul(r.model->at<nn::Linear>(1)->weight(), r.model->at<nn::Linear>(0)->weight());
    fmt::print("   (two linear layers are one linear map: W2·W1 = [{:.3f}, {:.3f}]; the target's coefficients are [1, 2])\n",
               product.at({0, 0}), product.at({0, 1}));
  }
  {
    title("Dense(3, 'linear') -> Dense(1, 'sigmoid'); SGD(0.02), binary_crossentropy, metrics=['accuracy']; fit(epochs=100, batch_size=10)",
          "Sequential(Linear(2, 3), Linear(3, 1), Sigmoid())   [class x0 + 2 x1 > 0]");
    const Split d = synthetic(500, true, 2);
    manual_seed(kSeed);
    const Run r = fit_model(mlp_classifier(), d,
                            {.lr = 0.02, .loss = train::losses::bce, .metrics = {train::metrics::binary_accuracy()}, .batch_size = 10},
                            std::cout);
    summary(r);
    const Tensor pred = train::predict(*r.model, narrow(d.test.x, 0, 0, 5));
    for (std::int64_t i = 0; i < 5; ++i)
      fmt::print("   Predicted: {}, Actual: {}\n", pred.at({i, 0}) > 0.5 ? "True" : "False", static_cast<int>(d.test.y.at({i, 0})));
  }
  {
    title("Dense(8, 'relu') -> Dense(3, 'softmax'); SGD(0.1), categorical cross-entropy, metrics=['accuracy']; fit(epochs=100, batch_size=10)",
          "Sequential(Linear(4, 8), ReLU(), Linear(8, 3)), losses::cross_entropy (softmax inside)   [iris]");
    const Split d = iris();
    manual_seed(kSeed);
    const Run r = fit_model(softmax_classifier(), d,
                            {.lr = 0.1, .loss = train::losses::cross_entropy, .metrics = {train::metrics::accuracy()}, .batch_size = 10},
                            std::cout);
    summary(r);
    const Tensor p = softmax(train::predict(*r.model, narrow(d.test.x, 0, 0, 3)), 1);
    const Tensor cls = argmax(p, 1);
    for (std::int64_t i = 0; i < 3; ++i) {
      fmt::print("   Example {}: Predicted probabilities: [{:.6f} {:.6f} {:.6f}]\n", i + 1, p.at({i, 0}), p.at({i, 1}), p.at({i, 2}));
      fmt::print("    Predicted classes: {}   (label {})\n", static_cast<long long>(cls.at({i})), static_cast<long long>(d.test.y.at({i})));
    }
  }
  {
    title("Dense(4, 'relu') -> Dropout(0.5) -> Dense(3, 'relu') -> Dense(1); SGD(0.01), MSE; fit(epochs=100, batch_size=10)",
          "nn::Dropout(0.5) (inverted, as Keras) and nn::ClassicDropout(0.5) (the slides: keep p, scale by p at inference)");
    const Split d = synthetic(500, false, 3);
    for (bool classic : {false, true}) {
      manual_seed(kSeed);
      fmt::print("   {}:\n", classic ? "ClassicDropout(keep 0.5)" : "Dropout(0.5)");
      const Run r = fit_model(dropout_model(classic), d, {.lr = 0.01, .batch_size = 10, .print_every = 20}, std::cout);
      summary(r);
      fmt::print("   test MSE of the eval-mode network {:.4f}; of the mean of 200 dropout (training-mode) predictions {:.4f}\n",
                 r.test.at("loss"), mc_dropout_mse(*r.model, d.test));
    }
    fmt::print("   With only 4 units, dropping half of them decides which ReLUs of the next layer fire, so E[relu(z)] ≠ relu(E[z]):\n"
               "   the eval-mode network, which replaces the noise by its expectation, is not the average of the noisy networks.\n"
               "   The inverted-dropout run drifted into relying on the noise: its val_loss climbs after epoch ~20 while the\n"
               "   average of the noisy predictions stays good. Watch val_loss (EarlyStopping, below) and use wider layers\n"
               "   with dropout.\n");
  }
  {
    title("EarlyStopping(monitor='val_loss', patience=5, restore_best_weights=True) on the dropout model, up to 300 epochs",
          "train::EarlyStopping(EarlyStoppingOptions().monitor(\"val_loss\").patience(5).restore_best_weights(true))");
    const Split d = synthetic(500, false, 4);
    manual_seed(kSeed);
    const auto stop = lecture_early_stopping();
    const Run r = fit_model(dropout_model(), d, {.lr = 0.01, .epochs = 300, .batch_size = 10, .callbacks = {stop}}, std::cout);
    summary(r);
    if (stop->stopped_epoch() >= 0)
      fmt::print("   stopped after epoch {}: val_loss did not improve on {:.5f} (epoch {}) for 5 epochs; best weights restored\n",
                 stop->stopped_epoch() + 1, stop->best(), stop->best_epoch() + 1);
    else
      fmt::print("   ran all 300 epochs; best val_loss {:.5f} at epoch {}; best weights restored\n", stop->best(), stop->best_epoch() + 1);
  }
  {
    title(fmt::format("Dense(1, kernel_regularizer=l1({0}) / l2({0})) on 5 features of which 2 matter; full-batch SGD({1}), {2} epochs",
                      kLambda, kRegLr, kRegEpochs),
          "loss = mse + nn::functional::l1_penalty(kernels(model), λ)   (or l2_penalty: λ‖w‖²)   [y = x0 + 2 x1 + 0.5 noise, 80 samples]");
    const Split d = sparse_regression();
    const char* names[] = {"no penalty", "L1", "L2"};
    const Penalty kinds[] = {Penalty::none, Penalty::l1, Penalty::l2};
    std::ostringstream quiet;
    for (int k = 0; k < 3; ++k) {
      manual_seed(kSeed);
      const Run r = regularized_neuron(d, kinds[k], kLambda, quiet);
      const std::vector<float> w = r.model->at<nn::Linear>(0)->weight().to_vector<float>();
      fmt::print("   {:<10} w = [{:+.4f} {:+.4f} {:+.4f} {:+.4f} {:+.4f}]  test MSE {:.4f}\n", names[k], w[0], w[1], w[2], w[3], w[4],
                 train::evaluate(*r.model, train::losses::mse, data::TensorDataset(d.test.x, d.test.y)).at("loss"));
    }
    fmt::print("   L1 (the lasso) sets the three useless weights to zero, up to the ±lr·λ jitter of subgradient descent,\n"
               "   and shrinks the useful ones by about λ/2; L2 (ridge) shrinks every weight, by about 1/(1 + λ) for\n"
               "   standardized features, and zeroes none. As an optimizer's weight_decay, the L2 penalty λ‖w‖² is\n"
               "   weight_decay = 2λ (its gradient is 2λw).\n");
  }
  return 0;
}
