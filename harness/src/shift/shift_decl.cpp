#include "shift/shift_decl.hpp"

#include "util/json.hpp"

#include <sstream>
#include <stdexcept>

namespace ecgbench {

const std::vector<std::string>& shift_noise_types() {
    static const std::vector<std::string> types{"baseline", "muscle", "motion", "powerline", "mixed", "gaussian"};
    return types;
}

std::vector<std::string> lead_preset(const std::string& name) {
    if (name == "limb" || name == "cinc6") return {"I", "II", "III", "aVR", "aVL", "aVF"};
    if (name == "precordial") return {"V1", "V2", "V3", "V4", "V5", "V6"};
    if (name == "cinc4") return {"I", "II", "III", "V2"};
    if (name == "cinc3") return {"I", "II", "V2"};
    if (name == "cinc2") return {"I", "II"};
    throw std::invalid_argument("unknown lead set '" + name + "' (expected limb, precordial, cinc6, cinc4, cinc3 or cinc2)");
}

Json ShiftDecl::identity() const {
    Json fields = Json::object();
    if (!noise.empty()) fields["noise"] = noise;
    if (!noise_record.empty()) fields["noise_record"] = noise_record;
    if (!noise.empty() || !noise_record.empty()) fields["snr_db"] = snr_db;
    if (!leads.empty()) fields["leads"] = leads;
    if (random_leads > 0) fields["random_leads"] = random_leads;
    // Absent unless declared, so the identities of cells declared before these keys existed stay.
    if (highpass_hz > 0 || lowpass_hz > 0) fields["bandwidth_hz"] = Json::array({highpass_hz, lowpass_hz});
    if (resample_hz > 0) fields["resample_hz"] = resample_hz;
    if (!test_dataset.empty()) fields["test_dataset"] = test_dataset;
    return fields;
}

std::string ShiftDecl::rate_problem(double fs) const {
    std::ostringstream problem;
    for (const auto& [hz, side] : {std::pair{highpass_hz, "high-pass"}, std::pair{lowpass_hz, "low-pass"}})
        if (hz > 0 && hz >= fs / 2)
            problem << "its " << side << " corner (" << hz << " Hz) is not below the Nyquist frequency (" << fs / 2 << " Hz) of " << fs
                    << " Hz data";
    if (problem.tellp() == 0 && resample_hz > 0 && resample_hz >= fs)
        problem << "its resample_hz (" << resample_hz << " Hz) is not below the data's rate (" << fs << " Hz)";
    return problem.str();
}

}  // namespace ecgbench
