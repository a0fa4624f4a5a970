//! The statements of the write path, as Diesel query nodes.
//!
//! Table and column names come from the model's [`HistoryTableSpec`]; the
//! user's filters, changesets and insert values are Diesel fragments walked
//! in place, so they bind their values as usual. Writing the SQL here (rather
//! than through Diesel's typed builders) lets one node serve every backend,
//! including clauses such as `RETURNING` that Diesel's types offer only on
//! some of them; each backend's strategy picks the nodes it supports.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};
use history_core::sql_types::{HistoryDate, UtcTimestamp};

use crate::context::HistoryMeta;
use crate::read::sql::column;
use crate::{columns, Dialect, HistoryBackend, HistoryTableSpec, HistoryType, TableName};

/// Nodes render fresh SQL each time; none is cached as a prepared statement
/// by type (their text depends on the spec and the input's length).
macro_rules! dynamic_query_id {
    ($($node:ident<$($param:ident),*>),* $(,)?) => {$(
        impl<$($param),*> QueryId for $node<$($param),*> {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }
        impl<$($param,)* Conn> RunQueryDsl<Conn> for $node<$($param),*> {}
    )*};
}

/// A table in its schema, quoted by the dialect (`"sales"."orders"`): how
/// every statement names the source and the history table.
pub(crate) fn push_table<DB: HistoryBackend>(out: &mut AstPass<'_, '_, DB>, table: TableName<'_>) {
    out.push_sql(&DB::DIALECT.quote_table(table));
}

fn push_names<DB: Backend>(out: &mut AstPass<'_, '_, DB>, names: &[&str]) -> QueryResult<()> {
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push_sql(", ");
        }
        out.push_identifier(name)?;
    }
    Ok(())
}

/// ` FOR UPDATE`, keeping the statement out of Diesel's prepared-statement
/// cache on MySQL.
///
/// A lock error (deadlock, lock wait timeout) reaches a MySQL client after the
/// result's column metadata, while Diesel stores the rows. libmariadb then
/// leaves the prepared statement half-read, and the next execution of that
/// same statement waits forever for rows the server never sends. Preparing
/// locking reads afresh costs a round trip and lets a caller retry a deadlock
/// victim, as MySQL asks.
fn push_for_update<DB: HistoryBackend>(out: &mut AstPass<'_, '_, DB>) {
    out.push_sql(" FOR UPDATE");
    if DB::DIALECT == Dialect::Mysql {
        out.unsafe_to_cache_prepared();
    }
}

fn tracked_names(spec: &HistoryTableSpec) -> Vec<&'static str> {
    spec.columns.iter().map(|column| column.name).collect()
}

/// `"table"."key" IN (?, ...)`: rows by a single-column primary key, in the
/// source table or (for records) the history table.
pub(crate) struct KeyIn<'q, Id, ST> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) table: &'static str,
    pub(crate) ids: &'q [Id],
    pub(crate) sql_type: PhantomData<ST>,
}

impl<DB, Id, ST> QueryFragment<DB> for KeyIn<'_, Id, ST>
where
    DB: Backend + HasSqlType<ST>,
    Id: ToSql<ST, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_identifier(self.table)?;
        out.push_sql(".");
        out.push_identifier(self.spec.primary_key[0])?;
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

/// `INSERT INTO history (...) SELECT ..., date, kind, user, reason FROM source WHERE filter`:
/// the record is built from what the database holds, never from Rust values.
pub(crate) struct RecordHistory<'q, W, U> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) dialect: Dialect,
    /// Read the rows from this CTE (named like the source table) instead of
    /// the source table itself.
    pub(crate) from_cte: Option<&'static str>,
    pub(crate) filter: W,
    pub(crate) kind: HistoryType,
    pub(crate) meta: &'q HistoryMeta<U>,
}

/// The SQL type of `history_user_id`, carried separately so the node stays
/// generic over the user id's Rust type.
pub(crate) struct WithUserSqlType<N, UST>(pub(crate) N, pub(crate) PhantomData<UST>);

