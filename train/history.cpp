#include "history.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "../autograd/error.hpp"

namespace xgrad::train {

void History::append(std::int64_t epoch, const Logs& logs) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& item : logs)
    if (!columns_.contains(item.key)) columns_.insert(item.key, std::vector<double>(epochs_.size(), nan));
  epochs_.push_back(epoch);
  for (auto& column : columns_) {
    const double* v = logs.find(column.key);
    column.value.push_back(v != nullptr ? *v : nan);
  }
}

const std::vector<double>& History::at(std::string_view name) const {
  if (const auto* column = columns_.find(name)) return *column;
  throw IndexError(fmt::format("History: no column '{}' (columns: {})", name,
                               columns_.empty() ? std::string("none") : fmt::format("{}", fmt::join(columns_.keys(), ", "))));
}

const std::vector<double>& History::val_metric(std::string_view name) const { return at("val_" + std::string(name)); }

Logs History::row(std::size_t i) const {
  if (i >= epochs_.size())
    throw IndexError(fmt::format("History::row: index {} out of range for {} recorded epochs", i, epochs_.size()));
  Logs out;
  for (const auto& column : columns_) out.insert(column.key, column.value[i]);
  return out;
}

namespace {
std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);  // shortest round-trip representation
}
}  // namespace

std::string History::to_csv() const {
  std::string out = "epoch";
  for (const auto& column : columns_) {
    out += ',';
    out += column.key;
  }
  out += '\n';
  for (std::size_t i = 0; i < epochs_.size(); ++i) {
    out += std::to_string(epochs_[i]);
    for (const auto& column : columns_) {
      out += ',';
      out += csv_number(column.value[i]);
    }
    out += '\n';
  }
  return out;
}

void History::to_csv(const std::string& path) const {
  const std::string text = to_csv();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    const int e = errno;
    throw IOError(fmt::format("History::to_csv: cannot open '{}' for writing: {}", path, std::strerror(e)));
  }
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  f.close();
  if (!f) throw IOError(fmt::format("History::to_csv: writing '{}' failed", path));
}

}  // namespace xgrad::train
