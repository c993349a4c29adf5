// safetensors checkpoints: bit-exact round trips, Python interop, validation of damaged files, and
// atomic replacement under SIGKILL.
#include <xgrad/train/checkpoint.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <thread>

#include "data/temp_dir.hpp"
#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;
using xgrad::testing::TempDir;

namespace {

const char* kPython = "/usr/bin/python3";

// Raw bytes of a tensor's elements (row-major).
std::string raw(const Tensor& t) {
  const Tensor c = t.contiguous();
  const std::size_t n = static_cast<std::size_t>(c.numel()) * dtype_size(c.dtype());
  return dispatch_all(c.dtype(),
                      [&](auto tag) { return std::string(reinterpret_cast<const char*>(c.data<decltype(tag)>()), n); });
}

void check_same(const Tensor& a, const Tensor& b) {
  CHECK(a.shape() == b.shape());
  CHECK(a.dtype() == b.dtype());
  CHECK(raw(a) == raw(b));  // bit-exact, NaN payloads and -0.0 included
}

std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}

// A safetensors file from a header text and a data region.
void write_st(const std::string& path, const std::string& header, const std::string& data) {
  testing::write_bytes(path, le64(header.size()) + header + data);
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("safetensors: bit-exact round trip of every dtype, 0-d, empty and strided tensors, metadata") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  const float fnan = std::bit_cast<float>(0x7FC01234u);  // a NaN with a payload
  Tensor f32 = from_vector(std::vector<float>{1.5f, -0.0f, std::numeric_limits<float>::infinity(), fnan,
                                              std::numeric_limits<float>::denorm_min(), 0.1f},
                           {2, 3});
  Tensor f64 = from_vector(std::vector<double>{0.1, -1e300, std::numeric_limits<double>::denorm_min(), -0.0}, {4, 1}, kFloat64);
  Tensor i64 = from_vector(
      std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), -1, 0, std::numeric_limits<std::int64_t>::max()},
      {2, 2});
  Tensor scalar = scalar_tensor(3.25, kFloat64);
  Tensor empty = zeros({0, 5});
  Tensor empty_i = zeros({3, 0}, kInt64);
  Tensor strided = arange(12.0, kFloat64).reshape({3, 4}).t();  // non-contiguous view
  Tensor trainable = randn({3}).requires_grad_();
  const train::TensorMap tensors = {
      {"layer.0.weight", f32}, {"f64", f64},         {"i64", i64},         {"scalar", scalar},
      {"empty", empty},        {"empty_i", empty_i}, {"strided", strided}, {"trainable", trainable}};
  const train::Metadata meta = {
      {"epoch", "12"}, {"odd \"key\"", "back\\slash\nnew line\ttab \x01 caf\xC3\xA9"}, {"", "empty key"}};
  train::save_safetensors(path, tensors, meta);
  const train::Checkpoint c = train::load_safetensors(path);
  CHECK(c.metadata == meta);
  REQUIRE(c.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO(name);
    REQUIRE(c.tensors.count(name) == 1);
    check_same(c.tensors.at(name), t.detach());
    CHECK(!c.tensors.at(name).requires_grad());
  }
  CHECK(c.tensors.at("strided").to_vector<double>() == std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK(c.tensors.at("scalar").dim() == 0);
  // The file layout: header length, JSON padded to 8 bytes, data region = sum of tensor sizes.
  const std::string bytes = testing::read_bytes(path);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  CHECK(bytes.size() == 8 + n + 24 + 32 + 32 + 8 + 0 + 0 + 96 + 12);
  CHECK(bytes.substr(8, 1) == "{");
  CHECK(bytes.find("\"dtype\":\"F32\"") != std::string::npos);
  // No file besides the checkpoint (the temporary was renamed).
  CHECK(files_in(dir.path()) == std::vector<std::string>{"model.safetensors"});
  // Empty map, no metadata.
  train::save_safetensors(dir.file("none.safetensors"), {});
  const auto none = train::load_safetensors(dir.file("none.safetensors"));
  CHECK(none.tensors.empty());
  CHECK(none.metadata.empty());
  // Overwriting replaces the file.
  train::save_safetensors(path, {{"x", ones({2})}}, {{"v", "2"}});
  const auto again = train::load_safetensors(path);
  CHECK(again.tensors.size() == 1);
  CHECK(again.metadata.at("v") == "2");
  // A relative path in the current directory works too (directory fsync of ".").
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  train::save_safetensors("rel.safetensors", {{"x", ones({1})}});
  std::filesystem::current_path(cwd);
  CHECK(train::load_safetensors(dir.file("rel.safetensors")).tensors.at("x").item<float>() == 1.0f);
}

