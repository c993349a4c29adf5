#include "ddp.hpp"

#include <fmt/format.h>

#include <chrono>
#include <climits>
#include <map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../autograd/grad_mode.hpp"
#include "../autograd/node.hpp"
#include "../autograd/ops.hpp"
#include "collectives.hpp"
#include "detail/comm.hpp"
#include "environment.hpp"

namespace xgrad::distributed {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void* raw(Tensor& t) {
  return dispatch_all(t.dtype(), [&](auto tag) -> void* { return t.mutable_data<decltype(tag)>(); });
}
}  // namespace

struct DistributedDataParallel::Reducer {
  struct Param {
    std::string name;
    Tensor tensor;
    std::size_t bucket = 0;
    std::int64_t offset = 0;  // in the bucket's buffer, in elements
    int hook = 0;
    bool ready = false;
  };
  struct Bucket {
    Dtype dtype = kFloat32;
    std::vector<std::size_t> params;
    std::int64_t numel = 0;
    Tensor buffer;    // (numel) flat gradients
    Tensor gathered;  // (N, numel) with `deterministic`
    std::size_t pending = 0;
    MPI_Request request = MPI_REQUEST_NULL;
    bool launched = false;
  };

  detail::Comm comm;
  DdpOptions options;
  std::vector<Param> params;
  std::vector<Bucket> buckets;
  bool expect_backward = false;  // a forward prepared an iteration whose reduction has not finished
  bool no_sync = false;
  std::size_t next_launch = 0;
  std::size_t ready_count = 0;
  DdpStats stats;

  std::string what(const Bucket& b) const {
    return fmt::format("DistributedDataParallel: all-reduce of gradient bucket {} of {} ({} {} elements)",
                       static_cast<std::size_t>(&b - buckets.data()), buckets.size(), b.numel, dtype_name(b.dtype));
  }

  void prepare() {
    if (expect_backward && ready_count > 0) {
      std::string missing;
      std::size_t count = 0;
      for (const Param& p : params)
        if (!p.ready) {
          if (count < 8) missing += (count ? ", '" : "'") + p.name + "'";
          ++count;
        }
      throw DistributedError(
          fmt::format("DistributedDataParallel::forward on {}: the previous backward did not finish averaging the gradients: {} "
                      "parameter(s) received no gradient ({}{}). Every parameter that requires grad must get a gradient in every "
                      "backward; pass DdpOptions::find_unused_parameters = true when some are unused in some forwards",
                      detail::where_am_i(), count, missing, count > 8 ? ", ..." : ""));
    }
    for (Param& p : params) p.ready = false;
    for (Bucket& b : buckets) {
      b.pending = b.params.size();
      b.launched = false;
    }
    next_launch = 0;
    ready_count = 0;
    expect_backward = true;
  }

  void launch(Bucket& b) {
    const MPI_Datatype type = detail::mpi_type(b.dtype);
    detail::check_usable(what(b));
    if (options.deterministic) {
      detail::check(MPI_Iallgather(raw(b.buffer), static_cast<int>(b.numel), type, raw(b.gathered), static_cast<int>(b.numel),
                                   type, comm.get(), &b.request),
                    what(b));
    } else {
      detail::check(MPI_Iallreduce(MPI_IN_PLACE, raw(b.buffer), static_cast<int>(b.numel), type, MPI_SUM, comm.get(), &b.request),
                    what(b));
    }
    b.launched = true;
  }

  // Drives MPI's progress engine on the buckets in flight (Open MPI moves non-blocking collectives
  // forward only inside MPI calls).
  void poll() {
    for (std::size_t i = 0; i < next_launch; ++i) {
      Bucket& b = buckets[i];
      if (b.request == MPI_REQUEST_NULL) continue;
      int done = 0;
      detail::check(MPI_Test(&b.request, &done, MPI_STATUS_IGNORE), what(b));
    }
  }

