#include "parallel.hpp"

#include <fmt/format.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "../error.hpp"
#include "../threads.hpp"
#include "gemm.hpp"

// Note [parallel regions]
// Once a program calls set_num_threads(n) with n > 1, the matrix products above a size threshold
// (kernels/gemm.cpp) and the element-wise ops and softmax rows above kParallelGrain elements split their
// work into n parts (ranges on 64-element boundaries, or whole rows: bit-identical for any n),
// which the calling thread and n - 1 workers of xgrad's own share, each product part computed by
// single-threaded OpenBLAS. Why not OpenBLAS's threads (the rule until 2026-12-05, Note [lazy
// BLAS threads]): its workers spin in sched_yield for a long while after every product, which on these
// 2-vCPU machines (the vCPUs contend like SMT siblings) slowed everything the main thread did between
// products, so the W3 network's products only paid at batch >= 256; and it cannot share its threads
// with anything but BLAS.
// - The parts are claimed from a shared counter by the caller and by every worker that is awake, so
//   the caller never waits for a worker to wake up: if none comes, it runs every part itself. A
//   worker waits for the next region by spinning on its own slot with the pause instruction for
//   spin_micros() (200 µs, XGRAD_SPIN_US; the gaps between the products of one training step are
//   shorter), then sleeps on a futex until woken: an idle program costs nothing. (Before parts were
//   claimed, each worker had its own part, and the exp forward + backward of W7 - a 1e6-element
//   multiplication right after 230 µs of single-threaded work - took 1.46x as long at two threads as at one:
//   the caller waited for the sleeping worker.)
// - Workers start at the first region that needs them, so a program whose work is all small never has
//   a second thread (a multi-threaded process pays for locked malloc and atomic reference counts).
// - One region at a time holds the workers; a region started from inside a task, or while another
//   thread's region holds them, runs all its parts on its own thread. The split depends only on the
//   sizes and n, so results are reproducible at a fixed n.
// - After fork() the child gets a fresh pool (its workers did not survive the fork).
// The pool is never destroyed: its workers outlive static destruction and end with the process.
namespace xgrad::kernels {
namespace {

using Task = void (*)(void*, int, int);

// Microseconds a worker spins for its next part before it sleeps; XGRAD_SPIN_US overrides (0: sleep
// at once).
std::int64_t spin_micros() {
  static const std::int64_t us = [] {
    const char* env = std::getenv("XGRAD_SPIN_US");
    return env != nullptr ? std::max<std::int64_t>(0, std::atoll(env)) : std::int64_t{200};
  }();
  return us;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Sleeps while `word` holds `expected` (or until a spurious wake-up); futex_wake wakes a sleeper.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
void futex_wake(std::atomic<std::uint32_t>& word) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

// One worker's wake-up call: the region bumps `posted`; a worker that sleeps is woken on the futex.
struct alignas(64) Slot {
  std::atomic<std::uint32_t> posted{0};
  std::atomic<bool> sleeping{false};
};

thread_local bool t_in_task = false;

// The parts of a region are claimed, not assigned: the caller and every awake worker take the next
// unclaimed part until none is left, so a worker that is slow to wake (a futex wake-up on these VMs
// can take longer than the region) costs nothing: the caller runs its parts. The claim word packs the
// region's generation (32 bits), its part count (16) and the next part (16), so a worker that reads it
// late, after its region ended, cannot claim anything of a newer region by mistake (its
// compare-exchange fails on the generation).
constexpr std::uint64_t claim_word(std::uint64_t gen, std::uint64_t parts, std::uint64_t next) {
  return gen << 32 | parts << 16 | next;
}

struct Pool {
  std::mutex region;  // held by the region that uses the workers
  std::vector<std::unique_ptr<Slot>> slots;
  std::atomic<std::uint64_t> claim{0};
  std::atomic<Task> task{nullptr};
  std::atomic<void*> context{nullptr};
  std::atomic<int> done{0};  // parts of the current region finished
  std::uint32_t generation = 0;  // written by the region's owner only
  std::mutex error_mutex;
  std::exception_ptr error;

  // Claims and runs parts of the current region until none is left.
  void run_parts() {
    std::uint64_t w = claim.load(std::memory_order_acquire);
    for (;;) {
      const auto parts = static_cast<int>(w >> 16 & 0xffff), next = static_cast<int>(w & 0xffff);
      if (next >= parts) return;
      // The fields are those of the region w names: they are written before its claim word is
      // published and kept until all its parts are done, which cannot happen before part `next`.
      const Task t = task.load(std::memory_order_relaxed);
      void* c = context.load(std::memory_order_relaxed);
      if (!claim.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      try {
        t(c, next, parts);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
      done.fetch_add(1, std::memory_order_acq_rel);
      w = claim.load(std::memory_order_acquire);
    }
  }

  void worker(Slot* slot) {
    t_in_task = true;
    std::uint32_t seen = 0;  // the slot's count when it was made: a region may post before this thread runs
    const auto spin = std::chrono::microseconds(spin_micros());
    for (;;) {
      auto start = std::chrono::steady_clock::now();
      for (std::uint32_t polls = 1; slot->posted.load(std::memory_order_acquire) == seen; ++polls) {
        cpu_relax();
        if (polls % 64 == 0 && std::chrono::steady_clock::now() - start >= spin) {
          slot->sleeping.store(true);  // seq_cst, paired with wake(): one of the two sees the other
          while (slot->posted.load() == seen) futex_wait(slot->posted, seen);
          slot->sleeping.store(false, std::memory_order_relaxed);
        }
      }
      seen = slot->posted.load(std::memory_order_acquire);
      run_parts();
    }
  }

  void start_workers(int count) {
    while (static_cast<int>(slots.size()) < count) {
      slots.push_back(std::make_unique<Slot>());
      std::thread t(&Pool::worker, this, slots.back().get());
      // named here, not by the worker: the region may end before the new thread first runs
      ::pthread_setname_np(t.native_handle(), "xgrad-worker");
      t.detach();
    }
  }

  static void wake(Slot& s) {
    s.posted.fetch_add(1);  // seq_cst: ordered before the sleeping check
    if (s.sleeping.load()) futex_wake(s.posted);
  }

  void run(int parts, Task t, void* c) {
    start_workers(parts - 1);
    ++generation;
    task.store(t, std::memory_order_relaxed);
    context.store(c, std::memory_order_relaxed);
    done.store(0, std::memory_order_relaxed);
    claim.store(claim_word(generation, static_cast<std::uint64_t>(parts), 0), std::memory_order_release);
    for (int i = 1; i < parts; ++i) wake(*slots[static_cast<std::size_t>(i - 1)]);
    t_in_task = true;
    run_parts();
    t_in_task = false;
    while (done.load(std::memory_order_acquire) != parts) cpu_relax();
    if (error) std::rethrow_exception(std::exchange(error, nullptr));
  }
};

std::atomic<Pool*> g_pool{nullptr};
std::mutex g_pool_mutex;
std::vector<Pool*> g_pools_of_parent;  // kept reachable after fork() (their threads are gone)

Pool& pool() {
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p != nullptr) return *p;
  const std::lock_guard<std::mutex> lock(g_pool_mutex);
  p = g_pool.load(std::memory_order_relaxed);
  if (p == nullptr) {
    static const bool registered = [] {
      ::pthread_atfork(nullptr, nullptr, [] {
        if (Pool* old = g_pool.exchange(nullptr)) g_pools_of_parent.push_back(old);
      });
      return true;
    }();
    (void)registered;
    p = new Pool;  // never deleted: see Note [parallel regions]
    g_pool.store(p, std::memory_order_release);
  }
  return *p;
}

std::atomic<int> g_threads{0};  // the set_num_threads count; 0: never set

}  // namespace

int parallel_threads() {
  const int n = g_threads.load(std::memory_order_relaxed);
  return std::clamp(n, 1, kMaxParallelParts);
}

int elementwise_parts(std::int64_t n) { return n >= kParallelGrain ? parallel_threads() : 1; }

void run_parallel(int parts, Task task, void* context) {
  if (parts > 1 && !t_in_task) {
    Pool& p = pool();
    std::unique_lock<std::mutex> lock(p.region, std::try_to_lock);
    if (lock.owns_lock()) return p.run(parts, task, context);
  }
  const bool outer = t_in_task;
  t_in_task = true;
  struct Restore {
    bool v;
    ~Restore() { t_in_task = v; }
  } restore{outer};
  for (int i = 0; i < parts; ++i) task(context, i, parts);
}

}  // namespace xgrad::kernels

namespace xgrad {

void set_num_threads(int n) {
  if (n < 1) throw ValueError(fmt::format("set_num_threads: the number of threads must be at least 1, got {}", n));
  kernels::g_threads.store(n);
  kernels::blas_single_threaded();  // xgrad's own workers split the products (Note [parallel regions])
}

int get_num_threads() {
  const int n = kernels::g_threads.load();
  return n != 0 ? n : kernels::blas_threads();
}

}  // namespace xgrad
