// `noise_detection`: is this ECG window clean or corrupted by recorded noise? A signal-quality
// classifier in the spirit of the SQI literature (Li, Clark & Clifford 2008: spectral and kurtosis
// SQIs and bSQI, the agreement of two beat detectors; Clifford et al. 2012; Behar et al. 2013) and of
// HRV-based noise detection: features computed from the raw window — NOT from the SSL encoder, which
// this task ignores, so its numbers are the same for every pretraining cell (a signal-quality
// baseline beside the learned ones) — and an L2 logistic regression, clean vs noisy.
//
// Data: the evaluation dataset's windows are the clean class; the noisy class is the same windows
// with real noise records (the MIT-BIH Noise Stress Test Database's `bw`, `ma`, `em`, any WFDB
// record: `noise_records`) added at each SNR of `snr_db`, exactly per lead, by the one real-noise
// implementation the evaluation-time noise shift uses (harness/src/noise). Train/val windows take
// their noise from the first half of each noise record and test windows from the second, so no
// noise segment is shared between fitting and testing. Fitted on the train split (class-balanced
// weights: the noisy copies outnumber the clean windows), decision threshold chosen on validation
// (maximal balanced accuracy), tested on the test split: AUROC, sensitivity (noisy detected),
// specificity (clean passed) and balanced accuracy, pooled and per SNR, and AUROC per noise record.
// Per-record outputs: one row per test record, one logit column per condition ("clean",
// "ma@0dB", …), and the labels (0 clean, 1 noisy) in the same layout.
// Cross-dataset: the dataset decides what test is; `wfdb_folder` with `test_folders` puts one
// source's records in train/val and another's in test (fit on MIT-BIH, test on PTB-XL).
//
// Features per lead (signal_quality.hpp), averaged over the window's present leads: power fractions
// in 0–1 Hz (baseline wander), 5–15 Hz (QRS) and above 40 Hz (muscle), skewness, kurtosis, bSQI
// (Pan–Tompkins vs a slope detector, 150 ms), beats per minute, and mean RR, SDNN, RMSSD and the
// share of implausible RR intervals of the detected beats.
// What it simplifies: one window length (the dataset's), no per-lead classifier or lead fusion
// beyond the average, no SVM/MLP (the seed study's comparison of classifiers), a fixed L2 penalty.
#include "signal_quality.hpp"

#include "ecgbench/metrics.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/record_noise.hpp"
#include "ecgbench/task.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/optim/lbfgs.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::EvalContext;
using ecgbench::Metric;
using ecgbench::Params;
namespace param = ecgbench::param;

constexpr const char* kTask = "noise_detection";

std::string format(double v, const char* pattern = "%.4g") {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, pattern, v);
    return buffer;
}

std::vector<double> parse_snrs(const std::vector<std::string>& texts) {
    std::vector<double> out;
    for (const auto& text : texts) {
        std::size_t used = 0;
        double value = std::numeric_limits<double>::quiet_NaN();
        try {
            value = std::stod(text, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != text.size() || !std::isfinite(value) || value < -30 || value > 60)
            throw std::invalid_argument(std::string(kTask) + ": `snr_db`: '" + text + "' is not a number of dB in [-30, 60]");
        out.push_back(value);
    }
    if (out.empty()) throw std::invalid_argument(std::string(kTask) + ": `snr_db` is empty");
    return out;
}

/// One noise record: its name (file stem) and both halves of each channel.
struct NoiseSource {
    std::string name;
    ecgbench::noise::Bank fit_half, test_half;
};

/// Feature rows of one split: the clean windows, then each (noise, SNR) copy of them.
struct Rows {
    at::Tensor x;                    // [rows, features] double
    std::vector<int> noisy;          // 0 clean, 1 noisy
    std::vector<double> snr;         // NaN for clean rows
    std::vector<int> source;         // noise source index, -1 for clean rows
    std::vector<std::string> ids;         // the split's record ids (the rows of each condition)
    std::vector<std::string> conditions;  // "clean", then "<noise>@<SNR>dB" per block of rows
};

/// Mean of lead_features over each record's present leads (a record without one: zeros).
at::Tensor window_features(const at::Tensor& signals, const at::Tensor& present, double fs) {
    const std::int64_t n = signals.size(0), leads = signals.size(1), samples = signals.size(2);
    const auto width = static_cast<std::int64_t>(ecgbench::quality::feature_names().size());
    at::Tensor out = at::zeros({n, width}, at::kDouble);
    const float* x = signals.data_ptr<float>();
    const bool* p = present.data_ptr<bool>();
    double* o = out.data_ptr<double>();
    at::parallel_for(0, n, 1, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
            int used = 0;
            for (std::int64_t l = 0; l < leads; ++l) {
                if (!p[r * leads + l]) continue;
                const auto f = ecgbench::quality::lead_features(x + (r * leads + l) * samples, samples, fs);
                for (std::int64_t k = 0; k < width; ++k) o[r * width + k] += f[static_cast<std::size_t>(k)];
                ++used;
            }
            for (std::int64_t k = 0; used > 0 && k < width; ++k) o[r * width + k] /= used;
        }
    });
    return out;
}

