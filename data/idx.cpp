#include "idx.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "../autograd/ops/factories.hpp"
#include "detail/io.hpp"

namespace xgrad::data {

namespace {

constexpr const char* kWho = "read_idx";

struct TypeInfo {
  const char* name;
  std::size_t size;
  bool floating;
  Dtype default_dtype;
};

std::optional<TypeInfo> type_info(unsigned code) {
  switch (code) {
    case 0x08:
      return TypeInfo{"ubyte", 1, false, kFloat32};
    case 0x09:
      return TypeInfo{"sbyte", 1, false, kFloat32};
    case 0x0B:
      return TypeInfo{"int16", 2, false, kFloat32};
    case 0x0C:
      return TypeInfo{"int32", 4, false, kInt64};
    case 0x0D:
      return TypeInfo{"float32", 4, true, kFloat32};
    case 0x0E:
      return TypeInfo{"float64", 8, true, kFloat64};
    default:
      return std::nullopt;
  }
}

std::uint64_t be_uint(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Decodes `count` big-endian elements of IDX type `code` into `out`.
template <class T>
void decode(unsigned code, const unsigned char* in, std::size_t count, T* out) {
  switch (code) {
    case 0x08:
      for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(in[i]);
      break;
    case 0x09:
      for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(static_cast<std::int8_t>(in[i]));
      break;
    case 0x0B:
      for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(static_cast<std::int16_t>(be_uint(in + 2 * i, 2)));
      break;
    case 0x0C:
      for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(static_cast<std::int32_t>(be_uint(in + 4 * i, 4)));
      break;
    case 0x0D:
      for (std::size_t i = 0; i < count; ++i)
        out[i] = static_cast<T>(std::bit_cast<float>(static_cast<std::uint32_t>(be_uint(in + 4 * i, 4))));
      break;
    default:  // 0x0E
      for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(std::bit_cast<double>(be_uint(in + 8 * i, 8)));
      break;
  }
}

class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      const int e = errno;
      throw IOError(fmt::format("{}: cannot open '{}': {}", kWho, path, e != 0 ? detail::errno_text(e) : "out of memory"));
    }
    gzbuffer(file_, 1 << 17);
  }
  ~GzReader() {
    if (file_ != nullptr) gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes; returns how many were read (fewer only at the end of the data).
  std::size_t read(void* buf, std::size_t n) {
    std::size_t total = 0;
    auto* p = static_cast<unsigned char*>(buf);
    while (total < n) {
      const auto want = static_cast<unsigned>(std::min<std::size_t>(n - total, 1u << 30));
      const int got = gzread(file_, p + total, want);
      if (got < 0) {
        int zerr = 0;
        const char* msg = gzerror(file_, &zerr);
        throw IOError(fmt::format("{}: cannot read '{}': {}", kWho, path_,
                                  zerr == Z_ERRNO ? detail::errno_text(errno) : std::string(msg ? msg : "gzip error")));
      }
      if (got == 0) break;
      total += static_cast<std::size_t>(got);
    }
    if (total < n) {
      // A gzip stream cut short ends quietly (gzerror says why); the caller reports the short read.
      int zerr = 0;
      const char* msg = gzerror(file_, &zerr);
      if (zerr != Z_OK && zerr != Z_STREAM_END) note_ = fmt::format(" (gzip: {})", msg ? msg : "error");
    }
    return total;
  }
  // " (gzip: <reason>)" after a short read caused by a damaged gzip stream, else "".
  const std::string& note() const { return note_; }
  bool compressed() const { return gzdirect(file_) == 0; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
  std::string note_;
};

}  // namespace

Tensor read_idx(const std::string& path, std::optional<Dtype> dtype, std::uint64_t max_bytes) {
  const std::uint64_t file_bytes = detail::file_size(path, kWho);
  GzReader in(path);
  unsigned char head[4];
  const std::size_t got_head = in.read(head, 4);
  if (got_head < 4)
    throw IOError(fmt::format("{}: '{}' is truncated: expected a 4-byte IDX magic number, the file has {} bytes{}", kWho, path,
                              got_head, in.note()));
  const auto magic = static_cast<std::uint32_t>(be_uint(head, 4));
  if (head[0] != 0 || head[1] != 0)
    throw IOError(
        fmt::format("{}: '{}' is not an IDX file: wrong magic number 0x{:08X} (an IDX file starts with two zero bytes, "
                    "a type code and the rank, e.g. 0x00000803 for ubyte images)",
                    kWho, path, magic));
  const unsigned code = head[2], rank = head[3];
  const auto info = type_info(code);
  if (!info)
    throw IOError(
        fmt::format("{}: '{}' has an unsupported IDX type code 0x{:02X} (magic number 0x{:08X}); known codes: 0x08 "
                    "ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64",
                    kWho, path, code, magic));
  if (rank == 0 || rank > 4)
    throw IOError(fmt::format("{}: '{}' declares rank {} (magic number 0x{:08X}); xgrad reads IDX files of rank 1 to 4", kWho,
                              path, rank, magic));
  unsigned char dim_bytes[16];
  const std::size_t header_bytes = 4 + 4 * std::size_t{rank};
  const std::size_t got_dims = in.read(dim_bytes, 4 * std::size_t{rank});
  if (got_dims < 4 * std::size_t{rank})
    throw IOError(fmt::format("{}: '{}' is truncated: expected {} header bytes for rank {}, got {}{}", kWho, path, header_bytes,
                              rank, 4 + got_dims, in.note()));
  Shape shape(rank);
  for (unsigned d = 0; d < rank; ++d) shape[d] = static_cast<std::int64_t>(be_uint(dim_bytes + 4 * d, 4));

  // Validate the declared size before allocating (each size < 2^32, rank <= 4: the product fits in
  // 128 bits; cap it first).
  unsigned __int128 declared = info->size;
  for (auto s : shape) {
    declared *= static_cast<std::uint64_t>(s);
    if (declared > max_bytes) break;
  }
  if (declared > max_bytes)
    throw IOError(
        fmt::format("{}: '{}' declares shape {} of {}, more than the {} byte cap (corrupt header? raise max_bytes "
                    "if the file really is that large)",
                    kWho, path, shape_str(shape), info->name, max_bytes));
  const auto data_bytes = static_cast<std::uint64_t>(declared);
  if (!in.compressed()) {
    const std::uint64_t actual = file_bytes - header_bytes;
    if (actual < data_bytes)
      throw IOError(fmt::format("{}: '{}' is truncated: shape {} of {} needs {} data bytes, the file has {}", kWho, path,
                                shape_str(shape), info->name, data_bytes, actual));
    if (actual > data_bytes)
      throw IOError(fmt::format("{}: '{}' has {} bytes after the data of shape {} of {} ({} data bytes expected, {} present)",
                                kWho, path, actual - data_bytes, shape_str(shape), info->name, data_bytes, actual));
  } else if (data_bytes > file_bytes * 1032 + 1024) {
    throw IOError(
        fmt::format("{}: '{}' declares shape {} of {} ({} bytes), but a gzip file of {} bytes decompresses to at "
                    "most {} bytes (truncated or corrupt header)",
                    kWho, path, shape_str(shape), info->name, data_bytes, file_bytes, file_bytes * 1032 + 1024));
  }

  const Dtype out_dtype = dtype.value_or(info->default_dtype);
  if (out_dtype == kInt64 && info->floating)
    throw DtypeError(
        fmt::format("{}: '{}' holds {} values; reading them as int64 would truncate them (ask for float32 or "
                    "float64)",
                    kWho, path, info->name));
  Tensor out = zeros(shape, out_dtype);
  const std::uint64_t count = static_cast<std::uint64_t>(out.numel());
  constexpr std::size_t kChunkElems = 1 << 16;
  std::vector<unsigned char> buf(kChunkElems * info->size);
  dispatch_all(out_dtype, [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.mutable_data<T>();
    std::uint64_t done = 0;
    while (done < count) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkElems, count - done));
      const std::size_t want = n * info->size;
      const std::size_t got = in.read(buf.data(), want);
      if (got < want)
        throw IOError(fmt::format("{}: '{}' is truncated: shape {} of {} needs {} data bytes, the file has {}{}", kWho, path,
                                  shape_str(shape), info->name, data_bytes, done * info->size + got, in.note()));
      decode<T>(code, buf.data(), n, dst + done);
      done += n;
    }
  });
  unsigned char extra[1];
  if (in.read(extra, 1) != 0)
    throw IOError(fmt::format("{}: '{}' has bytes after the data of shape {} of {} ({} data bytes expected)", kWho, path,
                              shape_str(shape), info->name, data_bytes));
  return out;
}

