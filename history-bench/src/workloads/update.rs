//! W2, single update: change the status and total of one existing row per
//! call, each in its own transaction. History: `update_with_history` by key.
//! Plain: `diesel::update(..).set(..).execute`.

use diesel::prelude::*;
use history_diesel::{HistoryContext, WriteWithHistory};

use super::{context, Run, WARMUP};
use crate::check;
use crate::conn::{for_connections, BenchConn};
use crate::inputs::{new_orders, total, Texts, STATUSES};
use crate::model::{orders, plain_orders, NewPlainOrder, Order, PlainOrder};
use crate::report::Workload;
use crate::rng::Rng;
use crate::{schema, Result};

pub trait Ops {
    /// Rows updated.
    fn history_update(&mut self, change: &Change, ctx: &HistoryContext<i64>) -> Result<usize>;
    fn plain_update(&mut self, change: &Change) -> Result<usize>;
    /// Every row of `orders` and of `plain_orders`, for the final check.
    fn both_tables(&mut self) -> Result<(Vec<Order>, Vec<PlainOrder>)>;
}

/// One update: the row and its new values.
pub struct Change {
    pub id: i32,
    pub status: &'static str,
    pub total: f64,
}

for_connections! {{
    impl Ops for Conn {
        fn history_update(&mut self, change: &Change, ctx: &HistoryContext<i64>) -> Result<usize> {
            Ok(Order::update_with_history(
                self,
                orders::id.eq(change.id),
                (orders::status.eq(change.status), orders::total.eq(change.total)),
                ctx,
            )?)
        }

        fn plain_update(&mut self, change: &Change) -> Result<usize> {
            Ok(diesel::update(plain_orders::table.find(change.id))
                .set((plain_orders::status.eq(change.status), plain_orders::total.eq(change.total)))
                .execute(self)?)
        }

        fn both_tables(&mut self) -> Result<(Vec<Order>, Vec<PlainOrder>)> {
            let live = orders::table.select(Order::as_select()).load(self)?;
            let plain = plain_orders::table.select(PlainOrder::as_select()).load(self)?;
            Ok((live, plain))
        }
    }
}}

pub fn run<C: BenchConn + Ops + super::bulk::Ops>(run: &mut Run<'_, C>) -> Result<()> {
    schema::reset(run.conn)?;
    let n = run.config.ops;
    // The rows to update: as many as updates, created in both tables first
    // (with their creation records on the history side).
    let texts = Texts::default();
    let mut rng = Rng::new(run.config.seed ^ 2);
    let rows = new_orders(&texts, &mut rng, n);
    let plain_rows: Vec<NewPlainOrder<'_>> = rows.iter().map(|&new| new.into()).collect();
    let ctx = context();
    let batch = run.config.batch;
    run.conn.history_bulk_create(&rows, &ctx, batch)?;
    run.conn.plain_bulk_create(&plain_rows, batch)?;

    let changes: Vec<Change> = (0..WARMUP + n)
        .map(|_| Change {
            id: 1 + rng.index(n) as i32,
            status: STATUSES[rng.index(STATUSES.len())],
            total: total(&mut rng),
        })
        .collect();
    let one = |what: &str, updated: usize| check::equals(what, updated, 1);
    run.per_op(
        Workload::W2,
        n,
        |conn, i| {
            one(
                "W2 rows updated by history-diesel",
                conn.history_update(&changes[i], &ctx)?,
            )
        },
        |conn, i| {
            one(
                "W2 rows updated by diesel-plain",
                conn.plain_update(&changes[i])?,
            )
        },
    )?;

    // The same updates leave both tables equal, and each wrote one record.
    let records = (n + WARMUP + n) as i64;
    check::equals(
        "W2 history records",
        run.conn.count("historical_orders")?,
        records,
    )?;
    let (live, plain) = run.conn.both_tables()?;
    check::same("W2 final rows", check::rows(&live), check::rows(&plain))
}
