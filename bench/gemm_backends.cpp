// GEMM backends compared at xgrad's benchmark shapes: the GEMMs of one training step of
//   W3  the Fashion-MNIST MLP 784-256-128-10 at batch 128 (3 forward, 3 weight-gradient and 2
//       input-gradient GEMMs: the first layer needs no input gradient), and
//   W6  one 4096x4096 Linear at batch 256 (forward, weight gradient and input gradient),
// each in float32 and float64, through a library that is chosen at run time:
//   --cblas PATH   a CBLAS library (OpenBLAS, BLIS, reference netlib BLAS...) loaded with dlopen;
//                  cblas_sgemm / cblas_dgemm are resolved from it, so one binary measures them all;
//   --dnnl PATH    oneDNN's dnnl_sgemm (row-major, 'N'/'T' flags). oneDNN has no float64 GEMM:
//                  asking for f64 prints a "skipped" record instead of a time.
// The thread count comes from the environment of this process (OPENBLAS_NUM_THREADS,
// BLIS_NUM_THREADS, OMP_NUM_THREADS), which bench/gemm_backends.sh sets before starting it; the
// program additionally calls the library's own set-threads function when it has one.
//
// Layout (as in bench/blas_limit.cpp and xgrad's nn::Linear): row-major activations (batch, features),
// weights (out, in). For a layer in -> out:
//   forward   Y  (b, out)  = X (b, in)  · Wᵀ           NoTrans, Trans
//   weights   dW (out, in) = dYᵀ (out, b) · X (b, in)  Trans,   NoTrans
//   inputs    dX (b, in)   = dY (b, out) · W (out, in) NoTrans, NoTrans
// Before timing, every W3 GEMM is checked against a plain triple loop, so a wrong transpose flag or
// leading dimension cannot go unnoticed (W6 uses the same code path with larger sizes).
//
// Output: one JSON line per run on stdout: per-step median/min/max seconds for W3 and W6, the number
// of repetitions, the process CPU time per wall second while timing (a check of the threads actually
// used), and what the library says about itself (version, kernel/core type, threads).
//
// Usage: gemm_backends (--cblas PATH | --dnnl PATH) --dtype f32|f64 --threads N [--name LABEL]
//                      [--w3-time SEC] [--w3-min-reps N] [--w6-time SEC] [--w6-min-reps N] [--w6-warmup N]

#include <dlfcn.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
#define GEMM_BACKENDS_HAVE_DNNL_HEADER 1
#else
#define GEMM_BACKENDS_HAVE_DNNL_HEADER 0
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// The backend interface: a row-major C = op(A) · op(B) with alpha = 1, beta = 0.

struct Backend {
  virtual ~Backend() = default;
  virtual bool has_f64() const = 0;
  virtual void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c,
                    int ldc) = 0;
  virtual void gemm(bool ta, bool tb, int m, int n, int k, const double* a, int lda, const double* b, int ldb, double* c,
                    int ldc) = 0;
  /// A JSON object describing the library as loaded (version, kernel choice, threads).
  virtual std::string info() const = 0;
};

std::string json_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out;
}

std::string quoted(const std::string& s) {
  // Appended piece by piece: GCC 12 reports a false -Wrestrict on `"\"" + std::string&&` at -O3.
  std::string out = "\"";
  out += json_escape(s);
  out += '"';
  return out;
}

/// dlopen with a readable error.
void* open_library(const std::string& path) {
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) throw std::runtime_error("dlopen " + path + ": " + dlerror());
  return h;
}

/// A symbol of `h`, or nullptr when the library does not export it.
template <class Fn>
Fn optional_symbol(void* h, const char* name) {
  return reinterpret_cast<Fn>(dlsym(h, name));
}

template <class Fn>
Fn required_symbol(void* h, const char* name, const std::string& path) {
  Fn f = optional_symbol<Fn>(h, name);
  if (!f) throw std::runtime_error(path + " has no symbol " + name);
  return f;
}

