// `lead_reconstruction`: how much of the 12-lead ECG a subset of leads carries. A 1-D U-Net maps
// the input leads (lead I; I + II; the six limb leads; any list) to every other lead, trained on
// the evaluation's train split with an MSE loss through the shared training engine (AdamW, warm-up
// then cosine), early-stopped on validation MSE (the best epoch's weights kept, `patience` epochs
// without improvement end training), and scored on the test split per reconstructed lead: Pearson r
// and RMSE in the data's units (mV for raw data such as the synthetic cohort), as the 12-lead
// reconstruction literature reports them.
//
// What it follows: encoder–decoder CNNs with skip connections for reduced-lead → 12-lead
// reconstruction (the U-Net of Ronneberger et al. 2015 in 1-D, as used for ECG lead reconstruction
// e.g. by Sohn et al. 2020 from a single lead, Seo et al. 2022 and Beco et al. 2024 from limb or
// reduced lead sets), scored per lead by correlation and RMSE averaged over records.
// What it simplifies: a plain MSE objective (no adversarial loss or frequency-domain term, as in
// the GAN variants), one fixed input subset per task instance, whole records at the data's length
// (no beat alignment), a handful of levels sized by parameters rather than a published network.
// What it adds: a linear 1×1 path from the input leads to the output beside the U-Net, started at
// the least-squares fit of the targets on the inputs over the train split (the linear
// reconstruction that earlier work used, e.g. the Dower and Nelwan transforms), with the U-Net's
// output layer started at zero: the leads a cart derives linearly (III, aVR, aVL, aVF from I and
// II) are right from the first step and the U-Net learns what is not linear in the inputs.
//
// The SSL encoder: by default (`encoder_features = "none"`) the U-Net is a standalone model, so
// the result ranks leads and not pretraining (cells of different SSL methods at one seed agree);
// with `encoder_features = "frozen"` the pretrained encoder's pooled embedding of the input leads
// alone (the other leads marked absent, so nothing leaks) is projected and added at the U-Net's
// bottleneck, and the comparison then asks whether SSL features help recover missing leads.
//
// Records missing an input lead are left out (counted in `n_records`); a reconstructed lead absent
// from a record is left out of the loss and of that lead's scores. Per-record scores are stored as
// outputs (`pearson_r` and `rmse_mv`, one column per reconstructed lead) for CIs and comparisons.
#include "ecgbench/leads.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/task.hpp"
#include "ecgbench/train.hpp"
#include "lead_reconstruction/unet.hpp"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::EvalContext;
using ecgbench::Metric;
using ecgbench::lead_reconstruction::UNet;

const std::vector<std::string> kLimbLeads{"I", "II", "III", "aVR", "aVL", "aVF"};

std::string format(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", v);
    return buffer;
}

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
    return text;
}

/// Canonical lead names of a `inputs`/`targets` list; "limb" stands for the six limb leads.
std::vector<std::string> lead_list(const std::vector<std::string>& entries, const std::string& param) {
    std::vector<std::string> leads;
    for (const auto& entry : entries) {
        std::vector<std::string> named;
        if (entry == "limb") {
            named = kLimbLeads;
        } else if (const auto canonical = ecgbench::canonical_lead_name(entry)) {
            named = {*canonical};
        } else {
            throw std::invalid_argument("lead_reconstruction: param '" + param + "': unknown lead '" + entry +
                                        "' (a lead name such as I, aVF, V1, or \"limb\")");
        }
        for (const auto& lead : named)
            if (std::find(leads.begin(), leads.end(), lead) == leads.end()) leads.push_back(lead);
    }
    return leads;
}

at::Tensor column_index(const std::vector<std::string>& available, const std::vector<std::string>& wanted) {
    const std::vector<int> columns = ecgbench::lead_columns(available, wanted);
    return at::tensor(std::vector<std::int64_t>(columns.begin(), columns.end()), at::kLong);
}

std::vector<at::Tensor> snapshot(torch::nn::Module& module) {
    std::vector<at::Tensor> state;
    for (const auto& p : module.parameters()) state.push_back(p.detach().clone());
    for (const auto& b : module.buffers()) state.push_back(b.detach().clone());
    return state;
}

