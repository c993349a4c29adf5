// View ops: new shape/strides over the same storage, no copy (reshape copies only a
// non-contiguous input).
#include "../detail/checks.hpp"
#include "../detail/record.hpp"
#include "../kernels/elementwise.hpp"
#include "../ops.hpp"

namespace xgrad {

using detail::record;

namespace {

Shape infer_shape(Shape shape, std::int64_t numel, const Shape& from, const char* op) {
  int infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) detail::raise<ShapeError>(op, fmt::format("only one dimension can be -1 in {}", shape_str(shape)));
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      detail::raise<ShapeError>(op, fmt::format("invalid negative dimension in {}", shape_str(shape)));
    }
  }
  Shape known_sizes = shape;
  if (infer >= 0) known_sizes[static_cast<std::size_t>(infer)] = 1;
  const std::int64_t known = shape_numel(known_sizes);  // saturates: never equal to a real numel
  if (known == INT64_MAX)
    detail::raise<ShapeError>(op, fmt::format("cannot reshape a tensor of shape {} ({} elements) into {}: more than 2^63 - 1 elements",
                                              shape_str(from), numel, shape_str(shape)));
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      detail::raise<ShapeError>(op, fmt::format("cannot reshape a tensor of shape {} ({} elements) into {}", shape_str(from), numel,
                                                shape_str(shape)));
    shape[static_cast<std::size_t>(infer)] = numel / known;
  } else if (known != numel) {
    detail::raise<ShapeError>(op, fmt::format("cannot reshape a tensor of shape {} ({} elements) into {} ({} elements)", shape_str(from),
                                              numel, shape_str(shape), known));
  }
  return shape;
}

Tensor record_reshape(Tensor out, const Tensor& x, const char* node, const Where& where) {
  return record(out, node, where, {&x}, {}, [shape = x.shape()](Node&, TensorList& g) -> TensorList { return {reshape(g[0], shape)}; });
}

}  // namespace

Tensor view(const Tensor& x, Shape shape, Where where) {
  OpScope scope("view", where);
  detail::check_defined(x, "view");
  shape = infer_shape(std::move(shape), x.numel(), x.shape(), "view");
  if (!x.is_contiguous())
    detail::raise<ShapeError>("view", fmt::format("the input of shape {} with strides {} is not contiguous; use reshape() or "
                                                  "contiguous() first",
                                                  shape_str(x.shape()), shape_str(x.strides())));
  Tensor out = make_view(x, shape, contiguous_strides(shape), x.impl()->offset);
  return record_reshape(std::move(out), x, "ViewBackward", where);
}

Tensor reshape(const Tensor& x, Shape shape, Where where) {
  OpScope scope("reshape", where);
  detail::check_defined(x, "reshape");
  shape = infer_shape(std::move(shape), x.numel(), x.shape(), "reshape");
  const Tensor src = x.is_contiguous() ? x : kernels::contiguous(x);
  Tensor out = make_view(src, shape, contiguous_strides(shape), src.impl()->offset);
  return record_reshape(std::move(out), x, "ReshapeBackward", where);
}

Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim, Where where) {
  OpScope scope("flatten", where);
  detail::check_defined(x, "flatten");
  if (x.dim() == 0) return reshape(x, {1}, where);
  const auto s = wrap_dim(start_dim, x.dim(), "flatten"), e = wrap_dim(end_dim, x.dim(), "flatten");
  if (s > e) detail::raise<IndexError>("flatten", fmt::format("start_dim {} comes after end_dim {}", start_dim, end_dim));
  Shape shape;
  for (std::int64_t i = 0; i < s; ++i) shape.push_back(x.shape()[static_cast<std::size_t>(i)]);
  std::int64_t merged = 1;
  for (std::int64_t i = s; i <= e; ++i) merged *= x.shape()[static_cast<std::size_t>(i)];
  shape.push_back(merged);
  for (std::int64_t i = e + 1; i < x.dim(); ++i) shape.push_back(x.shape()[static_cast<std::size_t>(i)]);
  return reshape(x, shape, where);
}

Tensor squeeze(const Tensor& x, std::int64_t dim, Where where) {
  OpScope scope("squeeze", where);
  detail::check_defined(x, "squeeze");
  if (x.dim() == 0) return reshape(x, {}, where);
  const auto d = static_cast<std::size_t>(wrap_dim(dim, x.dim(), "squeeze"));
  if (x.shape()[d] != 1) return reshape(x, x.shape(), where);
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(d));
  strides.erase(strides.begin() + static_cast<std::ptrdiff_t>(d));
  Tensor out = make_view(x, shape, strides, x.impl()->offset);
  return record_reshape(std::move(out), x, "SqueezeBackward", where);
}

