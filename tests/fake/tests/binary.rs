//! The `yciam-fake` binary: files it writes, serving, and shutting down.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_yciam-fake");

fn wait_for_endpoints(dir: &Path, child: &mut Child) -> Value {
    let path = dir.join("endpoints.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Callers should check the pid: a stale file from an earlier run may still be there
        // until the new process has started.
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
            && v["pid"].as_u64() == Some(u64::from(child.id()))
        {
            return v;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("yciam-fake exited early: {status}");
        }
        assert!(Instant::now() < deadline, "no endpoints.json after 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("yciam-fake did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn binary_writes_files_serves_and_exits_on_stdin_eof() {
    let dir = tempfile::tempdir().unwrap();
    // A stale endpoints.json must be replaced, not trusted.
    std::fs::write(dir.path().join("endpoints.json"), "stale").unwrap();
    let mut child = Command::new(BIN)
        .args(["--dir", dir.path().to_str().unwrap()])
        .args([
            "--clouds",
            "3",
            "--token-lifetime",
            "60",
            "--no-metadata-sa",
        ])
        .arg("--exit-on-stdin-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let ep = wait_for_endpoints(dir.path(), &mut child);
    assert_eq!(ep["pid"].as_u64(), Some(u64::from(child.id())));
    let https = ep["https"].as_str().unwrap();
    let http = ep["http"].as_str().unwrap();
    let meta = ep["metadata_addr"].as_str().unwrap();
    assert!(https.starts_with("https://127.0.0.1:"));
    assert_eq!(http, format!("http://{meta}"));

    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
    let wrong = std::fs::read_to_string(dir.path().join("wrong-ca.pem")).unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(wrong.starts_with("-----BEGIN CERTIFICATE-----") && wrong != ca);
    let oauth_path = dir.path().join("oauth-token");
    let oauth = std::fs::read_to_string(&oauth_path).unwrap();
    assert_eq!(oauth, yciam_fake::DEFAULT_OAUTH_TOKEN);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&oauth_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let a = agent(&ca);
    let r = post_json(
        &a,
        &format!("{https}/iam/v1/tokens"),
        &json!({"yandexPassportOauthToken": oauth}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let token = r.json()["iamToken"].as_str().unwrap().to_string();
    let r = get_bearer(&a, &format!("{https}/resource-manager/v1/clouds"), &token);
    assert_eq!(r.json()["clouds"].as_array().unwrap().len(), 3);
    let r = send(
        &a,
        "GET",
        &format!("{http}/computeMetadata/v1/instance/service-accounts/default/token"),
        &[("Metadata-Flavor", "Google")],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 404);
    let stats = send(&a, "GET", &format!("{https}/_fake/stats"), &[], None)
        .unwrap()
        .json();
    assert_eq!(stats["counts"]["create_token"], 1);
    assert_eq!(stats["issued_tokens"], json!([token]));

    drop(child.stdin.take());
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    assert!(!dir.path().join("endpoints.json").exists());
}

#[cfg(unix)]
#[test]
fn binary_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["--dir", dir.path().to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ep = wait_for_endpoints(dir.path(), &mut child);
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), ep);
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    assert!(!dir.path().join("endpoints.json").exists());
}

#[test]
fn binary_rejects_bad_arguments() {
    for args in [
        &[][..],
        &["--dir"][..],
        &["--clouds", "x", "--dir", "/tmp"],
        &["--bogus"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
    }
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
}
