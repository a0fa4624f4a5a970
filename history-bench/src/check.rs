//! Answer checks: a fast wrong answer must not pass as a result. Each
//! workload folds what both systems wrote or read into a checksum (or counts
//! rows) and fails the run when the two disagree.

use chrono::NaiveDateTime;

use crate::model::{HistoricalOrder, Order, PlainOrder, PlainRecord};

/// An order-independent checksum: the wrapping sum of per-item hashes, so
/// rows may come back in any order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checksum {
    pub sum: u64,
    pub items: u64,
}

impl Checksum {
    pub fn add(&mut self, hash: u64) {
        self.sum = self.sum.wrapping_add(hash);
        self.items += 1;
    }
}

impl FromIterator<u64> for Checksum {
    fn from_iter<I: IntoIterator<Item = u64>>(hashes: I) -> Self {
        let mut sum = Checksum::default();
        hashes.into_iter().for_each(|hash| sum.add(hash));
        sum
    }
}

/// The checksum of rows as both systems return them.
pub fn rows<'a, T: 'a>(rows: impl IntoIterator<Item = &'a T>) -> Checksum
where
    OrderValues<'a>: From<&'a T>,
{
    rows.into_iter()
        .map(|row| OrderValues::from(row).hash())
        .collect()
}

/// FNV-1a over bytes, continued from `state`.
fn fnv(mut state: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        state ^= u64::from(byte);
        state = state.wrapping_mul(0x0000_0100_0000_01B3);
    }
    state
}

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;

/// The values of an order as both systems see them.
#[derive(Debug, Clone, Copy)]
pub struct OrderValues<'a> {
    pub id: i32,
    pub status: &'a str,
    pub total: f64,
    pub customer_notes: &'a str,
    pub internal_notes: &'a str,
    pub updated_at: NaiveDateTime,
}

impl OrderValues<'_> {
    pub fn hash(&self) -> u64 {
        let mut state = fnv(FNV_OFFSET, &self.id.to_le_bytes());
        // A separator after each text keeps ("ab", "c") apart from ("a", "bc").
        for text in [self.status, self.customer_notes, self.internal_notes] {
            state = fnv(fnv(state, text.as_bytes()), &[0xFF]);
        }
        state = fnv(state, &self.total.to_bits().to_le_bytes());
        fnv(
            state,
            &self.updated_at.and_utc().timestamp_micros().to_le_bytes(),
        )
    }
}

/// The rows and records both systems read share these field names, so one
/// conversion serves them all.
macro_rules! order_values_from {
    ($($source:ty),* $(,)?) => {$(
        impl<'a> From<&'a $source> for OrderValues<'a> {
            fn from(row: &'a $source) -> Self {
                OrderValues {
                    id: row.id,
                    status: &row.status,
                    total: row.total,
                    customer_notes: &row.customer_notes,
                    internal_notes: &row.internal_notes,
                    updated_at: row.updated_at,
                }
            }
        }
    )*};
}

order_values_from!(Order, PlainOrder, PlainRecord, HistoricalOrder);

/// A history record as both systems see it: its values and its own
/// columns.
pub fn record_hash(
    values: OrderValues<'_>,
    history_id: i64,
    history_date: NaiveDateTime,
    history_type: &str,
) -> u64 {
    let state = fnv(values.hash(), &history_id.to_le_bytes());
    let state = fnv(
        state,
        &history_date.and_utc().timestamp_micros().to_le_bytes(),
    );
    fnv(state, history_type.as_bytes())
}

/// Hash of "no answer" (object missing or deleted at that time), distinct
/// from any row's hash in practice.
pub const NONE_HASH: u64 = 0x6E6F_6E65_6E6F_6E65;

/// Fails unless the two values agree.
pub fn same<T: PartialEq + std::fmt::Debug>(what: &str, history: T, plain: T) -> crate::Result<()> {
    if history == plain {
        Ok(())
    } else {
        Err(
            format!("check failed: {what}: history-diesel {history:?} != diesel-plain {plain:?}")
                .into(),
        )
    }
}

/// Fails unless `actual` is `expected`.
pub fn equals<T: PartialEq + std::fmt::Debug>(
    what: &str,
    actual: T,
    expected: T,
) -> crate::Result<()> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("check failed: {what}: got {actual:?}, expected {expected:?}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_sees_every_field_and_sum_ignores_order() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc();
        let a = OrderValues {
            id: 1,
            status: "ab",
            total: 1.5,
            customer_notes: "c",
            internal_notes: "",
            updated_at: at,
        };
        let b = OrderValues {
            status: "a",
            customer_notes: "bc",
            ..a
        };
        assert_ne!(a.hash(), b.hash());
        assert_ne!(a.hash(), OrderValues { total: 1.25, ..a }.hash());
        let (mut x, mut y) = (Checksum::default(), Checksum::default());
        x.add(a.hash());
        x.add(b.hash());
        y.add(b.hash());
        y.add(a.hash());
        assert_eq!(x, y);
    }
}
