//! The in-process token cache: one per credential, shared by every thread and every client
//! of that credential, with single flight (N callers, one request) and the refresh policy.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, Weak};
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::token::IamToken;

/// A cache key: SHA-256 of what identifies the credential and where tokens come from.
pub(crate) type Key = [u8; 32];

pub(crate) fn key(parts: &[&[u8]]) -> Key {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        ctx.update(&(part.len() as u64).to_le_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Every live cache in the process, by key, so two clients of one credential share a token.
static CACHES: LazyLock<Mutex<HashMap<Key, Weak<TokenCache>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The shared cache for `key`, made on first use.
pub(crate) fn shared(key: Key) -> Arc<TokenCache> {
    let mut caches = lock(&CACHES);
    if let Some(cache) = caches.get(&key).and_then(Weak::upgrade) {
        return cache;
    }
    caches.retain(|_, weak| weak.strong_count() > 0);
    let cache = Arc::new(TokenCache::default());
    caches.insert(key, Arc::downgrade(&cache));
    cache
}

/// A poisoned lock only means another thread panicked mid-update; the data is still a
/// consistent `Option`/flags, so carry on.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Default)]
struct State {
    token: Option<IamToken>,
    refreshing: bool,
    /// Bumped when a refresh ends; waiters use it to see that "their" refresh is over.
    generation: u64,
    last_error: Option<Error>,
}

/// One credential's token.
#[derive(Default)]
pub(crate) struct TokenCache {
    state: Mutex<State>,
    refreshed: Condvar,
}

/// What [`TokenCache::get`] did, for `-v`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Cached,
    Fetched,
    /// The refresh failed but the old token is still valid for more than a minute.
    StaleAfterError(String),
}

impl TokenCache {
    /// The cached token if fresh; else one caller runs `fetch` while the others wait for its
    /// result (or are served the old token while it is still usable).
    pub fn get(&self, fetch: impl FnOnce() -> Result<IamToken>) -> Result<(IamToken, Outcome)> {
        let mut st = lock(&self.state);
        loop {
            let now = SystemTime::now();
            if let Some(t) = st.token.as_ref().filter(|t| t.is_fresh(now)) {
                return Ok((t.clone(), Outcome::Cached));
            }
            if !st.refreshing {
                break;
            }
            if let Some(t) = st.token.as_ref().filter(|t| t.is_usable(now)) {
                return Ok((t.clone(), Outcome::Cached));
            }
            let generation = st.generation;
            while st.refreshing && st.generation == generation {
                st = self.refreshed.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            if st.generation != generation
                && let Some(err) = &st.last_error
                && !st
                    .token
                    .as_ref()
                    .is_some_and(|t| t.is_usable(SystemTime::now()))
            {
                return Err(err.clone());
            }
        }
        st.refreshing = true;
        drop(st);

        // Ends the refresh even if `fetch` panics, so waiters never hang.
        struct Done<'a>(&'a TokenCache, Option<Result<IamToken>>);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                let mut st = lock(&self.0.state);
                st.refreshing = false;
                st.generation += 1;
                match self.1.take() {
                    Some(Ok(t)) => {
                        st.token = Some(t);
                        st.last_error = None;
                    }
                    Some(Err(e)) => st.last_error = Some(e),
                    None => st.last_error = Some(Error::Usage("token refresh panicked".into())),
                }
                drop(st);
                self.0.refreshed.notify_all();
            }
        }
        let mut done = Done(self, None);
        let result = fetch();
        done.1 = Some(result.clone());
        drop(done);

        match result {
            Ok(t) => Ok((t, Outcome::Fetched)),
            Err(e) => {
                let st = lock(&self.state);
                match st.token.as_ref().filter(|t| t.is_usable(SystemTime::now())) {
                    Some(old) => Ok((old.clone(), Outcome::StaleAfterError(e.to_string()))),
                    None => Err(e),
                }
            }
        }
    }

    /// Keeps `token` unless a token is already cached (a token obtained while resolving the
    /// credential, e.g. by the metadata probe).
    pub fn seed(&self, token: IamToken) {
        let mut st = lock(&self.state);
        if st.token.is_none() {
            st.token = Some(token);
        }
    }

    /// Forgets the token (after a revoke or a 401).
    pub fn clear(&self) {
        lock(&self.state).token = None;
    }

    /// Drops the token only if it is `token` (so a newer one fetched meanwhile survives).
    pub fn forget(&self, token: &IamToken) {
        let mut st = lock(&self.state);
        if st.token.as_ref() == Some(token) {
            st.token = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn token(name: &str, hours: u64) -> IamToken {
        IamToken::new(
            Secret::new(name),
            Some(SystemTime::now() + Duration::from_secs(hours * 3600)),
        )
    }

    #[test]
    fn many_threads_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                std::thread::spawn(move || {
                    cache
                        .get(|| {
                            calls.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(100));
                            Ok(token("t1.a", 12))
                        })
                        .unwrap()
                        .0
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap().expose(), "t1.a");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_failed_fetch_is_shared_not_repeated_by_waiters() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                std::thread::spawn(move || {
                    cache
                        .get(|| {
                            calls.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(200));
                            Err(Error::Usage("boom".into()))
                        })
                        .is_err()
                })
            })
            .collect();
        for t in threads {
            assert!(t.join().unwrap());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn stale_token_is_served_when_refresh_fails() {
        let cache = TokenCache::default();
        let t0 = SystemTime::now() - Duration::from_secs(2 * 3600);
        let old = IamToken::obtained(
            Secret::new("old"),
            Some(t0 + Duration::from_secs(12 * 3600)),
            t0,
        );
        cache.get(|| Ok(old.clone())).unwrap();
        let (t, outcome) = cache.get(|| Err(Error::Usage("down".into()))).unwrap();
        assert_eq!(t.expose(), "old");
        assert!(matches!(outcome, Outcome::StaleAfterError(_)));
    }

    #[test]
    fn a_panicking_fetch_does_not_wedge_the_cache() {
        let cache = Arc::new(TokenCache::default());
        let c = cache.clone();
        let _ = std::thread::spawn(move || c.get(|| panic!("fetch panicked"))).join();
        let (t, _) = cache.get(|| Ok(token("t1.b", 12))).unwrap();
        assert_eq!(t.expose(), "t1.b");
    }
}
