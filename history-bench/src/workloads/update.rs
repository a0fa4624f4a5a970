//! W2, single update: load-modify-save of one existing row per call (new
//! status and total), each in its own transaction. History:
//! `order.save_with_history`. Plain: `diesel::update(&row).set(&row)`, the
//! same whole-row changeset without history. On diesel-async, the same
//! calls of `history_diesel::asynchronous` and `diesel_async`.

use history_diesel::HistoryContext;

use super::{context, Run, WARMUP};
use crate::check;
use crate::conn::{for_connections, BenchConn};
use crate::inputs::{new_orders, total, Texts, STATUSES};
use crate::model::{orders, plain_orders, NewOrder, NewPlainOrder, Order, PlainOrder};
use crate::report::Workload;
use crate::rng::Rng;
use crate::{schema, Result};

#[allow(async_fn_in_trait)] // the binary's own trait; no future leaves the thread
pub trait Ops {
    /// Creates the rows to update in both tables (the history side with
    /// their creation records), as each system returns them.
    async fn setup(
        &mut self,
        rows: &[NewOrder<'_>],
        ctx: &HistoryContext<i64>,
    ) -> Result<(Vec<Order>, Vec<PlainOrder>)>;
    async fn history_save(&mut self, order: &Order, ctx: &HistoryContext<i64>) -> Result<()>;
    /// Rows updated.
    async fn plain_save(&mut self, order: &PlainOrder) -> Result<usize>;
    /// Every row of `orders` and of `plain_orders`, for the final check.
    async fn both_tables(&mut self) -> Result<(Vec<Order>, Vec<PlainOrder>)>;
}

for_connections! {[sqlite, postgres, mysql, postgres_async, mysql_async] {
    impl Ops for Conn {
        async fn setup(
            &mut self,
            rows: &[NewOrder<'_>],
            ctx: &HistoryContext<i64>,
        ) -> Result<(Vec<Order>, Vec<PlainOrder>)> {
            let created =
                wait!(Order::bulk_create_with_history(self, rows, ctx, Default::default()))?;
            let plain: Vec<NewPlainOrder<'_>> = rows.iter().map(|&new| new.into()).collect();
            for chunk in plain.chunks(1000) {
                wait!(diesel::insert_into(plain_orders::table).values(chunk).execute(self))?;
            }
            let plain = wait!(plain_orders::table
                .order(plain_orders::id)
                .select(PlainOrder::as_select())
                .load(self))?;
            Ok((created, plain))
        }

        async fn history_save(&mut self, order: &Order, ctx: &HistoryContext<i64>) -> Result<()> {
            Ok(wait!(order.save_with_history(self, ctx))?)
        }

        async fn plain_save(&mut self, order: &PlainOrder) -> Result<usize> {
            Ok(wait!(diesel::update(order).set(order).execute(self))?)
        }

        async fn both_tables(&mut self) -> Result<(Vec<Order>, Vec<PlainOrder>)> {
            let live = wait!(orders::table.select(Order::as_select()).load(self))?;
            let plain = wait!(plain_orders::table.select(PlainOrder::as_select()).load(self))?;
            Ok((live, plain))
        }
    }
}}

/// One update: which row (an index into the rows created) and its new values.
struct Change {
    row: usize,
    status: &'static str,
    total: f64,
}

pub async fn run<C: BenchConn + Ops>(run: &mut Run<'_, C>) -> Result<()> {
    schema::reset(run.conn).await?;
    let n = run.config.ops;
    // As many rows as updates, created in both tables first.
    let texts = Texts::default();
    let mut rng = Rng::new(run.config.seed ^ 2);
    let ctx = context();
    let (mut rows, mut plain_rows) = run
        .conn
        .setup(&new_orders(&texts, &mut rng, n), &ctx)
        .await?;
    check::same(
        "W2 rows created",
        check::rows(&rows),
        check::rows(&plain_rows),
    )?;

    let changes: Vec<Change> = (0..WARMUP + n)
        .map(|_| Change {
            row: rng.index(n),
            status: STATUSES[rng.index(STATUSES.len())],
            total: total(&mut rng),
        })
        .collect();
    run.per_op(
        Workload::W2,
        n,
        async |conn: &mut C, i| {
            let change = &changes[i];
            let order = &mut rows[change.row];
            order.status = change.status.to_owned();
            order.total = change.total;
            conn.history_save(order, &ctx).await
        },
        async |conn: &mut C, i| {
            let change = &changes[i];
            let order = &mut plain_rows[change.row];
            order.status = change.status.to_owned();
            order.total = change.total;
            let updated = conn.plain_save(order).await?;
            check::equals("W2 rows updated by diesel-plain", updated, 1)
        },
    )
    .await?;

    // The same updates leave both tables equal, and each wrote one record.
    let records = (n + WARMUP + n) as i64;
    check::equals(
        "W2 history records",
        run.conn.count("historical_orders").await?,
        records,
    )?;
    let (live, plain) = run.conn.both_tables().await?;
    check::same("W2 final rows", check::rows(&live), check::rows(&plain))
}
