//! The real `yciam` binary against the fake Yandex Cloud over real TLS (issue 2).

mod common;

use std::time::Duration;

use common::*;

fn token_with_oauth(w: &World, extra: &[&str]) -> Run {
    let file = w.oauth_file.to_str().unwrap();
    let mut args = vec!["token", "--oauth-token-file", file];
    args.extend_from_slice(extra);
    w.run(&args)
}

#[test]
fn token_prints_a_token_the_fake_issued() {
    let w = World::new();
    let r = token_with_oauth(&w, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let issued = w.fake.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(r.stdout, format!("{}\n", issued[0]));
    assert!(r.stderr.is_empty(), "{r:?}");
    // The documented body, sent to the documented path.
    let req = w
        .fake
        .requests()
        .into_iter()
        .find(|r| r.route == Route::CreateToken)
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"yandexPassportOauthToken": w.fake.oauth_token()})
    );
    assert_eq!(req.method, "POST");
}

#[test]
fn create_token_is_an_alias_and_reads_the_oauth_token_from_stdin() {
    let w = World::new();
    let token = w.fake.oauth_token();
    let r = w.run_with_stdin(
        &["create-token", "--oauth-token-file", "-"],
        format!("\u{feff}{token}\r\n").as_bytes(),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("t1."), "{r:?}");
}

#[test]
fn oauth_token_from_the_environment() {
    let w = World::new();
    for var in ["YC_OAUTH_TOKEN", "YC_TOKEN"] {
        let mut cmd = w.cmd(&["token"]);
        cmd.env(var, w.fake.oauth_token());
        let r = w.exec(cmd, None);
        assert_eq!(r.code, 0, "{var}: {r:?}");
        assert!(r.stdout.starts_with("t1."));
    }
}

#[test]
fn every_token_format() {
    let w = World::new();
    let json = token_with_oauth(&w, &["--format", "json"]);
    assert_eq!(json.code, 0, "{json:?}");
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let token = v["iamToken"].as_str().unwrap().to_string();
    let expires = v["expiresAt"].as_str().unwrap();
    let expires_at = yciam::parse_rfc3339(expires).unwrap();
    let left = expires_at
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(left > Duration::from_secs(11 * 3600) && left <= Duration::from_secs(12 * 3600));

    let fmt = |f: &str| token_with_oauth(&w, &["--format", f]);
    let env = fmt("env");
    assert!(
        env.stdout.starts_with("export IAM_TOKEN='t1.") && env.stdout.ends_with("'\n"),
        "{env:?}"
    );
    let ps = fmt("powershell");
    assert!(
        ps.stdout.starts_with("$env:IAM_TOKEN = 't1.") && ps.stdout.ends_with("'\n"),
        "{ps:?}"
    );
    let header = fmt("header");
    assert!(
        header.stdout.starts_with("Authorization: Bearer t1."),
        "{header:?}"
    );
    let text = fmt("text");
    assert!(text.stdout.starts_with("t1.") && text.stdout.ends_with('\n'));
    assert!(!token.is_empty());
    let bad = fmt("xml");
    assert_eq!(bad.code, 2, "{bad:?}");

    // The env output really works in a shell, and its token works at the API.
    let sh = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{}printf %s \"$IAM_TOKEN\"", env.stdout))
        .output()
        .unwrap();
    let from_shell = String::from_utf8(sh.stdout).unwrap();
    assert!(w.fake.issued_tokens().contains(&from_shell));
}