impl<DB, W, U, UST> QueryFragment<DB> for WithUserSqlType<RecordHistory<'_, W, U>, UST>
where
    DB: HistoryBackend + HasSqlType<HistoryDate> + HasSqlType<Text> + HasSqlType<UST>,
    UST: diesel::sql_types::SqlType + diesel::sql_types::SingleValue,
    W: QueryFragment<DB>,
    UtcTimestamp: ToSql<HistoryDate, DB>,
    Option<U>: ToSql<Nullable<UST>, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let node = &self.0;
        let tracked = tracked_names(node.spec);
        out.push_sql("INSERT INTO ");
        push_table(&mut out, node.spec.history());
        out.push_sql(" (");
        push_names(&mut out, &tracked)?;
        out.push_sql(", ");
        push_names(&mut out, &columns::RESERVED[1..])?;
        out.push_sql(") SELECT ");
        push_names(&mut out, &tracked)?;
        out.push_sql(", ");
        push_record_date(&mut out, node.spec, node.dialect, node.meta)?;
        // One of three fixed characters: written as a literal, not a bind.
        out.push_sql(", '");
        out.push_sql(node.kind.as_str());
        out.push_sql("', ");
        out.push_bind_param::<Nullable<UST>, Option<U>>(&node.meta.user)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, Option<String>>(&node.meta.reason)?;
        out.push_sql(" FROM ");
        match node.from_cte {
            // Named like the source table, which the guard below qualifies with.
            Some(cte) => {
                out.push_identifier(cte)?;
                out.push_sql(" AS ");
                out.push_identifier(node.spec.source_table)?;
            }
            None => push_table(&mut out, node.spec.source()),
        }
        out.push_sql(" WHERE (");
        node.filter.walk_ast(out.reborrow())?;
        out.push_sql(")");
        if node.kind == HistoryType::Changed && node.spec.skip_unchanged {
            push_unchanged_guard(&mut out, node.spec, node.dialect)?;
        }
        Ok(())
    }
}

/// The `history_date` of a new record, read after the write holds its row
/// locks, so that the records of an object sort by (`history_date`,
/// `history_id`) in the order their writes committed.
///
/// - A clock date is the database's clock where it has a precise one
///   ([`Dialect::database_clock`]): read after the lock wait, it is later
///   than every record committed before (explicit dates in the future are
///   refused), so it needs no look at the history table. Such a look would
///   also cost MySQL's `INSERT .. SELECT` shared locks on the history table
///   under REPEATABLE READ, and deadlocks with other writers.
/// - A bound date (an explicit one, or SQLite's application clock) is moved
///   after the object's latest record when it is not already:
///   `GREATEST(date, COALESCE((SELECT next instant after MAX(history_date) ..), date))`.
///   Every writer of an object holds its row lock while it records, and a
///   bound date is written by a statement of its own after that lock, so the
///   latest record it sees is the last one committed.
fn push_record_date<'b, DB, U>(
    out: &mut AstPass<'_, 'b, DB>,
    spec: &HistoryTableSpec,
    dialect: Dialect,
    meta: &'b HistoryMeta<U>,
) -> QueryResult<()>
where
    DB: HistoryBackend + HasSqlType<HistoryDate>,
    UtcTimestamp: ToSql<HistoryDate, DB>,
{
    if let Some(clock) = dialect.database_clock().filter(|_| !meta.explicit) {
        out.push_sql(clock);
        return Ok(());
    }
    let date = |out: &mut AstPass<'_, 'b, DB>| {
        out.push_bind_param::<HistoryDate, UtcTimestamp>(&meta.date)
    };
    let (before, after) = dialect.after_instant();
    out.push_sql(dialect.greatest());
    out.push_sql("(");
    date(out)?;
    out.push_sql(", COALESCE((SELECT ");
    out.push_sql(before);
    out.push_sql("MAX(");
    column(out, LATEST, columns::HISTORY_DATE)?;
    out.push_sql(")");
    out.push_sql(after);
    out.push_sql(" FROM ");
    push_table(out, spec.history());
    out.push_sql(" AS ");
    out.push_identifier(LATEST)?;
    out.push_sql(" WHERE ");
    push_same_object(out, spec, LATEST, spec.source_table)?;
    out.push_sql("), ");
    date(out)?;
    out.push_sql("))");
    Ok(())
}

/// `"a"."key" = "b"."key"` for every primary-key column, joined by `AND`:
/// rows of `a` and `b` (tables or aliases) of the same object.
fn push_same_object<DB: Backend>(
    out: &mut AstPass<'_, '_, DB>,
    spec: &HistoryTableSpec,
    a: &str,
    b: &str,
) -> QueryResult<()> {
    for (i, key) in spec.primary_key.iter().enumerate() {
        if i > 0 {
            out.push_sql(" AND ");
        }
        column(out, a, key)?;
        out.push_sql(" = ");
        column(out, b, key)?;
    }
    Ok(())
}

