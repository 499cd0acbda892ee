// `zero_shot`: zero-shot classification through the text tower of an ECG–text method (MERL's
// protocol, Liu et al. 2024). Each class gets one or more prompts — the dataset's class description
// by default, or the experiment's `prompts` — embedded by the pretrained method's text tower
// (ecgbench/text.hpp); each prompt embedding is L2-normalised, a class's prompts are averaged and the
// mean normalised again (CLIP's prompt ensembling). A test record's score for a class is the cosine
// similarity between its L2-normalised ECG embedding (the tower's ECG projection of the task's
// encoder copy) and the class embedding. No labelled data is used: the train and val splits are not
// read, and the label fraction changes nothing.
//
// Metrics as MERL's code computes them: AUROC per class, their unweighted mean over the classes that
// have both a positive and a negative test record (`macro_auroc`, in [0, 1] like every other task's,
// with a bootstrap CI; `macro_auroc_percent` = 100 × it, the scale MERL's tables use), and the number
// of classes left out as undefined (`undefined_classes`). The per-record scores are stored as
// "logits" beside the "labels" (AUROC needs only their order), so `ecgbench compare` and later CIs
// work on zero-shot cells as on linear-probe ones.
#include "ecgbench/metrics.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/task.hpp"
#include "ecgbench/text.hpp"

#include <ATen/ATen.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::EvalContext;
using ecgbench::Metric;

std::vector<double> to_doubles(const at::Tensor& t) {
    const at::Tensor c = t.to(at::kDouble).contiguous();
    return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

std::vector<int> to_binary(const at::Tensor& labels) {
    const at::Tensor c = (labels.to(at::kFloat) >= 0.5f).to(at::kInt).contiguous();
    return {c.data_ptr<int>(), c.data_ptr<int>() + c.numel()};
}

at::Tensor unit_rows(const at::Tensor& x) { return x / x.norm(2, {1}, true).clamp_min(1e-12); }

/// "CLASS=prompt" entries, grouped by class in the order given.
std::map<std::string, std::vector<std::string>> parse_prompts(const std::vector<std::string>& entries) {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& entry : entries) {
        const auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size())
            throw std::invalid_argument("zero_shot: prompts entry '" + entry + "' is not CLASS=prompt text");
        out[entry.substr(0, eq)].push_back(entry.substr(eq + 1));
    }
    return out;
}

class ZeroShot final : public ecgbench::Task {
public:
    explicit ZeroShot(const ecgbench::Params& p)
        : prompts_(parse_prompts(p.get_strings("prompts"))), batch_size_(p.get_int("batch_size")),
          bootstrap_resamples_(p.get_int("bootstrap_resamples")) {}

