//! Each backend's part of the maintenance operations: how a statement with
//! dynamic binds runs, how a chunk's transaction opens and closes (and what
//! it locks), and what the catalog says of a table's size.

use chrono::NaiveDateTime;
use diesel::connection::LoadConnection;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::QueryResult;
use diesel::QueryableByName;

use super::sql::{Bind, Statement};
use crate::{HistoryBackend, HistoryTableSpec};

/// What a chunk's transaction must hold so that no concurrent write slips
/// between its read and its write.
#[derive(Debug, Clone, Copy)]
pub enum ChunkLock<'a> {
    /// Nothing beyond the transaction: deletes of old records, which no
    /// writer touches.
    None,
    /// A backfill of `spec`'s chunk, whose source rows `rows` locks where
    /// the backend locks rows: writers of those rows wait for the chunk, so
    /// a row written meanwhile is either recorded by its writer and seen by
    /// the backfill, or written after the chunk committed.
    Backfill {
        /// The model.
        spec: &'a HistoryTableSpec,
        /// The statement that locks the chunk's rows.
        rows: &'a Statement,
    },
}

/// A backend the maintenance operations run on: SQLite, PostgreSQL and
/// MySQL (with the matching feature). Its items are not public API.
pub trait MaintenanceBackend: HistoryBackend + Sized {
    /// Runs a statement, returning the rows it changed.
    #[doc(hidden)]
    fn execute_statement<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        statement: &Statement,
    ) -> QueryResult<usize>;

    /// Runs a query, returning its rows: one method per row shape, since a
    /// generic caller cannot name Diesel's `FromSql` bounds for its backend.
    #[doc(hidden)]
    fn load_counts<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        statement: &Statement,
    ) -> QueryResult<Vec<Count>>;

    #[doc(hidden)]
    fn load_integer_ends<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        statement: &Statement,
    ) -> QueryResult<Vec<IntegerEnd>>;

    #[doc(hidden)]
    fn load_text_ends<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        statement: &Statement,
    ) -> QueryResult<Vec<TextEnd>>;

    #[doc(hidden)]
    fn load_json_rows<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        statement: &Statement,
    ) -> QueryResult<Vec<JsonRow>>;

    #[doc(hidden)]
    fn load_stats<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        statement: &Statement,
    ) -> QueryResult<Vec<StatsRow>>;

    /// Opens a chunk's transaction.
    #[doc(hidden)]
    fn begin_chunk<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        lock: ChunkLock<'_>,
    ) -> QueryResult<()>;

    /// Commits a chunk's transaction (and releases its locks).
    #[doc(hidden)]
    fn commit_chunk<C: LoadConnection<Backend = Self>>(conn: &mut C) -> QueryResult<()>;

    /// Rolls back a chunk's transaction after an error.
    #[doc(hidden)]
    fn rollback_chunk<C: LoadConnection<Backend = Self>>(conn: &mut C) -> QueryResult<()>;

    /// Refreshes the planner's statistics of `table` (rendered and quoted)
    /// where a backfill needs them (PostgreSQL): a history table filled
    /// since its last `ANALYZE` looks empty to the planner, which then
    /// reads all of it for each chunk instead of probing its index.
    #[doc(hidden)]
    fn refresh_statistics<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        table: &str,
    ) -> QueryResult<()> {
        let _ = (conn, table);
        Ok(())
    }

    /// The bytes the history table takes on disk, indexes included, where
    /// the backend says so cheaply (PostgreSQL).
    #[doc(hidden)]
    fn table_bytes<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        spec: &HistoryTableSpec,
    ) -> QueryResult<Option<i64>> {
        let _ = (conn, spec);
        Ok(None)
    }
}

/// One `COUNT(*) AS n`.
#[derive(Debug, QueryableByName)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    pub(crate) n: i64,
}

/// Where a chunk of an integer key ends.
#[derive(Debug, QueryableByName)]
pub struct IntegerEnd {
    #[diesel(sql_type = Nullable<BigInt>)]
    pub(crate) upto_integer: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub(crate) n: i64,
}

/// Where a chunk of a text key ends.
#[derive(Debug, QueryableByName)]
pub struct TextEnd {
    #[diesel(sql_type = Nullable<Text>)]
    pub(crate) upto_text: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub(crate) n: i64,
}

/// One archived record.
#[derive(Debug, QueryableByName)]
pub struct JsonRow {
    #[diesel(sql_type = Text)]
    pub(crate) json: String,
}

/// A history table's counts and dates.
#[derive(Debug, QueryableByName)]
pub struct StatsRow {
    #[diesel(sql_type = BigInt)]
    pub(crate) records: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) created: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) changed: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) deleted: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub(crate) oldest: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub(crate) newest: Option<NaiveDateTime>,
}

/// The statement with its binds attached, for a concrete backend.
macro_rules! bound {
    ($db:ty, $statement:expr) => {{
        let mut query = diesel::sql_query($statement.sql.as_str()).into_boxed::<$db>();
        for bind in &$statement.binds {
            query = match bind.clone() {
                Bind::BigInt(value) => query.bind::<Nullable<BigInt>, _>(value),
                Bind::Text(value) => query.bind::<Nullable<Text>, _>(value),
                Bind::Timestamp(value) => query.bind::<Timestamp, _>(value),
            };
        }
        query
    }};
}