TEST_CASE("safetensors: save errors name the path and leave the old file intact") {
  TempDir dir;
  const std::string path = dir.file("ck.safetensors");
  train::save_safetensors(path, {{"w", full({4}, 7.0)}}, {{"v", "old"}});
  const std::string before = testing::read_bytes(path);
  check_throws_with<ValueError>(
      [&] {
        train::save_safetensors(path, {{"w", Tensor()}});
      },
      {"save_safetensors", path, "'w'", "undefined"});
  check_throws_with<ValueError>([&] { train::save_safetensors(path, {{"", ones({1})}}); }, {"save_safetensors", "empty name"});
  check_throws_with<ValueError>(
      [&] {
        train::save_safetensors(path, {{"__metadata__", ones({1})}});
      },
      {"save_safetensors", "__metadata__", "reserved"});
  check_throws_with<ValueError>(
      [&] {
        train::save_safetensors(path, {{"w\xff", ones({1})}});
      },
      {"save_safetensors", path, "tensor name", "not valid UTF-8"});
  check_throws_with<ValueError>(
      [&] {
        train::save_safetensors(path, {{"w", ones({1})}}, {{"note", "\xe9t\xe9"}});
      },
      {"save_safetensors", path, "metadata value of 'note'", "not valid UTF-8"});
  const std::string nodir = dir.file("no/such/dir/ck.safetensors");
  check_throws_with<IOError>(
      [&] {
        train::save_safetensors(nodir, {{"w", ones({1})}});
      },
      {"save_safetensors", nodir, "No such file or directory"});
  // The target is a directory: writing succeeds, the rename fails, the temporary is removed.
  const std::string is_dir = dir.file("adir");
  std::filesystem::create_directory(is_dir);
  check_throws_with<IOError>(
      [&] {
        train::save_safetensors(is_dir, {{"w", ones({1})}});
      },
      {"save_safetensors", is_dir, "rename", "Is a directory"});
  if (::geteuid() != 0) {
    const std::string ro = dir.file("ro");
    std::filesystem::create_directory(ro);
    std::filesystem::permissions(ro, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    check_throws_with<IOError>(
        [&] {
          train::save_safetensors(ro + "/x.safetensors", {{"w", ones({1})}});
        },
        {"save_safetensors", ro + "/x.safetensors", "Permission denied"});
    std::filesystem::permissions(ro, std::filesystem::perms::owner_all);
  }
  CHECK(testing::read_bytes(path) == before);

  // A full disk, simulated with a file-size limit in a child process (write fails with EFBIG).
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      ::signal(SIGXFSZ, SIG_IGN);
      rlimit lim{4096, 4096};
      ::setrlimit(RLIMIT_FSIZE, &lim);
      train::save_safetensors(path, {{"w", zeros({100000})}}, {{"v", "new"}});
      code = 10;  // should have failed
    } catch (const IOError& e) {
      const std::string msg = e.what();
      if (msg.find(path) == std::string::npos || msg.find("File too large") == std::string::npos) code = 11;
      if (std::filesystem::exists(fmt::format("{}.tmp.{}", path, ::getpid()))) code = 12;
    } catch (...) {
      code = 13;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // 10: no error, 11: message, 12: temp file left, 13: other exception
  CHECK(testing::read_bytes(path) == before);
  CHECK(train::load_safetensors(path).metadata.at("v") == "old");
  for (const auto& f : files_in(dir.path())) CHECK(f.find(".tmp.") == std::string::npos);
}

TEST_CASE("safetensors: Python (struct + json only) reads what xgrad writes and writes what xgrad reads") {
  if (::access(kPython, X_OK) != 0) {
    MESSAGE("skipped: " << kPython << " is missing");
    return;
  }
  TempDir dir;
  // Python -> xgrad: every dtype xgrad reads, a 0-d and an empty tensor, metadata with \u escapes.
  const std::string writer = R"PY(
import json, struct, sys
path = sys.argv[1]
bf16 = lambda x: struct.pack('<f', x)[2:4]
tensors = [
    ("a", "F32", [2, 2], struct.pack('<4f', 1.5, -2.25, 0.1, 3e38)),
    ("b", "F64", [3], struct.pack('<3d', 0.1, -1e300, 5e-324)),
    ("c", "I64", [2], struct.pack('<2q', -9223372036854775808, 42)),
    ("h", "F16", [3], struct.pack('<3e', 1.0, -0.5, 65504.0)),
    ("bf", "BF16", [2], bf16(1.0) + bf16(-2.0)),
    ("u8", "U8", [3], bytes([0, 7, 255])),
    ("i8", "I8", [2], struct.pack('<2b', -128, 5)),
    ("i32", "I32", [2], struct.pack('<2i', -5, 2147483647)),
    ("flag", "BOOL", [2], bytes([1, 0])),
    ("s", "F32", [], struct.pack('<f', 7.0)),
    ("e", "F32", [0, 3], b""),
]
header, data = {}, b""
for name, dt, shape, rawbytes in tensors:
    header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(rawbytes)]}
    data += rawbytes
