// Shape and indexing ops: cat, stack, split, chunk, narrow, slice (strided views), index_select,
// gather, scatter_add, one_hot. Every backward is written with ops of this file, so each is
// differentiable again: a view's gradient places g into zeros (its gradient is the view again),
// index_select's is index_add (whose gradient is index_select), gather's is scatter_add and vice
// versa.
#include <fmt/format.h>

#include <algorithm>

#include "../detail/checks.hpp"
#include "../detail/record.hpp"
#include "../detail/tensor_impl.hpp"
#include "../kernels/elementwise.hpp"
#include "../kernels/index.hpp"
#include "../ops.hpp"

namespace xgrad {

using detail::input;
using detail::record;

namespace {

// record() for a variable number of inputs (cat, stack): one edge per tensor of `inputs`.
template <class F>
Tensor& record_list(Tensor& out, const char* name, const Where& where, const TensorList& inputs, F&& backward) {
  if (AnomalyMode::is_enabled()) detail::check_forward_anomaly(out, name, where);
  if (!GradMode::is_enabled()) return out;
  bool any = false;
  for (const Tensor& t : inputs) any = any || t.requires_grad();
  if (!any) return out;
  auto node = detail::make_pooled<FunctionNode<std::decay_t<F>>>(name, std::forward<F>(backward));
  detail::attach(node, {}, {&out}, {}, where);
  node->next_edges_.reserve(inputs.size());
  for (const Tensor& t : inputs) node->next_edges_.push_back(gradient_edge(t));
  return out;
}

// "[1, 2]": the multi-index of row-major position `flat` in `shape`.
std::string position_str(std::int64_t flat, const Shape& shape) {
  std::vector<std::int64_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return fmt::format("[{}]", fmt::join(idx, ", "));
}

std::int64_t value_at(const Tensor& index, std::int64_t flat) {
  std::int64_t off = 0;
  for (std::size_t d = index.shape().size(); d-- > 0;) {
    off += (flat % index.shape()[d]) * index.strides()[d];
    flat /= index.shape()[d];
  }
  return index.data<std::int64_t>()[off];
}

void check_index_dtype(const Tensor& index, const char* op, const char* arg = "index") {
  detail::check_defined(index, op, arg);
  if (index.dtype() != kInt64)
    detail::raise<DtypeError>(op, fmt::format("argument '{}' must be an int64 tensor, got {} (convert with .to(kInt64))", arg,
                                              dtype_name(index.dtype())));
}

// IndexError naming the first entry of `index` outside [0, size).
void check_index_range(const Tensor& index, std::int64_t size, std::int64_t dim, const char* op) {
  const std::int64_t bad = kernels::first_out_of_range(index, 0, size);
  if (bad < 0) return;
  detail::raise<IndexError>(op, fmt::format("index {} at position {} of the index (shape {}) is out of range for dimension {} of size {} "
                                            "(valid range [0, {}])",
                                            value_at(index, bad), position_str(bad, index.shape()), shape_str(index.shape()), dim, size,
                                            size - 1));
}

void check_not_scalar(const Tensor& x, const char* op) {
  if (x.dim() == 0) detail::raise<ShapeError>(op, "cannot be applied to a 0-dimensional tensor (shape ())");
}

// A view of x taking `len` elements start, start+step, ... along dim (no autograd).
Tensor strided_view(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t len, std::int64_t step) {
  const auto d = static_cast<std::size_t>(dim);
  Shape shape = x.shape();
  Strides strides = x.strides();
  const std::int64_t offset = x.impl()->offset + (len > 0 ? start * strides[d] : 0);
  shape[d] = len;
  strides[d] *= step;
  return make_view(x, std::move(shape), std::move(strides), offset);
}

Tensor view_along(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t len, std::int64_t step, const char* node,
                  const Where& where);

// zeros(shape) with g written at start, start+step, ... along dim: the gradient of a strided view.
// Its own gradient is the same view of the incoming gradient.
Tensor view_along_backward(const Tensor& g, const Shape& shape, std::int64_t dim, std::int64_t start, std::int64_t step) {
  Tensor out = zeros(shape, g.dtype());
  const std::int64_t len = g.shape()[static_cast<std::size_t>(dim)];
  kernels::strided_copy(strided_view(out, dim, start, len, step), g);
  return record(out, "SliceBackwardBackward", Where::current(), {&g}, {}, [dim, start, len, step](Node&, TensorList& gg) -> TensorList {
    return {view_along(gg[0], dim, start, len, step, "SliceBackward", Where::current())};
  });
}

// The recorded strided view behind narrow, slice, split and chunk (arguments already checked).
Tensor view_along(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t len, std::int64_t step, const char* node,
                  const Where& where) {
  Tensor out = strided_view(x, dim, start, len, step);
  return record(out, node, where, {&x}, {}, [shape = x.shape(), dim, start, step](Node&, TensorList& g) -> TensorList {
    return {view_along_backward(g[0], shape, dim, start, step)};
  });
}

// Checks the list of cat/stack: non-empty, defined, one dtype. Returns nothing; throws.
void check_list(const TensorList& tensors, const char* op) {
  if (tensors.empty()) detail::raise<ValueError>(op, "expected a non-empty list of tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) detail::raise<ValueError>(op, fmt::format("tensor {} of the list is undefined", i));
    if (tensors[i].dtype() != tensors[0].dtype())
      detail::raise<DtypeError>(op, fmt::format("tensor {} has dtype {} but tensor 0 has dtype {}; all tensors must have one dtype", i,
                                                dtype_name(tensors[i].dtype()), dtype_name(tensors[0].dtype())));
  }
}

// The concatenation of `parts` (checked) along d into out_shape, recorded against `inputs`; the
// gradient of input i is the slab of g at its position (squeezed along d for stack).
Tensor cat_impl(const TensorList& parts, const TensorList& inputs, std::int64_t d, const Shape& out_shape, bool squeeze_grad,
                const char* node, const Where& where) {
  Tensor out = kernels::cat(parts, d, out_shape);
  if (!is_floating(out.dtype())) return out;
  std::vector<std::int64_t> sizes;
  sizes.reserve(parts.size());
  for (const Tensor& p : parts) sizes.push_back(p.shape()[static_cast<std::size_t>(d)]);
  return record_list(out, node, where, inputs, [d, sizes = std::move(sizes), squeeze_grad](Node& n, TensorList& g) -> TensorList {
    TensorList r(sizes.size());
    std::int64_t at = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (n.needs_input_grad(i)) {
        r[i] = view_along(g[0], d, at, sizes[i], 1, "SliceBackward", Where::current());
        if (squeeze_grad) r[i] = squeeze(r[i], d);
      }
      at += sizes[i];
    }
    return r;
  });
}

// Unchecked, recorded gather and scatter_add: each is the other's gradient.
Tensor scatter_add_impl(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, const Where& where);

Tensor gather_impl(const Tensor& x, std::int64_t dim, const Tensor& index, const Where& where) {
  Tensor out = kernels::gather(x, dim, index);
  return record(out, "GatherBackward", where, {&x}, {input(index)}, [shape = x.shape(), dim](Node& n, TensorList& g) -> TensorList {
    return {scatter_add_impl(zeros(shape, g[0].dtype()), dim, n.saved(0), g[0], Where::current())};
  });
}

Tensor scatter_add_impl(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, const Where& where) {
  Tensor out = kernels::contiguous(x, /*force=*/true);
  kernels::scatter_add_inplace(out, dim, index, src);
  return record(out, "ScatterAddBackward", where, {&x, &src}, {input(index)}, [dim](Node& n, TensorList& g) -> TensorList {
    return {n.needs_input_grad(0) ? g[0] : Tensor(), n.needs_input_grad(1) ? gather_impl(g[0], dim, n.saved(0), Where::current()) : Tensor()};
  });
}

// zeros(shape) + index_add of g along dim: the gradient of index_select (its gradient is index_select).
Tensor index_select_backward(const Tensor& g, const Shape& shape, std::int64_t dim, const Tensor& index) {
  Tensor out = zeros(shape, g.dtype());
  kernels::index_add_inplace(out, dim, index, g);
  return record(out, "IndexAddBackward", Where::current(), {&g}, {input(index)}, [dim](Node& n, TensorList& gg) -> TensorList {
    return {index_select(gg[0], dim, n.saved(0))};
  });
}

}  // namespace

