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

/// Formats like stout's `operator<<(ostream&, const Duration&)`: the largest unit that keeps
/// the value at least 1, without trailing zeros (`1secs`, `1.5mins`, `100ms`, `0ns`).
pub fn format(d: Duration) -> String {
    let nanos = d.as_nanos() as f64;
    let units: [(&str, f64); 8] = [
        ("weeks", 604800e9),
        ("days", 86400e9),
        ("hrs", 3600e9),
        ("mins", 60e9),
        ("secs", 1e9),
        ("ms", 1e6),
        ("us", 1e3),
        ("ns", 1.0),
    ];
    for (unit, size) in units {
        if nanos >= size {
            return format!("{}{}", trim_float(nanos / size), unit);
        }
    }
    "0ns".to_string()
}

fn trim_float(value: f64) -> String {
    // stout prints with the stream's default precision (6 significant digits).
    let text = format!("{:.*}", 6usize.saturating_sub(value.abs().log10().floor().max(0.0) as usize + 1), value);
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
        assert_eq!(format(Duration::from_secs(90)), "1.5mins");
        assert_eq!(format(Duration::from_millis(100)), "100ms");
        assert_eq!(format(Duration::from_secs(15)), "15secs");
        assert_eq!(format(Duration::from_secs(7 * 86400)), "1weeks");
        assert_eq!(format(Duration::ZERO), "0ns");
    }
}
