#include "progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace xgrad::train {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool is_terminal(const std::ostream& out) {
  if (&out == &std::cout) return ::isatty(::fileno(stdout)) == 1;
  if (&out == &std::cerr || &out == &std::clog) return ::isatty(::fileno(stderr)) == 1;
  return false;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0.0 || std::abs(v) >= 1e-3) return fmt::format("{:.4f}", v);
  return fmt::format("{:.4e}", v);
}

std::string format_duration(double seconds) {
  if (!(seconds > 0.0)) seconds = 0.0;
  if (seconds >= 3600.0) {
    const auto s = static_cast<std::int64_t>(seconds);
    return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s % 3600) / 60, s % 60);
  }
  if (seconds >= 60.0) {
    const auto s = static_cast<std::int64_t>(seconds);
    return fmt::format("{}:{:02d}", s / 60, s % 60);
  }
  if (seconds >= 1.0) return fmt::format("{}s", static_cast<std::int64_t>(seconds));
  if (seconds >= 1e-3) return fmt::format("{}ms", static_cast<std::int64_t>(seconds * 1e3));
  return fmt::format("{}us", static_cast<std::int64_t>(seconds * 1e6));
}

std::string format_bar(std::int64_t done, std::int64_t total, int width) {
  std::string bar(static_cast<std::size_t>(width), '.');
  if (total <= 0 || done >= total) {
    bar.assign(static_cast<std::size_t>(width), '=');
  } else if (done > 0) {
    const auto filled = static_cast<std::size_t>(static_cast<double>(width) * static_cast<double>(done) / static_cast<double>(total));
    if (filled > 0) {  // Keras: '=' * (filled - 1) + '>' + '.' * (width - filled)
      for (std::size_t i = 0; i + 1 < filled; ++i) bar[i] = '=';
      bar[filled - 1] = '>';
    }
  }
  return "[" + bar + "]";
}

namespace {
std::string format_logs(const Logs& logs) {
  std::string out;
  for (const auto& item : logs)
    if (item.key != "lr") out += fmt::format(" - {}: {}", item.key, format_value(item.value));
  return out;
}
}  // namespace

ProgressBar::ProgressBar(std::ostream& out, int verbose, bool terminal, Clock clock, double refresh_seconds, int width)
    : out_(out), verbose_(verbose), terminal_(terminal), clock_(std::move(clock)), refresh_seconds_(refresh_seconds), width_(width) {
  if (verbose != 1 && verbose != 2) throw ValueError(fmt::format("ProgressBar: verbose must be 1 or 2, got {}", verbose));
  if (!(refresh_seconds >= 0.0))
    throw ValueError(fmt::format("ProgressBar: refresh_seconds must be >= 0, got {}", refresh_seconds));
  if (width < 1) throw ValueError(fmt::format("ProgressBar: width must be >= 1, got {}", width));
  if (!clock_) clock_ = steady_seconds;
}

void ProgressBar::on_train_begin(FitContext& ctx) { epochs_ = ctx.epochs; }

void ProgressBar::on_epoch_begin(FitContext& ctx, std::int64_t epoch) {
  steps_ = ctx.steps_per_epoch;
  steps_done_ = 0;
  drawn_ = false;
  last_width_ = 0;
  epoch_start_ = clock_();
  if (verbose_ == 1 && terminal_) {
    out_ << fmt::format("Epoch {}/{}\n", epoch + 1, epochs_);
    out_.flush();
  }
}

void ProgressBar::redraw(const std::string& line, bool final) {
  std::string text = "\r" + line;
  if (line.size() < last_width_) text.append(last_width_ - line.size(), ' ');
  if (final) text += '\n';
  out_ << text;
  out_.flush();
  last_width_ = line.size();
}

void ProgressBar::on_batch_end(FitContext&, std::int64_t batch, const Logs& logs) {
  steps_done_ = batch + 1;
  if (verbose_ != 1 || !terminal_ || steps_done_ >= steps_) return;  // the last batch is drawn by on_epoch_end
  const double now = clock_();
  if (drawn_ && now - last_draw_ < refresh_seconds_) return;
  drawn_ = true;
  last_draw_ = now;
  const double elapsed = now - epoch_start_;
  const double eta = elapsed / static_cast<double>(steps_done_) * static_cast<double>(steps_ - steps_done_);
  const int digits = static_cast<int>(std::to_string(steps_).size());
  redraw(fmt::format("{:>{}}/{} {} - ETA: {}{}", steps_done_, digits, steps_, format_bar(steps_done_, steps_, width_),
                     format_duration(eta), format_logs(logs)),
         false);
}

void ProgressBar::on_epoch_end(FitContext&, std::int64_t epoch, Logs& logs) {
  const double elapsed = clock_() - epoch_start_;
  const std::string timing = fmt::format("{} {}/step", format_duration(elapsed),
                                         format_duration(steps_done_ > 0 ? elapsed / static_cast<double>(steps_done_) : 0.0));
  if (verbose_ == 1 && terminal_) {
    const int digits = static_cast<int>(std::to_string(steps_).size());
    redraw(fmt::format("{:>{}}/{} {} - {}{}", steps_done_, digits, steps_, format_bar(steps_done_, steps_, width_), timing,
                       format_logs(logs)),
           true);
  } else {
    out_ << fmt::format("Epoch {}/{} - {}{}\n", epoch + 1, epochs_, timing, format_logs(logs));
    out_.flush();
  }
}

}  // namespace xgrad::train