Tensor cat(const TensorList& tensors, std::int64_t dim, Where where) {
  OpScope scope("cat", where);
  check_list(tensors, "cat");
  const Tensor& first = tensors[0];
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].dim() == 0)
      detail::raise<ShapeError>("cat", fmt::format("tensor {} is 0-dimensional and cannot be concatenated (use stack)", i));
  const auto d = wrap_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  out_shape[static_cast<std::size_t>(d)] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Shape& s = tensors[i].shape();
    bool ok = s.size() == first.shape().size();
    for (std::size_t k = 0; ok && k < s.size(); ++k) ok = static_cast<std::int64_t>(k) == d || s[k] == first.shape()[k];
    if (!ok)
      detail::raise<ShapeError>("cat", fmt::format("tensor {} has shape {} but tensor 0 has shape {}: sizes must match except in "
                                                   "dimension {}",
                                                   i, shape_str(s), shape_str(first.shape()), d));
    out_shape[static_cast<std::size_t>(d)] += s[static_cast<std::size_t>(d)];
  }
  return cat_impl(tensors, tensors, d, out_shape, false, "CatBackward", where);
}

Tensor stack(const TensorList& tensors, std::int64_t dim, Where where) {
  OpScope scope("stack", where);
  check_list(tensors, "stack");
  const Shape& shape = tensors[0].shape();
  for (std::size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].shape() != shape)
      detail::raise<ShapeError>("stack", fmt::format("tensor {} has shape {} but tensor 0 has shape {}: stack needs equal shapes", i,
                                                     shape_str(tensors[i].shape()), shape_str(shape)));
  const auto d = wrap_dim(dim, static_cast<std::int64_t>(shape.size()) + 1, "stack");
  // each tensor as a view with a size-1 dimension inserted at d, concatenated along d
  TensorList parts;
  parts.reserve(tensors.size());
  for (const Tensor& t : tensors) {
    Shape s = t.shape();
    Strides st = t.strides();
    s.insert(s.begin() + d, 1);
    st.insert(st.begin() + d, 1);
    parts.push_back(make_view(t, std::move(s), std::move(st), t.impl()->offset));
  }
  Shape out_shape = shape;
  out_shape.insert(out_shape.begin() + d, static_cast<std::int64_t>(tensors.size()));
  return cat_impl(parts, tensors, d, out_shape, true, "StackBackward", where);
}

Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length, Where where) {
  OpScope scope("narrow", where);
  detail::check_defined(x, "narrow");
  check_not_scalar(x, "narrow");
  const auto d = wrap_dim(dim, x.dim(), "narrow");
  const std::int64_t size = x.shape()[static_cast<std::size_t>(d)];
  if (start < -size || start > size)
    detail::raise<IndexError>("narrow", fmt::format("start {} is out of range for dimension {} of size {} (valid range [{}, {}])", start, d,
                                                    size, -size, size));
  const std::int64_t s = start < 0 ? start + size : start;
  if (length < 0) detail::raise<IndexError>("narrow", fmt::format("length {} is negative", length));
  if (s + length > size)
    detail::raise<IndexError>("narrow", fmt::format("start {} + length {} exceeds dimension {} of size {} (length must be in [0, {}])",
                                                    start, length, d, size, size - s));
  return view_along(x, d, s, length, 1, "NarrowBackward", where);
}

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step, Where where) {
  OpScope scope("slice", where);
  detail::check_defined(x, "slice");
  check_not_scalar(x, "slice");
  const auto d = wrap_dim(dim, x.dim(), "slice");
  if (step <= 0) detail::raise<ValueError>("slice", fmt::format("step must be positive, got {}", step));
  const std::int64_t size = x.shape()[static_cast<std::size_t>(d)];
  auto clamp_index = [size](std::int64_t i) { return std::clamp(i < 0 ? i + size : i, std::int64_t{0}, size); };
  const std::int64_t s = clamp_index(start), e = clamp_index(end);
  const std::int64_t len = e > s ? 1 + (e - s - 1) / step : 0;
  return view_along(x, d, s, len, step, "SliceBackward", where);
}