/// The alias of the history table in the record date's subquery.
const LATEST: &str = "history_latest";

/// `AND NOT EXISTS (latest record of the row with the same tracked values)`:
/// `skip_unchanged` as one more condition of the history INSERT, so it costs
/// no statement of its own. The latest record is the one no other record of
/// the row follows by (`history_date`, `history_id`).
fn push_unchanged_guard<DB: HistoryBackend>(
    out: &mut AstPass<'_, '_, DB>,
    spec: &HistoryTableSpec,
    dialect: Dialect,
) -> QueryResult<()> {
    let null_safe_eq = match dialect {
        Dialect::Postgres => " IS NOT DISTINCT FROM ",
        Dialect::Sqlite => " IS ",
        Dialect::Mysql => " <=> ",
    };
    out.push_sql(" AND NOT EXISTS (SELECT 1 FROM ");
    push_table(out, spec.history());
    out.push_sql(" AS ");
    out.push_identifier("last")?;
    out.push_sql(" WHERE ");
    push_same_object(out, spec, "last", spec.source_table)?;
    for tracked in spec.columns.iter().filter(|c| !spec.is_primary_key(c.name)) {
        out.push_sql(" AND ");
        column(out, "last", tracked.name)?;
        out.push_sql(null_safe_eq);
        column(out, spec.source_table, tracked.name)?;
    }
    out.push_sql(" AND NOT EXISTS (SELECT 1 FROM ");
    push_table(out, spec.history());
    out.push_sql(" AS ");
    out.push_identifier("later")?;
    out.push_sql(" WHERE ");
    push_same_object(out, spec, "later", "last")?;
    out.push_sql(" AND ");
    crate::read::sql::push_follows(
        out,
        "later",
        "last",
        crate::read::sql::Direction::OldestFirst,
    )?;
    out.push_sql("))");
    Ok(())
}

impl<N, UST> QueryId for WithUserSqlType<N, UST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<N, UST, Conn> RunQueryDsl<Conn> for WithUserSqlType<N, UST> {}

/// `UPDATE source SET changes WHERE filter [RETURNING key]`.
pub(crate) struct UpdateWhere<C, W> {
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
pub(crate) struct DeleteWhere<W> {
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

/// `SELECT key FROM source WHERE filter [FOR UPDATE]`.
pub(crate) struct SelectKeys<W> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) filter: W,
    pub(crate) for_update: bool,
}

impl<DB, W> QueryFragment<DB> for SelectKeys<W>
where
    DB: HistoryBackend,
    W: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        push_names(&mut out, self.spec.primary_key)?;
        out.push_sql(" FROM ");
        push_table(&mut out, self.spec.source());
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())?;
        if self.for_update {
            push_for_update(&mut out);
        }
        Ok(())
    }
}

/// `INSERT INTO source values [RETURNING selection]`.
pub(crate) struct InsertValues<V, S> {
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

/// `INSERT INTO source (every model column) VALUES (...), ...`, with
/// `ON CONFLICT (key) DO UPDATE SET ...` (MySQL: `ON DUPLICATE KEY UPDATE`)
/// when `update_existing`: a multi-row update of rows known to exist.
pub(crate) struct Upsert<'q, M> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) dialect: Dialect,
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
        out.push_sql("INSERT INTO ");
        push_table(&mut out, self.spec.source());
        out.push_sql(" (");
        push_names(&mut out, self.spec.model_columns)?;
        out.push_sql(") VALUES ");
        for (i, row) in self.rows.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            row.push_row_values(&mut out)?;
            out.push_sql(")");
        }
        if !self.update_existing {
            return Ok(());
        }
        if self.dialect == Dialect::Mysql {
            out.push_sql(" ON DUPLICATE KEY UPDATE ");
        } else {
            out.push_sql(" ON CONFLICT (");
            push_names(&mut out, self.spec.primary_key)?;
            out.push_sql(") DO UPDATE SET ");
        }
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
            if self.dialect == Dialect::Mysql {
                out.push_sql(" = VALUES(");
                out.push_identifier(column)?;
                out.push_sql(")");
            } else {
                out.push_sql(" = ");
                out.push_identifier("excluded")?;
                out.push_sql(".");
                out.push_identifier(column)?;
            }
        }
        Ok(())
    }
}

/// `SELECT selection FROM table WHERE filter`.
pub(crate) struct SelectWhere<S, W> {
    pub(crate) from: TableName<'static>,
    pub(crate) selection: S,
    pub(crate) filter: W,
}

