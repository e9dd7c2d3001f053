//! The access decision: who may do what where, as pure functions of the
//! [`Policy`] (built once from the command line), an [`Identity`], an
//! [`Action`], a request path and the time.
//!
//! How rules combine (SPEC "Access control"): an identity draws rights from
//! several *sources*: a user from its own name, `@users` and `@anonymous`; a
//! token from its own line and `@anonymous`; anonymous from `@anonymous`.
//! Within one source, the rule with the longest PATH containing the request
//! path decides (so `@users:/:read` with `@users:/inbox/:upload` makes
//! `/inbox/` upload-only for users); the rights of the sources add up.
//! Rules for the same source and PATH add up too. `--read-only` and the
//! absence of `--allow-delete` are caps over everything.
//!
//! Paths are the server's decoded, normalized, ROOT-relative paths
//! ([`crate::http::TargetPath::path`]); prefixes match whole segments, so
//! `/drop/` covers `drop` and `drop/x` but not `dropbox`. A path that is
//! not normalized (leading `/`, empty, `.` or `..` segment) gets no right
//! from any rule.
#![forbid(unsafe_code)]

use super::perms::Perms;
use super::rules::{AccessConfig, Who};
use crate::http::StatusCode;

/// A signed-in user: the index of its `--user` in [`AccessConfig::users`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub u32);

/// A bearer token: the index of its line in [`AccessConfig::tokens`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenId(pub u32);

/// Who is asking, once the credentials (if any) were verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identity {
    /// No credentials.
    Anonymous,
    /// A user whose password was verified.
    User(UserId),
    /// A client that presented a known bearer token (expiry is checked by
    /// [`Policy::decide`], which knows the time).
    Token(TokenId),
}

/// What a request would do, as far as permissions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// GET or HEAD of a file, a listing (`read`).
    Read,
    /// A new file or directory: PUT of a new name, POST, MKCOL, resumable
    /// upload creation and continuation (`upload`).
    Create,
    /// PUT over an existing file (`overwrite`).
    Overwrite,
    /// DELETE (`delete`).
    Delete,
}

impl Action {
    /// The permission this action needs.
    pub const fn needs(self) -> Perms {
        match self {
            Action::Read => Perms::READ,
            Action::Create => Perms::UPLOAD,
            Action::Overwrite => Perms::OVERWRITE,
            Action::Delete => Perms::DELETE,
        }
    }
}

/// The answer to "may this identity do this here, now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// 401 with `WWW-Authenticate`: no credentials and anonymous may not,
    /// or the token has expired. (Wrong credentials never reach the
    /// policy: `authenticate` answers them.)
    Unauthenticated,
    /// 403: valid credentials, but no rule grants this.
    Forbidden,
    /// 405 with `Allow`: `--read-only`, or DELETE without `--allow-delete`,
    /// forbids this for everyone; no credential would change that.
    Disabled,
}

impl Decision {
    /// The response status, `None` for [`Decision::Allow`].
    pub fn status(self) -> Option<StatusCode> {
        match self {
            Decision::Allow => None,
            Decision::Unauthenticated => Some(StatusCode(401)),
            Decision::Forbidden => Some(StatusCode::FORBIDDEN),
            Decision::Disabled => Some(StatusCode::METHOD_NOT_ALLOWED),
        }
    }

    /// A stable snake_case id for the JSON `"error"` field.
    pub fn kind(self) -> &'static str {
        match self {
            Decision::Allow => "allowed",
            Decision::Unauthenticated => "unauthorized",
            Decision::Forbidden => "forbidden",
            Decision::Disabled => "method_not_allowed",
        }
    }

    /// One human sentence for the JSON `"message"` field.
    pub fn message(self) -> &'static str {
        match self {
            Decision::Allow => "Allowed.",
            Decision::Unauthenticated => "Sign in to do this here.",
            Decision::Forbidden => "You are not allowed to do this here.",
            Decision::Disabled => "This server does not allow this method.",
        }
    }
}

/// The global flags that cap every rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    /// `--read-only`: no upload, overwrite or delete for anyone.
    pub read_only: bool,
    /// `--allow-delete`: without it, delete is never granted.
    pub allow_delete: bool,
}

impl Caps {
    /// The permissions the flags leave possible.
    pub const fn mask(self) -> Perms {
        let mut mask = Perms::ALL;
        if self.read_only {
            mask = mask.without(Perms::WRITE);
        }
        if !self.allow_delete {
            mask = mask.without(Perms::DELETE);
        }
        mask
    }
}

/// What a `GET` of a directory should show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryView {
    /// The listing (entries filtered with [`Policy::listing_shows`]); with
    /// the upload UI if [`Policy::capabilities`] contains `UPLOAD`.
    Listing,
    /// `upload` without `read`: the upload UI and no entries (a drop box).
    /// A JSON listing request gets [`Policy::refusal`] instead.
    DropBox,
    /// Nothing to show: answer with this refusal.
    Refused(Decision),
}

