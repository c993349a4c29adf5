// Learning-rate schedulers: lr sequences against closed forms, chaining, ReduceLROnPlateau, resume.
#include <cmath>
#include <limits>
#include <numbers>

#include "optim/optim_test_util.hpp"

using namespace xgrad;
using namespace xgrad::optim;
using namespace xgrad::optim_test;
using xgrad::testing::check_throws_with;

namespace {

// An SGD with two groups, base lrs 0.1 and 0.02.
struct TwoGroups {
  Tensor w1 = param(kW0), w2 = param(kW0);
  SGD opt{{ParamGroup({w1}), ParamGroup({w2}, SGDOptions(0.02))}, SGDOptions(0.1)};
  double lr(std::size_t g) const { return opt.param_group(g).options().get_lr(); }
};

constexpr double kBase[2] = {0.1, 0.02};

// Checks epochs 0..last against closed(base, e); step() is called between epochs.
template <class Sched, class Closed>
void check_sequence(TwoGroups& m, Sched& s, int last, Closed closed, double rel = 1e-13) {
  for (int e = 0; e <= last; ++e) {
    if (e > 0) s.step();
    INFO("epoch " << e);
    CHECK(s.last_epoch() == e);
    for (std::size_t g = 0; g < 2; ++g) {
      const double expected = closed(kBase[g], e);
      CHECK(m.lr(g) == doctest::Approx(expected).epsilon(rel));
      CHECK(s.get_last_lr()[g] == m.lr(g));
    }
  }
}

}  // namespace

TEST_CASE("StepLR: base * gamma^floor(e / step_size)") {
  TwoGroups m;
  StepLR s(m.opt, 3, 0.5);
  CHECK(s.base_lrs() == std::vector<double>{0.1, 0.02});
  check_sequence(m, s, 12, [](double base, int e) { return base * std::pow(0.5, e / 3); });
}

TEST_CASE("StepLR: default gamma 0.1") {
  TwoGroups m;
  StepLR s(m.opt, 2);
  check_sequence(m, s, 6, [](double base, int e) { return base * std::pow(0.1, e / 2); });
}

TEST_CASE("MultiStepLR: gamma^(number of milestones <= e), repeated milestones count twice") {
  TwoGroups m;
  MultiStepLR s(m.opt, {5, 2, 5}, 0.5);
  check_sequence(m, s, 8, [](double base, int e) {
    const int hits = (e >= 2) + 2 * (e >= 5);
    return base * std::pow(0.5, hits);
  });
}

TEST_CASE("ExponentialLR: base * gamma^e") {
  TwoGroups m;
  ExponentialLR s(m.opt, 0.9);
  check_sequence(m, s, 30, [](double base, int e) { return base * std::pow(0.9, e); }, 1e-12);
}

TEST_CASE("CosineAnnealingLR: eta_min + (base - eta_min)(1 + cos(pi e / T)) / 2, also past T_max") {
  TwoGroups m;
  CosineAnnealingLR s(m.opt, 10, 0.001);
  check_sequence(m, s, 35, [](double base, int e) {
    return 0.001 + (base - 0.001) * (1.0 + std::cos(std::numbers::pi * e / 10.0)) / 2.0;
  }, 1e-10);
}

TEST_CASE("CosineAnnealingLR: reaches eta_min at T_max and the base lr at 2 T_max") {
  TwoGroups m;
  CosineAnnealingLR s(m.opt, 4);
  for (int e = 0; e < 4; ++e) s.step();
  CHECK(std::abs(m.lr(0)) < 1e-15);
  for (int e = 0; e < 4; ++e) s.step();
  CHECK(m.lr(0) == doctest::Approx(0.1).epsilon(1e-13));
}

TEST_CASE("TimeBasedDecay: base / (1 + decay t)") {
  TwoGroups m;
  TimeBasedDecay s(m.opt, 0.5);
  check_sequence(m, s, 10, [](double base, int e) { return base / (1.0 + 0.5 * e); });
}

TEST_CASE("LambdaLR: base * lambda(e), one function or one per group") {
  {
    TwoGroups m;
    LambdaLR s(m.opt, [](int e) { return 1.0 / (e + 2.0); });  // epoch 0 already applies lambda(0)
    check_sequence(m, s, 6, [](double base, int e) { return base / (e + 2.0); });
  }
  {
    TwoGroups m;
    LambdaLR s(m.opt, std::vector<LambdaLR::Lambda>{[](int e) { return std::pow(0.9, e); }, [](int e) { return e + 1.0; }});
    for (int e = 0; e <= 5; ++e) {
      if (e > 0) s.step();
      CHECK(m.lr(0) == doctest::Approx(0.1 * std::pow(0.9, e)).epsilon(1e-13));
      CHECK(m.lr(1) == doctest::Approx(0.02 * (e + 1.0)).epsilon(1e-13));
    }
  }
}

