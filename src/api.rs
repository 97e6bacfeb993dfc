//! The Yandex Cloud API calls: create and revoke IAM tokens, list clouds.

use std::time::SystemTime;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::http::{Deadline, Http, Request, Retry};
use crate::secret::Secret;
use crate::token::{IamToken, parse_rfc3339};

const JSON: &[(&str, &str)] = &[("Content-Type", "application/json")];

fn json_headers() -> Vec<(String, String)> {
    JSON.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// What the token exchange is given.
pub(crate) enum Exchange<'a> {
    /// A Yandex account OAuth token.
    OAuth(&'a Secret),
    /// A JWT signed with a service account's authorized key.
    Jwt(&'a Secret),
}

/// `POST {iam}/iam/v1/tokens`: exchanges a credential for an IAM token.
pub(crate) fn create_token(
    http: &Http,
    iam: &str,
    with: Exchange<'_>,
    deadline: &Deadline,
) -> Result<IamToken> {
    let body = match with {
        Exchange::OAuth(t) => serde_json::json!({ "yandexPassportOauthToken": t.expose() }),
        Exchange::Jwt(t) => serde_json::json!({ "jwt": t.expose() }),
    };
    let body = body.to_string();
    let url = format!("{iam}/iam/v1/tokens");
    let headers = json_headers();
    let req = Request {
        method: "POST",
        url: &url,
        headers: &headers,
        bearer: None,
        body: Some(body.as_bytes()),
        secret_body: true,
        retry: Retry::Idempotent,
        direct: false,
    };
    let obtained_at = SystemTime::now();
    let created: Created = http.send_json(&req, deadline).map_err(rejected)?;
    created.into_token(&|| format!("POST {url}"), obtained_at)
}

/// The answer of `POST /iam/v1/tokens`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Created {
    iam_token: String,
    expires_at: String,
}

impl Created {
    /// The token, checked: printable ASCII, and an RFC 3339 expiry.
    pub(crate) fn into_token(
        self,
        what: &dyn Fn() -> String,
        obtained_at: SystemTime,
    ) -> Result<IamToken> {
        let expires_at = parse_rfc3339(&self.expires_at).ok_or_else(|| Error::BadResponse {
            what: what(),
            detail: format!("expiresAt {:?} is not an RFC 3339 time", self.expires_at),
            request_id: None,
        })?;
        let token = checked_token(self.iam_token, what)?;
        Ok(IamToken::obtained(token, Some(expires_at), obtained_at))
    }
}

/// Any 4xx from the token exchange means the credential (or its form) was refused.
fn rejected(e: Error) -> Error {
    match e {
        Error::Api(api) if (400..500).contains(&api.status) && api.status != 429 => {
            Error::Rejected(api)
        }
        other => other,
    }
}

/// A token must be non-empty printable ASCII; nothing more is assumed about its shape.
pub(crate) fn checked_token(token: String, what: &dyn Fn() -> String) -> Result<Secret> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::BadResponse {
            what: what(),
            detail: "the token in the answer is empty or not printable ASCII".into(),
            request_id: None,
        });
    }
    Ok(Secret::new(token))
}

/// `POST {iam}/iam/v1/tokens:revoke`; returns the subject id the token belonged to.
pub(crate) fn revoke_token(
    http: &Http,
    iam: &str,
    token: &Secret,
    deadline: &Deadline,
) -> Result<String> {
    let url = format!("{iam}/iam/v1/tokens:revoke");
    let body = serde_json::json!({ "iamToken": token.expose() }).to_string();
    let headers = json_headers();
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Revoked {
        #[serde(default)]
        subject_id: String,
    }
    let req = Request {
        method: "POST",
        url: &url,
        headers: &headers,
        bearer: Some(token),
        body: Some(body.as_bytes()),
        secret_body: true,
        retry: Retry::Idempotent,
        direct: false,
    };
    let revoked: Revoked = http.send_json(&req, deadline)?;
    Ok(revoked.subject_id)
}

/// `GET {rm}/resource-manager/v1/clouds`, following `nextPageToken` to the last page.
/// Clouds are returned as the API sends them, every field kept.
pub(crate) fn list_clouds(
    http: &Http,
    resource_manager: &str,
    token: &Secret,
    page_size: Option<u32>,
    deadline: &Deadline,
) -> Result<Vec<serde_json::Value>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Page {
        #[serde(default)]
        clouds: Vec<serde_json::Value>,
        #[serde(default)]
        next_page_token: Option<String>,
    }
    let mut clouds = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut url = format!("{resource_manager}/resource-manager/v1/clouds");
        let mut sep = '?';
        if let Some(size) = page_size {
            url.push_str(&format!("{sep}pageSize={size}"));
            sep = '&';
        }
        if let Some(t) = &page_token {
            let t = percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC);
            url.push_str(&format!("{sep}pageToken={t}"));
        }
        let req = Request {
            method: "GET",
            url: &url,
            headers: &[],
            bearer: Some(token),
            body: None,
            secret_body: false,
            retry: Retry::Idempotent,
            direct: false,
        };
        let page: Page = http.send_json(&req, deadline)?;
        clouds.extend(page.clouds);
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) if Some(&next) != page_token.as_ref() => page_token = Some(next),
            Some(_) => {
                return Err(Error::BadResponse {
                    what: format!("GET {resource_manager}/resource-manager/v1/clouds"),
                    detail: "the server returned the same nextPageToken twice".into(),
                    request_id: None,
                });
            }
            None => return Ok(clouds),
        }
    }
}

/// `GET http://{addr}/computeMetadata/v1/instance/service-accounts/default/token` with
/// `Metadata-Flavor: Google`: the token of the service account attached to this VM.
pub(crate) fn metadata_token(http: &Http, addr: &str, deadline: &Deadline) -> Result<IamToken> {
    let url = format!("http://{addr}/computeMetadata/v1/instance/service-accounts/default/token");
    let headers = vec![("Metadata-Flavor".to_string(), "Google".to_string())];
    #[derive(Deserialize)]
    struct Token {
        access_token: String,
        expires_in: u64,
    }
    let req = Request {
        method: "GET",
        url: &url,
        headers: &headers,
        bearer: None,
        body: None,
        secret_body: false,
        retry: Retry::Idempotent,
        direct: true,
    };
    let obtained_at = SystemTime::now();
    let token: Token = http.send_json(&req, deadline).map_err(|e| match e {
        Error::Api(api) if api.status == 404 => Error::NoCredential(vec![format!(
            "the metadata service at {addr}: no service account is attached to this VM \
             (attach one, e.g. `yc compute instance update --service-account-name NAME`)"
        )]),
        other => other,
    })?;
    let what = || format!("GET {url}");
    let secret = checked_token(token.access_token, &what)?;
    let expires_at = obtained_at
        .checked_add(std::time::Duration::from_secs(token.expires_in))
        .filter(|_| token.expires_in <= 7 * 24 * 3600)
        .ok_or_else(|| Error::BadResponse {
            what: what(),
            detail: format!("expires_in {} is not a token lifetime", token.expires_in),
            request_id: None,
        })?;
    Ok(IamToken::obtained(secret, Some(expires_at), obtained_at))
}