header["__metadata__"] = {"format": "pt", "note": "caf\u00e9 \"q\" \U0001F600"}
h = json.dumps(header).encode()  # ensure_ascii: non-ASCII as \u escapes (a surrogate pair for the emoji)
h += b" " * (-len(h) % 8)
open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)
)PY";
  testing::write_bytes(dir.file("writer.py"), writer);
  const std::string from_py = dir.file("from_py.safetensors");
  const std::string log = dir.file("py.log");
  REQUIRE(std::system(fmt::format("{} {} {} > {} 2>&1", kPython, dir.file("writer.py"), from_py, log).c_str()) == 0);
  const train::Checkpoint c = train::load_safetensors(from_py);
  CHECK(c.metadata.at("format") == "pt");
  CHECK(c.metadata.at("note") == "caf\xC3\xA9 \"q\" \xF0\x9F\x98\x80");
  CHECK(c.tensors.at("a").to_vector<float>() == std::vector<float>{1.5f, -2.25f, 0.1f, 3e38f});
  CHECK(c.tensors.at("a").shape() == Shape{2, 2});
  CHECK(c.tensors.at("b").to_vector<double>() == std::vector<double>{0.1, -1e300, 5e-324});
  CHECK(c.tensors.at("c").to_vector<std::int64_t>() == std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), 42});
  CHECK(c.tensors.at("h").dtype() == kFloat32);
  CHECK(c.tensors.at("h").to_vector<float>() == std::vector<float>{1.0f, -0.5f, 65504.0f});
  CHECK(c.tensors.at("bf").to_vector<float>() == std::vector<float>{1.0f, -2.0f});
  CHECK(c.tensors.at("u8").to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 7, 255});
  CHECK(c.tensors.at("i8").to_vector<std::int64_t>() == std::vector<std::int64_t>{-128, 5});
  CHECK(c.tensors.at("i32").to_vector<std::int64_t>() == std::vector<std::int64_t>{-5, 2147483647});
  CHECK(c.tensors.at("flag").to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0});
  CHECK(c.tensors.at("s").dim() == 0);
  CHECK(c.tensors.at("s").item<float>() == 7.0f);
  CHECK(c.tensors.at("e").shape() == Shape{0, 3});

  // xgrad -> Python: the script checks the layout and every value it expects.
  const std::string to_py = dir.file("to_py.safetensors");
  train::save_safetensors(to_py,
                          {{"w", from_vector(std::vector<float>{0.5f, -1.0f, 2.25f, 1e-3f, 3.0f, -7.5f}, {2, 3})},
                           {"d", scalar_tensor(0.1, kFloat64)},
                           {"i", from_vector(std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), -1, 7}, {3})},
                           {"empty", zeros({0})}},
                          {{"epoch", "3"}, {"quote", "a\"b\\c\n\xC3\xA9"}});
  const std::string reader = R"PY(
import json, struct, sys
blob = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
assert n % 8 == 0, n
header = json.loads(blob[8:8 + n].decode("utf-8"))
data = blob[8 + n:]
assert header.pop("__metadata__") == {"epoch": "3", "quote": "a\"b\\c\n\u00e9"}
assert set(header) == {"w", "d", "i", "empty"}, header
def get(name, fmt):
    e = header[name]
    b, end = e["data_offsets"]
    return e["dtype"], e["shape"], list(struct.unpack("<" + fmt, data[b:end]))
