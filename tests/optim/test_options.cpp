// Options structs: defaults, chained setters, and every validation message.
#include <limits>

#include "optim/optim_test_util.hpp"

using namespace xgrad;
using namespace xgrad::optim;
using namespace xgrad::optim_test;
using xgrad::testing::check_throws_with;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("SGDOptions: defaults and chained setters") {
  const SGDOptions o = SGDOptions(0.1).momentum(0.9).dampening(0.0).nesterov(true).weight_decay(1e-4);
  CHECK(o.lr() == 0.1);
  CHECK(o.momentum() == 0.9);
  CHECK(o.dampening() == 0.0);
  CHECK(o.nesterov());
  CHECK(o.weight_decay() == 1e-4);
  CHECK_FALSE(o.maximize());
  CHECK(o.momentum_style() == MomentumStyle::pytorch);
  CHECK(std::string(o.name()) == "SGDOptions");
  const SGDOptions d(0.5);
  CHECK(d.momentum() == 0.0);
  CHECK(d.dampening() == 0.0);
  CHECK(d.weight_decay() == 0.0);
  CHECK_FALSE(d.nesterov());
  // The order of setters does not matter: combinations are checked by validate().
  CHECK_NOTHROW(SGDOptions(0.1).nesterov(true).momentum(0.9).validate());
}

TEST_CASE("SGDOptions: validation messages") {
  check_throws_with<ValueError>([] { SGDOptions(-0.1); }, {"SGDOptions", "invalid lr -0.1", "must be >= 0"});
  check_throws_with<ValueError>([] { (void)SGDOptions(kNaN); }, {"SGDOptions", "invalid lr nan", "finite"});
  check_throws_with<ValueError>([] { (void)SGDOptions(kInf); }, {"SGDOptions", "invalid lr inf", "finite"});
  check_throws_with<ValueError>([] { SGDOptions(0.1).lr(-1.0); }, {"SGDOptions", "invalid lr -1"});
  check_throws_with<ValueError>([] { SGDOptions(0.1).momentum(-0.5); }, {"SGDOptions", "invalid momentum -0.5", ">= 0"});
  check_throws_with<ValueError>([] { SGDOptions(0.1).dampening(1.5); }, {"SGDOptions", "invalid dampening 1.5", "[0, 1]"});
  check_throws_with<ValueError>([] { SGDOptions(0.1).dampening(-0.1); }, {"SGDOptions", "invalid dampening -0.1"});
  check_throws_with<ValueError>([] { SGDOptions(0.1).weight_decay(-1e-4); },
                                {"SGDOptions", "invalid weight_decay -0.0001", ">= 0"});
  check_throws_with<ValueError>([] { SGDOptions(0.1).momentum_style(static_cast<MomentumStyle>(9)); },
                                {"SGDOptions", "invalid momentum_style 9"});
  check_throws_with<ValueError>([] { SGDOptions(0.1).nesterov(true).validate(); },
                                {"SGDOptions", "nesterov requires momentum > 0", "got momentum 0"});
  check_throws_with<ValueError>([] { SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true).validate(); },
                                {"SGDOptions", "nesterov requires dampening 0", "got dampening 0.1"});
  check_throws_with<ValueError>(
      [] { SGDOptions(0.1).momentum(0.9).dampening(0.1).momentum_style(MomentumStyle::keras).validate(); },
      {"SGDOptions", "dampening", "MomentumStyle::pytorch", "0.1"});
  // The optimizer's constructor validates.
  check_throws_with<ValueError>([] { SGD({param(kW0)}, SGDOptions(0.1).nesterov(true)); },
                                {"SGDOptions", "nesterov requires momentum > 0"});
  check_throws_with<ValueError>([] { SGD({param(kW0)}, SGDOptions(0.1).momentum(0.5).dampening(0.5).nesterov(true)); },
                                {"nesterov requires dampening 0", "0.5"});
}

TEST_CASE("AdamOptions and AdamWOptions: defaults, setters and validation messages") {
  const AdamOptions a;
  CHECK(a.lr() == 1e-3);
  CHECK(a.betas() == std::pair<double, double>{0.9, 0.999});
  CHECK(a.eps() == 1e-8);
  CHECK(a.weight_decay() == 0.0);
  CHECK_FALSE(a.amsgrad());
  CHECK_FALSE(a.maximize());
  const AdamWOptions w = AdamWOptions(0.01).betas({0.8, 0.9}).eps(1e-6).weight_decay(0.5).amsgrad(true);
  CHECK(w.lr() == 0.01);
  CHECK(w.betas().second == 0.9);
  CHECK(w.eps() == 1e-6);
  CHECK(w.weight_decay() == 0.5);
  CHECK(w.amsgrad());
  CHECK(std::string(w.name()) == "AdamWOptions");
  CHECK(AdamWOptions().weight_decay() == 0.01);

  check_throws_with<ValueError>([] { AdamOptions(-1e-3); }, {"AdamOptions", "invalid lr -0.001", ">= 0"});
  check_throws_with<ValueError>([] { AdamOptions().betas({1.0, 0.999}); }, {"AdamOptions", "invalid beta1 1", "[0, 1)"});
  check_throws_with<ValueError>([] { AdamOptions().betas({-0.1, 0.999}); }, {"AdamOptions", "invalid beta1 -0.1"});
  check_throws_with<ValueError>([] { AdamOptions().betas({0.9, 1.5}); }, {"AdamOptions", "invalid beta2 1.5", "[0, 1)"});
  check_throws_with<ValueError>([] { AdamOptions().betas({0.9, kNaN}); }, {"AdamOptions", "invalid beta2 nan"});
  check_throws_with<ValueError>([] { AdamOptions().eps(0.0); }, {"AdamOptions", "invalid eps 0", "> 0"});
  check_throws_with<ValueError>([] { AdamOptions().eps(-1e-8); }, {"AdamOptions", "invalid eps -1e-08"});
  check_throws_with<ValueError>([] { AdamOptions().weight_decay(-0.1); }, {"AdamOptions", "invalid weight_decay -0.1"});
  check_throws_with<ValueError>([] { AdamWOptions().weight_decay(-0.1); }, {"AdamWOptions", "invalid weight_decay -0.1"});
  check_throws_with<ValueError>([] { AdamWOptions(-2.0); }, {"AdamWOptions", "invalid lr -2"});
  check_throws_with<ValueError>([] { AdamWOptions().betas({0.9, 1.0}); }, {"AdamWOptions", "invalid beta2 1"});
  // Each optimizer accepts only its own options.
  check_throws_with<ValueError>([] { Adam({ParamGroup({param(kW0)}, AdamWOptions())}, AdamOptions()); },
                                {"Adam: parameter group 0", "Adam needs AdamOptions, got AdamWOptions"});
  check_throws_with<ValueError>([] { AdamW({ParamGroup({param(kW0)}, AdamOptions())}, AdamWOptions()); },
                                {"AdamW: parameter group 0", "AdamW needs AdamWOptions, got AdamOptions"});
}

