#pragma once
// Weight initializers (xgrad::nn::init), the formulas of PyTorch's torch.nn.init and Keras'
// initializers. Every function fills its tensor in place under NoGradGuard (so it works on parameters
// that require grad; nothing is recorded), draws from the global generator (manual_seed reproduces it),
// and returns the same tensor handle.
//
// Fans of a weight of shape (out, in, k...) are fan_in = in·Πk and fan_out = out·Πk: a Linear weight
// (out_features, in_features) has fan_in = in_features. Tensors of rank < 2 have no fans (ShapeError).

#include <cstdint>

#include "../autograd/tensor.hpp"

namespace xgrad::nn::init {

/// The nonlinearity that follows a layer, for calculate_gain.
enum class Nonlinearity { linear, sigmoid, tanh, relu, leaky_relu, selu };
/// Which fan kaiming_* preserves: fan_in keeps the variance of activations in the forward pass,
/// fan_out that of gradients in the backward pass.
enum class FanMode { fan_in, fan_out };

/// The recommended gain: linear 1, sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2/(1+slope²)) with
/// slope = `param` (default 0.01), selu 3/4.
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

/// fan_in and fan_out of a weight.
struct Fans {
  std::int64_t fan_in = 0;
  std::int64_t fan_out = 0;
};
/// Fans of `tensor` (see the header comment). ShapeError naming the shape for rank < 2.
Fans calculate_fans(const Tensor& tensor);

/// Fills with U(a, b).
Tensor uniform_(const Tensor& tensor, double a = 0.0, double b = 1.0);
/// Fills with N(mean, stddev²).
Tensor normal_(const Tensor& tensor, double mean = 0.0, double stddev = 1.0);
/// Fills with `value`.
Tensor constant_(const Tensor& tensor, double value);
/// Fills with 0.
Tensor zeros_(const Tensor& tensor);
/// Fills with 1.
Tensor ones_(const Tensor& tensor);

/// Xavier/Glorot uniform: U(-b, b) with b = gain·√(6/(fan_in + fan_out)) (variance gain²·2/(fan_in+fan_out)).
Tensor xavier_uniform_(const Tensor& tensor, double gain = 1.0);
/// Xavier/Glorot normal: N(0, σ²) with σ = gain·√(2/(fan_in + fan_out)).
Tensor xavier_normal_(const Tensor& tensor, double gain = 1.0);
/// Alias of xavier_uniform_ (Keras' name).
Tensor glorot_uniform_(const Tensor& tensor, double gain = 1.0);
/// Alias of xavier_normal_ (Keras' name).
Tensor glorot_normal_(const Tensor& tensor, double gain = 1.0);

/// Kaiming/He uniform: U(-b, b) with b = √3·σ, σ = gain/√fan, gain = calculate_gain(nonlinearity, a),
/// fan = fan_in or fan_out per `mode`. The defaults (a = 0, fan_in, leaky_relu) give gain √2: He's
/// initialization for ReLU layers, b = √(6/fan_in). Linear's default init is this with a = √5, which
/// gives b = 1/√fan_in.
Tensor kaiming_uniform_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                        Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
/// Kaiming/He normal: N(0, σ²) with σ = gain/√fan (as kaiming_uniform_).
Tensor kaiming_normal_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                       Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
/// He uniform (Keras): kaiming_uniform_ for ReLU, b = √(6/fan_in).
Tensor he_uniform_(const Tensor& tensor);
/// He normal: kaiming_normal_ for ReLU, σ = √(2/fan_in) (a plain normal; Keras truncates at 2σ).
Tensor he_normal_(const Tensor& tensor);
/// LeCun uniform: U(-b, b) with b = √(3/fan_in) (variance 1/fan_in, for SELU networks).
Tensor lecun_uniform_(const Tensor& tensor);
/// LeCun normal: N(0, 1/fan_in) (a plain normal; Keras truncates at 2σ).
Tensor lecun_normal_(const Tensor& tensor);

}  // namespace xgrad::nn::init
