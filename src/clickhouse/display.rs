//! Times and counts as people (and, for timestamps, machines) read them.

use std::time::{Duration, UNIX_EPOCH};

/// `2026-01-31T17:45:00.123Z` from epoch milliseconds.
pub fn timestamp(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0);
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// A short age: `45s`, `12m`, `5h`, `3d`.
pub fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..120 => format!("{s}s"),
        120..7_200 => format!("{}m", s / 60),
        7_200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// `1 topic`, `3 topics`.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(timestamp(1_769_881_500_123), "2026-01-31T17:45:00.123Z");
        assert_eq!(age(-5), "0s");
        assert_eq!(age(119_999), "119s");
        assert_eq!(age(3_600_000), "60m");
        assert_eq!(age(7_200_000), "2h");
        assert_eq!(age(3 * 86_400_000), "3d");
        assert_eq!(count(1u32, "topic"), "1 topic");
        assert_eq!(count(0u32, "message"), "0 messages");
    }
}