// ---------------------------------------------------------------------------------------------
// CBLAS through dlopen. The enum values are fixed by the CBLAS standard (cblas.h of every
// implementation uses them), so no particular library's header is needed here.

constexpr int kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112;

using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int);

class CblasBackend final : public Backend {
 public:
  CblasBackend(const std::string& path, int threads) : path_(path), handle_(open_library(path)) {
    sgemm_ = required_symbol<SgemmFn>(handle_, "cblas_sgemm", path);
    dgemm_ = required_symbol<DgemmFn>(handle_, "cblas_dgemm", path);
    // The environment already asks for `threads`; the explicit calls make sure of it where the
    // library offers one (OpenBLAS, BLIS). The reference BLAS is single-threaded anyway.
    if (auto set = optional_symbol<void (*)(int)>(handle_, "openblas_set_num_threads")) set(threads);
    if (auto set = optional_symbol<void (*)(long)>(handle_, "bli_thread_set_num_threads")) set(threads);
  }
  bool has_f64() const override { return true; }
  void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) override {
    sgemm_(kCblasRowMajor, ta ? kCblasTrans : kCblasNoTrans, tb ? kCblasTrans : kCblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb,
           0.0f, c, ldc);
  }
  void gemm(bool ta, bool tb, int m, int n, int k, const double* a, int lda, const double* b, int ldb, double* c,
            int ldc) override {
    dgemm_(kCblasRowMajor, ta ? kCblasTrans : kCblasNoTrans, tb ? kCblasTrans : kCblasNoTrans, m, n, k, 1.0, a, lda, b, ldb, 0.0,
           c, ldc);
  }
  std::string info() const override {
    std::ostringstream o;
    o << "{\"api\":\"cblas\",\"path\":" << quoted(path_);
    // OpenBLAS: build configuration, the core type whose kernels it picked, its thread count.
    if (auto f = optional_symbol<char* (*)()>(handle_, "openblas_get_config")) o << ",\"openblas_config\":" << quoted(f());
    if (auto f = optional_symbol<char* (*)()>(handle_, "openblas_get_corename")) o << ",\"openblas_core\":" << quoted(f());
    if (auto f = optional_symbol<int (*)()>(handle_, "openblas_get_num_threads")) o << ",\"lib_threads\":" << f();
    // BLIS: version, the sub-configuration (kernel set) chosen for this CPU, its thread count.
    if (auto f = optional_symbol<const char* (*)()>(handle_, "bli_info_get_version_str"))
      o << ",\"blis_version\":" << quoted(f());
    auto arch_id = optional_symbol<int (*)()>(handle_, "bli_arch_query_id");
    auto arch_str = optional_symbol<const char* (*)(int)>(handle_, "bli_arch_string");
    if (arch_id && arch_str) o << ",\"blis_arch\":" << quoted(arch_str(arch_id()));
    if (auto f = optional_symbol<long (*)()>(handle_, "bli_thread_get_num_threads")) o << ",\"lib_threads\":" << f();
    o << "}";
    return o.str();
  }

 private:
  std::string path_;
  void* handle_;  // kept open for the life of the process
  SgemmFn sgemm_ = nullptr;
  DgemmFn dgemm_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// oneDNN through dlopen; the header (libdnnl-dev) only supplies the exact function types.

#if GEMM_BACKENDS_HAVE_DNNL_HEADER
const char* isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41:
      return "sse41";
    case dnnl_cpu_isa_avx:
      return "avx";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    default:
      return "other";
  }
}

