//! The on-disk token cache shared by processes: one 0600 file per credential in a 0700 dir,
//! written atomically, locked while refreshing, holding only the IAM token and its times.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::cache::{Key, Outcome};
use crate::error::Result;
use crate::http::{Deadline, Http};
use crate::secret::Secret;
use crate::token::{IamToken, format_rfc3339, parse_rfc3339};

/// Cache files are small; anything bigger is not ours.
const MAX_FILE: u64 = 64 * 1024;
const LOCK_POLL: Duration = Duration::from_millis(15);

/// The platform's cache dir + `/yciam` (e.g. `~/.cache/yciam`).
pub fn default_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("yciam"))
}

/// One credential's cache file.
pub(crate) struct DiskCache {
    dir: PathBuf,
    name: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    v: u32,
    iam_token: String,
    expires_at: String,
    obtained_at: String,
}

impl DiskCache {
    pub fn new(dir: PathBuf, key: &Key) -> Self {
        let name: String = key.iter().map(|b| format!("{b:02x}")).collect();
        DiskCache { dir, name }
    }

    fn file(&self) -> PathBuf {
        self.dir.join(format!("{}.json", self.name))
    }

    /// The cached token if this file is trustworthy and fresh; else a refresh under the
    /// lock (re-checking the file first: another process may just have refreshed it).
    pub fn get(
        &self,
        http: &Http,
        deadline: &Deadline,
        fetch: impl FnOnce() -> Result<IamToken>,
    ) -> Result<(IamToken, Outcome)> {
        let now = SystemTime::now();
        if let Some(t) = self.load(http).filter(|t| t.is_fresh(now)) {
            http.log(|| format!("token: from the cache file {}", self.file().display()));
            return Ok((t, Outcome::Cached));
        }
        let _lock = self.lock(http, deadline);
        let current = self.load(http);
        if let Some(t) = current.as_ref().filter(|t| t.is_fresh(SystemTime::now())) {
            http.log(|| "token: another process refreshed the cache file".into());
            return Ok((t.clone(), Outcome::Cached));
        }
        match fetch() {
            Ok(t) => {
                self.store(http, &t);
                Ok((t, Outcome::Fetched))
            }
            Err(e) => match current.filter(|t| t.is_usable(SystemTime::now())) {
                Some(old) => Ok((old, Outcome::StaleAfterError(e.to_string()))),
                None => Err(e),
            },
        }
    }

    /// Makes the dir (0700) if needed; refuses a dir that is not ours or that others can write.
    fn ensure_dir(&self, http: &Http) -> bool {
        if let Err(e) = fs::create_dir_all(&self.dir) {
            http.log(|| format!("cache: cannot create {}: {e}", self.dir.display()));
            return false;
        }
        match private_dir(&self.dir) {
            Ok(()) => true,
            Err(why) => {
                http.log(|| format!("cache: not using {}: {why}", self.dir.display()));
                false
            }
        }
    }

    /// Reads the file, trusting it only if it is a regular file we own that nobody else can
    /// read, and holds a well-formed entry. Anything else is ignored (and later replaced).
    fn load(&self, http: &Http) -> Option<IamToken> {
        let path = self.file();
        let mut file = match open_nofollow(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                http.log(|| format!("cache: ignoring {}: {e}", path.display()));
                return None;
            }
        };
        if let Err(why) = trustworthy(&file) {
            http.log(|| format!("cache: ignoring {}: {why}", path.display()));
            return None;
        }
        let mut text = String::new();
        if (&mut file)
            .take(MAX_FILE)
            .read_to_string(&mut text)
            .is_err()
        {
            http.log(|| format!("cache: ignoring {}: unreadable", path.display()));
            return None;
        }
        let parsed = parse_entry(&text);
        if parsed.is_none() {
            http.log(|| {
                format!(
                    "cache: ignoring {}: not a valid cache entry",
                    path.display()
                )
            });
        }
        parsed
    }

    /// Writes the entry atomically: a private temp file in the same dir, renamed over the old.
    fn store(&self, http: &Http, token: &IamToken) {
        let Some(expires_at) = token.expires_at() else {
            return;
        };
        if !self.ensure_dir(http) {
            return;
        }
        let entry = Entry {
            v: 1,
            iam_token: token.expose().to_string(),
            expires_at: format_rfc3339(expires_at),
            obtained_at: format_rfc3339(token.obtained_at()),
        };
        let result = (|| -> std::io::Result<()> {
            // tempfile creates the file 0600 on Unix.
            let mut tmp = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempfile_in(&self.dir)?;
            tmp.write_all(&serde_json::to_vec(&entry).map_err(std::io::Error::other)?)?;
            tmp.as_file().sync_all()?;
            tmp.persist(self.file()).map_err(|e| e.error)?;
            Ok(())
        })();
        match result {
            Ok(()) => http.log(|| format!("cache: wrote {}", self.file().display())),
            Err(e) => http.log(|| format!("cache: cannot write {}: {e}", self.file().display())),
        }
    }

    /// Takes the refresh lock, waiting at most until the deadline. `None` (no lock) is not
    /// fatal: the worst case is one extra exchange.
    fn lock(&self, http: &Http, deadline: &Deadline) -> Option<File> {
        if !self.ensure_dir(http) {
            return None;
        }
        let path = self.dir.join(format!("{}.lock", self.name));
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let file = options.open(&path).ok()?;
        loop {
            match file.try_lock() {
                Ok(()) => return Some(file),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if deadline.remaining() <= LOCK_POLL {
                        http.log(|| {
                            "cache: lock still held at the deadline; going on without it".into()
                        });
                        return None;
                    }
                    std::thread::sleep(LOCK_POLL);
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    http.log(|| format!("cache: cannot lock {}: {e}", path.display()));
                    return None;
                }
            }
        }
    }
}

