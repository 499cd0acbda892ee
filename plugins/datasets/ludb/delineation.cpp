#include "delineation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ludb {

std::vector<Wave> waves_from(const std::vector<ecgbench::wfdb::Annotation>& annotations) {
    std::vector<Wave> waves;
    for (std::size_t i = 0; i < annotations.size(); ++i) {
        const auto& symbol = annotations[i].symbol;
        if (symbol != "p" && symbol != "N" && symbol != "t") continue;
        Wave w;
        w.type = symbol[0];
        w.peak = annotations[i].sample;
        if (i > 0 && annotations[i - 1].symbol == "(") w.onset = annotations[i - 1].sample;
        if (i + 1 < annotations.size() && annotations[i + 1].symbol == ")") w.offset = annotations[i + 1].sample;
        waves.push_back(w);
    }
    std::stable_sort(waves.begin(), waves.end(), [](const Wave& a, const Wave& b) { return a.peak < b.peak; });
    return waves;
}

namespace {
double median(std::vector<double> v) {
    if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}
}  // namespace

Intervals intervals_from(const std::vector<Wave>& waves, double fs) {
    std::vector<double> pr, qrs, qt, rr;
    const double ms = 1000.0 / fs;
    std::vector<std::size_t> qrs_index;
    for (std::size_t i = 0; i < waves.size(); ++i)
        if (waves[i].type == 'N') qrs_index.push_back(i);
    for (std::size_t k = 0; k < qrs_index.size(); ++k) {
        const Wave& q = waves[qrs_index[k]];
        const std::size_t prev = k > 0 ? qrs_index[k - 1] + 1 : 0;
        const std::size_t next = k + 1 < qrs_index.size() ? qrs_index[k + 1] : waves.size();
        if (q.onset && q.offset) qrs.push_back(static_cast<double>(*q.offset - *q.onset) * ms);
        if (q.onset) {
            for (std::size_t i = qrs_index[k]; i-- > prev;) {  // last P wave since the previous QRS
                if (waves[i].type != 'p') continue;
                if (waves[i].onset) pr.push_back(static_cast<double>(*q.onset - *waves[i].onset) * ms);
                break;
            }
            for (std::size_t i = qrs_index[k] + 1; i < next; ++i) {  // first T wave before the next QRS
                if (waves[i].type != 't') continue;
                if (waves[i].offset) qt.push_back(static_cast<double>(*waves[i].offset - *q.onset) * ms);
                break;
            }
        }
        if (k > 0) rr.push_back(static_cast<double>(q.peak - waves[qrs_index[k - 1]].peak) * ms);
    }
    const double median_rr = median(rr);
    return {median(pr), median(qrs), median(qt), std::isnan(median_rr) ? median_rr : 60000.0 / median_rr};
}

}  // namespace ludb
