//! W1, single create: one row per call, each in its own transaction, and
//! the row as stored comes back. History: `create_with_history`. Plain: the
//! best plain Diesel way to insert and get the row back. On diesel-async,
//! the same calls of `history_diesel::asynchronous` and `diesel_async`.

use history_diesel::HistoryContext;

use super::{context, Run, WARMUP};
use crate::check;
use crate::conn::{for_connections, BenchConn};
use crate::inputs::{new_orders, Texts};
use crate::model::{plain_orders, NewOrder, NewPlainOrder, Order, PlainOrder};
use crate::report::Workload;
use crate::rng::Rng;
use crate::{schema, Result};

#[allow(async_fn_in_trait)] // the binary's own traits; no future leaves the thread
pub trait Ops: PlainCreate {
    async fn history_create(
        &mut self,
        new: &NewOrder<'_>,
        ctx: &HistoryContext<i64>,
    ) -> Result<Order>;
}

/// The plain side, whose statements depend on the backend.
#[allow(async_fn_in_trait)]
pub trait PlainCreate {
    async fn plain_create(&mut self, new: &NewPlainOrder<'_>) -> Result<PlainOrder>;
}

for_connections! {[sqlite, postgres, mysql, postgres_async, mysql_async] {
    impl Ops for Conn {
        async fn history_create(
            &mut self,
            new: &NewOrder<'_>,
            ctx: &HistoryContext<i64>,
        ) -> Result<Order> {
            Ok(wait!(Order::create_with_history(self, new, ctx))?)
        }
    }
}}

for_connections! {[sqlite, postgres, postgres_async] {
    impl PlainCreate for Conn {
        async fn plain_create(&mut self, new: &NewPlainOrder<'_>) -> Result<PlainOrder> {
            // INSERT .. RETURNING: one statement, no transaction needed.
            Ok(wait!(diesel::insert_into(plain_orders::table)
                .values(new)
                .returning(PlainOrder::as_returning())
                .get_result(self))?)
        }
    }
}}

for_connections! {[mysql, mysql_async] {
    impl PlainCreate for Conn {
        async fn plain_create(&mut self, new: &NewPlainOrder<'_>) -> Result<PlainOrder> {
            // No RETURNING on MySQL: insert, then read the row back by this
            // connection's LAST_INSERT_ID(). Two statements; no transaction is
            // needed, as the id belongs to the connection.
            wait!(diesel::insert_into(plain_orders::table).values(new).execute(self))?;
            Ok(wait!(plain_orders::table
                .filter(plain_orders::id.eq(diesel::dsl::sql::<diesel::sql_types::Integer>(
                    "LAST_INSERT_ID()",
                )))
                .select(PlainOrder::as_select())
                .get_result(self))?)
        }
    }
}}

pub async fn run<C: BenchConn + Ops>(run: &mut Run<'_, C>) -> Result<()> {
    schema::reset(run.conn).await?;
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
        async |conn: &mut C, i| {
            created.push(conn.history_create(&inputs[i], &ctx).await?);
            Ok(())
        },
        async |conn: &mut C, i| {
            plain_created.push(conn.plain_create(&plain_inputs[i]).await?);
            Ok(())
        },
    )
    .await?;

    // Both tables hold every row, each history row has its record, and both
    // systems returned the same rows (same keys, same values).
    let rows = (WARMUP + n) as i64;
    check::equals("W1 orders rows", run.conn.count("orders").await?, rows)?;
    check::equals(
        "W1 plain_orders rows",
        run.conn.count("plain_orders").await?,
        rows,
    )?;
    check::equals(
        "W1 history records",
        run.conn.count("historical_orders").await?,
        rows,
    )?;
    check::same(
        "W1 rows returned",
        check::rows(&created),
        check::rows(&plain_created),
    )
}
