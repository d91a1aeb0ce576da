#include <sodium.h>

#include "eustress/net/privacy.hpp"
#include "security/sodium_global.hpp"

namespace eustress::net {

Pseudonymizer::Pseudonymizer(Duration rotation) : m_rotation(rotation)
{
    security::ensure_sodium_initialized();
}

void Pseudonymizer::rotate_if_due(Timestamp now)
{
    if (m_rotations > 0 && now - m_salt_since < m_rotation)
        return;
    randombytes_buf(m_salt.data(), m_salt.size());
    m_salt_since = now;
    ++m_rotations;
}

std::string Pseudonymizer::pseudonym(std::string_view identifier, Timestamp now)
{
    rotate_if_due(now);
    std::array<unsigned char, 6> digest{};
    crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(identifier.data()),
                       identifier.size(), m_salt.data(), m_salt.size());
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text = "anon-";
    for (const unsigned char byte : digest)
    {
        text += kDigits[byte >> 4];
        text += kDigits[byte & 0x0f];
    }
    return text;
}

std::string Pseudonymizer::pseudonym(const SocketAddress& address, Timestamp now)
{
    SocketAddress host = address;
    host.set_port(0);
    return pseudonym(host.to_string(), now);
}

}  // namespace eustress::net