TensorList split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim, Where where) {
  OpScope scope("split", where);
  detail::check_defined(x, "split");
  check_not_scalar(x, "split");
  const auto d = wrap_dim(dim, x.dim(), "split");
  const std::int64_t size = x.shape()[static_cast<std::size_t>(d)];
  std::int64_t total = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0) detail::raise<ValueError>("split", fmt::format("split size {} (entry {} of [{}]) is negative", sizes[i], i, fmt::join(sizes, ", ")));
    total += sizes[i];
  }
  if (total != size)
    detail::raise<ShapeError>("split", fmt::format("split sizes [{}] add up to {}, but dimension {} of the input (shape {}) has size {}",
                                                   fmt::join(sizes, ", "), total, d, shape_str(x.shape()), size));
  TensorList out;
  out.reserve(sizes.size());
  std::int64_t at = 0;
  for (auto s : sizes) {
    out.push_back(strided_view(x, d, at, s, 1));
    at += s;
  }
  if (AnomalyMode::is_enabled())
    for (const Tensor& o : out) detail::check_forward_anomaly(o, "SplitBackward", where);
  if (!detail::should_record({&x})) return out;
  // One node with one output per piece; its backward concatenates the pieces' gradients (the
  // engine passes zeros for pieces that got none), so backward costs one pass over x's size.
  auto backward = [d](Node&, TensorList& g) -> TensorList { return {cat(g, d)}; };
  auto node = detail::make_pooled<FunctionNode<decltype(backward)>>("SplitBackward", std::move(backward));
  detail::attach(node, {&x}, {}, {}, where);
  node->outputs_.reserve(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    TensorImpl& o = *out[i].impl();
    node->outputs_.push_back({o.shape, o.dtype});
    o.grad_fn = node;
    o.output_nr = static_cast<std::uint32_t>(i);
    o.requires_grad = true;
  }
  return out;
}