void restore(torch::nn::Module& module, const std::vector<at::Tensor>& state) {
    torch::NoGradGuard no_grad;
    std::size_t i = 0;
    for (auto& p : module.parameters()) p.copy_(state.at(i++));
    for (auto& b : module.buffers()) b.copy_(state.at(i++));
}

class LeadReconstruction final : public ecgbench::Task {
public:
    explicit LeadReconstruction(const ecgbench::Params& p)
        : inputs_(lead_list(p.get_strings("inputs"), "inputs")), targets_(lead_list(p.get_strings("targets"), "targets")),
          frozen_features_(p.get_string("encoder_features") == "frozen"), width_(p.get_int("width")), depth_(p.get_int("depth")),
          kernel_(p.get_int("kernel")), epochs_(p.get_int("epochs")), batch_size_(p.get_int("batch_size")),
          learning_rate_(p.get_float("learning_rate")), weight_decay_(p.get_float("weight_decay")), patience_(p.get_int("patience")) {
        if (inputs_.empty()) throw std::invalid_argument("lead_reconstruction: `inputs` is empty; name at least one lead");
        if (kernel_ % 2 == 0) throw std::invalid_argument("lead_reconstruction: `kernel` must be odd, got " + std::to_string(kernel_));
        for (const auto& lead : targets_)
            if (std::find(inputs_.begin(), inputs_.end(), lead) != inputs_.end())
                throw std::invalid_argument("lead_reconstruction: lead " + lead + " is both an input and a target");
    }

