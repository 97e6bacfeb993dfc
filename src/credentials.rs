//! Credential sources and the default chain: which credential to use, and where it came from.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{CredentialChoice, Options};
use crate::error::{Error, Result};
use crate::profile::{self, Pick, ProfileAuth};
use crate::sa_key::ServiceAccountKey;
use crate::secret::Secret;
use crate::token::IamToken;
use crate::yc;

/// The metadata service's address on every Yandex Cloud VM.
pub const DEFAULT_METADATA_ADDR: &str = "169.254.169.254";

/// A credential ready to be turned into an IAM token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credential {
    /// An IAM token used as is (no exchange, no refresh).
    IamToken(Secret),
    /// A Yandex account OAuth token, exchanged at the IAM API.
    OAuthToken(Secret),
    /// A service account authorized key: a signed JWT is exchanged at the IAM API.
    ServiceAccountKey(Arc<ServiceAccountKey>),
    /// The VM metadata service at `host:port`.
    Metadata(String),
    /// The yc CLI at this path, with this profile (federated accounts).
    YcCli(PathBuf, Option<String>),
}

impl Credential {
    /// A short name of the kind of credential, for logs and cache keys.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::IamToken(_) => "iam-token",
            Credential::OAuthToken(_) => "oauth-token",
            Credential::ServiceAccountKey(_) => "service-account-key",
            Credential::Metadata(_) => "metadata",
            Credential::YcCli(..) => "yc",
        }
    }

    /// The bytes that identify this credential (hashed for cache keys, never stored).
    pub(crate) fn identity(&self) -> Vec<u8> {
        match self {
            Credential::IamToken(s) | Credential::OAuthToken(s) => s.expose().as_bytes().to_vec(),
            Credential::ServiceAccountKey(k) => {
                format!("{}\0{}", k.service_account_id(), k.key_id()).into_bytes()
            }
            Credential::Metadata(addr) => addr.as_bytes().to_vec(),
            Credential::YcCli(path, profile) => {
                format!("{}\0{}", path.display(), profile.as_deref().unwrap_or("")).into_bytes()
            }
        }
    }
}

/// A credential and a description of where it came from ("YC_OAUTH_TOKEN", "the file …").
#[derive(Clone, Debug)]
pub struct Source {
    /// The credential.
    pub credential: Credential,
    /// Where it came from, for messages.
    pub origin: String,
}

/// What [`resolve`] found: the source, the endpoint its yc profile names, and a token the
/// metadata probe already obtained.
pub(crate) struct Resolved {
    pub source: Source,
    pub profile_endpoint: Option<String>,
    pub token: Option<IamToken>,
}

impl From<Source> for Resolved {
    fn from(source: Source) -> Self {
        Resolved {
            source,
            profile_endpoint: None,
            token: None,
        }
    }
}

/// Looks up environment variables; tests pass their own.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Tries the metadata service at an address: a token, or why it does not apply.
pub(crate) type Probe<'a> = &'a dyn Fn(&str) -> std::result::Result<IamToken, String>;

fn source(credential: Credential, origin: impl Into<String>) -> Source {
    Source {
        credential,
        origin: origin.into(),
    }
}

/// Picks the credential: the explicit choice in `options`, else the default chain.
pub(crate) fn resolve(options: &Options, env: Env<'_>, probe: Probe<'_>) -> Result<Resolved> {
    let metadata_addr = || {
        options
            .metadata_addr
            .clone()
            .unwrap_or_else(|| DEFAULT_METADATA_ADDR.to_string())
    };
    Ok(match &options.credential {
        CredentialChoice::DefaultChain => return default_chain(env, &metadata_addr(), probe),
        CredentialChoice::OAuthToken(s) => {
            source(Credential::OAuthToken(s.clone()), "the given OAuth token").into()
        }
        CredentialChoice::IamToken(s) => {
            source(Credential::IamToken(s.clone()), "the given IAM token").into()
        }
        CredentialChoice::OAuthTokenFile(path) => {
            let (origin, secret) = read_token_file(path)?;
            source(Credential::OAuthToken(secret), origin).into()
        }
        CredentialChoice::ServiceAccountKeyFile(path) => key_from_file(path)?.into(),
        CredentialChoice::ServiceAccountKeyJson(json) => {
            let origin = "the given service account key";
            let key = ServiceAccountKey::from_json(origin, json.expose())?;
            source(Credential::ServiceAccountKey(Arc::new(key)), origin).into()
        }
        CredentialChoice::Metadata => {
            let addr = metadata_addr();
            source(
                Credential::Metadata(addr.clone()),
                format!("the metadata service at {addr}"),
            )
            .into()
        }
        CredentialChoice::Profile(name) => {
            let mut tried = Vec::new();
            match from_profile(env, Pick::Named(name.clone()), &metadata_addr(), &mut tried)? {
                Some(r) => r,
                None => return Err(Error::NoCredential(tried)),
            }
        }
    })
}

