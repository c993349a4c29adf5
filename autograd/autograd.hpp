#pragma once
// The autograd layer: tensors, ops, the engine, grad modes.

#include "allocator.hpp"
#include "dtype.hpp"
#include "engine.hpp"
#include "error.hpp"
#include "explain.hpp"
#include "format.hpp"
#include "function.hpp"
#include "gradcheck.hpp"
#include "grad_mode.hpp"
#include "node.hpp"
#include "ops.hpp"
#include "random.hpp"
#include "shape.hpp"
#include "tensor.hpp"
#include "threads.hpp"
