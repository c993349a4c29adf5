// LibTorch side of the side-by-side benchmarks: the same workloads as bench/xgrad_bench.cpp, written
// as a LibTorch user would, in their best configuration (torch::set_num_threads(T) with
// OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = T and OMP_WAIT_POLICY=PASSIVE set by the driver; gradients
// reset to undefined instead of zero-filled; batches gathered with index_select, not the slow
// torch::data loader). Protocol: bench/common.hpp.

#include <torch/torch.h>
#include <torch/version.h>
#include <ATen/Parallel.h>
#include <zlib.h>

#include <memory>

#include "common.hpp"

namespace {

using bench::Command;
using bench::Json;
namespace tnn = torch::nn;

torch::Dtype parse_dtype(const std::string& s) {
  if (s == "f32") return torch::kFloat32;
  if (s == "f64") return torch::kFloat64;
  throw std::runtime_error("unknown dtype " + s);
}

/// What optimizer.zero_grad(set_to_none=True) does in PyTorch >= 1.7 (LibTorch 1.13's C++ zero_grad()
/// only zero-fills): cheaper, and the next backward assigns instead of accumulating.
void zero_grad_none(torch::optim::Optimizer& opt) {
  for (auto& group : opt.param_groups())
    for (auto& p : group.params()) p.mutable_grad().reset();
}

struct Workload {
  virtual ~Workload() = default;
  virtual std::string run(const Command& c) = 0;
  virtual std::string eval() { return Json().str("error", "no eval for this workload").dump(); }
  virtual void steps(std::int64_t n) = 0;
};

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

struct FixedBatch : Stepped {
  tnn::Sequential net;
  std::unique_ptr<torch::optim::SGD> opt;
  torch::Tensor x, y, loss;
  bool classify = false;
  void init(double lr, double momentum) {
    opt = std::make_unique<torch::optim::SGD>(net->parameters(), torch::optim::SGDOptions(lr).momentum(momentum));
  }
  void step() override {
    zero_grad_none(*opt);
    auto out = net->forward(x);
    loss = classify ? torch::nn::functional::cross_entropy(out, y) : torch::mse_loss(out, y);
    loss.backward();
    opt->step();
  }
  double last_loss() override { return loss.defined() ? loss.item<double>() : 0.0; }
};

std::unique_ptr<Workload> make_w1(torch::Dtype dt) {
  auto w = std::make_unique<FixedBatch>();
  w->net = tnn::Sequential(tnn::Linear(2, 4), tnn::Sigmoid(), tnn::Linear(4, 1), tnn::Sigmoid());
  w->net->to(dt);
  w->init(0.5, 0.9);
  w->x = torch::tensor({0., 0., 0., 1., 1., 0., 1., 1.}, dt).reshape({4, 2});
  w->y = torch::tensor({0., 1., 1., 0.}, dt).reshape({4, 1});
  return w;
}

struct Scalar : Stepped {
  torch::Tensor a, b;
  explicit Scalar(torch::Dtype dt) {
    a = torch::full({1}, 0.3, dt).requires_grad_();
    b = torch::full({1}, -0.7, dt).requires_grad_();
  }
  void step() override { (a * b + a).tanh().sum().backward(); }
  double last_loss() override { return a.grad().item<double>(); }
};

std::unique_ptr<Workload> make_w5(torch::Dtype dt) {
  auto w = std::make_unique<FixedBatch>();
  for (int i = 0; i < 50; ++i) {
    w->net->push_back(tnn::Linear(32, 32));
    w->net->push_back(tnn::Tanh());
  }
  w->net->to(dt);
  w->init(0.01, 0.9);
  w->x = torch::randn({32, 32}, dt);
  w->y = torch::randn({32, 32}, dt);
  return w;
}

std::unique_ptr<Workload> make_w6(torch::Dtype dt) {
  auto w = std::make_unique<FixedBatch>();
  w->net = tnn::Sequential(tnn::Linear(4096, 4096));
  w->net->to(dt);
  w->init(1e-3, 0.9);
  w->x = torch::randn({256, 4096}, dt);
  w->y = torch::randn({256, 4096}, dt);
  return w;
}

std::unique_ptr<Workload> make_scale(torch::Dtype dt, std::int64_t batch, std::int64_t width) {
  auto w = std::make_unique<FixedBatch>();
  w->net = tnn::Sequential(tnn::Linear(784, width), tnn::ReLU(), tnn::Linear(width, width / 2), tnn::ReLU(),
                           tnn::Linear(width / 2, 10));
  w->net->to(dt);
  w->init(0.01, 0.9);
  w->x = torch::randn({batch, 784}, dt);
  w->y = torch::randint(0, 10, {batch}, torch::kLong);
  w->classify = true;
  return w;
}

// ---- Fashion-MNIST: a tiny IDX (gzip) reader ---------------------------------------------------

torch::Tensor read_idx_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  unsigned char head[4];
  if (gzread(f, head, 4) != 4) throw std::runtime_error("short read " + path);
  const int rank = head[3];
  std::vector<std::int64_t> shape;
  std::int64_t numel = 1;
  for (int i = 0; i < rank; ++i) {
    unsigned char b[4];
    if (gzread(f, b, 4) != 4) throw std::runtime_error("short read " + path);
    shape.push_back((std::int64_t{b[0]} << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
    numel *= shape.back();
  }
  auto t = torch::empty(shape, torch::kUInt8);
  if (gzread(f, t.data_ptr<std::uint8_t>(), static_cast<unsigned>(numel)) != numel) throw std::runtime_error("short read " + path);
  gzclose(f);
  return t;
}

struct Fashion {
  torch::Tensor train_x, train_y, test_x, test_y;
};
std::map<torch::Dtype, std::shared_ptr<Fashion>> g_fashion;

std::shared_ptr<Fashion> fashion(torch::Dtype dt) {
  auto& slot = g_fashion[dt];
  if (slot) return slot;
  const std::string d = bench::fashion_dir() + "/";
  auto prep = [&](const torch::Tensor& raw) {
    auto x = raw.reshape({raw.size(0), 784}).to(torch::kFloat32).div_(255.0f);
    return x.sub_(bench::kFashionMean).div_(bench::kFashionStd).to(dt).contiguous();
  };
  slot = std::make_shared<Fashion>(Fashion{prep(read_idx_gz(d + "train-images-idx3-ubyte.gz")),
                                           read_idx_gz(d + "train-labels-idx1-ubyte.gz").to(torch::kLong),
                                           prep(read_idx_gz(d + "t10k-images-idx3-ubyte.gz")),
                                           read_idx_gz(d + "t10k-labels-idx1-ubyte.gz").to(torch::kLong)});
  return slot;
}

struct Mnist : Workload {
  std::shared_ptr<Fashion> d;
  tnn::Sequential net;
  std::unique_ptr<torch::optim::SGD> opt;
  std::int64_t epochs = 0;
  double loss = 0;
  torch::Tensor perm;
  std::int64_t pos = 0;

  Mnist(torch::Dtype dt, bool flagship) : d(fashion(dt)) {
    if (flagship) {
      net = tnn::Sequential(tnn::Linear(784, 256), tnn::BatchNorm1d(256), tnn::ReLU(), tnn::Dropout(0.2), tnn::Linear(256, 128),
                            tnn::BatchNorm1d(128), tnn::ReLU(), tnn::Dropout(0.2), tnn::Linear(128, 10));
    } else {
      net = tnn::Sequential(tnn::Linear(784, 256), tnn::ReLU(), tnn::Linear(256, 128), tnn::ReLU(), tnn::Linear(128, 10));
    }
    net->to(dt);
    opt = std::make_unique<torch::optim::SGD>(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  }
  void train_step(const torch::Tensor& idx) {
    auto xb = d->train_x.index_select(0, idx);
    auto yb = d->train_y.index_select(0, idx);
    zero_grad_none(*opt);
    auto l = torch::nn::functional::cross_entropy(net->forward(xb), yb);
    l.backward();
    opt->step();
    loss = l.item<double>();
  }
  std::string run(const Command&) override {
    net->train();
    auto t0 = bench::Clock::now();
    const std::int64_t n = d->train_x.size(0);
    auto p = torch::randperm(n, torch::kLong);
    std::int64_t steps = 0;
    for (std::int64_t s = 0; s < n; s += 128, ++steps) train_step(p.slice(0, s, std::min(n, s + 128)));
    const double sec = bench::seconds_since(t0);
    ++epochs;
    return Json().num("sec", sec).num("iters", static_cast<double>(steps)).num("loss", loss).dump();
  }
  std::string eval() override {
    net->eval();
    torch::NoGradGuard ng;
    auto pred = net->forward(d->test_x).argmax(1);
    const double acc = pred.eq(d->test_y).sum().item<double>() / static_cast<double>(d->test_y.size(0));
    net->train();
    return Json().num("acc", acc).num("epochs", static_cast<double>(epochs)).dump();
  }
  void steps(std::int64_t count) override {
    const std::int64_t n = d->train_x.size(0);
    for (std::int64_t i = 0; i < count; ++i) {
      if (!perm.defined() || pos >= n) {
        perm = torch::randperm(n, torch::kLong);
        pos = 0;
      }
      train_step(perm.slice(0, pos, std::min(n, pos + 128)));
      pos += 128;
    }
  }
};

struct Op : Stepped {
  std::string op;
  bool grad;
  torch::Tensor x, y, b, labels;
  std::vector<torch::Tensor> mx, mw, gouts;
  Op(torch::Dtype dt, std::string name, bool with_grad) : op(std::move(name)), grad(with_grad) {
    if (op == "matmul_w3") {
      const std::int64_t dims[4] = {784, 256, 128, 10};
      for (int l = 0; l < 3; ++l) {
        mx.push_back(torch::randn({128, dims[l]}, dt).requires_grad_(grad));
        mw.push_back(torch::randn({dims[l], dims[l + 1]}, dt).requires_grad_(grad));
      }
    } else {
      x = torch::randn({1000, 1000}, dt).requires_grad_(grad);
      y = torch::randn({1000, 1000}, dt).requires_grad_(grad);
      b = torch::randn({1000}, dt).requires_grad_(grad);
      labels = torch::randint(0, 1000, {1000}, torch::kLong);
    }
  }
  std::vector<torch::Tensor> forward() {
    if (op == "add") return {x + y};
    if (op == "add_bcast") return {x + b};
    if (op == "mul") return {x * y};
    if (op == "relu") return {torch::relu(x)};
    if (op == "sigmoid") return {torch::sigmoid(x)};
    if (op == "exp") return {torch::exp(x)};
    if (op == "sum0") return {x.sum(0)};
    if (op == "sum1") return {x.sum(1)};
    if (op == "softmax") return {torch::softmax(x, 1)};
    if (op == "lsm_nll") return {torch::nll_loss(torch::log_softmax(x, 1), labels)};
    if (op == "matmul_w3") return {torch::matmul(mx[0], mw[0]), torch::matmul(mx[1], mw[1]), torch::matmul(mx[2], mw[2])};
    throw std::runtime_error("unknown op " + op);
  }
  void step() override {
    auto outs = forward();
    if (!grad) return;
    if (gouts.empty())
      for (auto& o : outs) gouts.push_back(torch::ones_like(o));
    for (std::size_t i = 0; i < outs.size(); ++i) outs[i].backward(gouts[i]);
    for (torch::Tensor* t : {&x, &y, &b})
      if (t->defined()) t->mutable_grad().reset();
    for (auto& t : mx) t.mutable_grad().reset();
    for (auto& t : mw) t.mutable_grad().reset();
  }
};

std::map<std::string, std::unique_ptr<Workload>> g_cache;

std::unique_ptr<Workload> make(const std::string& w, torch::Dtype dt, const Command& c) {
  if (w == "W1") return make_w1(dt);
  if (w == "W2") return std::make_unique<Scalar>(dt);
  if (w == "W3") return std::make_unique<Mnist>(dt, false);
  if (w == "W4") return std::make_unique<Mnist>(dt, true);
  if (w == "W5") return make_w5(dt);
  if (w == "W6") return make_w6(dt);
  if (w == "W7") return std::make_unique<Op>(dt, c.str("op", "add"), c.num("grad", 0) != 0);
  if (w == "S") return make_scale(dt, static_cast<std::int64_t>(c.num("batch", 128)), static_cast<std::int64_t>(c.num("width", 256)));
  throw std::runtime_error("unknown workload " + w);
}

std::string key_of(const Command& c) {
  std::string k = c.word(1);
  k.append(" ").append(c.word(2));
  for (const char* p : {"op", "grad", "batch", "width", "seed"}) k.append(" ").append(c.str(p, ""));
  return k;
}

Workload& get(const Command& c) {
  auto& slot = g_cache[key_of(c)];
  if (!slot) {
    torch::manual_seed(static_cast<std::uint64_t>(c.num("seed", 0)));
    slot = make(c.word(1), parse_dtype(c.word(2)), c);
  }
  return *slot;
}

std::string info(int threads) {
  return Json()
      .str("system", "libtorch")
      .str("version", TORCH_VERSION)
      .str("api", "C++ (torch::nn, torch::optim::SGD, index_select batches)")
      .num("threads_requested", threads)
      .num("torch_num_threads", at::get_num_threads())
      .num("torch_num_interop_threads", at::get_num_interop_threads())
      .str("parallel_info", at::get_parallel_info())
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
  torch::set_num_threads(threads);
  if (args.word(0) == "mem") {
    const long before = bench::proc_status_kb("VmHWM");
    Command c = args;
    c.words.insert(c.words.begin(), "run");
    c.words.erase(c.words.begin() + 1);
    auto& w = get(c);
    w.steps(static_cast<std::int64_t>(args.num("steps", 100)));
    std::cout << Json().str("system", "libtorch").num("vmhwm_kb_start", static_cast<double>(before))
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
