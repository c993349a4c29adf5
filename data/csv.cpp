#include "csv.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <string_view>

#include "../autograd/ops/factories.hpp"
#include "detail/io.hpp"

namespace xgrad::data {

namespace {

constexpr const char* kWho = "read_csv";

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_blank(std::string_view s) { return trim(s).empty(); }

// Splits one line into fields (quotes removed). Throws IOError for an unterminated quote.
std::vector<std::string> split_fields(std::string_view line, char delim, const std::string& path, std::int64_t line_no) {
  std::vector<std::string> out;
  const bool ws = delim == ' ';
  std::size_t i = 0;
  const std::size_t n = line.size();
  if (ws) {
    while (i < n && is_space(line[i])) ++i;
    if (i == n) return out;
  }
  for (;;) {
    while (i < n && is_space(line[i]) && line[i] != delim) ++i;
    std::string field;
    if (i < n && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field += line[i++];
      }
      if (!closed)
        throw IOError(fmt::format("{}: '{}', line {}, column {}: unterminated quoted field (fields cannot span lines)", kWho,
                                  path, line_no, out.size() + 1));
      while (i < n && is_space(line[i]) && (ws || line[i] != delim)) ++i;
      if (i < n && line[i] != delim && !ws)
        throw IOError(fmt::format("{}: '{}', line {}, column {}: unexpected text after a quoted field", kWho, path, line_no,
                                  out.size() + 1));
    } else {
      const std::size_t start = i;
      if (ws) {
        while (i < n && !is_space(line[i])) ++i;
      } else {
        while (i < n && line[i] != delim) ++i;
      }
      field = std::string(trim(line.substr(start, i - start)));
    }
    out.push_back(std::move(field));
    if (ws) {
      while (i < n && is_space(line[i])) ++i;
      if (i >= n) break;
    } else {
      if (i >= n) break;
      ++i;  // the delimiter; a trailing delimiter yields a final empty field
    }
  }
  return out;
}

struct Line {
  std::string_view text;
  std::int64_t number;  // 1-based
};

// Lines of `text` (without '\n' and a trailing '\r'), skipping the first `skip` and every blank one.
std::vector<Line> split_lines(const std::string& text, std::int64_t skip) {
  std::vector<Line> lines;
  std::size_t pos = 0;
  std::int64_t number = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view l(text.data() + pos, end - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    ++number;
    if (number > skip && !is_blank(l)) lines.push_back({l, number});
    pos = end + 1;
  }
  return lines;
}

// Parses one numeric cell; nullopt when it is not a number.
std::optional<double> parse_number(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || s.front() == '-' || s.front() == '+') return std::nullopt;
  }
  double v = 0.0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string column_label(std::size_t col, const std::vector<std::string>& names) {
  if (col < names.size() && !names[col].empty()) return fmt::format("column {} ('{}')", col + 1, names[col]);
  return fmt::format("column {}", col + 1);
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", '" : "'") + names[i] + "'";
  return s;
}

bool whole(double v) { return std::isfinite(v) && v == std::floor(v) && std::abs(v) <= 9007199254740992.0; }

struct Parsed {
  std::vector<std::string> names;
  std::vector<double> values;  // row-major, rows x cols
  std::vector<std::int64_t> line_numbers;
  std::size_t cols = 0;
};

Parsed parse(const std::string& path, const std::string& text, std::int64_t skip, bool header, char delim) {
  Parsed p;
  const std::vector<Line> lines = split_lines(text, skip);
  if (lines.empty())
    throw IOError(fmt::format("{}: '{}' is empty{}", kWho, path,
                              skip > 0 ? fmt::format(" (no non-blank line after the {} skipped rows)", skip) : ""));
  std::size_t first = 0;
  std::int64_t shape_line = lines[0].number;
  if (header) {
    p.names = split_fields(lines[0].text, delim, path, lines[0].number);
    first = 1;
    if (lines.size() == 1) throw IOError(fmt::format("{}: '{}' has a header (line {}) but no data rows", kWho, path, shape_line));
  }
  for (std::size_t k = first; k < lines.size(); ++k) {
    const Line& line = lines[k];
    const std::vector<std::string> fields = split_fields(line.text, delim, path, line.number);
    if (k == 0) {
      p.cols = fields.size();
      for (std::size_t c = 0; c < p.cols; ++c) p.names.push_back(fmt::format("column_{}", c));
    } else if (k == 1 && header) {
      p.cols = p.names.size();
    }
    if (fields.size() != p.cols)
      throw IOError(fmt::format("{}: '{}', line {}: expected {} fields (as on line {}{}), got {}", kWho, path, line.number,
                                p.cols, shape_line, header ? ", the header" : "", fields.size()));
    for (std::size_t c = 0; c < fields.size(); ++c) {
      const auto v = parse_number(fields[c]);
      if (!v)
        throw IOError(
            fmt::format("{}: '{}', line {}, {}: {}", kWho, path, line.number, column_label(c, p.names),
                        fields[c].empty() ? std::string("empty cell") : fmt::format("'{}' is not a number", fields[c])));
      p.values.push_back(*v);
    }
    p.line_numbers.push_back(line.number);
  }
  return p;
}

}  // namespace

