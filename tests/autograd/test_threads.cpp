// set_num_threads and xgrad's parallel work (Note [parallel regions], Note [lazy BLAS threads]): split
// products against a float64 reference with a rounding bound in every operand layout, element-wise
// ops bit-equal across thread counts, reproducibility, workers under concurrent callers and after fork.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <xgrad/autograd/threads.hpp>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

extern "C" int openblas_get_num_threads();  // what OpenBLAS itself was given (the test links OpenBLAS via xgrad)

namespace {

// Restores the thread count a test case found.
struct ThreadCount {
  int before = get_num_threads();
  explicit ThreadCount(int n) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(before); }
};

// |computed - exact| for every element of a product, against the rounding bound of a dot product of
// length k: |error| <= k·u·Σ|a||b| (u: the unit roundoff of the dtype); a block of C computed from the
// wrong rows or columns is off by O(Σ|a||b|), far outside it.
void check_product(const Tensor& got, const Tensor& a, const Tensor& b) {
  const Tensor a64 = a.to(kFloat64), b64 = b.to(kFloat64);
  const std::vector<double> exact = matmul(a64, b64).to_vector<double>();
  const std::vector<double> scale = matmul(a64.abs(), b64.abs()).to_vector<double>();
  const std::vector<double> g = got.to(kFloat64).to_vector<double>();
  REQUIRE(g.size() == exact.size());
  const double k = static_cast<double>(a.size(-1));
  const double u = a.dtype() == kFloat32 ? std::ldexp(1.0, -24) : std::ldexp(1.0, -53);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < g.size(); ++i) bad += !(std::abs(g[i] - exact[i]) <= 2 * k * u * scale[i] + 1e-300);
  CHECK(bad == 0);
}

std::vector<std::string> thread_names() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(e.path() / "comm");
    std::string name;
    std::getline(in, name);
    names.push_back(name);
  }
  return names;
}

bool bit_equal(const Tensor& x, const Tensor& y) {
  return x.shape() == y.shape() && x.to(kFloat64).to_vector<double>() == y.to(kFloat64).to_vector<double>();
}

// Runs compute() at one thread and at two, checks every result bit-equal across the two, and returns
// the two-thread results.
template <class F>
std::vector<Tensor> check_same_at_one_and_two_threads(F&& compute) {
  std::vector<Tensor> one, two;
  {
    const ThreadCount threads(1);
    one = compute();
  }
  {
    const ThreadCount threads(2);
    two = compute();
  }
  REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    CAPTURE(i);
    CHECK(bit_equal(one[i], two[i]));
  }
  return two;
}

}  // namespace

TEST_CASE("set_num_threads / get_num_threads") {
  const int before = get_num_threads();
  CHECK(before >= 1);
  set_num_threads(1);
  CHECK(get_num_threads() == 1);
  CHECK(openblas_get_num_threads() == 1);
  set_num_threads(before);
  CHECK(get_num_threads() == before);
  check_throws_with<ValueError>([] { set_num_threads(0); }, {"set_num_threads", "0"});
  check_throws_with<ValueError>([] { set_num_threads(-3); }, {"set_num_threads", "-3"});
}

TEST_CASE("set_num_threads(2): split products are right in every operand layout and shape") {
  const ThreadCount threads(2);
  CHECK(openblas_get_num_threads() == 1);  // xgrad's workers split the products, not OpenBLAS
  manual_seed(11);
  for (const Dtype dt : {kFloat32, kFloat64}) {
    CAPTURE(dt);
    // (m, k, n) above the split threshold in both dtypes (m·n·k > 2^25): taller than wide (split by
    // rows), wider than tall (by columns), edges that are not multiples of the 16-row blocks, and a
    // tiny side
    for (const auto& [m, k, n] : std::vector<std::array<std::int64_t, 3>>{
             {700, 800, 61}, {45, 2600, 301}, {257, 520, 255}, {17, 7000, 300}, {600, 3600, 16}}) {
      CAPTURE(m);
      CAPTURE(k);
      CAPTURE(n);
      const Tensor a = randn({m, k}, dt), b = randn({k, n}, dt);
      const Tensor at = randn({k, m}, dt), bt = randn({n, k}, dt);  // stored transposed: .t() is a BLAS transpose flag
      check_product(matmul(a, b), a, b);
      check_product(matmul(at.t(), b), at.t(), b);
      check_product(matmul(a, bt.t()), a, bt.t());
      check_product(matmul(at.t(), bt.t()), at.t(), bt.t());
      // linear: the bias preloaded into C, the product accumulated onto it (beta = 1)
      const Tensor bias = randn({n}, dt);
      const Tensor y = linear(a, bt, bias);
      check_product(y - bias, a, bt.t());
    }
    // a batch folded into the rows of a, and a real batch of products (each 400·600·150 = 36M)
    const Tensor a3 = randn({3, 400, 600}, dt), b2 = randn({600, 150}, dt), b3 = randn({3, 600, 150}, dt);
    check_product(matmul(a3, b2).reshape({1200, 150}), a3.reshape({1200, 600}), b2);
    const Tensor c3 = matmul(a3, b3);
    for (std::int64_t i = 0; i < 3; ++i)
      check_product(narrow(c3, 0, i, 1).reshape({400, 150}), narrow(a3, 0, i, 1).reshape({400, 600}),
                    narrow(b3, 0, i, 1).reshape({600, 150}));
  }
}

