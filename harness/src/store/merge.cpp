#include "store/merge.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace ecgbench {

namespace {

std::string text(const SQLite::Column& column) { return column.isNull() ? std::string() : column.getString(); }

/// What a finished run produced, compared across stores: a run with artifacts (a pretraining run)
/// is its artifacts' content; one without (an evaluation) is its metrics. Timings and throughput are
/// measurements of the machine, not results, and are left out by construction.
struct RunResult {
    std::set<std::pair<std::string, std::string>> artifacts;  ///< (kind, sha256)
    std::map<std::pair<std::string, std::string>, std::tuple<std::optional<double>, std::optional<double>, std::optional<double>>>
        metrics;  ///< (name, split) -> (value, ci_low, ci_high)
};

std::optional<double> real(const SQLite::Column& column) {
    if (column.isNull()) return std::nullopt;
    return column.getDouble();
}

RunResult read_result(SQLite::Database& db, const std::string& schema, std::int64_t run_id) {
    RunResult result;
    SQLite::Statement artifacts(db, "SELECT kind, sha256 FROM " + schema + ".artifacts WHERE run_id = ?");
    artifacts.bind(1, static_cast<int64_t>(run_id));
    while (artifacts.executeStep()) result.artifacts.emplace(text(artifacts.getColumn(0)), text(artifacts.getColumn(1)));
    if (!result.artifacts.empty()) return result;
    SQLite::Statement metrics(db, "SELECT name, split, value, ci_low, ci_high FROM " + schema + ".metrics WHERE run_id = ?");
    metrics.bind(1, static_cast<int64_t>(run_id));
    while (metrics.executeStep())
        result.metrics[{text(metrics.getColumn(0)), text(metrics.getColumn(1))}] = {
            real(metrics.getColumn(2)), real(metrics.getColumn(3)), real(metrics.getColumn(4))};
    return result;
}

std::string format(const std::optional<double>& value) {
    if (!value) return "NaN";
    std::ostringstream out;
    out.precision(17);
    out << *value;
    return out.str();
}

/// The first difference between two results, in words ("" = equal).
std::string difference(const RunResult& a, const RunResult& b) {
    if (a.artifacts != b.artifacts) {
        auto describe = [](const RunResult& r) {
            std::string s;
            for (const auto& [kind, sha] : r.artifacts) s += (s.empty() ? "" : ", ") + kind + " " + sha.substr(0, 16);
            return s.empty() ? std::string("no artifacts") : s;
        };
        return describe(a) + " vs " + describe(b);
    }
    for (const auto& [key, values] : a.metrics) {
        const auto other = b.metrics.find(key);
        if (other == b.metrics.end()) return "metric " + key.first + " (" + key.second + ") only in the first";
        if (values != other->second)
            return "metric " + key.first + " (" + key.second + ") " + format(std::get<0>(values)) + " vs " +
                   format(std::get<0>(other->second));
    }
    for (const auto& [key, values] : b.metrics)
        if (!a.metrics.count(key)) return "metric " + key.first + " (" + key.second + ") only in the second";
    return "";
}

/// ATTACHes the shard for the lifetime of the object (ATTACH/DETACH cannot run inside a transaction).
class Attached {
public:
    Attached(SQLite::Database& db, const std::string& path) : db_(db) {
        SQLite::Statement attach(db_, "ATTACH DATABASE ? AS shard");
        attach.bind(1, path);
        attach.exec();
    }
    ~Attached() {
        try {
            db_.exec("DETACH DATABASE shard");
        } catch (const SQLite::Exception&) {
            // Closing the main connection detaches it anyway.
        }
    }
    Attached(const Attached&) = delete;
    Attached& operator=(const Attached&) = delete;

private:
    SQLite::Database& db_;
};

class Merger {
public:
    // `filtered`: only the cells in temp.merge_only are copied.
    Merger(SQLite::Database& db, std::string main_path, std::string shard_path, bool filtered)
        : db_(db), main_path_(std::move(main_path)), shard_path_(std::move(shard_path)), filtered_(filtered) {}

    MergeSummary run() {
        merge_experiments();
        merge_cells();
        db_.exec("INSERT OR IGNORE INTO main.experiment_cells(experiment_id, cell_hash, dataset, encoder, ssl, "
                 "task, eval_dataset, protocol) "
                 "SELECT m.id, l.cell_hash, l.dataset, l.encoder, l.ssl, l.task, l.eval_dataset, l.protocol "
                 "FROM shard.experiment_cells l "
                 "JOIN shard.experiments s ON s.id = l.experiment_id JOIN main.experiments m ON m.name = s.name WHERE " +
                 kept("l.cell_hash"));
        if (!filtered_)
            db_.exec("INSERT OR IGNORE INTO main.dropped_records(fingerprint, dataset, record, reason, recorded_at) "
                     "SELECT fingerprint, dataset, record, reason, recorded_at FROM shard.dropped_records");
        merge_runs();
        return summary_;
    }

private:
    [[noreturn]] void conflict(const std::string& message) const {
        throw std::runtime_error("merge of " + shard_path_ + " into " + main_path_ + ": " + message);
    }

