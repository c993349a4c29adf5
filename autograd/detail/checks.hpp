#pragma once
// Library-internal: argument checks shared by the ops. Each throws with the op's name and the
// offending values (plus the user's call site, through OpScope).

#include <fmt/format.h>

#include "../error.hpp"
#include "../tensor.hpp"

namespace xgrad::detail {

/// The tensor must be defined.
inline void check_defined(const Tensor& t, const char* op, const char* arg = "input") {
  if (!t.defined()) raise<ValueError>(op, fmt::format("argument '{}' is an undefined tensor", arg));
}

/// The tensor must be float32 or float64.
inline void check_floating(const Tensor& t, const char* op, const char* arg = "input") {
  check_defined(t, op, arg);
  if (!is_floating(t.dtype()))
    raise<DtypeError>(op, fmt::format("argument '{}' must be float32 or float64, got {}", arg, dtype_name(t.dtype())));
}

/// Both tensors must have the same dtype.
inline void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dtype() != b.dtype())
    raise<DtypeError>(op, fmt::format("dtype mismatch: {} and {} (convert one with .to(dtype))", dtype_name(a.dtype()),
                                      dtype_name(b.dtype())));
}

/// Defined, floating and of equal dtype.
inline void check_binary(const Tensor& a, const Tensor& b, const char* op) {
  check_floating(a, op, "a");
  check_floating(b, op, "b");
  check_same_dtype(a, b, op);
}

}  // namespace xgrad::detail

#include <algorithm>
#include <vector>

namespace xgrad::detail {

/// Wraps, sorts and de-duplicates reduction dims; empty means all dims. Throws IndexError for an
/// out-of-range dim and ValueError for a repeated one.
inline std::vector<std::int64_t> normalize_dims(const std::vector<std::int64_t>& dims, std::int64_t rank, const char* op) {
  std::vector<std::int64_t> out;
  if (dims.empty()) {
    for (std::int64_t i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (auto d : dims) out.push_back(rank == 0 ? (wrap_dim(d, rank, op), 0) : wrap_dim(d, rank, op));
  std::sort(out.begin(), out.end());
  if (rank == 0) return {};
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    raise<ValueError>(op, fmt::format("dimension list [{}] repeats a dimension", fmt::join(dims, ", ")));
  return out;
}

}  // namespace xgrad::detail
