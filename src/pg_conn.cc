// The libpq wrapper of the PostgreSQL store (pg_conn.h).
#include "pg_conn.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <mutex>

#include "mdfetch/redact.h"

namespace mdfetch {
namespace {

// The password libpq would use for `uri`, as far as the URI itself says.
std::string PasswordOf(const std::string& uri) {
  char* error = nullptr;
  PQconninfoOption* options = Pq().conninfo_parse(uri.c_str(), &error);
  if (error != nullptr) Pq().freemem(error);
  std::string password;
  if (options == nullptr) return password;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) password = o->val;
  }
  Pq().conninfo_free(options);
  return password;
}

// libpq's messages end with a newline, and often hold several lines: keep them on one.
std::string OneLine(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::string out;
  for (char c : text) out += c == '\n' ? ' ' : c;
  return out;
}

// libpq and the error of loading it, loaded once.
struct Loaded {
  Libpq api{};
  std::string error;
};

// Takes `name` from `handle` into `slot`, or says which is missing.
template <typename Fn>
bool Take(void* handle, const char* name, Fn& slot, std::string& error) {
  void* symbol = dlsym(handle, name);
  if (symbol == nullptr) {
    if (error.empty()) error = fmt::format("it has no {}", name);
    return false;
  }
  slot = reinterpret_cast<Fn>(symbol);
  return true;
}

Loaded Load() {
  Loaded loaded;
  // RTLD_LOCAL: libpq's own dependencies stay out of the way of ours.
  void* handle = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    loaded.error = why != nullptr ? why : "dlopen failed";
    return loaded;
  }
  Libpq& a = loaded.api;
  std::string& e = loaded.error;
  bool ok = Take(handle, "PQconnectdbParams", a.connectdb_params, e);
  ok &= Take(handle, "PQconninfoParse", a.conninfo_parse, e);
  ok &= Take(handle, "PQconninfoFree", a.conninfo_free, e);
  ok &= Take(handle, "PQfreemem", a.freemem, e);
  ok &= Take(handle, "PQpass", a.pass, e);
  ok &= Take(handle, "PQstatus", a.status, e);
  ok &= Take(handle, "PQerrorMessage", a.error_message, e);
  ok &= Take(handle, "PQfinish", a.finish, e);
  ok &= Take(handle, "PQexec", a.exec, e);
  ok &= Take(handle, "PQexecParams", a.exec_params, e);
  ok &= Take(handle, "PQprepare", a.prepare, e);
  ok &= Take(handle, "PQexecPrepared", a.exec_prepared, e);
  ok &= Take(handle, "PQresultStatus", a.result_status, e);
  ok &= Take(handle, "PQresultErrorField", a.result_error_field, e);
  ok &= Take(handle, "PQclear", a.clear, e);
  ok &= Take(handle, "PQntuples", a.ntuples, e);
  ok &= Take(handle, "PQgetisnull", a.getisnull, e);
  ok &= Take(handle, "PQgetvalue", a.getvalue, e);
  ok &= Take(handle, "PQgetlength", a.getlength, e);
  ok &= Take(handle, "PQcmdTuples", a.cmd_tuples, e);
  ok &= Take(handle, "PQputCopyData", a.put_copy_data, e);
  ok &= Take(handle, "PQputCopyEnd", a.put_copy_end, e);
  ok &= Take(handle, "PQgetResult", a.get_result, e);
  ok &= Take(handle, "PQtransactionStatus", a.transaction_status, e);
  // The handle stays open for the life of the process: PgConns may outlive any scope here.
  if (!ok) loaded.api = Libpq{};
  return loaded;
}

const Loaded& Once() {
  static const Loaded loaded = Load();  // thread-safe initialisation
  return loaded;
}

}  // namespace

Result<const Libpq*> LoadLibpq() {
  const Loaded& loaded = Once();
  if (!loaded.error.empty()) {
    return Fail(fmt::format("PostgreSQL needs libpq (libpq.so.5): {}; install the package libpq5",
                            loaded.error));
  }
  return &loaded.api;
}

const Libpq& Pq() { return Once().api; }

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
  const char* text = result_ ? Pq().cmd_tuples(result_.get()) : "";
  int64_t value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& uri,
                                                const std::string& application_name) {
  // dbname expands the URI; the application_name after it overrides one in the URI, so that
  // another mdfetch can tell who holds the writer lock.
  if (auto loaded = LoadLibpq(); !loaded) return std::unexpected(loaded.error());
  const char* keys[] = {"dbname", "application_name", nullptr};
  const char* values[] = {uri.c_str(), application_name.c_str(), nullptr};
  PGconn* conn = Pq().connectdb_params(keys, values, 1);
  // What the URI holds as written and decoded (libpq quotes a token it cannot parse as it
  // is), and what libpq took, from the URI or from PGPASSWORD / PGPASSFILE.
  std::vector<std::string> secrets = DbPasswords(uri);
  if (std::string password = PasswordOf(uri); !password.empty()) secrets.push_back(password);
  if (conn != nullptr && Pq().pass(conn) != nullptr && *Pq().pass(conn) != '\0') {
    secrets.emplace_back(Pq().pass(conn));
  }
  std::unique_ptr<PgConn> pg(new PgConn(conn, RedactDb(uri), std::move(secrets)));
  if (conn == nullptr)
    return Fail(fmt::format("cannot open database '{}': out of memory", pg->name_));
  if (Pq().status(conn) != CONNECTION_OK) {
    return Fail(fmt::format("cannot open database '{}': {}", pg->name_,
                            pg->Redacted(OneLine(Pq().error_message(conn)))));
  }
  return pg;
}

