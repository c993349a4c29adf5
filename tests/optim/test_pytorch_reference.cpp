// The optimizers and schedulers step for step against PyTorch itself (Debian's python3-torch), when it
// is installed: the same quadratic problem, the same options, every step's parameters (or learning
// rate) compared at float64 precision. The hand-written references of test_sgd.cpp, test_adaptive.cpp
// and test_scheduler.cpp do not need PyTorch; this file checks that they, and xgrad, mean what PyTorch
// means (the placement of eps, bias corrections, dampening on the first step, maximize with weight
// decay, the chainable scheduler forms...).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <sstream>

#include "data/temp_dir.hpp"
#include "optim/optim_test_util.hpp"

using namespace xgrad;
using namespace xgrad::optim;
using namespace xgrad::optim_test;
using xgrad::testing::TempDir;

namespace {

const char* kPython = "/usr/bin/python3";

using Trajectory = std::vector<Vec>;

bool have_torch() {
  return ::access(kPython, X_OK) == 0 && std::system(fmt::format("{} -c 'import torch' >/dev/null 2>&1", kPython).c_str()) == 0;
}

// Runs `script` (after the common prelude) and parses its lines "name v1 v2 ..." into trajectories.
std::map<std::string, Trajectory> run_torch_uncached(const std::string& script);

// Importing torch takes seconds: every test case's script is run in one Python process, once.
std::string all_scripts();
const std::map<std::string, Trajectory>& torch_results() {
  static const std::map<std::string, Trajectory> results = run_torch_uncached(all_scripts());
  return results;
}
const Trajectory& torch_at(const std::string& name) {
  const auto& r = torch_results();
  const auto it = r.find(name);
  REQUIRE_MESSAGE(it != r.end(), "no torch trajectory named " << name);
  return it->second;
}

std::map<std::string, Trajectory> run_torch_uncached(const std::string& script) {
  TempDir dir;
  const std::string prelude = R"PY(
import torch
torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
A = torch.tensor([1.0, 2.0, 0.5]); C = torch.tensor([0.3, 0.7, -1.2]); W0 = [1.0, -2.0, 0.5]
def grad(w): return A * (w.detach() - C)
def out(name, values): print(name, *[repr(float(v)) for v in values])
def traj(name, make, steps):
    w = torch.tensor(W0, requires_grad=True)
    opt = make([w])
    for _ in range(steps):
        w.grad = grad(w)
        opt.step()
        out(name, w.detach().tolist())
def lrs(name, make, epochs, metrics=None):
    w = torch.tensor(W0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    s = make(opt)
    for e in range(epochs):
        opt.step()
        if metrics is None: s.step()
        else: s.step(metrics[e])
        out(name, [g["lr"] for g in opt.param_groups])
O = torch.optim; S = torch.optim.lr_scheduler
)PY";
  testing::write_bytes(dir.file("ref.py"), prelude + script);
  const std::string out_file = dir.file("out.txt"), err_file = dir.file("err.txt");
  // one thread: these are 3-element tensors, and OpenMP workers only compete with the other tests
  const int rc =
      std::system(fmt::format("OMP_NUM_THREADS=1 {} {} > {} 2> {}", kPython, dir.file("ref.py"), out_file, err_file).c_str());
  INFO("python stderr: " << testing::read_bytes(err_file));
  REQUIRE(rc == 0);
  std::map<std::string, Trajectory> result;
  std::istringstream lines(testing::read_bytes(out_file));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream cells(line);
    std::string name;
    cells >> name;
    Vec v;
    for (double x; cells >> x;) v.push_back(x);
    result[name].push_back(v);
  }
  return result;
}

void check_same(const std::string& name, const Trajectory& ours, const Trajectory& torch) {
  INFO(name);
  REQUIRE(ours.size() == torch.size());
  for (std::size_t t = 0; t < ours.size(); ++t) {
    INFO("step " << t + 1);
    REQUIRE(ours[t].size() == torch[t].size());
    for (std::size_t i = 0; i < ours[t].size(); ++i) {
      INFO("element " << i << ": xgrad " << ours[t][i] << ", torch " << torch[t][i]);
      CHECK(std::abs(ours[t][i] - torch[t][i]) <= 1e-13 * (1.0 + std::abs(torch[t][i])));
    }
  }
}

