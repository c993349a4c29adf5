#include "checkpoint.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "../autograd/ops/factories.hpp"

namespace xgrad::train {

static_assert(std::endian::native == std::endian::little,
              "safetensors data are little-endian; this file copies raw bytes and needs a little-endian host");

namespace {

std::string errno_text(int e) {
  char buf[256];
  return strerror_r(e, buf, sizeof buf);  // GNU variant: returns the message
}

// ---- a small JSON reader and writer ---------------------------------------------------------

struct Json {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  std::string text;  // the string value, or the number's literal text
  std::vector<Json> items;
  struct Member;  // {key, value}; a nested struct rather than std::pair<std::string, Json>, which clang 14
                  // cannot instantiate while Json is incomplete
  std::vector<Member> members;
  std::size_t offset = 0;  // byte offset in the header where the value starts
};
struct Json::Member {
  std::string first;
  Json second;
};

const char* kind_name(Json::Kind k) {
  switch (k) {
    case Json::Kind::null:
      return "null";
    case Json::Kind::boolean:
      return "a boolean";
    case Json::Kind::number:
      return "a number";
    case Json::Kind::string:
      return "a string";
    case Json::Kind::array:
      return "an array";
    default:
      return "an object";
  }
}

// Position of the first byte that is not part of valid UTF-8, or npos.
std::size_t invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80)
      len = 1, cp = c;
    else if ((c & 0xE0) == 0xC0)
      len = 2, cp = c & 0x1Fu;
    else if ((c & 0xF0) == 0xE0)
      len = 3, cp = c & 0x0Fu;
    else if ((c & 0xF8) == 0xF0)
      len = 4, cp = c & 0x07u;
    else
      return i;
    if (i + len > s.size()) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and values above U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp < 0xE000))
      return i;
    i += len;
  }
  return std::string_view::npos;
}

// Arrays in a safetensors header are shapes and offsets: this bounds the parse tree of a hostile
// header (a 100 MB array of zeros would otherwise become 50 million nodes).
constexpr std::size_t kMaxArrayItems = 1024;

class JsonParser {
 public:
  JsonParser(std::string_view text, std::string context) : s_(text), context_(std::move(context)) {}

  Json parse_document() {
    skip_ws();
    Json v = parse_value(0);
    skip_ws();
    if (i_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string near;
    if (i_ < s_.size()) {
      const std::string_view window = s_.substr(i_, 20);
      near = " near '";
      for (char c : window) near += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
      near += "'";
    } else {
      near = " at the end of the header";
    }
    throw IOError(fmt::format("{}: header JSON syntax error at byte {}: {}{}", context_, i_, what, near));
  }

  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  void expect_literal(std::string_view lit) {
    if (s_.substr(i_, lit.size()) != lit) fail(fmt::format("expected '{}'", lit));
    i_ += lit.size();
  }

  Json parse_value(int depth) {
    if (depth > 32) fail("nesting deeper than 32 levels");
    Json v;
    v.offset = i_;
    if (i_ >= s_.size()) fail("expected a value");
    const char c = s_[i_];
    if (c == '{') {
      v.kind = Json::Kind::object;
      ++i_;
      skip_ws();
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return v;
      }
      for (;;) {
        skip_ws();
        if (i_ >= s_.size() || s_[i_] != '"') fail("expected a string key");
        const std::size_t key_at = i_;
        std::string key = parse_string();
        for (const auto& m : v.members)
          if (m.first == key) {
            i_ = key_at;
            fail(fmt::format("duplicate key '{}'", key));
          }
        skip_ws();
        if (i_ >= s_.size() || s_[i_] != ':') fail("expected ':'");
        ++i_;
        skip_ws();
        Json member = parse_value(depth + 1);
        v.members.push_back({std::move(key), std::move(member)});
        skip_ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == '}') {
          ++i_;
          return v;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = Json::Kind::array;
      ++i_;
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return v;
      }
      for (;;) {
        skip_ws();
        if (v.items.size() == kMaxArrayItems) fail(fmt::format("array longer than {} items", kMaxArrayItems));
        v.items.push_back(parse_value(depth + 1));
        skip_ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == ']') {
          ++i_;
          return v;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.kind = Json::Kind::string;
      v.text = parse_string();
      return v;
    }
    if (c == 't') {
      expect_literal("true");
      v.kind = Json::Kind::boolean;
      v.boolean = true;
      return v;
    }
    if (c == 'f') {
      expect_literal("false");
      v.kind = Json::Kind::boolean;
      return v;
    }
    if (c == 'n') {
      expect_literal("null");
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Json::Kind::number;
      v.text = parse_number();
      return v;
    }
    fail("expected a value");
  }

  bool digit() const { return i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9'; }

  std::string parse_number() {
    const std::size_t start = i_;
    if (s_[i_] == '-') ++i_;
    if (!digit()) fail("expected a digit");
    if (s_[i_] == '0') {
      ++i_;
    } else {
      while (digit()) ++i_;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digit()) fail("expected a digit after '.'");
      while (digit()) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digit()) fail("expected a digit in the exponent");
      while (digit()) ++i_;
    }
    return std::string(s_.substr(start, i_ - start));
  }

  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else {
        --i_;
        fail("invalid hex digit in a \\u escape");
      }
    }
    return v;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string parse_string() {
    ++i_;  // opening quote
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_];
      if (c == '"') {
        ++i_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        ++i_;
        continue;
      }
      ++i_;
      if (i_ >= s_.size()) fail("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (s_.substr(i_, 2) != "\\u") fail("unpaired surrogate in a \\u escape");
            i_ += 2;
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("invalid low surrogate in a \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("unpaired surrogate in a \\u escape");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --i_;
          fail(fmt::format("invalid escape '\\{}'", e));
      }
    }
  }

  std::string_view s_;
  std::string context_;
  std::size_t i_ = 0;
};

