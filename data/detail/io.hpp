#pragma once
// Internal helpers of the data layer (not installed as public API): raw byte access to a tensor's
// contiguous storage through the public typed accessors, and whole-file reading.

#include <cstddef>
#include <cstdint>
#include <string>

#include "../../autograd/tensor.hpp"

namespace xgrad::data::detail {

/// The first byte of `t`'s elements (t must be contiguous for a flat read).
inline const std::byte* bytes_of(const Tensor& t) {
  return dispatch_all(t.dtype(), [&](auto tag) { return reinterpret_cast<const std::byte*>(t.data<decltype(tag)>()); });
}

/// Writable first byte of `t`'s elements (t must be contiguous for a flat write).
inline std::byte* mutable_bytes_of(Tensor& t) {
  return dispatch_all(t.dtype(), [&](auto tag) { return reinterpret_cast<std::byte*>(t.mutable_data<decltype(tag)>()); });
}

/// strerror(errnum) as a std::string (thread-safe).
std::string errno_text(int errnum);

/// Size in bytes of the file at `path` (IOError naming the file and the errno text when it cannot
/// be stat'ed, e.g. a missing file; `who` prefixes the message).
std::uint64_t file_size(const std::string& path, const char* who);

/// Whole contents of a plain or gzip-compressed file (zlib reads plain files transparently).
/// IOError naming the file for a missing/unreadable file or a corrupt gzip stream.
std::string read_file(const std::string& path, const char* who);

}  // namespace xgrad::data::detail
