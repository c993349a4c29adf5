// Loss functions. Regression losses are compositions of differentiable ops; the cross-entropy family
// uses fused kernels (kernels/softmax.cpp, kernels/loss.cpp) with backward ops that have their own
// backward, so every loss is twice differentiable.
//
// Note [empty mean]: a mean over zero elements (an empty batch, or a batch whose targets are all
// ignore_index) is NaN, like PyTorch; its gradient is zero (empty for an empty batch).
#include "loss.hpp"

#include <cmath>
#include <limits>
#include <memory>

#include "../detail/checks.hpp"
#include "../detail/record.hpp"
#include "../kernels/elementwise.hpp"
#include "../kernels/loss.hpp"
#include "../kernels/softmax.hpp"
#include "../ops.hpp"

namespace xgrad {

using detail::input;
using detail::record;
using detail::sum_to;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using TargetsPtr = std::shared_ptr<const kernels::ClassTargets>;
using CoefPtr = std::shared_ptr<const std::vector<double>>;

std::string index_str(std::int64_t flat, const Shape& shape) {
  std::vector<std::int64_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return fmt::format("[{}]", fmt::join(idx, ", "));
}

Tensor reduce(const Tensor& l, Reduction r, const Where& where) {
  switch (r) {
    case Reduction::none: return l;
    case Reduction::sum: return sum(l, {}, false, where);
    case Reduction::mean: break;
  }
  if (l.numel() == 0) return add(sum(l, {}, false, where), kNaN, where);  // Note [empty mean]
  return mean(l, {}, false, where);
}

// input and target: floating, same dtype, same shape.
void check_pair(const Tensor& in, const Tensor& target, const char* op) {
  detail::check_floating(in, op, "input");
  detail::check_floating(target, op, "target");
  if (in.dtype() != target.dtype())
    detail::raise<DtypeError>(op, fmt::format("input has dtype {} but target has dtype {}", dtype_name(in.dtype()), dtype_name(target.dtype())));
  if (in.shape() != target.shape())
    detail::raise<ShapeError>(op, fmt::format("input of shape {} and target of shape {} must have the same shape", shape_str(in.shape()),
                                              shape_str(target.shape())));
}

// An optional element weight: floating, the input's dtype, broadcastable to the input's shape.
void check_weight(const Tensor& w, const Tensor& in, const char* op, const char* arg) {
  if (!w.defined()) return;
  detail::check_floating(w, op, arg);
  if (w.dtype() != in.dtype())
    detail::raise<DtypeError>(op, fmt::format("{} has dtype {} but input has dtype {}", arg, dtype_name(w.dtype()), dtype_name(in.dtype())));
  bool fits = w.dim() <= in.dim();
  for (std::size_t i = 0; fits && i < w.shape().size(); ++i) {
    const auto ws = w.shape()[w.shape().size() - 1 - i], is = in.shape()[in.shape().size() - 1 - i];
    fits = ws == is || ws == 1;
  }
  if (!fits)
    detail::raise<ShapeError>(op, fmt::format("{} of shape {} does not broadcast to the input's shape {}", arg, shape_str(w.shape()),
                                              shape_str(in.shape())));
}

// Saves optional tensors after the ones record() saved (only when a node was created).
void save_extra(const Tensor& out, std::initializer_list<const Tensor*> ts) {
  const std::shared_ptr<Node> node = out.grad_fn();
  if (!node) return;
  for (const Tensor* t : ts)
    if (t->defined()) node->saved_.emplace_back(*t, false);
}

// ---- class-index targets --------------------------------------------------------------------

// Per-class weights (C): floating, the input's dtype, no gradient.
void check_class_weight(const Tensor& w, const Tensor& in, std::int64_t classes, const char* op) {
  if (!w.defined()) return;
  detail::check_floating(w, op, "weight");
  if (w.dtype() != in.dtype())
    detail::raise<DtypeError>(op, fmt::format("weight has dtype {} but input has dtype {}", dtype_name(w.dtype()), dtype_name(in.dtype())));
  if (w.dim() != 1 || w.shape()[0] != classes)
    detail::raise<ShapeError>(op, fmt::format("weight of shape {} must have one value per class: expected shape {} for input of shape {}",
                                              shape_str(w.shape()), shape_str({classes}), shape_str(in.shape())));
  if (w.requires_grad() && GradMode::is_enabled())
    detail::raise<ValueError>(op, "gradients with respect to the class weights are not supported; pass weight.detach()");
}

TargetsPtr class_targets(const Tensor& target, std::int64_t classes, const Tensor& weight, double smoothing, std::int64_t ignore_index,
                         const char* op) {
  auto t = std::make_shared<kernels::ClassTargets>();
  t->classes = classes;
  t->smoothing = smoothing;
  t->ignore_index = ignore_index;
  const auto n = static_cast<std::size_t>(target.numel());
  t->labels.resize(n);
  if (target.dtype() == kInt64) {
    t->labels = target.to_vector<std::int64_t>();
  } else {
    const auto v = target.to_vector<double>();
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(v[i]) || v[i] != std::floor(v[i]))
        detail::raise<ValueError>(op, fmt::format("target value {} at index {} is not an integral class index (floating targets of shape {} "
                                                  "are read as class indices; class probabilities need the input's shape)",
                                                  v[i], i, shape_str(target.shape())));
      t->labels[i] = static_cast<std::int64_t>(v[i]);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto y = t->labels[i];
    if (y != ignore_index && (y < 0 || y >= classes))
      detail::raise<IndexError>(op, fmt::format("target {} at index {} is out of range for {} classes (expected 0 <= target < {}, or "
                                                "ignore_index {})",
                                                y, i, classes, classes, ignore_index));
  }
  if (weight.defined()) t->weight = weight.to_vector<double>();
  return t;
}

