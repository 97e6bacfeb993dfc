//! The shared on-disk cache across processes, and the kubectl and docker helpers (issue 5).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::*;

fn cache_files(w: &World) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(w.dir.path().join("cache"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files
}

fn token(w: &World) -> Run {
    w.run(&[
        "token",
        "--oauth-token-file",
        w.oauth_file.to_str().unwrap(),
    ])
}

#[test]
fn thirty_two_processes_on_a_cold_cache_make_one_exchange() {
    let w = World::new();
    let file = w.oauth_file.to_str().unwrap().to_string();
    let children: Vec<_> = (0..32)
        .map(|_| {
            let mut cmd = w.cmd(&["token", "--oauth-token-file", &file]);
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, outputs[0].stdout);
    }
    assert_eq!(w.fake.count(Route::CreateToken), 1);
    // One valid, private cache file in a private dir, holding no OAuth token.
    let files = cache_files(&w);
    assert_eq!(files.len(), 1, "{files:?}");
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(w.dir.path().join("cache"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        format!("{}\n", v["iamToken"].as_str().unwrap()),
        String::from_utf8_lossy(&outputs[0].stdout)
    );
    assert!(!text.contains(&w.fake.oauth_token()));
    // A second run makes no request.
    let r = token(&w);
    assert_eq!(r.code, 0);
    assert_eq!(w.fake.count(Route::CreateToken), 1);
}

#[test]
fn untrustworthy_cache_files_are_ignored_and_replaced() {
    let w = World::new();
    assert_eq!(token(&w).code, 0);
    let file = cache_files(&w).remove(0);
    let planted = r#"{"v":1,"iamToken":"t1.planted.byanother","expiresAt":"2099-01-01T00:00:00Z","obtainedAt":"2098-12-31T23:59:00Z"}"#;
    type Plant = Box<dyn Fn(&PathBuf)>;
    let cases: Vec<(&str, Plant)> = vec![
        ("corrupt", Box::new(|p| write(p, b"{\"v\":1,\"iamTok"))),
        ("empty", Box::new(|p| write(p, b""))),
        (
            "world-readable",
            Box::new(move |p| {
                write(p, planted.as_bytes());
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
            }),
        ),
        (
            "foreign-owned",
            Box::new(move |p| {
                write(p, planted.as_bytes());
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
                std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
            }),
        ),
        (
            "a symlink",
            Box::new(move |p| {
                let target = p.with_extension("elsewhere");
                write(&target, planted.as_bytes());
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
                let _ = std::fs::remove_file(p);
                std::os::unix::fs::symlink(&target, p).unwrap();
            }),
        ),
    ];
    for (name, plant) in cases {
        let before = w.fake.count(Route::CreateToken);
        plant(&file);
        let r = w.run(&[
            "token",
            "-v",
            "--oauth-token-file",
            w.oauth_file.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 0, "{name}: {r:?}");
        assert!(
            r.stdout.starts_with("t1.") && !r.stdout.contains("planted"),
            "{name}: {r:?}"
        );
        assert_eq!(
            w.fake.count(Route::CreateToken),
            before + 1,
            "{name}: a new exchange"
        );
        assert!(r.stderr.contains("cache: ignoring"), "{name}: {r:?}");
        // Replaced by a valid private file again.
        let meta = std::fs::symlink_metadata(&file).unwrap();
        assert!(meta.file_type().is_file(), "{name}");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
        assert_eq!(
            token(&w).stdout,
            r.stdout,
            "{name}: the replacement is used"
        );
    }
}

#[test]
fn revoke_removes_the_cache_entry_and_no_cache_skips_it() {
    let w = World::new();
    let t = token(&w).stdout;
    assert_eq!(cache_files(&w).len(), 1);
    let r = w.run_with_stdin(&["revoke", "--iam-token-file", "-"], t.as_bytes());
    assert_eq!(r.code, 0, "{r:?}");
    assert!(cache_files(&w).is_empty());
    let fresh = token(&w).stdout;
    assert_ne!(fresh, t);
    let mut cmd = w.cmd(&[
        "token",
        "--oauth-token-file",
        w.oauth_file.to_str().unwrap(),
    ]);
    cmd.env("YCIAM_NO_CACHE", "1");
    let r = w.exec(cmd, None);
    assert_ne!(r.stdout, fresh, "YCIAM_NO_CACHE=1 exchanges anew");
}

#[test]
fn a_token_due_for_renewal_is_renewed_and_the_file_updated() {
    let w = World::new();
    let first = token(&w).stdout;
    let file = cache_files(&w).remove(0);
    // Make the cached token two hours old.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    v["obtainedAt"] = yciam::format_rfc3339(two_hours_ago).into();
    write(&file, v.to_string().as_bytes());
    let second = token(&w).stdout;
    assert_ne!(second, first);
    assert_eq!(w.fake.count(Route::CreateToken), 2);
    // While the IAM API is down, the old (still valid) token is served.
    let v2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let mut aged = v2.clone();
    aged["obtainedAt"] = yciam::format_rfc3339(two_hours_ago).into();
    write(&file, aged.to_string().as_bytes());
    for _ in 0..4 {
        w.fake.push_fault(
            Route::CreateToken,
            Fault::Status {
                http: 503,
                grpc: 14,
                message: "down".into(),
            },
        );
    }
    let r = w.run(&[
        "token",
        "-v",
        "--oauth-token-file",
        w.oauth_file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, second);
    assert!(
        r.stderr
            .contains("refresh failed, still using the current token"),
        "{r:?}"
    );
}

// ---- kubectl ------------------------------------------------------------------------------

fn kubeconfig(w: &World, api_version: &str) -> PathBuf {
    let path = w.path(&format!(
        "kubeconfig-{}",
        api_version.rsplit('/').next().unwrap()
    ));
    let yciam = env!("CARGO_BIN_EXE_yciam");
    let interactive = if api_version.ends_with("/v1") {
        "\n      interactiveMode: Never"
    } else {
        ""
    };
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: yc
  user:
    exec:
      apiVersion: {api_version}
      command: {yciam}
      args: [token, --format, exec-credential, --oauth-token-file, {oauth}]{interactive}
contexts:
- name: fake
  context: {{cluster: fake, user: yc}}
current-context: fake
",
        server = w.fake.https_url(),
        ca = w.ca.display(),
        oauth = w.oauth_file.display(),
    );
    write(&path, text.as_bytes());
    path
}

#[test]
fn kubectl_uses_yciam_as_its_exec_credential_plugin() {
    if std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: kubectl is not installed");
        return;
    }
    let w = World::new();
    for api_version in [
        "client.authentication.k8s.io/v1",
        "client.authentication.k8s.io/v1beta1",
    ] {
        let config = kubeconfig(&w, api_version);
        let kubectl = w.program(
            "kubectl",
            &[
                "--kubeconfig",
                config.to_str().unwrap(),
                "get",
                "--raw",
                "/test/v1/echo",
            ],
        );
        let r = w.exec(kubectl, None);
        assert_eq!(r.code, 0, "{api_version}: {r:?}");
        let echo: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let bearer = echo["headers"]["authorization"]
            .as_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap();
        assert!(w.fake.is_token_valid(bearer), "{api_version}");
    }
}

#[test]
fn exec_credential_answers_in_the_version_asked() {
    let w = World::new();
    for v in [
        "client.authentication.k8s.io/v1",
        "client.authentication.k8s.io/v1beta1",
    ] {
        let mut cmd = w.cmd(&[
            "token",
            "--format",
            "exec-credential",
            "--oauth-token-file",
            w.oauth_file.to_str().unwrap(),
        ]);
        cmd.env(
            "KUBERNETES_EXEC_INFO",
            format!(
                r#"{{"apiVersion":"{v}","kind":"ExecCredential","spec":{{"interactive":false}}}}"#
            ),
        );
        let r = w.exec(cmd, None);
        assert_eq!(r.code, 0, "{r:?}");
        let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(out["apiVersion"], v);
        assert_eq!(out["kind"], "ExecCredential");
        assert!(out["status"]["token"].as_str().unwrap().starts_with("t1."));
        let at =
            yciam::parse_rfc3339(out["status"]["expirationTimestamp"].as_str().unwrap()).unwrap();
        let until = at.duration_since(std::time::SystemTime::now()).unwrap();
        assert!(
            until <= std::time::Duration::from_secs(3600)
                && until > std::time::Duration::from_secs(3000)
        );
    }
}

// ---- docker ---------------------------------------------------------------------------------

#[test]
fn docker_credential_helper_protocol_round_trip() {
    let w = World::new();
    let bin = w.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-yciam");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_yciam"), &helper).unwrap();
    let go = |args: &[&str], stdin: &[u8]| {
        let mut cmd = w.program(&helper, args);
        cmd.env("YC_OAUTH_TOKEN", w.fake.oauth_token());
        w.exec(cmd, Some(stdin))
    };
    for server in ["cr.yandex", "https://cr.yandex", "cr.yandex:443"] {
        let r = go(&["get"], format!("{server}\n").as_bytes());
        assert_eq!(r.code, 0, "{r:?}");
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["Username"], "iam");
        assert_eq!(v["ServerURL"], server);
        assert!(w.fake.is_token_valid(v["Secret"].as_str().unwrap()));
    }
    let r = go(&["get"], b"https://index.docker.io/v1/\n");
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout.trim(), "credentials not found in native keychain");
    let r = go(
        &["store"],
        br#"{"ServerURL":"cr.yandex","Username":"iam","Secret":"x"}"#,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = go(&["erase"], b"cr.yandex\n");
    assert_eq!(r.code, 0, "{r:?}");
    let r = go(&["list"], b"");
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["cr.yandex"], "iam");
    // The same through the subcommand.
    let mut cmd = w.cmd(&["docker-credential", "list"]);
    cmd.env("YC_OAUTH_TOKEN", w.fake.oauth_token());
    assert_eq!(w.exec(cmd, None).code, 0);
}

#[test]
fn a_cached_token_revoked_elsewhere_is_renewed_by_curl_and_the_file_replaced() {
    let w = World::new();
    let first = token(&w).stdout.trim().to_string();
    w.fake.revoke_all_tokens();
    let clouds = w.url("/resource-manager/v1/clouds");
    let r = w.run(&[
        "curl",
        "-v",
        "--oauth-token-file",
        w.oauth_file.to_str().unwrap(),
        &clouds,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("renewing it"), "{r:?}");
    let second = token(&w).stdout.trim().to_string();
    assert_ne!(first, second);
    assert!(w.fake.is_token_valid(&second));
    assert_eq!(w.fake.count(Route::CreateToken), 2);
}
