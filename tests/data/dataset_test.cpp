// Datasets, DataLoader, random_split and validation_split.
#include <xgrad/data/data.hpp>

#include <algorithm>
#include <numeric>
#include <set>

#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;

namespace {

// inputs (n, 3): row i is (i, 10i, 100i); targets (n): i.
data::TensorDataset numbered(std::int64_t n, Dtype dtype = kFloat32) {
  std::vector<double> x;
  std::vector<std::int64_t> y;
  for (std::int64_t i = 0; i < n; ++i) {
    x.insert(x.end(), {double(i), 10.0 * double(i), 100.0 * double(i)});
    y.push_back(i);
  }
  return data::TensorDataset(from_vector(x, {n, 3}, dtype), from_vector(y, {n}));
}

// The sample ids of a batch of `numbered` (checking that inputs and targets agree).
std::vector<std::int64_t> ids(const data::Batch& b) {
  const auto t = b.target.to_vector<std::int64_t>();
  const auto x = b.input.to_vector<double>();
  REQUIRE(b.input.shape() == Shape{static_cast<std::int64_t>(t.size()), 3});
  for (std::size_t k = 0; k < t.size(); ++k) {
    CHECK(x[3 * k] == double(t[k]));
    CHECK(x[3 * k + 1] == 10.0 * double(t[k]));
    CHECK(x[3 * k + 2] == 100.0 * double(t[k]));
  }
  return t;
}

std::vector<std::int64_t> epoch_ids(data::DataLoader& loader, std::vector<std::int64_t>* batch_sizes = nullptr) {
  std::vector<std::int64_t> all;
  for (const data::Batch& b : loader) {
    const auto v = ids(b);
    if (batch_sizes) batch_sizes->push_back(static_cast<std::int64_t>(v.size()));
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

std::vector<std::int64_t> iota(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), std::int64_t{0});
  return v;
}

}  // namespace

TEST_CASE("TensorDataset: size, get, get_batch gather rows") {
  auto ds = numbered(5);
  CHECK(ds.size() == 5);
  const data::Example e = ds.get(3);
  CHECK(e.input.shape() == Shape{3});
  CHECK(e.input.to_vector<double>() == std::vector<double>{3, 30, 300});
  CHECK(e.target.dim() == 0);
  CHECK(e.target.item<std::int64_t>() == 3);
  const std::vector<std::int64_t> idx = {4, 0, 4, 2};
  const data::Batch b = ds.get_batch(idx);
  CHECK(b.input.dtype() == kFloat32);
  CHECK(b.target.dtype() == kInt64);
  CHECK(ids(b) == idx);
  // Batches are copies: writing into one leaves the dataset alone.
  data::Batch c = ds.get_batch(idx);
  c.input.fill_(-1.0);
  CHECK(ds.get(4).input.to_vector<double>() == std::vector<double>{4, 40, 400});
  // An empty batch keeps the row shape.
  const data::Batch empty = ds.get_batch({});
  CHECK(empty.input.shape() == Shape{0, 3});
  CHECK(empty.target.shape() == Shape{0});
}

TEST_CASE("TensorDataset: long shuffled batches gather exactly the rows get() returns") {
  // Batches longer than the prefetch distance, rows from 1 element to 40 KiB (past the prefetch cap).
  for (const std::int64_t row : {std::int64_t{1}, std::int64_t{784}, std::int64_t{10240}}) {
    CAPTURE(row);
    Tensor x = arange(static_cast<double>(60 * row), kFloat32).reshape({60, row});
    data::TensorDataset ds(x, arange(60.0, kInt64));
    const std::vector<std::int64_t> idx = data::seeded_permutation(60, 5);
    const data::Batch b = ds.get_batch(idx);
    REQUIRE(b.input.shape() == Shape{60, row});
    CHECK(b.target.to_vector<std::int64_t>() == idx);
    std::vector<float> want;
    for (const std::int64_t i : idx) {
      const auto r = ds.get(i).input.to_vector<float>();
      want.insert(want.end(), r.begin(), r.end());
    }
    CHECK(b.input.to_vector<float>() == want);
  }
}

