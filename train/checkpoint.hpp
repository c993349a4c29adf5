#pragma once
// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), readable by
// Python's `safetensors` package and by the few lines of struct + json in tests/train.
//
// File layout: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON (padded with
// spaces to a multiple of 8); then the data region. The JSON object maps each tensor name to
// {"dtype": "F32"|"F64"|"I64", "shape": [..], "data_offsets": [begin, end]} (offsets are relative to
// the data region, row-major little-endian elements) and may hold "__metadata__": {string: string}.
// Tensors are written in name order, back to back.
//
// Writes are atomic (Note [atomic save]): the file is written to `path.tmp.<pid>`, flushed to disk
// (fsync), renamed over `path`, and the directory is fsync'ed. A crash or kill at any moment leaves
// either the old complete file or the new complete file at `path` (a killed process may leave its
// `path.tmp.<pid>` behind; it is never read). Concurrent saves to the same path from several threads
// of one process are not supported (they share the temporary name).

#include <cstdint>
#include <map>
#include <string>

#include "../autograd/tensor.hpp"

namespace xgrad::train {

/// Named tensors of a checkpoint (sorted by name).
using TensorMap = std::map<std::string, Tensor>;
/// The free-form string metadata of a checkpoint ("__metadata__" in the header).
using Metadata = std::map<std::string, std::string>;

/// What load_safetensors returns.
struct Checkpoint {
  /// Tensors by name: fresh contiguous leaves that do not require grad.
  TensorMap tensors;
  /// The "__metadata__" entries (empty when the file has none).
  Metadata metadata;
};

/// Largest JSON header load_safetensors accepts (100 MB, the limit of the reference implementation).
inline constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;

/// Writes `tensors` (float32 -> "F32", float64 -> "F64", int64 -> "I64"; any shape including 0-d
/// and empty; views are written as their values) and `metadata` to `path` atomically (see above).
/// Values are stored bit-exactly; gradients and requires_grad are not stored.
/// ValueError for an undefined tensor, an empty name, the reserved name "__metadata__", or a name or
/// metadata string that is not valid UTF-8 (JSON and the Python reader require it);
/// IOError naming the path and the errno text when the file cannot be written (missing directory,
/// permissions, full disk, ...); the previous file at `path` is then untouched and the temporary file
/// is removed.
void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});

/// Reads a safetensors file. Everything is validated before any tensor is allocated, and nothing
/// larger than the file is ever allocated: the header length against the file size and the 100 MB
/// cap; UTF-8 and JSON syntax (with the byte offset of the error; arrays of at most 1024 items, nesting
/// of at most 32 levels, so the parse tree stays proportional to the header); every entry's fields ("dtype" a known
/// name, "shape" a list of non-negative integers, "data_offsets" two integers begin <= end); the
/// shape's byte size against its offsets; offsets inside the data region, not overlapping, and
/// covering it without holes (as the format requires); "__metadata__" values being strings.
/// Dtypes F32, F64 and I64 load as float32, float64 and int64; BOOL, U8, I8, U16, I16, U32 and I32
/// load as int64, F16 and BF16 as float32 (converted exactly); others (F8_*, U64) are rejected.
/// IOError naming the file and the offending tensor name / field for every problem.
Checkpoint load_safetensors(const std::string& path);

}  // namespace xgrad::train
