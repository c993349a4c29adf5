#pragma once
// The MPI environment of xgrad::distributed: start-up and shut-down (RAII), rank and world size, the
// deadline of every collective operation, and the error type of the component.
//
//   int main(int argc, char** argv) {
//     xgrad::distributed::Environment env(argc, argv);       // MPI_Init_thread ... MPI_Finalize
//     std::printf("rank %d of %d\n", xgrad::distributed::rank(), xgrad::distributed::world_size());
//   }
//
// Note [deadlines]: every collective xgrad issues is non-blocking (MPI_Ibcast, MPI_Iallreduce, ...)
// and is completed by polling MPI_Test until it finishes or the timeout passes. A rank that died, hangs,
// or issues a different sequence of collectives (another model, another code path) therefore makes the
// others fail with a DistributedError that names the operation, the rank and the wait, instead of
// waiting forever. A communicator with a timed-out operation cannot be used again (MPI cannot cancel a
// collective): after such an error the Environment's destructor aborts the whole job (MPI_Abort), and
// every later collective throws at once. mpirun itself ends the job when a rank exits abnormally.

#include <string>

#include "../autograd/error.hpp"

namespace xgrad::distributed {

/// Errors of the distributed component: a collective that timed out or failed in MPI, ranks that
/// disagree (different models, shapes or dtypes), use before initialization. The message names the
/// operation, the rank(s) and the offending values.
class DistributedError : public Error {
 public:
  using Error::Error;
};

/// Options of Environment.
struct EnvironmentOptions {
  /// Deadline of every collective operation, in seconds (see Note [deadlines]). The environment
  /// variable XGRAD_DIST_TIMEOUT, when set to a positive number, overrides it.
  double timeout_seconds = 300.0;
  /// How long a rank waiting for a collective polls MPI in a tight loop before it starts yielding its
  /// core (Note [polling] in environment.cpp): longer suits ranks with a core each (full bandwidth for
  /// large messages), shorter suits ranks that share cores. The environment variable XGRAD_DIST_SPIN
  /// (seconds) overrides it.
  double spin_seconds = 0.5e-3;
};

/// Initializes MPI (MPI_Init_thread, MPI_THREAD_SERIALIZED: any one thread at a time may call xgrad's
/// collectives) unless the program already did, and creates xgrad's own communicator (a duplicate of
/// MPI_COMM_WORLD, so xgrad's collectives never mix with the program's own MPI calls). The destructor
/// frees it and calls MPI_Finalize (only when this object initialized MPI). If the destructor runs
/// during stack unwinding, or after a collective failed or timed out, it calls MPI_Abort instead, so
/// that one rank's error ends the whole job rather than leaving the others waiting.
/// One Environment per process (DistributedError for a second one while the first is alive).
class Environment {
 public:
  /// With the program's arguments (MPI may consume its own).
  Environment(int& argc, char**& argv, EnvironmentOptions options = {});
  /// Without arguments.
  explicit Environment(EnvironmentOptions options = {});
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
};

/// True while an Environment is alive.
bool is_initialized();
/// This process's rank in [0, world_size()). DistributedError without an Environment.
int rank();
/// The number of processes. DistributedError without an Environment.
int world_size();
/// The deadline of collective operations in seconds (see EnvironmentOptions::timeout_seconds).
double timeout();
/// Changes the deadline of the collective operations started from now on (> 0; ValueError otherwise).
void set_timeout(double seconds);
/// Blocks until every rank has called barrier() (MPI_Ibarrier with the deadline).
void barrier();
/// Prints "xgrad::distributed: rank R: <message>" to stderr and ends the whole job (MPI_Abort with
/// `code`). Use it when a rank cannot continue and must not leave the others waiting.
[[noreturn]] void abort(const std::string& message, int code = 1);

}  // namespace xgrad::distributed
