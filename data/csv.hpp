#pragma once
// Numeric CSV files (plain or gzip-compressed) into feature and target tensors.
//
// Recipes for the files shipped with scikit-learn (sklearn/datasets/data/):
//   iris.csv, breast_cancer.csv, wine_data.csv: the first line is "n_samples,n_features,class
//     names..." (not column names), the label is the last column. Use load_sklearn_csv(path), which
//     checks the counts and returns the class names, or read_csv(path, {.has_header = false,
//     .skip_rows = 1}).
//   diabetes_data_raw.csv.gz: space-separated, no header, 10 features; diabetes_target.csv.gz: one
//     column. read_csv(path, {.has_header = false, .target_column = ColumnRef::none(), .delimiter =
//     ' '}) gives the (442, 10) features; the target file with target_column = 0.
//   boston_house_prices.csv: sklearn counts on line 1, quoted names on line 2:
//     read_csv(path, {.skip_rows = 1, .target_column = "MEDV"}).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../autograd/tensor.hpp"

namespace xgrad::data {

/// Names a CSV column: by index (0-based; negative counts from the end, -1 = last), by name (a
/// header name, or "column_<i>" when the file has no header), or none() (no target column).
class ColumnRef {
 public:
  /// Column by 0-based index (negative from the end).
  ColumnRef(std::int64_t index) : index_(index) {}  // NOLINT: implicit on purpose
  /// Column by 0-based index (negative from the end).
  ColumnRef(int index) : index_(index) {}  // NOLINT: implicit on purpose
  /// Column by name.
  ColumnRef(std::string name) : name_(std::move(name)), by_name_(true) {}  // NOLINT: implicit on purpose
  /// Column by name.
  ColumnRef(const char* name) : name_(name), by_name_(true) {}  // NOLINT: implicit on purpose
  /// No target: every column is a feature and CsvData::target stays undefined.
  static ColumnRef none() {
    ColumnRef r(0);
    r.none_ = true;
    return r;
  }
  /// True for none().
  bool is_none() const noexcept { return none_; }
  /// True when the column is given by name.
  bool by_name() const noexcept { return by_name_; }
  /// The index (meaningful when !by_name()).
  std::int64_t index() const noexcept { return index_; }
  /// The name (meaningful when by_name()).
  const std::string& name() const noexcept { return name_; }

 private:
  std::int64_t index_ = -1;
  std::string name_;
  bool by_name_ = false;
  bool none_ = false;
};

/// Options of read_csv.
struct CsvOptions {
  /// The first line read (after skip_rows) holds column names. Without a header the columns are
  /// named "column_0", "column_1", ...
  bool has_header = true;
  /// Lines skipped at the top of the file before the header or the data (blank lines included).
  std::int64_t skip_rows = 0;
  /// The column that becomes the target (default: the last one); the others become features in
  /// file order.
  ColumnRef target_column = -1;
  /// Field separator. ' ' means "any run of spaces and tabs" (whitespace-separated files).
  char delimiter = ',';
  /// dtype of the features: float32 or float64.
  Dtype feature_dtype = kFloat32;
  /// dtype of the target. Unset = automatic: int64 when every target cell is a whole number (class
  /// labels, but also whole-number regression targets: set float32 for those), else feature_dtype.
  std::optional<Dtype> target_dtype = std::nullopt;
};

/// The contents of a CSV file.
struct CsvData {
  /// (N, F) feature values: every column but the target, in file order.
  Tensor features;
  /// (N) target values; undefined with ColumnRef::none().
  Tensor target;
  /// Every column's name in file order (header names, or column_<i>).
  std::vector<std::string> column_names;
  /// The F feature columns' names.
  std::vector<std::string> feature_names;
  /// The target column's name ("" without a target).
  std::string target_name;
  /// Class names by label (only load_sklearn_csv fills this).
  std::vector<std::string> class_names;
};

/// Reads a numeric CSV file, plain or gzip-compressed (detected from the content). Fields may be
/// double-quoted ("" is a literal quote; a field cannot span lines); surrounding spaces are ignored;
/// '\r\n' line ends are accepted; blank lines are skipped. Every cell must parse as a number
/// ("nan" and "inf" are accepted).
/// IOError naming the file for: a missing/unreadable file; a file with no data (empty, or only the
/// header); a cell that is not a number or is empty (names the line, the 1-based column and its
/// name); a row with a different number of fields than the header or first row (names the line);
/// an unknown target column name (lists the available names); an unterminated quote.
/// IndexError for a target index outside the columns; DtypeError for an int64 feature_dtype or an
/// int64 target_dtype with a non-whole target value (names line and column).
CsvData read_csv(const std::string& path, const CsvOptions& options = {});

/// Reads a scikit-learn bundled CSV file (iris.csv, breast_cancer.csv, wine_data.csv): line 1 is
/// "n_samples,n_features[,class names...]", the other lines are n_features feature values and an
/// integer label. Returns int64 labels, feature names column_0.., and the class names; IOError
/// naming the file when line 1 is malformed or the counts disagree with the data.
CsvData load_sklearn_csv(const std::string& path, Dtype feature_dtype = kFloat32);

}  // namespace xgrad::data
