// Helpers shared by the dataset plugin tests: making a plugin from given params, writing small WFDB
// records with known samples, finding a record's row in a split, and temp folders.
#pragma once

#include "ecgbench/dataset.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/wfdb.hpp"
#include "unit/plugins/shipped_plugins.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

namespace test_support {

inline std::unique_ptr<ecgbench::Dataset> make_dataset(const std::string& plugin_name,
                                                       std::map<std::string, ecgbench::ParamValue> given) {
    const auto& plugin = registry().require(plugin_name, ecgbench::PluginKind::Dataset);
    return registry().make_dataset(plugin_name, ecgbench::validate_params(plugin.manifest().params, given));
}

/// A fresh folder under the temp directory, removed with the object.
struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& tag) {
        path = std::filesystem::temp_directory_path() / ("ecgbench_" + tag + "_" + std::to_string(::getpid()));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

/// Deterministic digital sample of record r, signal s, frame t (|value| <= 450).
inline std::int32_t test_sample(int r, int s, std::int64_t t) {
    return static_cast<std::int32_t>(((r * 131 + s * 37 + t * 7) % 901) - 450);
}

/// Writes `record` (path without extension) in format 16 with gain 200, baseline 10, in mV:
/// signal s named leads[s] holds test_sample(r, s, t); `invalid_at` >= 0 marks that frame invalid.
inline void write_test_record(const std::filesystem::path& record, int r, const std::vector<std::string>& leads, double fs,
                              std::int64_t n, std::int64_t invalid_at = -1, const std::vector<std::string>& comments = {}) {
    namespace wfdb = ecgbench::wfdb;
    wfdb::Header h;
    h.nsig = static_cast<int>(leads.size());
    h.fs = fs;
    h.fs_given = true;
    h.nsamp = n;
    h.comments = comments;
    std::vector<std::vector<std::int32_t>> samples;
    for (std::size_t s = 0; s < leads.size(); ++s) {
        wfdb::SignalInfo sig;
        sig.format = 16;
        sig.gain = 200.0;
        sig.gain_given = true;
        sig.baseline = 10;
        sig.units = "mV";
        sig.adc_resolution = 16;
        sig.description = leads[s];
        h.signals.push_back(sig);
        std::vector<std::int32_t> column;
        column.reserve(static_cast<std::size_t>(n));
        for (std::int64_t t = 0; t < n; ++t) column.push_back(test_sample(r, static_cast<int>(s), t));
        if (invalid_at >= 0) column[static_cast<std::size_t>(invalid_at)] = wfdb::kInvalidSample;
        samples.push_back(std::move(column));
    }
    std::filesystem::create_directories(record.parent_path());
    wfdb::write_record(record, h, samples, 16);
}

/// Physical value (mV) of test_sample(r, s, t) as written by write_test_record.
inline double test_mv(int r, int s, std::int64_t t) { return (test_sample(r, s, t) - 10) / 200.0; }

inline std::int64_t row_of(const ecgbench::EcgSplit& s, const std::string& id) {
    for (std::size_t i = 0; i < s.record_ids.size(); ++i)
        if (s.record_ids[i] == id) return static_cast<std::int64_t>(i);
    return -1;
}

/// Dropped records by record id.
inline std::map<std::string, std::string> dropped_by_record(const ecgbench::Dataset& ds) {
    std::map<std::string, std::string> out;
    for (const auto& d : ds.dropped_records()) out[d.record] = d.reason;
    return out;
}

}  // namespace test_support
