// libFuzzer target: xgrad::data::read_csv and load_sklearn_csv (numeric CSV, plain or gzip).
//
// Input layout: two option bytes, then the file.
//   byte 0: bit 0 gzip-compress the file; bit 1 has_header; bits 2-3 delimiter (',', ' ', ';', '\t');
//           bits 4-5 target column (-1, 0, none, by name "y"); bit 6 float64 features;
//           bit 7 target dtype int64 (else automatic)
//   byte 1: bits 0-1 skip_rows; bit 2 use load_sklearn_csv instead of read_csv
// On success: features are (N, F) with N >= 1, the target (if any) has N rows, and the names agree
// with the column counts.
#include <xgrad/data/csv.hpp>

#include <cstdlib>

#include "fuzz_util.hpp"

using namespace xgrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile file("fuzz_csv");
  fuzz::Input in(data, size);
  const std::uint8_t o0 = in.byte(), o1 = in.byte();
  const std::string_view raw = in.rest();
  data::CsvOptions opt;
  opt.has_header = (o0 & 2) != 0;
  constexpr char kDelimiters[] = {',', ' ', ';', '\t'};
  opt.delimiter = kDelimiters[(o0 >> 2) & 3];
  switch ((o0 >> 4) & 3) {
    case 0:
      opt.target_column = -1;
      break;
    case 1:
      opt.target_column = 0;
      break;
    case 2:
      opt.target_column = data::ColumnRef::none();
      break;
    default:
      opt.target_column = "y";
      break;
  }
  opt.feature_dtype = (o0 & 64) != 0 ? kFloat64 : kFloat32;
  if ((o0 & 128) != 0) opt.target_dtype = kInt64;
  opt.skip_rows = o1 & 3;
  const bool sklearn = (o1 & 4) != 0;
  const std::string& path = file.write((o0 & 1) != 0 ? fuzz::gzip(raw) : std::string(raw));
  data::CsvData d;
  try {
    d = sklearn ? data::load_sklearn_csv(path, opt.feature_dtype) : data::read_csv(path, opt);
  } catch (const xgrad::Error&) {
    return 0;
  }
  if (d.features.dim() != 2 || d.features.size(0) < 1) std::abort();
  if (d.features.dtype() != opt.feature_dtype) std::abort();
  if (static_cast<std::int64_t>(d.feature_names.size()) != d.features.size(1)) std::abort();
  const bool has_target = d.target.defined();
  if (d.column_names.size() != d.feature_names.size() + (has_target ? 1 : 0)) std::abort();
  if (has_target) {
    if (d.target.dim() != 1 || d.target.size(0) != d.features.size(0)) std::abort();
    if (!sklearn && opt.target_dtype && d.target.dtype() != *opt.target_dtype) std::abort();
  } else if (sklearn || !opt.target_column.is_none()) {
    std::abort();
  }
  if (sklearn && !d.class_names.empty()) {
    const std::vector<std::int64_t> labels = d.target.to_vector<std::int64_t>();
    for (auto l : labels)
      if (l < 0 || l >= static_cast<std::int64_t>(d.class_names.size())) std::abort();
  }
  return 0;
}