TEST_CASE("set_num_threads(2): products are reproducible, and backward through split products is right") {
  manual_seed(5);
  const Tensor a = randn({300, 700}), b = randn({700, 200});  // 42M: split
  const ThreadCount threads(2);
  const Tensor first = matmul(a, b);
  for (int i = 0; i < 3; ++i) CHECK(bit_equal(matmul(a, b), first));
  // the gradients of sum(a·b) are ones·bᵀ and aᵀ·ones: two more split products
  const Tensor x = a.to(kFloat64).requires_grad_(), w = b.to(kFloat64).requires_grad_();
  matmul(x, w).sum().backward();
  const std::vector<double> gx = x.grad().to_vector<double>();
  const std::vector<double> rows = w.detach().sum({1}).to_vector<double>();  // d/dx_ij = Σ_j' w_jj'
  for (std::size_t i = 0; i < gx.size(); ++i) CHECK(gx[i] == doctest::Approx(rows[i % 700]).epsilon(1e-12));
  const std::vector<double> gw = w.grad().to_vector<double>(), cols = x.detach().sum({0}).to_vector<double>();
  for (std::size_t i = 0; i < gw.size(); ++i) CHECK(gw[i] == doctest::Approx(cols[i / 200]).epsilon(1e-12));
}

TEST_CASE("set_num_threads(2): large element-wise ops are bit-equal to one thread") {
  manual_seed(3);
  const std::int64_t n = (1 << 18) + 37;  // split into two ranges, the second not a multiple of 64
  for (const Dtype dt : {kFloat32, kFloat64}) {
    CAPTURE(dt);
    const Tensor a = randn({n}, dt), b = rand({n}, dt) + 0.5;
    auto all = [&] {
      std::vector<Tensor> r = {a + b, a - b, a * b, a / b, a * 3.0, 2.0 - a, a / 7.0};
      Tensor p = a.clone(), buf = b.clone();
      p.momentum_step_(buf, a, 0.9, 0.5, 0.1);
      r.push_back(p);
      r.push_back(buf);
      Tensor q = a.clone();
      q.add_(b).mul_(b);
      r.push_back(q);
      // unary ops (xtensor/xsimd expressions over ranges) and the activation backward loops
      for (auto f : {+[](const Tensor& x) { return x.exp(); }, +[](const Tensor& x) { return x.sigmoid(); },
                     +[](const Tensor& x) { return x.tanh(); }, +[](const Tensor& x) { return x.relu(); }}) {
        Tensor x = a.clone().requires_grad_();
        Tensor y = f(x);
        y.backward(b);
        r.push_back(y.detach());
        r.push_back(x.grad());
      }
      return r;
    };
    const std::vector<Tensor> two = check_same_at_one_and_two_threads(all);
    // and the values are the formulas, element by element, at both ends of each range
    const std::vector<double> va = a.to(kFloat64).to_vector<double>(), vb = b.to(kFloat64).to_vector<double>();
    const std::vector<double> sum = two[0].to(kFloat64).to_vector<double>(), prod = two[2].to(kFloat64).to_vector<double>();
    const std::size_t u = 10;  // two[10..17]: exp, its grad, sigmoid, its grad, tanh, its grad, relu, its grad
    std::vector<std::vector<double>> un;
    for (std::size_t k = u; k < u + 8; ++k) un.push_back(two[k].to(kFloat64).to_vector<double>());
    for (std::size_t i : {std::size_t{0}, std::size_t(n / 2), std::size_t(n / 2 + 63), std::size_t(n - 1)}) {
      CAPTURE(i);
      CHECK(sum[i] == doctest::Approx(va[i] + vb[i]).epsilon(1e-6));
      CHECK(prod[i] == doctest::Approx(va[i] * vb[i]).epsilon(1e-6));
      // the backward formulas use the rounded output y: 1 - y and 1 - y² cancel in float32
      const double tol = dt == kFloat32 ? 1e-4 : 1e-12;
      const double e = std::exp(va[i]), s = 1.0 / (1.0 + std::exp(-va[i])), t = std::tanh(va[i]);
      CHECK(un[0][i] == doctest::Approx(e).epsilon(tol));
      CHECK(un[1][i] == doctest::Approx(vb[i] * e).epsilon(tol));
      CHECK(un[2][i] == doctest::Approx(s).epsilon(tol));
      CHECK(un[3][i] == doctest::Approx(vb[i] * s * (1 - s)).epsilon(tol));
      CHECK(un[4][i] == doctest::Approx(t).epsilon(tol));
      CHECK(un[5][i] == doctest::Approx(vb[i] * (1 - t * t)).epsilon(tol));
      CHECK(un[6][i] == (va[i] > 0 ? va[i] : 0.0));
      CHECK(un[7][i] == (va[i] > 0 ? vb[i] : 0.0));
    }
  }
}