#[test]
fn curl_sends_the_bearer_token_method_headers_and_body() {
    let w = World::new();
    let file = w.oauth_file.to_str().unwrap();
    let body_file = w.path("body.json");
    write(&body_file, br#"{"from":"file"}"#);
    let at_file = format!("@{}", body_file.display());
    let echo = w.url("/test/v1/echo?x=1");
    for (data, expect) in [
        ("{\"inline\":true}", "{\"inline\":true}"),
        (at_file.as_str(), "{\"from\":\"file\"}"),
        ("@-", "{\"from\":\"stdin\"}"),
    ] {
        let r = w.run_with_stdin(
            &[
                "curl",
                "--oauth-token-file",
                file,
                "-X",
                "PATCH",
                "-H",
                "X-Test: yes",
                "-d",
                data,
                &echo,
            ],
            br#"{"from":"stdin"}"#,
        );
        assert_eq!(r.code, 0, "{r:?}");
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["method"], "PATCH");
        assert_eq!(v["body"], expect);
        assert_eq!(v["headers"]["x-test"], "yes");
        assert_eq!(v["headers"]["content-type"], "application/json");
        let auth = v["headers"]["authorization"].as_str().unwrap();
        let bearer = auth.strip_prefix("Bearer ").unwrap();
        assert!(w.fake.issued_tokens().iter().any(|t| t == bearer));
    }
    // -d without -X is a POST, as in curl.
    let r = w.run(&["curl", "--oauth-token-file", file, "--data", "{}", &echo]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()["method"],
        "POST"
    );
}

