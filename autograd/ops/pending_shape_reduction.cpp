// TEMPORARY: ops declared but not yet implemented. Each helper removes its stubs as it implements
// them; this file disappears when the op library is complete.
#include "../ops.hpp"

namespace xgrad {
namespace {
[[noreturn]] void todo(const char* op) { throw Error(std::string(op) + ": not implemented yet"); }
}  // namespace

Tensor cat(const TensorList&, std::int64_t, Where) { todo("cat"); }
Tensor stack(const TensorList&, std::int64_t, Where) { todo("stack"); }
TensorList split(const Tensor&, std::int64_t, std::int64_t, Where) { todo("split"); }
TensorList split(const Tensor&, const std::vector<std::int64_t>&, std::int64_t, Where) { todo("split"); }
TensorList chunk(const Tensor&, std::int64_t, std::int64_t, Where) { todo("chunk"); }
Tensor narrow(const Tensor&, std::int64_t, std::int64_t, std::int64_t, Where) { todo("narrow"); }
Tensor slice(const Tensor&, std::int64_t, std::int64_t, std::int64_t, std::int64_t, Where) { todo("slice"); }
Tensor index_select(const Tensor&, std::int64_t, const Tensor&, Where) { todo("index_select"); }
Tensor gather(const Tensor&, std::int64_t, const Tensor&, Where) { todo("gather"); }
Tensor scatter_add(const Tensor&, std::int64_t, const Tensor&, const Tensor&, Where) { todo("scatter_add"); }
Tensor one_hot(const Tensor&, std::int64_t, Dtype, Where) { todo("one_hot"); }

Tensor var(const Tensor&, const Dims&, bool, bool, Where) { todo("var"); }
Tensor std(const Tensor&, const Dims&, bool, bool, Where) { todo("std"); }
Tensor prod(const Tensor&, const Dims&, bool, Where) { todo("prod"); }
Tensor logsumexp(const Tensor&, const Dims&, bool, Where) { todo("logsumexp"); }
Tensor norm(const Tensor&, double, const Dims&, bool, Where) { todo("norm"); }
Tensor max(const Tensor&, Where) { todo("max"); }
Tensor min(const Tensor&, Where) { todo("min"); }
ValuesIndices max(const Tensor&, std::int64_t, bool, Where) { todo("max"); }
ValuesIndices min(const Tensor&, std::int64_t, bool, Where) { todo("min"); }
Tensor amax(const Tensor&, const Dims&, bool, Where) { todo("amax"); }
Tensor amin(const Tensor&, const Dims&, bool, Where) { todo("amin"); }
Tensor argmax(const Tensor&, std::int64_t, bool, Where) { todo("argmax"); }
Tensor argmax(const Tensor&, Where) { todo("argmax"); }
Tensor argmin(const Tensor&, std::int64_t, bool, Where) { todo("argmin"); }
Tensor argmin(const Tensor&, Where) { todo("argmin"); }

}  // namespace xgrad
