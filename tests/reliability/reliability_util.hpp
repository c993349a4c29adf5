#pragma once
// Helpers of the reliability tests (tests/reliability/): memory measurements from /proc and
// sanitizer detection.

#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

namespace xgrad::testing {

/// Resident set size of this process in bytes (second field of /proc/self/statm, in pages).
inline std::int64_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
}

/// Resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0); false when not permitted.
inline bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

/// Peak resident set size (VmHWM of /proc/self/status) in bytes.
inline std::int64_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "VmHWM:") {
      std::int64_t kb = 0;
      f >> kb;
      return kb * 1024;
    }
    std::string rest;
    std::getline(f, rest);
  }
  return -1;
}

/// CPU time of the calling thread in seconds. Time bounds in tests use it rather than the wall clock,
/// which on a shared machine also counts the time other processes had the CPU.
inline double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// True in AddressSanitizer / ThreadSanitizer builds (GCC and clang), where memory figures and
/// speeds are not those of a normal build.
constexpr bool kAsan =
#if defined(__SANITIZE_ADDRESS__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

constexpr bool kTsan =
#if defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

/// Any sanitizer build.
constexpr bool kSanitized = kAsan || kTsan;

/// True for builds without optimization (Debug, sanitizers): only there are the timing budgets of
/// the deep-graph tests relaxed.
constexpr bool kOptimized =
#if defined(__OPTIMIZE__)
    true;
#else
    false;
#endif

}  // namespace xgrad::testing