/// Removes every cache file in `dir` that holds `token` (after it was revoked).
pub(crate) fn forget_token(dir: &Path, token: &Secret) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(mut file) = open_nofollow(&path) else {
            continue;
        };
        let mut text = String::new();
        if (&mut file).take(MAX_FILE).read_to_string(&mut text).is_ok()
            && parse_entry(&text).is_some_and(|t| t.expose() == token.expose())
        {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Parses a cache file's text; `None` for anything not exactly a valid entry.
pub fn parse_entry(text: &str) -> Option<IamToken> {
    let e: Entry = serde_json::from_str(text).ok()?;
    if e.v != 1 || e.iam_token.is_empty() || !e.iam_token.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let expires_at = parse_rfc3339(&e.expires_at)?;
    let obtained_at = parse_rfc3339(&e.obtained_at)?;
    if expires_at <= obtained_at || obtained_at > SystemTime::now() + Duration::from_secs(300) {
        return None;
    }
    Some(IamToken::obtained(
        Secret::new(e.iam_token),
        Some(expires_at),
        obtained_at,
    ))
}

fn open_nofollow(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(path)
}

#[cfg(unix)]
fn trustworthy(file: &File) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "owned by uid {}, not by you (uid {me})",
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "mode {:o} lets others read it (must be 600)",
            meta.mode() & 0o777
        ));
    }
    if meta.len() > MAX_FILE {
        return Err("too large".into());
    }
    Ok(())
}

#[cfg(not(unix))]
fn trustworthy(file: &File) -> std::result::Result<(), String> {
    // On Windows the file lives in the user's own profile dir, whose ACL keeps others out.
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return Err("not a small regular file".into());
    }
    Ok(())
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> std::result::Result<(), String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("not a directory".into());
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!("owned by uid {}, not by you", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::result::Result<(), String> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err("not a directory".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_must_be_exact() {
        let good = r#"{"v":1,"iamToken":"t1.a.b","expiresAt":"2026-11-30T06:01:02.123456789Z","obtainedAt":"2026-11-29T18:01:02Z"}"#;
        assert_eq!(parse_entry(good).unwrap().expose(), "t1.a.b");
        for bad in [
            "",
            "{",
            r#"{"v":2,"iamToken":"t1.a.b","expiresAt":"2026-11-30T06:01:02Z","obtainedAt":"2026-11-29T18:01:02Z"}"#,
            r#"{"v":1,"iamToken":"","expiresAt":"2026-11-30T06:01:02Z","obtainedAt":"2026-11-29T18:01:02Z"}"#,
            r#"{"v":1,"iamToken":"t1 a","expiresAt":"2026-11-30T06:01:02Z","obtainedAt":"2026-11-29T18:01:02Z"}"#,
            r#"{"v":1,"iamToken":"t1.a.b","expiresAt":"tomorrow","obtainedAt":"2026-11-29T18:01:02Z"}"#,
            r#"{"v":1,"iamToken":"t1.a.b","expiresAt":"2026-11-28T06:01:02Z","obtainedAt":"2026-11-29T18:01:02Z"}"#,
            r#"{"v":1,"iamToken":"t1.a.b","expiresAt":"2026-11-30T06:01:02Z","obtainedAt":"2026-11-29T18:01:02Z","oauth":"x"}"#,
        ] {
            assert!(parse_entry(bad).is_none(), "{bad}");
        }
    }
}