template <class Opt, class Options>
Trajectory xgrad_traj(const Options& options, int steps) {
  Quadratic q;
  Tensor w = param(kW0);
  Opt opt({w}, options);
  Trajectory out;
  for (int t = 0; t < steps; ++t) {
    set_quadratic_grad(w, q);
    opt.step();
    out.push_back(w.to_vector<double>());
  }
  return out;
}

struct Case {
  std::string name;
  std::string torch_ctor;  // a Python lambda p: ... building the optimizer
  std::function<Trajectory()> ours;
};

constexpr int kSteps = 10;

const std::vector<Case>& optimizer_cases() {
  const int n = kSteps;
  static const std::vector<Case> cases = {
      {"sgd", "lambda p: O.SGD(p, lr=0.1)", [=] { return xgrad_traj<SGD>(SGDOptions(0.1), n); }},
      {"sgd_wd", "lambda p: O.SGD(p, lr=0.1, weight_decay=0.05)", [=] { return xgrad_traj<SGD>(SGDOptions(0.1).weight_decay(0.05), n); }},
      {"sgd_momentum", "lambda p: O.SGD(p, lr=0.05, momentum=0.9)", [=] { return xgrad_traj<SGD>(SGDOptions(0.05).momentum(0.9), n); }},
      {"sgd_dampening", "lambda p: O.SGD(p, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)",
       [=] { return xgrad_traj<SGD>(SGDOptions(0.05).momentum(0.8).dampening(0.3).weight_decay(0.01), n); }},
      {"sgd_nesterov", "lambda p: O.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.02)",
       [=] { return xgrad_traj<SGD>(SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(0.02), n); }},
      {"sgd_maximize", "lambda p: O.SGD(p, lr=0.02, momentum=0.5, weight_decay=0.1, maximize=True)",
       [=] { return xgrad_traj<SGD>(SGDOptions(0.02).momentum(0.5).weight_decay(0.1).maximize(true), n); }},
      {"adam", "lambda p: O.Adam(p, lr=0.1)", [=] { return xgrad_traj<Adam>(AdamOptions(0.1), n); }},
      {"adam_options", "lambda p: O.Adam(p, lr=0.05, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.1)",
       [=] { return xgrad_traj<Adam>(AdamOptions(0.05).betas({0.8, 0.95}).eps(1e-3).weight_decay(0.1), n); }},
      {"adam_amsgrad", "lambda p: O.Adam(p, lr=0.1, betas=(0.9, 0.5), amsgrad=True)",
       [=] { return xgrad_traj<Adam>(AdamOptions(0.1).betas({0.9, 0.5}).amsgrad(true), n); }},
      {"adam_maximize", "lambda p: O.Adam(p, lr=0.05, weight_decay=0.01, maximize=True)",
       [=] { return xgrad_traj<Adam>(AdamOptions(0.05).weight_decay(0.01).maximize(true), n); }},
      {"adamw", "lambda p: O.AdamW(p, lr=0.1)", [=] { return xgrad_traj<AdamW>(AdamWOptions(0.1), n); }},
      {"adamw_amsgrad", "lambda p: O.AdamW(p, lr=0.1, betas=(0.9, 0.5), amsgrad=True, weight_decay=0.2)",
       [=] { return xgrad_traj<AdamW>(AdamWOptions(0.1).betas({0.9, 0.5}).amsgrad(true).weight_decay(0.2), n); }},
      {"rmsprop", "lambda p: O.RMSprop(p, lr=0.01)", [=] { return xgrad_traj<RMSprop>(RMSpropOptions(0.01), n); }},
      {"rmsprop_centered", "lambda p: O.RMSprop(p, lr=0.01, alpha=0.9, centered=True)",
       [=] { return xgrad_traj<RMSprop>(RMSpropOptions(0.01).alpha(0.9).centered(true), n); }},
      {"rmsprop_all", "lambda p: O.RMSprop(p, lr=0.02, alpha=0.8, eps=1e-4, momentum=0.5, weight_decay=0.1, centered=True)",
       [=] { return xgrad_traj<RMSprop>(RMSpropOptions(0.02).alpha(0.8).eps(1e-4).momentum(0.5).weight_decay(0.1).centered(true), n); }},
      {"rmsprop_maximize", "lambda p: O.RMSprop(p, lr=0.01, momentum=0.3, maximize=True)",
       [=] { return xgrad_traj<RMSprop>(RMSpropOptions(0.01).momentum(0.3).maximize(true), n); }},
      {"adagrad", "lambda p: O.Adagrad(p, lr=0.1)", [=] { return xgrad_traj<Adagrad>(AdagradOptions(0.1), n); }},
      {"adagrad_all", "lambda p: O.Adagrad(p, lr=0.2, lr_decay=0.1, initial_accumulator_value=0.5, weight_decay=0.05, eps=1e-6)",
       [=] {
         return xgrad_traj<Adagrad>(AdagradOptions(0.2).lr_decay(0.1).initial_accumulator_value(0.5).weight_decay(0.05).eps(1e-6), n);
       }},
      {"adagrad_maximize", "lambda p: O.Adagrad(p, lr=0.1, maximize=True)",
       [=] { return xgrad_traj<Adagrad>(AdagradOptions(0.1).maximize(true), n); }},
  };
  return cases;
}

