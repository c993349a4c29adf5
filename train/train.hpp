#pragma once
// The train layer (xgrad::train): fit/evaluate/predict, metrics, the History, callbacks (early stopping,
// checkpoints, learning-rate schedules), the progress display, and safetensors checkpoints.

#include "callbacks.hpp"
#include "checkpoint.hpp"
#include "fit.hpp"
#include "history.hpp"
#include "metrics.hpp"
#include "progress.hpp"
