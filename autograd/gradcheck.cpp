#include "gradcheck.hpp"

#include <fmt/format.h>

#include <cmath>
#include <ostream>
#include <random>

#include "engine.hpp"
#include "grad_mode.hpp"
#include "ops.hpp"

namespace xgrad {
namespace {

using Matrix = std::vector<std::vector<double>>;  // [input element][output element]

std::string index_str(std::int64_t flat, const Shape& shape) {
  std::vector<std::int64_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return fmt::format("[{}]", fmt::join(idx, ", "));
}

// Element offset (in elements, from data()) of the flat row-major index `flat` of a view.
std::int64_t element_offset(const Tensor& t, std::int64_t flat) {
  std::int64_t off = 0;
  for (std::size_t d = t.shape().size(); d-- > 0;) {
    off += (flat % t.shape()[d]) * t.strides()[d];
    flat /= t.shape()[d];
  }
  return off;
}

std::int64_t total_numel(const TensorList& outs) {
  std::int64_t n = 0;
  for (const Tensor& o : outs) n += o.numel();
  return n;
}

std::vector<double> flatten_outputs(const TensorList& outs) {
  std::vector<double> v;
  for (const Tensor& o : outs) {
    auto part = o.to_vector<double>();
    v.insert(v.end(), part.begin(), part.end());
  }
  return v;
}

bool close(double a, double n, const GradcheckOptions& o) { return std::abs(a - n) <= o.atol + o.rtol * std::abs(n); }

std::string jacobian_text(const Matrix& m) {
  std::string s;
  for (const auto& row : m) s += fmt::format("    [{:.6g}]\n", fmt::join(row, ", "));
  return s;
}

GradcheckResult fail(const GradcheckOptions& o, std::string msg) {
  if (o.raise_exception) throw ValueError("gradcheck: " + msg);
  return {false, "gradcheck: " + msg};
}

GradcheckResult check(const GradcheckFunction& fn, const TensorList& inputs, const GradcheckOptions& opt) {
  std::vector<std::size_t> diff;  // inputs that require grad
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    if (x.dtype() != kFloat64 && !opt.allow_float32)
      return fail(opt, fmt::format("input {} has dtype {}; gradcheck needs float64 inputs (set allow_float32 to force)", i,
                                   dtype_name(x.dtype())));
    for (std::size_t d = 0; d < x.shape().size(); ++d)
      if (x.numel() > 0 && x.strides()[d] == 0 && x.shape()[d] > 1)
        return fail(opt, fmt::format("input {} (shape {}) is an expanded view with overlapping memory; pass a contiguous copy", i,
                                     shape_str(x.shape())));
    diff.push_back(i);
  }
  if (diff.empty()) return fail(opt, "no input requires grad");

  const TensorList outs = fn(inputs);
  TensorList float_outs;
  for (const Tensor& o : outs)
    if (o.defined() && is_floating(o.dtype())) float_outs.push_back(o);
  const std::int64_t n_out = total_numel(float_outs);