/// L2 logistic regression on standardised features, class-balanced, full-batch L-BFGS from zero.
struct Model {
    at::Tensor weight, bias;  // [F], [] double
    at::Tensor logits(const at::Tensor& x) const { return at::mv(x, weight) + bias; }
};

Model fit(const at::Tensor& x, const std::vector<int>& labels, double l2, std::int64_t max_iter) {
    torch::AutoGradMode grad_on(true);  // the host may call evaluate() under NoGradGuard
    const at::Tensor y = at::tensor(std::vector<double>(labels.begin(), labels.end()), at::kDouble);
    const double positives = y.sum().item<double>(), n = static_cast<double>(y.size(0));
    if (positives == 0 || positives == n) throw std::runtime_error(std::string(kTask) + ": the train rows hold one class only");
    // n / (2 n_k) per row of class k: both classes weigh the same in the loss.
    const at::Tensor row_weight = at::where(y.gt(0.5), at::full_like(y, n / (2 * positives)), at::full_like(y, n / (2 * (n - positives))));
    at::Tensor weight = at::zeros({x.size(1)}, at::kDouble).set_requires_grad(true);
    at::Tensor bias = at::zeros({}, at::kDouble).set_requires_grad(true);
    torch::optim::LBFGS optimiser({weight, bias}, torch::optim::LBFGSOptions(1.0)
                                                      .max_iter(max_iter)
                                                      .max_eval(max_iter * 5 / 4 + 1)
                                                      .tolerance_grad(1e-8)
                                                      .tolerance_change(1e-12)
                                                      .history_size(10)
                                                      .line_search_fn("strong_wolfe"));
    auto closure = [&]() -> at::Tensor {
        optimiser.zero_grad();
        at::Tensor loss = at::binary_cross_entropy_with_logits(at::mv(x, weight) + bias, y, row_weight) + 0.5 * l2 * weight.pow(2).sum();
        loss.backward();
        return loss;
    };
    optimiser.step(closure);
    return {weight.detach(), bias.detach()};
}

