// The result store. Layout and semantics are documented in README "Store schema"; the SQL here is
// the source of truth for it.
#include "store/store.hpp"

#include "store/outputs.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <thread>
#include <utility>

#include <sqlite3.h>

#include <signal.h>
#include <sys/types.h>

namespace ecgbench {

namespace {

// PRAGMA application_id marks a file as ours ("ECGB"). A table called `schema_version` alone is not
// proof: plenty of applications have one, and we must never migrate someone else's database.
constexpr int kApplicationId = 0x45434742;
// Long enough to ride out another process's claim/finish transaction (they are all short), short
// enough that a wedged lock holder surfaces as an error rather than a silent hang.
constexpr int kBusyTimeoutMs = 30'000;
// A "running" run that has not heartbeated for this long is presumed dead even on another host,
// where its pid cannot be checked. The runner heartbeats far more often than this.
constexpr double kStaleHeartbeatHours = 6.0;

// ISO-8601 UTC with milliseconds, computed by SQLite so that every writer uses the same clock
// format and text order equals time order.
#define ECGBENCH_SQL_NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

struct Migration {
    int version;  // migration `version` brings a store from version-1 to version
    const char* description;
    const char* sql;
};

// Append-only. A released migration is never edited (stores in the wild have already run it):
// schema changes go in a new entry with the next version number. Each runs in its own IMMEDIATE
// transaction together with the row recording it in schema_version, so a crash leaves the store at
// the previous version, never half-migrated. A migration that must rebuild a table (SQLite's
// ALTER TABLE is limited) should create-copy-drop-rename inside its SQL; views referring to the
// table must be dropped and recreated by the same migration.
constexpr Migration kMigrations[] = {
    {1, "core tables", R"sql(
PRAGMA application_id = 1162037058;

CREATE TABLE schema_version (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  TEXT NOT NULL
);

CREATE TABLE experiments (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    file       TEXT NOT NULL,
    toml_text  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE cells (
    hash           TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('pretrain', 'eval')),
    config         TEXT NOT NULL CHECK (json_valid(config)),
    parent_hash    TEXT REFERENCES cells(hash),
    dataset        TEXT NOT NULL DEFAULT '',
    encoder        TEXT NOT NULL DEFAULT '',
    ssl            TEXT NOT NULL DEFAULT '',
    task           TEXT NOT NULL DEFAULT '',
    eval_dataset   TEXT NOT NULL DEFAULT '',
    protocol       TEXT NOT NULL DEFAULT '',
    label_fraction REAL NOT NULL DEFAULT 1.0,
    seed           INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);

CREATE TABLE experiment_cells (
    experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    cell_hash     TEXT NOT NULL REFERENCES cells(hash) ON DELETE CASCADE,
    PRIMARY KEY (experiment_id, cell_hash)
);

-- AUTOINCREMENT: ids are never reused, so "latest run" is simply the largest id.
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    cell_hash        TEXT NOT NULL REFERENCES cells(hash) ON DELETE CASCADE,
    status           TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'killed')),
    started_at       TEXT NOT NULL,
    ended_at         TEXT,
    heartbeat_at     TEXT NOT NULL,
    error            TEXT,
    host             TEXT NOT NULL,
    pid              INTEGER NOT NULL,
    git_commit       TEXT,
    library_versions TEXT CHECK (library_versions IS NULL OR json_valid(library_versions)),
    plugin_versions  TEXT CHECK (plugin_versions IS NULL OR json_valid(plugin_versions)),
    extra            TEXT CHECK (extra IS NULL OR json_valid(extra)),
    -- eval runs: the parent cell's latest finished run when this run was claimed, i.e. whose
    -- checkpoint it evaluates. Recorded in the claim transaction (timestamps are too coarse to
    -- tell a later forced re-pretraining apart).
    pretrain_run_id  INTEGER REFERENCES runs(id) ON DELETE SET NULL
);

-- value NULL stands for NaN (SQLite cannot store NaN), e.g. an AUROC undefined on one class.
CREATE TABLE metrics (
    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    split   TEXT NOT NULL,
    value   REAL,
    ci_low  REAL,
    ci_high REAL,
    PRIMARY KEY (run_id, name, split)
);

CREATE TABLE artifacts (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    path   TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes  INTEGER NOT NULL,
    UNIQUE (run_id, kind, path)
);

CREATE TABLE timings (
    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    phase   TEXT NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (run_id, phase)
);
)sql"},

    {2, "lookup indexes; results and provenance views", R"sql(
CREATE INDEX runs_by_cell ON runs(cell_hash, status, id);
CREATE INDEX cells_by_parent ON cells(parent_hash);
CREATE INDEX experiment_cells_by_cell ON experiment_cells(cell_hash);
CREATE INDEX artifacts_by_run ON artifacts(run_id, kind);

-- One row per metric of the latest finished run of each eval cell, once per experiment listing it.
CREATE VIEW results AS
WITH latest AS (
    SELECT cell_hash, MAX(id) AS run_id FROM runs WHERE status = 'finished' GROUP BY cell_hash
)
SELECT x.name           AS experiment,
       c.dataset        AS dataset,
       c.encoder        AS encoder,
       c.ssl            AS ssl,
       c.task           AS task,
       c.eval_dataset   AS eval_dataset,
       c.protocol       AS protocol,
       c.label_fraction AS label_fraction,
       c.seed           AS seed,
       m.name           AS metric,
       m.split          AS split,
       m.value          AS value,
       m.ci_low         AS ci_low,
       m.ci_high        AS ci_high,
       c.hash           AS cell_hash,
       l.run_id         AS run_id,
       c.parent_hash    AS pretrain_hash
FROM cells c
JOIN latest l            ON l.cell_hash = c.hash
JOIN metrics m           ON m.run_id = l.run_id
JOIN experiment_cells ec ON ec.cell_hash = c.hash
JOIN experiments x       ON x.id = ec.experiment_id
WHERE c.kind = 'eval';

-- One row per finished eval run. The checkpoint is that of the pretraining run recorded at claim
-- time, so a later forced re-pretraining does not rewrite the provenance of older evaluations.
CREATE VIEW provenance AS
SELECT r.id                                                AS run_id,
       c.hash                                              AS cell_hash,
       c.config                                            AS config,
       c.parent_hash                                       AS pretrain_hash,
       p.config                                            AS pretrain_config,
       json_extract(c.config, '$.dataset.plugin')          AS dataset_plugin,
       json_extract(c.config, '$.dataset.version')         AS dataset_version,
       json_extract(c.config, '$.dataset.fingerprint')     AS dataset_fingerprint,
       json_extract(c.config, '$.dataset.leads')           AS dataset_leads,
       json_extract(c.config, '$.dataset.sampling_rate_hz') AS dataset_sampling_rate_hz,
       json_extract(p.config, '$.dataset.fingerprint')     AS pretrain_dataset_fingerprint,
       pr.id                                               AS pretrain_run_id,
       (SELECT a.sha256 FROM artifacts a WHERE a.run_id = pr.id AND a.kind = 'checkpoint'
         ORDER BY a.rowid DESC LIMIT 1)                    AS checkpoint_sha256,
       (SELECT a.path FROM artifacts a WHERE a.run_id = pr.id AND a.kind = 'checkpoint'
         ORDER BY a.rowid DESC LIMIT 1)                    AS checkpoint_path,
       r.git_commit                                        AS git_commit,
       r.plugin_versions                                   AS plugin_versions,
       r.library_versions                                  AS library_versions,
       r.extra                                             AS extra,
       r.host                                              AS host,
       r.pid                                               AS pid,
       r.started_at                                        AS started_at,
       r.ended_at                                          AS ended_at
FROM runs r
JOIN cells c      ON c.hash = r.cell_hash AND c.kind = 'eval'
LEFT JOIN cells p ON p.hash = c.parent_hash
LEFT JOIN runs pr ON pr.id = r.pretrain_run_id
WHERE r.status = 'finished';
)sql"},
    {3, "dropped_records", R"sql(
CREATE TABLE dropped_records (
    fingerprint TEXT NOT NULL,
    dataset     TEXT NOT NULL,
    record      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (fingerprint, record)
);
)sql"},
    {4, "metric directions, per-record outputs, labelled pretraining in the results view", R"sql(
ALTER TABLE metrics ADD COLUMN higher_is_better INTEGER NOT NULL DEFAULT 1;

-- A task's per-record outputs of one split: a TSV (record_id, then one column per output) compressed
-- (zlib when this table was made, zstd since; `encoding` says which, store/outputs.hpp reads both);
-- sha256 is that of the uncompressed TSV. CIs, subgroup metrics and paired comparisons
-- are computed from these later, without re-running anything.
CREATE TABLE record_outputs (
    run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    split    TEXT NOT NULL,
    kind     TEXT NOT NULL,
    columns  TEXT NOT NULL CHECK (json_valid(columns)),
    records  INTEGER NOT NULL,
    encoding TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    bytes    INTEGER NOT NULL,
    data     BLOB NOT NULL,
    PRIMARY KEY (run_id, split, kind)
);

DROP VIEW results;
CREATE VIEW results AS
WITH latest AS (
    SELECT cell_hash, MAX(id) AS run_id FROM runs WHERE status = 'finished' GROUP BY cell_hash
)
SELECT x.name           AS experiment,
       c.dataset        AS dataset,
       c.encoder        AS encoder,
       c.ssl            AS ssl,
       c.task           AS task,
       c.eval_dataset   AS eval_dataset,
       c.protocol       AS protocol,
       c.label_fraction AS label_fraction,
       c.seed           AS seed,
       m.name           AS metric,
       m.split          AS split,
       m.value          AS value,
       m.ci_low         AS ci_low,
       m.ci_high        AS ci_high,
       c.hash           AS cell_hash,
       l.run_id         AS run_id,
       c.parent_hash    AS pretrain_hash,
       m.higher_is_better AS higher_is_better,
       COALESCE(json_extract(pr.extra, '$.uses_labels'), 0) AS pretrain_uses_labels
FROM cells c
JOIN latest l            ON l.cell_hash = c.hash
JOIN runs r              ON r.id = l.run_id
LEFT JOIN runs pr        ON pr.id = r.pretrain_run_id
JOIN metrics m           ON m.run_id = l.run_id
JOIN experiment_cells ec ON ec.cell_hash = c.hash
JOIN experiments x       ON x.id = ec.experiment_id
WHERE c.kind = 'eval';
)sql"},
    {5, "evaluation-time distribution shift of a cell", R"sql(
ALTER TABLE cells ADD COLUMN shift TEXT NOT NULL DEFAULT '';

-- shift_order: the order in which shift conditions were first declared (reports keep it: clean,
-- 24 dB, 12 dB, ... rather than alphabetical).
DROP VIEW results;
CREATE VIEW results AS
WITH latest AS (
    SELECT cell_hash, MAX(id) AS run_id FROM runs WHERE status = 'finished' GROUP BY cell_hash
)
SELECT x.name           AS experiment,
       c.dataset        AS dataset,
       c.encoder        AS encoder,
       c.ssl            AS ssl,
       c.task           AS task,
       c.eval_dataset   AS eval_dataset,
       c.protocol       AS protocol,
       c.label_fraction AS label_fraction,
       c.seed           AS seed,
       m.name           AS metric,
       m.split          AS split,
       m.value          AS value,
       m.ci_low         AS ci_low,
       m.ci_high        AS ci_high,
       c.hash           AS cell_hash,
       l.run_id         AS run_id,
       c.parent_hash    AS pretrain_hash,
       m.higher_is_better AS higher_is_better,
       COALESCE(json_extract(pr.extra, '$.uses_labels'), 0) AS pretrain_uses_labels,
       c.shift          AS shift,
       (SELECT MIN(s.rowid) FROM cells s WHERE s.shift = c.shift) AS shift_order
FROM cells c
JOIN latest l            ON l.cell_hash = c.hash
JOIN runs r              ON r.id = l.run_id
LEFT JOIN runs pr        ON pr.id = r.pretrain_run_id
JOIN metrics m           ON m.run_id = l.run_id
JOIN experiment_cells ec ON ec.cell_hash = c.hash
JOIN experiments x       ON x.id = ec.experiment_id
WHERE c.kind = 'eval';
)sql"},
    {6, "k-shot label budgets of evaluation cells", R"sql(
ALTER TABLE cells ADD COLUMN shots INTEGER NOT NULL DEFAULT 0;

DROP VIEW results;
CREATE VIEW results AS
WITH latest AS (
    SELECT cell_hash, MAX(id) AS run_id FROM runs WHERE status = 'finished' GROUP BY cell_hash
)
SELECT x.name           AS experiment,
       c.dataset        AS dataset,
       c.encoder        AS encoder,
       c.ssl            AS ssl,
       c.task           AS task,
       c.eval_dataset   AS eval_dataset,
       c.protocol       AS protocol,
       c.label_fraction AS label_fraction,
       c.seed           AS seed,
       m.name           AS metric,
       m.split          AS split,
       m.value          AS value,
       m.ci_low         AS ci_low,
       m.ci_high        AS ci_high,
       c.hash           AS cell_hash,
       l.run_id         AS run_id,
       c.parent_hash    AS pretrain_hash,
       m.higher_is_better AS higher_is_better,
       COALESCE(json_extract(pr.extra, '$.uses_labels'), 0) AS pretrain_uses_labels,
       c.shift          AS shift,
       (SELECT MIN(s.rowid) FROM cells s WHERE s.shift = c.shift) AS shift_order,
       c.shots          AS shots
FROM cells c
JOIN latest l            ON l.cell_hash = c.hash
JOIN runs r              ON r.id = l.run_id
LEFT JOIN runs pr        ON pr.id = r.pretrain_run_id
JOIN metrics m           ON m.run_id = l.run_id
JOIN experiment_cells ec ON ec.cell_hash = c.hash
JOIN experiments x       ON x.id = ec.experiment_id
WHERE c.kind = 'eval';
)sql"},
    {7, "an experiment's own names for the cells it shares with others", R"sql(
-- A cell's identity is its configuration, so two experiments can share it under different names
-- (an evaluation, column task, called "linear" in one and "linear-probe" in the other). cells keeps the names of
-- the experiment that stored it first; each link keeps the names its experiment gives (NULL in links
-- made before this migration: the cell's names).
ALTER TABLE experiment_cells ADD COLUMN dataset TEXT;
ALTER TABLE experiment_cells ADD COLUMN encoder TEXT;
ALTER TABLE experiment_cells ADD COLUMN ssl TEXT;
ALTER TABLE experiment_cells ADD COLUMN task TEXT;
ALTER TABLE experiment_cells ADD COLUMN eval_dataset TEXT;
ALTER TABLE experiment_cells ADD COLUMN protocol TEXT;

DROP VIEW results;
CREATE VIEW results AS
WITH latest AS (
    SELECT cell_hash, MAX(id) AS run_id FROM runs WHERE status = 'finished' GROUP BY cell_hash
)
SELECT x.name           AS experiment,
       COALESCE(ec.dataset, c.dataset) AS dataset,
       COALESCE(ec.encoder, c.encoder) AS encoder,
       COALESCE(ec.ssl, c.ssl) AS ssl,
       COALESCE(ec.task, c.task) AS task,
       COALESCE(ec.eval_dataset, c.eval_dataset) AS eval_dataset,
       COALESCE(ec.protocol, c.protocol) AS protocol,
       c.label_fraction AS label_fraction,
       c.seed           AS seed,
       m.name           AS metric,
       m.split          AS split,
       m.value          AS value,
       m.ci_low         AS ci_low,
       m.ci_high        AS ci_high,
       c.hash           AS cell_hash,
       l.run_id         AS run_id,
       c.parent_hash    AS pretrain_hash,
       m.higher_is_better AS higher_is_better,
       COALESCE(json_extract(pr.extra, '$.uses_labels'), 0) AS pretrain_uses_labels,
       c.shift          AS shift,
       (SELECT MIN(s.rowid) FROM cells s WHERE s.shift = c.shift) AS shift_order,
       c.shots          AS shots
FROM cells c
JOIN latest l            ON l.cell_hash = c.hash
JOIN runs r              ON r.id = l.run_id
LEFT JOIN runs pr        ON pr.id = r.pretrain_run_id
JOIN metrics m           ON m.run_id = l.run_id
JOIN experiment_cells ec ON ec.cell_hash = c.hash
JOIN experiments x       ON x.id = ec.experiment_id
WHERE c.kind = 'eval';
)sql"},
};

