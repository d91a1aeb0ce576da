// crdt::Store's part for sync across servers: the outbox of deltas not yet stored by the stream, and the stream
// sequence applied up to. Each is written in the transaction of the delta it concerns, so a crash between the two
// cannot lose a delta nor apply one twice from the store.

#include "crdt/sqlite_store_impl.hpp"

namespace eustress::net::crdt {

std::optional<std::uint64_t> Store::append_outgoing(Bytes encoded, std::string_view subject)
{
    Impl& impl = *m_impl;
    std::optional<std::uint64_t> id;
    const bool done = impl.transaction([&] {
        if (!impl.insert_delta(encoded))
            return false;
        Statement queue(impl.db, "INSERT INTO outbox (subject, bytes) VALUES (?, ?)");
        if (!queue.handle ||
            sqlite3_bind_text(queue.handle, 1, subject.data(), static_cast<int>(subject.size()), SQLITE_STATIC) !=
                SQLITE_OK ||
            sqlite3_bind_blob(queue.handle, 2, encoded.data(), static_cast<int>(encoded.size()), SQLITE_STATIC) !=
                SQLITE_OK ||
            sqlite3_step(queue.handle) != SQLITE_DONE)
            return false;
        id = static_cast<std::uint64_t>(sqlite3_last_insert_rowid(impl.db));
        return true;
    });
    return done ? id : std::nullopt;
}

std::vector<Outgoing> Store::outgoing() const
{
    std::vector<Outgoing> queued;
    Statement select(m_impl->db, "SELECT id, subject, bytes FROM outbox ORDER BY id");
    while (select.handle && sqlite3_step(select.handle) == SQLITE_ROW)
    {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(select.handle, 1));
        const auto* data = static_cast<const std::byte*>(sqlite3_column_blob(select.handle, 2));
        queued.push_back({.id = static_cast<std::uint64_t>(sqlite3_column_int64(select.handle, 0)),
                          .subject = text ? text : "",
                          .bytes = {data, data + sqlite3_column_bytes(select.handle, 2)}});
    }
    return queued;
}

bool Store::published_through(std::uint64_t id)
{
    Statement remove(m_impl->db, "DELETE FROM outbox WHERE id <= ?");
    return (remove.handle && sqlite3_bind_int64(remove.handle, 1, static_cast<sqlite3_int64>(id)) == SQLITE_OK &&
            sqlite3_step(remove.handle) == SQLITE_DONE) ||
           m_impl->fail();
}

bool Store::drop_outgoing(std::string_view prefix)
{
    Statement remove(m_impl->db, "DELETE FROM outbox WHERE substr(subject, 1, ?) = ?");
    return (remove.handle && sqlite3_bind_int(remove.handle, 1, static_cast<int>(prefix.size())) == SQLITE_OK &&
            sqlite3_bind_text(remove.handle, 2, prefix.data(), static_cast<int>(prefix.size()), SQLITE_STATIC) ==
                SQLITE_OK &&
            sqlite3_step(remove.handle) == SQLITE_DONE) ||
           m_impl->fail();
}

bool Store::append_received(const std::vector<Bytes>& encoded, std::uint64_t stream_sequence)
{
    Impl& impl = *m_impl;
    return impl.transaction([&] {
        for (const Bytes bytes : encoded)
            if (!impl.insert_delta(bytes))
                return false;
        Statement position(impl.db, "INSERT OR REPLACE INTO position (id, stream_sequence) VALUES (1, ?)");
        return position.handle &&
               sqlite3_bind_int64(position.handle, 1, static_cast<sqlite3_int64>(stream_sequence)) == SQLITE_OK &&
               sqlite3_step(position.handle) == SQLITE_DONE;
    });
}

std::uint64_t Store::stream_sequence() const
{
    Statement select(m_impl->db, "SELECT stream_sequence FROM position WHERE id = 1");
    return select.handle && sqlite3_step(select.handle) == SQLITE_ROW
               ? static_cast<std::uint64_t>(sqlite3_column_int64(select.handle, 0))
               : 0;
}

}  // namespace eustress::net::crdt
