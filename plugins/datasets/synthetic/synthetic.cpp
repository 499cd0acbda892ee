// `synthetic`: the embedded default dataset, a seeded cohort of realistic 12-lead ECGs with
// covariates, PTB-XL-style labels, free-text reports and ground-truth intervals. The generator lives
// in harness/src/synth (shared with `ecgbench synth`); see synth.hpp for the model and what it
// follows, and the README's "Synthetic cohort" section for every parameter.
//
// A split is generated on its first load() (in parallel; identical for any thread count) and kept;
// stream() generates a chunk at a time and keeps nothing.
// Covariates: the recorded ones (age, sex, bmi, sbp, total_cholesterol, hdl, smoking, diabetes,
// bp_treated, risk_score; NaN = missing) and ground truth (hr_bpm, pr_ms, qrs_ms, qt_ms, qtc_ms,
// snr_db; PR is NaN without P waves).
#include "ecgbench/chunks.hpp"
#include "ecgbench/dataset.hpp"
#include "ecgbench/fingerprint.hpp"
#include "ecgbench/leads.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/synth.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

using ecgbench::DatasetInfo;
using ecgbench::EcgSplit;
using ecgbench::Params;
using ecgbench::Split;
namespace synth = ecgbench::synth;

const std::vector<std::string>& truth_names() {
    static const std::vector<std::string> names{"hr_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "snr_db"};
    return names;
}

std::array<double, 6> truth_values(const synth::Truth& t) { return {t.hr_bpm, t.pr_ms, t.qrs_ms, t.qt_ms, t.qtc_ms, t.snr_db}; }

const std::vector<int>& identity_columns() {
    static const std::vector<int> columns{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    return columns;
}

/// One split, all leads, as generated.
struct Generated {
    at::Tensor signals, lead_present, labels, subjects;
    std::map<std::string, at::Tensor> covariates;
    std::vector<std::string> ids, texts;
};

class Synthetic final : public ecgbench::Dataset {
public:
    explicit Synthetic(const Params& params)
        : cohort_(synth::config_from_params(params)),
          fingerprint_(ecgbench::Fingerprint()
                           .add(std::string("synthetic/") + synth::kGeneratorVersion + "|")
                           .add_params(synth::param_specs(), params)
                           .hex()) {}

    DatasetInfo info() const override {
        const synth::CohortConfig& c = cohort_.config();
        DatasetInfo info;
        info.name = "synthetic";
        info.version = synth::kGeneratorVersion;
        info.fingerprint = fingerprint_;
        info.sampling_rate_hz = c.site.sampling_rate;
        info.samples = c.samples();
        info.leads = synth::lead_names();
        info.classes = synth::label_set_classes(c.label_set);
        info.class_descriptions = synth::label_set_descriptions(c.label_set);
        info.preprocessing =
            "none; raw mV as acquired (site band-pass, gain, ADC step and noise mix applied by the generator). "
            "Covariates: age (years), sex (1 = male), bmi, sbp (mmHg), total_cholesterol and hdl (mg/dL), smoking, "
            "diabetes, bp_treated (0/1), risk_score (Framingham 10-year %); NaN = missing. Truth: hr_bpm, pr_ms, qrs_ms, "
            "qt_ms, qtc_ms, snr_db";
        info.split_rule =
            "patient-disjoint: subjects (records_per_subject consecutive records each) ranked by a hash of "
            "(seed, site, subject); first 70% train, next 15% val, rest test (at least one subject each)";
        info.covariates = synth::covariate_names();
        info.covariates.insert(info.covariates.end(), truth_names().begin(), truth_names().end());
        info.has_texts = true;
        return info;
    }

    EcgSplit load(Split split, const std::vector<std::string>& leads) override {
        const std::vector<int> columns = ecgbench::lead_columns(synth::lead_names(), leads);  // fails fast
        const auto k = static_cast<std::size_t>(split);
        std::call_once(generated_once_[k], [&] { generated_[k] = generate(rows_of(split)); });
        return select(generated_[k], columns);
    }

    /// Generates chunk by chunk and keeps nothing, so a cohort larger than memory can be streamed
    /// into the shard cache. The records are those load() returns, in the same order.
    void stream(Split split, const std::vector<std::string>& leads, std::int64_t chunk_records,
                const ecgbench::SplitSink& sink) override {
        const std::vector<int> columns = ecgbench::lead_columns(synth::lead_names(), leads);
        const std::vector<std::int64_t> rows = rows_of(split);
        ecgbench::for_each_chunk(static_cast<std::int64_t>(rows.size()), chunk_records, [&](std::int64_t begin, std::int64_t end) {
            sink(select(generate({rows.begin() + begin, rows.begin() + end}), columns));
        });
    }

private:
    static EcgSplit select(const Generated& g, const std::vector<int>& columns) {
        EcgSplit out;
        if (columns == identity_columns()) {  // all leads in generation order: no copy (callers never write to splits)
            out.signals = g.signals;
            out.lead_present = g.lead_present;
        } else {
            const at::Tensor cols = at::tensor(std::vector<std::int64_t>(columns.begin(), columns.end()), at::kLong);
            out.signals = g.signals.index_select(1, cols).contiguous();
            out.lead_present = g.lead_present.index_select(1, cols).contiguous();
        }
        out.labels = g.labels;
        out.subjects = g.subjects;
        out.covariates = g.covariates;
        out.record_ids = g.ids;
        out.texts = g.texts;
        return out;
    }

    /// Which records belong to `split`: the split is a property of the subject, so it is known
    /// without generating.
    std::vector<std::int64_t> rows_of(Split split) const {
        std::vector<std::int64_t> rows;
        for (std::int64_t i = 0; i < cohort_.config().records; ++i)
            if (split_of(i) == static_cast<int>(split)) rows.push_back(i);
        return rows;
    }

    /// Records `rows` of the cohort, all leads.
    Generated generate(const std::vector<std::int64_t>& rows) const {
        const synth::CohortConfig& c = cohort_.config();
        const auto n = static_cast<std::int64_t>(rows.size());
        const std::int64_t T = c.samples();
        const auto classes = static_cast<std::int64_t>(synth::label_set_classes(c.label_set).size());
        const auto& cov_names = synth::covariate_names();

        Generated g;
        g.signals = at::empty({n, synth::kLeadCount, T}, at::kFloat);
        g.lead_present = at::empty({n, synth::kLeadCount}, at::kBool);
        g.labels = at::empty({n, classes}, at::kFloat);
        g.subjects = at::empty({n}, at::kLong);
        const at::Tensor covariates = at::empty({static_cast<std::int64_t>(cov_names.size() + truth_names().size()), n}, at::kFloat);
        g.ids.resize(static_cast<std::size_t>(n));
        g.texts.resize(static_cast<std::size_t>(n));
        float* signal = g.signals.data_ptr<float>();
        bool* present = g.lead_present.data_ptr<bool>();
        float* labels = g.labels.data_ptr<float>();
        std::int64_t* subjects = g.subjects.data_ptr<std::int64_t>();
        float* cov = covariates.data_ptr<float>();
        // Records are independent (own seeds, own output rows): identical for any thread count.
        at::parallel_for(0, n, 16, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t i = begin; i < end; ++i) {
                const auto row = static_cast<std::size_t>(i);
                const synth::Record r = cohort_.generate(rows[row], signal + i * synth::kLeadCount * T);
                for (int k = 0; k < synth::kLeadCount; ++k) present[i * synth::kLeadCount + k] = r.lead_present[static_cast<std::size_t>(k)];
                std::copy(r.labels.begin(), r.labels.end(), labels + i * classes);
                subjects[i] = r.subject;
                std::size_t column = 0;
                for (; column < cov_names.size(); ++column) cov[static_cast<std::int64_t>(column) * n + i] = static_cast<float>(synth::covariate(r.covariates, column));
                for (double v : truth_values(r.truth)) cov[static_cast<std::int64_t>(column++) * n + i] = static_cast<float>(v);
                g.ids[row] = r.id;
                g.texts[row] = r.report;
            }
        });
        std::int64_t column = 0;
        for (const auto& name : cov_names) g.covariates[name] = covariates[column++];
        for (const auto& name : truth_names()) g.covariates[name] = covariates[column++];
        return g;
    }

    int split_of(std::int64_t index) const { return cohort_.split_of_subject(index / cohort_.config().records_per_subject); }

    synth::Cohort cohort_;
    std::string fingerprint_;
    std::array<std::once_flag, 3> generated_once_;
    std::array<Generated, 3> generated_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"synthetic", ecgbench::PluginKind::Dataset, "2.0.0",
                  "realistic synthetic 12-lead cohort (dipole/ECGSYN-style; rhythms, PTB-XL statements, covariates, "
                  "risk score, sites, noise, reports, ground-truth intervals)",
                  synth::param_specs()};
    d.make_dataset = [](const Params& p) { return std::make_unique<Synthetic>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
