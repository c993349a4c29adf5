// Text form of tensors: values (summarized beyond 1000 elements), shape, dtype and grad_fn.
#include <fmt/format.h>

#include <ostream>
#include <sstream>

#include "tensor.hpp"

namespace xgrad {
namespace {

constexpr std::int64_t kSummarizeAbove = 1000;
constexpr std::int64_t kEdgeItems = 3;

void print_values(std::string& out, const std::vector<double>& v, const Shape& shape, std::size_t dim, std::int64_t offset,
                  bool is_int, bool summarize, int indent) {
  if (shape.empty()) {
    out += is_int ? fmt::format("{}", static_cast<std::int64_t>(v[0])) : fmt::format("{:.6g}", v[0]);
    return;
  }
  const std::int64_t n = shape[dim];
  std::int64_t inner = 1;
  for (std::size_t k = dim + 1; k < shape.size(); ++k) inner *= shape[k];
  out += '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
      out += "...";
      i = n - kEdgeItems - 1;
      out += dim + 1 == shape.size() ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' ');
      continue;
    }
    if (dim + 1 == shape.size()) {
      const double x = v[static_cast<std::size_t>(offset + i)];
      out += is_int ? fmt::format("{}", static_cast<std::int64_t>(x)) : fmt::format("{:.6g}", x);
    } else {
      print_values(out, v, shape, dim + 1, offset + i * inner, is_int, summarize, indent + 1);
    }
    if (i + 1 < n) out += dim + 1 == shape.size() ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' ');
  }
  out += ']';
}

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  std::string out = "tensor(";
  const std::vector<double> v = t.to_vector<double>();
  print_values(out, v, t.shape(), 0, 0, t.dtype() == kInt64, t.numel() > kSummarizeAbove, 7);
  out += fmt::format(", shape={}, dtype={}", shape_str(t.shape()), dtype_name(t.dtype()));
  if (t.grad_fn()) out += fmt::format(", grad_fn={}", t.grad_fn_name());
  else if (t.requires_grad()) out += ", requires_grad=true";
  out += ')';
  return out;
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

}  // namespace xgrad
