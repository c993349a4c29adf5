#include "environment.hpp"

#include <fmt/format.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "detail/comm.hpp"

namespace xgrad::distributed {
namespace {

struct State {
  bool alive = false;
  bool owns_mpi = false;  // this Environment called MPI_Init_thread
  bool broken = false;    // a collective failed or timed out: the communicators are unusable
  int uncaught = 0;       // std::uncaught_exceptions() when the Environment was created
  int rank = 0;
  int size = 1;
  double timeout = 300.0;
  double spin = 0.5e-3;  // Note [polling]
  MPI_Comm world = MPI_COMM_NULL;
};

State& state() {
  static State s;
  return s;
}

void start(int* argc, char*** argv, const EnvironmentOptions& options) {
  State& s = state();
  if (s.alive)
    throw DistributedError("distributed::Environment: an Environment already exists in this process (create exactly one)");
  if (!(options.timeout_seconds > 0.0))
    throw ValueError(fmt::format("distributed::Environment: timeout_seconds must be positive, got {}", options.timeout_seconds));
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
      throw DistributedError("distributed::Environment: MPI_Init_thread failed");
    s.owns_mpi = true;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (MPI_Comm_dup(MPI_COMM_WORLD, &s.world) != MPI_SUCCESS)
    throw DistributedError("distributed::Environment: MPI_Comm_dup failed");
  MPI_Comm_set_errhandler(s.world, MPI_ERRORS_RETURN);
  MPI_Comm_rank(s.world, &s.rank);
  MPI_Comm_size(s.world, &s.size);
  s.timeout = options.timeout_seconds;
  if (const char* env = std::getenv("XGRAD_DIST_TIMEOUT")) {
    char* end = nullptr;
    const double t = std::strtod(env, &end);
    if (end != env && t > 0.0) s.timeout = t;
  }
  if (!(options.spin_seconds >= 0.0))
    throw ValueError(fmt::format("distributed::Environment: spin_seconds must be >= 0, got {}", options.spin_seconds));
  s.spin = options.spin_seconds;
  if (const char* env = std::getenv("XGRAD_DIST_SPIN")) {
    char* end = nullptr;
    const double t = std::strtod(env, &end);
    if (end != env && t >= 0.0) s.spin = t;
  }
  s.broken = false;
  s.uncaught = std::uncaught_exceptions();
  s.alive = true;
}

const State& alive_state(const char* what) {
  const State& s = state();
  if (!s.alive)
    throw DistributedError(
        fmt::format("{}: no distributed::Environment is alive (create one at the start of main, "
                    "and run the program with mpirun)",
                    what));
  return s;
}

}  // namespace

Environment::Environment(int& argc, char**& argv, EnvironmentOptions options) { start(&argc, &argv, options); }

Environment::Environment(EnvironmentOptions options) { start(nullptr, nullptr, options); }

Environment::~Environment() {
  State& s = state();
  if (s.broken || std::uncaught_exceptions() > s.uncaught) {
    std::fprintf(stderr, "xgrad::distributed: rank %d of %d is %s; aborting the job so that no rank waits forever\n", s.rank,
                 s.size, s.broken ? "stopping after a failed collective operation" : "leaving with an exception");
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Comm_free(&s.world);
  s.world = MPI_COMM_NULL;
  s.alive = false;
  if (s.owns_mpi) MPI_Finalize();
  s.owns_mpi = false;
}

bool is_initialized() { return state().alive; }

int rank() { return alive_state("distributed::rank").rank; }

int world_size() { return alive_state("distributed::world_size").size; }

double timeout() { return state().timeout; }

void set_timeout(double seconds) {
  if (!(seconds > 0.0)) throw ValueError(fmt::format("distributed::set_timeout: the timeout must be positive, got {}", seconds));
  state().timeout = seconds;
}

void barrier() {
  const MPI_Comm comm = detail::world();
  detail::check_usable("barrier");
  MPI_Request request = MPI_REQUEST_NULL;
  detail::check(MPI_Ibarrier(comm, &request), "barrier");
  detail::wait(request, "barrier");
}

void abort(const std::string& message, int code) {
  const State& s = state();
  std::fprintf(stderr, "xgrad::distributed: rank %d: %s\n", s.rank, message.c_str());
  std::fflush(stderr);
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

// ---- library-internal ---------------------------------------------------------------------------

namespace detail {

MPI_Datatype mpi_type(Dtype dtype) {
  switch (dtype) {
    case Dtype::float32:
      return MPI_FLOAT;
    case Dtype::float64:
      return MPI_DOUBLE;
    case Dtype::int64:
      return MPI_INT64_T;
  }
  throw DtypeError("distributed: unsupported dtype");
}

MPI_Comm world() { return alive_state("distributed").world; }

std::string where_am_i() {
  const State& s = state();
  return fmt::format("rank {} of {}", s.rank, s.size);
}

Comm::Comm() {
  check_usable("DistributedDataParallel: creating a communicator");
  check(MPI_Comm_dup(world(), &comm_), "MPI_Comm_dup");
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

Comm::~Comm() {
  // Freeing a communicator with a pending collective is erroneous: after a failure, leak it (the job
  // is being aborted anyway).
  if (comm_ != MPI_COMM_NULL && state().alive && !state().broken) MPI_Comm_free(&comm_);
}

void check(int rc, const std::string& what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  MPI_Error_string(rc, text, &len);
  state().broken = true;
  throw DistributedError(
      fmt::format("{} on {} failed in MPI: {}", what, where_am_i(), std::string(text, static_cast<std::size_t>(len))));
}

void check_usable(const std::string& what) {
  const State& s = alive_state(what.c_str());
  if (s.broken)
    throw DistributedError(
        fmt::format("{} on {}: an earlier collective operation failed or timed out; the job cannot continue "
                    "(MPI cannot cancel a collective)",
                    what, where_am_i()));
}

namespace {
using Clock = std::chrono::steady_clock;

[[noreturn]] void timed_out(const std::string& what, double waited) {
  state().broken = true;
  throw DistributedError(fmt::format(
      "{} on {} did not complete within the timeout of {:g} s (waited {:.1f} s): another rank has died, hangs, or did not "
      "make the same collective call (every rank must run the same model and the same sequence of collective operations). "
      "The job cannot continue",
      what, where_am_i(), state().timeout, waited));
}

// Note [polling]: Open MPI moves a transfer forward only inside MPI calls (MPI_Test here), so a large
// message needs a tight loop of tests to reach full bandwidth, while a rank that spins takes the core
// from a peer (or another program) that shares it. The loop spins for the first spin_seconds (0.5 ms by
// default, about a 1 MB all-reduce over loopback TCP), then yields the core between tests, and after
// 50 ms (a peer that is computing or is late) sleeps 0.2-1 ms between tests.
void pause(double elapsed) {
  if (elapsed < state().spin) return;
  if (elapsed < 50e-3) {
    sched_yield();
    return;
  }
  const double step = elapsed < 1.0 ? 200e-6 : 1e-3;
  std::this_thread::sleep_for(std::chrono::duration<double>(step));
}
}  // namespace

void wait(MPI_Request& request, const std::string& what) {
  const auto start = Clock::now();
  const double limit = state().timeout;
  for (;;) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed > limit) timed_out(what, elapsed);
    pause(elapsed);
  }
}

void wait_all(std::vector<MPI_Request>& requests, const std::string& what) {
  const auto start = Clock::now();
  const double limit = state().timeout;
  for (MPI_Request& r : requests) {
    for (;;) {
      int done = 0;
      check(MPI_Test(&r, &done, MPI_STATUS_IGNORE), what);
      if (done) break;
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      if (elapsed > limit) timed_out(what, elapsed);
      pause(elapsed);
    }
  }
}

bool test_all(std::vector<MPI_Request>& requests, const std::string& what) {
  bool all = true;
  for (MPI_Request& r : requests) {
    if (r == MPI_REQUEST_NULL) continue;
    int done = 0;
    check(MPI_Test(&r, &done, MPI_STATUS_IGNORE), what);
    all = all && done;
  }
  return all;
}

namespace {
constexpr std::int64_t kChunk = INT_MAX / 2;  // MPI counts are ints

int type_size(MPI_Datatype type) {
  int size = 0;
  MPI_Type_size(type, &size);
  return size;
}
}  // namespace

void broadcast_bytes(void* data, std::int64_t count, MPI_Datatype type, int root, MPI_Comm comm, const std::string& what) {
  check_usable(what);
  auto* p = static_cast<unsigned char*>(data);
  const int size = type_size(type);
  std::int64_t done = 0;
  do {  // in chunks that fit MPI's int counts (one empty call for count 0)
    const int n = static_cast<int>(std::min(kChunk, count - done));
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Ibcast(p + done * size, n, type, root, comm, &request), what);
    wait(request, what);
    done += n;
  } while (done < count);
}

void all_reduce_sum(void* data, std::int64_t count, MPI_Datatype type, MPI_Comm comm, const std::string& what) {
  check_usable(what);
  auto* p = static_cast<unsigned char*>(data);
  const int size = type_size(type);
  std::int64_t done = 0;
  do {
    const int n = static_cast<int>(std::min(kChunk, count - done));
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, p + done * size, n, type, MPI_SUM, comm, &request), what);
    wait(request, what);
    done += n;
  } while (done < count);
}

