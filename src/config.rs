//! Client options: endpoints, credential choice, CA file, timeout, cache; from code, the
//! environment or a JSON object (the C ABI and the bindings).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::http::Logger;
use crate::secret::Secret;

/// The global installation's API domain.
pub const DEFAULT_API_DOMAIN: &str = "api.cloud.yandex.net";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Which credential to use. The default is the chain described in README.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum CredentialChoice {
    /// Try every source in order (README, "Credential sources").
    #[default]
    DefaultChain,
    /// A Yandex account OAuth token.
    OAuthToken(Secret),
    /// A file holding a Yandex account OAuth token; `-` is standard input.
    OAuthTokenFile(PathBuf),
    /// An IAM token used as is.
    IamToken(Secret),
    /// A service account authorized key file (`yc iam key create --output key.json`);
    /// `-` is standard input.
    ServiceAccountKeyFile(PathBuf),
    /// The JSON of a service account authorized key.
    ServiceAccountKeyJson(Secret),
    /// The VM metadata service (the service account attached to this VM).
    Metadata,
    /// A yc CLI profile, by name.
    Profile(String),
}

/// Options for a [`Client`](crate::Client). Every setter documents its default.
#[derive(Clone, Default)]
pub struct Options {
    pub(crate) credential: CredentialChoice,
    pub(crate) endpoint: Option<String>,
    pub(crate) iam_endpoint: Option<String>,
    pub(crate) resource_manager_endpoint: Option<String>,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) no_cache: bool,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) metadata_addr: Option<String>,
    pub(crate) env: EnvOverrides,
    pub(crate) logger: Option<Logger>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("credential", &self.credential)
            .field("endpoint", &self.endpoint)
            .field("iam_endpoint", &self.iam_endpoint)
            .field("resource_manager_endpoint", &self.resource_manager_endpoint)
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .field("no_cache", &self.no_cache)
            .field("cache_dir", &self.cache_dir)
            .field("metadata_addr", &self.metadata_addr)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Variables given in place of the process environment (the `env` key of the JSON options):
/// a host whose environment native code cannot see (PowerShell 7 on Unix) passes them here.
pub(crate) type EnvOverrides = std::collections::BTreeMap<String, String>;

impl Options {
    /// Defaults, then what the environment says: `YC_ENDPOINT`, `YC_IAM_ENDPOINT`,
    /// `YC_RESOURCE_MANAGER_ENDPOINT`, `YCIAM_CA_FILE`, `YCIAM_NO_CACHE=1`, `YCIAM_CACHE_DIR`,
    /// `YC_METADATA_ADDR`.
    /// (Credential variables are read by the default chain when the client is made.)
    pub fn from_env() -> Self {
        Self::from_env_overridden(EnvOverrides::new())
    }

    /// [`Options::from_env`] where `env` takes the place of the process environment for the
    /// variables it names, here and in the default credential chain.
    fn from_env_overridden(env: EnvOverrides) -> Self {
        let env_nonempty = |name: &str| {
            env.get(name)
                .cloned()
                .or_else(|| std::env::var(name).ok())
                .filter(|v| !v.trim().is_empty())
        };
        Options {
            endpoint: env_nonempty("YC_ENDPOINT"),
            iam_endpoint: env_nonempty("YC_IAM_ENDPOINT"),
            resource_manager_endpoint: env_nonempty("YC_RESOURCE_MANAGER_ENDPOINT"),
            ca_file: env_nonempty("YCIAM_CA_FILE").map(PathBuf::from),
            no_cache: env_nonempty("YCIAM_NO_CACHE").is_some_and(|v| v != "0"),
            cache_dir: env_nonempty("YCIAM_CACHE_DIR").map(PathBuf::from),
            metadata_addr: env_nonempty("YC_METADATA_ADDR"),
            env,
            ..Options::default()
        }
    }

    /// Looks a variable up in the overrides, then in the process environment.
    pub(crate) fn env_var(&self, name: &str) -> Option<String> {
        self.env
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    }

