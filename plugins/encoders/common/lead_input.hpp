// What the 1-D CNN encoders (resnet1d, xresnet1d) share: the leads they read and how an absent lead
// reaches the network.
//
// Leads: the `leads` parameter names the leads an encoder reads (default: every lead of its input,
// EncoderInput::lead_names), by canonical name, so one input can serve a lead-I-only encoder.
//
// Lead mask: a lead marked absent in EncoderBatch::lead_present is zeroed (whatever its column
// holds), and with `lead_mask = true` (the default) each read lead also feeds a presence channel
// (1 present, 0 absent), so "absent" and "present but flat" are different inputs. The network thus
// sees 2 × leads channels: the signals, then the presence flags, in `leads` order.
//
// Token masks (masked modelling): a CNN has no token to swap for a mask embedding, so a hidden
// token's span of input samples (`stride` samples per token) is zeroed in every signal channel.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ecgbench/encoder.hpp"
#include "ecgbench/params.hpp"

namespace ecgbench::encoders {

/// The `leads` and `lead_mask` parameters, to append to an encoder's manifest.
std::vector<ParamSpec> lead_input_params();

/// The `leads` parameter alone, for encoders that give each lead tokens of its own (vit1d: an
/// absent lead has no tokens, so needs no presence channel).
ParamSpec leads_param();

/// Input columns the `leads` parameter selects, in its order (every column when it is empty).
/// Throws std::invalid_argument naming `plugin` and a lead the input lacks.
std::vector<std::int64_t> selected_columns(const std::string& plugin, const Params& params, const EncoderInput& input);

/// Output length of `halvings` stride-2 stages that each map T to ceil(T / 2) (a conv with odd
/// kernel k and padding k/2, max-pool 3/2/1, ceil-mode avg-pool 2/2): the token count for T.
std::int64_t strided_length(std::int64_t samples, int halvings);

class LeadInput {
public:
    /// `plugin` names the encoder in error messages. Throws std::invalid_argument naming a lead of
    /// `leads` that the input lacks.
    LeadInput(const std::string& plugin, const Params& params, const EncoderInput& input);

    /// Channels of the prepared input: leads read, doubled with the presence mask.
    std::int64_t channels() const;
    /// Leads read (columns of the input).
    std::int64_t leads() const { return static_cast<std::int64_t>(columns_.size()); }

    /// Checks the batch's shape, selects the read leads, zeroes absent ones, appends the presence
    /// channels and zeroes the input span of each hidden token (`stride` samples per token, the
    /// encoder's `token_count` tokens). Returns float [B, channels(), T].
    at::Tensor prepare(const EncoderBatch& batch, std::int64_t stride, std::int64_t token_count) const;

private:
    std::string plugin_;
    std::int64_t input_leads_;
    std::vector<std::int64_t> columns_;
    bool all_columns_;
    bool mask_;
};

}  // namespace ecgbench::encoders
