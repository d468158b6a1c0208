//! PostgreSQL values (binary COPY format) written as the JSON Debezium's PostgreSQL connector emits
//! for `after` with the platform's converter settings (JsonConverter without schemas,
//! `decimal.handling.mode=string`, `time.precision.mode=connect`, `binary.handling.mode=bytes`).
//! Checked against Debezium 3.4.2 events on the test stack:
//!
//! | PostgreSQL | JSON |
//! |---|---|
//! | date | days since 1970-01-01 (number) |
//! | timestamp | milliseconds since 1970-01-01, floored (number) |
//! | timestamptz | ISO-8601 in UTC with exactly the column's fractional digits (`...56.789100Z`) |
//! | time | milliseconds since midnight (number) |
//! | numeric | its text, as a string (`"12.50"`) |
//! | real, double | Java's `Float/Double.toString` (`1.0E20`, `0.1`) |
//! | json, jsonb | the document's text, as a string |
//! | bytea | base64, as a string |
//! | uuid, text, varchar, char(n) | strings (char keeps its padding) |
//!
//! Output is written straight into the tab-separated line the import sends to ClickHouse, so every
//! backslash the JSON needs is doubled (TSV escaping) as it is written; nothing is re-scanned.

use base64::Engine;

/// How one column's binary COPY value becomes JSON. The catalog picks it from the column type; the
/// two `*Cast` variants are for types the export casts to text in its SELECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Text,
    Uuid,
    Date,
    Time,
    Timestamp,
    /// Fractional digits of the column (0-6; 6 when the column has no precision).
    TimestampTz(u8),
    Json,
    Jsonb,
    Bytea,
    /// Arrays: the SELECT turns them into JSON text (`to_json(col)`), embedded as JSON.
    JsonCast,
    /// Any other type: the SELECT casts it to text, emitted as a JSON string.
    TextCast,
}

/// A value that doesn't match its column's binary layout: PostgreSQL sent something the catalog
/// didn't predict (only possible if the table changed type mid-export).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    pub encoding: Encoding,
    pub len: usize,
}

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a {}-byte value does not fit the {:?} binary format", self.len, self.encoding)
    }
}

/// Microseconds and days between 1970-01-01 (Unix, Debezium) and 2000-01-01 (PostgreSQL's epoch).
const PG_EPOCH_DAYS: i64 = 10_957;
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS * 86_400_000_000;

/// The TSV-escaped form of one JSON backslash.
const BS: &[u8] = b"\\\\";

