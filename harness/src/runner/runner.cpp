#include "runner/runner.hpp"

#include "shift/shift.hpp"

#include "ecgbench/leads.hpp"
#include "config/capabilities.hpp"
#include "config/overrides.hpp"
#include "ecgbench/train.hpp"
#include "runner/allocator.hpp"
#include "runner/checkpoint.hpp"
#include "runner/label_subsets.hpp"
#include "runner/artifacts.hpp"
#include "runner/progress.hpp"
#include "runner/provenance.hpp"
#include "runner/shard_cache.hpp"
#include "train/data_parallel.hpp"
#include "util/json.hpp"
#include "util/text.hpp"
#include "ecgbench/sha256.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

namespace ecgbench {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string short_hash(const std::string& hash) { return hash.substr(0, 10); }

/// Steps between two resume states when [pretrain] does not say (a few MB to ~100 MB each).
constexpr std::int64_t kDefaultCheckpointEvery = 250;

/// Throws naming the first record of `chunk` with a NaN or infinite sample (by id, else by its
/// position in the split: `offset` records came before the chunk).
void require_finite(const EcgSplit& chunk, const std::string& what, std::int64_t offset) {
    const at::Tensor bad = torch::isfinite(chunk.signals).flatten(1).all(1).logical_not();
    if (!bad.any().item<bool>()) return;
    const auto row = static_cast<std::size_t>(bad.nonzero()[0][0].item<std::int64_t>());
    const std::string record = row < chunk.record_ids.size() ? "record '" + chunk.record_ids[row] + "'"
                                                             : "record #" + std::to_string(offset + static_cast<std::int64_t>(row));
    throw std::runtime_error(what + ": " + record + " has NaN or infinite samples");
}

/// `split` (labelled with `from` classes) with its label columns in the order of `to`, matched by
/// name; the plan has checked that `from` holds every class of `to` (check_cross_dataset).
EcgSplit with_classes(const EcgSplit& split, const std::vector<std::string>& from, const std::vector<std::string>& to) {
    std::vector<std::int64_t> columns;
    for (const auto& name : to)
        columns.push_back(static_cast<std::int64_t>(std::find(from.begin(), from.end(), name) - from.begin()));
    EcgSplit out = split;
    out.labels = split.labels.index_select(1, torch::tensor(columns, torch::kLong));
    return out;
}

/// Splits of several datasets as one (a leave-one-out fit split): labels in the order of `classes`,
/// the covariates they all have, texts only if all have them, subjects (and windows' source
/// records) offset per dataset so that no two datasets share a patient or a record.
EcgSplit union_of(const std::vector<EcgSplit>& parts, const std::vector<std::vector<std::string>>& part_classes,
                  const std::vector<std::string>& classes) {
    auto all = [&](const std::function<bool(const EcgSplit&)>& test) { return std::all_of(parts.begin(), parts.end(), test); };
    const bool texts = all([](const EcgSplit& p) { return !p.texts.empty(); });
    const bool windows = !all([](const EcgSplit& p) { return !p.source_records.defined(); });
    std::vector<EcgSplit> aligned;
    std::int64_t next_subject = 0, next_record = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        EcgSplit part = with_classes(parts[i], part_classes[i], classes);
        if (!texts) part.texts.clear();
        for (auto it = part.covariates.begin(); it != part.covariates.end();)
            it = all([&](const EcgSplit& p) { return p.covariates.count(it->first) > 0; }) ? std::next(it) : part.covariates.erase(it);
        part.subjects = part.subjects + next_subject;
        if (windows) {
            const at::Tensor records = part.source_records.defined() ? part.source_records : torch::arange(part.size(), torch::kLong);
            part.source_records = records + next_record;
        }
        if (part.size() > 0) {
            next_subject = part.subjects.max().item<std::int64_t>() + 1;
            if (windows) next_record = part.source_records.max().item<std::int64_t>() + 1;
        }
        aligned.push_back(std::move(part));
    }
    return concatenate(aligned);
}