f = lambda x: struct.unpack("<f", struct.pack("<f", x))[0]
assert get("w", "6f") == ("F32", [2, 3], [0.5, -1.0, 2.25, f(1e-3), 3.0, -7.5]), get("w", "6f")
assert get("d", "d") == ("F64", [], [0.1])
assert get("i", "3q") == ("I64", [3], [-9223372036854775808, -1, 7])
assert get("empty", "") == ("F32", [0], [])
spans = sorted(tuple(e["data_offsets"]) for e in header.values())
assert spans[0][0] == 0 and spans[-1][1] == len(data), (spans, len(data))
assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), spans
print("OK")
)PY";
  testing::write_bytes(dir.file("reader.py"), reader);
  const int rc = std::system(fmt::format("{} {} {} > {} 2>&1", kPython, dir.file("reader.py"), to_py, log).c_str());
  INFO("python output: " << testing::read_bytes(log));
  CHECK(rc == 0);
  CHECK(testing::read_bytes(log) == "OK\n");
}

TEST_CASE("safetensors: load rejects damaged files with messages naming the file and the field") {
  TempDir dir;
  const std::string p = dir.file("bad.safetensors");
  const std::string f4(4, '\0'), f8(8, '\0');

  check_throws_with<IOError>([&] { train::load_safetensors(dir.file("missing")); },
                             {"load_safetensors", "missing", "No such file"});
  check_throws_with<IOError>([&] { train::load_safetensors(dir.path()); }, {"load_safetensors", dir.path(), "directory"});

  testing::write_bytes(p, "abc");
  check_throws_with<IOError>([&] { train::load_safetensors(p); }, {"load_safetensors", p, "3 bytes", "too short"});
  testing::write_bytes(p, le64(100) + "{}");
  check_throws_with<IOError>([&] { train::load_safetensors(p); }, {p, "header length 100", "exceeds the 2 bytes"});
  testing::write_bytes(p, le64(0xFFFFFFFFFFFFFFFFull) + "{}");
  check_throws_with<IOError>([&] { train::load_safetensors(p); }, {p, "header length 18446744073709551615", "exceeds"});
  testing::write_bytes(p, le64(1) + "{");
  check_throws_with<IOError>([&] { train::load_safetensors(p); }, {p, "header length 1", "too small"});
  {
    // Over the 100 MB cap (a sparse file, so nothing is written).
    testing::write_bytes(p, le64(train::kMaxSafetensorsHeader + 8) + "{}");
    std::filesystem::resize_file(p, train::kMaxSafetensorsHeader + 64);
    check_throws_with<IOError>([&] { train::load_safetensors(p); }, {p, "header length 100000008", "100000000 byte limit"});
  }

  struct Case {
    std::string header, data;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      // JSON syntax
      {R"({"a":})", "", {"JSON syntax error", "byte 5", "expected a value"}},
      {R"({"a":{"dtype":"F32)", "", {"JSON syntax error", "unterminated string"}},
      {R"({} x)", "", {"JSON syntax error", "byte 3", "unexpected text"}},
      {R"({"a":1,"a":2})", "", {"JSON syntax error", "duplicate key 'a'"}},
      {R"({"a\q":1})", "", {"JSON syntax error", "invalid escape"}},
      {"{\"a\x01\":1}", "", {"JSON syntax error", "control character"}},
      {R"({"a":[1 2]})", "", {"JSON syntax error", "expected ',' or ']'"}},
      {R"({"a" 1})", "", {"JSON syntax error", "expected ':'"}},
      {R"({"a":1,})", "", {"JSON syntax error", "expected a string key"}},
      {R"({"a":-})", "", {"JSON syntax error", "expected a digit"}},
      {R"({"a":"\ud800"})", "", {"JSON syntax error", "unpaired surrogate"}},
      {R"({"a":tru})", "", {"JSON syntax error", "expected 'true'"}},
      {"{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}", "", {"JSON syntax error", "nesting deeper than 32"}},
      {"{\"a\":[0" +
           [] {
             std::string z;
             for (int i = 0; i < 1024; ++i) z += ",0";
             return z;
           }() +
           "]}",
       "",
       {"JSON syntax error", "array longer than 1024 items"}},
      {"{\"a\xff\":1}", "", {"not valid UTF-8", "byte 3"}},
      {"{\"a\xc0\xaf\":1}", "", {"not valid UTF-8", "byte 3"}},  // an overlong '/'

      // structure
      {R"([1])", "", {"header must be a JSON object", "an array"}},
      {R"({"a":5})", "", {"tensor 'a'", "must be an object", "a number"}},
      {R"({"a":{"dtype":"F32","shape":[1]}})", f4, {"tensor 'a'", "missing field 'data_offsets'"}},
      {R"({"a":{"shape":[1],"data_offsets":[0,4]}})", f4, {"tensor 'a'", "missing field 'dtype'"}},
      {R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", f4, {"tensor 'a'", "missing field 'shape'"}},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})", f4, {"tensor 'a'", "unknown field 'extra'"}},
      {R"({"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", f4, {"tensor 'a'", "field 'dtype' must be a string"}},
      {R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", f4, {"tensor 'a'", "unknown dtype 'F33'"}},
      {R"({"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", f4, {"tensor 'a'", "unsupported dtype 'F8_E4M3'"}},
      {R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,4]}})", f4, {"tensor 'a'", "field 'shape' must be an array"}},
      {R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
       f4,
       {"tensor 'a'", "'shape' entry 0", "non-negative integer", "-1"}},
      {R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", f4, {"tensor 'a'", "'shape' entry 0", "1.5"}},
      {R"({"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", f4, {"tensor 'a'", "'shape' entry 0", "a string"}},
      {R"({"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}})", f4, {"tensor 'a'", "too large"}},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})",
       f4,
       {"tensor 'a'", "'data_offsets' must be an array [begin, end]", "1 entries"}},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", f4, {"tensor 'a'", "[4, 0]", "begin > end"}},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f4, {"tensor 'a'", "[0, 8]", "past the 4 byte data region"}},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})",
       f4,
       {"tensor 'a'", "(2,) of F32 needs 8 bytes", "[0, 4] span 4"}},
      {R"({"a":{"dtype":"F64","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}})",
       f4,
       {"tensor 'a'", "needs more than 18446744073709551615 bytes"}},
      // layout of the data region
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       std::string(12, '\0'),
       {"tensor 'b'", "[4, 12]", "overlap tensor 'a'", "[0, 8]"}},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
       std::string(12, '\0'),
       {"bytes [4, 8)", "belong to no tensor", "before tensor 'b'"}},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
       f8,
       {"data region has 8 bytes", "cover only [0, 4)", "4 bytes left over"}},
      // metadata
      {R"({"__metadata__":[1]})", "", {"'__metadata__' must be an object", "an array"}},
      {R"({"__metadata__":{"epoch":3}})", "", {"'__metadata__' entry 'epoch' must be a string", "a number"}},
  };
  for (const Case& c : cases) {
    INFO("header: " << c.header);
    write_st(p, c.header, c.data);
    std::vector<std::string> parts = c.parts;
    parts.push_back("load_safetensors");
    parts.push_back(p);
    check_throws_with<IOError>([&] { train::load_safetensors(p); }, parts);
  }
  // Valid edge cases: whitespace padding, escaped names, empty tensors at the same offset.
  write_st(
      p,
      R"( { "a\u0062" : {"shape":[0],"dtype":"I64","data_offsets":[0,0]}, "c":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
      R"("z":{"dtype":"F32","shape":[0, 2],"data_offsets":[4,4]} }   )",
      std::string("\x00\x00\xc0\x3f", 4));
  const auto ok = train::load_safetensors(p);
  CHECK(ok.tensors.at("ab").shape() == Shape{0});
  CHECK(ok.tensors.at("c").item<float>() == 1.5f);
  CHECK(ok.tensors.at("z").shape() == Shape{0, 2});
}