    // An SQL condition on the cell hash `column`: true when the merge copies that cell.
    std::string kept(const std::string& column) const {
        return filtered_ ? column + " IN (SELECT hash FROM temp.merge_only)" : "true";
    }

    void merge_experiments() {
        // The main store's row wins: every shard of one submission carries the same file and text.
        db_.exec("INSERT INTO main.experiments(name, file, toml_text, created_at, updated_at) "
                 "SELECT name, file, toml_text, created_at, updated_at FROM shard.experiments e WHERE " +
                 (filtered_ ? "EXISTS (SELECT 1 FROM shard.experiment_cells l WHERE l.experiment_id = e.id AND " +
                                  kept("l.cell_hash") + ")"
                            : std::string("true")) +
                 " ON CONFLICT(name) DO NOTHING");
    }

    void merge_cells() {
        // Pretraining cells first: an evaluation cell's parent must exist.
        SQLite::Statement cells(db_, "SELECT s.hash, s.config, m.config FROM shard.cells s "
                                     "LEFT JOIN main.cells m ON m.hash = s.hash WHERE " + kept("s.hash") +
                                     " ORDER BY s.kind = 'eval', s.rowid");
        SQLite::Statement insert(db_,
                                 "INSERT INTO main.cells(hash, kind, config, parent_hash, dataset, encoder, ssl, task, "
                                 "eval_dataset, protocol, label_fraction, seed, shift, shots, created_at) "
                                 "SELECT hash, kind, config, parent_hash, dataset, encoder, ssl, task, eval_dataset, protocol, "
                                 "label_fraction, seed, shift, shots, created_at FROM shard.cells WHERE hash = ?");
        while (cells.executeStep()) {
            const std::string hash = text(cells.getColumn(0));
            if (!cells.getColumn(2).isNull()) {
                if (text(cells.getColumn(1)) != text(cells.getColumn(2)))
                    conflict("cell " + hash + " is stored with a different config in each");
                continue;
            }
            insert.reset();
            insert.bind(1, hash);
            insert.exec();
            ++summary_.cells_added;
        }
    }

    struct ShardRun {
        std::int64_t id;
        std::string cell, status, host, started_at, ended_at, error;
        std::int64_t pid;
        std::optional<std::int64_t> pretrain_run_id;
    };

    std::vector<ShardRun> shard_runs() {
        std::vector<ShardRun> runs;
        SQLite::Statement q(db_, "SELECT id, cell_hash, status, host, pid, started_at, ended_at, error, pretrain_run_id "
                                 "FROM shard.runs WHERE " + kept("cell_hash") + " ORDER BY id");
        while (q.executeStep()) {
            ShardRun run{q.getColumn(0).getInt64(), text(q.getColumn(1)), text(q.getColumn(2)), text(q.getColumn(3)),
                         text(q.getColumn(5)),      text(q.getColumn(6)), text(q.getColumn(7)), q.getColumn(4).getInt64(),
                         std::nullopt};
            if (!q.getColumn(8).isNull()) run.pretrain_run_id = q.getColumn(8).getInt64();
            runs.push_back(std::move(run));
        }
        return runs;
    }

    /// The same run already in the main store: (status, ended_at, error, id).
    std::optional<std::tuple<std::string, std::string, std::string, std::int64_t>> same_run(const ShardRun& run) {
        SQLite::Statement q(db_, "SELECT status, ended_at, error, id FROM main.runs "
                                 "WHERE cell_hash = ? AND host = ? AND pid = ? AND started_at = ?");
        q.bind(1, run.cell);
        q.bind(2, run.host);
        q.bind(3, static_cast<int64_t>(run.pid));
        q.bind(4, run.started_at);
        if (!q.executeStep()) return std::nullopt;
        return std::make_tuple(text(q.getColumn(0)), text(q.getColumn(1)), text(q.getColumn(2)), q.getColumn(3).getInt64());
    }

    /// Finished runs of `cell` in the main store that did not come from this shard in this merge.
    std::vector<std::int64_t> finished_elsewhere(const std::string& cell) {
        std::vector<std::int64_t> ids;
        SQLite::Statement q(db_, "SELECT id FROM main.runs WHERE cell_hash = ? AND status = 'finished' ORDER BY id DESC");
        q.bind(1, cell);
        while (q.executeStep()) {
            const std::int64_t id = q.getColumn(0).getInt64();
            if (!added_.count(id)) ids.push_back(id);
        }
        return ids;
    }