// Loads dataset splits at most once per (dataset, split, leads) within one `run`, and records in
// the store whatever records the dataset dropped while loading. A split is streamed from its plugin
// a chunk at a time and preprocessed per chunk; with caching on, chunks go straight into the shard,
// which is then memory-mapped, so a split larger than memory never has to be held.
class SplitCache {
public:
    SplitCache(PreparedExperiment& prepared, Store& store, std::int64_t chunk_bytes)
        : prepared_(prepared), store_(store), shards_(fs::path(cache_dir(store))), chunk_bytes_(chunk_bytes) {}
    const EcgSplit& get(std::size_t dataset, Split split, const std::vector<std::string>& leads) {
        std::string key = std::to_string(dataset) + "/" + to_string(split);
        for (const auto& l : leads) key += "/" + l;
        auto it = cache_.find(key);
        if (it != cache_.end()) return it->second;
        const auto& name = prepared_.experiment.datasets[dataset].name;
        const std::string what = "dataset '" + name + "' " + to_string(split) + " split";
        if (!prepared_.experiment.datasets[dataset].cache) {
            std::vector<EcgSplit> parts;
            read_processed(dataset, split, leads, what, [&](EcgSplit&& chunk) { parts.push_back(std::move(chunk)); });
            EcgSplit data = concatenate(parts);
            if (data.size() == 0) throw std::runtime_error(what + " has no records");
            return cache_.emplace(key, std::move(data)).first->second;
        }
        const auto& info = prepared_.dataset_infos[dataset];
        const Pipeline& pipeline = prepared_.pipelines[dataset];
        const std::string shard = shard_key(info.fingerprint, info.version, leads, pipeline.json(), split);
        // Memory-mapped: the OS pages samples in and out instead of the process holding them. A
        // shard that fails its check against its manifest is never used: it is rebuilt.
        std::optional<EcgSplit> mapped;
        try {
            mapped = shards_.load(shard);
        } catch (const ShardDamaged& e) {
            std::cerr << "warning: " << e.what() << "; rebuilding it\n";
            shards_.discard(shard);
        }
        if (!mapped) {
            ShardWriter writer(shards_, shard);
            read_processed(dataset, split, leads, what, [&](EcgSplit&& chunk) { writer.append(chunk); });
            if (writer.size() == 0) throw std::runtime_error(what + " has no records");
            writer.commit();
            mapped = shards_.load(shard);
        }
        if (!mapped) throw std::runtime_error("cache shard " + shard + " vanished after it was written");
        return cache_.emplace(key, std::move(*mapped)).first->second;
    }

private:
    /// Streams the split from its plugin through the pipeline into `sink`, a chunk at a time.
    void read_processed(std::size_t dataset, Split split, const std::vector<std::string>& leads, const std::string& what,
                        const SplitSink& sink) {
        const Pipeline& pipeline = prepared_.pipelines[dataset];
        const double rate = prepared_.source_rates[dataset];
        const std::int64_t record_bytes =
            std::max<std::int64_t>(1, static_cast<std::int64_t>(leads.size()) * prepared_.source_samples[dataset] * 4);
        const std::int64_t chunk_records = std::max<std::int64_t>(1, chunk_bytes_ / record_bytes);
        std::int64_t offset = 0, processed_offset = 0;
        try {
            prepared_.datasets[dataset]->stream(split, leads, chunk_records, [&](EcgSplit&& chunk) {
                require_finite(chunk, what, offset);
                const std::int64_t chunk_offset = offset;
                offset += chunk.size();
                if (pipeline.empty()) {
                    sink(std::move(chunk));
                } else {
                    EcgSplit processed = pipeline.apply(chunk, rate);
                    // A window/beats step numbers source records within the chunk: make them split-wide.
                    if (!chunk.source_records.defined() && processed.source_records.defined())
                        processed.source_records = processed.source_records + chunk_offset;
                    require_finite(processed, what + " after preprocessing (" + pipeline.describe() + ")", processed_offset);
                    processed_offset += processed.size();
                    sink(std::move(processed));
                }
                release_free_heap();
            });
        } catch (...) {
            record_dropped(dataset);  // what the plugin found before the failure is kept
            throw;
        }
        record_dropped(dataset);
    }

    void record_dropped(std::size_t dataset) {
        std::vector<DroppedRecordRow> rows;
        for (const auto& d : prepared_.datasets[dataset]->dropped_records()) rows.push_back({d.record, d.reason});
        const auto& info = prepared_.dataset_infos[dataset];
        store_.record_dropped(info.fingerprint, info.name, rows);
    }

    PreparedExperiment& prepared_;
    Store& store_;
    ShardCache shards_;
    std::int64_t chunk_bytes_;
    std::map<std::string, EcgSplit> cache_;
};

class CellRunner {
public:
    CellRunner(PreparedExperiment& prepared, Store& store, const PluginRegistry& registry, const RunOptions& options)
        : prepared_(prepared), store_(store), registry_(registry), options_(options), progress_(options.quiet),
          splits_(prepared, store, options.stream_chunk_bytes),
          selection_(options.selection.value_or(Selection::all(prepared.plan))) {
        std::map<std::string, std::string> versions;
        for (const auto& p : registry.plugins()) versions[p.manifest().name] = p.manifest().version;
        provenance_ = current_provenance(versions);
        provenance_.extra = with_overrides(Json::object());
    }

    RunSummary run() {
        const auto& plan = prepared_.plan;
        std::size_t total = 0, selected_pretrain = 0, selected_evaluations = 0;
        for (std::size_t p = 0; p < plan.pretrain.size(); ++p) {
            total += selection_.involved(plan, p);
            selected_pretrain += selection_.pretrain[p];
        }
        for (bool selected : selection_.evaluations) selected_evaluations += selected;
        total += selected_evaluations;
        const bool everything = selection_.count() == plan.pretrain.size() + plan.evaluations.size();
        progress_.line("experiment '" + prepared_.experiment.name + "': " + std::to_string(selected_pretrain) +
                       " pretraining + " + std::to_string(selected_evaluations) + " evaluation cells" +
                       (everything ? "" : " selected (of " + std::to_string(plan.pretrain.size()) + " + " +
                                              std::to_string(plan.evaluations.size()) + ")") +
                       ", store " + store_.path());
        for (std::size_t p = 0; p < plan.pretrain.size() && !summary_.interrupted; ++p) {
            if (!selection_.involved(plan, p)) continue;
            std::vector<std::size_t> pending;
            for (std::size_t e = 0; e < plan.evaluations.size(); ++e)
                if (plan.evaluations[e].pretrain == p && selection_.evaluations[e]) pending.push_back(e);
            run_pretrain_and_evaluations(p, pending, total);
        }
        return summary_;
    }

private:
    LoaderOptions loader_options(std::size_t dataset) const {
        LoaderOptions loader = options_.loader;
        if (loader.workers < 0) loader.workers = prepared_.experiment.datasets[dataset].cache ? 1 : 0;
        return loader;
    }

    /// `extra` provenance JSON (an object) with the run's --set overrides added when there are any.
    std::string with_overrides(Json extra) const {
        const auto& overrides = prepared_.experiment.overrides;
        if (!overrides.empty()) extra["overrides"] = overrides;
        return json_text(extra);
    }

    bool finished(const std::string& hash, bool forced) const {
        if (forced) return false;
        auto run = store_.latest_run(hash);
        return run && run->status == RunStatus::Finished;
    }

    std::string cell_label(std::size_t index, std::size_t total) const {
        return "[" + std::to_string(index) + "/" + std::to_string(total) + "]";
    }