    ecgbench::TaskResult evaluate(const EvalContext& ctx) override {
        auto log = [&](const std::string& line) {
            if (ctx.log) ctx.log("lead_reconstruction: " + line);
        };
        const std::vector<std::string>& available = ctx.dataset.leads;
        if (ctx.train.size() > 0 && ctx.train.signals.size(1) != static_cast<std::int64_t>(available.size()))
            throw std::invalid_argument("lead_reconstruction: the splits have " + std::to_string(ctx.train.signals.size(1)) +
                                        " leads, dataset '" + ctx.dataset.name + "' names " + std::to_string(available.size()));
        std::vector<std::string> targets = targets_;
        if (targets.empty())
            for (const auto& lead : available)
                if (std::find(inputs_.begin(), inputs_.end(), lead) == inputs_.end()) targets.push_back(lead);
        if (targets.empty()) throw std::invalid_argument("lead_reconstruction: the inputs cover every lead of the data; nothing to reconstruct");
        const at::Tensor in_columns = column_index(available, inputs_), out_columns = column_index(available, targets);
        in_columns_ = in_columns.to(ctx.device);
        out_columns_ = out_columns.to(ctx.device);
        input_mask_ = at::zeros({static_cast<std::int64_t>(available.size())}, at::kBool).index_fill_(0, in_columns, true).to(ctx.device);

        const ecgbench::EcgSplit train = with_inputs(ctx.train, in_columns), val = with_inputs(ctx.val, in_columns),
                                 test = with_inputs(ctx.test, in_columns);
        if (train.size() < 2 || test.size() < 1)
            throw std::invalid_argument("lead_reconstruction: " + std::to_string(train.size()) + " train and " + std::to_string(test.size()) +
                                        " test records have every input lead (" + joined(inputs_) + ")");
        // One scale for every lead (the train inputs' SD): the loss is unit-free, the output in the data's units.
        scale_ = std::max(train.signals.index_select(1, in_columns).std().item<double>(), 1e-6);
        log(joined(inputs_) + " → " + joined(targets) + (frozen_features_ ? " (with frozen encoder features)" : ""));

        torch::AutoGradMode grad_on(true);  // the host may call evaluate() under NoGradGuard
        torch::manual_seed(ctx.seed);
        UNet net(ecgbench::lead_reconstruction::UNetOptions{static_cast<std::int64_t>(inputs_.size()), static_cast<std::int64_t>(targets.size()),
                                                            width_, depth_, kernel_, frozen_features_ ? ctx.encoder->embedding_dim() : 0});
        fit_linear_path(*net, train, in_columns, out_columns, log);
        net->to(ctx.device);

        ecgbench::TrainOptions options;
        options.epochs = epochs_;
        options.batch_size = batch_size_;
        options.learning_rate = learning_rate_;
        options.weight_decay = weight_decay_;
        options.device = ctx.device.str();
        std::vector<at::Tensor> best_state;
        double best_val = std::numeric_limits<double>::quiet_NaN();
        std::int64_t best_epoch = 0, since_best = 0;
        ecgbench::TrainHooks hooks;
        if (val.size() > 0) {
            hooks.on_epoch_end = [&](const ecgbench::EpochSummary& epoch) {
                const double value = validation_mse(ctx, *net, val);
                log("epoch " + std::to_string(epoch.epoch) + ": loss " + format(epoch.loss) + ", val MSE " + format(value));
                if (best_state.empty() || value < best_val) {
                    best_val = value;
                    best_epoch = epoch.epoch;
                    best_state = snapshot(*net);
                    since_best = 0;
                    return true;
                }
                return ++since_best < patience_;
            };
        }
        auto loss = [&](const ecgbench::Batch& b) {
            const at::Tensor x = b.signals.index_select(1, in_columns_) / scale_;
            return ecgbench::Loss(masked_mse(net->forward(x, features(ctx, b.signals, b.lead_present)), b.signals, b.lead_present));
        };
        const auto report = ecgbench::train(std::vector<torch::nn::Module*>{net.get()}, train, loss, options, hooks);
        if (!best_state.empty()) {
            restore(*net, best_state);
            log("restored epoch " + std::to_string(best_epoch) + " (val MSE " + format(best_val) + ")" +
                (report.stopped_early ? ", stopped early after epoch " + std::to_string(report.epochs.size()) : ""));
        } else {
            best_epoch = static_cast<std::int64_t>(report.epochs.size());
        }

        const at::Tensor reconstructed = predict(ctx, *net, test);
        const auto scores = ecgbench::lead_reconstruction::score_reconstruction(
            reconstructed, test.signals.index_select(1, out_columns), test.lead_present.defined() ? test.lead_present.index_select(1, out_columns) : at::Tensor());
        return result(ctx, test, targets, scores, best_val, best_epoch);
    }

private:
    /// The rows of `split` where every input lead is present.
    static ecgbench::EcgSplit with_inputs(const ecgbench::EcgSplit& split, const at::Tensor& in_columns) {
        if (split.size() == 0 || !split.lead_present.defined()) return split;
        const at::Tensor keep = split.lead_present.index_select(1, in_columns).all(1);
        if (keep.all().item<bool>()) return split;
        return ecgbench::subset(split, at::nonzero(keep).squeeze(1));
    }

    /// Least squares of each target lead on the input leads and a constant, over the train records
    /// where every input and target lead is present, accumulated 256 records at a time in float64.
    void fit_linear_path(ecgbench::lead_reconstruction::UNetImpl& net, const ecgbench::EcgSplit& train, const at::Tensor& in_columns,
                         const at::Tensor& out_columns, const std::function<void(const std::string&)>& log) const {
        const auto inputs = in_columns.size(0), outputs = out_columns.size(0);
        at::Tensor gram = at::zeros({inputs + 1, inputs + 1}, at::kDouble), moment = at::zeros({inputs + 1, outputs}, at::kDouble);
        std::int64_t used = 0;
        for (std::int64_t start = 0; start < train.size(); start += 256) {
            const std::int64_t end = std::min(start + 256, train.size());
            at::Tensor signals = train.signals.slice(0, start, end);
            if (train.lead_present.defined()) {
                const at::Tensor complete = train.lead_present.slice(0, start, end).index_select(1, out_columns).all(1);
                signals = signals.index_select(0, at::nonzero(complete).squeeze(1));
            }
            if (signals.size(0) == 0) continue;
            used += signals.size(0);
            auto rows = [&](const at::Tensor& columns) {  // [records·T, leads]
                return (signals.index_select(1, columns).to(at::kDouble) / scale_).permute({0, 2, 1}).reshape({-1, columns.size(0)});
            };
            const at::Tensor x = at::cat({rows(in_columns), at::ones({signals.size(0) * signals.size(2), 1}, at::kDouble)}, 1);
            gram += x.t().mm(x);
            moment += x.t().mm(rows(out_columns));
        }
        if (used == 0) return;  // no complete record: the path keeps its random start
        // A ridge of 1e-6 of the mean diagonal keeps a constant or duplicated input lead solvable.
        const at::Tensor ridge = at::eye(inputs + 1, at::kDouble) * (1e-6 * gram.diagonal().mean().item<double>());
        const at::Tensor solution = at::linalg_solve(gram + ridge, moment);  // [inputs + 1, outputs]
        net.set_linear_path(solution.slice(0, 0, inputs).t().to(at::kFloat), solution.select(0, inputs).to(at::kFloat));
        log("linear path: least squares over " + std::to_string(used) + " train records");
    }