  // ---- numeric Jacobian: perturb each element in place (no version bump), evaluate without grad ----
  std::vector<Matrix> numeric(diff.size());
  {
    NoGradGuard no_grad;
    auto eval = [&]() {
      TensorList o = fn(inputs);
      TensorList f;
      for (const Tensor& t : o)
        if (t.defined() && is_floating(t.dtype())) f.push_back(t);
      return flatten_outputs(f);
    };
    for (std::size_t k = 0; k < diff.size(); ++k) {
      Tensor x = inputs[diff[k]];
      numeric[k].assign(static_cast<std::size_t>(x.numel()), std::vector<double>(static_cast<std::size_t>(n_out)));
      for (std::int64_t j = 0; j < x.numel(); ++j) {
        const std::int64_t off = element_offset(x, j);
        auto perturb = [&](double delta) {
          dispatch_dtype(x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            T* p = x.mutable_data<T>() + off;
            *p = static_cast<T>(static_cast<double>(*p) + delta);
          });
        };
        const double orig = dispatch_dtype(x.dtype(), [&](auto tag) {
          using T = decltype(tag);
          return static_cast<double>(x.data<T>()[off]);
        });
        perturb(opt.eps);
        const auto plus = eval();
        dispatch_dtype(x.dtype(), [&](auto tag) {
          using T = decltype(tag);
          x.mutable_data<T>()[off] = static_cast<T>(orig - opt.eps);
        });
        const auto minus = eval();
        dispatch_dtype(x.dtype(), [&](auto tag) {
          using T = decltype(tag);
          x.mutable_data<T>()[off] = static_cast<T>(orig);
        });
        for (std::int64_t m = 0; m < n_out; ++m)
          numeric[k][static_cast<std::size_t>(j)][static_cast<std::size_t>(m)] =
              (plus[static_cast<std::size_t>(m)] - minus[static_cast<std::size_t>(m)]) / (2 * opt.eps);
      }
    }
  }

  TensorList diff_inputs;
  for (auto i : diff) diff_inputs.push_back(inputs[i]);
  TensorList diff_outs;  // floating outputs that are part of the graph
  std::vector<std::int64_t> out_start;
  {
    std::int64_t start = 0;
    for (const Tensor& o : float_outs) {
      if (o.requires_grad()) {
        diff_outs.push_back(o);
        out_start.push_back(start);
      }
      start += o.numel();
    }
  }

  // vᵀJ by one backward pass for the upstream gradients `ups` (one per diff output)
  auto vjp = [&](const TensorList& ups) -> TensorList {
    TensorList g = autograd::grad(diff_outs, diff_inputs, ups, {.retain_graph = true, .allow_unused = true});
    for (std::size_t k = 0; k < g.size(); ++k) {
      const Tensor& x = diff_inputs[k];
      if (!g[k].defined()) continue;
      if (g[k].shape() != x.shape() || g[k].dtype() != x.dtype())
        throw ValueError(fmt::format("gradcheck: the gradient of input {} has shape {} and dtype {}, expected shape {} and dtype {}",
                                     diff[k], shape_str(g[k].shape()), dtype_name(g[k].dtype()), shape_str(x.shape()),
                                     dtype_name(x.dtype())));
    }
    return g;
  };

  // ---- analytic Jacobian: one backward per output element ----
  std::vector<Matrix> analytic(diff.size());
  for (std::size_t k = 0; k < diff.size(); ++k)
    analytic[k].assign(static_cast<std::size_t>(diff_inputs[k].numel()), std::vector<double>(static_cast<std::size_t>(n_out), 0.0));
  if (!diff_outs.empty()) {
    try {
      for (std::size_t o = 0; o < diff_outs.size(); ++o) {
        for (std::int64_t m = 0; m < diff_outs[o].numel(); ++m) {
          TensorList ups;
          for (std::size_t q = 0; q < diff_outs.size(); ++q) {
            Tensor u = zeros_like(diff_outs[q]);
            if (q == o) {
              dispatch_dtype(u.dtype(), [&](auto tag) { u.mutable_data<decltype(tag)>()[m] = 1; });
            }
            ups.push_back(u);
          }
          const TensorList g = vjp(ups);
          for (std::size_t k = 0; k < g.size(); ++k) {
            if (!g[k].defined()) continue;
            const auto col = g[k].to_vector<double>();
            for (std::size_t j = 0; j < col.size(); ++j) analytic[k][j][static_cast<std::size_t>(out_start[o] + m)] = col[j];
          }
        }
      }
    } catch (const ValueError& e) {
      const std::string what = e.what();
      if (what.rfind("gradcheck: ", 0) == 0) return fail(opt, what.substr(std::string("gradcheck: ").size()));
      return fail(opt, "backward failed: " + what);
    } catch (const Error& e) {
      // e.g. a GraphError for a custom Function whose backward returns a gradient of the wrong shape
      return fail(opt, std::string("backward failed: ") + e.what());
    }
  }

