//! Statements over the history table that write records: the history half
//! of every write, and the change-reason update.

use std::marker::PhantomData;
use std::net::IpAddr;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};
use history_core::sql_types::{ClientIp, HistoryDate, UtcTimestamp};

use super::{push_column, push_names, push_table, Direction, Follows, KeyIn};
use crate::columns::HistoryColumn;
use crate::context::HistoryMeta;
use crate::{columns, HistoryBackend, HistoryTableSpec, HistoryType};

/// `INSERT INTO history (...) SELECT ..., date, kind, user, reason[, client
/// ip, user agent, request id] FROM source WHERE filter`: the record is built
/// from what the database holds, never from Rust values. The context's values
/// (user, reason, where the change came from) are binds.
pub struct RecordHistory<'q, W, U> {
    pub(crate) spec: &'static HistoryTableSpec,
    /// Read the rows from this CTE (named like the source table) instead of
    /// the source table itself.
    pub(crate) from_cte: Option<&'static str>,
    pub(crate) filter: W,
    pub(crate) kind: HistoryType,
    pub(crate) meta: &'q HistoryMeta<U>,
}

/// The SQL type of `history_user_id`, carried separately so the node stays
/// generic over the user id's Rust type.
pub struct WithUserSqlType<N, UST>(pub(crate) N, pub(crate) PhantomData<UST>);

impl<DB, W, U, UST> QueryFragment<DB> for WithUserSqlType<RecordHistory<'_, W, U>, UST>
where
    DB: HistoryBackend
        + HasSqlType<HistoryDate>
        + HasSqlType<Text>
        + HasSqlType<UST>
        + HasSqlType<ClientIp>,
    UST: diesel::sql_types::SqlType + diesel::sql_types::SingleValue,
    W: QueryFragment<DB>,
    UtcTimestamp: ToSql<HistoryDate, DB>,
    Option<U>: ToSql<Nullable<UST>, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    Option<IpAddr>: ToSql<Nullable<ClientIp>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let node = &self.0;
        let tracked: Vec<&str> = node.spec.columns.iter().map(|c| c.name).collect();
        // The names and the values of the history columns come out of one
        // list, so no value can land in another column.
        let recorded: Vec<HistoryColumn> = node.spec.recorded_columns().collect();
        let names: Vec<&str> = recorded.iter().map(|column| column.name()).collect();
        out.push_sql("INSERT INTO ");
        push_table(&mut out, node.spec.history());
        out.push_sql(" (");
        push_names(&mut out, &tracked)?;
        out.push_sql(", ");
        push_names(&mut out, &names)?;
        out.push_sql(") SELECT ");
        push_names(&mut out, &tracked)?;
        for column in recorded {
            out.push_sql(", ");
            push_recorded_value(&mut out, node, column)?;
        }
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
            push_unchanged_guard(&mut out, node.spec)?;
        }
        Ok(())
    }
}

/// The value a record gets for one history column after the tracked ones.
fn push_recorded_value<'b, DB, W, U, UST>(
    out: &mut AstPass<'_, 'b, DB>,
    node: &'b RecordHistory<'_, W, U>,
    column: HistoryColumn,
) -> QueryResult<()>
where
    DB: HistoryBackend
        + HasSqlType<HistoryDate>
        + HasSqlType<Text>
        + HasSqlType<UST>
        + HasSqlType<ClientIp>,
    UST: diesel::sql_types::SqlType + diesel::sql_types::SingleValue,
    UtcTimestamp: ToSql<HistoryDate, DB>,
    Option<U>: ToSql<Nullable<UST>, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    Option<IpAddr>: ToSql<Nullable<ClientIp>, DB>,
{
    let meta = node.meta;
    match column {
        HistoryColumn::Date => push_record_date(out, node.spec, meta),
        // One of three fixed characters: written as a literal, not a bind.
        HistoryColumn::Type => {
            out.push_sql("'");
            out.push_sql(node.kind.as_str());
            out.push_sql("'");
            Ok(())
        }
        HistoryColumn::UserId => out.push_bind_param::<Nullable<UST>, Option<U>>(&meta.user),
        HistoryColumn::ChangeReason => {
            out.push_bind_param::<Nullable<Text>, Option<String>>(&meta.reason)
        }
        // Client input, so binds like the rest: NULL when the context has none.
        HistoryColumn::ClientIp => {
            out.push_bind_param::<Nullable<ClientIp>, Option<IpAddr>>(&meta.client_ip)
        }
        HistoryColumn::UserAgent => {
            out.push_bind_param::<Nullable<Text>, Option<String>>(&meta.user_agent)
        }
        HistoryColumn::RequestId => {
            out.push_bind_param::<Nullable<Text>, Option<String>>(&meta.request_id)
        }
        // Assigned by the database; never among the recorded columns.
        HistoryColumn::Id => Err(diesel::result::Error::QueryBuilderError(
            "history_id is assigned by the database, not recorded".into(),
        )),
    }
}