constexpr int kCurrentSchemaVersion = static_cast<int>(std::size(kMigrations));

std::runtime_error store_error(const std::string& path, const std::string& message) {
    return std::runtime_error("ecgbench store " + path + ": " + message);
}

// Runs `body`, turning SQLite's exceptions (which do not know the file name) into errors that name
// the store and the operation. Our own std::runtime_errors already name the path and pass through.
template <class F>
auto guarded(const std::string& path, const char* operation, F&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const SQLite::Exception& e) {
        throw store_error(path, std::string(operation) + ": " + e.what());
    }
}

std::string text(const SQLite::Column& column) {
    return column.isNull() ? std::string() : column.getString();
}

std::optional<double> optional_real(const SQLite::Column& column) {
    if (column.isNull()) return std::nullopt;
    return column.getDouble();
}

// NULL reads back as NaN: that is how finish() stores NaN (see the metrics table).
double real_or_nan(const SQLite::Column& column) {
    return column.isNull() ? std::numeric_limits<double>::quiet_NaN() : column.getDouble();
}

// Empty strings stand for "absent" in the C++ records; NULL is the honest SQL for that, and a NULL
// parent_hash is what lets the foreign key accept pretraining cells.
void bind_text_or_null(SQLite::Statement& statement, int index, const std::string& value) {
    if (value.empty())
        statement.bind(index);
    else
        statement.bind(index, value);
}