    /// The options of a JSON object whose keys are the CLI's long options in snake_case,
    /// applied over [`Options::from_env`]. An unknown key or a wrong type is an error.
    /// `env` (an object of strings) stands in for the process environment: for hosts whose
    /// environment changes native code cannot see.
    pub fn from_json(json: &str) -> Result<Self> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Json {
            oauth_token: Option<String>,
            oauth_token_file: Option<PathBuf>,
            iam_token: Option<String>,
            endpoint: Option<String>,
            iam_endpoint: Option<String>,
            resource_manager_endpoint: Option<String>,
            ca_file: Option<PathBuf>,
            timeout_seconds: Option<f64>,
            no_cache: Option<bool>,
            sa_key_file: Option<PathBuf>,
            sa_key_json: Option<serde_json::Value>,
            #[serde(default)]
            metadata: bool,
            profile: Option<String>,
            cache_dir: Option<PathBuf>,
            metadata_addr: Option<String>,
            #[serde(default)]
            env: EnvOverrides,
        }
        let j: Json = serde_json::from_str(json)
            .map_err(|e| Error::Usage(format!("bad options JSON: {}", redact_json_error(&e))))?;
        let mut o = Options::from_env_overridden(j.env);
        let choices = [
            j.oauth_token.is_some(),
            j.oauth_token_file.is_some(),
            j.iam_token.is_some(),
            j.sa_key_file.is_some(),
            j.sa_key_json.is_some(),
            j.metadata,
            j.profile.is_some(),
        ];
        if choices.iter().filter(|c| **c).count() > 1 {
            return Err(Error::Usage(
                "bad options JSON: give at most one credential (oauth_token, oauth_token_file, \
                 iam_token, sa_key_file, sa_key_json, metadata, profile)"
                    .into(),
            ));
        }
        if let Some(p) = j.sa_key_file {
            o = o.credential(CredentialChoice::ServiceAccountKeyFile(p));
        }
        if let Some(key) = j.sa_key_json {
            // Either the key object itself or a string holding its JSON.
            let text = match key {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            o = o.credential(CredentialChoice::ServiceAccountKeyJson(Secret::new(text)));
        }
        if j.metadata {
            o = o.credential(CredentialChoice::Metadata);
        }
        if let Some(p) = j.profile {
            o = o.credential(CredentialChoice::Profile(p));
        }
        if j.cache_dir.is_some() {
            o.cache_dir = j.cache_dir;
        }
        if j.metadata_addr.is_some() {
            o.metadata_addr = j.metadata_addr;
        }
        if let Some(t) = j.oauth_token {
            o = o.credential(CredentialChoice::OAuthToken(Secret::from_text(
                "the option oauth_token",
                &t,
            )?));
        }
        if let Some(p) = j.oauth_token_file {
            o = o.credential(CredentialChoice::OAuthTokenFile(p));
        }
        if let Some(t) = j.iam_token {
            o = o.credential(CredentialChoice::IamToken(Secret::from_text(
                "the option iam_token",
                &t,
            )?));
        }
        if j.endpoint.is_some() {
            o.endpoint = j.endpoint;
        }
        if j.iam_endpoint.is_some() {
            o.iam_endpoint = j.iam_endpoint;
        }
        if j.resource_manager_endpoint.is_some() {
            o.resource_manager_endpoint = j.resource_manager_endpoint;
        }
        if j.ca_file.is_some() {
            o.ca_file = j.ca_file;
        }
        if let Some(secs) = j.timeout_seconds {
            o = o.timeout(timeout_from_secs(secs)?);
        }
        if let Some(no_cache) = j.no_cache {
            o.no_cache = no_cache;
        }
        Ok(o)
    }

    /// The credential to use. Defaults to the default chain.
    pub fn credential(mut self, v: CredentialChoice) -> Self {
        self.credential = v;
        self
    }

    /// The API domain of the installation, e.g. `api.cloud.yandex.net` or
    /// `api.yandexcloud.kz`; service hosts are `<service>.<domain>`.
    /// Defaults to `YC_ENDPOINT`, else `api.cloud.yandex.net`.
    pub fn endpoint(mut self, v: impl Into<String>) -> Self {
        self.endpoint = Some(v.into());
        self
    }

    /// The IAM API base URL. Defaults to `YC_IAM_ENDPOINT`, else `https://iam.<domain>`.
    pub fn iam_endpoint(mut self, v: impl Into<String>) -> Self {
        self.iam_endpoint = Some(v.into());
        self
    }

    /// The Resource Manager API base URL. Defaults to `YC_RESOURCE_MANAGER_ENDPOINT`, else
    /// `https://resource-manager.<domain>`.
    pub fn resource_manager_endpoint(mut self, v: impl Into<String>) -> Self {
        self.resource_manager_endpoint = Some(v.into());
        self
    }

    /// A PEM file of extra CA certificates, trusted besides the system store (for a
    /// TLS-inspecting proxy). Defaults to `YCIAM_CA_FILE`, else none.
    pub fn ca_file(mut self, v: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(v.into());
        self
    }

    /// The time one call may take, retries included. Defaults to 30 s.
    pub fn timeout(mut self, v: Duration) -> Self {
        self.timeout = Some(v);
        self
    }

    /// Skip the token cache: every call exchanges anew. Defaults to `YCIAM_NO_CACHE=1`, else off.
    pub fn no_cache(mut self, v: bool) -> Self {
        self.no_cache = v;
        self
    }