/// The `history_date` of a new record, read after the write holds its row
/// locks, so that the records of an object sort by (`history_date`,
/// `history_id`) in the order their writes committed.
///
/// - A clock date is the database's clock where it has a precise one
///   ([`Dialect::database_clock`](crate::Dialect::database_clock)): read
///   after the lock wait, it is later than every record committed before
///   (explicit dates in the future are refused), so it needs no look at the
///   history table. Such a look would also cost MySQL's `INSERT .. SELECT`
///   shared locks on the history table under REPEATABLE READ, and deadlocks
///   with other writers.
/// - A bound date (an explicit one, or SQLite's application clock) is moved
///   after the object's latest record when it is not already:
///   `GREATEST(date, COALESCE((SELECT next instant after MAX(history_date) ..), date))`.
///   Every writer of an object holds its row lock while it records, and a
///   bound date is written by a statement of its own after that lock, so the
///   latest record it sees is the last one committed.
fn push_record_date<'b, DB, U>(
    out: &mut AstPass<'_, 'b, DB>,
    spec: &HistoryTableSpec,
    meta: &'b HistoryMeta<U>,
) -> QueryResult<()>
where
    DB: HistoryBackend + HasSqlType<HistoryDate>,
    UtcTimestamp: ToSql<HistoryDate, DB>,
{
    let dialect = DB::DIALECT;
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
    push_column(out, LATEST, columns::HISTORY_DATE)?;
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
pub(crate) fn push_same_object<DB: Backend>(
    out: &mut AstPass<'_, '_, DB>,
    spec: &HistoryTableSpec,
    a: &str,
    b: &str,
) -> QueryResult<()> {
    for (i, key) in spec.primary_key.iter().enumerate() {
        if i > 0 {
            out.push_sql(" AND ");
        }
        push_column(out, a, key)?;
        out.push_sql(" = ");
        push_column(out, b, key)?;
    }
    Ok(())
}

/// The alias of the history table in the record date's subquery and in
/// the latest-record test.
const LATEST: &str = "history_latest";

/// `AND NOT EXISTS (latest record of the row with the same tracked values)`:
/// `skip_unchanged` as one more condition of the history INSERT, so it costs
/// no statement of its own. The latest record is the one no other record of
/// the row follows.
fn push_unchanged_guard<DB>(
    out: &mut AstPass<'_, '_, DB>,
    spec: &HistoryTableSpec,
) -> QueryResult<()>
where
    DB: HistoryBackend + HasSqlType<HistoryDate>,
    UtcTimestamp: ToSql<HistoryDate, DB>,
{
    out.push_sql(" AND NOT EXISTS (SELECT 1 FROM ");
    push_table(out, spec.history());
    out.push_sql(" AS ");
    out.push_identifier("last")?;
    out.push_sql(" WHERE ");
    push_same_object(out, spec, "last", spec.source_table)?;
    for tracked in spec.columns.iter().filter(|c| !spec.is_primary_key(c.name)) {
        out.push_sql(" AND ");
        push_column(out, "last", tracked.name)?;
        out.push_sql(DB::DIALECT.null_safe_eq());
        push_column(out, spec.source_table, tracked.name)?;
    }
    out.push_sql(" AND NOT EXISTS (SELECT 1 FROM ");
    push_table(out, spec.history());
    out.push_sql(" AS ");
    out.push_identifier("later")?;
    out.push_sql(" WHERE ");
    push_same_object(out, spec, "later", "last")?;
    out.push_sql(" AND ");
    Follows::rows("later", "last", Direction::OldestFirst).push(out)?;
    out.push_sql("))");
    Ok(())
}

impl<N, UST> QueryId for WithUserSqlType<N, UST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<N, UST, Conn> RunQueryDsl<Conn> for WithUserSqlType<N, UST> {}

/// The records one history statement wrote: the latest record of each key,
/// of its kind. The writer still holds the rows' locks, so no other record
/// of these objects can follow them.
pub struct RecordsOf<'q, Id, ST> {
    pub(crate) keys: KeyIn<'q, Id, ST>,
    pub(crate) kind: HistoryType,
}

impl<DB, Id, ST> QueryFragment<DB> for RecordsOf<'_, Id, ST>
where
    DB: HistoryBackend + HasSqlType<ST> + HasSqlType<HistoryDate>,
    Id: ToSql<ST, DB>,
    UtcTimestamp: ToSql<HistoryDate, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let spec = self.keys.spec;
        let table = spec.history_table;
        self.keys.walk_ast(out.reborrow())?;
        out.push_sql(" AND ");
        push_column(&mut out, table, columns::HISTORY_TYPE)?;
        out.push_sql(" = '");
        out.push_sql(self.kind.as_str());
        out.push_sql("' AND NOT EXISTS (SELECT 1 FROM ");
        push_table(&mut out, spec.history());
        out.push_sql(" AS ");
        out.push_identifier(LATEST)?;
        out.push_sql(" WHERE ");
        push_same_object(&mut out, spec, LATEST, table)?;
        out.push_sql(" AND ");
        Follows::rows(LATEST, table, Direction::OldestFirst).push(&mut out)?;
        out.push_sql(")");
        Ok(())
    }
}

/// `UPDATE history SET history_change_reason = ? WHERE history_id = ?`.
pub struct SetReason<'q, HId, HST> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) reason: Option<String>,
    pub(crate) history_id: &'q HId,
    pub(crate) history_id_type: PhantomData<HST>,
}

impl<HId, HST, DB> QueryFragment<DB> for SetReason<'_, HId, HST>
where
    DB: HistoryBackend + HasSqlType<HST> + HasSqlType<Text>,
    HId: ToSql<HST, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        push_table(&mut out, self.spec.history());
        out.push_sql(" SET ");
        out.push_identifier(columns::HISTORY_CHANGE_REASON)?;
        out.push_sql(" = ");
        out.push_bind_param::<Nullable<Text>, Option<String>>(&self.reason)?;
        out.push_sql(" WHERE ");
        out.push_identifier(columns::HISTORY_ID)?;
        out.push_sql(" = ");
        out.push_bind_param::<HST, HId>(self.history_id)
    }
}

impl<HId, HST> QueryId for SetReason<'_, HId, HST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<HId, HST, Conn> RunQueryDsl<Conn> for SetReason<'_, HId, HST> {}

impl<Id, ST> QueryId for RecordsOf<'_, Id, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}
