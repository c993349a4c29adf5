#include "container.hpp"

#include <cxxabi.h>
#include <fmt/format.h>

#include <cstdlib>
#include <string>

namespace xgrad::nn {
namespace {

// Shared by Sequential and ModuleList (`kind` names the container in messages).

void append_child(Module& owner, std::vector<ModulePtr>& modules, ModulePtr module, const char* kind) {
  if (!module) throw ValueError(fmt::format("{}::push_back: module {} is null", kind, modules.size()));
  owner.register_module(std::to_string(modules.size()), module);
  modules.push_back(std::move(module));
}

const ModulePtr& child_at(const std::vector<ModulePtr>& modules, std::int64_t i, const char* kind) {
  const auto n = static_cast<std::int64_t>(modules.size());
  if (i < -n || i >= n)
    throw IndexError(fmt::format("{}: index {} is out of range for a {} of {} module{}", kind, i, kind, n, n == 1 ? "" : "s"));
  return modules[static_cast<std::size_t>(i < 0 ? i + n : i)];
}

[[noreturn]] void throw_not_a(const char* kind, std::int64_t i, const Module& found, const char* requested) {
  int status = 0;
  char* raw = abi::__cxa_demangle(requested, nullptr, nullptr, &status);
  const std::string name = (status == 0 && raw) ? raw : requested;
  std::free(raw);
  throw ValueError(fmt::format("{}::at: module {} is a {}, not a {}", kind, i, found.type_name(), name));
}

}  // namespace

Sequential::Sequential() : Module("Sequential") {}

Sequential::Sequential(const std::vector<ModulePtr>& modules) : Sequential() {
  for (const auto& m : modules) push_back_ptr(m);
}

void Sequential::push_back_ptr(ModulePtr module) { append_child(*this, modules_, std::move(module), "Sequential"); }

const ModulePtr& Sequential::operator[](std::int64_t i) const { return child_at(modules_, i, "Sequential"); }

void Sequential::throw_wrong_type(std::int64_t i, const char* requested) const {
  throw_not_a("Sequential", i, *(*this)[i], requested);
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

void ModuleList::push_back_ptr(ModulePtr module) { append_child(*this, modules_, std::move(module), "ModuleList"); }

const ModulePtr& ModuleList::operator[](std::int64_t i) const { return child_at(modules_, i, "ModuleList"); }

void ModuleList::throw_wrong_type(std::int64_t i, const char* requested) const {
  throw_not_a("ModuleList", i, *(*this)[i], requested);
}

Tensor ModuleList::forward(const Tensor&) {
  throw ValueError(fmt::format("ModuleList has no forward: iterate over its {} modules in the owning module's forward{}",
                               modules_.size(), OpScope::call_site()));
}

}  // namespace xgrad::nn
