// Indexing kernels as raw loops. Every kernel walks one shape with an odometer that keeps one
// element offset per operand (Note [walk]), so strided inputs are read in place, without a copy.
#include "index.hpp"

#include <array>
#include <cstring>
#include <vector>

#include "../detail/tensor_impl.hpp"
#include "elementwise.hpp"

namespace xgrad::kernels {
namespace {

// Note [walk]
// walk(shape, {strides_0, ..., strides_K-1}, f) calls f(offsets) once per element of `shape`, in
// row-major order, where offsets[k] = Σ_d index[d] * strides_k[d]. The innermost dimension is a plain
// loop; the odometer only runs once per row. A stride of 0 makes an operand ignore a dimension,
// which is how the gather-style kernels read the index (stride only along `dim`) or drop the
// coordinate that the index replaces.
template <std::size_t K, class F>
void walk(const Shape& shape, const std::array<Strides, K>& st, F&& f) {
  if (shape_numel(shape) == 0) return;
  std::array<std::int64_t, K> off{};
  const std::size_t rank = shape.size();
  if (rank == 0) {
    f(off);
    return;
  }
  std::array<std::int64_t, K> last{};
  for (std::size_t k = 0; k < K; ++k) last[k] = st[k][rank - 1];
  const std::int64_t n_last = shape[rank - 1];
  std::vector<std::int64_t> idx(rank, 0);
  for (;;) {
    std::array<std::int64_t, K> o = off;
    for (std::int64_t i = 0; i < n_last; ++i) {
      f(o);
      for (std::size_t k = 0; k < K; ++k) o[k] += last[k];
    }
    std::size_t d = rank - 1;
    for (;;) {
      if (d == 0) return;
      --d;
      if (++idx[d] < shape[d]) {
        for (std::size_t k = 0; k < K; ++k) off[k] += st[k][d];
        break;
      }
      for (std::size_t k = 0; k < K; ++k) off[k] -= st[k][d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

template <class T>
T* ptr(const Tensor& t) {
  return static_cast<T*>(t.impl()->data_ptr());
}

// `strides` with the entry of `dim` set to 0 (rank 0: unchanged).
Strides drop_dim(Strides strides, std::int64_t dim) {
  if (!strides.empty()) strides[static_cast<std::size_t>(dim)] = 0;
  return strides;
}

// The stride of `dim` (0 for a 0-d tensor, whose only valid index is 0).
std::int64_t dim_stride(const Tensor& t, std::int64_t dim) {
  return t.dim() == 0 ? 0 : t.strides()[static_cast<std::size_t>(dim)];
}

// Strides that read a 1-D index along `dim` of a tensor of rank `rank` (0 elsewhere).
Strides index_along(const Tensor& index, std::int64_t dim, std::size_t rank) {
  Strides s(rank, 0);
  if (rank > 0) s[static_cast<std::size_t>(dim)] = index.dim() == 0 ? 0 : index.strides()[0];
  return s;
}

}  // namespace

void strided_copy(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  dispatch_all(dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* pd = ptr<T>(dst);
    const T* ps = ptr<T>(src);
    if (dst.is_contiguous() && src.is_contiguous()) {
      std::memcpy(pd, ps, static_cast<std::size_t>(dst.numel()) * sizeof(T));
      return;
    }
    walk<2>(dst.shape(), {dst.strides(), src.strides()}, [&](const std::array<std::int64_t, 2>& o) { pd[o[0]] = ps[o[1]]; });
  });
}

Tensor cat(const TensorList& xs, std::int64_t dim, const Shape& out_shape) {
  Tensor out = empty(out_shape, xs.front().dtype());
  if (out.numel() == 0) return out;
  const auto d = static_cast<std::size_t>(dim);
  std::int64_t outer = 1, inner = 1;
  for (std::size_t i = 0; i < d; ++i) outer *= out_shape[i];
  for (std::size_t i = d + 1; i < out_shape.size(); ++i) inner *= out_shape[i];
  const std::int64_t row = out_shape[d] * inner;  // elements of one outer row of the output
  std::int64_t at = 0;                            // running offset along dim
  for (const Tensor& x : xs) {
    const std::int64_t len = x.shape()[d];
    if (len > 0 && x.numel() > 0) {
      dispatch_all(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* po = ptr<T>(out) + at * inner;
        const T* px = ptr<T>(x);
        const std::int64_t block = len * inner;
        if (x.is_contiguous()) {
          for (std::int64_t o = 0; o < outer; ++o)
            std::memcpy(po + o * row, px + o * block, static_cast<std::size_t>(block) * sizeof(T));
        } else {
          Strides dst_strides = out.strides();
          const Tensor dst = make_view(out, x.shape(), std::move(dst_strides), out.impl()->offset + at * inner);
          strided_copy(dst, x);
        }
      });
    }
    at += len;
  }
  return out;
}

std::int64_t first_out_of_range(const Tensor& index, std::int64_t lo, std::int64_t hi) {
  const std::int64_t* p = ptr<std::int64_t>(index);
  if (index.is_contiguous()) {
    for (std::int64_t k = 0; k < index.numel(); ++k)
      if (p[k] < lo || p[k] >= hi) return k;
    return -1;
  }
  std::int64_t k = 0, bad = -1;
  walk<1>(index.shape(), {index.strides()}, [&](const std::array<std::int64_t, 1>& o) {
    if (bad < 0 && (p[o[0]] < lo || p[o[0]] >= hi)) bad = k;
    ++k;
  });
  return bad;
}

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  Shape shape = x.shape();
  if (!shape.empty()) shape[static_cast<std::size_t>(dim)] = index.numel();
  Tensor out = empty(shape, x.dtype());
  if (out.numel() == 0) return out;
  const std::int64_t* pi = ptr<std::int64_t>(index);
  const std::int64_t istride = index.dim() == 0 ? 0 : index.strides()[0];
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = ptr<T>(out);
    const T* px = ptr<T>(x);
    if (x.is_contiguous() && !shape.empty()) {
      // rows of `inner` contiguous elements copied whole
      const auto d = static_cast<std::size_t>(dim);
      std::int64_t outer = 1, inner = 1;
      for (std::size_t i = 0; i < d; ++i) outer *= shape[i];
      for (std::size_t i = d + 1; i < shape.size(); ++i) inner *= shape[i];
      const std::int64_t n = x.shape()[d], k = shape[d];
      for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t j = 0; j < k; ++j)
          std::memcpy(po + (o * k + j) * inner, px + (o * n + pi[j * istride]) * inner, static_cast<std::size_t>(inner) * sizeof(T));
      return;
    }
    const std::int64_t xs = dim_stride(x, dim);
    walk<3>(shape, {out.strides(), drop_dim(x.strides(), dim), index_along(index, dim, shape.size())},
            [&](const std::array<std::int64_t, 3>& o) { po[o[0]] = px[o[1] + pi[o[2]] * xs]; });
  });
  return out;
}