impl<DB, S, W> QueryFragment<DB> for SelectWhere<S, W>
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
        self.filter.walk_ast(out.reborrow())
    }
}

/// `<select> FOR UPDATE`: the rows read stay locked until the transaction ends.
pub(crate) struct ForUpdate<N>(pub(crate) N);

impl<DB: HistoryBackend, N: QueryFragment<DB>> QueryFragment<DB> for ForUpdate<N> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out.reborrow())?;
        push_for_update(&mut out);
        Ok(())
    }
}

/// The records one history statement wrote: the latest record of each key,
/// of its kind. The writer still holds the rows' locks, so no other record
/// of these objects can follow them.
pub(crate) struct RecordsOf<'q, Id, ST> {
    pub(crate) keys: KeyIn<'q, Id, ST>,
    pub(crate) kind: HistoryType,
}

impl<DB, Id, ST> QueryFragment<DB> for RecordsOf<'_, Id, ST>
where
    DB: HistoryBackend + HasSqlType<ST>,
    Id: ToSql<ST, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let spec = self.keys.spec;
        let table = spec.history_table;
        self.keys.walk_ast(out.reborrow())?;
        out.push_sql(" AND ");
        column(&mut out, table, columns::HISTORY_TYPE)?;
        out.push_sql(" = '");
        out.push_sql(self.kind.as_str());
        out.push_sql("' AND NOT EXISTS (SELECT 1 FROM ");
        push_table(&mut out, spec.history());
        out.push_sql(" AS ");
        out.push_identifier(LATEST)?;
        out.push_sql(" WHERE ");
        push_same_object(&mut out, spec, LATEST, table)?;
        out.push_sql(" AND ");
        crate::read::sql::push_follows(
            &mut out,
            LATEST,
            table,
            crate::read::sql::Direction::OldestFirst,
        )?;
        out.push_sql(")");
        Ok(())
    }
}

/// A statement of fixed text.
pub(crate) struct Fixed(pub(crate) &'static str);

impl<DB: Backend> QueryFragment<DB> for Fixed {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.0);
        Ok(())
    }
}

dynamic_query_id!(UpdateWhere<C, W>, DeleteWhere<W>, SelectKeys<W>, InsertValues<V, S>, SelectWhere<S, W>, Fixed<>);

/// PostgreSQL: a data write and its history records in one statement, a
/// data-modifying CTE:
/// `WITH write AS (<write> RETURNING *), records AS (INSERT INTO history
/// SELECT ... FROM write AS source) SELECT <selection> FROM write AS source`.
/// The records read the rows as the write left them (before a delete).
pub(crate) struct WithHistory<Wr, Rec, Sel> {
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

impl<M> QueryId for Upsert<'_, M> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<M, Conn> RunQueryDsl<Conn> for Upsert<'_, M> {}

/// What a write reads back of the rows it wrote: the model's `Selectable`
/// selection, or for a table in a schema its columns by bare name.
///
/// Diesel qualifies a column with its table's schema (`"sales"."orders"."id"`),
/// which PostgreSQL cannot resolve against the write CTE (aliased by the bare
/// table name) and SQLite refuses in `RETURNING`. The bare names are the
/// model's columns in field order, which is what a derived `Selectable`
/// selects.
pub(crate) enum ReadBack<S> {
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

/// A list of column names.
pub(crate) struct Names(pub(crate) &'static [&'static str]);

impl<DB: Backend> QueryFragment<DB> for Names {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        push_names(&mut out, self.0)
    }
}

dynamic_query_id!(WithHistory<Wr, Rec, Sel>, Names<>, ForUpdate<N>, ReadBack<S>);

/// A node loaded as rows of `ST`.
pub(crate) struct Rows<N, ST>(pub(crate) N, pub(crate) PhantomData<ST>);

impl<N, ST> Rows<N, ST> {
    pub(crate) fn of(node: N) -> Self {
        Rows(node, PhantomData)
    }
}

impl<N, ST> Query for Rows<N, ST> {
    type SqlType = ST;
}

impl<DB: Backend, N: QueryFragment<DB>, ST> QueryFragment<DB> for Rows<N, ST> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

// The node's own identity: rows of a statically known statement are cached
// by type, the others by their SQL text.
impl<N: QueryId, ST> QueryId for Rows<N, ST> {
    type QueryId = N::QueryId;
    const HAS_STATIC_QUERY_ID: bool = N::HAS_STATIC_QUERY_ID;
}

impl<N, ST, Conn> RunQueryDsl<Conn> for Rows<N, ST> {}
