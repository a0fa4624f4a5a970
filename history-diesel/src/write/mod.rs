//! Writing with history: every create, update and delete records its history
//! in the same transaction, built from what the database holds afterwards
//! (before, for a delete). What each call costs per backend is documented on
//! [`WriteWithHistory`].

#[cfg(feature = "mysql")]
mod mysql;
pub(crate) mod sql;

use std::marker::PhantomData;

use chrono::Utc;
use diesel::connection::LoadConnection;
use diesel::deserialize::FromSqlRow;
use diesel::dsl::AsSelect as SelectBy;
use diesel::expression::{AppearsOnTable, Expression, QueryMetadata, Selectable};
use diesel::internal::table_macro::{Identifier, InfixNode};
use diesel::query_builder::{AsChangeset, QueryFragment};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, BoolOrNullableBool, HasSqlType, Nullable, Text};
use diesel::{Insertable, RunQueryDsl, SelectableHelper, Table};
use history_core::sql_types::{HistoryDate, UtcTimestamp};

use self::sql::{
    DeleteWhere, Fixed, InsertValues, KeyIn, Names, ReadBack, RecordHistory, RecordsOf, Rows,
    SelectKeys, SelectWhere, UpdateWhere, Upsert, WithHistory, WithUserSqlType,
};
use crate::context::{HistoryContext, HistoryMeta, RowContexts};
use crate::error::HistoryError;
use crate::transaction::atomic;
use crate::{
    Dialect, HistoricalRecords, HistoryBackend, HistoryRecord, HistoryTableSpec, HistoryType,
    RecordEvent, RecordHooks,
};

/// How many keys one statement names at most; longer inputs take one
/// statement per chunk (bind limits: SQLite 32766, PostgreSQL and MySQL 65535).
pub const KEY_CHUNK: usize = 1000;

/// The Rust type of a model's `history_user_id`.
pub type UserIdOf<M> = <<M as HistoricalRecords>::Record as HistoryRecord>::UserId;

/// The SQL type of a model's primary key.
pub type KeySqlType<M> =
    <<<M as HistoricalRecords>::Table as Table>::PrimaryKey as Expression>::SqlType;

/// The SQL type of a model's `Selectable` selection.
type SelectionSqlType<M, DB> = <<M as Selectable<DB>>::SelectExpression as Expression>::SqlType;

/// Options of the bulk writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkOptions {
    /// Rows per statement, at most: a batch whose binds would pass the
    /// backend's limit on one statement (65,535 on PostgreSQL and MySQL,
    /// SQLite's `SQLITE_MAX_VARIABLE_NUMBER`, 32,766 by default) is cut to
    /// the rows that fit.
    pub batch_size: usize,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions { batch_size: 500 }
    }
}

