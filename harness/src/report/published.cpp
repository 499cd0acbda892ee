#include "report/published.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace ecgbench {

namespace {

class SidecarReader {
public:
    explicit SidecarReader(std::string path) : path_(std::move(path)) {}

    PublishedSet read() {
        toml::table root;
        try {
            root = toml::parse_file(path_);
        } catch (const toml::parse_error& e) {
            fail(e.source(), "TOML syntax error: " + std::string(e.description()));
        }
        check_keys(root, {"paper", "value"}, "the top level");
        PublishedSet set;
        if (const toml::node* papers = root.get("paper")) {
            if (const toml::table* one = papers->as_table()) set.papers.push_back(paper(*one));
            else if (const toml::array* many = papers->as_array())
                for (const toml::node& p : *many) set.papers.push_back(paper(table_of(p, "[[paper]]")));
            else fail(papers->source(), "'paper' must be a table ([paper]) or an array of tables ([[paper]])");
        }
        if (set.papers.empty()) fail(root.source(), "no [paper]: say which paper the values come from");
        const toml::array* values = root.get_as<toml::array>("value");
        if (!values || values->empty()) fail(root.source(), "no [[value]] entries");
        for (const toml::node& v : *values) set.values.push_back(value(table_of(v, "[[value]]"), set.papers));
        return set;
    }

private:
    std::string path_;

    [[noreturn]] void fail(const toml::source_region& where, const std::string& message) const {
        throw std::runtime_error(location(where) + ": " + message);
    }
    std::string location(const toml::source_region& where) const {
        return path_ + ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column);
    }

    const toml::table& table_of(const toml::node& node, const std::string& what) const {
        const toml::table* t = node.as_table();
        if (!t) fail(node.source(), "every entry of " + what + " must be a table");
        return *t;
    }

    void check_keys(const toml::table& t, std::initializer_list<const char*> known, const std::string& section) const {
        for (const auto& [key, node] : t) {
            if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key.str() == k; })) {
                std::string list;
                for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
                fail(node.source(), "unknown key '" + std::string(key.str()) + "' in " + section + " (keys: " + list + ")");
            }
        }
    }

    std::optional<std::string> text(const toml::table& t, const char* key, const std::string& section, bool required) const {
        const toml::node* node = t.get(key);
        if (!node) {
            if (required) fail(t.source(), "missing required key '" + std::string(key) + "' in " + section);
            return std::nullopt;
        }
        const auto* s = node->as_string();
        if (!s) fail(node->source(), "'" + std::string(key) + "' in " + section + " must be a string");
        return s->get();
    }

    std::optional<double> number(const toml::table& t, const char* key, const std::string& section, bool required) const {
        const toml::node* node = t.get(key);
        if (!node) {
            if (required) fail(t.source(), "missing required key '" + std::string(key) + "' in " + section);
            return std::nullopt;
        }
        std::optional<double> v;
        if (const auto* f = node->as_floating_point()) v = f->get();
        else if (const auto* i = node->as_integer()) v = static_cast<double>(i->get());
        else fail(node->source(), "'" + std::string(key) + "' in " + section + " must be a number");
        if (!std::isfinite(*v)) fail(node->source(), "'" + std::string(key) + "' in " + section + " must be finite");
        return v;
    }

    PublishedPaper paper(const toml::table& t) const {
        const std::string section = "[paper]";
        check_keys(t, {"key", "citation", "url", "source_read"}, section);
        PublishedPaper p;
        p.key = *text(t, "key", section, true);
        p.citation = *text(t, "citation", section, true);
        p.url = text(t, "url", section, false).value_or("");
        p.source = text(t, "source_read", section, false).value_or("");
        return p;
    }

    PublishedValue value(const toml::table& t, const std::vector<PublishedPaper>& papers) const {
        const std::string section = "[[value]] at " + location(t.source());
        check_keys(t, {"paper", "table", "row", "column", "metric", "value", "interval", "note", "ours"}, section);
        PublishedValue v;
        v.where = location(t.source());
        if (auto key = text(t, "paper", section, papers.size() > 1)) {
            if (std::none_of(papers.begin(), papers.end(), [&](const PublishedPaper& p) { return p.key == *key; }))
                fail(t.get("paper")->source(), "unknown paper '" + *key + "' (not a [paper] key of this file)");
            v.paper = *key;
        } else {
            v.paper = papers.front().key;
        }
        v.table = *text(t, "table", section, true);
        v.row = *text(t, "row", section, true);
        v.column = *text(t, "column", section, true);
        v.metric = *text(t, "metric", section, true);
        v.value = *number(t, "value", section, true);
        v.interval = text(t, "interval", section, false).value_or("");
        v.note = text(t, "note", section, false).value_or("");
        if (const toml::node* node = t.get("ours")) {
            const toml::table& o = table_of(*node, "'ours'");
            const std::string where = "'ours' of " + section;
            check_keys(o, {"pretrain", "encoder", "ssl", "evaluation", "dataset", "label_fraction", "shots", "shift", "split"}, where);
            OursSelector s;
            s.pretrain = text(o, "pretrain", where, false);
            s.encoder = text(o, "encoder", where, false);
            s.ssl = text(o, "ssl", where, false);
            s.evaluation = text(o, "evaluation", where, false);
            s.dataset = text(o, "dataset", where, false);
            s.shift = text(o, "shift", where, false);
            s.label_fraction = number(o, "label_fraction", where, false);
            if (const auto k = number(o, "shots", where, false)) s.shots = static_cast<std::int64_t>(*k);
            s.split = text(o, "split", where, false).value_or("test");
            v.ours = s;
        }
        return v;
    }
};

