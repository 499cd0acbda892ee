// Checkpoints of pretraining cells: one LibTorch archive holding the encoder's state under
// "encoder" and the SSL method's (heads, target networks, text towers…) under "method", so an
// evaluation can rebuild either. Written atomically (temporary file, then rename).
#pragma once

#include "ecgbench/encoder.hpp"
#include "ecgbench/ssl.hpp"

#include <string>

namespace ecgbench {

/// Saves the encoder's and (when given) the method's parameters and buffers to `path`.
void save_checkpoint(Encoder& encoder, SslMethod* method, const std::string& path);
/// Loads the encoder part of a checkpoint's bytes (`what`: the file, for messages) into an encoder of
/// the same architecture. Checkpoints written before Plugin API 2 (the encoder's state at the top
/// level) load too. Throws naming `what`.
void load_encoder_bytes(Encoder& encoder, const std::string& bytes, const std::string& what);
/// Loads the method part into a method set up like the saved one; false when the checkpoint holds
/// no method state. Throws naming `what` when the state does not fit.
bool load_method_bytes(SslMethod& method, const std::string& bytes, const std::string& what);
/// The same, reading the file at `path` (unverified: the runner loads verified bytes, see artifacts.hpp).
void load_encoder(Encoder& encoder, const std::string& path);
bool load_method(SslMethod& method, const std::string& path);

}  // namespace ecgbench
