//! Tokens shared by a fleet of processes: the [`TokenStore`] a [`TokenCache`](crate::TokenCache)
//! mints through, so the fleet sends one token request per expiry; and the way the cache
//! falls back to minting alone when the store fails.

use crate::grant::{request_token, Grant, TokenInfo};
use crate::secret::Secret;
use genesys_cloud_core::{BoxFuture, Error, ErrorKind, Executor};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// A token as a [`TokenStore`] holds it: the token, and what is left of its lifetime.
#[derive(Clone, Debug)]
pub struct StoredToken {
    /// The access token.
    pub token: Secret,
    /// How long the token still lives.
    pub expires_in: Duration,
}

/// Where the processes of a fleet keep the token of one OAuth client, so that one of them
/// mints it and the others read it. The `genesys-cloud-fleet` crate implements it over Redis;
/// [`MemoryTokenStore`] implements it in one process (tests, and processes that share a
/// client through several caches).
///
/// Every right a store gives has an expiry: a process that dies holding the right to mint
/// frees it when its `ttl` ends, and a stored token lapses a margin before it expires. Each
/// call should give up within a short, bounded time: the cache treats an error as the store
/// being down and mints on its own.
pub trait TokenStore: Send + Sync + 'static {
    /// The token stored at `key`, if any.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>, Error>>;

    /// Takes the right to mint the token of `key` for `ttl`, as `holder`: `true` when this
    /// call took it, `false` when another holder has it.
    fn lock<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, Result<bool, Error>>;

    /// Stores `token` at `key` until `keep` has passed (its lifetime less a margin), and gives
    /// up the right to mint that `holder` holds. The token lives `lifetime` from now.
    fn put<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
        token: &'a Secret,
        lifetime: Duration,
        keep: Duration,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Gives up the right to mint that `holder` holds (its token request failed).
    fn unlock<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, Result<(), Error>>;

    /// Removes the token at `key` if it is still `token` (the API rejected it); a newer one,
    /// stored meanwhile by another process, stays.
    fn remove<'a>(&'a self, key: &'a str, token: &'a Secret) -> BoxFuture<'a, Result<(), Error>>;
}

/// A [`TokenStore`] in this process's memory: the behaviour of a Redis store, for caches of
/// one process and for tests.
#[derive(Default)]
pub struct MemoryTokenStore {
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    /// key → (token, when the key lapses, how long the token lives past that).
    tokens: HashMap<String, (Secret, Instant, Duration)>,
    /// key → (holder, when the right lapses).
    locks: HashMap<String, (String, Instant)>,
}

impl std::fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTokenStore").finish_non_exhaustive()
    }
}

