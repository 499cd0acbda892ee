// Findings as PTB-XL statements (Wagner et al. 2020; label sets as in Strodthoff et al. 2020) with
// the SNOMED-CT codes the PhysioNet/CinC 2020–21 challenges use for the same findings.
#include "ecgbench/synth.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace ecgbench::synth {

namespace {

constexpr std::array<StatementInfo, kStatementCount> kStatements{{
    {"NORM", "diagnostic", "NORM", "", "normal ECG"},
    {"IMI", "diagnostic", "MI", "164865005", "inferior myocardial infarction"},
    {"AMI", "diagnostic", "MI", "54329005", "anterior myocardial infarction"},
    {"LMI", "diagnostic", "MI", "164865005", "lateral myocardial infarction"},
    {"ISC_", "diagnostic", "STTC", "429622005", "ischemic ST-T changes (ST depression or T inversion)"},
    {"NST_", "diagnostic", "STTC", "428750005", "non-specific ST-T changes"},
    {"LNGQT", "diagnostic", "STTC", "111975006", "long QT interval"},
    {"1AVB", "diagnostic", "CD", "270492004", "first-degree AV block"},
    {"CLBBB", "diagnostic", "CD", "733534002", "complete left bundle branch block"},
    {"CRBBB", "diagnostic", "CD", "713427006", "complete right bundle branch block"},
    {"LVH", "diagnostic", "HYP", "164873001", "left ventricular hypertrophy"},
    {"SR", "rhythm", "", "426783006", "sinus rhythm"},
    {"SBRAD", "rhythm", "", "426177001", "sinus bradycardia"},
    {"STACH", "rhythm", "", "427084000", "sinus tachycardia"},
    {"AFIB", "rhythm", "", "164889003", "atrial fibrillation"},
    {"AFLT", "rhythm", "", "164890007", "atrial flutter"},
    {"PVC", "form", "", "427172004", "premature ventricular contractions"},
    {"PAC", "form", "", "284470004", "premature atrial contractions"},
}};

Statement rhythm_statement(Rhythm r) {
    switch (r) {
        case Rhythm::Sinus: return Statement::SR;
        case Rhythm::SinusBrady: return Statement::SBRAD;
        case Rhythm::SinusTachy: return Statement::STACH;
        case Rhythm::Af: return Statement::AFIB;
        case Rhythm::Flutter: return Statement::AFLT;
    }
    return Statement::SR;
}

std::vector<std::string> codes_of_kind(const char* kind) {
    std::vector<std::string> out;
    for (const StatementInfo& s : kStatements)
        if (std::string(s.kind) == kind) out.emplace_back(s.code);
    return out;
}

}  // namespace

const std::vector<std::string>& lead_names() {
    static const std::vector<std::string> names{"I", "II", "III", "aVR", "aVL", "aVF",
                                                "V1", "V2", "V3", "V4", "V5", "V6"};
    return names;
}

const StatementInfo& statement_info(Statement s) { return kStatements.at(static_cast<std::size_t>(s)); }

const char* rhythm_name(Rhythm r) { return statement_info(rhythm_statement(r)).code; }

const std::vector<std::string>& label_sets() {
    static const std::vector<std::string> sets{"superdiagnostic", "diagnostic", "rhythm", "form", "all"};
    return sets;
}

std::vector<std::string> label_set_classes(const std::string& set) {
    if (set == "superdiagnostic") return {"NORM", "MI", "STTC", "CD", "HYP"};
    if (set == "diagnostic" || set == "rhythm" || set == "form") return codes_of_kind(set.c_str());
    if (set == "all") {
        std::vector<std::string> out;
        for (const StatementInfo& s : kStatements) out.emplace_back(s.code);
        return out;
    }
    throw std::invalid_argument("unknown label set '" + set + "' (superdiagnostic, diagnostic, rhythm, form, all)");
}

std::map<std::string, std::string> label_set_descriptions(const std::string& set) {
    // PTB-XL's diagnostic superclasses (Wagner et al. 2020, table 2).
    static const std::map<std::string, std::string> superclasses{{"NORM", "normal ECG"},
                                                                {"MI", "myocardial infarction"},
                                                                {"STTC", "ST/T change"},
                                                                {"CD", "conduction disturbance"},
                                                                {"HYP", "hypertrophy"}};
    std::map<std::string, std::string> out;
    for (const std::string& name : label_set_classes(set)) {
        if (set == "superdiagnostic") {
            out[name] = superclasses.at(name);
            continue;
        }
        for (const StatementInfo& s : kStatements)
            if (name == s.code) out[name] = s.description;
    }
    return out;
}

std::vector<float> label_vector(const std::string& set, const std::vector<Statement>& statements) {
    const std::vector<std::string> classes = label_set_classes(set);
    std::vector<float> out(classes.size(), 0.0f);
    for (Statement s : statements) {
        const StatementInfo& info = statement_info(s);
        const std::string name = set == "superdiagnostic" ? info.superclass : info.code;
        const auto it = std::find(classes.begin(), classes.end(), name);
        if (it != classes.end()) out[static_cast<std::size_t>(it - classes.begin())] = 1.0f;
    }
    return out;
}

std::vector<Statement> Findings::statements() const {
    std::vector<Statement> out;
    switch (mi) {
        case Territory::Inferior: out.push_back(Statement::IMI); break;
        case Territory::Anterior: out.push_back(Statement::AMI); break;
        case Territory::Lateral: out.push_back(Statement::LMI); break;
        case Territory::None: break;
    }
    if (sttc == Repolarisation::StDepression || sttc == Repolarisation::TInversion) out.push_back(Statement::ISC_);
    if (sttc == Repolarisation::NonSpecific) out.push_back(Statement::NST_);
    if (long_qt) out.push_back(Statement::LNGQT);
    if (avb1) out.push_back(Statement::AVB1);
    if (lbbb) out.push_back(Statement::CLBBB);
    if (rbbb) out.push_back(Statement::CRBBB);
    if (lvh) out.push_back(Statement::LVH);
    const bool abnormal_rhythm = rhythms.size() != 1 || rhythms.front() != Rhythm::Sinus;
    if (out.empty() && !abnormal_rhythm && !pvc && !pac) out.insert(out.begin(), Statement::NORM);
    for (Rhythm r : rhythms) out.push_back(rhythm_statement(r));
    if (pvc) out.push_back(Statement::PVC);
    if (pac) out.push_back(Statement::PAC);
    return out;
}

std::vector<std::string> Findings::snomed_codes() const {
    std::vector<std::string> out;
    for (Statement s : statements()) {
        std::string code = statement_info(s).snomed;
        if (s == Statement::ISC_ && sttc == Repolarisation::TInversion) code = "59931005";
        if (!code.empty() && std::find(out.begin(), out.end(), code) == out.end()) out.push_back(code);
    }
    return out;
}

const std::vector<std::string>& covariate_names() {
    static const std::vector<std::string> names{"age", "sex", "bmi", "sbp", "total_cholesterol", "hdl",
                                                "smoking", "diabetes", "bp_treated", "risk_score"};
    return names;
}

double covariate(const Covariates& c, std::size_t index) {
    const std::array<double, 10> values{c.age, c.sex, c.bmi, c.sbp, c.total_cholesterol, c.hdl,
                                        c.smoking, c.diabetes, c.bp_treated, c.risk_score};
    return values.at(index);
}

}  // namespace ecgbench::synth