/// Writes `value` (None = SQL NULL) as JSON into `out`.
pub fn write_value(out: &mut Vec<u8>, encoding: Encoding, value: Option<&[u8]>) -> Result<(), BadValue> {
    let Some(v) = value else {
        out.extend_from_slice(b"null");
        return Ok(());
    };
    let bad = || BadValue { encoding, len: v.len() };
    match encoding {
        Encoding::Bool => match v {
            [0] => out.extend_from_slice(b"false"),
            [_] => out.extend_from_slice(b"true"),
            _ => return Err(bad()),
        },
        Encoding::Int2 => write_int(out, i16::from_be_bytes(fixed(v).ok_or_else(bad)?) as i64),
        Encoding::Int4 => write_int(out, i32::from_be_bytes(fixed(v).ok_or_else(bad)?) as i64),
        Encoding::Int8 => write_int(out, i64::from_be_bytes(fixed(v).ok_or_else(bad)?)),
        Encoding::Oid => write_int(out, u32::from_be_bytes(fixed(v).ok_or_else(bad)?) as i64),
        Encoding::Float4 => write_java_float(out, f32::from_be_bytes(fixed(v).ok_or_else(bad)?) as f64, true),
        Encoding::Float8 => write_java_float(out, f64::from_be_bytes(fixed(v).ok_or_else(bad)?), false),
        Encoding::Numeric => {
            out.push(b'"');
            write_numeric(out, v).ok_or_else(bad)?;
            out.push(b'"');
        }
        Encoding::Text | Encoding::Json | Encoding::TextCast => write_string(out, v),
        Encoding::Jsonb => match v.split_first() {
            Some((1, text)) => write_string(out, text),
            _ => return Err(bad()),
        },
        Encoding::Uuid => write_uuid(out, v).ok_or_else(bad)?,
        Encoding::Date => {
            let days = i32::from_be_bytes(fixed(v).ok_or_else(bad)?);
            // PostgreSQL's ±infinity dates have no Debezium number; null is the honest value.
            if days == i32::MAX || days == i32::MIN {
                out.extend_from_slice(b"null");
            } else {
                write_int(out, days as i64 + PG_EPOCH_DAYS);
            }
        }
        Encoding::Time => write_int(out, i64::from_be_bytes(fixed(v).ok_or_else(bad)?) / 1000),
        Encoding::Timestamp => match finite_micros(i64::from_be_bytes(fixed(v).ok_or_else(bad)?)) {
            Some(unix_micros) => write_int(out, unix_micros.div_euclid(1000)),
            None => out.extend_from_slice(b"null"),
        },
        Encoding::TimestampTz(digits) => match finite_micros(i64::from_be_bytes(fixed(v).ok_or_else(bad)?)) {
            Some(unix_micros) => {
                out.push(b'"');
                write_iso_utc(out, unix_micros, digits);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        },
        Encoding::Bytea => {
            out.push(b'"');
            let start = out.len();
            out.resize(start + base64::encoded_len(v.len(), true).unwrap_or(0), 0);
            let written =
                base64::engine::general_purpose::STANDARD.encode_slice(v, &mut out[start..]).map_err(|_| bad())?;
            out.truncate(start + written);
            out.push(b'"');
        }
        Encoding::JsonCast => write_raw_json(out, v),
    }
    Ok(())
}

fn fixed<const N: usize>(v: &[u8]) -> Option<[u8; N]> {
    v.try_into().ok()
}

fn finite_micros(pg_micros: i64) -> Option<i64> {
    (pg_micros != i64::MAX && pg_micros != i64::MIN).then(|| pg_micros + PG_EPOCH_MICROS)
}

pub fn write_int(out: &mut Vec<u8>, n: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

/// A JSON string: `"`, `\` and control characters escaped as Jackson does; other bytes (UTF-8)
/// pass through.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 {
            out.extend_from_slice(&s[start..i]);
            out.extend_from_slice(BS);
            match b {
                b'"' => out.push(b'"'),
                b'\\' => out.extend_from_slice(BS),
                b'\n' => out.push(b'n'),
                b'\r' => out.push(b'r'),
                b'\t' => out.push(b't'),
                0x08 => out.push(b'b'),
                0x0c => out.push(b'f'),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789ABCDEF";
                    out.extend_from_slice(b"u00");
                    out.push(HEX[(b >> 4) as usize]);
                    out.push(HEX[(b & 0xf) as usize]);
                }
            }
            start = i + 1;
        }
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// JSON text produced by PostgreSQL, embedded as is apart from TSV escaping.
fn write_raw_json(out: &mut Vec<u8>, json: &[u8]) {
    for &b in json {
        match b {
            b'\\' => out.extend_from_slice(BS),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

fn write_uuid(out: &mut Vec<u8>, v: &[u8]) -> Option<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if v.len() != 16 {
        return None;
    }
    out.push(b'"');
    for (i, &b) in v.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 0xf) as usize]);
    }
    out.push(b'"');
    Some(())
}

