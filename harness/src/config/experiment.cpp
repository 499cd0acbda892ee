// Experiment files: TOML -> Experiment, with every error located at file:line:column.
//
// The parser is deliberately strict (unknown keys, wrong types, empty or duplicated lists are all
// errors) because a silently ignored typo in an experiment file costs hours of compute and
// produces results that look valid. Plugin-specific checks need manifests and live in
// validate_experiment(), so files can be parsed (and syntax-checked) without loading plugins.
#include "config/experiment.hpp"

#include "config/overrides.hpp"

#include "ecgbench/leads.hpp"
#include "util/json.hpp"
#include "util/text.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string_view>
#include <tuple>
#include <utility>

namespace ecgbench {

std::string SourceLocation::str() const {
    if (line <= 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ConfigError::ConfigError(const SourceLocation& where, const std::string& message)
    : std::runtime_error(where.str().empty() ? message : where.str() + ": " + message), where_(where) {}

const DatasetDecl& Experiment::dataset(const std::string& wanted) const {
    for (const DatasetDecl& decl : datasets) {
        if (decl.name == wanted) return decl;
    }
    throw std::out_of_range("experiment '" + name + "' declares no dataset named '" + wanted + "'");
}

namespace {

const char* type_name(toml::node_type type) {
    switch (type) {
        case toml::node_type::table: return "table";
        case toml::node_type::array: return "array";
        case toml::node_type::string: return "string";
        case toml::node_type::integer: return "integer";
        case toml::node_type::floating_point: return "float";
        case toml::node_type::boolean: return "boolean";
        case toml::node_type::date: return "date";
        case toml::node_type::time: return "time";
        case toml::node_type::date_time: return "date-time";
        case toml::node_type::none: break;
    }
    return "nothing";
}

// Our own names rather than to_string(PluginKind): the messages below need a fixed wording
// ("an encoder plugin", "a task plugin") that tests and users can rely on.
const char* kind_noun(PluginKind kind) {
    switch (kind) {
        case PluginKind::Dataset: return "dataset";
        case PluginKind::Encoder: return "encoder";
        case PluginKind::Ssl: return "ssl";
        case PluginKind::Task: return "task";
    }
    return "unknown";
}

// By sound, not spelling: "an ssl" is read "an es-es-el".
std::string with_article(PluginKind kind) {
    const bool an = kind == PluginKind::Encoder || kind == PluginKind::Ssl;
    return std::string(an ? "an " : "a ") + kind_noun(kind);
}

std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

/// Shortest text that reads back as `value`, so messages show numbers as the user wrote them.
std::string number_text(double value) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

bool valid_experiment_name(const std::string& name) {
    if (name.empty()) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return std::isalnum(u) || c == '_' || c == '.' || c == '-';
    });
}

/// A key/value pair of a table, with the key's own location.
struct Entry {
    std::string key;
    const toml::key* key_node;
    const toml::node* value;
};

/// Entries in document order. toml::table iterates sorted by key; reporting the first problem
/// in reading order is what a user fixing errors one by one expects.
std::vector<Entry> in_document_order(const toml::table& table) {
    std::vector<Entry> entries;
    for (auto&& [key, value] : table) entries.push_back({std::string(key.str()), &key, &value});
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        const auto& pa = a.key_node->source().begin;
        const auto& pb = b.key_node->source().begin;
        return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
    });
    return entries;
}

/// Parses one document. `section` strings name where a key lives, e.g. "[pretrain]".
class Parser {
public:
    Parser(std::string file, std::vector<std::string> overrides)
        : file_(std::move(file)), overrides_(std::move(overrides)) {}