#[test]
fn curl_include_and_http_errors_exit_22_with_the_body() {
    let w = World::new();
    let file = w.oauth_file.to_str().unwrap();
    let r = w.run(&[
        "curl",
        "--oauth-token-file",
        file,
        "-i",
        &w.url("/resource-manager/v1/clouds"),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("HTTP/1.1 200 OK\r\n"), "{r:?}");
    assert!(r.stdout.contains("\r\n\r\n{"), "{r:?}");

    let r = w.run(&[
        "curl",
        "--oauth-token-file",
        file,
        &w.url("/test/v1/status/404"),
    ]);
    assert_eq!(r.code, 22, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["code"], 5);
    assert!(
        r.stderr.contains("HTTP 404") && r.stderr.contains("request id"),
        "{r:?}"
    );
}

#[test]
fn clouds_follows_every_page() {
    let w = World::new();
    let file = w.oauth_file.to_str().unwrap();
    let r = w.run(&["clouds", "--oauth-token-file", file]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let clouds = v["clouds"].as_array().unwrap();
    assert_eq!(clouds.len(), 250);
    let mut ids: Vec<_> = clouds.iter().map(|c| c["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 250, "no cloud twice");
    assert_eq!(w.fake.count(Route::ListClouds), 3);
    assert!(clouds[0].get("organizationId").is_some() && clouds[0].get("createdAt").is_some());

    let t = w.run(&[
        "clouds",
        "--oauth-token-file",
        file,
        "--format",
        "table",
        "--page-size",
        "1000",
    ]);
    assert_eq!(t.code, 0, "{t:?}");
    let lines: Vec<_> = t.stdout.lines().collect();
    assert_eq!(lines.len(), 251);
    assert!(lines[0].starts_with("ID") && lines[0].contains("NAME"));
    assert_eq!(w.fake.count(Route::ListClouds), 4, "one page of 1000");
}

#[test]
fn revoked_token_is_refused_afterwards() {
    let w = World::new();
    let token = token_with_oauth(&w, &[]).stdout.trim().to_string();
    let r = w.run_with_stdin(&["revoke", "--iam-token-file", "-"], token.as_bytes());
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("subjectId"), "{r:?}");
    let clouds = w.url("/resource-manager/v1/clouds");
    let mut cmd = w.cmd(&["curl", &clouds]);
    cmd.env("YC_IAM_TOKEN", &token);
    let r = w.exec(cmd, None);
    assert_eq!(r.code, 22, "{r:?}");
    assert!(
        r.stdout.contains("\"code\":16") || r.stdout.contains("\"code\": 16"),
        "{r:?}"
    );
    let mut cmd = w.cmd(&["clouds"]);
    cmd.env("YC_IAM_TOKEN", &token);
    let r = w.exec(cmd, None);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("401") && r.stderr.contains("YC_IAM_TOKEN"),
        "{r:?}"
    );
    assert!(!r.stderr.contains(&token));
}

// ---- faults -------------------------------------------------------------------------------

#[test]
fn recovers_from_two_503s() {
    let w = World::new();
    for _ in 0..2 {
        w.fake.push_fault(
            Route::CreateToken,
            Fault::Status {
                http: 503,
                grpc: 14,
                message: "Service is unavailable".into(),
            },
        );
    }
    let r = token_with_oauth(&w, &["-v"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.fake.count(Route::CreateToken), 3);
    assert!(r.stderr.contains("retrying"), "{r:?}");
    w.assert_no_secret_in_stderr(&r);
}

#[test]
fn waits_for_retry_after_on_429() {
    let w = World::new();
    w.fake
        .push_fault(Route::CreateToken, Fault::RetryAfter { seconds: 1 });
    let r = token_with_oauth(&w, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.elapsed >= Duration::from_secs(1), "{r:?}");
    assert_eq!(w.fake.count(Route::CreateToken), 2);
}

#[test]
fn recovers_from_a_reset_connection() {
    let w = World::new();
    w.fake.push_fault(Route::CreateToken, Fault::Reset);
    let r = token_with_oauth(&w, &["-v"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.fake.count(Route::CreateToken), 2);
    w.assert_no_secret_in_stderr(&r);
}

#[test]
fn gives_up_after_four_attempts_with_the_server_message() {
    let w = World::new();
    for _ in 0..4 {
        w.fake.push_fault(
            Route::CreateToken,
            Fault::Status {
                http: 500,
                grpc: 13,
                message: "Internal error".into(),
            },
        );
    }
    let r = token_with_oauth(&w, &[]);
    assert_eq!(r.code, 6, "{r:?}");
    assert_eq!(w.fake.count(Route::CreateToken), 4);
    assert!(
        r.stderr.contains("Internal error")
            && r.stderr.contains("request id")
            && r.stderr.contains("4 attempts"),
        "{r:?}"
    );
}

#[test]
fn truncated_json_is_a_clear_server_error() {
    let w = World::new();
    w.fake.push_fault(Route::CreateToken, Fault::TruncatedJson);
    let r = token_with_oauth(&w, &["-v"]);
    assert_eq!(r.code, 6, "{r:?}");
    assert!(r.stderr.contains("not the expected JSON"), "{r:?}");
    w.assert_no_secret_in_stderr(&r);
}

#[test]
fn a_20_mib_body_is_refused_without_reading_it_all() {
    let w = World::new();
    w.fake.push_fault(
        Route::CreateToken,
        Fault::Huge {
            bytes: 20 * 1024 * 1024,
        },
    );
    let r = token_with_oauth(&w, &[]);
    assert_eq!(r.code, 6, "{r:?}");
    assert!(r.stderr.contains("larger than 1024 KiB"), "{r:?}");
}

#[test]
fn an_html_502_from_a_proxy_is_retried_then_reported_with_an_excerpt() {
    let w = World::new();
    w.fake
        .push_fault(Route::CreateToken, Fault::Html { status: 502 });
    w.fake
        .push_fault(Route::CreateToken, Fault::Html { status: 504 });
    let r = token_with_oauth(&w, &["--no-cache"]);
    assert_eq!(r.code, 0, "a passing gateway error is retried: {r:?}");
    for _ in 0..4 {
        w.fake
            .push_fault(Route::CreateToken, Fault::Html { status: 502 });
    }
    let r = token_with_oauth(&w, &["--no-cache"]);
    assert_eq!(r.code, 6, "{r:?}");
    assert!(r.stderr.contains("4 attempts"), "{r:?}");
    assert!(
        r.stderr.contains("HTTP 502") && r.stderr.contains("Bad Gateway"),
        "{r:?}"
    );
    assert!(
        !r.stderr.contains("<html>") && !r.stderr.contains("JSON"),
        "{r:?}"
    );
}

#[test]
fn garbage_is_a_clear_server_error() {
    let w = World::new();
    w.fake.push_fault(Route::CreateToken, Fault::Garbage);
    let r = token_with_oauth(&w, &[]);
    assert_eq!(r.code, 6, "{r:?}");
    assert!(r.stderr.contains("unusable"), "{r:?}");
}

#[test]
fn a_stall_ends_at_the_timeout() {
    let w = World::new();
    w.fake
        .push_fault(Route::CreateToken, Fault::Stall(Duration::from_secs(20)));
    let r = token_with_oauth(&w, &["--timeout", "2"]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.elapsed >= Duration::from_millis(1900) && r.elapsed < Duration::from_secs(4),
        "{r:?}"
    );
    assert!(r.stderr.contains("--timeout"), "{r:?}");
}

#[test]
fn a_refused_oauth_token_shows_the_server_message_and_request_id() {
    let w = World::new();
    let bad = w.path("bad-token");
    write(&bad, b"y0_not_a_token_the_fake_knows");
    let r = w.run(&["token", "-v", "--oauth-token-file", bad.to_str().unwrap()]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("OAuth token is invalid or expired"),
        "{r:?}"
    );
    assert!(r.stderr.contains("request id "), "{r:?}");
    assert!(
        r.stderr.contains("oauth.yandex"),
        "says where to get a new one: {r:?}"
    );
    assert!(!r.stderr.contains("y0_not_a_token_the_fake_knows"), "{r:?}");
    assert_eq!(w.fake.count(Route::CreateToken), 1, "401 is not retried");
}

#[test]
fn a_400_is_not_retried_and_shows_the_message() {
    let w = World::new();
    w.fake.push_fault(
        Route::CreateToken,
        Fault::Status {
            http: 400,
            grpc: 3,
            message: "Validation failed:\n  - identity: One of the options must be selected".into(),
        },
    );
    let r = token_with_oauth(&w, &[]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("One of the options must be selected"),
        "{r:?}"
    );
    assert_eq!(w.fake.count(Route::CreateToken), 1);
}

// ---- bad input ----------------------------------------------------------------------------

#[test]
fn bad_token_files_say_what_is_wrong() {
    let w = World::new();
    let empty = w.path("empty");
    write(&empty, b" \r\n");
    let binary = w.path("binary");
    write(&binary, &[0xff, 0xfe, 0x00, 0x41]);
    let missing = w.path("missing");
    let dir = w.dir.path().to_str().unwrap().to_string();
    for (file, expect) in [
        (empty.to_str().unwrap(), "empty"),
        (binary.to_str().unwrap(), "not UTF-8"),
        (missing.to_str().unwrap(), "no such file"),
        (dir.as_str(), "cannot read the token file"),
    ] {
        let r = w.run(&["token", "--oauth-token-file", file]);
        assert_eq!(r.code, 2, "{file}: {r:?}");
        assert!(r.stderr.contains(expect), "{file}: {r:?}");
        assert!(r.stderr.starts_with("yciam: "), "{r:?}");
    }
    assert_eq!(w.fake.count(Route::CreateToken), 0);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let w = World::new();
    let file = w.oauth_file.to_str().unwrap();
    let missing = format!("@{}", w.path("nope.json").display());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["token", "--frobnicate"], "--frobnicate"),
        (
            vec![
                "curl",
                "--oauth-token-file",
                file,
                "-d",
                &missing,
                "https://127.0.0.1/x",
            ],
            "nope.json",
        ),
        (
            vec!["curl", "--oauth-token-file", file, "not a url"],
            "bad URL",
        ),
        (
            vec!["curl", "--oauth-token-file", file, "ftp://example.com/x"],
            "bad URL",
        ),
        (
            vec![
                "curl",
                "--oauth-token-file",
                file,
                "-H",
                "NoColon",
                "https://127.0.0.1/x",
            ],
            "Name: value",
        ),
        (vec!["token", "--timeout=-3"], "timeout"),
        (vec!["token", "--timeout", "abc"], "timeout"),
        (vec!["frobnicate"], "frobnicate"),
    ];
    for (args, expect) in cases {
        let r = w.run(&args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains(expect), "{args:?}: {r:?}");
    }
    assert_eq!(w.fake.requests().len(), 0);
}

#[test]
fn plain_http_to_a_remote_iam_is_refused_before_connecting() {
    let w = World::new();
    let file = w.oauth_file.to_str().unwrap();
    let r = w.run(&[
        "token",
        "--oauth-token-file",
        file,
        "--iam-endpoint",
        "http://iam.api.cloud.yandex.net",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("plain HTTP") && r.stderr.contains("https://"),
        "{r:?}"
    );
    assert!(r.elapsed < Duration::from_secs(1), "{r:?}");
}

#[test]
fn a_wrong_ca_is_a_tls_error_that_names_the_fix() {
    let w = World::new();
    let wrong = w.path("wrong-ca.pem");
    write(&wrong, w.fake.wrong_ca_pem().as_bytes());
    let file = w.oauth_file.to_str().unwrap();
    let r = w.run(&[
        "token",
        "-v",
        "--oauth-token-file",
        file,
        "--ca-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr.contains("TLS") && r.stderr.contains("--ca-file"),
        "{r:?}"
    );
    assert_eq!(
        w.fake.count(Route::CreateToken),
        0,
        "nothing reached the server"
    );
    w.assert_no_secret_in_stderr(&r);
}

#[test]
fn no_credential_lists_every_source() {
    let w = World::new();
    let r = w.run(&["token"]);
    assert_eq!(r.code, 3, "{r:?}");
    for source in ["YC_IAM_TOKEN", "YC_OAUTH_TOKEN", "YC_TOKEN"] {
        assert!(r.stderr.contains(source), "{r:?}");
    }
}

#[test]
fn verbose_shows_requests_and_timings_but_never_a_secret() {
    let w = World::new();
    let file = w.oauth_file.to_str().unwrap();
    for args in [
        vec!["token", "-v", "--oauth-token-file", file],
        vec!["clouds", "-v", "--oauth-token-file", file],
        vec![
            "curl",
            "-v",
            "--oauth-token-file",
            file,
            "-d",
            "{}",
            "https://PLACEHOLDER",
        ],
    ] {
        let echo = w.url("/test/v1/echo");
        let args: Vec<&str> = args
            .iter()
            .map(|a| {
                if *a == "https://PLACEHOLDER" {
                    echo.as_str()
                } else {
                    a
                }
            })
            .collect();
        let r = w.run(&args);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(
            r.stderr.contains("> POST ") || r.stderr.contains("> GET "),
            "{r:?}"
        );
        assert!(r.stderr.contains(" ms"), "{r:?}");
        w.assert_no_secret_in_stderr(&r);
    }
}

#[test]
fn help_documents_exit_codes_and_examples() {
    let w = World::new();
    let r = w.run(&["--help"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Exit codes") && r.stdout.contains("22"),
        "{r:?}"
    );
    for cmd in ["token", "curl", "clouds", "revoke"] {
        let r = w.run(&[cmd, "--help"]);
        assert_eq!(r.code, 0, "{cmd}");
        assert!(r.stdout.contains("Examples"), "{cmd}: {r:?}");
    }
}

#[test]
fn https_proxy_is_used_and_no_proxy_bypasses_it() {
    let w = World::new();
    let file = w.oauth_file.to_str().unwrap();
    // A proxy that refuses connections: going through it fails...
    let mut cmd = w.cmd(&["token", "--oauth-token-file", file, "--timeout", "3"]);
    cmd.env("HTTPS_PROXY", "http://127.0.0.1:9");
    let r = w.exec(cmd, None);
    assert_eq!(r.code, 5, "{r:?}");
    assert_eq!(w.fake.count(Route::CreateToken), 0);
    // ...and NO_PROXY sends the request straight to the server.
    let mut cmd = w.cmd(&["token", "--oauth-token-file", file]);
    cmd.env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1");
    let r = w.exec(cmd, None);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn the_system_trust_store_is_used_without_a_ca_file() {
    // A corporate CA installed in the system store: rustls-native-certs reads SSL_CERT_FILE.
    let w = World::new();
    let mut cmd = w.cmd(&[
        "token",
        "--oauth-token-file",
        w.oauth_file.to_str().unwrap(),
    ]);
    cmd.env_remove("YCIAM_CA_FILE").env("SSL_CERT_FILE", &w.ca);
    let r = w.exec(cmd, None);
    assert_eq!(r.code, 0, "{r:?}");
    // Without it, the fake's CA is unknown.
    let mut cmd = w.cmd(&[
        "token",
        "--no-cache",
        "--oauth-token-file",
        w.oauth_file.to_str().unwrap(),
    ]);
    cmd.env_remove("YCIAM_CA_FILE");
    let r = w.exec(cmd, None);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("--ca-file"), "{r:?}");
}
