#pragma once
// Activation functions as modules (for Sequential). Each forward is the xgrad op of the same name
// (see autograd/ops/unary.hpp and softmax.hpp for the formulas and their derivatives); only PReLU has a
// parameter.

#include <cstdint>

#include "module.hpp"

namespace xgrad::nn {

/// σ(x) = 1/(1+e^-x). Gradient g·σ(x)(1-σ(x)).
class Sigmoid : public Module {
 public:
  Sigmoid();
  Sigmoid(Sigmoid&&) = default;
  /// The formula above, element-wise; the output has the input's shape and dtype.
  Tensor forward(const Tensor& input) override;
};

/// tanh(x). Gradient g·(1-tanh²x).
class Tanh : public Module {
 public:
  Tanh();
  Tanh(Tanh&&) = default;
  /// The formula above, element-wise; the output has the input's shape and dtype.
  Tensor forward(const Tensor& input) override;
};

/// max(x, 0). Gradient g where x > 0 (0 at the kink).
class ReLU : public Module {
 public:
  ReLU();
  ReLU(ReLU&&) = default;
  /// The formula above, element-wise; the output has the input's shape and dtype.
  Tensor forward(const Tensor& input) override;
};

/// x for x > 0, alpha·x otherwise (alpha = 0.01 by default, PyTorch's negative_slope). Gradient g or alpha·g.
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double alpha = 0.01);
  LeakyReLU(LeakyReLU&&) = default;
  /// The formula above, element-wise; the output has the input's shape and dtype.
  Tensor forward(const Tensor& input) override;
  /// "alpha=0.01".
  std::string extra_repr() const override;
  double alpha() const noexcept { return alpha_; }

 private:
  double alpha_;
};

/// x for x > 0, alpha·(e^x - 1) otherwise (alpha = 1). Gradient g or g·alpha·e^x.
class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0);
  ELU(ELU&&) = default;
  /// The formula above, element-wise; the output has the input's shape and dtype.
  Tensor forward(const Tensor& input) override;
  /// "alpha=1".
  std::string extra_repr() const override;
  double alpha() const noexcept { return alpha_; }

 private:
  double alpha_;
};

/// scale·elu(x, alpha) with alpha ≈ 1.6733, scale ≈ 1.0507 (self-normalizing; pair with lecun_normal_).
class SELU : public Module {
 public:
  SELU();
  SELU(SELU&&) = default;
  /// The formula above, element-wise; the output has the input's shape and dtype.
  Tensor forward(const Tensor& input) override;
};

/// (1/beta)·ln(1 + e^(beta·x)), and x where beta·x > threshold (beta = 1, threshold = 20). Gradient g·σ(beta·x).
class Softplus : public Module {
 public:
  explicit Softplus(double beta = 1.0, double threshold = 20.0);
  Softplus(Softplus&&) = default;
  /// The formula above, element-wise; the output has the input's shape and dtype.
  Tensor forward(const Tensor& input) override;
  /// "beta=1, threshold=20".
  std::string extra_repr() const override;

 private:
  double beta_, threshold_;
};

/// PReLU: x for x > 0, a·x otherwise, with a learnable slope parameter "weight" of shape
/// (num_parameters): one shared slope (1, the default) or one per channel (dim 1 of the input),
/// initialized to `init` (0.25). Gradients: dx = g or a·g; da = Σ g·x over x ≤ 0 (accumulated into
/// weight().grad()).
class PReLU : public Module {
 public:
  explicit PReLU(std::int64_t num_parameters = 1, double init = 0.25, Dtype dtype = kFloat32);
  PReLU(PReLU&&) = default;
  /// ShapeError (from prelu) when num_parameters > 1 differs from the input's dim 1.
  Tensor forward(const Tensor& input) override;
  /// "num_parameters=1".
  std::string extra_repr() const override;
  /// The slopes (num_parameters): a reference to the registry slot.
  Tensor& weight() { return *weight_; }
  const Tensor& weight() const { return *weight_; }

 private:
  std::int64_t num_parameters_;
  Tensor* weight_;
};

/// x·Φ(x) (exact erf form). Gradient g·(Φ(x) + x·φ(x)).
class GELU : public Module {
 public:
  GELU();
  GELU(GELU&&) = default;
  /// The formula above, element-wise; the output has the input's shape and dtype.
  Tensor forward(const Tensor& input) override;
};

/// x·σ(x) (swish). Gradient g·σ(x)(1 + x(1-σ(x))).
class SiLU : public Module {
 public:
  SiLU();
  SiLU(SiLU&&) = default;
  /// The formula above, element-wise; the output has the input's shape and dtype.
  Tensor forward(const Tensor& input) override;
};

/// softmax along `dim` (default -1, the class dimension of (N, C) logits): y_i = e^(x_i)/Σ_j e^(x_j).
/// Gradient y ⊙ (g - Σ g⊙y). For training prefer cross_entropy on logits (stabler, one pass).
class Softmax : public Module {
 public:
  explicit Softmax(std::int64_t dim = -1);
  Softmax(Softmax&&) = default;
  /// The formula above along dim (IndexError from the op when dim is out of range); any shape.
  Tensor forward(const Tensor& input) override;
  /// "dim=-1".
  std::string extra_repr() const override;

 private:
  std::int64_t dim_;
};

/// log-softmax along `dim` (default -1): y_i = x_i - logsumexp(x). Gradient g - softmax(x)·Σg. Pair with
/// nll_loss.
class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(std::int64_t dim = -1);
  LogSoftmax(LogSoftmax&&) = default;
  /// The formula above along dim (IndexError from the op when dim is out of range); any shape.
  Tensor forward(const Tensor& input) override;
  /// "dim=-1".
  std::string extra_repr() const override;

 private:
  std::int64_t dim_;
};

/// Heaviside step of the perceptron: 1 where x > 0, 0 where x < 0, and `value_at_zero` at x = 0
/// (xgrad::heaviside(x, value_at_zero)). The default 0 is PyTorch's heaviside(x, 0) and xgrad::step; the
/// lecture slides (decks 001, 003: y = 1 if w·x + b >= 0) put 1 at 0, so use Step(1.0) to reproduce their
/// perceptrons. Zero gradient: a network of Step units is trained with the perceptron rule, not
/// backpropagation.
class Step : public Module {
 public:
  /// ValueError unless value_at_zero is finite.
  explicit Step(double value_at_zero = 0.0);
  Step(Step&&) = default;
  /// The formula above, element-wise; the output has the input's shape and dtype.
  Tensor forward(const Tensor& input) override;
  /// "" for the default, else "value_at_zero=1".
  std::string extra_repr() const override;
  double value_at_zero() const noexcept { return value_at_zero_; }

 private:
  double value_at_zero_;
};

}  // namespace xgrad::nn
