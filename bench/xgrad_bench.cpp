// xgrad side of the side-by-side benchmarks (see bench/common.hpp for the protocol and bench/run.py
// for the driver). Written with the public API only, as a user would: nn modules, xgrad ops,
// optim::SGD, data::DataLoader.

#include <xgrad/autograd/threads.hpp>
#include <xgrad/data/data.hpp>
#include <xgrad/nn/nn.hpp>
#include <xgrad/optim/optim.hpp>
#include <xgrad/xgrad.hpp>

#include <memory>
#include <optional>

#include "common.hpp"

namespace {

using namespace xgrad;
using bench::Command;
using bench::Json;

Dtype parse_dtype(const std::string& s) {
  if (s == "f32") return kFloat32;
  if (s == "f64") return kFloat64;
  throw std::runtime_error("unknown dtype " + s);
}

std::shared_ptr<optim::SGD> make_sgd(const nn::Module& m, double lr, double momentum) {
  return std::make_shared<optim::SGD>(m.parameters(), optim::SGDOptions(lr).momentum(momentum));
}

/// One workload instance (model, optimizer, data), kept across repetitions of the same config.
struct Workload {
  virtual ~Workload() = default;
  /// Time per unit (iteration or epoch) for one sample.
  virtual std::string run(const Command& c) = 0;
  virtual std::string eval() { return Json().str("error", "no eval for this workload").dump(); }
  /// `mem` mode: a few steps, then the caller reads VmHWM.
  virtual void steps(std::int64_t n) = 0;
};

/// A workload whose unit is one call of step().
struct Stepped : Workload {
  virtual void step() = 0;
  virtual double last_loss() { return 0.0; }
  std::string run(const Command& c) override {
    auto t = bench::time_loop([&] { step(); }, c.num("warmup", 0.05), c.num("time", 0.2),
                              static_cast<std::int64_t>(c.num("min_iters", 1)));
    return Json().num("sec", t.sec_per_iter).num("iters", static_cast<double>(t.iters)).num("loss", last_loss()).dump();
  }
  void steps(std::int64_t n) override {
    for (std::int64_t i = 0; i < n; ++i) step();
  }
};

/// A model trained by SGD on a fixed batch (W1, W5, W6, S).
struct FixedBatch : Stepped {
  std::shared_ptr<nn::Module> net;
  std::shared_ptr<optim::SGD> opt;
  Tensor x, y;
  std::vector<Tensor> xs;  // S with batches=K: K inputs used in turn (fresh data each step, like W3)
  std::size_t next = 0;
  bool classify = false;
  Tensor loss;
  void step() override {
    opt->zero_grad();
    Tensor out = (*net)(xs.empty() ? x : xs[next++ % xs.size()]);
    loss = classify ? cross_entropy(out, y) : mse_loss(out, y);
    loss.backward();
    opt->step();
  }
  double last_loss() override { return loss.defined() ? loss.item<double>() : 0.0; }
};

// W1: XOR 2-4-1, sigmoid, MSE, full batch of 4, SGD momentum.
std::unique_ptr<Workload> make_w1(Dtype dt) {
  auto w = std::make_unique<FixedBatch>();
  w->net = std::make_shared<nn::Sequential>(nn::Linear(2, 4, true, dt), nn::Sigmoid(), nn::Linear(4, 1, true, dt), nn::Sigmoid());
  w->opt = make_sgd(*w->net, 0.5, 0.9);
  w->x = tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}}, dt);
  w->y = tensor({{0}, {1}, {1}, {0}}, dt);
  return w;
}

// W2: (a*b + a).tanh().sum() forward + backward on 1-element tensors.
struct Scalar : Stepped {
  Tensor a, b;
  explicit Scalar(Dtype dt) {
    a = full({1}, 0.3, dt).requires_grad_();
    b = full({1}, -0.7, dt).requires_grad_();
  }
  void step() override { (a * b + a).tanh().sum().backward(); }
  double last_loss() override { return a.grad().item<double>(); }
};

// W5: 50 Linear+tanh layers of width 32, batch 32.
std::unique_ptr<Workload> make_w5(Dtype dt) {
  auto w = std::make_unique<FixedBatch>();
  auto seq = std::make_shared<nn::Sequential>();
  for (int i = 0; i < 50; ++i) {
    seq->push_back(nn::Linear(32, 32, true, dt));
    seq->push_back(nn::Tanh());
  }
  w->net = seq;
  w->opt = make_sgd(*w->net, 0.01, 0.9);
  w->x = randn({32, 32}, dt);
  w->y = randn({32, 32}, dt);
  return w;
}

// W6: one 4096x4096 Linear, batch 256, MSE, SGD momentum.
std::unique_ptr<Workload> make_w6(Dtype dt) {
  auto w = std::make_unique<FixedBatch>();
  w->net = std::make_shared<nn::Linear>(4096, 4096, true, dt);
  w->opt = make_sgd(*w->net, 1e-3, 0.9);
  w->x = randn({256, 4096}, dt);
  w->y = randn({256, 4096}, dt);
  return w;
}

