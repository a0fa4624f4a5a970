//! What a live database says its tables are: each backend's catalog query,
//! read into one shape.

use diesel::connection::LoadConnection;
use diesel::sql_types::Text;
use diesel::{QueryResult, QueryableByName, RunQueryDsl};

use crate::{HistoryBackend, TableName};

/// A column as the catalog has it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CatalogColumn {
    /// Its name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Its type, in the catalog's words (`character varying(100)`, `bigint(20)`).
    #[diesel(sql_type = Text)]
    pub ty: String,
    /// `YES` when it accepts NULL. Text on every backend: each one types a
    /// boolean expression differently.
    #[diesel(sql_type = Text)]
    pub nullable: String,
}

/// A secondary index as the catalog has it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CatalogIndex {
    /// Its name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Its columns in key order, comma-separated, each with its prefix length
    /// in parentheses where it has one (MySQL).
    #[diesel(sql_type = Text)]
    pub columns: String,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

/// A backend whose catalog [`verify_history_schema`](super::verify_history_schema)
/// reads: PostgreSQL's `pg_catalog`, MySQL's `information_schema`, SQLite's
/// pragmas. Implemented for Diesel's three backends.
pub trait CatalogBackend: HistoryBackend + Sized {
    /// The columns of `table` in table order; empty when it does not exist.
    #[doc(hidden)]
    fn columns<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        table: TableName<'_>,
    ) -> QueryResult<Vec<CatalogColumn>>;

    /// The secondary indexes of `table` (not its primary key).
    #[doc(hidden)]
    fn indexes<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        table: TableName<'_>,
    ) -> QueryResult<Vec<CatalogIndex>>;

    /// The versions Diesel has run, from its `__diesel_schema_migrations`.
    #[doc(hidden)]
    fn applied_versions<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
    ) -> QueryResult<Vec<String>>;

    /// The one number a `SELECT COUNT(*) AS n ..` statement returns.
    #[doc(hidden)]
    fn count<C: LoadConnection<Backend = Self>>(conn: &mut C, sql: &str) -> QueryResult<i64>;
}

/// A row of `COUNT(*) AS n`.
#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// [`CatalogBackend::count`], the same on every backend.
fn count<DB, C>(conn: &mut C, sql: &str) -> QueryResult<i64>
where
    DB: CatalogBackend,
    C: LoadConnection<Backend = DB>,
    i64: diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>,
    diesel::query_builder::SqlQuery: diesel::query_builder::QueryFragment<DB>,
{
    let rows: Vec<Count> = diesel::sql_query(sql).load(conn)?;
    Ok(rows.first().map_or(0, |row| row.n))
}

/// [`CatalogBackend::applied_versions`], the same on every backend.
fn applied_versions<DB, C>(conn: &mut C) -> QueryResult<Vec<String>>
where
    DB: CatalogBackend,
    C: LoadConnection<Backend = DB>,
    String: diesel::deserialize::FromSql<Text, DB>,
    diesel::query_builder::SqlQuery: diesel::query_builder::QueryFragment<DB>,
{
    let table = TableName {
        schema: None,
        name: "__diesel_schema_migrations",
    };
    if DB::columns(conn, table)?.is_empty() {
        return Ok(Vec::new());
    }
    // Diesel's own table, whose version column is text on every backend.
    let versions: Vec<Version> =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations").load(conn)?;
    Ok(versions.into_iter().map(|row| row.version).collect())
}

#[cfg(feature = "postgres")]
impl CatalogBackend for diesel::pg::Pg {
    fn applied_versions<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
    ) -> QueryResult<Vec<String>> {
        applied_versions(conn)
    }

    fn count<C: LoadConnection<Backend = Self>>(conn: &mut C, sql: &str) -> QueryResult<i64> {
        count(conn, sql)
    }

    fn columns<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        table: TableName<'_>,
    ) -> QueryResult<Vec<CatalogColumn>> {
        diesel::sql_query(
            "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS ty, \
             CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END AS nullable \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = $1 AND n.nspname = COALESCE($2, current_schema()) \
             AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
        )
        .bind::<Text, _>(table.name)
        .bind::<diesel::sql_types::Nullable<Text>, _>(table.schema)
        .load(conn)
    }

    fn indexes<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        table: TableName<'_>,
    ) -> QueryResult<Vec<CatalogIndex>> {
        // `pg_get_indexdef(index, n, true)` names the n-th key column (from 1).
        diesel::sql_query(
            "SELECT i.relname::text AS name, array_to_string(ARRAY( \
                 SELECT pg_get_indexdef(x.indexrelid, k + 1, true) \
                 FROM generate_subscripts(x.indkey, 1) AS k ORDER BY k), ',') AS columns \
             FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE t.relname = $1 AND n.nspname = COALESCE($2, current_schema()) \
             AND NOT x.indisprimary ORDER BY i.relname",
        )
        .bind::<Text, _>(table.name)
        .bind::<diesel::sql_types::Nullable<Text>, _>(table.schema)
        .load(conn)
    }
}

