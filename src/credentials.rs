//! Credential sources and the default chain: which credential to use, and where it came from.

use std::io::Read;
use std::path::Path;

use crate::config::{CredentialChoice, Options};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// A credential ready to be turned into an IAM token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credential {
    /// An IAM token used as is (no exchange, no refresh).
    IamToken(Secret),
    /// A Yandex account OAuth token, exchanged at the IAM API.
    OAuthToken(Secret),
}

impl Credential {
    /// A short name of the kind of credential, for logs and cache keys.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::IamToken(_) => "iam-token",
            Credential::OAuthToken(_) => "oauth-token",
        }
    }

    /// The bytes that identify this credential (hashed for cache keys, never stored).
    pub(crate) fn identity(&self) -> &[u8] {
        match self {
            Credential::IamToken(s) | Credential::OAuthToken(s) => s.expose().as_bytes(),
        }
    }
}

/// A credential and a description of where it came from ("YC_OAUTH_TOKEN", "--oauth-token-file …").
#[derive(Clone, Debug)]
pub struct Source {
    /// The credential.
    pub credential: Credential,
    /// Where it came from, for messages.
    pub origin: String,
}

/// Looks up environment variables; tests pass their own.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Picks the credential: the explicit choice in `options`, else the default chain.
pub(crate) fn resolve(options: &Options, env: Env<'_>) -> Result<Source> {
    match &options.credential {
        CredentialChoice::DefaultChain => default_chain(env),
        CredentialChoice::OAuthToken(s) => Ok(Source {
            credential: Credential::OAuthToken(s.clone()),
            origin: "the given OAuth token".into(),
        }),
        CredentialChoice::IamToken(s) => Ok(Source {
            credential: Credential::IamToken(s.clone()),
            origin: "the given IAM token".into(),
        }),
        CredentialChoice::OAuthTokenFile(path) => {
            let (origin, secret) = read_token_file(path)?;
            Ok(Source {
                credential: Credential::OAuthToken(secret),
                origin,
            })
        }
    }
}

/// Reads a token from a file, or from standard input for `-`.
pub fn read_token_file(path: &Path) -> Result<(String, Secret)> {
    let (origin, bytes) = if path == Path::new("-") {
        let origin = "standard input".to_string();
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(64 * 1024)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("cannot read the token from standard input", &e))?;
        (origin, buf)
    } else {
        let origin = format!("the file {}", path.display());
        let bytes = std::fs::read(path).map_err(|e| {
            Error::Usage(format!(
                "cannot read the token file {}: {}",
                path.display(),
                io_reason(&e)
            ))
        })?;
        (origin, bytes)
    };
    let secret = Secret::from_bytes(&origin, &bytes)?;
    Ok((origin, secret))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file: check the path".into(),
        std::io::ErrorKind::PermissionDenied => {
            "permission denied: check the file's owner and mode".into()
        }
        _ => e.to_string(),
    }
}

/// `t1.<...>.<...>`: the shape Terraform uses to tell an IAM token in `YC_TOKEN`.
fn looks_like_iam_token(s: &str) -> bool {
    s.starts_with("t1.") && s.matches('.').count() == 2
}

/// The default chain. Each variable that is unset or empty is noted and skipped; the first
/// that applies wins.
fn default_chain(env: Env<'_>) -> Result<Source> {
    let mut tried = Vec::new();
    let mut var = |name: &str| -> Result<Option<Secret>> {
        match env(name) {
            Some(v) if !v.trim().is_empty() => {
                Secret::from_text(&format!("the variable {name}"), &v).map(Some)
            }
            Some(_) => {
                tried.push(format!("{name}: set but empty"));
                Ok(None)
            }
            None => {
                tried.push(format!("{name}: not set"));
                Ok(None)
            }
        }
    };
    if let Some(s) = var("YC_IAM_TOKEN")? {
        return Ok(Source {
            credential: Credential::IamToken(s),
            origin: "YC_IAM_TOKEN".into(),
        });
    }
    if let Some(s) = var("YC_OAUTH_TOKEN")? {
        return Ok(Source {
            credential: Credential::OAuthToken(s),
            origin: "YC_OAUTH_TOKEN".into(),
        });
    }
    if let Some(s) = var("YC_TOKEN")? {
        let credential = if looks_like_iam_token(s.expose()) {
            Credential::IamToken(s)
        } else {
            Credential::OAuthToken(s)
        };
        return Ok(Source {
            credential,
            origin: "YC_TOKEN".into(),
        });
    }
    Err(Error::NoCredential(tried))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn chain(vars: &[(&str, &str)]) -> Result<Source> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        default_chain(&move |n: &str| map.get(n).cloned())
    }

    #[test]
    fn iam_token_wins_then_oauth_then_yc_token() {
        let s = chain(&[("YC_IAM_TOKEN", "t1.a.b"), ("YC_OAUTH_TOKEN", "y0_x")]).unwrap();
        assert!(matches!(s.credential, Credential::IamToken(_)));
        let s = chain(&[("YC_OAUTH_TOKEN", "y0_x"), ("YC_TOKEN", "t1.a.b")]).unwrap();
        assert_eq!(s.origin, "YC_OAUTH_TOKEN");
        let s = chain(&[("YC_TOKEN", "t1.a.b")]).unwrap();
        assert!(matches!(s.credential, Credential::IamToken(_)));
        let s = chain(&[("YC_TOKEN", "y0_AgAAAA")]).unwrap();
        assert!(matches!(s.credential, Credential::OAuthToken(_)));
        let s = chain(&[("YC_TOKEN", "t1.a.b.c")]).unwrap();
        assert!(matches!(s.credential, Credential::OAuthToken(_)));
    }

    #[test]
    fn nothing_set_lists_every_source() {
        let e = chain(&[("YC_OAUTH_TOKEN", " ")]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("YC_IAM_TOKEN: not set"), "{text}");
        assert!(text.contains("YC_OAUTH_TOKEN: set but empty"), "{text}");
        assert!(text.contains("YC_TOKEN: not set"), "{text}");
    }
}