void bind_optional(SQLite::Statement& statement, int index, const std::optional<double>& value) {
    if (value && !std::isnan(*value))
        statement.bind(index, *value);
    else
        statement.bind(index);
}

// kill(pid, 0) probes without signalling. Only ESRCH proves the process is gone; EPERM means it
// exists under another user. Non-positive pids would address process groups, so they are treated
// as unknown (alive) and left to the heartbeat rule.
bool process_alive(std::int64_t pid) {
    if (pid <= 0 || pid > INT_MAX) return true;
    if (::kill(static_cast<pid_t>(pid), 0) == 0) return true;
    return errno != ESRCH;
}

CellRecord read_cell(SQLite::Statement& q) {
    CellRecord cell;
    cell.hash = text(q.getColumn(0));
    cell.kind = text(q.getColumn(1));
    cell.config = text(q.getColumn(2));
    cell.parent_hash = text(q.getColumn(3));
    cell.dataset = text(q.getColumn(4));
    cell.encoder = text(q.getColumn(5));
    cell.ssl = text(q.getColumn(6));
    cell.task = text(q.getColumn(7));
    cell.eval_dataset = text(q.getColumn(8));
    cell.protocol = text(q.getColumn(9));
    cell.label_fraction = q.getColumn(10).getDouble();
    cell.seed = q.getColumn(11).getInt64();
    return cell;
}

void insert_timings(SQLite::Database& db, std::int64_t run_id, const std::vector<TimingRecord>& timings) {
    SQLite::Statement insert(db, "INSERT INTO timings(run_id, phase, seconds) VALUES (?, ?, ?)");
    for (const auto& timing : timings) {
        insert.reset();
        insert.bind(1, static_cast<int64_t>(run_id));
        insert.bind(2, timing.phase);
        insert.bind(3, timing.seconds);
        insert.exec();
    }
}

// Status of a run inside the caller's transaction, or nullopt if there is no such run.
std::optional<RunStatus> run_status(SQLite::Database& db, std::int64_t run_id) {
    SQLite::Statement q(db, "SELECT status FROM runs WHERE id = ?");
    q.bind(1, static_cast<int64_t>(run_id));
    if (!q.executeStep()) return std::nullopt;
    return run_status_from_string(q.getColumn(0).getString());
}

}  // namespace