/// Reads a token from a file, or from standard input for `-`.
pub fn read_token_file(path: &Path) -> Result<(String, Secret)> {
    let (origin, bytes) = read_input(path, "token")?;
    let secret = Secret::from_bytes(&origin, &bytes)?;
    Ok((origin, secret))
}

/// A file's bytes, or standard input's for `-`, with a description of where they came from.
fn read_input(path: &Path, what: &str) -> Result<(String, Vec<u8>)> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(1024 * 1024)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(format!("cannot read the {what} from standard input"), &e))?;
        return Ok(("standard input".to_string(), buf));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read the {what} file {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })?;
    Ok((format!("the file {}", path.display()), bytes))
}

fn key_from_file(path: &Path) -> Result<Source> {
    let (origin, bytes) = read_input(path, "service account key")?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::Usage(format!(
            "the service account key from {origin} is not UTF-8 text"
        ))
    })?;
    let key = ServiceAccountKey::from_json(&origin, &text)?;
    Ok(source(Credential::ServiceAccountKey(Arc::new(key)), origin))
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

fn token_credential(s: Secret) -> Credential {
    if looks_like_iam_token(s.expose()) {
        Credential::IamToken(s)
    } else {
        Credential::OAuthToken(s)
    }
}

/// The default chain (README, "Credential sources"). Each source that does not apply is
/// noted with why; the first that applies wins.
fn default_chain(env: Env<'_>, metadata_addr: &str, probe: Probe<'_>) -> Result<Resolved> {
    let mut tried = Vec::new();
    let var = |name: &str, tried: &mut Vec<String>| -> Option<String> {
        match env(name) {
            Some(v) if !v.trim().is_empty() => Some(v),
            Some(_) => {
                tried.push(format!("{name}: set but empty"));
                None
            }
            None => {
                tried.push(format!("{name}: not set"));
                None
            }
        }
    };
    let secret = |name: &str, v: &str| Secret::from_text(&format!("the variable {name}"), v);

    if let Some(v) = var("YC_IAM_TOKEN", &mut tried) {
        return Ok(source(
            Credential::IamToken(secret("YC_IAM_TOKEN", &v)?),
            "YC_IAM_TOKEN",
        )
        .into());
    }
    if let Some(v) = var("YC_SERVICE_ACCOUNT_KEY_FILE", &mut tried) {
        // Terraform's convention: the variable holds a path or the key's JSON itself.
        let trimmed = v.trim_start_matches('\u{feff}').trim_start();
        return Ok(if trimmed.starts_with('{') {
            let origin = "the variable YC_SERVICE_ACCOUNT_KEY_FILE";
            let key = ServiceAccountKey::from_json(origin, trimmed)?;
            source(Credential::ServiceAccountKey(Arc::new(key)), origin).into()
        } else {
            key_from_file(Path::new(v.trim()))
                .map_err(|e| {
                    Error::Usage(format!(
                        "YC_SERVICE_ACCOUNT_KEY_FILE names an unusable key: {e}"
                    ))
                })?
                .into()
        });
    }
    for name in ["YC_OAUTH_TOKEN", "YC_TOKEN"] {
        if let Some(v) = var(name, &mut tried) {
            return Ok(source(token_credential(secret(name, &v)?), name).into());
        }
    }
    let pick = match env("YC_PROFILE").filter(|p| !p.trim().is_empty()) {
        Some(name) => Pick::Named(name),
        None => Pick::Current,
    };
    if let Some(found) = from_profile(env, pick, metadata_addr, &mut tried)? {
        return Ok(found);
    }
    match probe(metadata_addr) {
        Ok(token) => {
            return Ok(Resolved {
                source: source(
                    Credential::Metadata(metadata_addr.to_string()),
                    format!("the metadata service at {metadata_addr}"),
                ),
                profile_endpoint: None,
                token: Some(token),
            });
        }
        Err(why) => tried.push(format!("the metadata service at {metadata_addr}: {why}")),
    }
    match yc::find_on_path(env("PATH").as_deref()) {
        Some(path) => Ok(source(Credential::YcCli(path, None), "the yc CLI").into()),
        None => {
            tried.push("the yc CLI: not found on PATH".into());
            Err(Error::NoCredential(tried))
        }
    }
}

