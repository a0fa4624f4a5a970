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
}

#[cfg(feature = "sqlite")]
impl HistoryBackend for diesel::sqlite::Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;
}

#[cfg(feature = "postgres")]
impl HistoryBackend for diesel::pg::Pg {
    const DIALECT: Dialect = Dialect::Postgres;
}

#[cfg(feature = "mysql")]
impl HistoryBackend for diesel::mysql::Mysql {
    const DIALECT: Dialect = Dialect::Mysql;
}
