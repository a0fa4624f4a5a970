//! `--pg-size`: what a history record costs on disk in PostgreSQL, with the
//! indexes the derive's migration creates, after the W4 fill.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::PgConnection;

use crate::args::Config;
use crate::conn::block;
use crate::database::Open;
use crate::workloads::fill;
use crate::Result;

#[derive(QueryableByName)]
struct Sizes {
    #[diesel(sql_type = BigInt)]
    records: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    heap: i64,
    #[diesel(sql_type = BigInt)]
    indexes: i64,
}

#[derive(QueryableByName)]
struct IndexSize {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

/// Fills the history as W4 does and prints one JSON line of sizes: the whole
/// relation (heap, indexes, TOAST, free-space and visibility maps), and each
/// part, per record.
pub fn run(config: &Config) -> Result<()> {
    let mut conn = block(PgConnection::open())?;
    block(fill::fill(&mut conn, config))?;
    let sizes: Sizes = diesel::sql_query(
        "SELECT (SELECT COUNT(*) FROM historical_orders) AS records,
                pg_total_relation_size('historical_orders') AS total,
                pg_relation_size('historical_orders') AS heap,
                pg_indexes_size('historical_orders') AS indexes",
    )
    .get_result(&mut conn)?;
    let each: Vec<IndexSize> = diesel::sql_query(
        "SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid) AS bytes
         FROM pg_index WHERE indrelid = 'historical_orders'::regclass ORDER BY 1",
    )
    .load(&mut conn)?;
    let per = |bytes: i64| format!("{:.1}", bytes as f64 / sizes.records.max(1) as f64);
    let indexes: Vec<String> = each
        .iter()
        .map(|index| format!("\"{}\": {}", index.name, per(index.bytes)))
        .collect();
    println!(
        "{{\"measure\": \"pg_size\", \"backend\": \"postgres\", \"records\": {}, \"total_bytes\": {}, \
         \"bytes_per_record\": {}, \"heap_per_record\": {}, \"indexes_per_record\": {}, \
         \"other_per_record\": {}, \"per_index_per_record\": {{{}}}}}",
        sizes.records,
        sizes.total,
        per(sizes.total),
        per(sizes.heap),
        per(sizes.indexes),
        per(sizes.total - sizes.heap - sizes.indexes),
        indexes.join(", "),
    );
    Ok(())
}
