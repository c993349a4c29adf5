// libFuzzer target: xgrad::train::load_safetensors.
//
// Input: the file itself. On success the checkpoint must survive a round trip: save_safetensors to a
// scratch directory (tmpfs when available) and load again gives the same names, dtypes, shapes,
// bit-identical values and the same metadata.
#include <xgrad/train/checkpoint.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "fuzz_util.hpp"

using namespace xgrad;

namespace {

std::string scratch_dir() {
  std::string tmpl = std::filesystem::exists("/dev/shm") ? "/dev/shm/xgrad_fuzz_XXXXXX" : "/tmp/xgrad_fuzz_XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  static std::string dir;
  dir = tmpl;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  });
  return tmpl;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  return dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Tensor ca = a.contiguous(), cb = b.contiguous();
    return a.numel() == 0 || std::memcmp(ca.data<T>(), cb.data<T>(), static_cast<std::size_t>(a.numel()) * sizeof(T)) == 0;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile file("fuzz_safetensors");
  static const std::string out = scratch_dir() + "/roundtrip.safetensors";
  const std::string& path = file.write({reinterpret_cast<const char*>(data), size});
  train::Checkpoint ck;
  try {
    ck = train::load_safetensors(path);
  } catch (const xgrad::Error&) {
    return 0;
  }
  for (const auto& [name, t] : ck.tensors)
    if (!t.defined() || t.requires_grad() || !t.is_contiguous()) std::abort();
  try {
    train::save_safetensors(out, ck.tensors, ck.metadata);
  } catch (const xgrad::ValueError&) {
    // save refuses the empty name, which a file may contain; nothing else is expected.
    if (ck.tensors.count("") == 0) std::abort();
    return 0;
  }
  const train::Checkpoint back = train::load_safetensors(out);  // must not throw
  if (back.metadata != ck.metadata || back.tensors.size() != ck.tensors.size()) std::abort();
  for (const auto& [name, t] : ck.tensors) {
    const auto it = back.tensors.find(name);
    if (it == back.tensors.end() || !same_bits(t, it->second)) std::abort();
  }
  return 0;
}
