#pragma once
// The global random generator behind rand/randn/bernoulli/randperm, dropout masks and initializers.

#include <cstdint>
#include <random>

namespace xgrad {

/// Seeds the global generator of the calling thread: the same seed gives the same draws.
void manual_seed(std::uint64_t seed);

/// The generator of the calling thread (a 64-bit Mersenne twister). Each thread has its own,
/// seeded from 0 until manual_seed is called on it.
std::mt19937_64& generator();

}  // namespace xgrad
