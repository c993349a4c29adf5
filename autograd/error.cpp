#include "error.hpp"

#include <fmt/format.h>

#include <string_view>

namespace xgrad {
namespace {
thread_local const char* t_op = nullptr;
thread_local const Where* t_where = nullptr;
}  // namespace

OpScope::OpScope(const char* op, const Where& where) noexcept : outermost_(t_where == nullptr) {
  if (outermost_) {
    t_op = op;
    t_where = &where;
  }
}

OpScope::~OpScope() {
  if (outermost_) {
    t_op = nullptr;
    t_where = nullptr;
  }
}

std::string format_where(const Where& where) {
  std::string_view file = where.file_name();
  if (auto slash = file.find_last_of('/'); slash != std::string_view::npos) file.remove_prefix(slash + 1);
  return fmt::format("{}:{}", file, where.line());
}

std::string OpScope::call_site() {
  if (t_where == nullptr) return {};
  return fmt::format(" (in {} called at {})", t_op, format_where(*t_where));
}

}  // namespace xgrad
