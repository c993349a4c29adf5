#pragma once
// Thread-local switches: gradient recording and anomaly detection.

namespace xgrad {

/// Whether ops record the graph on this thread (true by default).
struct GradMode {
  static bool is_enabled() noexcept;
  static void set_enabled(bool enabled) noexcept;
};

/// Scoped switch of GradMode; restores the previous state on destruction.
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled) noexcept : previous_(GradMode::is_enabled()) {
    GradMode::set_enabled(enabled);
  }
  ~AutoGradMode() { GradMode::set_enabled(previous_); }
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool previous_;
};

/// Disables recording in a scope (inference, optimizer steps), like torch::NoGradGuard.
class NoGradGuard : public AutoGradMode {
 public:
  NoGradGuard() noexcept : AutoGradMode(false) {}
};

/// Enables recording in a scope, even inside a NoGradGuard.
class EnableGradGuard : public AutoGradMode {
 public:
  EnableGradGuard() noexcept : AutoGradMode(true) {}
};

/// Anomaly detection (thread-local, off by default): when on, the first op whose forward output or
/// backward gradient holds a NaN or Inf throws AnomalyError naming the op and the user's call site of
/// its forward.
struct AnomalyMode {
  static bool is_enabled() noexcept;
  static void set_enabled(bool enabled) noexcept;
};

/// Scoped switch of AnomalyMode.
class DetectAnomalyGuard {
 public:
  explicit DetectAnomalyGuard(bool enabled = true) noexcept : previous_(AnomalyMode::is_enabled()) {
    AnomalyMode::set_enabled(enabled);
  }
  ~DetectAnomalyGuard() { AnomalyMode::set_enabled(previous_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace xgrad
