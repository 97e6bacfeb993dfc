//! Credential-helper protocols: kubectl's `ExecCredential` and docker's credential helpers.

use serde_json::json;

use crate::error::{Error, Result};
use crate::token::{IamToken, format_rfc3339};

const EXEC_V1: &str = "client.authentication.k8s.io/v1";
const EXEC_V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// The `ExecCredential` kubectl expects, in the `apiVersion` it asked for in
/// `KUBERNETES_EXEC_INFO` (v1 when it did not say). `expirationTimestamp` is when the token is
/// due for renewal, so kubectl asks again in time rather than at the 12-hour expiry.
pub fn exec_credential(token: &IamToken, exec_info: Option<&str>) -> Result<String> {
    let api_version = match exec_info.filter(|s| !s.trim().is_empty()) {
        None => EXEC_V1.to_string(),
        Some(info) => {
            let v: serde_json::Value = serde_json::from_str(info)
                .map_err(|e| Error::Usage(format!("KUBERNETES_EXEC_INFO is not JSON: {e}")))?;
            match v.get("apiVersion").and_then(|a| a.as_str()) {
                Some(a) if a == EXEC_V1 || a == EXEC_V1BETA1 => a.to_string(),
                Some(other) => {
                    return Err(Error::Usage(format!(
                        "KUBERNETES_EXEC_INFO asks for apiVersion {other:?}; yciam answers \
                         {EXEC_V1} and {EXEC_V1BETA1}: set one of them in your kubeconfig"
                    )));
                }
                None => EXEC_V1.to_string(),
            }
        }
    };
    let mut status = json!({ "token": token.expose() });
    if let Some(at) = token.renew_at() {
        status["expirationTimestamp"] = json!(format_rfc3339(at));
    }
    Ok(json!({
        "apiVersion": api_version,
        "kind": "ExecCredential",
        "status": status,
    })
    .to_string())
}

/// Registries that take IAM tokens with the user name `iam`.
const REGISTRIES: &[&str] = &["cr.yandex", "cr.cloud.yandex.net", "cr.yandexcloud.kz"];

/// The host of a docker `ServerURL` ("cr.yandex", "https://cr.yandex/v2/", "cr.yandex:443").
fn registry_host(server_url: &str) -> &str {
    let s = server_url.trim();
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let s = s.split('/').next().unwrap_or(s);
    s.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(s, |(host, _)| host)
}

/// Whether docker should ask yciam for this registry.
pub fn is_yandex_registry(server_url: &str) -> bool {
    let host = registry_host(server_url).to_ascii_lowercase();
    REGISTRIES.iter().any(|r| host == *r)
}

/// The answer to `get`: `{"ServerURL","Username":"iam","Secret"}`.
pub fn docker_get(server_url: &str, token: &IamToken) -> String {
    json!({
        "ServerURL": server_url.trim(),
        "Username": "iam",
        "Secret": token.expose(),
    })
    .to_string()
}

/// The answer to `list`: every registry yciam serves, with the user name `iam`.
pub fn docker_list() -> String {
    let map: serde_json::Map<String, serde_json::Value> = REGISTRIES
        .iter()
        .map(|r| (r.to_string(), json!("iam")))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// The message docker's helpers use for "not mine", which docker treats as "no credentials".
pub const DOCKER_NOT_FOUND: &str = "credentials not found in native keychain";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::time::{Duration, SystemTime};

    #[test]
    fn registry_hosts() {
        for yes in [
            "cr.yandex",
            "https://cr.yandex",
            "https://cr.yandex/v2/",
            "cr.yandex:443",
            "CR.YANDEX",
        ] {
            assert!(is_yandex_registry(yes), "{yes}");
        }
        for no in [
            "docker.io",
            "https://index.docker.io/v1/",
            "cr.yandex.evil.com",
            "evilcr.yandex",
        ] {
            assert!(!is_yandex_registry(no), "{no}");
        }
    }

    #[test]
    fn exec_credential_echoes_the_version_and_renewal_time() {
        let now = SystemTime::now();
        let t = IamToken::new(
            Secret::new("t1.x"),
            Some(now + Duration::from_secs(12 * 3600)),
        );
        let v1beta1 = r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":false}}"#;
        let out: serde_json::Value =
            serde_json::from_str(&exec_credential(&t, Some(v1beta1)).unwrap()).unwrap();
        assert_eq!(out["apiVersion"], EXEC_V1BETA1);
        assert_eq!(out["status"]["token"], "t1.x");
        let at =
            crate::token::parse_rfc3339(out["status"]["expirationTimestamp"].as_str().unwrap())
                .unwrap();
        assert!(
            at <= now + Duration::from_secs(3601),
            "renewal within the hour"
        );
        let out: serde_json::Value =
            serde_json::from_str(&exec_credential(&t, None).unwrap()).unwrap();
        assert_eq!(out["apiVersion"], EXEC_V1);
        assert!(
            exec_credential(
                &t,
                Some(r#"{"apiVersion":"client.authentication.k8s.io/v2"}"#)
            )
            .is_err()
        );
    }
}
