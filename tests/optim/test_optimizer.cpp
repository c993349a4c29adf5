// Optimizer base: parameter groups, zero_grad, closures, state access, state_dict round trips and
// load_state_dict validation.
#include <map>
#include <memory>

#include "optim/optim_test_util.hpp"

using namespace xgrad;
using namespace xgrad::optim;
using namespace xgrad::optim_test;
using xgrad::testing::check_throws_with;

namespace {

// Runs `steps` steps of `opt` on the quadratic for every parameter in `ws`.
void train(Optimizer& opt, TensorList& ws, const Quadratic& q, int steps) {
  for (int t = 0; t < steps; ++t) {
    for (Tensor& w : ws) set_quadratic_grad(w, q);
    opt.step();
  }
}

bool bitwise_equal(const Tensor& a, const Tensor& b) { return a.to_vector<double>() == b.to_vector<double>(); }

// 3 steps, save, load into a fresh optimizer on fresh (equal) parameters, 3 more steps == 6 steps.
template <class Opt, class Options>
void check_resume(const Options& options) {
  Quadratic q;
  TensorList ref{param(kW0), param({0.25, 4.0, -3.0})};
  Opt ref_opt({ParamGroup({ref[0]}), ParamGroup({ref[1]}, Options(options).lr(options.lr() * 0.5))}, options);
  train(ref_opt, ref, q, 6);

  TensorList a{param(kW0), param({0.25, 4.0, -3.0})};
  Opt first({ParamGroup({a[0]}), ParamGroup({a[1]}, Options(options).lr(options.lr() * 0.5))}, options);
  train(first, a, q, 3);
  const OptimizerState saved = first.state_dict();
  std::map<std::string, Vec> saved_values;
  for (const auto& kv : saved.tensors) saved_values[kv.first] = kv.second.to_vector<double>();

  TensorList b{param(a[0].to_vector<double>()), param(a[1].to_vector<double>())};
  Options other = options;
  other.lr(123.0);  // overwritten by the loaded options
  Opt second({ParamGroup({b[0]}), ParamGroup({b[1]})}, other);
  second.load_state_dict(saved);
  CHECK(second.param_group(0).options().get_lr() == options.lr());
  CHECK(second.param_group(1).options().get_lr() == options.lr() * 0.5);
  train(second, b, q, 3);
  CHECK(bitwise_equal(b[0], ref[0]));
  CHECK(bitwise_equal(b[1], ref[1]));
  // The snapshot is not changed by later steps of `first` (nor of `second`).
  CHECK_FALSE(saved.tensors.empty());
  train(first, a, q, 2);
  for (const auto& kv : saved.tensors) {
    INFO(kv.first);
    CHECK(kv.second.to_vector<double>() == saved_values.at(kv.first));
  }
}

}  // namespace

TEST_CASE("Optimizer: parameter groups with different learning rates") {
  Quadratic q;
  Tensor w1 = param(kW0), w2 = param(kW0);
  SGD opt({ParamGroup({w1}), ParamGroup({w2}, SGDOptions(0.01).momentum(0.5))}, SGDOptions(0.1));
  REQUIRE(opt.num_param_groups() == 2);
  CHECK(opt.param_group(0).options().get_lr() == 0.1);
  CHECK(opt.param_group(1).options().get_lr() == 0.01);
  Vec r1 = kW0, r2 = kW0, b(3);
  for (int t = 1; t <= 4; ++t) {
    const Vec g1 = q.grad(r1), g2 = q.grad(r2);
    set_quadratic_grad(w1, q);
    set_quadratic_grad(w2, q);
    opt.step();
    for (std::size_t i = 0; i < 3; ++i) {
      r1[i] -= 0.1 * g1[i];
      b[i] = t == 1 ? g2[i] : 0.5 * b[i] + g2[i];
      r2[i] -= 0.01 * b[i];
    }
    check_close(w1, r1);
    check_close(w2, r2);
  }
  CHECK_FALSE(opt.state_buffer(w1, "momentum_buffer").defined());
  CHECK(opt.state_buffer(w2, "momentum_buffer").defined());
}

