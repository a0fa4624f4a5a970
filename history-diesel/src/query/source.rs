//! Statements over a model's own table (and the generic `SELECT`): the data
//! half of every write.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::serialize::ToSql;
use diesel::sql_types::HasSqlType;
use diesel::QueryResult;

use super::{dynamic_query_id, push_column, push_names, push_table};
use crate::{HistoryBackend, HistoryTableSpec, TableName};

/// The dialect's locking read (` FOR UPDATE`), kept out of Diesel's
/// prepared-statement cache where the dialect says a locking read must not
/// be run twice ([`Dialect::caches_locking_reads`](crate::Dialect::caches_locking_reads)).
/// Nothing where the backend has no row locks.
fn push_locking_read<DB: HistoryBackend>(out: &mut AstPass<'_, '_, DB>) {
    if let Some(lock) = DB::DIALECT.locking_read() {
        out.push_sql(lock);
        if !DB::DIALECT.caches_locking_reads() {
            out.unsafe_to_cache_prepared();
        }
    }
}

/// `"table"."key" IN (?, ...)`: rows by a single-column primary key, in the
/// source table or (for records) the history table.
pub struct KeyIn<'q, Id, ST> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) table: &'static str,
    pub(crate) ids: &'q [Id],
    pub(crate) sql_type: PhantomData<ST>,
}

impl<'q, Id, ST> KeyIn<'q, Id, ST> {
    /// Rows of the model's own table.
    pub(crate) fn source(spec: &'static HistoryTableSpec, ids: &'q [Id]) -> Self {
        KeyIn {
            spec,
            table: spec.source_table,
            ids,
            sql_type: PhantomData,
        }
    }

    /// Records of the history table.
    pub(crate) fn history(spec: &'static HistoryTableSpec, ids: &'q [Id]) -> Self {
        KeyIn {
            spec,
            table: spec.history_table,
            ids,
            sql_type: PhantomData,
        }
    }
}

impl<DB, Id, ST> QueryFragment<DB> for KeyIn<'_, Id, ST>
where
    DB: Backend + HasSqlType<ST>,
    Id: ToSql<ST, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        push_column(&mut out, self.table, self.spec.primary_key[0])?;
        out.push_sql(" IN (");
        for (i, id) in self.ids.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<ST, Id>(id)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// `UPDATE source SET changes WHERE filter [RETURNING key]`.
pub struct UpdateWhere<C, W> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) changes: C,
    pub(crate) filter: W,
    pub(crate) returning_key: bool,
}

impl<DB, C, W> QueryFragment<DB> for UpdateWhere<C, W>
where
    DB: HistoryBackend,
    C: QueryFragment<DB>,
    W: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        push_table(&mut out, self.spec.source());
        out.push_sql(" SET ");
        self.changes.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())?;
        if self.returning_key {
            out.push_sql(" RETURNING ");
            push_names(&mut out, self.spec.primary_key)?;
        }
        Ok(())
    }
}

/// `DELETE FROM source WHERE filter`.
pub struct DeleteWhere<W> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) filter: W,
}

impl<DB, W> QueryFragment<DB> for DeleteWhere<W>
where
    DB: HistoryBackend,
    W: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("DELETE FROM ");
        push_table(&mut out, self.spec.source());
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())
    }
}

/// `SELECT selection FROM table WHERE filter`, with the dialect's locking
/// read when `lock`.
pub struct SelectFrom<S, W> {
    pub(crate) from: TableName<'static>,
    pub(crate) selection: S,
    pub(crate) filter: W,
    pub(crate) lock: bool,
}

impl<DB, S, W> QueryFragment<DB> for SelectFrom<S, W>
where
    DB: HistoryBackend,
    S: QueryFragment<DB>,
    W: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        self.selection.walk_ast(out.reborrow())?;
        out.push_sql(" FROM ");
        push_table(&mut out, self.from);
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())?;
        if self.lock {
            push_locking_read(&mut out);
        }
        Ok(())
    }
}

impl<W> SelectFrom<super::Names, W> {
    /// `SELECT key FROM source WHERE filter`, locked when `lock`.
    pub(crate) fn keys(spec: &'static HistoryTableSpec, filter: W, lock: bool) -> Self {
        SelectFrom {
            from: spec.source(),
            selection: super::Names(spec.primary_key),
            filter,
            lock,
        }
    }
}

/// `INSERT INTO source values [RETURNING selection]`.
pub struct InsertValues<V, S> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) values: V,
    pub(crate) returning: Option<S>,
}

impl<DB, V, S> QueryFragment<DB> for InsertValues<V, S>
where
    DB: HistoryBackend,
    V: QueryFragment<DB>,
    S: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("INSERT INTO ");
        push_table(&mut out, self.spec.source());
        out.push_sql(" ");
        self.values.walk_ast(out.reborrow())?;
        if let Some(selection) = &self.returning {
            out.push_sql(" RETURNING ");
            selection.walk_ast(out.reborrow())?;
        }
        Ok(())
    }
}