    void merge_runs() {
        std::map<std::int64_t, std::int64_t> mapped;  // shard run id -> main run id
        for (const ShardRun& run : shard_runs()) {
            const std::string what = "run " + std::to_string(run.id) + " of cell " + run.cell.substr(0, 10);
            if (run.status == "running") {
                ++summary_.runs_running;
                continue;
            }
            if (const auto present = same_run(run)) {
                const auto& [status, ended_at, error, id] = *present;
                if (status != run.status || ended_at != run.ended_at || error != run.error)
                    conflict(what + " (claimed on " + run.host + " pid " + std::to_string(run.pid) + " at " + run.started_at +
                             ") is " + run.status + " in " + shard_path_ + " but " + status + " in " + main_path_);
                mapped[run.id] = id;
                ++summary_.runs_present;
                continue;
            }
            const auto finished = finished_elsewhere(run.cell);
            if (!finished.empty() && run.status != "finished") {
                ++summary_.runs_superseded;
                continue;
            }
            if (!finished.empty()) {
                const std::string diff = difference(read_result(db_, "main", finished.front()), read_result(db_, "shard", run.id));
                if (!diff.empty())
                    conflict("cell " + run.cell + " has different finished results: run " + std::to_string(finished.front()) +
                             " in " + main_path_ + " and run " + std::to_string(run.id) + " in " + shard_path_ + " (" + diff +
                             ")");
                mapped[run.id] = finished.front();
                ++summary_.runs_same_result;
                continue;
            }
            const std::int64_t id = copy_run(run, mapped);
            mapped[run.id] = id;
            added_.insert(id);
            ++summary_.runs_added;
        }
    }

    std::int64_t copy_run(const ShardRun& run, const std::map<std::int64_t, std::int64_t>& mapped) {
        SQLite::Statement insert(db_,
                                 "INSERT INTO main.runs(cell_hash, status, started_at, ended_at, heartbeat_at, error, host, pid, "
                                 "git_commit, library_versions, plugin_versions, extra, pretrain_run_id) "
                                 "SELECT cell_hash, status, started_at, ended_at, heartbeat_at, error, host, pid, git_commit, "
                                 "library_versions, plugin_versions, extra, ? FROM shard.runs WHERE id = ?");
        // The pretraining run an evaluation used, as copied (or recognised) in the main store.
        const auto parent = run.pretrain_run_id ? mapped.find(*run.pretrain_run_id) : mapped.end();
        if (parent != mapped.end())
            insert.bind(1, static_cast<int64_t>(parent->second));
        else
            insert.bind(1);
        insert.bind(2, static_cast<int64_t>(run.id));
        insert.exec();
        const std::int64_t id = db_.getLastInsertRowid();
        const char* children[] = {
            "INSERT INTO main.metrics(run_id, name, split, value, ci_low, ci_high, higher_is_better) "
            "SELECT ?1, name, split, value, ci_low, ci_high, higher_is_better FROM shard.metrics WHERE run_id = ?2",
            "INSERT INTO main.artifacts(run_id, kind, path, sha256, bytes) "
            "SELECT ?1, kind, path, sha256, bytes FROM shard.artifacts WHERE run_id = ?2",
            "INSERT INTO main.timings(run_id, phase, seconds) SELECT ?1, phase, seconds FROM shard.timings WHERE run_id = ?2",
            "INSERT INTO main.record_outputs(run_id, split, kind, columns, records, encoding, sha256, bytes, data) "
            "SELECT ?1, split, kind, columns, records, encoding, sha256, bytes, data FROM shard.record_outputs WHERE run_id = ?2"};
        for (const char* sql : children) {
            SQLite::Statement copy(db_, sql);
            copy.bind(1, static_cast<int64_t>(id));
            copy.bind(2, static_cast<int64_t>(run.id));
            copy.exec();
        }
        return id;
    }

    SQLite::Database& db_;
    std::string main_path_, shard_path_;
    bool filtered_ = false;
    MergeSummary summary_;
    std::set<std::int64_t> added_;  ///< main run ids inserted by this merge
};

}  // namespace

MergeSummary merge_store(Store& main, const std::string& shard_path, const std::optional<std::set<std::string>>& only_cells) {
    namespace fs = std::filesystem;
    if (!fs::exists(shard_path)) throw std::runtime_error("merge: no store shard at " + shard_path);
    std::error_code ec;
    if (fs::equivalent(main.path(), shard_path, ec))
        throw std::runtime_error("merge: " + shard_path + " is the main store itself");
    // Opening it as a Store checks it is an ecgbench store and brings it to this build's schema.
    { Store shard(shard_path); }
    SQLite::Database& db = main.database();
    try {
        Attached attached(db, shard_path);
        SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
        if (only_cells) {
            db.exec("CREATE TEMP TABLE IF NOT EXISTS merge_only(hash TEXT PRIMARY KEY)");
            db.exec("DELETE FROM temp.merge_only");
            SQLite::Statement insert(db, "INSERT OR IGNORE INTO temp.merge_only(hash) VALUES (?)");
            for (const auto& hash : *only_cells) {
                insert.reset();
                insert.bind(1, hash);
                insert.exec();
            }
        }
        const MergeSummary summary = Merger(db, main.path(), shard_path, only_cells.has_value()).run();
        transaction.commit();
        return summary;
    } catch (const SQLite::Exception& e) {
        throw std::runtime_error("merge of " + shard_path + " into " + main.path() + ": " + e.what());
    }
}

}  // namespace ecgbench