TEST_CASE("TensorDataset: multi-dimensional rows, no targets, non-contiguous inputs") {
  Tensor x = arange(24.0, kFloat64).reshape({4, 2, 3});
  data::TensorDataset ds(x, Tensor());
  const std::vector<std::int64_t> idx = {2, 1};
  const data::Batch b = ds.get_batch(idx);
  CHECK(!b.target.defined());
  CHECK(b.input.shape() == Shape{2, 2, 3});
  CHECK(b.input.to_vector<double>() == std::vector<double>{12, 13, 14, 15, 16, 17, 6, 7, 8, 9, 10, 11});
  CHECK(!ds.get(0).target.defined());
  // A transposed (non-contiguous) input: rows are rows of the logical tensor.
  Tensor m = arange(6.0, kFloat64).reshape({2, 3}).t();  // (3, 2): rows (0,3), (1,4), (2,5)
  data::TensorDataset dt(m, Tensor());
  CHECK(dt.get(2).input.to_vector<double>() == std::vector<double>{2, 5});
}

TEST_CASE("TensorDataset: errors") {
  check_throws_with<ShapeError>(
      [] {
        data::TensorDataset(zeros({4, 2}), zeros({3}));
      },
      {"TensorDataset", "(4, 2)", "(3,)", "first dimension"});
  check_throws_with<ShapeError>([] { data::TensorDataset(scalar_tensor(1.0), zeros({3})); }, {"TensorDataset", "()"});
  check_throws_with<ValueError>([] { data::TensorDataset(Tensor(), zeros({3})); }, {"TensorDataset", "undefined"});
  auto ds = numbered(3);
  check_throws_with<IndexError>([&] { ds.get(3); }, {"TensorDataset::get", "index 3", "3 samples"});
  check_throws_with<IndexError>([&] { ds.get(-1); }, {"index -1"});
  const std::vector<std::int64_t> bad = {0, 7};
  check_throws_with<IndexError>([&] { ds.get_batch(bad); }, {"get_batch", "index 7"});
}

namespace {
// A dataset without a get_batch override: exercises the default (stack of get(i)).
class Squares : public data::Dataset {
 public:
  std::int64_t size() const override { return 6; }
  data::Example get(std::int64_t i) const override {
    if (i == 5) return {zeros({3}), scalar_tensor(0.0)};  // wrong shape on purpose
    return {full({2}, double(i * i)), from_vector(std::vector<std::int64_t>{i}, {})};
  }
};
}  // namespace

TEST_CASE("Dataset::get_batch default stacks samples and checks their shapes") {
  Squares sq;
  const std::vector<std::int64_t> idx = {3, 1};
  const data::Batch b = sq.get_batch(idx);
  CHECK(b.input.shape() == Shape{2, 2});
  CHECK(b.input.to_vector<double>() == std::vector<double>{9, 9, 1, 1});
  CHECK(b.target.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 1});
  const std::vector<std::int64_t> bad = {1, 5};
  check_throws_with<ShapeError>([&] { sq.get_batch(bad); }, {"get_batch", "sample 5", "(3,)", "sample 1", "(2,)"});
  check_throws_with<ValueError>([&] { sq.get_batch({}); }, {"get_batch", "empty"});
  // A DataLoader works over it too (5 good samples).
  auto sub = std::make_shared<data::Subset>(std::make_shared<Squares>(), std::vector<std::int64_t>{0, 1, 2, 3, 4});
  data::DataLoader loader(sub, {.batch_size = 2});
  std::int64_t count = 0;
  for (const auto& batch : loader) count += batch.input.size(0);
  CHECK(count == 5);
}

TEST_CASE("Subset maps indices and batches through its parent") {
  auto parent = std::make_shared<data::TensorDataset>(numbered(10));
  data::Subset s(parent, {7, 2, 9});
  CHECK(s.size() == 3);
  CHECK(s.get(0).target.item<std::int64_t>() == 7);
  const std::vector<std::int64_t> idx = {2, 0};
  CHECK(ids(s.get_batch(idx)) == std::vector<std::int64_t>{9, 7});
  check_throws_with<IndexError>([&] { data::Subset(parent, {1, 10}); }, {"Subset", "index 10", "10 samples"});
  check_throws_with<IndexError>([&] { s.get(3); }, {"Subset::get", "index 3"});
  check_throws_with<ValueError>([&] { data::Subset(nullptr, {}); }, {"Subset", "null"});
}

