//! Running the yc CLI (`yc iam create-token`): the only way to sign in a federated account.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::http::Deadline;
use crate::secret::Secret;
use crate::token::IamToken;

/// yc does not say when its token expires; assume an hour so it is renewed in time.
const ASSUMED_LIFETIME: Duration = Duration::from_secs(3600);

/// `yc` (or `yc.exe`) on PATH.
pub(crate) fn find_on_path(path_var: Option<&str>) -> Option<PathBuf> {
    let names: &[&str] = if cfg!(windows) {
        &["yc.exe", "yc.cmd", "yc"]
    } else {
        &["yc"]
    };
    std::env::split_paths(path_var?)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Runs `yc iam create-token [--profile NAME]`. yc's own prompts (browser sign-in) go to the
/// terminal through its stderr; the token comes from its stdout.
pub(crate) fn create_token(
    yc: &Path,
    profile: Option<&str>,
    deadline: &Deadline,
) -> Result<IamToken> {
    let mut cmd = Command::new(yc);
    cmd.args(["iam", "create-token"]);
    if let Some(p) = profile {
        cmd.args(["--profile", p]);
    }
    let what = format!(
        "running `{} iam create-token{}`",
        yc.display(),
        profile
            .map(|p| format!(" --profile {p}"))
            .unwrap_or_default()
    );
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::io(what.clone(), &e))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stdout).take(64 * 1024).read_to_end(&mut out);
        out
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if deadline.remaining().is_zero() => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(deadline.timeout(&what));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Error::io(what, &e)),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::Usage(format!(
            "{what} failed ({status}); see yc's message above, or run `yc init`"
        )));
    }
    let token = Secret::from_bytes(&format!("the output of {what}"), &out)?;
    let now = SystemTime::now();
    Ok(IamToken::obtained(token, Some(now + ASSUMED_LIFETIME), now))
}
