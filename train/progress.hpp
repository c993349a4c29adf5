#pragma once
// Progress display of fit(): a live progress bar on a terminal, one line per epoch otherwise.
//
// On a terminal (verbose 1), every epoch prints its title, then one line redrawn in place with '\r':
//
//   Epoch 3/10
//    17/40 [========>.....................] - ETA: 1s - loss: 0.2811 - accuracy: 0.9120
//
// and, once the epoch (and its validation) is done, the same line completed with the epoch's time and
// the validation figures:
//
//   40/40 [==============================] - 2s 50ms/step - loss: 0.2740 - accuracy: 0.9140 - val_loss: 0.3012 - val_accuracy: 0.9000
//
// Otherwise (verbose 2, or output that is not a terminal: a file, a pipe, a test's stringstream) each
// epoch prints one plain line when it ends:
//
//   Epoch 3/10 - 2s 50ms/step - loss: 0.2740 - accuracy: 0.9140 - val_loss: 0.3012 - val_accuracy: 0.9000
//
// Values use 4 decimals, or 4 significant digits in scientific notation below 1e-3 (Keras's format);
// "lr" is not shown (it is in the History).

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include "callbacks.hpp"

namespace xgrad::train {

/// A clock returning seconds (any origin); the progress display measures elapsed times with it.
using Clock = std::function<double()>;

/// Seconds from std::chrono::steady_clock.
double steady_seconds();

/// True when `out` is std::cout and stdout is a terminal (isatty), or std::cerr/std::clog and stderr is
/// one. Other streams are never terminals.
bool is_terminal(const std::ostream& out);

/// A logged value as shown: "0.2811" (4 decimals) when |v| >= 1e-3 or v = 0, else "2.5000e-05"; "nan",
/// "inf", "-inf".
std::string format_value(double v);

/// A duration as shown: "1:02:03" (>= 1 h), "2:05" (>= 1 min), "12s" (>= 1 s), "250ms" (>= 1 ms), else
/// "40us"; each rounded down to its unit (negative durations show as 0).
std::string format_duration(double seconds);

/// The bar of `done` out of `total` steps in `width` characters between brackets, as Keras draws it:
/// with k = floor(width · done / total), k - 1 '=' then '>' then width - k '.' ("[===>......]"); all '.'
/// when k = 0; all '=' when done >= total.
std::string format_bar(std::int64_t done, std::int64_t total, int width = 30);

/// The progress display of fit() as a callback (fit adds one in front of the user's callbacks when
/// FitOptions::verbose > 0); see the top of this file for the formats.
class ProgressBar : public Callback {
 public:
  /// Prints to `out`. `verbose` 1: the live bar when `terminal`, else one line per epoch; 2: one line
  /// per epoch. On a terminal the bar is redrawn at most every `refresh_seconds` (and always for the
  /// last batch). ValueError for verbose outside {1, 2}, a negative refresh interval or width < 1.
  ProgressBar(std::ostream& out, int verbose, bool terminal, Clock clock = steady_seconds, double refresh_seconds = 0.05,
              int width = 30);

  void on_train_begin(FitContext& ctx) override;
  void on_epoch_begin(FitContext& ctx, std::int64_t epoch) override;
  void on_batch_end(FitContext& ctx, std::int64_t batch, const Logs& logs) override;
  void on_epoch_end(FitContext& ctx, std::int64_t epoch, Logs& logs) override;

 private:
  void redraw(const std::string& line, bool final);
  std::ostream& out_;
  int verbose_;
  bool terminal_;
  Clock clock_;
  double refresh_seconds_;
  int width_;
  std::int64_t epochs_ = 0;
  std::int64_t steps_ = 0;
  std::int64_t steps_done_ = 0;
  double epoch_start_ = 0.0;
  double last_draw_ = 0.0;
  bool drawn_ = false;
  std::size_t last_width_ = 0;
};

}  // namespace xgrad::train
