#include "common/record_reader.hpp"

#include "ecgbench/chunks.hpp"
#include "ecgbench/leads.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace ecgbench::datasets {

RecordReader::RecordReader(RecordLayout layout, std::vector<PendingRecord> records, DropLog* dropped,
                           std::function<void()> on_all_read)
    : layout_(std::move(layout)), records_(std::move(records)), dropped_(dropped), on_all_read_(std::move(on_all_read)) {
    for (std::size_t i = 0; i < records_.size(); ++i) {
        const auto& r = records_[i];
        if (r.labels.size() != layout_.classes) throw std::logic_error("RecordReader: " + r.id + ": wrong label count");
        if (r.covariates.size() != layout_.covariates.size())
            throw std::logic_error("RecordReader: " + r.id + ": wrong covariate count");
        rows_[static_cast<std::size_t>(r.split)].push_back(i);
        const double fs = r.header.fs;
        if (layout_.sampling_rate <= 0 || same_rate(fs, layout_.sampling_rate) || resamplers_.count(fs)) continue;
        Resampler resampler;
        resampler.ratio = dsp::resampling_ratio(fs, layout_.sampling_rate);
        resampler.filter = dsp::resampling_filter(resampler.ratio);
        // Past the last frame the filter would see zeros: read as far beyond as it reaches.
        const std::int64_t reach = (static_cast<std::int64_t>(resampler.filter.size()) / 2 + resampler.ratio.up - 1) / resampler.ratio.up;
        resampler.frames = source_frames(fs, layout_.sampling_rate, layout_.samples) + reach;
        resamplers_.emplace(fs, std::move(resampler));
    }
}

std::string RecordReader::read_record(const PendingRecord& rec, const std::vector<std::string>& wanted, float* out,
                                      unsigned char* present) const {
    const std::int64_t T = layout_.samples;
    const auto it = resamplers_.find(rec.header.fs);
    if (it == resamplers_.end()) return read_leads(rec.header, rec.map, wanted, rec.from, T, out, present);
    const Resampler& r = it->second;
    std::int64_t frames = r.frames;
    if (rec.header.nsamp) frames = std::min(frames, *rec.header.nsamp - rec.from);  // header_problem checked the minimum
    std::vector<float> source(wanted.size() * static_cast<std::size_t>(frames));
    const std::string failure = read_leads(rec.header, rec.map, wanted, rec.from, frames, source.data(), present);
    if (!failure.empty()) return failure;
    std::vector<float> resampled(static_cast<std::size_t>(dsp::resampled_length(frames, r.ratio)));
    for (std::size_t l = 0; l < wanted.size(); ++l) {
        dsp::resample_poly(source.data() + l * static_cast<std::size_t>(frames), frames, r.ratio, r.filter, resampled.data());
        std::copy(resampled.begin(), resampled.begin() + T, out + l * static_cast<std::size_t>(T));
    }
    return {};
}

bool RecordReader::all_read() const {
    return std::all_of(read_.begin(), read_.end(), [](const auto& r) { return r.load(); });
}

EcgSplit RecordReader::read_chunk(const std::vector<std::size_t>& rows, const std::vector<std::string>& wanted) const {
    const auto n = static_cast<std::int64_t>(rows.size());
    const auto L = static_cast<std::int64_t>(wanted.size());
    const std::int64_t T = layout_.samples;
    at::Tensor signals = at::empty({n, L, T}, at::kFloat);
    at::Tensor present = at::empty({n, L}, at::kByte);
    std::vector<std::string> failure(rows.size());
    float* out = signals.data_ptr<float>();
    std::uint8_t* mask = present.data_ptr<std::uint8_t>();
    // Each record decodes into its own row: identical output whatever the thread count.
    at::parallel_for(0, n, 4, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            const PendingRecord& rec = records_[rows[static_cast<std::size_t>(i)]];
            failure[static_cast<std::size_t>(i)] = read_record(rec, wanted, out + i * L * T, mask + i * L);
        }
    });

    std::vector<std::int64_t> kept;
    for (std::int64_t i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        if (failure[k].empty()) kept.push_back(i);
        else if (dropped_) dropped_->add(records_[rows[k]].id, failure[k]);
    }
    const auto m = static_cast<std::int64_t>(kept.size());
    EcgSplit chunk;
    if (m == n) {
        chunk.signals = signals;
        chunk.lead_present = present.to(at::kBool);
    } else {
        const at::Tensor index = at::tensor(kept, at::kLong);
        chunk.signals = signals.index_select(0, index);
        chunk.lead_present = present.index_select(0, index).to(at::kBool);
    }
    const auto C = static_cast<std::int64_t>(layout_.classes);
    chunk.labels = at::empty({m, C}, at::kFloat);
    chunk.subjects = at::empty({m}, at::kLong);
    std::vector<at::Tensor> covariates;
    for (std::size_t k = 0; k < layout_.covariates.size(); ++k) covariates.push_back(at::empty({m}, at::kFloat));
    float* labels = chunk.labels.data_ptr<float>();
    std::int64_t* subjects = chunk.subjects.data_ptr<std::int64_t>();
    for (std::int64_t j = 0; j < m; ++j) {
        const PendingRecord& rec = records_[rows[static_cast<std::size_t>(kept[static_cast<std::size_t>(j)])]];
        std::copy(rec.labels.begin(), rec.labels.end(), labels + j * C);
        subjects[j] = rec.subject;
        for (std::size_t k = 0; k < covariates.size(); ++k) covariates[k].data_ptr<float>()[j] = rec.covariates[k];
        chunk.record_ids.push_back(rec.id);
        if (layout_.texts) chunk.texts.push_back(rec.text);
    }
    for (std::size_t k = 0; k < covariates.size(); ++k) chunk.covariates[layout_.covariates[k]] = covariates[k];
    return chunk;
}

void RecordReader::stream(Split split, const std::vector<std::string>& wanted, std::int64_t chunk_records,
                          const SplitSink& sink) const {
    lead_columns(layout_.leads, wanted);  // an unknown lead fails before anything is read
    const auto& rows = rows_[static_cast<std::size_t>(split)];
    for_each_chunk(static_cast<std::int64_t>(rows.size()), chunk_records, [&](std::int64_t begin, std::int64_t end) {
        EcgSplit chunk = read_chunk({rows.begin() + begin, rows.begin() + end}, wanted);
        if (chunk.size() > 0) sink(std::move(chunk));
    });
    read_[static_cast<std::size_t>(split)] = true;
    if (all_read() && !announced_.exchange(true) && on_all_read_) on_all_read_();
}

EcgSplit RecordReader::load(Split split, const std::vector<std::string>& wanted) const {
    std::vector<EcgSplit> parts;
    // Chunks of ~256 MiB keep the transient copy in concatenate() small relative to the split.
    const std::int64_t bytes = std::max<std::int64_t>(1, static_cast<std::int64_t>(wanted.size()) * layout_.samples * 4);
    stream(split, wanted, std::max<std::int64_t>(1, (std::int64_t{256} << 20) / bytes),
           [&](EcgSplit&& chunk) { parts.push_back(std::move(chunk)); });
    return concatenate(parts);
}

}  // namespace ecgbench::datasets
