#include "guests.hpp"

#include "gpu-backend/base/log.hpp"

#include <algorithm>

namespace tessera::compositor {

void Guests::apply(const std::vector<ivi::GuestSpec>& specs) {
    // Stopped first, so that a socket moving from one guest to another is free again.
    std::erase_if(guests_,
                  [&](const auto& guest) { return !std::ranges::contains(specs, guest->spec()); });
    std::vector<std::unique_ptr<Guest>> kept = std::move(guests_);
    guests_.clear();
    for (const auto& spec : specs) {
        auto it = std::ranges::find_if(kept, [&](const auto& g) { return g && g->spec() == spec; });
        guests_.push_back(it != kept.end() ? std::move(*it)
                                           : std::make_unique<Guest>(server_, spec));
    }
}

void Guests::relay_log_levels() const {
    std::string spec = log::current_spec();
    for (const auto& guest : guests_) {
        guest->set_log_levels(spec);
    }
}

Guest* Guests::find(std::string_view name) const {
    auto it = std::ranges::find_if(guests_, [&](const auto& g) { return g->spec().name == name; });
    return it == guests_.end() ? nullptr : it->get();
}

} // namespace tessera::compositor
