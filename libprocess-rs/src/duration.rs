//! Durations in stout's text form (`10secs`, `1.5mins`, `100ms`), as flags and query parameters spell them; mirrors `3rdparty/stout/include/stout/duration.hpp`.

use std::time::Duration;

/// Parses `<number><unit>` with units `ns`, `us`, `ms`, `secs`, `mins`, `hrs`, `days`,
/// `weeks` (stout `Duration::parse`). The number may be fractional; negative values and
/// unknown units are errors.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("Invalid duration '{text}'"))?;
    let nanos_per_unit: f64 = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "secs" => 1e9,
        "mins" => 60e9,
        "hrs" => 3600e9,
        "days" => 86400e9,
        "weeks" => 604800e9,
        _ => return Err(format!("Unknown duration unit '{unit}' in '{text}'")),
    };
    let nanos = value * nanos_per_unit;
    if !nanos.is_finite() || nanos < 0.0 || nanos > u64::MAX as f64 {
        return Err(format!("Duration '{text}' is out of range"));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// Formats like stout's `operator<<(ostream&, const Duration&)`: take the largest unit not
/// above the value; if the value is not a whole number of it but is a whole number of the
/// next smaller unit, use that one instead (`90secs`, `1500ms`); print with 15 significant
/// digits and no trailing zeros (`18.095412ms`).
pub fn format(d: Duration) -> String {
    const UNITS: [(&str, u128); 8] = [
        ("ns", 1),
        ("us", 1_000),
        ("ms", 1_000_000),
        ("secs", 1_000_000_000),
        ("mins", 60_000_000_000),
        ("hrs", 3_600_000_000_000),
        ("days", 86_400_000_000_000),
        ("weeks", 604_800_000_000_000),
    ];
    let nanos = d.as_nanos();
    let bucket = UNITS.iter().rposition(|&(_, size)| nanos >= size).unwrap_or(0);
    if bucket == 0 {
        return format!("{nanos}ns");
    }
    let (unit, size) = UNITS[bucket];
    let (smaller_unit, smaller_size) = UNITS[bucket - 1];
    if !nanos.is_multiple_of(size) && nanos.is_multiple_of(smaller_size) {
        return format!("{}{}", nanos / smaller_size, smaller_unit);
    }
    format!("{}{}", significant(nanos as f64 / size as f64, 15), unit)
}

/// `value` as C++ streams print a double with `precision(digits)` (like `%.{digits}g`).
pub(crate) fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let exponent = value.abs().log10().floor() as i32;
    if exponent < -5 || exponent >= digits {
        let text = format!("{:.*e}", (digits - 1) as usize, value);
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa =
            if mantissa.contains('.') { mantissa.trim_end_matches('0').trim_end_matches('.') } else { mantissa };
        let exp: i32 = exp.parse().unwrap_or(0);
        return format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let decimals = (digits - 1 - exponent).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("1secs").unwrap(), Duration::from_secs(1));
        assert_eq!(parse("1.5mins").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse("2weeks").unwrap(), Duration::from_secs(14 * 86400));
        assert!(parse("5").is_err());
        assert!(parse("-1secs").is_err());
        assert!(parse("1parsecs").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn formats_like_stout() {
        assert_eq!(format(Duration::from_secs(1)), "1secs");
        // Not whole in minutes but whole in seconds: the smaller unit.
        assert_eq!(format(Duration::from_secs(90)), "90secs");
        assert_eq!(format(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format(Duration::from_millis(100)), "100ms");
        assert_eq!(format(Duration::from_secs(15)), "15secs");
        assert_eq!(format(Duration::from_secs(7 * 86400)), "1weeks");
        assert_eq!(format(Duration::from_secs(10 * 86400)), "10days");
        assert_eq!(format(Duration::from_nanos(18_095_412)), "18.095412ms");
        assert_eq!(format(Duration::from_nanos(1_500_000_001)), "1.500000001secs");
        assert_eq!(format(Duration::from_nanos(999)), "999ns");
        assert_eq!(format(Duration::from_nanos(1_500)), "1500ns");
        assert_eq!(format(Duration::from_micros(2)), "2us");
        assert_eq!(format(Duration::ZERO), "0ns");
    }

    #[test]
    fn significant_digits() {
        assert_eq!(significant(0.1, 15), "0.1");
        assert_eq!(significant(2.5, 15), "2.5");
        assert_eq!(significant(1234567.0, 15), "1234567");
        assert_eq!(significant(1e20, 15), "1e+20");
    }
}