TEST_CASE("seeded_permutation is a permutation, repeatable, seed-dependent") {
  const auto a = data::seeded_permutation(1000, 5), b = data::seeded_permutation(1000, 5), c = data::seeded_permutation(1000, 6);
  CHECK(a == b);
  CHECK(a != c);
  auto s = a;
  std::sort(s.begin(), s.end());
  CHECK(s == iota(1000));
  CHECK(data::seeded_permutation(0, 1).empty());
  CHECK(data::seeded_permutation(1, 1) == std::vector<std::int64_t>{0});
  // Every position receives every value with roughly equal frequency (unbiased draws).
  std::vector<int> first_counts(4, 0);
  for (std::uint64_t seed = 0; seed < 4000; ++seed)
    ++first_counts[static_cast<std::size_t>(data::seeded_permutation(4, seed)[0])];
  for (int c4 : first_counts) CHECK(std::abs(c4 - 1000) < 150);  // binomial sd ~ 27
}

TEST_CASE("DataLoader: sequential batches, size, last partial batch") {
  data::DataLoader loader(numbered(10), {.batch_size = 4});
  CHECK(loader.size() == 3);
  std::vector<std::int64_t> sizes;
  CHECK(epoch_ids(loader, &sizes) == iota(10));
  CHECK(sizes == std::vector<std::int64_t>{4, 4, 2});
  // batch_size larger than the dataset: one batch.
  data::DataLoader big(numbered(3), {.batch_size = 8});
  CHECK(big.size() == 1);
  CHECK(epoch_ids(big) == iota(3));
  // Exact multiple.
  data::DataLoader exact(numbered(8), {.batch_size = 4, .drop_last = true});
  CHECK(exact.size() == 2);
  CHECK(epoch_ids(exact) == iota(8));
}

TEST_CASE("DataLoader: drop_last drops only the incomplete batch") {
  data::DataLoader loader(numbered(10), {.batch_size = 4, .shuffle = true, .seed = 3, .drop_last = true});
  CHECK(loader.size() == 2);
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::int64_t> sizes;
    auto seen = epoch_ids(loader, &sizes);
    CHECK(sizes == std::vector<std::int64_t>{4, 4});
    CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == 8);  // no repeats
    // The dropped samples are exactly the tail of this epoch's order.
    const auto order = loader.order(epoch);
    CHECK(seen == std::vector<std::int64_t>(order.begin(), order.begin() + 8));
  }
  data::DataLoader tiny(numbered(3), {.batch_size = 4, .drop_last = true});
  CHECK(tiny.size() == 0);
  CHECK(tiny.begin() == tiny.end());
}

TEST_CASE("DataLoader: shuffle covers every sample once per epoch, differs across epochs, repeats with the seed") {
  const data::DataLoaderOptions opts{.batch_size = 7, .shuffle = true, .seed = 1234};
  data::DataLoader a(numbered(50), opts), b(numbered(50), opts);
  std::vector<std::vector<std::int64_t>> epochs_a, epochs_b;
  for (int e = 0; e < 4; ++e) {
    epochs_a.push_back(epoch_ids(a));
    epochs_b.push_back(epoch_ids(b));
    auto sorted = epochs_a.back();
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == iota(50));  // every sample exactly once
    CHECK(epochs_a.back() != iota(50));
  }
  CHECK(epochs_a == epochs_b);  // same seed: same sequence of epochs
  CHECK(epochs_a[0] != epochs_a[1]);
  CHECK(epochs_a[1] != epochs_a[2]);
  CHECK(a.epoch() == 4);
  // Epoch orders depend only on (seed, epoch): jump back with set_epoch.
  a.set_epoch(2);
  CHECK(epoch_ids(a) == epochs_a[2]);
  // A partially consumed epoch does not shift the next ones.
  data::DataLoader c(numbered(50), opts);
  {
    auto it = c.begin();
    ++it;
  }
  CHECK(epoch_ids(c) == epochs_a[1]);
  // Another seed: another order.
  data::DataLoader d(numbered(50), {.batch_size = 7, .shuffle = true, .seed = 1235});
  CHECK(epoch_ids(d) != epochs_a[0]);
}

TEST_CASE("DataLoader: without a seed, manual_seed makes shuffles repeatable") {
  manual_seed(77);
  data::DataLoader a(numbered(30), {.batch_size = 5, .shuffle = true});
  manual_seed(77);
  data::DataLoader b(numbered(30), {.batch_size = 5, .shuffle = true});
  CHECK(a.seed() == b.seed());
  CHECK(epoch_ids(a) == epoch_ids(b));
}

