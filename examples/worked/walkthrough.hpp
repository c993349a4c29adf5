#pragma once
// Helpers shared by the lecture walk-through examples (ex01..ex09): number formatting, the output
// directory, and rendering pictures with Graphviz `dot` and `gnuplot` when they are installed (a
// missing tool prints a message and is skipped, never an error).

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <xgrad/xgrad.hpp>

namespace xgrad::examples {

/// `v` with `digits` significant digits ("0.8797", "-5.097e-06").
inline std::string num(double v, int digits = 4) { return fmt::format("{:.{}g}", v, digits); }

/// `v` with `decimals` digits after the point ("0.40127").
inline std::string fixed(double v, int decimals) { return fmt::format("{:.{}f}", v, decimals); }

/// True when |a - b| <= half a unit of the `decimals`-th decimal (a rounds to b at that precision),
/// with a little slack for the binary representation of b.
inline bool agrees_to_decimals(double a, double b, int decimals) {
  return std::abs(a - b) <= 0.5 * std::pow(10.0, -decimals) * (1.0 + 1e-9);
}

/// A tensor's values as "[a, b, c]" (row-major, `digits` significant digits).
inline std::string values(const Tensor& t, int digits = 4) {
  std::string out = "[";
  const std::vector<double> v = t.to_vector<double>();
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + num(v[i], digits);
  return out + "]";
}

/// The value of a one-element tensor.
inline double scalar(const Tensor& t) { return t.item<double>(); }

/// A float64 scalar leaf that requires grad, named `name` (for explain_backward and to_dot).
inline Tensor scalar_param(double value, const char* name) {
  Tensor t = scalar_tensor(value, kFloat64).requires_grad_();
  t.set_name(name);
  return t;
}

/// A float64 tensor from nested lists that requires grad, named `name`.
inline Tensor param(const NestedList& values, const char* name) {
  Tensor t = tensor(values, kFloat64).requires_grad_();
  t.set_name(name);
  return t;
}

/// Names an intermediate tensor and returns it (z = named(w * x + b, "z")).
inline Tensor named(Tensor t, const char* name) {
  t.set_name(name);
  return t;
}

/// The output directory: `--out DIR` on the command line, else the current directory. Created if
/// missing.
inline std::filesystem::path output_dir(int argc, char** argv) {
  std::filesystem::path dir = ".";
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string_view(argv[i]) == "--out") dir = argv[i + 1];
  std::filesystem::create_directories(dir);
  return dir;
}

/// True when `program` is on the PATH.
inline bool have_program(const char* program) {
  return std::system(fmt::format("command -v {} >/dev/null 2>&1", program).c_str()) == 0;
}

/// Writes `text` to `path`.
inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

/// Writes `dot` to base.dot and renders base.svg and base.png with Graphviz when `dot` is installed.
inline void render_dot(const std::string& dot, const std::filesystem::path& base) {
  const auto dot_file = std::filesystem::path(base).replace_extension(".dot");
  write_file(dot_file, dot);
  if (!have_program("dot")) {
    fmt::print("(Graphviz `dot` not found: wrote {} only; install graphviz to render it)\n", dot_file.string());
    return;
  }
  bool ok = true;
  for (const char* fmt_name : {"svg", "png"}) {
    const auto out = std::filesystem::path(base).replace_extension(std::string(".") + fmt_name);
    ok = ok && std::system(fmt::format("dot -T{} '{}' -o '{}'", fmt_name, dot_file.string(), out.string()).c_str()) == 0;
  }
  if (ok) {
    fmt::print("Graph picture: {} (and .png, .dot)\n", std::filesystem::path(base).replace_extension(".svg").string());
  } else {
    fmt::print("(dot failed on {}; the .dot file is kept)\n", dot_file.string());
  }
}

/// Runs a gnuplot script (written next to the pictures as base.gp) when gnuplot is installed.
inline void run_gnuplot(const std::string& script, const std::filesystem::path& base) {
  const auto gp = std::filesystem::path(base).replace_extension(".gp");
  write_file(gp, script);
  if (!have_program("gnuplot")) {
    fmt::print("(gnuplot not found: wrote {} only; install gnuplot-nox to draw the picture)\n", gp.string());
    return;
  }
  if (std::system(fmt::format("gnuplot '{}'", gp.string()).c_str()) != 0)
    fmt::print("(gnuplot failed on {})\n", gp.string());
}

/// A section title.
inline void heading(const std::string& title) {
  std::size_t width = 0;  // characters, not bytes (titles use ∂, σ, ...)
  for (unsigned char c : title) width += (c & 0xC0) != 0x80;
  fmt::print("\n{}\n{}\n", title, std::string(width, '='));
}

}  // namespace xgrad::examples
