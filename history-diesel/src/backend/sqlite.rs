//! SQLite's sequences.
//!
//! SQLite has one writer at a time: the first write of a transaction takes
//! the database's write lock, so no row lock is needed (or exists) to keep
//! another writer from changing rows between a write and its records. Writes
//! return their rows with `RETURNING` (SQLite 3.35), and a bulk insert is one
//! multi-row statement per run of rows that name the same columns.

use diesel::insertable::InsertValues;
use diesel::query_builder::{QueryFragment, ValuesClause};
use diesel::sqlite::Sqlite;
use diesel::{Insertable, QueryResult};

use super::shared;
use super::{InsertRows, ModelStatements, WriteBackend};
use crate::context::HistoryContext;
use crate::error::HistoryError;
use crate::exec::{atomic, Executor};
use crate::query::{ColumnNames, Fixed, Rows, SqliteRows};
use crate::HistoryBackend;
use crate::{Dialect, HistoricalRecords, HistoryType, RecordHooks, UserIdOf};

impl HistoryBackend for Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;

    fn bind_count<T: QueryFragment<Self>>(fragment: &T) -> QueryResult<usize> {
        crate::dialect::rendered_bind_count(fragment)
    }

    /// A build of SQLite may set its own `SQLITE_MAX_VARIABLE_NUMBER`; it is
    /// listed among the compile options when it does. The process links one
    /// SQLite, so the option is read once, by the first bulk write.
    async fn bind_limit<E: Executor<Backend = Self>>(exec: &mut E) -> QueryResult<usize> {
        use diesel::sql_types::{Nullable, Text};
        static COMPILED: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        if let Some(limit) = COMPILED.get() {
            return Ok(*limit);
        }
        let option: Option<Option<String>> = exec
            .load::<_, Option<String>>(Rows::<_, Nullable<Text>>::of(Fixed(
                "SELECT (SELECT compile_options FROM pragma_compile_options \
                 WHERE compile_options LIKE 'MAX_VARIABLE_NUMBER=%')",
            )))
            .await?
            .pop();
        let limit = option
            .flatten()
            .and_then(|option| option["MAX_VARIABLE_NUMBER=".len()..].parse().ok())
            .unwrap_or(Self::DIALECT.max_binds());
        Ok(*COMPILED.get_or_init(|| limit))
    }
}

impl<'r, N: 'r, M, V> InsertRows<'r, M, Sqlite> for N
where
    M: HistoricalRecords,
    &'r N: Insertable<M::Table, Values = ValuesClause<V, M::Table>>,
    V: InsertValues<Sqlite, M::Table>,
{
    type Values = SqliteRows<V, M::Table>;

    /// One statement per run of consecutive rows whose columns are the same
    /// (a row that leaves a field to its default names one column less).
    fn statements(rows: &'r [Self]) -> Vec<(Self::Values, usize)> {
        let mut statements: Vec<(Self::Values, usize)> = Vec::new();
        let mut columns_of_last = None;
        for row in rows {
            let values = row.values().values;
            let columns = ColumnNames::<V, M::Table>::of(&values);
            match statements.last_mut() {
                Some((statement, count)) if columns.is_some() && columns == columns_of_last => {
                    statement.push(values);
                    *count += 1;
                }
                _ => statements.push((SqliteRows::new(values), 1)),
            }
            columns_of_last = columns;
        }
        statements
    }
}

impl<M> WriteBackend<M> for Sqlite
where
    M: HistoricalRecords,
    Sqlite: ModelStatements<M>,
{
    async fn update<E, W, Ch>(
        exec: &mut E,
        filter: W,
        changes: Ch,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
        Ch: QueryFragment<Self>,
    {
        let meta = shared::meta::<M, Sqlite>(ctx)?;
        shared::update_returning::<M, Sqlite, E, W, Ch>(exec, filter, changes, meta).await
    }

    async fn delete<E, W>(
        exec: &mut E,
        filter: W,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
    {
        let meta = shared::meta::<M, Sqlite>(ctx)?;
        if <M::Hooks as RecordHooks<M>>::AFTER_RECORD {
            // The hook reads the records by key: take the keys first.
            return shared::delete_locked::<M, Sqlite, E, W>(exec, filter, meta).await;
        }
        // Once the history INSERT holds the write lock, the DELETE sees
        // exactly the rows it recorded: two statements, no key read.
        atomic(exec, async move |exec: &mut E| {
            if let Some(meta) = &meta {
                shared::record_where::<M, Sqlite, E, _>(exec, &filter, HistoryType::Deleted, meta)
                    .await?;
            }
            Ok(Sqlite::delete_where(exec, filter).await?)
        })
        .await
    }
}
