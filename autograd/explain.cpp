#include "explain.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <limits>
#include <set>
#include <utility>

#include "detail/tensor_impl.hpp"
#include "error.hpp"
#include "grad_mode.hpp"
#include "node.hpp"
#include "ops.hpp"

namespace xgrad::autograd {
namespace {

// A value in the graph: output `nr` of `node` (for a leaf: its AccumulateGrad node, nr 0).
using Slot = std::pair<const Node*, std::uint32_t>;

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

std::string num(double v, int precision) { return fmt::format("{:.{}g}", v, precision); }

// Nested-list text of a small tensor: 0.5, [1, 2], [[1, 2], [3, 4]]; larger tensors by shape.
std::string tensor_text(const Tensor& t, int precision, std::int64_t max_elements) {
  if (!t.defined()) return "undefined";
  if (t.numel() > max_elements) return fmt::format("<shape {}>", shape_str(t.shape()));
  const std::vector<double> v = t.to_vector<double>();
  if (t.dim() == 0) return num(v[0], precision);
  const Shape& shape = t.shape();
  std::string out;
  std::size_t pos = 0;
  // Recursive over dimensions, with an explicit helper (depth = rank, small).
  auto rec = [&](auto&& self, std::size_t d) -> void {
    out += '[';
    for (std::int64_t i = 0; i < shape[d]; ++i) {
      if (i > 0) out += ", ";
      if (d + 1 == shape.size()) {
        out += num(v[pos++], precision);
      } else {
        self(self, d + 1);
      }
    }
    out += ']';
  };
  rec(rec, 0);
  return out;
}

// "MulBackward" -> "mul", "LeakyReluBackward" -> "leaky_relu", "AccumulateGrad" -> "leaf".
std::string op_name(const Node& n) {
  std::string s = n.name();
  if (s == "AccumulateGrad") return "leaf";
  const std::string suffix = "Backward";
  if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0)
    s.resize(s.size() - suffix.size());
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (std::isupper(c) && i > 0) out += '_';
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

// Ops whose gradient is element-wise (g_in = g_out ⊙ f'(x) when the shapes agree).
bool is_elementwise(const Node& n) {
  static const std::set<std::string> ops = {
      "AbsBackward",  "AddBackward",      "AtanBackward",     "ClampBackward",   "CosBackward",     "DivBackward",
      "EluBackward",  "ExpBackward",      "GeluBackward",     "HeavisideBackward", "LeakyReluBackward", "LogBackward",
      "MaximumBackward", "MinimumBackward", "MulBackward",    "NegBackward",     "PowBackward",     "ReciprocalBackward",
      "ReluBackward", "RsqrtBackward",    "SeluBackward",     "SigmoidBackward", "SignBackward",    "SiluBackward",
      "SinBackward",  "SoftplusBackward", "SqrtBackward",     "SquareBackward",  "SubBackward",     "TanhBackward",
      "WhereBackward", "PreluBackward"};
  return ops.count(n.name()) > 0;
}

// The AccumulateGrad behind a node whose leaf is still alive (a leaf dropped by its owner while the
// graph lives has nothing left to show).
const AccumulateGrad* as_leaf(const Node* n) {
  const auto* acc = dynamic_cast<const AccumulateGrad*>(n);
  return acc != nullptr && acc->leaf() ? acc : nullptr;
}

// The graph of one recorded pass, with labels and named values.
struct Graph {
  const BackwardRecord* record = nullptr;
  std::map<const Node*, std::size_t> step_of;              // node -> index in record->steps
  std::map<Slot, std::vector<std::pair<std::size_t, std::size_t>>> consumers;  // slot -> (step, input)
  std::map<Slot, Tensor> named;                            // named non-leaf values (and the root)
  std::map<const TensorImpl*, Tensor> named_leaves;        // leaves named through `named`
  Slot root_slot{nullptr, 0};
  std::string root_label;