TEST_CASE("set_num_threads(2): softmax and log_softmax split their rows, bit-equal to one thread") {
  manual_seed(5);
  // rows of the last dim (inner = 1), a middle dim (outer and inner > 1), and the first dim (one block)
  struct Case {
    Shape shape;
    std::int64_t dim;
  };
  for (const Case& c : {Case{{1031, 257}, 1}, Case{{64, 65, 70}, 1}, Case{{600, 450}, 0}}) {
    for (const Dtype dt : {kFloat32, kFloat64}) {
      CAPTURE(dt);
      CAPTURE(c.dim);
      const Tensor x = randn(c.shape, dt) * 3.0, g = randn(c.shape, dt);
      auto all = [&] {
        std::vector<Tensor> r;
        for (const bool log : {false, true}) {
          Tensor xl = x.clone().requires_grad_();
          Tensor y = log ? log_softmax(xl, c.dim) : softmax(xl, c.dim);
          y.backward(g);
          r.push_back(y.detach());
          r.push_back(xl.grad());
        }
        return r;
      };
      const std::vector<Tensor> two = check_same_at_one_and_two_threads(all);
      // every row of the split result is a distribution: softmax sums to 1 along dim, exp(log_softmax) too
      const Tensor s1 = two[0].sum({c.dim}).to(kFloat64), s2 = two[2].exp().sum({c.dim}).to(kFloat64);
      const double tol = dt == kFloat32 ? 1e-4 : 1e-12;
      CHECK(max((s1 - 1.0).abs()).item<double>() < tol);
      CHECK(max((s2 - 1.0).abs()).item<double>() < tol);
    }
  }
}

TEST_CASE("set_num_threads(2 and 3): regions right after the workers fell asleep are complete and bit-equal") {
  // The workers sleep after 200 µs without work; a region that starts then is run by whoever claims
  // its parts first (the caller, or a worker that wakes in time), and a worker waking after the region
  // ended must claim nothing of the next one. Alternating short pauses and back-to-back regions cover
  // both, and every result must equal the single-threaded one bit for bit.
  manual_seed(13);
  const std::int64_t n = (1 << 18) + 129;
  const Tensor a = randn({n}), b = randn({n});
  Tensor expect_mul, expect_add;
  {
    const ThreadCount threads(1);
    expect_mul = a * b;
    expect_add = a + b;
  }
  for (const int n : {2, 3}) {  // 3: two workers claim parts at once
    CAPTURE(n);
    const ThreadCount threads(n);
    int bad = 0;
    for (int i = 0; i < 60; ++i) {
      if (i % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(150 * (i % 5)));
      bad += !bit_equal(a * b, expect_mul);
      bad += !bit_equal(a + b, expect_add);
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("set_num_threads(2): workers are xgrad's own, named, and serve concurrent callers") {
  const ThreadCount threads(2);
  manual_seed(9);
  const Tensor a = randn({256, 520}), b = randn({520, 256});  // 34M: split
  const Tensor expect = matmul(a, b);
  const auto names = thread_names();
  CHECK(std::count(names.begin(), names.end(), "xgrad-worker") >= 1);
  // four threads multiplying at once: one of them holds the workers, the others run their parts
  // themselves; every result is the same
  std::vector<Tensor> got(4);
  std::vector<std::thread> callers;
  for (std::size_t t = 0; t < got.size(); ++t)
    callers.emplace_back([&, t] {
      Tensor r;
      for (int rep = 0; rep < 5; ++rep) r = matmul(a, b);
      got[t] = r;
    });
  for (auto& c : callers) c.join();
  for (const Tensor& g : got) CHECK(bit_equal(g, expect));
}

#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;  // TSan cannot start threads in the child of a multi-threaded fork
#else
constexpr bool kThreadSanitizer = false;
#endif

TEST_CASE("set_num_threads(2): a forked child gets workers of its own" * doctest::skip(kThreadSanitizer)) {
  const ThreadCount threads(2);
  manual_seed(4);
  const Tensor a = randn({256, 520}), b = randn({520, 256}), x = randn({1 << 19});
  const Tensor expect = matmul(a, b), expect_x = x * x;  // the parent's workers are running
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // the child: no doctest macros, the exit code says it all
    const bool ok = bit_equal(matmul(a, b), expect) && bit_equal(x * x, expect_x);
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