CsvData read_csv(const std::string& path, const CsvOptions& options) {
  if (!is_floating(options.feature_dtype))
    throw DtypeError(
        fmt::format("{}: feature_dtype must be float32 or float64, got {}", kWho, dtype_name(options.feature_dtype)));
  if (options.skip_rows < 0) throw ValueError(fmt::format("{}: skip_rows must be >= 0, got {}", kWho, options.skip_rows));
  const std::string text = detail::read_file(path, kWho);
  const Parsed p = parse(path, text, options.skip_rows, options.has_header, options.delimiter);
  const auto ncols = static_cast<std::int64_t>(p.cols);
  const auto nrows = static_cast<std::int64_t>(p.line_numbers.size());

  // Resolve the target column.
  std::int64_t target = -1;
  const ColumnRef& ref = options.target_column;
  if (!ref.is_none()) {
    if (ref.by_name()) {
      for (std::size_t c = 0; c < p.names.size(); ++c)
        if (p.names[c] == ref.name()) {
          target = static_cast<std::int64_t>(c);
          break;
        }
      if (target < 0)
        throw IOError(
            fmt::format("{}: '{}' has no column named '{}'; the columns are: {}", kWho, path, ref.name(), join_names(p.names)));
    } else {
      target = ref.index() < 0 ? ref.index() + ncols : ref.index();
      if (target < 0 || target >= ncols)
        throw IndexError(fmt::format("{}: target column index {} is out of range for '{}', which has {} columns", kWho,
                                     ref.index(), path, ncols));
    }
  }

  CsvData out;
  out.column_names = p.names;
  const std::int64_t nfeat = ncols - (target >= 0 ? 1 : 0);
  out.features = zeros({nrows, nfeat}, options.feature_dtype);
  dispatch_dtype(options.feature_dtype, [&](auto tag) {
    using T = decltype(tag);
    T* f = out.features.mutable_data<T>();
    for (std::int64_t r = 0; r < nrows; ++r)
      for (std::int64_t c = 0, j = 0; c < ncols; ++c)
        if (c != target) f[r * nfeat + j++] = static_cast<T>(p.values[static_cast<std::size_t>(r * ncols + c)]);
  });
  for (std::int64_t c = 0; c < ncols; ++c)
    if (c != target) out.feature_names.push_back(p.names[static_cast<std::size_t>(c)]);
  if (target < 0) return out;

  out.target_name = p.names[static_cast<std::size_t>(target)];
  auto cell = [&](std::int64_t r) { return p.values[static_cast<std::size_t>(r * ncols + target)]; };
  Dtype tdtype = options.feature_dtype;
  if (options.target_dtype) {
    tdtype = *options.target_dtype;
    if (tdtype == kInt64)
      for (std::int64_t r = 0; r < nrows; ++r)
        if (!whole(cell(r)))
          throw DtypeError(fmt::format("{}: '{}', line {}, {}: target value {} is not a whole number (target_dtype int64)", kWho,
                                       path, p.line_numbers[static_cast<std::size_t>(r)],
                                       column_label(static_cast<std::size_t>(target), p.names), cell(r)));
  } else {
    bool all_whole = nrows > 0;
    for (std::int64_t r = 0; r < nrows && all_whole; ++r) all_whole = whole(cell(r));
    if (all_whole) tdtype = kInt64;
  }
  out.target = zeros({nrows}, tdtype);
  dispatch_all(tdtype, [&](auto tag) {
    using T = decltype(tag);
    T* t = out.target.mutable_data<T>();
    for (std::int64_t r = 0; r < nrows; ++r) t[r] = static_cast<T>(cell(r));
  });
  return out;
}

CsvData load_sklearn_csv(const std::string& path, Dtype feature_dtype) {
  constexpr const char* who = "load_sklearn_csv";
  const std::string text = detail::read_file(path, who);
  const std::vector<Line> lines = split_lines(text, 0);
  if (lines.empty()) throw IOError(fmt::format("{}: '{}' is empty", who, path));
  if (lines[0].number != 1)
    throw IOError(
        fmt::format("{}: '{}' starts with a blank line; line 1 must be 'n_samples,n_features,class names...'", who, path));
  const std::vector<std::string> head = split_fields(lines[0].text, ',', path, 1);
  const auto n_samples = head.size() >= 2 ? parse_number(head[0]) : std::nullopt;
  const auto n_features = head.size() >= 2 ? parse_number(head[1]) : std::nullopt;
  if (!n_samples || !n_features || !whole(*n_samples) || !whole(*n_features) || *n_samples < 0 || *n_features < 0)
    throw IOError(fmt::format("{}: '{}', line 1: expected 'n_samples,n_features,class names...', got '{}'", who, path,
                              std::string(lines[0].text)));
  std::vector<std::string> classes;
  for (std::size_t i = 2; i < head.size(); ++i)
    if (!head[i].empty()) classes.push_back(head[i]);

  CsvOptions opts;
  opts.has_header = false;
  opts.skip_rows = 1;
  opts.feature_dtype = feature_dtype;
  if (!classes.empty()) opts.target_dtype = kInt64;
  CsvData d = read_csv(path, opts);
  if (d.features.size(0) != static_cast<std::int64_t>(*n_samples) || d.features.size(1) != static_cast<std::int64_t>(*n_features))
    throw IOError(fmt::format("{}: '{}': line 1 declares {} samples of {} features, the data has {} rows of {} features", who,
                              path, *n_samples, *n_features, d.features.size(0), d.features.size(1)));
  if (!classes.empty()) {
    const std::int64_t* t = d.target.data<std::int64_t>();
    for (std::int64_t i = 0, n_ = d.target.numel(); i < n_; ++i)
      if (t[i] < 0 || t[i] >= static_cast<std::int64_t>(classes.size()))
        throw IOError(fmt::format("{}: '{}', data row {}: label {} is outside 0..{} ({} class names on line 1)", who, path, i + 1,
                                  t[i], classes.size() - 1, classes.size()));
  }
  d.class_names = std::move(classes);
  return d;
}

}  // namespace xgrad::data
