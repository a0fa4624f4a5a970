use diesel::connection::LoadConnection;
use diesel::query_builder::{QueryBuilder, QueryFragment};
use diesel::QueryResult;

use crate::Dialect;

/// The SQL dialect of a Diesel backend, so code generic over the backend can
/// pick the matching migration: `Order::history_migration(DB::DIALECT)`.
///
/// ```
/// use history_diesel::{Dialect, HistoryBackend};
///
/// assert_eq!(<diesel::sqlite::Sqlite as HistoryBackend>::DIALECT, Dialect::Sqlite);
/// ```
pub trait HistoryBackend: diesel::backend::Backend {
    /// The dialect of this backend.
    const DIALECT: Dialect;

    /// How many bind parameters `fragment` sends.
    #[doc(hidden)]
    fn bind_count<T: QueryFragment<Self>>(fragment: &T) -> QueryResult<usize>;

    /// The most bind parameters one statement on this connection may carry.
    #[doc(hidden)]
    fn bind_limit<C: LoadConnection<Backend = Self>>(conn: &mut C) -> QueryResult<usize> {
        let _ = conn;
        Ok(Self::DIALECT.max_binds())
    }
}

/// The binds of `fragment`, counted in its SQL as this backend writes it.
#[allow(dead_code)] // unused without a backend feature
fn rendered_bind_count<DB, T>(fragment: &T) -> QueryResult<usize>
where
    DB: HistoryBackend + Default,
    DB::QueryBuilder: Default,
    T: QueryFragment<DB>,
{
    let mut sql = DB::QueryBuilder::default();
    fragment.to_sql(&mut sql, &DB::default())?;
    Ok(DB::DIALECT.count_binds(&sql.finish()))
}

#[cfg(feature = "sqlite")]
impl HistoryBackend for diesel::sqlite::Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;

    fn bind_count<T: QueryFragment<Self>>(fragment: &T) -> QueryResult<usize> {
        rendered_bind_count(fragment)
    }

    /// A build of SQLite may set its own `SQLITE_MAX_VARIABLE_NUMBER`; it is
    /// listed among the compile options when it does. The process links one
    /// SQLite, so the option is read once, by the first bulk write.
    fn bind_limit<C: LoadConnection<Backend = Self>>(conn: &mut C) -> QueryResult<usize> {
        use diesel::sql_types::{Nullable, Text};
        use diesel::RunQueryDsl;
        static COMPILED: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        if let Some(limit) = COMPILED.get() {
            return Ok(*limit);
        }
        let option: Option<String> = diesel::select(diesel::dsl::sql::<Nullable<Text>>(
            "(SELECT compile_options FROM pragma_compile_options \
             WHERE compile_options LIKE 'MAX_VARIABLE_NUMBER=%')",
        ))
        .get_result(conn)?;
        let limit = option
            .and_then(|option| option["MAX_VARIABLE_NUMBER=".len()..].parse().ok())
            .unwrap_or(Self::DIALECT.max_binds());
        Ok(*COMPILED.get_or_init(|| limit))
    }
}

#[cfg(feature = "postgres")]
impl HistoryBackend for diesel::pg::Pg {
    const DIALECT: Dialect = Dialect::Postgres;

    fn bind_count<T: QueryFragment<Self>>(fragment: &T) -> QueryResult<usize> {
        rendered_bind_count(fragment)
    }
}

#[cfg(feature = "mysql")]
impl HistoryBackend for diesel::mysql::Mysql {
    const DIALECT: Dialect = Dialect::Mysql;

    fn bind_count<T: QueryFragment<Self>>(fragment: &T) -> QueryResult<usize> {
        rendered_bind_count(fragment)
    }
}
