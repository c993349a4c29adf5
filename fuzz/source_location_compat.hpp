#pragma once
// std::source_location for clang 14 with libstdc++ 12, used only by the fuzz build.
//
// libstdc++'s <source_location> needs __builtin_source_location, which clang gained in version 15, so
// with clang 14 the header is empty and xgrad (whose ops take `Where where = Where::current()`) does
// not compile. fuzz/CMakeLists.txt force-includes this file (-include) into every translation unit of
// the fuzz build: when the standard library lacks the class, it defines a compatible one from clang's
// __builtin_FILE/LINE/COLUMN/FUNCTION, which report the caller's location when used as default
// arguments, as std::source_location::current() does. current() is constexpr, not consteval: clang
// 14 rejects a consteval function in a default argument.
#include <version>

#if defined(__cplusplus) && !defined(__cpp_lib_source_location)
#include <cstdint>

namespace std {  // NOLINT(cert-dcl58-cpp): stands in for the missing standard class
struct source_location {
  static constexpr source_location current(const char* file = __builtin_FILE(), const char* function = __builtin_FUNCTION(),
                                           unsigned line = __builtin_LINE(), unsigned column = __builtin_COLUMN()) noexcept {
    source_location s;
    s.file_ = file;
    s.function_ = function;
    s.line_ = line;
    s.column_ = column;
    return s;
  }
  constexpr source_location() noexcept = default;
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  constexpr std::uint_least32_t column() const noexcept { return column_; }
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  std::uint_least32_t line_ = 0;
  std::uint_least32_t column_ = 0;
};
}  // namespace std
#endif
