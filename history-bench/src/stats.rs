//! Summaries of timings: median and 95th percentile per operation.

use std::time::Duration;

/// Per-operation timings of one system on one workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median_us: f64,
    pub p95_us: f64,
    /// Sum of the measured operations, in seconds.
    pub total_s: f64,
}

/// Median, p95 and total of `samples` (empty gives zeros).
pub fn summarize(samples: &[Duration]) -> Summary {
    let mut micros: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    micros.sort_by(f64::total_cmp);
    Summary {
        median_us: median_sorted(&micros),
        p95_us: nearest_rank(&micros, 0.95),
        total_s: micros.iter().sum::<f64>() / 1e6,
    }
}

/// The median of a set of totals (W3/W5 repetitions), in seconds.
pub fn median_seconds(samples: &[Duration]) -> f64 {
    let mut seconds: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
    seconds.sort_by(f64::total_cmp);
    median_sorted(&seconds)
}

/// The middle value, or the mean of the two middle values.
fn median_sorted(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The nearest-rank percentile: the smallest value with at least `q` of the
/// samples at or below it (no interpolation, so it is a real sample).
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_micros(v)).collect()
    }

    #[test]
    fn median_and_p95() {
        let summary = summarize(&us(&(1..=100).rev().collect::<Vec<_>>()));
        assert_eq!(summary.median_us, 50.5);
        assert_eq!(summary.p95_us, 95.0);
        assert!((summary.total_s - 5050e-6).abs() < 1e-12);
        assert_eq!(summarize(&us(&[3, 1, 2])).median_us, 2.0);
        assert_eq!(summarize(&[]).p95_us, 0.0);
    }

    #[test]
    fn median_of_totals() {
        let totals = [3.0, 1.0, 2.0].map(Duration::from_secs_f64);
        assert_eq!(median_seconds(&totals), 2.0);
    }
}
