// IDX reader (MNIST format) and the MNIST-style directory loaders.
#include <xgrad/data/data.hpp>

#include <bit>
#include <cstring>
#include <filesystem>

#include "data/temp_dir.hpp"
#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;
using xgrad::testing::TempDir;

namespace {

const std::string kFashion = "/usr/share/datasets/fashion-mnist";

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX header: 0, 0, type code, rank, then the sizes.
std::string idx_header(unsigned char code, const std::vector<std::uint32_t>& dims) {
  std::string s = {0, 0, static_cast<char>(code), static_cast<char>(dims.size())};
  for (auto d : dims) s += be32(d);
  return s;
}

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s += static_cast<char>(b);
  return s;
}

bool have_fashion() { return std::filesystem::exists(kFashion + "/train-labels-idx1-ubyte.gz"); }

}  // namespace

TEST_CASE("read_idx: real Fashion-MNIST files") {
  if (!have_fashion()) {
    MESSAGE("skipped: " << kFashion << " is missing");
    return;
  }
  const Tensor labels = data::read_idx(kFashion + "/train-labels-idx1-ubyte.gz", kInt64);
  CHECK(labels.shape() == Shape{60000});
  CHECK(labels.dtype() == kInt64);
  // Published facts: train labels start 9 (ankle boot), 0, 0, 3, 0, 2, 7, 2, 5, 5; 6000 per class.
  const auto l = labels.to_vector<std::int64_t>();
  CHECK(std::vector<std::int64_t>(l.begin(), l.begin() + 10) == std::vector<std::int64_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5});
  std::vector<int> counts(10, 0);
  for (auto v : l) {
    REQUIRE(v >= 0);
    REQUIRE(v <= 9);
    ++counts[static_cast<std::size_t>(v)];
  }
  for (int c : counts) CHECK(c == 6000);
  const Tensor images = data::read_idx(kFashion + "/train-images-idx3-ubyte.gz");
  CHECK(images.shape() == Shape{60000, 28, 28});
  CHECK(images.dtype() == kFloat32);  // ubyte default
  const float* p = images.data<float>();
  double sum0 = 0.0, mx = 0.0;
  for (int i = 0; i < 784; ++i) {
    sum0 += p[i];
    mx = std::max(mx, double(p[i]));
  }
  // Pixel sum and max of the first image, from Python's gzip module (an independent reader).
  CHECK(sum0 == 76247.0);
  CHECK(mx == 255.0);
}

TEST_CASE("load_fashion_mnist: shapes, ranges, labels") {
  if (!have_fashion()) {
    MESSAGE("skipped: " << kFashion << " is missing");
    return;
  }
  const data::MnistData d = data::load_fashion_mnist(kFashion);
  CHECK(d.train_images.shape() == Shape{60000, 784});
  CHECK(d.train_images.dtype() == kFloat32);
  CHECK(d.test_images.shape() == Shape{10000, 784});
  CHECK(d.train_labels.shape() == Shape{60000});
  CHECK(d.test_labels.shape() == Shape{10000});
  CHECK(d.train_labels.dtype() == kInt64);
  CHECK(d.train_labels.at({0}) == 9.0);
  CHECK(data::fashion_mnist_classes()[9] == "Ankle boot");
  // Published fact: t10k labels start 9, 2, 1, 1, 6; 1000 per class.
  const auto t = d.test_labels.to_vector<std::int64_t>();
  CHECK(std::vector<std::int64_t>(t.begin(), t.begin() + 5) == std::vector<std::int64_t>{9, 2, 1, 1, 6});
  std::vector<int> counts(10, 0);
  for (auto v : t) ++counts[static_cast<std::size_t>(v)];
  for (int c : counts) CHECK(c == 1000);
  const float* p = d.train_images.data<float>();
  float lo = 1, hi = 0;
  double sum0 = 0;
  for (std::int64_t i = 0; i < d.train_images.numel(); ++i) {
    lo = std::min(lo, p[i]);
    hi = std::max(hi, p[i]);
  }
  for (int i = 0; i < 784; ++i) sum0 += p[i];
  CHECK(lo == 0.0f);
  CHECK(hi == 1.0f);
  CHECK(sum0 == doctest::Approx(76247.0 / 255.0).epsilon(1e-6));
}

