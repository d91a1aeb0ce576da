// libsodium must be initialised once per process before its first use; every user calls this first.
#pragma once

namespace eustress::net::security {

/// Idempotent and thread-safe. Throws std::runtime_error when libsodium cannot initialise (no entropy source).
void ensure_sodium_initialized();

}  // namespace eustress::net::security
