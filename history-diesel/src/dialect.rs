//! [`HistoryBackend`]: what this crate needs to know of a Diesel backend
//! beyond Diesel's own traits, its dialect and its limits.

use diesel::query_builder::{QueryBuilder, QueryFragment};
use diesel::QueryResult;

use crate::exec::Executor;
use crate::Dialect;

/// The SQL dialect of a Diesel backend, so code generic over the backend can
/// pick the matching migration: `Order::history_migration(DB::DIALECT)`.
///
/// ```
/// use history_diesel::{Dialect, HistoryBackend};
///
/// assert_eq!(<diesel::sqlite::Sqlite as HistoryBackend>::DIALECT, Dialect::Sqlite);
/// ```
#[allow(async_fn_in_trait)] // its async item is hidden, implemented inside the crate
pub trait HistoryBackend: diesel::backend::Backend + 'static {
    /// The dialect of this backend.
    const DIALECT: Dialect;

    /// How many bind parameters `fragment` sends.
    #[doc(hidden)]
    fn bind_count<T: QueryFragment<Self>>(fragment: &T) -> QueryResult<usize>;

    /// The most bind parameters one statement on this connection may carry.
    #[doc(hidden)]
    async fn bind_limit<E: Executor<Backend = Self>>(exec: &mut E) -> QueryResult<usize> {
        let _ = exec;
        Ok(Self::DIALECT.max_binds())
    }
}

/// The binds of `fragment`, counted in its SQL as this backend writes it.
#[allow(dead_code)] // unused without a backend feature
pub(crate) fn rendered_bind_count<DB, T>(fragment: &T) -> QueryResult<usize>
where
    DB: HistoryBackend + Default,
    DB::QueryBuilder: Default,
    T: QueryFragment<DB>,
{
    let mut sql = DB::QueryBuilder::default();
    fragment.to_sql(&mut sql, &DB::default())?;
    Ok(DB::DIALECT.count_binds(&sql.finish()))
}
