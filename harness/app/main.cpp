// The ecgbench command line: plugins, plan, run, status, report, compare, verify, export, submit, merge,
// synth, wfdb, new-plugin, completion. Reference: docs/cli.md; JSON output schemas: docs/json.md.
#include "cli/completion.hpp"
#include "cli/json_output.hpp"
#include "cli/new_plugin.hpp"
#include "cli/version.hpp"
#include "config/experiment.hpp"
#include "config/overrides.hpp"
#include "config/selection.hpp"
#include "io/wfdb_text.hpp"
#include "registry/registry.hpp"
#include "report/compare.hpp"
#include "report/compare_experiments.hpp"
#include "report/report.hpp"
#include "runner/allocator.hpp"
#include "runner/export.hpp"
#include "runner/artifacts.hpp"
#include "runner/local_ranks.hpp"
#include "runner/runner.hpp"
#include "slurm/submit.hpp"
#include "store/merge.hpp"
#include "store/store.hpp"
#include "util/text.hpp"

#include "ecgbench/params.hpp"
#include "ecgbench/synth.hpp"

#include <CLI/CLI.hpp>

#include <torch/utils.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

namespace {

using namespace ecgbench;

std::atomic<bool> g_stop{false};

// First Ctrl-C/SIGTERM: finish nothing more, record the cell in flight as killed, exit. A second
// one falls through to the default action.
void on_signal(int signal) {
    g_stop.store(true);
    std::signal(signal, SIG_DFL);
}

// Debian's LibTorch starts with one intra-op thread whatever the machine has; use every core unless
// the user chose (--threads or OMP_NUM_THREADS). `local_ranks` processes of `run --nproc` share the
// cores: each gets its part, as oversubscribed threads slow every rank down.
void configure_threads(int requested, int local_ranks) {
    if (requested > 0) {
        torch::set_num_threads(requested);
    } else if (std::getenv("OMP_NUM_THREADS") == nullptr) {
        const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        torch::set_num_threads(std::max(1, cores / std::max(1, local_ranks)));
    }
}

std::unique_ptr<PluginRegistry> load_plugins(const std::vector<std::string>& extra_dirs) {
    auto registry = PluginRegistry::load_default();
    for (const auto& dir : extra_dirs) registry->load_directory(dir);
    for (const auto& failure : registry->failures())
        std::cerr << "warning: plugin " << failure.path << " not loaded: " << failure.reason << "\n";
    return registry;
}

int cmd_plugins(const PluginRegistry& registry, const std::string& name, bool json) {
    if (json) {
        std::vector<const LoadedPlugin*> listed;
        for (auto kind : {PluginKind::Dataset, PluginKind::Encoder, PluginKind::Ssl, PluginKind::Task})
            for (const auto& p : registry.plugins())
                if (p.manifest().kind == kind && (name.empty() || p.manifest().name == name)) listed.push_back(&p);
        if (name.empty() || !listed.empty()) {
            std::cout << plugins_json(listed, registry.failures()) << "\n";
            return 0;
        }
    }
    if (name.empty()) {
        std::cout << std::left << std::setw(9) << "KIND" << std::setw(16) << "NAME" << std::setw(10) << "VERSION"
                  << "SUMMARY\n";
        for (auto kind : {PluginKind::Dataset, PluginKind::Encoder, PluginKind::Ssl, PluginKind::Task})
            for (const auto& p : registry.plugins()) {
                const auto& m = p.manifest();
                if (m.kind != kind) continue;
                std::cout << std::setw(9) << to_string(m.kind) << std::setw(16) << m.name << std::setw(10) << m.version
                          << m.summary << "\n";
            }
        if (!registry.failures().empty()) {
            std::cout << "\nnot loaded:\n";
            for (const auto& f : registry.failures()) std::cout << "  " << f.path << ": " << f.reason << "\n";
        }
        return 0;
    }
    const auto* plugin = registry.find(name);
    if (!plugin) {
        std::vector<std::string> names;
        for (const auto& p : registry.plugins()) names.push_back(p.manifest().name);
        std::cerr << "error: no plugin named '" << name << "'" << did_you_mean(name, names) << "\n";
        return 2;
    }
    const auto& m = plugin->manifest();
    std::cout << m.name << " (" << to_string(m.kind) << " plugin, version " << m.version << ")\n  " << m.summary
              << "\n  from " << plugin->path << "\n\nparameters:\n";
    if (m.params.empty()) std::cout << "  (none)\n";
    for (const auto& p : m.params) {
        std::cout << "  " << p.name << " (" << to_string(p.type) << ", default " << format_value(p.default_value);
        if (p.min || p.max)
            std::cout << ", range [" << (p.min ? format_value(*p.min) : "-inf") << ", "
                      << (p.max ? format_value(*p.max) : "inf") << "]";
        if (!p.choices.empty()) {
            std::cout << ", one of";
            for (const auto& c : p.choices) std::cout << " " << c;
        }
        std::cout << ")\n      " << p.doc << "\n";
    }
    auto capabilities = [](const char* label, const std::vector<std::string>& items) {
        if (items.empty()) return;
        std::cout << "\n" << label << ":";
        for (const auto& item : items) std::cout << " " << item;
        std::cout << "\n";
    };
    capabilities("needs", m.needs);
    capabilities("provides", m.provides);
    return 0;
}

std::string status_of(const Store* store, const std::string& hash) {
    if (!store) return "todo";
    auto run = store->latest_run(hash);
    return run ? to_string(run->status) : "todo";
}

/// What plan, status and run act on: the experiment file, its --set overrides, --filter, --only.
struct CellArgs {
    std::string file;
    std::string profile;  ///< --profile NAME: the file's [profile.NAME] `set` list, applied before --set
    std::vector<std::string> overrides;
    std::string filter;
    bool filtered = false;  ///< --filter given (an empty regex matches everything)
    std::string only;
    std::vector<std::string> cells;  ///< --cell hash prefixes
    bool json = false;
};

/// A bad command-line value (exit code 2, like a bad experiment file).
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

Selection selection_for(const PreparedExperiment& prepared, const CellArgs& args) {
    try {
        return select_cells(prepared.experiment, prepared.plan,
                            args.filtered ? std::optional<std::string>(args.filter) : std::nullopt,
                            parse_cell_kinds(args.only), args.cells);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
}

std::unique_ptr<Store> existing_store(const std::string& store_path) {
    if (!std::filesystem::exists(store_path)) return nullptr;
    return std::make_unique<Store>(store_path);
}

int cmd_plan(const PluginRegistry& registry, const CellArgs& args, const std::string& store_path) {
    auto prepared = prepare_experiment(args.file, registry, args.overrides);
    const auto selection = selection_for(prepared, args);
    const auto store = existing_store(store_path);
    if (args.json) {
        std::cout << plan_json(prepared, selection, store.get(), store_path) << "\n";
        return 0;
    }
    const auto& exp = prepared.experiment;
    const auto& plan = prepared.plan;
    std::map<std::string, int> counts;
    std::cout << "experiment " << exp.name << ": " << plan.pretrain.size() << " pretraining cells, "
              << plan.evaluations.size() << " evaluation cells";
    if (selection.count() != plan.pretrain.size() + plan.evaluations.size()) {
        std::size_t pre = 0;
        for (bool b : selection.pretrain) pre += b;
        std::cout << "; selected " << pre << " pretraining, " << selection.count() - pre << " evaluation";
    }
    std::cout << "\n";
    for (std::size_t p = 0; p < plan.pretrain.size(); ++p) {
        if (!selection.involved(plan, p)) continue;
        const auto& c = plan.pretrain[p];
        const auto status = status_of(store.get(), c.hash);
        // An unselected pretraining cell is shown, in parentheses, for its selected evaluations.
        if (selection.pretrain[p]) ++counts[status];
        std::cout << std::left << std::setw(11) << (selection.pretrain[p] ? status : "(" + status + ")")
                  << c.hash.substr(0, 10) << "  " << pretrain_label(exp, c) << "\n";
        for (std::size_t e = 0; e < plan.evaluations.size(); ++e) {
            if (plan.evaluations[e].pretrain != p || !selection.evaluations[e]) continue;
            const auto& cell = plan.evaluations[e];
            const auto s = status_of(store.get(), cell.hash);
            ++counts[s];
            const std::string label = eval_label(exp, plan, cell);
            std::cout << std::setw(11) << s << cell.hash.substr(0, 10) << "    └ "
                      << label.substr(label.find(" → ") + std::string(" → ").size()) << "\n";
        }
    }
    std::cout << "\n";
    for (const auto& [status, n] : counts) std::cout << n << " " << status << "  ";
    std::cout << "\n";
    return 0;
}

int cmd_status(const PluginRegistry& registry, const CellArgs& args, const std::string& store_path) {
    auto prepared = prepare_experiment(args.file, registry, args.overrides);
    const auto selection = selection_for(prepared, args);
    const auto store = existing_store(store_path);
    if (args.json) {
        std::cout << status_json(prepared, selection, store.get(), store_path) << "\n";
        return 0;
    }
    if (!store) {
        std::cout << "no store at " << store_path << ": nothing has run yet\n";
        return 0;
    }
    std::map<std::string, int> counts;
    std::vector<std::pair<std::string, std::string>> errors;
    auto visit = [&](const std::string& hash) {
        auto run = store->latest_run(hash);
        ++counts[run ? to_string(run->status) : "todo"];
        if (run && (run->status == RunStatus::Failed || run->status == RunStatus::Killed))
            errors.emplace_back(hash, run->error);
    };
    const auto& plan = prepared.plan;
    for (std::size_t p = 0; p < plan.pretrain.size(); ++p)
        if (selection.pretrain[p]) visit(plan.pretrain[p].hash);
    for (std::size_t e = 0; e < plan.evaluations.size(); ++e)
        if (selection.evaluations[e]) visit(plan.evaluations[e].hash);
    std::cout << prepared.experiment.name << " (" << store_path << "):";
    for (const auto& [status, n] : counts) std::cout << "  " << status << " " << n;
    if (selection.count() != plan.pretrain.size() + plan.evaluations.size())
        std::cout << "  (" << selection.count() << " of " << plan.pretrain.size() + plan.evaluations.size() << " cells selected)";
    std::cout << "\n";
    for (const auto& [hash, error] : errors) std::cout << "  " << hash.substr(0, 10) << ": " << error << "\n";
    return 0;
}

/// How `run` spreads pretraining over processes (docs/cli.md, "Data-parallel pretraining").
struct ParallelArgs {
    int nproc = 1;             ///< start this many local ranks
    bool distributed = false;  ///< take rank and world from srun (or ECGBENCH_*) instead
};

int cmd_run(const PluginRegistry& registry, const CellArgs& args, const std::string& store_path, RunOptions options,
            const ParallelArgs& parallel, bool sole_writer, char** argv) {
    auto prepared = prepare_experiment(args.file, registry, args.overrides);
    if (args.filtered || !args.only.empty() || !args.cells.empty()) options.selection = selection_for(prepared, args);
    Store store(store_path);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    options.stop = &g_stop;

    // Data-parallel pretraining: this process is rank 0 unless the environment says otherwise.
    std::optional<LocalRanks> local_ranks;
    std::optional<Rendezvous> rendezvous;
    if (parallel.nproc > 1 || parallel.distributed)
        rendezvous = rendezvous_from_environment(std::filesystem::absolute(store_path).parent_path().string());
    if (parallel.nproc > 1 && !rendezvous) {
        local_ranks.emplace(parallel.nproc, argv);
        rendezvous = local_ranks->rendezvous();
    }
    if (parallel.distributed && !rendezvous)
        throw std::invalid_argument("--distributed: no srun step (SLURM_NTASKS) and no ECGBENCH_WORLD_SIZE in the environment");
    std::unique_ptr<DataParallel> group;
    if (rendezvous && rendezvous->world_size > 1) {
        group = std::make_unique<DataParallel>(*rendezvous);
        options.data_parallel = group.get();
        if (group->rank() > 0) {
            follow_experiment(prepared, store, registry, options);
            return g_stop.load() ? 130 : 0;
        }
        if (!options.quiet)
            std::cout << "data-parallel pretraining on " << group->world_size() << " processes (Gloo)\n";
    }
    // Rank 0 alone: the other ranks of its group start later and must not touch its claims.
    if (sole_writer) {
        const int abandoned = store.abandon_running("its process died (this store's previous owner; found by a --sole-writer run)");
        if (abandoned > 0 && !options.quiet)
            std::cout << "marked " << abandoned << " run(s) the previous owner of " << store_path << " left running as killed\n";
    }
    const auto summary = run_experiment(prepared, store, registry, options);
    if (local_ranks && local_ranks->wait() > 0) std::cerr << "warning: a data-parallel rank exited with an error\n";
    std::cout << "done: " << summary.finished << " ran, " << summary.skipped << " already finished, " << summary.failed
              << " failed, " << summary.busy << " running elsewhere" << (summary.interrupted ? ", INTERRUPTED" : "")
              << "\n";
    if (summary.interrupted) return 130;
    return summary.failed > 0 ? 1 : 0;
}

// `ecgbench submit FILE --slurm`: the matrix as Slurm job arrays (slurm/submit.hpp, docs/slurm.md).
struct SubmitArgs {
    bool slurm = false, dry_run = false;
    std::string shared;
    std::vector<std::string> sbatch_options;
};

int cmd_submit(const PluginRegistry& registry, const CellArgs& args, const SubmitArgs& submit,
               const std::vector<std::string>& plugin_dirs, const std::string& store_path) {
    namespace fs = std::filesystem;
    if (!submit.slurm) throw UsageError("submit: name the scheduler: --slurm (the only one supported)");
    auto prepared = prepare_experiment(args.file, registry, args.overrides);
    const auto& exp = prepared.experiment;
    SubmitOptions options;
    options.shared = submit.shared.empty() ? exp.slurm.shared : submit.shared;
    if (options.shared.empty())
        throw UsageError("submit: no shared directory: give --shared DIR or `shared` in the [slurm] table of " + args.file);
    options.shared = fs::absolute(options.shared).lexically_normal().string();
    while (options.shared.size() > 1 && options.shared.back() == '/') options.shared.pop_back();
    options.executable = fs::canonical("/proc/self/exe").string();
    options.experiment_file = fs::absolute(args.file).lexically_normal().string();
    options.workdir = fs::current_path().string();
    options.overrides = args.overrides;
    for (const auto& dir : plugin_dirs) options.plugin_dirs.push_back(fs::absolute(dir).lexically_normal().string());
    if (args.filtered) options.filter = args.filter;
    // Cells the main store has finished are not submitted again (slurm/submit.hpp).
    std::set<std::string> finished;
    if (fs::exists(store_path)) {
        const Store main(store_path);
        for (const auto& cell : prepared.plan.pretrain)
            if (main.has_finished(cell.hash)) finished.insert(cell.hash);
        for (const auto& cell : prepared.plan.evaluations)
            if (main.has_finished(cell.hash)) finished.insert(cell.hash);
    }
    SlurmSubmission submission;
    try {
        submission = slurm_submission(exp, prepared.plan, selection_for(prepared, args), options, finished);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    if (submission.finished_pretrain > 0)
        std::cout << "# " << submission.finished_pretrain << " pretraining cell(s) finished in " << store_path
                  << " with their selected evaluations: not submitted\n";
    if (!submission.seed_cells.empty())
        std::cout << "# " << submission.seed_cells.size() << " cell(s) finished in " << store_path
                  << " seed the tasks from " << submission.seed_store << "\n";
    const fs::path dir = fs::path(options.shared) / "slurm";
    const std::string pretrain_script = (dir / (exp.name + "-pretrain.sh")).string();
    const std::string eval_script = (dir / (exp.name + "-evaluate.sh")).string();
    std::string extra;
    for (const auto& option : submit.sbatch_options) extra += " " + shell_quote(option);
    const std::string after = "--dependency=aftercorr:";
    if (submit.dry_run) {
        std::cout << "# sbatch --parsable" << extra << " " << pretrain_script << "\n" << submission.pretrain.script;
        if (submission.evaluate)
            std::cout << "\n# sbatch --parsable " << after << "<pretraining job id> --kill-on-invalid-dep=yes" << extra << " "
                      << eval_script << "\n" << submission.evaluate->script;
        return 0;
    }
    for (const char* sub : {"slurm", "logs", "shards"}) fs::create_directories(fs::path(options.shared) / sub);
    if (!submission.seed_cells.empty()) write_seed_store(submission, store_path, options.shared);
    std::ofstream(pretrain_script) << submission.pretrain.script;
    const std::string job = sbatch(submit.sbatch_options, pretrain_script);
    std::cout << "submitted pretraining array " << job << " (" << submission.pretrain.tasks << " tasks): " << pretrain_script << "\n";
    if (submission.evaluate) {
        std::ofstream(eval_script) << submission.evaluate->script;
        std::vector<std::string> arguments{after + job, "--kill-on-invalid-dep=yes"};
        arguments.insert(arguments.end(), submit.sbatch_options.begin(), submit.sbatch_options.end());
        const std::string eval_job = sbatch(arguments, eval_script);
        std::cout << "submitted evaluation array " << eval_job << " (" << submission.evaluate->tasks
                  << " tasks, each after its pretraining task): " << eval_script << "\n";
    }
    std::cout << "logs in " << options.shared << "/logs; when the arrays are done: ecgbench merge " << store_path << " "
              << options.shared << "/shards/*.db\n";
    return 0;
}

// `ecgbench merge MAIN SHARD...`: store shards folded into MAIN (store/merge.hpp).
int cmd_merge(const std::string& main_path, const std::vector<std::string>& shards) {
    Store store(main_path);
    int running = 0;
    for (const auto& shard : shards) {
        const auto s = merge_store(store, shard);
        running += s.runs_running;
        std::cout << "merged " << shard << ": " << s.cells_added << " cells and " << s.runs_added << " runs added, "
                  << s.runs_present << " runs already present, " << s.runs_same_result << " with the same result kept once, "
                  << s.runs_superseded << " superseded attempts left out, " << s.runs_running << " still running\n";
    }
    if (running > 0) std::cout << running << " run(s) still running were not merged: merge again once they end\n";
    return 0;
}

int cmd_report(const std::string& experiment, const std::string& store_path, std::string out_dir,
               const ReportOptions& options, bool json) {
    if (!std::filesystem::exists(store_path)) {
        std::cerr << "error: no store at " << store_path << "\n";
        return 2;
    }
    Store store(store_path);
    if (out_dir.empty()) out_dir = "reports/" + experiment;
    std::vector<std::string> files;
    ReportTable table;
    try {
        table = build_report(store, experiment, options);
        files = write_report(store, experiment, table, out_dir, options);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    if (json) {
        std::cout << report_json(experiment, store_path, table, store.results(experiment), files) << "\n";
        return 0;
    }
    for (const auto& path : files) std::cout << "wrote " << path << "\n";
    return 0;
}

// `ecgbench report --compare A B`: what changed between two experiments (report/compare_experiments.hpp),
// as Markdown on stdout and, with --out, in DIR/compare.md.
int cmd_report_compare(const std::vector<std::string>& experiments, const std::string& store_path, const std::string& out_dir,
                       const ReportOptions& report_options, const CompareOptions& options) {
    if (!std::filesystem::exists(store_path)) {
        std::cerr << "error: no store at " << store_path << "\n";
        return 2;
    }
    const Store store(store_path);
    const auto& a = experiments.at(0);
    const auto& b = experiments.at(1);
    const std::string text = experiment_changes_markdown(
        compare_experiments(store, a, b, report_options.metric, report_options.split, options), a, b, report_options.metric, options);
    std::cout << text;
    if (!out_dir.empty()) {
        std::filesystem::create_directories(out_dir);
        const auto path = (std::filesystem::path(out_dir) / "compare.md").string();
        std::ofstream(path) << "# " << a << " → " << b << "\n\n" << text;
        std::cout << "wrote " << path << "\n";
    }
    return 0;
}

// `ecgbench compare EXPERIMENT A B`: paired comparison of two SSL methods from the stored
// per-record outputs (report/compare.hpp), as a Markdown table on stdout.
int cmd_compare(const std::string& experiment, const std::string& a, const std::string& b, const std::string& store_path,
                const CompareOptions& options) {
    if (!std::filesystem::exists(store_path)) {
        std::cerr << "error: no store at " << store_path << "\n";
        return 2;
    }
    const Store store(store_path);
    std::cout << comparison_markdown(compare_methods(store, experiment, a, b, options), a, b, options);
    return 0;
}

// `ecgbench new-plugin KIND NAME [--out DIR]`: see cli/new_plugin.hpp.
int cmd_new_plugin(const std::string& kind, const std::string& name, const std::string& out,
                   const std::vector<std::string>& plugin_dirs) {
    namespace fs = std::filesystem;
    std::vector<SkeletonFile> files;
    try {
        files = plugin_skeleton(kind, name, out.empty());
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    std::string dir = out;
    if (dir.empty()) {
        if (!is_ecgbench_checkout(fs::current_path().string()))
            throw UsageError("new-plugin: " + fs::current_path().string() +
                             " is not an ecgbench checkout's root; run it there, or pass --out DIR for a project "
                             "built against the installed package");
        dir = in_tree_plugin_dir(".", kind, name);
    }
    // A second plugin of one name would be refused at load time; say so now.
    auto registry = PluginRegistry::load_default();
    for (const auto& extra : plugin_dirs) registry->load_directory(extra);
    if (const auto* taken = registry->find(name))
        throw UsageError("new-plugin: a plugin named '" + name + "' already exists (" + taken->path + ")");
    std::vector<std::string> written;
    try {
        written = write_plugin_skeleton(files, dir);
    } catch (const std::runtime_error& e) {
        throw UsageError(e.what());
    }
    for (const auto& path : written) std::cout << "wrote " << path << "\n";
    if (out.empty()) {
        std::cout << "next: cmake --build build -j 2 && (cd build && ctest -R plugin." << name << ")\n";
    } else {
        std::error_code ec;
        const fs::path prefix = fs::canonical("/proc/self/exe", ec).parent_path().parent_path();
        const bool installed = !ec && fs::exists(prefix / "lib" / "cmake" / "ecgbench");
        std::cout << "next: cmake -S " << dir << " -B " << (fs::path(dir) / "build").string() << " -DCMAKE_PREFIX_PATH="
                  << (installed ? prefix.string() : "<ecgbench install prefix>") << " && cmake --build "
                  << (fs::path(dir) / "build").string() << " && ctest --test-dir " << (fs::path(dir) / "build").string()
                  << "\n";
    }
    return 0;
}

// `ecgbench verify`: every artifact the store's results rest on and every cache shard, hashed in
// full and compared with what was recorded when it was written. Exit 1 when anything is damaged.
// Damaged shards are removed (a cache: the next run that needs one rebuilds it).
int cmd_verify(const std::string& store_path) {
    if (!std::filesystem::exists(store_path)) {
        std::cerr << "error: no store at " << store_path << "\n";
        return 2;
    }
    Store store(store_path);
    const auto start = std::chrono::steady_clock::now();
    int artifacts = 0, shards = 0, damaged_artifacts = 0, damaged_shards = 0;
    std::int64_t bytes = 0;
    verify_store(store, cache_dir(store), /*discard_damaged_shards=*/true, [&](const VerifiedItem& item) {
        const bool shard = item.kind == "shard";
        (shard ? shards : artifacts) += 1;
        bytes += item.bytes;
        if (item.problem.empty()) return;
        (shard ? damaged_shards : damaged_artifacts) += 1;
        std::cout << "DAMAGED  " << item.problem << "\n";
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "checked " << artifacts << " artifacts and " << shards << " cache shards (" << std::fixed
              << std::setprecision(1) << static_cast<double>(bytes) / 1e6 << " MB) in " << seconds << " s: "
              << (damaged_artifacts + damaged_shards == 0 ? "all intact" : std::to_string(damaged_artifacts + damaged_shards) + " damaged")
              << "\n";
    if (damaged_artifacts) std::cout << "checkpoints: " << kArtifactRecovery << "\n";
    return damaged_artifacts + damaged_shards > 0 ? 1 : 0;
}

// `ecgbench wfdb info|read|ann`: WFDB records as wfdbdesc, rdsamp and rdann print them.
struct WfdbArgs {
    std::string record, annotator, from, to;
    std::vector<int> signals;
    bool physical = false, high_resolution = false;
};

int cmd_wfdb(const CLI::App& sub, const WfdbArgs& a) {
    // Annotation files may come without a header (rdann then assumes 250 Hz).
    std::optional<wfdb::Header> header;
    if (sub.get_name() != "ann" || std::filesystem::exists(a.record + ".hea")) header = wfdb::read_header(a.record);
    if (sub.get_name() == "info") {
        std::cout << wfdb::format_wfdbdesc(*header, a.record);
        return 0;
    }
    const double fs = header ? header->fs : 250.0;
    const auto from = a.from.empty() ? 0 : wfdb::parse_time_argument(a.from, fs);
    std::optional<std::int64_t> to;
    if (!a.to.empty()) to = wfdb::parse_time_argument(a.to, fs);
    if (sub.get_name() == "ann") {
        double resolution = 0;
        auto anns = wfdb::read_annotations(a.record + "." + a.annotator, &resolution);
        const double scale = resolution > 0 ? resolution / fs : 1.0;  // -f/-t are record samples
        std::erase_if(anns, [&](const auto& x) {
            return x.sample < from * scale || (to && x.sample >= *to * scale);
        });
        wfdb::write_rdann(std::cout, anns, header, resolution);
        return 0;
    }
    wfdb::ReadOptions options{from, to, a.signals, a.high_resolution};
    wfdb::write_rdsamp(std::cout, wfdb::read_signals(*header, options), a.physical);
    return 0;
}

// `ecgbench synth`: a synthetic cohort written as WFDB records plus metadata.csv. `--set key=value`
// takes any parameter of the `synthetic` dataset plugin, typed and checked like a TOML params table.
struct SynthArgs {
    std::string out;
    std::int64_t records = 100, seed = 0;
    std::vector<std::string> settings;
};

ParamValue parse_setting_value(const ParamSpec& spec, const std::string& text) {
    try {
        std::size_t used = 0;
        switch (spec.type) {
            case ParamType::Bool:
                if (text == "true" || text == "false") return text == "true";
                break;
            case ParamType::Int: {
                const std::int64_t v = std::stoll(text, &used);
                if (used == text.size()) return v;
                break;
            }
            case ParamType::Float: {
                const double v = std::stod(text, &used);
                if (used == text.size()) return v;
                break;
            }
            case ParamType::String:
            case ParamType::File: return text;
            case ParamType::StringList: break;
        }
    } catch (const std::exception&) {
    }
    throw UsageError("--set " + spec.name + "=" + text + ": not a " + to_string(spec.type));
}

int cmd_synth(const SynthArgs& a, int threads) {
    std::map<std::string, ParamValue> given{{"records", a.records}, {"seed", a.seed}};
    std::vector<std::string> names;
    for (const auto& spec : synth::param_specs()) names.push_back(spec.name);
    for (const auto& setting : a.settings) {
        const auto eq = setting.find('=');
        if (eq == std::string::npos) throw UsageError("--set " + setting + ": expected key=value");
        const std::string key = setting.substr(0, eq);
        const auto spec = std::find_if(synth::param_specs().begin(), synth::param_specs().end(),
                                       [&](const ParamSpec& p) { return p.name == key; });
        if (spec == synth::param_specs().end())
            throw UsageError("--set: unknown parameter '" + key + "'" + did_you_mean(key, names));
        given[key] = parse_setting_value(*spec, setting.substr(eq + 1));
    }
    synth::Cohort cohort = [&] {
        try {
            return synth::Cohort(synth::config_from_params(validate_params(synth::param_specs(), given)));
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        }
    }();
    const int workers = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const auto start = std::chrono::steady_clock::now();
    synth::export_wfdb(cohort, a.out, workers);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "wrote " << a.records << " records (" << cohort.subjects() << " subjects) to " << a.out
              << " in " << std::fixed << std::setprecision(1) << seconds << " s; metadata in "
              << (std::filesystem::path(a.out) / "metadata.csv").string() << "\n";
    return 0;
}

/// --set, --filter and --only (and --json where `json`) on a subcommand that reads an experiment.
void add_cell_options(CLI::App* sub, CellArgs& args, bool json) {
    sub->add_option("file", args.file, "experiment TOML")->required();
    sub->add_option("--set", args.overrides,
                    "KEY=VALUE: change one experiment key as an edit of the file would (repeatable; TOML value syntax, "
                    "e.g. pretrain.epochs=3, dataset.NAME.params.records=500, 'encoder[0].params.size=\"S\"')")
        ->allow_extra_args(false);
    sub->add_option("--profile", args.profile,
                    "NAME: apply the file's [profile.NAME] overrides first (e.g. the paper experiments' `synthetic`: the synthetic "
                    "cohort at tiny scale in place of the real datasets)");
    sub->add_option("--filter", args.filter, "REGEX: only the cells whose label (as `plan` prints it) matches");
    sub->add_option("--only", args.only, "only pretraining or only evaluation cells")
        ->check(CLI::IsMember({"pretrain", "eval"}));
    sub->add_option("--cell", args.cells,
                    "HASH: only this cell (6+ hex digits of its hash, as `plan` prints it; a pretraining cell's "
                    "evaluations too); repeatable")
        ->allow_extra_args(false);
    if (json) sub->add_flag("--json", args.json, "print one JSON document (schema: docs/json.md) instead of text");
}

}  // namespace

int main(int argc, char** argv) {
    ecgbench::retain_freed_memory();  // CPU training steps reuse their freed activations (runner/allocator.hpp)
    CLI::App app{"ecgbench: fair comparisons of self-supervised ECG representation learning"};
    app.require_subcommand(1);
    app.fallthrough();  // global options may follow the subcommand too
    app.set_version_flag("--version", [] { return version_text(); },
                         "print the version, git commit, LibTorch and its devices, and the BLAS in use");
    std::string store_path = "results/ecgbench.db";
    std::vector<std::string> plugin_dirs;
    app.add_option("--store", store_path, "SQLite result store")->capture_default_str();
    int threads = 0;
    app.add_option("--threads", threads, "LibTorch intra-op threads (default: all cores, or OMP_NUM_THREADS)");
    app.add_option("--plugin-dir", plugin_dirs, "extra plugin directory (repeatable; also ECGBENCH_PLUGIN_PATH)");

    std::string name, experiment, out_dir;
    bool json = false;
    CellArgs cell_args;
    ReportOptions report_options;
    auto* plugins = app.add_subcommand("plugins", "list plugins, or show one plugin's parameters");
    plugins->add_option("name", name, "plugin name");
    plugins->add_flag("--json", json, "print one JSON document (schema: docs/json.md) instead of text");
    auto* plan = app.add_subcommand("plan", "print an experiment's cells and what is already done");
    add_cell_options(plan, cell_args, true);
    auto* run = app.add_subcommand("run", "run every (selected) cell not yet finished");
    add_cell_options(run, cell_args, false);
    RunOptions run_options;
    run->add_flag("--force", run_options.force, "redo finished cells (only the selected ones with --filter/--only)");
    run->add_flag("--quiet", run_options.quiet, "no progress output");
    run->add_option("--loader-workers", run_options.loader.workers,
                    "threads gathering pretraining batches ahead of the step (0 = on the training thread; "
                    "-1 = 1 for cached, memory-mapped splits and 0 for in-memory ones)")
        ->capture_default_str()->check(CLI::Range(-1, 64));
    run->add_option("--prefetch", run_options.loader.prefetch, "batches gathered ahead (bounds their memory)")
        ->capture_default_str()->check(CLI::Range(1, 1024));
    std::int64_t chunk_mb = run_options.stream_chunk_bytes >> 20;
    run->add_option("--chunk-mb", chunk_mb, "raw signal read from a dataset plugin at a time while a split is loaded and cached")
        ->capture_default_str()->check(CLI::Range(1, 1 << 20));
    ParallelArgs parallel_args;
    run->add_option("--nproc", parallel_args.nproc,
                    "train each pretraining cell on N local processes (data-parallel over Gloo; the batch is split "
                    "over them, so batch_size must divide by N)")
        ->capture_default_str()->check(CLI::Range(1, 256));
    run->add_flag("--distributed", parallel_args.distributed,
                  "one rank of a data-parallel group started by srun (SLURM_PROCID, SLURM_NTASKS; rendezvous file "
                  "beside the store)");
    bool sole_writer = false;
    run->add_flag("--sole-writer", sole_writer,
                  "this process is the store's only user (a Slurm array task's shard): runs it holds as running were "
                  "left by a killed predecessor, on whatever host, and are marked killed");
    auto* submit = app.add_subcommand("submit", "submit the matrix to a cluster scheduler as job arrays (docs/slurm.md)");
    add_cell_options(submit, cell_args, false);
    SubmitArgs submit_args;
    submit->add_flag("--slurm", submit_args.slurm, "submit to Slurm (sbatch job arrays)");
    submit->add_flag("--dry-run", submit_args.dry_run, "print the sbatch scripts instead of submitting them");
    submit->add_option("--shared", submit_args.shared,
                       "DIR every node sees: store shards, checkpoints, cache, logs (default: [slurm] shared)");
    submit->add_option("sbatch", submit_args.sbatch_options, "after --: extra sbatch options for both arrays");
    std::string merge_main;
    std::vector<std::string> merge_shards;
    auto* merge = app.add_subcommand("merge", "fold store shards (e.g. of Slurm array tasks) into a store, idempotently");
    merge->add_option("main", merge_main, "the store to merge into (created if absent)")->required();
    merge->add_option("shards", merge_shards, "store shards")->required();
    auto* status = app.add_subcommand("status", "count cells by state and show recorded errors");
    add_cell_options(status, cell_args, true);
    auto* report = app.add_subcommand("report", "write comparison tables, figures and provenance from the store (docs/reports.md)");
    std::vector<std::string> compared_experiments;
    std::string ci_mode = "std";
    CompareOptions report_compare_options;
    report->add_option("experiment", experiment, "experiment name");
    report->add_option("--out", out_dir, "output directory (default reports/<experiment>)");
    report->add_option("--metric", report_options.metric, "headline metric")->capture_default_str();
    report->add_option("--split", report_options.split, "split of the headline metric")->capture_default_str();
    report->add_option("--format", report_options.formats, "comma-separated: md, tex, csv, html, svg, png (png: rsvg-convert)")
        ->delimiter(',')->check(CLI::IsMember({"md", "tex", "csv", "html", "svg", "png"}))->capture_default_str();
    report->add_option("--published", report_options.published,
                       "FILE: published numbers to print ours beside (a paper experiment's .published.toml; repeatable)")
        ->check(CLI::ExistingFile)->allow_extra_args(false);
    report->add_option("--subgroups", report_options.subgroups,
                       "COVARIATE or COVARIATE:E1,E2,...: macro AUROC per group of a stored covariate (each value, or bands "
                       "< E1, [E1, E2) ... >= Ek), the worst group and its gap (repeatable; docs/reports.md#subgroups)")
        ->allow_extra_args(false);
    report->add_option("--ci", ci_mode,
                       "std: mean ± std over seeds; bootstrap: interval of the seed mean over the test records; stratified: the "
                       "same with each class's positives and negatives resampled apart")
        ->check(CLI::IsMember({"std", "bootstrap", "stratified"}))->capture_default_str();
    report->add_option("--baseline", report_options.baseline, "SSL method to show deltas against, with paired tests");
    report->add_option("--resamples", report_options.resamples, "bootstrap resamples (intervals, paired tests)")
        ->capture_default_str()->check(CLI::Range(1, 1000000));
    report->add_option("--level", report_options.level, "interval level")->capture_default_str()->check(CLI::Range(0.5, 0.999));
    report->add_option("--seed", report_options.seed, "seed of the resamples")->capture_default_str();
    report->add_option("--alpha", report_options.alpha, "significance level of the Nemenyi critical difference")
        ->capture_default_str()->check(CLI::Range(0.001, 0.5));
    report->add_option("--compare", compared_experiments, "A B: what changed between two experiments (instead of a report)")
        ->expected(2);
    report->add_option("--permutations", report_compare_options.permutations, "permutation test draws (--compare)")
        ->capture_default_str()->check(CLI::Range(1, 1000000));
    report->add_flag("--json", json, "also print the table and every result row as one JSON document (docs/json.md)");

    std::string cell, export_out;
    auto* compare = app.add_subcommand("compare", "paired comparison of two SSL methods on the same test records (bootstrap, permutation)");
    std::string method_a, method_b;
    CompareOptions compare_options;
    compare->add_option("experiment", experiment, "experiment name")->required();
    compare->add_option("a", method_a, "SSL method (its name in the experiment)")->required();
    compare->add_option("b", method_b, "the SSL method to compare it with")->required();
    compare->add_option("--resamples", compare_options.resamples, "paired bootstrap resamples")->capture_default_str()->check(CLI::Range(1, 1000000));
    compare->add_option("--permutations", compare_options.permutations, "permutation test draws")->capture_default_str()->check(CLI::Range(1, 1000000));
    compare->add_option("--level", compare_options.level, "interval level")->capture_default_str()->check(CLI::Range(0.5, 0.999));
    compare->add_option("--seed", compare_options.seed, "seed of the resamples and permutations")->capture_default_str();
    std::string compare_bootstrap = "records";
    compare->add_option("--bootstrap", compare_bootstrap,
                        "records: resample test records; stratified: each class's positives and negatives resampled apart "
                        "(the stratified per-label bootstrap, docs/metrics.md)")
        ->check(CLI::IsMember({"records", "stratified"}))->capture_default_str();
    auto* export_cmd = app.add_subcommand("export", "write a pretrained encoder as TorchScript (torch.jit.load in Python)");
    export_cmd->add_option("cell", cell, "pretraining cell: at least 6 hex digits of its hash (see `ecgbench plan`)")->required();
    export_cmd->add_option("--out", export_out, "TorchScript file to write")->required();
    app.add_subcommand("verify", "hash every checkpoint of the store and every cache shard; list what is damaged (exit 1) and remove damaged shards");

    SynthArgs synth_args;
    auto* synth_cmd = app.add_subcommand("synth", "write a synthetic cohort as WFDB records + metadata.csv");
    synth_cmd->add_option("--out", synth_args.out, "output directory")->required();
    synth_cmd->add_option("--records", synth_args.records, "number of records")->capture_default_str();
    synth_cmd->add_option("--seed", synth_args.seed, "generator seed")->capture_default_str();
    synth_cmd->add_option("--set", synth_args.settings,
                          "KEY=VALUE: any `synthetic` plugin parameter (repeatable; see `ecgbench plugins synthetic`)");

    WfdbArgs wfdb_args;
    auto* wfdb_cmd = app.add_subcommand("wfdb", "inspect WFDB records (no plugins loaded)");
    wfdb_cmd->require_subcommand(1);
    auto* wfdb_info = wfdb_cmd->add_subcommand("info", "header summary, as wfdbdesc prints it");
    auto* wfdb_read = wfdb_cmd->add_subcommand("read", "samples, as rdsamp prints them");
    auto* wfdb_ann = wfdb_cmd->add_subcommand("ann", "annotations, as rdann prints them");
    for (auto* sub : {wfdb_info, wfdb_read, wfdb_ann})
        sub->add_option("record", wfdb_args.record, "record path without extension")->required();
    wfdb_ann->add_option("annotator", wfdb_args.annotator, "annotation file extension (atr, qrs, ...)")->required();
    for (auto* sub : {wfdb_read, wfdb_ann}) {
        sub->add_option("-f,--from", wfdb_args.from, "start: seconds, or sNNN for a sample number");
        sub->add_option("-t,--to", wfdb_args.to, "end (exclusive): seconds, or sNNN");
    }
    wfdb_read->add_option("-s,--signals", wfdb_args.signals, "signal numbers, in output order");
    wfdb_read->add_flag("-P,--physical", wfdb_args.physical, "physical units (8 decimals, time in seconds)");
    wfdb_read->add_flag("-H,--high-resolution", wfdb_args.high_resolution, "every sample of multi-rate signals");

    std::string kind, new_name, new_out;
    auto* new_plugin = app.add_subcommand("new-plugin", "write a plugin skeleton that builds, with a tiny experiment and its test");
    new_plugin->add_option("kind", kind, "dataset, encoder, ssl or task")->required()
        ->check(CLI::IsMember(plugin_skeleton_kinds()));
    new_plugin->add_option("name", new_name, "plugin name (lower_snake_case)")->required();
    new_plugin->add_option("--out", new_out,
                           "write a project built against the installed package to this directory "
                           "(default: plugins/<kind>/NAME/ of the ecgbench checkout in the current directory)");

    std::string shell;
    auto* completion = app.add_subcommand("completion", "print a shell completion script (installed as "
                                                        "share/bash-completion/completions/ecgbench)");
    completion->add_option("shell", shell, "bash")->required()->check(CLI::IsMember({"bash"}));

    // Command-line errors exit 2, as errors in an experiment file do (CLI11's own codes otherwise).
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    for (const auto* sub : {plan, run, status, submit})
        if (*sub) cell_args.filtered = sub->count("--filter") > 0;
    configure_threads(threads, *run ? parallel_args.nproc : 1);
    try {
        if (!cell_args.profile.empty()) {
            const auto profile = profile_overrides(cell_args.file, cell_args.profile);
            cell_args.overrides.insert(cell_args.overrides.begin(), profile.begin(), profile.end());
        }
        if (*completion) {
            const CompletionHints hints{{"--store", "@file"}, {"--plugin-dir", "@dir"}, {"--out", "@file"},
                                        {"--only", "pretrain eval"}, {"plan file", "@file"}, {"run file", "@file"},
                                        {"submit file", "@file"}, {"merge main", "@file"}, {"merge shards", "@file"},
                                        {"status file", "@file"}, {"new-plugin kind", "dataset encoder ssl task"},
                                        {"completion shell", "bash"}, {"wfdb info record", "@file"},
                                        {"wfdb read record", "@file"}, {"wfdb ann record", "@file"}};
            std::cout << bash_completion(app, hints);
            return 0;
        }
        if (*wfdb_cmd) return cmd_wfdb(*wfdb_cmd->get_subcommands().front(), wfdb_args);
        if (*synth_cmd) return cmd_synth(synth_args, threads);
        if (*report) {
            report_options.ci = ci_mode == "bootstrap" ? CiMode::Bootstrap : ci_mode == "stratified" ? CiMode::Stratified : CiMode::Std;
            if (!compared_experiments.empty()) {
                if (!experiment.empty()) throw UsageError("report: give an experiment or --compare A B, not both");
                report_compare_options.resamples = report_options.resamples;
                report_compare_options.level = report_options.level;
                report_compare_options.seed = report_options.seed;
                return cmd_report_compare(compared_experiments, store_path, out_dir, report_options, report_compare_options);
            }
            if (experiment.empty()) throw UsageError("report: an experiment name (or --compare A B) is required");
            return cmd_report(experiment, store_path, out_dir, report_options, json);
        }
        if (*compare) {
            compare_options.stratified = compare_bootstrap == "stratified";
            return cmd_compare(experiment, method_a, method_b, store_path, compare_options);
        }
        if (app.got_subcommand("verify")) return cmd_verify(store_path);
        if (*new_plugin) return cmd_new_plugin(kind, new_name, new_out, plugin_dirs);
        if (*merge) return cmd_merge(merge_main, merge_shards);
        const auto registry = load_plugins(plugin_dirs);
        if (*plugins) return cmd_plugins(*registry, name, json);
        if (*export_cmd) {
            Store store(store_path);
            const auto result = export_encoder(store, *registry, cell, export_out);
            std::cout << "wrote " << result.path << ": encoder of pretraining cell " << result.cell_hash.substr(0, 10)
                      << " (TorchScript; max abs difference to the C++ encoder on its 4-record example batch "
                      << result.max_abs_difference << ")\n";
            return 0;
        }
        if (*plan) return cmd_plan(*registry, cell_args, store_path);
        if (*status) return cmd_status(*registry, cell_args, store_path);
        if (*run) {
            run_options.stream_chunk_bytes = chunk_mb << 20;
            return cmd_run(*registry, cell_args, store_path, run_options, parallel_args, sole_writer, argv);
        }
        if (*submit) return cmd_submit(*registry, cell_args, submit_args, plugin_dirs, store_path);
    } catch (const ConfigError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const UsageError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
