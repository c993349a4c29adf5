#include "container.hpp"

#include <cxxabi.h>
#include <fmt/format.h>

#include <cstdlib>
#include <string>

namespace xgrad::nn {

Sequential::Sequential() : Module("Sequential") {}

Sequential::Sequential(const std::vector<ModulePtr>& modules) : Sequential() {
  for (const auto& m : modules) push_back_ptr(m);
}

void Sequential::push_back_ptr(ModulePtr module) {
  if (!module) throw ValueError(fmt::format("Sequential::push_back: module {} is null", modules_.size()));
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
}

const ModulePtr& Sequential::operator[](std::int64_t i) const {
  const auto n = static_cast<std::int64_t>(modules_.size());
  if (i < -n || i >= n)
    throw IndexError(fmt::format("Sequential: index {} is out of range for a Sequential of {} module{}", i, n, n == 1 ? "" : "s"));
  return modules_[static_cast<std::size_t>(i < 0 ? i + n : i)];
}

void Sequential::throw_wrong_type(std::int64_t i, const char* requested) const {
  int status = 0;
  char* raw = abi::__cxa_demangle(requested, nullptr, nullptr, &status);
  const std::string name = (status == 0 && raw) ? raw : requested;
  std::free(raw);
  throw ValueError(fmt::format("Sequential::at: module {} is a {}, not a {}", i, (*this)[i]->type_name(), name));
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (const auto& m : modules_) x = (*m)(x);
  return x;
}

ModuleList::ModuleList() : Module("ModuleList") {}

ModuleList::ModuleList(const std::vector<ModulePtr>& modules) : ModuleList() {
  for (const auto& m : modules) push_back_ptr(m);
}

void ModuleList::push_back_ptr(ModulePtr module) {
  if (!module) throw ValueError(fmt::format("ModuleList::push_back: module {} is null", modules_.size()));
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
}

const ModulePtr& ModuleList::operator[](std::int64_t i) const {
  const auto n = static_cast<std::int64_t>(modules_.size());
  if (i < -n || i >= n)
    throw IndexError(fmt::format("ModuleList: index {} is out of range for a ModuleList of {} module{}", i, n, n == 1 ? "" : "s"));
  return modules_[static_cast<std::size_t>(i < 0 ? i + n : i)];
}

void ModuleList::throw_wrong_type(std::int64_t i, const char* requested) const {
  int status = 0;
  char* raw = abi::__cxa_demangle(requested, nullptr, nullptr, &status);
  const std::string name = (status == 0 && raw) ? raw : requested;
  std::free(raw);
  throw ValueError(fmt::format("ModuleList::at: module {} is a {}, not a {}", i, (*this)[i]->type_name(), name));
}

Tensor ModuleList::forward(const Tensor&) {
  throw ValueError(fmt::format("ModuleList has no forward: iterate over its {} modules in the owning module's forward{}",
                               modules_.size(), OpScope::call_site()));
}

}  // namespace xgrad::nn
