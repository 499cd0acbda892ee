#include "scp_labels.hpp"

#include "common/text.hpp"

#include <cctype>
#include <stdexcept>

namespace ptbxl {

namespace common = ecgbench::datasets;

std::vector<std::pair<std::string, double>> parse_scp_codes(std::string_view text, const std::string& where) {
    std::vector<std::pair<std::string, double>> codes;
    std::size_t i = 0;
    auto fail = [&](const std::string& what) {
        throw std::invalid_argument(where + ": scp_codes '" + std::string(text) + "': " + what + " at character " +
                                    std::to_string(i + 1));
    };
    auto skip_space = [&] {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    };
    skip_space();
    if (i >= text.size() || text[i] != '{') fail("expected '{'");
    ++i;
    skip_space();
    if (i < text.size() && text[i] == '}') {
        ++i;
    } else {
        while (true) {
            skip_space();
            if (i >= text.size() || (text[i] != '\'' && text[i] != '"')) fail("expected a quoted code");
            const char quote = text[i++];
            const auto end = text.find(quote, i);
            if (end == std::string_view::npos) fail("unterminated code");
            std::string code(text.substr(i, end - i));
            if (code.empty()) fail("empty code");
            i = end + 1;
            skip_space();
            if (i >= text.size() || text[i] != ':') fail("expected ':'");
            ++i;
            skip_space();
            const std::size_t start = i;
            while (i < text.size() && text[i] != ',' && text[i] != '}') ++i;
            const auto value = common::parse_number(text.substr(start, i - start));
            if (!value) {
                i = start;
                fail("expected a number");
            }
            codes.emplace_back(std::move(code), *value);
            if (i >= text.size()) fail("expected ',' or '}'");
            if (text[i++] == '}') break;
        }
    }
    skip_space();
    if (i != text.size()) fail("unexpected text after '}'");
    return codes;
}

std::map<std::string, Statement> read_statements(const common::CsvTable& csv) {
    const char* who = "ptbxl";
    const int diagnostic = csv.require("diagnostic", who), form = csv.require("form", who),
              rhythm = csv.require("rhythm", who), cls = csv.require("diagnostic_class", who),
              subclass = csv.require("diagnostic_subclass", who);
    const int description = csv.column("description");  // optional: labels do not need it
    auto flag = [&](std::size_t r, int c) {
        const std::string v = csv.cell(r, c);
        if (v.empty()) return false;
        const auto number = common::parse_number(v);
        if (!number || (*number != 0.0 && *number != 1.0)) {
            throw std::invalid_argument("ptbxl: " + csv.where(r) + ": column `" + csv.header[static_cast<std::size_t>(c)] +
                                        "`: expected 1.0, 0 or empty, got '" + v + "'");
        }
        return *number == 1.0;
    };
    std::map<std::string, Statement> statements;
    for (std::size_t r = 0; r < csv.rows.size(); ++r) {
        const std::string code = csv.cell(r, 0);
        if (code.empty()) throw std::invalid_argument("ptbxl: " + csv.where(r) + ": empty statement code");
        Statement s;
        s.diagnostic = flag(r, diagnostic);
        s.form = flag(r, form);
        s.rhythm = flag(r, rhythm);
        s.diagnostic_class = csv.cell(r, cls);
        s.diagnostic_subclass = csv.cell(r, subclass);
        if (description >= 0) s.description = csv.cell(r, description);
        if (!statements.emplace(code, s).second) {
            throw std::invalid_argument("ptbxl: " + csv.where(r) + ": statement '" + code + "' listed twice");
        }
    }
    return statements;
}

std::set<std::string> labels_of(const std::vector<std::pair<std::string, double>>& codes,
                                const std::map<std::string, Statement>& statements, const std::string& label_set) {
    std::set<std::string> labels;
    for (const auto& [code, likelihood] : codes) {
        if (label_set == "all") {
            labels.insert(code);
            continue;
        }
        const auto it = statements.find(code);
        if (it == statements.end()) continue;
        const Statement& s = it->second;
        if (label_set == "diagnostic" && s.diagnostic) labels.insert(code);
        else if (label_set == "subdiagnostic" && s.diagnostic && !s.diagnostic_subclass.empty()) labels.insert(s.diagnostic_subclass);
        else if (label_set == "superdiagnostic" && s.diagnostic && !s.diagnostic_class.empty()) labels.insert(s.diagnostic_class);
        else if (label_set == "form" && s.form) labels.insert(code);
        else if (label_set == "rhythm" && s.rhythm) labels.insert(code);
    }
    return labels;
}

std::map<std::string, std::string> class_descriptions(const std::vector<std::string>& classes,
                                                      const std::map<std::string, Statement>& statements,
                                                      const std::string& label_set) {
    // Wagner et al. 2020, table 2.
    static const std::map<std::string, std::string> superclasses{{"NORM", "normal ECG"},
                                                                {"MI", "myocardial infarction"},
                                                                {"STTC", "ST/T change"},
                                                                {"CD", "conduction disturbance"},
                                                                {"HYP", "hypertrophy"}};
    std::map<std::string, std::string> out;
    for (const auto& name : classes) {
        if (label_set == "superdiagnostic") {
            if (const auto it = superclasses.find(name); it != superclasses.end()) out[name] = it->second;
        } else if (const auto it = statements.find(name); it != statements.end() && !it->second.description.empty()) {
            out[name] = it->second.description;
        }
    }
    return out;
}

}  // namespace ptbxl