bool selects(const OursSelector& s, const std::string& metric, const FlatResult& r) {
    auto same = [](const std::optional<std::string>& want, const std::string& have) { return !want || *want == have; };
    return r.metric == metric && r.split == s.split && same(s.pretrain, r.dataset) && same(s.encoder, r.encoder) &&
           same(s.ssl, r.ssl) && same(s.evaluation, r.task) && same(s.dataset, r.eval_dataset) &&
           same(s.shift, r.shift) && (!s.label_fraction || std::abs(*s.label_fraction - r.label_fraction) < 1e-12) &&
           (!s.shots || *s.shots == r.shots);
}

std::string method_and_column(const FlatResult& r) {
    std::ostringstream out;
    out << r.dataset << " / " << r.encoder << " / " << r.ssl << ": " << r.task << " → " << r.eval_dataset;
    if (r.shots > 0) out << " (" << r.shots << "-shot)";
    else if (r.label_fraction < 1.0) out << " (" << r.label_fraction * 100 << "% labels)";
    if (!r.shift.empty()) out << " [" << r.shift << "]";
    return out.str();
}

}  // namespace

PublishedSet read_published(const std::string& path) { return SidecarReader(path).read(); }

const char* to_string(PublishedState state) {
    switch (state) {
        case PublishedState::Unmapped: return "no counterpart";
        case PublishedState::NotRun: return "not run";
        case PublishedState::Finished: return "finished";
    }
    return "?";
}

std::vector<PublishedComparison> compare_published(const PublishedSet& set, const std::vector<FlatResult>& rows) {
    std::vector<PublishedComparison> out;
    for (const PublishedValue& v : set.values) {
        PublishedComparison c;
        c.published = v;
        if (v.ours) {
            std::map<std::string, std::vector<double>> by_cell;  // method × column → one value per seed
            for (const FlatResult& r : rows)
                if (selects(*v.ours, v.metric, r)) by_cell[method_and_column(r)].push_back(r.value);
            if (by_cell.size() > 1) {
                std::string names;
                for (const auto& [name, values] : by_cell) names += "\n  " + name;
                throw std::runtime_error(v.where + ": 'ours' of " + v.row + " / " + v.column + " matches " +
                                         std::to_string(by_cell.size()) + " of our results; name more of pretrain, encoder, "
                                         "ssl, evaluation, dataset, label_fraction, shots, shift to single one out:" + names);
            }
            c.state = PublishedState::NotRun;
            if (!by_cell.empty()) {
                c.state = PublishedState::Finished;
                c.matched = by_cell.begin()->first;
                c.ours = summarize(by_cell.begin()->second);
                c.delta = c.ours.mean - v.value;
            }
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace ecgbench
