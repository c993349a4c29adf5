#include "collectives.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "../autograd/grad_mode.hpp"
#include "../autograd/ops.hpp"
#include "detail/comm.hpp"
#include "environment.hpp"

namespace xgrad::distributed {
namespace {

constexpr std::size_t kMetaWords = 10;  // dtype, ndim, up to 8 sizes

std::vector<std::int64_t> meta_of(const Tensor& t) {
  std::vector<std::int64_t> m(kMetaWords, -1);
  m[0] = static_cast<std::int64_t>(t.dtype());
  m[1] = t.dim();
  for (std::int64_t d = 0; d < t.dim() && d < 8; ++d) m[static_cast<std::size_t>(2 + d)] = t.size(d);
  return m;
}

std::string meta_str(const std::int64_t* m) {
  std::string shape = "(";
  for (std::int64_t d = 0; d < m[1] && d < 8; ++d) shape += (d ? ", " : "") + std::to_string(m[2 + d]);
  if (m[1] > 8) shape += ", ...";
  if (m[1] == 1) shape += ",";
  shape += ")";
  return fmt::format("shape {} {}", shape, dtype_name(static_cast<Dtype>(m[0])));
}

// Every rank learns every rank's shape and dtype; all throw the same error when they differ.
void check_same_meta(const Tensor& t, const char* op) {
  if (!t.defined()) throw ValueError(fmt::format("distributed::{}: the tensor is undefined (on {})", op, detail::where_am_i()));
  const int n = world_size();
  const std::vector<std::int64_t> mine = meta_of(t);
  std::vector<std::int64_t> all(kMetaWords * static_cast<std::size_t>(n));
  detail::all_gather_bytes(mine.data(), all.data(), static_cast<std::int64_t>(kMetaWords), MPI_INT64_T, detail::world(),
                           fmt::format("distributed::{} (exchanging shapes)", op));
  std::string diffs;
  for (int r = 1; r < n; ++r) {
    const std::int64_t* m = all.data() + kMetaWords * static_cast<std::size_t>(r);
    if (!std::equal(m, m + kMetaWords, all.data())) diffs += fmt::format("; rank {} has {}", r, meta_str(m));
  }
  if (!diffs.empty())
    throw DistributedError(
        fmt::format("distributed::{}: every rank must pass a tensor of the same shape and dtype, but rank 0 has {}{}", op,
                    meta_str(all.data()), diffs));
}

Tensor contiguous_copy(const Tensor& t) {
  NoGradGuard no_grad;
  return t.detach().contiguous().clone();
}

void* raw(Tensor& t) {
  return dispatch_all(t.dtype(), [&](auto tag) -> void* { return t.mutable_data<decltype(tag)>(); });
}

void assign(Tensor& dst, const Tensor& src) {
  NoGradGuard no_grad;
  dst.copy_(src);
}

void broadcast_unchecked(Tensor& t, int root, const std::string& what) {
  Tensor buf = contiguous_copy(t);
  detail::broadcast_bytes(raw(buf), buf.numel(), detail::mpi_type(buf.dtype()), root, detail::world(), what);
  assign(t, buf);
}

void check_root(int root, const char* op) {
  if (root < 0 || root >= world_size())
    throw ValueError(fmt::format("distributed::{}: root must be a rank in [0, {}), got {}", op, world_size(), root));
}

std::string describe_model(const nn::Module& model) {
  std::string out;
  for (const auto& item : model.named_parameters())
    out += fmt::format("parameter\t{}\t{} {}{}\n", item.key, shape_str(item.value.shape()), dtype_name(item.value.dtype()),
                       item.value.requires_grad() ? "" : " (requires_grad false)");
  for (const auto& item : model.named_buffers())
    out += fmt::format("buffer\t{}\t{} {}\n", item.key, shape_str(item.value.shape()), dtype_name(item.value.dtype()));
  return out;
}

std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

struct Entry {
  std::string kind, name, what;
};

std::vector<Entry> parse(const std::string& text) {
  std::vector<Entry> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find('\t'), b = line.find('\t', a + 1);
    out.push_back({line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)});
  }
  return out;
}