TEST_CASE("RMSpropOptions: defaults, setters and validation messages") {
  const RMSpropOptions r = RMSpropOptions(0.05).alpha(0.9).eps(1e-6).weight_decay(0.1).momentum(0.5).centered(true);
  CHECK(r.lr() == 0.05);
  CHECK(r.alpha() == 0.9);
  CHECK(r.eps() == 1e-6);
  CHECK(r.weight_decay() == 0.1);
  CHECK(r.momentum() == 0.5);
  CHECK(r.centered());
  const RMSpropOptions d;
  CHECK(d.eps() == 1e-8);
  CHECK(d.momentum() == 0.0);
  CHECK_FALSE(d.centered());

  check_throws_with<ValueError>([] { RMSpropOptions(-0.01); }, {"RMSpropOptions", "invalid lr -0.01"});
  check_throws_with<ValueError>([] { RMSpropOptions().alpha(1.5); }, {"RMSpropOptions", "invalid alpha 1.5", "[0, 1]"});
  check_throws_with<ValueError>([] { RMSpropOptions().alpha(-0.5); }, {"RMSpropOptions", "invalid alpha -0.5"});
  check_throws_with<ValueError>([] { RMSpropOptions().eps(0.0); }, {"RMSpropOptions", "invalid eps 0", "> 0"});
  check_throws_with<ValueError>([] { RMSpropOptions().weight_decay(-1.0); }, {"RMSpropOptions", "invalid weight_decay -1"});
  check_throws_with<ValueError>([] { RMSpropOptions().momentum(-0.9); }, {"RMSpropOptions", "invalid momentum -0.9"});
  check_throws_with<ValueError>([] { RMSprop({ParamGroup({param(kW0)}, SGDOptions(0.1))}, RMSpropOptions()); },
                                {"RMSprop needs RMSpropOptions, got SGDOptions"});
}

TEST_CASE("AdagradOptions: defaults, setters and validation messages") {
  const AdagradOptions a = AdagradOptions(0.5).lr_decay(0.1).weight_decay(0.2).initial_accumulator_value(0.3).eps(1e-5);
  CHECK(a.lr() == 0.5);
  CHECK(a.lr_decay() == 0.1);
  CHECK(a.weight_decay() == 0.2);
  CHECK(a.initial_accumulator_value() == 0.3);
  CHECK(a.eps() == 1e-5);
  const AdagradOptions d;
  CHECK(d.lr_decay() == 0.0);
  CHECK(d.initial_accumulator_value() == 0.0);

  check_throws_with<ValueError>([] { AdagradOptions(-0.5); }, {"AdagradOptions", "invalid lr -0.5"});
  check_throws_with<ValueError>([] { AdagradOptions().lr_decay(-0.1); }, {"AdagradOptions", "invalid lr_decay -0.1", ">= 0"});
  check_throws_with<ValueError>([] { AdagradOptions().weight_decay(-0.1); }, {"AdagradOptions", "invalid weight_decay -0.1"});
  check_throws_with<ValueError>([] { AdagradOptions().initial_accumulator_value(-1.0); },
                                {"AdagradOptions", "invalid initial_accumulator_value -1", ">= 0"});
  check_throws_with<ValueError>([] { AdagradOptions().eps(0.0); }, {"AdagradOptions", "invalid eps 0", "> 0"});
  check_throws_with<ValueError>([] { AdagradOptions().eps(kInf); }, {"AdagradOptions", "invalid eps inf", "finite"});
  check_throws_with<ValueError>([] { Adagrad({ParamGroup({param(kW0)}, AdamOptions())}, AdagradOptions()); },
                                {"Adagrad needs AdagradOptions, got AdamOptions"});
}

TEST_CASE("Options: set_lr through the base interface validates") {
  std::unique_ptr<OptimizerOptions> o = AdamOptions(0.1).clone();
  o->set_lr(0.2);
  CHECK(o->get_lr() == 0.2);
  check_throws_with<ValueError>([&] { o->set_lr(-0.2); }, {"AdamOptions", "invalid lr -0.2"});
  CHECK(o->get_lr() == 0.2);
}