void all_gather_bytes(const void* send, void* recv, std::int64_t count, MPI_Datatype type, MPI_Comm comm,
                      const std::string& what) {
  check_usable(what);
  if (count > INT_MAX)
    throw ValueError(fmt::format("{}: {} elements per rank is more than MPI's limit of {}", what, count, INT_MAX));
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallgather(send, static_cast<int>(count), type, recv, static_cast<int>(count), type, comm, &request), what);
  wait(request, what);
}

std::vector<std::string> all_gather_strings(const std::string& mine, MPI_Comm comm, const std::string& what) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  std::int64_t length = static_cast<std::int64_t>(mine.size());
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(size));
  all_gather_bytes(&length, lengths.data(), 1, MPI_INT64_T, comm, what);
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  std::int64_t total = 0;
  for (int r = 0; r < size; ++r) {
    counts[static_cast<std::size_t>(r)] = static_cast<int>(lengths[static_cast<std::size_t>(r)]);
    displs[static_cast<std::size_t>(r)] = static_cast<int>(total);
    total += lengths[static_cast<std::size_t>(r)];
  }
  if (total > INT_MAX) throw ValueError(fmt::format("{}: {} bytes in total is more than MPI's limit", what, total));
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallgatherv(mine.data(), static_cast<int>(length), MPI_CHAR, all.data(), counts.data(), displs.data(), MPI_CHAR, comm,
                        &request),
        what);
  wait(request, what);
  std::vector<std::string> out;
  for (int r = 0; r < size; ++r)
    out.push_back(all.substr(static_cast<std::size_t>(displs[static_cast<std::size_t>(r)]),
                             static_cast<std::size_t>(counts[static_cast<std::size_t>(r)])));
  return out;
}

}  // namespace detail
}  // namespace xgrad::distributed