/// A Diesel backend that history of model `M` can be written to.
///
/// Implemented for SQLite, PostgreSQL and MySQL (with the matching feature)
/// for every model whose types they support. It carries the statements of
/// each write, so the user-facing methods of [`WriteWithHistory`] need one
/// bound.
pub trait WriteBackend<M: HistoricalRecords>: HistoryBackend {
    /// Runs batches of insert statements (each with its row count) in one
    /// transaction and records a `+` for every row, with one history
    /// statement per batch (and distinct context).
    #[doc(hidden)]
    fn create<C, V, R>(
        conn: &mut C,
        batches: Vec<Vec<(V, usize)>>,
        contexts: &R,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<M>, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        V: QueryFragment<Self>,
        R: RowContexts<UserIdOf<M>> + ?Sized;

    /// Records a `+` for rows already inserted (rows `offset..` of a bulk
    /// input), one history statement per distinct context.
    #[doc(hidden)]
    fn record_created<C, R>(
        conn: &mut C,
        models: &[M],
        contexts: &R,
        offset: usize,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        R: RowContexts<UserIdOf<M>> + ?Sized;

    /// Updates the rows `filter` selects and records a `~` for each.
    #[doc(hidden)]
    fn update<C, W, Ch>(
        conn: &mut C,
        filter: W,
        changes: Ch,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        W: QueryFragment<Self>,
        Ch: QueryFragment<Self>;

    /// Updates one row by key and records a `~`.
    #[doc(hidden)]
    fn update_key<C, Ch>(
        conn: &mut C,
        key: M::Id,
        changes: Ch,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        Ch: QueryFragment<Self>;

    /// Records a `-` for each row `filter` selects and deletes them.
    #[doc(hidden)]
    fn delete<C, W>(
        conn: &mut C,
        filter: W,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        W: QueryFragment<Self>;

    /// Writes whole rows that exist (one upsert per statement) and records a
    /// `~` for each; [`HistoryError::NotFound`] if any is missing.
    #[doc(hidden)]
    fn bulk_update<C, R>(
        conn: &mut C,
        rows: &[M],
        contexts: &R,
        offset: usize,
        now: chrono::DateTime<Utc>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        M: crate::__private::RowValues<Self>,
        R: RowContexts<UserIdOf<M>> + ?Sized;

    /// Inserts whole rows, keys included (an undelete), and records a `+`
    /// for each.
    #[doc(hidden)]
    fn insert_whole<C>(
        conn: &mut C,
        rows: &[M],
        ctx: &HistoryContext<UserIdOf<M>>,
        now: chrono::DateTime<Utc>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        M: crate::__private::RowValues<Self>;

    /// Deletes one row by key, recording a `-`.
    #[doc(hidden)]
    fn delete_key<C>(
        conn: &mut C,
        key: M::Id,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>;
}

fn key_in<M: HistoricalRecords>(ids: &[M::Id]) -> KeyIn<'_, M::Id, KeySqlType<M>> {
    KeyIn {
        spec: &M::HISTORY_TABLE,
        table: M::HISTORY_TABLE.source_table,
        ids,
        sql_type: PhantomData,
    }
}

impl<M, DB> WriteBackend<M> for DB
where
    M: HistoricalRecords + Selectable<DB> + FromSqlRow<SelectionSqlType<M, DB>, DB> + 'static,
    M::SelectExpression: QueryFragment<DB>,
    SelectionSqlType<M, DB>: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
    M::Id: ToSql<KeySqlType<M>, DB> + FromSqlRow<KeySqlType<M>, DB> + 'static,
    UserIdOf<M>: Clone + PartialEq + 'static,
    Option<UserIdOf<M>>: ToSql<Nullable<M::UserIdSqlType>, DB>,
    DB: HistoryBackend
        + HasSqlType<HistoryDate>
        + HasSqlType<Text>
        + HasSqlType<BigInt>
        + HasSqlType<KeySqlType<M>>
        + HasSqlType<M::UserIdSqlType>
        + QueryMetadata<KeySqlType<M>>
        + QueryMetadata<SelectBy<M, DB>>
        + 'static,
    SelectBy<M, DB>: QueryFragment<DB>,
    UtcTimestamp: ToSql<HistoryDate, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    i64: ToSql<BigInt, DB>,
    KeySqlType<M>: diesel::sql_types::SingleValue,
    M::UserIdSqlType: diesel::sql_types::SqlType + diesel::sql_types::SingleValue,
    DB: ReadBackBackend<M> + RecordBackend<M> + SourceCheck<M>,
{
    fn create<C, V, R>(
        conn: &mut C,
        batches: Vec<Vec<(V, usize)>>,
        contexts: &R,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<M>, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        V: QueryFragment<Self>,
        R: RowContexts<UserIdOf<M>> + ?Sized,
    {
        check_source::<M, DB>()?;
        let spec = &M::HISTORY_TABLE;
        let total = batches.iter().flatten().map(|(_, count)| count).sum();
        let metas = HistoryContext::metas_for(contexts, spec, DB::DIALECT, 0, total, now)?;
        if let Some(meta) = one_statement_meta(DB::DIALECT, &metas) {
            // Each statement inserts its rows and their records at once; the
            // batches share one transaction, without savepoints.
            let meta = hooked_meta::<M>(HistoryType::Created, meta)?;
            let statements: Vec<(V, usize)> = batches.into_iter().flatten().collect();
            let alone = statements.len() == 1 && !<M::Hooks as RecordHooks<M>>::AFTER_RECORD;
            let run = |conn: &mut C| {
                let mut models: Vec<M> = Vec::with_capacity(total);
                for (values, count) in statements {
                    let inserted: Vec<M> = Rows::<_, SelectBy<M, DB>>::of(WithHistory {
                        spec,
                        write: InsertValues::<V, SelectBy<M, DB>> {
                            spec,
                            values,
                            returning: None,
                        },
                        record: cte_record::<M>(HistoryType::Created, &meta),
                        selection: ReadBack::of(spec, M::as_select()),
                    })
                    .load::<M>(conn)
                    .map_err(|err| match conflict(spec, err) {
                        HistoryError::Database(err) => missing_history_table(spec, err),
                        other => other,
                    })?;
                    if inserted.len() != count {
                        return Err(HistoryError::ReadBack {
                            model: spec.model,
                            written: count,
                            read: inserted.len(),
                        });
                    }
                    let ids: Vec<M::Id> = inserted.iter().map(M::history_key).collect();
                    after_hook::<M, C>(conn, &ids, HistoryType::Created)?;
                    models.extend(inserted);
                }
                Ok(models)
            };
            return single_statement(conn, alone, run);
        }
        atomic(conn, |conn| {
            let mut models: Vec<M> = Vec::with_capacity(total);
            for batch in batches {
                let first = models.len();
                for (values, count) in batch {
                    let inserted = insert_returning::<M, C, V>(conn, values, count)?;
                    if inserted.len() != count {
                        return Err(HistoryError::ReadBack {
                            model: spec.model,
                            written: count,
                            read: inserted.len(),
                        });
                    }
                    models.extend(inserted);
                }
                let ids: Vec<M::Id> = models[first..].iter().map(M::history_key).collect();
                // One metadata for all rows, or the batch's own rows'.
                let batch_metas = match metas.as_slice() {
                    [_] => &metas[..],
                    per_row => &per_row[first..models.len()],
                };
                record_grouped::<M, C>(conn, &ids, batch_metas, HistoryType::Created)?;
            }
            Ok(models)
        })
    }

    fn record_created<C, R>(
        conn: &mut C,
        models: &[M],
        contexts: &R,
        offset: usize,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        R: RowContexts<UserIdOf<M>> + ?Sized,
    {
        check_source::<M, DB>()?;
        let ids: Vec<M::Id> = models.iter().map(M::history_key).collect();
        let metas = HistoryContext::metas_for(
            contexts,
            &M::HISTORY_TABLE,
            DB::DIALECT,
            offset,
            ids.len(),
            now,
        )?;
        record_grouped::<M, C>(conn, &ids, &metas, HistoryType::Created)
    }

    fn update<C, W, Ch>(
        conn: &mut C,
        filter: W,
        changes: Ch,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        W: QueryFragment<Self>,
        Ch: QueryFragment<Self>,
    {
        check_source::<M, DB>()?;
        let spec = &M::HISTORY_TABLE;
        let meta = ctx.meta_for(spec, DB::DIALECT, Utc::now())?;
        if let Some(meta) = one_statement_meta(DB::DIALECT, std::slice::from_ref(&meta)) {
            // The UPDATE's RETURNING rows are the values after the update.
            let meta = hooked_meta::<M>(HistoryType::Changed, meta)?;
            let write = UpdateWhere {
                spec,
                changes,
                filter,
                returning_key: false,
            };
            return write_in_one_statement::<M, C, _>(conn, write, HistoryType::Changed, &meta);
        }
        atomic(conn, |conn| {
            let ids: Vec<M::Id> = if DB::DIALECT == Dialect::Mysql {
                // Lock the rows first: no other writer changes them before their
                // history is read.
                let ids: Vec<M::Id> = Rows::<_, KeySqlType<M>>::of(SelectKeys {
                    spec,
                    filter,
                    for_update: true,
                })
                .load(conn)?;
                for chunk in ids.chunks(KEY_CHUNK) {
                    UpdateWhere {
                        spec,
                        changes: &changes,
                        filter: key_in::<M>(chunk),
                        returning_key: false,
                    }
                    .execute(conn)?;
                }
                ids
            } else {
                // The UPDATE reports exactly the rows it changed, locked until commit.
                Rows::<_, KeySqlType<M>>::of(UpdateWhere {
                    spec,
                    changes,
                    filter,
                    returning_key: true,
                })
                .load(conn)?
            };
            if let Some(meta) = &meta {
                record::<M, C>(conn, &ids, HistoryType::Changed, meta)?;
            }
            Ok(ids.len())
        })
    }

    fn update_key<C, Ch>(
        conn: &mut C,
        key: M::Id,
        changes: Ch,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        Ch: QueryFragment<Self>,
    {
        check_source::<M, DB>()?;
        let keys = [key];
        if DB::DIALECT != Dialect::Mysql {
            return <DB as WriteBackend<M>>::update(conn, key_in::<M>(&keys), changes, ctx);
        }
        // MySQL, one known key: the UPDATE itself locks the row until commit,
        // and Diesel's connections count matched rows (CLIENT_FOUND_ROWS), so
        // no `SELECT .. FOR UPDATE` is needed to learn which rows it touched.
        let spec = &M::HISTORY_TABLE;
        let meta = ctx.meta_for(spec, DB::DIALECT, Utc::now())?;
        atomic(conn, |conn| {
            let matched = UpdateWhere {
                spec,
                changes,
                filter: key_in::<M>(&keys),
                returning_key: false,
            }
            .execute(conn)?;
            if let (1.., Some(meta)) = (matched, &meta) {
                record::<M, C>(conn, &keys, HistoryType::Changed, meta)?;
            }
            Ok(matched)
        })
    }

    fn delete<C, W>(
        conn: &mut C,
        filter: W,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        W: QueryFragment<Self>,
    {
        check_source::<M, DB>()?;
        let spec = &M::HISTORY_TABLE;
        let meta = ctx.meta_for(spec, DB::DIALECT, Utc::now())?;
        if let Some(meta) = one_statement_meta(DB::DIALECT, std::slice::from_ref(&meta)) {
            // The DELETE's RETURNING rows are the values before the delete.
            let meta = hooked_meta::<M>(HistoryType::Deleted, meta)?;
            let write = DeleteWhere { spec, filter };
            return write_in_one_statement::<M, C, _>(conn, write, HistoryType::Deleted, &meta);
        }
        atomic(conn, |conn| {
            if DB::DIALECT == Dialect::Sqlite && !<M::Hooks as RecordHooks<M>>::AFTER_RECORD {
                // SQLite has one writer: once the history INSERT holds the write
                // lock, the DELETE sees exactly the rows it recorded.
                if let Some(meta) = &meta {
                    record_where::<M, C, _>(conn, &filter, HistoryType::Deleted, meta)?;
                }
                return Ok(DeleteWhere { spec, filter }.execute(conn)?);
            }
            let ids: Vec<M::Id> = Rows::<_, KeySqlType<M>>::of(SelectKeys {
                spec,
                filter,
                for_update: DB::DIALECT != Dialect::Sqlite,
            })
            .load(conn)?;
            if let Some(meta) = &meta {
                record::<M, C>(conn, &ids, HistoryType::Deleted, meta)?;
            }
            let mut deleted = 0;
            for chunk in ids.chunks(KEY_CHUNK) {
                deleted += DeleteWhere {
                    spec,
                    filter: key_in::<M>(chunk),
                }
                .execute(conn)?;
            }
            Ok(deleted)
        })
    }

    fn bulk_update<C, R>(
        conn: &mut C,
        rows: &[M],
        contexts: &R,
        offset: usize,
        now: chrono::DateTime<Utc>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        M: crate::__private::RowValues<Self>,
        R: RowContexts<UserIdOf<M>> + ?Sized,
    {
        check_source::<M, DB>()?;
        let spec = &M::HISTORY_TABLE;
        let ids: Vec<M::Id> = rows.iter().map(M::history_key).collect();
        let ids = ids.as_slice();
        let metas = HistoryContext::metas_for(contexts, spec, DB::DIALECT, offset, ids.len(), now)?;
        atomic(conn, |conn| {
            // Lock the rows and check they all exist: the upsert below must
            // never create one.
            let mut found = 0;
            for chunk in ids.chunks(KEY_CHUNK) {
                found += Rows::<_, KeySqlType<M>>::of(SelectKeys {
                    spec,
                    filter: key_in::<M>(chunk),
                    for_update: DB::DIALECT != Dialect::Sqlite,
                })
                .load::<M::Id>(conn)?
                .len();
            }
            if found != ids.len() {
                return Err(HistoryError::NotFound { model: spec.model });
            }
            Upsert {
                spec,
                dialect: DB::DIALECT,
                rows,
                update_existing: true,
            }
            .execute(conn)?;
            record_grouped::<M, C>(conn, ids, &metas, HistoryType::Changed)?;
            Ok(ids.len())
        })
    }

    fn insert_whole<C>(
        conn: &mut C,
        rows: &[M],
        ctx: &HistoryContext<UserIdOf<M>>,
        now: chrono::DateTime<Utc>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        M: crate::__private::RowValues<Self>,
    {
        check_source::<M, DB>()?;
        let spec = &M::HISTORY_TABLE;
        let ids: Vec<M::Id> = rows.iter().map(M::history_key).collect();
        let metas = HistoryContext::metas_for(ctx, spec, DB::DIALECT, 0, ids.len(), now)?;
        atomic(conn, |conn| {
            Upsert {
                spec,
                dialect: DB::DIALECT,
                rows,
                update_existing: false,
            }
            .execute(conn)
            .map_err(|err| conflict(spec, err))?;
            record_grouped::<M, C>(conn, &ids, &metas, HistoryType::Created)?;
            Ok(ids.len())
        })
    }

    fn delete_key<C>(
        conn: &mut C,
        key: M::Id,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
    {
        check_source::<M, DB>()?;
        let keys = [key];
        <DB as WriteBackend<M>>::delete(conn, key_in::<M>(&keys), ctx)
    }
}

/// The one metadata of a write that PostgreSQL sends as a single statement
/// (the data write and its history in one CTE).
///
/// Not for an explicit date: the CTE's history INSERT reads the object's
/// latest record from the statement's snapshot, which may predate the record
/// of a writer it waited for, and an explicit date must be placed after that
/// record (see `push_record_date`). Such writes take the locks in a
/// statement of their own first.
fn one_statement_meta<U>(
    dialect: Dialect,
    metas: &[Option<HistoryMeta<U>>],
) -> Option<&HistoryMeta<U>> {
    match (dialect, metas) {
        (Dialect::Postgres, [Some(meta)]) if !meta.explicit => Some(meta),
        _ => None,
    }
}

/// Checks a schema-qualified source table against its `table!` before a
/// write.
///
/// Diesel keeps the parts of `schema.table` where no constant can read them,
/// so the spec takes the schema from `#[history(schema = ...)]` and the name
/// from the Rust path; the derive checks at compile time only that a schema
/// is given when the `table!` has one. Here Diesel renders both the table
/// and the spec's name for it, and a difference is an error before any
/// statement, never a write to a same-named table in another schema. A
/// table without a schema takes its name from Diesel at compile time.
fn check_source<M: HistoricalRecords, DB: SourceCheck<M>>() -> Result<(), HistoryError> {
    let spec = &M::HISTORY_TABLE;
    let Some(schema) = spec.source_schema else {
        return Ok(());
    };
    let (declared, table) = DB::render(schema, spec.source_table);
    if declared == table {
        return Ok(());
    }
    Err(HistoryError::SchemaMismatch {
        model: spec.model,
        declared,
        table,
    })
}

/// Diesel's rendering of a model's table and of a `schema.table` name, for
/// [`check_source`], behind one bound.
trait SourceCheck<M>: diesel::backend::Backend {
    /// (`schema.name` as Diesel writes it, the model's table as Diesel writes it).
    fn render(schema: &'static str, name: &'static str) -> (String, String);
}

impl<M, DB> SourceCheck<M> for DB
where
    M: HistoricalRecords,
    DB: diesel::backend::Backend + Default,
    DB::QueryBuilder: Default,
    <M::Table as diesel::QuerySource>::FromClause: QueryFragment<DB>,
    InfixNode<Identifier<'static>, Identifier<'static>, &'static str>: QueryFragment<DB>,
{
    fn render(schema: &'static str, name: &'static str) -> (String, String) {
        // Both renderings end in the same ` -- binds: []`; keep the SQL.
        let sql = |text: String| text.split(" -- ").next().unwrap_or_default().to_owned();
        let declared = InfixNode::new(Identifier(schema), Identifier(name), ".");
        let table = <M::Table as diesel::QuerySource>::from_clause(&M::Table::default());
        (
            sql(diesel::debug_query::<DB, _>(&declared).to_string()),
            sql(diesel::debug_query::<DB, _>(&table).to_string()),
        )
    }
}

/// Inserts one statement's rows and reads them back as stored.
fn insert_returning<M, C, V>(conn: &mut C, values: V, count: usize) -> Result<Vec<M>, HistoryError>
where
    M: HistoricalRecords + Selectable<C::Backend>,
    C: LoadConnection,
    C::Backend: HistoryBackend + ReadBackBackend<M>,
    V: QueryFragment<C::Backend>,
{
    <C::Backend as ReadBackBackend<M>>::insert_returning(conn, values, count)
}

/// Inserting and reading back the new rows, behind one bound: PostgreSQL
/// and SQLite return them from the `INSERT` itself; MySQL reads them back
/// by their keys (see `mysql.rs`).
trait ReadBackBackend<M>: diesel::backend::Backend {
    fn insert_returning<C, V>(
        conn: &mut C,
        values: V,
        count: usize,
    ) -> Result<Vec<M>, HistoryError>
    where
        C: LoadConnection<Backend = Self>,
        V: QueryFragment<Self>;
}

#[allow(unused_macros)] // unused with the mysql feature alone
macro_rules! read_back_by_returning {
    ($backend:ty) => {
        impl<M> ReadBackBackend<M> for $backend
        where
            M: HistoricalRecords
                + Selectable<$backend>
                + FromSqlRow<SelectionSqlType<M, $backend>, $backend>
                + 'static,
            M::SelectExpression: QueryFragment<$backend>,
            SelectionSqlType<M, $backend>:
                diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
            SelectBy<M, $backend>: QueryFragment<$backend>,
            $backend: QueryMetadata<SelectBy<M, $backend>>,
        {
            fn insert_returning<C, V>(
                conn: &mut C,
                values: V,
                _count: usize,
            ) -> Result<Vec<M>, HistoryError>
            where
                C: LoadConnection<Backend = Self>,
                V: QueryFragment<Self>,
            {
                let spec = &M::HISTORY_TABLE;
                Rows::<_, SelectBy<M, $backend>>::of(InsertValues {
                    spec,
                    values,
                    returning: Some(ReadBack::of(spec, M::as_select())),
                })
                .load::<M>(conn)
                .map_err(|err| conflict(spec, err))
            }
        }
    };
}

#[cfg(feature = "sqlite")]
read_back_by_returning!(diesel::sqlite::Sqlite);
#[cfg(feature = "postgres")]
read_back_by_returning!(diesel::pg::Pg);

/// Records `kind` for rows with these keys, each with its metadata (one
/// entry for all, or one per row): one statement per distinct metadata and
/// key chunk, so a bulk write with a few overrides stays a few statements.
fn record_grouped<M, C>(
    conn: &mut C,
    ids: &[M::Id],
    metas: &[Option<HistoryMeta<UserIdOf<M>>>],
    kind: HistoryType,
) -> Result<(), HistoryError>
where
    M: HistoricalRecords,
    UserIdOf<M>: Clone + PartialEq,
    M::Id: Clone,
    C: LoadConnection,
    C::Backend: RecordBackend<M> + HasSqlType<KeySqlType<M>>,
    M::Id: ToSql<KeySqlType<M>, C::Backend>,
{
    if let [uniform] = metas {
        return match uniform {
            Some(meta) => record::<M, C>(conn, ids, kind, meta),
            None => Ok(()),
        };
    }
    /// Keys that share one metadata.
    type Group<'m, M> = (
        &'m HistoryMeta<UserIdOf<M>>,
        Vec<<M as HistoricalRecords>::Id>,
    );
    let mut groups: Vec<Group<'_, M>> = Vec::new();
    for (id, meta) in ids.iter().zip(metas) {
        let Some(meta) = meta else { continue };
        match groups.iter_mut().find(|(seen, _)| *seen == meta) {
            Some((_, group)) => group.push(id.clone()),
            None => groups.push((meta, vec![id.clone()])),
        }
    }
    for (meta, group) in groups {
        record::<M, C>(conn, &group, kind, meta)?;
    }
    Ok(())
}

/// Runs `write`, which sends one statement when `alone`: atomic by itself,
/// so it needs no BEGIN/COMMIT round trips. Inside a caller's transaction,
/// or when more than that statement runs (an after-record hook, which may
/// fail after it), it takes a transaction or savepoint as every other write
/// does, so a failure keeps nothing and leaves the caller's transaction usable.
fn single_statement<C, T>(
    conn: &mut C,
    alone: bool,
    write: impl FnOnce(&mut C) -> Result<T, HistoryError>,
) -> Result<T, HistoryError>
where
    C: diesel::Connection,
{
    use diesel::connection::TransactionManager;
    let status = C::TransactionManager::transaction_manager_status_mut(conn);
    if alone && matches!(status.transaction_depth(), Ok(None)) {
        write(conn)
    } else {
        atomic(conn, write)
    }
}

/// The metadata after the `before_record` hook, which may change it.
fn hooked_meta<M>(
    kind: HistoryType,
    meta: &HistoryMeta<UserIdOf<M>>,
) -> Result<HistoryMeta<UserIdOf<M>>, HistoryError>
where
    M: HistoricalRecords,
    UserIdOf<M>: Clone,
{
    let mut meta = meta.clone();
    <M::Hooks as RecordHooks<M>>::before_record(&mut RecordEvent {
        model: M::HISTORY_TABLE.model,
        kind,
        date: meta.date.into(),
        user: &mut meta.user,
        reason: &mut meta.reason,
    })
    .map_err(HistoryError::Hook)?;
    // A reason the hook set must fit the column like any other.
    if let Some(reason) = &meta.reason {
        crate::context::check_reason(&M::HISTORY_TABLE, reason)?;
    }
    Ok(meta)
}

/// Runs the `after_record` hook, when the model has one, with the records
/// just written for these keys.
fn after_hook<M, C>(conn: &mut C, ids: &[M::Id], kind: HistoryType) -> Result<(), HistoryError>
where
    M: HistoricalRecords,
    C: LoadConnection,
    C::Backend: RecordBackend<M>,
{
    if !<M::Hooks as RecordHooks<M>>::AFTER_RECORD {
        return Ok(());
    }
    for chunk in ids.chunks(KEY_CHUNK) {
        let records = <C::Backend as RecordBackend<M>>::load_records(conn, chunk, kind)?;
        <M::Hooks as RecordHooks<M>>::after_record(&records).map_err(HistoryError::Hook)?;
    }
    Ok(())
}

/// A PostgreSQL update or delete by filter and its history as one statement
/// (atomic by itself, so no transaction round trips when it runs alone): the
/// write's `RETURNING` rows feed the history INSERT of the same CTE. Returns
/// how many rows the write touched.
fn write_in_one_statement<'m, M, C, Wr>(
    conn: &mut C,
    write: Wr,
    kind: HistoryType,
    meta: &'m HistoryMeta<UserIdOf<M>>,
) -> Result<usize, HistoryError>
where
    M: HistoricalRecords,
    C: LoadConnection,
    C::Backend: RecordBackend<M>,
    Rows<WithHistory<Wr, CteRecord<'m, M>, Names>, KeySqlType<M>>:
        diesel::query_dsl::LoadQuery<'m, C, M::Id>,
{
    let spec = &M::HISTORY_TABLE;
    single_statement(conn, !<M::Hooks as RecordHooks<M>>::AFTER_RECORD, |conn| {
        let ids: Vec<M::Id> = Rows::<_, KeySqlType<M>>::of(WithHistory {
            spec,
            write,
            record: cte_record::<M>(kind, meta),
            selection: Names(spec.primary_key),
        })
        .load(conn)
        .map_err(|err| missing_history_table(spec, err))?;
        after_hook::<M, C>(conn, &ids, kind)?;
        Ok(ids.len())
    })
}

/// The history INSERT of a PostgreSQL write CTE.
type CteRecord<'m, M> =
    WithUserSqlType<RecordHistory<'m, Fixed, UserIdOf<M>>, <M as HistoricalRecords>::UserIdSqlType>;

/// The history INSERT of a PostgreSQL write CTE: every row the write returned.
fn cte_record<M: HistoricalRecords>(
    kind: HistoryType,
    meta: &HistoryMeta<UserIdOf<M>>,
) -> CteRecord<'_, M> {
    WithUserSqlType(
        RecordHistory {
            spec: &M::HISTORY_TABLE,
            dialect: Dialect::Postgres,
            from_cte: Some(self::sql::WRITE_CTE),
            filter: Fixed("TRUE"),
            kind,
            meta,
        },
        PhantomData,
    )
}

/// Records `kind` for the rows with these keys, a statement per chunk.
fn record<M, C>(
    conn: &mut C,
    ids: &[M::Id],
    kind: HistoryType,
    meta: &HistoryMeta<UserIdOf<M>>,
) -> Result<(), HistoryError>
where
    M: HistoricalRecords,
    C: LoadConnection,
    C::Backend: RecordBackend<M> + HasSqlType<KeySqlType<M>>,
    M::Id: ToSql<KeySqlType<M>, C::Backend>,
    UserIdOf<M>: Clone,
{
    for chunk in ids.chunks(KEY_CHUNK) {
        record_where::<M, C, _>(conn, key_in::<M>(chunk), kind, meta)?;
        if <M::Hooks as RecordHooks<M>>::AFTER_RECORD {
            let records = <C::Backend as RecordBackend<M>>::load_records(conn, chunk, kind)?;
            <M::Hooks as RecordHooks<M>>::after_record(&records).map_err(HistoryError::Hook)?;
        }
    }
    Ok(())
}

/// Records `kind` for the rows `filter` selects.
/// The `before_record` hook runs first and may change the metadata; the
/// metadata written is returned.
fn record_where<M, C, W>(
    conn: &mut C,
    filter: W,
    kind: HistoryType,
    meta: &HistoryMeta<UserIdOf<M>>,
) -> Result<HistoryMeta<UserIdOf<M>>, HistoryError>
where
    M: HistoricalRecords,
    C: LoadConnection,
    C::Backend: RecordBackend<M>,
    W: QueryFragment<C::Backend>,
    UserIdOf<M>: Clone,
{
    let meta = hooked_meta::<M>(kind, meta)?;
    <C::Backend as RecordBackend<M>>::record_where(conn, filter, kind, &meta)
        .map_err(|err| missing_history_table(&M::HISTORY_TABLE, err))?;
    Ok(meta)
}

/// The database's "no such table" for the history table, as a typed error:
/// the usual cause is a history migration that was not run.
fn missing_history_table(spec: &HistoryTableSpec, err: diesel::result::Error) -> HistoryError {
    let text = err.to_string();
    let missing = ["no such table", "does not exist", "doesn't exist"]
        .iter()
        .any(|phrase| text.contains(phrase));
    if missing && text.contains(spec.history_table) {
        HistoryError::HistoryTableMissing {
            table: spec.history_table,
            source: err,
        }
    } else {
        HistoryError::Database(err)
    }
}

/// Writing a history record: the statement and what it needs of a backend,
/// behind one bound.
trait RecordBackend<M: HistoricalRecords>: HistoryBackend {
    /// The records of `kind` a history statement just wrote for these keys.
    fn load_records<C>(
        conn: &mut C,
        ids: &[M::Id],
        kind: HistoryType,
    ) -> diesel::QueryResult<Vec<M::Record>>
    where
        C: LoadConnection<Backend = Self>;

    fn record_where<C, W>(
        conn: &mut C,
        filter: W,
        kind: HistoryType,
        meta: &HistoryMeta<UserIdOf<M>>,
    ) -> diesel::QueryResult<usize>
    where
        C: LoadConnection<Backend = Self>,
        W: QueryFragment<Self>;
}

impl<M, DB> RecordBackend<M> for DB
where
    M: HistoricalRecords,
    DB: HistoryBackend + HasSqlType<HistoryDate> + HasSqlType<Text> + HasSqlType<M::UserIdSqlType>,
    M::UserIdSqlType: diesel::sql_types::SqlType + diesel::sql_types::SingleValue,
    UtcTimestamp: ToSql<HistoryDate, DB>,
    Option<UserIdOf<M>>: ToSql<Nullable<M::UserIdSqlType>, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    DB: HasSqlType<KeySqlType<M>> + QueryMetadata<SelectBy<M::Record, DB>> + 'static,
    M::Id: ToSql<KeySqlType<M>, DB>,
    M::Record: Selectable<DB> + FromSqlRow<SelectionSqlType<M::Record, DB>, DB> + 'static,
    SelectionSqlType<M::Record, DB>:
        diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
    SelectBy<M::Record, DB>: QueryFragment<DB>,
{
    fn load_records<C>(
        conn: &mut C,
        ids: &[M::Id],
        kind: HistoryType,
    ) -> diesel::QueryResult<Vec<M::Record>>
    where
        C: LoadConnection<Backend = Self>,
    {
        let spec = &M::HISTORY_TABLE;
        Rows::<_, SelectBy<M::Record, DB>>::of(SelectWhere {
            from: spec.history(),
            selection: <M::Record as SelectableHelper<DB>>::as_select(),
            filter: RecordsOf {
                keys: KeyIn {
                    spec,
                    table: spec.history_table,
                    ids,
                    sql_type: PhantomData::<KeySqlType<M>>,
                },
                kind,
            },
        })
        .load::<M::Record>(conn)
    }

    fn record_where<C, W>(
        conn: &mut C,
        filter: W,
        kind: HistoryType,
        meta: &HistoryMeta<UserIdOf<M>>,
    ) -> diesel::QueryResult<usize>
    where
        C: LoadConnection<Backend = Self>,
        W: QueryFragment<Self>,
    {
        WithUserSqlType(
            RecordHistory {
                spec: &M::HISTORY_TABLE,
                dialect: Self::DIALECT,
                from_cte: None,
                filter,
                kind,
                meta,
            },
            PhantomData::<M::UserIdSqlType>,
        )
        .execute(conn)
    }
}

/// Bind parameters a statement of a bulk write carries besides its rows'
/// values: the history date (twice when it is bound), user and reason, with
/// room to spare.
const OWN_BINDS: usize = 16;

/// Rows per statement of a bulk write: `batch_size`, cut so that the rows'
/// binds stay within what one statement on this connection may carry,
/// instead of failing with the database's own error.
fn rows_per_statement<C>(
    conn: &mut C,
    batch_size: usize,
    binds_per_row: usize,
) -> Result<usize, HistoryError>
where
    C: LoadConnection,
    C::Backend: HistoryBackend,
{
    let limit = <C::Backend as HistoryBackend>::bind_limit(conn)?;
    let fit = (limit.saturating_sub(OWN_BINDS) / binds_per_row.max(1)).max(1);
    Ok(batch_size.clamp(1, fit))
}

/// Why MySQL refuses a multi-row insert of generated keys under the
/// interleaved `innodb_autoinc_lock_mode`: bulk create then sends one row
/// per statement.
pub(crate) const NOT_CONSECUTIVE: &str = "with innodb_autoinc_lock_mode = 2 the AUTO_INCREMENT \
    values of one multi-row INSERT need not be consecutive; bind the keys, or insert one row \
    per statement";

fn is_not_consecutive(err: &HistoryError) -> bool {
    matches!(err, HistoryError::UnknownKeys { detail, .. } if detail == NOT_CONSECUTIVE)
}

/// Per-row contexts must name every row, no more.
fn check_context_count(
    model: &'static str,
    contexts: Option<usize>,
    rows: usize,
) -> Result<(), HistoryError> {
    match contexts {
        Some(contexts) if contexts != rows => Err(HistoryError::ContextCount {
            model,
            contexts,
            rows,
        }),
        _ => Ok(()),
    }
}

/// A unique violation while inserting is the input conflicting with the
/// table (or itself): [`HistoryError::KeyExists`], which keeps the
/// database's error as its source.
fn conflict(spec: &HistoryTableSpec, err: diesel::result::Error) -> HistoryError {
    match err {
        err @ diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => HistoryError::KeyExists {
            model: spec.model,
            source: err,
        },
        other => HistoryError::Database(other),
    }
}

/// Rows of a bulk insert of model `M`, and how a backend takes them: one
/// multi-row `VALUES` statement per batch on PostgreSQL and MySQL.
///
/// SQLite's multi-row insert is built by Diesel only inside its own insert
/// statement, and run by it only on a `SqliteConnection`: there each batch
/// is Diesel's `insert_into(..).values(batch).returning(..)`, which is one
/// statement when the `Insertable` has no defaultable fields
/// (`#[diesel(treat_none_as_default_value = false)]`) and one per row
/// otherwise, as in Diesel itself. Through another connection type (a pool's
/// wrapper: pass `&mut *pooled`) SQLite inserts row by row.
///
/// Implemented for every `Insertable` struct; a bound on the row type rather
/// than on a slice keeps type inference at call sites simple.
pub trait InsertRows<'r, M: HistoricalRecords, DB: diesel::backend::Backend>: Sized {
    /// The `VALUES` clause of one statement.
    type Values: QueryFragment<DB>;
    /// The statements inserting `rows`, each with its number of rows.
    fn statements(rows: &'r [Self]) -> Vec<(Self::Values, usize)>;

    /// Whether [`insert_batch`](Self::insert_batch) runs on this connection.
    #[doc(hidden)]
    fn inserts_batches(conn: &dyn std::any::Any) -> bool {
        let _ = conn;
        false
    }

    /// Inserts one batch through Diesel's own statement, returning the rows
    /// as stored; `None` where [`inserts_batches`](Self::inserts_batches) is false.
    #[doc(hidden)]
    fn insert_batch(
        conn: &mut dyn std::any::Any,
        rows: &'r [Self],
    ) -> Option<diesel::QueryResult<Vec<M>>> {
        let _ = (conn, rows);
        None
    }
}

#[allow(unused_macros)] // unused when only the sqlite feature is on
macro_rules! multi_row_insert {
    ($backend:ty) => {
        impl<'r, N: 'r, M: HistoricalRecords> InsertRows<'r, M, $backend> for N
        where
            &'r [N]: Insertable<M::Table>,
            <&'r [N] as Insertable<M::Table>>::Values: QueryFragment<$backend>,
        {
            type Values = <&'r [N] as Insertable<M::Table>>::Values;

            fn statements(rows: &'r [Self]) -> Vec<(Self::Values, usize)> {
                vec![(rows.values(), rows.len())]
            }
        }
    };
}

#[cfg(feature = "postgres")]
multi_row_insert!(diesel::pg::Pg);
#[cfg(feature = "mysql")]
multi_row_insert!(diesel::mysql::Mysql);

#[cfg(feature = "sqlite")]
impl<'r, N: 'r, M> InsertRows<'r, M, diesel::sqlite::Sqlite> for N
where
    M: HistoricalRecords + Selectable<diesel::sqlite::Sqlite>,
    &'r N: Insertable<M::Table>,
    <&'r N as Insertable<M::Table>>::Values: QueryFragment<diesel::sqlite::Sqlite>,
    &'r [N]: Insertable<M::Table>,
    SelectBy<M, diesel::sqlite::Sqlite>: diesel::expression::SelectableExpression<M::Table>
        + diesel::expression::NonAggregate
        + diesel::query_builder::QueryId,
    diesel::dsl::Returning<
        diesel::dsl::Values<diesel::dsl::insert_into<M::Table>, &'r [N]>,
        SelectBy<M, diesel::sqlite::Sqlite>,
    >: diesel::query_dsl::LoadQuery<'r, diesel::SqliteConnection, M>,
{
    type Values = <&'r N as Insertable<M::Table>>::Values;

    fn statements(rows: &'r [Self]) -> Vec<(Self::Values, usize)> {
        rows.iter().map(|row| (row.values(), 1)).collect()
    }

    fn inserts_batches(conn: &dyn std::any::Any) -> bool {
        // Diesel's `RETURNING` names columns with their schema, which SQLite
        // refuses: a table in a schema takes the per-row statements.
        conn.is::<diesel::SqliteConnection>() && M::HISTORY_TABLE.source_schema.is_none()
    }

    fn insert_batch(
        conn: &mut dyn std::any::Any,
        rows: &'r [Self],
    ) -> Option<diesel::QueryResult<Vec<M>>> {
        let conn = conn.downcast_mut::<diesel::SqliteConnection>()?;
        Some(
            diesel::insert_into(M::Table::default())
                .values(rows)
                .returning(M::as_select())
                .load(conn),
        )
    }
}

/// Writes with history, for every model with `#[derive(HistoricalRecords)]`.
///
/// Each call is atomic (one statement, or one transaction; a savepoint inside
/// yours): the data write and its history are kept together or not at all.
///
/// What each backend costs, per call (`k` = key chunks of [`KEY_CHUNK`]
/// rows; `b` = batches; round trips on PostgreSQL and MySQL):
///
/// | write | PostgreSQL | SQLite | MySQL |
/// |---|---|---|---|
/// | create one row | 1 statement (CTE), no BEGIN/COMMIT | `INSERT .. RETURNING`, history, in a transaction | key left to `AUTO_INCREMENT`: `SELECT LAST_INSERT_ID(0), ..`, `INSERT`, `SELECT`, history; key bound: `INSERT`, `SELECT`, history; in a transaction |
/// | update or delete by key or filter | 1 statement (CTE), no BEGIN/COMMIT | update: `UPDATE .. RETURNING key`, history; delete: history, `DELETE` | `SELECT key .. FOR UPDATE`, `UPDATE`/`DELETE`, history; `save_with_history`: `UPDATE`, history |
/// | bulk create | 1 CTE per batch | Diesel's `INSERT .. RETURNING` of the batch + 1 history per batch: 2 per batch when the `Insertable` has no defaultable fields, else one `INSERT` per row (see [`InsertRows`]) | 4 per batch (3 with bound keys) |
/// | bulk update | key check `FOR UPDATE`, multi-row upsert, history per batch | the same (no `FOR UPDATE`) | the same |
///
/// A statement-per-write call runs without a transaction of its own when it
/// is alone (it is atomic by itself); inside a caller's transaction, or with
/// an after-record hook, it takes a savepoint or transaction as every other
/// write does. Per-row contexts add one history statement per distinct
/// context (the PostgreSQL CTE serves one shared context).
///
/// A bulk batch is cut to the rows whose binds one statement may carry (see
/// [`BulkOptions::batch_size`]); on SQLite the first bulk write of a process
/// reads that limit from the compile options, one statement more.
///
/// On MySQL every `.. FOR UPDATE` above is prepared afresh (one round trip
/// more, about 0.09 ms on loopback) rather than reused from Diesel's statement
/// cache, so that a deadlock victim can retry on the same connection.
///
/// ```
/// # use diesel::{connection::SimpleConnection, prelude::*};
/// # use history_diesel::{Dialect, HistoricalRecords};
/// # diesel::table! { orders (id) { id -> Integer, status -> Text, total -> Double } }
/// # #[derive(Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords)]
/// # #[diesel(table_name = orders)]
/// # pub struct Order { pub id: i32, pub status: String, pub total: f64 }
/// # #[derive(Insertable)]
/// # #[diesel(table_name = orders)]
/// # pub struct NewOrder<'a> { pub status: &'a str, pub total: f64 }
/// use history_diesel::prelude::*;
/// use history_diesel::{BulkOptions, HistoryError, HistoryType};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut conn = SqliteConnection::establish(":memory:")?;
/// # conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL, total DOUBLE NOT NULL);")?;
/// # conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)?;
/// let ctx = HistoryContext::new().user(7).reason("import");
/// let new = [NewOrder { status: "new", total: 10.0 }, NewOrder { status: "new", total: 20.0 }];
/// let orders = Order::bulk_create_with_history(&mut conn, &new, &ctx, BulkOptions::default())?;
///
/// // An update by filter records every row it touched, with the values the
/// // database computed.
/// let touched = Order::update_where_with_history(
///     &mut conn,
///     orders::status.eq("new"),
///     orders::total.eq(orders::total * 2.0),
///     &HistoryContext::new().user(8),
/// )?;
/// assert_eq!(touched, 2);
/// let totals: Vec<f64> = historical_orders::table
///     .filter(historical_orders::history_type.eq(HistoryType::Changed))
///     .order(historical_orders::id)
///     .select(historical_orders::total)
///     .load(&mut conn)?;
/// assert_eq!(totals, [20.0, 40.0]);
///
/// // A context that demands a user refuses the write, and nothing is kept.
/// let strict = HistoryContext::new().require_user();
/// let err = orders[0].delete_with_history(&mut conn, &strict).unwrap_err();
/// assert!(matches!(err, HistoryError::UserRequired { .. }));
/// assert_eq!(orders::table.count().get_result::<i64>(&mut conn)?, 2);
/// # Ok(())
/// # }
/// ```
pub trait WriteWithHistory: HistoricalRecords {
    /// Inserts one row and records a `+`. Returns the row as stored, with
    /// database defaults filled in.
    ///
    /// MySQL reports no keys of inserted rows, so there the key must be
    /// bound by `new` or left to `AUTO_INCREMENT` (a key given as an SQL
    /// expression is [`HistoryError::UnknownKeys`], before anything is
    /// written); the row is read back by it.
    fn create_with_history<C, N>(
        conn: &mut C,
        new: N,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<Self, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        N: Insertable<Self::Table>,
        N::Values: QueryFragment<C::Backend>,
    {
        let mut rows = <C::Backend as WriteBackend<Self>>::create(
            conn,
            vec![vec![(new.values(), 1)]],
            ctx,
            Utc::now(),
        )?;
        Ok(rows.remove(0))
    }

    /// Inserts many rows, `batch_size` per statement, and records a `+` for
    /// each; all in one transaction. A key that repeats or already exists
    /// fails the whole call with [`HistoryError::KeyExists`], per-row
    /// contexts that are not one per row with [`HistoryError::ContextCount`]
    /// (before any statement); either way nothing is written.
    ///
    /// On MySQL the rows of one statement either all bind their keys or all
    /// leave them to `AUTO_INCREMENT`, whose values one statement takes in
    /// steps of `auto_increment_increment`; a mix is
    /// [`HistoryError::UnknownKeys`] before anything is written. Under
    /// `innodb_autoinc_lock_mode = 2` (interleaved, MySQL 8's default), where
    /// the values of a multi-row insert need not be consecutive, rows whose
    /// keys are generated are inserted one per statement (each read back by
    /// its own `LAST_INSERT_ID()`), with one history statement per batch.
    fn bulk_create_with_history<'r, C, N, R>(
        conn: &mut C,
        rows: &'r [N],
        contexts: &R,
        options: BulkOptions,
    ) -> Result<Vec<Self>, HistoryError>
    where
        C: LoadConnection + 'static,
        C::Backend: WriteBackend<Self>,
        N: InsertRows<'r, Self, C::Backend>,
        R: RowContexts<UserIdOf<Self>> + ?Sized,
    {
        let spec = &Self::HISTORY_TABLE;
        check_context_count(spec.model, contexts.rows(), rows.len())?;
        let now = Utc::now();
        let binds_per_row = match N::statements(&rows[..rows.len().min(1)]).first() {
            Some((values, _)) => <C::Backend as HistoryBackend>::bind_count(values)?,
            None => 0,
        };
        let batch = rows_per_statement(conn, options.batch_size, binds_per_row)?;
        if N::inserts_batches(conn) {
            // Diesel's own multi-row `INSERT .. RETURNING`, then the history
            // of the batch.
            return atomic(conn, |conn| {
                let mut created = Vec::with_capacity(rows.len());
                for (i, chunk) in rows.chunks(batch).enumerate() {
                    let inserted = N::insert_batch(conn, chunk)
                        .expect("checked by inserts_batches")
                        .map_err(|err| conflict(spec, err))?;
                    if inserted.len() != chunk.len() {
                        return Err(HistoryError::ReadBack {
                            model: spec.model,
                            written: chunk.len(),
                            read: inserted.len(),
                        });
                    }
                    <C::Backend as WriteBackend<Self>>::record_created(
                        conn,
                        &inserted,
                        contexts,
                        i * batch,
                        now,
                    )?;
                    created.extend(inserted);
                }
                Ok(created)
            });
        }
        // One transaction for every batch, without a savepoint per batch.
        let batches = rows.chunks(batch).map(N::statements).collect();
        match <C::Backend as WriteBackend<Self>>::create(conn, batches, contexts, now) {
            // Refused before anything was written, and rolled back whole.
            Err(err) if batch > 1 && is_not_consecutive(&err) => {
                let one_per_statement = rows
                    .chunks(batch)
                    .map(|chunk| chunk.chunks(1).flat_map(N::statements).collect())
                    .collect();
                <C::Backend as WriteBackend<Self>>::create(conn, one_per_statement, contexts, now)
            }
            other => other,
        }
    }

    /// Writes many existing rows whole, `batch_size` per statement, and
    /// records a `~` for each; all in one transaction. Each batch is one
    /// multi-row upsert of rows that are locked and checked to exist first,
    /// with every field of the model (tracked or not). A key given twice is
    /// [`HistoryError::DuplicateKey`] and contexts that are not one per row
    /// [`HistoryError::ContextCount`] (both before any statement), a missing
    /// row [`HistoryError::NotFound`]; either way nothing is written.
    /// Returns the number of rows.
    fn bulk_update_with_history<C, R>(
        conn: &mut C,
        rows: &[Self],
        contexts: &R,
        options: BulkOptions,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        Self: crate::__private::RowValues<C::Backend>,
        Self::Id: Eq + std::hash::Hash,
        R: RowContexts<UserIdOf<Self>> + ?Sized,
    {
        check_context_count(Self::HISTORY_TABLE.model, contexts.rows(), rows.len())?;
        let now = Utc::now();
        // The upsert binds every field of the model.
        let binds_per_row = Self::HISTORY_TABLE.model_columns.len();
        let batch = rows_per_statement(conn, options.batch_size, binds_per_row)?;
        let mut keys = std::collections::HashSet::with_capacity(rows.len());
        if !rows.iter().all(|row| keys.insert(row.history_key())) {
            return Err(HistoryError::DuplicateKey {
                model: Self::HISTORY_TABLE.model,
            });
        }
        atomic(conn, |conn| {
            let mut updated = 0;
            for (i, chunk) in rows.chunks(batch).enumerate() {
                updated += <C::Backend as WriteBackend<Self>>::bulk_update(
                    conn,
                    chunk,
                    contexts,
                    i * batch,
                    now,
                )?;
            }
            Ok(updated)
        })
    }

    /// Saves this row's changes (its `AsChangeset`) and records a `~`.
    /// [`HistoryError::NotFound`] when the row does not exist.
    fn save_with_history<C>(
        &self,
        conn: &mut C,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<(), HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        for<'a> &'a Self: AsChangeset<Target = Self::Table>,
        for<'a> <&'a Self as AsChangeset>::Changeset: QueryFragment<C::Backend>,
    {
        match <C::Backend as WriteBackend<Self>>::update_key(
            conn,
            self.history_key(),
            self.as_changeset(),
            ctx,
        )? {
            0 => Err(HistoryError::NotFound {
                model: Self::HISTORY_TABLE.model,
            }),
            _ => Ok(()),
        }
    }

    /// Deletes this row and records a `-` with its last values.
    /// [`HistoryError::NotFound`] when the row does not exist.
    fn delete_with_history<C>(
        &self,
        conn: &mut C,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<(), HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
    {
        match <C::Backend as WriteBackend<Self>>::delete_key(conn, self.history_key(), ctx)? {
            0 => Err(HistoryError::NotFound {
                model: Self::HISTORY_TABLE.model,
            }),
            _ => Ok(()),
        }
    }

    /// Updates every row `filter` selects with `changes` and records a `~`
    /// for each, with the values after the update. Returns how many rows
    /// changed. Rows are captured by the statement that changes them (or
    /// locked first, on MySQL), so concurrent writers neither hide a row nor
    /// get one recorded twice. The filter's counterpart of
    /// [`save_with_history`](Self::save_with_history), as
    /// [`delete_where_with_history`](Self::delete_where_with_history) is of
    /// [`delete_with_history`](Self::delete_with_history).
    fn update_where_with_history<C, W, V>(
        conn: &mut C,
        filter: W,
        changes: V,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        W: Expression + AppearsOnTable<Self::Table> + QueryFragment<C::Backend>,
        W::SqlType: BoolOrNullableBool,
        V: AsChangeset<Target = Self::Table>,
        V::Changeset: QueryFragment<C::Backend>,
    {
        <C::Backend as WriteBackend<Self>>::update(conn, filter, changes.as_changeset(), ctx)
    }

    /// Deletes every row `filter` selects and records a `-` for each, with
    /// the values before the delete. Returns how many rows were deleted.
    fn delete_where_with_history<C, W>(
        conn: &mut C,
        filter: W,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        W: Expression + AppearsOnTable<Self::Table> + QueryFragment<C::Backend>,
        W::SqlType: BoolOrNullableBool,
    {
        <C::Backend as WriteBackend<Self>>::delete(conn, filter, ctx)
    }
}

impl<M: HistoricalRecords> WriteWithHistory for M {}
