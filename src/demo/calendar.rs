//! Dates and UTC timestamps as plain integers, so the generator does exact arithmetic on them and
//! prints them in the form PostgreSQL's COPY reads. The demo needs no time zones or leap seconds;
//! a calendar crate would be a dependency for two conversions.

use std::fmt;

/// A calendar date: days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i32);

/// A UTC instant: seconds since 1970-01-01 00:00:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

pub const SECONDS_PER_DAY: i64 = 86_400;

impl Date {
    /// The date of a proleptic Gregorian year, month (1-12) and day (1-31).
    pub const fn ymd(year: i32, month: u32, day: u32) -> Date {
        // Howard Hinnant's days_from_civil: eras of 400 years, March-based years so the leap day
        // is the last day of the year.
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = month as i32;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Date(era * 146_097 + doe - 719_468)
    }

    /// (year, month, day) of this date.
    pub fn parts(self) -> (i32, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i32::from(month <= 2);
        (year, month, day)
    }

    pub fn year(self) -> i32 {
        self.parts().0
    }

    pub fn month(self) -> u32 {
        self.parts().1
    }

    pub fn add_days(self, days: i32) -> Date {
        Date(self.0 + days)
    }

    /// The first day of the month `months` after this date's month (negative goes back).
    pub fn month_start_plus(self, months: i32) -> Date {
        let (y, m, _) = self.parts();
        let index = y * 12 + (m as i32 - 1) + months;
        Date::ymd(index.div_euclid(12), (index.rem_euclid(12) + 1) as u32, 1)
    }

    /// Midnight UTC of this date plus a time of day in seconds.
    pub fn at(self, seconds_of_day: i64) -> Timestamp {
        Timestamp(i64::from(self.0) * SECONDS_PER_DAY + seconds_of_day)
    }
}

impl Timestamp {
    pub fn date(self) -> Date {
        Date(self.0.div_euclid(SECONDS_PER_DAY) as i32)
    }

    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0 + seconds)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.parts();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Display for Timestamp {
    /// `2026-10-31 14:05:09+00`: ISO 8601 with an explicit UTC offset, as timestamptz reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.rem_euclid(SECONDS_PER_DAY);
        write!(f, "{} {:02}:{:02}:{:02}+00", self.date(), secs / 3600, secs / 60 % 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_print_like_postgres() {
        assert_eq!(Date::ymd(1970, 1, 1), Date(0));
        assert_eq!(Date::ymd(2000, 3, 1).to_string(), "2000-03-01");
        assert_eq!(Date::ymd(2024, 2, 29).add_days(1).to_string(), "2024-03-01");
        assert_eq!(Date::ymd(2023, 2, 28).add_days(1).to_string(), "2023-03-01");
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = Date(days).parts();
            assert_eq!(Date::ymd(y, m, d), Date(days));
        }
    }

    #[test]
    fn months_step_across_years() {
        let d = Date::ymd(2025, 11, 17);
        assert_eq!(d.month_start_plus(0).to_string(), "2025-11-01");
        assert_eq!(d.month_start_plus(2).to_string(), "2026-01-01");
        assert_eq!(d.month_start_plus(-11).to_string(), "2024-12-01");
    }

    #[test]
    fn timestamps_print_in_utc() {
        let t = Date::ymd(2026, 10, 31).at(14 * 3600 + 5 * 60 + 9);
        assert_eq!(t.to_string(), "2026-10-31 14:05:09+00");
        assert_eq!(t.date(), Date::ymd(2026, 10, 31));
    }
}
