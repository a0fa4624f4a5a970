//! W3, bulk create: many rows in one call. History:
//! `bulk_create_with_history` with `batch` rows per statement. Plain: one
//! multi-row INSERT per batch, all in one transaction.

use history_diesel::{BulkOptions, HistoryContext};

use super::{context, label, timed, turn_order, Run};
use crate::check;
use crate::conn::{for_connections, BenchConn};
use crate::inputs::{new_orders, Texts};
use crate::model::{plain_orders, NewOrder, NewPlainOrder, Order};
use crate::report::{System, Workload};
use crate::rng::Rng;
use crate::{schema, Result};

pub trait Ops {
    /// Rows created, as the call returned them.
    fn history_bulk_create(
        &mut self,
        rows: &[NewOrder<'_>],
        ctx: &HistoryContext<i64>,
        batch: usize,
    ) -> Result<usize>;
    /// Rows inserted.
    fn plain_bulk_create(&mut self, rows: &[NewPlainOrder<'_>], batch: usize) -> Result<usize>;
}

for_connections! {{
    impl Ops for Conn {
        fn history_bulk_create(
            &mut self,
            rows: &[NewOrder<'_>],
            ctx: &HistoryContext<i64>,
            batch: usize,
        ) -> Result<usize> {
            let options = BulkOptions { batch_size: batch };
            Ok(Order::bulk_create_with_history(self, rows, ctx, options)?.len())
        }

        fn plain_bulk_create(&mut self, rows: &[NewPlainOrder<'_>], batch: usize) -> Result<usize> {
            self.transaction(|conn| {
                let mut inserted = 0;
                for chunk in rows.chunks(batch) {
                    inserted += diesel::insert_into(plain_orders::table).values(chunk).execute(conn)?;
                }
                Ok(inserted)
            })
        }
    }
}}

pub async fn run<C: BenchConn + Ops>(run: &mut Run<'_, C>) -> Result<()> {
    let (n, batch) = (run.config.bulk, run.config.batch);
    let texts = Texts::default();
    let inputs = new_orders(&texts, &mut Rng::new(run.config.seed ^ 3), n);
    let plain_inputs: Vec<NewPlainOrder<'_>> = inputs.iter().map(|&new| new.into()).collect();
    let ctx = context();
    let mut times = [Vec::new(), Vec::new()];
    for rep in 0..run.config.reps {
        // Fresh tables each repetition: both systems insert into empty ones.
        schema::reset(run.conn).await?;
        for system in turn_order(rep) {
            let conn = &mut *run.conn;
            let name = || label(C::TARGET, Workload::W3, system);
            let op = async {
                match system {
                    System::History => conn.history_bulk_create(&inputs, &ctx, batch),
                    System::Plain => conn.plain_bulk_create(&plain_inputs, batch),
                }
            };
            let (rows, elapsed) = timed(run.tracer.capture_if(rep == 0, name, op)).await?;
            check::equals(&format!("W3 rows written by {}", system.name()), rows, n)?;
            times[system as usize].push(elapsed);
        }
        let rows = n as i64;
        check::equals("W3 orders rows", run.conn.count("orders").await?, rows)?;
        check::equals(
            "W3 plain_orders rows",
            run.conn.count("plain_orders").await?,
            rows,
        )?;
        check::equals(
            "W3 history records",
            run.conn.count("historical_orders").await?,
            rows,
        )?;
    }
    let [history, plain] = &times;
    run.totals(Workload::W3, n, history, plain);
    Ok(())
}