    void run_pretrain_and_evaluations(std::size_t p, const std::vector<std::size_t>& evals, std::size_t total) {
        const auto& cell = prepared_.plan.pretrain[p];
        const auto& exp = prepared_.experiment;
        const std::string what = pretrain_label(exp, cell).substr(std::string("pretrain ").size());
        // An unselected pretraining cell is here only for its selected evaluations: it runs when
        // their checkpoint is missing, but is never forced nor counted as skipped.
        const bool selected = selection_.pretrain[p];
        ++counter_;
        std::vector<std::size_t> todo;
        for (auto e : evals)
            if (!finished(prepared_.plan.evaluations[e].hash, options_.force)) todo.push_back(e);
        const bool pretrain_done = finished(cell.hash, options_.force && selected) && usable_checkpoint(cell.hash, !todo.empty(), what);
        if (pretrain_done && todo.empty()) {
            summary_.skipped += static_cast<int>(selected) + static_cast<int>(evals.size());
            counter_ += evals.size();
            progress_.line(cell_label(counter_, total) + " pretrain " + what + ": done (skipped with " +
                           std::to_string(evals.size()) + " evaluations)");
            return;
        }
        summary_.skipped += static_cast<int>(evals.size() - todo.size());
        counter_ += evals.size() - todo.size();

        std::string checkpoint_error;
        std::optional<ArtifactRecord> checkpoint;
        if (pretrain_done) {
            checkpoint = store_.finished_artifact(cell.hash, "checkpoint");
            summary_.skipped += selected;
            progress_.line(cell_label(counter_, total) + " pretrain " + what + ": done (skipped)");
        } else {
            checkpoint = pretrain_cell(p, what, total, checkpoint_error);
        }
        if (summary_.interrupted) return;
        for (auto e : todo) {
            if (summary_.interrupted) return;
            ++counter_;
            evaluate_cell(e, checkpoint, checkpoint_error, total);
        }
    }

    // Whether the cell's checkpoint can be used as is. When evaluations will load it (`verify`), its
    // whole content is checked against the recorded sha256: a damaged checkpoint makes the
    // pretraining cell count as not finished, so it is redone before its evaluations.
    bool usable_checkpoint(const std::string& hash, bool verify, const std::string& what) const {
        auto artifact = store_.finished_artifact(hash, "checkpoint");
        if (!artifact) return false;
        if (!verify)
            return fs::exists(artifact->path) && static_cast<std::int64_t>(fs::file_size(artifact->path)) == artifact->bytes;
        try {
            verify_artifact(*artifact);
            return true;
        } catch (const ArtifactDamaged& e) {
            std::cerr << "warning: " << e.problem() << "; pretraining " << what << " (" << short_hash(hash)
                      << ") is redone\n";
            return false;
        }
    }

    EncoderInput encoder_input(std::size_t dataset) const {
        const auto& info = prepared_.dataset_infos[dataset];
        const auto& leads = prepared_.leads[dataset];
        return {static_cast<std::int64_t>(leads.size()), info.samples, info.sampling_rate_hz, leads};
    }

    /// A fresh encoder for pretraining dataset `dataset`, on `device` (seeded by the caller).
    EncoderPtr make_encoder(std::size_t encoder_decl, std::size_t dataset, const std::string& device) const {
        const auto& ref = prepared_.experiment.encoders[encoder_decl].ref;
        auto encoder = registry_.make_encoder(ref.plugin, ref.params, encoder_input(dataset));
        encoder->to(torch::Device(device));
        return encoder;
    }

    TrainOptions train_options(std::size_t dataset, std::size_t ssl, const std::string& device) const {
        const PretrainDecl b = pretrain_for(prepared_.experiment, ssl);
        TrainOptions o;
        o.epochs = b.epochs;
        o.batch_size = b.batch_size;
        o.max_steps = b.max_steps;
        o.optimizer = b.optimizer;
        o.learning_rate = b.learning_rate;
        o.weight_decay = b.weight_decay;
        o.momentum = b.momentum;
        o.warmup_fraction = b.warmup_fraction;
        o.grad_clip_norm = b.grad_clip_norm;
        o.ema_decay = b.ema_decay;
        o.precision = b.precision;
        o.device = device;
        o.checkpoint_every = b.checkpoint_every > 0 ? b.checkpoint_every : kDefaultCheckpointEvery;
        const LoaderOptions loader = loader_options(dataset);
        o.loader_workers = loader.workers;
        o.prefetch = loader.prefetch;
        return o;
    }

    PretrainContext pretrain_context(std::size_t dataset, Encoder& encoder, const EcgSplit& data,
                                     std::int64_t total_steps, std::size_t encoder_decl) const {
        const auto& info = prepared_.dataset_infos[dataset];
        PretrainContext context;
        context.input = encoder_input(dataset);
        context.embedding_dim = encoder.embedding_dim();
        context.token_count = encoder.token_count();
        context.classes = info.classes;
        for (const auto& [name, values] : data.covariates) context.covariates.push_back(name);
        context.has_texts = !data.texts.empty();
        context.batch_size = std::min(prepared_.experiment.pretrain.batch_size, data.size());
        context.total_steps = total_steps;
        context.data = &data;
        context.copy_encoder = [this, &encoder, dataset, encoder_decl]() {
            auto copy = make_encoder(encoder_decl, dataset, device_of(encoder).str());
            copy_module_state(encoder, *copy);
            return copy;
        };
        return context;
    }

    /// Where an interrupted pretraining leaves the state to resume from.
    std::string resume_path(const std::string& hash) const {
        return (fs::path(checkpoint_dir(store_)) / (hash + ".resume.pt")).string();
    }

