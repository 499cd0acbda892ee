// A minimal SVG writer for report figures: absolute coordinates in pixels, numbers with two
// decimals, text escaped. Non-finite coordinates are a bug in the caller and throw, so a figure
// never holds "nan" (browsers silently drop such elements).
#pragma once

#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace ecgbench {

/// Text with &, <, >, " escaped (for SVG and HTML).
std::string xml_escape(const std::string& text);

class SvgCanvas {
public:
    SvgCanvas(double width, double height, const std::string& title);
    void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
              const std::string& dash = "");
    void rect(double x, double y, double w, double h, const std::string& fill, const std::string& stroke = "none");
    void circle(double cx, double cy, double r, const std::string& fill);
    void polyline(const std::vector<std::pair<double, double>>& points, const std::string& stroke, double width = 1.5);
    /// anchor: "start", "middle" or "end"; rotate: degrees about (x, y).
    void text(double x, double y, const std::string& text, const std::string& anchor = "start", double size = 12,
              double rotate = 0, const std::string& weight = "normal");
    /// The document: an <svg> element with xmlns, viewBox, <title> and the elements drawn.
    std::string str() const;

private:
    double width_, height_;
    std::string title_;
    std::ostringstream body_;
};

}  // namespace ecgbench
