//! W1, single create: one row per call, each in its own transaction, and
//! the row as stored comes back. History: `create_with_history`. Plain: the
//! best plain Diesel way to insert and get the row back.

use diesel::prelude::*;
use history_diesel::{HistoryContext, WriteWithHistory};

use super::{context, Run, WARMUP};
use crate::check;
use crate::conn::{for_connections, BenchConn};
use crate::inputs::{new_orders, Texts};
use crate::model::{plain_orders, NewOrder, NewPlainOrder, Order, PlainOrder};
use crate::report::Workload;
use crate::rng::Rng;
use crate::{schema, Result};

pub trait Ops {
    fn history_create(&mut self, new: &NewOrder<'_>, ctx: &HistoryContext<i64>) -> Result<Order>;
    fn plain_create(&mut self, new: &NewPlainOrder<'_>) -> Result<PlainOrder>;
}

for_connections! {[sqlite, postgres] {
    impl Ops for Conn {
        fn history_create(&mut self, new: &NewOrder<'_>, ctx: &HistoryContext<i64>) -> Result<Order> {
            Ok(Order::create_with_history(self, new, ctx)?)
        }

        fn plain_create(&mut self, new: &NewPlainOrder<'_>) -> Result<PlainOrder> {
            // INSERT .. RETURNING: one statement, no transaction needed.
            Ok(diesel::insert_into(plain_orders::table)
                .values(new)
                .returning(PlainOrder::as_returning())
                .get_result(self)?)
        }
    }
}}

for_connections! {[mysql] {
    impl Ops for Conn {
        fn history_create(&mut self, new: &NewOrder<'_>, ctx: &HistoryContext<i64>) -> Result<Order> {
            Ok(Order::create_with_history(self, new, ctx)?)
        }

        fn plain_create(&mut self, new: &NewPlainOrder<'_>) -> Result<PlainOrder> {
            // No RETURNING on MySQL: insert, then read the row back by this
            // connection's LAST_INSERT_ID(). Two statements; no transaction is
            // needed, as the id belongs to the connection.
            diesel::insert_into(plain_orders::table).values(new).execute(self)?;
            Ok(plain_orders::table
                .filter(plain_orders::id.eq(diesel::dsl::sql::<diesel::sql_types::Integer>(
                    "LAST_INSERT_ID()",
                )))
                .select(PlainOrder::as_select())
                .get_result(self)?)
        }
    }
}}

pub fn run<C: BenchConn + Ops>(run: &mut Run<'_, C>) -> Result<()> {
    schema::reset(run.conn)?;
    let n = run.config.ops;
    let texts = Texts::default();
    let inputs = new_orders(&texts, &mut Rng::new(run.config.seed), WARMUP + n);
    let plain_inputs: Vec<NewPlainOrder<'_>> = inputs.iter().map(|&new| new.into()).collect();
    let ctx = context();
    let mut created = Vec::with_capacity(inputs.len());
    let mut plain_created = Vec::with_capacity(inputs.len());
    run.per_op(
        Workload::W1,
        n,
        |conn, i| {
            created.push(conn.history_create(&inputs[i], &ctx)?);
            Ok(())
        },
        |conn, i| {
            plain_created.push(conn.plain_create(&plain_inputs[i])?);
            Ok(())
        },
    )?;

    // Both tables hold every row, each history row has its record, and both
    // systems returned the same rows (same keys, same values).
    let rows = (WARMUP + n) as i64;
    check::equals("W1 orders rows", run.conn.count("orders")?, rows)?;
    check::equals(
        "W1 plain_orders rows",
        run.conn.count("plain_orders")?,
        rows,
    )?;
    check::equals(
        "W1 history records",
        run.conn.count("historical_orders")?,
        rows,
    )?;
    check::same(
        "W1 rows returned",
        check::rows(&created),
        check::rows(&plain_created),
    )
}