/// PostgreSQL's binary numeric (base-10000 digits, weight, sign, display scale) as the decimal
/// text PostgreSQL itself prints, which is also what Debezium's string mode prints.
fn write_numeric(out: &mut Vec<u8>, v: &[u8]) -> Option<()> {
    let word = |i: usize| v.get(i * 2..i * 2 + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let ndigits = word(0)? as usize;
    let weight = word(1)? as i16 as i64;
    let sign = word(2)?;
    let dscale = word(3)? as usize;
    if v.len() != 8 + ndigits * 2 {
        return None;
    }
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => {
            out.extend_from_slice(b"NaN");
            return Some(());
        }
        0xD000 => {
            out.extend_from_slice(b"Infinity");
            return Some(());
        }
        0xF000 => {
            out.extend_from_slice(b"-Infinity");
            return Some(());
        }
        _ => return None,
    }
    let digit = |i: i64| -> Option<u16> {
        if i < 0 || i as usize >= ndigits { Some(0) } else { word(4 + i as usize).filter(|d| *d < 10_000) }
    };
    if sign == 0x4000 {
        out.push(b'-');
    }
    if weight < 0 {
        out.push(b'0');
    } else {
        for i in 0..=weight {
            let d = digit(i)?;
            if i == 0 {
                write_int(out, d as i64);
            } else {
                out.extend_from_slice(&four_digits(d));
            }
        }
    }
    if dscale > 0 {
        out.push(b'.');
        let mut left = dscale;
        let mut i = weight + 1;
        while left > 0 {
            let group = four_digits(digit(i)?);
            let take = left.min(4);
            out.extend_from_slice(&group[..take]);
            left -= take;
            i += 1;
        }
    }
    Some(())
}

fn four_digits(d: u16) -> [u8; 4] {
    [b'0' + (d / 1000) as u8, b'0' + (d / 100 % 10) as u8, b'0' + (d / 10 % 10) as u8, b'0' + (d % 10) as u8]
}

/// `YYYY-MM-DDTHH:MM:SS[.f{digits}]Z` for microseconds since the Unix epoch.
pub fn write_iso_utc(out: &mut Vec<u8>, unix_micros: i64, digits: u8) {
    let days = unix_micros.div_euclid(86_400_000_000);
    let micros_of_day = unix_micros.rem_euclid(86_400_000_000);
    let (year, month, day) = civil_from_days(days);
    let secs = micros_of_day / 1_000_000;
    let frac = micros_of_day % 1_000_000;
    let two = |out: &mut Vec<u8>, n: i64| {
        out.push(b'0' + (n / 10) as u8);
        out.push(b'0' + (n % 10) as u8);
    };
    if (0..=9999).contains(&year) {
        out.extend_from_slice(&four_digits(year as u16));
    } else {
        write_int(out, year);
    }
    out.push(b'-');
    two(out, month);
    out.push(b'-');
    two(out, day);
    out.push(b'T');
    two(out, secs / 3600);
    out.push(b':');
    two(out, secs / 60 % 60);
    out.push(b':');
    two(out, secs % 60);
    if digits > 0 {
        out.push(b'.');
        let text = [
            b'0' + (frac / 100_000) as u8,
            b'0' + (frac / 10_000 % 10) as u8,
            b'0' + (frac / 1000 % 10) as u8,
            b'0' + (frac / 100 % 10) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ];
        out.extend_from_slice(&text[..(digits.min(6) as usize)]);
    }
    out.push(b'Z');
}