TEST_CASE("Optimizer: add_param_group takes the defaults or its own options") {
  Tensor w1 = param(kW0), w2 = param(kW0), w3 = param(kW0);
  Adam opt({w1}, AdamOptions(0.01).betas({0.8, 0.9}));
  opt.add_param_group(ParamGroup({w2}));
  opt.add_param_group(ParamGroup({w3}, AdamOptions(0.5)));
  REQUIRE(opt.num_param_groups() == 3);
  const auto& o1 = dynamic_cast<const AdamOptions&>(opt.param_group(1).options());
  CHECK(o1.lr() == 0.01);
  CHECK(o1.betas().first == 0.8);
  CHECK(opt.param_group(2).options().get_lr() == 0.5);
  CHECK(opt.parameters().size() == 3);
  CHECK(opt.parameters()[2].is_same(w3));
  // Changing the defaults later does not change existing groups.
  dynamic_cast<AdamOptions&>(opt.defaults()).lr(0.2);
  CHECK(opt.param_group(1).options().get_lr() == 0.01);
}

TEST_CASE("Optimizer: zero_grad sets to none or zeros, step skips parameters without a gradient") {
  Quadratic q;
  Tensor w1 = param(kW0), w2 = param(kW0);
  SGD opt({w1, w2}, SGDOptions(0.1).momentum(0.9));
  set_quadratic_grad(w1, q);
  set_quadratic_grad(w2, q);
  opt.zero_grad(false);
  REQUIRE(w1.grad().defined());
  CHECK(w1.grad().to_vector<double>() == Vec{0.0, 0.0, 0.0});
  opt.zero_grad();
  CHECK_FALSE(w1.grad().defined());
  CHECK_FALSE(w2.grad().defined());

  set_quadratic_grad(w1, q);
  opt.step();
  CHECK(w2.to_vector<double>() == kW0);
  CHECK(opt.state(w1).step == 1);
  CHECK(opt.state(w2).step == 0);
  CHECK_FALSE(opt.state_buffer(w2, "momentum_buffer").defined());
}

TEST_CASE("Optimizer: gradients from backward, and step(closure)") {
  const Tensor c = from_vector(Vec{0.3, 0.7, -1.2}, {3}, kFloat64);
  Tensor w = param(kW0);
  SGD opt({w}, SGDOptions(0.1));
  auto closure = [&] {
    opt.zero_grad();
    Tensor loss = sum(square(w - c)) * 0.5;
    loss.backward();
    return loss;
  };
  const Tensor loss = opt.step(closure);
  // ½ ((0.7)² + (2.7)² + (1.7)²)
  CHECK(loss.item<double>() == doctest::Approx(0.5 * (0.49 + 7.29 + 2.89)).epsilon(1e-14));
  CHECK_FALSE(loss.grad_fn_name().empty());  // recorded: the closure ran with gradients enabled
  check_close(w, {1.0 - 0.07, -2.0 + 0.27, 0.5 - 0.17});
  CHECK_FALSE(opt.step().defined());  // no closure: undefined loss
  {
    NoGradGuard no_grad;  // the closure still records inside step
    CHECK(opt.step(closure).defined());
  }
}

