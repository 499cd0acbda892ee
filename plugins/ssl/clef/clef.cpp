// clef: clinically-guided contrastive learning after CLEF (Shu, Charlton, Kawsar, Hernesniemi &
// Malekzadeh 2025, "CLEF: Clinically-Guided Contrastive Learning for Electrocardiogram Foundation
// Models"): SimCLR's two augmented views and projection head, with NT-Xent whose negative pairs are
// re-weighted by how different the two subjects' clinical risk is, so records of subjects with
// similar risk are pushed apart less than records of subjects with very different risk.
//
// Loss (ecgbench::weighted_nt_xent_loss over the 2B projections, cosine s, temperature τ):
//   ℓ_i = −log( e^{s(i,pos)/τ} / ( e^{s(i,pos)/τ} + Σ_{k ∉ {i,pos}} W[r(i), r(k)] e^{s(i,k)/τ} ) ),
// mean over the 2B anchors; r(i) is the record of row i. Weights (ecgbench::risk_difference_weights)
// from the covariate named by `risk_covariate` (default "risk_score", the synthetic cohort's
// Framingham 10-year risk in %): x = |risk_a − risk_b| / (scale · weight_temperature),
//   W = min_weight + (1 − min_weight) · f(x),  f = min(1, x) | 1 − e^{−x} | tanh(x/2)
// for weighting = "linear" | "exponential" | "sigmoid"; scale = `risk_scale`, or with 0 the standard
// deviation of the covariate over the pretraining split (1 when the split has fewer than two values).
// Missing metadata: a pair in which either record's covariate is NaN, and every pair when the
// dataset has no such covariate, weighs exactly 1; a batch without any metadata is therefore plain
// NT-Xent (SimCLR's loss) to the last bit. The covariate is not a hard need, so CLEF runs on any
// dataset; term "weighted_pairs" records the share of negative record pairs that had both risks
// (0 = the run was plain NT-Xent) and "mean_weight" their mean weight over all record pairs.
// Ablation without covariates: weighting = "none" (every weight 1), the same cell otherwise.
//
// What it simplifies relative to the paper: the paper computes SCORE2 from MIMIC-IV metadata; here
// the score is whatever covariate the dataset provides (datasets compute risk scores, not methods).
// The paper pretrains single-lead models by sampling a lead per example and tests on lead I: lead
// selection is the experiment's job (the dataset block's `leads = ["I"]`), not this method's. The
// weighting functions and their parameterisation are ours; the paper's encoder (ResNeXt1D) is an
// encoder plugin choice. Views and head as in simclr (augmentation_params(), Linear–ReLU–Linear).
#include "ecgbench/augment.hpp"
#include "ecgbench/heads.hpp"
#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

ecgbench::RiskWeighting weighting_from(const std::string& name) {
    static const std::map<std::string, ecgbench::RiskWeighting> known = {{"none", ecgbench::RiskWeighting::None},
                                                                         {"linear", ecgbench::RiskWeighting::Linear},
                                                                         {"exponential", ecgbench::RiskWeighting::Exponential},
                                                                         {"sigmoid", ecgbench::RiskWeighting::Sigmoid}};
    const auto it = known.find(name);
    if (it == known.end()) throw std::invalid_argument("clef: unknown weighting \"" + name + "\"");
    return it->second;
}