    /// One pretraining cell's encoder, method and loop options, built the same way on every rank.
    struct Pretraining {
        EncoderPtr encoder;
        std::shared_ptr<SslMethod> method;
        TrainOptions options;
    };

    Pretraining prepare_pretraining(const PretrainCell& cell, const EcgSplit& data) {
        const auto& exp = prepared_.experiment;
        torch::manual_seed(static_cast<std::uint64_t>(cell.seed));
        const std::string device = resolve_device(exp.pretrain.device);
        const auto& ssl_ref = exp.ssl_methods[cell.ssl].ref;
        Pretraining out;
        out.encoder = make_encoder(cell.encoder, cell.dataset, device);
        out.method = registry_.make_ssl(ssl_ref.plugin, ssl_ref.params);
        out.options = train_options(cell.dataset, cell.ssl, device);
        out.options.resume_path = resume_path(cell.hash);
        out.options.data_parallel = options_.data_parallel;
        out.method->setup(*out.encoder, pretrain_context(cell.dataset, *out.encoder, data, planned_steps(data.size(), out.options), cell.encoder));
        out.method->to(torch::Device(device));  // heads live where the encoder lives
        return out;
    }

    /// The training loop of a pretraining cell, with the hooks every rank needs.
    TrainReport train_pretraining(Pretraining& run, const EcgSplit& data, TrainHooks hooks) {
        hooks.stop = options_.stop;
        hooks.on_step_end = [&](const StepState& state) { run.method->on_step_end(*run.encoder, state); };
        hooks.epoch_order = [&](std::int64_t epoch) {
            auto generator = at::detail::getDefaultCPUGenerator();
            return run.method->epoch_order(data, epoch, generator);
        };
        auto loss = [&](const Batch& batch) { return run.method->loss(*run.encoder, batch); };
        return ecgbench::train({run.encoder.get(), run.method.get()}, data, loss, run.options, hooks);
    }

public:
    /// A data-parallel rank other than 0: trains the pretraining cells rank 0 announces, on its
    /// share of each batch, until rank 0 says the run is over. Writes nothing to the store.
    void follow() {
        DataParallel& dp = *options_.data_parallel;
        for (;;) {
            const std::string message = dp.next_message(options_.stop);
            if (message.empty() || message == "end") return;
            const auto& cell = prepared_.plan.pretrain.at(std::stoul(message));
            try {
                const auto& data = splits_.get(cell.dataset, Split::Train, prepared_.leads[cell.dataset]);
                Pretraining run = prepare_pretraining(cell, data);
                train_pretraining(run, data, {});
            } catch (const Interrupted&) {
                return;
            } catch (const std::exception& e) {
                // Rank 0 meets the same failure (or a timeout in the exchange) and records it.
                std::cerr << "rank " << dp.rank() << ": pretraining cell " << short_hash(cell.hash) << ": " << first_line(e.what()) << "\n";
            }
        }
    }

private:
    // Runs one pretraining cell; returns its checkpoint, or nullopt with `error` set.
    std::optional<ArtifactRecord> pretrain_cell(std::size_t p, const std::string& what, std::size_t total,
                                                std::string& error) {
        const auto& cell = prepared_.plan.pretrain[p];
        // A finished run whose checkpoint file vanished is redone (force) so evaluations can proceed.
        const auto previous = store_.latest_run(cell.hash);
        const bool redo = (options_.force && selection_.pretrain[p]) || (previous && previous->status == RunStatus::Finished);
        auto claim = store_.claim(cell.hash, provenance_, redo);
        if (claim.result == Claim::Result::RunningElsewhere) {
            ++summary_.busy;
            error = "pretraining cell " + short_hash(cell.hash) + " is being run by another process";
            progress_.line(cell_label(counter_, total) + " pretrain " + what + ": running elsewhere, skipped");
            return std::nullopt;
        }
        if (claim.result == Claim::Result::AlreadyFinished) {
            ++summary_.skipped;
            return store_.finished_artifact(cell.hash, "checkpoint");
        }
        progress_.line(cell_label(counter_, total) + " pretrain " + what + " (" + short_hash(cell.hash) + ")");
        std::vector<TimingRecord> timings;
        try {
            auto start = Clock::now();
            const auto& leads = prepared_.leads[cell.dataset];
            const auto& data = splits_.get(cell.dataset, Split::Train, leads);
            timings.push_back({"load_data", seconds_since(start)});

            Pretraining run = prepare_pretraining(cell, data);
            auto& encoder = run.encoder;
            auto& method = run.method;
            const TrainOptions& options = run.options;
            const std::string& device = options.device;

            std::vector<MetricRecord> metrics;
            std::int64_t resumed_from = 0;
            if (method->trains()) {
                start = Clock::now();
                TrainHooks hooks;
                auto last_heartbeat = Clock::now();
                hooks.on_progress = [&](const TrainProgress& s) {
                    const double eta = s.seconds_elapsed / static_cast<double>(std::max<std::int64_t>(1, s.step - resumed_from)) *
                                       static_cast<double>(s.total_steps - s.step);
                    std::ostringstream text;
                    text.precision(4);
                    text << cell_label(counter_, total) << " epoch " << s.epoch << "/" << s.epochs << " step " << s.step
                         << "/" << s.total_steps << " loss " << s.loss;
                    for (const auto& [name, value] : s.terms) text << " " << name << " " << value;
                    text << " ETA " << format_duration(eta);
                    progress_.status(text.str());
                    if (Clock::now() - last_heartbeat > std::chrono::seconds(60)) {
                        store_.heartbeat(claim.run_id);
                        last_heartbeat = Clock::now();
                    }
                };
                if (std::filesystem::exists(options.resume_path))
                    progress_.line("    resuming from the state an interrupted run left (" + options.resume_path + ")");
                // The other ranks join here (they build the same encoder and method from the cell).
                if (options_.data_parallel) options_.data_parallel->post(std::to_string(p));
                auto report = train_pretraining(run, data, hooks);
                resumed_from = report.resumed_from_step;
                timings.push_back({"train", report.seconds});
                metrics.push_back({"final_loss", "train", report.final_loss, {}, {}, false});
                for (const auto& [name, value] : report.final_terms) metrics.push_back({"final_loss/" + name, "train", value, {}, {}, false});
                for (const auto& epoch : report.epochs) {
                    const std::string suffix = "/epoch" + std::to_string(epoch.epoch);
                    metrics.push_back({"loss" + suffix, "train", epoch.loss, {}, {}, false});
                    for (const auto& [name, value] : epoch.terms) metrics.push_back({"loss/" + name + suffix, "train", value, {}, {}, false});
                }
                metrics.push_back({"steps", "train", static_cast<double>(report.steps)});
                metrics.push_back({"samples_per_second", "train", report.samples_per_second});
                progress_.line("    trained " + std::to_string(report.steps) + " steps in " +
                               format_duration(report.seconds) + ", final loss " + std::to_string(report.final_loss) +
                               (resumed_from ? " (resumed at step " + std::to_string(resumed_from) + ")" : ""));
            }
            start = Clock::now();
            encoder->to(torch::kCPU);
            method->to(torch::kCPU);
            const std::string path = (fs::path(checkpoint_dir(store_)) / (cell.hash + ".pt")).string();
            save_checkpoint(*encoder, method.get(), path);
            ArtifactRecord artifact{"checkpoint", path, sha256_file(path), static_cast<std::int64_t>(fs::file_size(path))};
            timings.push_back({"save_checkpoint", seconds_since(start)});
            store_.set_run_extra(claim.run_id, with_overrides({{"uses_labels", method->uses_labels()},
                                                               {"trains", method->trains()},
                                                               {"device", device},
                                                               {"precision", options.precision},
                                                               {"resumed_from_step", resumed_from},
                                                               {"processes", options_.data_parallel ? options_.data_parallel->world_size() : 1},
                                                               {"encoder_input",
                                                                {{"leads", leads},
                                                                 {"samples", encoder_input(cell.dataset).samples},
                                                                 {"sampling_rate_hz", encoder_input(cell.dataset).sampling_rate_hz}}}}));
            store_.finish(claim.run_id, metrics, {artifact}, timings);
            ++summary_.finished;
            return artifact;
        } catch (const Interrupted&) {
            store_.fail(claim.run_id, "interrupted by signal", RunStatus::Killed, timings);
            summary_.interrupted = true;
            progress_.line("    interrupted: cell recorded as killed");
        } catch (const std::exception& e) {
            error = first_line(e.what());
            store_.fail(claim.run_id, e.what(), RunStatus::Failed, timings);
            ++summary_.failed;
            progress_.line("    FAILED: " + error);
            error = "pretraining cell " + short_hash(cell.hash) + " failed: " + error;
        }
        return std::nullopt;
    }

