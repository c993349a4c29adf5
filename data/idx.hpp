#pragma once
// IDX files (the format of MNIST, Fashion-MNIST, EMNIST, KMNIST), plain or gzip-compressed, and
// loaders for the MNIST-style directory layout.
//
// IDX format (big-endian): bytes 0-1 are zero, byte 2 is the type code (0x08 ubyte, 0x09 sbyte,
// 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), byte 3 the rank; then one 4-byte size per
// dimension, then the elements in row-major order.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "../autograd/tensor.hpp"

namespace xgrad::data {

/// Default cap on the data size an IDX header may declare (4 GiB); read_idx refuses larger files
/// before allocating anything.
inline constexpr std::uint64_t kIdxDefaultMaxBytes = std::uint64_t{4} << 30;

/// Reads an IDX file (plain, or gzip-compressed: detected from the content, not the name) into a
/// tensor of the declared shape. Values are converted, never scaled: by default ubyte, sbyte and
/// int16 become float32 (exact), int32 becomes int64, float32 stays float32 and float64 stays
/// float64; `dtype` forces another output type (int64 from a floating-point file is a DtypeError).
///
/// Everything is validated before the tensor is allocated: the declared size must fit under
/// `max_bytes`, and must match the file size exactly for a plain file (or be at most 1032 times the
/// file size for a gzip file, deflate's maximum ratio). IOError naming the file for: a missing or
/// unreadable file; a wrong magic number (printed in hex); an unsupported type code; rank 0 or > 4;
/// a declared size over the cap; truncated data (expected vs actual bytes); bytes after the data;
/// a corrupt gzip stream.
Tensor read_idx(const std::string& path, std::optional<Dtype> dtype = std::nullopt,
                std::uint64_t max_bytes = kIdxDefaultMaxBytes);

/// The four tensors of an MNIST-style dataset.
struct MnistData {
  /// (60000, 784) float32 in [0, 1] (pixel / 255), rows are 28x28 images in row-major order.
  Tensor train_images;
  /// (60000) int64 class labels in 0..9.
  Tensor train_labels;
  /// (10000, 784) float32 in [0, 1].
  Tensor test_images;
  /// (10000) int64 class labels in 0..9.
  Tensor test_labels;
};

/// Loads the four files of an MNIST-style directory: train-images-idx3-ubyte,
/// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each either plain or
/// with a .gz suffix (the names with '.' instead of the second '-', as in some mirrors, are accepted
/// too). IOError naming the directory and the missing name, or naming the file whose shape is not
/// (N, 28, 28) / (N), whose counts of images and labels differ, or whose labels leave 0..9.
MnistData load_mnist(const std::string& dir);

/// Fashion-MNIST has exactly the layout and file names of MNIST: same as load_mnist.
/// Class names: fashion_mnist_classes().
MnistData load_fashion_mnist(const std::string& dir);

/// The ten Fashion-MNIST class names, by label: "T-shirt/top", "Trouser", "Pullover", "Dress",
/// "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot".
const std::array<std::string_view, 10>& fashion_mnist_classes() noexcept;

}  // namespace xgrad::data
