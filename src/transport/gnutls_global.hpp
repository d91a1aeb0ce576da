// GnuTLS wants one global initialisation per process; every GnuTLS user in the library calls this first.
#pragma once

namespace eustress::net::transport {

void ensure_gnutls_initialized();

}  // namespace eustress::net::transport
