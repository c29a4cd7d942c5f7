// SqliteShowStore: the embedded adapter of the ShowStore port. One
// connection, statements prepared per call (shows change rarely), one mutex.
#include <sqlite3.h>

#include <mutex>

#include "store/show_store.h"

namespace hawker::store {

std::string_view show_status_name(ShowStatus status) {
  switch (status) {
    case ShowStatus::kScheduled: return "scheduled";
    case ShowStatus::kLive: return "live";
    case ShowStatus::kEnded: return "ended";
  }
  return "scheduled";
}

bool parse_show_status(std::string_view text, ShowStatus& status) {
  for (auto candidate : {ShowStatus::kScheduled, ShowStatus::kLive, ShowStatus::kEnded}) {
    if (show_status_name(candidate) == text) {
      status = candidate;
      return true;
    }
  }
  return false;
}

namespace {

#define HAWKER_SHOW_COLUMNS "id, seller, title, status, showcase, showcase_us, created_us, stream_key"

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &statement_, nullptr) == SQLITE_OK; }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return ok_; }
  sqlite3_stmt* get() { return statement_; }

 private:
  sqlite3_stmt* statement_ = nullptr;
  bool ok_ = false;
};

class SqliteShowStore final : public ShowStore {
 public:
  ~SqliteShowStore() override { sqlite3_close(db_); }