// The first few differences between rank r's model and rank 0's.
std::string compare(const std::vector<Entry>& zero, const std::vector<Entry>& other, int r) {
  std::vector<std::string> diffs;
  std::map<std::string, const Entry*> by_name0, by_name;
  for (const Entry& e : zero) by_name0[e.kind + " " + e.name] = &e;
  for (const Entry& e : other) by_name[e.kind + " " + e.name] = &e;
  for (const Entry& e : other) {
    const auto it = by_name0.find(e.kind + " " + e.name);
    if (it == by_name0.end())
      diffs.push_back(fmt::format("rank {} has {} '{}' ({}) that rank 0 lacks", r, e.kind, e.name, e.what));
    else if (it->second->what != e.what)
      diffs.push_back(fmt::format("rank {} has {} '{}' of {}, rank 0 has {}", r, e.kind, e.name, e.what, it->second->what));
  }
  for (const Entry& e : zero)
    if (!by_name.count(e.kind + " " + e.name))
      diffs.push_back(fmt::format("rank {} lacks {} '{}' ({} on rank 0)", r, e.kind, e.name, e.what));
  if (diffs.empty()) {  // same entries in another order
    for (std::size_t i = 0; i < zero.size() && i < other.size(); ++i)
      if (zero[i].name != other[i].name) {
        diffs.push_back(
            fmt::format("rank {} registers {} '{}' at position {} where rank 0 has '{}' (same entries, different order)", r,
                        other[i].kind, other[i].name, i, zero[i].name));
        break;
      }
  }
  std::size_t p0 = 0, b0 = 0, p = 0, b = 0;
  for (const Entry& e : zero) (e.kind == "parameter" ? p0 : b0)++;
  for (const Entry& e : other) (e.kind == "parameter" ? p : b)++;
  std::string out;
  for (std::size_t i = 0; i < diffs.size() && i < 4; ++i) out += (i ? "; " : "") + diffs[i];
  if (diffs.size() > 4) out += fmt::format("; and {} more differences", diffs.size() - 4);
  if (p != p0 || b != b0)
    out += fmt::format(" (rank {} has {} parameters and {} buffers, rank 0 has {} and {})", r, p, b, p0, b0);
  return out;
}

}  // namespace

void broadcast(Tensor& tensor, int root) {
  check_root(root, "broadcast");
  check_same_meta(tensor, "broadcast");
  broadcast_unchecked(tensor, root, fmt::format("distributed::broadcast of a tensor of shape {}", shape_str(tensor.shape())));
}

void all_reduce(Tensor& tensor, ReduceOp op, ReduceOptions options) {
  if (tensor.defined() && tensor.dtype() == kInt64 && op == ReduceOp::mean)
    throw DtypeError(
        fmt::format("distributed::all_reduce: the mean of an int64 tensor (shape {}) is not an integer; convert it to a "
                    "floating dtype first",
                    shape_str(tensor.shape())));
  check_same_meta(tensor, "all_reduce");
  const int n = world_size();
  const std::string what = fmt::format("distributed::all_reduce of a tensor of shape {}", shape_str(tensor.shape()));
  Tensor buf = contiguous_copy(tensor);
  if (options.deterministic) {
    Tensor gathered = zeros({static_cast<std::int64_t>(n), buf.numel()}, buf.dtype());
    detail::all_gather_bytes(raw(buf), raw(gathered), buf.numel(), detail::mpi_type(buf.dtype()), detail::world(), what);
    NoGradGuard no_grad;
    Tensor acc = narrow(gathered, 0, 0, 1).reshape({buf.numel()}).clone();
    for (int r = 1; r < n; ++r) acc.add_(narrow(gathered, 0, r, 1).reshape({buf.numel()}));
    buf = acc.reshape(tensor.shape());
  } else {
    detail::all_reduce_sum(raw(buf), buf.numel(), detail::mpi_type(buf.dtype()), detail::world(), what);
  }
  if (op == ReduceOp::mean) {
    NoGradGuard no_grad;
    buf.mul_(1.0 / static_cast<double>(n));
  }
  assign(tensor, buf);
}

