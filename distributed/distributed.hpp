#pragma once
// xgrad::distributed: data-parallel training over MPI (optional component, CMake option
// XGRAD_DISTRIBUTED; link xgrad::distributed). See docs/distributed.md.

#include "checkpoint.hpp"
#include "collectives.hpp"
#include "ddp.hpp"
#include "environment.hpp"
#include "functional.hpp"
#include "sampler.hpp"
#include "sync_batchnorm.hpp"
