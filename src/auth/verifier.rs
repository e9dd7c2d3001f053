//! [`Authenticator`]: from an `Authorization` header and the peer's
//! address to an [`Identity`], without ever running a password hash on an
//! io_uring worker. NOT sans-IO: it owns threads, reads the clock and draws
//! a random key.
//!
//! ```text
//!  worker task ── authenticate(header, peer) ──┐
//!    no access control / no header ─────────────┼─▶ Identity (no work)
//!    Bearer: SHA-256 + constant-time compare ───┼─▶ Identity / Unauthenticated
//!    Basic: HMAC(header) in the cache? ─────────┼─▶ Identity (microseconds)
//!    peer in backoff? ──────────────────────────┼─▶ Throttled (429)
//!    push(job) on its bounded lane ────── full ─┼─▶ Busy (503)
//!          │                                    │
//!          ▼  verification pool (OS threads)    │
//!    argon2id verify ── oneshot ──▶ await ──────┴─▶ Identity / Unauthenticated
//! ```
//!
//! An unknown user name costs the same as a known one: its password is
//! checked against the first user's hash (same parameters, same work) and
//! the result is thrown away.
//!
//! The queue has two lanes, each bounded: checks from peers with no recent
//! failure and no other check in flight (`Standing::Clean`) are served
//! first. A flood of wrong passwords from many addresses fills the other
//! lane after each address's first try, so someone signing in for the first
//! time still gets a check within one check's time, not after the flood's.
#![forbid(unsafe_code)]

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use password_hash::rand_core::{OsRng, RngCore};
use tokio::sync::oneshot;

use super::backoff::{peer_key, Backoff, PeerKey, Refused, Standing};
use super::cache::{CredentialCache, CACHE_TTL};
use super::header::{parse_authorization, Credentials};
use super::password::{find_token, token_digest, verify_password};
use super::policy::{Identity, TokenId, UserId};
use super::rules::AccessConfig;
use crate::http::StatusCode;

/// Password checks that may wait in each lane of the pool's queue, per
/// pool thread (16), so a full lane is a wait of 16 checks (what one check
/// takes is in BENCHMARKS.md, "Access control"). Beyond it → [`AuthOutcome::Busy`]
/// (503).
pub const AUTH_QUEUE_PER_THREAD: usize = 16;

/// The `Retry-After` seconds sent with [`AuthOutcome::Busy`].
pub const BUSY_RETRY_AFTER_SECS: u32 = 1;

/// What `authenticate` concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Who the client is (possibly [`Identity::Anonymous`]); ask
    /// [`Policy::decide`](super::Policy::decide) next.
    Identity(Identity),
    /// Wrong credentials: 401 with `WWW-Authenticate`, whatever the rules.
    Unauthenticated,
    /// The verification pool (or this peer's share of it) is full: 503
    /// with `Retry-After`.
    Busy {
        /// Seconds for `Retry-After`.
        retry_after_secs: u32,
    },
    /// This peer failed too often: 429 with `Retry-After`.
    Throttled {
        /// Seconds for `Retry-After`.
        retry_after_secs: u32,
    },
}

impl AuthOutcome {
    /// The response status when this outcome is the answer: `None` for
    /// [`AuthOutcome::Identity`] (ask the policy), 401, 503 or 429.
    pub fn status(self) -> Option<StatusCode> {
        match self {
            AuthOutcome::Identity(_) => None,
            AuthOutcome::Unauthenticated => Some(StatusCode(401)),
            AuthOutcome::Busy { .. } => Some(StatusCode::SERVICE_UNAVAILABLE),
            AuthOutcome::Throttled { .. } => Some(StatusCode(429)),
        }
    }

    /// Seconds for a `Retry-After` header, if one is due.
    pub fn retry_after_secs(self) -> Option<u32> {
        match self {
            AuthOutcome::Identity(_) | AuthOutcome::Unauthenticated => None,
            AuthOutcome::Busy { retry_after_secs }
            | AuthOutcome::Throttled { retry_after_secs } => Some(retry_after_secs),
        }
    }

    /// A stable snake_case id for the JSON `"error"` field.
    pub fn kind(self) -> &'static str {
        match self {
            AuthOutcome::Identity(_) => "authenticated",
            AuthOutcome::Unauthenticated => "unauthorized",
            AuthOutcome::Busy { .. } => "auth_busy",
            AuthOutcome::Throttled { .. } => "too_many_failures",
        }
    }

    /// One human sentence for the JSON `"message"` field.
    pub fn message(self) -> &'static str {
        match self {
            AuthOutcome::Identity(_) => "Authenticated.",
            AuthOutcome::Unauthenticated => "The credentials are wrong or have expired.",
            AuthOutcome::Busy { .. } => "Too many sign-ins at once; try again shortly.",
            AuthOutcome::Throttled { .. } => {
                "Too many failed sign-ins from this address; try again later."
            }
        }
    }
}

/// One password check for the pool.
struct Job {
    /// Index into [`Shared::phcs`].
    phc: usize,
    password: Vec<u8>,
    reply: oneshot::Sender<bool>,
}