TEST_CASE("read_idx: every type code, plain and gzip") {
  TempDir dir;
  // ubyte (2, 3)
  const std::string ub = idx_header(0x08, {2, 3}) + bytes({0, 1, 2, 253, 254, 255});
  for (bool gz : {false, true}) {
    const std::string path = dir.file(gz ? "ub.gz" : "ub");
    gz ? testing::write_gz(path, ub) : testing::write_bytes(path, ub);
    const Tensor t = data::read_idx(path);
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.dtype() == kFloat32);
    CHECK(t.to_vector<double>() == std::vector<double>{0, 1, 2, 253, 254, 255});
    const Tensor l = data::read_idx(path, kInt64);
    CHECK(l.dtype() == kInt64);
    CHECK(l.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 253, 254, 255});
    CHECK(data::read_idx(path, kFloat64).dtype() == kFloat64);
  }
  // A gzip file named without .gz is still decompressed (detected from the content).
  testing::write_gz(dir.file("gz_no_suffix"), ub);
  CHECK(data::read_idx(dir.file("gz_no_suffix")).numel() == 6);
  // sbyte
  testing::write_bytes(dir.file("sb"), idx_header(0x09, {3}) + bytes({0x80, 0xFF, 0x7F}));
  CHECK(data::read_idx(dir.file("sb")).to_vector<double>() == std::vector<double>{-128, -1, 127});
  // int16 (big-endian)
  testing::write_bytes(dir.file("i16"), idx_header(0x0B, {2}) + bytes({0x01, 0x02, 0xFF, 0xFE}));
  CHECK(data::read_idx(dir.file("i16")).to_vector<double>() == std::vector<double>{258, -2});
  // int32 -> int64
  testing::write_bytes(dir.file("i32"), idx_header(0x0C, {2}) + be32(0x01020304) + be32(0xFFFFFFFF));
  const Tensor i32 = data::read_idx(dir.file("i32"));
  CHECK(i32.dtype() == kInt64);
  CHECK(i32.to_vector<std::int64_t>() == std::vector<std::int64_t>{16909060, -1});
  // float32: 1.5 = 0x3FC00000, -2.25 = 0xC0100000
  testing::write_bytes(dir.file("f32"), idx_header(0x0D, {1, 2}) + be32(0x3FC00000) + be32(0xC0100000));
  const Tensor f32 = data::read_idx(dir.file("f32"));
  CHECK(f32.dtype() == kFloat32);
  CHECK(f32.to_vector<double>() == std::vector<double>{1.5, -2.25});
  // float64: 0.1 = 0x3FB999999999999A
  testing::write_bytes(dir.file("f64"), idx_header(0x0E, {1}) + be32(0x3FB99999) + be32(0x9999999A));
  const Tensor f64 = data::read_idx(dir.file("f64"));
  CHECK(f64.dtype() == kFloat64);
  CHECK(f64.item<double>() == 0.1);
  // rank 4, and a zero-sized dimension
  std::string r4 = idx_header(0x08, {1, 2, 1, 2});
  r4 += bytes({1, 2, 3, 4});
  testing::write_bytes(dir.file("r4"), r4);
  CHECK(data::read_idx(dir.file("r4")).shape() == Shape{1, 2, 1, 2});
  testing::write_bytes(dir.file("empty"), idx_header(0x08, {0, 28}));
  CHECK(data::read_idx(dir.file("empty")).shape() == Shape{0, 28});
}

