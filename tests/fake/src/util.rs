//! Small helpers shared by the other modules: randomness, Yandex-style ids,
//! IAM token shapes, RFC 3339 formatting and query-string parsing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;
use time::macros::format_description;

/// Alphabet of Yandex Cloud resource ids (20 characters, lowercase).
const ID_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuv0123456789";

/// `n` bytes from the system CSPRNG.
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // SystemRandom::fill only fails when the OS has no entropy source at all.
    SystemRandom::new()
        .fill(&mut buf)
        .expect("system random number generator failed");
    buf
}

/// A random 20-character Yandex-style id starting with `prefix` (e.g. "aje").
pub(crate) fn random_id(prefix: &str) -> String {
    let mut id = String::from(prefix);
    for b in random_bytes(20usize.saturating_sub(prefix.len())) {
        id.push(ID_ALPHABET[(b & 31) as usize] as char);
    }
    id
}

/// A deterministic 20-character id from `prefix` and `seed` (stable across runs).
pub(crate) fn seeded_id(prefix: &str, seed: u64) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut id = String::from(prefix);
    while id.len() < 20 {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        id.push(ID_ALPHABET[(z & 31) as usize] as char);
    }
    id
}

/// A UUID-v4-shaped request id, as Yandex Cloud puts in `x-request-id`.
pub(crate) fn request_id() -> String {
    let mut b = random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A fresh IAM token: `t1.<32 base64url chars>.<86 base64url chars>`.
pub(crate) fn new_iam_token() -> String {
    format!(
        "t1.{}.{}",
        URL_SAFE_NO_PAD.encode(random_bytes(24)),
        URL_SAFE_NO_PAD.encode(random_bytes(64))
    )
}

/// RFC 3339 UTC with exactly 9 fractional digits, e.g. `2026-11-30T06:01:02.123456789Z`.
pub(crate) fn rfc3339_nanos(t: OffsetDateTime) -> String {
    let f =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(f)
        .unwrap_or_default()
}

/// RFC 3339 UTC with exactly 6 fractional digits (the `created_at` of yc key files).
pub(crate) fn rfc3339_micros(t: OffsetDateTime) -> String {
    let f =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(f)
        .unwrap_or_default()
}

/// RFC 3339 UTC without fractional seconds.
pub(crate) fn rfc3339_secs(t: OffsetDateTime) -> String {
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(f)
        .unwrap_or_default()
}

/// Percent-decodes one query component (`+` is a space). Invalid escapes stay literal.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a query string into decoded `(name, value)` pairs.
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tokens_have_the_documented_shape() {
        let id = random_id("aje");
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("aje"));
        assert_eq!(seeded_id("b1g", 7), seeded_id("b1g", 7));
        assert_ne!(seeded_id("b1g", 7), seeded_id("b1g", 8));
        let t = new_iam_token();
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "t1");
        assert_eq!(parts[1].len(), 32);
        assert_eq!(parts[2].len(), 86);
        let rid = request_id();
        assert_eq!(rid.len(), 36);
        assert_eq!(rid.matches('-').count(), 4);
    }

    #[test]
    fn timestamps_have_fixed_fraction_digits() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_000_000_123).unwrap();
        assert_eq!(rfc3339_nanos(t), "2023-11-14T22:13:20.000000123Z");
        assert_eq!(rfc3339_micros(t), "2023-11-14T22:13:20.000000Z");
        assert_eq!(rfc3339_secs(t), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn query_parsing_decodes() {
        assert_eq!(
            parse_query("pageSize=10&pageToken=a%3Db+c&x&%zz=1"),
            vec![
                ("pageSize".into(), "10".into()),
                ("pageToken".into(), "a=b c".into()),
                ("x".into(), String::new()),
                ("%zz".into(), "1".into()),
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("1%4"), "1%4");
    }
}