/// Proleptic Gregorian (year, month, day) for days since 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (inverse of [`civil_from_days`]).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Java's `Double.toString` / `Float.toString` (what Kafka's JsonConverter writes): plain notation
/// with at least one fractional digit for 1e-3 <= |x| < 1e7, else `d.dddE<exp>`. Digits are the
/// shortest that round-trip (Rust's `{:e}`), as JDK 19+ prints; older JDKs differ in rare last
/// digits, never in value beyond the last bit.
fn write_java_float(out: &mut Vec<u8>, x: f64, single: bool) {
    if !x.is_finite() {
        // JSON has no NaN or Infinity; Jackson would write invalid JSON here. null keeps it parseable.
        out.extend_from_slice(b"null");
        return;
    }
    if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() { b"-0.0" } else { b"0.0" });
        return;
    }
    let sci = if single { format!("{:e}", x as f32) } else { format!("{x:e}") };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    if negative {
        out.push(b'-');
    }
    if (-3..7).contains(&exp) {
        if exp < 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            out.extend_from_slice(&digits);
        } else {
            let int_len = exp as usize + 1;
            for i in 0..int_len {
                out.push(*digits.get(i).unwrap_or(&b'0'));
            }
            out.push(b'.');
            if digits.len() > int_len {
                out.extend_from_slice(&digits[int_len..]);
            } else {
                out.push(b'0');
            }
        }
    } else {
        out.push(digits[0]);
        out.push(b'.');
        if digits.len() > 1 {
            out.extend_from_slice(&digits[1..]);
        } else {
            out.push(b'0');
        }
        out.push(b'E');
        write_int(out, exp as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(encoding: Encoding, v: &[u8]) -> String {
        let mut out = Vec::new();
        write_value(&mut out, encoding, Some(v)).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn numeric(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale].iter().chain(digits) {
            v.extend_from_slice(&w.to_be_bytes());
        }
        v
    }

    #[test]
    fn scalars_match_debezium() {
        assert_eq!(enc(Encoding::Bool, &[1]), "true");
        assert_eq!(enc(Encoding::Bool, &[0]), "false");
        assert_eq!(enc(Encoding::Int2, &3i16.to_be_bytes()), "3");
        assert_eq!(enc(Encoding::Int4, &(-42i32).to_be_bytes()), "-42");
        assert_eq!(enc(Encoding::Int8, &9_000_000_000i64.to_be_bytes()), "9000000000");
        assert_eq!(enc(Encoding::Int8, &i64::MIN.to_be_bytes()), "-9223372036854775808");
        assert_eq!(enc(Encoding::Oid, &4_000_000_000u32.to_be_bytes()), "4000000000");
        let uuid = [0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11];
        assert_eq!(enc(Encoding::Uuid, &uuid), r#""a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11""#);
        assert_eq!(enc(Encoding::Bytea, &[0xde, 0xad, 0xbe, 0xef]), r#""3q2+7w==""#);
        assert_eq!(enc(Encoding::Text, b"x  "), r#""x  ""#);
    }

    #[test]
    fn dates_and_times_match_debezium() {
        // 2024-03-01 is 8826 days after 2000-01-01; Debezium says 19783.
        assert_eq!(enc(Encoding::Date, &8826i32.to_be_bytes()), "19783");
        // 0001-01-01 -> -719162 and 1900-01-01 -> -25567, as Debezium printed them.
        assert_eq!(enc(Encoding::Date, &((-719_162 - PG_EPOCH_DAYS) as i32).to_be_bytes()), "-719162");
        assert_eq!(enc(Encoding::Date, &i32::MAX.to_be_bytes()), "null");
        // 13:14:15.5 -> 47655500 ms
        assert_eq!(enc(Encoding::Time, &47_655_500_000i64.to_be_bytes()), "47655500");
        // 2024-03-01 12:34:56.789123 -> 1709296496789 (truncated)
        let ts = 1_709_296_496_789_123i64 - PG_EPOCH_MICROS;
        assert_eq!(enc(Encoding::Timestamp, &ts.to_be_bytes()), "1709296496789");
        // 1960-01-01 00:00:00.0005 -> -315619200000 (floored, as Debezium does)
        let ts = -315_619_200_000_000i64 + 500 - PG_EPOCH_MICROS;
        assert_eq!(enc(Encoding::Timestamp, &ts.to_be_bytes()), "-315619200000");
        let tz = 1_709_289_296_789_100i64 - PG_EPOCH_MICROS;
        assert_eq!(enc(Encoding::TimestampTz(6), &tz.to_be_bytes()), r#""2024-03-01T10:34:56.789100Z""#);
        assert_eq!(enc(Encoding::TimestampTz(3), &tz.to_be_bytes()), r#""2024-03-01T10:34:56.789Z""#);
        assert_eq!(enc(Encoding::TimestampTz(0), &tz.to_be_bytes()), r#""2024-03-01T10:34:56Z""#);
        let before_1970 = -500_000i64 - PG_EPOCH_MICROS;
        assert_eq!(enc(Encoding::TimestampTz(1), &before_1970.to_be_bytes()), r#""1969-12-31T23:59:59.5Z""#);
        assert_eq!(enc(Encoding::Timestamp, &i64::MAX.to_be_bytes()), "null");
    }

    #[test]
    fn calendar_round_trips() {
        for days in [-719_162, -25_567, -1, 0, 19_783, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
        assert_eq!(days_from_civil(2000, 1, 1), PG_EPOCH_DAYS);
    }

    #[test]
    fn numerics_print_like_postgresql() {
        assert_eq!(enc(Encoding::Numeric, &numeric(2, 0, 0, 2, &[12, 5000])), r#""12.50""#);
        assert_eq!(enc(Encoding::Numeric, &numeric(3, 0, 0, 5, &[3, 1415, 9000])), r#""3.14159""#);
        assert_eq!(enc(Encoding::Numeric, &numeric(1, 0, 0, 0, &[100])), r#""100""#);
        assert_eq!(enc(Encoding::Numeric, &numeric(1, 1, 0, 0, &[1])), r#""10000""#);
        assert_eq!(enc(Encoding::Numeric, &numeric(1, -1, 0x4000, 6, &[5])), r#""-0.000500""#);
        assert_eq!(enc(Encoding::Numeric, &numeric(0, 0, 0, 2, &[])), r#""0.00""#);
        assert_eq!(enc(Encoding::Numeric, &numeric(0, 0, 0xC000, 0, &[])), r#""NaN""#);
        assert_eq!(
            enc(Encoding::Numeric, &numeric(3, 2, 0, 1, &[12, 3456, 7890])),
            r#""1234567890.0""#,
            "trailing groups beyond the digits are zeros"
        );
        let mut out = Vec::new();
        assert!(write_value(&mut out, Encoding::Numeric, Some(&[0, 1])).is_err());
    }

    #[test]
    fn floats_print_like_java() {
        let f8 = |x: f64| enc(Encoding::Float8, &x.to_be_bytes());
        let f4 = |x: f32| enc(Encoding::Float4, &x.to_be_bytes());
        assert_eq!(f8(1.5), "1.5");
        assert_eq!(f8(1e20), "1.0E20");
        assert_eq!(f8(1e7), "1.0E7");
        assert_eq!(f8(123456789.125), "1.23456789125E8");
        assert_eq!(f8(100.0), "100.0");
        assert_eq!(f8(0.001), "0.001");
        assert_eq!(f8(0.0001), "1.0E-4");
        assert_eq!(f8(-2.5e-7), "-2.5E-7");
        assert_eq!(f8(0.0), "0.0");
        assert_eq!(f8(f64::NAN), "null");
        assert_eq!(f4(0.1), "0.1");
        assert_eq!(f4(2.25), "2.25");
        assert_eq!(f4(1e-5), "1.0E-5");
        assert_eq!(f4(1e10), "1.0E10");
    }

    #[test]
    fn strings_are_json_escaped_then_tsv_escaped() {
        // JSON `"he said \"hi\"\n\ttab"` with each backslash doubled for TabSeparated.
        assert_eq!(enc(Encoding::Text, b"he said \"hi\"\n\ttab"), r#""he said \\"hi\\"\\n\\ttab""#);
        assert_eq!(enc(Encoding::Text, b"a\\b"), r#""a\\\\b""#);
        assert_eq!(enc(Encoding::Text, &[0x01]), r#""\\u0001""#);
        assert_eq!(enc(Encoding::Text, "Zomba – Malaŵi".as_bytes()), "\"Zomba – Malaŵi\"");
        // jsonb: version byte, then PostgreSQL's text of the document, as a string
        assert_eq!(enc(Encoding::Jsonb, b"\x01{\"a\": [1, 2]}"), r#""{\\"a\\": [1, 2]}""#);
        assert_eq!(enc(Encoding::JsonCast, br#"["a","b\"c"]"#), r#"["a","b\\"c"]"#);
    }

    #[test]
    fn malformed_values_are_errors_not_panics() {
        let mut out = Vec::new();
        for e in [Encoding::Int4, Encoding::Uuid, Encoding::Date, Encoding::Bool, Encoding::Jsonb, Encoding::Timestamp]
        {
            assert!(write_value(&mut out, e, Some(&[9, 2, 3])).is_err(), "{e:?}");
        }
        write_value(&mut out, Encoding::Uuid, None).unwrap();
        assert!(out.ends_with(b"null"));
    }
}
