#include "report/svg.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace ecgbench {
namespace {

std::string num(double v) {
    if (!std::isfinite(v)) throw std::logic_error("SVG coordinate is not finite");
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f", v);
    return buffer;
}

}  // namespace

std::string xml_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

SvgCanvas::SvgCanvas(double width, double height, const std::string& title) : width_(width), height_(height), title_(title) {}

void SvgCanvas::line(double x1, double y1, double x2, double y2, const std::string& stroke, double width, const std::string& dash) {
    body_ << "<line x1=\"" << num(x1) << "\" y1=\"" << num(y1) << "\" x2=\"" << num(x2) << "\" y2=\"" << num(y2) << "\" stroke=\""
          << stroke << "\" stroke-width=\"" << num(width) << "\"" << (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"") << "/>\n";
}

void SvgCanvas::rect(double x, double y, double w, double h, const std::string& fill, const std::string& stroke) {
    body_ << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(std::max(0.0, w)) << "\" height=\""
          << num(std::max(0.0, h)) << "\" fill=\"" << fill << "\" stroke=\"" << stroke << "\"/>\n";
}

void SvgCanvas::circle(double cx, double cy, double r, const std::string& fill) {
    body_ << "<circle cx=\"" << num(cx) << "\" cy=\"" << num(cy) << "\" r=\"" << num(r) << "\" fill=\"" << fill << "\"/>\n";
}

void SvgCanvas::polyline(const std::vector<std::pair<double, double>>& points, const std::string& stroke, double width) {
    body_ << "<polyline fill=\"none\" stroke=\"" << stroke << "\" stroke-width=\"" << num(width) << "\" points=\"";
    for (std::size_t i = 0; i < points.size(); ++i) body_ << (i ? " " : "") << num(points[i].first) << "," << num(points[i].second);
    body_ << "\"/>\n";
}

void SvgCanvas::text(double x, double y, const std::string& text, const std::string& anchor, double size, double rotate,
                     const std::string& weight) {
    body_ << "<text x=\"" << num(x) << "\" y=\"" << num(y) << "\" font-size=\"" << num(size) << "\" text-anchor=\"" << anchor << "\"";
    if (weight != "normal") body_ << " font-weight=\"" << weight << "\"";
    if (rotate != 0) body_ << " transform=\"rotate(" << num(rotate) << " " << num(x) << " " << num(y) << ")\"";
    body_ << ">" << xml_escape(text) << "</text>\n";
}

std::string SvgCanvas::str() const {
    std::ostringstream out;
    out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width_) << "\" height=\"" << num(height_) << "\" viewBox=\"0 0 "
        << num(width_) << " " << num(height_) << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
        << "<title>" << xml_escape(title_) << "</title>\n"
        << "<rect x=\"0\" y=\"0\" width=\"" << num(width_) << "\" height=\"" << num(height_) << "\" fill=\"white\"/>\n"
        << body_.str() << "</svg>\n";
    return out.str();
}

}  // namespace ecgbench
