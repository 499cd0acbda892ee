// The model and the scores of the `lead_reconstruction` task: a 1-D U-Net (Ronneberger et al.
// 2015, in one dimension, as the 12-lead reconstruction literature uses it) from the input leads to
// the leads it reconstructs, and per-lead Pearson r and RMSE of a reconstruction.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

namespace ecgbench::lead_reconstruction {

struct UNetOptions {
    std::int64_t in_leads = 1;       ///< input channels (the leads given)
    std::int64_t out_leads = 11;     ///< output channels (the leads reconstructed)
    std::int64_t width = 16;         ///< channels of the first level; each level down doubles them
    std::int64_t depth = 3;          ///< down-sampling levels (max-pool by 2 each)
    std::int64_t kernel = 9;         ///< odd convolution width, "same" padding
    std::int64_t condition_dim = 0;  ///< width of a per-record vector added at the bottleneck (0 = none)
};

/// Encoder: per level two Conv–BatchNorm–ReLU layers, then max-pool by 2 (floor). Bottleneck: the
/// same block at width·2^depth, plus a linear projection of the condition vector broadcast over
/// time when there is one. Decoder: per level, linear interpolation to the skip connection's exact
/// length (so any length works, odd ones included), a 1×1 convolution halving the channels,
/// concatenation with the skip, the block again. A 1×1 convolution gives the output leads, plus a
/// linear path (a 1×1 convolution of the input itself), so leads that are linear combinations of
/// the inputs (Einthoven's and Goldberger's limb leads) need no detour through the ReLU layers.
/// The output convolution starts at zero: the network starts as its linear path.
/// [B, in_leads, T] (+ [B, condition_dim]) -> [B, out_leads, T], for any T ≥ 2^depth.
class UNetImpl : public torch::nn::Module {
public:
    explicit UNetImpl(const UNetOptions& options);
    at::Tensor forward(const at::Tensor& x, const at::Tensor& condition = {});
    /// Sets the linear path: output lead o gets Σ_i weight[o][i]·x_i + bias[o] (weight [out, in], bias [out]).
    void set_linear_path(const at::Tensor& weight, const at::Tensor& bias);
    const UNetOptions& options() const { return options_; }

private:
    UNetOptions options_;
    torch::nn::ModuleList down_{nullptr}, up_{nullptr}, merge_{nullptr};
    torch::nn::Sequential bottleneck_{nullptr};
    torch::nn::Linear condition_{nullptr};
    torch::nn::Conv1d output_{nullptr}, linear_{nullptr};
};
TORCH_MODULE(UNet);

/// Scores of a reconstruction per record and lead, and per lead over the records.
struct LeadScores {
    /// [records][leads]: Pearson r (scipy.stats.pearsonr) and RMSE of each record's lead, NaN where
    /// the lead is absent in the record (and r also where either trace is constant).
    std::vector<std::vector<double>> record_r, record_rmse;
    std::vector<double> mean_r, mean_rmse;  ///< per lead: mean over the records where it is defined (NaN if none)
    std::vector<std::int64_t> records;      ///< per lead: records in mean_r
};

/// `predicted` and `target` float [N, L, T] (CPU), `present` bool [N, L] (undefined = all present).
LeadScores score_reconstruction(const at::Tensor& predicted, const at::Tensor& target, const at::Tensor& present);

}  // namespace ecgbench::lead_reconstruction
