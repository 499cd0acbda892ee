// cmsc: CLOCS (Kiyasseh, Zhu & Clifton 2021, "CLOCS: Contrastive Learning of Cardiac Signals Across
// Space, Time, and Patients"). Views of a record are not augmentations but parts of it:
//   variant "cmsc"   (contrastive multi-segment coding): `segments` adjacent non-overlapping
//                    segments of the record, each ⌊T/segments⌋ samples (a remainder at the end is
//                    dropped); the encoder sees segments, not whole records;
//   variant "cmlc"   (contrastive multi-lead coding): `lead_views` disjoint lead subsets, lead j of
//                    the input in subset j mod lead_views (12-lead order, 2 subsets: I, III, aVL,
//                    V1, V3, V5 / II, aVR, aVF, V2, V4, V6); the other leads are zeroed and marked
//                    absent, so the encoder knows which leads it sees;
//   variant "cmsmlc" (both): every (segment, lead subset) combination, segments × lead_views views.
// Positives: all views of one record; with `patient_positives` (default) and subject ids in the
// batch (Batch::subjects), all views of every record of the same subject. Everything else in the
// batch is a negative. A view in which a record has no present lead is left out of the loss.
//
// Loss (ecgbench::multi_positive_nt_xent): the M = views × B projections z (L2-normalised), cosine
// s(i,k), temperature τ, positives P(i) as above; every anchor with a positive contributes
//   ℓ_i = −(1/|P(i)|) Σ_{p ∈ P(i)} log( exp(s(i,p)/τ) / Σ_{k ≠ i} exp(s(i,k)/τ) ),
// and the loss is the mean of ℓ_i. Term "positives_per_anchor" is the mean |P(i)|.
//
// Batches: with patient positives on, epoch_order() lists the split's rows subject by subject
// (subjects in a random order, each subject's rows shuffled, all from the host's generator), so the
// records of one patient sit next to each other and mostly share a batch: without that a batch of
// 64 from 10,000 patients almost never holds two records of one patient. Batches are still
// consecutive slices of that order; a subject cut by a batch boundary loses only those pairs.
//
// What it simplifies relative to the paper: CLOCS sums, per pair of views, cross-view terms whose
// denominators run over the other view only (and normalises by the number of terms); here all views
// are pooled into one SimCLR-style softmax over the M − 1 others, the supervised-contrastive form,
// which reduces exactly to NT-Xent for two views without patient positives. CLOCS feeds each lead
// to a single-lead network; here lead subsets keep the encoder's lead layout (lead mask), so the
// encoder used downstream is the one pretrained. A projection head Linear(D→D)–ReLU–Linear(D→
// proj_dim) sits on the pooled embedding (CLOCS's last layer is part of its network). No
// augmentations, as in CLOCS. Segments need an encoder that accepts shorter inputs (pooled CNNs
// do; one with a fixed token count does not, and then the cell fails with a message saying so).
#include "ecgbench/heads.hpp"
#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

