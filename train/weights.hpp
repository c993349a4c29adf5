#pragma once
// Model weights as plain safetensors files: the format the Python ecosystem exchanges weights in
// (safetensors.torch.save_file(model.state_dict()) writes the same layout), and what Keras calls
// save_weights / load_weights.
//
// A weights file holds every entry of model.state_dict() under its dotted name ("0.weight",
// "1.running_mean", "encoder.fc1.bias", ...) with its dtype (F32, F64, I64) and shape, and nothing else
// (no optimizer, no random generator: for resuming training use save_checkpoint in callbacks.hpp).
//
//   train::save_weights("model.safetensors", model);
//   // Python: from safetensors.numpy import load_file; w = load_file("model.safetensors")["0.weight"]
//   train::load_weights("model.safetensors", other_model);   // strict: same keys and shapes

#include <string>

#include "../nn/module.hpp"
#include "checkpoint.hpp"

namespace xgrad::train {

/// Writes every parameter and buffer of `model` (model.state_dict(), dotted names, values bit-exact) and
/// `metadata` to `path` as a safetensors file, atomically (see save_safetensors). Errors as
/// save_safetensors (IOError naming the path when it cannot be written).
void save_weights(const std::string& path, const nn::Module& model, const Metadata& metadata = {});

/// Loads the tensors of the safetensors file `path` into `model` with model.load_state_dict(state,
/// strict): values are copied into the existing tensors and converted to their dtypes (a float64 file
/// loads into a float32 model), so optimizers holding the parameters keep working. A training checkpoint
/// written by save_checkpoint or ModelCheckpoint is accepted too: its "model." entries are used and the
/// rest (optimizer, scheduler, scalars) is ignored.
/// Nothing is changed on error: IOError (from load_safetensors) for a missing, truncated or corrupted
/// file; ValueError starting with "load_weights: '<path>'" and naming every missing, unexpected (strict)
/// and mis-shaped key. Returns the missing and unexpected keys (both empty after a strict load).
nn::LoadStateDictResult load_weights(const std::string& path, nn::Module& model, bool strict = true);

}  // namespace xgrad::train