  void finish() {
    const auto t0 = Clock::now();
    for (Bucket& b : buckets) {
      if (b.request != MPI_REQUEST_NULL) detail::wait(b.request, what(b));
    }
    stats.wait_seconds += seconds_since(t0);
    NoGradGuard no_grad;
    const double scale = 1.0 / static_cast<double>(comm.size());
    for (Bucket& b : buckets) {
      if (options.deterministic) {
        // rank order: ((g_0 + g_1) + g_2) + ...
        b.buffer.copy_(narrow(b.gathered, 0, 0, 1).reshape({b.numel}));
        for (int r = 1; r < comm.size(); ++r) b.buffer.add_(narrow(b.gathered, 0, r, 1).reshape({b.numel}));
      }
      b.buffer.mul_(scale);
    }
    for (Param& p : params) {
      const Bucket& b = buckets[p.bucket];
      const Tensor slice = narrow(b.buffer, 0, p.offset, p.tensor.numel()).reshape(p.tensor.shape());
      Tensor g = p.tensor.grad();
      if (g.defined())
        g.copy_(slice);
      else
        p.tensor.set_grad(slice.clone());
    }
    expect_backward = false;
    ++stats.reductions;
  }

  void mark_ready(std::size_t index) {
    Param& p = params[index];
    if (no_sync) return;
    if (!expect_backward)
      throw DistributedError(fmt::format(
          "DistributedDataParallel on {}: the gradient of '{}' arrived outside of a synchronized step: backward ran twice after "
          "one forward, or on an output that was not computed through the DistributedDataParallel wrapper, so the ranks' "
          "gradients would silently differ. Run the forward through the wrapper before each backward, or accumulate locally "
          "inside no_sync()",
          detail::where_am_i(), p.name));
    if (p.ready)
      throw DistributedError(fmt::format("DistributedDataParallel on {}: the gradient of '{}' arrived twice in one step",
                                         detail::where_am_i(), p.name));
    const auto t0 = Clock::now();
    p.ready = true;
    ++ready_count;
    Bucket& b = buckets[p.bucket];
    {
      NoGradGuard no_grad;
      Tensor slice = narrow(b.buffer, 0, p.offset, p.tensor.numel());
      const Tensor g = p.tensor.grad();
      if (g.defined())
        slice.copy_(g.detach().reshape({p.tensor.numel()}));
      else
        slice.zero_();
    }
    --b.pending;
    // Start complete buckets in bucket order (the same order on every rank), then let MPI progress.
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) launch(buckets[next_launch++]);
    poll();
    stats.hook_seconds += seconds_since(t0);
    if (next_launch == buckets.size()) finish();
  }

  // Parameters that `output` does not depend on (a graph walk with an explicit stack).
  void mark_unused(const Tensor& output) {
    std::unordered_set<const Node*> seen;
    std::vector<std::shared_ptr<Node>> stack;
    if (output.defined() && output.grad_fn()) stack.push_back(output.grad_fn());
    while (!stack.empty()) {
      std::shared_ptr<Node> n = std::move(stack.back());
      stack.pop_back();
      if (!seen.insert(n.get()).second) continue;
      for (const Edge& e : n->next_edges())
        if (e.valid() && !seen.count(e.node.get())) stack.push_back(e.node);
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Edge e = gradient_edge(params[i].tensor);  // the leaf's accumulator (the graph's, when it is used)
      const bool used = (output.defined() && output.is_same(params[i].tensor)) || seen.count(e.node.get()) > 0;
      if (!used) mark_ready(i);
    }
  }

  void broadcast_buffers(const nn::Module& module) {
    std::map<Dtype, std::vector<Tensor>> groups;
    for (const Tensor& t : module.buffers()) groups[t.dtype()].push_back(t);
    NoGradGuard no_grad;
    for (auto& [dtype, list] : groups) {
      std::int64_t total = 0;
      for (const Tensor& t : list) total += t.numel();
      Tensor flat = zeros({total}, dtype);
      std::int64_t at = 0;
      for (const Tensor& t : list) {
        narrow(flat, 0, at, t.numel()).copy_(t.reshape({t.numel()}));
        at += t.numel();
      }
      detail::broadcast_bytes(raw(flat), total, detail::mpi_type(dtype), 0, comm.get(),
                              fmt::format("DistributedDataParallel: broadcast of the {} buffers", dtype_name(dtype)));
      at = 0;
      for (Tensor t : list) {
        t.copy_(narrow(flat, 0, at, t.numel()).reshape(t.shape()));
        at += t.numel();
      }
    }
  }
};

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module, DdpOptions options)
    : nn::Module("DistributedDataParallel"), module_(std::move(module)), options_(options) {
  if (!module_) throw ValueError("DistributedDataParallel: the module is null");
  if (options_.bucket_cap_bytes < 1)
    throw ValueError(
        fmt::format("DistributedDataParallel: bucket_cap_bytes must be at least 1, got {}", options_.bucket_cap_bytes));
  register_module("module", module_);
  check_same_model(*module_, "DistributedDataParallel");
  broadcast_parameters(*module_);
  reducer_ = std::make_unique<Reducer>();
  Reducer& r = *reducer_;
  r.options = options_;

  // Note [buckets]: reverse registration order, capped by bytes, one dtype per bucket.
  std::vector<std::pair<std::string, Tensor>> named;
  for (const auto& item : module_->named_parameters())
    if (item.value.requires_grad()) named.emplace_back(item.key, item.value);
  for (auto it = named.rbegin(); it != named.rend(); ++it) {
    const Tensor& t = it->second;
    if (t.numel() > INT_MAX)
      throw ValueError(fmt::format("DistributedDataParallel: parameter '{}' has {} elements, more than MPI's count limit",
                                   it->first, t.numel()));
    const std::int64_t bytes = t.numel() * static_cast<std::int64_t>(dtype_size(t.dtype()));
    const bool fits =
        !r.buckets.empty() && r.buckets.back().dtype == t.dtype() &&
        (r.buckets.back().numel * static_cast<std::int64_t>(dtype_size(t.dtype())) + bytes <= options_.bucket_cap_bytes) &&
        r.buckets.back().numel + t.numel() <= INT_MAX;
    if (!fits) {
      r.buckets.emplace_back();
      r.buckets.back().dtype = t.dtype();
    }
    Reducer::Bucket& b = r.buckets.back();
    r.params.push_back({it->first, t, r.buckets.size() - 1, b.numel, 0, false});
    b.params.push_back(r.params.size() - 1);
    b.numel += t.numel();
  }
  const int n = r.comm.size();
  for (Reducer::Bucket& b : r.buckets) {
    b.buffer = zeros({b.numel}, b.dtype);
    if (options_.deterministic) b.gathered = zeros({static_cast<std::int64_t>(n), b.numel}, b.dtype);
  }
  for (std::size_t i = 0; i < r.params.size(); ++i) {
    Reducer* self = &r;
    r.params[i].hook = r.params[i].tensor.register_post_accumulate_grad_hook([self, i](const Tensor&) { self->mark_ready(i); });
  }
}

