// Wave delineation as LUDB stores it (one WFDB annotation file per lead: `(` onset, a peak symbol
// `p` / `N` / `t`, `)` offset) and the per-record intervals derived from it.
#pragma once

#include "ecgbench/wfdb.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace ludb {

/// One delineated wave; onset/offset are absent when the annotator left them out.
struct Wave {
    char type = 'N';  ///< 'p', 'N' (QRS) or 't'
    std::optional<std::int64_t> onset;
    std::int64_t peak = 0;
    std::optional<std::int64_t> offset;
};

/// Waves in time order: a peak annotation takes the `(` directly before it as onset and the `)`
/// directly after it as offset; other annotations are ignored.
std::vector<Wave> waves_from(const std::vector<ecgbench::wfdb::Annotation>& annotations);

/// Per-record medians in milliseconds (NaN when no beat gives a value):
///  * qrs_ms: QRS offset - QRS onset;
///  * pr_ms: QRS onset - onset of the last P wave after the previous QRS (PR interval);
///  * qt_ms: offset of the first T wave before the next QRS - QRS onset;
///  * hr_bpm: 60000 / median RR (ms) between consecutive QRS peaks.
struct Intervals {
    double pr_ms, qrs_ms, qt_ms, hr_bpm;
};
Intervals intervals_from(const std::vector<Wave>& waves, double fs);

}  // namespace ludb