const char* to_string(RunStatus status) {
    switch (status) {
        case RunStatus::Running: return "running";
        case RunStatus::Finished: return "finished";
        case RunStatus::Failed: return "failed";
        case RunStatus::Killed: return "killed";
    }
    throw std::invalid_argument("invalid RunStatus value");
}

RunStatus run_status_from_string(const std::string& text) {
    if (text == "running") return RunStatus::Running;
    if (text == "finished") return RunStatus::Finished;
    if (text == "failed") return RunStatus::Failed;
    if (text == "killed") return RunStatus::Killed;
    throw std::invalid_argument("unknown run status '" + text + "'");
}

Store::Store(const std::string& path) : Store(path, kCurrentSchemaVersion) {}

Store::Store(const std::string& path, int target_version) : path_(path) { open(target_version); }

Store::~Store() = default;

int Store::current_schema_version() { return kCurrentSchemaVersion; }

void Store::create_at_version_for_testing(const std::string& path, int schema_version) {
    if (schema_version < 1 || schema_version > kCurrentSchemaVersion)
        throw std::invalid_argument("schema version " + std::to_string(schema_version) + " out of range");
    Store store(path, schema_version);
}

void Store::open(int target_version) {
    try {
        const auto parent = std::filesystem::path(path_).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent);
    } catch (const std::filesystem::filesystem_error& e) {
        throw store_error(path_, std::string("cannot create its directory: ") + e.what());
    }
    guarded(path_, "open", [&] {
        db_ = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
                                                 kBusyTimeoutMs);
    });
    // Before anything that writes (even the journal mode is written to the file header), so a
    // foreign file is refused untouched.
    check_identity();
    guarded(path_, "configure", [&] {
        // Per-connection settings: foreign keys are off by default in SQLite; NORMAL sync in WAL mode
        // cannot corrupt the file and only risks the last commits on power loss (not process crash).
        db_->exec("PRAGMA foreign_keys = ON");
        db_->exec("PRAGMA synchronous = NORMAL");
        enable_wal();
    });
    migrate(target_version);
}

