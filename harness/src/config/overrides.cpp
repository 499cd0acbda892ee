#include "config/overrides.hpp"

#include "config/experiment.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string_view>

namespace ecgbench {
namespace {

/// One step of a key path: a key, optionally followed by [index].
struct Segment {
    std::string key;
    std::optional<std::size_t> index;
};

bool bare_key_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

std::vector<Segment> split_path(const std::string& path, const SourceLocation& where) {
    auto bad = [&](const std::string& why) -> ConfigError {
        return ConfigError(where, "bad key '" + path + "': " + why);
    };
    std::vector<Segment> segments;
    std::size_t i = 0;
    while (true) {
        Segment segment;
        if (i < path.size() && path[i] == '"') {
            const auto close = path.find('"', i + 1);
            if (close == std::string::npos) throw bad("unterminated quoted segment");
            segment.key = path.substr(i + 1, close - i - 1);
            i = close + 1;
        } else {
            const std::size_t start = i;
            while (i < path.size() && bare_key_char(path[i])) ++i;
            segment.key = path.substr(start, i - start);
            if (segment.key.empty())
                throw bad(i == path.size() || path[i] == '.' || path[i] == '[' ? std::string("empty segment")
                                                                               : std::string("unexpected '") + path[i] + "'");
        }
        if (i < path.size() && path[i] == '[') {
            const auto close = path.find(']', i);
            const std::string digits = close == std::string::npos ? "" : path.substr(i + 1, close - i - 1);
            if (digits.empty() || digits.size() > 9 ||
                !std::all_of(digits.begin(), digits.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
                throw bad("an index is written [0], [1], ...");
            segment.index = std::stoul(digits);
            i = close + 1;
        }
        segments.push_back(std::move(segment));
        if (i == path.size()) break;
        if (path[i] != '.') throw bad(std::string("unexpected '") + path[i] + "'");
        ++i;
    }
    return segments;
}

/// An [[array]] entry's name as the experiment parser defaults it: `name`, else `plugin`/`task`.
std::string entry_name(const toml::table& entry) {
    for (const char* key : {"name", "plugin", "task"})
        if (const auto* value = entry.get_as<std::string>(key)) return value->get();
    return "";
}

const char* kind_of(const toml::node& node) {
    if (node.is_table()) return "a table";
    if (node.is_array_of_tables()) return "an array of tables";
    if (node.is_array()) return "an array";
    if (node.is_string()) return "a string";
    if (node.is_integer()) return "an integer";
    if (node.is_floating_point()) return "a float";
    if (node.is_boolean()) return "a boolean";
    return "a date or time";
}

/// The value of one override, parsed as TOML with the override's own source name.
std::unique_ptr<toml::table> parse_value(const std::string& value, const std::string& source,
                                         const SourceLocation& where) {
    try {
        const std::string document = "value = " + value;
        return std::make_unique<toml::table>(toml::parse(std::string_view(document), std::string_view(source)));
    } catch (const toml::parse_error& error) {
        std::string hint;
        if (!value.empty() && (std::isalpha(static_cast<unsigned char>(value.front())) && value != "true" && value != "false"))
            hint = " (a string needs TOML quotes, e.g. --set 'key=\"" + value + "\"')";
        throw ConfigError(where, "bad value '" + value + "': TOML syntax error: " + std::string(error.description()) + hint);
    }
}

void apply_one(toml::table& root, const std::string& text, std::size_t k) {
    const std::string source = override_source(k);
    const SourceLocation where{source, 0, 0};
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) throw ConfigError(where, "expected KEY=VALUE, found '" + text + "'");
    const std::string path = text.substr(0, eq);
    const std::vector<Segment> segments = split_path(path, where);
    auto document = parse_value(text.substr(eq + 1), source, where);

    toml::table* table = &root;
    std::string walked;  // the path so far, for messages
    for (std::size_t s = 0; s < segments.size(); ++s) {
        const Segment& segment = segments[s];
        const bool last = s + 1 == segments.size();
        const std::string here = walked + (walked.empty() ? "" : ".") + segment.key;
        if (last && !segment.index) {
            // Erase first so the key itself carries the --set source (errors about it point here).
            table->erase(segment.key);
            toml::node& value = *document->get("value");
            value.visit([&](auto&& node) {
                table->insert_or_assign(toml::key(segment.key, toml::source_region(value.source())), std::move(node));
            });
            return;
        }
        toml::node* child = table->get(segment.key);
        if (!child) {
            if (segment.index) throw ConfigError(where, "'" + here + "' does not exist, so it has no entry [" +
                                                            std::to_string(*segment.index) + "]");
            table = table->insert(segment.key, toml::table{}).first->second.as_table();
            walked = here;
            continue;
        }
        if (toml::table* next = child->as_table(); next && !segment.index) {
            table = next;
            walked = here;
            continue;
        }
        toml::array* array = child->as_array();
        if (!array || !array->is_array_of_tables())
            throw ConfigError(where, "'" + here + "' is " + kind_of(*child) + ", not a table: it has no key '" +
                                         (last ? "[" + std::to_string(segment.index.value_or(0)) + "]" : segments[s + 1].key) + "'");
        const std::string header = "[[" + segment.key + "]]";
        if (segment.index) {
            if (*segment.index >= array->size())
                throw ConfigError(where, "'" + here + "[" + std::to_string(*segment.index) + "]': the experiment has " +
                                             std::to_string(array->size()) + " " + header + " entries (indexes from 0)");
            if (last) throw ConfigError(where, "'" + path + "' names a whole " + header + " entry; set one of its keys");
            table = array->get(*segment.index)->as_table();
            walked = here + "[" + std::to_string(*segment.index) + "]";
            continue;
        }
        // By name: the next segment names the entry (this one is not the last: see above).
        if (s + 2 == segments.size())
            throw ConfigError(where, "'" + path + "' names a whole " + header + " entry; set one of its keys");
        const Segment& name = segments[s + 1];
        std::vector<std::string> names;
        toml::table* found = nullptr;
        for (toml::node& entry : *array) {
            names.push_back(entry_name(*entry.as_table()));
            if (names.back() == name.key && !found) found = entry.as_table();
        }
        if (!found)
            throw ConfigError(where, "no " + header + " entry named '" + name.key + "'" + did_you_mean(name.key, names) +
                                         " (entries: " + join(names, ", ") + "; address one as " + segment.key +
                                         ".NAME or " + segment.key + "[INDEX])");
        if (name.index) throw ConfigError(where, "bad key '" + path + "': an index follows the array's name, as in " +
                                                     segment.key + "[0]");
        table = found;
        walked = here + "." + name.key;
        ++s;
    }
}

}  // namespace

std::string override_source(std::size_t k) { return "--set #" + std::to_string(k); }

void apply_overrides(toml::table& root, const std::vector<std::string>& overrides) {
    for (std::size_t k = 0; k < overrides.size(); ++k) apply_one(root, overrides[k], k + 1);
}

std::vector<std::string> profile_overrides(const std::string& path, const std::string& name) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        throw ConfigError({path, static_cast<int>(e.source().begin.line), static_cast<int>(e.source().begin.column)},
                          "TOML syntax error: " + std::string(e.description()));
    }
    auto at = [&](const toml::node& node) {
        return SourceLocation{path, static_cast<int>(node.source().begin.line), static_cast<int>(node.source().begin.column)};
    };
    const toml::table* profiles = root.get_as<toml::table>("profile");
    const toml::table* profile = profiles ? profiles->get_as<toml::table>(name) : nullptr;
    if (!profile) {
        std::string names;
        if (profiles)
            for (const auto& [key, node] : *profiles) names += (names.empty() ? "" : ", ") + std::string(key.str());
        throw ConfigError({path, 0, 0}, "no [profile." + name + "] in this file" +
                                            (names.empty() ? std::string(" (it declares no profiles)") : " (profiles: " + names + ")"));
    }
    std::vector<std::string> out;
    if (const toml::node* set = profile->get("set")) {
        const toml::array* list = set->as_array();
        if (!list) throw ConfigError(at(*set), "'set' in [profile." + name + "] must be a list of \"KEY=VALUE\" strings");
        for (const toml::node& item : *list) {
            const auto* text = item.as_string();
            if (!text) throw ConfigError(at(item), "'set' in [profile." + name + "] must hold strings (\"KEY=VALUE\", as --set takes)");
            out.push_back(text->get());
        }
    }
    return out;
}

std::string text_with_overrides(const std::string& text, const std::vector<std::string>& overrides) {
    if (overrides.empty()) return text;
    std::string out = text;
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += "\n# Overridden on the command line (applied in this order):\n";
    for (const auto& o : overrides) {
        std::string line = o;
        for (char& c : line)
            if (c == '\n' || c == '\r') c = ' ';
        out += "# --set " + line + "\n";
    }
    return out;
}

}  // namespace ecgbench