// S: the W3 network 784-W-W/2-10 on a fixed random batch of B (step time scaling).
std::unique_ptr<Workload> make_scale(Dtype dt, std::int64_t batch, std::int64_t width, std::int64_t batches) {
  auto w = std::make_unique<FixedBatch>();
  w->net = std::make_shared<nn::Sequential>(nn::Linear(784, width, true, dt), nn::ReLU(), nn::Linear(width, width / 2, true, dt),
                                            nn::ReLU(), nn::Linear(width / 2, 10, true, dt));
  w->opt = make_sgd(*w->net, 0.01, 0.9);
  w->x = randn({batch, 784}, dt);
  for (std::int64_t i = 1; i < batches; ++i) w->xs.push_back(randn({batch, 784}, dt));
  if (!w->xs.empty()) w->xs.push_back(w->x);
  w->y = randint(0, 10, {batch});
  w->classify = true;
  return w;
}

// ---- W3/W4: Fashion-MNIST -----------------------------------------------------------------------

struct Fashion {
  Tensor train_x, train_y, test_x, test_y;
};
std::map<Dtype, std::shared_ptr<Fashion>> g_fashion;

std::shared_ptr<Fashion> fashion(Dtype dt) {
  auto& slot = g_fashion[dt];
  if (slot) return slot;
  auto raw = data::load_fashion_mnist(bench::fashion_dir());
  auto prep = [&](Tensor x) {  // normalized in place, like the LibTorch and PyTorch sides
    NoGradGuard ng;
    x.add_(-bench::kFashionMean).mul_(1.0 / bench::kFashionStd);
    return x.to(dt).contiguous();
  };
  slot = std::make_shared<Fashion>(Fashion{prep(raw.train_images), raw.train_labels, prep(raw.test_images), raw.test_labels});
  return slot;
}

struct Mnist : Workload {
  std::shared_ptr<Fashion> d;
  std::shared_ptr<nn::Sequential> net;
  std::shared_ptr<optim::SGD> opt;
  std::optional<data::DataLoader> loader;
  std::int64_t epochs = 0;
  double loss = 0;

  Mnist(Dtype dt, bool flagship) : d(fashion(dt)) {
    if (flagship) {
      net = std::make_shared<nn::Sequential>(nn::Linear(784, 256, true, dt), nn::BatchNorm1d(256, 1e-5, 0.1, true, true, dt),
                                             nn::ReLU(), nn::Dropout(0.2), nn::Linear(256, 128, true, dt),
                                             nn::BatchNorm1d(128, 1e-5, 0.1, true, true, dt), nn::ReLU(), nn::Dropout(0.2),
                                             nn::Linear(128, 10, true, dt));
    } else {
      net = std::make_shared<nn::Sequential>(nn::Linear(784, 256, true, dt), nn::ReLU(), nn::Linear(256, 128, true, dt), nn::ReLU(),
                                             nn::Linear(128, 10, true, dt));
    }
    opt = make_sgd(*net, 0.01, 0.9);
    loader.emplace(data::TensorDataset(d->train_x, d->train_y), data::DataLoaderOptions{.batch_size = 128, .shuffle = true});
  }
  void train_step(const data::Batch& b) {
    opt->zero_grad();
    Tensor l = cross_entropy((*net)(b.input), b.target);
    l.backward();
    opt->step();
    loss = l.item<double>();
  }
  std::string run(const Command&) override {
    net->train();
    auto t0 = bench::Clock::now();
    std::int64_t n = 0;
    for (const data::Batch& b : *loader) {
      train_step(b);
      ++n;
    }
    const double sec = bench::seconds_since(t0);
    ++epochs;
    return Json().num("sec", sec).num("iters", static_cast<double>(n)).num("loss", loss).dump();
  }
  std::string eval() override {
    net->eval();
    NoGradGuard ng;
    auto pred = argmax((*net)(d->test_x), 1).to_vector<std::int64_t>();
    auto truth = d->test_y.to_vector<std::int64_t>();
    std::int64_t ok = 0;
    for (std::size_t i = 0; i < pred.size(); ++i) ok += pred[i] == truth[i];
    net->train();
    return Json().num("acc", static_cast<double>(ok) / static_cast<double>(pred.size())).num("epochs", static_cast<double>(epochs)).dump();
  }
  void steps(std::int64_t n) override {
    std::int64_t i = 0;
    while (i < n) {
      for (const data::Batch& b : *loader) {
        if (i++ >= n) break;
        train_step(b);
      }
    }
  }
};

// ---- W7: op microbenchmarks -------------------------------------------------------------------