class Clocs : public ecgbench::SslMethod {
public:
    explicit Clocs(const ecgbench::Params& p)
        : variant_(p.get_string("variant")), proj_dim_(p.get_int("proj_dim")), temperature_(p.get_float("temperature")),
          patient_positives_(p.get_bool("patient_positives")) {
        segments_ = variant_ == "cmlc" ? 1 : p.get_int("segments");
        lead_views_ = variant_ == "cmsc" ? 1 : p.get_int("lead_views");
    }

    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext& context) override {
        if (context.embedding_dim < 1) throw std::invalid_argument("cmsc: embedding_dim must be positive");
        if (lead_views_ > context.input.leads) {
            throw std::invalid_argument("cmsc: lead_views = " + std::to_string(lead_views_) + " exceeds the " +
                                        std::to_string(context.input.leads) + " leads of the input (variant \"" + variant_ + "\")");
        }
        if (context.input.samples > 0 && context.input.samples / segments_ < 1) {
            throw std::invalid_argument("cmsc: segments = " + std::to_string(segments_) + " is more than the " +
                                        std::to_string(context.input.samples) + " samples of a record");
        }
        head_ = register_module("head", std::make_shared<ecgbench::ProjectionHead>(context.embedding_dim, proj_dim_));
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!head_) throw std::logic_error("cmsc: loss() called before setup()");
        const std::int64_t b = batch.size(), leads = batch.signals.size(1), samples = batch.signals.size(2);
        const std::int64_t length = samples / segments_;
        if (length < 1) throw std::invalid_argument("cmsc: records of " + std::to_string(samples) + " samples are too short for segments = " + std::to_string(segments_));
        const at::Tensor present = batch.lead_present.defined()
                                       ? batch.lead_present.to(at::kBool)
                                       : at::ones({b, leads}, batch.signals.options().dtype(at::kBool));
        const at::Tensor lead_group = at::arange(leads, present.options().dtype(at::kLong)).remainder(lead_views_);

        // Views in (segment, lead subset) order, each a [B, L, length] block.
        std::vector<at::Tensor> signals, masks;
        for (std::int64_t s = 0; s < segments_; ++s) {
            const at::Tensor segment = batch.signals.narrow(2, s * length, length);
            for (std::int64_t g = 0; g < lead_views_; ++g) {
                const at::Tensor mask = present.logical_and((lead_group == g).unsqueeze(0));
                masks.push_back(mask);
                signals.push_back(segment * mask.unsqueeze(-1).to(segment.scalar_type()));
            }
        }
        const std::int64_t views = segments_ * lead_views_;
        const at::Tensor mask = at::cat(masks, 0);
        at::Tensor pooled;
        try {
            pooled = encoder.encode({at::cat(signals, 0), mask, {}}).pooled;
        } catch (const std::exception& e) {
            throw std::runtime_error("cmsc: the encoder rejected " + std::to_string(views) + " views of " + std::to_string(length) +
                                     " samples (variant \"" + variant_ + "\"): " + e.what());
        }
        const at::Tensor z = head_->forward(pooled);

        // Positives share a key: the subject with patient positives, else the row.
        const bool by_subject = patient_positives_ && batch.subjects.defined();
        const at::Tensor key = by_subject ? batch.subjects.to(at::kLong) : at::arange(b, present.options().dtype(at::kLong));
        const at::Tensor usable = mask.any(1).nonzero().squeeze(1);  // views with at least one lead
        const at::Tensor positives = ecgbench::same_group_mask(key.repeat({views}).index_select(0, usable));
        const at::Tensor total = ecgbench::multi_positive_nt_xent(z.index_select(0, usable), positives, temperature_);
        return {total, {{"positives_per_anchor", positives.sum(1).to(at::kFloat).mean()}}};
    }

    at::Tensor epoch_order(const ecgbench::EcgSplit& data, std::int64_t, at::Generator& generator) override {
        if (!patient_positives_ || !data.subjects.defined()) return {};
        // A uniform shuffle, then rows regrouped by subject in the order subjects first appear in it:
        // subjects in random order, each subject's rows in random order.
        const at::Tensor shuffled = at::randperm(data.size(), generator, at::TensorOptions().dtype(at::kLong));
        const at::Tensor subjects = data.subjects.to(at::kLong).contiguous();
        const auto* subject = subjects.data_ptr<std::int64_t>();
        const auto* row = shuffled.data_ptr<std::int64_t>();
        std::unordered_map<std::int64_t, std::size_t> slot;
        std::vector<std::vector<std::int64_t>> groups;
        for (std::int64_t i = 0; i < shuffled.numel(); ++i) {
            const auto [it, fresh] = slot.try_emplace(subject[row[i]], groups.size());
            if (fresh) groups.emplace_back();
            groups[it->second].push_back(row[i]);
        }
        std::vector<std::int64_t> order;
        order.reserve(static_cast<std::size_t>(shuffled.numel()));
        for (const auto& g : groups) order.insert(order.end(), g.begin(), g.end());
        return at::tensor(order, at::kLong);
    }

private:
    std::string variant_;
    std::int64_t proj_dim_;
    double temperature_;
    bool patient_positives_;
    std::int64_t segments_ = 1, lead_views_ = 1;
    std::shared_ptr<ecgbench::ProjectionHead> head_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"cmsc",
                  ecgbench::PluginKind::Ssl,
                  "1.0.0",
                  "CLOCS (Kiyasseh et al. 2021): segments (CMSC), lead subsets (CMLC) or both (CMSMLC) of a record, and "
                  "records of one patient, are positives of a multi-positive contrastive loss",
                  {param::choice("variant", "cmsc", {"cmsc", "cmlc", "cmsmlc"},
                                 "views: adjacent segments (cmsc), disjoint lead subsets (cmlc), or every combination (cmsmlc)"),
                   param::integer("segments", 2, "adjacent non-overlapping segments per record (cmsc, cmsmlc)").between(2, 64),
                   param::integer("lead_views", 2, "disjoint lead subsets, lead j in subset j mod lead_views (cmlc, cmsmlc)").between(2, 64),
                   param::flag("patient_positives", true,
                               "views of other records of the same subject are positives too, and batches group records by subject"),
                   param::real("temperature", 0.1, "temperature τ of the contrastive loss (CLOCS: 0.1)").between(1e-3, 10),
                   param::integer("proj_dim", 128, "output width of the projection head").at_least(1)}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<Clocs>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