    static std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

    void evaluate_cell(std::size_t e, const std::optional<ArtifactRecord>& checkpoint, const std::string& upstream_error,
                       std::size_t total) {
        const auto& cell = prepared_.plan.evaluations[e];
        const auto& exp = prepared_.experiment;
        const auto& pcell = prepared_.plan.pretrain[cell.pretrain];
        const auto& evaluation = exp.evaluations[cell.evaluation];
        std::ostringstream what;
        const ShiftDecl& shift = evaluation.shifts[cell.shift];
        what << evaluation.name << " on " << exp.datasets[cell.dataset].name << " (" << label_budget_text(cell)
             << (shift.name.empty() ? "" : ", shift " + shift.name) << ")";
        if (!checkpoint && upstream_error.find("another process") != std::string::npos) {
            ++summary_.busy;
            progress_.line(cell_label(counter_, total) + " " + what.str() + ": waiting for pretraining elsewhere, skipped");
            return;
        }
        auto provenance = provenance_;
        auto claim = store_.claim(cell.hash, provenance, options_.force);
        if (claim.result == Claim::Result::RunningElsewhere) {
            ++summary_.busy;
            return;
        }
        if (claim.result == Claim::Result::AlreadyFinished) {
            ++summary_.skipped;
            return;
        }
        progress_.line(cell_label(counter_, total) + " evaluate " + what.str() + " (" + short_hash(cell.hash) + ")");
        std::vector<TimingRecord> timings;
        try {
            if (!checkpoint) throw std::runtime_error(upstream_error.empty() ? "no checkpoint" : upstream_error);
            if (options_.stop && options_.stop->load()) throw Interrupted();
            auto start = Clock::now();
            const auto& leads = prepared_.leads[pcell.dataset];  // the encoder's leads, by name
            const auto& pre_info = prepared_.dataset_infos[pcell.dataset];
            const auto& eval_info = prepared_.dataset_infos[cell.dataset];
            if (std::abs(pre_info.sampling_rate_hz - eval_info.sampling_rate_hz) > 1e-9) {
                std::ostringstream msg;
                msg << "sampling rate of '" << exp.datasets[cell.dataset].name << "' (" << eval_info.sampling_rate_hz
                    << " Hz) differs from the pretraining data's (" << pre_info.sampling_rate_hz << " Hz)";
                throw std::runtime_error(msg.str());
            }
            // The head's fit splits: the evaluation dataset's, or (leave one out) the union of the others'.
            EcgSplit union_train, union_val;
            if (!cell.fit_datasets.empty()) {
                std::vector<EcgSplit> trains, vals;
                std::vector<std::vector<std::string>> classes;
                for (std::size_t d : cell.fit_datasets) {
                    trains.push_back(splits_.get(d, Split::Train, leads));
                    vals.push_back(splits_.get(d, Split::Val, leads));
                    classes.push_back(prepared_.dataset_infos[d].classes);
                }
                union_train = union_of(trains, classes, eval_info.classes);
                union_val = union_of(vals, classes, eval_info.classes);
            }
            const EcgSplit& train = cell.fit_datasets.empty() ? splits_.get(cell.dataset, Split::Train, leads) : union_train;
            const EcgSplit& val = cell.fit_datasets.empty() ? splits_.get(cell.dataset, Split::Val, leads) : union_val;
            // The head is fitted on clean train/val data and tested on shifted data (another dataset's
            // test split, its labels in this dataset's class order, for a cross-dataset shift).
            const EcgSplit& unshifted = splits_.get(cell.test_dataset, Split::Test, leads);
            const auto test = apply_shift(cell.test_dataset == cell.dataset
                                              ? unshifted
                                              : with_classes(unshifted, prepared_.dataset_infos[cell.test_dataset].classes, eval_info.classes),
                                          shift, leads, eval_info.sampling_rate_hz, static_cast<std::uint64_t>(cell.seed));
            const auto train_subset = labelled_subset(train, cell);
            timings.push_back({"load_data", seconds_since(start)});

            // A fresh encoder from the checkpoint per evaluation, owned by the task: tasks cannot
            // leak state into each other, and may fine-tune it.
            start = Clock::now();
            const std::string device = resolve_device(exp.pretrain.device);
            // The checkpoint's bytes are read and hashed once: a damaged file fails this cell naming
            // both hashes, every copy below is loaded from exactly these bytes, and the provenance
            // records their hash.
            const auto load_start = Clock::now();
            const VerifiedBytes verified = read_verified(*checkpoint);
            ArtifactRecord loaded = *checkpoint;
            loaded.sha256 = verified.sha256;
            timings.push_back({"load_checkpoint", seconds_since(load_start)});
            auto fresh_encoder = [&]() {
                auto encoder = make_encoder(pcell.encoder, pcell.dataset, "cpu");
                load_encoder_bytes(*encoder, verified.bytes, checkpoint->path);
                encoder->eval();
                encoder->to(torch::Device(device));
                return encoder;
            };
            auto pretrained_method = [&]() -> std::shared_ptr<SslMethod> {
                const auto& ssl_ref = exp.ssl_methods[pcell.ssl].ref;
                auto method = registry_.make_ssl(ssl_ref.plugin, ssl_ref.params);
                auto encoder = fresh_encoder();
                const auto& pre_data = splits_.get(pcell.dataset, Split::Train, leads);
                method->setup(*encoder, pretrain_context(pcell.dataset, *encoder, pre_data, 0, pcell.encoder));
                if (!load_method_bytes(*method, verified.bytes, checkpoint->path))
                    throw std::runtime_error("the checkpoint of pretraining cell " + short_hash(pcell.hash) + " (" +
                                             ssl_ref.plugin + ") holds no method state");
                method->to(torch::Device(device));
                method->eval();
                return method;
            };
            auto task = registry_.make_task(evaluation.task.plugin, evaluation.task.params);
            torch::manual_seed(static_cast<std::uint64_t>(cell.seed));
            // The task sees the leads of its splits, in their column order (the encoder's leads).
            DatasetInfo task_info = eval_info;
            task_info.leads = leads;
            EvalContext context{fresh_encoder(),
                                fresh_encoder,
                                pretrained_method,
                                torch::Device(device),
                                task_info,
                                train_subset,
                                val,
                                test,
                                static_cast<std::uint64_t>(cell.seed),
                                [this](const std::string& text) { progress_.status("    " + text); }};
            auto result = task->evaluate(context);
            timings.push_back({"evaluate", seconds_since(start)});
            const auto& metrics = result.metrics;
            std::vector<MetricRecord> records;
            for (const auto& m : metrics) {
                if (!std::isfinite(m.value))
                    throw std::runtime_error("task '" + evaluation.task.plugin + "' returned a non-finite value for metric '" +
                                             m.name + "' on split '" + m.split + "'");
                records.push_back({m.name, m.split, m.value, m.ci_low, m.ci_high, m.direction == Direction::HigherIsBetter});
            }
            records.push_back({"records", "train", static_cast<double>(train_subset.size())});
            records.push_back({"records", "val", static_cast<double>(val.size())});
            records.push_back({"records", "test", static_cast<double>(test.size())});
            std::vector<OutputRecord> outputs = output_records(result.outputs, evaluation.task.plugin);
            if (auto covariates = test_covariates(outputs, test)) outputs.push_back(std::move(*covariates));
            store_.set_run_extra(claim.run_id, with_overrides(eval_extra(cell, loaded, eval_info, leads, train_subset.size())));
            store_.finish(claim.run_id, records, {}, timings, outputs);
            ++summary_.finished;
            for (const auto& m : metrics)
                if (m.name == "macro_auroc" && m.split == "test")
                    progress_.line("    test macro AUROC " + std::to_string(m.value));
        } catch (const Interrupted&) {
            store_.fail(claim.run_id, "interrupted by signal", RunStatus::Killed, timings);
            summary_.interrupted = true;
        } catch (const std::exception& ex) {
            store_.fail(claim.run_id, ex.what(), RunStatus::Failed, timings);
            ++summary_.failed;
            progress_.line("    FAILED: " + first_line(ex.what()));
        }
    }

