// Report figures as SVG, drawn from a ReportTable (never from a model): label-efficiency curves,
// robustness curves (metric vs SNR, vs number of leads), per-dataset bars with their intervals, and
// Demšar's critical-difference diagram. Written by the report layer itself rather than through a
// plotting tool so that a report needs nothing installed and a figure is a pure function of the
// store (see docs/reports.md).
#pragma once

#include "report/report.hpp"

#include <string>
#include <utility>
#include <vector>

namespace ecgbench {

struct Figure {
    std::string name;     ///< file stem (figures/<name>.svg), unique in a report
    std::string caption;  ///< one sentence saying what is plotted
    std::string svg;      ///< the document
};

/// One series of a line chart: a method's (x, y) points with the interval drawn around y.
struct ChartPoint {
    double x = 0, y = 0, low = 0, high = 0;
};
struct ChartSeries {
    std::string name;
    std::vector<ChartPoint> points;  ///< drawn in x order
};
struct ChartAxis {
    std::string label;
    bool log = false;                                   ///< log10 scale (x only)
    std::vector<std::pair<double, std::string>> ticks;  ///< x ticks (y ticks are chosen)
};
/// Metric-vs-condition chart: one coloured polyline with markers and interval whiskers per series.
std::string line_chart_svg(const std::string& title, const ChartAxis& x, const std::string& y_label,
                           const std::vector<ChartSeries>& series);

/// One group of bars (an evaluation), one bar per method with its interval.
struct BarGroup {
    std::string name;
    std::vector<ChartPoint> bars;  ///< y, low, high (x unused); NaN y = no value
};
std::string bar_chart_svg(const std::string& title, const std::string& y_label, const std::vector<std::string>& methods,
                          const std::vector<BarGroup>& groups);

/// Critical-difference diagram (Demšar 2006, Fig. 1): methods placed by average rank (1 = best, on
/// the left), the CD as a bar above the axis, and thick lines joining methods whose average ranks
/// differ by less than the CD (not significantly different).
std::string critical_difference_svg(const std::vector<std::string>& methods, const std::vector<double>& average_ranks,
                                    double critical_difference, const std::string& title);

/// Every figure the table supports, in a fixed order.
std::vector<Figure> report_figures(const ReportTable& table);

}  // namespace ecgbench
