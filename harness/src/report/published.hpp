// Published numbers beside ours. A paper-reproduction experiment (experiments/papers/) keeps the
// values it targets in a sidecar file, `<experiment>.published.toml`: the paper, and per value the
// table, row and column as the paper prints them, the metric and the number, and — where we have a
// counterpart — which of our results it is (`ours`: any of pretraining dataset, encoder, SSL method,
// evaluation, evaluation dataset, label fraction, shift). `report --published FILE` prints ours
// (mean ± std over the seeds that finished) beside theirs with the difference. Format and rules:
// docs/reports.md "Published numbers".
#pragma once

#include "report/report.hpp"
#include "store/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ecgbench {

struct PublishedPaper {
    std::string key;       ///< short name the values refer to, e.g. "strodthoff2020"
    std::string citation;  ///< authors, title, venue
    std::string url;       ///< where the paper is
    std::string source;    ///< the page the numbers were read from ("" = url)
};

/// Which of our results a published value corresponds to: every field given must equal the
/// result's; fields not given match anything. A selector must single out one method × column.
struct OursSelector {
    std::optional<std::string> pretrain, encoder, ssl, evaluation, dataset, shift;
    std::optional<double> label_fraction;
    std::optional<std::int64_t> shots;
    std::string split = "test";
};

struct PublishedValue {
    std::string paper;  ///< PublishedPaper::key
    std::string table, row, column;  ///< as printed in the paper
    std::string metric;              ///< our metric name (e.g. macro_auroc), on our scale
    double value = 0;
    std::string interval, note;      ///< as printed / what to know (both optional)
    std::optional<OursSelector> ours;  ///< nullopt: a row we do not reproduce (context only)
    std::string where;               ///< file:line of the value, for messages
};

struct PublishedSet {
    std::vector<PublishedPaper> papers;
    std::vector<PublishedValue> values;
};

/// Reads one sidecar file ([paper] or [[paper]], then [[value]]). Throws std::runtime_error naming
/// the file, line and key for a missing or mistyped key, an unknown key or an unknown paper.
PublishedSet read_published(const std::string& path);

enum class PublishedState { Unmapped, NotRun, Finished };
const char* to_string(PublishedState state);

struct PublishedComparison {
    PublishedValue published;
    PublishedState state = PublishedState::Unmapped;
    Summary ours;                  ///< over the seeds that finished (Finished only)
    std::optional<double> delta;   ///< ours − published
    std::string matched;           ///< our method and column, "dataset / encoder / ssl: task → data ..."
};

/// Each value of `set` with our result from `rows` (the experiment's result rows). Throws
/// std::runtime_error naming the value's file:line when its selector matches several of our
/// method × column combinations (name more fields).
std::vector<PublishedComparison> compare_published(const PublishedSet& set, const std::vector<FlatResult>& rows);

}  // namespace ecgbench
