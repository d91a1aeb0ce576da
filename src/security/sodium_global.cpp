#include "security/sodium_global.hpp"

#include <sodium.h>
#include <stdexcept>

namespace eustress::net::security {

void ensure_sodium_initialized()
{
    static const bool ready = [] {
        return sodium_init() >= 0;
    }();
    if (!ready)
        throw std::runtime_error("libsodium could not initialise");
}

}  // namespace eustress::net::security