    /// The frozen encoder's pooled embedding of the input leads only (undefined without features).
    at::Tensor features(const EvalContext& ctx, const at::Tensor& signals, const at::Tensor& lead_present) const {
        if (!frozen_features_) return {};
        torch::NoGradGuard no_grad;
        at::Tensor present = input_mask_.unsqueeze(0).expand({signals.size(0), -1});
        if (lead_present.defined()) present = present.logical_and(lead_present);
        const at::Tensor masked = signals * present.unsqueeze(-1).to(signals.dtype());
        return ctx.encoder->encode({masked, present, {}}).pooled.detach();
    }

    /// Mean squared error (in scale units) over the present target leads.
    at::Tensor masked_mse(const at::Tensor& prediction, const at::Tensor& signals, const at::Tensor& lead_present) const {
        const at::Tensor target = signals.index_select(1, out_columns_) / scale_;
        at::Tensor weight = at::ones_like(prediction);
        if (lead_present.defined()) weight = weight * lead_present.index_select(1, out_columns_).unsqueeze(-1).to(prediction.dtype());
        return ((prediction - target).pow(2) * weight).sum() / weight.sum().clamp_min(1);
    }

    /// Reconstructed target leads of `split` in the data's units, float [N, targets, T] on the CPU.
    at::Tensor predict(const EvalContext& ctx, ecgbench::lead_reconstruction::UNetImpl& net, const ecgbench::EcgSplit& split) const {
        net.eval();
        torch::NoGradGuard no_grad;
        std::vector<at::Tensor> parts;
        for (std::int64_t start = 0; start < split.size(); start += 256) {
            const std::int64_t end = std::min(start + 256, split.size());
            const at::Tensor signals = split.signals.slice(0, start, end).to(ctx.device);
            const at::Tensor present = split.lead_present.defined() ? split.lead_present.slice(0, start, end).to(ctx.device) : at::Tensor();
            parts.push_back((net.forward(signals.index_select(1, in_columns_) / scale_, features(ctx, signals, present)) * scale_).to(at::kCPU));
        }
        return at::cat(parts);
    }

    double validation_mse(const EvalContext& ctx, ecgbench::lead_reconstruction::UNetImpl& net, const ecgbench::EcgSplit& val) const {
        const at::Tensor prediction = predict(ctx, net, val).to(ctx.device) / scale_;
        const at::Tensor signals = val.signals.to(ctx.device);
        return masked_mse(prediction, signals, val.lead_present.defined() ? val.lead_present.to(ctx.device) : at::Tensor()).item<double>();
    }

