// Collectives on tensors: rank and size, broadcast, all-reduce (sum, mean, deterministic), all-gather,
// model checks (signatures, parameter broadcast, state hashes). Expected values are computed from the
// rank numbers, independently of MPI.
#include "mpi_util.hpp"

using namespace xgrad;
using namespace xgrad::mpitest;

TEST_CASE("distributed: rank and world size") {
  const int n = dist::world_size();
  CHECK(n >= 1);
  CHECK(dist::rank() >= 0);
  CHECK(dist::rank() < n);
  CHECK(dist::is_initialized());
  // the sum of the ranks is n(n-1)/2 on every rank
  CHECK(dist::all_reduce(static_cast<double>(dist::rank())) == n * (n - 1) / 2.0);
  CHECK(dist::all_reduce(1.0, dist::ReduceOp::mean) == 1.0);
  dist::barrier();
}

TEST_CASE("distributed: broadcast copies the root's values into every rank's tensor, in place") {
  const int n = dist::world_size();
  for (int root = 0; root < n; ++root) {
    Tensor t = full({2, 3}, 10.0 * dist::rank() + 1.0, kFloat64);
    const Tensor same_storage = t;
    dist::broadcast(t, root);
    CHECK(t.to_vector<double>() == std::vector<double>(6, 10.0 * root + 1.0));
    CHECK(same_storage.is_same(t));
  }
  // a non-contiguous view and a leaf that requires grad are fine
  Tensor w = full({3, 2}, static_cast<double>(dist::rank()), kFloat32).requires_grad_();
  dist::broadcast(w, 0);
  CHECK(w.to_vector<double>() == std::vector<double>(6, 0.0));
  Tensor base = zeros({4, 4}, kFloat64) + static_cast<double>(dist::rank());
  Tensor view = base.t();
  dist::broadcast(view, n - 1);
  CHECK(base.to_vector<double>() == std::vector<double>(16, static_cast<double>(n - 1)));
}

TEST_CASE("distributed: broadcast with different shapes on the ranks fails on every rank, naming them") {
  XGRAD_REQUIRE_RANKS(2);
  Tensor t = zeros({dist::rank() == 1 ? 3 : 2}, kFloat32);
  try {
    dist::broadcast(t, 0);
    FAIL("expected a DistributedError");
  } catch (const dist::DistributedError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("broadcast") != std::string::npos);
    CHECK(msg.find("rank 0 has shape (2,) float32") != std::string::npos);
    CHECK(msg.find("rank 1 has shape (3,) float32") != std::string::npos);
  }
  Tensor u = zeros({2}, kFloat32);
  CHECK_THROWS_AS(dist::broadcast(u, dist::world_size()), ValueError);
}

TEST_CASE("distributed: all_reduce sums and averages element-wise") {
  const int n = dist::world_size();
  const double r = dist::rank();
  for (Dtype dt : {kFloat32, kFloat64}) {
    Tensor t = tensor({{1.0, 2.0}, {3.0, 4.0}}, dt) * (r + 1.0);
    dist::all_reduce(t);
    const double s = n * (n + 1) / 2.0;  // Σ (r + 1)
    CHECK(t.to_vector<double>() == std::vector<double>{s, 2 * s, 3 * s, 4 * s});
    Tensor m = full({5}, r, dt);
    dist::all_reduce(m, dist::ReduceOp::mean);
    for (double v : m.to_vector<double>()) CHECK(v == doctest::Approx((n - 1) / 2.0));
  }
  const std::int64_t k = dist::rank() + 1;
  Tensor counts = from_vector(std::vector<std::int64_t>{k, 2 * k, 3 * k}, {3});
  dist::all_reduce(counts);
  CHECK(counts.to_vector<std::int64_t>() == std::vector<std::int64_t>{n * (n + 1) / 2, n * (n + 1), 3 * n * (n + 1) / 2});
  Tensor ints = tensor_int({1});
  CHECK_THROWS_AS(dist::all_reduce(ints, dist::ReduceOp::mean), DtypeError);
}