TEST_CASE("safetensors: every truncation and every single-byte header corruption is an IOError or a valid load") {
  TempDir dir;
  const std::string good = dir.file("good.safetensors"), p = dir.file("cut.safetensors");
  train::save_safetensors(good, {{"a", arange(6.0).reshape({2, 3})}, {"b", tensor_int({1, 2})}}, {{"k", "v"}});
  const std::string bytes = testing::read_bytes(good);
  testing::write_bytes(p, bytes);
  for (std::size_t n = bytes.size(); n-- > 0;) {
    std::filesystem::resize_file(p, n);
    INFO("prefix of " << n << " bytes");
    CHECK_THROWS_AS(train::load_safetensors(p), IOError);
  }
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  int loaded = 0, rejected = 0;
  testing::write_bytes(p, bytes);
  auto poke = [&](std::size_t i, char c) {  // overwrites one byte in place
    std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(i));
    f.put(c);
  };
  for (std::size_t i = 0; i < 8 + header_len; ++i)
    for (int v : {0x00, 0x22, 0x2C, 0x30, 0x39, 0x5B, 0x7D, 0xFF}) {
      if (static_cast<unsigned char>(bytes[i]) == v) continue;
      poke(i, static_cast<char>(v));
      try {
        train::load_safetensors(p);
        ++loaded;
      } catch (const IOError&) {
        ++rejected;
      } catch (const std::exception& e) {
        FAIL("byte " << i << " = " << v << ": unexpected exception " << e.what());
      }
      poke(i, bytes[i]);
    }
  CHECK(rejected > 0);
  MESSAGE("single-byte corruptions: " << rejected << " rejected, " << loaded << " still valid (e.g. inside a name)");
}

