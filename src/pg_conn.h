// PgConn: a small RAII wrapper over one libpq connection, for the PostgreSQL store
// (src/store_pg*.cc). Private to the store; libpq-fe.h is included by this module alone.
//
// Errors are values. Every error text that leaves this module went through Redact() with the
// connection's password (from the URI, or the one libpq found in PGPASSFILE), so no password
// is ever shown. Errors about the connection itself name the store by its redacted URI.
// Not thread-safe: one connection belongs to one thread at a time.
//
// libpq is not linked: it is loaded with dlopen when the first PostgreSQL store is opened
// (LoadLibpq), so that a command on a SQLite store does not pay for loading libpq and the
// ~20 libraries it pulls in (Kerberos, LDAP, GnuTLS: about 20 ms of every start, measured in
// docs/performance.md). Its functions are called through Pq().
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mdfetch/result.h"

namespace mdfetch {

// The libpq functions the store uses, taken from libpq.so.5 by LoadLibpq.
struct Libpq {
  decltype(&::PQconnectdbParams) connectdb_params;
  decltype(&::PQconninfoParse) conninfo_parse;
  decltype(&::PQconninfoFree) conninfo_free;
  decltype(&::PQfreemem) freemem;
  decltype(&::PQpass) pass;
  decltype(&::PQstatus) status;
  decltype(&::PQerrorMessage) error_message;
  decltype(&::PQfinish) finish;
  decltype(&::PQexec) exec;
  decltype(&::PQexecParams) exec_params;
  decltype(&::PQprepare) prepare;
  decltype(&::PQexecPrepared) exec_prepared;
  decltype(&::PQresultStatus) result_status;
  decltype(&::PQresultErrorField) result_error_field;
  decltype(&::PQclear) clear;
  decltype(&::PQntuples) ntuples;
  decltype(&::PQgetisnull) getisnull;
  decltype(&::PQgetvalue) getvalue;
  decltype(&::PQgetlength) getlength;
  decltype(&::PQcmdTuples) cmd_tuples;
  decltype(&::PQputCopyData) put_copy_data;
  decltype(&::PQputCopyEnd) put_copy_end;
  decltype(&::PQgetResult) get_result;
  decltype(&::PQtransactionStatus) transaction_status;
};

// Loads libpq once (thread-safe). Fails with "PostgreSQL needs libpq (libpq.so.5): WHY;
// install the package libpq5" when it cannot be loaded or lacks a function.
Result<const Libpq*> LoadLibpq();
// The loaded functions: only once LoadLibpq() succeeded (a PgConn exists).
const Libpq& Pq();

struct PgResultClear {
  void operator()(PGresult* result) const { Pq().clear(result); }
};

// One answer of the server: rows and columns as text (NULL as nullopt).
class PgRows {
 public:
  PgRows() = default;
  explicit PgRows(PGresult* result) : result_(result) {}
  int Rows() const { return result_ ? Pq().ntuples(result_.get()) : 0; }
  bool IsNull(int row, int column) const { return Pq().getisnull(result_.get(), row, column) != 0; }
  std::string_view Text(int row, int column) const {
    return {Pq().getvalue(result_.get(), row, column),
            static_cast<size_t>(Pq().getlength(result_.get(), row, column))};
  }
  int64_t Int(int row, int column) const;
  double Double(int row, int column) const;
  std::optional<double> OptionalDouble(int row, int column) const {
    if (IsNull(row, column)) return std::nullopt;
    return Double(row, column);
  }
  bool Bool(int row, int column) const { return Text(row, column) == "t"; }
  // Rows a command touched (PQcmdTuples): INSERT, UPDATE, DELETE, COPY.
  int64_t Affected() const;

