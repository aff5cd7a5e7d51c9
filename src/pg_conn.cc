// The libpq wrapper of the PostgreSQL store (pg_conn.h).
#include "pg_conn.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "mdfetch/redact.h"

namespace mdfetch {
namespace {

// The password libpq would use for `uri`, as far as the URI itself says.
std::string PasswordOf(const std::string& uri) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  std::string password;
  if (options == nullptr) return password;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) password = o->val;
  }
  PQconninfoFree(options);
  return password;
}

// libpq's messages end with a newline, and often hold several lines: keep them on one.
std::string OneLine(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::string out;
  for (char c : text) out += c == '\n' ? ' ' : c;
  return out;
}

}  // namespace

int64_t PgRows::Int(int row, int column) const {
  std::string_view text = Text(row, column);
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

double PgRows::Double(int row, int column) const {
  std::string_view text = Text(row, column);
  // float8out writes "Infinity" and "NaN", which from_chars reads too.
  double value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

int64_t PgRows::Affected() const {
  const char* text = result_ ? PQcmdTuples(result_.get()) : "";
  int64_t value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& uri,
                                                const std::string& application_name) {
  // dbname expands the URI; the application_name after it overrides one in the URI, so that
  // another mdfetch can tell who holds the writer lock.
  const char* keys[] = {"dbname", "application_name", nullptr};
  const char* values[] = {uri.c_str(), application_name.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  // What the URI holds as written and decoded (libpq quotes a token it cannot parse as it
  // is), and what libpq took, from the URI or from PGPASSWORD / PGPASSFILE.
  std::vector<std::string> secrets = DbPasswords(uri);
  if (std::string password = PasswordOf(uri); !password.empty()) secrets.push_back(password);
  if (conn != nullptr && PQpass(conn) != nullptr && *PQpass(conn) != '\0') {
    secrets.emplace_back(PQpass(conn));
  }
  std::unique_ptr<PgConn> pg(new PgConn(conn, RedactDb(uri), std::move(secrets)));
  if (conn == nullptr)
    return Fail(fmt::format("cannot open database '{}': out of memory", pg->name_));
  if (PQstatus(conn) != CONNECTION_OK) {
    return Fail(fmt::format("cannot open database '{}': {}", pg->name_,
                            pg->Redacted(OneLine(PQerrorMessage(conn)))));
  }
  return pg;
}

PgConn::~PgConn() { PQfinish(conn_); }

std::string PgConn::Redacted(std::string_view text) const {
  std::string out(text);
  for (const std::string& secret : secrets_) out = Redact(out, secret);
  return out;
}

Error PgConn::ErrorOf(const PGresult* result) const {
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Error{ErrorCode::kTransient, fmt::format("lost the connection to '{}': {}", name_,
                                                    Redacted(OneLine(PQerrorMessage(conn_))))};
  }
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string text = primary != nullptr ? primary : OneLine(PQerrorMessage(conn_));
  return Error{ErrorCode::kPermanent, Redacted(text)};
}

Result<PgRows> PgConn::Exec(const std::string& sql) {
  PGresult* result = PQexec(conn_, sql.c_str());
  PgRows rows(result);
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return std::unexpected(ErrorOf(result));
  }
  return rows;
}

Result<PgRows> PgConn::Exec(const std::string& sql, const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const PgParam& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* result = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                  values.data(), nullptr, nullptr, 0);
  PgRows rows(result);
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return std::unexpected(ErrorOf(result));
  }
  return rows;
}

Result<int64_t> PgConn::CopyIn(const std::string& copy_sql, std::string_view data) {
  {
    PGresult* started = PQexec(conn_, copy_sql.c_str());
    PgRows hold(started);
    if (PQresultStatus(started) != PGRES_COPY_IN) return std::unexpected(ErrorOf(started));
  }
  constexpr size_t kChunk = 1 << 20;
  bool sent = true;
  for (size_t at = 0; at < data.size() && sent; at += kChunk) {
    const size_t n = std::min(kChunk, data.size() - at);
    sent = PQputCopyData(conn_, data.data() + at, static_cast<int>(n)) == 1;
  }
  const bool ended = PQputCopyEnd(conn_, sent ? nullptr : "client failed to send") == 1;
  PGresult* result = PQgetResult(conn_);
  PgRows rows(result);
  const bool ok = ended && sent && PQresultStatus(result) == PGRES_COMMAND_OK;
  Error error = ok ? Error{} : ErrorOf(result);
  while (PGresult* more = PQgetResult(conn_)) PQclear(more);
  if (!ok) return std::unexpected(error);
  return rows.Affected();
}

bool PgConn::InTransaction() const {
  const PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
}

void AppendCopyText(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}

}  // namespace mdfetch
