// Free-text reports from the findings, in the varied, terse style of machine and cardiologist
// statements (PTB-XL's reports, MIMIC-IV-ECG's machine measurements): several phrasings per
// finding, random order after the rhythm, findings left out at a set rate, some all upper case.
#include "synth/model.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

namespace ecgbench::synth {
namespace {

template <typename Text, std::size_t N>
std::string one_of(Rng& rng, const std::array<Text, N>& options) {
    return options[static_cast<std::size_t>(rng.uniform() * N) % N];
}

std::string number(double value) { return std::to_string(static_cast<long>(std::lround(value))); }

std::string territory_leads(Territory t) {
    switch (t) {
        case Territory::Inferior: return "II, III, aVF";
        case Territory::Anterior: return "V1-V4";
        case Territory::Lateral: return "I, aVL, V5-V6";
        case Territory::None: break;
    }
    return "";
}

std::string territory_name(Territory t) {
    switch (t) {
        case Territory::Inferior: return "inferior";
        case Territory::Anterior: return "anterior";
        case Territory::Lateral: return "lateral";
        case Territory::None: break;
    }
    return "";
}

std::string rhythm_phrase(Rhythm r, const Truth& truth, Rng& rng) {
    const std::string rate = number(truth.hr_bpm);
    switch (r) {
        case Rhythm::Sinus:
            return one_of(rng, std::array{"sinus rhythm", "normal sinus rhythm"}) + (rng.chance(0.3) ? ", rate " + rate + " bpm" : "");
        case Rhythm::SinusBrady:
            return std::string(truth.hr_bpm < 50 ? "marked sinus bradycardia" : "sinus bradycardia") +
                   (rng.chance(0.4) ? ", rate " + rate : "");
        case Rhythm::SinusTachy: return "sinus tachycardia" + (rng.chance(0.4) ? " " + rate + "/min" : std::string());
        case Rhythm::Af:
            return truth.hr_bpm > 110   ? one_of(rng, std::array{"atrial fibrillation with rapid ventricular response", "rapid atrial fibrillation"})
                   : truth.hr_bpm < 60 ? "atrial fibrillation with slow ventricular response"
                                       : one_of(rng, std::array{"atrial fibrillation", "atrial fibrillation, controlled rate", "afib"});
        case Rhythm::Flutter: return one_of(rng, std::array{"atrial flutter", "atrial flutter with variable block", "flutter waves present"});
    }
    return "";
}

}  // namespace

std::string write_report(const Findings& f, const Truth& truth, double omission_rate, Rng& rng) {
    std::vector<std::string> findings;
    auto maybe = [&](std::string text) {
        if (!rng.chance(omission_rate)) findings.push_back(std::move(text));
    };
    if (f.mi != Territory::None) {
        const std::string where = territory_name(f.mi), leads = territory_leads(f.mi);
        if (f.mi_acute) {
            maybe(one_of(rng, std::array{"acute " + where + " myocardial infarction", "ST elevation in " + leads + ", consider acute " + where + " infarct",
                                         where + " STEMI"}));
        } else {
            maybe(one_of(rng, std::array{where + " infarct, age undetermined", "Q waves in " + leads + ", consistent with old " + where + " infarction",
                                         "old " + where + " myocardial infarction"}));
        }
    }
    switch (f.sttc) {
        case Repolarisation::StDepression:
            maybe(one_of(rng, std::array{std::string("ST depression in lateral leads"), std::string("ischemic ST-T changes"),
                                         std::string("horizontal ST depression, possible ischemia")}));
            break;
        case Repolarisation::TInversion:
            maybe(one_of(rng, std::array{"T wave inversion", "inverted T waves, consider ischemia", "T-wave abnormality"}));
            break;
        case Repolarisation::NonSpecific:
            maybe(one_of(rng, std::array{"non-specific ST-T changes", "nonspecific T wave flattening", "minor ST-T abnormality"}));
            break;
        case Repolarisation::None: break;
    }
    if (f.long_qt) maybe(one_of(rng, std::array{"prolonged QT interval", "long QT", "QTc prolonged"}) + (rng.chance(0.5) ? " (QTc " + number(truth.qtc_ms) + " ms)" : ""));
    if (f.avb1) maybe(one_of(rng, std::array{"first degree AV block", "1st degree AV block", "prolonged PR interval"}) + (rng.chance(0.4) ? ", PR " + number(truth.pr_ms) + " ms" : ""));
    if (f.lbbb) maybe(one_of(rng, std::array{"left bundle branch block", "complete LBBB", "LBBB"}));
    if (f.rbbb) maybe(one_of(rng, std::array{"right bundle branch block", "complete RBBB", "RBBB"}));
    if (f.lvh) {
        maybe(f.lvh_strain ? one_of(rng, std::array{"LVH with strain pattern", "left ventricular hypertrophy with repolarization abnormality"})
                           : one_of(rng, std::array{"left ventricular hypertrophy", "voltage criteria for LVH", "LVH"}));
    }
    if (f.pvc) maybe(one_of(rng, std::array{"ventricular premature complexes", "occasional PVCs", "premature ventricular contractions"}));
    if (f.pac) maybe(one_of(rng, std::array{"atrial premature complexes", "supraventricular extrasystoles", "occasional PACs"}));
    for (std::size_t i = findings.size(); i > 1; --i)  // Fisher-Yates
        std::swap(findings[i - 1], findings[static_cast<std::size_t>(rng.uniform() * static_cast<double>(i)) % i]);

    std::vector<std::string> sentences;
    for (Rhythm r : f.rhythms)
        if (!rng.chance(omission_rate / 2)) sentences.push_back(rhythm_phrase(r, truth, rng));
    sentences.insert(sentences.end(), findings.begin(), findings.end());
    const auto statements = f.statements();
    if (std::find(statements.begin(), statements.end(), Statement::NORM) != statements.end())
        sentences.push_back(one_of(rng, std::array{"normal ECG", "within normal limits", "no acute changes"}));
    if (sentences.empty()) sentences.push_back(rhythm_phrase(f.rhythm, truth, rng));  // never an empty report

    std::string text;
    const std::string separator = rng.chance(0.5) ? ". " : "; ";
    for (const std::string& s : sentences) text += (text.empty() ? "" : separator) + s;
    if (!text.empty() && rng.chance(0.5)) text += ".";
    if (rng.chance(0.15)) {
        for (char& ch : text) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    } else if (!text.empty()) {
        text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
    }
    return text;
}

}  // namespace ecgbench::synth
