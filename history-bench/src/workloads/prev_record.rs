//! W6, prev_record: the record before a random record of the filled
//! history. History: `record.prev_record` on the generated struct. Plain: the
//! newest record of the object older than the given one (ties on the date
//! broken by `history_id`), in Diesel's DSL.

use std::collections::HashMap;

use history_diesel::HistoryRecord;

use super::fill::DataSet;
use super::{Run, WARMUP};
use crate::check::{self, record_hash, Checksum, OrderValues, NONE_HASH};
use crate::conn::{for_connections, BenchConn};
use crate::model::{historical_orders, HistoricalOrder, PlainRecord};
use crate::report::Workload;
use crate::rng::Rng;
use crate::Result;

pub trait Ops {
    /// The records with these ids, as each system reads them (untimed).
    fn records(&mut self, ids: &[i64]) -> Result<(Vec<HistoricalOrder>, Vec<PlainRecord>)>;
    fn history_prev(&mut self, record: &HistoricalOrder) -> Result<Option<HistoricalOrder>>;
    fn plain_prev(&mut self, record: &PlainRecord) -> Result<Option<PlainRecord>>;
}

for_connections! {{
    impl Ops for Conn {
        fn records(&mut self, ids: &[i64]) -> Result<(Vec<HistoricalOrder>, Vec<PlainRecord>)> {
            use historical_orders as h;
            let (mut history, mut plain) = (Vec::new(), Vec::new());
            // Key lists stay well under every backend's bind limit.
            for chunk in ids.chunks(1000) {
                let query = h::table.filter(h::history_id.eq_any(chunk));
                history.extend(query.clone().select(HistoricalOrder::as_select()).load(self)?);
                plain.extend(query.select(PlainRecord::as_select()).load(self)?);
            }
            Ok((history, plain))
        }

        fn history_prev(&mut self, record: &HistoricalOrder) -> Result<Option<HistoricalOrder>> {
            Ok(record.prev_record(self)?)
        }

        fn plain_prev(&mut self, record: &PlainRecord) -> Result<Option<PlainRecord>> {
            use historical_orders as h;
            let date = record.history_date;
            Ok(h::table
                .filter(h::id.eq(record.id))
                .filter(
                    h::history_date
                        .lt(date)
                        .or(h::history_date.eq(date).and(h::history_id.lt(record.history_id))),
                )
                .order((h::history_date.desc(), h::history_id.desc()))
                .select(PlainRecord::as_select())
                .first(self)
                .optional()?)
        }
    }
}}

fn history_hash(record: &HistoricalOrder) -> u64 {
    let date = record.history_date.naive_utc();
    record_hash(
        OrderValues::from(record),
        *record.history_id(),
        date,
        record.history_type.as_str(),
    )
}

fn plain_hash(record: &PlainRecord) -> u64 {
    let values = OrderValues::from(record);
    record_hash(
        values,
        record.history_id,
        record.history_date,
        &record.history_type,
    )
}

pub async fn run<C: BenchConn + Ops>(run: &mut Run<'_, C>, data: &DataSet) -> Result<()> {
    let n = run.config.lookups;
    // Random records (ids are dense: the fill wrote them in one go), read
    // once per system before timing.
    let (low, high) = data.history_ids;
    let mut rng = Rng::new(run.config.seed ^ 6);
    let picks: Vec<i64> = (0..WARMUP + n)
        .map(|_| low + rng.below((high - low + 1) as u64) as i64)
        .collect();
    let (history_records, plain_records) = run.conn.records(&picks)?;
    let history_by_id: HashMap<i64, HistoricalOrder> = history_records
        .into_iter()
        .map(|r| (r.history_id, r))
        .collect();
    let plain_by_id: HashMap<i64, PlainRecord> = plain_records
        .into_iter()
        .map(|r| (r.history_id, r))
        .collect();
    let missing = picks
        .iter()
        .find(|id| !history_by_id.contains_key(id) || !plain_by_id.contains_key(id));
    if let Some(id) = missing {
        return Err(format!("check failed: W6 record {id} not found").into());
    }

    let mut history_prev: Vec<Option<HistoricalOrder>> = Vec::with_capacity(picks.len());
    let mut plain_prev: Vec<Option<PlainRecord>> = Vec::with_capacity(picks.len());
    run.per_op(
        Workload::W6,
        n,
        async |conn: &mut C, i| {
            history_prev.push(conn.history_prev(&history_by_id[&picks[i]])?);
            Ok(())
        },
        async |conn: &mut C, i| {
            plain_prev.push(conn.plain_prev(&plain_by_id[&picks[i]])?);
            Ok(())
        },
    )
    .await?;

    let history: Checksum = history_prev
        .iter()
        .map(|prev| prev.as_ref().map_or(NONE_HASH, history_hash))
        .collect();
    let plain: Checksum = plain_prev
        .iter()
        .map(|prev| prev.as_ref().map_or(NONE_HASH, plain_hash))
        .collect();
    check::same("W6 previous records", history, plain)?;
    // Every record but an object's first has a previous one.
    let firsts = picks
        .iter()
        .filter(|&&id| id - low < data.objects as i64)
        .count();
    let none = plain_prev.iter().filter(|prev| prev.is_none()).count();
    check::equals("W6 records without a previous one", none, firsts)
}
