#include "shape.hpp"

#include <fmt/format.h>

#include "error.hpp"

namespace xgrad {

std::int64_t shape_numel(const Shape& shape) noexcept {
  // Saturates instead of overflowing (signed overflow is undefined, and a wrapped product could pass
  // a size check): a shape of more than 2^63 - 1 elements gives INT64_MAX, which no tensor can have.
  std::int64_t n = 1;
  bool zero = false, overflow = false;
  for (auto s : shape) {
    if (s == 0) zero = true;
    if (!overflow && __builtin_mul_overflow(n, s, &n)) overflow = true;
  }
  if (zero) return 0;
  return overflow ? INT64_MAX : n;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides(shape.size());
  std::int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    // Saturate: only an empty tensor (a zero size elsewhere) can have sizes whose product
    // overflows, and its strides never address memory.
    if (__builtin_mul_overflow(s, shape[i], &s)) s = INT64_MAX;
  }
  return strides;
}

std::string shape_str(const Shape& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  if (a == b) return a;
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      detail::raise<ShapeError>(op, fmt::format("shapes {} and {} cannot be broadcast together (dimension {}: {} vs {})",
                                                shape_str(a), shape_str(b), i, da, db));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::int64_t wrap_dim(std::int64_t dim, std::int64_t rank, const char* op) {
  const std::int64_t r = rank == 0 ? 1 : rank;  // a scalar accepts dim 0 and -1
  if (dim < -r || dim >= r)
    detail::raise<IndexError>(op, fmt::format("dimension {} is out of range for a tensor of rank {} (expected in [{}, {}])",
                                              dim, rank, -r, r - 1));
  return dim < 0 ? dim + r : dim;
}

}  // namespace xgrad
