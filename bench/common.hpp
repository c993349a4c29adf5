#pragma once
// Shared plumbing of the C++ benchmark workers (xgrad_bench, libtorch_bench, blas_limit): the line
// protocol spoken with bench/run.py, time-based measurement loops, JSON output, and the run log
// (BLAS library and core, thread counts, environment, peak RSS).
//
// Protocol: the driver writes one command per line on stdin and reads exactly one JSON line back.
//   info                               -> {"system": ..., "blas": {...}, "threads": ..., "env": {...}}
//   run <workload> <dtype> [k=v ...]   -> {"sec": seconds per unit, "iters": n, ...} (one sample)
//   eval <workload> <dtype>            -> {"acc": test accuracy, "epochs": n}
//   free                               -> {"ok": true} (drops every cached model and data set)
//   quit
// A failure answers {"error": "..."}; the worker keeps serving. With arguments `mem <workload> <dtype>
// [k=v ...]` a worker instead runs one workload in a fresh process and prints its peak RSS (VmHWM).
// Units: W1, W2, W5, W6, W7, S -> seconds per iteration (training step or op call); W3, W4 -> seconds
// per epoch.

#include <dlfcn.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// A parsed command: words[0] is the verb, then positional words; key=value pairs go to `kv`.
struct Command {
  std::vector<std::string> words;
  std::map<std::string, std::string> kv;
  std::string word(std::size_t i, const std::string& fallback = "") const {
    return i < words.size() ? words[i] : fallback;
  }
  double num(const std::string& key, double fallback) const {
    auto it = kv.find(key);
    return it == kv.end() ? fallback : std::stod(it->second);
  }
  std::string str(const std::string& key, const std::string& fallback) const {
    auto it = kv.find(key);
    return it == kv.end() ? fallback : it->second;
  }
};

inline Command parse_command(const std::string& line) {
  Command c;
  std::istringstream in(line);
  std::string w;
  while (in >> w) {
    auto eq = w.find('=');
    if (eq == std::string::npos) c.words.push_back(w);
    else c.kv[w.substr(0, eq)] = w.substr(eq + 1);
  }
  return c;
}

inline Command parse_args(int argc, char** argv) {
  std::string line;
  for (int i = 1; i < argc; ++i) line += std::string(argv[i]) + " ";
  return parse_command(line);
}

inline std::string json_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    switch (ch) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", ch);
          o += buf;
        } else {
          o += ch;
        }
    }
  }
  return o;
}

