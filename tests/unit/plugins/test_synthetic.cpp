// The `synthetic` dataset plugin, loaded through the registry like the host does.
#include "ecgbench/dataset.hpp"
#include "ecgbench/leads.hpp"
#include "ecgbench/params.hpp"
#include "registry/registry.hpp"
#include "unit/plugins/shipped_plugins.hpp"
#include "unit/plugins/stream_check.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::ParamValue;
using ecgbench::Split;

using test_support::registry;

std::unique_ptr<ecgbench::Dataset> make(std::map<std::string, ParamValue> given) {
    const auto& plugin = registry().require("synthetic", ecgbench::PluginKind::Dataset);
    return registry().make_dataset("synthetic", ecgbench::validate_params(plugin.manifest().params, given));
}

const std::vector<std::string>& all_leads() { return ecgbench::standard_12_leads(); }

at::Tensor lead(const ecgbench::EcgSplit& s, int column) { return s.signals.select(1, column); }

/// NaN-aware exact equality of two float tensors.
bool same(const at::Tensor& a, const at::Tensor& b) {
    if (!a.sizes().equals(b.sizes())) return false;
    return at::equal(at::isnan(a), at::isnan(b)) && at::equal(at::nan_to_num(a, 0.0), at::nan_to_num(b, 0.0));
}

TEST(Synthetic, InfoAndFingerprintTrackParams) {
    // info() must not generate: with 100k records this would take many seconds if it did.
    auto ds = make({{"records", std::int64_t{100000}}});
    const auto info = ds->info();
    EXPECT_EQ(info.name, "synthetic");
    EXPECT_EQ(info.leads, all_leads());
    EXPECT_EQ(info.classes, (std::vector<std::string>{"NORM", "MI", "STTC", "CD", "HYP"}));
    EXPECT_DOUBLE_EQ(info.sampling_rate_hz, 100.0);
    EXPECT_EQ(info.samples, 1000);
    EXPECT_EQ(make({{"label_set", std::string("rhythm")}})->info().classes,
              (std::vector<std::string>{"SR", "SBRAD", "STACH", "AFIB", "AFLT"}));
    EXPECT_NE(info.preprocessing.find("raw mV"), std::string::npos);
    EXPECT_FALSE(info.split_rule.empty());
    EXPECT_EQ(info.fingerprint.size(), 16u);

    EXPECT_EQ(make({{"records", std::int64_t{100000}}})->info().fingerprint, info.fingerprint);
    EXPECT_NE(make({})->info().fingerprint, info.fingerprint);
    EXPECT_NE(make({{"seed", std::int64_t{1}}})->info().fingerprint, make({})->info().fingerprint);
    EXPECT_NE(make({{"site", std::int64_t{2}}})->info().fingerprint, make({})->info().fingerprint);
    EXPECT_NE(make({{"confounding", false}})->info().fingerprint, make({})->info().fingerprint);
    // An integer for a float parameter means the same thing.
    EXPECT_EQ(make({{"snr_db", std::int64_t{20}}})->info().fingerprint, make({{"snr_db", 20.0}})->info().fingerprint);
}

TEST(Synthetic, LimbLeadsObeyEinthovenAndGoldberger) {
    auto ds = make({{"records", std::int64_t{200}}, {"duration_s", 2.5}});
    for (Split split : {Split::Train, Split::Val, Split::Test}) {
        const auto s = ds->load(split, all_leads());
        const at::Tensor i = lead(s, 0), ii = lead(s, 1);
        EXPECT_TRUE(at::allclose(lead(s, 2), ii - i, 0, 1e-6));
        EXPECT_TRUE(at::allclose(lead(s, 3), -(i + ii) / 2, 0, 1e-6));
        EXPECT_TRUE(at::allclose(lead(s, 4), i - ii / 2, 0, 1e-6));
        EXPECT_TRUE(at::allclose(lead(s, 5), ii - i / 2, 0, 1e-6));
    }
}

