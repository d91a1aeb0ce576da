# Every dependency is a Debian 12 package; scripts/install-deps.sh installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(NGTCP2 REQUIRED IMPORTED_TARGET libngtcp2>=0.12 libngtcp2_crypto_gnutls>=0.12)
pkg_check_modules(GNUTLS REQUIRED IMPORTED_TARGET gnutls>=3.7)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
pkg_check_modules(NICE REQUIRED IMPORTED_TARGET nice>=0.1.18)
pkg_check_modules(OPUS REQUIRED IMPORTED_TARGET opus>=1.3)          # voice: the codec
pkg_check_modules(SPEEXDSP REQUIRED IMPORTED_TARGET speexdsp>=1.2)  # voice: the adaptive jitter buffer
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3>=3.40)     # persistent worlds: the CRDT store
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd>=1.4)        # assets: chunk compression; channels: message compression
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl>=7.88)        # assets: the HTTP origin (HTTP/1.1, HTTP/2)
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats>=3.4)        # persistent worlds across servers: JetStream
