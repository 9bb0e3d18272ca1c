//! KSUIDs (segmentio/ksuid format), used as c1z sync ids.
//!
//! 20 bytes = 4-byte big-endian seconds since 1_400_000_000 (2014-05-13T16:53:20Z) + 16
//! random bytes, rendered as 27 base62 characters (`0-9A-Za-z`) left-padded with `0`.
//! Newer Baton SDKs parse sync ids as KSUIDs, so a real one is required, not any string.

use std::fmt;

/// Unix time of KSUID second zero.
pub const KSUID_EPOCH: i64 = 1_400_000_000;
/// Length of the text form.
pub const KSUID_LEN: usize = 27;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A parsed or generated KSUID.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ksuid([u8; 20]);

impl Ksuid {
    /// A new KSUID for the current time with 16 bytes from the OS random source.
    pub fn generate() -> Result<Ksuid, getrandom::Error> {
        let mut payload = [0u8; 16];
        getrandom::fill(&mut payload)?;
        Ok(Ksuid::from_parts(
            super::timestamp::UnixTime::now().secs,
            payload,
        ))
    }

    /// Builds a KSUID from a Unix time (clamped to the representable range) and a payload.
    pub fn from_parts(unix_secs: i64, payload: [u8; 16]) -> Ksuid {
        let ts = (unix_secs - KSUID_EPOCH).clamp(0, i64::from(u32::MAX)) as u32;
        let mut bytes = [0u8; 20];
        bytes[..4].copy_from_slice(&ts.to_be_bytes());
        bytes[4..].copy_from_slice(&payload);
        Ksuid(bytes)
    }

    /// Parses the 27-character text form; `None` if malformed or above 2^160 - 1.
    pub fn parse(text: &str) -> Option<Ksuid> {
        if text.len() != KSUID_LEN {
            return None;
        }
        // Big-endian base-2^32 accumulator: value = value * 62 + digit.
        let mut words = [0u32; 5];
        for c in text.bytes() {
            let digit = ALPHABET.iter().position(|&a| a == c)? as u64;
            let mut carry = digit;
            for w in words.iter_mut().rev() {
                let v = u64::from(*w) * 62 + carry;
                *w = v as u32;
                carry = v >> 32;
            }
            if carry != 0 {
                return None;
            }
        }
        let mut bytes = [0u8; 20];
        for (chunk, w) in bytes.chunks_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        Some(Ksuid(bytes))
    }

    /// The Unix time (seconds) encoded in the first four bytes.
    pub fn unix_secs(&self) -> i64 {
        let ts = u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]);
        KSUID_EPOCH + i64::from(ts)
    }

    /// The 16 random payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.0[4..]
    }

    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Display for Ksuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Repeated long division of the 160-bit number by 62, least significant digit first.
        let mut words: Vec<u32> = self
            .0
            .chunks(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut out = [b'0'; KSUID_LEN];
        let mut pos = KSUID_LEN;
        while words.iter().any(|&w| w != 0) && pos > 0 {
            let mut rem = 0u64;
            for w in words.iter_mut() {
                let v = (rem << 32) | u64::from(*w);
                *w = (v / 62) as u32;
                rem = v % 62;
            }
            pos -= 1;
            out[pos] = ALPHABET[rem as usize];
        }
        // ALPHABET is ASCII, so this cannot fail.
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Ksuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ksuid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_27_base62_chars_and_current_time() {
        let before = super::super::timestamp::UnixTime::now().secs;
        let k = Ksuid::generate().unwrap();
        let text = k.to_string();
        assert_eq!(text.len(), KSUID_LEN);
        assert!(text.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!((k.unix_secs() - before).abs() <= 2);
        assert_eq!(Ksuid::parse(&text), Some(k));
        assert_ne!(Ksuid::generate().unwrap(), k);
    }

    #[test]
    fn decodes_go_written_sync_ids() {
        // Fixture KSUID 36zf… was started 2025-12-17 23:31:25 UTC (its file says 16:31 local).
        let k = Ksuid::parse("36zfOAoWMxQdISbixanQCRBiX7E").unwrap();
        assert_eq!(k.unix_secs(), 1_766_014_285);
        assert_eq!(k.to_string(), "36zfOAoWMxQdISbixanQCRBiX7E");
    }

    #[test]
    fn extremes_and_padding() {
        assert_eq!(Ksuid([0; 20]).to_string(), "000000000000000000000000000");
        assert_eq!(Ksuid([0xff; 20]).to_string(), "aWgEPTl1tmebfsQzFP4bxwgy80V");
        assert_eq!(
            Ksuid::parse("aWgEPTl1tmebfsQzFP4bxwgy80W"),
            None,
            "above 2^160-1"
        );
        assert_eq!(
            Ksuid::parse("000000000000000000000000000"),
            Some(Ksuid([0; 20]))
        );
        assert_eq!(Ksuid::parse("short"), None);
        assert_eq!(Ksuid::parse("00000000000000000000000000!"), None);
        let k = Ksuid::from_parts(KSUID_EPOCH + 1, [0; 16]);
        assert_eq!(k.unix_secs(), KSUID_EPOCH + 1);
        assert!(k.to_string().starts_with('0'));
        assert_eq!(k.payload(), &[0; 16]);
    }
}
