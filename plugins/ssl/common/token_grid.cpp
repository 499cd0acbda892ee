#include "common/token_grid.hpp"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <vector>

namespace ecgbench::masked {

TokenGrid::TokenGrid(const std::string& method, const Encoder& encoder, const EncoderInput& input)
    : input_leads_(input.leads), samples_(input.samples) {
    const auto spans = encoder.token_spans();
    if (spans.empty())
        throw std::invalid_argument(
            method + ": the encoder does not describe its tokens (token_spans); use a patch encoder such as vit1d");
    patch_ = spans.front().length;
    std::map<std::int64_t, std::int64_t> rows, columns;  // lead -> row, start -> column
    for (const auto& s : spans) {
        if (s.lead < 0 || s.lead >= input.leads || s.length != patch_ || s.length < 1 || s.start < 0 ||
            s.start + s.length > input.samples)
            throw std::invalid_argument(method + ": the encoder's tokens must each read one lead over " +
                                        std::to_string(patch_) + " samples inside the record");
        rows.emplace(s.lead, 0);
        columns.emplace(s.start, 0);
    }
    // Rows in order of first appearance (the encoder's lead order), columns by time.
    std::vector<std::int64_t> row_order;
    for (const auto& s : spans)
        if (std::find(row_order.begin(), row_order.end(), s.lead) == row_order.end()) row_order.push_back(s.lead);
    for (std::size_t r = 0; r < row_order.size(); ++r) rows[row_order[r]] = static_cast<std::int64_t>(r);
    std::int64_t c = 0;
    for (auto& [start, column] : columns) column = c++;
    leads_ = static_cast<std::int64_t>(rows.size());
    positions_ = static_cast<std::int64_t>(columns.size());
    const auto n = static_cast<std::int64_t>(spans.size());
    if (n != leads_ * positions_)
        throw std::invalid_argument(method + ": the encoder's " + std::to_string(n) + " tokens do not fill a grid of " +
                                    std::to_string(leads_) + " leads x " + std::to_string(positions_) + " positions");
    std::vector<std::int64_t> input_lead, row, column, grid(static_cast<std::size_t>(n), -1), samples;
    for (std::int64_t i = 0; i < n; ++i) {
        const auto& s = spans[static_cast<std::size_t>(i)];
        input_lead.push_back(s.lead);
        row.push_back(rows[s.lead]);
        column.push_back(columns[s.start]);
        auto& cell = grid[static_cast<std::size_t>(row.back() * positions_ + column.back())];
        if (cell >= 0) throw std::invalid_argument(method + ": two of the encoder's tokens read the same samples");
        cell = i;
        for (std::int64_t k = 0; k < patch_; ++k) samples.push_back(s.lead * samples_ + s.start + k);
    }
    input_lead_ = at::tensor(input_lead, at::kLong);
    lead_row_ = at::tensor(row, at::kLong);
    position_ = at::tensor(column, at::kLong);
    cell_ = lead_row_ * positions_ + position_;
    grid_order_ = at::tensor(grid, at::kLong);
    identity_ = true;
    for (std::int64_t i = 0; i < n; ++i) identity_ = identity_ && grid[static_cast<std::size_t>(i)] == i;
    sample_index_ = at::tensor(samples, at::kLong);
}

at::Tensor TokenGrid::patches(const at::Tensor& signals) const {
    const std::int64_t b = signals.size(0);
    if (signals.dim() != 3 || signals.size(1) != input_leads_ || signals.size(2) != samples_)
        throw std::invalid_argument("masked tokens: signals must be [B, " + std::to_string(input_leads_) + ", " +
                                    std::to_string(samples_) + "]");
    return signals.reshape({b, input_leads_ * samples_})
        .index_select(1, sample_index_.to(signals.device()))
        .view({b, tokens(), patch_});
}

at::Tensor TokenGrid::present(const at::Tensor& lead_present, std::int64_t batch, const at::Device& device) const {
    if (!lead_present.defined())
        return at::ones({batch, tokens()}, at::TensorOptions().dtype(at::kBool).device(device));
    return lead_present.to(device).to(at::kBool).index_select(1, input_lead_.to(device));
}

std::int64_t token_width(const std::string& method, Encoder& encoder, const EncoderInput& input) {
    torch::NoGradGuard no_grad;
    const bool training = encoder.is_training();
    encoder.eval();
    const at::Tensor x = at::zeros({1, input.leads, input.samples}, at::TensorOptions().device(device_of(encoder)));
    const at::Tensor tokens = encoder.encode({x, {}, {}}).tokens;
    encoder.train(training);
    if (!tokens.defined() || tokens.dim() != 3)
        throw std::invalid_argument(method + ": the encoder returns no tokens [B, N, D]");
    return tokens.size(2);
}

namespace {

// Scatters a [B, leads, positions] grid mask to token order [B, N].
at::Tensor to_tokens(const TokenGrid& grid, const at::Tensor& cells) {
    const std::int64_t b = cells.size(0);
    return cells.reshape({b, grid.tokens()}).index_select(1, grid.cell().to(cells.device()));
}

// True for the `hidden` smallest of `count` uniform draws per row: `hidden` distinct of `count`.
at::Tensor choose(std::int64_t rows, std::int64_t count, std::int64_t hidden, const at::TensorOptions& options) {
    const at::Tensor rank = at::rand({rows, count}, options.dtype(at::kFloat)).argsort(/*dim=*/1, /*descending=*/false).argsort(/*dim=*/1, /*descending=*/false);
    return rank < hidden;
}

}  // namespace

at::Tensor per_lead_random_mask(const TokenGrid& grid, std::int64_t batch, double ratio,
                                const at::TensorOptions& options) {
    const auto hidden = static_cast<std::int64_t>(static_cast<double>(grid.positions()) * ratio);
    return to_tokens(
        grid,
        choose(batch * grid.leads(), grid.positions(), hidden, options).view({batch, grid.leads(), grid.positions()}));
}

at::Tensor random_token_mask(const at::Tensor& present, double ratio) {
    // Absent tokens draw 2, above every uniform draw, so they rank last.
    const at::Tensor draw =
        at::rand(present.sizes(), present.options().dtype(at::kFloat)).masked_fill(present.logical_not(), 2.0);
    const at::Tensor rank = draw.argsort(/*dim=*/1, /*descending=*/false).argsort(/*dim=*/1, /*descending=*/false);
    const at::Tensor hidden = (present.sum(1, /*keepdim=*/true).to(at::kDouble) * ratio).floor().to(at::kLong);
    return rank < hidden;
}

at::Tensor time_block_mask(const TokenGrid& grid, std::int64_t batch, std::int64_t blocks, double min_fraction,
                           double max_fraction, const at::TensorOptions& options) {
    const std::int64_t p = grid.positions();
    const at::TensorOptions real = options.dtype(at::kFloat);
    const at::Tensor fraction = at::rand({batch, blocks}, real) * (max_fraction - min_fraction) + min_fraction;
    const at::Tensor length = (fraction * static_cast<double>(p)).floor().clamp(1, p).to(at::kLong);  // [B, blocks]
    const at::Tensor start = (at::rand({batch, blocks}, real) * (p - length + 1).to(at::kFloat)).floor().to(at::kLong);
    const at::Tensor t = at::arange(p, options.dtype(at::kLong)).view({1, 1, p});
    at::Tensor hidden = ((t >= start.unsqueeze(-1)) & (t < (start + length).unsqueeze(-1))).any(1);  // [B, P]
    // Keep one random position visible where the blocks cover everything.
    const at::Tensor full = hidden.all(1, /*keepdim=*/true);
    const at::Tensor spare = at::rand({batch, p}, real).argmax(1, /*keepdim=*/true);
    hidden = hidden & ~(full & (t.view({1, p}) == spare));
    return to_tokens(grid, hidden.unsqueeze(1).expand({batch, grid.leads(), p}));
}

}  // namespace ecgbench::masked
