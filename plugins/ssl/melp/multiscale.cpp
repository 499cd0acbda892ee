#include "multiscale.hpp"

#include <ATen/ATen.h>

#include <cctype>
#include <limits>
#include <stdexcept>

namespace ecgbench::melp {

namespace {

at::Tensor unit_rows(const at::Tensor& x) { return x / x.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12); }

}  // namespace

std::pair<at::Tensor, at::Tensor> late_interaction_similarities(const at::Tensor& x, const at::Tensor& x_mask,
                                                                const at::Tensor& y, const at::Tensor& y_mask) {
    if (x.dim() != 3 || y.dim() != 3 || x.size(0) != y.size(0) || x.size(2) != y.size(2) || x.size(0) < 1)
        throw std::invalid_argument("late_interaction: x must be [B, N, D] and y [B, M, D] with equal B >= 1 and D");
    if (x_mask.sizes() != x.sizes().slice(0, 2) || y_mask.sizes() != y.sizes().slice(0, 2))
        throw std::invalid_argument("late_interaction: x_mask must be [B, N] and y_mask [B, M]");
    const at::Tensor xm = x_mask.to(x.device(), at::kBool), ym = y_mask.to(x.device(), at::kBool);
    if (!xm.any(1).all().item<bool>() || !ym.any(1).all().item<bool>())
        throw std::invalid_argument("late_interaction: every row of x_mask and y_mask needs a valid element");
    const double lowest = -std::numeric_limits<double>::infinity();
    const at::Tensor s = at::einsum("ind,kmd->iknm", {unit_rows(x), unit_rows(y)});  // [B, B, N, M]
    // ECG → text: each valid x element's best valid y element, averaged over the valid x elements.
    const at::Tensor best_y = s.masked_fill(ym.logical_not().view({1, ym.size(0), 1, ym.size(1)}), lowest).amax(3);  // [B, B, N]
    const at::Tensor xw = xm.to(s.scalar_type()).unsqueeze(1);                                                     // [B, 1, N]
    const at::Tensor ecg_to_text = (best_y.masked_fill(xw.eq(0), 0) * xw).sum(2) / xw.sum(2);
    // Text → ECG: each valid y element's best valid x element, averaged over the valid y elements.
    const at::Tensor best_x = s.masked_fill(xm.logical_not().view({xm.size(0), 1, xm.size(1), 1}), lowest).amax(2);  // [B, B, M]
    const at::Tensor yw = ym.to(s.scalar_type()).unsqueeze(0);                                                     // [1, B, M]
    const at::Tensor text_to_ecg = (best_x.masked_fill(yw.eq(0), 0) * yw).sum(2) / yw.sum(2);
    return {ecg_to_text, text_to_ecg};
}

at::Tensor late_interaction_loss(const at::Tensor& x, const at::Tensor& x_mask, const at::Tensor& y,
                                 const at::Tensor& y_mask, double temperature) {
    if (!(temperature > 0)) throw std::invalid_argument("late_interaction_loss: temperature must be > 0");
    const auto [ecg_to_text, text_to_ecg] = late_interaction_similarities(x, x_mask, y, y_mask);
    const at::Tensor a = ecg_to_text / temperature, t = text_to_ecg / temperature;
    // −log softmax at the diagonal: along rows for ECG → text, along columns for text → ECG.
    return (a.logsumexp({1}) - a.diagonal()).mean() + (t.logsumexp({0}) - t.diagonal()).mean();
}

std::vector<std::string> split_sentences(const std::string& report, std::int64_t max_sentences) {
    std::vector<std::string> out;
    std::string current;
    const auto flush = [&] {
        std::size_t first = 0, last = current.size();
        while (first < last && std::isspace(static_cast<unsigned char>(current[first]))) ++first;
        while (last > first && std::isspace(static_cast<unsigned char>(current[last - 1]))) --last;
        if (last > first && static_cast<std::int64_t>(out.size()) < max_sentences) out.push_back(current.substr(first, last - first));
        current.clear();
    };
    for (std::size_t i = 0; i < report.size(); ++i) {
        const char c = report[i];
        const bool end = c == ';' || c == '\n' ||
                         (c == '.' && (i + 1 == report.size() || std::isspace(static_cast<unsigned char>(report[i + 1]))));
        if (end) {
            flush();
        } else {
            current += c;
        }
    }
    flush();
    return out;
}

}  // namespace ecgbench::melp
