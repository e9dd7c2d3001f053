//! Dates for HTTP headers (IMF-fixdate, RFC 9110 §5.6.7) and for JSON
//! listings (RFC 3339 UTC). Pure: the caller passes the time.
#![forbid(unsafe_code)]

use crate::syntax::trim_ows_str;

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31), Howard
/// Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01 (`days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn split(unix_secs: i64) -> (i64, u32, u32, i64, i64, i64, usize) {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let weekday = days.rem_euclid(7) as usize;
    (y, m, d, secs / 3600, secs / 60 % 60, secs % 60, weekday)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
///
/// ```
/// assert_eq!(ringdrop::http::date::http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn http_date(unix_secs: i64) -> String {
    let (y, m, d, hh, mm, ss, wd) = split(unix_secs);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[wd],
        d,
        MONTHS[(m - 1) as usize],
        y,
        hh,
        mm,
        ss
    )
}

/// `1994-11-06T08:49:37Z`
///
/// ```
/// assert_eq!(ringdrop::http::date::rfc3339(784111777), "1994-11-06T08:49:37Z");
/// ```
pub fn rfc3339(unix_secs: i64) -> String {
    let (y, m, d, hh, mm, ss, _) = split(unix_secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// Parses an IMF-fixdate (the only format servers must send, and what
/// browsers send back in `If-Modified-Since`). `None` for anything else.
///
/// ```
/// assert_eq!(ringdrop::http::date::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
/// ```
pub fn parse_http_date(text: &str) -> Option<i64> {
    let b = trim_ows_str(text).as_bytes();
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = std::str::from_utf8(b.get(r)?).ok()?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let day = num(5..7)?;
    let month = MONTHS.iter().position(|m| m.as_bytes() == &b[8..11])? as u32 + 1;
    let year = num(12..16)?;
    let (hh, mm, ss) = (num(17..19)?, num(20..22)?, num(23..25)?);
    if b[16] != b' '
        || b[19] != b':'
        || b[22] != b':'
        || !(1..=31).contains(&day)
        || hh > 23
        || mm > 59
        || ss > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day as u32);
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for secs in [
            0i64,
            1,
            59,
            86_399,
            86_400,
            951_782_400,
            1_700_000_000,
            4_102_444_800,
        ] {
            assert_eq!(parse_http_date(&http_date(secs)), Some(secs), "{secs}");
        }
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn rejects_other_formats() {
        for text in [
            "",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Foo 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(text), None, "{text}");
        }
    }
}