/// One source's rules, longest prefix first (so the first match decides).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Grants(Vec<(String, Perms)>);

impl Grants {
    /// Adds a rule; a rule for the same prefix adds its rights.
    fn add(&mut self, prefix: &str, perms: Perms) {
        if let Some((_, p)) = self.0.iter_mut().find(|(q, _)| q == prefix) {
            *p |= perms;
            return;
        }
        self.0.push((prefix.to_string(), perms));
        self.0
            .sort_by_key(|(prefix, _)| core::cmp::Reverse(prefix.len()));
    }

    /// What the longest rule containing `path` grants.
    fn rights(&self, path: &str) -> Perms {
        self.0
            .iter()
            .find(|(prefix, _)| prefix_contains(prefix, path))
            .map_or(Perms::NONE, |(_, perms)| *perms)
    }
}

/// A token's line: its scope and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TokenGrant {
    prefix: String,
    perms: Perms,
    expires_unix: i64,
}

/// True if the normalized directory `prefix` contains the normalized
/// `path` on whole segments: `""` contains everything, `drop` contains
/// `drop` and `drop/x`, not `dropbox`.
///
/// ```
/// use ringdrop::auth::prefix_contains;
/// assert!(prefix_contains("", "a/b"));
/// assert!(prefix_contains("drop", "drop"));
/// assert!(prefix_contains("drop", "drop/x"));
/// assert!(!prefix_contains("drop", "dropbox"));
/// ```
pub fn prefix_contains(prefix: &str, path: &str) -> bool {
    prefix.is_empty()
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// True if `path` is what [`crate::http::decode_target`] produces: no
/// leading or trailing `/`, no empty, `.` or `..` segment.
fn is_normalized(path: &str) -> bool {
    path.is_empty() || path.split('/').all(|s| !matches!(s, "" | "." | ".."))
}

/// The access rules, compiled for [`Policy::decide`]. Built once at
/// start-up; immutable and shared by every worker.
///
/// ```
/// use ringdrop::auth::*;
/// let rules = vec![
///     parse_allow("@anonymous:/:read").unwrap(),
///     parse_allow("@anonymous:/drop/:upload").unwrap(),
/// ];
/// let access = AccessConfig::new(vec![], rules, None, 1).unwrap();
/// let policy = Policy::new(&access, Caps::default());
/// let anon = Identity::Anonymous;
/// assert_eq!(policy.decide(anon, Action::Read, "pub/a.txt", 0), Decision::Allow);
/// // Longest prefix: /drop/ is upload-only, a drop box.
/// assert_eq!(policy.decide(anon, Action::Read, "drop/a.txt", 0), Decision::Unauthenticated);
/// assert_eq!(policy.decide(anon, Action::Create, "drop/a.txt", 0), Decision::Allow);
/// assert_eq!(policy.decide(anon, Action::Create, "dropbox", 0), Decision::Unauthenticated);
/// assert_eq!(policy.decide(anon, Action::Delete, "drop/a.txt", 0), Decision::Disabled);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Access control is on; when off, everything the caps allow is allowed.
    enabled: bool,
    /// [`Caps::mask`].
    mask: Perms,
    anonymous: Grants,
    users: Grants,
    /// Indexed by [`UserId`].
    per_user: Vec<Grants>,
    /// Indexed by [`TokenId`].
    tokens: Vec<TokenGrant>,
}

impl Policy {
    /// Compiles `access` (already checked by [`AccessConfig::new`]) under
    /// the global `caps`.
    pub fn new(access: &AccessConfig, caps: Caps) -> Policy {
        let mut policy = Policy {
            enabled: access.enabled,
            mask: caps.mask(),
            anonymous: Grants::default(),
            users: Grants::default(),
            per_user: vec![Grants::default(); access.users.len()],
            tokens: access
                .tokens
                .iter()
                .map(|t| TokenGrant {
                    prefix: t.prefix.clone(),
                    perms: t.perms,
                    expires_unix: t.expires_unix,
                })
                .collect(),
        };
        for rule in &access.rules {
            let grants = match &rule.who {
                Who::Anonymous => &mut policy.anonymous,
                Who::Users => &mut policy.users,
                Who::User(name) => match access.users.iter().position(|u| &u.name == name) {
                    Some(i) => &mut policy.per_user[i],
                    // `AccessConfig::new` refuses rules naming unknown users.
                    None => continue,
                },
            };
            grants.add(&rule.prefix, rule.perms);
        }
        policy
    }

    /// [`Policy::new`] for the server's configuration: its `access` under
    /// its `--read-only` and `--allow-delete`.
    pub fn for_config(config: &crate::config::Config) -> Policy {
        let caps = Caps {
            read_only: config.read_only,
            allow_delete: config.allow_delete,
        };
        Policy::new(&config.access, caps)
    }

