#include "slurm/submit.hpp"

#include "store/merge.hpp"
#include "store/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace ecgbench {

namespace {

/// The #SBATCH lines of one kind of task's resources ([slurm], overridden per kind).
std::string resource_directives(const SlurmResources& r) {
    std::ostringstream out;
    if (!r.partition.empty()) out << "#SBATCH --partition=" << r.partition << "\n";
    if (!r.time.empty()) out << "#SBATCH --time=" << r.time << "\n";
    if (r.cpus > 0) out << "#SBATCH --cpus-per-task=" << r.cpus << "\n";
    if (r.gpus > 0) out << "#SBATCH --gpus=" << r.gpus << "\n";
    if (!r.mem.empty()) out << "#SBATCH --mem=" << r.mem << "\n";
    return out.str();
}

/// `--array=` indices: "0-N" when contiguous, else a comma list.
std::string array_indices(const std::vector<std::size_t>& indices) {
    bool contiguous = true;
    for (std::size_t i = 0; i < indices.size(); ++i) contiguous = contiguous && indices[i] == i;
    if (contiguous) return "0-" + std::to_string(indices.size() - 1);
    std::string list;
    for (auto i : indices) list += (list.empty() ? "" : ",") + std::to_string(i);
    return list;
}

/// "ecgbench-<experiment>-<kind>", with characters sbatch directives cannot take replaced by '_'.
std::string job_name(const Experiment& experiment, const std::string& kind) {
    std::string name = "ecgbench-" + experiment.name + "-" + kind;
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
    return name;
}

// Both kinds of task: the cells of array task $SLURM_ARRAY_TASK_ID, and the shard named by the
// first of them (stable across resubmissions of the same experiment).
std::string script(const Experiment& experiment, const std::string& kind, const std::vector<std::string>& batches,
                   const std::vector<std::size_t>& indices, const SlurmResources& resources, const SubmitOptions& o,
                   const std::string& seed_store) {
    const std::string shards = o.shared + "/shards";
    std::ostringstream s;
    s << "#!/bin/bash\n"
      << "# ecgbench submit: " << kind << " array of experiment '" << experiment.name << "' (" << indices.size()
      << " tasks; docs/slurm.md)\n"
      << "#SBATCH --job-name=" << job_name(experiment, kind) << "\n"
      << "#SBATCH --array=" << array_indices(indices) << "\n"
      << "#SBATCH --requeue\n"
      << "#SBATCH --open-mode=append\n"
      << "#SBATCH --output=" << o.shared << "/logs/" << kind << "-%a.out\n"
      << "#SBATCH --chdir=" << o.workdir << "\n"
      << resource_directives(resources);
    if (resources.ranks > 1) s << "#SBATCH --ntasks=" << resources.ranks << "\n";
    s << "set -euo pipefail\n"
      << "cells=(\n";
    for (std::size_t t = 0; t < batches.size(); ++t) s << "  " << shell_quote(batches[t]) << "  # task " << t << "\n";
    s << ")\n"
      << "read -ra task_cells <<< \"${cells[$SLURM_ARRAY_TASK_ID]}\"\n"
      << "first=${task_cells[0]}\n"
      << "selection=()\n"
      << "for cell in \"${task_cells[@]}\"; do selection+=(--cell \"$cell\"); done\n"
      << "echo \"ecgbench: " << kind << " task $SLURM_ARRAY_TASK_ID of job ${SLURM_ARRAY_JOB_ID:-?}, restart "
      << "${SLURM_RESTART_COUNT:-0}, on $(hostname)\"\n";
    std::string global = shell_quote(o.executable);
    for (const auto& dir : o.plugin_dirs) global += " --plugin-dir " + shell_quote(dir);
    if (resources.cpus > 0) global += " --threads " + std::to_string(resources.cpus);
    std::string run = "run " + shell_quote(o.experiment_file);
    for (const auto& setting : o.overrides) run += " --set " + shell_quote(setting);
    // A requeued task owns its shard: whatever it holds as running died with the previous attempt.
    run += " --sole-writer \"${selection[@]}\"";
    if (kind == "pretrain") {
        s << "shard=" << shell_quote(shards) << "/pretrain-${first:0:16}.db\n";
        // The cells the main store finished: `run` finds them finished instead of training again.
        if (!seed_store.empty()) s << global << " merge \"$shard\" " << shell_quote(seed_store) << "\n";
        // Data-parallel: srun starts the task's ranks; rank 0 writes the shard (docs/cli.md).
        if (resources.ranks > 1)
            s << "exec srun --ntasks=" << resources.ranks << " --kill-on-bad-exit=1 " << global << " --store \"$shard\" " << run
              << " --only pretrain --distributed\n";
        else
            s << "exec " << global << " --store \"$shard\" " << run << " --only pretrain\n";
    } else {
        // The pretraining run (and its checkpoint's row) this task evaluates comes from its
        // pretraining task's shard; merging is idempotent, so a requeued task repeats it harmlessly.
        s << "shard=" << shell_quote(shards) << "/eval-${first:0:16}.db\n"
          << global << " merge \"$shard\" " << shell_quote(shards) << "/pretrain-${first:0:16}.db\n"
          << "exec " << global << " --store \"$shard\" " << run << " --only eval"
          << (o.filter ? " --filter " + shell_quote(*o.filter) : "") << "\n";
    }
    return s.str();
}

}  // namespace

