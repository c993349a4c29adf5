#pragma once
// xgrad: reverse-mode automatic differentiation on xtensor. Include this one header for the whole
// public API: tensors and ops (xgrad::), the engine (xgrad::autograd::), modules (xgrad::nn::),
// optimizers (xgrad::optim::), data loading (xgrad::data::) and training (xgrad::train::).

#include "autograd/autograd.hpp"
#include "data/data.hpp"
#include "nn/nn.hpp"
#include "optim/optim.hpp"
#include "train/train.hpp"