class DnnlBackend final : public Backend {
 public:
  explicit DnnlBackend(const std::string& path) : path_(path), handle_(open_library(path)) {
    sgemm_ = required_symbol<decltype(&dnnl_sgemm)>(handle_, "dnnl_sgemm", path);
  }
  bool has_f64() const override { return false; }  // oneDNN offers dnnl_sgemm only: no double GEMM
  void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) override {
    // dnnl_sgemm is row-major (unlike Fortran BLAS sgemm), so the arguments map one to one.
    const dnnl_status_t s = sgemm_(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
    if (s != dnnl_success) throw std::runtime_error("dnnl_sgemm failed with status " + std::to_string(int(s)));
  }
  void gemm(bool, bool, int, int, int, const double*, int, const double*, int, double*, int) override {
    throw std::runtime_error("oneDNN has no float64 GEMM");
  }
  std::string info() const override {
    std::ostringstream o;
    o << "{\"api\":\"dnnl_sgemm\",\"path\":" << quoted(path_);
    if (auto f = optional_symbol<decltype(&dnnl_version)>(handle_, "dnnl_version")) {
      const dnnl_version_t* v = f();
      o << ",\"dnnl_version\":\"" << v->major << "." << v->minor << "." << v->patch << "\""
        << ",\"dnnl_cpu_runtime\":" << quoted(v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp" : std::to_string(v->cpu_runtime));
    }
    if (auto f = optional_symbol<decltype(&dnnl_get_effective_cpu_isa)>(handle_, "dnnl_get_effective_cpu_isa"))
      o << ",\"dnnl_isa\":" << quoted(isa_name(f()));
    o << "}";
    return o.str();
  }

 private:
  std::string path_;
  void* handle_;
  decltype(&dnnl_sgemm) sgemm_ = nullptr;
};
#endif

// ---------------------------------------------------------------------------------------------
// The GEMMs of one training step of an MLP dims[0] -> ... -> dims[L] at batch b.

template <class T>
struct Step {
  std::vector<int> dims;
  int batch;
  bool first_input_grad;                         // W3: no input gradient for the data; W6: yes
  std::vector<std::vector<T>> w, dw, act, grad;  // weights (out, in); activations/gradients (b, features)

  Step(std::vector<int> d, int b, bool input_grad) : dims(std::move(d)), batch(b), first_input_grad(input_grad) {
    std::mt19937 gen(42);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    auto fill = [&](std::vector<T>& v, std::size_t n) {
      v.resize(n);
      for (auto& e : v) e = static_cast<T>(u(gen));
    };
    const std::size_t L = dims.size() - 1;
    w.resize(L), dw.resize(L), act.resize(L + 1), grad.resize(L + 1);
    for (std::size_t l = 0; l < L; ++l) {
      fill(w[l], std::size_t(dims[l]) * dims[l + 1]);
      fill(dw[l], std::size_t(dims[l]) * dims[l + 1]);
    }
    for (std::size_t l = 0; l <= L; ++l) {
      fill(act[l], std::size_t(batch) * dims[l]);
      fill(grad[l], std::size_t(batch) * dims[l]);
    }
  }

  /// Multiply-adds of one step (for the GFLOP/s figure).
  double flops() const {
    double f = 0;
    for (std::size_t l = 0; l + 1 < dims.size(); ++l) {
      const double mnk = double(batch) * dims[l] * dims[l + 1];
      f += 2 * mnk * ((l > 0 || first_input_grad) ? 3 : 2);
    }
    return f;
  }

  /// Calls `g(ta, tb, m, n, k, A, lda, B, ldb, C, ldc)` for every GEMM of the step, in the order a
  /// training step runs them.
  template <class G>
  void for_each_gemm(G&& g) {
    const std::size_t L = dims.size() - 1;
    const int b = batch;
    for (std::size_t l = 0; l < L; ++l) {  // forward: act[l+1] = act[l] · w[l]ᵀ
      const int in = dims[l], out = dims[l + 1];
      g(false, true, b, out, in, act[l].data(), in, w[l].data(), in, act[l + 1].data(), out);
    }
    for (std::size_t l = L; l-- > 0;) {
      const int in = dims[l], out = dims[l + 1];
      // weight gradient: dw[l] (out, in) = grad[l+1]ᵀ · act[l]
      g(true, false, out, in, b, grad[l + 1].data(), out, act[l].data(), in, dw[l].data(), in);
      // input gradient: grad[l] (b, in) = grad[l+1] · w[l]
      if (l > 0 || first_input_grad) g(false, false, b, in, out, grad[l + 1].data(), out, w[l].data(), in, grad[l].data(), in);
    }
  }

  void run(Backend& be) {
    for_each_gemm([&](bool ta, bool tb, int m, int n, int k, const T* a, int lda, const T* bb, int ldb, T* c, int ldc) {
      be.gemm(ta, tb, m, n, k, a, lda, bb, ldb, c, ldc);
    });
  }

  /// Runs each GEMM through the backend and through a plain triple loop; throws on a mismatch.
  void check(Backend& be) {
    for_each_gemm([&](bool ta, bool tb, int m, int n, int k, const T* a, int lda, const T* bb, int ldb, T* c, int ldc) {
      be.gemm(ta, tb, m, n, k, a, lda, bb, ldb, c, ldc);
      double worst = 0;
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
          double ref = 0, mag = 0;
          for (int p = 0; p < k; ++p) {
            const double x = ta ? a[std::size_t(p) * lda + i] : a[std::size_t(i) * lda + p];
            const double y = tb ? bb[std::size_t(j) * ldb + p] : bb[std::size_t(p) * ldb + j];
            ref += x * y;
            mag += std::abs(x * y);
          }
          worst = std::max(worst, std::abs(c[std::size_t(i) * ldc + j] - ref) / (mag + 1e-30));
        }
      const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
      if (!(worst <= tol)) {
        std::ostringstream msg;
        msg << "wrong result for GEMM ta=" << ta << " tb=" << tb << " m=" << m << " n=" << n << " k=" << k << ": relative error "
            << worst;
        throw std::runtime_error(msg.str());
      }
    });
  }
};

