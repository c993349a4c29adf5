#pragma once
// Every op of the autograd layer.

#include "ops/arithmetic.hpp"
#include "ops/factories.hpp"
#include "ops/linalg.hpp"
#include "ops/loss.hpp"
#include "ops/reduction.hpp"
#include "ops/shape_ops.hpp"
#include "ops/softmax.hpp"
#include "ops/unary.hpp"
