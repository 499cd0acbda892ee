// af_cohort: a derived dataset in one out-of-tree file, built on the public synthetic cohort
// generator (ecgbench/synth.hpp) — the `synthetic` plugin's records and parameters, relabelled as a
// single-class AF screening set ("AF": an atrial fibrillation episode anywhere in the record, as
// CinC 2017 or SHDB-AF label), the way a group would derive a task from the cohort without forking it.
#include "ecgbench/dataset.hpp"
#include "ecgbench/fingerprint.hpp"
#include "ecgbench/leads.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/synth.hpp"

#include <ATen/ATen.h>

#include <algorithm>

namespace {
namespace synth = ecgbench::synth;

class AfCohort final : public ecgbench::Dataset {
public:
    explicit AfCohort(const ecgbench::Params& p)
        : cohort_(synth::config_from_params(p)),
          fingerprint_(ecgbench::Fingerprint().add(std::string("af_cohort/1|")).add_params(synth::param_specs(), p).hex()) {}

    ecgbench::DatasetInfo info() const override {
        ecgbench::DatasetInfo info;
        info.name = "af_cohort";
        info.version = std::string("1/") + synth::kGeneratorVersion;
        info.fingerprint = fingerprint_;
        info.sampling_rate_hz = cohort_.config().site.sampling_rate;
        info.samples = cohort_.samples();
        info.leads = synth::lead_names();
        info.classes = {"AF"};
        info.class_descriptions = {{"AF", "atrial fibrillation"}};
        info.preprocessing = "none; the synthetic cohort's raw mV";
        info.split_rule = "the synthetic cohort's patient-disjoint split";
        return info;
    }

    ecgbench::EcgSplit load(ecgbench::Split split, const std::vector<std::string>& leads) override {
        const std::vector<int> columns = ecgbench::lead_columns(synth::lead_names(), leads);
        std::vector<std::int64_t> rows;
        for (std::int64_t i = 0; i < cohort_.config().records; ++i)
            if (cohort_.split_of_subject(i / cohort_.config().records_per_subject) == static_cast<int>(split)) rows.push_back(i);
        const auto n = static_cast<std::int64_t>(rows.size());
        const at::Tensor all = at::empty({n, synth::kLeadCount, cohort_.samples()}, at::kFloat);
        ecgbench::EcgSplit out;
        out.lead_present = at::empty({n, synth::kLeadCount}, at::kBool);
        out.labels = at::empty({n, 1}, at::kFloat);
        out.subjects = at::empty({n}, at::kLong);
        auto present = out.lead_present.accessor<bool, 2>();
        auto labels = out.labels.accessor<float, 2>();
        auto subjects = out.subjects.accessor<std::int64_t, 1>();
        for (std::int64_t i = 0; i < n; ++i) {
            const synth::Record r = cohort_.generate(rows[static_cast<std::size_t>(i)], all[i].data_ptr<float>());
            const auto& rhythms = r.findings.rhythms;
            labels[i][0] = std::find(rhythms.begin(), rhythms.end(), synth::Rhythm::Af) != rhythms.end() ? 1.0f : 0.0f;
            for (int k = 0; k < synth::kLeadCount; ++k) present[i][k] = r.lead_present[static_cast<std::size_t>(k)];
            subjects[i] = r.subject;
            out.record_ids.push_back(r.id);
        }
        const at::Tensor cols = at::tensor(std::vector<std::int64_t>(columns.begin(), columns.end()), at::kLong);
        out.signals = all.index_select(1, cols).contiguous();
        out.lead_present = out.lead_present.index_select(1, cols).contiguous();
        return out;
    }

private:
    synth::Cohort cohort_;
    std::string fingerprint_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"af_cohort", ecgbench::PluginKind::Dataset, "0.1.0",
                  "the synthetic cohort relabelled for AF screening (one class: AF)", synth::param_specs()};
    d.make_dataset = [](const ecgbench::Params& p) { return std::make_unique<AfCohort>(p); };
    return d;
}
}  // namespace

ECGBENCH_PLUGIN(describe)
