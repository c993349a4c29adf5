// Softmax and log-softmax: fused forward kernels, and fused backward ops that have their own
// (double) backward, so that gradgradcheck passes through them.
#include "softmax.hpp"

#include "../detail/checks.hpp"
#include "../detail/record.hpp"
#include "../kernels/softmax.hpp"
#include "../ops.hpp"

namespace xgrad {

using detail::input;
using detail::output;
using detail::record;

namespace {

// F(y, g) = y ⊙ (g - Σ g⊙y)       (softmax; y its output)
// F(y, g) = g - e^y ⊙ Σ g          (log_softmax; y its output), sums along dim.
// Double backward with upstream h:
//   softmax:     dg = F(y, h),  dy = h ⊙ (g - Σ g⊙y) - g ⊙ Σ h⊙y
//   log_softmax: dg = h - Σ h⊙e^y,  dy = -h ⊙ e^y ⊙ Σ g
Tensor softmax_backward_op(const Tensor& y, const Tensor& g, std::int64_t dim, bool log, const Where& where) {
  Tensor out = kernels::softmax_backward(y, g, dim, log);
  return record(out, log ? "LogSoftmaxBackwardBackward" : "SoftmaxBackwardBackward", where, {&y, &g}, {input(y), input(g)},
                [dim, log, where](Node& n, TensorList& hh) -> TensorList {
                  const Tensor yv = n.saved(0), gv = n.saved(1);
                  const Tensor& h = hh[0];
                  Tensor dy, dg;
                  if (log) {
                    const Tensor ey = exp(yv);
                    if (n.needs_input_grad(0)) dy = -(h * ey * sum(gv, {dim}, true));
                    if (n.needs_input_grad(1)) dg = h - sum(h * ey, {dim}, true);
                  } else {
                    if (n.needs_input_grad(0)) dy = h * (gv - sum(gv * yv, {dim}, true)) - gv * sum(h * yv, {dim}, true);
                    if (n.needs_input_grad(1)) dg = softmax_backward_op(yv, h, dim, false, where);
                  }
                  return {dy, dg};
                });
}

Tensor softmax_impl(const Tensor& x, std::int64_t dim, bool log, const char* op, const Where& where) {
  detail::check_floating(x, op);
  const std::int64_t d = wrap_dim(dim, x.dim(), op);
  Tensor out = kernels::softmax(x, d, log);
  return record(out, log ? "LogSoftmaxBackward" : "SoftmaxBackward", where, {&x}, {output(out)},
                [d, log, where](Node& n, TensorList& g) -> TensorList {
                  return {softmax_backward_op(n.saved(0), g[0], d, log, where)};
                });
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim, Where where) {
  OpScope scope("softmax", where);
  return softmax_impl(x, dim, false, "softmax", where);
}

Tensor log_softmax(const Tensor& x, std::int64_t dim, Where where) {
  OpScope scope("log_softmax", where);
  return softmax_impl(x, dim, true, "log_softmax", where);
}

}  // namespace xgrad