TEST_CASE("Optimizer: state_dict keys") {
  Quadratic q;
  TensorList ws{param(kW0), param(kW0)};
  Adam opt({ParamGroup({ws[0]}), ParamGroup({ws[1]}, AdamOptions(0.5).amsgrad(true))}, AdamOptions(0.01));
  ws[0].set_grad(zeros({3}, kFloat64));
  set_quadratic_grad(ws[1], q);
  opt.step();
  opt.step();
  const OptimizerState s = opt.state_dict();
  CHECK(s.scalars.at("num_param_groups") == 2);
  CHECK(s.scalars.at("param_groups.0.num_params") == 1);
  CHECK(s.scalars.at("param_groups.0.lr") == 0.01);
  CHECK(s.scalars.at("param_groups.1.lr") == 0.5);
  CHECK(s.scalars.at("param_groups.1.amsgrad") == 1);
  CHECK(s.scalars.at("param_groups.0.amsgrad") == 0);
  CHECK(s.scalars.at("param_groups.0.beta1") == 0.9);
  CHECK(s.scalars.at("param_groups.0.beta2") == 0.999);
  CHECK(s.scalars.at("param_groups.0.eps") == 1e-8);
  CHECK(s.scalars.at("state.0.step") == 2);
  CHECK(s.scalars.at("state.1.step") == 2);
  CHECK(s.tensors.count("state.0.exp_avg") == 1);
  CHECK(s.tensors.count("state.0.exp_avg_sq") == 1);
  CHECK(s.tensors.count("state.0.max_exp_avg_sq") == 0);  // amsgrad off in group 0
  CHECK(s.tensors.count("state.1.max_exp_avg_sq") == 1);
  CHECK(s.tensors.at("state.1.exp_avg").shape() == Shape{3});

  SGD sgd({param(kW0)}, SGDOptions(0.1).momentum(0.9).nesterov(true).momentum_style(MomentumStyle::keras));
  const OptimizerState t = sgd.state_dict();
  CHECK(t.scalars.at("param_groups.0.momentum") == 0.9);
  CHECK(t.scalars.at("param_groups.0.nesterov") == 1);
  CHECK(t.scalars.at("param_groups.0.momentum_style") == 1);
  CHECK(t.tensors.empty());  // no step yet: no state
  CHECK(t.scalars.count("state.0.step") == 0);
}

TEST_CASE("Optimizer: state_dict round trip resumes bit-exactly") {
  SUBCASE("SGD nesterov") { check_resume<SGD>(SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(0.01)); }
  SUBCASE("SGD keras") { check_resume<SGD>(SGDOptions(0.05).momentum(0.9).momentum_style(MomentumStyle::keras)); }
  SUBCASE("Adam amsgrad") { check_resume<Adam>(AdamOptions(0.1).betas({0.9, 0.5}).amsgrad(true).weight_decay(0.01)); }
  SUBCASE("AdamW") { check_resume<AdamW>(AdamWOptions(0.1)); }
  SUBCASE("RMSprop centered momentum") { check_resume<RMSprop>(RMSpropOptions(0.01).momentum(0.9).centered(true)); }
  SUBCASE("Adagrad") { check_resume<Adagrad>(AdagradOptions(0.1).lr_decay(0.1).initial_accumulator_value(0.1)); }
}

TEST_CASE("Optimizer: load_state_dict converts dtypes and does not alias the saved tensors") {
  Quadratic q;
  Tensor w = param(kW0);
  SGD opt({w}, SGDOptions(0.1).momentum(0.9));
  set_quadratic_grad(w, q);
  opt.step();
  OptimizerState s = opt.state_dict();
  s.tensors["state.0.momentum_buffer"] = from_vector(std::vector<float>{1.0f, 2.0f, 3.0f}, {3});
  Tensor w2 = param(kW0);
  SGD opt2({w2}, SGDOptions(0.1).momentum(0.9));
  opt2.load_state_dict(s);
  const Tensor buf = opt2.state_buffer(w2, "momentum_buffer");
  CHECK(buf.dtype() == kFloat64);
  CHECK(buf.to_vector<double>() == Vec{1.0, 2.0, 3.0});
  s.tensors["state.0.momentum_buffer"].fill_(7.0);
  CHECK(opt2.state_buffer(w2, "momentum_buffer").to_vector<double>() == Vec{1.0, 2.0, 3.0});
  CHECK(opt2.state(w2).step == 1);
}