fn home(env: Env<'_>) -> Option<PathBuf> {
    env("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(dirs::home_dir)
}

/// The credential a yc profile names. `Ok(None)` (with a note in `tried`) when there is no
/// config file or no current profile; a named profile that is missing is an error.
fn from_profile(
    env: Env<'_>,
    pick: Pick,
    metadata_addr: &str,
    tried: &mut Vec<String>,
) -> Result<Option<Resolved>> {
    let named = matches!(pick, Pick::Named(_));
    let Some(home) = home(env) else {
        tried.push("the yc config: no home directory".into());
        return Ok(None);
    };
    let path = profile::config_path(&home);
    let origin = path.display().to_string();
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| Error::Usage(format!("the yc config {origin} is not UTF-8 text")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => {
            tried.push(format!("the yc config {origin}: no such file"));
            return Ok(None);
        }
        Err(e) => {
            return Err(Error::Usage(format!(
                "cannot read the yc config {origin}: {}",
                io_reason(&e)
            )));
        }
    };
    let Some(p) = profile::parse(&origin, &text, pick)? else {
        tried.push(format!("the yc config {origin}: no current profile"));
        return Ok(None);
    };
    let origin = format!("the yc profile {:?}", p.name);
    let credential = match p.auth {
        ProfileAuth::Token(t) => token_credential(Secret::from_text(&origin, &t)?),
        ProfileAuth::ServiceAccountKey(json) => {
            Credential::ServiceAccountKey(Arc::new(ServiceAccountKey::from_json(&origin, &json)?))
        }
        ProfileAuth::Metadata => Credential::Metadata(metadata_addr.to_string()),
        ProfileAuth::YcOnly { federated } => match yc::find_on_path(env("PATH").as_deref()) {
            Some(path) => Credential::YcCli(path, Some(p.name.clone())),
            None => {
                return Err(Error::NoCredential(vec![format!(
                    "{origin} {}: only the yc CLI can sign it in, and yc is not on PATH; \
                     install yc, or use a service account key (--sa-key-file)",
                    if federated {
                        "is federated"
                    } else {
                        "has no token or key"
                    }
                )]));
            }
        },
    };
    Ok(Some(Resolved {
        source: source(credential, origin),
        profile_endpoint: p.endpoint,
        token: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn chain(vars: &[(&str, &str)]) -> Result<Resolved> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |n: &str| map.get(n).cloned();
        default_chain(&env, "127.0.0.1:9", &|_| Err("no answer".into()))
    }

    fn kind(vars: &[(&str, &str)]) -> (&'static str, String) {
        let r = chain(vars).unwrap();
        (r.source.credential.kind(), r.source.origin)
    }

    #[test]
    fn iam_token_wins_then_oauth_then_yc_token() {
        let home = ("HOME", "/nonexistent-home");
        assert_eq!(
            kind(&[("YC_IAM_TOKEN", "t1.a.b"), ("YC_OAUTH_TOKEN", "y0_x"), home]).0,
            "iam-token"
        );
        assert_eq!(
            kind(&[("YC_OAUTH_TOKEN", "y0_x"), ("YC_TOKEN", "t1.a.b"), home]).1,
            "YC_OAUTH_TOKEN"
        );
        assert_eq!(kind(&[("YC_TOKEN", "t1.a.b"), home]).0, "iam-token");
        assert_eq!(kind(&[("YC_TOKEN", "y0_AgAAAA"), home]).0, "oauth-token");
        assert_eq!(kind(&[("YC_TOKEN", "t1.a.b.c"), home]).0, "oauth-token");
    }

    #[test]
    fn nothing_set_lists_every_source() {
        let e = chain(&[
            ("YC_OAUTH_TOKEN", " "),
            ("HOME", "/nonexistent-home"),
            ("PATH", "/nonexistent"),
        ])
        .err()
        .unwrap();
        let text = e.to_string();
        for expect in [
            "YC_IAM_TOKEN: not set",
            "YC_SERVICE_ACCOUNT_KEY_FILE: not set",
            "YC_OAUTH_TOKEN: set but empty",
            "YC_TOKEN: not set",
            "config.yaml: no such file",
            "the metadata service at 127.0.0.1:9: no answer",
            "the yc CLI: not found on PATH",
        ] {
            assert!(text.contains(expect), "{expect}: {text}");
        }
    }
}
