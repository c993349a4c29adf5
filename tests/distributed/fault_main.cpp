// Fault scenarios for the MPI suite (tests/distributed/tests.cmake runs each under mpirun through
// expect_failure.sh, which checks that the job fails, within a time bound, with the expected message):
//   dead      rank 1 exits abruptly (_exit(3)) in the middle of training: mpirun ends the job.
//   killed    rank 1 is killed by SIGKILL during a backward pass: mpirun ends the job.
//   hang      rank 1 stops responding (sleeps) in the middle of training: the others' collective times
//             out after the deadline (3 s) with a DistributedError, and the job is aborted.
//   mismatch  rank 1 builds a model with another hidden size: every rank stops at construction of
//             DistributedDataParallel with a DistributedError naming the parameter.
// Usage: mpirun -np N xgrad_mpi_fault MODE
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <xgrad/autograd/threads.hpp>
#include <xgrad/distributed/distributed.hpp>
#include <xgrad/xgrad.hpp>

using namespace xgrad;
namespace dist = xgrad::distributed;

int main(int argc, char** argv) {
  dist::Environment env(argc, argv, {.timeout_seconds = 3.0});
  set_num_threads(1);
  const std::string mode = argc > 1 ? argv[1] : "";
  const int rank = dist::rank();
  try {
    const std::int64_t hidden = (mode == "mismatch" && rank == 1) ? 24 : 32;
    manual_seed(0);
    auto model = std::make_shared<nn::Sequential>(nn::Linear(20, hidden), nn::ReLU(), nn::Linear(hidden, 4));
    dist::DistributedDataParallel ddp(model);
    optim::SGD sgd(ddp.parameters(), optim::SGDOptions(0.05));
    manual_seed(static_cast<std::uint64_t>(rank));
    for (int step = 0; step < 1000000; ++step) {
      const Tensor x = randn({16, 20});
      const Tensor y = randint(0, 4, {16});
      if (step == 5 && rank == 1) {
        if (mode == "dead") _exit(3);
        if (mode == "hang") {
          std::fprintf(stderr, "rank 1: hanging on purpose\n");
          for (;;) pause();
        }
        if (mode == "killed") {
          const Tensor loss = cross_entropy(ddp(x), y);
          (void)loss;
          raise(SIGKILL);
        }
      }
      sgd.zero_grad();
      cross_entropy(ddp(x), y).backward();
      sgd.step();
      if (step == 200) break;  // nothing went wrong: a mode that does not fail
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
    std::fflush(stderr);
    return 1;  // the Environment aborts the job when a collective failed; otherwise it finalizes
  }
  std::printf("rank %d: no fault in mode '%s'\n", rank, mode.c_str());
  return 0;
}