std::vector<double> to_doubles(const at::Tensor& t) {
    const at::Tensor c = t.to(at::kDouble).contiguous();
    return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

/// The threshold (one of the scores) maximising balanced accuracy, the smallest on ties.
double balanced_accuracy_threshold(const std::vector<double>& scores, const std::vector<int>& labels) {
    std::vector<double> candidates = scores;
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    double best = 0, best_value = -1;
    for (const double t : candidates) {
        const double value = ecgbench::counts_at_threshold(scores, labels, t).balanced_accuracy();
        if (value > best_value) best_value = value, best = t;
    }
    return best;
}

class NoiseDetection final : public ecgbench::Task {
public:
    explicit NoiseDetection(const Params& p)
        : records_(p.get_strings("noise_records")), snrs_(parse_snrs(p.get_strings("snr_db"))), l2_(p.get_float("l2")),
          max_iter_(p.get_int("max_iter")) {
        if (records_.empty())
            throw std::invalid_argument(std::string(kTask) +
                                        ": `noise_records` is empty: give WFDB noise records, e.g. NSTDB's \"<dir>/nstdb/bw\" and \"<dir>/nstdb/ma\"");
    }

    ecgbench::TaskResult evaluate(const EvalContext& ctx) override {
        auto log = [&](const std::string& line) {
            if (ctx.log) ctx.log(std::string(kTask) + ": " + line);
        };
        const double fs = ctx.dataset.sampling_rate_hz;
        if (fs < 50) throw std::invalid_argument(std::string(kTask) + ": dataset '" + ctx.dataset.name + "' is at " + format(fs) +
                                                 " Hz; the beat detectors need at least 50 Hz");
        if (ctx.train.size() == 0 || ctx.test.size() == 0)
            throw std::invalid_argument(std::string(kTask) + ": the train and test splits of '" + ctx.dataset.name + "' must not be empty");
        const std::int64_t samples = ctx.test.signals.size(2);
        const auto sources = read_sources(fs, samples);
        log("features from the raw windows (the encoder is not used); " + std::to_string(sources.size()) + " noise records × " +
            std::to_string(snrs_.size()) + " SNRs");

        Rows train = rows(ctx, ctx.train, 0, sources, false, fs);
        Rows test = rows(ctx, ctx.test, 2, sources, true, fs);
        Rows val = ctx.val.size() > 0 ? rows(ctx, ctx.val, 1, sources, false, fs) : Rows{};
        const at::Tensor mean = train.x.mean(0, true), sd = train.x.std(0, /*unbiased=*/false, true).clamp_min(1e-12);
        auto standardise = [&](const at::Tensor& t) { return ((t - mean) / sd).contiguous(); };
        const Model model = fit(standardise(train.x), train.noisy, l2_, max_iter_);

        std::vector<Metric> metrics;
        double threshold = 0;  // logit 0 = probability ½ when there is no validation split
        if (val.x.defined()) {
            const std::vector<double> val_scores = to_doubles(model.logits(standardise(val.x)));
            threshold = balanced_accuracy_threshold(val_scores, val.noisy);
            metrics.push_back({"auroc", "val", ecgbench::auroc(val_scores, val.noisy)});
        }
        metrics.push_back({"threshold", "val", threshold});
        const at::Tensor test_logits = model.logits(standardise(test.x));
        score(to_doubles(test_logits), test, sources, threshold, metrics, log);

        // One row per test record, one column per condition (clean, then each noise@SNR copy).
        const auto conditions = static_cast<std::int64_t>(test.conditions.size());
        const at::Tensor per_record = test_logits.to(at::kFloat).view({conditions, ctx.test.size()}).t().contiguous();
        const at::Tensor truth = at::tensor(std::vector<float>(test.noisy.begin(), test.noisy.end())).view({conditions, ctx.test.size()}).t().contiguous();
        ecgbench::RecordOutputs logits{"test", "logits", test.conditions, test.ids, per_record};
        ecgbench::RecordOutputs labels{"test", "labels", test.conditions, test.ids, truth};
        return {metrics, {logits, labels}};
    }

private:
    std::vector<NoiseSource> read_sources(double fs, std::int64_t samples) const {
        std::vector<NoiseSource> out;
        for (const auto& path : records_) {
            NoiseSource source{std::filesystem::path(path).filename().string(), {}, {}};
            ecgbench::noise::Bank bank;
            try {
                bank = ecgbench::noise::read_record_bank(path, fs);
            } catch (const std::exception& e) {
                throw std::invalid_argument(std::string(kTask) + ": `noise_records`: cannot read '" + path + "': " + e.what());
            }
            for (const auto& channel : bank) {
                const auto half = static_cast<std::ptrdiff_t>(channel.size() / 2);
                if (half < samples)
                    throw std::invalid_argument(std::string(kTask) + ": `noise_records`: '" + path + "' is shorter than two windows of " +
                                                std::to_string(samples) + " samples");
                source.fit_half.emplace_back(channel.begin(), channel.begin() + half);
                source.test_half.emplace_back(channel.begin() + half, channel.end());
            }
            out.push_back(std::move(source));
        }
        return out;
    }

    // The split's clean windows, then one corrupted copy per (noise record, SNR), as feature rows.
    Rows rows(const EvalContext& ctx, const ecgbench::EcgSplit& split, int split_index, const std::vector<NoiseSource>& sources,
              bool test_half, double fs) const {
        const at::Tensor clean = split.signals.to(at::kFloat).contiguous();
        const at::Tensor present = split.lead_present.defined() ? split.lead_present.to(at::kBool).contiguous()
                                                                : at::ones({clean.size(0), clean.size(1)}, at::kBool);
        const std::int64_t n = clean.size(0), leads = clean.size(1), samples = clean.size(2);
        auto id = [&](std::int64_t r) {
            return r < static_cast<std::int64_t>(split.record_ids.size()) ? split.record_ids[static_cast<std::size_t>(r)] : "#" + std::to_string(r);
        };
        Rows out;
        std::vector<at::Tensor> blocks{window_features(clean, present, fs)};
        out.conditions.push_back("clean");
        for (std::int64_t r = 0; r < n; ++r) {
            out.noisy.push_back(0);
            out.snr.push_back(std::numeric_limits<double>::quiet_NaN());
            out.source.push_back(-1);
            out.ids.push_back(id(r));
        }
        for (std::size_t s = 0; s < sources.size(); ++s) {
            const auto& bank = test_half ? sources[s].test_half : sources[s].fit_half;
            for (std::size_t k = 0; k < snrs_.size(); ++k) {
                std::seed_seq seq{static_cast<std::uint32_t>(ctx.seed), static_cast<std::uint32_t>(ctx.seed >> 32),
                                  static_cast<std::uint32_t>(split_index), static_cast<std::uint32_t>(s), static_cast<std::uint32_t>(k)};
                std::mt19937_64 engine(seq);
                at::Tensor noisy = clean.clone();
                float* x = noisy.data_ptr<float>();
                const bool* p = present.data_ptr<bool>();
                for (std::int64_t r = 0; r < n; ++r)
                    for (std::int64_t l = 0; l < leads; ++l)
                        if (p[r * leads + l])
                            ecgbench::noise::add_at_snr(x + (r * leads + l) * samples, samples, bank[static_cast<std::size_t>(l) % bank.size()],
                                                        snrs_[k], engine, std::string(kTask) + ": noise record " + sources[s].name);
                blocks.push_back(window_features(noisy, present, fs));
                out.conditions.push_back(sources[s].name + "@" + format(snrs_[k], "%g") + "dB");
                for (std::int64_t r = 0; r < n; ++r) {
                    out.noisy.push_back(1);
                    out.snr.push_back(snrs_[k]);
                    out.source.push_back(static_cast<int>(s));
                }
            }
        }
        out.x = at::cat(blocks, 0);
        return out;
    }

    // AUROC, sensitivity, specificity and balanced accuracy pooled and per SNR, AUROC per noise record.
    void score(const std::vector<double>& scores, const Rows& test, const std::vector<NoiseSource>& sources, double threshold,
               std::vector<Metric>& metrics, const std::function<void(const std::string&)>& log) const {
        auto subset = [&](const std::function<bool(std::size_t)>& noisy_row_wanted) {
            std::vector<double> s;
            std::vector<int> y;
            for (std::size_t i = 0; i < scores.size(); ++i)
                if (!test.noisy[i] || noisy_row_wanted(i)) s.push_back(scores[i]), y.push_back(test.noisy[i]);
            return std::pair{s, y};
        };
        const auto [all_s, all_y] = subset([](std::size_t) { return true; });
        const auto pooled = ecgbench::counts_at_threshold(all_s, all_y, threshold);
        metrics.push_back({"auroc", "test", ecgbench::auroc(all_s, all_y)});
        metrics.push_back({"sensitivity", "test", pooled.sensitivity()});
        metrics.push_back({"specificity", "test", pooled.specificity()});
        metrics.push_back({"balanced_accuracy", "test", pooled.balanced_accuracy()});
        log("test AUROC " + format(metrics.back().value) + " pooled; specificity " + format(pooled.specificity()));
        for (const double snr : snrs_) {
            const auto [s, y] = subset([&](std::size_t i) { return test.snr[i] == snr; });
            const auto counts = ecgbench::counts_at_threshold(s, y, threshold);
            const std::string tag = "/snr_" + format(snr, "%g") + "db";
            const double area = ecgbench::auroc(s, y);
            metrics.push_back({"auroc" + tag, "test", area});
            metrics.push_back({"sensitivity" + tag, "test", counts.sensitivity()});
            metrics.push_back({"balanced_accuracy" + tag, "test", counts.balanced_accuracy()});
            log("SNR " + format(snr, "%g") + " dB: AUROC " + format(area) + ", sensitivity " + format(counts.sensitivity()));
        }
        for (std::size_t k = 0; k < sources.size(); ++k) {
            const auto [s, y] = subset([&](std::size_t i) { return test.source[i] == static_cast<int>(k); });
            metrics.push_back({"auroc/" + sources[k].name, "test", ecgbench::auroc(s, y)});
        }
    }

    std::vector<std::string> records_;
    std::vector<double> snrs_;
    double l2_;
    std::int64_t max_iter_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {kTask, ecgbench::PluginKind::Task, "1.0.0",
                  "clean vs real-noise-corrupted windows from raw-signal SQI + HRV features (not the encoder), logistic "
                  "regression; AUROC, Se/Sp, balanced accuracy per SNR",
                  {
                      param::strings("noise_records", {},
                                     "WFDB noise records (paths without extension, e.g. NSTDB's bw, ma, em), resampled to the data's "
                                     "rate; lead k takes channel k mod the record's channels (required)"),
                      param::strings("snr_db", {"24", "12", "6", "0"}, "SNRs of the noisy copies, in dB, each in [-30, 60]"),
                      param::real("l2", 1e-3, "L2 penalty of the logistic regression (standardised features)").between(1e-8, 100.0),
                      param::integer("max_iter", 200, "L-BFGS iterations").between(1, 10000),
                  },
                  /*needs=*/{}};
    d.make_task = [](const Params& p) { return std::make_unique<NoiseDetection>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
