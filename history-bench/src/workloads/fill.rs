//! The data set of W4-W6: `objects` orders with `versions` records each,
//! written straight into `historical_orders` with multi-row INSERTs (the
//! write path is not what these workloads measure), and the live rows in
//! `orders`.
//!
//! Timeline: record `v` of object `o` (0-based) is dated `epoch + (v *
//! objects + o)` seconds, so dates rise with `history_id` and every object
//! has one record per "version step". Every tenth object is deleted at step
//! `versions / 2 - 1` and created again at the next step: the middle time,
//! just before step `versions / 2`, finds them deleted.

use chrono::{Duration, NaiveDateTime};

use crate::args::Config;
use crate::check;
use crate::conn::{for_connections, BenchConn};
use crate::inputs::{epoch, Texts, STATUSES};
use crate::model::{historical_orders, orders, FillRecord, LiveOrder};
use crate::{schema, Result};

/// Rows per INSERT: 10 binds a row stays under every backend's bind limit.
const FILL_BATCH: usize = 1000;

#[allow(async_fn_in_trait)] // the binary's own trait; no future leaves the thread
pub trait Ops {
    async fn insert_records(&mut self, records: &[FillRecord<'_>]) -> Result<usize>;
    async fn insert_live(&mut self, rows: &[LiveOrder<'_>]) -> Result<usize>;
    /// The smallest and largest `history_id`.
    async fn history_id_range(&mut self) -> Result<(i64, i64)>;
}

for_connections! {[sqlite, postgres, mysql, postgres_async, mysql_async] {
    impl Ops for Conn {
        async fn insert_records(&mut self, records: &[FillRecord<'_>]) -> Result<usize> {
            Ok(wait!(diesel::insert_into(historical_orders::table).values(records).execute(self))?)
        }

        async fn insert_live(&mut self, rows: &[LiveOrder<'_>]) -> Result<usize> {
            Ok(wait!(diesel::insert_into(orders::table).values(rows).execute(self))?)
        }

        async fn history_id_range(&mut self) -> Result<(i64, i64)> {
            use diesel::dsl::{max, min};
            let (low, high) = wait!(historical_orders::table
                .select((min(historical_orders::history_id), max(historical_orders::history_id)))
                .get_result::<(Option<i64>, Option<i64>)>(self))?;
            Ok((low.unwrap_or(0), high.unwrap_or(0)))
        }
    }
}}

/// The filled history, and what the read workloads need to know of it.
pub struct DataSet {
    pub objects: usize,
    pub versions: usize,
    /// Inclusive range of `history_id`.
    pub history_ids: (i64, i64),
}

impl DataSet {
    /// Date of record `version` of object `object` (0-based).
    pub fn date(&self, object: usize, version: usize) -> NaiveDateTime {
        epoch() + Duration::seconds((version * self.objects + object) as i64)
    }

    /// The object deleted at step `versions / 2 - 1` and created again?
    pub fn recreated(object: usize) -> bool {
        (object + 1) % 10 == 0
    }

    /// The step that deletes the recreated objects.
    fn deletion_step(&self) -> usize {
        self.versions / 2 - 1
    }

    /// Half a second before step `versions / 2`: every object's latest record
    /// is its step `versions / 2 - 1`, a deletion for the recreated ones.
    pub fn middle(&self) -> NaiveDateTime {
        self.date(0, self.versions / 2) - Duration::milliseconds(500)
    }

    /// Objects alive at [`middle`](Self::middle).
    pub fn alive_at_middle(&self) -> usize {
        (0..self.objects).filter(|&o| !Self::recreated(o)).count()
    }

    /// The type of record `version` of `object`.
    fn kind(&self, object: usize, version: usize) -> &'static str {
        let deletion = self.deletion_step();
        match version {
            0 => "+",
            v if Self::recreated(object) && v == deletion => "-",
            v if Self::recreated(object) && v == deletion + 1 => "+",
            _ => "~",
        }
    }
}

/// The values of object `o` at step `v`: deterministic, varied, realistic.
fn record<'t>(data: &DataSet, texts: &'t Texts, o: usize, v: usize) -> FillRecord<'t> {
    let date = data.date(o, v);
    FillRecord {
        id: o as i32 + 1,
        status: STATUSES[(o + v) % STATUSES.len()],
        total: ((o * 7919 + v * 104_729) % 10_000_000) as f64 / 100.0,
        customer_notes: texts.customer(o + v),
        internal_notes: texts.internal(o * 3 + v),
        updated_at: date,
        history_date: date,
        history_type: data.kind(o, v),
        history_user_id: Some((o % 50) as i64),
        history_change_reason: (v % 3 == 0).then_some("import"),
    }
}

/// Recreates the tables and fills them with the data set of `config`.
pub async fn fill<C: BenchConn + Ops>(conn: &mut C, config: &Config) -> Result<DataSet> {
    schema::reset(conn).await?;
    let mut data = DataSet {
        objects: config.objects,
        versions: config.versions,
        history_ids: (0, 0),
    };
    let texts = Texts::default();
    // One transaction, one commit. A failure ends the run, so nothing
    // rolls it back but the connection's end.
    conn.begin().await?;
    // Step-major order: `history_id` rises with `history_date`.
    for v in 0..data.versions {
        for start in (0..data.objects).step_by(FILL_BATCH) {
            let end = (start + FILL_BATCH).min(data.objects);
            let records: Vec<FillRecord<'_>> =
                (start..end).map(|o| record(&data, &texts, o, v)).collect();
            conn.insert_records(&records).await?;
        }
    }
    // The live rows hold each object's last values.
    let last = data.versions - 1;
    for start in (0..data.objects).step_by(FILL_BATCH) {
        let end = (start + FILL_BATCH).min(data.objects);
        let rows: Vec<LiveOrder<'_>> = (start..end)
            .map(|o| {
                let r = record(&data, &texts, o, last);
                LiveOrder {
                    id: r.id,
                    status: r.status,
                    total: r.total,
                    customer_notes: r.customer_notes,
                    internal_notes: r.internal_notes,
                    updated_at: r.updated_at,
                }
            })
            .collect();
        conn.insert_live(&rows).await?;
    }
    conn.commit().await?;
    schema::analyze(conn).await?;
    let records = (data.objects * data.versions) as i64;
    check::equals(
        "fill history records",
        conn.count("historical_orders").await?,
        records,
    )?;
    check::equals(
        "fill live rows",
        conn.count("orders").await?,
        data.objects as i64,
    )?;
    data.history_ids = conn.history_id_range().await?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> DataSet {
        DataSet {
            objects: 20,
            versions: 10,
            history_ids: (1, 200),
        }
    }

    #[test]
    fn middle_falls_between_the_deletion_and_the_recreation() {
        let data = data();
        let middle = data.middle();
        for o in 0..data.objects {
            assert!(data.date(o, 4) < middle && middle < data.date(o, 5));
        }
        assert_eq!(data.alive_at_middle(), 18);
    }

    #[test]
    fn record_kinds() {
        let data = data();
        let kinds = |o| (0..10).map(|v| data.kind(o, v)).collect::<String>();
        assert_eq!(kinds(0), "+~~~~~~~~~");
        assert_eq!(kinds(9), "+~~~-+~~~~");
        // Dates rise with the write order, step by step.
        assert!(data.date(19, 0) < data.date(0, 1));
    }
}
