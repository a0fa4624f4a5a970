//! MySQL's read-back of the rows one `INSERT` created, by the keys the
//! insert bound or by the values `AUTO_INCREMENT` handed out (MySQL has no
//! `RETURNING`; see `backend/mysql.rs` for how the keys are found).

use std::marker::PhantomData;

use diesel::mysql::Mysql;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::HasSqlType;
use diesel::{QueryResult, RunQueryDsl};

use super::context::push_set_context;
use super::{push_column, push_table, ContextValues};
use crate::HistoryTableSpec;

/// Where the rows of one insert take their keys from.
#[derive(Debug)]
pub enum InsertedKeys {
    /// The input binds every key: these values, in row order.
    Bound(Vec<RawKey>),
    /// `AUTO_INCREMENT` gives every key: this many rows.
    Generated(usize),
}

/// A key value as the input bound it, sent again byte for byte (the key
/// column's SQL type is checked to match).
#[derive(Debug)]
pub struct RawKey(pub(crate) Vec<u8>);

impl<ST> ToSql<ST, Mysql> for RawKey {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
        std::io::Write::write_all(out, &self.0)?;
        Ok(IsNull::No)
    }
}

/// `SELECT selection FROM source ..`: the rows one insert created, in the
/// order it inserted them. By bound keys, each sent once (a batch may carry
/// as many keys as a statement carries binds): `INNER JOIN (SELECT ? AS key,
/// 0 AS position UNION ALL SELECT ?, 1 ..) ON .. ORDER BY position`. By
/// generated ones: the
/// values `AUTO_INCREMENT` handed out from `LAST_INSERT_ID()` on, one step of
/// `@@auto_increment_increment` apart, which are consecutive for a simple
/// insert outside the interleaved lock mode; never 0, which means this insert
/// generated none.
pub struct InsertedRows<'q, S, ST> {
    pub(crate) spec: &'static HistoryTableSpec,
    pub(crate) selection: S,
    pub(crate) keys: &'q InsertedKeys,
    pub(crate) key_type: PhantomData<ST>,
}

impl<S, ST> QueryFragment<Mysql> for InsertedRows<'_, S, ST>
where
    S: QueryFragment<Mysql>,
    Mysql: HasSqlType<ST>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        let spec = self.spec;
        let key = |out: &mut AstPass<'_, 'b, Mysql>| {
            push_column(out, spec.source_table, spec.primary_key[0])
        };
        out.push_sql("SELECT ");
        self.selection.walk_ast(out.reborrow())?;
        out.push_sql(" FROM ");
        push_table(&mut out, spec.source());
        match self.keys {
            InsertedKeys::Bound(ids) => {
                // Each key bound once, with its position in the input: a
                // join on the key, ordered by the position.
                out.push_sql(" INNER JOIN (");
                for (position, id) in ids.iter().enumerate() {
                    if position > 0 {
                        out.push_sql(" UNION ALL ");
                    }
                    out.push_sql("SELECT ");
                    out.push_bind_param::<ST, RawKey>(id)?;
                    if position == 0 {
                        out.push_sql(" AS ");
                        out.push_identifier(INPUT_KEY)?;
                        out.push_sql(", 0 AS ");
                        out.push_identifier(INPUT_POSITION)?;
                    } else {
                        out.push_sql(", ");
                        out.push_sql(&position.to_string());
                    }
                }
                out.push_sql(") AS ");
                out.push_identifier(INPUT)?;
                out.push_sql(" ON ");
                key(&mut out)?;
                out.push_sql(" = ");
                out.push_identifier(INPUT)?;
                out.push_sql(".");
                out.push_identifier(INPUT_KEY)?;
                out.push_sql(" ORDER BY ");
                out.push_identifier(INPUT)?;
                out.push_sql(".");
                out.push_identifier(INPUT_POSITION)?;
            }
            InsertedKeys::Generated(rows) => {
                out.push_sql(" WHERE ");
                key(&mut out)?;
                out.push_sql(" IN (LAST_INSERT_ID()");
                for step in 1..*rows {
                    out.push_sql(", LAST_INSERT_ID() + ");
                    out.push_sql(&step.to_string());
                    out.push_sql(" * @@auto_increment_increment");
                }
                out.push_sql(") AND LAST_INSERT_ID() <> 0 ORDER BY ");
                key(&mut out)?;
            }
        }
        Ok(())
    }
}

/// The derived table of bound keys and its columns.
const INPUT: &str = "history_inserted";
const INPUT_KEY: &str = "history_key";
const INPUT_POSITION: &str = "history_position";

impl<S, ST> QueryId for InsertedRows<'_, S, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<S, ST, Conn> RunQueryDsl<Conn> for InsertedRows<'_, S, ST> {}

/// `SET @history_.. = ?, .., @history_insert_id = LAST_INSERT_ID(0)`: a
/// write's context, and `LAST_INSERT_ID()` reset to 0 in the same
/// statement, for a single-row insert in trigger capture whose key
/// `AUTO_INCREMENT` gives ([`InsertedKeys::Generated`]): the reset makes an
/// insert that generates no value find nothing, and costs no round trip of
/// its own. (The insert needs no lock mode: one row's value is one value.)
pub struct SetContextResettingInsertId<'q>(pub(crate) &'q ContextValues);

impl QueryFragment<Mysql> for SetContextResettingInsertId<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        push_set_context(&mut out, self.0)?;
        out.push_sql(", @history_insert_id = LAST_INSERT_ID(0)");
        Ok(())
    }
}

// One fixed text: prepared once and cached by type.
impl QueryId for SetContextResettingInsertId<'_> {
    type QueryId = SetContextResettingInsertId<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}