const char* kGroupsScript = R"PY(
w1 = torch.tensor(W0, requires_grad=True); w2 = torch.tensor(W0, requires_grad=True)
opt = O.SGD([{"params": [w1]}, {"params": [w2], "lr": 0.01, "momentum": 0.5, "nesterov": True}], lr=0.1, momentum=0.9)
for t in range(8):
    w1.grad = grad(w1); w2.grad = 2.0 * grad(w2)
    opt.step()
    if t == 3:
        opt.param_groups[0]["lr"] = 0.03
    out("groups", w1.detach().tolist() + w2.detach().tolist())
w = torch.tensor(W0, requires_grad=True)
opt = O.Adam([w], lr=0.1, amsgrad=True)
for t in range(8):
    w.grad = grad(w)
    opt.step()
    opt.param_groups[0]["lr"] *= 0.7
    out("adam_lr_change", w.detach().tolist())
)PY";

constexpr int kEpochs = 16;
const std::vector<double> kMetrics = {1.0, 0.9, 0.95, 0.95, 0.95, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.1, 0.1};

std::string scheduler_script() {
  std::string metric_list = "[";
  for (double m : kMetrics) metric_list += fmt::format("{}, ", m);
  metric_list += "]";
  return fmt::format(R"PY(
E = {1}
lrs("step", lambda o: S.StepLR(o, step_size=3, gamma=0.5), E)
lrs("multistep", lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), E)
lrs("exponential", lambda o: S.ExponentialLR(o, gamma=0.9), E)
lrs("cosine", lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.01), E)
lrs("lambda", lambda o: S.LambdaLR(o, lambda e: 1.0 / (1.0 + 0.5 * e)), E)
lrs("plateau", lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=1, threshold=0.01, cooldown=1, min_lr=0.02), E, {0})
lrs("plateau_max_abs", lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.2, patience=0, threshold=0.05, threshold_mode="abs"), E, {0})
)PY",
                     metric_list, kEpochs);
}

std::string all_scripts() {
  std::string script;
  for (const Case& c : optimizer_cases()) script += fmt::format("traj('{}', {}, {})\n", c.name, c.torch_ctor, kSteps);
  return script + kGroupsScript + scheduler_script();
}

#define XGRAD_REQUIRE_TORCH()                                                                    \
  if (!have_torch()) {                                                                           \
    MESSAGE("skipped: " << kPython << " with torch is missing (Debian: python3-torch)");         \
    return;                                                                                      \
  }

void optimizers_match() {
  for (const Case& c : optimizer_cases()) check_same(c.name, c.ours(), torch_at(c.name));
  // the configurations differ from each other, so agreeing with each of them means something
  CHECK(torch_at("sgd") != torch_at("sgd_wd"));
  CHECK(torch_at("adam") != torch_at("adam_maximize"));
  CHECK(torch_at("rmsprop") != torch_at("rmsprop_centered"));
}

