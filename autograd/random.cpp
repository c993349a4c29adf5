#include "random.hpp"

namespace xgrad {
namespace {
std::mt19937_64& thread_generator() {
  thread_local std::mt19937_64 gen(0);
  return gen;
}
}  // namespace

void manual_seed(std::uint64_t seed) { thread_generator().seed(seed); }
std::mt19937_64& generator() { return thread_generator(); }

}  // namespace xgrad
