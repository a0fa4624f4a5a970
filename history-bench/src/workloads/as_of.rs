//! W4, as_of of one object: random (object, time) look-ups in the filled
//! history. History: `Order::as_of`. Plain: the latest record of the object
//! up to the time, by the (id, history_date, history_id) index, in Diesel's
//! DSL; a deletion there means no object, as for `as_of`. On diesel-async,
//! the same calls of `history_diesel::asynchronous` and `diesel_async`.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use history_diesel::HistoryError;

use super::fill::DataSet;
use super::{Run, WARMUP};
use crate::check::{self, Checksum, OrderValues, NONE_HASH};
use crate::conn::{for_connections, BenchConn};
use crate::inputs::epoch;
use crate::model::{historical_orders, Order, PlainRecord};
use crate::report::Workload;
use crate::rng::Rng;
use crate::Result;

#[allow(async_fn_in_trait)] // the binary's own trait; no future leaves the thread
pub trait Ops {
    /// The order as it was, `None` before its creation or after its deletion.
    async fn history_as_of(&mut self, id: i32, at: DateTime<Utc>) -> Result<Option<Order>>;
    /// The latest record up to `at`, `None` when there is none or it is a
    /// deletion.
    async fn plain_as_of(&mut self, id: i32, at: NaiveDateTime) -> Result<Option<PlainRecord>>;
}

for_connections! {[sqlite, postgres, mysql, postgres_async, mysql_async] {
    impl Ops for Conn {
        async fn history_as_of(&mut self, id: i32, at: DateTime<Utc>) -> Result<Option<Order>> {
            match wait!(Order::as_of(self, &id, at)) {
                Ok(order) => Ok(Some(order)),
                Err(HistoryError::NotCreatedYet { .. } | HistoryError::Deleted { .. }) => Ok(None),
                Err(err) => Err(err.into()),
            }
        }

        async fn plain_as_of(
            &mut self,
            id: i32,
            at: NaiveDateTime,
        ) -> Result<Option<PlainRecord>> {
            use historical_orders as h;
            let latest = wait!(h::table
                .filter(h::id.eq(id))
                .filter(h::history_date.le(at))
                .order((h::history_date.desc(), h::history_id.desc()))
                .select(PlainRecord::as_select())
                .first(self))
            .optional()?;
            Ok(latest.filter(|record| record.history_type != "-"))
        }
    }
}}

/// A look-up: which object, at what time (UTC).
struct LookUp {
    id: i32,
    at: NaiveDateTime,
}

/// Objects drawn uniformly; times uniformly from one span of steps before
/// the first record (nothing yet) to one after the last, at microsecond
/// resolution, so look-ups land before creation, on deleted spans, and
/// between any two records.
fn look_ups(data: &DataSet, rng: &mut Rng, n: usize) -> Vec<LookUp> {
    let step_us = data.objects as u64 * 1_000_000;
    let span_us = step_us * (data.versions as u64 + 2);
    (0..n)
        .map(|_| LookUp {
            id: 1 + rng.index(data.objects) as i32,
            at: epoch() + Duration::microseconds(rng.below(span_us) as i64 - step_us as i64),
        })
        .collect()
}

pub async fn run<C: BenchConn + Ops>(run: &mut Run<'_, C>, data: &DataSet) -> Result<()> {
    let n = run.config.lookups;
    let inputs = look_ups(data, &mut Rng::new(run.config.seed ^ 4), WARMUP + n);
    let mut history_found: Vec<Option<Order>> = Vec::with_capacity(inputs.len());
    let mut plain_found: Vec<Option<PlainRecord>> = Vec::with_capacity(inputs.len());
    run.per_op(
        Workload::W4,
        n,
        async |conn: &mut C, i| {
            let look = &inputs[i];
            history_found.push(conn.history_as_of(look.id, look.at.and_utc()).await?);
            Ok(())
        },
        async |conn: &mut C, i| {
            let look = &inputs[i];
            plain_found.push(conn.plain_as_of(look.id, look.at).await?);
            Ok(())
        },
    )
    .await?;

    let history: Checksum = history_found
        .iter()
        .map(|found| {
            found
                .as_ref()
                .map_or(NONE_HASH, |o| OrderValues::from(o).hash())
        })
        .collect();
    let plain: Checksum = plain_found
        .iter()
        .map(|found| {
            found
                .as_ref()
                .map_or(NONE_HASH, |r| OrderValues::from(r).hash())
        })
        .collect();
    check::same("W4 objects found", history, plain)?;
    // A data set where nothing (or everything) is found would check nothing.
    let found = plain_found.iter().filter(|found| found.is_some()).count();
    if found == 0 || found == plain_found.len() {
        return Err(format!(
            "check failed: W4 found {found} of {} objects",
            plain_found.len()
        )
        .into());
    }
    Ok(())
}
