//! Byte sizes in stout's text form (`512MB`, `1GB`), as flags spell them; mirrors `3rdparty/stout/include/stout/bytes.hpp`.

use std::fmt;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Sub, SubAssign};
use std::str::FromStr;

/// A number of bytes. Arithmetic wraps modulo 2^64, as stout's `uint64_t` arithmetic does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(u64);

impl Bytes {
    pub const BYTES: u64 = 1;
    pub const KILOBYTES: u64 = 1024 * Self::BYTES;
    pub const MEGABYTES: u64 = 1024 * Self::KILOBYTES;
    pub const GIGABYTES: u64 = 1024 * Self::MEGABYTES;
    pub const TERABYTES: u64 = 1024 * Self::GIGABYTES;

    pub const fn new(bytes: u64) -> Self {
        Bytes(bytes)
    }

    /// `value * unit`, wrapping on overflow like stout's `Bytes(value, unit)`.
    pub const fn with_unit(value: u64, unit: u64) -> Self {
        Bytes(value.wrapping_mul(unit))
    }

    pub const fn kilobytes(value: u64) -> Self {
        Self::with_unit(value, Self::KILOBYTES)
    }

    pub const fn megabytes(value: u64) -> Self {
        Self::with_unit(value, Self::MEGABYTES)
    }

    pub const fn gigabytes(value: u64) -> Self {
        Self::with_unit(value, Self::GIGABYTES)
    }

    pub const fn terabytes(value: u64) -> Self {
        Self::with_unit(value, Self::TERABYTES)
    }

    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// Parses a whole number directly followed by a unit `B`, `KB`, `MB`, `GB` or `TB`
    /// (any case). There is no default unit, no fraction, no sign and no space; the error
    /// texts are stout's.
    pub fn parse(text: &str) -> Result<Bytes, String> {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        if digits == text.len() {
            return Err(format!("Invalid bytes '{text}'"));
        }
        // stout only notices a '.' while it is still reading digits, so "1MB.5" is an
        // unknown unit rather than a fraction.
        if text.as_bytes()[digits] == b'.' {
            return Err(format!("Fractional bytes '{text}'"));
        }
        let (number, unit) = text.split_at(digits);
        let value: u64 = number.parse().map_err(|_| format!("Failed to convert '{number}' to number"))?;
        let unit = unit.to_ascii_uppercase();
        let size = match unit.as_str() {
            "B" => Self::BYTES,
            "KB" => Self::KILOBYTES,
            "MB" => Self::MEGABYTES,
            "GB" => Self::GIGABYTES,
            "TB" => Self::TERABYTES,
            _ => return Err(format!("Unknown bytes unit '{unit}'")),
        };
        Ok(Bytes::with_unit(value, size))
    }
}

impl From<u64> for Bytes {
    fn from(bytes: u64) -> Self {
        Bytes(bytes)
    }
}

impl FromStr for Bytes {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Bytes::parse(text)
    }
}

/// The largest unit that loses nothing: `0B`, `1023B`, `1KB`, `1536KB`, `2GB`.
impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n == 0 {
            f.write_str("0B")
        } else if !n.is_multiple_of(Self::KILOBYTES) {
            write!(f, "{n}B")
        } else if !n.is_multiple_of(Self::MEGABYTES) {
            write!(f, "{}KB", n / Self::KILOBYTES)
        } else if !n.is_multiple_of(Self::GIGABYTES) {
            write!(f, "{}MB", n / Self::MEGABYTES)
        } else if !n.is_multiple_of(Self::TERABYTES) {
            write!(f, "{}GB", n / Self::GIGABYTES)
        } else {
            write!(f, "{}TB", n / Self::TERABYTES)
        }
    }
}

impl Add for Bytes {
    type Output = Bytes;
    fn add(self, that: Bytes) -> Bytes {
        Bytes(self.0.wrapping_add(that.0))
    }
}

impl AddAssign for Bytes {
    fn add_assign(&mut self, that: Bytes) {
        *self = *self + that;
    }
}

impl Sub for Bytes {
    type Output = Bytes;
    fn sub(self, that: Bytes) -> Bytes {
        Bytes(self.0.wrapping_sub(that.0))
    }
}

impl SubAssign for Bytes {
    fn sub_assign(&mut self, that: Bytes) {
        *self = *self - that;
    }
}

impl Mul<u64> for Bytes {
    type Output = Bytes;
    fn mul(self, multiplier: u64) -> Bytes {
        Bytes(self.0.wrapping_mul(multiplier))
    }
}

impl MulAssign<u64> for Bytes {
    fn mul_assign(&mut self, multiplier: u64) {
        *self = *self * multiplier;
    }
}