double all_reduce(double value, ReduceOp op) {
  detail::all_reduce_sum(&value, 1, MPI_DOUBLE, detail::world(), "distributed::all_reduce of a number");
  return op == ReduceOp::mean ? value / static_cast<double>(world_size()) : value;
}

Tensor all_gather(const Tensor& tensor) {
  check_same_meta(tensor, "all_gather");
  Tensor buf = contiguous_copy(tensor);
  Shape shape = tensor.shape();
  shape.insert(shape.begin(), static_cast<std::int64_t>(world_size()));
  Tensor out = zeros(shape, tensor.dtype());
  detail::all_gather_bytes(raw(buf), raw(out), buf.numel(), detail::mpi_type(buf.dtype()), detail::world(),
                           fmt::format("distributed::all_gather of a tensor of shape {}", shape_str(tensor.shape())));
  return out;
}

void check_same_model(const nn::Module& model, const std::string& who) {
  const std::string mine = describe_model(model);
  const std::uint64_t h = fnv1a(mine.data(), mine.size());
  const int n = world_size();
  std::vector<std::uint64_t> hashes(static_cast<std::size_t>(n));
  detail::all_gather_bytes(&h, hashes.data(), 1, MPI_UINT64_T, detail::world(), who + ": comparing the models of the ranks");
  bool same = true;
  for (std::uint64_t x : hashes) same = same && x == hashes[0];
  if (same) return;
  const std::vector<std::string> all =
      detail::all_gather_strings(mine, detail::world(), who + ": exchanging the model descriptions");
  const std::vector<Entry> zero = parse(all[0]);
  std::string message;
  for (int r = 1; r < n; ++r) {
    if (hashes[static_cast<std::size_t>(r)] == hashes[0]) continue;
    message += (message.empty() ? "" : "; ") + compare(zero, parse(all[static_cast<std::size_t>(r)]), r);
  }
  throw DistributedError(
      fmt::format("{}: the model differs between ranks (every rank must build the same model): {}", who, message));
}

void broadcast_parameters(nn::Module& model, int root) {
  check_root(root, "broadcast_parameters");
  check_same_model(model, "broadcast_parameters");
  for (const auto& item : model.named_parameters()) {
    Tensor t = item.value;
    broadcast_unchecked(t, root, fmt::format("distributed::broadcast_parameters (parameter '{}')", item.key));
  }
  for (const auto& item : model.named_buffers()) {
    Tensor t = item.value;
    broadcast_unchecked(t, root, fmt::format("distributed::broadcast_parameters (buffer '{}')", item.key));
  }
}

std::uint64_t state_hash(const nn::Module& model) {
  std::uint64_t h = 1469598103934665603ull;
  for (const auto& item : model.state_dict()) {
    const Tensor c = item.value.contiguous();
    h = fnv1a(item.key.data(), item.key.size(), h);
    dispatch_all(c.dtype(), [&](auto tag) {
      h = fnv1a(c.data<decltype(tag)>(), static_cast<std::size_t>(c.numel()) * sizeof(decltype(tag)), h);
    });
  }
  return h;
}

std::vector<std::uint64_t> all_gather_state_hash(const nn::Module& model) {
  const std::uint64_t h = state_hash(model);
  std::vector<std::uint64_t> out(static_cast<std::size_t>(world_size()));
  detail::all_gather_bytes(&h, out.data(), 1, MPI_UINT64_T, detail::world(), "distributed::all_gather_state_hash");
  return out;
}

}  // namespace xgrad::distributed