    /// A task's per-record outputs, checked (one id per row, finite values) and flattened for the store.
    static std::vector<OutputRecord> output_records(const std::vector<RecordOutputs>& outputs, const std::string& task) {
        std::vector<OutputRecord> rows;
        for (const auto& o : outputs) {
            const std::string what = "task '" + task + "' outputs (" + o.split + ", " + o.kind + ")";
            const at::Tensor values = o.values.to(torch::kCPU).to(torch::kFloat).contiguous();
            if (values.dim() != 2 || values.size(0) != static_cast<std::int64_t>(o.record_ids.size()) ||
                values.size(1) != static_cast<std::int64_t>(o.columns.size()))
                throw std::runtime_error(what + ": values must be [records, columns] = [" + std::to_string(o.record_ids.size()) +
                                         ", " + std::to_string(o.columns.size()) + "]");
            OutputRecord row{o.split, o.kind, o.columns, o.record_ids,
                             std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel())};
            rows.push_back(std::move(row));
        }
        return rows;
    }

    /// The test records' covariates (age, sex, …; NaN = missing) stored beside a task's test outputs,
    /// so subgroup and worst-group metrics are computed later from the store (report --subgroups).
    static std::optional<OutputRecord> test_covariates(const std::vector<OutputRecord>& outputs, const EcgSplit& test) {
        const bool scored = std::any_of(outputs.begin(), outputs.end(), [](const OutputRecord& o) { return o.split == "test"; });
        if (!scored || test.covariates.empty()) return std::nullopt;
        OutputRecord row{"test", "covariates", {}, test.record_ids, {}};
        std::vector<at::Tensor> columns;
        for (const auto& [name, values] : test.covariates) {
            row.columns.push_back(name);
            columns.push_back(values.to(torch::kCPU).to(torch::kFloat).reshape({-1, 1}));
        }
        const at::Tensor table = torch::cat(columns, 1).contiguous();
        row.values.assign(table.data_ptr<float>(), table.data_ptr<float>() + table.numel());
        return row;
    }

    // Everything about an evaluation's inputs that is not already in its canonical config.
    Json eval_extra(const EvalCell& cell, const ArtifactRecord& checkpoint, const DatasetInfo& info,
                    const std::vector<std::string>& leads, std::int64_t labelled_records) const {
        return {{"shots", cell.shots}, {"labelled_records", labelled_records},{"checkpoint_sha256", checkpoint.sha256}, {"checkpoint_path", checkpoint.path},
                {"leads", leads},                         {"classes", info.classes},
                {"sampling_rate_hz", info.sampling_rate_hz}, {"samples", info.samples},
                {"dataset", info.name},                   {"data_version", info.version},
                {"fingerprint", info.fingerprint},        {"preprocessing", info.preprocessing},
                {"split_rule", info.split_rule},          {"label_fraction", cell.label_fraction},
                {"evaluated_split", "test"}};
    }

    PreparedExperiment& prepared_;
    Store& store_;
    const PluginRegistry& registry_;
    RunOptions options_;
    Progress progress_;
    SplitCache splits_;
    Selection selection_;
    RunProvenance provenance_;
    RunSummary summary_;
    std::size_t counter_ = 0;
};