void index_add_inplace(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src) {
  if (src.numel() == 0) return;
  const std::int64_t* pi = ptr<std::int64_t>(index);
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = ptr<T>(out);
    const T* ps = ptr<T>(src);
    const std::int64_t os = dim_stride(out, dim);
    walk<3>(src.shape(), {drop_dim(out.strides(), dim), src.strides(), index_along(index, dim, src.shape().size())},
            [&](const std::array<std::int64_t, 3>& o) { po[o[0] + pi[o[2]] * os] += ps[o[1]]; });
  });
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  Tensor out = empty(index.shape(), x.dtype());
  if (out.numel() == 0) return out;
  const std::int64_t* pi = ptr<std::int64_t>(index);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = ptr<T>(out);
    const T* px = ptr<T>(x);
    const std::int64_t xs = dim_stride(x, dim);
    walk<3>(index.shape(), {out.strides(), drop_dim(x.strides(), dim), index.strides()},
            [&](const std::array<std::int64_t, 3>& o) { po[o[0]] = px[o[1] + pi[o[2]] * xs]; });
  });
  return out;
}

void scatter_add_inplace(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src) {
  if (index.numel() == 0) return;
  const std::int64_t* pi = ptr<std::int64_t>(index);
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = ptr<T>(out);
    const T* ps = ptr<T>(src);
    const std::int64_t os = dim_stride(out, dim);
    walk<3>(index.shape(), {drop_dim(out.strides(), dim), src.strides(), index.strides()},
            [&](const std::array<std::int64_t, 3>& o) { po[o[0] + pi[o[2]] * os] += ps[o[1]]; });
  });
}

Tensor one_hot(const Tensor& labels, std::int64_t num_classes, Dtype dtype) {
  Shape shape = labels.shape();
  shape.push_back(num_classes);
  Tensor out = empty(shape, dtype);
  fill(out, 0.0);
  if (out.numel() == 0) return out;
  const Tensor lc = contiguous(labels);
  const std::int64_t* pl = ptr<std::int64_t>(lc);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* po = ptr<T>(out);
    for (std::int64_t i = 0, n_ = lc.numel(); i < n_; ++i) po[i * num_classes + pl[i]] = T(1);
  });
  return out;
}

}  // namespace xgrad::kernels
