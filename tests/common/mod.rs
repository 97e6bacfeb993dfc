//! Shared set-up for the integration tests: a fake Yandex Cloud on loopback, a temp dir with
//! its CA and an OAuth token file, and a way to run the real `yciam` binary against them.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use yciam_fake::{FakeConfig, FakeServer, Fault, Route};

pub struct World {
    pub fake: FakeServer,
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub oauth_file: PathBuf,
}

/// What a run of the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

impl World {
    pub fn new() -> World {
        Self::with(FakeServer::start())
    }

    pub fn with(fake: FakeServer) -> World {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        fake.write_ca(&ca);
        let oauth_file = dir.path().join("oauth-token");
        std::fs::write(&oauth_file, format!("{}\n", fake.oauth_token())).unwrap();
        World {
            fake,
            dir,
            ca,
            oauth_file,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `yciam` with the fake's endpoints and CA in the environment (see [`World::configure`]).
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.program(env!("CARGO_BIN_EXE_yciam"), args)
    }

    /// Any program (kubectl, a link to yciam) with the environment of [`World::configure`].
    pub fn program(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        self.configure(&mut cmd);
        cmd.args(args).stdin(Stdio::null());
        cmd
    }

    /// The fake's endpoints and CA in the environment, every other YC_, YCIAM_ and proxy
    /// variable removed, a private cache dir and HOME, and a metadata address that refuses
    /// at once (so the default chain never probes a real link-local address).
    pub fn configure(&self, cmd: &mut Command) {
        for (k, _) in std::env::vars() {
            if k.starts_with("YC_")
                || k.starts_with("YCIAM_")
                || k.to_ascii_uppercase().ends_with("_PROXY")
            {
                cmd.env_remove(k);
            }
        }
        cmd.env("HOME", self.dir.path())
            .env("YC_IAM_ENDPOINT", self.fake.https_url())
            .env("YC_RESOURCE_MANAGER_ENDPOINT", self.fake.https_url())
            .env("YCIAM_CA_FILE", &self.ca)
            .env("YCIAM_CACHE_DIR", self.dir.path().join("cache"))
            .env("YC_METADATA_ADDR", "127.0.0.1:9");
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.exec(self.cmd(args), None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        self.exec(self.cmd(args), Some(stdin))
    }

    /// Runs a command and checks, for every run of every test, that no secret the fake
    /// knows of (the OAuth token, any IAM token it issued) reached stderr.
    pub fn exec(&self, cmd: Command, stdin: Option<&[u8]>) -> Run {
        let r = run(cmd, stdin);
        self.assert_no_secret_in_stderr(&r);
        r
    }

    /// A URL on the fake.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.fake.https_url())
    }

    /// Every secret the fake knows of: the OAuth token and every IAM token it issued.
    pub fn secrets(&self) -> Vec<String> {
        let mut s = vec![self.fake.oauth_token()];
        s.extend(self.fake.issued_tokens());
        s
    }

    /// Fails if stderr holds any secret the fake knows of.
    pub fn assert_no_secret_in_stderr(&self, run: &Run) {
        for secret in self.secrets() {
            assert!(
                !run.stderr.contains(&secret),
                "a secret leaked to stderr: {run:?}"
            );
        }
    }
}

pub fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Run {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn yciam");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input).unwrap();
    }
    let out: Output = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}
