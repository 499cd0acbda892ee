// Out-of-line key functions of the plugin interfaces (one typeinfo/vtable, in this library, shared
// by host and plugins) and the small helpers declared next to them.
#include "ecgbench/plugin.hpp"

#include <torch/torch.h>

namespace ecgbench {

Dataset::~Dataset() = default;
Encoder::~Encoder() = default;
SslMethod::~SslMethod() = default;
Task::~Task() = default;

const char* to_string(Split split) {
    switch (split) {
        case Split::Train: return "train";
        case Split::Val: return "val";
        case Split::Test: return "test";
    }
    return "?";
}

const char* to_string(PluginKind kind) {
    switch (kind) {
        case PluginKind::Dataset: return "dataset";
        case PluginKind::Encoder: return "encoder";
        case PluginKind::Ssl: return "ssl";
        case PluginKind::Task: return "task";
    }
    return "?";
}

EcgSplit subset(const EcgSplit& split, const at::Tensor& index) {
    EcgSplit out;
    auto take = [&](const at::Tensor& t) { return t.defined() ? t.index_select(0, index) : t; };
    out.signals = take(split.signals);
    out.lead_present = take(split.lead_present);
    out.labels = take(split.labels);
    out.subjects = take(split.subjects);
    auto idx = index.to(torch::kLong).contiguous();
    const auto* p = idx.data_ptr<std::int64_t>();
    auto take_strings = [&](const std::vector<std::string>& from, std::vector<std::string>& to) {
        if (from.empty()) return;
        to.reserve(static_cast<std::size_t>(idx.numel()));
        for (std::int64_t i = 0; i < idx.numel(); ++i) to.push_back(from.at(static_cast<std::size_t>(p[i])));
    };
    take_strings(split.record_ids, out.record_ids);
    take_strings(split.texts, out.texts);
    for (const auto& [name, values] : split.covariates) out.covariates[name] = take(values);
    return out;
}

at::Tensor embed(Encoder& encoder, const at::Tensor& signals, std::int64_t batch_size) {
    torch::NoGradGuard no_grad;
    const bool was_training = encoder.is_training();
    encoder.eval();
    std::vector<at::Tensor> parts;
    const auto device = encoder.parameters().empty() ? signals.device() : encoder.parameters().front().device();
    for (std::int64_t start = 0; start < signals.size(0); start += batch_size) {
        auto batch = signals.slice(0, start, std::min(start + batch_size, signals.size(0))).to(device);
        parts.push_back(encoder.forward(batch).to(torch::kCPU));
    }
    encoder.train(was_training);
    if (parts.empty()) return torch::empty({0, encoder.embedding_dim()});
    return torch::cat(parts, 0);
}

}  // namespace ecgbench