TEST_CASE("DataLoader: iterator protocol and errors") {
  data::DataLoader loader(numbered(5), {.batch_size = 2});
  auto it = loader.begin();
  CHECK(it->input.size(0) == 2);
  auto old = it++;
  CHECK(ids(*it) == std::vector<std::int64_t>{2, 3});
  CHECK(std::distance(loader.begin(), loader.end()) == 3);
  check_throws_with<IndexError>([&] { *loader.end(); }, {"DataLoader", "past the end"});
  check_throws_with<ValueError>([] { data::DataLoader(numbered(5), {.batch_size = 0}); }, {"DataLoader", "batch_size", "0"});
  check_throws_with<ValueError>([] { data::DataLoader(std::shared_ptr<const data::Dataset>(), {}); }, {"DataLoader", "null"});
  (void)old;
}

TEST_CASE("random_split: counts and fractions, disjoint, seeded") {
  auto ds = std::make_shared<data::TensorDataset>(numbered(10));
  auto parts = data::random_split(ds, {6, 3, 1}, 42);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].size() == 6);
  CHECK(parts[1].size() == 3);
  CHECK(parts[2].size() == 1);
  std::vector<std::int64_t> all;
  for (const auto& p : parts) all.insert(all.end(), p.indices().begin(), p.indices().end());
  std::sort(all.begin(), all.end());
  CHECK(all == iota(10));  // disjoint and complete
  CHECK(data::random_split(ds, {6, 3, 1}, 42)[0].indices() == parts[0].indices());
  CHECK(data::random_split(ds, {6, 3, 1}, 43)[0].indices() != parts[0].indices());
  // Fractions: floor(0.5*7)=3, floor(0.3*7)=2, floor(0.2*7)=1 -> 6, remainder 1 goes to the first.
  auto ds7 = std::make_shared<data::TensorDataset>(numbered(7));
  auto f = data::random_split(ds7, {0.5, 0.3, 0.2}, 1);
  CHECK(f[0].size() == 4);
  CHECK(f[1].size() == 2);
  CHECK(f[2].size() == 1);
  // Samples come through the subsets.
  CHECK(f[2].get(0).target.item<std::int64_t>() == f[2].indices()[0]);
  check_throws_with<ValueError>([&] { data::random_split(ds, {6, 3}, 1); }, {"random_split", "add up to 9", "10 samples"});
  check_throws_with<ValueError>([&] { data::random_split(ds, {-1, 11}, 1); }, {"random_split", "-1"});
  check_throws_with<ValueError>([&] { data::random_split(ds, {2.5, 7.5}, 1); }, {"random_split", "2.5"});
  check_throws_with<ValueError>([&] { data::random_split(ds, {}, 1); }, {"random_split", "no lengths"});
}

TEST_CASE("validation_split: Keras takes the last fraction unshuffled") {
  auto ds = std::make_shared<data::TensorDataset>(numbered(10));
  auto s = data::validation_split(ds, 0.25);
  // Keras: split_at = int(10 * 0.75) = 7.
  CHECK(s.train.indices() == iota(7));
  CHECK(s.val.indices() == std::vector<std::int64_t>{7, 8, 9});
  auto sh = data::validation_split(ds, 0.25, /*shuffle=*/true, 9);
  CHECK(sh.train.size() == 7);
  CHECK(sh.val.size() == 3);
  std::vector<std::int64_t> all = sh.train.indices();
  all.insert(all.end(), sh.val.indices().begin(), sh.val.indices().end());
  CHECK(sh.train.indices() != iota(7));
  std::sort(all.begin(), all.end());
  CHECK(all == iota(10));
  CHECK(data::validation_split(ds, 0.25, true, 9).val.indices() == sh.val.indices());
  auto none = data::validation_split(ds, 0.0);
  CHECK(none.train.size() == 10);
  CHECK(none.val.size() == 0);
  check_throws_with<ValueError>([&] { data::validation_split(ds, 1.0); }, {"validation_split", "[0, 1)", "1"});
  check_throws_with<ValueError>([&] { data::validation_split(ds, -0.1); }, {"validation_split", "-0.1"});
  // By-value overloads keep their own copy of the dataset alive.
  auto byval = data::validation_split(numbered(4), 0.5);
  CHECK(ids(byval.val.get_batch(std::vector<std::int64_t>{0, 1})) == std::vector<std::int64_t>{2, 3});
  auto parts = data::random_split(numbered(4), {0.5, 0.5}, 3);
  data::DataLoader from_split(parts[1], {.batch_size = 8});
  auto got = epoch_ids(from_split);
  CHECK(got == parts[1].indices());
  // A loader over the validation subset gathers through the parent.
  data::DataLoader val(std::make_shared<data::Subset>(s.val), {.batch_size = 2});
  CHECK(epoch_ids(val) == std::vector<std::int64_t>{7, 8, 9});
}