TensorList split(const Tensor& x, std::int64_t split_size, std::int64_t dim, Where where) {
  OpScope scope("split", where);
  detail::check_defined(x, "split");
  check_not_scalar(x, "split");
  const auto d = wrap_dim(dim, x.dim(), "split");
  const std::int64_t size = x.shape()[static_cast<std::size_t>(d)];
  if (split_size < 0 || (split_size == 0 && size != 0))
    detail::raise<ValueError>("split", fmt::format("split_size must be positive, got {} (dimension {} has size {})", split_size, d, size));
  const std::int64_t pieces = size == 0 ? 1 : 1 + (size - 1) / split_size;
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(pieces), split_size);
  sizes.back() = size - split_size * (pieces - 1);
  return split(x, sizes, d, where);
}

TensorList chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim, Where where) {
  OpScope scope("chunk", where);
  detail::check_defined(x, "chunk");
  check_not_scalar(x, "chunk");
  if (chunks <= 0) detail::raise<ValueError>("chunk", fmt::format("number of chunks must be positive, got {}", chunks));
  const auto d = wrap_dim(dim, x.dim(), "chunk");
  const std::int64_t size = x.shape()[static_cast<std::size_t>(d)];
  if (size == 0) return split(x, std::vector<std::int64_t>(static_cast<std::size_t>(chunks), 0), d, where);
  return split(x, 1 + (size - 1) / chunks, d, where);
}

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index, Where where) {
  OpScope scope("index_select", where);
  detail::check_defined(x, "index_select");
  check_index_dtype(index, "index_select");
  if (index.dim() > 1)
    detail::raise<ShapeError>("index_select", fmt::format("index must be 1-D, got shape {}", shape_str(index.shape())));
  const auto d = wrap_dim(dim, x.dim(), "index_select");
  if (x.dim() == 0 && index.numel() != 1)
    detail::raise<ShapeError>("index_select", fmt::format("a 0-dimensional input needs an index of one element, got shape {}",
                                                          shape_str(index.shape())));
  const std::int64_t size = x.dim() == 0 ? 1 : x.shape()[static_cast<std::size_t>(d)];
  check_index_range(index, size, d, "index_select");
  Tensor out = kernels::index_select(x, d, index);
  return record(out, "IndexSelectBackward", where, {&x}, {input(index)}, [shape = x.shape(), d](Node& n, TensorList& g) -> TensorList {
    return {index_select_backward(g[0], shape, d, n.saved(0))};
  });
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index, Where where) {
  OpScope scope("gather", where);
  detail::check_defined(x, "gather");
  check_index_dtype(index, "gather");
  const auto d = wrap_dim(dim, x.dim(), "gather");
  if (index.dim() != x.dim())
    detail::raise<ShapeError>("gather", fmt::format("index of shape {} must have the rank of the input of shape {}", shape_str(index.shape()),
                                                    shape_str(x.shape())));
  for (std::int64_t k = 0; k < x.dim(); ++k)
    if (k != d && index.shape()[static_cast<std::size_t>(k)] > x.shape()[static_cast<std::size_t>(k)])
      detail::raise<ShapeError>("gather", fmt::format("index of shape {} is larger than the input of shape {} in dimension {} ({} > {})",
                                                      shape_str(index.shape()), shape_str(x.shape()), k,
                                                      index.shape()[static_cast<std::size_t>(k)], x.shape()[static_cast<std::size_t>(k)]));
  const std::int64_t size = x.dim() == 0 ? 1 : x.shape()[static_cast<std::size_t>(d)];
  check_index_range(index, size, d, "gather");
  return gather_impl(x, d, index, where);
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, Where where) {
  OpScope scope("scatter_add", where);
  detail::check_defined(x, "scatter_add", "input");
  detail::check_defined(src, "scatter_add", "src");
  detail::check_same_dtype(x, src, "scatter_add");
  check_index_dtype(index, "scatter_add");
  const auto d = wrap_dim(dim, x.dim(), "scatter_add");
  if (index.dim() != x.dim() || src.dim() != x.dim())
    detail::raise<ShapeError>("scatter_add", fmt::format("input {}, index {} and src {} must have the same rank", shape_str(x.shape()),
                                                         shape_str(index.shape()), shape_str(src.shape())));
  for (std::int64_t k = 0; k < x.dim(); ++k) {
    const auto ku = static_cast<std::size_t>(k);
    if (index.shape()[ku] > src.shape()[ku] || (k != d && index.shape()[ku] > x.shape()[ku]))
      detail::raise<ShapeError>("scatter_add", fmt::format("index of shape {} is larger than src of shape {} or than the input of shape {} "
                                                           "in dimension {}",
                                                           shape_str(index.shape()), shape_str(src.shape()), shape_str(x.shape()), k));
  }
  const std::int64_t size = x.dim() == 0 ? 1 : x.shape()[static_cast<std::size_t>(d)];
  check_index_range(index, size, d, "scatter_add");
  // only src's leading block of index's shape is used: narrow it (a differentiable view)
  Tensor used = src;
  for (std::int64_t k = 0; k < src.dim(); ++k)
    if (src.shape()[static_cast<std::size_t>(k)] != index.shape()[static_cast<std::size_t>(k)])
      used = view_along(used, k, 0, index.shape()[static_cast<std::size_t>(k)], 1, "NarrowBackward", where);
  return scatter_add_impl(x, d, index, used, where);
}

Tensor one_hot(const Tensor& labels, std::int64_t num_classes, Dtype dtype, Where where) {
  OpScope scope("one_hot", where);
  check_index_dtype(labels, "one_hot", "labels");
  if (num_classes <= 0) detail::raise<ValueError>("one_hot", fmt::format("num_classes must be positive, got {}", num_classes));
  const std::int64_t bad = kernels::first_out_of_range(labels, 0, num_classes);
  if (bad >= 0)
    detail::raise<IndexError>("one_hot", fmt::format("label {} at position {} of the labels (shape {}) is outside [0, {}) (num_classes {})",
                                                     value_at(labels, bad), position_str(bad, labels.shape()), shape_str(labels.shape()),
                                                     num_classes, num_classes));
  return kernels::one_hot(labels, num_classes, dtype);
}

}  // namespace xgrad
