#include "common/lead_input.hpp"

#include <ATen/ATen.h>

#include <stdexcept>

#include "ecgbench/leads.hpp"

namespace ecgbench::encoders {

ParamSpec leads_param() {
    return param::strings("leads", {},
                          "leads the encoder reads, by canonical name (e.g. [\"I\"]); empty = every lead of its input");
}

std::vector<ParamSpec> lead_input_params() {
    return {leads_param(),
            param::flag("lead_mask", true,
                        "feed a presence channel per lead (absent leads are zeroed either way), so an absent lead "
                        "differs from a flat one")};
}

std::vector<std::int64_t> selected_columns(const std::string& plugin, const Params& params, const EncoderInput& input) {
    if (input.leads < 1) throw std::invalid_argument(plugin + ": the input must have at least one lead");
    std::vector<std::int64_t> columns;
    const auto& wanted = params.get_strings("leads");
    if (wanted.empty()) {
        for (std::int64_t c = 0; c < input.leads; ++c) columns.push_back(c);
        return columns;
    }
    if (static_cast<std::int64_t>(input.lead_names.size()) != input.leads)
        throw std::invalid_argument(plugin +
                                    ": param 'leads' selects leads by name, but the input's leads are unnamed");
    std::vector<std::string> canonical;
    for (const auto& name : wanted) {
        const auto c = canonical_lead_name(name);
        if (!c) throw std::invalid_argument(plugin + ": param 'leads': '" + name + "' is not a standard lead name");
        canonical.push_back(*c);
    }
    try {
        for (int column : lead_columns(input.lead_names, canonical)) columns.push_back(column);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(plugin + ": param 'leads': " + e.what());
    }
    return columns;
}

std::int64_t strided_length(std::int64_t samples, int halvings) {
    for (int i = 0; i < halvings; ++i) samples = (samples + 1) / 2;
    return samples;
}

LeadInput::LeadInput(const std::string& plugin, const Params& params, const EncoderInput& input)
    : plugin_(plugin),
      input_leads_(input.leads),
      columns_(selected_columns(plugin, params, input)),
      all_columns_(params.get_strings("leads").empty()),
      mask_(params.get_bool("lead_mask")) {}

std::int64_t LeadInput::channels() const { return leads() * (mask_ ? 2 : 1); }

at::Tensor LeadInput::prepare(const EncoderBatch& batch, std::int64_t stride, std::int64_t token_count) const {
    const at::Tensor& signals = batch.signals;
    if (signals.dim() != 3 || signals.size(1) != input_leads_) {
        throw std::invalid_argument(plugin_ + ": expected signals [B, " + std::to_string(input_leads_) + ", T], got " +
                                    std::to_string(signals.dim()) + "-d input with " +
                                    (signals.dim() > 1 ? std::to_string(signals.size(1)) : std::string("?")) +
                                    " leads");
    }
    const std::int64_t b = signals.size(0), t = signals.size(2);
    const at::Tensor columns = at::tensor(columns_, signals.options().dtype(at::kLong));
    at::Tensor x = all_columns_ ? signals : signals.index_select(1, columns);
    at::Tensor present = at::ones({b, leads()}, signals.options());
    if (batch.lead_present.defined()) {
        if (batch.lead_present.sizes() != at::IntArrayRef({b, input_leads_}))
            throw std::invalid_argument(plugin_ + ": lead_present must be [B, " + std::to_string(input_leads_) + "]");
        const at::Tensor p = batch.lead_present.to(signals.device());
        present = (all_columns_ ? p : p.index_select(1, columns)).to(signals.scalar_type());
        x = x * present.unsqueeze(-1);
    }
    if (batch.token_mask.defined()) {
        if (batch.token_mask.sizes() != at::IntArrayRef({b, token_count}))
            throw std::invalid_argument(plugin_ + ": token_mask must be [B, " + std::to_string(token_count) + "]");
        // Token j covers samples [j·stride, (j+1)·stride).
        const at::Tensor token_of =
            at::arange(t, signals.options().dtype(at::kLong)).div(stride, "floor").clamp_max(token_count - 1);
        const at::Tensor hidden = batch.token_mask.to(signals.device()).index_select(1, token_of);  // [B, T]
        x = x.masked_fill(hidden.unsqueeze(1), 0.0);
    }
    if (!mask_) return x;
    return at::cat({x, present.unsqueeze(-1).expand({b, leads(), t})}, 1);
}

}  // namespace ecgbench::encoders
