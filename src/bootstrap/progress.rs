//! Row counts and rates for progress lines: `1,234,567 rows, 412,000 rows/s`.

use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_millis(250);

/// Says when to refresh a progress line (at most every 250 ms) and the rate since the start.
pub struct Throughput {
    started: Instant,
    last: Instant,
}

impl Throughput {
    pub fn new() -> Throughput {
        let now = Instant::now();
        Throughput { started: now, last: now }
    }

    /// The rate text when a refresh is due.
    pub fn tick(&mut self, rows: u64) -> Option<String> {
        let now = Instant::now();
        if now.duration_since(self.last) < EVERY {
            return None;
        }
        self.last = now;
        Some(Throughput::rate(rows, now.duration_since(self.started).as_secs_f64()))
    }

    pub fn rate(rows: u64, seconds: f64) -> String {
        if seconds <= 0.0 {
            return "- rows/s".into();
        }
        format!("{} rows/s", crate::output::thousands((rows as f64 / seconds) as u64))
    }
}

impl Default for Throughput {
    fn default() -> Self {
        Throughput::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_group_thousands() {
        assert_eq!(Throughput::rate(1000, 0.5), "2,000 rows/s");
    }
}