/// What every clone of an [`Authenticator`] shares.
#[derive(Debug)]
struct Shared {
    enabled: bool,
    /// User name → [`UserId`].
    users: HashMap<Vec<u8>, u32>,
    /// Token SHA-256s, indexed by [`TokenId`].
    tokens: Vec<[u8; 32]>,
    /// The pool's queue; `None` without users.
    queue: Option<Arc<CheckQueue>>,
    cache: CredentialCache,
    backoff: Backoff,
}

/// Verifies credentials for every worker. Cheap to clone (an `Arc`); the
/// pool threads stop when the last clone is dropped.
///
/// # Example
///
/// ```
/// use ringdrop::auth::*;
/// let phc = hash_password(b"secret").unwrap();
/// let users = vec![parse_user(&format!("alice:{phc}")).unwrap()];
/// let access = AccessConfig::new(users, vec![], None, 1).unwrap();
/// let auth = Authenticator::new(&access).unwrap();
/// let peer = "127.0.0.1".parse().unwrap();
/// let header = b"Basic YWxpY2U6c2VjcmV0"; // alice:secret
/// let outcome = futures_executor::block_on(auth.authenticate(Some(header), peer));
/// assert_eq!(outcome, AuthOutcome::Identity(Identity::User(UserId(0))));
/// let outcome = futures_executor::block_on(auth.authenticate(None, peer));
/// assert_eq!(outcome, AuthOutcome::Identity(Identity::Anonymous));
/// ```
#[derive(Debug, Clone)]
pub struct Authenticator {
    shared: Arc<Shared>,
}

impl Authenticator {
    /// Starts the verification pool (`access.auth_threads` threads, only if
    /// there are users) and draws the cache's random key. Fails only if the
    /// OS cannot give randomness or threads.
    pub fn new(access: &AccessConfig) -> std::io::Result<Authenticator> {
        Authenticator::with_ttl(access, CACHE_TTL)
    }

    /// [`Authenticator::new`] with another cache lifetime (`Duration::ZERO`
    /// turns the cache off: for the uncached benchmark).
    #[doc(hidden)]
    pub fn with_ttl(access: &AccessConfig, ttl: Duration) -> std::io::Result<Authenticator> {
        let mut secret = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut secret)
            .map_err(|e| std::io::Error::other(format!("no OS randomness: {e}")))?;
        let phcs: Arc<Vec<String>> = Arc::new(access.users.iter().map(|u| u.phc.clone()).collect());
        let queue = if phcs.is_empty() {
            None
        } else {
            Some(start_pool(access.auth_threads, phcs)?)
        };
        let epoch = Instant::now();
        let users = access
            .users
            .iter()
            .enumerate()
            .filter_map(|(i, u)| Some((u.name.as_bytes().to_vec(), u32::try_from(i).ok()?)))
            .collect();
        Ok(Authenticator {
            shared: Arc::new(Shared {
                enabled: access.enabled,
                users,
                tokens: access.tokens.iter().map(|t| t.sha256).collect(),
                queue,
                cache: CredentialCache::new(&secret, ttl, epoch),
                backoff: Backoff::new(epoch),
            }),
        })
    }

    /// Who sent `header` (the `Authorization` value, `None` if absent)
    /// from `peer`. Without access control, or without a header, this is
    /// [`Identity::Anonymous`] at once. Only an uncached Basic header
    /// awaits the pool; nothing here blocks the calling thread.
    pub async fn authenticate(&self, header: Option<&[u8]>, peer: IpAddr) -> AuthOutcome {
        let shared = &self.shared;
        let Some(header) = header.filter(|_| shared.enabled) else {
            return AuthOutcome::Identity(Identity::Anonymous);
        };
        let now = Instant::now();
        let peer = peer_key(peer);
        let basic = match parse_authorization(header) {
            Ok(Credentials::Basic(basic)) => basic,
            Ok(Credentials::Bearer(token)) => return self.bearer(token, peer, now),
            Err(_) => return self.fail(peer, now),
        };
        let key = shared.cache.key(header);
        if let Some(identity) = shared.cache.get(&key, now) {
            return AuthOutcome::Identity(identity);
        }
        let Some(queue) = &shared.queue else {
            return self.fail(peer, now);
        };
        let standing = match shared.backoff.start(peer, now) {
            Ok(standing) => standing,
            Err(Refused::Throttled(wait)) => {
                return AuthOutcome::Throttled {
                    retry_after_secs: ceil_secs(wait),
                }
            }
            Err(Refused::TooManyInFlight) => {
                return AuthOutcome::Busy {
                    retry_after_secs: BUSY_RETRY_AFTER_SECS,
                }
            }
        };
        // From here, `check` ends the backoff entry's in-flight count
        // exactly once, even if this future is dropped at the await.
        let mut check = InFlight {
            backoff: &shared.backoff,
            peer,
            outcome: None,
        };
        let known = shared.users.get(basic.user()).copied();
        let (reply, answer) = oneshot::channel();
        let job = Job {
            // An unknown user is checked against user 0's hash: same work.
            phc: known.map_or(0, |i| usize::try_from(i).unwrap_or(0)),
            password: basic.password().to_vec(),
            reply,
        };
        if !queue.push(job, standing) {
            return AuthOutcome::Busy {
                retry_after_secs: BUSY_RETRY_AFTER_SECS,
            };
        }
        let Ok(matched) = answer.await else {
            // The pool is gone (shutting down): nobody's fault.
            return AuthOutcome::Busy {
                retry_after_secs: BUSY_RETRY_AFTER_SECS,
            };
        };
        let now = Instant::now();
        match known {
            Some(user) if matched => {
                check.outcome = Some(true);
                let identity = Identity::User(UserId(user));
                shared.cache.insert(key, identity, now);
                AuthOutcome::Identity(identity)
            }
            _ => {
                check.outcome = Some(false);
                AuthOutcome::Unauthenticated
            }
        }
    }

    /// A bearer token: its SHA-256 against every known one, in constant
    /// time. Cheap, so it runs here; expiry is the policy's business.
    fn bearer(&self, token: &[u8], peer: PeerKey, now: Instant) -> AuthOutcome {
        match find_token(&self.shared.tokens, &token_digest(token)) {
            Some(i) => match u32::try_from(i) {
                Ok(i) => AuthOutcome::Identity(Identity::Token(TokenId(i))),
                Err(_) => self.fail(peer, now),
            },
            None => self.fail(peer, now),
        }
    }

    /// Wrong credentials that needed no password check.
    fn fail(&self, peer: PeerKey, now: Instant) -> AuthOutcome {
        self.shared.backoff.failure(peer, now);
        AuthOutcome::Unauthenticated
    }
}