void Store::enable_wal() {
    // WAL lets readers (reports) run alongside a writer, and it is persistent in the file, so only
    // the first open of a new store switches. Switching needs an exclusive lock, and SQLite answers
    // SQLITE_BUSY at once, without the busy handler, while other connections are opening the same
    // fresh file; hence the retry, bounded like the busy timeout. Filesystems without shared memory
    // keep the rollback journal, which is still correct, only less concurrent.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    for (;;) {
        try {
            if (db_->execAndGet("PRAGMA journal_mode").getString() != "wal")
                db_->execAndGet("PRAGMA journal_mode = WAL");
            return;
        } catch (const SQLite::Exception& e) {
            const int code = e.getErrorCode() & 0xff;
            if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || std::chrono::steady_clock::now() > deadline)
                throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

void Store::check_identity() {
    std::vector<std::string> objects;
    try {
        SQLite::Statement q(*db_,
                            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                            "AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name");
        while (q.executeStep()) objects.push_back(q.getColumn(0).getString());
    } catch (const SQLite::Exception& e) {
        // SQLite opens lazily; the first read is where a non-database file shows up.
        throw store_error(path_, std::string("not an SQLite database (") + e.what() + ")");
    }
    guarded(path_, "open", [&] {
        const int application_id = db_->execAndGet("PRAGMA application_id").getInt();
        if (objects.empty() && application_id == 0) return;  // new or empty file: becomes a store
        if (application_id != kApplicationId) {
            std::string list;
            for (const auto& name : objects) list += (list.empty() ? "" : ", ") + name;
            throw store_error(path_, "not an ecgbench result store (application_id " +
                                         std::to_string(application_id) + ", unknown tables: " +
                                         (list.empty() ? "none" : list) + ")");
        }
        const int version = read_schema_version();
        if (version > kCurrentSchemaVersion)
            throw store_error(path_, "schema version " + std::to_string(version) +
                                         " is newer than this build supports (" +
                                         std::to_string(kCurrentSchemaVersion) + "); use a newer ecgbench");
    });
}

int Store::read_schema_version() const {
    if (!db_->tableExists("schema_version")) return 0;
    return db_->execAndGet("SELECT COALESCE(MAX(version), 0) FROM schema_version").getInt();
}

void Store::migrate(int target_version) {
    guarded(path_, "migrate", [&] {
        // Fast path without a write lock: the usual open of an up-to-date store.
        if (read_schema_version() >= target_version) return;
        for (const auto& migration : kMigrations) {
            if (migration.version > target_version) break;
            SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
            // Re-read under the write lock: another process may have migrated meanwhile.
            const int version = read_schema_version();
            if (version >= migration.version) continue;
            if (version != migration.version - 1)
                throw store_error(path_, "schema version " + std::to_string(version) +
                                             " cannot take migration " + std::to_string(migration.version));
            db_->exec(migration.sql);
            SQLite::Statement record(*db_,
                                     "INSERT INTO schema_version(version, description, applied_at) "
                                     "VALUES (?, ?, " ECGBENCH_SQL_NOW ")");
            record.bind(1, migration.version);
            record.bind(2, migration.description);
            record.exec();
            transaction.commit();
        }
    });
}

int Store::schema_version() const {
    return guarded(path_, "schema_version", [&] { return read_schema_version(); });
}

std::int64_t Store::upsert_experiment(const std::string& name, const std::string& file,
                                      const std::string& toml_text) {
    if (name.empty()) throw store_error(path_, "experiment name must not be empty");
    return guarded(path_, "upsert_experiment", [&] {
        SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        // updated_at moves only when the definition actually changed, so it dates the last edit.
        SQLite::Statement upsert(*db_,
                                 "INSERT INTO experiments(name, file, toml_text, created_at, updated_at) "
                                 "VALUES (?1, ?2, ?3, " ECGBENCH_SQL_NOW ", " ECGBENCH_SQL_NOW ") "
                                 "ON CONFLICT(name) DO UPDATE SET file = excluded.file, "
                                 "toml_text = excluded.toml_text, updated_at = excluded.updated_at "
                                 "WHERE file IS NOT excluded.file OR toml_text IS NOT excluded.toml_text");
        upsert.bind(1, name);
        upsert.bind(2, file);
        upsert.bind(3, toml_text);
        upsert.exec();
        SQLite::Statement select(*db_, "SELECT id FROM experiments WHERE name = ?");
        select.bind(1, name);
        select.executeStep();
        const std::int64_t id = select.getColumn(0).getInt64();
        transaction.commit();
        return id;
    });
}

void Store::upsert_cell(std::int64_t experiment_id, const CellRecord& cell) {
    if (cell.hash.empty()) throw store_error(path_, "cell hash must not be empty");
    if (cell.kind != "pretrain" && cell.kind != "eval")
        throw store_error(path_, "cell " + cell.hash + " has kind '" + cell.kind +
                                     "' (expected 'pretrain' or 'eval')");
    guarded(path_, "upsert_cell", [&] {
        SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        {
            SQLite::Statement q(*db_, "SELECT 1 FROM experiments WHERE id = ?");
            q.bind(1, static_cast<int64_t>(experiment_id));
            if (!q.executeStep())
                throw store_error(path_, "upsert_cell " + cell.hash + ": no experiment with id " +
                                             std::to_string(experiment_id));
        }
        SQLite::Statement existing(*db_, "SELECT config FROM cells WHERE hash = ?");
        existing.bind(1, cell.hash);
        if (existing.executeStep()) {
            // The hash is the SHA-256 of the config: a different config under the same hash means
            // the caller's canonicalisation changed or the store was edited by hand. Either way
            // results would be attributed to the wrong configuration, so refuse loudly.
            if (existing.getColumn(0).getString() != cell.config)
                throw store_error(path_, "cell " + cell.hash +
                                             " is already stored with a different config");
        } else {
            if (!cell.parent_hash.empty()) {
                SQLite::Statement parent(*db_, "SELECT 1 FROM cells WHERE hash = ?");
                parent.bind(1, cell.parent_hash);
                if (!parent.executeStep())
                    throw store_error(path_, "cell " + cell.hash + " names parent cell " + cell.parent_hash +
                                                 ", which is not stored (upsert the pretraining cell first)");
            }
            SQLite::Statement insert(*db_,
                                     "INSERT INTO cells(hash, kind, config, parent_hash, dataset, encoder, ssl, "
                                     "task, eval_dataset, protocol, label_fraction, seed, shift, shots, created_at) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " ECGBENCH_SQL_NOW ")");
            insert.bind(1, cell.hash);
            insert.bind(2, cell.kind);
            insert.bind(3, cell.config);
            bind_text_or_null(insert, 4, cell.parent_hash);
            insert.bind(5, cell.dataset);
            insert.bind(6, cell.encoder);
            insert.bind(7, cell.ssl);
            insert.bind(8, cell.task);
            insert.bind(9, cell.eval_dataset);
            insert.bind(10, cell.protocol);
            insert.bind(11, cell.label_fraction);
            insert.bind(12, static_cast<int64_t>(cell.seed));
            insert.bind(13, cell.shift);
            insert.bind(14, static_cast<int64_t>(cell.shots));
            insert.exec();
        }
        // The link carries this experiment's names for the cell (a re-run after a rename updates them).
        SQLite::Statement link(*db_,
                               "INSERT INTO experiment_cells(experiment_id, cell_hash, dataset, encoder, ssl, task, "
                               "eval_dataset, protocol) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                               "ON CONFLICT(experiment_id, cell_hash) DO UPDATE SET dataset = excluded.dataset, "
                               "encoder = excluded.encoder, ssl = excluded.ssl, task = excluded.task, "
                               "eval_dataset = excluded.eval_dataset, protocol = excluded.protocol");
        link.bind(1, static_cast<int64_t>(experiment_id));
        link.bind(2, cell.hash);
        link.bind(3, cell.dataset);
        link.bind(4, cell.encoder);
        link.bind(5, cell.ssl);
        link.bind(6, cell.task);
        link.bind(7, cell.eval_dataset);
        link.bind(8, cell.protocol);
        link.exec();
        transaction.commit();
    });
}

Claim Store::claim(const std::string& cell_hash, const RunProvenance& provenance, bool force) {
    return guarded(path_, "claim", [&]() -> Claim {
        // IMMEDIATE takes the write lock before the first read, so no two claimants can both see
        // "nobody is running this cell" and both insert a run.
        SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        {
            SQLite::Statement q(*db_, "SELECT 1 FROM cells WHERE hash = ?");
            q.bind(1, cell_hash);
            if (!q.executeStep())
                throw store_error(path_, "cannot claim unknown cell " + cell_hash + " (upsert_cell it first)");
        }

        struct DeadRun {
            std::int64_t id;
            std::string error;
        };
        std::vector<DeadRun> dead;
        bool live_elsewhere = false;
        {
            SQLite::Statement running(*db_,
                                      "SELECT id, host, pid, heartbeat_at, "
                                      "(julianday('now') - julianday(heartbeat_at)) * 24.0 "
                                      "FROM runs WHERE cell_hash = ? AND status = 'running' ORDER BY id");
            running.bind(1, cell_hash);
            while (running.executeStep()) {
                const std::int64_t id = running.getColumn(0).getInt64();
                const std::string host = text(running.getColumn(1));
                const std::int64_t pid = running.getColumn(2).getInt64();
                const std::string heartbeat_at = text(running.getColumn(3));
                // NULL age (unparseable timestamp) counts as stale: nothing vouches for the run.
                const bool stale = running.getColumn(4).isNull() ||
                                   running.getColumn(4).getDouble() > kStaleHeartbeatHours;
                // The pid is only meaningful on the host that recorded it.
                const bool gone = host == provenance.host && !process_alive(pid);
                if (!gone && !stale) {
                    live_elsewhere = true;
                    continue;
                }
                std::string error = "process " + std::to_string(pid) + " on " + host + " died mid-run";
                if (!gone) error += " (no heartbeat since " + heartbeat_at + ")";
                dead.push_back({id, std::move(error)});
            }
        }
        // Dead runs are recorded as killed whatever this claim decides, so the store stops
        // reporting them as running.
        SQLite::Statement kill(*db_,
                               "UPDATE runs SET status = 'killed', error = ?, ended_at = " ECGBENCH_SQL_NOW
                               " WHERE id = ?");
        for (const auto& run : dead) {
            kill.reset();
            kill.bind(1, run.error);
            kill.bind(2, static_cast<int64_t>(run.id));
            kill.exec();
        }

        Claim claim{Claim::Result::Claimed, 0};
        if (!force) {
            SQLite::Statement finished(*db_, "SELECT 1 FROM runs WHERE cell_hash = ? AND status = 'finished' LIMIT 1");
            finished.bind(1, cell_hash);
            if (finished.executeStep()) claim.result = Claim::Result::AlreadyFinished;
        }
        if (claim.result == Claim::Result::Claimed && live_elsewhere) claim.result = Claim::Result::RunningElsewhere;

        if (claim.result == Claim::Result::Claimed) {
            SQLite::Statement insert(*db_,
                                     "INSERT INTO runs(cell_hash, status, started_at, heartbeat_at, host, pid, "
                                     "git_commit, library_versions, plugin_versions, extra, pretrain_run_id) "
                                     "VALUES (?1, 'running', " ECGBENCH_SQL_NOW ", " ECGBENCH_SQL_NOW
                                     ", ?2, ?3, ?4, ?5, ?6, ?7, "
                                     "(SELECT MAX(r.id) FROM runs r JOIN cells c ON r.cell_hash = c.parent_hash "
                                     " WHERE c.hash = ?1 AND r.status = 'finished'))");
            insert.bind(1, cell_hash);
            insert.bind(2, provenance.host);
            insert.bind(3, static_cast<int64_t>(provenance.pid));
            bind_text_or_null(insert, 4, provenance.git_commit);
            bind_text_or_null(insert, 5, provenance.library_versions);
            bind_text_or_null(insert, 6, provenance.plugin_versions);
            bind_text_or_null(insert, 7, provenance.extra);
            insert.exec();
            claim.run_id = db_->getLastInsertRowid();
        }
        transaction.commit();
        return claim;
    });
}

int Store::abandon_running(const std::string& reason) {
    return guarded(path_, "abandon_running", [&] {
        SQLite::Statement update(*db_,
                                 "UPDATE runs SET status = 'killed', error = ?, ended_at = " ECGBENCH_SQL_NOW
                                 " WHERE status = 'running'");
        update.bind(1, reason);
        return update.exec();
    });
}

void Store::finish(std::int64_t run_id, const std::vector<MetricRecord>& metrics,
                   const std::vector<ArtifactRecord>& artifacts, const std::vector<TimingRecord>& timings,
                   const std::vector<OutputRecord>& outputs) {
    guarded(path_, "finish", [&] {
        SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        const auto status = run_status(*db_, run_id);
        if (!status) throw store_error(path_, "finish: no run with id " + std::to_string(run_id));
        // "killed" is accepted: a claimant may have presumed this run dead (stale heartbeat) while
        // it was in fact still working, and its results are genuine.
        if (*status != RunStatus::Running && *status != RunStatus::Killed)
            throw store_error(path_, "finish: run " + std::to_string(run_id) + " is already " + to_string(*status));

        SQLite::Statement update(*db_,
                                 "UPDATE runs SET status = 'finished', error = NULL, ended_at = " ECGBENCH_SQL_NOW
                                 " WHERE id = ?");
        update.bind(1, static_cast<int64_t>(run_id));
        update.exec();

        SQLite::Statement metric(*db_,
                                 "INSERT INTO metrics(run_id, name, split, value, ci_low, ci_high, higher_is_better) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?)");
        for (const auto& m : metrics) {
            metric.reset();
            metric.bind(1, static_cast<int64_t>(run_id));
            metric.bind(2, m.name);
            metric.bind(3, m.split);
            bind_optional(metric, 4, m.value);
            bind_optional(metric, 5, m.ci_low);
            bind_optional(metric, 6, m.ci_high);
            metric.bind(7, m.higher_is_better ? 1 : 0);
            metric.exec();
        }
        SQLite::Statement artifact(*db_,
                                   "INSERT INTO artifacts(run_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?)");
        for (const auto& a : artifacts) {
            artifact.reset();
            artifact.bind(1, static_cast<int64_t>(run_id));
            artifact.bind(2, a.kind);
            artifact.bind(3, a.path);
            artifact.bind(4, a.sha256);
            artifact.bind(5, static_cast<int64_t>(a.bytes));
            artifact.exec();
        }
        SQLite::Statement output(*db_,
                                 "INSERT INTO record_outputs(run_id, split, kind, columns, records, encoding, sha256, bytes, data) "
                                 "VALUES (?, ?, ?, ?, ?, 'tsv+zstd', ?, ?, ?)");  // outputs.hpp
        for (const auto& o : outputs) {
            const EncodedOutputs encoded = encode_outputs(o);
            output.reset();
            output.bind(1, static_cast<int64_t>(run_id));
            output.bind(2, o.split);
            output.bind(3, o.kind);
            output.bind(4, json_string_array(o.columns));
            output.bind(5, static_cast<int64_t>(o.record_ids.size()));
            output.bind(6, encoded.sha256);
            output.bind(7, static_cast<int64_t>(encoded.bytes));
            output.bind(8, encoded.compressed.data(), static_cast<int>(encoded.compressed.size()));
            output.exec();
        }
        insert_timings(*db_, run_id, timings);
        transaction.commit();
    });
}

void Store::fail(std::int64_t run_id, const std::string& error, RunStatus status,
                 const std::vector<TimingRecord>& timings) {
    if (status != RunStatus::Failed && status != RunStatus::Killed)
        throw store_error(path_, std::string("fail: status must be failed or killed, not ") + to_string(status));
    guarded(path_, "fail", [&] {
        SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        const auto current = run_status(*db_, run_id);
        if (!current) throw store_error(path_, "fail: no run with id " + std::to_string(run_id));
        // A run presumed killed by a claimant may still report its real error, which says more.
        if (*current != RunStatus::Running && *current != RunStatus::Killed)
            throw store_error(path_, "fail: run " + std::to_string(run_id) + " is already " + to_string(*current));
        SQLite::Statement update(*db_,
                                 "UPDATE runs SET status = ?, error = ?, ended_at = " ECGBENCH_SQL_NOW " WHERE id = ?");
        update.bind(1, to_string(status));
        update.bind(2, error);
        update.bind(3, static_cast<int64_t>(run_id));
        update.exec();
        insert_timings(*db_, run_id, timings);
        transaction.commit();
    });
}

void Store::heartbeat(std::int64_t run_id) {
    guarded(path_, "heartbeat", [&] {
        SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        if (!run_status(*db_, run_id))
            throw store_error(path_, "heartbeat: no run with id " + std::to_string(run_id));
        SQLite::Statement update(*db_,
                                 "UPDATE runs SET heartbeat_at = " ECGBENCH_SQL_NOW
                                 " WHERE id = ? AND status = 'running'");
        update.bind(1, static_cast<int64_t>(run_id));
        update.exec();
        transaction.commit();
    });
}

void Store::set_run_extra(std::int64_t run_id, const std::string& json) {
    guarded(path_, "set_run_extra", [&] {
        SQLite::Statement update(*db_, "UPDATE runs SET extra = json(?) WHERE id = ?");
        update.bind(1, json);
        update.bind(2, static_cast<int64_t>(run_id));
        if (update.exec() != 1) throw store_error(path_, "set_run_extra: no run with id " + std::to_string(run_id));
    });
}

void Store::record_dropped(const std::string& fingerprint, const std::string& dataset,
                           const std::vector<DroppedRecordRow>& records) {
    if (records.empty()) return;
    guarded(path_, "record_dropped", [&] {
        SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        SQLite::Statement insert(*db_,
                                 "INSERT OR IGNORE INTO dropped_records (fingerprint, dataset, record, reason, recorded_at) "
                                 "VALUES (?, ?, ?, ?, " ECGBENCH_SQL_NOW ")");
        for (const auto& row : records) {
            insert.bind(1, fingerprint);
            insert.bind(2, dataset);
            insert.bind(3, row.record);
            insert.bind(4, row.reason);
            insert.exec();
            insert.reset();
        }
        transaction.commit();
    });
}

std::vector<DroppedRecordRow> Store::dropped_records(const std::string& fingerprint) const {
    return guarded(path_, "dropped_records", [&] {
        SQLite::Statement q(*db_, "SELECT record, reason FROM dropped_records WHERE fingerprint = ? ORDER BY record");
        q.bind(1, fingerprint);
        std::vector<DroppedRecordRow> rows;
        while (q.executeStep()) rows.push_back({text(q.getColumn(0)), text(q.getColumn(1))});
        return rows;
    });
}

std::optional<RunRecord> Store::latest_run(const std::string& cell_hash) const {
    return guarded(path_, "latest_run", [&]() -> std::optional<RunRecord> {
        SQLite::Statement q(*db_,
                            "SELECT id, cell_hash, status, started_at, ended_at, error, host, pid "
                            "FROM runs WHERE cell_hash = ? ORDER BY id DESC LIMIT 1");
        q.bind(1, cell_hash);
        if (!q.executeStep()) return std::nullopt;
        RunRecord run;
        run.id = q.getColumn(0).getInt64();
        run.cell_hash = text(q.getColumn(1));
        run.status = run_status_from_string(text(q.getColumn(2)));
        run.started_at = text(q.getColumn(3));
        run.ended_at = text(q.getColumn(4));
        run.error = text(q.getColumn(5));
        run.host = text(q.getColumn(6));
        run.pid = q.getColumn(7).getInt64();
        return run;
    });
}

bool Store::has_finished(const std::string& cell_hash) const {
    return guarded(path_, "has_finished", [&] {
        SQLite::Statement q(*db_, "SELECT 1 FROM runs WHERE cell_hash = ? AND status = 'finished' LIMIT 1");
        q.bind(1, cell_hash);
        return q.executeStep();
    });
}

std::optional<ArtifactRecord> Store::finished_artifact(const std::string& cell_hash, const std::string& kind) const {
    return guarded(path_, "finished_artifact", [&]() -> std::optional<ArtifactRecord> {
        // Only the latest finished run counts: an older run's artifact belongs to superseded results.
        SQLite::Statement q(*db_,
                            "SELECT kind, path, sha256, bytes FROM artifacts WHERE kind = ?2 AND run_id = "
                            "(SELECT MAX(id) FROM runs WHERE cell_hash = ?1 AND status = 'finished') "
                            "ORDER BY rowid DESC LIMIT 1");
        q.bind(1, cell_hash);
        q.bind(2, kind);
        if (!q.executeStep()) return std::nullopt;
        ArtifactRecord artifact;
        artifact.kind = text(q.getColumn(0));
        artifact.path = text(q.getColumn(1));
        artifact.sha256 = text(q.getColumn(2));
        artifact.bytes = q.getColumn(3).getInt64();
        return artifact;
    });
}

std::vector<MetricRecord> Store::finished_metrics(const std::string& cell_hash) const {
    return guarded(path_, "finished_metrics", [&] {
        SQLite::Statement q(*db_,
                            "SELECT name, split, value, ci_low, ci_high FROM metrics WHERE run_id = "
                            "(SELECT MAX(id) FROM runs WHERE cell_hash = ? AND status = 'finished') "
                            "ORDER BY rowid");
        q.bind(1, cell_hash);
        std::vector<MetricRecord> metrics;
        while (q.executeStep()) {
            MetricRecord m;
            m.name = text(q.getColumn(0));
            m.split = text(q.getColumn(1));
            m.value = real_or_nan(q.getColumn(2));
            m.ci_low = optional_real(q.getColumn(3));
            m.ci_high = optional_real(q.getColumn(4));
            metrics.push_back(std::move(m));
        }
        return metrics;
    });
}

std::vector<FlatResult> Store::results(const std::string& experiment) const {
    return guarded(path_, "results", [&] {
        SQLite::Statement q(*db_,
                            "SELECT experiment, dataset, encoder, ssl, task, eval_dataset, protocol, "
                            "label_fraction, seed, metric, split, value, ci_low, ci_high, cell_hash, higher_is_better, "
                            "pretrain_uses_labels, shift, shift_order, run_id, shots FROM results WHERE experiment = ? "
                            "ORDER BY dataset, encoder, ssl, task, eval_dataset, protocol, label_fraction, shots, "
                            "shift_order, seed, metric, split, cell_hash");
        q.bind(1, experiment);
        std::vector<FlatResult> rows;
        while (q.executeStep()) {
            FlatResult r;
            r.experiment = text(q.getColumn(0));
            r.dataset = text(q.getColumn(1));
            r.encoder = text(q.getColumn(2));
            r.ssl = text(q.getColumn(3));
            r.task = text(q.getColumn(4));
            r.eval_dataset = text(q.getColumn(5));
            r.protocol = text(q.getColumn(6));
            r.label_fraction = q.getColumn(7).getDouble();
            r.seed = q.getColumn(8).getInt64();
            r.metric = text(q.getColumn(9));
            r.split = text(q.getColumn(10));
            r.value = real_or_nan(q.getColumn(11));
            r.ci_low = optional_real(q.getColumn(12));
            r.ci_high = optional_real(q.getColumn(13));
            r.cell_hash = text(q.getColumn(14));
            r.higher_is_better = q.getColumn(15).getInt() != 0;
            r.pretrain_uses_labels = q.getColumn(16).getInt() != 0;
            r.shift = text(q.getColumn(17));
            r.shift_order = q.getColumn(18).getInt64();
            r.run_id = q.getColumn(19).getInt64();
            r.shots = q.getColumn(20).getInt64();
            rows.push_back(std::move(r));
        }
        return rows;
    });
}

std::vector<std::string> Store::experiments() const {
    return guarded(path_, "experiments", [&] {
        SQLite::Statement q(*db_, "SELECT name FROM experiments ORDER BY name");
        std::vector<std::string> names;
        while (q.executeStep()) names.push_back(q.getColumn(0).getString());
        return names;
    });
}

std::optional<CellRecord> Store::cell(const std::string& hash) const {
    return guarded(path_, "cell", [&]() -> std::optional<CellRecord> {
        SQLite::Statement q(*db_,
                            "SELECT hash, kind, config, parent_hash, dataset, encoder, ssl, task, "
                            "eval_dataset, protocol, label_fraction, seed, shots FROM cells WHERE hash = ?");
        q.bind(1, hash);
        if (!q.executeStep()) return std::nullopt;
        CellRecord cell = read_cell(q);
        cell.shots = q.getColumn(12).getInt64();
        return cell;
    });
}

std::vector<ExperimentEvalCell> Store::experiment_eval_cells(const std::string& experiment) const {
    return guarded(path_, "experiment_eval_cells", [&] {
        SQLite::Statement known(*db_, "SELECT COUNT(*) FROM experiments WHERE name = ?");
        known.bind(1, experiment);
        known.executeStep();
        if (known.getColumn(0).getInt() == 0)
            throw store_error(path_, "no experiment '" + experiment + "' (run it first)");
        SQLite::Statement q(*db_,
                            "SELECT c.hash, c.kind, c.config, c.parent_hash, COALESCE(ec.dataset, c.dataset), "
                            "COALESCE(ec.encoder, c.encoder), COALESCE(ec.ssl, c.ssl), COALESCE(ec.task, c.task), "
                            "COALESCE(ec.eval_dataset, c.eval_dataset), COALESCE(ec.protocol, c.protocol), "
                            "c.label_fraction, c.seed, c.shift, "
                            "(SELECT MIN(s.rowid) FROM cells s WHERE s.shift = c.shift), "
                            "(SELECT r.status FROM runs r WHERE r.cell_hash = c.hash ORDER BY r.id DESC LIMIT 1), "
                            "(SELECT r.error FROM runs r WHERE r.cell_hash = c.hash ORDER BY r.id DESC LIMIT 1), "
                            "(SELECT r.status FROM runs r WHERE r.cell_hash = c.parent_hash ORDER BY r.id DESC LIMIT 1), "
                            "COALESCE(json_extract(c.config, '$.shift.noise'), json_extract(c.config, '$.shift.noise_record'), ''), "
                            "json_extract(c.config, '$.shift.snr_db'), "
                            "COALESCE(json_array_length(c.config, '$.shift.leads'), json_extract(c.config, '$.shift.random_leads'), 0), "
                            "COALESCE(json_array_length(c.config, '$.dataset.leads'), 0), "
                            "json_type(c.config, '$.shift.bandwidth_hz') IS NOT NULL OR json_type(c.config, '$.shift.resample_hz') IS NOT NULL, "
                            "c.shots "
                            "FROM cells c JOIN experiment_cells ec ON ec.cell_hash = c.hash "
                            "JOIN experiments x ON x.id = ec.experiment_id "
                            "WHERE x.name = ? AND c.kind = 'eval' ORDER BY c.rowid");
        q.bind(1, experiment);
        std::vector<ExperimentEvalCell> cells;
        while (q.executeStep()) {
            ExperimentEvalCell e;
            e.cell = read_cell(q);
            e.cell.shift = text(q.getColumn(12));
            e.shift_order = q.getColumn(13).getInt64();
            if (!q.getColumn(14).isNull()) e.status = run_status_from_string(q.getColumn(14).getString());
            e.error = text(q.getColumn(15));
            if (!q.getColumn(16).isNull()) e.pretrain_status = run_status_from_string(q.getColumn(16).getString());
            e.shift_noise = text(q.getColumn(17));
            e.shift_snr_db = optional_real(q.getColumn(18));
            e.shift_leads = q.getColumn(19).getInt64();
            e.leads = q.getColumn(20).getInt64();
            e.shift_band = q.getColumn(21).getInt() != 0;
            e.cell.shots = q.getColumn(22).getInt64();
            cells.push_back(std::move(e));
        }
        return cells;
    });
}

ExperimentProvenance Store::experiment_provenance(const std::string& experiment) const {
    return guarded(path_, "experiment_provenance", [&] {
        ExperimentProvenance p;
        SQLite::Statement x(*db_, "SELECT id, file, toml_text, updated_at FROM experiments WHERE name = ?");
        x.bind(1, experiment);
        if (!x.executeStep()) throw store_error(path_, "no experiment '" + experiment + "' (run it first)");
        const std::int64_t id = x.getColumn(0).getInt64();
        p.file = text(x.getColumn(1));
        p.toml_text = text(x.getColumn(2));
        p.updated_at = text(x.getColumn(3));
        SQLite::Statement runs(*db_,
                               "SELECT r.id, c.hash, c.kind, r.status, r.started_at, COALESCE(r.ended_at, ''), r.host, "
                               "COALESCE(r.git_commit, ''), COALESCE(r.library_versions, '{}'), "
                               "COALESCE(r.plugin_versions, '{}'), "
                               "(SELECT COALESCE(SUM(t.seconds), 0) FROM timings t WHERE t.run_id = r.id) "
                               "FROM experiment_cells ec JOIN cells c ON c.hash = ec.cell_hash "
                               "JOIN runs r ON r.id = (SELECT MAX(id) FROM runs WHERE cell_hash = c.hash) "
                               "WHERE ec.experiment_id = ? ORDER BY r.id");
        runs.bind(1, static_cast<int64_t>(id));
        while (runs.executeStep()) {
            ExperimentProvenance::Run r;
            r.id = runs.getColumn(0).getInt64();
            r.cell_hash = text(runs.getColumn(1));
            r.kind = text(runs.getColumn(2));
            r.status = text(runs.getColumn(3));
            r.started_at = text(runs.getColumn(4));
            r.ended_at = text(runs.getColumn(5));
            r.host = text(runs.getColumn(6));
            r.git_commit = text(runs.getColumn(7));
            r.library_versions = text(runs.getColumn(8));
            r.plugin_versions = text(runs.getColumn(9));
            r.seconds = runs.getColumn(10).getDouble();
            p.runs.push_back(std::move(r));
        }
        SQLite::Statement dropped(*db_,
                                  "WITH used AS (SELECT DISTINCT json_extract(c.config, '$.dataset.fingerprint') AS fp "
                                  "FROM experiment_cells ec JOIN cells c ON c.hash = ec.cell_hash WHERE ec.experiment_id = ?) "
                                  "SELECT d.dataset, d.fingerprint, COUNT(*) FROM dropped_records d "
                                  "JOIN used ON used.fp = d.fingerprint GROUP BY d.fingerprint, d.dataset ORDER BY d.dataset");
        dropped.bind(1, static_cast<int64_t>(id));
        while (dropped.executeStep())
            p.dropped.push_back({text(dropped.getColumn(0)), text(dropped.getColumn(1)), dropped.getColumn(2).getInt64()});
        return p;
    });
}

#undef ECGBENCH_SQL_NOW

}  // namespace ecgbench