TEST_CASE("Optimizer: load_state_dict errors name the offending key and change nothing") {
  Quadratic q;
  TensorList ws{param(kW0), param({1.0, 2.0})};
  Adam opt({ParamGroup({ws[0]}), ParamGroup({ws[1]})}, AdamOptions(0.1));
  set_quadratic_grad(ws[0], q);
  ws[1].set_grad(from_vector(Vec{1.0, 1.0}, {2}, kFloat64));
  opt.step();
  const OptimizerState good = opt.state_dict();
  const Tensor m_before = opt.state_buffer(ws[0], "exp_avg").clone();

  auto fails = [&](OptimizerState s, const std::vector<std::string>& parts) {
    check_throws_with<ValueError>([&] { opt.load_state_dict(s); }, parts);
    CHECK(bitwise_equal(opt.state_buffer(ws[0], "exp_avg"), m_before));
    CHECK(opt.param_group(0).options().get_lr() == 0.1);
  };

  OptimizerState s = good;
  s.scalars["num_param_groups"] = 3;
  s.scalars["param_groups.0.lr"] = 0.5;
  fails(s, {"Adam", "load_state_dict", "num_param_groups", "3 parameter groups", "has 2"});

  s = good;
  s.scalars.erase("num_param_groups");
  fails(s, {"Adam", "missing key 'num_param_groups'"});

  s = good;
  s.scalars["param_groups.1.num_params"] = 2;
  fails(s, {"param_groups.1.num_params", "2 parameters in group 1", "has 1"});

  s = good;
  s.scalars["param_groups.0.lr"] = 0.5;  // valid, but must not be applied when a later check fails
  s.tensors["state.0.exp_avg"] = zeros({2, 3}, kFloat64);
  fails(s, {"state.0.exp_avg", "(2, 3)", "parameter 0 has shape (3,)"});

  s = good;
  s.tensors["state.1.exp_avg_sq"] = zeros({3}, kFloat64);
  fails(s, {"state.1.exp_avg_sq", "shape (3,)", "parameter 1 has shape (2,)"});

  s = good;
  s.tensors["state.0.momentum_buffer"] = zeros({3}, kFloat64);
  fails(s, {"state.0.momentum_buffer", "unknown state buffer 'momentum_buffer'", "exp_avg"});

  s = good;
  s.tensors["state.5.exp_avg"] = zeros({3}, kFloat64);
  fails(s, {"state.5.exp_avg", "parameter 5", "2 parameters"});

  s = good;
  s.tensors["exp_avg"] = zeros({3}, kFloat64);
  fails(s, {"unknown tensor key 'exp_avg'"});

  s = good;
  s.tensors["state.0.exp_avg"] = Tensor();
  fails(s, {"state.0.exp_avg", "undefined"});

  s = good;
  s.tensors["state.0.exp_avg"] = from_vector(std::vector<std::int64_t>{1, 2, 3}, {3});
  fails(s, {"state.0.exp_avg", "int64"});

  s = good;
  s.scalars["state.0.step"] = -1;
  fails(s, {"state.0.step", "non-negative integer", "-1"});

  s = good;
  s.scalars["state.0.step"] = 1.5;
  fails(s, {"state.0.step", "1.5"});

  s = good;
  s.scalars["state.7.step"] = 1;
  fails(s, {"state.7.step", "parameter 7"});

  s = good;
  s.scalars["epoch"] = 1;
  fails(s, {"unknown scalar key 'epoch'"});

  s = good;
  s.scalars.erase("param_groups.1.beta1");
  fails(s, {"AdamOptions", "missing key 'param_groups.1.beta1'"});

  s = good;
  s.scalars["param_groups.0.lr"] = -0.5;
  fails(s, {"AdamOptions", "param_groups.0.lr", "invalid lr -0.5", ">= 0"});

  s = good;
  s.scalars["param_groups.1.beta2"] = 1.0;
  fails(s, {"param_groups.1.beta2", "invalid beta2 1", "[0, 1)"});

  s = good;
  s.scalars["param_groups.0.amsgrad"] = 2;
  fails(s, {"param_groups.0.amsgrad", "must be 0 or 1", "2"});

  // A state from another optimizer type.
  SGD sgd({ParamGroup({param(kW0)}), ParamGroup({param({1.0, 2.0})})}, SGDOptions(0.1).momentum(0.9));
  check_throws_with<ValueError>([&] { sgd.load_state_dict(good); }, {"SGDOptions", "missing key 'param_groups.0.momentum'"});

  // Option combinations are checked too.
  SGD sgd2({param(kW0)}, SGDOptions(0.1).momentum(0.9).nesterov(true));
  OptimizerState t = sgd2.state_dict();
  t.scalars["param_groups.0.dampening"] = 0.5;
  check_throws_with<ValueError>([&] { sgd2.load_state_dict(t); },
                                {"SGD", "load_state_dict", "param_groups.0.", "nesterov requires dampening 0", "0.5"});

  // Nothing changed, and the good state still loads.
  opt.load_state_dict(good);
  CHECK(bitwise_equal(opt.state_buffer(ws[0], "exp_avg"), m_before));
}

