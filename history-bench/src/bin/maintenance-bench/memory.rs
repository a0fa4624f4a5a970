//! The process's peak resident memory (Linux): `VmHWM` of
//! `/proc/self/status`, reset to the current resident size by writing `5` to
//! `/proc/self/clear_refs`, so each run reports its own peak.

use crate::Result;

pub fn reset_peak() -> Result<()> {
    std::fs::write("/proc/self/clear_refs", "5")
        .map_err(|err| format!("cannot reset the peak RSS (/proc/self/clear_refs): {err}"))?;
    Ok(())
}

/// The peak since the last reset, in MB.
pub fn peak_mb() -> Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("/proc/self/status has no VmHWM")?;
    Ok(kb / 1024.0)
}
