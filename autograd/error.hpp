#pragma once
// Exceptions thrown by xgrad and the call-site tracking that makes their messages point at user code.
//
// Every public op takes a defaulted `Where where = Where::current()` argument. The op opens an
// OpScope; the outermost scope on the thread wins, so an error raised deep inside a composite op
// still names the line of the user's code that called it.

#include <source_location>
#include <stdexcept>
#include <string>

namespace xgrad {

/// The call site of a public op (C++20 source_location, captured by a defaulted argument).
using Where = std::source_location;

/// Base of every xgrad exception.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// Shapes that do not fit the op (broadcasting, matmul, cat, reshape, losses, ...).
class ShapeError : public Error {
 public:
  using Error::Error;
};
/// Mixed or unsupported dtypes.
class DtypeError : public Error {
 public:
  using Error::Error;
};
/// Out-of-range dimensions, indices or class labels.
class IndexError : public Error {
 public:
  using Error::Error;
};
/// Bad argument values (negative probabilities, bad options, ...).
class ValueError : public Error {
 public:
  using Error::Error;
};
/// Misuse of the autograd graph (second backward without retain_graph, in-place change of a saved
/// tensor, backward on a tensor that needs no gradient, ...).
class GraphError : public Error {
 public:
  using Error::Error;
};
/// Files: missing, truncated, corrupted, unwritable.
class IOError : public Error {
 public:
  using Error::Error;
};
/// Anomaly mode found a NaN or Inf.
class AnomalyError : public Error {
 public:
  using Error::Error;
};

/// RAII marker of "a public op is running": records the op name and the user's call site for
/// error messages. Cheap (two thread-local stores); nested scopes keep the outermost call site.
class OpScope {
 public:
  OpScope(const char* op, const Where& where) noexcept;
  ~OpScope();
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

  /// " (called from file:line in function)" for the outermost active scope, or "" when none.
  static std::string call_site();

 private:
  bool outermost_;
};

/// Formats "where" as "file:line" (the file name without its directories).
std::string format_where(const Where& where);

namespace detail {
/// Throws E with "op: message" followed by the outermost call site.
template <class E>
[[noreturn]] void raise(const char* op, const std::string& message) {
  throw E(std::string(op) + ": " + message + OpScope::call_site());
}
}  // namespace detail

}  // namespace xgrad