TEST_CASE("read_idx: errors name the file and the problem") {
  TempDir dir;
  const std::string missing = dir.file("nope-idx1-ubyte");
  check_throws_with<IOError>([&] { data::read_idx(missing); }, {"read_idx", missing, "No such file"});
  check_throws_with<IOError>([&] { data::read_idx(dir.path()); }, {"read_idx", dir.path(), "directory"});

  const std::string magic = dir.file("magic");
  testing::write_bytes(magic, bytes({0x12, 0x34, 0x08, 0x01}) + be32(1) + bytes({0}));
  check_throws_with<IOError>([&] { data::read_idx(magic); }, {"read_idx", magic, "wrong magic number", "0x12340801"});

  const std::string code = dir.file("code");
  testing::write_bytes(code, idx_header(0x0A, {1}) + bytes({0}));
  check_throws_with<IOError>([&] { data::read_idx(code); }, {"read_idx", code, "unsupported", "type code 0x0A", "0x00000A01"});

  const std::string rank0 = dir.file("rank0");
  testing::write_bytes(rank0, idx_header(0x08, {}) + bytes({7}));
  check_throws_with<IOError>([&] { data::read_idx(rank0); }, {"read_idx", rank0, "rank 0"});
  const std::string rank5 = dir.file("rank5");
  testing::write_bytes(rank5, idx_header(0x08, {1, 1, 1, 1, 1}) + bytes({7}));
  check_throws_with<IOError>([&] { data::read_idx(rank5); }, {"read_idx", rank5, "rank 5"});

  const std::string tiny = dir.file("tiny");
  testing::write_bytes(tiny, bytes({0, 0}));
  check_throws_with<IOError>([&] { data::read_idx(tiny); }, {"read_idx", tiny, "truncated", "4-byte", "2 bytes"});
  const std::string dims = dir.file("dims");
  testing::write_bytes(dims, idx_header(0x08, {2, 3}).substr(0, 9));
  check_throws_with<IOError>([&] { data::read_idx(dims); }, {"read_idx", dims, "truncated", "12 header bytes", "got 9"});

  // Truncated data: plain (checked against the file size before allocating) and gzip (while reading).
  const std::string trunc = dir.file("trunc");
  const std::string short_data = idx_header(0x08, {2, 3}) + bytes({1, 2, 3, 4});
  testing::write_bytes(trunc, short_data);
  check_throws_with<IOError>([&] { data::read_idx(trunc); }, {"read_idx", trunc, "truncated", "(2, 3)", "needs 6", "has 4"});
  const std::string trunc_gz = dir.file("trunc.gz");
  testing::write_gz(trunc_gz, short_data);
  check_throws_with<IOError>([&] { data::read_idx(trunc_gz); }, {"read_idx", trunc_gz, "truncated", "needs 6", "has 4"});
  // A gzip stream cut in the middle (the compressed file itself is truncated).
  std::string payload = idx_header(0x08, {100, 100});
  for (int i = 0; i < 10000; ++i) payload += static_cast<char>((i * 7919) % 251);
  const std::string full_gz = dir.file("full.gz");
  testing::write_gz(full_gz, payload);
  const std::string compressed = testing::read_bytes(full_gz);
  const std::string cut_gz = dir.file("cut.gz");
  testing::write_bytes(cut_gz, compressed.substr(0, compressed.size() / 2));
  check_throws_with<IOError>([&] { data::read_idx(cut_gz); }, {"read_idx", cut_gz, "truncated", "needs 10000", "gzip"});
  CHECK(data::read_idx(full_gz).numel() == 10000);

  // Extra bytes after the data.
  const std::string extra = dir.file("extra");
  testing::write_bytes(extra, idx_header(0x08, {2}) + bytes({1, 2, 3}));
  check_throws_with<IOError>([&] { data::read_idx(extra); }, {"read_idx", extra, "1 bytes after the data", "(2,)"});
  const std::string extra_gz = dir.file("extra.gz");
  testing::write_gz(extra_gz, idx_header(0x08, {2}) + bytes({1, 2, 3}));
  check_throws_with<IOError>([&] { data::read_idx(extra_gz); }, {"read_idx", extra_gz, "bytes after the data"});

  // Huge declared sizes are refused before any allocation: over the cap...
  const std::string huge = dir.file("huge");
  testing::write_bytes(huge, idx_header(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}) + bytes({1}));
  check_throws_with<IOError>([&] { data::read_idx(huge); }, {"read_idx", huge, "(4294967295, 4294967295", "cap"});
  // ...or under the cap but larger than the file can hold (plain and gzip).
  const std::string big = dir.file("big");
  testing::write_bytes(big, idx_header(0x08, {60000, 28, 28}) + bytes({1, 2}));
  check_throws_with<IOError>([&] { data::read_idx(big); }, {"read_idx", big, "truncated", "needs 47040000", "has 2"});
  const std::string big_gz = dir.file("big.gz");
  testing::write_gz(big_gz, idx_header(0x08, {60000, 28, 28}) + bytes({1, 2}));
  check_throws_with<IOError>([&] { data::read_idx(big_gz); }, {"read_idx", big_gz, "47040000 bytes", "decompresses to at most"});
  // A custom cap.
  check_throws_with<IOError>([&] { data::read_idx(extra, std::nullopt, 1); }, {"read_idx", extra, "1 byte cap"});

  // Asking for int64 from floating-point data.
  testing::write_bytes(dir.file("f"), idx_header(0x0D, {1}) + be32(0x3FC00000));
  check_throws_with<DtypeError>([&] { data::read_idx(dir.file("f"), kInt64); }, {"read_idx", "float32", "int64"});
}