  Graph(const BackwardRecord* rec, const Tensor& root, const TensorList& extra) : record(rec) {
    if (rec != nullptr) {
      for (std::size_t i = 0; i < rec->steps.size(); ++i) {
        const Node* n = rec->steps[i].node.get();
        step_of[n] = i;
        const auto& edges = n->next_edges();
        for (std::size_t k = 0; k < edges.size(); ++k)
          if (edges[k].valid()) consumers[{edges[k].node.get(), edges[k].input_nr}].emplace_back(i, k);
      }
    }
    for (const Tensor& t : extra) add_named(t);
    root_label = root.name().empty() ? "L" : root.name();
    if (root.defined() && root.grad_fn()) {
      root_slot = {root.grad_fn().get(), root.output_nr()};
      named[root_slot] = root;
    }
  }

  void add_named(const Tensor& t) {
    if (!t.defined() || t.name().empty()) return;
    if (t.grad_fn()) {
      named[{t.grad_fn().get(), t.output_nr()}] = t;
    } else {
      named_leaves[t.impl().get()] = t;
    }
  }

  // The leaf behind an AccumulateGrad node, as a Tensor handle.
  static Tensor leaf_tensor(const Node* n) {
    const AccumulateGrad* acc = as_leaf(n);
    return acc != nullptr ? Tensor(acc->leaf()) : Tensor();
  }

  // The user's name of a slot, or "" when it has none.
  std::string name_of(const Slot& s) const {
    if (s == root_slot) return root_label;
    if (const AccumulateGrad* acc = as_leaf(s.first)) return acc->leaf()->name;
    auto it = named.find(s);
    return it == named.end() ? std::string() : it->second.name();
  }
  bool is_named(const Slot& s) const { return !name_of(s).empty(); }

  // The name, or "op#k" (k = 1-based step number, "?" when the pass did not run the node).
  std::string label(const Slot& s) const {
    std::string n = name_of(s);
    if (!n.empty()) return n;
    auto it = step_of.find(s.first);
    const std::string k = it == step_of.end() ? std::string("?") : std::to_string(it->second + 1);
    std::string l = op_name(*s.first) + "#" + k;
    if (s.first->outputs().size() > 1) l += fmt::format(".{}", s.second);
    return l;
  }

  // The value of a slot when known (leaves, the root, named tensors).
  Tensor value(const Slot& s) const {
    if (const AccumulateGrad* acc = as_leaf(s.first)) return Tensor(acc->leaf());
    auto it = named.find(s);
    return it == named.end() ? Tensor() : it->second;
  }

  // ∂root/∂slot from the record (undefined when the pass did not reach it).
  Tensor grad(const Slot& s) const {
    auto it = step_of.find(s.first);
    if (it == step_of.end()) return Tensor();
    const auto& go = record->steps[it->second].grad_outputs;
    return s.second < go.size() ? go[s.second] : Tensor();
  }

  // The local derivative ∂out/∂input_k of a step as one number, when the step works on one-element
  // tensors and its incoming gradient is not zero; NaN (unknown) otherwise.
  double scalar_local(std::size_t step, std::size_t k) const {
    const BackwardStep& st = record->steps[step];
    if (st.grad_outputs.size() != 1 || k >= st.grad_inputs.size()) return kUnknown;
    const Tensor& go = st.grad_outputs[0];
    const Tensor& gi = st.grad_inputs[k];
    if (!go.defined() || !gi.defined() || go.numel() != 1 || gi.numel() != 1) return kUnknown;
    const double g = go.item<double>();
    if (g == 0.0) return kUnknown;
    return gi.item<double>() / g;
  }