TEST_CASE("safetensors: a SIGKILLed writer never leaves a partial file") {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  constexpr std::int64_t n = 1 << 19;  // 4 MB of int64 per version
  auto make = [&](std::int64_t version) {
    Tensor t = zeros({n}, kInt64);
    std::int64_t* d = t.mutable_data<std::int64_t>();
    for (std::int64_t i = 0; i < n; ++i) d[i] = version * n + i;
    return t;
  };
  // Checks that the file is one complete version; returns it.
  auto verify = [&]() -> std::int64_t {
    const train::Checkpoint c = train::load_safetensors(path);
    const std::int64_t version = std::stoll(c.metadata.at("version"));
    const Tensor& t = c.tensors.at("w");
    REQUIRE(t.shape() == Shape{n});
    const std::int64_t* d = t.data<std::int64_t>();
    std::int64_t bad = 0;
    for (std::int64_t i = 0; i < n; ++i) bad += d[i] != version * n + i;
    CHECK(bad == 0);
    CHECK(c.tensors.at("tail").item<double>() == double(version));
    return version;
  };
  const auto t0 = std::chrono::steady_clock::now();
  train::save_safetensors(path, {{"w", make(0)}, {"tail", scalar_tensor(0.0, kFloat64)}}, {{"version", "0"}});
  const auto save_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  // Kill delays spread over about three saves, so kills land before, during and after renames. A kill
  // that found the child neither writing nor done with a save (it was still starting: a busy machine)
  // widens the delays; at least one kill must land inside a write and at least one save complete.
  std::int64_t max_delay = std::max<std::int64_t>(3 * save_us, 2000);
  std::mt19937_64 rng(20240601);
  std::int64_t last = 0, interrupted = 0, kills = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(7);
  while ((kills < 40 && (kills < 24 || std::chrono::steady_clock::now() < deadline)) ||
         ((interrupted == 0 || last == 0) && kills < 200)) {
    const std::int64_t start = last + 1;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        for (std::int64_t v = start;; ++v)
          train::save_safetensors(path, {{"w", make(v)}, {"tail", scalar_tensor(double(v), kFloat64)}},
                                  {{"version", std::to_string(v)}});
      } catch (...) {
        ::_exit(3);
      }
    }
    std::this_thread::sleep_for(
        std::chrono::microseconds(200 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(max_delay))));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    ++kills;
    const std::string tmp = fmt::format("{}.tmp.{}", path, pid);
    const bool in_write = std::filesystem::exists(tmp);
    if (in_write) {
      ++interrupted;
      std::filesystem::remove(tmp);
    }
    const std::int64_t v = verify();
    CHECK(v >= last);  // versions only move forward
    if (!in_write && v == last) max_delay = max_delay * 3 / 2;
    last = v;
  }
  MESSAGE(kills << " kills, " << interrupted << " during a write, last complete version " << last << ", one save takes "
                << save_us << " us, kill delays up to " << max_delay << " us at the end");
  CHECK(kills >= 24);
  CHECK(interrupted > 0);
  CHECK(last > 0);
  CHECK(files_in(dir.path()) == std::vector<std::string>{"ckpt.safetensors"});
}