// Checks of the class-index losses: input (N, C), (C) or (N, C, d1, ..., dk); target of shape (N),
// () or (N, d1, ..., dk).
void check_class_input(const Tensor& in, const char* op) {
  detail::check_floating(in, op, "input");
  if (in.dim() == 0)
    detail::raise<ShapeError>(op, fmt::format("input must have shape (N, C), (C) for one sample, or (N, C, d1, ..., dk), got {}",
                                              shape_str(in.shape())));
}

// (N, C, d1, ..., dk) -> (N·d1·...·dk, C): the classes moved to the last dim, one row per position.
Tensor classes_last(const Tensor& x, const Where& where) {
  std::vector<std::int64_t> perm{0};
  for (std::int64_t d = 2; d < x.dim(); ++d) perm.push_back(d);
  perm.push_back(1);
  return reshape(permute(x, perm, where), {-1, x.shape()[1]}, where);
}

// The shape of per-position losses (and class-index targets) of an (N, C, d1, ..., dk) input.
Shape positions_shape(const Tensor& x) {
  Shape s{x.shape()[0]};
  for (std::size_t d = 2; d < x.shape().size(); ++d) s.push_back(x.shape()[d]);
  return s;
}

Shape index_shape(const Tensor& in) { return in.dim() == 2 ? Shape{in.shape()[0]} : Shape{}; }

// out_i = coef_i · x[i, y_i] and its adjoint, each the other's backward (linear maps).
Tensor pick_op(const Tensor& x, const TargetsPtr& t, const CoefPtr& coef, const Where& where);
Tensor place_op(const Tensor& g, const TargetsPtr& t, const CoefPtr& coef, const Where& where) {
  Tensor out = kernels::place(g, *t, *coef);
  return record(out, "NllLossBackwardBackward", where, {&g}, {},
                [t, coef, where](Node&, TensorList& h) -> TensorList { return {pick_op(h[0], t, coef, where)}; });
}
Tensor pick_op(const Tensor& x, const TargetsPtr& t, const CoefPtr& coef, const Where& where) {
  Tensor out = kernels::pick(x, *t, *coef);
  return record(out, "NllLossBackward", where, {&x}, {},
                [t, coef, where](Node&, TensorList& g) -> TensorList { return {place_op(g[0], t, coef, where)}; });
}

