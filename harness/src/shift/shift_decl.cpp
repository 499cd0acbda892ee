#include "shift/shift_decl.hpp"

#include "util/json.hpp"

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
    return fields;
}

}  // namespace ecgbench