// ---------------------------------------------------------------------------------------------
// Timing: warm-up steps first (thread pools start, packing buffers are allocated, caches fill),
// then repetitions until both a minimum count and a time budget are reached.

using Clock = std::chrono::steady_clock;

double cpu_seconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + 1e-6 * double(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

struct Timing {
  double median = 0, min = 0, max = 0, cpu_per_wall = 0;
  int reps = 0;
};

Timing time_steps(const std::function<void()>& step, int warmup, int min_reps, double budget_sec, int max_reps) {
  for (int i = 0; i < warmup; ++i) step();
  std::vector<double> samples;
  const double cpu0 = cpu_seconds();
  const auto start = Clock::now();
  double elapsed = 0;
  while (int(samples.size()) < max_reps && (int(samples.size()) < min_reps || elapsed < budget_sec)) {
    const auto t0 = Clock::now();
    step();
    const auto t1 = Clock::now();
    samples.push_back(std::chrono::duration<double>(t1 - t0).count());
    elapsed = std::chrono::duration<double>(t1 - start).count();
  }
  Timing t;
  t.cpu_per_wall = (cpu_seconds() - cpu0) / elapsed;
  t.reps = int(samples.size());
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  t.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  t.min = samples.front();
  t.max = samples.back();
  return t;
}

std::string timing_json(const Timing& t, double flops) {
  std::ostringstream o;
  o.precision(6);
  o << "{\"median_sec\":" << t.median << ",\"min_sec\":" << t.min << ",\"max_sec\":" << t.max << ",\"reps\":" << t.reps
    << ",\"gflops\":" << flops / t.median * 1e-9 << ",\"cpu_per_wall\":" << t.cpu_per_wall << "}";
  return o.str();
}

struct Options {
  std::string cblas, dnnl, dtype = "f32", name;
  int threads = 1;
  double w3_time = 0.6, w6_time = 1.5;  // timing budgets, seconds
  int w3_min_reps = 20, w6_min_reps = 3, w6_warmup = 1;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
      return argv[++i];
    };
    if (a == "--cblas")
      o.cblas = value();
    else if (a == "--dnnl")
      o.dnnl = value();
    else if (a == "--dtype")
      o.dtype = value();
    else if (a == "--threads")
      o.threads = std::stoi(value());
    else if (a == "--name")
      o.name = value();
    else if (a == "--w3-time")
      o.w3_time = std::stod(value());
    else if (a == "--w3-min-reps")
      o.w3_min_reps = std::stoi(value());
    else if (a == "--w6-time")
      o.w6_time = std::stod(value());
    else if (a == "--w6-min-reps")
      o.w6_min_reps = std::stoi(value());
    else if (a == "--w6-warmup")
      o.w6_warmup = std::stoi(value());
    else
      throw std::runtime_error("unknown argument " + a);
  }
  if (o.cblas.empty() == o.dnnl.empty()) throw std::runtime_error("give exactly one of --cblas PATH, --dnnl PATH");
  if (o.dtype != "f32" && o.dtype != "f64") throw std::runtime_error("--dtype is f32 or f64");
  if (o.name.empty()) o.name = o.cblas.empty() ? "onednn" : o.cblas;
  return o;
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