PgConn::~PgConn() { Pq().finish(conn_); }

std::string PgConn::Redacted(std::string_view text) const {
  std::string out(text);
  for (const std::string& secret : secrets_) out = Redact(out, secret);
  return out;
}

Error PgConn::ErrorOf(const PGresult* result) const {
  if (Pq().status(conn_) != CONNECTION_OK) {
    return Error{ErrorCode::kTransient, fmt::format("lost the connection to '{}': {}", name_,
                                                    Redacted(OneLine(Pq().error_message(conn_))))};
  }
  const char* primary =
      result != nullptr ? Pq().result_error_field(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string text = primary != nullptr ? primary : OneLine(Pq().error_message(conn_));
  return Error{ErrorCode::kPermanent, Redacted(text)};
}

Result<PgRows> PgConn::Exec(const std::string& sql) {
  PGresult* result = Pq().exec(conn_, sql.c_str());
  PgRows rows(result);
  const ExecStatusType status = Pq().result_status(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return std::unexpected(ErrorOf(result));
  }
  return rows;
}

Result<const std::string*> PgConn::PreparedName(const std::string& sql, int params) {
  // Parsing, analysing and planning the few statements of each answer (claim, lease, series
  // row, call log) took ~15% of the server's CPU in an ingest of 1.24 M bars, as much as
  // heap inserts (docs/performance.md, "Server CPU per bar"). A text run once (most reads)
  // costs no extra round trip.
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    if (static_cast<int>(statements_.size()) < 2 * kMaxPrepared) statements_.emplace(sql, "");
    return nullptr;
  }
  if (!found->second.empty()) return &found->second;
  if (next_prepared_ >= kMaxPrepared) return nullptr;
  std::string name = fmt::format("mdfetch_{}", next_prepared_);
  PGresult* prepared = Pq().prepare(conn_, name.c_str(), sql.c_str(), params, nullptr);
  PgRows hold(prepared);
  if (Pq().result_status(prepared) != PGRES_COMMAND_OK) return std::unexpected(ErrorOf(prepared));
  ++next_prepared_;
  found->second = std::move(name);
  return &found->second;
}

Result<PgRows> PgConn::Exec(const std::string& sql, const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const PgParam& p : params) values.push_back(p ? p->c_str() : nullptr);
  const int n = static_cast<int>(values.size());
  Result<const std::string*> name = PreparedName(sql, n);
  if (!name) return std::unexpected(name.error());
  PGresult* result =
      *name != nullptr
          ? Pq().exec_prepared(conn_, (*name)->c_str(), n, values.data(), nullptr, nullptr, 0)
          : Pq().exec_params(conn_, sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0);
  PgRows rows(result);
  const ExecStatusType status = Pq().result_status(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return std::unexpected(ErrorOf(result));
  }
  return rows;
}

Result<int64_t> PgConn::CopyIn(const std::string& copy_sql, std::string_view data) {
  {
    PGresult* started = Pq().exec(conn_, copy_sql.c_str());
    PgRows hold(started);
    if (Pq().result_status(started) != PGRES_COPY_IN) return std::unexpected(ErrorOf(started));
  }
  constexpr size_t kChunk = 1 << 20;
  bool sent = true;
  for (size_t at = 0; at < data.size() && sent; at += kChunk) {
    const size_t n = std::min(kChunk, data.size() - at);
    sent = Pq().put_copy_data(conn_, data.data() + at, static_cast<int>(n)) == 1;
  }
  const bool ended = Pq().put_copy_end(conn_, sent ? nullptr : "client failed to send") == 1;
  PGresult* result = Pq().get_result(conn_);
  PgRows rows(result);
  const bool ok = ended && sent && Pq().result_status(result) == PGRES_COMMAND_OK;
  Error error = ok ? Error{} : ErrorOf(result);
  while (PGresult* more = Pq().get_result(conn_)) Pq().clear(more);
  if (!ok) return std::unexpected(error);
  return rows.Affected();
}

bool PgConn::InTransaction() const {
  const PGTransactionStatusType status = Pq().transaction_status(conn_);
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
