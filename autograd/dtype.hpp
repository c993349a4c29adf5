#pragma once
// Runtime element types of xgrad tensors.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace xgrad {

/// Element type of a tensor, chosen at run time (like LibTorch's ScalarType).
/// float32 is the default; gradcheck works in float64. int64 holds indices and class labels
/// (argmax, gather/index_select indices, cross_entropy targets); it never requires grad and math
/// ops reject it with a DtypeError.
enum class Dtype : unsigned char { float32, float64, int64 };

inline constexpr Dtype kFloat32 = Dtype::float32;
inline constexpr Dtype kFloat64 = Dtype::float64;
inline constexpr Dtype kInt64 = Dtype::int64;

/// "float32", "float64" or "int64".
constexpr std::string_view dtype_name(Dtype d) noexcept {
  return d == Dtype::float32 ? "float32" : d == Dtype::float64 ? "float64" : "int64";
}

/// Bytes per element: 4 or 8.
constexpr std::size_t dtype_size(Dtype d) noexcept { return d == Dtype::float32 ? 4 : 8; }

/// float32 or float64.
constexpr bool is_floating(Dtype d) noexcept { return d != Dtype::int64; }

/// The Dtype of a C++ element type (float or double).
template <class T>
constexpr Dtype dtype_of() noexcept;
template <>
constexpr Dtype dtype_of<float>() noexcept { return Dtype::float32; }
template <>
constexpr Dtype dtype_of<double>() noexcept { return Dtype::float64; }
template <>
constexpr Dtype dtype_of<std::int64_t>() noexcept { return Dtype::int64; }

/// Calls `f(T{})` with T = float or double according to `d` (int64 must be rejected before).
template <class F>
decltype(auto) dispatch_dtype(Dtype d, F&& f) {
  if (d == Dtype::float32) return f(float{});
  return f(double{});
}

/// Calls `f(T{})` with T = float, double or std::int64_t according to `d`.
template <class F>
decltype(auto) dispatch_all(Dtype d, F&& f) {
  if (d == Dtype::float32) return f(float{});
  if (d == Dtype::float64) return f(double{});
  return f(std::int64_t{});
}

}  // namespace xgrad
