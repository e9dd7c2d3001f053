//! Access control: who may read, upload, overwrite and delete where,
//! decided from the request head before a body byte is read (SPEC
//! "Access control").
//!
//! Two halves:
//!
//! * **Sans-IO** ([`rules`], [`policy`], [`header`], [`perms`],
//!   [`rfc3339`]): the command-line parsers, the [`Policy`] and its one
//!   decision function, the `Authorization` parser. No I/O, no clock (the
//!   time is an argument), no `unsafe`, no panic on any input.
//! * **Credentials** ([`password`], [`verifier`] with its cache and backoff
//!   tables): argon2id and SHA-256 checks, the verification thread pool,
//!   the clock. [`Authenticator::authenticate`] is the one async call.
//!
//! # Order of calls
//!
//! At start-up (`main` and `server::run`):
//!
//! 1. [`parse_user`], [`parse_allow`] for every flag, [`parse_token_file`]
//!    on the file's text, then [`AccessConfig::new`] → `Config::access`;
//! 2. [`Policy::new`]`(&config.access, Caps { read_only, allow_delete })`
//!    and [`Authenticator::new`]`(&config.access)`, shared by all workers.
//!
//! For each request, once the head is parsed and the target decoded, and
//! before `100 Continue` or any buffer, file or disk space is taken:
//!
//! 3. unless [`Policy::is_open`]: [`Authenticator::authenticate`]`(the
//!    Authorization value, peer address)` → [`AuthOutcome`]; anything but
//!    `Identity` is the answer (401 / 503 / 429);
//! 4. [`Policy::decide`]`(identity, action, path, now)` → [`Decision`];
//!    for a directory `GET`, [`Policy::directory_view`]; for each listing
//!    entry, [`Policy::listing_shows`]; for the page's controls,
//!    [`Policy::capabilities`].
//!
//! ```
//! use ringdrop::auth::*;
//! let rules = vec![
//!     parse_allow("@anonymous:/:read").unwrap(),
//!     parse_allow("@users:/:upload").unwrap(),
//! ];
//! let phc = hash_password(b"pw").unwrap();
//! let users = vec![parse_user(&format!("bob:{phc}")).unwrap()];
//! let access = AccessConfig::new(users, rules, None, 1).unwrap();
//! let policy = Policy::new(&access, Caps::default());
//! let bob = Identity::User(UserId(0));
//! assert_eq!(policy.decide(Identity::Anonymous, Action::Read, "a.txt", 0), Decision::Allow);
//! assert_eq!(policy.decide(Identity::Anonymous, Action::Create, "a.txt", 0), Decision::Unauthenticated);
//! assert_eq!(policy.decide(bob, Action::Create, "a.txt", 0), Decision::Allow);
//! assert_eq!(policy.decide(bob, Action::Overwrite, "a.txt", 0), Decision::Forbidden);
//! ```

pub mod backoff;
pub mod cache;
pub mod header;
pub mod password;
pub mod perms;
pub mod policy;
pub mod rfc3339;
pub mod rules;
mod sharded;
pub mod verifier;

pub use header::{
    challenge_for, parse_authorization, AuthHeaderError, BasicCredentials, Credentials,
    BASIC_CHALLENGE, BEARER_INSUFFICIENT_SCOPE_CHALLENGE, BEARER_INVALID_TOKEN_CHALLENGE,
    MAX_AUTHORIZATION_BYTES,
};
pub use password::{find_token, hash_password, token_digest, verify_password, HashPasswordError};
pub use perms::Perms;
pub use policy::{
    prefix_contains, Action, Caps, Decision, DirectoryView, Identity, Policy, TokenId, UserId,
};
pub use rfc3339::parse_rfc3339;
pub use rules::{
    normalize_rule_path, parse_allow, parse_token_file, parse_user, AccessConfig, AllowRule,
    RuleError, TokenFileError, TokenSpec, UserSpec, Who, DEFAULT_AUTH_THREADS, MAX_AUTH_THREADS,
};
pub use verifier::{AuthOutcome, Authenticator};
