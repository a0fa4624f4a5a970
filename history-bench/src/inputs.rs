//! Inputs both systems receive: generated once from the seed, so each side
//! writes and reads exactly the same values.

use chrono::{DateTime, Duration, NaiveDateTime};

use crate::model::NewOrder;
use crate::rng::Rng;

pub const STATUSES: [&str; 8] = [
    "new",
    "pending",
    "paid",
    "packed",
    "shipped",
    "delivered",
    "returned",
    "cancelled",
];

/// 2026-01-01T00:00:00Z, the start of every generated timeline.
pub fn epoch() -> NaiveDateTime {
    DateTime::from_timestamp(1_767_225_600, 0)
        .expect("a valid instant")
        .naive_utc()
}

/// Note texts of realistic length, shared by reference by the generated rows.
pub struct Texts {
    customer: Vec<String>,
    internal: Vec<String>,
}

impl Default for Texts {
    fn default() -> Self {
        Texts {
            customer: (0..16)
                .map(|i| {
                    format!(
                        "Customer note {i}: please leave the parcel with the neighbour at number {}, not in the shed.",
                        i * 7 + 3
                    )
                })
                .collect(),
            internal: (0..16)
                .map(|i| format!("Internal: checked by team {i}, fraud score {}.", i * 13 % 100))
                .collect(),
        }
    }
}

impl Texts {
    pub fn customer(&self, i: usize) -> &str {
        &self.customer[i % self.customer.len()]
    }

    pub fn internal(&self, i: usize) -> &str {
        &self.internal[i % self.internal.len()]
    }
}

/// `n` new orders with random statuses, totals and notes; `updated_at`
/// steps by a second and a few microseconds so every value is distinct.
pub fn new_orders<'t>(texts: &'t Texts, rng: &mut Rng, n: usize) -> Vec<NewOrder<'t>> {
    (0..n)
        .map(|i| NewOrder {
            status: STATUSES[rng.index(STATUSES.len())],
            total: total(rng),
            customer_notes: texts.customer(rng.index(1 << 10)),
            internal_notes: texts.internal(rng.index(1 << 10)),
            updated_at: epoch() + Duration::microseconds(i as i64 * 1_000_017),
        })
        .collect()
}

/// An amount in cents, as a double (exact in every backend's DOUBLE).
pub fn total(rng: &mut Rng) -> f64 {
    rng.below(10_000_000) as f64 / 100.0
}