DistributedDataParallel::~DistributedDataParallel() {
  if (!reducer_) return;
  for (const Reducer::Param& p : reducer_->params) p.tensor.remove_hook(p.hook);
}

Tensor DistributedDataParallel::forward(const Tensor& input) {
  Reducer& r = *reducer_;
  const bool sync = GradMode::is_enabled() && !r.no_sync;
  if (sync && options_.broadcast_buffers && is_training() && r.comm.size() > 1) r.broadcast_buffers(*module_);
  if (sync) r.prepare();
  Tensor out = (*module_)(input);
  if (sync && options_.find_unused_parameters) r.mark_unused(out);
  return out;
}

std::string DistributedDataParallel::extra_repr() const {
  return fmt::format("world_size={}, buckets={}, bucket_cap_bytes={}{}", reducer_->comm.size(), reducer_->buckets.size(),
                     options_.bucket_cap_bytes, options_.deterministic ? ", deterministic=true" : "");
}

std::int64_t DistributedDataParallel::bucket_count() const { return static_cast<std::int64_t>(reducer_->buckets.size()); }

std::vector<std::vector<std::string>> DistributedDataParallel::bucket_parameter_names() const {
  std::vector<std::vector<std::string>> out;
  for (const Reducer::Bucket& b : reducer_->buckets) {
    out.emplace_back();
    for (std::size_t i : b.params) out.back().push_back(reducer_->params[i].name);
  }
  return out;
}

std::int64_t DistributedDataParallel::bytes_per_reduction() const {
  std::int64_t bytes = 0;
  for (const Reducer::Bucket& b : reducer_->buckets) bytes += b.numel * static_cast<std::int64_t>(dtype_size(b.dtype));
  return bytes;
}

DdpStats DistributedDataParallel::stats() const { return reducer_->stats; }

DistributedDataParallel::NoSyncGuard::NoSyncGuard(DistributedDataParallel& ddp) : ddp_(ddp), previous_(ddp.reducer_->no_sync) {
  ddp_.reducer_->no_sync = true;
}

DistributedDataParallel::NoSyncGuard::~NoSyncGuard() { ddp_.reducer_->no_sync = previous_; }

}  // namespace xgrad::distributed
