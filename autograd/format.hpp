#pragma once
// fmt support: fmt::format("{}", tensor) prints the same text as operator<<.

#include <fmt/format.h>

#include "tensor.hpp"

template <>
struct fmt::formatter<xgrad::Tensor> : fmt::formatter<std::string> {
  template <class FormatContext>
  auto format(const xgrad::Tensor& t, FormatContext& ctx) const {
    return fmt::formatter<std::string>::format(xgrad::to_string(t), ctx);
  }
};

template <>
struct fmt::formatter<xgrad::Dtype> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(xgrad::Dtype d, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(xgrad::dtype_name(d), ctx);
  }
};