/// A flat JSON object built field by field (values are numbers, strings, or raw JSON).
class Json {
 public:
  Json& num(const std::string& k, double v) {
    char buf[64];
    if (v != v || v == 1.0 / 0.0 || v == -1.0 / 0.0) std::snprintf(buf, sizeof buf, "null");
    else std::snprintf(buf, sizeof buf, "%.9g", v);
    return raw(k, buf);
  }
  Json& str(const std::string& k, const std::string& v) { return raw(k, quoted(v)); }
  Json& boolean(const std::string& k, bool v) { return raw(k, v ? "true" : "false"); }
  Json& raw(const std::string& k, const std::string& v) {
    if (!body_.empty()) body_.append(", ");
    body_.append(quoted(k)).append(": ").append(v);
    return *this;
  }
  static std::string quoted(const std::string& s) {
    std::string o(1, '"');
    o.append(json_escape(s)).push_back('"');
    return o;
  }
  std::string dump() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

/// Runs `step` for at least `warmup` seconds (at least one call), then times chunks of calls until
/// `min_time` seconds and `min_iters` calls have passed. Returns {seconds per call, calls timed}.
struct Timing {
  double sec_per_iter;
  std::int64_t iters;
};

inline Timing time_loop(const std::function<void()>& step, double warmup, double min_time, std::int64_t min_iters = 1) {
  auto t0 = Clock::now();
  std::int64_t n = 0;
  do {
    step();
    ++n;
  } while (seconds_since(t0) < warmup);
  const double per = seconds_since(t0) / static_cast<double>(n);
  // Chunks of ~2 ms between clock reads (1 call when a call is slower than that).
  std::int64_t chunk = per > 0 ? static_cast<std::int64_t>(2e-3 / per) : 1;
  if (chunk < 1) chunk = 1;
  std::int64_t iters = 0;
  t0 = Clock::now();
  double elapsed = 0;
  while (elapsed < min_time || iters < min_iters) {
    for (std::int64_t i = 0; i < chunk; ++i) step();
    iters += chunk;
    elapsed = seconds_since(t0);
  }
  return {elapsed / static_cast<double>(iters), iters};
}

/// The value of a /proc/self/status field in kB (VmHWM, VmRSS), or -1.
inline long proc_status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

/// The OpenBLAS library mapped into this process (found in /proc/self/maps, so it is the one LibTorch
/// or xgrad really calls) and what it reports: core, config, thread count, parallel mode.
inline std::string blas_info_json() {
  std::ifstream maps("/proc/self/maps");
  std::string line, path;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string p = line.substr(slash);
    if (p.find("libopenblas") != std::string::npos) {
      path = p;
      break;
    }
  }
  Json j;
  j.str("library", path);
  void* h = path.empty() ? nullptr : dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (!h) return j.str("error", "no OpenBLAS mapped").dump();
  using str_fn = char* (*)();
  using int_fn = int (*)();
  if (auto f = reinterpret_cast<str_fn>(dlsym(h, "openblas_get_corename"))) j.str("corename", f());
  if (auto f = reinterpret_cast<str_fn>(dlsym(h, "openblas_get_config"))) j.str("config", f());
  if (auto f = reinterpret_cast<int_fn>(dlsym(h, "openblas_get_num_threads"))) j.num("num_threads", f());
  if (auto f = reinterpret_cast<int_fn>(dlsym(h, "openblas_get_parallel"))) {
    const int p = f();
    j.str("parallel", p == 0 ? "sequential" : p == 1 ? "pthreads" : p == 2 ? "openmp" : std::to_string(p));
  }
  dlclose(h);
  return j.dump();
}

/// The environment variables that steer threading, as a JSON object.
inline std::string env_json() {
  Json j;
  for (const char* k : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS",
                        "GOMP_SPINCOUNT", "OMP_PROC_BIND", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE",
                        "LD_PRELOAD"}) {
    const char* v = std::getenv(k);
    j.raw(k, v ? Json::quoted(v) : std::string("null"));
  }
  return j.dump();
}

inline std::string compiler_string() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "g++ " __VERSION__;
#else
  return "unknown";
#endif
}

/// Handler of `run`/`eval`/`free` commands; returns the JSON answer.
using Handler = std::function<std::string(const Command&)>;

/// Serves the line protocol on stdin/stdout until `quit` or end of input.
inline int serve(const std::function<std::string()>& info, const Handler& run, const Handler& eval,
                 const std::function<void()>& free_all) {
  std::string line;
  while (std::getline(std::cin, line)) {
    Command c = parse_command(line);
    const std::string verb = c.word(0);
    if (verb.empty()) continue;
    if (verb == "quit") break;
    std::string out;
    try {
      if (verb == "info") out = info();
      else if (verb == "run") out = run(c);
      else if (verb == "eval") out = eval(c);
      else if (verb == "free") {
        free_all();
        out = Json().boolean("ok", true).dump();
      } else {
        out = Json().str("error", "unknown command " + verb).dump();
      }
    } catch (const std::exception& e) {
      out = Json().str("error", e.what()).dump();
    }
    std::cout << out << std::endl;
  }
  // Drop every model and tensor while the thread-local state of the libraries is still alive (tensors
  // destroyed from static destructors after main would run after it).
  free_all();
  return 0;
}

/// Fashion-MNIST normalization used by every system: x = (pixel/255 - mean)/std.
inline constexpr double kFashionMean = 0.2860;
inline constexpr double kFashionStd = 0.3530;

/// Where the data lives (override with XGRAD_BENCH_DATA).
inline std::string fashion_dir() {
  const char* d = std::getenv("XGRAD_BENCH_DATA");
  return d ? d : "/usr/share/datasets/fashion-mnist";
}

}  // namespace bench