    /// Access control is off: every request is allowed within the caps,
    /// and the server need not look at `Authorization` at all.
    pub fn is_open(&self) -> bool {
        !self.enabled
    }

    /// The rights `identity` has at `path` at Unix time `now`, before the
    /// caps: the union over its sources of each source's longest match.
    fn rights(&self, identity: Identity, path: &str, now: i64) -> Perms {
        if !is_normalized(path) {
            return Perms::NONE;
        }
        let anonymous = self.anonymous.rights(path);
        match identity {
            Identity::Anonymous => anonymous,
            Identity::User(UserId(i)) => {
                let own = usize::try_from(i)
                    .ok()
                    .and_then(|i| self.per_user.get(i))
                    .map_or(Perms::NONE, |g| g.rights(path));
                own | self.users.rights(path) | anonymous
            }
            Identity::Token(TokenId(i)) => {
                let Some(token) = usize::try_from(i).ok().and_then(|i| self.tokens.get(i)) else {
                    return Perms::NONE;
                };
                if now >= token.expires_unix {
                    return Perms::NONE;
                }
                let own = if prefix_contains(&token.prefix, path) {
                    token.perms
                } else {
                    Perms::NONE
                };
                own | anonymous
            }
        }
    }

    /// True for a token that is unknown or expired at `now`: its requests
    /// are answered 401 whatever the rules.
    fn token_expired(&self, identity: Identity, now: i64) -> bool {
        match identity {
            Identity::Token(TokenId(i)) => usize::try_from(i)
                .ok()
                .and_then(|i| self.tokens.get(i))
                .map_or(true, |t| now >= t.expires_unix),
            Identity::Anonymous | Identity::User(_) => false,
        }
    }

    /// The decision for `identity` doing `action` at the normalized,
    /// ROOT-relative `path` (for a PUT, POST or MKCOL: the path of what is
    /// created; for a POST, the directory) at Unix time `now` (seconds).
    ///
    /// In order: an expired (or unknown) token →
    /// [`Decision::Unauthenticated`]; a capped action →
    /// [`Decision::Disabled`]; access control off → [`Decision::Allow`];
    /// the action's permission among the
    /// identity's rights → [`Decision::Allow`]; otherwise
    /// [`Policy::refusal`].
    pub fn decide(&self, identity: Identity, action: Action, path: &str, now: i64) -> Decision {
        let needs = action.needs();
        // Expired credentials are wrong credentials: 401 whatever else
        // holds, as `authenticate` answers wrong passwords before any rule.
        if self.enabled && self.token_expired(identity, now) {
            return Decision::Unauthenticated;
        }
        if !self.mask.contains(needs) {
            return Decision::Disabled;
        }
        if !self.enabled {
            return Decision::Allow;
        }
        if self.rights(identity, path, now).contains(needs) {
            Decision::Allow
        } else {
            self.refusal(identity)
        }
    }

    /// How to refuse `identity` something no rule grants: 401 for
    /// anonymous (credentials might help), 403 otherwise.
    pub fn refusal(&self, identity: Identity) -> Decision {
        match identity {
            Identity::Anonymous => Decision::Unauthenticated,
            Identity::User(_) | Identity::Token(_) => Decision::Forbidden,
        }
    }

    /// Everything `identity` may do at `path` now, caps applied: for the
    /// page (upload UI, delete buttons) and `OPTIONS`.
    pub fn capabilities(&self, identity: Identity, path: &str, now: i64) -> Perms {
        if !self.enabled {
            return self.mask;
        }
        self.rights(identity, path, now) & self.mask
    }

    /// May `identity` read `path`? (`decide(.., Action::Read, ..)` is
    /// `Allow`.)
    pub fn can_read(&self, identity: Identity, path: &str, now: i64) -> bool {
        self.decide(identity, Action::Read, path, now) == Decision::Allow
    }

    /// Whether a listing of a readable directory shows the entry at
    /// `entry_path`: a file if `identity` may read it; a directory if it
    /// may read it or upload into it (so a drop box inside a readable
    /// tree can be found and opened).
    pub fn listing_shows(
        &self,
        identity: Identity,
        entry_path: &str,
        is_dir: bool,
        now: i64,
    ) -> bool {
        let caps = self.capabilities(identity, entry_path, now);
        caps.contains(Perms::READ) || (is_dir && caps.contains(Perms::UPLOAD))
    }

    /// What a `GET` of the directory at `path` shows `identity`.
    pub fn directory_view(&self, identity: Identity, path: &str, now: i64) -> DirectoryView {
        match self.decide(identity, Action::Read, path, now) {
            Decision::Allow => DirectoryView::Listing,
            // (Read is never capped, so `refused` is never `Disabled`.)
            _ if self
                .capabilities(identity, path, now)
                .contains(Perms::UPLOAD) =>
            {
                DirectoryView::DropBox
            }
            refused => DirectoryView::Refused(refused),
        }
    }
}

#[cfg(test)]
mod tests;