// Gradient of the fused cross entropy, F(x, g) = s ⊙ (a ⊙ softmax(x) - t) row-wise with s = g (none)
// or g·scale (sum, mean), as an op with its own backward. With upstream h and p = softmax(x):
//   dx = s a ⊙ p ⊙ (h - Σ_c h⊙p),   dg_i = Σ_c h_ic (a_i p_ic - t_ic)   (summed and scaled for sum/mean).
Tensor ce_backward_op(const Tensor& x, const Tensor& lse, const Tensor& g, const TargetsPtr& t, Reduction r, double scale,
                      const Where& where) {
  Tensor out = kernels::cross_entropy_rows_backward(x, lse, *t, g, scale);
  return record(out, "CrossEntropyBackwardBackward", where, {&x, &g}, {input(x), input(g)},
                [t, r, scale](Node& n, TensorList& hh) -> TensorList {
                  const Tensor xv = n.saved(0), gv = n.saved(1);
                  const Tensor& h = hh[0];
                  const std::int64_t rows = xv.shape()[0];
                  const Tensor p = softmax(xv, 1);
                  const Tensor a = kernels::class_target_mass(*t, xv.dtype());  // (N, 1) constants
                  const Tensor hp = sum(h * p, {1}, true);
                  Tensor dx, dg;
                  if (n.needs_input_grad(0)) {
                    const Tensor s = r == Reduction::none ? unsqueeze(gv, 1) : expand(reshape(gv * scale, {1, 1}), {rows, 1});
                    dx = p * (h - hp) * (s * a);
                  }
                  if (n.needs_input_grad(1)) {
                    const Tensor target = kernels::class_target_matrix(*t, xv.dtype());
                    const Tensor per_row = a * hp - sum(h * target, {1}, true);  // (N, 1)
                    dg = r == Reduction::none ? reshape(per_row, {rows}) : sum(per_row) * scale;
                  }
                  return {dx, dg};
                });
}

// log_softmax + nll fused: one pass forward (row max, exp-sum, loss), one pass backward.
Tensor ce_indices(const Tensor& x, const TargetsPtr& t, Reduction r, const Where& where) {
  Tensor lse;
  const Tensor rows = kernels::cross_entropy_rows(x, *t, lse);
  Tensor out = rows;
  double scale = 1.0;
  if (r != Reduction::none) {
    double total = 0;
    for (double v : rows.to_vector<double>()) total += v;
    if (r == Reduction::mean) {
      const double denom = t->label_weight_sum();
      scale = denom > 0 ? 1.0 / denom : 0.0;
      total = denom > 0 ? total / denom : kNaN;  // Note [empty mean]
    }
    out = scalar_tensor(total, x.dtype());
  }
  return record(out, "CrossEntropyBackward", where, {&x}, {input(x), input(lse)}, [t, r, scale, where](Node& n, TensorList& g) -> TensorList {
    return {ce_backward_op(n.saved(0), n.saved(1), g[0], t, r, scale, where)};
  });
}

}  // namespace

