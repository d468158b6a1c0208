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
        format!("{} rows/s", count((rows as f64 / seconds) as u64))
    }
}

impl Default for Throughput {
    fn default() -> Self {
        Throughput::new()
    }
}

/// `1234567` -> `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_group_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(Throughput::rate(1000, 0.5), "2,000 rows/s");
    }
}
