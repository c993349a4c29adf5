#pragma once
// Library-internal: a communicator and the deadline-bounded completion of non-blocking collectives
// (Note [deadlines] in environment.hpp). The only header of distributed/ that includes mpi.h; the
// public headers stay free of MPI.

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../../autograd/dtype.hpp"

namespace xgrad::distributed::detail {

/// The MPI datatype of a tensor dtype.
MPI_Datatype mpi_type(Dtype dtype);

/// A communicator owned by xgrad (a duplicate of the world communicator, with MPI_ERRORS_RETURN so
/// that failures become exceptions).
class Comm {
 public:
  /// Duplicates xgrad's world communicator (the Environment must be alive).
  Comm();
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  MPI_Comm get() const noexcept { return comm_; }
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

/// xgrad's world communicator (DistributedError without an Environment).
MPI_Comm world();

/// Throws DistributedError "<what> on rank R of N failed in MPI: <MPI's error text>" (and marks the
/// environment broken) unless rc == MPI_SUCCESS.
void check(int rc, const std::string& what);
/// Throws at once when an earlier collective failed or timed out (the job cannot continue).
void check_usable(const std::string& what);

/// Completes `request` by polling MPI_Test until it is done; DistributedError naming `what` when the
/// deadline passes first (and the environment is marked broken).
void wait(MPI_Request& request, const std::string& what);
/// Completes all requests (in order), each against the same deadline.
void wait_all(std::vector<MPI_Request>& requests, const std::string& what);
/// Drives MPI's progress engine on outstanding requests without blocking (MPI_Test on each);
/// returns true when all are complete.
bool test_all(std::vector<MPI_Request>& requests, const std::string& what);

/// Blocking collectives with the deadline, on raw buffers.
void broadcast_bytes(void* data, std::int64_t count, MPI_Datatype type, int root, MPI_Comm comm, const std::string& what);
void all_reduce_sum(void* data, std::int64_t count, MPI_Datatype type, MPI_Comm comm, const std::string& what);
void all_gather_bytes(const void* send, void* recv, std::int64_t count, MPI_Datatype type, MPI_Comm comm,
                      const std::string& what);
/// All-gathers strings of different lengths; returns one per rank.
std::vector<std::string> all_gather_strings(const std::string& mine, MPI_Comm comm, const std::string& what);

/// "rank R of N" for messages.
std::string where_am_i();

}  // namespace xgrad::distributed::detail