impl Div<u64> for Bytes {
    type Output = Bytes;
    fn div(self, divisor: u64) -> Bytes {
        Bytes(self.0 / divisor)
    }
}

impl DivAssign<u64> for Bytes {
    fn div_assign(&mut self, divisor: u64) {
        *self = *self / divisor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // stout `BytesTest.Parse`.
    #[test]
    fn parse() {
        assert_eq!(Bytes::parse("1TB"), Ok(Bytes::terabytes(1)));
        assert_eq!(Bytes::parse("1GB"), Ok(Bytes::gigabytes(1)));
        assert_eq!(Bytes::parse("1MB"), Ok(Bytes::megabytes(1)));
        assert_eq!(Bytes::parse("1KB"), Ok(Bytes::kilobytes(1)));
        assert_eq!(Bytes::parse("1B"), Ok(Bytes::new(1)));
        assert_eq!(Bytes::parse("1.5B"), Err("Fractional bytes '1.5B'".to_string()));
        assert_eq!(Bytes::parse("1.5GB"), Err("Fractional bytes '1.5GB'".to_string()));
        assert_eq!(Bytes::parse("1PB"), Err("Unknown bytes unit 'PB'".to_string()));
    }

    #[test]
    fn parse_edge_cases_follow_stout() {
        // The unit is case-insensitive and reported upper-cased.
        assert_eq!(Bytes::parse("512mb"), Ok(Bytes::megabytes(512)));
        assert_eq!(Bytes::parse("2Gb"), Ok(Bytes::gigabytes(2)));
        assert_eq!(Bytes::parse("1 mb"), Err("Unknown bytes unit ' MB'".to_string()));
        // No unit at all, or nothing.
        assert_eq!(Bytes::parse("1024"), Err("Invalid bytes '1024'".to_string()));
        assert_eq!(Bytes::parse(""), Err("Invalid bytes ''".to_string()));
        // No number, or a sign.
        assert_eq!(Bytes::parse("MB"), Err("Failed to convert '' to number".to_string()));
        assert_eq!(Bytes::parse("-1MB"), Err("Failed to convert '' to number".to_string()));
        assert_eq!(
            Bytes::parse("18446744073709551616B"),
            Err("Failed to convert '18446744073709551616' to number".to_string())
        );
        // The multiplication wraps, as `uint64_t` does.
        assert_eq!(Bytes::parse("16777216TB"), Ok(Bytes::new(0)));
        assert_eq!(Bytes::parse("0B"), Ok(Bytes::new(0)));
    }

    // stout `BytesTest.Arithmetic`.
    #[test]
    fn arithmetic() {
        assert_eq!(Bytes::terabytes(1), Bytes::gigabytes(512) + Bytes::gigabytes(512));
        assert_eq!(Bytes::terabytes(1), Bytes::terabytes(2) - Bytes::terabytes(1));
        assert_eq!(Bytes::terabytes(1), Bytes::gigabytes(1) * 1024);
        assert_eq!(Bytes::gigabytes(1), Bytes::terabytes(1) / 1024);
    }

    // stout `BytesTest.Comparison`.
    #[test]
    fn comparison() {
        assert!(Bytes::terabytes(1) > Bytes::gigabytes(1));
        assert!(Bytes::gigabytes(1) > Bytes::megabytes(1));
        assert!(Bytes::megabytes(1) > Bytes::kilobytes(1));
        assert!(Bytes::kilobytes(1) > Bytes::new(1));
        assert_eq!(Bytes::new(1024), Bytes::kilobytes(1));
        assert!(Bytes::new(1023) < Bytes::kilobytes(1));
        assert!(Bytes::new(1025) > Bytes::kilobytes(1));
    }

    // stout `BytesTest.Stringify`.
    #[test]
    fn stringify() {
        assert_ne!(Bytes::megabytes(1023), Bytes::gigabytes(1));
        assert_eq!(Bytes::default().to_string(), "0B");
        assert_eq!(Bytes::kilobytes(1).to_string(), "1KB");
        assert_eq!(Bytes::megabytes(1).to_string(), "1MB");
        assert_eq!(Bytes::gigabytes(1).to_string(), "1GB");
        assert_eq!(Bytes::terabytes(1).to_string(), "1TB");
        assert_eq!(Bytes::new(1023).to_string(), "1023B");
        assert_eq!(Bytes::kilobytes(1023).to_string(), "1023KB");
        assert_eq!(Bytes::megabytes(1023).to_string(), "1023MB");
        assert_eq!(Bytes::gigabytes(1023).to_string(), "1023GB");
        // Only whole units are used: 1.5MB prints in KB.
        assert_eq!(Bytes::kilobytes(1536).to_string(), "1536KB");
        assert_eq!(Bytes::terabytes(2048).to_string(), "2048TB");
    }
}