  for (std::size_t k = 0; k < diff.size(); ++k) {
    const Tensor& x = diff_inputs[k];
    for (std::int64_t j = 0; j < x.numel(); ++j)
      for (std::int64_t m = 0; m < n_out; ++m) {
        const double a = analytic[k][static_cast<std::size_t>(j)][static_cast<std::size_t>(m)];
        const double n = numeric[k][static_cast<std::size_t>(j)][static_cast<std::size_t>(m)];
        if (!close(a, n, opt)) {
          std::size_t o = 0;  // which output element m is
          std::int64_t om = m;
          while (om >= float_outs[o].numel()) om -= float_outs[o++].numel();
          std::string msg = fmt::format(
              "Jacobian mismatch for input {} (shape {}) at element {} and output {} (shape {}) element {}: analytic {:.10g}, "
              "numeric {:.10g} (atol {}, rtol {})",
              diff[k], shape_str(x.shape()), index_str(j, x.shape()), o, shape_str(float_outs[o].shape()), index_str(om, float_outs[o].shape()),
              a, n, opt.atol, opt.rtol);
          if (x.numel() * n_out <= 100)
            msg += fmt::format("\n  analytic Jacobian (rows: input elements):\n{}  numeric Jacobian:\n{}", jacobian_text(analytic[k]),
                               jacobian_text(numeric[k]));
          return fail(opt, msg);
        }
      }
  }

  if (diff_outs.empty()) return {};
  // ---- random upstream gradient, and reentrancy ----
  std::mt19937_64 gen(opt.seed);
  std::normal_distribution<double> dist;
  TensorList ups;
  std::vector<double> v;
  for (const Tensor& o : diff_outs) {
    std::vector<double> vals(static_cast<std::size_t>(o.numel()));
    for (auto& x : vals) x = dist(gen);
    v.insert(v.end(), vals.begin(), vals.end());
    ups.push_back(from_vector(vals, o.shape(), o.dtype()));
  }
  if (opt.check_random_upstream || opt.check_reentrant) {
    TensorList g1, g2;
    try {
      g1 = vjp(ups);
      if (opt.check_reentrant) g2 = vjp(ups);
    } catch (const Error& e) {
      return fail(opt, std::string("backward with a random upstream gradient failed: ") + e.what());
    }
    if (opt.check_reentrant) {
      for (std::size_t k = 0; k < g1.size(); ++k) {
        if (g1[k].defined() != g2[k].defined())
          return fail(opt, fmt::format("backward is not reentrant: the gradient of input {} was {} in one backward pass and {} in the "
                                       "next",
                                       diff[k], g1[k].defined() ? "defined" : "undefined", g2[k].defined() ? "defined" : "undefined"));
        if (!g1[k].defined()) continue;
        const auto a = g1[k].to_vector<double>(), b = g2[k].to_vector<double>();
        for (std::size_t j = 0; j < a.size(); ++j)
          if (!(a[j] == b[j] || (std::isnan(a[j]) && std::isnan(b[j]))))
            return fail(opt, fmt::format("backward is not reentrant: two backward passes with the same upstream gradient gave different "
                                         "gradients for input {} at element {}: {:.17g} and {:.17g}",
                                         diff[k], index_str(static_cast<std::int64_t>(j), diff_inputs[k].shape()), a[j], b[j]));
      }
    }
    if (opt.check_random_upstream) {
      for (std::size_t k = 0; k < g1.size(); ++k) {
        const std::vector<double> got = g1[k].defined() ? g1[k].to_vector<double>() : std::vector<double>(static_cast<std::size_t>(diff_inputs[k].numel()), 0.0);
        for (std::size_t j = 0; j < got.size(); ++j) {
          // numeric vᵀJ over the outputs that are in the graph
          double expect = 0;
          std::size_t vi = 0;
          for (std::size_t o = 0; o < diff_outs.size(); ++o)
            for (std::int64_t m = 0; m < diff_outs[o].numel(); ++m)
              expect += v[vi++] * numeric[k][j][static_cast<std::size_t>(out_start[o] + m)];
          if (!close(got[j], expect, opt))
            return fail(opt, fmt::format("vector-Jacobian product mismatch for input {} at element {} with a random upstream gradient: "
                                         "analytic {:.10g}, numeric {:.10g}",
                                         diff[k], index_str(static_cast<std::int64_t>(j), diff_inputs[k].shape()), got[j], expect));
        }
      }
    }
  }
  return {};
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const GradcheckResult& r) { return os << (r.ok ? "gradcheck passed" : r.message); }