/// The statement runners, the same text for every backend.
macro_rules! statement_runners {
    (@load $db:ty, $name:ident, $row:ty) => {
        fn $name<C: LoadConnection<Backend = Self>>(
            conn: &mut C,
            statement: &Statement,
        ) -> QueryResult<Vec<$row>> {
            diesel::RunQueryDsl::load(bound!($db, statement), conn)
        }
    };
    ($db:ty) => {
        fn execute_statement<C: LoadConnection<Backend = Self>>(
            conn: &mut C,
            statement: &Statement,
        ) -> QueryResult<usize> {
            diesel::RunQueryDsl::execute(bound!($db, statement), conn)
        }

        statement_runners!(@load $db, load_counts, Count);
        statement_runners!(@load $db, load_integer_ends, IntegerEnd);
        statement_runners!(@load $db, load_text_ends, TextEnd);
        statement_runners!(@load $db, load_json_rows, JsonRow);
        statement_runners!(@load $db, load_stats, StatsRow);
    };
}

fn batch<C: LoadConnection>(conn: &mut C, sql: &str) -> QueryResult<()> {
    diesel::connection::SimpleConnection::batch_execute(conn, sql)
}

#[cfg(feature = "postgres")]
impl MaintenanceBackend for diesel::pg::Pg {
    statement_runners!(diesel::pg::Pg);

    fn refresh_statistics<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        table: &str,
    ) -> QueryResult<()> {
        // A sample of the table (30,000 rows at the default statistics
        // target): a fraction of a second on ten million records. Without
        // the right to analyse, PostgreSQL warns and carries on.
        batch(conn, &format!("ANALYZE {table}"))
    }

    fn begin_chunk<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        lock: ChunkLock<'_>,
    ) -> QueryResult<()> {
        batch(conn, "BEGIN")?;
        if let ChunkLock::Backfill { spec, .. } = lock {
            // SHARE conflicts with the ROW EXCLUSIVE lock every INSERT,
            // UPDATE and DELETE takes: writers in flight finish first, the
            // next ones wait for this chunk's commit.
            let source = Self::DIALECT.quote_table(spec.source());
            batch(conn, &format!("LOCK TABLE {source} IN SHARE MODE"))?;
        }
        Ok(())
    }

    fn commit_chunk<C: LoadConnection<Backend = Self>>(conn: &mut C) -> QueryResult<()> {
        batch(conn, "COMMIT")
    }

    fn rollback_chunk<C: LoadConnection<Backend = Self>>(conn: &mut C) -> QueryResult<()> {
        batch(conn, "ROLLBACK")
    }

    fn table_bytes<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        spec: &HistoryTableSpec,
    ) -> QueryResult<Option<i64>> {
        let mut statement = Statement {
            sql: "SELECT pg_total_relation_size(CAST($1 AS regclass)) AS n".to_owned(),
            binds: Vec::new(),
        };
        statement
            .binds
            .push(Bind::Text(Some(Self::DIALECT.quote_table(spec.history()))));
        let rows = Self::load_counts(conn, &statement)?;
        Ok(rows.first().map(|row| row.n))
    }
}

#[cfg(feature = "mysql")]
impl MaintenanceBackend for diesel::mysql::Mysql {
    statement_runners!(diesel::mysql::Mysql);

    fn begin_chunk<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        lock: ChunkLock<'_>,
    ) -> QueryResult<()> {
        batch(conn, "START TRANSACTION")?;
        if let ChunkLock::Backfill { rows, .. } = lock {
            // Row locks, not `LOCK TABLES`: a table lock waits for the
            // metadata locks of writers in flight while holding the history
            // table's, which deadlocks a writer between its two inserts.
            // After the rows' shared locks, the backfill's read (a locking
            // read under REPEATABLE READ, a fresh snapshot under READ
            // COMMITTED) sees every record their writers committed.
            Self::load_counts(conn, rows)?;
        }
        Ok(())
    }

    fn commit_chunk<C: LoadConnection<Backend = Self>>(conn: &mut C) -> QueryResult<()> {
        batch(conn, "COMMIT")
    }

    fn rollback_chunk<C: LoadConnection<Backend = Self>>(conn: &mut C) -> QueryResult<()> {
        batch(conn, "ROLLBACK")
    }
}

#[cfg(feature = "sqlite")]
impl MaintenanceBackend for diesel::sqlite::Sqlite {
    statement_runners!(diesel::sqlite::Sqlite);

    fn begin_chunk<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        _lock: ChunkLock<'_>,
    ) -> QueryResult<()> {
        // The write lock first: SQLite has one writer, and a chunk that read
        // under a snapshot another writer then changed would fail to commit.
        batch(conn, "BEGIN IMMEDIATE")
    }

    fn commit_chunk<C: LoadConnection<Backend = Self>>(conn: &mut C) -> QueryResult<()> {
        batch(conn, "COMMIT")
    }

    fn rollback_chunk<C: LoadConnection<Backend = Self>>(conn: &mut C) -> QueryResult<()> {
        batch(conn, "ROLLBACK")
    }
}