#[cfg(feature = "mysql")]
impl CatalogBackend for diesel::mysql::Mysql {
    fn applied_versions<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
    ) -> QueryResult<Vec<String>> {
        applied_versions(conn)
    }

    fn count<C: LoadConnection<Backend = Self>>(conn: &mut C, sql: &str) -> QueryResult<i64> {
        count(conn, sql)
    }

    fn columns<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        table: TableName<'_>,
    ) -> QueryResult<Vec<CatalogColumn>> {
        // `information_schema` answers in binary strings on some servers:
        // CAST makes them text Diesel reads as `String`.
        diesel::sql_query(
            "SELECT CAST(COLUMN_NAME AS CHAR) AS name, CAST(COLUMN_TYPE AS CHAR) AS ty, \
             CAST(IS_NULLABLE AS CHAR) AS nullable \
             FROM information_schema.columns \
             WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
        )
        .bind::<diesel::sql_types::Nullable<Text>, _>(table.schema)
        .bind::<Text, _>(table.name)
        .load(conn)
    }

    fn indexes<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        table: TableName<'_>,
    ) -> QueryResult<Vec<CatalogIndex>> {
        diesel::sql_query(
            "SELECT CAST(INDEX_NAME AS CHAR) AS name, CAST(GROUP_CONCAT( \
                 CONCAT(COLUMN_NAME, IFNULL(CONCAT('(', SUB_PART, ')'), '')) \
                 ORDER BY SEQ_IN_INDEX SEPARATOR ',') AS CHAR) AS columns \
             FROM information_schema.statistics \
             WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
             AND INDEX_NAME <> 'PRIMARY' GROUP BY INDEX_NAME ORDER BY INDEX_NAME",
        )
        .bind::<diesel::sql_types::Nullable<Text>, _>(table.schema)
        .bind::<Text, _>(table.name)
        .load(conn)
    }
}

#[cfg(feature = "sqlite")]
impl CatalogBackend for diesel::sqlite::Sqlite {
    fn applied_versions<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
    ) -> QueryResult<Vec<String>> {
        applied_versions(conn)
    }

    fn count<C: LoadConnection<Backend = Self>>(conn: &mut C, sql: &str) -> QueryResult<i64> {
        count(conn, sql)
    }

    fn columns<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        table: TableName<'_>,
    ) -> QueryResult<Vec<CatalogColumn>> {
        // A key column (`INTEGER PRIMARY KEY`) holds no NULL whatever
        // `notnull` says. The type is the declared text, verbatim.
        diesel::sql_query(
            "SELECT name, type AS ty, \
             CASE WHEN \"notnull\" = 0 AND pk = 0 THEN 'YES' ELSE 'NO' END AS nullable \
             FROM pragma_table_info(?, ?) ORDER BY cid",
        )
        .bind::<Text, _>(table.name)
        .bind::<Text, _>(table.schema.unwrap_or("main"))
        .load(conn)
    }

    fn indexes<C: LoadConnection<Backend = Self>>(
        conn: &mut C,
        table: TableName<'_>,
    ) -> QueryResult<Vec<CatalogIndex>> {
        let schema = table.schema.unwrap_or("main");
        diesel::sql_query(
            "SELECT il.name AS name, (SELECT group_concat(ii.name, ',') FROM \
                 (SELECT name FROM pragma_index_info(il.name, ?) ORDER BY seqno) AS ii) AS columns \
             FROM pragma_index_list(?, ?) AS il WHERE il.origin = 'c' ORDER BY il.name",
        )
        .bind::<Text, _>(schema)
        .bind::<Text, _>(table.name)
        .bind::<Text, _>(schema)
        .load(conn)
    }
}
