#include "report/figures.hpp"

#include "report/format.hpp"
#include "report/svg.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace ecgbench {
namespace {

// Okabe–Ito: distinguishable with the common colour-vision deficiencies; cycled past eight methods.
const char* const kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"};
std::string colour(std::size_t i) { return kPalette[i % std::size(kPalette)]; }

// File-name part from a label: lower-case letters and digits, other runs as one '-'.
std::string slug(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c)) out += static_cast<char>(std::tolower(c));
        else if (!out.empty() && out.back() != '-') out += '-';
    }
    while (!out.empty() && out.back() == '-') out.pop_back();
    return out.empty() ? "x" : out;
}

// About five round y ticks covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi) {
    const double span = hi - lo;
    const double raw = span / 5;
    const double magnitude = std::pow(10, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (m * magnitude >= raw) {
            step = m * magnitude;
            break;
        }
    std::vector<double> ticks;
    for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) ticks.push_back(std::abs(t) < 1e-12 ? 0 : t);
    return ticks;
}

int tick_digits(const std::vector<double>& ticks) {
    if (ticks.size() < 2) return 2;
    const double step = ticks[1] - ticks[0];
    return std::clamp(static_cast<int>(std::ceil(-std::log10(step) + 1e-9)), 0, 4);
}

// y range over values and intervals, padded by 5 %; a flat range is widened.
std::pair<double, double> y_range(const std::vector<double>& values) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : values)
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    if (!std::isfinite(lo)) return {0, 1};
    if (hi - lo < 1e-9) {
        lo -= 0.05;
        hi += 0.05;
    }
    const double pad = 0.05 * (hi - lo);
    return {lo - pad, hi + pad};
}

struct Frame {
    double left = 70, top = 40, width = 420, height = 260;
};

void legend(SvgCanvas& svg, const std::vector<std::string>& names, double x, double y) {
    for (std::size_t i = 0; i < names.size(); ++i) {
        const double row = y + 18.0 * static_cast<double>(i);
        svg.rect(x, row - 9, 12, 12, colour(i));
        svg.text(x + 18, row + 1, names[i], "start", 12);
    }
}

double legend_width(const std::vector<std::string>& names) {
    std::size_t longest = 0;
    for (const auto& n : names) longest = std::max(longest, n.size());
    return 40 + 7.0 * static_cast<double>(longest);
}

void y_axis(SvgCanvas& svg, const Frame& f, double lo, double hi, const std::string& label) {
    const auto ticks = nice_ticks(lo, hi);
    const int digits = tick_digits(ticks);
    for (double t : ticks) {
        const double y = f.top + f.height * (1 - (t - lo) / (hi - lo));
        svg.line(f.left, y, f.left + f.width, y, "#dddddd");
        svg.text(f.left - 6, y + 4, fixed(t, digits), "end", 11);
    }
    svg.line(f.left, f.top, f.left, f.top + f.height, "#333333");
    svg.text(18, f.top + f.height / 2, label, "middle", 12, -90);
}

ChartPoint point_of(const ReportTable& table, const ReportCell& cell, double x) {
    ChartPoint p{x, cell.summary.mean, cell.summary.mean, cell.summary.mean};
    if (table.ci != CiMode::Std && cell.ci_low && cell.ci_high) {
        p.low = *cell.ci_low;
        p.high = *cell.ci_high;
    } else if (cell.summary.n > 1) {
        p.low = cell.summary.mean - cell.summary.std;
        p.high = cell.summary.mean + cell.summary.std;
    }
    return p;
}

std::string method_name(const ReportTable& table, const ReportRow& row) {
    // The SSL name alone when it identifies the row, else the whole key.
    std::size_t same = 0;
    for (const auto& r : table.rows) same += r.ssl == row.ssl;
    return same == 1 ? row.ssl : row.ssl + " (" + row.encoder + ", " + row.dataset + ")";
}

std::string interval_words(const ReportTable& table) {
    return table.ci == CiMode::Bootstrap    ? "bootstrap intervals of the seed mean"
           : table.ci == CiMode::Stratified ? "stratified per-label bootstrap intervals of the seed mean"
                                            : "± one std over seeds";
}