class Clef : public ecgbench::SslMethod {
public:
    explicit Clef(const ecgbench::Params& p)
        : proj_dim_(p.get_int("proj_dim")), temperature_(p.get_float("temperature")), risk_covariate_(p.get_string("risk_covariate")),
          weighting_(weighting_from(p.get_string("weighting"))), weight_temperature_(p.get_float("weight_temperature")),
          risk_scale_(p.get_float("risk_scale")), min_weight_(p.get_float("min_weight")), augment_(ecgbench::augmentation_from(p)) {
        if (risk_covariate_.empty() && weighting_ != ecgbench::RiskWeighting::None) {
            throw std::invalid_argument("clef: risk_covariate is empty; name the risk covariate, or set weighting = \"none\" for the "
                                        "unweighted ablation");
        }
    }

    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext& context) override {
        if (context.embedding_dim < 1) throw std::invalid_argument("clef: embedding_dim must be positive");
        head_ = register_module("head", std::make_shared<ecgbench::ProjectionHead>(context.embedding_dim, proj_dim_));
        scale_ = risk_scale_ > 0 ? risk_scale_ : split_sd(context.data);
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!head_) throw std::logic_error("clef: loss() called before setup()");
        at::Tensor view1 = ecgbench::augment(batch.signals, augment_);
        at::Tensor view2 = ecgbench::augment(batch.signals, augment_);
        at::Tensor present;
        if (batch.lead_present.defined()) {
            const at::Tensor mask = batch.lead_present.unsqueeze(-1).to(view1.scalar_type());
            view1 = view1 * mask;
            view2 = view2 * mask;
            present = at::cat({batch.lead_present, batch.lead_present}, 0);
        }
        const std::int64_t b = batch.size();
        const at::Tensor z = head_->forward(encoder.encode({at::cat({view1, view2}, 0), present, {}}).pooled);

        // Records without the covariate (absent from the dataset, or NaN) get weight 1 throughout.
        const auto found = batch.covariates.find(risk_covariate_);
        const at::Tensor risk = found != batch.covariates.end() && weighting_ != ecgbench::RiskWeighting::None
                                    ? found->second.to(z.device(), at::kFloat)
                                    : at::full({b}, std::numeric_limits<float>::quiet_NaN(), z.options().dtype(at::kFloat));
        const at::Tensor weights = ecgbench::risk_difference_weights(risk, weighting_, scale_, weight_temperature_, min_weight_);
        const at::Tensor total = ecgbench::weighted_nt_xent_loss(z.narrow(0, 0, b), z.narrow(0, b, b), temperature_, weights);

        const at::Tensor known = risk.isfinite();
        const double pairs = static_cast<double>(std::max<std::int64_t>(1, b * (b - 1)));
        const at::Tensor weighted = (known.unsqueeze(1).logical_and(known.unsqueeze(0)).sum() - known.sum()).to(at::kFloat) / pairs;
        const at::Tensor mean_weight = (weights.sum() - b) / pairs;
        return {total, {{"weighted_pairs", weighted}, {"mean_weight", mean_weight}}};
    }

private:
    // SD of the covariate's known values over the pretraining split; 1 without two of them.
    double split_sd(const ecgbench::EcgSplit* data) const {
        if (data == nullptr) return 1.0;
        const auto found = data->covariates.find(risk_covariate_);
        if (found == data->covariates.end()) return 1.0;
        const at::Tensor values = found->second.to(at::kDouble);
        const at::Tensor known = values.masked_select(values.isfinite());
        const double sd = known.numel() >= 2 ? known.std().item<double>() : 0.0;
        return sd > 0 ? sd : 1.0;
    }

    std::int64_t proj_dim_;
    double temperature_;
    std::string risk_covariate_;
    ecgbench::RiskWeighting weighting_;
    double weight_temperature_, risk_scale_, min_weight_;
    double scale_ = 1.0;
    ecgbench::AugmentConfig augment_;
    std::shared_ptr<ecgbench::ProjectionHead> head_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"clef",
                  ecgbench::PluginKind::Ssl,
                  "1.0.0",
                  "CLEF (Shu et al. 2025): NT-Xent whose negatives are weighted by the subjects' clinical risk difference; "
                  "missing metadata = weight 1",
                  std::vector<ecgbench::ParamSpec>{
                      param::text("risk_covariate", "risk_score",
                                  "covariate holding the risk score (synthetic: Framingham 10-year %); absent or NaN = weight 1"),
                      param::choice("weighting", "linear", {"linear", "exponential", "sigmoid", "none"},
                                    "f of the normalised risk difference x: min(1, x), 1 − e^{−x}, tanh(x/2); none = plain NT-Xent"),
                      param::real("weight_temperature", 1.0, "x = |Δrisk| / (scale · weight_temperature)").between(1e-3, 1e3),
                      param::real("risk_scale", 0.0, "scale of risk differences; 0 = the covariate's SD over the pretraining split")
                          .between(0, 1e6),
                      param::real("min_weight", 0.1, "weight of a negative with equal risk (1 = no weighting)").between(0, 1),
                      param::real("temperature", 0.1, "NT-Xent temperature τ").between(1e-3, 10),
                      param::integer("proj_dim", 128, "output width of the projection head").at_least(1)} +
                      ecgbench::augmentation_params()};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<Clef>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
