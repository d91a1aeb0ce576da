// crdt::Store's SQLite connection, shared by its files (sqlite_store.cpp: snapshot and deltas; sqlite_outbox.cpp:
// what sync across servers adds).
#pragma once

#include <sqlite3.h>

#include "eustress/net/crdt_store.hpp"

namespace eustress::net::crdt {

struct Statement
{
    sqlite3_stmt* handle = nullptr;
    Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &handle, nullptr); }
    ~Statement() { sqlite3_finalize(handle); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
};

struct Store::Impl
{
    StoreConfig config;
    sqlite3* db = nullptr;
    StoreStats stats;
    std::string error;

    ~Impl() { sqlite3_close_v2(db); }

    bool fail()
    {
        error = sqlite3_errmsg(db);
        return false;
    }
    bool exec(const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK || fail(); }
    bool configure();
    bool count_existing();
    bool insert_delta(Bytes encoded);
    /// Runs `body` in one transaction, rolled back when it returns false.
    template <typename Body> bool transaction(Body body)
    {
        if (!exec("BEGIN IMMEDIATE"))
            return false;
        if (body() && exec("COMMIT"))
            return true;
        fail();
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return false;
    }
};

}  // namespace eustress::net::crdt
