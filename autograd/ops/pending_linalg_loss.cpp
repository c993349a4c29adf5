// TEMPORARY: ops declared but not yet implemented. Each helper removes its stubs as it implements
// them; this file disappears when the op library is complete.
#include "../ops.hpp"

namespace xgrad {
namespace {
[[noreturn]] void todo(const char* op) { throw Error(std::string(op) + ": not implemented yet"); }
}  // namespace

Tensor matmul(const Tensor&, const Tensor&, Where) { todo("matmul"); }
Tensor linear(const Tensor&, const Tensor&, const Tensor&, Where) { todo("linear"); }

Tensor softmax(const Tensor&, std::int64_t, Where) { todo("softmax"); }
Tensor log_softmax(const Tensor&, std::int64_t, Where) { todo("log_softmax"); }

Tensor mse_loss(const Tensor&, const Tensor&, Reduction, Where) { todo("mse_loss"); }
Tensor l1_loss(const Tensor&, const Tensor&, Reduction, Where) { todo("l1_loss"); }
Tensor huber_loss(const Tensor&, const Tensor&, Reduction, double, Where) { todo("huber_loss"); }
Tensor smooth_l1_loss(const Tensor&, const Tensor&, Reduction, double, Where) { todo("smooth_l1_loss"); }
Tensor binary_cross_entropy(const Tensor&, const Tensor&, Reduction, const Tensor&, Where) { todo("binary_cross_entropy"); }
Tensor binary_cross_entropy_with_logits(const Tensor&, const Tensor&, Reduction, const Tensor&, const Tensor&, Where) {
  todo("binary_cross_entropy_with_logits");
}
Tensor cross_entropy(const Tensor&, const Tensor&, const CrossEntropyOptions&, Where) { todo("cross_entropy"); }
Tensor nll_loss(const Tensor&, const Tensor&, Reduction, const Tensor&, std::int64_t, Where) { todo("nll_loss"); }

}  // namespace xgrad
