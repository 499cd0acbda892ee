// Out-of-line key functions of the plugin interfaces (one typeinfo/vtable, in this library, shared
// by host and plugins) and the small helpers declared next to them.
#include "ecgbench/chunks.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/text.hpp"

#include <torch/torch.h>

namespace ecgbench {

Dataset::~Dataset() = default;
Encoder::~Encoder() = default;
SslMethod::~SslMethod() = default;
Task::~Task() = default;
TextTower::~TextTower() = default;

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
    out.source_records = take(split.source_records);
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

void Dataset::stream(Split split, const std::vector<std::string>& leads, std::int64_t chunk_records,
                     const SplitSink& sink) {
    // The plugin holds the whole split anyway; hand it over in chunks of the promised size.
    const EcgSplit whole = load(split, leads);
    if (whole.size() <= chunk_records) return sink(EcgSplit(whole));
    for_each_chunk(whole.size(), chunk_records, [&](std::int64_t begin, std::int64_t end) {
        sink(subset(whole, torch::arange(begin, end, torch::kLong)));
    });
}

EcgSplit concatenate(const std::vector<EcgSplit>& parts) {
    if (parts.empty()) return {};
    if (parts.size() == 1) return parts.front();
    const EcgSplit& first = parts.front();
    for (std::size_t i = 1; i < parts.size(); ++i) {
        const EcgSplit& p = parts[i];
        const std::string which = "concatenate: part " + std::to_string(i) + " ";
        if (p.signals.sizes().slice(1) != first.signals.sizes().slice(1) || p.labels.size(1) != first.labels.size(1))
            throw std::invalid_argument(which + "differs in leads, samples or classes from part 0");
        if (p.texts.empty() != first.texts.empty()) throw std::invalid_argument(which + "differs in having texts");
        if (p.source_records.defined() != first.source_records.defined())
            throw std::invalid_argument(which + "differs in having source records");
        if (p.covariates.size() != first.covariates.size())
            throw std::invalid_argument(which + "has other covariates than part 0");
        for (const auto& [name, values] : first.covariates)
            if (!p.covariates.count(name)) throw std::invalid_argument(which + "lacks covariate '" + name + "'");
    }
    auto cat = [&](at::Tensor EcgSplit::*field) {
        std::vector<at::Tensor> tensors;
        for (const auto& p : parts) tensors.push_back(p.*field);
        return torch::cat(tensors, 0);
    };
    EcgSplit out;
    out.signals = cat(&EcgSplit::signals);
    out.lead_present = cat(&EcgSplit::lead_present);
    out.labels = cat(&EcgSplit::labels);
    out.subjects = cat(&EcgSplit::subjects);
    if (first.source_records.defined()) out.source_records = cat(&EcgSplit::source_records);
    for (const auto& p : parts) {
        out.record_ids.insert(out.record_ids.end(), p.record_ids.begin(), p.record_ids.end());
        out.texts.insert(out.texts.end(), p.texts.begin(), p.texts.end());
    }
    for (const auto& [name, values] : first.covariates) {
        std::vector<at::Tensor> tensors;
        for (const auto& p : parts) tensors.push_back(p.covariates.at(name));
        out.covariates[name] = torch::cat(tensors, 0);
    }
    return out;
}

EcgSplit collect(Dataset& dataset, Split split, const std::vector<std::string>& leads, std::int64_t chunk_records) {
    std::vector<EcgSplit> parts;
    dataset.stream(split, leads, chunk_records, [&](EcgSplit&& chunk) { parts.push_back(std::move(chunk)); });
    return concatenate(parts);
}

namespace {

// Runs `encoder` over `signals` in eval mode without gradients, `batch_size` records at a time on
// its device, and concatenates what `pick` takes from each output, on the CPU.
template <typename Pick>
at::Tensor encode_all(Encoder& encoder, const at::Tensor& signals, std::int64_t batch_size, const at::Tensor& lead_present, Pick pick) {
    torch::NoGradGuard no_grad;
    const bool was_training = encoder.is_training();
    encoder.eval();
    std::vector<at::Tensor> parts;
    const auto device = device_of(encoder);
    for (std::int64_t start = 0; start < signals.size(0); start += batch_size) {
        const std::int64_t end = std::min(start + batch_size, signals.size(0));
        EncoderBatch batch{signals.slice(0, start, end).to(device), {}, {}};
        if (lead_present.defined()) batch.lead_present = lead_present.slice(0, start, end).to(device);
        parts.push_back(pick(encoder.encode(batch)).to(torch::kCPU));
    }
    encoder.train(was_training);
    return parts.empty() ? at::Tensor() : torch::cat(parts, 0);
}

}  // namespace

at::Tensor embed(Encoder& encoder, const at::Tensor& signals, std::int64_t batch_size, const at::Tensor& lead_present) {
    const at::Tensor pooled = encode_all(encoder, signals, batch_size, lead_present, [](const EncoderOutput& out) { return out.pooled; });
    return pooled.defined() ? pooled : torch::empty({0, encoder.embedding_dim()});
}

at::Tensor embed_tokens(Encoder& encoder, const at::Tensor& signals, std::int64_t batch_size, const at::Tensor& lead_present) {
    return encode_all(encoder, signals, batch_size, lead_present, [](const EncoderOutput& out) {
        if (!out.tokens.defined() || out.tokens.dim() != 3)
            throw std::invalid_argument("embed_tokens: the encoder returns no tokens [B, N, D] (it is not a token encoder)");
        return out.tokens;
    });
}

void copy_module_state(torch::nn::Module& from, torch::nn::Module& to) {
    torch::NoGradGuard no_grad;
    auto copy = [](const torch::OrderedDict<std::string, at::Tensor>& source, torch::OrderedDict<std::string, at::Tensor> target,
                   const char* what) {
        if (source.size() != target.size())
            throw std::invalid_argument(std::string("copy_module_state: ") + std::to_string(source.size()) + " " + what +
                                        " in the source, " + std::to_string(target.size()) + " in the target");
        for (auto& item : target) {
            const at::Tensor* value = source.find(item.key());
            if (!value) throw std::invalid_argument(std::string("copy_module_state: ") + what + " '" + item.key() + "' missing in the source");
            if (value->sizes() != item.value().sizes())
                throw std::invalid_argument(std::string("copy_module_state: ") + what + " '" + item.key() + "' has another shape");
            item.value().copy_(*value);
        }
    };
    copy(from.named_parameters(), to.named_parameters(), "parameters");
    copy(from.named_buffers(), to.named_buffers(), "buffers");
    to.train(from.is_training());
}

c10::Device device_of(const torch::nn::Module& module) {
    for (const auto& p : module.parameters()) return p.device();
    for (const auto& b : module.buffers()) return b.device();
    return c10::Device(c10::kCPU);
}

const char* host_build_signature() { return ECGBENCH_BUILD_SIGNATURE; }

}  // namespace ecgbench
