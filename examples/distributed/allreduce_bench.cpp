// Latency and bandwidth of xgrad's all-reduce on this job (the numbers behind docs/distributed.md's
// scaling model): for message sizes from 4 bytes to 16 MiB, the median time of distributed::all_reduce
// on a float32 tensor over `reps` repetitions, and the algorithm bandwidth (bytes / time) and bus
// bandwidth (2·(N-1)/N · bytes / time, the bytes a ring all-reduce moves per rank).
//
//   mpirun -np 2 build/examples/allreduce_bench [reps]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <xgrad/autograd/threads.hpp>
#include <xgrad/distributed/distributed.hpp>
#include <xgrad/xgrad.hpp>

using namespace xgrad;
namespace dist = xgrad::distributed;

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  set_num_threads(1);  // idle OpenBLAS threads of several ranks on few cores slow MPI's progress down
  const int reps = argc > 1 ? std::stoi(argv[1]) : 50;
  const int n = dist::world_size();
  if (dist::rank() == 0)
    std::printf("%d ranks, median of %d repetitions\n%12s %12s %14s %14s\n", n, reps, "bytes", "time (us)", "algbw (MB/s)",
                "busbw (MB/s)");
  for (std::int64_t elems = 1; elems <= (std::int64_t{1} << 22); elems *= 4) {
    Tensor t = ones({elems}, kFloat32);
    std::vector<double> times;
    for (int i = 0; i < reps + 3; ++i) {
      dist::barrier();
      const auto t0 = std::chrono::steady_clock::now();
      dist::all_reduce(t);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (i >= 3) times.push_back(s);  // warm-up excluded
    }
    std::sort(times.begin(), times.end());
    const double med = dist::all_reduce(times[times.size() / 2], dist::ReduceOp::mean);
    const double bytes = 4.0 * static_cast<double>(elems);
    if (dist::rank() == 0)
      std::printf("%12.0f %12.1f %14.1f %14.1f\n", bytes, med * 1e6, bytes / med / 1e6, 2.0 * (n - 1) / n * bytes / med / 1e6);
  }
  return 0;
}
