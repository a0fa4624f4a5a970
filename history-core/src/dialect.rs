use crate::spec::{ColumnType, SqlKind, TableName};

/// The SQL dialect a migration is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// The column type for a tracked column.
    ///
    /// `indexed` asks for a type MySQL can index: MySQL cannot index `TEXT` or
    /// `BLOB` without a prefix length, so indexed text and binary columns become
    /// `VARCHAR(255)` and `VARBINARY(255)` there.
    pub fn column_type(self, ty: ColumnType, indexed: bool) -> &'static str {
        match ty {
            ColumnType::Raw(raw) => raw,
            ColumnType::Kind(kind) => self.kind_type(kind, indexed),
        }
    }

    fn kind_type(self, kind: SqlKind, indexed: bool) -> &'static str {
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
            (Mysql, Text) if indexed => "VARCHAR(255)",
            (_, Text) => "TEXT",
            (Postgres, Binary) => "BYTEA",
            (Mysql, Binary) if indexed => "VARBINARY(255)",
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
    fn mysql_indexes_only_bounded_text() {
        let text = ColumnType::Kind(SqlKind::Text);
        assert_eq!(Dialect::Mysql.column_type(text, true), "VARCHAR(255)");
        assert_eq!(Dialect::Mysql.column_type(text, false), "TEXT");
        assert_eq!(Dialect::Postgres.column_type(text, true), "TEXT");
    }
}