/// Data from dataset `source` used beside dataset `reference` in one evaluation (a cross-dataset
/// shift's test split, a leave-one-out fit split) must be at `reference`'s sampling rate and carry
/// every class of `reference` (matched by name): refused at plan time otherwise, saying `what`.
void check_compatible(const PreparedExperiment& prepared, const EvaluationDecl& evaluation, const std::string& what, std::size_t source,
                      std::size_t reference) {
    const auto& datasets = prepared.experiment.datasets;
    const DatasetInfo& ref = prepared.dataset_infos.at(reference);
    const DatasetInfo& src = prepared.dataset_infos.at(source);
    const std::string& name = datasets[source].name;
    if (std::abs(ref.sampling_rate_hz - src.sampling_rate_hz) > 1e-9) {
        std::ostringstream msg;
        msg << what << ": their sampling rates differ (" << ref.sampling_rate_hz << " Hz and " << src.sampling_rate_hz
            << " Hz; resample one with its plugin's rate parameter or a `resample` preprocessing step)";
        throw ConfigError(evaluation.where, msg.str());
    }
    std::vector<std::string> missing;
    for (const auto& c : ref.classes)
        if (std::find(src.classes.begin(), src.classes.end(), c) == src.classes.end()) missing.push_back(c);
    if (!missing.empty())
        throw ConfigError(evaluation.where, what + ": '" + name + "' has no class " + join(missing, ", ") +
                                                " (classes are matched by name; its classes: " +
                                                (src.classes.empty() ? std::string("none") : join(src.classes, ", ")) + ")");
}

std::size_t index_of_dataset(const Experiment& experiment, const std::string& name) {
    const auto& datasets = experiment.datasets;
    return static_cast<std::size_t>(
        std::find_if(datasets.begin(), datasets.end(), [&](const auto& decl) { return decl.name == name; }) - datasets.begin());
}


}  // namespace

