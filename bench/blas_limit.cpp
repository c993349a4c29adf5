// The hardware limit: OpenBLAS alone running exactly the GEMMs of one training step (forward, weight
// gradients, input gradients except the first layer's), measured in the same run as the frameworks.
// No bias, activation, loss or optimizer work: a framework cannot be faster than this with the same
// BLAS. Workloads: W3/W4 (784-256-128-10 over one Fashion-MNIST epoch: 468 batches of 128 and one of
// 96), W6 (4096x4096, batch 256: forward and weight gradient), S (784-W-W/2-10 at batch B).
// Protocol: bench/common.hpp.

#include <cblas.h>

#include <memory>
#include <random>

#include "common.hpp"

namespace {

using bench::Command;
using bench::Json;

template <class T>
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const T* a, int lda, const T* b, int ldb, T* c, int ldc) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
}

struct Limit {
  virtual ~Limit() = default;
  /// Runs the GEMMs of one training step on a batch of `batch` rows.
  virtual void step(int batch) = 0;
};

/// An MLP with layer sizes dims[0] -> ... -> dims[L], row-major activations (batch, features),
/// weights (out, in) like nn.Linear.
template <class T>
struct MlpGemms : Limit {
  std::vector<int> dims;
  bool first_input_grad;
  std::vector<std::vector<T>> w, dw, act, grad;
  MlpGemms(std::vector<int> d, int max_batch, bool input_grad) : dims(std::move(d)), first_input_grad(input_grad) {
    std::mt19937 gen(0);
    std::uniform_real_distribution<double> u(-0.1, 0.1);
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
      fill(act[l], std::size_t(max_batch) * dims[l]);
      fill(grad[l], std::size_t(max_batch) * dims[l]);
    }
  }
  void step(int b) override {
    const std::size_t L = dims.size() - 1;
    for (std::size_t l = 0; l < L; ++l)  // act[l+1] (b, out) = act[l] (b, in) · w[l]ᵀ
      gemm<T>(CblasNoTrans, CblasTrans, b, dims[l + 1], dims[l], act[l].data(), dims[l], w[l].data(), dims[l], act[l + 1].data(),
              dims[l + 1]);
    for (std::size_t l = L; l-- > 0;) {
      // dw[l] (out, in) = grad[l+1]ᵀ (out, b) · act[l] (b, in)
      gemm<T>(CblasTrans, CblasNoTrans, dims[l + 1], dims[l], b, grad[l + 1].data(), dims[l + 1], act[l].data(), dims[l],
              dw[l].data(), dims[l]);
      // grad[l] (b, in) = grad[l+1] (b, out) · w[l] (out, in)
      if (l > 0 || first_input_grad)
        gemm<T>(CblasNoTrans, CblasNoTrans, b, dims[l], dims[l + 1], grad[l + 1].data(), dims[l + 1], w[l].data(), dims[l],
                grad[l].data(), dims[l]);
    }
  }
};

std::unique_ptr<Limit> make_mlp(const std::string& dtype, std::vector<int> dims, int max_batch) {
  if (dtype == "f32") return std::make_unique<MlpGemms<float>>(std::move(dims), max_batch, false);
  if (dtype == "f64") return std::make_unique<MlpGemms<double>>(std::move(dims), max_batch, false);
  throw std::runtime_error("unknown dtype " + dtype);
}

std::map<std::string, std::unique_ptr<Limit>> g_cache;

std::string run(const Command& c) {
  const std::string w = c.word(1), dt = c.word(2);
  const int batch = static_cast<int>(c.num("batch", 128)), width = static_cast<int>(c.num("width", 256));
  const std::string key = w + " " + dt + " " + std::to_string(batch) + " " + std::to_string(width);
  auto& slot = g_cache[key];
  if (w == "W3" || w == "W4") {
    if (!slot) slot = make_mlp(dt, {784, 256, 128, 10}, 128);
    slot->step(128);  // warm-up
    auto t0 = bench::Clock::now();
    int steps = 0;
    for (int s = 0; s < 60000; s += 128, ++steps) slot->step(std::min(128, 60000 - s));
    return Json().num("sec", bench::seconds_since(t0)).num("iters", steps).dump();
  }
  if (w == "W6") {
    if (!slot) slot = make_mlp(dt, {4096, 4096}, 256);
  } else if (w == "S") {
    if (!slot) slot = make_mlp(dt, {784, width, width / 2, 10}, batch);
  } else {
    throw std::runtime_error("no GEMM limit for workload " + w);
  }
  Limit* l = slot.get();
  const int b = w == "W6" ? 256 : batch;
  auto t = bench::time_loop([&] { l->step(b); }, c.num("warmup", 0.05), c.num("time", 0.2),
                            static_cast<std::int64_t>(c.num("min_iters", 1)));
  return Json().num("sec", t.sec_per_iter).num("iters", static_cast<double>(t.iters)).dump();
}

}  // namespace

int main(int argc, char** argv) {
  Command args = bench::parse_args(argc, argv);
  const int threads = static_cast<int>(args.num("threads", 1));
  openblas_set_num_threads(threads);
  return bench::serve(
      [&] {
        return Json()
            .str("system", "limit")
            .str("api", "direct cblas_?gemm calls (OpenBLAS), the GEMMs of one training step only")
            .num("threads_requested", threads)
            .raw("blas", bench::blas_info_json())
            .raw("env", bench::env_json())
            .str("compiler", bench::compiler_string())
            .dump();
      },
      run, [](const Command&) { return Json().str("error", "no eval").dump(); }, [] { g_cache.clear(); });
}