// Series of the table's rows over `columns` (x of each column given), skipping missing cells.
std::vector<ChartSeries> series_over(const ReportTable& table, const std::vector<std::pair<std::size_t, double>>& columns) {
    std::vector<ChartSeries> out;
    for (const auto& row : table.rows) {
        ChartSeries s{method_name(table, row), {}};
        for (const auto& [column, x] : columns)
            if (const ReportCell* cell = row.cell(column)) s.points.push_back(point_of(table, *cell, x));
        std::sort(s.points.begin(), s.points.end(), [](const ChartPoint& a, const ChartPoint& b) { return a.x < b.x; });
        out.push_back(std::move(s));
    }
    return out;
}

std::string fraction_text(double fraction) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g%%", fraction * 100);
    return buffer;
}

// An unshifted column with a fraction of the labels: k-shot columns have their own budget axis, and a
// band or rate shift is its own condition; both stay out of the label-efficiency, robustness and
// per-dataset figures.
bool is_clean(const ReportColumn& c) { return c.noise.empty() && c.shift_leads == 0 && !c.shift_band && c.shots == 0; }

}  // namespace

std::string line_chart_svg(const std::string& title, const ChartAxis& x, const std::string& y_label,
                           const std::vector<ChartSeries>& series) {
    std::vector<std::string> names;
    std::vector<double> ys, xs;
    for (const auto& s : series) {
        names.push_back(s.name);
        for (const auto& p : s.points) {
            ys.insert(ys.end(), {p.y, p.low, p.high});
            xs.push_back(x.log ? std::log10(p.x) : p.x);
        }
    }
    for (const auto& [value, label] : x.ticks) xs.push_back(x.log ? std::log10(value) : value);
    const Frame f;
    SvgCanvas svg(f.left + f.width + 20 + legend_width(names), f.top + f.height + 50, title);
    svg.text(f.left, 22, title, "start", 14, 0, "bold");
    const auto [lo, hi] = y_range(ys);
    y_axis(svg, f, lo, hi, y_label);
    double x_lo = xs.empty() ? 0 : *std::min_element(xs.begin(), xs.end());
    double x_hi = xs.empty() ? 1 : *std::max_element(xs.begin(), xs.end());
    if (x_hi - x_lo < 1e-12) {
        x_lo -= 1;
        x_hi += 1;
    }
    const double margin = 0.05 * (x_hi - x_lo);
    x_lo -= margin;
    x_hi += margin;
    auto px = [&](double v) { return f.left + f.width * ((x.log ? std::log10(v) : v) - x_lo) / (x_hi - x_lo); };
    auto py = [&](double v) { return f.top + f.height * (1 - (v - lo) / (hi - lo)); };
    svg.line(f.left, f.top + f.height, f.left + f.width, f.top + f.height, "#333333");
    for (const auto& [value, label] : x.ticks) {
        svg.line(px(value), f.top + f.height, px(value), f.top + f.height + 5, "#333333");
        svg.text(px(value), f.top + f.height + 18, label, "middle", 11);
    }
    svg.text(f.left + f.width / 2, f.top + f.height + 40, x.label, "middle", 12);
    for (std::size_t i = 0; i < series.size(); ++i) {
        std::vector<std::pair<double, double>> line;
        for (const auto& p : series[i].points) {
            line.emplace_back(px(p.x), py(p.y));
            if (p.high > p.low) {
                svg.line(px(p.x), py(p.low), px(p.x), py(p.high), colour(i), 1.2);
                svg.line(px(p.x) - 3, py(p.low), px(p.x) + 3, py(p.low), colour(i), 1.2);
                svg.line(px(p.x) - 3, py(p.high), px(p.x) + 3, py(p.high), colour(i), 1.2);
            }
            svg.circle(px(p.x), py(p.y), 3.5, colour(i));
        }
        if (line.size() > 1) svg.polyline(line, colour(i));
    }
    legend(svg, names, f.left + f.width + 20, f.top + 10);
    return svg.str();
}

