//! The grammar: every SQL statement and expression this crate sends, as
//! Diesel query nodes shared by reads and writes.
//!
//! A node renders one phrase or statement. Table and column names come from
//! the model's [`HistoryTableSpec`](crate::HistoryTableSpec); a backend's
//! spelling of a phrase (null-safe equality, the upsert head, row locks)
//! comes from its [`Dialect`](crate::Dialect), through
//! [`HistoryBackend::DIALECT`](crate::HistoryBackend::DIALECT). The user's
//! filters, changesets and insert values are Diesel fragments walked in
//! place, so they bind their values as usual.
//!
//! A node never decides *what* to send: which statements run, and in which
//! order, is each backend's sequence (`crate::backend`). Writing the SQL
//! here, rather than through Diesel's typed builders, lets one node serve
//! every backend, including clauses such as `RETURNING` that Diesel's types
//! offer only on some of them.

#[cfg(feature = "postgres")]
mod arrays;
mod context;
#[cfg(feature = "mysql")]
mod inserted;
mod names;
mod order;
mod page;
mod read;
mod record;
mod source;
#[cfg(feature = "sqlite")]
mod values;

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

#[cfg(feature = "postgres")]
pub(crate) use self::arrays::PgRows;
pub(crate) use self::context::{
    ClearContext, ContextRow, ContextValues, ContextWrite, ReadContext, SetContext,
};
#[cfg(feature = "mysql")]
pub(crate) use self::inserted::{InsertedKeys, InsertedRows, RawKey, SetContextResettingInsertId};
pub(crate) use self::names::{push_column, push_names, push_table, Names};
pub(crate) use self::order::{Direction, Follows, Position};
#[cfg(feature = "browser")]
pub(crate) use self::page::PageStart;
pub(crate) use self::page::{CountRecords, PageFilter, RecordPage};
pub(crate) use self::read::{up_to, Neighbour, OneRecord};
pub use self::read::{NewestFirst, ObjectIs, StateAt};
pub(crate) use self::record::{RecordHistory, RecordsOf, SetReason, WithUserSqlType};
pub(crate) use self::source::{
    DeleteWhere, InsertValues, KeyIn, ReadBack, SelectFrom, UpdateWhere, Upsert, WithHistory,
    WRITE_CTE,
};
#[cfg(feature = "sqlite")]
pub(crate) use self::values::{ColumnNames, SqliteRows};

/// Nodes whose text depends on their input (a spec, a list's length): none
/// is cached as a prepared statement by type; Diesel caches by text those
/// that allow it.
macro_rules! dynamic_query_id {
    ($($node:ident $(<$($param:ident),*>)?),* $(,)?) => {$(
        impl$(<$($param),*>)? diesel::query_builder::QueryId for $node$(<$($param),*>)? {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }
        impl<$($($param,)*)? Conn> diesel::RunQueryDsl<Conn> for $node$(<$($param),*>)? {}
    )*};
}
pub(crate) use dynamic_query_id;

/// A statement of fixed text.
pub struct Fixed(pub(crate) &'static str);

impl<DB: Backend> QueryFragment<DB> for Fixed {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.0);
        Ok(())
    }
}

dynamic_query_id!(Fixed);

/// A node loaded as rows of `ST`.
pub struct Rows<N, ST>(pub(crate) N, PhantomData<ST>);

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