void write_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else
          out += c;
    }
  }
  out += '"';
}

// ---- dtypes ---------------------------------------------------------------------------------

struct FileDtype {
  std::string_view name;
  std::size_t size;
  Dtype loads_as;
};

constexpr FileDtype kFileDtypes[] = {{"F32", 4, kFloat32}, {"F64", 8, kFloat64}, {"I64", 8, kInt64},   {"BOOL", 1, kInt64},
                                     {"U8", 1, kInt64},    {"I8", 1, kInt64},    {"U16", 2, kInt64},   {"I16", 2, kInt64},
                                     {"U32", 4, kInt64},   {"I32", 4, kInt64},   {"F16", 2, kFloat32}, {"BF16", 2, kFloat32}};

const char* file_dtype_name(Dtype d) { return d == kFloat32 ? "F32" : d == kFloat64 ? "F64" : "I64"; }

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));  // inf / nan
  if (exp == 0) {
    // zero or subnormal: mant * 2^-24, exact in float
    const float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

template <class Src>
Src load_le(const unsigned char* p) {
  Src v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Converts n elements of a narrower file dtype into the tensor's elements.
void convert_into(std::string_view name, const unsigned char* in, std::size_t n, Tensor& out) {
  if (name == "F16" || name == "BF16") {
    float* o = out.mutable_data<float>();
    for (std::size_t i = 0; i < n; ++i) {
      const auto h = load_le<std::uint16_t>(in + 2 * i);
      o[i] = name == "F16" ? half_to_float(h) : std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
    }
    return;
  }
  std::int64_t* o = out.mutable_data<std::int64_t>();
  for (std::size_t i = 0; i < n; ++i) {
    if (name == "BOOL" || name == "U8")
      o[i] = in[i];
    else if (name == "I8")
      o[i] = static_cast<std::int8_t>(in[i]);
    else if (name == "U16")
      o[i] = load_le<std::uint16_t>(in + 2 * i);
    else if (name == "I16")
      o[i] = load_le<std::int16_t>(in + 2 * i);
    else if (name == "U32")
      o[i] = load_le<std::uint32_t>(in + 4 * i);
    else
      o[i] = load_le<std::int32_t>(in + 4 * i);
  }
}

const std::byte* bytes_of(const Tensor& t) {
  return dispatch_all(t.dtype(), [&](auto tag) { return reinterpret_cast<const std::byte*>(t.data<decltype(tag)>()); });
}

// ---- file helpers ---------------------------------------------------------------------------

// Writes everything or returns the errno of the failure.
int write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<std::size_t>(n, std::size_t{1} << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return 0;
}

// Reads exactly n bytes at `offset`, or returns the errno of the failure (kShortRead at the end of the file).
constexpr int kShortRead = -1;
std::string read_error(int e) {
  return e == kShortRead ? std::string("unexpected end of file (was the file changed while it was read?)") : errno_text(e);
}
int read_at(int fd, void* data, std::size_t n, std::uint64_t offset) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, std::min<std::size_t>(n, std::size_t{1} << 30), static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) return kShortRead;
    p += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return 0;
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and returns the errno of a failed close (0 on success).
  int close() {
    const int r = ::close(fd_);
    fd_ = -1;
    return r == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

}  // namespace

// ---- save -----------------------------------------------------------------------------------

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  constexpr const char* who = "save_safetensors";
  // Validate and lay out before touching the disk.
  std::vector<Tensor> contiguous;
  contiguous.reserve(tensors.size());
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      for (const std::string* str : {&k, &v})
        if (invalid_utf8(*str) != std::string_view::npos)
          throw ValueError(
              fmt::format("{}: '{}': metadata {} '{}' is not valid UTF-8", who, path, str == &k ? "key" : "value of", k));
      if (!first) header += ',';
      first = false;
      write_json_string(header, k);
      header += ':';
      write_json_string(header, v);
    }
    header += '}';
  }
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) throw ValueError(fmt::format("{}: '{}': a tensor has an empty name", who, path));
    if (name == "__metadata__")
      throw ValueError(fmt::format("{}: '{}': the name '__metadata__' is reserved for the metadata", who, path));
    if (!t.defined()) throw ValueError(fmt::format("{}: '{}': tensor '{}' is undefined", who, path, name));
    if (invalid_utf8(name) != std::string_view::npos)
      throw ValueError(fmt::format("{}: '{}': tensor name '{}' is not valid UTF-8", who, path, name));
    contiguous.push_back(t.detach().contiguous());
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * dtype_size(t.dtype());
    if (header.size() > 1) header += ',';
    write_json_string(header, name);
    header += fmt::format(":{{\"dtype\":\"{}\",\"shape\":[", file_dtype_name(t.dtype()));
    for (std::size_t d = 0; d < t.shape().size(); ++d) header += fmt::format("{}{}", d ? "," : "", t.shape()[d]);
    header += fmt::format("],\"data_offsets\":[{},{}]}}", offset, offset + bytes);
    offset += bytes;
  }
  header += '}';
  while (header.size() % 8 != 0) header += ' ';
  const std::uint64_t header_len = header.size();

  // Note [atomic save]: write a temporary file, fsync it, rename it over the target, fsync the
  // directory. rename() is atomic on POSIX file systems: readers see the old or the new file, never a
  // mix. The fsync before the rename makes sure the new name never points at unwritten blocks after a
  // power loss; the directory fsync makes the rename itself durable.
  const std::string tmp = fmt::format("{}.tmp.{}", path, static_cast<long>(::getpid()));
  auto fail = [&](const std::string& what, int err, bool remove_tmp) {
    if (remove_tmp) ::unlink(tmp.c_str());
    throw IOError(fmt::format("{}: cannot write '{}': {}: {}", who, path, what, errno_text(err)));
  };
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666));
  if (fd.get() < 0) {
    const int e = errno;  // read before formatting (which may allocate)
    fail(fmt::format("cannot create the temporary file '{}'", tmp), e, false);
  }
  if (int e = write_all(fd.get(), &header_len, 8)) fail("write failed", e, true);
  if (int e = write_all(fd.get(), header.data(), header.size())) fail("write failed", e, true);
  for (const Tensor& t : contiguous) {
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
    if (bytes == 0) continue;
    if (int e = write_all(fd.get(), bytes_of(t), bytes)) fail("write failed", e, true);
  }
  if (::fsync(fd.get()) != 0) {
    const int e = errno;
    fail("fsync failed", e, true);
  }
  if (int e = fd.close()) fail("close failed", e, true);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    fail(fmt::format("cannot rename '{}' over it", tmp), e, true);
  }
  const std::string dir = parent_dir(path);
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) {
    const int e = errno;
    fail(fmt::format("cannot open the directory '{}' to fsync it", dir), e, false);
  }
  // Some file systems do not support fsync on directories (EINVAL); the rename is done anyway.
  if (::fsync(dfd.get()) != 0) {
    const int e = errno;
    if (e != EINVAL && e != EROFS) fail(fmt::format("fsync of the directory '{}' failed", dir), e, false);
  }
}