  Status open(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK)
      return error("open");
    static constexpr const char* kSchema =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;"
        "CREATE TABLE IF NOT EXISTS shows(id INTEGER PRIMARY KEY AUTOINCREMENT, seller TEXT NOT NULL,"
        " title TEXT NOT NULL, status INTEGER NOT NULL, showcase INTEGER NOT NULL DEFAULT 0,"
        " showcase_us INTEGER NOT NULL DEFAULT 0, created_us INTEGER NOT NULL);";
    if (Status created = exec(kSchema); !created) return created;
    return migrate();
  }

  Result<ShowRecord> create(const std::string& seller, const std::string& title, const std::string& stream_key,
                            int64_t now_us) override {
    if (stream_key.empty()) return make_error(ErrorCode::kInvalid, "a show needs a stream key");
    std::lock_guard lock(mutex_);
    Statement insert(db_, "INSERT INTO shows(seller, title, status, created_us, stream_key) VALUES(?, ?, 0, ?, ?)");
    if (!insert.ok()) return error("prepare insert");
    sqlite3_bind_text(insert.get(), 1, seller.data(), static_cast<int>(seller.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(insert.get(), 2, title.data(), static_cast<int>(title.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert.get(), 3, now_us);
    sqlite3_bind_text(insert.get(), 4, stream_key.data(), static_cast<int>(stream_key.size()), SQLITE_TRANSIENT);
    int step = sqlite3_step(insert.get());
    if (step == SQLITE_CONSTRAINT) return make_error(ErrorCode::kConflict, "stream key already in use");
    if (step != SQLITE_DONE) return error("insert show");
    ShowRecord show;
    show.id = static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
    show.seller = seller;
    show.title = title;
    show.created_us = now_us;
    show.stream_key = stream_key;
    return show;
  }

  Result<std::optional<ShowRecord>> find_by_stream_key(const std::string& stream_key) override {
    if (stream_key.empty()) return std::optional<ShowRecord>();
    std::lock_guard lock(mutex_);
    Statement select(db_, "SELECT " HAWKER_SHOW_COLUMNS " FROM shows WHERE stream_key = ?");
    if (!select.ok()) return error("prepare select by key");
    sqlite3_bind_text(select.get(), 1, stream_key.data(), static_cast<int>(stream_key.size()), SQLITE_TRANSIENT);
    int step = sqlite3_step(select.get());
    if (step == SQLITE_DONE) return std::optional<ShowRecord>();
    if (step != SQLITE_ROW) return error("select show by key");
    return std::optional<ShowRecord>(read_row(select.get()));
  }

  Status set_stream_key(uint64_t show_id, const std::string& stream_key) override {
    if (stream_key.empty()) return make_error(ErrorCode::kInvalid, "a show needs a stream key");
    std::lock_guard lock(mutex_);
    Statement update(db_, "UPDATE shows SET stream_key = ? WHERE id = ?");
    if (!update.ok()) return error("prepare stream key");
    sqlite3_bind_text(update.get(), 1, stream_key.data(), static_cast<int>(stream_key.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(update.get(), 2, static_cast<int64_t>(show_id));
    int step = sqlite3_step(update.get());
    if (step == SQLITE_CONSTRAINT) return make_error(ErrorCode::kConflict, "stream key already in use");
    if (step != SQLITE_DONE) return error("set stream key");
    if (sqlite3_changes(db_) == 0) return make_error(ErrorCode::kNotFound, "no such show");
    return {};
  }

  Result<std::optional<ShowRecord>> get(uint64_t show_id) override {
    std::lock_guard lock(mutex_);
    Statement select(db_, "SELECT " HAWKER_SHOW_COLUMNS " FROM shows WHERE id = ?");
    if (!select.ok()) return error("prepare select");
    sqlite3_bind_int64(select.get(), 1, static_cast<int64_t>(show_id));
    int step = sqlite3_step(select.get());
    if (step == SQLITE_DONE) return std::optional<ShowRecord>();
    if (step != SQLITE_ROW) return error("select show");
    return std::optional<ShowRecord>(read_row(select.get()));
  }

  Result<std::vector<ShowRecord>> list(size_t offset, size_t limit) override {
    std::lock_guard lock(mutex_);
    // live (1) first, then scheduled (0), then ended (2); newest first.
    Statement select(db_,
                     "SELECT " HAWKER_SHOW_COLUMNS " FROM shows"
                     " ORDER BY CASE status WHEN 1 THEN 0 WHEN 0 THEN 1 ELSE 2 END, id DESC LIMIT ? OFFSET ?");
    if (!select.ok()) return error("prepare list");
    sqlite3_bind_int64(select.get(), 1, static_cast<int64_t>(limit));
    sqlite3_bind_int64(select.get(), 2, static_cast<int64_t>(offset));
    std::vector<ShowRecord> out;
    int step;
    while ((step = sqlite3_step(select.get())) == SQLITE_ROW) out.push_back(read_row(select.get()));
    if (step != SQLITE_DONE) return error("list shows");
    return out;
  }

  Status set_showcase(uint64_t show_id, uint64_t product_id, int64_t now_us) override {
    std::lock_guard lock(mutex_);
    Statement update(db_, "UPDATE shows SET showcase = ?, showcase_us = ? WHERE id = ?");
    if (!update.ok()) return error("prepare showcase");
    sqlite3_bind_int64(update.get(), 1, static_cast<int64_t>(product_id));
    sqlite3_bind_int64(update.get(), 2, now_us);
    sqlite3_bind_int64(update.get(), 3, static_cast<int64_t>(show_id));
    if (sqlite3_step(update.get()) != SQLITE_DONE) return error("set showcase");
    if (sqlite3_changes(db_) == 0) return make_error(ErrorCode::kNotFound, "no such show");
    return {};
  }

  Status set_status(uint64_t show_id, ShowStatus status) override {
    std::lock_guard lock(mutex_);
    Statement update(db_, "UPDATE shows SET status = ? WHERE id = ?");
    if (!update.ok()) return error("prepare status");
    sqlite3_bind_int(update.get(), 1, static_cast<int>(status));
    sqlite3_bind_int64(update.get(), 2, static_cast<int64_t>(show_id));
    if (sqlite3_step(update.get()) != SQLITE_DONE) return error("set status");
    if (sqlite3_changes(db_) == 0) return make_error(ErrorCode::kNotFound, "no such show");
    return {};
  }

 private:
  static ShowRecord read_row(sqlite3_stmt* row) {
    ShowRecord show;
    show.id = static_cast<uint64_t>(sqlite3_column_int64(row, 0));
    show.seller = reinterpret_cast<const char*>(sqlite3_column_text(row, 1));
    show.title = reinterpret_cast<const char*>(sqlite3_column_text(row, 2));
    int status = sqlite3_column_int(row, 3);
    show.status = status == 1 ? ShowStatus::kLive : status == 2 ? ShowStatus::kEnded : ShowStatus::kScheduled;
    show.showcase_product_id = static_cast<uint64_t>(sqlite3_column_int64(row, 4));
    show.showcase_us = sqlite3_column_int64(row, 5);
    show.created_us = sqlite3_column_int64(row, 6);
    if (const unsigned char* key = sqlite3_column_text(row, 7)) show.stream_key = reinterpret_cast<const char*>(key);
    return show;
  }

  // Version 2 added stream keys: shows made before get a fresh random key.
  Status migrate() {
    bool has_key = false;
    {
      Statement columns(db_, "PRAGMA table_info(shows)");
      if (!columns.ok()) return error("table_info");
      while (sqlite3_step(columns.get()) == SQLITE_ROW)
        if (std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(columns.get(), 1))) == "stream_key")
          has_key = true;
    }
    if (!has_key) {
      if (Status added = exec("ALTER TABLE shows ADD COLUMN stream_key TEXT;"
                              "UPDATE shows SET stream_key = lower(hex(randomblob(16))) WHERE stream_key IS NULL;");
          !added)
        return added;
    }
    return exec("CREATE UNIQUE INDEX IF NOT EXISTS shows_stream_key ON shows(stream_key);");
  }

  Status exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : "unknown";
      sqlite3_free(message);
      return make_error(ErrorCode::kIo, "sqlite: " + text);
    }
    return {};
  }

  Error error(const char* what) {
    return make_error(ErrorCode::kIo, std::string("sqlite ") + what + ": " + (db_ ? sqlite3_errmsg(db_) : "no db"));
  }

  std::mutex mutex_;
  sqlite3* db_ = nullptr;
};

}  // namespace

Result<ShowStorePtr> open_sqlite_show_store(const std::string& path) {
  auto store = std::make_unique<SqliteShowStore>();
  if (Status opened = store->open(path); !opened) return opened.error();
  return ShowStorePtr(std::move(store));
}

}  // namespace hawker::store