// ---- regression losses ----------------------------------------------------------------------

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction, Where where) {
  OpScope scope("mse_loss", where);
  check_pair(input, target, "mse_loss");
  return reduce(square(sub(input, target, 1.0, where), where), reduction, where);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, Where where) {
  OpScope scope("l1_loss", where);
  check_pair(input, target, "l1_loss");
  return reduce(abs(sub(input, target, 1.0, where), where), reduction, where);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta, Where where) {
  OpScope scope("huber_loss", where);
  check_pair(input, target, "huber_loss");
  if (!(delta > 0)) detail::raise<ValueError>("huber_loss", fmt::format("delta must be positive, got {}", delta));
  const Tensor d = sub(input, target, 1.0, where);
  const Tensor ad = abs(d, where);
  const Tensor l = xgrad::where(lt(ad, delta), square(d) * 0.5, (ad - 0.5 * delta) * delta, where);
  return reduce(l, reduction, where);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta, Where where) {
  OpScope scope("smooth_l1_loss", where);
  check_pair(input, target, "smooth_l1_loss");
  if (!(beta >= 0)) detail::raise<ValueError>("smooth_l1_loss", fmt::format("beta must be non-negative, got {}", beta));
  if (beta == 0) return l1_loss(input, target, reduction, where);
  const Tensor d = sub(input, target, 1.0, where);
  const Tensor ad = abs(d, where);
  const Tensor l = xgrad::where(lt(ad, beta), square(d) * (0.5 / beta), ad - 0.5 * beta, where);
  return reduce(l, reduction, where);
}

// ---- binary cross entropy -------------------------------------------------------------------

Tensor binary_cross_entropy(const Tensor& p, const Tensor& target, Reduction reduction, const Tensor& weight, Where where) {
  constexpr const char* op = "binary_cross_entropy";
  OpScope scope(op, where);
  check_pair(p, target, op);
  check_weight(weight, p, op, "weight");
  double bad = 0;
  if (const auto i = kernels::first_outside(p, 0.0, 1.0, bad); i >= 0)
    detail::raise<ValueError>(op, fmt::format("input value {} at index {} is outside [0, 1]: the input must be probabilities (use "
                                              "binary_cross_entropy_with_logits for logits)",
                                              bad, index_str(i, p.shape())));
  Tensor out = kernels::binary_cross_entropy(p, target, weight);
  // dp = g w (p - y) / max(p(1-p), 1e-12)      (PyTorch's guard against p = 0 or 1)
  // dy = g w (max(ln(1-p), -100) - max(ln p, -100)),  dw = g · (the unweighted loss), summed to w's shape
  const bool has_w = weight.defined();
  record(out, "BinaryCrossEntropyBackward", where, {&p, &target, &weight}, {input(p), input(target)},
         [has_w](Node& n, TensorList& g) -> TensorList {
           const Tensor pv = n.saved(0), yv = n.saved(1);
           const Tensor w = has_w ? n.saved(2) : Tensor();
           const Tensor gw = has_w ? g[0] * w : g[0];
           Tensor dp, dy, dw;
           if (n.needs_input_grad(0)) dp = gw * (pv - yv) / clamp_min(pv * (1.0 - pv), 1e-12);
           if (n.needs_input_grad(1) || n.needs_input_grad(2)) {
             const Tensor log_p = clamp_min(log(pv), -100.0), log_q = clamp_min(log1p(-pv), -100.0);
             if (n.needs_input_grad(1)) dy = gw * (log_q - log_p);
             if (n.needs_input_grad(2)) dw = sum_to(-(g[0] * (yv * log_p + (1.0 - yv) * log_q)), w.shape());
           }
           return {dp, dy, dw};
         });
  save_extra(out, {&weight});
  return reduce(out, reduction, where);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction, const Tensor& weight,
                                        const Tensor& pos_weight, Where where) {
  constexpr const char* op = "binary_cross_entropy_with_logits";
  OpScope scope(op, where);
  check_pair(logits, target, op);
  check_weight(weight, logits, op, "weight");
  check_weight(pos_weight, logits, op, "pos_weight");
  Tensor out = kernels::binary_cross_entropy_with_logits(logits, target, weight, pos_weight);
  // With sp = softplus(-z) = ln(1 + e^-|z|) + max(-z, 0) and lw = 1 + (pw-1) y:
  //   loss = w [(1-y) z + lw sp];  dz = g w (lw σ(z) - pw y);  dy = g w ((pw-1) sp - z);
  //   dw = g [(1-y) z + lw sp];  dpw = g w y sp  (summed to the shapes of w and pw).
  const bool has_w = weight.defined(), has_pw = pos_weight.defined();
  record(out, "BinaryCrossEntropyWithLogitsBackward", where, {&logits, &target, &weight, &pos_weight}, {input(logits), input(target)},
         [has_w, has_pw](Node& n, TensorList& g) -> TensorList {
           const Tensor z = n.saved(0), y = n.saved(1);
           const Tensor w = has_w ? n.saved(2) : Tensor();
           const Tensor pw = has_pw ? n.saved(has_w ? 3 : 2) : Tensor();
           const Tensor gw = has_w ? g[0] * w : g[0];
           Tensor dz, dy, dw, dpw;
           if (n.needs_input_grad(0)) {
             const Tensor s = sigmoid(z);
             dz = has_pw ? gw * ((pw - 1.0) * y * s + s - pw * y) : gw * (s - y);
           }
           if (!has_pw && n.needs_input_grad(1)) dy = -(gw * z);
           if ((has_pw && n.needs_input_grad(1)) || n.needs_input_grad(2) || n.needs_input_grad(3)) {
             const Tensor sp = log1p(exp(-abs(z))) + relu(-z);
             if (has_pw && n.needs_input_grad(1)) dy = gw * ((pw - 1.0) * sp - z);
             if (n.needs_input_grad(2)) {
               const Tensor lw_sp = has_pw ? ((pw - 1.0) * y + 1.0) * sp : sp;
               dw = sum_to(g[0] * ((1.0 - y) * z + lw_sp), w.shape());
             }
             if (n.needs_input_grad(3)) dpw = sum_to(gw * y * sp, pw.shape());
           }
           return {dz, dy, dw, dpw};
         });
  save_extra(out, {&weight, &pos_weight});
  return reduce(out, reduction, where);
}

