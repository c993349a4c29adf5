// Internal file helpers of the data layer (see detail/io.hpp).
#include <fmt/format.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "detail/io.hpp"

namespace xgrad::data::detail {

std::string errno_text(int errnum) {
  char buf[256];
  // GNU strerror_r returns the message pointer (which may or may not be buf).
  const char* msg = strerror_r(errnum, buf, sizeof buf);
  return msg;
}

std::uint64_t file_size(const std::string& path, const char* who) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int e = errno;
    throw IOError(fmt::format("{}: cannot open '{}': {}", who, path, errno_text(e)));
  }
  if (S_ISDIR(st.st_mode)) throw IOError(fmt::format("{}: cannot read '{}': it is a directory", who, path));
  return static_cast<std::uint64_t>(st.st_size);
}

std::string read_file(const std::string& path, const char* who) {
  file_size(path, who);  // a clear error for missing files and directories
  errno = 0;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int e = errno;
    throw IOError(fmt::format("{}: cannot open '{}': {}", who, path, e != 0 ? errno_text(e) : "out of memory"));
  }
  std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(f, gzclose);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int got = gzread(f, buf, sizeof buf);
    if (got < 0) {
      int zerr = 0;
      const char* msg = gzerror(f, &zerr);
      throw IOError(fmt::format("{}: cannot read '{}': {}", who, path,
                                zerr == Z_ERRNO ? errno_text(errno) : std::string(msg != nullptr ? msg : "read error")));
    }
    if (got == 0) break;
    out.append(buf, static_cast<std::size_t>(got));
  }
  // gzread stops quietly at a truncated gzip member; gzerror then reports Z_BUF_ERROR.
  int zerr = 0;
  const char* msg = gzerror(f, &zerr);
  if (zerr != Z_OK && zerr != Z_STREAM_END)
    throw IOError(fmt::format("{}: cannot read '{}': {} (truncated or corrupt gzip file)", who, path,
                              msg != nullptr ? msg : "gzip error"));
  return out;
}

}  // namespace xgrad::data::detail