TEST(Synthetic, ShapesTypesAndNoNaN) {
    auto ds = make({{"records", std::int64_t{300}}, {"duration_s", 5.0}, {"sampling_rate", 250.0}});
    // 5 s at 250 Hz.
    const auto s = ds->load(Split::Train, all_leads());
    const std::int64_t n = s.size();
    ASSERT_GT(n, 0);
    EXPECT_EQ(s.signals.sizes(), (std::vector<std::int64_t>{n, 12, 1250}));
    EXPECT_EQ(s.signals.scalar_type(), at::kFloat);
    EXPECT_EQ(s.lead_present.scalar_type(), at::kBool);
    EXPECT_TRUE(s.lead_present.all().item<bool>());
    EXPECT_EQ(s.labels.sizes(), (std::vector<std::int64_t>{n, 5}));
    EXPECT_EQ(s.labels.scalar_type(), at::kFloat);
    EXPECT_EQ(s.subjects.scalar_type(), at::kLong);
    EXPECT_EQ(static_cast<std::int64_t>(s.record_ids.size()), n);
    ASSERT_EQ(static_cast<std::int64_t>(s.texts.size()), n);
    for (const auto& text : s.texts) EXPECT_FALSE(text.empty());
    EXPECT_FALSE(at::isnan(s.signals).any().item<bool>());
    EXPECT_TRUE(at::isfinite(s.signals).all().item<bool>());
    EXPECT_TRUE(((s.labels == 0) | (s.labels == 1)).all().item<bool>());
    // Plausible mV: R waves around 1 mV, nothing absurd.
    const double peak = s.signals.abs().amax({1, 2}).median().item<double>();
    EXPECT_GT(peak, 0.4);
    EXPECT_LT(peak, 5.0);
    ASSERT_EQ(s.covariates.count("age"), 1u);
    ASSERT_EQ(s.covariates.count("sex"), 1u);
    const at::Tensor age = s.covariates.at("age"), sex = s.covariates.at("sex");
    EXPECT_EQ(age.sizes(), (std::vector<std::int64_t>{n}));
    const at::Tensor known_age = age.masked_select(~at::isnan(age));
    EXPECT_GE(known_age.min().item<float>(), 18.0f);
    EXPECT_LE(known_age.max().item<float>(), 100.0f);
    const at::Tensor known_sex = sex.masked_select(~at::isnan(sex));
    EXPECT_TRUE(((known_sex == 0) | (known_sex == 1)).all().item<bool>());
    // Recorded covariates and ground truth, one value per record.
    for (const char* name : {"bmi", "sbp", "total_cholesterol", "hdl", "smoking", "diabetes", "bp_treated", "risk_score",
                             "hr_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "snr_db"}) {
        ASSERT_EQ(s.covariates.count(name), 1u) << name;
        EXPECT_EQ(s.covariates.at(name).numel(), n) << name;
    }
    const at::Tensor hr = s.covariates.at("hr_bpm");
    EXPECT_GT(hr.min().item<float>(), 30.0f);
    EXPECT_LT(hr.max().item<float>(), 200.0f);
}

TEST(Synthetic, SameSeedSameRecordsOtherSeedOrSiteDifferent) {
    const std::map<std::string, ParamValue> params{{"records", std::int64_t{150}}, {"seed", std::int64_t{5}}};
    const auto a = make(params)->load(Split::Train, all_leads());
    const auto b = make(params)->load(Split::Train, all_leads());
    EXPECT_TRUE(at::equal(a.signals, b.signals));
    EXPECT_TRUE(at::equal(a.labels, b.labels));
    EXPECT_TRUE(at::equal(a.subjects, b.subjects));
    EXPECT_EQ(a.record_ids, b.record_ids);
    EXPECT_TRUE(same(a.covariates.at("age"), b.covariates.at("age")));
    EXPECT_TRUE(same(a.covariates.at("sex"), b.covariates.at("sex")));

    auto other_params = params;
    other_params["seed"] = std::int64_t{6};
    const auto c = make(other_params)->load(Split::Train, all_leads());
    EXPECT_FALSE(a.signals.sizes().equals(c.signals.sizes()) && at::equal(a.signals, c.signals));

    auto site_params = params;
    site_params["site"] = std::int64_t{3};
    const auto d = make(site_params)->load(Split::Train, all_leads());
    EXPECT_FALSE(a.signals.sizes().equals(d.signals.sizes()) && at::equal(a.signals, d.signals));
}

TEST(Synthetic, OutputDoesNotDependOnThreadCount) {
    const std::map<std::string, ParamValue> params{{"records", std::int64_t{400}}};
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    const auto one = make(params)->load(Split::Train, all_leads());
    at::set_num_threads(4);
    const auto four = make(params)->load(Split::Train, all_leads());
    at::set_num_threads(threads);
    EXPECT_TRUE(at::equal(one.signals, four.signals));
    EXPECT_TRUE(at::equal(one.labels, four.labels));
}

TEST(Synthetic, SplitsArePatientDisjointAndCoverAllRecords) {
    const std::int64_t records = 1000;
    auto ds = make({{"records", records}, {"records_per_subject", std::int64_t{4}}, {"seed", std::int64_t{9}}});
    std::set<std::string> ids;
    std::map<Split, std::set<std::int64_t>> subjects;
    std::map<Split, std::int64_t> sizes;
    for (Split split : {Split::Train, Split::Val, Split::Test}) {
        const auto s = ds->load(split, {"II"});
        sizes[split] = s.size();
        for (const auto& id : s.record_ids) {
            EXPECT_EQ(id.rfind("synth9_0_", 0), 0u) << id;
            EXPECT_TRUE(ids.insert(id).second) << "duplicate record " << id;
        }
        const at::Tensor subj = s.subjects.contiguous();
        for (std::int64_t i = 0; i < subj.numel(); ++i) subjects[split].insert(subj.data_ptr<std::int64_t>()[i]);
    }
    EXPECT_EQ(sizes[Split::Train] + sizes[Split::Val] + sizes[Split::Test], records);
    EXPECT_EQ(static_cast<std::int64_t>(ids.size()), records);
    for (auto [x, y] : {std::pair{Split::Train, Split::Val}, {Split::Train, Split::Test}, {Split::Val, Split::Test}}) {
        for (std::int64_t subject : subjects[x]) EXPECT_EQ(subjects[y].count(subject), 0u) << "subject in two splits";
    }
    // 250 subjects: val and test get round(37.5) = 38 each, train the remaining 174.
    EXPECT_EQ(subjects[Split::Train].size(), 174u);
    EXPECT_EQ(subjects[Split::Val].size(), 38u);
    EXPECT_EQ(subjects[Split::Test].size(), 38u);
    EXPECT_NEAR(static_cast<double>(sizes[Split::Train]) / records, 0.70, 0.02);
}

TEST(Synthetic, RecordsOfOneSubjectShareTraits) {
    auto ds = make({{"records", std::int64_t{600}}, {"records_per_subject", std::int64_t{3}},
                    {"covariate_missing_rate", 0.0}, {"duration_s", 2.0}});
    const auto s = ds->load(Split::Train, {"I"});
    const at::Tensor subj = s.subjects.contiguous();
    const at::Tensor sex = s.covariates.at("sex");
    const at::Tensor labels = s.labels;
    for (std::int64_t i = 1; i < s.size(); ++i) {
        if (subj[i].item<std::int64_t>() != subj[i - 1].item<std::int64_t>()) continue;
        EXPECT_EQ(sex[i].item<float>(), sex[i - 1].item<float>());
        // Chronic conditions (MI, LVH) belong to the subject.
        for (int k : {1, 4}) EXPECT_EQ(labels[i][k].item<float>(), labels[i - 1][k].item<float>());
    }
}

TEST(Synthetic, RequestedLeadOrderIsHonoured) {
    auto ds = make({{"records", std::int64_t{100}}});
    const auto full = ds->load(Split::Val, all_leads());
    const auto some = ds->load(Split::Val, {"V2", "I", "aVF"});
    ASSERT_EQ(some.signals.size(1), 3);
    EXPECT_TRUE(at::equal(some.signals.select(1, 0), full.signals.select(1, 7)));
    EXPECT_TRUE(at::equal(some.signals.select(1, 1), full.signals.select(1, 0)));
    EXPECT_TRUE(at::equal(some.signals.select(1, 2), full.signals.select(1, 5)));
    EXPECT_EQ(some.lead_present.sizes(), (std::vector<std::int64_t>{some.size(), 3}));
}

TEST(Synthetic, UnknownLeadIsAnErrorNamingIt) {
    auto ds = make({{"records", std::int64_t{100}}});
    try {
        ds->load(Split::Train, {"I", "V7"});
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("V7"), std::string::npos) << e.what();
    }
}