std::string shell_quote(const std::string& text) {
    std::string quoted = "'";
    for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

SlurmSubmission slurm_submission(const Experiment& experiment, const Plan& plan, const Selection& selection,
                                 const SubmitOptions& options, const std::set<std::string>& finished) {
    SlurmSubmission submission;
    // Each involved pretraining cell with its selected evaluations; those the main store has
    // finished entirely are left out, the finished cells of the others seed the tasks.
    std::vector<std::size_t> involved;
    std::vector<bool> pending_evaluations;
    for (std::size_t p = 0; p < plan.pretrain.size(); ++p) {
        if (!selection.involved(plan, p)) continue;
        const bool pretrained = finished.count(plan.pretrain[p].hash) > 0;
        std::vector<std::string> done;
        bool pending = false;
        for (std::size_t e = 0; e < plan.evaluations.size(); ++e) {
            if (!selection.evaluations[e] || plan.evaluations[e].pretrain != p) continue;
            if (finished.count(plan.evaluations[e].hash))
                done.push_back(plan.evaluations[e].hash);
            else
                pending = true;
        }
        if (pretrained && !pending) {
            ++submission.finished_pretrain;
            continue;
        }
        if (pretrained) submission.seed_cells.insert(plan.pretrain[p].hash);
        if (pretrained) submission.seed_cells.insert(done.begin(), done.end());
        involved.push_back(p);
        pending_evaluations.push_back(pending);
    }
    if (involved.empty() && submission.finished_pretrain == 0)
        throw std::invalid_argument("submit: no cell of experiment '" + experiment.name + "' is selected");
    if (involved.empty())
        throw std::invalid_argument("submit: every selected cell of experiment '" + experiment.name +
                                    "' is finished in the main store (" + std::to_string(submission.finished_pretrain) +
                                    " pretraining cells with their evaluations); nothing to submit");
    if (!submission.seed_cells.empty()) submission.seed_store = options.shared + "/slurm/" + experiment.name + "-seed.db";
    const auto per_task = static_cast<std::size_t>(experiment.slurm.cells_per_task);
    std::vector<std::string> batches;
    std::vector<std::size_t> pretrain_tasks, eval_tasks;
    for (std::size_t start = 0; start < involved.size(); start += per_task) {
        std::string batch;
        bool evaluations = false;
        for (std::size_t i = start; i < std::min(involved.size(), start + per_task); ++i) {
            batch += (batch.empty() ? "" : " ") + plan.pretrain[involved[i]].hash;
            evaluations = evaluations || pending_evaluations[i];
        }
        if (evaluations) eval_tasks.push_back(batches.size());
        pretrain_tasks.push_back(batches.size());
        batches.push_back(batch);
    }
    submission.pretrain = {"pretrain",
                           script(experiment, "pretrain", batches, pretrain_tasks, experiment.slurm.pretrain, options,
                                  submission.seed_store),
                           pretrain_tasks.size()};
    if (!eval_tasks.empty())
        submission.evaluate = ArrayJob{"evaluate",
                                       script(experiment, "evaluate", batches, eval_tasks, experiment.slurm.evaluate, options,
                                              submission.seed_store),
                                       eval_tasks.size()};
    return submission;
}

namespace fs = std::filesystem;

void write_seed_store(const SlurmSubmission& submission, const std::string& store_path, const std::string& shared) {
    fs::remove(submission.seed_store);
    Store seed(submission.seed_store);
    merge_store(seed, store_path, submission.seed_cells);
    const fs::path checkpoints = fs::path(shared) / "shards" / "checkpoints";
    fs::create_directories(checkpoints);
    auto& db = seed.database();
    SQLite::Statement artifacts(db, "SELECT rowid, path FROM artifacts WHERE kind = 'checkpoint'");
    std::vector<std::pair<std::int64_t, std::string>> moved;
    while (artifacts.executeStep()) {
        const fs::path from = artifacts.getColumn(1).getString();
        const fs::path to = checkpoints / from.filename();
        if (!fs::exists(from)) throw std::runtime_error("submit: checkpoint " + from.string() + " of a finished cell in " +
                                                        store_path + " is missing (run `ecgbench verify`)");
        if (!fs::exists(to) || !fs::equivalent(from, to)) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
        moved.emplace_back(artifacts.getColumn(0).getInt64(), to.string());
    }
    SQLite::Statement update(db, "UPDATE artifacts SET path = ? WHERE rowid = ?");
    for (const auto& [rowid, path] : moved) {
        update.reset();
        update.bind(1, path);
        update.bind(2, static_cast<int64_t>(rowid));
        update.exec();
    }
}

std::string sbatch(const std::vector<std::string>& arguments, const std::string& script) {
    std::vector<std::string> argv{"sbatch", "--parsable"};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    argv.push_back(script);
    std::string command;
    for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("sbatch: pipe: " + std::string(std::strerror(errno)));
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("sbatch: fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(out[1], STDERR_FILENO);
        close(out[0]);
        close(out[1]);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        execvp("sbatch", args.data());
        const std::string message = "cannot run sbatch: " + std::string(std::strerror(errno)) + " (is Slurm installed?)\n";
        (void)!write(STDOUT_FILENO, message.data(), message.size());
        _exit(127);
    }
    close(out[1]);
    std::string output;
    char buffer[4096];
    for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR);)
        if (n > 0) output.append(buffer, static_cast<std::size_t>(n));
    close(out[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("`" + command + "` failed: " + output);
    // --parsable prints "jobid" or "jobid;cluster".
    const std::string id = output.substr(0, output.find_first_of(";\n"));
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
        throw std::runtime_error("`" + command + "` printed no job id: " + output);
    return id;
}

}  // namespace ecgbench