PreparedExperiment prepare_experiment(const std::string& file, const PluginRegistry& registry,
                                      const std::vector<std::string>& overrides) {
    PreparedExperiment prepared;
    prepared.experiment = parse_experiment_file(file, overrides);
    validate_experiment(prepared.experiment, registry.manifests());
    std::map<std::string, DatasetIdentity> identities;
    for (const auto& decl : prepared.experiment.datasets) {
        std::unique_ptr<Dataset> dataset;
        DatasetInfo info;
        try {
            dataset = registry.make_dataset(decl.ref.plugin, decl.ref.params);
            info = dataset->info();
        } catch (const std::exception& e) {
            throw ConfigError(decl.where, "dataset '" + decl.name + "' (plugin '" + decl.ref.plugin + "'): " + e.what());
        }
        std::vector<std::string> leads = decl.leads.empty() ? info.leads : decl.leads;
        try {
            lead_columns(info.leads, leads);
        } catch (const std::exception& e) {
            throw ConfigError(decl.where, "dataset '" + decl.name + "': " + e.what());
        }
        // Declared preprocessing: the cells see its output rate and length, and its steps are
        // part of their identity.
        Pipeline pipeline(decl.preprocess);
        const double source_rate = info.sampling_rate_hz;
        const std::int64_t source_samples = info.samples;
        if (!pipeline.empty()) {
            try {
                std::tie(info.sampling_rate_hz, info.samples) = pipeline.output_format(info.sampling_rate_hz, info.samples);
            } catch (const std::exception& e) {
                throw ConfigError(decl.where, "dataset '" + decl.name + "': " + e.what());
            }
            info.preprocessing += (info.preprocessing.empty() ? "" : "; then ") + std::string("ecgbench pipeline: ") + pipeline.describe();
        }
        Json descriptions = Json::object();
        for (const auto& [name, text] : info.class_descriptions) descriptions[name] = text;
        identities[decl.name] = {info.fingerprint, info.version, info.sampling_rate_hz, leads, pipeline.json(),
                                 descriptions.empty() ? std::string() : canonical_json(descriptions)};
        prepared.pipelines.push_back(std::move(pipeline));
        prepared.source_rates.push_back(source_rate);
        prepared.source_samples.push_back(source_samples);
        prepared.datasets.push_back(std::move(dataset));
        prepared.dataset_infos.push_back(std::move(info));
        prepared.leads.push_back(std::move(leads));
    }
    check_capabilities(prepared.experiment, prepared.dataset_infos, registry.manifests());
    // A shift's band and rate must suit each dataset it is tested on: refused here, not cell by cell.
    for (const auto& evaluation : prepared.experiment.evaluations) {
        for (const auto& name : evaluation.datasets) {
            const std::size_t d = index_of_dataset(prepared.experiment, name);
            for (const auto& shift : evaluation.shifts) {
                if (const std::string problem = shift.rate_problem(prepared.dataset_infos.at(d).sampling_rate_hz); !problem.empty())
                    throw ConfigError(evaluation.where, "evaluation '" + evaluation.name + "', shift '" + shift.name + "' on dataset '" +
                                                            name + "': " + problem);
                if (!shift.test_dataset.empty())
                    check_compatible(prepared, evaluation,
                                     "evaluation '" + evaluation.name + "', shift '" + shift.name + "': fitted on '" + name +
                                         "', tested on '" + shift.test_dataset + "'",
                                     index_of_dataset(prepared.experiment, shift.test_dataset), d);
            }
            if (evaluation.leave_one_out)
                for (const auto& other : evaluation.datasets)
                    if (other != name)
                        check_compatible(prepared, evaluation,
                                         "evaluation '" + evaluation.name + "' (leave one out): tested on '" + name + "', fitted on '" +
                                             other + "' among others",
                                         index_of_dataset(prepared.experiment, other), d);
        }
    }
    try {
        check_precision(prepared.experiment.pretrain.precision, resolve_device(prepared.experiment.pretrain.device));
    } catch (const std::invalid_argument& e) {
        throw ConfigError(prepared.experiment.pretrain.where, std::string("[pretrain]: ") + e.what());
    }
    prepared.plan = expand(prepared.experiment, identities);
    return prepared;
}

std::int64_t register_experiment(const PreparedExperiment& prepared, Store& store) {
    const auto& exp = prepared.experiment;
    const auto id = store.upsert_experiment(exp.name, exp.file, text_with_overrides(exp.toml_text, exp.overrides));
    for (const auto& cell : prepared.plan.pretrain) {
        CellRecord record;
        record.hash = cell.hash;
        record.kind = "pretrain";
        record.config = cell.config;
        record.dataset = exp.datasets[cell.dataset].name;
        record.encoder = exp.encoders[cell.encoder].name;
        record.ssl = exp.ssl_methods[cell.ssl].name;
        record.seed = cell.seed;
        store.upsert_cell(id, record);
    }
    for (const auto& cell : prepared.plan.evaluations) {
        const auto& pcell = prepared.plan.pretrain[cell.pretrain];
        const auto& evaluation = exp.evaluations[cell.evaluation];
        CellRecord record;
        record.hash = cell.hash;
        record.kind = "eval";
        record.config = cell.config;
        record.parent_hash = cell.pretrain_hash;
        record.dataset = exp.datasets[pcell.dataset].name;
        record.encoder = exp.encoders[pcell.encoder].name;
        record.ssl = exp.ssl_methods[pcell.ssl].name;
        record.task = evaluation.name;
        record.eval_dataset = exp.datasets[cell.dataset].name;
        record.protocol = evaluation.task.plugin;
        record.shift = evaluation.shifts[cell.shift].name;
        record.label_fraction = cell.label_fraction;
        record.shots = cell.shots;
        record.seed = cell.seed;
        store.upsert_cell(id, record);
    }
    return id;
}

RunSummary run_experiment(PreparedExperiment& prepared, Store& store, const PluginRegistry& registry,
                          const RunOptions& options) {
    register_experiment(prepared, store);
    // However rank 0's run ends, the other ranks are told, so none waits for a cell that never comes.
    struct EndMessage {
        DataParallel* dp;
        ~EndMessage() {
            if (dp) dp->post("end");
        }
    } end{options.data_parallel};
    return CellRunner(prepared, store, registry, options).run();
}

void follow_experiment(PreparedExperiment& prepared, Store& store, const PluginRegistry& registry, const RunOptions& options) {
    if (!options.data_parallel) throw std::logic_error("follow_experiment needs a data-parallel group");
    CellRunner(prepared, store, registry, options).follow();
}

std::string checkpoint_dir(const Store& store) {
    const auto parent = fs::absolute(store.path()).parent_path();
    return (parent / "checkpoints").string();
}

std::string cache_dir(const Store& store) {
    const auto parent = fs::absolute(store.path()).parent_path();
    return (parent / "cache").string();
}

}  // namespace ecgbench