// ---- MNIST-style directories ----------------------------------------------------------------

namespace {

std::string find_file(const std::string& dir, const char* who, const std::string& name) {
  std::string alt = name;
  const auto dash = alt.find('-', alt.find('-') + 1);
  if (dash != std::string::npos) alt[dash] = '.';
  for (const std::string& base : {name, alt})
    for (const char* suffix : {"", ".gz"}) {
      const std::string p = dir + "/" + base + suffix;
      if (FILE* f = std::fopen(p.c_str(), "rb")) {
        std::fclose(f);
        return p;
      }
    }
  throw IOError(fmt::format("{}: '{}' has no file '{}' (nor '{}.gz', '{}', '{}.gz')", who, dir, name, name, alt, alt));
}

void load_split(const std::string& dir, const char* who, const char* prefix, Tensor& images, Tensor& labels) {
  const std::string ipath = find_file(dir, who, std::string(prefix) + "-images-idx3-ubyte");
  const std::string lpath = find_file(dir, who, std::string(prefix) + "-labels-idx1-ubyte");
  Tensor img = read_idx(ipath, kFloat32);
  if (img.dim() != 3 || img.size(1) != 28 || img.size(2) != 28)
    throw IOError(fmt::format("{}: '{}' holds shape {}, expected (N, 28, 28) images", who, ipath, shape_str(img.shape())));
  Tensor lab = read_idx(lpath, kInt64);
  if (lab.dim() != 1 || lab.size(0) != img.size(0))
    throw IOError(fmt::format("{}: '{}' holds shape {}, expected shape {} (one label per image of '{}')", who, lpath,
                              shape_str(lab.shape()), shape_str({img.size(0)}), ipath));
  const std::int64_t* l = lab.data<std::int64_t>();
  for (std::int64_t i = 0, n_ = lab.numel(); i < n_; ++i)
    if (l[i] < 0 || l[i] > 9) throw IOError(fmt::format("{}: '{}' has label {} at index {}, outside 0..9", who, lpath, l[i], i));
  float* p = img.mutable_data<float>();
  for (std::int64_t i = 0, n_ = img.numel(); i < n_; ++i) p[i] /= 255.0f;
  images = img.reshape({img.size(0), 28 * 28});
  labels = lab;
}

MnistData load_dir(const std::string& dir, const char* who) {
  MnistData d;
  load_split(dir, who, "train", d.train_images, d.train_labels);
  load_split(dir, who, "t10k", d.test_images, d.test_labels);
  return d;
}

}  // namespace

MnistData load_mnist(const std::string& dir) { return load_dir(dir, "load_mnist"); }

MnistData load_fashion_mnist(const std::string& dir) { return load_dir(dir, "load_fashion_mnist"); }

const std::array<std::string_view, 10>& fashion_mnist_classes() noexcept {
  static constexpr std::array<std::string_view, 10> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                             "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

}  // namespace xgrad::data