  // The nearest named values that consume `s` (directly or through unnamed values).
  std::vector<Slot> named_parents(const Slot& s) const {
    std::vector<Slot> parents, queue{s};
    std::set<Slot> seen{s};
    while (!queue.empty()) {
      const Slot cur = queue.back();
      queue.pop_back();
      auto it = consumers.find(cur);
      if (it == consumers.end()) continue;
      for (const auto& [step, input] : it->second) {
        const Node* n = record->steps[step].node.get();
        for (std::uint32_t k = 0; k < n->outputs().size(); ++k) {
          const Slot o{n, k};
          if (!seen.insert(o).second) continue;
          if (is_named(o)) {
            parents.push_back(o);
          } else {
            queue.push_back(o);
          }
        }
      }
    }
    // In the order the forward pass created them (p = 2a before q = 3a), as one writes the sum.
    std::sort(parents.begin(), parents.end(), [](const Slot& a, const Slot& b) {
      return a.first->sequence_nr() != b.first->sequence_nr() ? a.first->sequence_nr() < b.first->sequence_nr() : a.second < b.second;
    });
    return parents;
  }

  // ∂p/∂v as one number, summed over every path from p down to v through unnamed one-element values;
  // NaN when some local derivative on the way is not a number.
  double scalar_factor(const Slot& p, const Slot& v) const {
    auto pit = step_of.find(p.first);
    if (pit == step_of.end() || p.first->outputs().size() != 1) return kUnknown;
    std::map<Slot, double> d{{p, 1.0}};
    std::set<Slot> unknown;
    for (std::size_t j = pit->second; j < record->steps.size(); ++j) {
      const Node* n = record->steps[j].node.get();
      if (n->outputs().size() != 1) continue;
      const Slot o{n, 0};
      if (o != p && is_named(o)) continue;  // paths stop at other named values
      auto dit = d.find(o);
      if (dit == d.end()) continue;
      const bool o_unknown = unknown.count(o) > 0;
      const auto& edges = n->next_edges();
      for (std::size_t k = 0; k < edges.size(); ++k) {
        if (!edges[k].valid()) continue;
        const Slot c{edges[k].node.get(), edges[k].input_nr};
        const double local = scalar_local(j, k);
        if (std::isnan(local) || o_unknown) {
          unknown.insert(c);
          d.emplace(c, 0.0);
          continue;
        }
        d[c] += dit->second * local;
      }
    }
    auto it = d.find(v);
    if (it == d.end() || unknown.count(v) > 0) return kUnknown;
    return it->second;
  }
};

std::string d_of(const std::string& top, const std::string& bottom) { return "∂" + top + "/∂" + bottom; }

// Characters (UTF-8 code points) of `s`, to align the second line of a chain under its "=".
std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void explain_steps(const Graph& g, const ExplainOptions& opt, std::string& out) {
  const auto& steps = g.record->steps;
  out += fmt::format("Backward pass of {}: {} nodes, in the order the engine runs them\n", g.root_label, steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const BackwardStep& st = steps[i];
    const Node& n = *st.node;
    if (const AccumulateGrad* acc = as_leaf(&n)) {
      const std::string l = g.label({&n, 0});
      out += fmt::format("[{}] {} (leaf{}) receives {} = {}  -> accumulated into {}.grad\n", i + 1, l,
                         acc->leaf()->shape.empty() ? "" : ", shape " + shape_str(acc->leaf()->shape), d_of(g.root_label, l),
                         tensor_text(st.grad_outputs.empty() ? Tensor() : st.grad_outputs[0], opt.precision, opt.max_elements),
                         l);
      continue;
    }
    std::vector<std::string> outs, ins;
    for (std::uint32_t k = 0; k < n.outputs().size(); ++k) outs.push_back(g.label({&n, k}));
    const auto& edges = n.next_edges();
    for (const Edge& e : edges) ins.push_back(e.valid() ? g.label({e.node.get(), e.input_nr}) : "const");
    std::string shape;
    if (n.outputs().size() == 1 && !n.outputs()[0].shape.empty()) shape = ", shape " + shape_str(n.outputs()[0].shape);
    out += fmt::format("[{}] {} = {}({}){}\n", i + 1, fmt::join(outs, ", "), op_name(n), fmt::join(ins, ", "), shape);
    for (std::size_t k = 0; k < outs.size() && k < st.grad_outputs.size(); ++k)
      out += fmt::format("      receives {} = {}\n", d_of(g.root_label, outs[k]),
                         tensor_text(st.grad_outputs[k], opt.precision, opt.max_elements));
    for (std::size_t k = 0; k < edges.size(); ++k) {
      if (!edges[k].valid()) continue;
      const Tensor gi = k < st.grad_inputs.size() ? st.grad_inputs[k] : Tensor();
      const std::string in = ins[k];
      if (!gi.defined()) {
        out += fmt::format("      -> {}: no gradient\n", in);
        continue;
      }
      const std::string passed = tensor_text(gi, opt.precision, opt.max_elements);
      std::string local;
      if (const double l = g.scalar_local(i, k); !std::isnan(l)) {
        local = fmt::format("local {} = {}, ", d_of(outs[0], in), num(l, opt.precision));
      } else if (st.grad_outputs.size() == 1 && is_elementwise(n) && gi.shape() == st.grad_outputs[0].shape() &&
                 gi.numel() > 1 && gi.numel() <= opt.max_elements) {
        const std::vector<double> go = st.grad_outputs[0].to_vector<double>(), gv = gi.to_vector<double>();
        if (std::none_of(go.begin(), go.end(), [](double x) { return x == 0.0; })) {
          std::vector<double> r(gv.size());
          for (std::size_t e = 0; e < r.size(); ++e) r[e] = gv[e] / go[e];
          NoGradGuard no_grad;
          local = fmt::format("local {} = {} (element-wise), ", d_of(outs[0], in),
                              tensor_text(from_vector(r, gi.shape(), Dtype::float64), opt.precision, opt.max_elements));
        }
      } else if (gi.numel() > 1 || st.grad_outputs.size() != 1 || st.grad_outputs[0].numel() > 1) {
        local = "Jacobian product, ";
      }
      out += fmt::format("      -> {}: {}passes {}\n", in, local, passed);
    }
  }
}

void explain_chains(const Graph& g, const ExplainOptions& opt, std::string& out) {
  // Every named value the pass reached, in execution order (root first).
  std::vector<Slot> named;
  for (const BackwardStep& st : g.record->steps)
    for (std::uint32_t k = 0; k < st.node->outputs().size(); ++k)
      if (g.is_named({st.node.get(), k})) named.push_back({st.node.get(), k});
  out += fmt::format("Chain rule for the named tensors (∂{0}/∂v through the named tensors between {0} and v)\n", g.root_label);
  const std::string& r = g.root_label;
  for (const Slot& v : named) {
    if (v == g.root_slot) continue;
    const std::string lv = g.label(v);
    const Tensor gv = g.grad(v);
    if (!gv.defined()) continue;
    const std::vector<Slot> parents = g.named_parents(v);
    const bool scalar_v = gv.numel() == 1;
    // The full product down a chain of single named consumers.
    std::vector<Slot> chain{v};
    std::vector<double> factors;
    bool numeric = scalar_v;
    while (chain.back() != g.root_slot) {
      const std::vector<Slot> ps = g.named_parents(chain.back());
      if (ps.size() != 1) break;
      if (numeric) {
        const double f = g.scalar_factor(ps[0], chain.back());
        if (!std::isnan(f)) {
          factors.push_back(f);
        } else {
          numeric = false;
        }
      }
      chain.push_back(ps[0]);
    }
    const bool full_chain = chain.back() == g.root_slot && chain.size() >= 2;
    if (parents.empty()) {
      out += fmt::format("  {} = {}\n", d_of(r, lv), tensor_text(gv, opt.precision, opt.max_elements));
    } else if (full_chain && chain.size() == 2) {
      out += fmt::format("  {} = {}\n", d_of(r, lv), tensor_text(gv, opt.precision, opt.max_elements));
    } else if (full_chain) {
      std::vector<std::string> terms;
      for (std::size_t i = chain.size() - 1; i > 0; --i) terms.push_back(d_of(g.label(chain[i]), g.label(chain[i - 1])));
      out += fmt::format("  {} = {}\n", d_of(r, lv), fmt::join(terms, " · "));
      if (numeric) {
        std::vector<std::string> nums;
        double product = 1.0;
        for (std::size_t i = factors.size(); i > 0; --i) {
          nums.push_back("(" + num(factors[i - 1], opt.precision) + ")");
          product *= factors[i - 1];
        }
        out += fmt::format("  {:{}} = {} = {}\n", "", display_width(d_of(r, lv)), fmt::join(nums, " · "), num(product, opt.precision));
      } else {
        out += fmt::format("  {:{}} = {}\n", "", display_width(d_of(r, lv)), tensor_text(gv, opt.precision, opt.max_elements));
      }
    } else {
      // Several named consumers: the sum over them, one level up.
      std::vector<std::string> terms, nums;
      bool all_numeric = scalar_v;
      double total = 0.0;
      for (const Slot& p : parents) {
        const std::string lp = g.label(p);
        terms.push_back(p == g.root_slot ? d_of(r, lv) : d_of(r, lp) + " · " + d_of(lp, lv));
        const Tensor gp = p == g.root_slot ? Tensor() : g.grad(p);
        const double f = all_numeric ? g.scalar_factor(p, v) : kUnknown;
        if (p != g.root_slot && !std::isnan(f) && gp.defined() && gp.numel() == 1) {
          nums.push_back(fmt::format("({}) · ({})", num(gp.item<double>(), opt.precision), num(f, opt.precision)));
          total += gp.item<double>() * f;
        } else {
          all_numeric = false;
        }
      }
      out += fmt::format("  {} = {}\n", d_of(r, lv), fmt::join(terms, " + "));
      if (all_numeric) {
        out += fmt::format("  {:{}} = {} = {}\n", "", display_width(d_of(r, lv)), fmt::join(nums, " + "), num(total, opt.precision));
      } else {
        out += fmt::format("  {:{}} = {}\n", "", display_width(d_of(r, lv)), tensor_text(gv, opt.precision, opt.max_elements));
      }
    }
  }
}

// DOT helpers.
std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '{' || c == '}' || c == '|' || c == '<' || c == '>' || c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Plain (non-record) labels only need quotes and backslashes escaped.
std::string dot_quote(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

const BackwardStep* BackwardRecord::find(const Node* node) const {
  for (const BackwardStep& s : steps)
    if (s.node.get() == node) return &s;
  return nullptr;
}

BackwardRecord record_backward(const Tensor& root, const Tensor& gradient, BackwardOptions options) {
  BackwardRecord rec;
  BackwardTraceGuard guard([&rec](const Node& n, const TensorList& grad_outputs, const TensorList& grad_inputs) {
    rec.steps.push_back({n.shared_from_this(), grad_outputs, grad_inputs});
  });
  root.backward(gradient, options);
  return rec;
}

std::string explain(const BackwardRecord& record, const Tensor& root, const TensorList& named, const ExplainOptions& options) {
  if (!root.defined()) throw ValueError("explain: the root is an undefined tensor");
  const Graph g(&record, root, named);
  std::string out;
  if (options.steps) explain_steps(g, options, out);
  if (options.chains) explain_chains(g, options, out);
  return out;
}

std::string explain_backward(const Tensor& root, const TensorList& named, const ExplainOptions& options) {
  if (!root.defined()) throw ValueError("explain_backward: the root is an undefined tensor");
  const BackwardRecord rec = record_backward(root);
  return explain(rec, root, named, options);
}

std::string to_dot(const Tensor& root, const DotOptions& options) {
  if (!root.defined()) throw ValueError("to_dot: the root is an undefined tensor");
  const Graph g(options.record, root, options.named);
  const Edge root_edge = gradient_edge(root);
  if (!root_edge.valid())
    throw GraphError(fmt::format("to_dot: the root (shape {}) does not require grad: it has no graph to draw",
                                 shape_str(root.shape())));
  // Every node reachable from the root, in discovery order (explicit stack, no recursion).
  std::vector<const Node*> nodes;
  std::map<const Node*, std::size_t> id;
  std::vector<const Node*> stack{root_edge.node.get()};
  id[root_edge.node.get()] = 0;
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    nodes.push_back(n);
    for (const Edge& e : n->next_edges())
      if (e.valid() && id.emplace(e.node.get(), id.size()).second) stack.push_back(e.node.get());
  }
  const Slot root_slot{root_edge.node.get(), root_edge.input_nr};

  // In compact mode an unnamed single output has no box: its op's oval stands for it.
  auto boxless = [&](const Slot& s) {
    return options.compact && as_leaf(s.first) == nullptr && s != root_slot && s.first->outputs().size() == 1 && !g.is_named(s);
  };
  auto value_box = [&](const Slot& s) {
    if (boxless(s)) return fmt::format("op{}", id.at(s.first));
    return as_leaf(s.first) != nullptr ? fmt::format("v{}", id.at(s.first)) : fmt::format("v{}_{}", id.at(s.first), s.second);
  };
  auto box_label = [&](const Slot& s) {
    std::vector<std::string> fields;
    const std::string name = s == root_slot && !root.name().empty() ? root.name() : g.name_of(s);
    fields.push_back(name.empty() ? (as_leaf(s.first) != nullptr ? std::string("leaf") : std::string(" ")) : name);
    const OutputMeta& meta = s.first->outputs().at(s.second);
    if (!meta.shape.empty()) fields.push_back("shape " + shape_str(meta.shape));
    const Tensor v = s == root_slot ? root : g.value(s);
    if (v.defined()) fields.push_back("data " + tensor_text(v, options.precision, options.max_elements));
    Tensor gr;
    if (options.record != nullptr) {
      if (const BackwardStep* st = options.record->find(s.first); st != nullptr && s.second < st->grad_outputs.size())
        gr = st->grad_outputs[s.second];
    } else if (const AccumulateGrad* acc = as_leaf(s.first); acc != nullptr && acc->leaf()->grad) {
      gr = Tensor(acc->leaf()->grad);
    }
    if (gr.defined()) fields.push_back("grad " + tensor_text(gr, options.precision, options.max_elements));
    std::vector<std::string> escaped;
    for (const auto& f : fields) escaped.push_back(dot_escape(f));
    return fmt::format("{{ {} }}", fmt::join(escaped, " | "));
  };

  std::string out = "digraph xgrad {\n";
  out += fmt::format("  rankdir={};\n", options.rankdir);
  out += "  node [fontname=\"Helvetica\", fontsize=11];\n  edge [color=\"#555555\"];\n";
  if (!options.title.empty()) out += fmt::format("  label=\"{}\";\n  labelloc=b;\n  fontname=\"Helvetica\";\n", dot_quote(options.title));
  // Emit in reverse discovery order: inputs first, so the file reads like the forward pass.
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    const Node* n = *it;
    const std::size_t i = id.at(n);
    if (as_leaf(n) != nullptr) {
      const Slot s{n, 0};
      out += fmt::format("  {} [shape=record, style=filled, fillcolor=\"#e8f0fe\"{}, label=\"{}\"];\n", value_box(s),
                         s == root_slot ? ", peripheries=2" : "", box_label(s));
      continue;
    }
    out += fmt::format("  op{} [shape=ellipse, label=\"{}\"];\n", i, dot_quote(op_name(*n)));
    for (std::uint32_t k = 0; k < n->outputs().size(); ++k) {
      const Slot s{n, k};
      if (boxless(s)) continue;
      const bool is_root = s == root_slot;
      out += fmt::format("  {} [shape=record{}, label=\"{}\"];\n", value_box(s),
                         is_root ? ", peripheries=2, style=filled, fillcolor=\"#fde8e8\"" : "", box_label(s));
      out += fmt::format("  op{} -> {};\n", i, value_box(s));
    }
    for (const Edge& e : n->next_edges())
      if (e.valid()) out += fmt::format("  {} -> op{};\n", value_box({e.node.get(), e.input_nr}), i);
  }
  out += "}\n";
  return out;
}

}  // namespace xgrad::autograd
