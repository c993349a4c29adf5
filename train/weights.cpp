#include "weights.hpp"

#include <fmt/format.h>

namespace xgrad::train {

void save_weights(const std::string& path, const nn::Module& model, const Metadata& metadata) {
  TensorMap tensors;
  for (const auto& item : model.state_dict()) tensors.emplace(item.key, item.value);
  save_safetensors(path, tensors, metadata);
}

nn::LoadStateDictResult load_weights(const std::string& path, nn::Module& model, bool strict) {
  const Checkpoint file = load_safetensors(path);
  // A training checkpoint (save_checkpoint) keeps the model under "model."; a weights file at the top.
  const auto format = file.metadata.find("format");
  const std::string prefix = format != file.metadata.end() && format->second == "xgrad.training_checkpoint" ? "model." : "";
  nn::StateDict state;
  for (const auto& [name, t] : file.tensors)
    if (name.compare(0, prefix.size(), prefix) == 0) state.insert(name.substr(prefix.size()), t);
  try {
    return model.load_state_dict(state, strict);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("load_weights: '{}': {}", path, e.what()));
  }
}

}  // namespace xgrad::train
