// Progress output for long runs: a self-rewriting status line on a terminal, plain timestamped
// lines (at most one every few seconds per phase) when stdout is a file or a pipe.
#pragma once

#include <chrono>
#include <string>

namespace ecgbench {

class Progress {
public:
    explicit Progress(bool quiet = false);
    /// A line that stays (cell started/finished, errors).
    void line(const std::string& text);
    /// A transient status (epoch/step/loss/ETA); rate-limited when not on a terminal.
    void status(const std::string& text);

private:
    bool tty_;
    bool quiet_;
    bool status_shown_ = false;
    std::chrono::steady_clock::time_point last_plain_{};
};

/// "1m23s", "45s", "2h05m".
std::string format_duration(double seconds);

}  // namespace ecgbench
