#pragma once
// The nn layer: Module, containers, layers, initializers and functional helpers (xgrad::nn).

#include "activation.hpp"
#include "container.hpp"
#include "dropout.hpp"
#include "embedding.hpp"
#include "functional.hpp"
#include "init.hpp"
#include "linear.hpp"
#include "module.hpp"
#include "normalization.hpp"
#include "ordered_dict.hpp"

