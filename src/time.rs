//! Timestamps as the bundle stores them: whole seconds since the Unix epoch (UTC), `i64`.
//!
//! Catalogues are authored with RFC 3339 strings (`2026-12-01T00:00:00Z`); this module turns them
//! into seconds and back, without a dependency and without a clock: the decision code never asks
//! what time it is, the host passes `now` in. That keeps decisions replayable.

use crate::{Error, Result};

/// Seconds since 1970-01-01T00:00:00Z.
pub type Timestamp = i64;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Parses an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS`, optional fraction (dropped), then `Z` or
/// a `±HH:MM` offset. `path` names where the value came from, for the error.
///
/// The text comes from outside (a host's `now`, a catalogue, a profile), so it is read as bytes
/// and never sliced: any input, however malformed or non-ASCII, is an error, never a panic.
pub fn parse_rfc3339(text: &str, path: &str) -> Result<Timestamp> {
    let bad = || {
        Error::argument(
            path,
            format!("expected an RFC 3339 date-time such as 2026-12-01T00:00:00Z, found {text:?}"),
        )
    };
    let b = text.as_bytes();
    let (date_time, rest) = b.split_at_checked(DATE_TIME_LEN).ok_or_else(bad)?;
    let [y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1, b'T' | b't' | b' ', h0, h1, b':', mi0, mi1, b':', s0, s1] =
        *date_time
    else {
        return Err(bad());
    };
    let year = digits(&[y0, y1, y2, y3]).ok_or_else(bad)?;
    let (month, day) = (digits(&[mo0, mo1]).ok_or_else(bad)?, digits(&[d0, d1]).ok_or_else(bad)?);
    let (hour, minute) = (digits(&[h0, h1]).ok_or_else(bad)?, digits(&[mi0, mi1]).ok_or_else(bad)?);
    let second = digits(&[s0, s1]).ok_or_else(bad)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let mut rest = rest;
    if let [b'.', frac @ ..] = rest {
        let count = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if count == 0 {
            return Err(bad());
        }
        rest = frac.get(count..).ok_or_else(bad)?;
    }
    let offset = match *rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), oh0, oh1, b':', om0, om1] => {
            let (oh, om) = (digits(&[oh0, oh1]).ok_or_else(bad)?, digits(&[om0, om1]).ok_or_else(bad)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let sign = if sign == b'-' { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(year, month, day);
    Ok(days * DAY + hour * 3600 + minute * 60 + second.min(59) - offset)
}

/// `YYYY-MM-DDTHH:MM:SS`: the fixed-width part of an RFC 3339 date-time.
const DATE_TIME_LEN: usize = 19;

/// The value of a run of ASCII decimal digits; `None` if any byte is not one.
fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
}

/// Formats seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(t: Timestamp) -> String {
    let days = t.div_euclid(DAY);
    let secs = t.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utc_and_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z", "t").unwrap(), 0);
        assert_eq!(parse_rfc3339("2026-12-01T00:00:00Z", "t").unwrap(), 1_796_083_200);
        assert_eq!(parse_rfc3339("2026-12-01T01:00:00+01:00", "t").unwrap(), 1_796_083_200);
        assert_eq!(parse_rfc3339("2026-11-30T23:00:00.250-01:00", "t").unwrap(), 1_796_083_200);
        assert_eq!(parse_rfc3339("2024-02-29T12:00:00Z", "t").unwrap(), 1_709_208_000);
    }

    #[test]
    fn rejects_nonsense_with_the_path() {
        for bad in ["", "2026-12-01", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-12-01T00:00:00", "2026-12-01T24:00:00Z", "2026-12-01T00:00:00+1:00", "x026-12-01T00:00:00Z"] {
            let err = parse_rfc3339(bad, "valid.from").unwrap_err();
            assert_eq!(err.code(), "invalid_argument", "{bad}");
            assert!(err.to_string().starts_with("valid.from: expected an RFC 3339"), "{err}");
        }
    }

    #[test]
    fn never_panics_on_malformed_text() {
        // Each of these once panicked (a multi-byte character across a field boundary) or could.
        for bad in ["2026-12-05T09:30:0€Z", "2026-12-05T09:30:00.€", "2026-12-05T09:30:00+0€:00", "€€€€€€€€€€€€€€€€€€€€", "2026-12-05T09:3€:00Z", "2026-12-05T09:30:00+01:0€", "2026-12-05T09:30:00.5+01:0", "2026-12-05T09:30:00."] {
            let err = parse_rfc3339(bad, "now").unwrap_err();
            assert_eq!(err.code(), "invalid_argument", "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for t in [0, 1_796_083_200, -86_401, 4_102_444_799, 951_782_400] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t), "t").unwrap(), t);
        }
        assert_eq!(format_rfc3339(1_709_208_000), "2024-02-29T12:00:00Z");
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_an_answer_never_a_panic(text in "\\PC{0,40}") {
            let _ = parse_rfc3339(&text, "t");
        }

        #[test]
        fn a_valid_shape_with_any_characters_spliced_in(at in 0usize..25, spliced in "\\PC{1,3}") {
            let mut text = String::from("2026-12-05T09:30:00+01:00");
            let at = (0..=at.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            text.insert_str(at, &spliced);
            let _ = parse_rfc3339(&text, "t");
        }

        #[test]
        fn every_second_formats_and_parses_back(t in -62_135_596_800i64..253_402_300_799) {
            proptest::prop_assert_eq!(parse_rfc3339(&format_rfc3339(t), "t").unwrap(), t);
        }
    }
}