    Experiment parse(const std::string& text);

private:
    SourceLocation at(const toml::source_region& region) const {
        // Nodes a --set override put there are named by it ("--set #2"), without line and column.
        if (region.path && *region.path != file_) return {*region.path, 0, 0};
        return {file_, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
    }
    SourceLocation at(const toml::node& node) const { return at(node.source()); }

    [[noreturn]] void fail(const SourceLocation& where, const std::string& message) const {
        throw ConfigError(where, message);
    }

    static std::string in(const std::string& section) {
        return section.empty() ? "at the top level" : "in " + section;
    }

    [[noreturn]] void wrong_type(const toml::node& node, const std::string& key, const std::string& section,
                                 const std::string& expected) const {
        fail(at(node), "wrong type for " + quote(key) + " " + in(section) + ": expected " + expected + ", found " +
                           type_name(node.type()));
    }

    [[noreturn]] void missing(const toml::table& table, const std::string& key, const std::string& section) const {
        fail(at(table), "missing required key " + quote(key) + " " + in(section));
    }

    void check_keys(const toml::table& table, const std::vector<std::string>& allowed,
                    const std::string& section) const {
        for (const Entry& entry : in_document_order(table)) {
            if (std::find(allowed.begin(), allowed.end(), entry.key) != allowed.end()) continue;
            fail(at(entry.key_node->source()), "unknown key " + quote(entry.key) + " " + in(section) +
                                                   did_you_mean(entry.key, allowed));
        }
    }

    std::string string_value(const toml::node& node, const std::string& key, const std::string& section) const {
        const auto* value = node.as_string();
        if (!value) wrong_type(node, key, section, "string");
        return value->get();
    }

    std::optional<std::string> optional_string(const toml::table& table, const std::string& key,
                                               const std::string& section) const {
        const toml::node* node = table.get(key);
        if (!node) return std::nullopt;
        return string_value(*node, key, section);
    }

    /// A required, non-empty string.
    std::string required_string(const toml::table& table, const std::string& key, const std::string& section) const {
        const toml::node* node = table.get(key);
        if (!node) missing(table, key, section);
        std::string value = string_value(*node, key, section);
        if (value.empty()) fail(at(*node), quote(key) + " " + in(section) + " must not be empty");
        return value;
    }

    /// `value` of `key`, failing at `node` when below `minimum`.
    std::int64_t at_least(std::int64_t value, std::int64_t minimum, const toml::node& node, const std::string& key,
                          const std::string& section) const {
        if (value < minimum)
            fail(at(node), quote(key) + " " + in(section) + " must be >= " + std::to_string(minimum) + ", found " +
                               std::to_string(value));
        return value;
    }
    double positive_learning_rate(const toml::node& node, const std::string& section) const {
        const double value = number_value(node, "learning_rate", section);
        if (value <= 0) fail(at(node), "'learning_rate' " + in(section) + " must be > 0");
        return value;
    }
    double non_negative_weight_decay(const toml::node& node, const std::string& section) const {
        const double value = number_value(node, "weight_decay", section);
        if (value < 0) fail(at(node), "'weight_decay' " + in(section) + " must be >= 0");
        return value;
    }

    std::int64_t integer_value(const toml::node& node, const std::string& key, const std::string& section) const {
        const auto* value = node.as_integer();
        if (!value) wrong_type(node, key, section, "integer");
        return value->get();
    }

    /// An integer or a float, as a finite double (a learning rate of 1 is as valid as 1.0).
    double number_value(const toml::node& node, const std::string& key, const std::string& section) const {
        double number = 0;
        if (const auto* integer = node.as_integer()) {
            number = static_cast<double>(integer->get());
        } else if (const auto* floating = node.as_floating_point()) {
            number = floating->get();
        } else {
            wrong_type(node, key, section, "number");
        }
        // Non-finite values cannot be written to the canonical JSON that identifies a cell.
        if (!std::isfinite(number)) fail(at(node), quote(key) + " " + in(section) + " must be a finite number");
        return number;
    }

    const toml::array& array_value(const toml::node& node, const std::string& key, const std::string& section,
                                   const std::string& expected) const {
        const auto* array = node.as_array();
        if (!array) wrong_type(node, key, section, expected);
        if (array->empty()) fail(at(node), quote(key) + " " + in(section) + " must not be empty");
        return *array;
    }

    /// A non-empty array of strings without duplicates; each string with its location.
    std::vector<std::pair<std::string, SourceLocation>> string_list(const toml::node& node, const std::string& key,
                                                                   const std::string& section) const {
        std::vector<std::pair<std::string, SourceLocation>> out;
        for (const toml::node& element : array_value(node, key, section, "array of strings")) {
            const auto* value = element.as_string();
            if (!value) fail(at(element), "wrong type for an element of " + quote(key) + " " + in(section) +
                                              ": expected string, found " + type_name(element.type()));
            for (const auto& [seen, where] : out) {
                if (seen == value->get())
                    fail(at(element), "duplicate " + quote(seen) + " in " + quote(key) + " " + in(section));
            }
            out.emplace_back(value->get(), at(element));
        }
        return out;
    }

    /// Names of [[dataset]] entries referenced from `key`, each checked against the declarations.
    /// The name of an entry with `preprocess_variants` stands for all its variants, in order.
    std::vector<std::string> dataset_references(const toml::node& node, const std::string& key,
                                                const std::string& section, const Experiment& experiment) const {
        const std::vector<std::string> declared = referable_datasets(experiment);
        std::vector<std::string> names;
        for (auto& [name, where] : string_list(node, key, section)) {
            if (std::find(declared.begin(), declared.end(), name) == declared.end()) {
                std::string hint = did_you_mean(name, declared);
                if (hint.empty()) hint = " (declared datasets: " + join(declared, ", ") + ")";
                fail(where, "unknown dataset " + quote(name) + " in " + quote(key) + " " + in(section) + hint);
            }
            std::vector<std::string> expanded = variants_of(experiment, name);
            if (expanded.empty()) expanded.push_back(name);
            for (const auto& one : expanded) {
                if (std::find(names.begin(), names.end(), one) != names.end()) {
                    std::string hint;
                    for (const auto& [entry, variants] : variants_)
                        if (std::find(variants.begin(), variants.end(), one) != variants.end())
                            hint = " (" + quote(entry) + " stands for all its preprocessing variants)";
                    fail(where, "dataset " + quote(one) + " appears twice in " + quote(key) + " " + in(section) + hint);
                }
                names.push_back(one);
            }
        }
        return names;
    }

    /// Every name a reference may use: each declaration's, and each variant entry's own name.
    std::vector<std::string> referable_datasets(const Experiment& experiment) const {
        std::vector<std::string> out;
        for (const DatasetDecl& decl : experiment.datasets) {
            for (const auto& [entry, names] : variants_)
                if (names.front() == decl.name) out.push_back(entry);
            out.push_back(decl.name);
        }
        return out;
    }

    /// The variants' names of entry `name` (empty when it declares none).
    std::vector<std::string> variants_of(const Experiment&, const std::string& name) const {
        const auto it = variants_.find(name);
        return it == variants_.end() ? std::vector<std::string>{} : it->second;
    }

    ParamValue param_value(const toml::node& node, const std::string& key, const std::string& section) const {
        static const std::string kAllowed =
            " (params may be integers, floats, booleans, strings or arrays of strings)";
        switch (node.type()) {
            case toml::node_type::integer: return node.as_integer()->get();
            case toml::node_type::boolean: return node.as_boolean()->get();
            case toml::node_type::string: return node.as_string()->get();
            case toml::node_type::floating_point: {
                const double value = node.as_floating_point()->get();
                if (!std::isfinite(value))
                    fail(at(node), "param " + quote(key) + " " + in(section) + " must be a finite number");
                return value;
            }
            case toml::node_type::array: {
                std::vector<std::string> strings;
                for (const toml::node& element : *node.as_array()) {
                    const auto* text = element.as_string();
                    if (!text)
                        fail(at(node), "param " + quote(key) + " " + in(section) +
                                           " has an unsupported type: array holding " + type_name(element.type()) +
                                           kAllowed);
                    strings.push_back(text->get());
                }
                return strings;
            }
            default: break;
        }
        fail(at(node), "param " + quote(key) + " " + in(section) + " has an unsupported type: " +
                           type_name(node.type()) + kAllowed);
    }

    /// `plugin_key` (or `task`) plus the optional `params` table, as inline table or sub-table.
    PluginRef plugin_ref(const toml::table& table, const std::string& plugin_key, const std::string& section) const {
        PluginRef ref;
        ref.plugin = required_string(table, plugin_key, section);
        ref.where = at(table.find(plugin_key)->first.source());
        const toml::node* params = table.get("params");
        if (!params) return ref;
        const toml::table* params_table = params->as_table();
        if (!params_table) wrong_type(*params, "params", section, "table");
        const std::string params_section = section.empty() ? "params" : section + " params";
        for (const Entry& entry : in_document_order(*params_table)) {
            ref.raw[entry.key] = param_value(*entry.value, entry.key, params_section);
            ref.param_where[entry.key] = at(entry.key_node->source());
        }
        return ref;
    }

    /// A top-level array of tables ([[dataset]] etc.); null when absent and optional.
    const toml::array* table_array(const toml::table& root, const std::string& key, bool required) const {
        const std::string header = "[[" + key + "]]";
        const toml::node* node = root.get(key);
        if (!node) {
            if (required) fail(at(root), "missing required " + header + " (declare at least one)");
            return nullptr;
        }
        const toml::array* array = node->as_array();
        if (!array || !array->is_array_of_tables()) {
            // An empty array is technically not an array of tables; say what is wrong with it.
            if (array && array->empty()) {
                if (required) fail(at(*node), "at least one " + header + " is required");
                return array;
            }
            wrong_type(*node, key, "", "array of tables (" + header + ")");
        }
        return array;
    }

    const toml::table& required_table(const toml::table& root, const std::string& key) const {
        const toml::node* node = root.get(key);
        if (!node) fail(at(root), "missing required table [" + key + "]");
        const toml::table* table = node->as_table();
        if (!table) wrong_type(*node, key, "", "table ([" + key + "])");
        return *table;
    }

    /// Records `name` as declared at `where`; a second declaration is an error.
    void claim_name(std::map<std::string, SourceLocation>& seen, const std::string& name, const SourceLocation& where,
                    const std::string& what, const std::string& hint) const {
        auto [it, inserted] = seen.emplace(name, where);
        if (!inserted)
            fail(where, "duplicate " + what + " name " + quote(name) + " (first declared at " + it->second.str() + ")" +
                            hint);
    }

    /// `preprocess_variants` entries: the entry's name → its variants' dataset names, in order.
    mutable std::map<std::string, std::vector<std::string>> variants_;

    void parse_experiment_table(const toml::table& root, Experiment& experiment) const;
    void parse_datasets(const toml::table& root, Experiment& experiment) const;
    std::vector<PreprocessStep> preprocess_steps(const toml::node& node, const std::string& dataset) const;
    std::vector<ModelDecl> parse_models(const toml::table& root, const std::string& key, const Experiment& experiment) const;
    void parse_pretrain(const toml::table& root, Experiment& experiment) const;
    BudgetOverride budget_override(const toml::node& node, const std::string& section) const;
    void parse_evaluations(const toml::table& root, Experiment& experiment) const;
    void parse_slurm(const toml::table& root, Experiment& experiment) const;
    void check_profiles(const toml::table& root) const;
    void slurm_resources(const toml::table& table, const std::string& section, SlurmResources& resources) const;
    std::vector<ShiftDecl> shift_conditions(const toml::node& node, const std::string& evaluation, const Experiment& experiment) const;

    std::string file_;
    std::vector<std::string> overrides_;
};

void Parser::parse_experiment_table(const toml::table& root, Experiment& experiment) const {
    const std::string section = "[experiment]";
    const toml::table& table = required_table(root, "experiment");
    check_keys(table, {"name", "description"}, section);
    experiment.name = required_string(table, "name", section);
    if (!valid_experiment_name(experiment.name))
        fail(at(*table.get("name")), "experiment name " + quote(experiment.name) +
                                         " may only contain letters, digits, '_', '.' and '-'");
    experiment.description = optional_string(table, "description", section).value_or("");
}

void Parser::parse_datasets(const toml::table& root, Experiment& experiment) const {
    const std::string section = "[[dataset]]";
    std::map<std::string, SourceLocation> names;
    for (const toml::node& node : *table_array(root, "dataset", true)) {
        const toml::table& table = *node.as_table();
        check_keys(table, {"name", "plugin", "leads", "params", "preprocess", "preprocess_variants", "cache"}, section);
        DatasetDecl decl;
        decl.where = at(table);
        decl.name = required_string(table, "name", section);
        claim_name(names, decl.name, at(*table.get("name")), "dataset", "");
        decl.ref = plugin_ref(table, "plugin", section);
        if (const toml::node* leads = table.get("leads")) {
            for (const toml::node& element : array_value(*leads, "leads", section, "array of strings")) {
                const auto* label = element.as_string();
                if (!label)
                    fail(at(element), "wrong type for an element of 'leads' " + in(section) +
                                          ": expected string, found " + type_name(element.type()));
                const std::optional<std::string> canonical = canonical_lead_name(label->get());
                if (!canonical)
                    fail(at(element), "unknown lead " + quote(label->get()) + " in dataset " + quote(decl.name) +
                                          " (standard leads: " + join(standard_12_leads(), ", ") + ")");
                // Compare canonical names: "ii" and "II" are the same lead.
                if (std::find(decl.leads.begin(), decl.leads.end(), *canonical) != decl.leads.end())
                    fail(at(element), "duplicate lead " + quote(*canonical) + " in dataset " + quote(decl.name));
                decl.leads.push_back(*canonical);
            }
        }
        if (const toml::node* steps = table.get("preprocess")) decl.preprocess = preprocess_steps(*steps, decl.name);
        if (const toml::node* cache = table.get("cache")) {
            const auto* flag = cache->as_boolean();
            if (!flag) wrong_type(*cache, "cache", section, "boolean");
            decl.cache = flag->get();
        }
        const toml::node* variants = table.get("preprocess_variants");
        if (!variants) {
            experiment.datasets.push_back(std::move(decl));
            continue;
        }
        // One declaration per variant, named "<name>/<variant>": the entry's steps, then the variant's.
        const toml::table* grid = variants->as_table();
        if (!grid || grid->empty())
            wrong_type(*variants, "preprocess_variants", section,
                       "non-empty table of named step lists ({ raw = [], bandpass = [{ step = \"bandpass\" }] })");
        for (const Entry& entry : in_document_order(*grid)) {
            if (!valid_experiment_name(entry.key))
                fail(at(entry.key_node->source()), "preprocessing variant name " + quote(entry.key) + " of dataset " + quote(decl.name) +
                                                       " may only contain letters, digits, '_', '.' and '-'");
            DatasetDecl variant = decl;
            variant.name = decl.name + "/" + entry.key;
            variants_[decl.name].push_back(variant.name);
            variant.where = at(entry.key_node->source());
            claim_name(names, variant.name, variant.where, "dataset", "");
            const auto steps = preprocess_steps(*entry.value, variant.name);
            variant.preprocess.insert(variant.preprocess.end(), steps.begin(), steps.end());
            experiment.datasets.push_back(std::move(variant));
        }
    }
}

std::vector<PreprocessStep> Parser::preprocess_steps(const toml::node& node, const std::string& dataset) const {
    const std::string section = "'preprocess' of dataset " + quote(dataset);
    const toml::array* array = node.as_array();
    if (!array || (!array->empty() && !array->is_array_of_tables()))
        wrong_type(node, "preprocess", "[[dataset]]", "array of tables ([{ step = \"resample\", hz = 100.0 }, ...])");
    std::vector<PreprocessStep> steps;
    for (const toml::node& element : *array) {
        const toml::table& table = *element.as_table();
        const std::string name = required_string(table, "step", section);
        const std::vector<ParamSpec>* schema = nullptr;
        try {
            schema = &preprocess_step_schema(name);
        } catch (const std::invalid_argument& e) {
            fail(at(*table.get("step")), std::string(e.what()) + " in " + section);
        }
        std::map<std::string, ParamValue> raw;
        std::map<std::string, SourceLocation> where;
        std::vector<std::string> known;
        for (const ParamSpec& spec : *schema) known.push_back(spec.name);
        for (const Entry& entry : in_document_order(table)) {
            if (entry.key == "step") continue;
            if (std::find(known.begin(), known.end(), entry.key) == known.end())
                fail(at(entry.key_node->source()), "unknown key " + quote(entry.key) + " for preprocess step " + quote(name) +
                                                       " in " + section + did_you_mean(entry.key, known) +
                                                       (known.empty() ? " (it takes no parameters)" : " (keys: " + join(known, ", ") + ")"));
            raw[entry.key] = param_value(*entry.value, entry.key, section);
            where[entry.key] = at(entry.key_node->source());
        }
        try {
            steps.push_back({name, validate_params(*schema, raw)});
        } catch (const std::invalid_argument& e) {
            SourceLocation location = at(table);
            for (const auto& [key, loc] : where)
                if (std::string(e.what()).find("'" + key + "'") != std::string::npos) location = loc;
            fail(location, std::string(e.what()) + " in preprocess step " + quote(name) + " of dataset " + quote(dataset));
        }
    }
    return steps;
}

std::vector<ModelDecl> Parser::parse_models(const toml::table& root, const std::string& key, const Experiment& experiment) const {
    const std::string section = "[[" + key + "]]";
    const bool ssl = key == "ssl";
    std::vector<std::string> encoder_names;
    for (const ModelDecl& encoder : experiment.encoders) encoder_names.push_back(encoder.name);
    std::vector<ModelDecl> models;
    std::map<std::string, SourceLocation> names;
    for (const toml::node& node : *table_array(root, key, true)) {
        const toml::table& table = *node.as_table();
        if (ssl) {
            check_keys(table, {"name", "plugin", "params", "encoders", "pretrain"}, section);
        } else {
            check_keys(table, {"name", "plugin", "params"}, section);
        }
        ModelDecl decl;
        decl.where = at(table);
        decl.ref = plugin_ref(table, "plugin", section);
        const toml::node* name = table.get("name");
        decl.name = name ? required_string(table, "name", section) : decl.ref.plugin;
        // Two unnamed entries of one plugin (say, two parameterisations) collide on the default.
        claim_name(names, decl.name, name ? at(*name) : decl.where, key,
                   name ? "" : "; give each " + section + " a distinct 'name'");
        if (const toml::node* encoders = ssl ? table.get("encoders") : nullptr) {
            for (auto& [encoder, where] : string_list(*encoders, "encoders", section)) {
                if (std::find(encoder_names.begin(), encoder_names.end(), encoder) == encoder_names.end()) {
                    std::string hint = did_you_mean(encoder, encoder_names);
                    if (hint.empty()) hint = " (declared encoders: " + join(encoder_names, ", ") + ")";
                    fail(where, "unknown encoder " + quote(encoder) + " in 'encoders' " + in(section) + hint);
                }
                decl.encoders.push_back(encoder);
            }
        }
        if (const toml::node* budget = ssl ? table.get("pretrain") : nullptr) decl.budget = budget_override(*budget, section);
        models.push_back(std::move(decl));
    }
    return models;
}

BudgetOverride Parser::budget_override(const toml::node& node, const std::string& section) const {
    const toml::table* table = node.as_table();
    if (!table) wrong_type(node, "pretrain", section, "table");
    const std::string where = section + " pretrain";
    check_keys(*table, {"epochs", "max_steps", "learning_rate", "weight_decay"}, where);
    BudgetOverride budget;
    if (const toml::node* n = table->get("epochs")) budget.epochs = at_least(integer_value(*n, "epochs", where), 1, *n, "epochs", where);
    if (const toml::node* n = table->get("max_steps"))
        budget.max_steps = at_least(integer_value(*n, "max_steps", where), 0, *n, "max_steps", where);
    if (const toml::node* n = table->get("learning_rate")) budget.learning_rate = positive_learning_rate(*n, where);
    if (const toml::node* n = table->get("weight_decay")) budget.weight_decay = non_negative_weight_decay(*n, where);
    return budget;
}

void Parser::parse_pretrain(const toml::table& root, Experiment& experiment) const {
    const std::string section = "[pretrain]";
    const toml::table& table = required_table(root, "pretrain");
    check_keys(table, {"datasets", "seeds", "epochs", "batch_size", "max_steps", "learning_rate", "weight_decay", "device",
                       "optimizer", "momentum", "warmup_fraction", "grad_clip_norm", "ema_decay", "precision",
                       "checkpoint_every"},
               section);
    PretrainDecl& pretrain = experiment.pretrain;
    pretrain.where = at(table);

    const toml::node* datasets = table.get("datasets");
    if (!datasets) missing(table, "datasets", section);
    pretrain.datasets = dataset_references(*datasets, "datasets", section, experiment);

    if (const toml::node* seeds = table.get("seeds")) {
        pretrain.seeds.clear();
        for (const toml::node& element : array_value(*seeds, "seeds", section, "array of integers")) {
            const auto* seed = element.as_integer();
            if (!seed)
                fail(at(element), "wrong type for an element of 'seeds' " + in(section) +
                                      ": expected integer, found " + type_name(element.type()));
            if (seed->get() < 0) fail(at(element), "seeds " + in(section) + " must be >= 0, found " +
                                                       std::to_string(seed->get()));
            if (std::find(pretrain.seeds.begin(), pretrain.seeds.end(), seed->get()) != pretrain.seeds.end())
                fail(at(element), "duplicate seed " + std::to_string(seed->get()) + " " + in(section));
            pretrain.seeds.push_back(seed->get());
        }
    }

    // Integer settings with their inclusive lower bounds.
    const std::pair<const char*, std::int64_t*> integers[] = {
        {"epochs", &pretrain.epochs}, {"batch_size", &pretrain.batch_size}, {"max_steps", &pretrain.max_steps},
        {"checkpoint_every", &pretrain.checkpoint_every}};
    const std::int64_t minimum[] = {1, 2, 0, 0};
    for (std::size_t i = 0; i < std::size(integers); ++i) {
        const toml::node* node = table.get(integers[i].first);
        if (!node) continue;
        *integers[i].second = at_least(integer_value(*node, integers[i].first, section), minimum[i], *node, integers[i].first, section);
    }

    if (const toml::node* node = table.get("learning_rate")) pretrain.learning_rate = positive_learning_rate(*node, section);
    if (const toml::node* node = table.get("weight_decay")) pretrain.weight_decay = non_negative_weight_decay(*node, section);
    // Real-valued settings with their inclusive ranges.
    const std::tuple<const char*, double*, double, double> reals[] = {
        {"momentum", &pretrain.momentum, 0.0, 1.0},
        {"warmup_fraction", &pretrain.warmup_fraction, 0.0, 1.0},
        {"grad_clip_norm", &pretrain.grad_clip_norm, 0.0, 1e12},
        {"ema_decay", &pretrain.ema_decay, 0.0, 1.0}};
    for (const auto& [key, target, low, high] : reals) {
        const toml::node* node = table.get(key);
        if (!node) continue;
        const double value = number_value(*node, key, section);
        if (value < low || value > high || (std::string(key) == "ema_decay" && value >= 1.0))
            fail(at(*node), quote(key) + " " + in(section) + " must be in [" + number_text(low) + ", " +
                                number_text(high) + (std::string(key) == "ema_decay" ? ")" : "]") + ", found " +
                                number_text(value));
        *target = value;
    }
    // String settings with their allowed values.
    const std::tuple<const char*, std::string*, std::vector<std::string>> choices[] = {
        {"device", &pretrain.device, {"cpu", "cuda", "auto"}},
        {"optimizer", &pretrain.optimizer, {"adamw", "sgd"}},
        {"precision", &pretrain.precision, {"fp32", "bf16"}}};
    for (const auto& [key, target, allowed] : choices) {
        const toml::node* node = table.get(key);
        if (!node) continue;
        *target = string_value(*node, key, section);
        if (std::find(allowed.begin(), allowed.end(), *target) == allowed.end()) {
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            fail(at(*node), quote(key) + " " + in(section) + " must be one of " + list + "; found " + quote(*target) +
                                did_you_mean(*target, allowed));
        }
    }
}

void Parser::parse_evaluations(const toml::table& root, Experiment& experiment) const {
    const std::string section = "[[evaluation]]";
    const toml::array* evaluations = table_array(root, "evaluation", false);
    if (!evaluations) return;
    std::map<std::string, SourceLocation> names;
    for (const toml::node& node : *evaluations) {
        const toml::table& table = *node.as_table();
        check_keys(table, {"name", "task", "datasets", "label_fractions", "shots", "params", "shifts", "leave_one_out"}, section);
        EvaluationDecl decl;
        decl.where = at(table);
        decl.task = plugin_ref(table, "task", section);
        const toml::node* name = table.get("name");
        decl.name = name ? required_string(table, "name", section) : decl.task.plugin;
        claim_name(names, decl.name, name ? at(*name) : decl.where, "evaluation",
                   name ? "" : "; give each " + section + " a distinct 'name'");

        const toml::node* datasets = table.get("datasets");
        if (!datasets) missing(table, "datasets", section);
        decl.datasets = dataset_references(*datasets, "datasets", section, experiment);

        if (const toml::node* fractions = table.get("label_fractions")) {
            decl.label_fractions.clear();
            for (const toml::node& element : array_value(*fractions, "label_fractions", section, "array of numbers")) {
                const double fraction = number_value(element, "label_fractions", section);
                if (!(fraction > 0 && fraction <= 1))
                    fail(at(element), "label fractions " + in(section) + " must be in (0, 1], found " +
                                          number_text(fraction));
                if (std::find(decl.label_fractions.begin(), decl.label_fractions.end(), fraction) !=
                    decl.label_fractions.end())
                    fail(at(element), "duplicate label fraction in 'label_fractions' " + in(section));
                decl.label_fractions.push_back(fraction);
            }
        }
        if (const toml::node* shots = table.get("shots")) {
            for (const toml::node& element : array_value(*shots, "shots", section, "array of integers")) {
                const std::int64_t k = integer_value(element, "shots", section);
                if (k < 1 || k > 100000) fail(at(element), "shots " + in(section) + " must be in [1, 100000], found " + std::to_string(k));
                if (std::find(decl.shots.begin(), decl.shots.end(), k) != decl.shots.end())
                    fail(at(element), "duplicate " + std::to_string(k) + " in 'shots' " + in(section));
                decl.shots.push_back(k);
            }
        }
        if (const toml::node* shifts = table.get("shifts")) decl.shifts = shift_conditions(*shifts, decl.name, experiment);
        if (const toml::node* lodo = table.get("leave_one_out")) {
            const auto* flag = lodo->as_boolean();
            if (!flag) wrong_type(*lodo, "leave_one_out", section, "boolean");
            decl.leave_one_out = flag->get();
            if (decl.leave_one_out && decl.datasets.size() < 2)
                fail(at(*lodo), "'leave_one_out' in " + section + " needs at least two datasets (each is tested with a head fitted on the others)");
        }
        experiment.evaluations.push_back(std::move(decl));
    }
}

std::vector<ShiftDecl> Parser::shift_conditions(const toml::node& node, const std::string& evaluation, const Experiment& experiment) const {
    const std::string section = "'shifts' of evaluation " + quote(evaluation);
    const toml::array* array = node.as_array();
    if (!array || array->empty() || !array->is_array_of_tables())
        wrong_type(node, "shifts", "[[evaluation]]",
                   "non-empty array of tables ([{ name = \"clean\" }, { name = \"ma-6dB\", noise = \"muscle\", snr_db = 6 }, ...])");
    std::vector<ShiftDecl> shifts;
    std::map<std::string, SourceLocation> names, identities;
    for (const toml::node& element : *array) {
        const toml::table& table = *element.as_table();
        check_keys(table, {"name", "noise", "noise_record", "snr_db", "leads", "random_leads", "bandwidth_hz", "resample_hz", "test_dataset"},
                   section);
        ShiftDecl shift;
        shift.name = required_string(table, "name", section);
        claim_name(names, shift.name, at(*table.get("name")), "shift", "");
        if (const toml::node* noise = table.get("noise")) {
            shift.noise = string_value(*noise, "noise", section);
            const auto& types = shift_noise_types();
            if (std::find(types.begin(), types.end(), shift.noise) == types.end())
                fail(at(*noise), "unknown noise " + quote(shift.noise) + " in " + section + did_you_mean(shift.noise, types) +
                                     " (one of: " + join(types, ", ") + ")");
        }
        if (const toml::node* record = table.get("noise_record")) {
            if (!shift.noise.empty()) fail(at(*record), "give 'noise' or 'noise_record', not both, in " + section);
            shift.noise_record = string_value(*record, "noise_record", section);
            if (shift.noise_record.empty()) fail(at(*record), "'noise_record' in " + section + " must not be empty");
        }
        const toml::node* snr = table.get("snr_db");
        if ((!shift.noise.empty() || !shift.noise_record.empty()) && !snr)
            fail(at(table), "shift " + quote(shift.name) + " adds noise but gives no 'snr_db' in " + section);
        if (snr) {
            if (shift.noise.empty() && shift.noise_record.empty())
                fail(at(*snr), "'snr_db' without 'noise' or 'noise_record' in " + section);
            shift.snr_db = number_value(*snr, "snr_db", section);
        }
        if (const toml::node* leads = table.get("leads")) {
            if (const auto* preset = leads->as_string()) {
                try {
                    shift.leads = lead_preset(preset->get());
                } catch (const std::invalid_argument& e) {
                    fail(at(*leads), std::string(e.what()) + " in " + section);
                }
            } else {
                for (const auto& [lead, where] : string_list(*leads, "leads", section)) {
                    const auto canonical = canonical_lead_name(lead);
                    if (!canonical) fail(where, "unknown lead " + quote(lead) + " in " + section);
                    shift.leads.push_back(*canonical);
                }
            }
        }
        if (const toml::node* random = table.get("random_leads")) {
            shift.random_leads = integer_value(*random, "random_leads", section);
            if (shift.random_leads < 1 || shift.random_leads > 12)
                fail(at(*random), "'random_leads' in " + section + " must be in [1, 12]");
        }
        if (const toml::node* band = table.get("bandwidth_hz")) {
            const toml::array& corners = array_value(*band, "bandwidth_hz", section, "array of two numbers [high-pass, low-pass]");
            if (corners.size() != 2)
                fail(at(*band), "'bandwidth_hz' in " + section + " must be [high-pass, low-pass] in Hz (0 = that side open)");
            shift.highpass_hz = number_value(*corners.get(0), "bandwidth_hz", section);
            shift.lowpass_hz = number_value(*corners.get(1), "bandwidth_hz", section);
            if (shift.highpass_hz < 0 || shift.lowpass_hz < 0 || (shift.highpass_hz == 0 && shift.lowpass_hz == 0))
                fail(at(*band), "'bandwidth_hz' in " + section + " needs corners >= 0 Hz, at least one of them > 0");
            if (shift.highpass_hz > 0 && shift.lowpass_hz > 0 && shift.highpass_hz >= shift.lowpass_hz)
                fail(at(*band), "'bandwidth_hz' in " + section + ": the high-pass corner must be below the low-pass corner");
        }
        if (const toml::node* rate = table.get("resample_hz")) {
            shift.resample_hz = number_value(*rate, "resample_hz", section);
            if (!(shift.resample_hz >= 1)) fail(at(*rate), "'resample_hz' in " + section + " must be at least 1 Hz");
        }
        if (const toml::node* target = table.get("test_dataset")) {
            shift.test_dataset = string_value(*target, "test_dataset", section);
            std::vector<std::string> declared;
            for (const DatasetDecl& decl : experiment.datasets) declared.push_back(decl.name);
            if (const auto variants = variants_of(experiment, shift.test_dataset); !variants.empty())
                fail(at(*target), "'test_dataset' " + in(section) + " names " + quote(shift.test_dataset) +
                                      ", which has preprocessing variants: name one of " + join(variants, ", "));
            if (std::find(declared.begin(), declared.end(), shift.test_dataset) == declared.end()) {
                std::string hint = did_you_mean(shift.test_dataset, declared);
                if (hint.empty()) hint = " (declared datasets: " + join(declared, ", ") + ")";
                fail(at(*target), "unknown dataset " + quote(shift.test_dataset) + " in 'test_dataset' " + in(section) + hint);
            }
        }
        // Two entries that change the data identically would be one cell under two names.
        const std::string identity = canonical_json(shift.identity());
        if (const auto it = identities.find(identity); it != identities.end())
            fail(at(table), "shift " + quote(shift.name) + " in " + section + " is the same condition as the one at " +
                                it->second.str());
        identities[identity] = at(table);
        shifts.push_back(std::move(shift));
    }
    return shifts;
}

Experiment Parser::parse(const std::string& text) {
    toml::table root;
    try {
        root = toml::parse(std::string_view(text), std::string_view(file_));
    } catch (const toml::parse_error& error) {
        fail(at(error.source()), "TOML syntax error: " + std::string(error.description()));
    }
    apply_overrides(root, overrides_);

    Experiment experiment;
    experiment.file = file_;
    experiment.toml_text = text;
    experiment.overrides = overrides_;
    check_keys(root, {"experiment", "dataset", "encoder", "ssl", "pretrain", "evaluation", "slurm", "profile"}, "");
    check_profiles(root);
    parse_experiment_table(root, experiment);
    // Datasets first: [pretrain] and [[evaluation]] refer to them by name.
    parse_datasets(root, experiment);
    experiment.encoders = parse_models(root, "encoder", experiment);
    experiment.ssl_methods = parse_models(root, "ssl", experiment);
    parse_pretrain(root, experiment);
    parse_evaluations(root, experiment);
    parse_slurm(root, experiment);
    return experiment;
}

// [profile.NAME] tables are read by --profile (config/overrides.hpp); here only their shape is
// checked, so a typo in a profile fails whether or not it is used.
void Parser::check_profiles(const toml::table& root) const {
    const toml::node* node = root.get("profile");
    if (!node) return;
    const toml::table* profiles = node->as_table();
    if (!profiles) wrong_type(*node, "profile", "", "a table of [profile.NAME] tables");
    for (const auto& [name, entry] : *profiles) {
        const std::string section = "[profile." + std::string(name.str()) + "]";
        const toml::table* profile = entry.as_table();
        if (!profile) wrong_type(entry, std::string(name.str()), "[profile]", "a table");
        check_keys(*profile, {"description", "set"}, section);
        if (const toml::node* description = profile->get("description")) string_value(*description, "description", section);
        if (const toml::node* set = profile->get("set")) string_list(*set, "set", section);
    }
}

void Parser::slurm_resources(const toml::table& table, const std::string& section, SlurmResources& resources) const {
    // Checked here so a typo fails at `plan`, not minutes later in sbatch or hours later in the queue.
    const std::tuple<const char*, std::string*, std::regex, const char*> texts[] = {
        {"partition", &resources.partition, std::regex("[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*"),
         "a partition name (or a comma-separated list)"},
        {"time", &resources.time, std::regex("[0-9]+(:[0-9]{1,2}){0,2}|[0-9]+-[0-9]{1,2}(:[0-9]{1,2}){0,2}"),
         "a Slurm time limit: \"minutes\", \"minutes:seconds\", \"hours:minutes:seconds\", \"days-hours\", "
         "\"days-hours:minutes\" or \"days-hours:minutes:seconds\""},
        {"mem", &resources.mem, std::regex("[0-9]+[KMGT]?"), "memory per node: an integer with an optional K, M, G or T suffix, e.g. \"16G\""}};
    for (const auto& [key, target, pattern, expected] : texts) {
        const toml::node* node = table.get(key);
        if (!node) continue;
        const std::string value = string_value(*node, key, section);
        if (!std::regex_match(value, pattern))
            fail(at(*node), quote(key) + " " + in(section) + " must be " + expected + "; found " + quote(value));
        *target = value;
    }
    const std::tuple<const char*, std::int64_t*, std::int64_t> counts[] = {{"cpus", &resources.cpus, 1}, {"gpus", &resources.gpus, 0}};
    for (const auto& [key, target, minimum] : counts) {
        const toml::node* node = table.get(key);
        if (!node) continue;
        const std::int64_t value = integer_value(*node, key, section);
        if (value < minimum)
            fail(at(*node), quote(key) + " " + in(section) + " must be >= " + std::to_string(minimum) + ", found " +
                                std::to_string(value));
        *target = value;
    }
}

void Parser::parse_slurm(const toml::table& root, Experiment& experiment) const {
    const toml::node* node = root.get("slurm");
    if (!node) return;
    const std::string section = "[slurm]";
    const toml::table* table = node->as_table();
    if (!table) wrong_type(*node, "slurm", "", "table ([slurm])");
    const std::vector<std::string> resource_keys{"partition", "time", "cpus", "gpus", "mem"};
    std::vector<std::string> keys = resource_keys;
    keys.insert(keys.end(), {"shared", "cells_per_task", "pretrain", "evaluate"});
    check_keys(*table, keys, section);
    SlurmDecl& slurm = experiment.slurm;
    slurm.where = at(*table);
    if (table->get("shared")) slurm.shared = required_string(*table, "shared", section);
    if (const toml::node* n = table->get("cells_per_task")) {
        slurm.cells_per_task = integer_value(*n, "cells_per_task", section);
        if (slurm.cells_per_task < 1)
            fail(at(*n), "'cells_per_task' " + in(section) + " must be >= 1, found " + std::to_string(slurm.cells_per_task));
    }
    SlurmResources shared;
    slurm_resources(*table, section, shared);
    slurm.pretrain = slurm.evaluate = shared;
    for (const auto& [key, target] : {std::pair<const char*, SlurmResources*>{"pretrain", &slurm.pretrain},
                                      std::pair<const char*, SlurmResources*>{"evaluate", &slurm.evaluate}}) {
        const toml::node* kind = table->get(key);
        if (!kind) continue;
        const std::string sub = "[slurm." + std::string(key) + "]";
        const toml::table* overrides = kind->as_table();
        if (!overrides) wrong_type(*kind, key, section, "table (" + sub + ")");
        // Evaluations run on one process; only pretraining cells train data-parallel.
        auto kind_keys = resource_keys;
        if (target == &slurm.pretrain) kind_keys.push_back("ranks");
        check_keys(*overrides, kind_keys, sub);
        slurm_resources(*overrides, sub, *target);
        if (const toml::node* n = overrides->get("ranks")) {
            target->ranks = integer_value(*n, "ranks", sub);
            if (target->ranks < 1)
                fail(at(*n), "'ranks' " + in(sub) + " must be >= 1, found " + std::to_string(target->ranks));
        }
    }
}

/// Checks one plugin reference against the manifests and fills its params and version.
void validate_ref(PluginRef& ref, PluginKind kind, const std::vector<PluginManifest>& available) {
    const std::string noun = kind_noun(kind);
    // Prefer an exact (name, kind) match so that a clash of names across kinds cannot misfire.
    const PluginManifest* manifest = nullptr;
    for (const PluginManifest& candidate : available) {
        if (candidate.name != ref.plugin) continue;
        if (!manifest || candidate.kind == kind) manifest = &candidate;
    }
    if (!manifest) {
        std::vector<std::string> names;
        for (const PluginManifest& candidate : available) {
            if (candidate.kind == kind) names.push_back(candidate.name);
        }
        std::string hint = did_you_mean(ref.plugin, names);
        if (hint.empty())
            hint = names.empty() ? " (no " + noun + " plugins are available)"
                                 : " (available " + noun + " plugins: " + join(names, ", ") + ")";
        throw ConfigError(ref.where, "unknown " + noun + " plugin " + quote(ref.plugin) + hint);
    }
    if (manifest->kind != kind)
        throw ConfigError(ref.where, quote(ref.plugin) + " is " + with_article(manifest->kind) + " plugin, not " +
                                         with_article(kind) + " plugin");

    auto where_of = [&](const std::string& key) {
        auto it = ref.param_where.find(key);
        return it != ref.param_where.end() ? it->second : ref.where;
    };
    std::vector<std::string> declared;
    for (const ParamSpec& spec : manifest->params) declared.push_back(spec.name);

    // Unknown keys are checked here rather than left to validate_params so that the error points
    // at the key itself and offers a suggestion. Document order, so the first typo is reported.
    std::vector<std::pair<SourceLocation, std::string>> given;
    for (const auto& [key, value] : ref.raw) given.emplace_back(where_of(key), key);
    std::stable_sort(given.begin(), given.end(), [](const auto& a, const auto& b) {
        return std::tie(a.first.line, a.first.column) < std::tie(b.first.line, b.first.column);
    });
    for (const auto& [where, key] : given) {
        if (std::find(declared.begin(), declared.end(), key) != declared.end()) continue;
        std::string hint = did_you_mean(key, declared);
        if (hint.empty())
            hint = declared.empty() ? " (it takes no params)" : " (its params: " + join(declared, ", ") + ")";
        throw ConfigError(where, "unknown param " + quote(key) + " for " + noun + " plugin " + quote(ref.plugin) + hint);
    }

    const std::string prefix = "plugin " + quote(ref.plugin) + ": ";
    try {
        ref.params = validate_params(manifest->params, ref.raw);
    } catch (const std::invalid_argument& error) {
        // validate_params names the key but not where it is; find the culprit by validating each
        // given param alone, so the error points at the offending line.
        for (const auto& [where, key] : given) {
            try {
                (void)validate_params(manifest->params, {{key, ref.raw.at(key)}});
            } catch (const std::invalid_argument& single) {
                throw ConfigError(where, prefix + single.what());
            }
        }
        throw ConfigError(ref.where, prefix + error.what());
    }
    ref.version = manifest->version;
    ref.file_params.clear();
    for (const ParamSpec& spec : manifest->params)
        if (spec.type == ParamType::File) ref.file_params.push_back(spec.name);
}

}  // namespace

