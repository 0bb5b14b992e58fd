#pragma once

#include "guest.hpp"
#include "ivi/layout.hpp"

#include <memory>
#include <string_view>
#include <vector>

namespace tessera::compositor {

class Server;

// The layout's guests. A reloaded layout starts the guests it adds, stops those it drops and
// restarts those whose declaration changed; the others, and their running VMs, are untouched.
class Guests {
public:
    explicit Guests(Server& server) : server_(server) {}

    void apply(const std::vector<ivi::GuestSpec>& specs);
    [[nodiscard]] const std::vector<std::unique_ptr<Guest>>& all() const { return guests_; }
    [[nodiscard]] Guest* find(std::string_view name) const;
    // Passes the log levels now in force to every running device process.
    void relay_log_levels() const;

private:
    Server& server_;
    std::vector<std::unique_ptr<Guest>> guests_;
};

} // namespace tessera::compositor
