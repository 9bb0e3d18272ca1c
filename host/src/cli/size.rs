//! [`ByteSize`]: a size flag (`--max-database-size 20GiB`). A limit of 21474836480
//! bytes is hard to read in `--help` and easy to mistype, so binary units are accepted
//! and shown.

use std::fmt;
use std::str::FromStr;

/// Binary units, largest first, as written after the number.
const UNITS: [(&str, u64); 4] = [
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
];

/// A number of bytes, written as a whole number with an optional binary unit:
/// `1048576`, `512MiB`, `20GiB` (units in any case, a space allowed before them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteSize(pub(crate) u64);

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(raw: &str) -> Result<ByteSize, String> {
        let bad = || format!("`{raw}` is not a size such as 20GiB, 512MiB or 1048576 (bytes)");
        let text = raw.trim();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let number: u64 = number.parse().map_err(|_| bad())?;
        let unit = unit.trim_start();
        let scale = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(unit))
                .map(|(_, scale)| *scale)
                .ok_or_else(bad)?
        };
        number.checked_mul(scale).map(ByteSize).ok_or_else(bad)
    }
}

impl fmt::Display for ByteSize {
    /// In the largest unit that divides it, so that it reads back the same.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match UNITS
            .iter()
            .find(|(_, scale)| self.0 != 0 && self.0.is_multiple_of(*scale))
        {
            Some((name, scale)) => write!(f, "{}{name}", self.0 / scale),
            None => write!(f, "{}", self.0),
        }
    }
}

/// clap's parser for a size of at least `min` bytes.
pub(crate) fn at_least(min: u64) -> impl Fn(&str) -> Result<ByteSize, String> + Clone {
    move |raw| {
        let size: ByteSize = raw.parse()?;
        if size.0 < min {
            return Err(format!("`{raw}` is less than {}", ByteSize(min)));
        }
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_bytes_or_binary_units_and_print_back_alike() {
        for (raw, bytes, shown) in [
            ("20GiB", 20 << 30, "20GiB"),
            ("20 gib", 20 << 30, "20GiB"),
            ("512MiB", 512 << 20, "512MiB"),
            ("1536MiB", 1536 << 20, "1536MiB"),
            ("1048576", 1 << 20, "1MiB"),
            ("1000", 1000, "1000"),
            (" 2TiB ", 2 << 40, "2TiB"),
        ] {
            let size: ByteSize = raw.parse().unwrap();
            assert_eq!(size, ByteSize(bytes), "{raw}");
            assert_eq!(size.to_string(), shown, "{raw}");
        }
        for raw in [
            "",
            "GiB",
            "-1",
            "1.5GiB",
            "20GB",
            "20 G",
            "99999999999TiB",
            "1e9",
        ] {
            assert!(raw.parse::<ByteSize>().is_err(), "{raw}");
        }
    }

    #[test]
    fn a_size_below_the_minimum_is_refused() {
        let parse = at_least(1 << 20);
        assert_eq!(parse("1MiB").unwrap(), ByteSize(1 << 20));
        assert_eq!(parse("1000KiB").unwrap_err(), "`1000KiB` is less than 1MiB");
    }
}
