// crdt::Store on SQLite. Two tables: `snapshot` (one row: the document's state) and `deltas` (appended in order).
// WAL mode, so an append is one small sequential write; secure_delete, so deleted deltas (which may hold a
// player's data) are overwritten rather than left in free pages; incremental auto-vacuum, so compaction gives the
// space back and the file stays proportional to the live world.
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

#include <sqlite3.h>
#include <sys/stat.h>

#include "crdt/sqlite_store_impl.hpp"

namespace eustress::net::crdt {

namespace {

constexpr const char* kSchema =
    "PRAGMA auto_vacuum = INCREMENTAL;"  // only takes effect before the first table
    "CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  bytes BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS deltas (seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL);"
    // AUTOINCREMENT: an outbox id is part of the stream's message id, so it is never reused once published.
    "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL,"
    "  bytes BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS position (id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  stream_sequence INTEGER NOT NULL);";

}  // namespace

bool Store::Impl::configure()
{
    const char* sync =
        config.sync == SyncPolicy::EveryCommit ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;";
    return exec("PRAGMA journal_mode = WAL;") && exec(sync) && exec("PRAGMA secure_delete = ON;") && exec(kSchema) &&
           count_existing();
}

bool Store::Impl::count_existing()
{
    Statement deltas(db, "SELECT count(*), coalesce(sum(length(bytes)), 0) FROM deltas");
    Statement snapshot(db, "SELECT coalesce(sum(length(bytes)), 0) FROM snapshot");
    if (!deltas.handle || !snapshot.handle || sqlite3_step(deltas.handle) != SQLITE_ROW ||
        sqlite3_step(snapshot.handle) != SQLITE_ROW)
        return fail();
    stats.deltas = static_cast<std::uint64_t>(sqlite3_column_int64(deltas.handle, 0));
    stats.delta_bytes = static_cast<std::uint64_t>(sqlite3_column_int64(deltas.handle, 1));
    stats.snapshot_bytes = static_cast<std::uint64_t>(sqlite3_column_int64(snapshot.handle, 0));
    return true;
}

Store::Store(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Store::~Store() = default;

std::unique_ptr<Store> Store::open(const StoreConfig& config, std::string& error)
{
    // Created private before SQLite sees it; SQLite gives the WAL and shared-memory files the same mode.
    const int fd = ::open(config.path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
    {
        error = "cannot create " + config.path;
        return nullptr;
    }
    ::close(fd);
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    if (sqlite3_open_v2(config.path.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
            SQLITE_OK ||
        !impl->configure())
    {
        error = impl->db ? sqlite3_errmsg(impl->db) : "out of memory";
        return nullptr;
    }
    return std::unique_ptr<Store>(new Store(std::move(impl)));
}

std::optional<std::string> Store::load(Document& document, WallTime now)
{
    Impl& impl = *m_impl;
    Statement snapshot(impl.db, "SELECT bytes FROM snapshot WHERE id = 1");
    Statement deltas(impl.db, "SELECT seq, bytes FROM deltas ORDER BY seq");
    if (!snapshot.handle || !deltas.handle)
        return std::string(sqlite3_errmsg(impl.db));
    const auto merge = [&](sqlite3_stmt* row, int column) -> std::optional<std::string> {
        const auto* data = static_cast<const std::byte*>(sqlite3_column_blob(row, column));
        const Bytes bytes(data, static_cast<std::size_t>(sqlite3_column_bytes(row, column)));
        if (const auto refused = document.merge(bytes, now))
            return "stored bytes refused: " + std::string(refusal_name(*refused));
        return std::nullopt;
    };
    if (sqlite3_step(snapshot.handle) == SQLITE_ROW)
        if (auto failed = merge(snapshot.handle, 0))
            return failed;
    int step = SQLITE_ROW;
    while ((step = sqlite3_step(deltas.handle)) == SQLITE_ROW)
        if (auto failed = merge(deltas.handle, 1))
            return failed;
    if (step != SQLITE_DONE)
        return std::string(sqlite3_errmsg(impl.db));
    return std::nullopt;
}

bool Store::Impl::insert_delta(Bytes encoded)
{
    Statement insert(db, "INSERT INTO deltas (bytes) VALUES (?)");
    if (!insert.handle ||
        sqlite3_bind_blob(insert.handle, 1, encoded.data(), static_cast<int>(encoded.size()), SQLITE_STATIC) !=
            SQLITE_OK ||
        sqlite3_step(insert.handle) != SQLITE_DONE)
        return fail();
    ++stats.deltas;
    ++stats.appends;
    stats.delta_bytes += encoded.size();
    return true;
}

bool Store::append(Bytes encoded)
{
    return m_impl->insert_delta(encoded);
}

bool Store::compaction_due() const noexcept
{
    const StoreStats& stats = m_impl->stats;
    return stats.delta_bytes > m_impl->config.compact_after_bytes && stats.delta_bytes > stats.snapshot_bytes;
}

bool Store::compact(const Document& document)
{
    Impl& impl = *m_impl;
    const auto state = document.snapshot();
    if (!impl.exec("BEGIN IMMEDIATE"))
        return false;
    Statement replace(impl.db, "INSERT OR REPLACE INTO snapshot (id, bytes) VALUES (1, ?)");
    const bool written = replace.handle &&
                         sqlite3_bind_blob(replace.handle, 1, state.data(), static_cast<int>(state.size()),
                                           SQLITE_STATIC) == SQLITE_OK &&
                         sqlite3_step(replace.handle) == SQLITE_DONE && impl.exec("DELETE FROM deltas");
    if (!written)
    {
        impl.fail();
        sqlite3_exec(impl.db, "ROLLBACK", nullptr, nullptr, nullptr);
        return false;
    }
    // The freed pages go back to the file system, and the WAL is emptied into the file and truncated.
    if (!impl.exec("COMMIT") || !impl.exec("PRAGMA incremental_vacuum;") ||
        !impl.exec("PRAGMA wal_checkpoint(TRUNCATE);"))
        return false;
    impl.stats.deltas = 0;
    impl.stats.delta_bytes = 0;
    impl.stats.snapshot_bytes = state.size();
    ++impl.stats.compactions;
    return true;
}

std::uint64_t Store::file_bytes() const
{
    std::error_code ignored;
    std::uint64_t total = 0;
    for (const char* suffix : {"", "-wal"})
    {
        const auto size = std::filesystem::file_size(m_impl->config.path + suffix, ignored);
        if (!ignored)
            total += size;
    }
    return total;
}

const StoreStats& Store::stats() const noexcept
{
    return m_impl->stats;
}

const std::string& Store::last_error() const noexcept
{
    return m_impl->error;
}

}  // namespace eustress::net::crdt