TEST_CASE("Schedulers: chainable forms compose (StepLR and ExponentialLR together)") {
  TwoGroups m;
  StepLR a(m.opt, 3, 0.5);
  ExponentialLR b(m.opt, 0.9);
  for (int e = 1; e <= 9; ++e) {
    a.step();
    b.step();
    CHECK(m.lr(0) == doctest::Approx(0.1 * std::pow(0.9, e) * std::pow(0.5, e / 3)).epsilon(1e-13));
  }
}

TEST_CASE("Schedulers: drive the optimizer's updates") {
  Quadratic q;
  Tensor w = param(kW0);
  SGD opt({w}, SGDOptions(0.1));
  StepLR s(opt, 1, 0.5);
  Vec r = kW0;
  double lr = 0.1;
  for (int e = 0; e < 4; ++e) {
    const Vec g = q.grad(r);
    set_quadratic_grad(w, q);
    opt.step();
    for (std::size_t i = 0; i < 3; ++i) r[i] -= lr * g[i];
    s.step();
    lr *= 0.5;
  }
  check_close(w, r);
}

TEST_CASE("Schedulers: state_dict round trip with the optimizer's state") {
  TwoGroups ref;
  CosineAnnealingLR ref_s(ref.opt, 7, 0.001);
  for (int e = 0; e < 10; ++e) ref_s.step();

  TwoGroups a;
  CosineAnnealingLR sa(a.opt, 7, 0.001);
  for (int e = 0; e < 4; ++e) sa.step();
  const OptimizerState opt_state = a.opt.state_dict();
  const SchedulerState sched_state = sa.state_dict();
  CHECK(sched_state.scalars.at("last_epoch") == 4);
  CHECK(sched_state.scalars.at("base_lrs.1") == 0.02);
  CHECK(sched_state.scalars.at("num_param_groups") == 2);
  CHECK(sched_state.scalars.at("last_lrs.0") == a.lr(0));

  TwoGroups b;
  CosineAnnealingLR sb(b.opt, 7, 0.001);
  b.opt.load_state_dict(opt_state);
  sb.load_state_dict(sched_state);
  CHECK(sb.last_epoch() == 4);
  CHECK(sb.get_last_lr() == sa.get_last_lr());
  for (int e = 0; e < 6; ++e) sb.step();
  CHECK(b.lr(0) == ref.lr(0));  // bit-exact
  CHECK(b.lr(1) == ref.lr(1));

  SchedulerState bad = sched_state;
  bad.scalars.erase("base_lrs.1");
  check_throws_with<ValueError>([&] { sb.load_state_dict(bad); }, {"CosineAnnealingLR", "missing key 'base_lrs.1'"});
  bad = sched_state;
  bad.scalars["num_param_groups"] = 3;
  check_throws_with<ValueError>([&] { sb.load_state_dict(bad); }, {"CosineAnnealingLR", "num_param_groups", "3", "has 2"});
  bad = sched_state;
  bad.scalars["last_epoch"] = 2.5;
  check_throws_with<ValueError>([&] { sb.load_state_dict(bad); }, {"last_epoch", "integer", "2.5"});
  CHECK(sb.last_epoch() == 10);
}

TEST_CASE("ReduceLROnPlateau: mode min, relative threshold, patience, cooldown, min_lr") {
  TwoGroups m;
  ReduceLROnPlateau s(m.opt, ReduceLROnPlateauOptions().factor(0.5).patience(2).threshold(0.1).cooldown(1).min_lr(0.02));
  CHECK(s.get_last_lr() == std::vector<double>{0.1, 0.02});
  // Worked by hand: improvement needs metric < 0.9 best.
  const std::vector<double> metrics{10, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0};
  const std::vector<double> lr0{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025,
                                0.025, 0.025, 0.02, 0.02, 0.02, 0.02, 0.02};
  const std::vector<std::int64_t> bad{0, 1, 2, 0, 0, 1, 2, 0, 0, 0, 1, 2, 0, 0, 1, 2, 0};
  for (std::size_t e = 0; e < metrics.size(); ++e) {
    s.step(metrics[e]);
    INFO("epoch " << e + 1);
    CHECK(s.last_epoch() == static_cast<std::int64_t>(e + 1));
    CHECK(m.lr(0) == doctest::Approx(lr0[e]).epsilon(1e-15));
    CHECK(m.lr(1) == 0.02);  // already at min_lr: never reduced
    CHECK(s.get_last_lr()[0] == m.lr(0));
    CHECK(s.num_bad_epochs() == bad[e]);
  }
  CHECK(s.best() == 8.0);
}

