// libFuzzer target: xgrad::data::read_idx (IDX files, plain or gzip).
//
// Input layout: one option byte, then the file.
//   bit 0    the file is written gzip-compressed (so mutations of the plain bytes reach the gzip path)
//   bits 1-2 requested dtype: none (the file's default), float32, float64, int64
//   bit 3    max_bytes = the default 4 GiB cap instead of 1 MiB
// On success the result must match the header: rank 1-4, the declared shape, the requested dtype,
// and for plain ubyte files every element equals its byte (checks that need the header are skipped
// when the fuzzed bytes are a gzip stream themselves).
#include <xgrad/data/idx.hpp>

#include <cstdlib>

#include "fuzz_util.hpp"

using namespace xgrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile file("fuzz_idx");
  fuzz::Input in(data, size);
  const std::uint8_t opt = in.byte();
  const std::string_view raw = in.rest();
  const bool gz = (opt & 1) != 0;
  std::optional<Dtype> dtype;
  switch ((opt >> 1) & 3) {
    case 1:
      dtype = kFloat32;
      break;
    case 2:
      dtype = kFloat64;
      break;
    case 3:
      dtype = kInt64;
      break;
    default:
      break;
  }
  const std::uint64_t cap = (opt & 8) != 0 ? data::kIdxDefaultMaxBytes : std::uint64_t{1} << 20;
  const std::string& path = file.write(gz ? fuzz::gzip(raw) : std::string(raw));
  Tensor t;
  try {
    t = data::read_idx(path, dtype, cap);
  } catch (const xgrad::Error&) {
    return 0;
  }
  if (t.dim() < 1 || t.dim() > 4) std::abort();
  if (dtype && t.dtype() != *dtype) std::abort();
  // The header was valid: check the result against it (unless the fuzzed bytes are themselves a gzip
  // stream, whose content this harness does not decode).
  const auto* b = reinterpret_cast<const unsigned char*>(raw.data());
  if (raw.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b) return 0;
  if (raw.size() < 4 || t.dim() != b[3]) std::abort();
  std::int64_t numel = 1;
  for (std::int64_t d = 0; d < t.dim(); ++d) {
    const auto* p = b + 4 + 4 * d;
    const std::int64_t s = (std::int64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    if (t.size(d) != s) std::abort();
    numel *= s;
  }
  if (t.numel() != numel) std::abort();
  if (b[2] == 0x08 && t.dtype() != kInt64) {
    const std::size_t header = 4 + 4 * static_cast<std::size_t>(t.dim());
    const std::vector<double> v = t.to_vector<double>();
    for (std::size_t i = 0; i < v.size(); ++i)
      if (v[i] != static_cast<double>(b[header + i])) std::abort();
  }
  return 0;
}