// ---- cross entropy and nll ------------------------------------------------------------------

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options, Where where) {
  constexpr const char* op = "cross_entropy";
  OpScope scope(op, where);
  check_class_input(logits, op);
  detail::check_defined(target, op, "target");
  if (logits.dim() > 2) {
    // (N, C, d1, ..., dk): every position is a sample with its classes along dim 1 (PyTorch's
    // K-dimensional case); the mean runs over all positions (weighted by w[y] for class indices).
    const Shape pos = positions_shape(logits);
    const bool probabilities = target.shape() == logits.shape() && is_floating(target.dtype());
    if (!probabilities && target.shape() != pos)
      detail::raise<ShapeError>(op, fmt::format("target of shape {} does not fit input of shape {}: expected class indices of shape {} "
                                                "or class probabilities of shape {}",
                                                shape_str(target.shape()), shape_str(logits.shape()), shape_str(pos),
                                                shape_str(logits.shape())));
    const Tensor flat_target = probabilities ? classes_last(target, where) : reshape(target, {-1}, where);
    Tensor out = cross_entropy(classes_last(logits, where), flat_target, options, where);
    return options.reduction == Reduction::none ? reshape(out, pos, where) : out;
  }
  const std::int64_t classes = logits.shape().back();
  check_class_weight(options.weight, logits, classes, op);
  const double eps = options.label_smoothing;
  if (!(eps >= 0.0 && eps <= 1.0)) detail::raise<ValueError>(op, fmt::format("label_smoothing must be in [0, 1], got {}", eps));

  if (target.shape() == logits.shape() && is_floating(target.dtype())) {
    // Class probabilities: -Σ_c w_c q_c log_softmax(x)_c with q = (1-ε) target + ε/C; the mean divides
    // by the number of samples (PyTorch).
    if (target.dtype() != logits.dtype())
      detail::raise<DtypeError>(op, fmt::format("class-probability target has dtype {} but input has dtype {}", dtype_name(target.dtype()),
                                                dtype_name(logits.dtype())));
    const Tensor logp = log_softmax(logits, -1, where);
    Tensor q = eps > 0 ? target * (1.0 - eps) + eps / static_cast<double>(classes) : target;
    if (options.weight.defined()) q = q * options.weight;
    const Tensor per = -sum(logp * q, {-1});
    if (options.reduction != Reduction::mean) return reduce(per, options.reduction, where);
    const std::int64_t n = logits.dim() == 2 ? logits.shape()[0] : 1;
    return n > 0 ? sum(per) * (1.0 / static_cast<double>(n)) : sum(per) + kNaN;
  }

  const Shape expect = index_shape(logits);
  if (target.shape() != expect)
    detail::raise<ShapeError>(op, fmt::format("target of shape {} does not fit input of shape {}: expected class indices of shape {} or "
                                              "class probabilities of shape {}",
                                              shape_str(target.shape()), shape_str(logits.shape()), shape_str(expect),
                                              shape_str(logits.shape())));
  const TargetsPtr t = class_targets(target, classes, options.weight, eps, options.ignore_index, op);
  const Tensor x = logits.dim() == 2 ? logits : unsqueeze(logits, 0, where);
  Tensor out = ce_indices(x, t, options.reduction, where);
  if (logits.dim() == 1 && options.reduction == Reduction::none) out = reshape(out, {}, where);
  return out;
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction, const Tensor& weight, std::int64_t ignore_index,
                Where where) {
  constexpr const char* op = "nll_loss";
  OpScope scope(op, where);
  check_class_input(log_probs, op);
  detail::check_defined(target, op, "target");
  if (log_probs.dim() > 2) {  // (N, C, d1, ..., dk) with targets (N, d1, ..., dk), as in cross_entropy
    const Shape pos = positions_shape(log_probs);
    if (target.shape() != pos)
      detail::raise<ShapeError>(op, fmt::format("target of shape {} does not fit input of shape {}: expected class indices of shape {}",
                                                shape_str(target.shape()), shape_str(log_probs.shape()), shape_str(pos)));
    Tensor out = nll_loss(classes_last(log_probs, where), reshape(target, {-1}, where), reduction, weight, ignore_index, where);
    return reduction == Reduction::none ? reshape(out, pos, where) : out;
  }
  const std::int64_t classes = log_probs.shape().back();
  check_class_weight(weight, log_probs, classes, op);
  const Shape expect = index_shape(log_probs);
  if (target.shape() != expect)
    detail::raise<ShapeError>(op, fmt::format("target of shape {} does not fit input of shape {}: expected class indices of shape {}",
                                              shape_str(target.shape()), shape_str(log_probs.shape()), shape_str(expect)));
  const TargetsPtr t = class_targets(target, classes, weight, 0.0, ignore_index, op);
  // loss_i = -w[y_i] logp[i, y_i]; the mean divides by Σ w[y_i] over the rows that are not ignored.
  double denom = 1.0;
  if (reduction == Reduction::mean) denom = t->label_weight_sum();
  auto coef = std::make_shared<std::vector<double>>(t->labels.size());
  for (std::size_t i = 0; i < coef->size(); ++i) (*coef)[i] = t->ignored(i) || denom == 0 ? 0.0 : -t->w(t->labels[i]) / denom;
  const Tensor x = log_probs.dim() == 2 ? log_probs : unsqueeze(log_probs, 0, where);
  const Tensor per = pick_op(x, t, coef, where);
  switch (reduction) {
    case Reduction::none: return log_probs.dim() == 2 ? per : reshape(per, {}, where);
    case Reduction::sum: return sum(per, {}, false, where);
    case Reduction::mean: break;
  }
  const Tensor total = sum(per, {}, false, where);
  return denom > 0 ? total : add(total, kNaN, where);  // Note [empty mean]
}

}  // namespace xgrad