std::string bar_chart_svg(const std::string& title, const std::string& y_label, const std::vector<std::string>& methods,
                          const std::vector<BarGroup>& groups) {
    // Bars start at zero (a bar's length is its value), so zero is always in range.
    std::vector<double> ys{0.0};
    for (const auto& g : groups)
        for (const auto& b : g.bars) ys.insert(ys.end(), {b.y, b.low, b.high});
    Frame f;
    f.width = std::max(260.0, 40.0 + static_cast<double>(groups.size() * (methods.size() * 22 + 30)));
    SvgCanvas svg(f.left + f.width + 20 + legend_width(methods), f.top + f.height + 50, title);
    svg.text(f.left, 22, title, "start", 14, 0, "bold");
    const auto [lo, hi] = y_range(ys);
    y_axis(svg, f, lo, hi, y_label);
    auto py = [&](double v) { return f.top + f.height * (1 - (v - lo) / (hi - lo)); };
    svg.line(f.left, f.top + f.height, f.left + f.width, f.top + f.height, "#333333");
    const double group_width = f.width / static_cast<double>(std::max<std::size_t>(1, groups.size()));
    const double bar = std::min(22.0, (group_width - 20) / static_cast<double>(std::max<std::size_t>(1, methods.size())));
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const double start = f.left + group_width * static_cast<double>(g) + (group_width - bar * static_cast<double>(methods.size())) / 2;
        for (std::size_t m = 0; m < groups[g].bars.size(); ++m) {
            const ChartPoint& b = groups[g].bars[m];
            if (!std::isfinite(b.y)) continue;
            const double x = start + bar * static_cast<double>(m);
            svg.rect(x + 1, std::min(py(b.y), py(0)), bar - 2, std::abs(py(0) - py(b.y)), colour(m));
            if (b.high > b.low) {
                const double mid = x + bar / 2;
                svg.line(mid, py(b.low), mid, py(b.high), "#222222", 1.2);
                svg.line(mid - 4, py(b.low), mid + 4, py(b.low), "#222222", 1.2);
                svg.line(mid - 4, py(b.high), mid + 4, py(b.high), "#222222", 1.2);
            }
        }
        svg.text(f.left + group_width * (static_cast<double>(g) + 0.5), f.top + f.height + 18, groups[g].name, "middle", 11);
    }
    legend(svg, methods, f.left + f.width + 20, f.top + 10);
    return svg.str();
}

std::string critical_difference_svg(const std::vector<std::string>& methods, const std::vector<double>& average_ranks,
                                    double critical_difference, const std::string& title) {
    const std::size_t k = methods.size();
    std::vector<std::size_t> order(k);
    for (std::size_t i = 0; i < k; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return average_ranks[a] < average_ranks[b]; });
    const double left = 160, width = 420, axis_y = 80;
    const std::size_t per_side = (k + 1) / 2;
    const double height = axis_y + 40 + 22.0 * static_cast<double>(per_side) + 20;
    SvgCanvas svg(left * 2 + width, height, title);
    svg.text(10, 20, title, "start", 14, 0, "bold");
    const double lowest = 1, highest = std::max<double>(2, static_cast<double>(k));
    auto px = [&](double rank) { return left + width * (rank - lowest) / (highest - lowest); };
    svg.line(px(lowest), axis_y, px(highest), axis_y, "#333333", 1.5);
    for (std::size_t r = 1; r <= static_cast<std::size_t>(highest); ++r) {
        svg.line(px(static_cast<double>(r)), axis_y - 6, px(static_cast<double>(r)), axis_y, "#333333");
        svg.text(px(static_cast<double>(r)), axis_y - 10, std::to_string(r), "middle", 11);
    }
    // The CD as a bar above the axis, from rank 1.
    const double cd_end = px(std::min(highest, lowest + critical_difference));
    svg.line(px(lowest), 40, cd_end, 40, "#b00000", 2);
    svg.line(px(lowest), 35, px(lowest), 45, "#b00000", 2);
    svg.line(cd_end, 35, cd_end, 45, "#b00000", 2);
    svg.text((px(lowest) + cd_end) / 2, 32, "CD = " + fixed(critical_difference, 2), "middle", 11);
    // Best half labelled on the left, the rest on the right, each joined to its rank by an elbow.
    for (std::size_t i = 0; i < k; ++i) {
        const std::size_t m = order[i];
        const bool on_left = i < per_side;
        const double slot = static_cast<double>(on_left ? i : k - 1 - i);
        const double y = axis_y + 40 + 22 * slot;
        const double x = px(average_ranks[m]);
        const double end = on_left ? left - 10 : left + width + 10;
        svg.line(x, axis_y, x, y, "#555555");
        svg.line(x, y, end, y, "#555555");
        svg.text(on_left ? end - 4 : end + 4, y + 4, methods[m] + " (" + fixed(average_ranks[m], 2) + ")", on_left ? "end" : "start", 12);
    }
    // Cliques: maximal runs of methods (in rank order) spanning less than the CD.
    std::size_t drawn_to = 0, clique = 0;
    for (std::size_t i = 0; i < k; ++i) {
        std::size_t j = i;
        while (j + 1 < k && average_ranks[order[j + 1]] - average_ranks[order[i]] < critical_difference) ++j;
        if (j > i && j > drawn_to) {
            const double y = axis_y + 12 + 7 * static_cast<double>(clique++);
            svg.line(px(average_ranks[order[i]]) - 3, y, px(average_ranks[order[j]]) + 3, y, "#000000", 4);
            drawn_to = j;
        }
    }
    return svg.str();
}

