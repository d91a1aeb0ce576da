#include "transport/gnutls_global.hpp"

#include <cstdlib>
#include <mutex>

#include <gnutls/gnutls.h>

namespace eustress::net::transport {

void ensure_gnutls_initialized()
{
    static std::once_flag once;
    std::call_once(once, [] {
        if (gnutls_global_init() != GNUTLS_E_SUCCESS)
            std::abort();  // nothing TLS-related can work; fail loudly at set-up rather than per connection
    });
}

}  // namespace eustress::net::transport