void groups_and_lr_changes_match() {
  Quadratic q;
  {
    Tensor w1 = param(kW0), w2 = param(kW0);
    SGD opt({ParamGroup({w1}), ParamGroup({w2}, SGDOptions(0.01).momentum(0.5).nesterov(true))}, SGDOptions(0.1).momentum(0.9));
    Trajectory ours;
    for (int t = 0; t < 8; ++t) {
      set_quadratic_grad(w1, q);
      w2.set_grad(from_vector(q.grad(w2.to_vector<double>()), {3}, kFloat64) * 2.0);
      opt.step();
      if (t == 3) opt.param_group(0).options().set_lr(0.03);
      Vec v = w1.to_vector<double>();
      for (double x : w2.to_vector<double>()) v.push_back(x);
      ours.push_back(v);
    }
    check_same("groups", ours, torch_at("groups"));
  }
  {
    Tensor w = param(kW0);
    Adam opt({w}, AdamOptions(0.1).amsgrad(true));
    Trajectory ours;
    for (int t = 0; t < 8; ++t) {
      set_quadratic_grad(w, q);
      opt.step();
      opt.param_group(0).options().set_lr(opt.param_group(0).options().get_lr() * 0.7);
      ours.push_back(w.to_vector<double>());
    }
    check_same("adam_lr_change", ours, torch_at("adam_lr_change"));
  }
}

void schedulers_match() {
  auto run = [&](auto make) {
    Tensor w = param(kW0);
    SGD opt({w}, SGDOptions(0.1));
    auto s = make(opt);
    Trajectory out;
    for (int e = 0; e < kEpochs; ++e) {
      s->step();
      out.push_back(s->get_last_lr());
    }
    return out;
  };
  check_same("step", run([](Optimizer& o) { return std::make_unique<StepLR>(o, 3, 0.5); }), torch_at("step"));
  check_same("multistep", run([](Optimizer& o) { return std::make_unique<MultiStepLR>(o, std::vector<std::int64_t>{2, 5, 5, 9}, 0.3); }),
             torch_at("multistep"));
  check_same("exponential", run([](Optimizer& o) { return std::make_unique<ExponentialLR>(o, 0.9); }), torch_at("exponential"));
  check_same("cosine", run([](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 5, 0.01); }), torch_at("cosine"));
  check_same("lambda", run([](Optimizer& o) {
               return std::make_unique<LambdaLR>(o, [](std::int64_t e) { return 1.0 / (1.0 + 0.5 * static_cast<double>(e)); });
             }),
             torch_at("lambda"));
  // The lectures' time-based decay lr/(1 + decay·t) is the same LambdaLR.
  check_same("time-based decay", run([](Optimizer& o) { return std::make_unique<TimeBasedDecay>(o, 0.5); }), torch_at("lambda"));
  auto plateau = [&](ReduceLROnPlateauOptions options) {
    Tensor w = param(kW0);
    SGD opt({w}, SGDOptions(0.1));
    ReduceLROnPlateau s(opt, options);
    Trajectory out;
    for (int e = 0; e < kEpochs; ++e) {
      s.step(kMetrics[static_cast<std::size_t>(e)]);
      out.push_back({opt.param_group(0).options().get_lr()});
    }
    return out;
  };
  check_same("plateau", plateau(ReduceLROnPlateauOptions().factor(0.5).patience(1).threshold(0.01).cooldown(1).min_lr(0.02)),
             torch_at("plateau"));
  check_same("plateau_max_abs",
             plateau(ReduceLROnPlateauOptions().mode(PlateauMode::max).factor(0.2).patience(0).threshold(0.05).threshold_mode(
                 ThresholdMode::abs)),
             torch_at("plateau_max_abs"));
  CHECK(torch_at("plateau").back() != torch_at("plateau").front());  // the plateaus did reduce the lr
}

}  // namespace

// One test case (one process under ctest, one Python start) with a subcase per part.
TEST_CASE("optimizers and schedulers against PyTorch: torch.optim and torch.optim.lr_scheduler step for step") {
  XGRAD_REQUIRE_TORCH();
  SUBCASE("every optimizer configuration") { optimizers_match(); }
  SUBCASE("parameter groups with their own options, lr changed between steps") { groups_and_lr_changes_match(); }
  SUBCASE("the learning rate of every epoch of every scheduler") { schedulers_match(); }
}
