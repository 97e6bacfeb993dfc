//! Secrets (OAuth tokens, IAM tokens, JWTs) that never show up in `Debug` output or errors.

use std::fmt;

use crate::error::{Error, Result};

/// A secret string. `Debug` prints `<redacted>` and there is no `Display`; [`Secret::expose`] is the only
/// way to read it, so every place that reveals a secret is easy to find.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret as it is.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Cleans a token read from a file, stdin or the environment: strips a UTF-8 BOM and
    /// surrounding whitespace (CR, LF, spaces), then checks it is one printable ASCII word.
    /// `origin` names where it came from, for the error; the value is never echoed.
    pub fn from_text(origin: &str, raw: &str) -> Result<Self> {
        let text = raw.strip_prefix('\u{feff}').unwrap_or(raw).trim();
        if text.is_empty() {
            return Err(Error::Usage(format!(
                "the token from {origin} is empty: put the token in it (one line, no quotes)"
            )));
        }
        if let Some(bad) = text.chars().find(|c| !c.is_ascii_graphic()) {
            let what = if bad.is_whitespace() {
                "white space inside it".to_string()
            } else {
                format!("the character U+{:04X}", bad as u32)
            };
            return Err(Error::Usage(format!(
                "the token from {origin} has {what}: a token is one word of printable ASCII; \
                 check that the file holds only the token"
            )));
        }
        Ok(Secret(text.to_string()))
    }

    /// Cleans a token given as raw bytes (a file or stdin), rejecting invalid UTF-8.
    pub fn from_bytes(origin: &str, raw: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(raw).map_err(|_| {
            Error::Usage(format!(
                "the token from {origin} is not UTF-8 text: save it as plain text"
            ))
        })?;
        Self::from_text(origin, text)
    }

    /// The secret itself. Use only where the secret must leave the process.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_bom_crlf_and_spaces() {
        let s = Secret::from_text("test", "\u{feff}  y0_abc\r\n").unwrap();
        assert_eq!(s.expose(), "y0_abc");
    }

    #[test]
    fn empty_and_inner_space_are_errors_naming_the_source_not_the_value() {
        let e = Secret::from_text("the file /x", " \r\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("the file /x") && e.contains("empty"), "{e}");
        let e = Secret::from_text("YC_TOKEN", "ab cd")
            .unwrap_err()
            .to_string();
        assert!(e.contains("YC_TOKEN") && !e.contains("ab cd"), "{e}");
    }

    #[test]
    fn non_utf8_is_an_error() {
        let e = Secret::from_bytes("stdin", &[0xff, 0xfe, 0x41]).unwrap_err();
        assert!(e.to_string().contains("not UTF-8"));
    }

    #[test]
    fn debug_redacts() {
        assert_eq!(format!("{:?}", Secret::new("t1.abc")), "Secret(<redacted>)");
    }
}