TEST_CASE("ReduceLROnPlateau: mode max with absolute threshold, per-group min_lrs, NaN metrics") {
  TwoGroups m;
  ReduceLROnPlateau s(m.opt, ReduceLROnPlateauOptions()
                                 .mode(PlateauMode::max)
                                 .threshold_mode(ThresholdMode::abs)
                                 .threshold(0.01)
                                 .patience(0)
                                 .factor(0.1)
                                 .min_lrs({0.0, 0.01}));
  s.step(0.5);    // best 0.5
  CHECK(m.lr(0) == 0.1);
  s.step(0.505);  // not > 0.51: reduce
  CHECK(m.lr(0) == doctest::Approx(0.01).epsilon(1e-15));
  CHECK(m.lr(1) == doctest::Approx(0.01).epsilon(1e-15));  // max(0.002, 0.01)
  s.step(0.52);   // > 0.51: best
  CHECK(s.best() == 0.52);
  CHECK(m.lr(0) == doctest::Approx(0.01).epsilon(1e-15));
  s.step(std::numeric_limits<double>::quiet_NaN());  // never an improvement
  CHECK(m.lr(0) == doctest::Approx(0.001).epsilon(1e-15));
  CHECK(s.best() == 0.52);
}

TEST_CASE("ReduceLROnPlateau: default options and the eps rule") {
  TwoGroups m;
  ReduceLROnPlateau s(m.opt, ReduceLROnPlateauOptions().eps(0.05));
  CHECK(s.options().patience() == 10);
  CHECK(s.options().factor() == 0.1);
  CHECK(s.options().threshold() == 1e-4);
  for (int e = 0; e < 11; ++e) s.step(1.0);  // first is the best, then 10 bad epochs: not yet
  CHECK(m.lr(0) == 0.1);
  s.step(1.0);  // 11 bad epochs > patience: 0.1 -> 0.01 (change 0.09 > eps), group 1's change 0.018 <= eps
  CHECK(m.lr(0) == doctest::Approx(0.01).epsilon(1e-15));
  CHECK(m.lr(1) == 0.02);
}

TEST_CASE("ReduceLROnPlateau: state_dict round trip") {
  auto metric = [](int e) { return e < 3 ? 5.0 - e : 3.0; };
  TwoGroups ref;
  ReduceLROnPlateau rs(ref.opt, ReduceLROnPlateauOptions().patience(1).cooldown(2));
  for (int e = 0; e < 12; ++e) rs.step(metric(e));

  TwoGroups a;
  ReduceLROnPlateau sa(a.opt, ReduceLROnPlateauOptions().patience(1).cooldown(2));
  for (int e = 0; e < 5; ++e) sa.step(metric(e));
  const auto os = a.opt.state_dict();
  const auto ss = sa.state_dict();
  CHECK(ss.scalars.at("best") == 3.0);
  CHECK(ss.scalars.at("last_epoch") == 5);

  TwoGroups b;
  ReduceLROnPlateau sb(b.opt, ReduceLROnPlateauOptions().patience(1).cooldown(2));
  b.opt.load_state_dict(os);
  sb.load_state_dict(ss);
  CHECK(sb.cooldown_counter() == sa.cooldown_counter());
  for (int e = 5; e < 12; ++e) sb.step(metric(e));
  CHECK(b.lr(0) == ref.lr(0));
  CHECK(sb.num_bad_epochs() == rs.num_bad_epochs());
  CHECK(sb.cooldown_counter() == rs.cooldown_counter());
  CHECK(ref.lr(0) < 0.1 * 0.1);  // several reductions happened

  SchedulerState bad = ss;
  bad.scalars.erase("best");
  check_throws_with<ValueError>([&] { sb.load_state_dict(bad); }, {"ReduceLROnPlateau", "missing key 'best'"});
}

