// Text output of WFDB records in the layout of the WFDB tools rdsamp, rdann and wfdbdesc, so the
// `ecgbench wfdb` command and the tests can be diffed against the tools' reference output.
#pragma once

#include "ecgbench/wfdb.hpp"

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace ecgbench::wfdb {

/// rdsamp rows: sample number (or, physical, elapsed seconds with 3 decimals), then one
/// tab-separated right-aligned column per signal; invalid samples print as -32768 (digital,
/// as WFDB does) or "-" (physical, 8 decimals). `first_column` false drops column 1 (`cut -f 2-`).
void write_rdsamp(std::ostream& out, const SignalData& data, bool physical, bool first_column = true);
std::string format_rdsamp_row(const SignalData& data, std::int64_t row, bool physical, bool first_column = true);

/// Elapsed time as WFDB's mstimstr prints it: "m:ss.mmm" or "h:mm:ss.mmm", right-aligned in 12.
std::string elapsed_time(std::int64_t sample, double fs);

/// rdann lines. `header` gives the frequency and base time/date (absent: 250 Hz, elapsed times);
/// `time_resolution` is read_annotations' tick rate (0 = the record's frequency).
void write_rdann(std::ostream& out, const std::vector<Annotation>& annotations, const std::optional<Header>& header,
                 double time_resolution = 0);
std::string format_rdann_line(const Annotation& a, const std::optional<Header>& header, double time_resolution = 0);

/// A time argument as rdsamp/rdann take it: "sNNN" is a sample number, anything else is seconds
/// (rounded to the nearest sample at `fs`). Throws WfdbError when it is neither.
std::int64_t parse_time_argument(const std::string& text, double fs);

/// wfdbdesc's summary of a single-segment header; `record` is the name as given by the user.
std::string format_wfdbdesc(const Header& header, const std::string& record);

}  // namespace ecgbench::wfdb