PretrainDecl pretrain_for(const Experiment& experiment, std::size_t ssl) {
    PretrainDecl pretrain = experiment.pretrain;
    const BudgetOverride& budget = experiment.ssl_methods.at(ssl).budget;
    pretrain.epochs = budget.epochs.value_or(pretrain.epochs);
    pretrain.max_steps = budget.max_steps.value_or(pretrain.max_steps);
    pretrain.learning_rate = budget.learning_rate.value_or(pretrain.learning_rate);
    pretrain.weight_decay = budget.weight_decay.value_or(pretrain.weight_decay);
    return pretrain;
}

bool pairs_with(const ModelDecl& ssl, const std::string& encoder) {
    return ssl.encoders.empty() || std::find(ssl.encoders.begin(), ssl.encoders.end(), encoder) != ssl.encoders.end();
}

Experiment parse_experiment_text(const std::string& text, const std::string& file,
                                 const std::vector<std::string>& overrides) {
    return Parser(file, overrides).parse(text);
}

Experiment parse_experiment_file(const std::string& path, const std::vector<std::string>& overrides) {
    const SourceLocation where{path, 0, 0};
    std::error_code ec;
    // A directory opens as an ifstream and reads as empty; report it as what it is.
    if (std::filesystem::is_directory(path, ec))
        throw ConfigError(where, "cannot read experiment file: it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(where, std::string("cannot read experiment file: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw ConfigError(where, "cannot read experiment file: read error");
    return parse_experiment_text(text.str(), path, overrides);
}

void validate_experiment(Experiment& experiment, const std::vector<PluginManifest>& available) {
    for (DatasetDecl& decl : experiment.datasets) validate_ref(decl.ref, PluginKind::Dataset, available);
    for (ModelDecl& decl : experiment.encoders) validate_ref(decl.ref, PluginKind::Encoder, available);
    for (ModelDecl& decl : experiment.ssl_methods) validate_ref(decl.ref, PluginKind::Ssl, available);
    for (EvaluationDecl& decl : experiment.evaluations) {
        validate_ref(decl.task, PluginKind::Task, available);
        for (const PluginManifest& m : available)
            if (m.name == decl.task.plugin)
                decl.reads_class_descriptions =
                    std::find(m.needs.begin(), m.needs.end(), "class_descriptions") != m.needs.end();
    }
}

}  // namespace ecgbench
