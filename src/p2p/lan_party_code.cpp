// A party code becomes two keys, once per peer: Argon2id over the code, salted with the game id, then two subkeys.
//
// Why Argon2id and not a keyed hash of the code: every announcement carries a tag made with the code's key, so one
// captured announcement lets an eavesdropper test guesses offline. Codes are typed by people and short; a keyed
// BLAKE2b costs a guess 0.5 to 2 µs, Argon2id at libsodium's interactive limits 0.15 to 0.8 s (both measured on the
// two-core test machine, by load): some 300,000 times more. The cost is paid once when the party starts (the keys are
// then used for every tag and token), never per packet.
#include <sodium.h>

#include "eustress/net/lan_party.hpp"
#include "security/sodium_global.hpp"

namespace eustress::net {
namespace {

constexpr std::string_view kSaltContext = "eustress-lan-party-salt";
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "EuLPcode";
constexpr std::uint64_t kAnnouncementSubkey = 1;
constexpr std::uint64_t kAdmissionSubkey = 2;

}  // namespace

Result<LanPartySecret> derive_lan_party_secret(std::string_view code, std::string_view game_id, LanCodeCost cost)
{
    if (code.empty())
        return make_error(ErrorCode::InvalidArgument, "a party code must not be empty");
    if (game_id.empty() || game_id.size() > kMaxLanGameId)
        return make_error(ErrorCode::InvalidArgument,
                          "the game id must be 1 to " + std::to_string(kMaxLanGameId) + " bytes");
    security::ensure_sodium_initialized();

    std::array<unsigned char, crypto_pwhash_SALTBYTES> salt{};
    crypto_generichash_state state;
    crypto_generichash_init(&state, nullptr, 0, salt.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(kSaltContext.data()), kSaltContext.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(game_id.data()), game_id.size());
    crypto_generichash_final(&state, salt.data(), salt.size());

    const bool interactive = cost == LanCodeCost::Interactive;
    const unsigned long long operations =
        interactive ? crypto_pwhash_OPSLIMIT_INTERACTIVE : crypto_pwhash_argon2id_OPSLIMIT_MIN;
    const std::size_t memory = interactive ? crypto_pwhash_MEMLIMIT_INTERACTIVE : crypto_pwhash_argon2id_MEMLIMIT_MIN;
    std::array<unsigned char, crypto_kdf_KEYBYTES> master{};
    if (crypto_pwhash(master.data(), master.size(), code.data(), code.size(), salt.data(), operations, memory,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return make_error(ErrorCode::Unavailable, "Argon2id could not get its memory for the party code");

    LanPartySecret secret;
    crypto_kdf_derive_from_key(reinterpret_cast<unsigned char*>(secret.announcement_key.data()),
                               secret.announcement_key.size(), kAnnouncementSubkey, kKdfContext, master.data());
    crypto_kdf_derive_from_key(reinterpret_cast<unsigned char*>(secret.admission_key.bytes.data()),
                               secret.admission_key.bytes.size(), kAdmissionSubkey, kKdfContext, master.data());
    sodium_memzero(master.data(), master.size());
    return secret;
}

std::uint64_t random_lan_party_id()
{
    security::ensure_sodium_initialized();
    std::uint64_t id = 0;
    while (id == 0)
        randombytes_buf(&id, sizeof id);
    return id;
}

}  // namespace eustress::net
