// The MPI test suite: every rank runs every test case, in the same order (the cases call collectives).
// Run it under mpirun (tests/distributed/tests.cmake registers it with 1, 2 and 4 ranks):
//   mpirun -np 2 build/tests/xgrad_mpi_tests
// A case that fails on one rank makes the ranks' sequences of collectives diverge; the deadline
// (30 s here) then ends the job with a DistributedError instead of a hang.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <xgrad/autograd/threads.hpp>
#include <xgrad/distributed/distributed.hpp>

int main(int argc, char** argv) {
  xgrad::distributed::Environment env(argc, argv, {.timeout_seconds = 30.0});
  xgrad::set_num_threads(1);  // one BLAS thread per rank: the ranks share the machine's cores
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  const int failed = context.run();
  // Every rank reports its own result; mpirun's exit code is non-zero when any rank failed.
  return failed;
}
