#pragma once
// Dropout layers: inverted dropout (PyTorch, Keras: the modern default) and the classic dropout of
// the lectures. Side by side, for a unit with activation a:
//
//                      training                          inference       E[output] in training
//   Dropout(p)         a·m/(1-p),  m ~ Bernoulli(1-p)    a               a
//   ClassicDropout(p)  a·m,        m ~ Bernoulli(p)      p·a             p·a
//
// Dropout's p is the probability of *dropping* a unit; ClassicDropout's p is the probability of
// *keeping* it (deck 000). Both keep training and inference consistent in expectation: inverted dropout
// rescales during training so that inference needs no change; classic dropout rescales at inference.
// With p_keep = 1 - p_drop they train the same network up to that fixed scale. Masks come from
// xgrad::bernoulli (the global generator: manual_seed reproduces them); a new mask is drawn at every call.

#include "module.hpp"

namespace xgrad::nn {

/// Inverted dropout: see functional::dropout. `p` is the drop probability in [0, 1] (ValueError
/// otherwise; p = 1 outputs zeros). Identity in eval mode.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Dropout(Dropout&&) = default;
  /// Training: x ⊙ m/(1-p); eval: x.
  Tensor forward(const Tensor& input) override;
  /// "p=0.5".
  std::string extra_repr() const override;
  double p() const noexcept { return p_; }

 private:
  double p_;
};

/// Classic dropout of the lectures: see functional::classic_dropout. `p` is the keep probability in
/// (0, 1] (ValueError otherwise).
class ClassicDropout : public Module {
 public:
  explicit ClassicDropout(double p = 0.5);
  ClassicDropout(ClassicDropout&&) = default;
  /// Training: x ⊙ m with m ~ Bernoulli(p); eval: p·x.
  Tensor forward(const Tensor& input) override;
  /// "keep_prob=0.5".
  std::string extra_repr() const override;
  double keep_prob() const noexcept { return p_; }

 private:
  double p_;
};

}  // namespace xgrad::nn
