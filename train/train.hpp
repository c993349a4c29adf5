#pragma once
// The train layer (xgrad::train): fit/evaluate/predict, metrics, the History, callbacks (early stopping,
// checkpoints, learning-rate schedules), the progress display, safetensors checkpoints and weights files.

#include "callbacks.hpp"
#include "checkpoint.hpp"
#include "fit.hpp"
#include "history.hpp"
#include "metrics.hpp"
#include "progress.hpp"
#include "weights.hpp"
