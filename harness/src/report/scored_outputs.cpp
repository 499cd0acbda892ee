#include "report/scored_outputs.hpp"

#include <map>
#include <stdexcept>

namespace ecgbench {

std::optional<ScoredRecords> load_scored_records(const Store& store, std::int64_t run_id, const std::string& split) {
    const OutputRecord* logits = nullptr;
    const OutputRecord* labels = nullptr;
    const auto outputs = store.outputs(run_id);
    for (const auto& o : outputs) {
        if (o.split != split) continue;
        if (o.kind == "logits") logits = &o;
        if (o.kind == "labels") labels = &o;
    }
    if (!logits || !labels) return std::nullopt;
    if (labels->record_ids != logits->record_ids || labels->values.size() != logits->values.size())
        throw std::runtime_error("run " + std::to_string(run_id) + ": stored " + split + " logits and labels cover different records");
    ScoredRecords out;
    out.record_ids = logits->record_ids;
    out.classes = static_cast<std::int64_t>(logits->columns.size());
    out.scores.assign(logits->values.begin(), logits->values.end());
    out.labels.reserve(labels->values.size());
    for (float v : labels->values) out.labels.push_back(v >= 0.5f ? 1 : 0);
    return out;
}

std::optional<ScoredRecords> aligned_to(const ScoredRecords& records, const std::vector<std::string>& order) {
    if (records.record_ids.size() != order.size()) return std::nullopt;
    std::map<std::string, std::size_t> row_of;
    for (std::size_t i = 0; i < records.record_ids.size(); ++i) row_of[records.record_ids[i]] = i;
    const auto c = static_cast<std::size_t>(records.classes);
    ScoredRecords out;
    out.record_ids = order;
    out.classes = records.classes;
    out.scores.resize(order.size() * c);
    out.labels.resize(order.size() * c);
    for (std::size_t i = 0; i < order.size(); ++i) {
        const auto it = row_of.find(order[i]);
        if (it == row_of.end()) return std::nullopt;
        for (std::size_t k = 0; k < c; ++k) {
            out.scores[i * c + k] = records.scores[it->second * c + k];
            out.labels[i * c + k] = records.labels[it->second * c + k];
        }
    }
    return out;
}

Statistic mean_macro_auroc(const std::vector<ScoredRecords>& runs) {
    std::vector<Statistic> each;
    for (const auto& r : runs) each.push_back(table_statistic(r.scores, r.labels, r.classes, macro_auroc));
    return [each](const std::vector<std::size_t>& rows) {
        double sum = 0;
        for (const auto& statistic : each) sum += statistic(rows);
        return sum / static_cast<double>(each.size());
    };
}

}  // namespace ecgbench