Tensor squeeze(const Tensor& x, Where where) {
  OpScope scope("squeeze", where);
  detail::check_defined(x, "squeeze");
  Shape shape;
  Strides strides;
  for (std::size_t i = 0; i < x.shape().size(); ++i)
    if (x.shape()[i] != 1) {
      shape.push_back(x.shape()[i]);
      strides.push_back(x.strides()[i]);
    }
  Tensor out = make_view(x, shape, strides, x.impl()->offset);
  return record_reshape(std::move(out), x, "SqueezeBackward", where);
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim, Where where) {
  OpScope scope("unsqueeze", where);
  detail::check_defined(x, "unsqueeze");
  const auto d = static_cast<std::size_t>(wrap_dim(dim, x.dim() + 1, "unsqueeze"));
  Shape shape = x.shape();
  Strides strides = x.strides();
  const std::int64_t stride = d < shape.size() ? shape[d] * strides[d] : 1;
  shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(d), 1);
  strides.insert(strides.begin() + static_cast<std::ptrdiff_t>(d), stride);
  Tensor out = make_view(x, shape, strides, x.impl()->offset);
  return record_reshape(std::move(out), x, "UnsqueezeBackward", where);
}

Tensor expand(const Tensor& x, Shape shape, Where where) {
  OpScope scope("expand", where);
  detail::check_defined(x, "expand");
  const auto rank = shape.size(), xr = x.shape().size();
  if (rank < xr)
    detail::raise<ShapeError>("expand", fmt::format("cannot expand shape {} to {}: the target has fewer dimensions", shape_str(x.shape()),
                                                    shape_str(shape)));
  Strides strides(rank, 0);
  for (std::size_t i = 0; i < rank; ++i) {
    if (i < rank - xr) {
      if (shape[i] < 0) detail::raise<ShapeError>("expand", fmt::format("-1 is not allowed for a new leading dimension in {}", shape_str(shape)));
      continue;
    }
    const auto xi = i - (rank - xr);
    const auto xs = x.shape()[xi];
    if (shape[i] == -1) shape[i] = xs;
    if (xs == shape[i]) strides[i] = x.strides()[xi];
    else if (xs == 1) strides[i] = 0;
    else
      detail::raise<ShapeError>("expand", fmt::format("cannot expand shape {} to {} (dimension {}: {} vs {})", shape_str(x.shape()),
                                                      shape_str(shape), i, xs, shape[i]));
  }
  if (shape == x.shape()) return x;
  Tensor out = make_view(x, shape, strides, x.impl()->offset);
  return record(out, "ExpandBackward", where, {&x}, {},
                [s = x.shape()](Node&, TensorList& g) -> TensorList { return {detail::sum_to(g[0], s)}; });
}

Tensor broadcast_to(const Tensor& x, Shape shape, Where where) { return expand(x, std::move(shape), where); }

Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1, Where where) {
  OpScope scope("transpose", where);
  detail::check_defined(x, "transpose");
  if (x.dim() == 0) return x;
  const auto a = static_cast<std::size_t>(wrap_dim(dim0, x.dim(), "transpose"));
  const auto b = static_cast<std::size_t>(wrap_dim(dim1, x.dim(), "transpose"));
  Shape shape = x.shape();
  Strides strides = x.strides();
  std::swap(shape[a], shape[b]);
  std::swap(strides[a], strides[b]);
  Tensor out = make_view(x, shape, strides, x.impl()->offset);
  return record(out, "TransposeBackward", where, {&x}, {},
                [dim0, dim1](Node&, TensorList& g) -> TensorList { return {transpose(g[0], dim0, dim1)}; });
}

Tensor t(const Tensor& x, Where where) {
  OpScope scope("t", where);
  detail::check_defined(x, "t");
  if (x.dim() > 2)
    detail::raise<ShapeError>("t", fmt::format("expects a tensor with at most 2 dimensions, got shape {}; use transpose() or permute()",
                                               shape_str(x.shape())));
  if (x.dim() < 2) return x;
  return transpose(x, 0, 1, where);
}

Tensor permute(const Tensor& x, std::vector<std::int64_t> dims, Where where) {
  OpScope scope("permute", where);
  detail::check_defined(x, "permute");
  if (static_cast<std::int64_t>(dims.size()) != x.dim())
    detail::raise<ShapeError>("permute", fmt::format("got {} dims [{}] for a tensor of rank {}", dims.size(), fmt::join(dims, ", "), x.dim()));
  std::vector<std::int64_t> inverse(dims.size(), -1);
  Shape shape(dims.size());
  Strides strides(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const auto d = static_cast<std::size_t>(wrap_dim(dims[i], x.dim(), "permute"));
    if (inverse[d] != -1) detail::raise<ValueError>("permute", fmt::format("dims [{}] repeat dimension {}", fmt::join(dims, ", "), d));
    inverse[d] = static_cast<std::int64_t>(i);
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  Tensor out = make_view(x, shape, strides, x.impl()->offset);
  return record(out, "PermuteBackward", where, {&x}, {},
                [inverse](Node&, TensorList& g) -> TensorList { return {permute(g[0], inverse)}; });
}

}  // namespace xgrad