template <class T>
std::string measure(Backend& be, const Options& o) {
  Step<T> w3({784, 256, 128, 10}, 128, false);
  w3.check(be);  // correctness of flags and leading dimensions, once
  const Timing t3 = time_steps([&] { w3.run(be); }, 5, o.w3_min_reps, o.w3_time, 100000);
  Step<T> w6({4096, 4096}, 256, true);
  const Timing t6 = time_steps([&] { w6.run(be); }, o.w6_warmup, o.w6_min_reps, o.w6_time, 1000);
  return "\"w3\":" + timing_json(t3, w3.flops()) + ",\"w6\":" + timing_json(t6, w6.flops());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gemm_backends: %s\n", e.what());
    return 2;
  }
  // Every record carries the configuration and the relevant environment, whatever happens next.
  std::string head = "{\"backend\":" + quoted(o.name) + ",\"dtype\":" + quoted(o.dtype) +
                     ",\"threads\":" + std::to_string(o.threads) +
                     ",\"env\":{\"OPENBLAS_CORETYPE\":" + quoted(env_or("OPENBLAS_CORETYPE", "")) +
                     ",\"OPENBLAS_NUM_THREADS\":" + quoted(env_or("OPENBLAS_NUM_THREADS", "")) +
                     ",\"BLIS_NUM_THREADS\":" + quoted(env_or("BLIS_NUM_THREADS", "")) +
                     ",\"OMP_NUM_THREADS\":" + quoted(env_or("OMP_NUM_THREADS", "")) + "}";
  try {
    std::unique_ptr<Backend> be;
    if (!o.cblas.empty()) {
      be = std::make_unique<CblasBackend>(o.cblas, o.threads);
    } else {
#if GEMM_BACKENDS_HAVE_DNNL_HEADER
      be = std::make_unique<DnnlBackend>(o.dnnl);
#else
      throw std::runtime_error("built without oneDNN's header (apt install libdnnl-dev)");
#endif
    }
    if (o.dtype == "f64" && !be->has_f64()) {
      std::printf("%s,\"lib\":%s,\"skipped\":\"no float64 GEMM in this library\"}\n", head.c_str(), be->info().c_str());
      return 0;
    }
    const std::string body = o.dtype == "f32" ? measure<float>(*be, o) : measure<double>(*be, o);
    // info() after the runs: lazily started thread pools report their real size by then.
    std::printf("%s,\"lib\":%s,%s}\n", head.c_str(), be->info().c_str(), body.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::printf("%s,\"error\":%s}\n", head.c_str(), quoted(e.what()).c_str());
    std::fprintf(stderr, "gemm_backends: %s\n", e.what());
    return 1;
  }
}