TEST(Synthetic, RejectsTooFewSubjects) {
    EXPECT_THROW(make({{"records", std::int64_t{10}}, {"records_per_subject", std::int64_t{5}}}), std::invalid_argument);
}

at::Tensor all_labels(ecgbench::Dataset& ds) {
    std::vector<at::Tensor> parts;
    for (Split split : {Split::Train, Split::Val, Split::Test}) parts.push_back(ds.load(split, {"I"}).labels);
    return at::cat(parts, 0);
}

TEST(Synthetic, PrevalenceRoughlyAsConfigured) {
    const std::map<std::string, ParamValue> params{{"records", std::int64_t{4000}}, {"records_per_subject", std::int64_t{1}},
                                                   {"duration_s", 2.0}, {"sampling_rate", 100.0}, {"prevalence_mi", 0.3},
                                                   {"prevalence_hyp", 0.05}, {"prevalence_af", 0.15}, {"prevalence_flutter", 0.0}};
    const at::Tensor rate = all_labels(*make(params)).mean(0);
    EXPECT_NEAR(rate[1].item<double>(), 0.30, 0.04);  // MI
    EXPECT_NEAR(rate[4].item<double>(), 0.05, 0.02);  // HYP
    auto rhythm_params = params;
    rhythm_params["label_set"] = std::string("rhythm");
    const at::Tensor rhythm = all_labels(*make(rhythm_params));
    EXPECT_NEAR(rhythm.mean(0)[3].item<double>(), 0.15, 0.03);  // AFIB
    // Every record has a rhythm; NORM excludes every other superclass.
    EXPECT_TRUE((rhythm.sum(1) >= 1).all().item<bool>());
    const at::Tensor labels = all_labels(*make(params));
    const at::Tensor abnormal = labels.slice(1, 1).sum(1) > 0;
    EXPECT_FALSE((labels.select(1, 0) == 1).logical_and(abnormal).any().item<bool>());
    EXPECT_GT((labels.slice(1, 1).sum(1) >= 2).sum().item<std::int64_t>(), 50);  // co-occurrence happens
}

