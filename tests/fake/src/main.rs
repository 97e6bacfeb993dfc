//! `yciam-fake`: the fake as a standalone process, for C, Python, Bash and PowerShell tests.
//!
//! ```text
//! yciam-fake --dir DIR [--clouds N] [--token-lifetime SECS] [--no-metadata-sa]
//!            [--audience URL] [--exit-on-stdin-eof]
//! ```
//!
//! Writes `DIR/ca.pem`, `DIR/wrong-ca.pem`, `DIR/oauth-token` (mode 0600, no newline) and
//! then, last and atomically, `DIR/endpoints.json`:
//! `{"https":"https://127.0.0.1:P","http":"http://127.0.0.1:P2","metadata_addr":"127.0.0.1:P2","pid":N}`
//! (the same line is printed on stdout). Serves until SIGTERM/SIGINT, or until stdin
//! reaches EOF with `--exit-on-stdin-eof`; then removes `endpoints.json` and exits 0.
//!
//! The control routes (`/_fake/faults`, `/_fake/stats`, `/_fake/reset`, `/_fake/sa_key`,
//! `/_fake/oauth_token`, …) are documented in the library's crate docs (`src/lib.rs`).
//! Callers polling for `endpoints.json` should check its `pid` against the child they
//! started (or use a fresh directory).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use yciam_fake::{FakeConfig, FakeServer};

const USAGE: &str = "usage: yciam-fake --dir DIR [--clouds N] [--token-lifetime SECS] \
[--no-metadata-sa] [--audience URL] [--exit-on-stdin-eof]";

struct Args {
    dir: PathBuf,
    cfg: FakeConfig,
    exit_on_stdin_eof: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut dir = None;
    let mut cfg = FakeConfig::default();
    let mut exit_on_stdin_eof = false;
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs {what}"))
        };
        match name.as_str() {
            "--dir" => dir = Some(PathBuf::from(value("a directory")?)),
            "--clouds" => {
                let n: usize = value("a number")?
                    .parse()
                    .map_err(|_| "--clouds needs a non-negative integer".to_string())?;
                cfg.clouds = FakeConfig::generated_clouds(n);
            }
            "--token-lifetime" => {
                let s: u64 = value("seconds")?
                    .parse()
                    .map_err(|_| "--token-lifetime needs whole seconds".to_string())?;
                cfg.token_lifetime = Duration::from_secs(s);
            }
            "--audience" => cfg.audience = value("a URL")?,
            "--no-metadata-sa" => cfg.metadata_service_account = None,
            "--exit-on-stdin-eof" => exit_on_stdin_eof = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    let dir = dir.ok_or("--dir is required")?;
    Ok(Args {
        dir,
        cfg,
        exit_on_stdin_eof,
    })
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(contents.as_bytes())
}

fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("json.tmp.{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Installs the SIGTERM/SIGINT handlers (and the stdin watcher), reports on `ready`, then
/// blocks until one of them fires.
fn wait_for_shutdown(
    exit_on_stdin_eof: bool,
    ready: std::sync::mpsc::Sender<()>,
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        #[cfg(unix)]
        let (mut term, mut int) = {
            use tokio::signal::unix::{SignalKind, signal};
            (
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            )
        };
        let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
        if exit_on_stdin_eof {
            std::thread::spawn(move || {
                let mut sink = [0u8; 4096];
                let mut stdin = std::io::stdin().lock();
                while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
                let _ = eof_tx.send(());
            });
        }
        let eof = async {
            if exit_on_stdin_eof {
                let _ = eof_rx.await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let _ = ready.send(());
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = eof => {}
        }
        #[cfg(not(unix))]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = eof => {}
        }
        Ok(())
    })
}

fn run(args: Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    let endpoints_path = args.dir.join("endpoints.json");
    // A stale file from an earlier run must not be mistaken for this one.
    let _ = std::fs::remove_file(&endpoints_path);

    let server = FakeServer::start_with(args.cfg);
    let io = |p: &Path, e: std::io::Error| format!("cannot write {}: {e}", p.display());
    let ca = args.dir.join("ca.pem");
    std::fs::write(&ca, server.ca_pem()).map_err(|e| io(&ca, e))?;
    let wrong = args.dir.join("wrong-ca.pem");
    std::fs::write(&wrong, server.wrong_ca_pem()).map_err(|e| io(&wrong, e))?;
    let oauth = args.dir.join("oauth-token");
    write_private(&oauth, &server.oauth_token()).map_err(|e| io(&oauth, e))?;

    let endpoints = serde_json::json!({
        "https": server.https_url(),
        "http": server.http_url(),
        "metadata_addr": server.metadata_addr(),
        "pid": std::process::id(),
    })
    .to_string();

    // Signal handlers go in before the file that tells callers we are ready.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let exit_on_eof = args.exit_on_stdin_eof;
    let waiter = std::thread::spawn(move || wait_for_shutdown(exit_on_eof, ready_tx));
    if ready_rx.recv().is_err() {
        // The waiter failed before it was ready; its error explains why.
        let err = waiter
            .join()
            .map_err(|_| "shutdown waiter panicked".to_string())?;
        return Err(format!("cannot install signal handlers: {:?}", err.err()));
    }

    write_atomically(&endpoints_path, &endpoints).map_err(|e| io(&endpoints_path, e))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{endpoints}");
    let _ = out.flush();
    drop(out);

    let result = waiter
        .join()
        .map_err(|_| "shutdown waiter panicked".to_string())?;
    let _ = std::fs::remove_file(&endpoints_path);
    drop(server);
    result.map_err(|e| format!("cannot wait for signals: {e}"))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("yciam-fake: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("yciam-fake: {msg}");
            ExitCode::FAILURE
        }
    }
}
