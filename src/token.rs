//! IAM tokens, their expiry, and the rule for when to renew them.

use std::fmt;
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::secret::Secret;

/// Renew a token once it is this old (Yandex recommends hourly renewal).
const RENEW_AFTER_AGE: Duration = Duration::from_secs(3600);
/// A token with less than this left is not served even while a refresh is failing.
pub(crate) const MIN_USABLE_LEFT: Duration = Duration::from_secs(60);

/// An IAM token with its expiry. `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq)]
pub struct IamToken {
    token: Secret,
    expires_at: Option<SystemTime>,
    obtained_at: SystemTime,
}

impl IamToken {
    /// A token obtained now that expires at `expires_at` (`None` when unknown, e.g. a token
    /// given by the user as is).
    pub fn new(token: Secret, expires_at: Option<SystemTime>) -> Self {
        Self::obtained(token, expires_at, SystemTime::now())
    }

    pub(crate) fn obtained(
        token: Secret,
        expires_at: Option<SystemTime>,
        obtained_at: SystemTime,
    ) -> Self {
        IamToken {
            token,
            expires_at,
            obtained_at,
        }
    }

    /// The token itself, for an `Authorization: Bearer` header.
    pub fn secret(&self) -> &Secret {
        &self.token
    }

    /// The token text. Reveals the secret: use it only to hand the token to its user.
    pub fn expose(&self) -> &str {
        self.token.expose()
    }

    /// When the token stops working, if known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// When yciam obtained the token.
    pub fn obtained_at(&self) -> SystemTime {
        self.obtained_at
    }

    /// The expiry as RFC 3339 UTC, if known.
    pub fn expires_at_rfc3339(&self) -> Option<String> {
        self.expires_at.map(format_rfc3339)
    }

    /// Time left until expiry at `now` (zero once expired; `None` when the expiry is unknown).
    pub fn time_left(&self, now: SystemTime) -> Option<Duration> {
        self.expires_at
            .map(|e| e.duration_since(now).unwrap_or(Duration::ZERO))
    }

    /// When this token should be renewed: an hour after it was obtained, or when a quarter
    /// of its lifetime is left, whichever comes first (`None` when the expiry is unknown).
    pub fn renew_at(&self) -> Option<SystemTime> {
        let expires_at = self.expires_at?;
        let lifetime = expires_at
            .duration_since(self.obtained_at)
            .unwrap_or(Duration::ZERO);
        Some((self.obtained_at + RENEW_AFTER_AGE).min(expires_at - lifetime / 4))
    }

    /// Fresh: not yet due for renewal (see [`IamToken::renew_at`]). A token of unknown expiry
    /// is never renewed (there is nothing to renew it from).
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        self.renew_at().is_none_or(|at| now < at)
    }

    /// Still good enough to serve while a refresh is failing: more than a minute left.
    pub fn is_usable(&self, now: SystemTime) -> bool {
        self.time_left(now)
            .is_none_or(|left| left > MIN_USABLE_LEFT)
    }
}

impl fmt::Debug for IamToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamToken")
            .field("token", &self.token)
            .field("expires_at", &self.expires_at_rfc3339())
            .finish()
    }
}

/// Parses an RFC 3339 timestamp with 0 to 9 fractional digits and `Z` or an offset. Times
/// outside the years 1970 to 9999 (UTC) are refused: no token lives then, and they could not
/// be written back as RFC 3339.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let utc = t.checked_to_offset(time::UtcOffset::UTC)?;
    (1970..=9999)
        .contains(&utc.year())
        .then(|| SystemTime::from(utc))
}

/// Formats a time as RFC 3339 in UTC.
pub fn format_rfc3339(t: SystemTime) -> String {
    OffsetDateTime::from(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
}

/// Seconds since the Unix epoch (negative before it).
pub fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_zero_to_nine_fraction_digits_and_offsets() {
        let base = parse_rfc3339("2026-11-30T06:01:02Z").unwrap();
        for (text, nanos) in [
            ("2026-11-30T06:01:02.1Z", 100_000_000),
            ("2026-11-30T06:01:02.123456Z", 123_456_000),
            ("2026-11-30T06:01:02.123456789Z", 123_456_789),
            ("2026-11-30T09:01:02.123456789+03:00", 123_456_789),
        ] {
            let t = parse_rfc3339(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(t.duration_since(base).unwrap().as_nanos(), nanos, "{text}");
        }
        assert!(parse_rfc3339("2026-11-30 06:01:02").is_none());
        // Found by fuzzing: offsets that push the UTC year out of 0000-9999.
        assert!(parse_rfc3339("0000-01-01T00:00:00+23:59").is_none());
        assert!(parse_rfc3339("9999-12-31T23:59:59-23:59").is_none());
        assert!(parse_rfc3339("1969-12-31T23:59:59Z").is_none());
        assert!(parse_rfc3339("").is_none());
    }

    #[test]
    fn freshness_follows_the_hour_and_quarter_rule() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let h = Duration::from_secs(3600);
        let twelve = IamToken::obtained(Secret::new("t"), Some(t0 + 12 * h), t0);
        assert!(twelve.is_fresh(t0 + h - Duration::from_secs(1)));
        assert!(!twelve.is_fresh(t0 + h));
        assert!(twelve.is_usable(t0 + 11 * h));
        assert!(!twelve.is_usable(t0 + 12 * h - Duration::from_secs(30)));
        // A short-lived token (metadata service, 40 min) is renewed when a quarter is left.
        let short = IamToken::obtained(
            Secret::new("t"),
            Some(t0 + 40 * 60 * Duration::from_secs(1)),
            t0,
        );
        assert!(short.is_fresh(t0 + Duration::from_secs(29 * 60)));
        assert!(!short.is_fresh(t0 + Duration::from_secs(31 * 60)));
        let forever = IamToken::obtained(Secret::new("t"), None, t0);
        assert!(forever.is_fresh(t0 + 100 * h) && forever.is_usable(t0 + 100 * h));
    }

    #[test]
    fn debug_redacts_the_token() {
        let t = IamToken::new(Secret::new("t1.secret"), None);
        assert!(!format!("{t:?}").contains("t1.secret"));
    }
}
