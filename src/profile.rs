//! yc CLI profiles: `~/.config/yandex-cloud/config.yaml`, and what credential a profile names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The yc config file under a home directory.
pub(crate) fn config_path(home: &Path) -> PathBuf {
    home.join(".config")
        .join("yandex-cloud")
        .join("config.yaml")
}

#[derive(Deserialize, Default)]
struct ConfigFile {
    current: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawProfile {
    token: Option<String>,
    service_account_key: Option<serde_json::Value>,
    #[serde(default)]
    instance_service_account: bool,
    federation_id: Option<String>,
    endpoint: Option<String>,
}

/// What a profile says about credentials, with its endpoint.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Profile {
    pub name: String,
    pub auth: ProfileAuth,
    /// The profile's API endpoint, e.g. `api.cloud.yandex.net:443`.
    pub endpoint: Option<String>,
}

#[derive(Clone, PartialEq)]
pub(crate) enum ProfileAuth {
    /// `token:` — an OAuth token (or an IAM token shaped `t1.X.Y`).
    Token(String),
    /// `service-account-key:` — the key object, as JSON text.
    ServiceAccountKey(String),
    /// `instance-service-account: true` — the VM's metadata service.
    Metadata,
    /// A federated profile, or one without a credential: only `yc` can sign it in.
    YcOnly { federated: bool },
}

impl std::fmt::Debug for ProfileAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileAuth::Token(_) => f.write_str("Token(<redacted>)"),
            ProfileAuth::ServiceAccountKey(_) => f.write_str("ServiceAccountKey(<redacted>)"),
            ProfileAuth::Metadata => f.write_str("Metadata"),
            ProfileAuth::YcOnly { federated } => write!(f, "YcOnly {{ federated: {federated} }}"),
        }
    }
}

/// Which profile to read.
pub(crate) enum Pick {
    /// This one, by name (`--profile`, `YC_PROFILE`): missing is an error.
    Named(String),
    /// The file's `current:` profile.
    Current,
}

/// Reads the profile from the config text. `Ok(None)`: the file names no current profile.
pub(crate) fn parse(origin: &str, text: &str, pick: Pick) -> Result<Option<Profile>> {
    let file: ConfigFile = if text.trim().is_empty() {
        ConfigFile::default()
    } else {
        // The YAML error names a line and column; it is not echoed with content.
        serde_yaml_ng::from_str(text).map_err(|e| {
            let place = e
                .location()
                .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
                .unwrap_or_default();
            Error::Usage(format!(
                "the yc config {origin} is not valid YAML{place}: fix it or run `yc init`"
            ))
        })?
    };
    let name = match pick {
        Pick::Named(n) => n,
        Pick::Current => match file.current.filter(|c| !c.is_empty()) {
            Some(c) => c,
            None => return Ok(None),
        },
    };
    let Some(raw) = file.profiles.get(&name) else {
        let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
        return Err(Error::Usage(format!(
            "the yc config {origin} has no profile {name:?} (profiles: {}); \
             list them with `yc config profile list`",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    let auth = if let Some(t) = raw.token.as_ref().filter(|t| !t.trim().is_empty()) {
        ProfileAuth::Token(t.clone())
    } else if let Some(key) = &raw.service_account_key {
        ProfileAuth::ServiceAccountKey(key.to_string())
    } else if raw.instance_service_account {
        ProfileAuth::Metadata
    } else {
        ProfileAuth::YcOnly {
            federated: raw.federation_id.is_some(),
        }
    };
    Ok(Some(Profile {
        name,
        auth,
        endpoint: raw.endpoint.clone().filter(|e| !e.is_empty()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
current: sa
profiles:
  default:
    token: y0_AgAAAAOAuthToken
    cloud-id: b1gxxxxxxxxxxxxxxxxx
    folder-id: b1gyyyyyyyyyyyyyyyyy
  sa:
    service-account-key:
      id: ajekey
      service_account_id: ajesa
      created_at: "2026-11-29T10:00:00.123456Z"
      key_algorithm: RSA_2048
      public_key: |
        -----BEGIN PUBLIC KEY-----
        MII
        -----END PUBLIC KEY-----
      private_key: |
        PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID ajekey
        -----BEGIN PRIVATE KEY-----
        MII
        -----END PRIVATE KEY-----
    endpoint: api.yandexcloud.kz:443
  vm:
    instance-service-account: true
  fed:
    federation-id: bpfxxxxxxxxxxxxxxxxx
    cloud-id: b1g
"#;

    #[test]
    fn reads_every_kind_of_profile() {
        let p = parse("f", CONFIG, Pick::Current).unwrap().unwrap();
        assert_eq!(p.name, "sa");
        assert_eq!(p.endpoint.as_deref(), Some("api.yandexcloud.kz:443"));
        let ProfileAuth::ServiceAccountKey(json) = &p.auth else {
            panic!("{p:?}")
        };
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["id"], "ajekey");
        assert!(
            v["private_key"]
                .as_str()
                .unwrap()
                .starts_with("PLEASE DO NOT REMOVE")
        );
        let named = |n| {
            parse("f", CONFIG, Pick::Named(String::from(n)))
                .unwrap()
                .unwrap()
                .auth
        };
        assert_eq!(
            named("default"),
            ProfileAuth::Token("y0_AgAAAAOAuthToken".into())
        );
        assert_eq!(named("vm"), ProfileAuth::Metadata);
        assert_eq!(named("fed"), ProfileAuth::YcOnly { federated: true });
    }

    #[test]
    fn missing_profile_lists_the_known_ones_and_bad_yaml_names_the_line() {
        let e = parse("f", CONFIG, Pick::Named("nope".into()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"nope\"") && e.contains("default, fed, sa, vm"),
            "{e}"
        );
        let e = parse("f", "current: [\n  token: y0_SECRET", Pick::Current)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not valid YAML") && !e.contains("SECRET"), "{e}");
        assert!(parse("f", "", Pick::Current).unwrap().is_none());
        assert!(parse("f", "profiles: {}", Pick::Current).unwrap().is_none());
    }

    #[test]
    fn debug_redacts_tokens() {
        let p = parse("f", CONFIG, Pick::Named("default".into()))
            .unwrap()
            .unwrap();
        assert!(!format!("{p:?}").contains("y0_"));
    }
}
