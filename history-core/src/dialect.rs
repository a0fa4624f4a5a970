use std::ops::RangeInclusive;

use chrono::{NaiveDate, NaiveDateTime};

use crate::capture::{ContextKey, ContextScope, SQLITE_CONTEXT_TABLE};
use crate::columns::HistoryColumn;
use crate::spec::{ColumnType, SqlKind, TableName};

/// The SQL dialect a migration is written for.
///
/// A migration snapshot names it by [`Dialect::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// SQLite 3.
    Sqlite,
    /// PostgreSQL 10 or newer.
    Postgres,
    /// MySQL 8 or MariaDB 10.5 or newer.
    Mysql,
}

impl Dialect {
    /// Every dialect, for code that writes all migrations at once.
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

    /// A short lowercase name (`sqlite`, `postgres`, `mysql`).
    pub const fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        }
    }

    /// Quotes an identifier: backticks on MySQL, double quotes elsewhere.
    pub fn quote(self, ident: &str) -> String {
        let quote = match self {
            Dialect::Mysql => '`',
            Dialect::Sqlite | Dialect::Postgres => '"',
        };
        let mut quoted = String::with_capacity(ident.len() + 2);
        quoted.push(quote);
        for ch in ident.chars() {
            if ch == quote {
                quoted.push(quote);
            }
            quoted.push(ch);
        }
        quoted.push(quote);
        quoted
    }

    /// Quotes a table, schema first when it has one: `"sales"."orders"`.
    /// Every statement and migration names tables through this.
    pub fn quote_table(self, table: TableName<'_>) -> String {
        match table.schema {
            Some(schema) => format!("{}.{}", self.quote(schema), self.quote(table.name)),
            None => self.quote(table.name),
        }
    }

    /// The longest identifier the backend accepts (index names are cut to it).
    pub const fn max_identifier_len(self) -> usize {
        match self {
            Dialect::Postgres => 63,
            Dialect::Mysql => 64,
            // SQLite has no limit; keep names portable.
            Dialect::Sqlite => 63,
        }
    }

    /// The most bind parameters one statement may carry: the protocol's
    /// 16-bit count on PostgreSQL and MySQL, and on SQLite the default of
    /// `SQLITE_MAX_VARIABLE_NUMBER` since 3.32 (a build may set another;
    /// history-diesel reads it from the connection).
    pub const fn max_binds(self) -> usize {
        match self {
            Dialect::Postgres | Dialect::Mysql => 65_535,
            Dialect::Sqlite => 32_766,
        }
    }

    /// How many bind parameters the SQL text holds: `$1`, `$2`, .. on
    /// PostgreSQL, `?` elsewhere, outside quoted names and strings.
    pub fn count_binds(self, sql: &str) -> usize {
        let mut count = 0;
        let mut quote = None;
        let mut chars = sql.chars().peekable();
        while let Some(ch) = chars.next() {
            match (quote, ch) {
                (Some(open), _) if ch == open => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"' | '`') => quote = Some(ch),
                (None, '?') if self != Dialect::Postgres => count += 1,
                (None, '$') if self == Dialect::Postgres => {
                    if chars.peek().is_some_and(char::is_ascii_digit) {
                        count += 1;
                    }
                }
                (None, _) => {}
            }
        }
        count
    }

    /// The database's own clock as a UTC `Timestamp` expression, read where
    /// the expression is evaluated; `None` where the history date is the
    /// application's clock instead.
    ///
    /// A history date must be read after the row locks of its write are
    /// held, or a writer that waited for a lock records a date earlier than
    /// the record of the writer it waited for. PostgreSQL evaluates
    /// `clock_timestamp()` per row, after the row is locked, even inside one
    /// data-modifying CTE; MySQL's `UTC_TIMESTAMP(6)` is the start of the
    /// history statement, which runs after the statement that took the locks.
    /// SQLite's clock has only millisecond precision, and its single writer
    /// makes the next-instant guard ([`Dialect::after_instant`]) enough.
    pub const fn database_clock(self) -> Option<&'static str> {
        match self {
            Dialect::Postgres => Some("(clock_timestamp() AT TIME ZONE 'UTC')"),
            Dialect::Mysql => Some("UTC_TIMESTAMP(6)"),
            Dialect::Sqlite => None,
        }
    }

    /// The expression a trigger reads one value of the write's context
    /// with, as text, NULL when the write set none
    /// ([`crate::capture`]):
    /// - PostgreSQL: a custom setting, `set_config('history.user_id', .., true)`
    ///   for the transaction. A setting a session has once set reads `''`
    ///   after its transaction ends, hence the `NULLIF`.
    /// - MySQL: a session variable, `@history_user_id`, set before the
    ///   write and cleared after it.
    /// - SQLite: a column of the one-row context table
    ///   ([`SQLITE_CONTEXT_TABLE`](crate::capture::SQLITE_CONTEXT_TABLE)).
    pub fn context_value(self, key: ContextKey) -> String {
        match self {
            Dialect::Postgres => format!(
                "NULLIF(current_setting('{}', true), '')",
                self.context_setting(key)
            ),
            Dialect::Mysql => self.context_setting(key),
            Dialect::Sqlite => format!(
                "(SELECT {} FROM {})",
                self.quote(key.name()),
                self.quote(SQLITE_CONTEXT_TABLE)
            ),
        }
    }

    /// The name a context value is kept under: the setting on PostgreSQL
    /// (`history.user_id`), the variable on MySQL (`@history_user_id`), the
    /// context table's column on SQLite (`user_id`).
    pub fn context_setting(self, key: ContextKey) -> String {
        match self {
            Dialect::Postgres => format!("history.{}", key.name()),
            Dialect::Mysql => format!("@history_{}", key.name()),
            Dialect::Sqlite => key.name().to_owned(),
        }
    }

    /// The statement that sets a write's context, as the text around its
    /// binds: `(head, [(before, after); 7], tail)`, one bind per
    /// [`ContextKey::ALL`], each a nullable text.
    pub fn set_context(self) -> (String, Vec<(String, String)>, String) {
        let keys = ContextKey::ALL;
        match self {
            // `set_config(.., true)` lasts until the transaction ends; `''`
            // stands for none, which the triggers read as NULL.
            Dialect::Postgres => (
                "SELECT ".to_owned(),
                keys.iter()
                    .map(|key| {
                        (
                            format!("set_config('{}', COALESCE(", self.context_setting(*key)),
                            ", ''), true)".to_owned(),
                        )
                    })
                    .collect(),
                String::new(),
            ),
            Dialect::Mysql => (
                "SET ".to_owned(),
                keys.iter()
                    .map(|key| (format!("{} = ", self.context_setting(*key)), String::new()))
                    .collect(),
                String::new(),
            ),
            Dialect::Sqlite => {
                let names: Vec<String> = keys.iter().map(|key| self.quote(key.name())).collect();
                (
                    format!(
                        "INSERT OR REPLACE INTO {} (\"id\", {}) VALUES (1, ",
                        self.quote(SQLITE_CONTEXT_TABLE),
                        names.join(", ")
                    ),
                    keys.iter()
                        .map(|_| (String::new(), String::new()))
                        .collect(),
                    ")".to_owned(),
                )
            }
        }
    }

    /// The statement that reads the context back, one nullable text column
    /// per [`ContextKey::ALL`] (no row on SQLite when none is set).
    pub fn read_context(self) -> String {
        let values: Vec<String> = ContextKey::ALL
            .iter()
            .map(|key| match self {
                Dialect::Postgres => self.context_value(*key),
                // A variable holds the type of what it was set to.
                Dialect::Mysql => format!("CAST({} AS CHAR)", self.context_setting(*key)),
                Dialect::Sqlite => self.quote(key.name()),
            })
            .collect();
        match self {
            Dialect::Sqlite => format!(
                "SELECT {} FROM {}",
                values.join(", "),
                self.quote(SQLITE_CONTEXT_TABLE)
            ),
            Dialect::Postgres | Dialect::Mysql => format!("SELECT {}", values.join(", ")),
        }
    }

    /// How long a context set by [`set_context`](Self::set_context) lasts,
    /// and so what must remove it.
    pub const fn context_scope(self) -> ContextScope {
        match self {
            Dialect::Postgres => ContextScope::Transaction,
            Dialect::Mysql => ContextScope::Session,
            Dialect::Sqlite => ContextScope::Row,
        }
    }

    /// The statement that removes the context: nothing to remove on
    /// PostgreSQL, where it ends with its transaction.
    pub fn clear_context(self) -> Option<String> {
        match self {
            Dialect::Postgres => None,
            Dialect::Mysql => Some(format!(
                "SET {}",
                ContextKey::ALL
                    .iter()
                    .map(|key| format!("{} = NULL", self.context_setting(*key)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Dialect::Sqlite => Some(format!("DELETE FROM {}", self.quote(SQLITE_CONTEXT_TABLE))),
        }
    }

    /// The larger of two values, as a function name (`NULL` arguments are
    /// not used: callers wrap them in `COALESCE`).
    pub const fn greatest(self) -> &'static str {
        match self {
            Dialect::Postgres | Dialect::Mysql => "GREATEST",
            // SQLite's multi-argument `MAX` is its scalar maximum.
            Dialect::Sqlite => "MAX",
        }
    }

    /// The text before and after a `Timestamp` expression that make it the
    /// next instant the backend stores after it: one microsecond later, or
    /// one millisecond on SQLite, whose date functions keep milliseconds.
    pub const fn after_instant(self) -> (&'static str, &'static str) {
        match self {
            Dialect::Postgres => ("(", " + INTERVAL '1 microsecond')"),
            Dialect::Mysql => ("(", " + INTERVAL 1 MICROSECOND)"),
            Dialect::Sqlite => ("strftime('%Y-%m-%d %H:%M:%f', ", ", '+0.001 seconds')"),
        }
    }

    /// Null-safe equality, between two operands: true when both are NULL,
    /// false when one is (plain `=` gives NULL for either).
    pub const fn null_safe_eq(self) -> &'static str {
        match self {
            Dialect::Postgres => " IS NOT DISTINCT FROM ",
            // SQLite's `IS` compares any two values, NULL included.
            Dialect::Sqlite => " IS ",
            Dialect::Mysql => " <=> ",
        }
    }

    /// The clause that locks the rows a `SELECT` reads until the transaction
    /// ends; `None` where the backend has no row locks.
    pub const fn locking_read(self) -> Option<&'static str> {
        match self {
            Dialect::Postgres | Dialect::Mysql => Some(" FOR UPDATE"),
            // SQLite serialises writers with one database lock, taken by the
            // first write of a transaction: there is no row to lock.
            Dialect::Sqlite => None,
        }
    }

    /// The clause that takes shared locks on the rows a `SELECT` reads until
    /// the transaction ends (others may read them, not change them); `None`
    /// where the backend has no row locks. MariaDB has no `FOR SHARE`; both
    /// it and MySQL 8 read the older spelling.
    pub const fn share_locking_read(self) -> Option<&'static str> {
        match self {
            Dialect::Postgres => Some(" FOR SHARE"),
            Dialect::Mysql => Some(" LOCK IN SHARE MODE"),
            Dialect::Sqlite => None,
        }
    }

    /// `DELETE` of the rows of `table` whose `key` the query `keys` returns
    /// (in a column of the same name). MySQL and MariaDB cannot read the
    /// table they delete from in a subquery, and with `IN` over a derived
    /// table they probe it once per row of the table (4.5 times slower than
    /// a join in the maintenance benchmark): there, a join with the
    /// materialised keys. Elsewhere the subquery as it is: SQLite runs a
    /// derived table around it as one more pass.
    pub fn delete_where_key_in(self, table: &str, key: &str, keys: &str) -> String {
        match self {
            Dialect::Mysql => {
                format!("DELETE d FROM {table} AS d JOIN ({keys}) c ON c.{key} = d.{key}")
            }
            Dialect::Postgres | Dialect::Sqlite => {
                format!("DELETE FROM {table} WHERE {key} IN ({keys})")
            }
        }
    }

    /// Whether a locking read may be kept in Diesel's prepared-statement
    /// cache and run again.
    ///
    /// A lock error (deadlock, lock wait timeout) reaches a MySQL client after
    /// the result's column metadata, while Diesel stores the rows; libmariadb
    /// then leaves the prepared statement half-read, and the next execution of
    /// that same statement waits forever for rows the server never sends. So
    /// on MySQL a locking read is prepared afresh each time (one round trip
    /// more), which lets a caller retry a deadlock victim on its connection.
    pub const fn caches_locking_reads(self) -> bool {
        match self {
            Dialect::Mysql => false,
            Dialect::Postgres | Dialect::Sqlite => true,
        }
    }

    /// How a multi-row insert turns into an update of the rows whose key
    /// exists: the text before the key columns and after them (`None`: the
    /// backend names no key, it uses the table's unique keys).
    pub const fn upsert_head(self) -> (&'static str, Option<&'static str>) {
        match self {
            Dialect::Postgres | Dialect::Sqlite => (" ON CONFLICT (", Some(") DO UPDATE SET ")),
            Dialect::Mysql => (" ON DUPLICATE KEY UPDATE ", None),
        }
    }

    /// In an upsert's `SET`, the text around a column's name that reads the
    /// value the insert proposed for it.
    pub const fn upsert_value(self) -> (&'static str, &'static str) {
        match self {
            Dialect::Postgres | Dialect::Sqlite => ("\"excluded\".", ""),
            // `VALUES(col)`: deprecated by MySQL 8.0.20 in favour of a row
            // alias, which MariaDB does not have.
            Dialect::Mysql => ("VALUES(", ")"),
        }
    }

    /// The marker of the `index`th bind parameter (from 1) in SQL text
    /// written by hand: `$1` on PostgreSQL, `?` elsewhere.
    pub fn bind_marker(self, index: usize) -> String {
        match self {
            Dialect::Postgres => format!("${index}"),
            Dialect::Mysql | Dialect::Sqlite => "?".to_owned(),
        }
    }

    /// An expression of a column of type `ty` that the backend's equality
    /// accepts: itself, except PostgreSQL's `JSON`, which has no equality
    /// operator and is compared as its text.
    pub fn comparable(self, ty: ColumnType, expr: &str) -> String {
        match (self, ty) {
            (Dialect::Postgres, ColumnType::Kind(SqlKind::Json)) => format!("CAST({expr} AS TEXT)"),
            _ => expr.to_owned(),
        }
    }

    /// The type a `CAST` turns an integer expression into to read it as a
    /// 64-bit integer (`MAX` of an `INTEGER` key is 32-bit on PostgreSQL).
    pub const fn bigint_cast(self) -> &'static str {
        match self {
            Dialect::Postgres => "BIGINT",
            Dialect::Mysql => "SIGNED",
            Dialect::Sqlite => "INTEGER",
        }
    }

    /// A JSON object of one row as text, `{"column": value, ..}`, from the
    /// row's table alias and column names: what an archive of pruned
    /// records writes. Values keep their JSON types (numbers, strings,
    /// `null`); dates are written as each database writes them.
    pub fn json_row(self, alias: &str, columns: &[&str]) -> String {
        let pairs = |function: &str| {
            let args: Vec<String> = columns
                .iter()
                .map(|column| {
                    let key = column.replace('\'', "''");
                    format!("'{key}', {alias}.{}", self.quote(column))
                })
                .collect();
            format!("{function}({})", args.join(", "))
        };
        match self {
            // One argument for the whole row: `json_build_object` stops at
            // 100 arguments, 50 columns.
            Dialect::Postgres => format!("CAST(row_to_json({alias}) AS TEXT)"),
            Dialect::Mysql => pairs("JSON_OBJECT"),
            Dialect::Sqlite => pairs("json_object"),
        }
    }

    /// The earliest and the latest `history_date` the backend stores and
    /// compares correctly, at microsecond precision. Writes outside it are
    /// refused before anything is written; reads up to a later time answer as
    /// of the latest.
    pub fn history_date_range(self) -> RangeInclusive<NaiveDateTime> {
        let date = |year, month, day| NaiveDate::from_ymd_opt(year, month, day).expect("a date");
        let last_micro =
            |day: NaiveDate| day.and_hms_micro_opt(23, 59, 59, 999_999).expect("a time");
        let (first, last) = match self {
            // DATETIME(6)'s documented range.
            Dialect::Mysql => (date(1000, 1, 1), date(9999, 12, 31)),
            // Dates are text there, compared as text: only four-digit years
            // sort in time order (a five-digit year is written `+10000`).
            Dialect::Sqlite => (date(0, 1, 1), date(9999, 12, 31)),
            // TIMESTAMP starts at 4714-11-24 BC (year -4713 in chrono) and
            // ends in 294276, after chrono's last date.
            Dialect::Postgres => (date(-4713, 11, 24), NaiveDate::MAX),
        };
        first.and_hms_opt(0, 0, 0).expect("midnight")..=last_micro(last)
    }

    /// The column type for a tracked column (or `history_user_id`).
    ///
    /// A history column must hold every value its source column holds, and
    /// the derive knows only the Rust type, so text and binary take the
    /// widest type of each backend, indexed or not (MySQL indexes them by a
    /// prefix: [`Dialect::index_prefix`]).
    pub fn column_type(self, ty: ColumnType) -> &'static str {
        match ty {
            ColumnType::Raw(raw) => raw,
            ColumnType::Kind(kind) => self.kind_type(kind),
        }
    }

    /// The length of the prefix an index keeps of a column of this type,
    /// where the backend indexes only a prefix.
    ///
    /// MySQL cannot index `LONGTEXT` or `LONGBLOB` whole. 255 characters
    /// (1020 bytes in utf8mb4) tell nearly every key apart and leave room for
    /// `history_date` and `history_id` in InnoDB's 3072-byte index entries;
    /// equal prefixes cost a comparison of the whole values, not a wrong row.
    pub fn index_prefix(self, ty: ColumnType) -> Option<u32> {
        match (self, ty) {
            (Dialect::Mysql, ColumnType::Kind(SqlKind::Text | SqlKind::Binary)) => Some(255),
            // A stated type is indexed as stated.
            (_, ColumnType::Raw(_) | ColumnType::Kind(_)) => None,
        }
    }

    /// The column type of a request column (`#[history(request_info)]`:
    /// client address, user agent, request id); `None` for the other history
    /// columns. The lengths are the context's limits
    /// ([`USER_AGENT_MAX_CHARS`](crate::columns::USER_AGENT_MAX_CHARS),
    /// [`REQUEST_ID_MAX_CHARS`](crate::columns::REQUEST_ID_MAX_CHARS)).
    pub const fn request_info_type(self, column: HistoryColumn) -> Option<&'static str> {
        use Dialect::*;
        use HistoryColumn::*;
        match (self, column) {
            // An address type of its own: compared, sorted and indexed as an
            // address, in 7 or 19 bytes.
            (Postgres, ClientIp) => Some("INET"),
            // The text form, at most 45 characters for any IPv6 address
            // (`ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`).
            (Mysql, ClientIp) => Some("VARCHAR(45)"),
            (Postgres | Mysql, UserAgent) => Some("VARCHAR(512)"),
            (Postgres | Mysql, RequestId) => Some("VARCHAR(128)"),
            // SQLite keeps text of any length whatever the type says.
            (Sqlite, ClientIp | UserAgent | RequestId) => Some("TEXT"),
            (_, Id | Date | Type | UserId | ChangeReason) => None,
        }
    }

    /// Whether a column type as a migration writes it (`expected`) is the
    /// type the backend's catalog reports (`catalog`): both are brought to
    /// one spelling, case aside.
    ///
    /// - PostgreSQL's `format_type` spells the SQL standard's long names:
    ///   `character varying(n)` for `VARCHAR(n)`, `character(n)` for
    ///   `CHAR(n)`, `timestamp without time zone` for `TIMESTAMP`,
    ///   `timestamp with time zone` for `TIMESTAMPTZ`, `time without time
    ///   zone` for `TIME`.
    /// - MySQL and MariaDB report integer display widths (`bigint(20)`,
    ///   `int(11)`, MariaDB and MySQL before 8.0.19) and `INTEGER` as `int`,
    ///   `BOOLEAN` as `tinyint(1)` (the one width that means something),
    ///   `DECIMAL(65, 30)` without the space, and MariaDB reports `JSON` as
    ///   `longtext`.
    /// - SQLite reports the declared text as written.
    pub fn same_column_type(self, expected: &str, catalog: &str) -> bool {
        self.canonical_type(expected) == self.canonical_type(catalog)
    }

    fn canonical_type(self, ty: &str) -> String {
        let lower = ty
            .trim()
            .to_ascii_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace(", ", ",");
        match self {
            Dialect::Sqlite => lower,
            Dialect::Postgres => {
                let long = [
                    ("varchar", "character varying"),
                    ("char", "character"),
                    ("timestamptz", "timestamp with time zone"),
                    ("timestamp", "timestamp without time zone"),
                    ("time", "time without time zone"),
                    ("int", "integer"),
                    ("int4", "integer"),
                    ("int8", "bigint"),
                    ("int2", "smallint"),
                    ("bool", "boolean"),
                    ("float8", "double precision"),
                    ("float4", "real"),
                    ("decimal", "numeric"),
                ];
                let (name, args) = match lower.find('(') {
                    Some(open) => lower.split_at(open),
                    None => (lower.as_str(), ""),
                };
                match long.iter().find(|(short, _)| *short == name) {
                    Some((_, long)) => format!("{long}{args}"),
                    None => lower,
                }
            }
            Dialect::Mysql => {
                let lower = match lower.as_str() {
                    "boolean" | "bool" => "tinyint(1)".to_owned(),
                    "json" => "longtext".to_owned(),
                    _ => lower.replacen("integer", "int", 1),
                };
                if lower == "tinyint(1)" {
                    return lower;
                }
                for int in ["tinyint", "smallint", "mediumint", "bigint", "int"] {
                    if let Some(rest) = lower.strip_prefix(int) {
                        if let Some(width) = rest.strip_prefix('(') {
                            if let Some((digits, tail)) = width.split_once(')') {
                                if digits.chars().all(|ch| ch.is_ascii_digit()) {
                                    return format!("{int}{tail}");
                                }
                            }
                        }
                        return lower;
                    }
                }
                lower
            }
        }
    }

    fn kind_type(self, kind: SqlKind) -> &'static str {
        use Dialect::*;
        use SqlKind::*;
        match (self, kind) {
            (Postgres, TinyInt) => "SMALLINT",
            (_, TinyInt) => "TINYINT",
            (_, SmallInt) => "SMALLINT",
            (_, Integer) => "INTEGER",
            (_, BigInt) => "BIGINT",
            (Mysql, Float) => "FLOAT",
            (_, Float) => "REAL",
            (Postgres, Double) => "DOUBLE PRECISION",
            (_, Double) => "DOUBLE",
            (_, Bool) => "BOOLEAN",
            // MySQL's TEXT stops at 64 KiB, and MariaDB's `INSERT .. SELECT`
            // from a LONGTEXT column wraps a longer value silently, even in
            // strict mode: LONGTEXT (4 GiB) holds whatever the source holds.
            (Mysql, Text) => "LONGTEXT",
            (_, Text) => "TEXT",
            (Postgres, Binary) => "BYTEA",
            // As for text: BLOB stops at 64 KiB, LONGBLOB at 4 GiB.
            (Mysql, Binary) => "LONGBLOB",
            (_, Binary) => "BLOB",
            (_, Date) => "DATE",
            (Mysql, Time) => "TIME(6)",
            (_, Time) => "TIME",
            (Mysql, Timestamp) => "DATETIME(6)",
            (_, Timestamp) => "TIMESTAMP",
            (Postgres, Timestamptz) => "TIMESTAMPTZ",
            (Mysql, Timestamptz) => "TIMESTAMP(6)",
            (Sqlite, Timestamptz) => "TIMESTAMPTZ",
            (Postgres, Uuid) => "UUID",
            (Mysql, Uuid) => "BINARY(16)",
            (Sqlite, Uuid) => "BLOB",
            (Postgres, Jsonb) => "JSONB",
            (Sqlite, Json | Jsonb) => "TEXT",
            (_, Json | Jsonb) => "JSON",
            // MySQL's DECIMAL defaults to (10, 0); keep fractions unless told otherwise.
            (Mysql, Numeric) => "DECIMAL(65, 30)",
            (_, Numeric) => "NUMERIC",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes_per_backend() {
        assert_eq!(Dialect::Postgres.quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Mysql.quote("a`b"), "`a``b`");
        assert_eq!(Dialect::Sqlite.quote("orders"), "\"orders\"");
    }

    #[test]
    fn quotes_a_table_with_its_schema() {
        let table = |schema| TableName {
            schema,
            name: "order items",
        };
        assert_eq!(
            Dialect::Postgres.quote_table(table(Some("sales"))),
            "\"sales\".\"order items\""
        );
        assert_eq!(
            Dialect::Mysql.quote_table(table(Some("sales"))),
            "`sales`.`order items`"
        );
        assert_eq!(Dialect::Sqlite.quote_table(table(None)), "\"order items\"");
    }

    #[test]
    fn counts_bind_parameters_outside_quotes() {
        assert_eq!(
            Dialect::Postgres.count_binds(r#"VALUES ($1, $2, "a$1", '$3')"#),
            2
        );
        assert_eq!(
            Dialect::Mysql.count_binds("VALUES (?, DEFAULT, `a?`, '?'), (?, ?)"),
            3
        );
        assert_eq!(Dialect::Sqlite.count_binds(r#"VALUES (?, "x?")"#), 1);
    }

    #[test]
    fn history_dates_come_from_the_server_clock_where_it_is_precise() {
        assert_eq!(Dialect::Mysql.database_clock(), Some("UTC_TIMESTAMP(6)"));
        assert_eq!(Dialect::Sqlite.database_clock(), None);
        assert_eq!(Dialect::Sqlite.greatest(), "MAX");
    }

    #[test]
    fn spells_the_phrases_of_a_write() {
        assert_eq!(Dialect::Mysql.null_safe_eq(), " <=> ");
        assert_eq!(Dialect::Sqlite.locking_read(), None);
        assert!(!Dialect::Mysql.caches_locking_reads());
        assert_eq!(
            Dialect::Mysql.upsert_head(),
            (" ON DUPLICATE KEY UPDATE ", None)
        );
        assert_eq!(Dialect::Postgres.upsert_value(), ("\"excluded\".", ""));
    }

    #[test]
    fn history_dates_end_where_each_backend_stops() {
        let mysql = Dialect::Mysql.history_date_range();
        assert_eq!(mysql.start().to_string(), "1000-01-01 00:00:00");
        assert_eq!(mysql.end().to_string(), "9999-12-31 23:59:59.999999");
        assert_eq!(Dialect::Sqlite.history_date_range().end(), mysql.end());
        let postgres = Dialect::Postgres.history_date_range();
        assert_eq!(postgres.start().to_string(), "-4713-11-24 00:00:00");
        assert_eq!(postgres.end().date(), NaiveDate::MAX);
    }

    #[test]
    fn request_columns_are_an_address_and_text_as_long_as_the_context_keeps() {
        use crate::columns::{REQUEST_ID_MAX_CHARS, USER_AGENT_MAX_CHARS};
        use HistoryColumn::*;
        assert_eq!(Dialect::Postgres.request_info_type(ClientIp), Some("INET"));
        assert_eq!(
            Dialect::Mysql.request_info_type(ClientIp),
            Some("VARCHAR(45)")
        );
        assert_eq!(Dialect::Sqlite.request_info_type(RequestId), Some("TEXT"));
        for dialect in [Dialect::Postgres, Dialect::Mysql] {
            let user_agent = format!("VARCHAR({USER_AGENT_MAX_CHARS})");
            let request_id = format!("VARCHAR({REQUEST_ID_MAX_CHARS})");
            assert_eq!(
                dialect.request_info_type(UserAgent),
                Some(user_agent.as_str())
            );
            assert_eq!(
                dialect.request_info_type(RequestId),
                Some(request_id.as_str())
            );
        }
        assert_eq!(Dialect::Postgres.request_info_type(UserId), None);
    }

    #[test]
    fn catalog_spellings_match_the_migration_types() {
        let pg = Dialect::Postgres;
        assert!(pg.same_column_type("VARCHAR(100)", "character varying(100)"));
        assert!(!pg.same_column_type("VARCHAR(100)", "character varying(255)"));
        assert!(pg.same_column_type("TIMESTAMP", "timestamp without time zone"));
        assert!(!pg.same_column_type("TIMESTAMP", "timestamp with time zone"));
        assert!(pg.same_column_type("TIMESTAMPTZ", "timestamp with time zone"));
        assert!(pg.same_column_type("TIME", "time without time zone"));
        assert!(pg.same_column_type("CHAR(1)", "character(1)"));
        assert!(pg.same_column_type("DOUBLE PRECISION", "double precision"));
        assert!(pg.same_column_type("INTEGER", "integer"));
        assert!(!pg.same_column_type("INTEGER", "bigint"));

        let my = Dialect::Mysql;
        assert!(my.same_column_type("BIGINT", "bigint(20)"));
        assert!(my.same_column_type("INTEGER", "int(11)"));
        assert!(my.same_column_type("INTEGER", "int"));
        assert!(my.same_column_type("SMALLINT", "smallint(6)"));
        assert!(my.same_column_type("BOOLEAN", "tinyint(1)"));
        assert!(!my.same_column_type("TINYINT", "tinyint(1)"));
        assert!(my.same_column_type("TINYINT", "tinyint(4)"));
        assert!(my.same_column_type("DECIMAL(65, 30)", "decimal(65,30)"));
        assert!(my.same_column_type("JSON", "longtext"));
        assert!(my.same_column_type("DATETIME(6)", "datetime(6)"));
        assert!(!my.same_column_type("LONGTEXT", "text"));
        assert!(!my.same_column_type("INTEGER", "bigint(20)"));

        assert!(Dialect::Sqlite.same_column_type("DOUBLE", "double"));
        assert!(!Dialect::Sqlite.same_column_type("BIGINT", "INTEGER"));
    }

    #[test]
    fn mysql_indexes_the_widest_text_by_a_prefix() {
        let text = ColumnType::Kind(SqlKind::Text);
        assert_eq!(Dialect::Mysql.column_type(text), "LONGTEXT");
        assert_eq!(Dialect::Mysql.index_prefix(text), Some(255));
        assert_eq!(
            Dialect::Mysql.index_prefix(ColumnType::Raw("VARCHAR(20)")),
            None
        );
        assert_eq!(Dialect::Postgres.column_type(text), "TEXT");
        assert_eq!(Dialect::Postgres.index_prefix(text), None);
    }
}