 private:
  std::unique_ptr<PGresult, PgResultClear> result_;
};

// A statement parameter in text form; nullopt is SQL NULL.
using PgParam = std::optional<std::string>;

// When a transaction's COMMIT returns. kDurable: once its WAL is flushed, as the session's
// synchronous_commit says (on, by default). kLazy: at once (SET LOCAL synchronous_commit = off);
// the server flushes it within ~3 x wal_writer_delay (0.6 s by default), so a crash of the
// server or its host may lose it, never a crash of mdfetch. The WAL keeps its order: a durable
// commit after it makes it durable too, so such a crash loses only the newest lazy ones.
enum class PgCommit { kDurable, kLazy };

class PgConn {
 public:
  // Connects to `uri` (a libpq URI; libpq's environment fills in the rest) with
  // application_name = `application_name`. Fails with "cannot open database 'URI': WHY",
  // the URI and WHY redacted.
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& uri,
                                                 const std::string& application_name);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // The store as messages name it: the URI, its password redacted.
  const std::string& Name() const { return name_; }

  // Runs one statement (or several separated by ';' when there are no params).
  Result<PgRows> Exec(const std::string& sql);
  // Runs one statement with $1..$n. The second time a connection runs the same text it
  // prepares it (a named statement of this session, "mdfetch_N") and from then on executes it
  // by name, so that the server parses and analyses it once per connection and, once its
  // generic plan is no dearer than a custom one, plans it once too (up to kMaxPrepared texts;
  // later ones run unprepared). Rows, errors and transactions are those of an unprepared run;
  // a prepared statement outlives a rolled-back transaction, as the protocol's do.
  Result<PgRows> Exec(const std::string& sql, const std::vector<PgParam>& params);
  // The statement texts this connection has prepared so far (for tests).
  int PreparedCount() const { return next_prepared_; }
  // Transactions begun as PgCommit::kLazy so far.
  int64_t LazyTransactions() const { return lazy_transactions_; }
  static constexpr int kMaxPrepared = 64;
  // COPY ... FROM STDIN with `data` in COPY's text format; returns the rows copied.
  Result<int64_t> CopyIn(const std::string& copy_sql, std::string_view data);

  // Whether a transaction is open (or failed and waits for ROLLBACK).
  bool InTransaction() const;
  // Runs `body` in BEGIN ... COMMIT (see PgCommit); rolls back when it or the commit fails.
  template <typename F>
  auto InTransaction(F&& body, PgCommit commit = PgCommit::kDurable) -> decltype(body()) {
    if (auto begun =
            Exec(commit == PgCommit::kLazy ? "BEGIN; SET LOCAL synchronous_commit = off" : "BEGIN");
        !begun) {
      return std::unexpected(begun.error());
    }
    if (commit == PgCommit::kLazy) ++lazy_transactions_;
    auto result = body();
    if (result) {
      auto committed = Exec("COMMIT");
      if (committed) return result;
      result = std::unexpected(committed.error());
    }
    if (InTransaction()) (void)Exec("ROLLBACK");
    return result;
  }

  // `text` with the connection's password masked.
  std::string Redacted(std::string_view text) const;

 private:
  PgConn(PGconn* conn, std::string name, std::vector<std::string> secrets)
      : conn_(conn), name_(std::move(name)), secrets_(std::move(secrets)) {}
  // The error of a failed result (its primary message), or of the connection.
  Error ErrorOf(const PGresult* result) const;

  // Whether the statement `sql` runs prepared now: prepares it on its second run.
  Result<const std::string*> PreparedName(const std::string& sql, int params);

  PGconn* conn_;
  std::string name_;
  std::vector<std::string> secrets_;  // every form of the password, hidden in every message
  // Statement texts run with params: the name it is prepared as ("": run once so far).
  std::unordered_map<std::string, std::string> statements_;
  int next_prepared_ = 0;
  int64_t lazy_transactions_ = 0;
};

// Escapes text for a field of COPY's text format (backslash, tab, newline, carriage return).
void AppendCopyText(std::string& out, std::string_view text);

}  // namespace mdfetch
