// The (lead, position) grid of a token encoder, from Encoder::token_spans(): every token reads one
// lead over `patch` samples, and the tokens fill leads × positions exactly once (vit1d's layout).
// Masked-token methods cut their reconstruction targets, draw their masks and place their decoders'
// embeddings with it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "ecgbench/encoder.hpp"

namespace ecgbench::masked {

class TokenGrid {
public:
    /// Reads `encoder`'s spans; throws std::invalid_argument naming `method` when the encoder does
    /// not describe its tokens or they do not form such a grid over `input`.
    TokenGrid(const std::string& method, const Encoder& encoder, const EncoderInput& input);

    std::int64_t tokens() const { return leads_ * positions_; }
    std::int64_t leads() const { return leads_; }             ///< lead rows of the grid
    std::int64_t positions() const { return positions_; }     ///< patches per lead
    std::int64_t patch() const { return patch_; }             ///< samples per token
    const at::Tensor& lead_row() const { return lead_row_; }  ///< int64 [N]: grid row of each token
    const at::Tensor& position() const { return position_; }  ///< int64 [N]: grid column of each token
    /// int64 [N]: grid cell of each token, row · positions + column.
    const at::Tensor& cell() const { return cell_; }
    /// int64 [N]: token index of each grid cell, row-major (the inverse permutation of cell()).
    const at::Tensor& grid_order() const { return grid_order_; }
    /// True when token i is grid cell i (vit1d's lead-major layout): reordering between the two is
    /// then a no-op that callers can skip (a gather forward, a scatter into zeros backward).
    bool token_order_is_grid_order() const { return identity_; }

    /// The samples each token reads: float [B, N, patch] from signals [B, leads, T].
    at::Tensor patches(const at::Tensor& signals) const;
    /// bool [B, N]: tokens of leads present in `lead_present` [B, leads] (undefined = all present).
    at::Tensor present(const at::Tensor& lead_present, std::int64_t batch, const at::Device& device) const;

private:
    std::int64_t input_leads_ = 0, samples_ = 0, leads_ = 0, positions_ = 0, patch_ = 0;
    at::Tensor input_lead_, lead_row_, position_, cell_, grid_order_, sample_index_;
    bool identity_ = false;
};

/// Width of the encoder's tokens: one forward of a zero record in eval mode without gradients
/// (running statistics untouched). Throws naming `method` when the encoder returns no tokens.
std::int64_t token_width(const std::string& method, Encoder& encoder, const EncoderInput& input);

/// ST-MEM's spatio-temporal masking: in every lead row of every record, ⌊positions · ratio⌋ patches
/// drawn uniformly without replacement (each lead at other times). bool [B, N], true = hidden.
at::Tensor per_lead_random_mask(const TokenGrid& grid, std::int64_t batch, double ratio,
                                const at::TensorOptions& options);

/// MAE's masking: ⌊n · ratio⌋ of each record's n tokens of present leads (`present`, bool [B, N])
/// drawn uniformly, wherever they lie; tokens of absent leads are never hidden (they are not
/// encoded anyway), so a record always keeps a visible token.
at::Tensor random_token_mask(const at::Tensor& present, double ratio);

/// ECG-JEPA's multi-block masking: per record, the union of `blocks` runs of consecutive positions,
/// each of ⌊positions · f⌋ (at least 1) with f ~ U(min_fraction, max_fraction) at a uniform start,
/// hidden in every lead; at least one position stays visible. bool [B, N].
at::Tensor time_block_mask(const TokenGrid& grid, std::int64_t batch, std::int64_t blocks, double min_fraction,
                           double max_fraction, const at::TensorOptions& options);

}  // namespace ecgbench::masked