// ---- load -----------------------------------------------------------------------------------

namespace {

struct Entry {
  std::string name;
  const FileDtype* dtype = nullptr;
  Shape shape;
  std::uint64_t begin = 0, end = 0;
};

std::uint64_t as_uint(const Json& v, const std::string& ctx, const std::string& what) {
  if (v.kind != Json::Kind::number || v.text.empty() || v.text.find_first_not_of("0123456789") != std::string::npos)
    throw IOError(fmt::format("{}: {} must be a non-negative integer, got {}", ctx, what,
                              v.kind == Json::Kind::number ? v.text : kind_name(v.kind)));
  if (v.text.size() > 1 && v.text[0] == '0') throw IOError(fmt::format("{}: {} has a leading zero: {}", ctx, what, v.text));
  std::uint64_t x = 0;
  for (char c : v.text) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (x > (UINT64_MAX - d) / 10) throw IOError(fmt::format("{}: {} is too large: {}", ctx, what, v.text));
    x = x * 10 + d;
  }
  return x;
}

}  // namespace

Checkpoint load_safetensors(const std::string& path) {
  const std::string ctx = fmt::format("load_safetensors: '{}'", path);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int e = errno;
    throw IOError(fmt::format("{}: cannot open: {}", ctx, errno_text(e)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw IOError(fmt::format("{}: cannot stat: {}", ctx, errno_text(errno)));
  if (S_ISDIR(st.st_mode)) throw IOError(fmt::format("{}: is a directory", ctx));
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (file_size < 8)
    throw IOError(fmt::format("{}: the file has {} bytes, too short for the 8-byte header length (truncated?)", ctx, file_size));
  std::uint64_t header_len = 0;
  if (int e = read_at(fd.get(), &header_len, 8, 0)) throw IOError(fmt::format("{}: cannot read: {}", ctx, read_error(e)));
  if (header_len > file_size - 8)
    throw IOError(
        fmt::format("{}: the header length {} exceeds the {} bytes after the length field (file of {} bytes: "
                    "truncated, or not a safetensors file)",
                    ctx, header_len, file_size - 8, file_size));
  if (header_len > kMaxSafetensorsHeader)
    throw IOError(fmt::format("{}: the header length {} exceeds the {} byte limit", ctx, header_len, kMaxSafetensorsHeader));
  if (header_len < 2) throw IOError(fmt::format("{}: the header length {} is too small for a JSON object", ctx, header_len));
  std::string header(static_cast<std::size_t>(header_len), '\0');
  if (int e = read_at(fd.get(), header.data(), header.size(), 8))
    throw IOError(fmt::format("{}: cannot read the header: {}", ctx, read_error(e)));
  const std::uint64_t data_start = 8 + header_len;
  const std::uint64_t data_size = file_size - data_start;

  if (const std::size_t bad = invalid_utf8(header); bad != std::string_view::npos)
    throw IOError(fmt::format("{}: the header is not valid UTF-8 (byte {} of the header)", ctx, bad));
  const Json root = JsonParser(header, ctx).parse_document();
  if (root.kind != Json::Kind::object)
    throw IOError(fmt::format("{}: the header must be a JSON object, got {}", ctx, kind_name(root.kind)));

  Checkpoint out;
  std::vector<Entry> entries;
  for (const auto& [name, v] : root.members) {
    if (name == "__metadata__") {
      if (v.kind != Json::Kind::object)
        throw IOError(fmt::format("{}: '__metadata__' must be an object of strings, got {}", ctx, kind_name(v.kind)));
      for (const auto& [k, s] : v.members) {
        if (s.kind != Json::Kind::string)
          throw IOError(fmt::format("{}: '__metadata__' entry '{}' must be a string, got {}", ctx, k, kind_name(s.kind)));
        out.metadata[k] = s.text;
      }
      continue;
    }
    const std::string where = fmt::format("{}: tensor '{}'", ctx, name);
    if (v.kind != Json::Kind::object)
      throw IOError(
          fmt::format("{}: the entry must be an object with dtype, shape and data_offsets, got {}", where, kind_name(v.kind)));
    const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (const auto& [field, fv] : v.members) {
      if (field == "dtype")
        dtype = &fv;
      else if (field == "shape")
        shape = &fv;
      else if (field == "data_offsets")
        offsets = &fv;
      else
        throw IOError(fmt::format("{}: unknown field '{}' (expected dtype, shape, data_offsets)", where, field));
    }
    for (auto [p, field] : {std::pair{dtype, "dtype"}, std::pair{shape, "shape"}, std::pair{offsets, "data_offsets"}})
      if (p == nullptr) throw IOError(fmt::format("{}: missing field '{}'", where, field));
    Entry e;
    e.name = name;
    if (dtype->kind != Json::Kind::string)
      throw IOError(fmt::format("{}: field 'dtype' must be a string, got {}", where, kind_name(dtype->kind)));
    for (const FileDtype& fdt : kFileDtypes)
      if (fdt.name == dtype->text) e.dtype = &fdt;
    if (e.dtype == nullptr) {
      const bool known = dtype->text == "U64" || dtype->text.starts_with("F8_");
      throw IOError(
          fmt::format("{}: field 'dtype': {} dtype '{}' (xgrad reads F32, F64, I64, F16, BF16, BOOL, U8, I8, U16, I16, "
                      "U32, I32)",
                      where, known ? "unsupported" : "unknown", dtype->text));
    }
    if (shape->kind != Json::Kind::array)
      throw IOError(fmt::format("{}: field 'shape' must be an array, got {}", where, kind_name(shape->kind)));
    // Byte size of the shape, saturating above the data region (so nothing can overflow).
    unsigned __int128 bytes = e.dtype->size;
    bool zero = false;
    for (std::size_t d = 0; d < shape->items.size(); ++d) {
      const std::uint64_t s = as_uint(shape->items[d], where, fmt::format("field 'shape' entry {}", d));
      if (s > static_cast<std::uint64_t>(INT64_MAX))
        throw IOError(fmt::format("{}: field 'shape' entry {} is too large: {}", where, d, s));
      e.shape.push_back(static_cast<std::int64_t>(s));
      if (s == 0) zero = true;
      if (bytes <= UINT64_MAX) bytes *= s;  // bytes <= 2^64 and s < 2^63: no 128-bit overflow
    }
    if (zero) bytes = 0;
    if (offsets->kind != Json::Kind::array || offsets->items.size() != 2)
      throw IOError(fmt::format(
          "{}: field 'data_offsets' must be an array [begin, end], got {}", where,
          offsets->kind == Json::Kind::array ? fmt::format("{} entries", offsets->items.size()) : kind_name(offsets->kind)));
    e.begin = as_uint(offsets->items[0], where, "field 'data_offsets' begin");
    e.end = as_uint(offsets->items[1], where, "field 'data_offsets' end");
    if (e.begin > e.end) throw IOError(fmt::format("{}: field 'data_offsets' [{}, {}] has begin > end", where, e.begin, e.end));
    if (e.end > data_size)
      throw IOError(fmt::format("{}: field 'data_offsets' [{}, {}] reaches past the {} byte data region (truncated file?)", where,
                                e.begin, e.end, data_size));
    if (bytes != e.end - e.begin)
      throw IOError(fmt::format(
          "{}: field 'shape' {} of {} needs {} bytes, but 'data_offsets' [{}, {}] span {}", where, shape_str(e.shape),
          e.dtype->name,
          bytes > UINT64_MAX ? fmt::format("more than {}", UINT64_MAX) : fmt::format("{}", static_cast<std::uint64_t>(bytes)),
          e.begin, e.end, e.end - e.begin));
    entries.push_back(std::move(e));
  }

  // The tensors must tile the data region exactly: no overlap, no hole, nothing after the last one.
  std::vector<const Entry*> sorted;
  for (const Entry& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(),
            [](const Entry* a, const Entry* b) { return a->begin != b->begin ? a->begin < b->begin : a->end < b->end; });
  std::uint64_t covered = 0;
  const Entry* prev = nullptr;
  for (const Entry* e : sorted) {
    if (e->begin < covered)
      throw IOError(fmt::format("{}: tensor '{}' data_offsets [{}, {}] overlap tensor '{}' [{}, {}]", ctx, e->name, e->begin,
                                e->end, prev->name, prev->begin, prev->end));
    if (e->begin > covered)
      throw IOError(fmt::format("{}: bytes [{}, {}) of the data region belong to no tensor (a hole before tensor '{}')", ctx,
                                covered, e->begin, e->name));
    covered = e->end;
    if (e->end > e->begin || prev == nullptr) prev = e;
  }
  if (covered != data_size)
    throw IOError(fmt::format("{}: the data region has {} bytes, but the tensors cover only [0, {}) ({} bytes left over)", ctx,
                              data_size, covered, data_size - covered));

  // Everything is consistent: allocate and read.
  std::vector<unsigned char> buf;
  for (const Entry& e : entries) {
    Tensor t = zeros(e.shape, e.dtype->loads_as);
    const std::size_t n = static_cast<std::size_t>(e.end - e.begin);
    if (n > 0) {
      const bool native = e.dtype->name == "F32" || e.dtype->name == "F64" || e.dtype->name == "I64";
      void* dst = nullptr;
      if (native) {
        dst = dispatch_all(t.dtype(), [&](auto tag) -> void* { return t.mutable_data<decltype(tag)>(); });
      } else {
        buf.resize(n);
        dst = buf.data();
      }
      if (int err = read_at(fd.get(), dst, n, data_start + e.begin))
        throw IOError(fmt::format("{}: tensor '{}': cannot read its data: {}", ctx, e.name, read_error(err)));
      if (!native) convert_into(e.dtype->name, buf.data(), static_cast<std::size_t>(t.numel()), t);
    }
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

}  // namespace xgrad::train