TEST_CASE("Optimizer: parameter errors") {
  Tensor w = param(kW0);
  check_throws_with<ValueError>([&] { SGD(TensorList{}, SGDOptions(0.1)); }, {"SGD", "empty parameter list"});
  check_throws_with<ValueError>([&] { SGD({w, w}, SGDOptions(0.1)); },
                                {"SGD", "add_param_group", "parameter 1 of group 0", "(3,)", "more than one parameter group"});
  SGD opt({w}, SGDOptions(0.1));
  check_throws_with<ValueError>([&] { opt.add_param_group(ParamGroup({param(kW0), w})); },
                                {"parameter 1 of group 1", "more than one parameter group"});
  CHECK(opt.num_param_groups() == 1);
  check_throws_with<ValueError>([&] { opt.add_param_group(ParamGroup({Tensor()})); }, {"parameter 0 of group 1", "undefined"});
  check_throws_with<ValueError>([&] { opt.add_param_group(ParamGroup({from_vector(std::vector<std::int64_t>{1}, {1})})); },
                                {"parameter 0 of group 1", "int64", "float32 and float64"});
  Tensor leaf = param(kW0);
  const Tensor non_leaf = leaf * 2.0;
  check_throws_with<ValueError>([&] { opt.add_param_group(ParamGroup({non_leaf})); },
                                {"parameter 0 of group 1", "not a leaf", "MulBackward"});
  check_throws_with<ValueError>([&] { opt.add_param_group(ParamGroup({param(kW0)}, AdamOptions(0.1))); },
                                {"SGD: parameter group 1", "SGD needs SGDOptions, got AdamOptions"});
  check_throws_with<ValueError>([&] { opt.add_param_group(ParamGroup({param(kW0)}, SGDOptions(0.1).nesterov(true))); },
                                {"SGD: parameter group 1", "nesterov requires momentum > 0", "momentum 0"});
  CHECK(opt.num_param_groups() == 1);
  check_throws_with<IndexError>([&] { opt.param_group(3); }, {"SGD", "param_group", "index 3", "1 groups"});
  check_throws_with<ValueError>([&] { opt.state(param(kW0)); }, {"SGD", "state", "not a parameter of this optimizer"});
  check_throws_with<ValueError>([&] { opt.state_buffer(w, "exp_avg"); },
                                {"SGD", "unknown buffer 'exp_avg'", "momentum_buffer, velocity"});
  check_throws_with<ValueError>([&] { ParamGroup({w}).options(); }, {"ParamGroup::options", "no options"});
}

TEST_CASE("Optimizer: options changed after construction are validated by step") {
  Quadratic q;
  Tensor w = param(kW0);
  SGD opt({w}, SGDOptions(0.1).momentum(0.9).nesterov(true));
  dynamic_cast<SGDOptions&>(opt.param_group(0).options()).momentum(0.0);
  set_quadratic_grad(w, q);
  check_throws_with<ValueError>([&] { opt.step(); }, {"SGD: parameter group 0", "nesterov requires momentum > 0"});
  CHECK(w.to_vector<double>() == kW0);
}

TEST_CASE("Optimizer: ParamGroup copies deep-copy the options") {
  ParamGroup a({param(kW0)}, SGDOptions(0.1));
  ParamGroup b = a;
  b.options().set_lr(0.5);
  CHECK(a.options().get_lr() == 0.1);
  a = b;
  CHECK(a.options().get_lr() == 0.5);
  CHECK(a.params()[0].is_same(b.params()[0]));
  ParamGroup c({param(kW0)});
  CHECK_FALSE(c.has_options());
  ParamGroup d = c;
  CHECK_FALSE(d.has_options());
}
