#pragma once
// Datasets: indexable collections of (input, target) examples, and ways to split them.
//
// A Dataset is read through size(), get(i) and get_batch(indices). Batches are what training loops
// consume; get_batch exists so that a dataset held in memory (TensorDataset) can gather a whole
// batch with one copy instead of one copy per sample plus a stack.

#include <concepts>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "../autograd/tensor.hpp"

namespace xgrad::data {

/// One sample: `input` has the per-sample shape (the dataset's row shape), `target` likewise
/// (a 0-d tensor for scalar labels). `target` is undefined for a dataset without targets.
struct Example {
  /// The sample's input (row shape of the dataset's inputs).
  Tensor input;
  /// The sample's target (row shape of the targets), or undefined.
  Tensor target;
};

/// A batch of B samples: `input` has shape (B, ...input row shape), `target` (B, ...target row
/// shape), e.g. (B, 784) float32 images and (B) int64 labels. `target` is undefined when the dataset
/// has no targets. Fresh tensors that do not require grad.
struct Batch {
  /// (B, ...) inputs.
  Tensor input;
  /// (B, ...) targets, or undefined.
  Tensor target;
};

/// The interface of every dataset: `size()` samples, numbered 0..size()-1.
class Dataset {
 public:
  /// Datasets are used through pointers to the base class.
  virtual ~Dataset() = default;
  /// Number of samples.
  virtual std::int64_t size() const = 0;
  /// Sample `i` (0 <= i < size(); IndexError otherwise).
  virtual Example get(std::int64_t i) const = 0;
  /// The samples at `indices` (any order, repeats allowed) stacked along a new first dimension.
  /// The default calls get(i) for each index and copies each sample into the batch (every sample
  /// must have the same shapes and dtypes: ShapeError/DtypeError naming the index otherwise);
  /// datasets held in memory override it with a single gather. An empty `indices` gives a batch of
  /// size 0 only for datasets that know their row shapes (the default throws ValueError).
  virtual Batch get_batch(std::span<const std::int64_t> indices) const;
};

/// A dataset over two in-memory tensors: sample i is (inputs[i], targets[i]) along the first
/// dimension. Both tensors are detached and made contiguous once at construction (the handles
/// share data with the caller's tensors when they already are contiguous). `targets` may be
/// undefined (a dataset of inputs only). get(i) and get_batch copy rows into fresh tensors, so a
/// batch never aliases the dataset.
class TensorDataset : public Dataset {
 public:
  /// ShapeError when inputs (or targets) is 0-d, or when the first dimensions differ (the message
  /// names both shapes); ValueError when `inputs` is undefined.
  TensorDataset(Tensor inputs, Tensor targets);
  /// inputs.size(0).
  std::int64_t size() const override;
  /// Row i of inputs and targets (copies). IndexError outside [0, size()).
  Example get(std::int64_t i) const override;
  /// Gathers the rows at `indices` with one allocation and one row copy per index per tensor.
  Batch get_batch(std::span<const std::int64_t> indices) const override;
  /// The whole input tensor (contiguous, detached).
  const Tensor& inputs() const noexcept { return inputs_; }
  /// The whole target tensor (contiguous, detached; undefined when there are no targets).
  const Tensor& targets() const noexcept { return targets_; }

 private:
  Tensor inputs_;
  Tensor targets_;
};

/// A view of another dataset restricted to `indices` (in that order): sample i is
/// dataset[indices[i]]. Holds the parent by shared_ptr, so it stays valid on its own.
class Subset : public Dataset {
 public:
  /// IndexError when an index is outside [0, dataset->size()); ValueError for a null dataset.
  Subset(std::shared_ptr<const Dataset> dataset, std::vector<std::int64_t> indices);
  /// indices().size().
  std::int64_t size() const override;
  /// dataset[indices[i]].
  Example get(std::int64_t i) const override;
  /// Maps the indices through this subset and asks the parent for one batch (so a Subset of a
  /// TensorDataset still gathers with one copy per batch).
  Batch get_batch(std::span<const std::int64_t> indices) const override;
  /// The parent's indices of this subset's samples.
  const std::vector<std::int64_t>& indices() const noexcept { return indices_; }
  /// The parent dataset.
  const std::shared_ptr<const Dataset>& dataset() const noexcept { return dataset_; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  std::vector<std::int64_t> indices_;
};

/// Splits `dataset` into disjoint random subsets, like torch.utils.data.random_split.
/// `lengths` are either sample counts that add up to dataset->size(), or fractions in [0, 1] that add
/// up to 1 (within 1e-6): then each subset gets floor(fraction * n) samples and the remaining ones are
/// handed out one each round-robin from the first subset (PyTorch's rule). The permutation comes from
/// a generator seeded with `seed` only (the same seed gives the same split on every platform).
/// ValueError for negative lengths, counts that do not add up, or fractions that do not sum to 1.
std::vector<Subset> random_split(std::shared_ptr<const Dataset> dataset, const std::vector<double>& lengths,
                                 std::uint64_t seed);
/// Convenience: random_split over a copy of `dataset` held by the returned subsets (e.g. a TensorDataset,
/// cheap to copy).
template <class D>
  requires std::derived_from<D, Dataset>
std::vector<Subset> random_split(D dataset, const std::vector<double>& lengths, std::uint64_t seed) {
  return random_split(std::make_shared<const D>(std::move(dataset)), lengths, seed);
}

/// The result of validation_split.
struct TrainValSplit {
  /// The training part.
  Subset train;
  /// The held-out validation part.
  Subset val;
};

/// Holds out `fraction` (in [0, 1)) of `dataset` for validation, like Keras' `validation_split`:
/// with shuffle = false (the Keras behaviour) the validation set is the LAST samples, in order:
/// train = [0, split), val = [split, n) with split = floor(n * (1 - fraction)) (Keras' formula),
/// so if the data are sorted by class the validation set is not representative - shuffle then.
/// With shuffle = true the samples are first permuted with a generator seeded with `seed`, then split
/// the same way. ValueError for a fraction outside [0, 1).
TrainValSplit validation_split(std::shared_ptr<const Dataset> dataset, double fraction, bool shuffle = false,
                               std::uint64_t seed = 0);
/// Convenience: validation_split over a copy of `dataset` held by the returned subsets.
template <class D>
  requires std::derived_from<D, Dataset>
TrainValSplit validation_split(D dataset, double fraction, bool shuffle = false, std::uint64_t seed = 0) {
  return validation_split(std::make_shared<const D>(std::move(dataset)), fraction, shuffle, seed);
}

/// A random permutation of 0..n-1 from a generator seeded with `seed` (Fisher-Yates over a
/// std::mt19937_64 with an unbiased bounded draw implemented here, so the result is the same with
/// every standard library, unlike std::shuffle). Used by DataLoader, random_split and
/// validation_split.
std::vector<std::int64_t> seeded_permutation(std::int64_t n, std::uint64_t seed);

}  // namespace xgrad::data