namespace {
// Writes an MNIST-style directory with n_train / n_test tiny images (pixel = (image + pixel) % 256).
void write_mnist_dir(const TempDir& dir, std::int64_t n_train, std::int64_t n_test, bool gz, int bad_label = -1) {
  auto write = [&](const std::string& name, const std::string& content) {
    gz ? testing::write_gz(dir.file(name + ".gz"), content) : testing::write_bytes(dir.file(name), content);
  };
  for (auto [prefix, n] : {std::pair{"train", n_train}, std::pair{"t10k", n_test}}) {
    std::string img = idx_header(0x08, {static_cast<std::uint32_t>(n), 28, 28});
    std::string lab = idx_header(0x08, {static_cast<std::uint32_t>(n)});
    for (std::int64_t i = 0; i < n; ++i) {
      for (int p = 0; p < 784; ++p) img += static_cast<char>((i + p) % 256);
      lab += static_cast<char>(bad_label >= 0 && i == 1 ? bad_label : i % 10);
    }
    write(std::string(prefix) + "-images-idx3-ubyte", img);
    write(std::string(prefix) + "-labels-idx1-ubyte", lab);
  }
}
}  // namespace

TEST_CASE("load_mnist: small synthetic directories, plain and gzip") {
  for (bool gz : {false, true}) {
    TempDir dir;
    write_mnist_dir(dir, 12, 3, gz);
    const data::MnistData d = data::load_mnist(dir.path());
    CHECK(d.train_images.shape() == Shape{12, 784});
    CHECK(d.test_images.shape() == Shape{3, 784});
    CHECK(d.train_labels.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1});
    // image 2, pixel 5 holds (2 + 5) = 7 -> 7/255.
    CHECK(d.train_images.at({2, 5}) == doctest::Approx(7.0 / 255.0).epsilon(1e-7));
    CHECK(d.train_images.data<float>()[2 * 784 + 5] == 7.0f / 255.0f);
    CHECK(d.test_images.at({0, 255}) == doctest::Approx(1.0));
  }
}

TEST_CASE("load_mnist: errors name the directory or file") {
  TempDir empty;
  check_throws_with<IOError>([&] { data::load_mnist(empty.path()); },
                             {"load_mnist", empty.path(), "train-images-idx3-ubyte", ".gz"});
  TempDir bad;
  write_mnist_dir(bad, 4, 2, false, 12);
  check_throws_with<IOError>([&] { data::load_fashion_mnist(bad.path()); },
                             {"load_fashion_mnist", "train-labels-idx1-ubyte", "label 12", "index 1", "0..9"});
  TempDir mismatch;
  write_mnist_dir(mismatch, 4, 2, false);
  testing::write_bytes(mismatch.file("t10k-labels-idx1-ubyte"), idx_header(0x08, {3}) + bytes({1, 2, 3}));
  check_throws_with<IOError>([&] { data::load_mnist(mismatch.path()); }, {"load_mnist", "t10k-labels-idx1-ubyte", "(3,)", "(2,)"});
  TempDir shape;
  write_mnist_dir(shape, 4, 2, false);
  testing::write_bytes(shape.file("train-images-idx3-ubyte"), idx_header(0x08, {1, 2, 2}) + bytes({1, 2, 3, 4}));
  check_throws_with<IOError>([&] { data::load_mnist(shape.path()); }, {"load_mnist", "train-images-idx3-ubyte", "(1, 2, 2)", "28, 28"});
}
