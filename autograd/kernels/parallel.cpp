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
// (kernels/gemm.cpp) and the element-wise updates above kParallelGrain split their work into n parts:
// the calling thread runs part 0 and n - 1 workers of xgrad's own run the others, each product part
// through single-threaded OpenBLAS. Why not OpenBLAS's threads (the rule until 2026-12-05, Note [lazy
// BLAS threads]): its workers spin in sched_yield for a long while after every product, which on these
// 2-vCPU machines (the vCPUs contend like SMT siblings) slowed everything the main thread did between
// products, so the W3 network's products only paid at batch >= 256; and it cannot share its threads
// with anything but BLAS.
// - A worker waits for its next part by spinning on its own slot with the pause instruction for
//   spin_micros() (200 µs, XGRAD_SPIN_US; the gaps between the products of one training step are
//   shorter), then sleeps on a futex until the next part is posted: an idle program costs nothing.
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

// One worker's mailbox: the region posts a part by storing task/context/part and then bumping `posted`.
struct alignas(64) Slot {
  std::atomic<std::uint32_t> posted{0};
  std::atomic<bool> sleeping{false};
  Task task = nullptr;
  void* context = nullptr;
  int part = 0, parts = 0;
};

thread_local bool t_in_task = false;

struct Pool {
  std::mutex region;  // held by the region that uses the workers
  std::vector<std::unique_ptr<Slot>> slots;
  std::atomic<int> pending{0};
  std::mutex error_mutex;
  std::exception_ptr error;

  void run_part(Task task, void* context, int i, int parts) {
    try {
      task(context, i, parts);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }

  void worker(Slot* slot) {
    ::pthread_setname_np(::pthread_self(), "xgrad-worker");
    t_in_task = true;
    std::uint32_t seen = 0;  // the slot's count when it was made: a part may be posted before this thread runs
    const auto spin = std::chrono::microseconds(spin_micros());
    for (;;) {
      auto start = std::chrono::steady_clock::now();
      for (std::uint32_t polls = 1; slot->posted.load(std::memory_order_acquire) == seen; ++polls) {
        cpu_relax();
        if (polls % 64 == 0 && std::chrono::steady_clock::now() - start >= spin) {
          slot->sleeping.store(true);  // seq_cst, paired with post(): one of the two sees the other
          while (slot->posted.load() == seen) futex_wait(slot->posted, seen);
          slot->sleeping.store(false, std::memory_order_relaxed);
        }
      }
      seen = slot->posted.load(std::memory_order_acquire);
      run_part(slot->task, slot->context, slot->part, slot->parts);
      pending.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void start_workers(int count) {
    while (static_cast<int>(slots.size()) < count) {
      slots.push_back(std::make_unique<Slot>());
      std::thread(&Pool::worker, this, slots.back().get()).detach();
    }
  }

  static void post(Slot& s, Task task, void* context, int part, int parts) {
    s.task = task;
    s.context = context;
    s.part = part;
    s.parts = parts;
    s.posted.fetch_add(1);  // seq_cst: publishes the fields, ordered before the sleeping check
    if (s.sleeping.load()) futex_wake(s.posted);
  }

  void run(int parts, Task task, void* context) {
    start_workers(parts - 1);
    pending.store(parts - 1, std::memory_order_relaxed);
    for (int i = 1; i < parts; ++i) post(*slots[static_cast<std::size_t>(i - 1)], task, context, i, parts);
    t_in_task = true;
    run_part(task, context, 0, parts);
    t_in_task = false;
    while (pending.load(std::memory_order_acquire) != 0) cpu_relax();
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
  return n > 1 ? n : 1;
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
