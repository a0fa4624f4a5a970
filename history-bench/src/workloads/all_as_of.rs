//! W5, as_of of the whole table: every object's state at the middle time,
//! loaded into Rust values. History: `Order::all_as_of`. Plain: the best
//! hand-written SQL per backend for the latest record of each object up to
//! the time, without the objects whose latest record is a deletion.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::sql_types::Timestamp;

use super::fill::DataSet;
use super::{label, timed, turn_order, Run};
use crate::backend::Backend;
use crate::check::{self, Checksum};
use crate::conn::{for_connections, BenchConn};
use crate::model::{Order, PlainRecord};
use crate::report::{System, Workload};
use crate::Result;

pub trait Ops {
    fn history_all_as_of(&mut self, at: DateTime<Utc>) -> Result<Vec<Order>>;
    fn plain_all_as_of(&mut self, at: NaiveDateTime) -> Result<Vec<PlainRecord>>;
}

/// PostgreSQL: `DISTINCT ON` keeps the first row of each object in index
/// order, one pass; deletions are dropped after picking, not before, or an
/// older record would stand in for a deleted object.
const DISTINCT_ON: &str = "\
SELECT * FROM (
    SELECT DISTINCT ON (id) history_id, id, status, total, customer_notes, internal_notes,
           updated_at, history_date, history_type
    FROM historical_orders
    WHERE history_date <= $1
    ORDER BY id, history_date DESC, history_id DESC
) AS latest
WHERE history_type <> '-'";

/// SQLite and MySQL: a record is the latest when no later one of the same
/// object exists up to the time (ties on the date broken by `history_id`),
/// each probe served by the (id, history_date, history_id) index.
const NOT_EXISTS: &str = "\
SELECT h.history_id, h.id, h.status, h.total, h.customer_notes, h.internal_notes,
       h.updated_at, h.history_date, h.history_type
FROM historical_orders AS h
WHERE h.history_date <= ? AND h.history_type <> '-'
  AND NOT EXISTS (
    SELECT 1 FROM historical_orders AS later
    WHERE later.id = h.id AND later.history_date <= ?
      AND (later.history_date > h.history_date
           OR (later.history_date = h.history_date AND later.history_id > h.history_id)))";

for_connections! {{
    impl Ops for Conn {
        fn history_all_as_of(&mut self, at: DateTime<Utc>) -> Result<Vec<Order>> {
            Ok(Order::all_as_of(self, at)?)
        }

        fn plain_all_as_of(&mut self, at: NaiveDateTime) -> Result<Vec<PlainRecord>> {
            Ok(match <Conn as BenchConn>::TARGET.backend() {
                Backend::Postgres => diesel::sql_query(DISTINCT_ON)
                    .bind::<Timestamp, _>(at)
                    .load(self)?,
                _ => diesel::sql_query(NOT_EXISTS)
                    .bind::<Timestamp, _>(at)
                    .bind::<Timestamp, _>(at)
                    .load(self)?,
            })
        }
    }
}}

pub async fn run<C: BenchConn + Ops>(run: &mut Run<'_, C>, data: &DataSet) -> Result<()> {
    let at = data.middle();
    let alive = data.alive_at_middle();
    let mut times = [Vec::new(), Vec::new()];
    let mut sums = [Checksum::default(), Checksum::default()];
    for rep in 0..run.config.reps {
        for system in turn_order(rep) {
            let conn = &mut *run.conn;
            let name = || label(C::TARGET, Workload::W5, system);
            let tracer = &run.tracer;
            // The checksum is taken after the clock stops.
            let (sum, elapsed) = match system {
                System::History => {
                    let op = async { conn.history_all_as_of(at.and_utc()) };
                    let (rows, elapsed) = timed(tracer.capture_if(rep == 0, name, op)).await?;
                    (check::rows(&rows), elapsed)
                }
                System::Plain => {
                    let op = async { conn.plain_all_as_of(at) };
                    let (rows, elapsed) = timed(tracer.capture_if(rep == 0, name, op)).await?;
                    (check::rows(&rows), elapsed)
                }
            };
            check::equals(
                &format!("W5 objects read by {}", system.name()),
                sum.items,
                alive as u64,
            )?;
            if rep > 0 {
                check::equals(
                    &format!("W5 repeat of {}", system.name()),
                    sum,
                    sums[system as usize],
                )?;
            }
            sums[system as usize] = sum;
            times[system as usize].push(elapsed);
        }
    }
    let [history, plain] = sums;
    check::same("W5 state", history, plain)?;
    let [history, plain] = &times;
    run.totals(Workload::W5, alive, history, plain);
    Ok(())
}