impl MemoryTokenStore {
    fn state(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenStore for MemoryTokenStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>, Error>> {
        let now = Instant::now();
        let found = self
            .state()
            .tokens
            .get(key)
            .filter(|(_, lapses, _)| now < *lapses)
            .map(|(token, lapses, past)| StoredToken { token: token.clone(), expires_in: (*lapses - now) + *past });
        Box::pin(std::future::ready(Ok(found)))
    }

    fn lock<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, Result<bool, Error>> {
        let now = Instant::now();
        let mut state = self.state();
        let taken = match state.locks.get(key) {
            Some((_, lapses)) if now < *lapses => false,
            _ => {
                state.locks.insert(key.to_owned(), (holder.to_owned(), now + ttl));
                true
            }
        };
        Box::pin(std::future::ready(Ok(taken)))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
        token: &'a Secret,
        lifetime: Duration,
        keep: Duration,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let mut state = self.state();
        state.tokens.insert(key.to_owned(), (token.clone(), Instant::now() + keep, lifetime.saturating_sub(keep)));
        if state.locks.get(key).is_some_and(|(h, _)| h == holder) {
            state.locks.remove(key);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn unlock<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let mut state = self.state();
        if state.locks.get(key).is_some_and(|(h, _)| h == holder) {
            state.locks.remove(key);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn remove<'a>(&'a self, key: &'a str, token: &'a Secret) -> BoxFuture<'a, Result<(), Error>> {
        let mut state = self.state();
        if state.tokens.get(key).is_some_and(|(t, _, _)| t == token) {
            state.tokens.remove(key);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

/// What a cache's fleet store has done: tokens read from it, tokens this process minted for
/// the fleet, and the times it fell back to minting alone because the store failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetTokenStats {
    /// Tokens read from the store (minted by another process, or by this one earlier).
    pub read: u64,
    /// Tokens this process minted and stored for the fleet.
    pub minted: u64,
    /// Times the store failed or was too slow, and this process minted on its own.
    pub fallbacks: u64,
}

/// How long a store call may take before the cache mints on its own.
pub(crate) const STORE_CALL_LIMIT: Duration = Duration::from_millis(500);

/// The first wait between two reads of a key another process is minting; it doubles up to
/// [`WATCH_MAX`].
const WATCH_FIRST: Duration = Duration::from_millis(20);
const WATCH_MAX: Duration = Duration::from_millis(250);

/// The longest a right to mint lasts: a holder that dies keeps the others waiting at most this
/// long (a token request slower than this may then be sent twice).
const LOCK_MAX: Duration = Duration::from_secs(10);

/// A stored token as the token endpoint would have given it.
fn info_of(stored: StoredToken) -> TokenInfo {
    TokenInfo {
        access_token: stored.token,
        token_type: "bearer".to_owned(),
        expires_in: Some(stored.expires_in),
        refresh_token: None,
    }
}

/// A cache's link to its fleet: the store, the key of its token, and what it has done.
pub(crate) struct FleetLink {
    store: Arc<dyn TokenStore>,
    key: String,
    /// This cache's name as a holder of the right to mint: unique per cache.
    holder: String,
    read: AtomicU64,
    minted: AtomicU64,
    fallbacks: AtomicU64,
}

impl FleetLink {
    pub(crate) fn new(store: Arc<dyn TokenStore>, key: String) -> Self {
        let mut bytes = [0u8; 12];
        let _ = getrandom::getrandom(&mut bytes);
        let holder = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self { store, key, holder, read: AtomicU64::new(0), minted: AtomicU64::new(0), fallbacks: AtomicU64::new(0) }
    }

    pub(crate) fn stats(&self) -> FleetTokenStats {
        FleetTokenStats {
            read: self.read.load(Ordering::Relaxed),
            minted: self.minted.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }

    /// A store call, given up after [`STORE_CALL_LIMIT`].
    async fn call<T>(&self, what: &str, call: BoxFuture<'_, Result<T, Error>>) -> Result<T, Error> {
        match tokio::time::timeout(STORE_CALL_LIMIT, call).await {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::Transport,
                format!("the token store did not answer {what} within {STORE_CALL_LIMIT:?}"),
            )),
        }
    }

    /// The store failed: this process mints on its own, says so, and counts it. The next
    /// refresh tries the store again.
    async fn fall_back(&self, e: Error, executor: &dyn Executor, grant: &Grant) -> Result<TokenInfo, Error> {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(key = %self.key, error = %e, "the fleet's token store failed: minting a token for this process alone");
        request_token(executor, grant).await
    }

    /// A token for the fleet: the stored one when it is good for more than `margin` (and is
    /// not `rejected`); else the right to mint it, a token request, and the token stored for
    /// the others; else, while another process mints, its token when it is stored. Within
    /// `limit`; the store failing at any step means minting alone.
    pub(crate) async fn obtain(
        &self,
        executor: &dyn Executor,
        grant: &Grant,
        margin: Duration,
        limit: Duration,
        rejected: Option<Secret>,
    ) -> Result<TokenInfo, Error> {
        // A stored token this cache may take: not the one the API rejected, and good for more
        // than the margin.
        let usable = |s: &StoredToken| rejected.as_ref() != Some(&s.token) && s.expires_in > margin;
        let mut watch = WATCH_FIRST;
        loop {
            let stored = match self.call("a read", self.store.get(&self.key)).await {
                Ok(stored) => stored,
                Err(e) => return self.fall_back(e, executor, grant).await,
            };
            match stored {
                Some(s) if rejected.as_ref() == Some(&s.token) => {
                    // The API rejected it: it goes for everyone (unless a newer one came).
                    if let Err(e) = self.call("a removal", self.store.remove(&self.key, &s.token)).await {
                        return self.fall_back(e, executor, grant).await;
                    }
                }
                Some(s) if usable(&s) => {
                    self.read.fetch_add(1, Ordering::Relaxed);
                    return Ok(info_of(s));
                }
                _ => {}
            }
            match self.call("a lock", self.store.lock(&self.key, &self.holder, limit.min(LOCK_MAX))).await {
                Err(e) => return self.fall_back(e, executor, grant).await,
                Ok(true) => {
                    // Another process may have stored a token between the read and the lock:
                    // read once more, holding the right, before minting.
                    match self.call("a read", self.store.get(&self.key)).await {
                        Ok(Some(s)) if usable(&s) => {
                            let _ = self.call("an unlock", self.store.unlock(&self.key, &self.holder)).await;
                            self.read.fetch_add(1, Ordering::Relaxed);
                            return Ok(info_of(s));
                        }
                        Ok(_) => return self.mint(executor, grant, margin).await,
                        Err(e) => return self.fall_back(e, executor, grant).await,
                    }
                }
                Ok(false) => {
                    // Another process mints: read the key again shortly (the caller's limit
                    // bounds the wait; the right lapses if its holder died).
                    tokio::time::sleep(watch).await;
                    watch = (watch * 2).min(WATCH_MAX);
                }
            }
        }
    }

    /// With the right to mint: a token request, the token stored for the fleet until `margin`
    /// before it expires, the right given up either way.
    async fn mint(&self, executor: &dyn Executor, grant: &Grant, margin: Duration) -> Result<TokenInfo, Error> {
        match request_token(executor, grant).await {
            Ok(info) => {
                self.minted.fetch_add(1, Ordering::Relaxed);
                if let Some(lifetime) = info.expires_in {
                    let keep = lifetime.saturating_sub(margin.min(lifetime / 2));
                    let put = self.store.put(&self.key, &self.holder, &info.access_token, lifetime, keep);
                    if let Err(e) = self.call("a write", put).await {
                        self.fallbacks.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(key = %self.key, error = %e, "the fleet's token store failed: the token minted is this process's alone");
                    }
                } else {
                    let _ = self.call("an unlock", self.store.unlock(&self.key, &self.holder)).await;
                }
                Ok(info)
            }
            Err(e) => {
                let _ = self.call("an unlock", self.store.unlock(&self.key, &self.holder)).await;
                Err(e)
            }
        }
    }
}