TEST_CASE("distributed: deterministic all_reduce is the sequential sum in rank order, bit for bit") {
  const int n = dist::world_size();
  // values whose sum depends on the order of the additions in float32
  manual_seed(123);
  const Tensor all = randn({n, 1000}, kFloat32) * 1e4;  // the same on every rank: row r is rank r's tensor
  Tensor mine = narrow(all, 0, dist::rank(), 1).reshape({1000}).clone();
  dist::all_reduce(mine, dist::ReduceOp::sum, {.deterministic = true});
  Tensor expected = narrow(all, 0, 0, 1).reshape({1000}).clone();
  for (int r = 1; r < n; ++r) expected.add_(narrow(all, 0, r, 1).reshape({1000}));
  CHECK(mine.to_vector<float>() == expected.to_vector<float>());
  // the default algorithm gives every rank the same bits (its order may differ from rank order)
  Tensor fast = narrow(all, 0, dist::rank(), 1).reshape({1000}).clone();
  dist::all_reduce(fast);
  const Tensor gathered = dist::all_gather(fast);
  for (int r = 1; r < n; ++r) CHECK(narrow(gathered, 0, r, 1).to_vector<float>() == narrow(gathered, 0, 0, 1).to_vector<float>());
  CHECK(max(abs(fast - expected)).item<double>() <= 1e-2);
}

TEST_CASE("distributed: all_gather stacks every rank's tensor in rank order") {
  const int n = dist::world_size();
  const Tensor t = tensor({1.0, 2.0, 3.0}, kFloat64) + 100.0 * dist::rank();
  const Tensor g = dist::all_gather(t);
  CHECK(g.shape() == Shape{n, 3});
  for (int r = 0; r < n; ++r)
    CHECK(narrow(g, 0, r, 1).to_vector<double>() == std::vector<double>{1.0 + 100 * r, 2.0 + 100 * r, 3.0 + 100 * r});
}

TEST_CASE("distributed: check_same_model names the parameter whose shape differs") {
  XGRAD_REQUIRE_RANKS(2);
  manual_seed(0);
  nn::Sequential model(nn::Linear(4, dist::rank() == 1 ? 6 : 5), nn::ReLU(), nn::Linear(dist::rank() == 1 ? 6 : 5, 2));
  try {
    dist::check_same_model(model, "my_check");
    FAIL("expected a DistributedError");
  } catch (const dist::DistributedError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("my_check: the model differs between ranks") != std::string::npos);
    CHECK(msg.find("rank 1 has parameter '0.weight' of (6, 4) float32, rank 0 has (5, 4) float32") != std::string::npos);
    CHECK(msg.find("'2.weight'") != std::string::npos);
  }
}

TEST_CASE("distributed: check_same_model names a parameter that one rank lacks, and the counts") {
  XGRAD_REQUIRE_RANKS(2);
  manual_seed(0);
  nn::Sequential model(nn::Linear(4, 5), nn::ReLU(), nn::Linear(5, 2, /*bias=*/dist::rank() != 1));
  try {
    dist::check_same_model(model);
    FAIL("expected a DistributedError");
  } catch (const dist::DistributedError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("rank 1 lacks parameter '2.bias' ((2,) float32 on rank 0)") != std::string::npos);
    CHECK(msg.find("rank 1 has 3 parameters and 0 buffers, rank 0 has 4 and 0") != std::string::npos);
  }
  // afterwards the communicator still works: all ranks threw together
  CHECK(dist::all_reduce(1.0) == dist::world_size());
}

TEST_CASE("distributed: broadcast_parameters gives every rank rank 0's weights and buffers; state_hash sees it") {
  manual_seed(static_cast<std::uint64_t>(100 + dist::rank()));  // different initial weights per rank
  nn::Sequential model(nn::Linear(3, 4), nn::BatchNorm1d(4), nn::Linear(4, 2));
  {
    NoGradGuard g;
    model.buffer("1.running_mean").fill_(static_cast<double>(dist::rank()));
  }
  if (dist::world_size() > 1) CHECK_FALSE(ranks_in_sync(model));
  dist::broadcast_parameters(model);
  CHECK(ranks_in_sync(model));
  CHECK(model.buffer("1.running_mean").to_vector<double>() == std::vector<double>(4, 0.0));
}
