// StandardScaler and MinMaxScaler against hand computations.
#include <xgrad/data/data.hpp>

#include <cmath>

#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;

namespace {
// Columns: (1, 3, 5): mean 3, population var 8/3; (0.1, 0.1, 0.1): constant (its float64 mean is not
// exactly 0.1); (5, 7, 0): mean 4, population var 26/3.
Tensor sample(Dtype dtype = kFloat64) { return tensor({{1, 0.1, 5}, {3, 0.1, 7}, {5, 0.1, 0}}, dtype); }

void check_close(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (tol == 0.0) CHECK(a[i] == b[i]);
    else CHECK(a[i] == doctest::Approx(b[i]).epsilon(tol).scale(1.0));
  }
}
}  // namespace

TEST_CASE("StandardScaler: mean, ddof-0 std, constant features, transform and inverse") {
  data::StandardScaler s;
  CHECK(!s.fitted());
  const Tensor x = sample();
  const Tensor z = s.fit_transform(x);
  CHECK(s.fitted());
  CHECK(s.mean().shape() == Shape{3});
  check_close(s.mean().to_vector<double>(), {3.0, 0.1, 4.0}, 1e-15);
  check_close(s.scale().to_vector<double>(), {std::sqrt(8.0 / 3.0), 1.0, std::sqrt(26.0 / 3.0)}, 1e-15);
  CHECK(s.scale().at({1}) == 1.0);  // constant column: scale exactly 1, not ~1e-17
  // z = (x - mean) / std: column 0 is (-2, 0, 2)/sqrt(8/3) = (-sqrt(1.5), 0, sqrt(1.5)).
  const double r = std::sqrt(1.5), q = std::sqrt(26.0 / 3.0);
  check_close(z.to_vector<double>(), {-r, 0.0, 1.0 / q, 0.0, 0.0, 3.0 / q, r, 0.0, -4.0 / q}, 1e-12);
  // Standardized columns have mean 0 and (population) variance 1, except the constant one.
  const auto zv = z.to_vector<double>();
  for (int c : {0, 2}) {
    double m = 0, v = 0;
    for (int i = 0; i < 3; ++i) m += zv[static_cast<std::size_t>(3 * i + c)] / 3.0;
    for (int i = 0; i < 3; ++i) v += std::pow(zv[static_cast<std::size_t>(3 * i + c)] - m, 2) / 3.0;
    CHECK(m == doctest::Approx(0.0).scale(1.0).epsilon(1e-12));
    CHECK(v == doctest::Approx(1.0).epsilon(1e-12));
  }
  check_close(s.inverse_transform(z).to_vector<double>(), x.to_vector<double>(), 1e-12);
  // float32 data: statistics in float32, computed in float64.
  data::StandardScaler s32;
  s32.fit(sample(kFloat32));
  CHECK(s32.mean().dtype() == kFloat32);
  CHECK(s32.transform(sample(kFloat32)).dtype() == kFloat32);
  CHECK(s32.mean().at({0}) == doctest::Approx(3.0));
}

TEST_CASE("StandardScaler: state_dict round trip and errors") {
  data::StandardScaler s;
  s.fit(sample());
  data::StandardScaler t;
  t.load_state_dict(s.state_dict());
  CHECK(t.transform(sample()).to_vector<double>() == s.transform(sample()).to_vector<double>());
  check_throws_with<ValueError>([] { data::StandardScaler().transform(sample()); }, {"StandardScaler::transform", "not fitted"});
  check_throws_with<ShapeError>([&] { s.transform(zeros({2, 4}, kFloat64)); }, {"StandardScaler::transform", "3 features", "(2, 4)"});
  check_throws_with<ShapeError>([&] { data::StandardScaler().fit(zeros({3}, kFloat64)); }, {"StandardScaler::fit", "2-D", "(3,)"});
  check_throws_with<ValueError>([&] { data::StandardScaler().fit(zeros({0, 3}, kFloat64)); }, {"StandardScaler::fit", "0 samples"});
  check_throws_with<DtypeError>([&] { data::StandardScaler().fit(zeros({2, 2}, kInt64)); }, {"StandardScaler::fit", "int64"});
  check_throws_with<ValueError>([&] { t.load_state_dict({{"mean", zeros({3})}}); }, {"load_state_dict", "'scale'"});
  check_throws_with<ShapeError>([&] { t.load_state_dict({{"mean", zeros({3})}, {"scale", zeros({2})}}); },
                                {"load_state_dict", "(3,)", "(2,)"});
}

TEST_CASE("MinMaxScaler: onto [0, 1] and a custom range") {
  data::MinMaxScaler s;
  const Tensor y = s.fit_transform(sample());
  check_close(s.data_min().to_vector<double>(), {1, 0.1, 0}, 0);
  check_close(s.data_max().to_vector<double>(), {5, 0.1, 7}, 0);
  check_close(y.to_vector<double>(), {0, 0, 5.0 / 7.0, 0.5, 0, 1, 1, 0, 0}, 1e-12);
  check_close(s.inverse_transform(y).to_vector<double>(), sample().to_vector<double>(), 1e-12);
  data::MinMaxScaler r(-1, 1);
  check_close(r.fit_transform(sample()).to_vector<double>(), {-1, -1, 3.0 / 7.0, 0, -1, 1, 1, -1, -1}, 1e-12);
  data::MinMaxScaler back(-1, 1);
  back.load_state_dict(r.state_dict());
  check_close(back.transform(sample()).to_vector<double>(), r.transform(sample()).to_vector<double>(), 0);
  check_throws_with<ValueError>([] { data::MinMaxScaler(1, 1); }, {"MinMaxScaler", "lo < hi"});
  check_throws_with<ValueError>([] { data::MinMaxScaler().transform(sample()); }, {"MinMaxScaler::transform", "not fitted"});
}