TEST_CASE("Schedulers: argument errors") {
  TwoGroups m;
  check_throws_with<ValueError>([&] { StepLR(m.opt, 0); }, {"StepLR", "step_size 0", ">= 1"});
  check_throws_with<ValueError>([&] { StepLR(m.opt, 2, 0.0); }, {"StepLR", "gamma 0", "> 0"});
  check_throws_with<ValueError>([&] { MultiStepLR(m.opt, {3, 0}); }, {"MultiStepLR", "milestone 0", ">= 1"});
  check_throws_with<ValueError>([&] { MultiStepLR(m.opt, {3}, -0.5); }, {"MultiStepLR", "gamma -0.5"});
  check_throws_with<ValueError>([&] { ExponentialLR(m.opt, -1.0); }, {"ExponentialLR", "gamma -1", "> 0"});
  check_throws_with<ValueError>([&] { ExponentialLR(m.opt, std::numeric_limits<double>::quiet_NaN()); },
                                {"ExponentialLR", "gamma nan", "finite"});
  check_throws_with<ValueError>([&] { CosineAnnealingLR(m.opt, 0); }, {"CosineAnnealingLR", "T_max 0", ">= 1"});
  check_throws_with<ValueError>([&] { CosineAnnealingLR(m.opt, 5, -0.1); }, {"CosineAnnealingLR", "eta_min -0.1", ">= 0"});
  check_throws_with<ValueError>([&] { TimeBasedDecay(m.opt, -0.5); }, {"TimeBasedDecay", "decay -0.5", ">= 0"});
  check_throws_with<ValueError>([&] { LambdaLR(m.opt, LambdaLR::Lambda()); }, {"LambdaLR", "lr_lambda 0", "empty"});
  check_throws_with<ValueError>([&] { LambdaLR(m.opt, std::vector<LambdaLR::Lambda>{[](int) { return 1.0; }}); },
                                {"LambdaLR", "1 lr_lambdas", "2 parameter groups"});
  check_throws_with<ValueError>([&] { LambdaLR(m.opt, [](int e) { return 1.0 - 2.0 * e; }).step(); },
                                {"LambdaLR", "epoch 1", "parameter group 0", "SGDOptions", "invalid lr -0.1"});

  using O = ReduceLROnPlateauOptions;
  check_throws_with<ValueError>([&] { ReduceLROnPlateau(m.opt, O().factor(1.0)); }, {"ReduceLROnPlateau", "factor 1", "(0, 1)"});
  check_throws_with<ValueError>([&] { ReduceLROnPlateau(m.opt, O().factor(0.0)); }, {"ReduceLROnPlateau", "factor 0"});
  check_throws_with<ValueError>([&] { ReduceLROnPlateau(m.opt, O().patience(-1)); }, {"ReduceLROnPlateau", "patience -1"});
  check_throws_with<ValueError>([&] { ReduceLROnPlateau(m.opt, O().cooldown(-2)); }, {"ReduceLROnPlateau", "cooldown -2"});
  check_throws_with<ValueError>([&] { ReduceLROnPlateau(m.opt, O().threshold(-1e-3)); }, {"ReduceLROnPlateau", "threshold -0.001"});
  check_throws_with<ValueError>([&] { ReduceLROnPlateau(m.opt, O().eps(-1.0)); }, {"ReduceLROnPlateau", "eps -1"});
  check_throws_with<ValueError>([&] { ReduceLROnPlateau(m.opt, O().min_lr(-0.1)); }, {"ReduceLROnPlateau", "min_lr -0.1"});
  check_throws_with<ValueError>([&] { ReduceLROnPlateau(m.opt, O().min_lrs({0.0, 0.0, 0.0})); },
                                {"ReduceLROnPlateau", "expected 1 or 2 min_lrs", "got 3"});
  check_throws_with<ValueError>([&] { ReduceLROnPlateau(m.opt, O().mode(static_cast<PlateauMode>(7))); },
                                {"ReduceLROnPlateau", "invalid mode 7"});
  check_throws_with<ValueError>([&] { ReduceLROnPlateau(m.opt, O().threshold_mode(static_cast<ThresholdMode>(5))); },
                                {"ReduceLROnPlateau", "invalid threshold_mode 5"});

  // Groups added after the scheduler was created.
  StepLR s(m.opt, 2);
  ReduceLROnPlateau r(m.opt);
  m.opt.add_param_group(ParamGroup({param(kW0)}));
  check_throws_with<ValueError>([&] { s.step(); }, {"StepLR", "3 parameter groups", "created for 2"});
  check_throws_with<ValueError>([&] { r.step(1.0); }, {"ReduceLROnPlateau", "3 parameter groups", "created for 2"});
}
