#pragma once
// xgrad: reverse-mode automatic differentiation on xtensor. Include this one header for the whole
// public API: tensors and ops (xgrad::), the engine (xgrad::autograd::), modules (xgrad::nn::) and
// optimizers (xgrad::optim::).

#include "autograd/autograd.hpp"
