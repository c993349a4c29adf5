// libFuzzer target: loading a checkpoint file into a model and its optimizer, the way a training
// script resumes: load_safetensors -> nn::Module::load_state_dict and optim::Optimizer::load_state_dict,
// then one training step.
//
// Input: a safetensors file. Tensors named "model.<key>" form the module's state dict, tensors named
// "optim.<key>" the optimizer's StateDict::tensors; metadata entries "optim.<key>" are parsed as
// numbers into StateDict::scalars. Metadata "optimizer" picks the optimizer (sgd, adam, adamw,
// rmsprop, adagrad; default sgd) and "strict" = "0" loads the module non-strictly.
// The model is Sequential(Linear(3, 4), BatchNorm1d(4), ReLU, Linear(4, 2)) (float32).
// Whatever the file holds, loading either succeeds or throws an xgrad::Error, and a forward,
// backward and optimizer step afterwards run without crash or sanitizer report (values may be NaN).
#include <xgrad/nn/nn.hpp>
#include <xgrad/xgrad.hpp>

#include <cstdlib>
#include <memory>

#include "fuzz_util.hpp"

using namespace xgrad;

namespace {

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& kind, const TensorList& params) {
  if (kind == "adam") return std::make_unique<optim::Adam>(params, optim::AdamOptions(1e-3).amsgrad(true));
  if (kind == "adamw") return std::make_unique<optim::AdamW>(params, optim::AdamWOptions(1e-3));
  if (kind == "rmsprop") return std::make_unique<optim::RMSprop>(params, optim::RMSpropOptions(1e-2).momentum(0.9).centered(true));
  if (kind == "adagrad") return std::make_unique<optim::Adagrad>(params, optim::AdagradOptions(1e-2));
  return std::make_unique<optim::SGD>(params, optim::SGDOptions(0.1).momentum(0.9));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile file("fuzz_state_dict");
  const std::string& path = file.write({reinterpret_cast<const char*>(data), size});
  train::Checkpoint ck;
  try {
    ck = train::load_safetensors(path);
  } catch (const xgrad::Error&) {
    return 0;
  }
  manual_seed(0);
  nn::Sequential model(nn::Linear(3, 4), nn::BatchNorm1d(4), nn::ReLU(), nn::Linear(4, 2));
  const auto kind = ck.metadata.count("optimizer") ? ck.metadata.at("optimizer") : std::string("sgd");
  std::unique_ptr<optim::Optimizer> opt = make_optimizer(kind, model.parameters());

  nn::StateDict model_state;
  optim::StateDict optim_state;
  for (const auto& [name, t] : ck.tensors) {
    if (name.rfind("model.", 0) == 0) model_state.insert(name.substr(6), t);
    if (name.rfind("optim.", 0) == 0) optim_state.tensors[name.substr(6)] = t;
  }
  for (const auto& [key, value] : ck.metadata)
    if (key.rfind("optim.", 0) == 0) optim_state.scalars[key.substr(6)] = std::strtod(value.c_str(), nullptr);
  const bool strict = !(ck.metadata.count("strict") && ck.metadata.at("strict") == "0");

  try {
    model.load_state_dict(model_state, strict);
  } catch (const xgrad::Error&) {
  }
  try {
    opt->load_state_dict(optim_state);
  } catch (const xgrad::Error&) {
  }
  // The model and optimizer must still be usable.
  try {
    const Tensor x = randn({5, 3});
    const Tensor loss = model(x).square().sum();
    opt->zero_grad();
    loss.backward();
    opt->step();
    NoGradGuard no_grad;
    model.eval();
    (void)model(x);
  } catch (const xgrad::Error&) {
    // e.g. a step that finds its options invalid after a load; must be an xgrad error, never a crash
  }
  return 0;
}
