#include "runner/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace ecgbench {

Progress::Progress(bool quiet) : tty_(isatty(STDOUT_FILENO) == 1), quiet_(quiet) {}

void Progress::line(const std::string& text) {
    if (quiet_) return;
    if (tty_ && status_shown_) std::cout << "\r\033[K";
    status_shown_ = false;
    std::cout << text << std::endl;
}

void Progress::status(const std::string& text) {
    if (quiet_) return;
    if (tty_) {
        std::cout << "\r\033[K" << text << std::flush;
        status_shown_ = true;
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_plain_ < std::chrono::seconds(5)) return;
    last_plain_ = now;
    std::cout << "  " << text << std::endl;
}

std::string format_duration(double seconds) {
    char buffer[32];
    const long s = static_cast<long>(seconds + 0.5);
    if (s < 60) std::snprintf(buffer, sizeof buffer, "%lds", s);
    else if (s < 3600) std::snprintf(buffer, sizeof buffer, "%ldm%02lds", s / 60, s % 60);
    else std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    return buffer;
}

}  // namespace ecgbench
