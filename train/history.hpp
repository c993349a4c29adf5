#pragma once
// Logs and History: the numbers a training run produces, per batch and per epoch.
//
// fit() reports its figures as Logs, a name -> value map that keeps insertion order: "loss", then the
// metrics in the order they were given ("accuracy", ...), then "val_loss" and the "val_" metrics when
// there is validation data, then "lr". The History collects one Logs per epoch (after every callback's
// on_epoch_end, so values a callback adds are recorded too).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../nn/ordered_dict.hpp"

namespace xgrad::train {

/// The figures of one batch or epoch, by name, in a stable order ("loss", metrics, "val_loss",
/// "val_<metric>", "lr"). Callbacks may read them (logs.at("val_loss"), logs.find("accuracy")) and add
/// or change entries (logs.insert_or_assign("my_value", 1.0)).
using Logs = nn::OrderedDict<double>;

/// Per-epoch record of a training run, as returned by fit(): for every epoch that ran, the epoch number
/// (0-based, counting from FitOptions::initial_epoch) and every value of that epoch's Logs.
///
/// Columns are created in order of first appearance. A column missing from some epoch's logs (a value a
/// callback adds only sometimes) holds NaN for that epoch, so every column has size() entries.
class History {
 public:
  /// Appends one epoch: its number and its logs. New names become new columns (NaN for the earlier
  /// epochs); names absent from `logs` get NaN.
  void append(std::int64_t epoch, const Logs& logs);

  /// Number of recorded epochs.
  std::size_t size() const noexcept { return epochs_.size(); }
  /// True before the first epoch ends.
  bool empty() const noexcept { return epochs_.empty(); }
  /// The recorded epoch numbers (0-based; for a resumed run they start at initial_epoch).
  const std::vector<std::int64_t>& epochs() const noexcept { return epochs_; }
  /// The column names in order ("loss", "accuracy", "val_loss", "val_accuracy", "lr", ...).
  std::vector<std::string> keys() const { return columns_.keys(); }
  /// True when a column called `name` exists.
  bool contains(std::string_view name) const { return columns_.contains(name); }
  /// The values of column `name`, one per recorded epoch. IndexError naming the key and listing the
  /// existing columns when there is no such column (e.g. "val_loss" without validation data).
  const std::vector<double>& at(std::string_view name) const;
  /// Same as at(name).
  const std::vector<double>& operator[](std::string_view name) const { return at(name); }
  /// The training loss of every epoch (sample-weighted mean over the epoch's batches).
  const std::vector<double>& loss() const { return at("loss"); }
  /// The validation loss of every epoch (IndexError when fit had no validation data).
  const std::vector<double>& val_loss() const { return at("val_loss"); }
  /// The learning rate of every epoch (parameter group 0, as used by the epoch's last batch).
  const std::vector<double>& lr() const { return at("lr"); }
  /// The training value of metric `name` for every epoch.
  const std::vector<double>& metric(std::string_view name) const { return at(name); }
  /// The validation value of metric `name` ("val_" + name) for every epoch.
  const std::vector<double>& val_metric(std::string_view name) const;
  /// The logs of the i-th recorded epoch (0 <= i < size(), IndexError otherwise), columns in order.
  Logs row(std::size_t i) const;

  /// The CSV text: a header "epoch,<column>,<column>,..." and one line per epoch. Values are written
  /// in the shortest form that reads back to the same double ("0.1", "2.5e-07"), NaN as "nan".
  std::string to_csv() const;
  /// Writes to_csv() to `path` (replacing the file). IOError naming the path when it cannot be written.
  void to_csv(const std::string& path) const;

 private:
  std::vector<std::int64_t> epochs_;
  nn::OrderedDict<std::vector<double>> columns_;
};

}  // namespace xgrad::train