std::vector<Figure> report_figures(const ReportTable& table) {
    std::vector<Figure> figures;
    const std::string y_label = table.metric + " (" + table.split + ")";
    std::vector<std::string> methods;
    for (const auto& row : table.rows) methods.push_back(method_name(table, row));

    // Label efficiency: per category, the unshifted columns at each label fraction.
    for (const auto& category : table.categories) {
        std::vector<std::pair<std::size_t, double>> columns;
        ChartAxis x{"fraction of training labels (log scale)", true, {}};
        for (std::size_t c = 0; c < table.columns.size(); ++c) {
            const auto& col = table.columns[c];
            if (col.category != category || !is_clean(col)) continue;
            if (std::any_of(columns.begin(), columns.end(), [&](const auto& p) { return p.second == col.label_fraction; })) continue;
            columns.emplace_back(c, col.label_fraction);
            x.ticks.emplace_back(col.label_fraction, fraction_text(col.label_fraction));
        }
        if (columns.size() < 2) continue;
        figures.push_back({"label-efficiency-" + slug(category), "Label efficiency on " + category + ": " + y_label + " against the fraction of labels the task trained on (" + interval_words(table) + ").",
                           line_chart_svg("Label efficiency: " + category, x, y_label, series_over(table, columns))});
    }

    // Robustness: per category and label fraction, metric vs SNR for each noise type, and metric vs
    // leads kept; the clean column is drawn at the right end (SNR) or at all leads.
    std::set<std::pair<std::string, double>> groups;
    for (const auto& col : table.columns)
        if (col.shots == 0) groups.insert({col.category, col.label_fraction});
    for (const auto& [category, fraction] : groups) {
        std::optional<std::size_t> clean;
        std::set<std::string> noises;
        std::vector<std::size_t> lead_columns;
        for (std::size_t c = 0; c < table.columns.size(); ++c) {
            const auto& col = table.columns[c];
            if (col.category != category || col.label_fraction != fraction || col.shots > 0) continue;
            if (is_clean(col) && !clean) clean = c;
            if (col.shift_band) continue;  // a band or rate shift is its own condition, on neither axis
            if (!col.noise.empty() && col.snr_db && col.shift_leads == 0) noises.insert(col.noise);
            if (col.noise.empty() && col.shift_leads > 0) lead_columns.push_back(c);
        }
        if (noises.empty() && lead_columns.empty()) continue;
        // A shift's clean condition is the unshifted cell, which is stored (and so reported) under the
        // first evaluation that declared it: look for it on the same data and labels in any category.
        const std::string& eval_dataset = std::find_if(table.columns.begin(), table.columns.end(), [&](const ReportColumn& c) {
                                              return c.category == category;
                                          })->eval_dataset;
        for (std::size_t c = 0; c < table.columns.size() && !clean; ++c) {
            const auto& col = table.columns[c];
            if (is_clean(col) && col.eval_dataset == eval_dataset && col.label_fraction == fraction) clean = c;
        }
        const std::string where = category + (fraction < 1 ? ", " + fraction_text(fraction) + " labels" : "");
        for (const auto& noise : noises) {
            std::vector<std::pair<std::size_t, double>> columns;
            ChartAxis x{"SNR (dB) of added " + noise + " noise", false, {}};
            double highest = -std::numeric_limits<double>::infinity(), lowest = -highest;
            for (std::size_t c = 0; c < table.columns.size(); ++c) {
                const auto& col = table.columns[c];
                if (col.category != category || col.label_fraction != fraction || col.noise != noise || !col.snr_db || col.shift_leads ||
                    col.shift_band)
                    continue;
                columns.emplace_back(c, *col.snr_db);
                x.ticks.emplace_back(*col.snr_db, fixed(*col.snr_db, 0));
                highest = std::max(highest, *col.snr_db);
                lowest = std::min(lowest, *col.snr_db);
            }
            if (clean) {
                const double at = highest + std::max(6.0, 0.2 * (highest - lowest));
                columns.emplace_back(*clean, at);
                x.ticks.emplace_back(at, "clean");
            }
            if (columns.size() < 2) continue;
            figures.push_back({"robustness-snr-" + slug(where) + "-" + slug(noise),
                               "Robustness to " + noise + " noise on " + where + ": " + y_label + " against the SNR of the noise added to the test records (" + interval_words(table) + ").",
                               line_chart_svg("Robustness to " + noise + " noise: " + where, x, y_label, series_over(table, columns))});
        }
        if (!lead_columns.empty()) {
            std::vector<std::pair<std::size_t, double>> columns;
            ChartAxis x{"leads at test time", false, {}};
            std::set<std::int64_t> seen;
            if (clean && table.columns[*clean].leads > 0) lead_columns.push_back(*clean);
            for (std::size_t c : lead_columns) {
                const auto leads = table.columns[c].leads;
                if (leads <= 0 || !seen.insert(leads).second) continue;  // one column per lead count: the first declared
                columns.emplace_back(c, static_cast<double>(leads));
                x.ticks.emplace_back(static_cast<double>(leads), std::to_string(leads));
            }
            if (columns.size() >= 2)
                figures.push_back({"robustness-leads-" + slug(where),
                                   "Robustness to missing leads on " + where + ": " + y_label + " against the number of leads kept at test time (the first declared condition per count; " + interval_words(table) + ").",
                                   line_chart_svg("Robustness to missing leads: " + where, x, y_label, series_over(table, columns))});
        }
    }

    // Per-dataset bars: each category's unshifted column with the most labels.
    std::vector<BarGroup> bars;
    for (const auto& category : table.categories) {
        std::optional<std::size_t> chosen;
        for (std::size_t c = 0; c < table.columns.size(); ++c) {
            const auto& col = table.columns[c];
            if (col.category == category && is_clean(col) && (!chosen || col.label_fraction > table.columns[*chosen].label_fraction)) chosen = c;
        }
        if (!chosen) continue;
        BarGroup group{category, {}};
        bool any = false;
        for (const auto& row : table.rows) {
            const ReportCell* cell = row.cell(*chosen);
            const double nan = std::numeric_limits<double>::quiet_NaN();
            group.bars.push_back(cell ? point_of(table, *cell, 0) : ChartPoint{0, nan, nan, nan});
            any |= cell != nullptr;
        }
        if (any) bars.push_back(std::move(group));
    }
    if (!bars.empty() && !table.rows.empty())
        figures.push_back({"per-dataset", "Per evaluation: " + y_label + " of each method on the unshifted test data with the most labels (" + interval_words(table) + ").",
                           bar_chart_svg("Per evaluation", y_label, methods, bars)});

    if (table.friedman) {
        std::vector<double> average;
        std::vector<std::string> ranked;
        for (const auto& row : table.rows)
            if (row.average_rank) {
                average.push_back(*row.average_rank);
                ranked.push_back(method_name(table, row));
            }
        figures.push_back({"critical-difference",
                           "Critical-difference diagram (Demšar 2006): average ranks over " + std::to_string(table.rank_columns.size()) +
                               " columns; methods joined by a bar are not significantly different (Nemenyi, α = " + fixed(table.alpha, 2) + ").",
                           critical_difference_svg(ranked, average, table.critical_difference, "Critical difference, " + y_label)});
    }
    return figures;
}

}  // namespace ecgbench
