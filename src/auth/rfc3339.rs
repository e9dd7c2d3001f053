//! RFC 3339 timestamps (`2030-01-31T12:00:00Z`, `2030-01-31T13:00:00+01:00`)
//! → Unix seconds, for the `EXPIRES` column of the token file. Pure.
#![forbid(unsafe_code)]

/// Days before the first of each month in a non-leap year.
const DAYS_BEFORE_MONTH: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: usize) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Leap years in `0..year` (proleptic Gregorian, year 0 is one), for
/// `year >= 0`.
fn leap_years_before(year: i64) -> i64 {
    (year + 3) / 4 - (year + 99) / 100 + (year + 399) / 400
}

/// `len` ASCII digits at `at` as a number.
fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let field = b.get(at..at.checked_add(len)?)?;
    field.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// Parses an RFC 3339 `date-time` (section 5.6): `T`, `t` or a space
/// between date and time, optional fractional seconds (dropped: the result
/// is the whole second at or before the instant), `Z`/`z` or a numeric
/// offset. A leap second (`:60`) counts as `:59`. `None` for anything
/// else, including years before 0000 or after 9999 (which RFC 3339 cannot
/// write).
///
/// ```
/// use ringdrop::auth::parse_rfc3339;
/// assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
/// assert_eq!(parse_rfc3339("1994-11-06T09:49:37.5+01:00"), Some(784111777));
/// assert_eq!(parse_rfc3339("2030-02-30T00:00:00Z"), None);
/// ```
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    let month = usize::try_from(digits(b, 5, 2)?).ok()?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // A leap second is the last second of its minute.
    let second = second.min(59);
    let mut rest = b.get(19..)?;
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = tail.get(n..)?;
    }
    let offset_secs = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (digits(rest, 1, 2)?, digits(rest, 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = oh * 3600 + om * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let days = 365 * (year - 1970) + leap_years_before(year) - leap_years_before(1970)
        + DAYS_BEFORE_MONTH.get(month - 1)?
        + i64::from(month > 2 && is_leap(year))
        + day
        - 1;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::date::rfc3339;

    #[test]
    fn table() {
        let cases: &[(&str, Option<i64>)] = &[
            ("1970-01-01T00:00:00Z", Some(0)),
            ("1970-01-01t00:00:01z", Some(1)),
            ("1970-01-01 00:00:01Z", Some(1)),
            ("1969-12-31T23:59:59Z", Some(-1)),
            ("0000-01-01T00:00:00Z", Some(-62_167_219_200)),
            ("2000-02-29T00:00:00Z", Some(951_782_400)),
            ("2038-01-19T03:14:08Z", Some(1 << 31)),
            ("2030-01-01T01:00:00+01:00", Some(1_893_456_000)),
            ("2029-12-31T23:00:00-01:00", Some(1_893_456_000)),
            ("2030-01-01T00:00:00.999999999Z", Some(1_893_456_000)),
            ("2016-12-31T23:59:60Z", Some(1_483_228_799)),
            ("9999-12-31T23:59:59Z", Some(253_402_300_799)),
            ("2001-02-29T00:00:00Z", None),
            ("1900-02-29T00:00:00Z", None),
            ("2030-13-01T00:00:00Z", None),
            ("2030-00-01T00:00:00Z", None),
            ("2030-01-00T00:00:00Z", None),
            ("2030-04-31T00:00:00Z", None),
            ("2030-01-01T24:00:00Z", None),
            ("2030-01-01T00:60:00Z", None),
            ("2030-01-01T00:00:61Z", None),
            ("2030-01-01T00:00:00", None),
            ("2030-01-01T00:00:00.Z", None),
            ("2030-01-01T00:00:00+0100", None),
            ("2030-01-01T00:00:00+24:00", None),
            ("2030-01-01T00:00:00Z ", None),
            ("2030-01-01", None),
            ("2030/01/01T00:00:00Z", None),
            ("+030-01-01T00:00:00Z", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_rfc3339(text), *want, "{text:?}");
        }
    }

    #[test]
    fn round_trips_with_the_listing_formatter() {
        // Every 37 hours and 13 seconds across 1970..2100.
        let mut t = 0i64;
        while t < 4_102_444_800 {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t), "{}", rfc3339(t));
            t += 37 * 3600 + 13;
        }
    }
}