TEST(Synthetic, MissingCovariateRateAndItsIndependenceFromSignals) {
    auto none = make({{"records", std::int64_t{2000}}, {"covariate_missing_rate", 0.0}, {"duration_s", 1.0}, {"sampling_rate", 100.0}});
    auto some = make({{"records", std::int64_t{2000}}, {"covariate_missing_rate", 0.3}, {"duration_s", 1.0}, {"sampling_rate", 100.0}});
    const auto a = none->load(Split::Train, all_leads());
    const auto b = some->load(Split::Train, all_leads());
    EXPECT_FALSE(at::isnan(a.covariates.at("age")).any().item<bool>());
    EXPECT_NEAR(at::isnan(b.covariates.at("age")).to(at::kFloat).mean().item<double>(), 0.3, 0.05);
    EXPECT_NEAR(at::isnan(b.covariates.at("sex")).to(at::kFloat).mean().item<double>(), 0.3, 0.05);
    EXPECT_TRUE(at::equal(a.signals, b.signals));
}

/// Mean |successive RR difference| / mean RR per record, from R peaks picked on the summed squared
/// slope of all leads (robust to axis: some subjects have a tiny R in lead II).
std::vector<double> rr_irregularity(const at::Tensor& signals, double fs) {
    const at::Tensor slope = signals.diff(1, 2).pow(2).sum(1).contiguous();  // [N, T-1]
    std::vector<double> result;
    const std::int64_t refractory = static_cast<std::int64_t>(0.25 * fs);
    for (std::int64_t r = 0; r < slope.size(0); ++r) {
        const at::Tensor row = slope[r];
        const float* x = row.data_ptr<float>();
        const std::int64_t T = row.numel();
        const float threshold = 0.3f * row.max().item<float>();
        std::vector<std::int64_t> peaks;
        for (std::int64_t t = 1; t + 1 < T; ++t) {
            if (x[t] < threshold || x[t] < x[t - 1] || x[t] < x[t + 1]) continue;
            if (!peaks.empty() && t - peaks.back() < refractory) {
                if (x[t] > x[peaks.back()]) peaks.back() = t;
                continue;
            }
            peaks.push_back(t);
        }
        if (peaks.size() < 4) continue;
        double diff_sum = 0, rr_sum = 0;
        for (std::size_t k = 1; k < peaks.size(); ++k) {
            rr_sum += static_cast<double>(peaks[k] - peaks[k - 1]);
            if (k >= 2) {
                diff_sum += std::abs(static_cast<double>((peaks[k] - peaks[k - 1]) - (peaks[k - 1] - peaks[k - 2])));
            }
        }
        result.push_back((diff_sum / static_cast<double>(peaks.size() - 2)) / (rr_sum / static_cast<double>(peaks.size() - 1)));
    }
    return result;
}

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
}