/// Ends a backoff check when dropped: with its outcome, or as abandoned.
struct InFlight<'a> {
    backoff: &'a Backoff,
    peer: PeerKey,
    outcome: Option<bool>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.backoff.finish(self.peer, self.outcome, Instant::now());
    }
}

/// Whole seconds, rounded up, at least 1 (for `Retry-After`).
fn ceil_secs(d: Duration) -> u32 {
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(queue) = &self.queue {
            queue.close();
        }
    }
}

/// The pool's queue: two bounded lanes, clean peers' checks first (see the
/// module docs).
#[derive(Debug)]
struct CheckQueue {
    lanes: Mutex<Lanes>,
    /// Signalled when a job arrives or the queue closes.
    ready: Condvar,
    /// Most jobs waiting in each lane.
    capacity: usize,
}

#[derive(Debug, Default)]
struct Lanes {
    clean: VecDeque<Job>,
    suspect: VecDeque<Job>,
    /// No more jobs: the threads stop once the lanes are empty.
    closed: bool,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("phc", &self.phc)
            .finish_non_exhaustive()
    }
}

impl CheckQueue {
    fn new(capacity: usize) -> CheckQueue {
        CheckQueue {
            lanes: Mutex::new(Lanes::default()),
            ready: Condvar::new(),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Lanes> {
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job` in its lane; false if that lane is full or the queue
    /// closed.
    fn push(&self, job: Job, standing: Standing) -> bool {
        let mut lanes = self.lock();
        if lanes.closed {
            return false;
        }
        let lane = match standing {
            Standing::Clean => &mut lanes.clean,
            Standing::Suspect => &mut lanes.suspect,
        };
        if lane.len() >= self.capacity {
            return false;
        }
        lane.push_back(job);
        drop(lanes);
        self.ready.notify_one();
        true
    }

    /// The next job, clean lane first; waits while both are empty. `None`
    /// once closed and empty.
    fn pop(&self) -> Option<Job> {
        let mut lanes = self.lock();
        loop {
            if let Some(job) = lanes
                .clean
                .pop_front()
                .or_else(|| lanes.suspect.pop_front())
            {
                return Some(job);
            }
            if lanes.closed {
                return None;
            }
            lanes = self
                .ready
                .wait(lanes)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

/// Starts `threads` verification threads on one queue.
fn start_pool(threads: usize, phcs: Arc<Vec<String>>) -> std::io::Result<Arc<CheckQueue>> {
    let capacity = AUTH_QUEUE_PER_THREAD.saturating_mul(threads.max(1));
    let queue = Arc::new(CheckQueue::new(capacity));
    for n in 0..threads.max(1) {
        let queue = Arc::clone(&queue);
        let phcs = Arc::clone(&phcs);
        std::thread::Builder::new()
            .name(format!("ringdrop-auth-{n}"))
            .spawn(move || verify_loop(&queue, &phcs))?;
    }
    Ok(queue)
}

/// One pool thread: take a job, check it, answer; stop when the queue
/// closes.
fn verify_loop(queue: &CheckQueue, phcs: &[String]) {
    while let Some(job) = queue.pop() {
        // A client that went away (its connection closed) costs nothing.
        if job.reply.is_closed() {
            continue;
        }
        let matched = phcs
            .get(job.phc)
            .is_some_and(|phc| verify_password(phc, &job.password));
        let _ = job.reply.send(matched);
    }
}

#[cfg(test)]
mod tests;