    ecgbench::TaskResult evaluate(const EvalContext& ctx) override {
        const std::vector<std::string>& classes = ctx.dataset.classes;
        const auto class_count = static_cast<std::int64_t>(classes.size());
        if (class_count == 0) throw std::invalid_argument("zero_shot: dataset '" + ctx.dataset.name + "' has no classes");
        if (ctx.test.size() == 0) throw std::invalid_argument("zero_shot: the test split of '" + ctx.dataset.name + "' is empty");
        for (const auto& [name, texts] : prompts_)
            if (std::find(classes.begin(), classes.end(), name) == classes.end())
                throw std::invalid_argument("zero_shot: prompts name class '" + name + "', which dataset '" + ctx.dataset.name +
                                            "' does not have");

        auto method = ctx.pretrained_method();
        auto* tower = dynamic_cast<ecgbench::TextTower*>(method.get());
        if (!tower) throw std::invalid_argument("zero_shot: the pretrained method has no text tower (ecgbench::TextTower)");
        if (ctx.log) ctx.log("zero_shot: text tower " + tower->text_identity());

        torch::NoGradGuard no_grad;
        const at::Tensor class_embeddings = embed_classes(*tower, ctx);        // [C, D], unit rows
        const at::Tensor scores = embed_test(*tower, ctx).matmul(class_embeddings.t()).to(at::kFloat).cpu();  // [N, C]
        if (!at::isfinite(scores).all().item<bool>()) throw std::runtime_error("zero_shot: non-finite similarity scores");

        const std::vector<double> test_scores = to_doubles(scores);
        const std::vector<int> test_labels = to_binary(ctx.test.labels);
        const auto averaged = ecgbench::averaged_auroc(test_scores, test_labels, class_count);
        if (averaged.undefined_classes == class_count)
            throw std::runtime_error("zero_shot: no class has both positive and negative records in the test split");

        std::vector<Metric> metrics;
        Metric headline{"macro_auroc", "test", averaged.macro};
        if (bootstrap_resamples_ > 0) {
            const auto [low, high] = ecgbench::bootstrap_macro_auroc_ci(test_scores, test_labels, class_count,
                                                                        static_cast<int>(bootstrap_resamples_), ctx.seed);
            if (!std::isnan(low)) {
                headline.ci_low = low;
                headline.ci_high = high;
            }
        }
        metrics.push_back(headline);
        metrics.push_back({"macro_auroc_percent", "test", 100 * averaged.macro});
        for (std::size_t c = 0; c < classes.size(); ++c)
            if (!std::isnan(averaged.per_class[c])) metrics.push_back({"auroc/" + classes[c], "test", averaged.per_class[c]});
        metrics.push_back({"undefined_classes", "test", static_cast<double>(averaged.undefined_classes), {}, {},
                           ecgbench::Direction::LowerIsBetter});
        metrics.push_back({"micro_auroc", "test", averaged.micro});
        metrics.push_back({"weighted_auroc", "test", averaged.weighted});
        metrics.push_back({"macro_auprc", "test",
                           ecgbench::averaged_average_precision(test_scores, test_labels, class_count).macro});
        if (ctx.log) ctx.log("zero_shot: test macro AUROC " + std::to_string(averaged.macro));

        ecgbench::RecordOutputs outputs{"test", "logits", classes, ctx.test.record_ids, scores};
        if (outputs.record_ids.empty())
            for (std::int64_t i = 0; i < ctx.test.size(); ++i) outputs.record_ids.push_back("#" + std::to_string(i));
        ecgbench::RecordOutputs truth{"test", "labels", classes, outputs.record_ids, ctx.test.labels.to(at::kFloat)};
        return {metrics, {outputs, truth}};
    }

private:
    // One unit vector per class: the normalised mean of its normalised prompt embeddings.
    at::Tensor embed_classes(ecgbench::TextTower& tower, const EvalContext& ctx) const {
        std::vector<at::Tensor> rows;
        for (const auto& name : ctx.dataset.classes) {
            std::vector<std::string> texts;
            if (const auto it = prompts_.find(name); it != prompts_.end()) {
                texts = it->second;
            } else if (const auto d = ctx.dataset.class_descriptions.find(name); d != ctx.dataset.class_descriptions.end()) {
                texts = {d->second};
            } else {
                throw std::invalid_argument("zero_shot: class '" + name + "' of dataset '" + ctx.dataset.name +
                                            "' has no description and no entry in `prompts` (add \"" + name + "=...\")");
            }
            rows.push_back(unit_rows(unit_rows(tower.embed_texts(texts)).mean(0, true)));
        }
        return at::cat(rows, 0);
    }

    at::Tensor embed_test(ecgbench::TextTower& tower, const EvalContext& ctx) const {
        std::vector<at::Tensor> parts;
        for (std::int64_t begin = 0; begin < ctx.test.size(); begin += batch_size_) {
            const std::int64_t n = std::min(batch_size_, ctx.test.size() - begin);
            ecgbench::EncoderBatch batch{ctx.test.signals.narrow(0, begin, n).to(ctx.device),
                                         ctx.test.lead_present.defined() ? ctx.test.lead_present.narrow(0, begin, n).to(ctx.device)
                                                                         : at::Tensor(),
                                         {}};
            parts.push_back(unit_rows(tower.embed_signals(*ctx.encoder, batch)));
        }
        return at::cat(parts, 0);
    }

    std::map<std::string, std::vector<std::string>> prompts_;
    std::int64_t batch_size_;
    std::int64_t bootstrap_resamples_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"zero_shot",
                  ecgbench::PluginKind::Task,
                  "1.0.0",
                  "zero-shot classification: cosine similarity of ECG and class-prompt embeddings from the method's "
                  "text tower; per-class AUROC and their mean (MERL)",
                  {param::strings("prompts", {},
                                  "CLASS=prompt entries replacing a class's description (several per class are averaged); "
                                  "classes without one use the dataset's class description"),
                   param::integer("batch_size", 256, "records per embedding batch").between(1, 65536),
                   param::integer("bootstrap_resamples", 200, "bootstrap draws for the test macro AUROC 95% CI (0 = no CI)")
                       .between(0, 100000)},
                  /*needs=*/{"labels", "text_tower", "class_descriptions"}};
    d.make_task = [](const ecgbench::Params& p) { return std::make_unique<ZeroShot>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
