#pragma once
// The optim layer: optimizers, learning-rate schedulers and gradient clipping (xgrad::optim).

#include "adagrad.hpp"
#include "adam.hpp"
#include "clip.hpp"
#include "optimizer.hpp"
#include "rmsprop.hpp"
#include "scheduler.hpp"
#include "sgd.hpp"