/// `INSERT INTO source (every model column) VALUES (...), ...`, followed by
/// the dialect's upsert head when `update_existing`: a multi-row update of
/// rows known to exist.
pub struct Upsert<'q, M> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) rows: &'q [M],
    /// `false`: a plain multi-row `INSERT` of whole rows.
    pub(crate) update_existing: bool,
}

impl<DB, M> QueryFragment<DB> for Upsert<'_, M>
where
    DB: HistoryBackend,
    M: crate::__private::RowValues<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let dialect = DB::DIALECT;
        out.push_sql("INSERT INTO ");
        push_table(&mut out, self.spec.source());
        out.push_sql(" (");
        // Names and values from the derive's one list of the model's fields.
        M::push_row_names(&mut out)?;
        out.push_sql(") VALUES ");
        for (i, row) in self.rows.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            row.push_row_values(&mut out)?;
            out.push_sql(")");
        }
        if !self.update_existing {
            return Ok(());
        }
        let (head, after_keys) = dialect.upsert_head();
        out.push_sql(head);
        if let Some(after_keys) = after_keys {
            push_names(&mut out, self.spec.primary_key)?;
            out.push_sql(after_keys);
        }
        let (before, after) = dialect.upsert_value();
        let columns = self
            .spec
            .model_columns
            .iter()
            .filter(|c| !self.spec.is_primary_key(c));
        for (i, column) in columns.enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_identifier(column)?;
            out.push_sql(" = ");
            out.push_sql(before);
            out.push_identifier(column)?;
            out.push_sql(after);
        }
        Ok(())
    }
}

/// PostgreSQL's data write and its history records in one statement, a
/// data-modifying CTE:
/// `WITH write AS (<write> RETURNING *), records AS (INSERT INTO history
/// SELECT ... FROM write AS source) SELECT <selection> FROM write AS source`.
/// The records read the rows as the write left them (before a delete).
pub struct WithHistory<Wr, Rec, Sel> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) write: Wr,
    pub(crate) record: Rec,
    pub(crate) selection: Sel,
}

/// The name of the CTE holding the written rows.
pub(crate) const WRITE_CTE: &str = "history_write";

impl<DB, Wr, Rec, Sel> QueryFragment<DB> for WithHistory<Wr, Rec, Sel>
where
    DB: Backend,
    Wr: QueryFragment<DB>,
    Rec: QueryFragment<DB>,
    Sel: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("WITH ");
        out.push_identifier(WRITE_CTE)?;
        out.push_sql(" AS (");
        self.write.walk_ast(out.reborrow())?;
        out.push_sql(" RETURNING *), ");
        out.push_identifier("history_records")?;
        out.push_sql(" AS (");
        self.record.walk_ast(out.reborrow())?;
        out.push_sql(") SELECT ");
        self.selection.walk_ast(out.reborrow())?;
        out.push_sql(" FROM ");
        out.push_identifier(WRITE_CTE)?;
        out.push_sql(" AS ");
        out.push_identifier(self.spec.source_table)
    }
}

/// What a write reads back of the rows it wrote: the model's `Selectable`
/// selection, or for a table in a schema its columns by bare name.
///
/// Diesel qualifies a column with its table's schema (`"sales"."orders"."id"`),
/// which PostgreSQL cannot resolve against the write CTE (aliased by the bare
/// table name) and SQLite refuses in `RETURNING`. The bare names are the
/// model's columns in field order, which is what a derived `Selectable`
/// selects.
pub enum ReadBack<S> {
    Selection(S),
    Columns(&'static [&'static str]),
}

impl<S> ReadBack<S> {
    pub(crate) fn of(spec: &'static HistoryTableSpec, selection: S) -> Self {
        match spec.source_schema {
            Some(_) => ReadBack::Columns(spec.model_columns),
            None => ReadBack::Selection(selection),
        }
    }
}

impl<DB: Backend, S: QueryFragment<DB>> QueryFragment<DB> for ReadBack<S> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        match self {
            ReadBack::Selection(selection) => selection.walk_ast(out),
            ReadBack::Columns(columns) => push_names(&mut out, columns),
        }
    }
}

dynamic_query_id!(
    UpdateWhere<C, W>,
    DeleteWhere<W>,
    SelectFrom<S, W>,
    InsertValues<V, S>,
    WithHistory<Wr, Rec, Sel>,
    ReadBack<S>,
);

impl<M> diesel::query_builder::QueryId for Upsert<'_, M> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<M, Conn> diesel::RunQueryDsl<Conn> for Upsert<'_, M> {}

impl<Id, ST> diesel::query_builder::QueryId for KeyIn<'_, Id, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}