    ecgbench::TaskResult result(const EvalContext& ctx, const ecgbench::EcgSplit& test, const std::vector<std::string>& targets,
                                const ecgbench::lead_reconstruction::LeadScores& scores, double best_val, std::int64_t best_epoch) const {
        ecgbench::TaskResult out;
        double sum_r = 0, sum_rmse = 0;
        std::int64_t leads_r = 0, leads_rmse = 0;
        std::string summary;
        for (std::size_t l = 0; l < targets.size(); ++l) {
            if (!std::isnan(scores.mean_r[l])) {
                out.metrics.push_back({"pearson_r/" + targets[l], "test", scores.mean_r[l]});
                sum_r += scores.mean_r[l];
                ++leads_r;
                summary += (summary.empty() ? "" : ", ") + targets[l] + " " + format(scores.mean_r[l]);
            }
            if (!std::isnan(scores.mean_rmse[l])) {
                out.metrics.push_back({"rmse_mv/" + targets[l], "test", scores.mean_rmse[l], {}, {}, ecgbench::Direction::LowerIsBetter});
                sum_rmse += scores.mean_rmse[l];
                ++leads_rmse;
            }
        }
        // Means over the reconstructed leads (each lead weighs the same, as per-lead tables average).
        if (leads_r > 0) out.metrics.push_back({"mean_pearson_r", "test", sum_r / static_cast<double>(leads_r)});
        if (leads_rmse > 0)
            out.metrics.push_back({"mean_rmse_mv", "test", sum_rmse / static_cast<double>(leads_rmse), {}, {}, ecgbench::Direction::LowerIsBetter});
        out.metrics.push_back({"n_records", "test", static_cast<double>(test.size())});
        if (!std::isnan(best_val)) out.metrics.push_back({"mse", "val", best_val, {}, {}, ecgbench::Direction::LowerIsBetter});
        out.metrics.push_back({"epochs", "val", static_cast<double>(best_epoch)});
        if (ctx.log) ctx.log("lead_reconstruction: test Pearson r " + summary);

        std::vector<std::string> ids = test.record_ids;
        if (ids.empty())
            for (std::int64_t i = 0; i < test.size(); ++i) ids.push_back("#" + std::to_string(i));
        auto table = [&](const std::vector<std::vector<double>>& rows) {
            std::vector<float> values;
            for (const auto& row : rows) values.insert(values.end(), row.begin(), row.end());
            return at::tensor(values, at::kFloat).view({test.size(), static_cast<std::int64_t>(targets.size())});
        };
        out.outputs = {{"test", "pearson_r", targets, ids, table(scores.record_r)}, {"test", "rmse_mv", targets, ids, table(scores.record_rmse)}};
        return out;
    }

    std::vector<std::string> inputs_, targets_;
    bool frozen_features_;
    std::int64_t width_, depth_, kernel_, epochs_, batch_size_;
    double learning_rate_, weight_decay_;
    std::int64_t patience_;
    // Set per evaluate(): the columns read and written, the encoder's view of the inputs, the scale.
    at::Tensor in_columns_, out_columns_, input_mask_;
    double scale_ = 1;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"lead_reconstruction",
                  ecgbench::PluginKind::Task,
                  "1.0.0",
                  "1-D U-Net reconstructing the other leads from a subset (lead I, I+II, limb leads…); test Pearson r and RMSE per lead",
                  {param::strings("inputs", {"I", "II"}, "leads given to the U-Net (names; \"limb\" = I, II, III, aVR, aVL, aVF)"),
                   param::strings("targets", {}, "leads reconstructed and scored (empty = every lead of the data not in `inputs`)"),
                   param::choice("encoder_features", "none", {"none", "frozen"},
                                 "none: standalone U-Net; frozen: the pretrained encoder's embedding of the inputs added at the bottleneck"),
                   param::integer("width", 16, "channels of the U-Net's first level (doubling per level)").between(1, 1024),
                   param::integer("depth", 3, "down-sampling levels (records need at least 2^depth samples)").between(1, 8),
                   param::integer("kernel", 9, "convolution width in samples (odd)").between(1, 101),
                   param::integer("epochs", 30, "most epochs over the train split").between(1, 10000),
                   param::integer("batch_size", 32, "records per step").between(1, 65536),
                   param::real("learning_rate", 1e-3, "peak AdamW rate (warm-up 5 %, then cosine)").between(1e-7, 1.0),
                   param::real("weight_decay", 1e-4, "AdamW decoupled weight decay").between(0.0, 10.0),
                   param::integer("patience", 5, "epochs without a lower val MSE before stopping").between(1, 10000)}};
    d.make_task = [](const ecgbench::Params& p) { return std::make_unique<LeadReconstruction>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
