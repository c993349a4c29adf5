// xtensor interop (autograd/xtensor_interop.hpp): copying xtensor containers and expressions into
// tensors, and zero-copy read-only views of tensors as xtensor arrays.
#include <numeric>
#include <type_traits>
#include <vector>

#include <xgrad/autograd/xtensor_interop.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xtensor.hpp>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

TEST_CASE("from_xarray copies values, shape and picks the dtype") {
  xt::xarray<double> a = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  Tensor t = from_xarray(a);
  CHECK(t.dtype() == kFloat64);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK_FALSE(t.requires_grad());
  a(0, 0) = 100.0;  // a copy: independent of the source
  CHECK(t.at({0, 0}) == 1.0);

  xt::xarray<float> f = {1.5f, -2.5f};
  Tensor tf = from_xarray(f);
  CHECK(tf.dtype() == kFloat32);
  CHECK(tf.to_vector<float>() == std::vector<float>{1.5f, -2.5f});

  xt::xarray<std::int64_t> i = {{7, 8}, {9, 10}};
  Tensor ti = from_xarray(i);
  CHECK(ti.dtype() == kInt64);
  CHECK(ti.to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 8, 9, 10});
}

TEST_CASE("from_xarray accepts fixed-rank tensors, column-major layouts, expressions, 0-d and empty arrays") {
  auto r = xt::xtensor<double, 3>::from_shape({2, 3, 4});
  std::iota(r.begin(), r.end(), 0.0);
  Tensor t = from_xarray(r);
  CHECK(t.shape() == Shape{2, 3, 4});
  CHECK(t.at({1, 2, 3}) == 23.0);

  xt::xarray<double, xt::layout_type::column_major> cm = {{1.0, 2.0}, {3.0, 4.0}};
  Tensor tc = from_xarray(cm);  // values in row-major order whatever the source layout
  CHECK(tc.to_vector<double>() == std::vector<double>{1, 2, 3, 4});

  xt::xarray<double> a = {1.0, 2.0, 3.0};
  Tensor te = from_xarray(a * 2.0 + 1.0);
  CHECK(te.to_vector<double>() == std::vector<double>{3, 5, 7});

  xt::xarray<double> s = 4.5;
  Tensor ts = from_xarray(s);
  CHECK(ts.dim() == 0);
  CHECK(ts.item<double>() == 4.5);

  xt::xarray<float> empty = xt::xarray<float>::from_shape({0, 3});
  Tensor t0 = from_xarray(empty);
  CHECK(t0.shape() == Shape{0, 3});
  CHECK(t0.numel() == 0);
}

TEST_CASE("to_xarray is a zero-copy read-only view that aliases the tensor") {
  Tensor t = from_vector({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, kFloat64);
  auto v = to_xarray<double>(t);
  static_assert(std::is_const_v<std::remove_reference_t<decltype(v(0, 0))>>, "the view is read-only");
  REQUIRE(v.dimension() == 2);
  CHECK(v.shape()[0] == 2);
  CHECK(v.shape()[1] == 3);
  CHECK(v(1, 2) == 6.0);
  CHECK(v.data() == t.data<double>());  // zero-copy
  CHECK(xt::sum(v)() == 21.0);
  t.add_(1.0);  // in-place changes are visible through the view
  CHECK(v(0, 0) == 2.0);
  xt::xarray<double> copy = v;  // an independent copy
  t.zero_();
  CHECK(copy(1, 2) == 7.0);
  CHECK(v(1, 2) == 0.0);
}

TEST_CASE("to_xarray keeps the memory alive after the tensor handle is gone") {
  auto v = to_xarray<float>(arange(5.0));
  CHECK(v(4) == 4.0f);
  auto w = v;  // copies share the same tensor
  CHECK(w.data() == v.data());
  CHECK(xt::sum(w)() == 10.0f);
}

TEST_CASE("to_xarray of a non-contiguous tensor reads a contiguous copy") {
  Tensor t = from_vector({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, kFloat64);
  Tensor tt = t.t();
  REQUIRE_FALSE(tt.is_contiguous());
  auto v = to_xarray<double>(tt);
  CHECK(v.shape()[0] == 3);
  CHECK(v(0, 1) == 4.0);
  CHECK(v(2, 0) == 3.0);
  CHECK(v.data() != t.data<double>());
  t.fill_(0.0);  // the copy does not follow the tensor
  CHECK(v(2, 0) == 3.0);
  // expanded views too (stride 0)
  auto e = to_xarray<double>(from_vector({1.0, 2.0}, {2}, kFloat64).expand({3, 2}));
  CHECK(e.size() == 6);
  CHECK(e(2, 1) == 2.0);
}

TEST_CASE("to_xarray of 0-d, int64 and grad-requiring tensors, round trip") {
  auto s = to_xarray<double>(scalar_tensor(2.5, kFloat64));
  CHECK(s.dimension() == 0);
  CHECK(s() == 2.5);
  auto i = to_xarray<std::int64_t>(tensor_int({3, 1, 2}));
  CHECK(i(2) == 2);
  Tensor x = full({2}, 1.5, kFloat64).requires_grad_();
  Tensor y = x * 2.0;
  auto vy = to_xarray<double>(y);  // reads values only, records nothing
  CHECK(vy(1) == 3.0);
  Tensor back = from_xarray(to_xarray<double>(y));
  CHECK_FALSE(back.requires_grad());
  CHECK(allclose(back, y.detach()));
}

TEST_CASE("to_xarray errors") {
  check_throws_with<DtypeError>([] { (void)to_xarray<float>(ones({2}, kFloat64)); }, {"to_xarray", "float64", "float32"});
  check_throws_with<DtypeError>([] { (void)to_xarray<std::int64_t>(ones({2})); }, {"to_xarray", "float32", "int64"});
  check_throws_with<ValueError>([] { (void)to_xarray<double>(Tensor()); }, {"to_xarray", "undefined"});
}