    /// Also keep tokens in this directory, shared with other processes (one 0600 file per
    /// credential in a 0700 dir). Defaults to `YCIAM_CACHE_DIR`, else no files (the CLI uses
    /// the platform cache dir + `/yciam`).
    pub fn cache_dir(mut self, v: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(v.into());
        self
    }

    /// The VM metadata service's `host:port`. Defaults to `YC_METADATA_ADDR`, else
    /// `169.254.169.254`.
    pub fn metadata_addr(mut self, v: impl Into<String>) -> Self {
        self.metadata_addr = Some(v.into());
        self
    }

    /// Whether a cache dir is set (by [`Options::cache_dir`] or `YCIAM_CACHE_DIR`).
    pub fn has_cache_dir(&self) -> bool {
        self.cache_dir.is_some()
    }

    /// Where to report requests, retries and cache decisions (never secrets). Defaults to nowhere.
    pub fn logger(mut self, v: Logger) -> Self {
        self.logger = Some(v);
        self
    }

    pub(crate) fn timeout_or_default(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The endpoints these options name.
    pub(crate) fn endpoints(&self) -> Result<Endpoints> {
        let domain = match &self.endpoint {
            Some(e) => api_domain(e)?,
            None => DEFAULT_API_DOMAIN.to_string(),
        };
        let base = |given: &Option<String>, service: &str| -> Result<String> {
            match given {
                Some(url) => base_url(url),
                None => Ok(format!("https://{service}.{domain}")),
            }
        };
        Ok(Endpoints {
            iam: base(&self.iam_endpoint, "iam")?,
            resource_manager: base(&self.resource_manager_endpoint, "resource-manager")?,
            domain,
        })
    }
}

/// serde_json's message for a wrong-typed value quotes the value, which may be a secret
/// put in the wrong field: keep only the part before the quote.
fn redact_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(['"', '`']) {
        Some(i) if text.starts_with("invalid") => format!(
            "{}… at line {} column {}",
            text[..i].trim_end(),
            e.line(),
            e.column()
        ),
        _ => text,
    }
}

/// Seconds (from a flag or JSON) as a timeout: positive and finite.
pub fn timeout_from_secs(secs: f64) -> Result<Duration> {
    if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(Error::Usage(format!(
            "bad timeout {secs}: give a number of seconds above 0 (at most 86400)"
        )))
    }
}

/// The resolved base URLs, without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoints {
    pub iam: String,
    pub resource_manager: String,
    pub domain: String,
}

/// `api.cloud.yandex.net`, also from `api.cloud.yandex.net:443` (the yc profile form) or a URL.
fn api_domain(given: &str) -> Result<String> {
    let s = given.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let s = s.trim_end_matches('/');
    let s = s.strip_suffix(":443").unwrap_or(s);
    if s.is_empty() || s.contains(['/', ' ', '?', '#', '@']) {
        return Err(Error::Usage(format!(
            "bad endpoint {given:?}: give an API domain such as api.cloud.yandex.net"
        )));
    }
    Ok(s.to_string())
}

/// A base URL without a trailing slash; `https://` is assumed when no scheme is given.
fn base_url(given: &str) -> Result<String> {
    let s = given.trim().trim_end_matches('/');
    let url = if s.contains("://") {
        s.to_string()
    } else {
        format!("https://{s}")
    };
    crate::http::parse_url(&url)?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_domain_and_overrides() {
        let e = Options::default().endpoints().unwrap();
        assert_eq!(e.iam, "https://iam.api.cloud.yandex.net");
        assert_eq!(
            e.resource_manager,
            "https://resource-manager.api.cloud.yandex.net"
        );
        let e = Options::default()
            .endpoint("api.yandexcloud.kz:443")
            .endpoints()
            .unwrap();
        assert_eq!(e.iam, "https://iam.api.yandexcloud.kz");
        let e = Options::default()
            .iam_endpoint("https://127.0.0.1:8443/")
            .endpoints()
            .unwrap();
        assert_eq!(e.iam, "https://127.0.0.1:8443");
        assert!(Options::default().endpoint("a b").endpoints().is_err());
    }

    #[test]
    fn json_rejects_unknown_keys_and_two_credentials() {
        assert!(Options::from_json(r#"{"colour":"red"}"#).is_err());
        assert!(Options::from_json(r#"{"oauth_token":"a","iam_token":"b"}"#).is_err());
        assert!(Options::from_json(r#"{"timeout_seconds":-1}"#).is_err());
        let o = Options::from_json(r#"{"timeout_seconds":2.5,"no_cache":true}"#).unwrap();
        assert_eq!(o.timeout, Some(Duration::from_millis(2500)));
        assert!(o.no_cache);
    }

    #[test]
    fn json_errors_never_echo_a_token() {
        let e = Options::from_json(r#"{"oauth_token":"y0 secret"}"#).unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