GradcheckResult gradcheck(const GradcheckFunction& fn, const TensorList& inputs, const GradcheckOptions& options) {
  return check(fn, inputs, options);
}

GradcheckResult gradcheck(const GradcheckFunction1& fn, const TensorList& inputs, const GradcheckOptions& options) {
  return check([&](const TensorList& in) { return TensorList{fn(in)}; }, inputs, options);
}

GradcheckResult gradgradcheck(const GradcheckFunction& fn, const TensorList& inputs, const GradcheckOptions& options) {
  // Random upstream gradients v for fn's floating outputs become extra inputs of the checked map.
  const TensorList outs = fn(inputs);
  std::mt19937_64 gen(options.seed + 1);
  std::normal_distribution<double> dist;
  TensorList extended = inputs;
  std::vector<std::size_t> out_index;
  for (std::size_t i = 0; i < outs.size(); ++i) {
    if (!outs[i].defined() || !outs[i].requires_grad()) continue;
    std::vector<double> vals(static_cast<std::size_t>(outs[i].numel()));
    for (auto& x : vals) x = dist(gen);
    extended.push_back(from_vector(vals, outs[i].shape(), outs[i].dtype()).requires_grad_());
    out_index.push_back(i);
  }
  const std::size_t n_in = inputs.size();
  auto first_order = [&](const TensorList& in) -> TensorList {
    const TensorList x(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n_in));
    const TensorList o = fn(x);
    TensorList diff_outs, ups, diff_inputs;
    for (std::size_t k = 0; k < out_index.size(); ++k) {
      if (!o[out_index[k]].requires_grad()) continue;  // under NoGradGuard (numeric pass)
      diff_outs.push_back(o[out_index[k]]);
      ups.push_back(in[n_in + k]);
    }
    for (const Tensor& t : x)
      if (t.defined() && t.requires_grad()) diff_inputs.push_back(t);
    if (diff_outs.empty()) {
      // numeric evaluation without a graph: recompute with grad enabled locally
      EnableGradGuard enable;
      return [&] {
        const TensorList o2 = fn(x);
        TensorList d2, u2;
        for (std::size_t k = 0; k < out_index.size(); ++k) {
          d2.push_back(o2[out_index[k]]);
          u2.push_back(in[n_in + k].detach());
        }
        TensorList g = autograd::grad(d2, diff_inputs, u2, {.allow_unused = true});
        for (std::size_t k = 0; k < g.size(); ++k)
          g[k] = g[k].defined() ? g[k].detach() : zeros_like(diff_inputs[k]);
        return g;
      }();
    }
    TensorList g = autograd::grad(diff_outs, diff_inputs, ups, {.create_graph = true, .allow_unused = true});
    for (std::size_t k = 0; k < g.size(); ++k)
      if (!g[k].defined()) g[k] = zeros_like(diff_inputs[k]);
    return g;
  };
  return check(first_order, extended, options);
}

GradcheckResult gradgradcheck(const GradcheckFunction1& fn, const TensorList& inputs, const GradcheckOptions& options) {
  return gradgradcheck([&](const TensorList& in) { return TensorList{fn(in)}; }, inputs, options);
}

}  // namespace xgrad
