// How far apart the two CPUs of this machine are: two threads pinned to CPU 0 and CPU 1 hand one
// cache line back and forth; prints the round-trip time. Cores of one CCX share an L3 (~50-80 ns),
// cores of two sockets or far-apart vCPUs do not (several hundred ns). Quoted in docs/performance.md
// ("Why the misses", T=2). Build and run: g++ -O2 -pthread bench/vcpu_pingpong.cpp -o /tmp/pp && /tmp/pp
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

namespace {
void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}
alignas(64) std::atomic<int> flag{0};
}  // namespace

int main() {
  const int n = 200000;
  std::thread other([&] {
    pin(1);
    for (int i = 0; i < n; ++i) {
      while (flag.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      flag.store(2 * i + 2, std::memory_order_release);
    }
  });
  pin(0);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    flag.store(2 * i + 1, std::memory_order_release);
    while (flag.load(std::memory_order_acquire) != 2 * i + 2) {
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  other.join();
  std::printf("cache-line round trip CPU 0 <-> CPU 1: %.0f ns\n", std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
}