TEST(Synthetic, AtrialFibrillationHasIrregularRR) {
    auto ds = make({{"records", std::int64_t{400}}, {"records_per_subject", std::int64_t{1}}, {"duration_s", 10.0},
                    {"sampling_rate", 250.0}, {"snr_db", 30.0}, {"prevalence_af", 0.4}, {"prevalence_flutter", 0.0},
                    {"prevalence_pvc", 0.0}, {"prevalence_pac", 0.0}, {"paroxysmal_rate", 0.0}, {"label_set", std::string("rhythm")}});
    const auto s = ds->load(Split::Train, all_leads());
    const at::Tensor af = s.labels.select(1, 3) == 1;
    const auto irregular_af = rr_irregularity(s.signals.index_select(0, af.nonzero().squeeze(1)), 250.0);
    const auto irregular_sinus = rr_irregularity(s.signals.index_select(0, (~af).nonzero().squeeze(1)), 250.0);
    ASSERT_GT(irregular_af.size(), 20u);
    ASSERT_GT(irregular_sinus.size(), 50u);
    EXPECT_GT(mean(irregular_af), 0.15);
    EXPECT_LT(mean(irregular_sinus), 0.08);
    EXPECT_GT(mean(irregular_af), 3 * mean(irregular_sinus));
}

}  // namespace

TEST(Synthetic, StreamingGeneratesTheRecordsLoadGives) {
    auto ds = make({{"records", std::int64_t{90}}, {"duration_s", 2.0}});
    test_support::expect_stream_matches_load(*ds, Split::Train, all_leads(), 16);
    test_support::expect_stream_matches_load(*ds, Split::Test, {"V2", "I"}, 3);
}