struct Op : Stepped {
  std::string op;
  bool grad;
  Tensor x, y, b, labels;
  std::vector<Tensor> mx, mw;  // matmul operands at the W3 shapes
  std::vector<Tensor> gouts;   // upstream gradients (ones) for each output
  Op(Dtype dt, std::string name, bool with_grad) : op(std::move(name)), grad(with_grad) {
    if (op == "matmul_w3") {
      const std::int64_t dims[4] = {784, 256, 128, 10};
      for (int l = 0; l < 3; ++l) {
        mx.push_back(randn({128, dims[l]}, dt));
        mw.push_back(randn({dims[l], dims[l + 1]}, dt));
        if (grad) {
          mx.back().requires_grad_();
          mw.back().requires_grad_();
        }
      }
    } else {
      x = randn({1000, 1000}, dt);
      y = randn({1000, 1000}, dt);
      b = randn({1000}, dt);
      labels = randint(0, 1000, {1000});
      if (grad) {
        x.requires_grad_();
        y.requires_grad_();
        b.requires_grad_();
      }
    }
  }
  std::vector<Tensor> forward() {
    if (op == "add") return {x + y};
    if (op == "add_bcast") return {x + b};
    if (op == "mul") return {x * y};
    if (op == "relu") return {relu(x)};
    if (op == "sigmoid") return {sigmoid(x)};
    if (op == "exp") return {exp(x)};
    if (op == "sum0") return {sum(x, {0})};
    if (op == "sum1") return {sum(x, {1})};
    if (op == "softmax") return {softmax(x, 1)};
    if (op == "lsm_nll") return {nll_loss(log_softmax(x, 1), labels)};
    if (op == "matmul_w3") return {matmul(mx[0], mw[0]), matmul(mx[1], mw[1]), matmul(mx[2], mw[2])};
    throw std::runtime_error("unknown op " + op);
  }
  void step() override {
    auto outs = forward();
    if (!grad) return;
    if (gouts.empty())
      for (auto& o : outs) gouts.push_back(ones_like(o));
    for (std::size_t i = 0; i < outs.size(); ++i) outs[i].backward(gouts[i]);
    for (Tensor* t : {&x, &y, &b}) if (t->defined()) t->zero_grad();
    for (auto& t : mx) t.zero_grad();
    for (auto& t : mw) t.zero_grad();
  }
};

std::map<std::string, std::unique_ptr<Workload>> g_cache;

std::unique_ptr<Workload> make(const std::string& w, Dtype dt, const Command& c) {
  if (w == "W1") return make_w1(dt);
  if (w == "W2") return std::make_unique<Scalar>(dt);
  if (w == "W3") return std::make_unique<Mnist>(dt, false);
  if (w == "W4") return std::make_unique<Mnist>(dt, true);
  if (w == "W5") return make_w5(dt);
  if (w == "W6") return make_w6(dt);
  if (w == "W7") return std::make_unique<Op>(dt, c.str("op", "add"), c.num("grad", 0) != 0);
  if (w == "S") return make_scale(dt, static_cast<std::int64_t>(c.num("batch", 128)), static_cast<std::int64_t>(c.num("width", 256)),
                                   static_cast<std::int64_t>(c.num("batches", 1)));
  throw std::runtime_error("unknown workload " + w);
}

std::string key_of(const Command& c) {
  std::string k = c.word(1);
  k.append(" ").append(c.word(2));
  for (const char* p : {"op", "grad", "batch", "width", "batches", "seed"}) k.append(" ").append(c.str(p, ""));
  return k;
}

Workload& get(const Command& c) {
  auto& slot = g_cache[key_of(c)];
  if (!slot) {
    manual_seed(static_cast<std::uint64_t>(c.num("seed", 0)));
    slot = make(c.word(1), parse_dtype(c.word(2)), c);
  }
  return *slot;
}

std::string info(int threads) {
  return Json()
      .str("system", "xgrad")
      .str("api", "C++ (xgrad public API: nn, optim::SGD, data::DataLoader)")
      .num("threads_requested", threads)
      .num("xgrad_num_threads", get_num_threads())
      .raw("blas", bench::blas_info_json())
      .raw("env", bench::env_json())
      .str("compiler", bench::compiler_string())
      .num("vmhwm_kb", static_cast<double>(bench::proc_status_kb("VmHWM")))
      .dump();
}

}  // namespace

int main(int argc, char** argv) {
  Command args = bench::parse_args(argc, argv);
  const int threads = static_cast<int>(args.num("threads", 1));
  xgrad::set_num_threads(threads);
  if (args.word(0) == "mem") {
    // mem <workload> <dtype> [steps=n]: peak RSS of one workload in a fresh process.
    const long before = bench::proc_status_kb("VmHWM");
    Command c = args;
    c.words.insert(c.words.begin(), "run");  // same shape as a run command: words[1] = workload
    c.words.erase(c.words.begin() + 1);      // drop "mem"
    auto& w = get(c);
    w.steps(static_cast<std::int64_t>(args.num("steps", 100)));
    std::cout << Json().str("system", "xgrad").num("vmhwm_kb_start", static_cast<double>(before))
                     .num("vmhwm_kb", static_cast<double>(bench::proc_status_kb("VmHWM")))
                     .num("vmrss_kb", static_cast<double>(bench::proc_status_kb("VmRSS"))).dump()
              << std::endl;
    g_cache.clear();  // before the thread-locals of the library go away (see serve())
    g_fashion.clear();
    return 0;
  }
  return bench::serve([&] { return info(threads); }, [](const Command& c) { return get(c).run(c); },
                      [](const Command& c) { return get(c).eval(); },
                      [] {
                        g_cache.clear();
                        g_fashion.clear();
                      });
}
