//! The access-control command line, parsed: `--user NAME:HASH`,
//! `--allow WHO:PATH:PERMS` and the lines of a `--token-file`, gathered in
//! an [`AccessConfig`]. Pure: the caller reads the token file and passes its
//! text; errors name the flag value or the line, so start-up can print one
//! clear line and exit.
#![forbid(unsafe_code)]

use core::fmt;

use super::perms::Perms;
use super::rfc3339::parse_rfc3339;
use crate::syntax::decode_hex_array;

/// Longest user name (`--user`, `--allow`), in bytes.
pub const MAX_USER_NAME_BYTES: usize = 255;

/// Highest argon2 memory cost a `--user` hash may ask for, in KiB (256 MiB).
/// Each verification thread needs this much while it checks one password;
/// a higher cost turns every guess into a memory hog for the server.
pub const MAX_ARGON2_M_COST_KIB: u32 = 256 * 1024;

/// Highest argon2 time cost (passes) a `--user` hash may ask for.
pub const MAX_ARGON2_T_COST: u32 = 32;

/// Highest argon2 parallelism a `--user` hash may ask for (verification
/// runs the lanes one after another on one thread).
pub const MAX_ARGON2_P_COST: u32 = 16;

/// Default size of the password-verification pool (`--auth-threads`): one
/// thread, so password guessing can keep at most one core busy hashing
/// while uploads and downloads use the others. Raise it when many users
/// sign in at once (each sign-in costs one hash, then the cache serves).
pub const DEFAULT_AUTH_THREADS: usize = 1;

/// Most threads `--auth-threads` accepts.
pub const MAX_AUTH_THREADS: usize = 64;

/// A `--user NAME:HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    /// The name a client sends as the Basic user-id.
    pub name: String,
    /// The argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    pub phc: String,
}

/// Whom an `--allow` rule grants to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Who {
    /// One user, by name.
    User(String),
    /// `@users`: every signed-in user (not bearer tokens).
    Users,
    /// `@anonymous`: everyone, signed in or not, tokens included.
    Anonymous,
}

/// An `--allow WHO:PATH:PERMS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// Whom it grants to.
    pub who: Who,
    /// The directory prefix, normalized like a request path
    /// ([`crate::http::TargetPath::path`]): no leading or trailing `/`,
    /// `""` for the root.
    pub prefix: String,
    /// What it grants under the prefix.
    pub perms: Perms,
}

/// One line of a `--token-file`: `SHA256HEX PATH PERMS EXPIRES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// SHA-256 of the token a client sends after `Bearer `.
    pub sha256: [u8; 32],
    /// The directory prefix the token is limited to (normalized as in
    /// [`AllowRule::prefix`]).
    pub prefix: String,
    /// What the token may do under its prefix.
    pub perms: Perms,
    /// Unix time (seconds) from which the token is refused.
    pub expires_unix: i64,
    /// Line number in the token file (1-based), for messages.
    pub line: usize,
}

/// Why a `--user`, `--allow` value or a token-file line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// `--user` without `:` between NAME and HASH.
    UserSyntax,
    /// `--allow` not in the form `WHO:PATH:PERMS`.
    AllowSyntax,
    /// A user name that is empty, too long, starts with `@` or holds a
    /// control character.
    BadUserName,
    /// A `@group` other than `@users` and `@anonymous`.
    UnknownGroup(String),
    /// The hash is not an argon2id PHC string (what `ringdrop
    /// hash-password` prints).
    NotArgon2id,
    /// The argon2 parameters exceed the `MAX_ARGON2_*` limits.
    Argon2CostTooHigh,
    /// A PATH that does not start with `/`, has a `..` segment, or holds a
    /// control character or backslash.
    BadPath,
    /// PERMS is not a comma list of `read`, `upload`, `overwrite`,
    /// `delete`, `all`.
    BadPerms,
    /// A token line without exactly the four fields.
    TokenFields,
    /// The first field of a token line is not 64 hex digits.
    BadTokenHash,
    /// EXPIRES is not an RFC 3339 date-time.
    BadExpires,
    /// The same user defined twice.
    DuplicateUser(String),
    /// An `--allow` names a user that no `--user` defines.
    UnknownUser(String),
    /// The same token hash on two lines (the first line number is given).
    DuplicateToken(usize),
    /// `--auth-threads` is 0 or above [`MAX_AUTH_THREADS`].
    AuthThreads,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::UserSyntax => f.write_str("expected NAME:HASH"),
            RuleError::AllowSyntax => f.write_str("expected WHO:PATH:PERMS"),
            RuleError::BadUserName => write!(
                f,
                "a user name must be 1 to {MAX_USER_NAME_BYTES} bytes, without control \
                 characters or ':', and must not start with '@'"
            ),
            RuleError::UnknownGroup(g) => {
                write!(f, "unknown group {g:?}: use @users or @anonymous")
            }
            RuleError::NotArgon2id => f.write_str(
                "HASH must be an argon2id PHC string ($argon2id$v=19$…): \
                 make one with `ringdrop hash-password`",
            ),
            RuleError::Argon2CostTooHigh => write!(
                f,
                "argon2 parameters too costly (at most m={MAX_ARGON2_M_COST_KIB}, \
                 t={MAX_ARGON2_T_COST}, p={MAX_ARGON2_P_COST})"
            ),
            RuleError::BadPath => f.write_str(
                "PATH must be a directory such as / or /drop/ (starting with '/', no '..', \
                 no control characters or backslashes)",
            ),
            RuleError::BadPerms => {
                f.write_str("PERMS must be a comma list of read, upload, overwrite, delete, or all")
            }
            RuleError::TokenFields => f.write_str("expected `SHA256HEX PATH PERMS EXPIRES`"),
            RuleError::BadTokenHash => {
                f.write_str("expected the token's SHA-256 as 64 hexadecimal digits")
            }
            RuleError::BadExpires => {
                f.write_str("EXPIRES must be an RFC 3339 date-time such as 2030-01-31T23:59:59Z")
            }
            RuleError::DuplicateUser(name) => write!(f, "user {name:?} is defined twice"),
            RuleError::UnknownUser(name) => {
                write!(f, "--allow names user {name:?}, which no --user defines")
            }
            RuleError::DuplicateToken(first) => {
                write!(f, "the same token hash is already on line {first}")
            }
            RuleError::AuthThreads => {
                write!(f, "--auth-threads must be between 1 and {MAX_AUTH_THREADS}")
            }
        }
    }
}

impl std::error::Error for RuleError {}

/// A [`RuleError`] on a line of the token file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFileError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub error: RuleError,
}

impl fmt::Display for TokenFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

impl std::error::Error for TokenFileError {}

/// Checks a user name (see [`RuleError::BadUserName`]).
fn check_user_name(name: &str) -> Result<(), RuleError> {
    let bad = name.is_empty()
        || name.len() > MAX_USER_NAME_BYTES
        || name.starts_with('@')
        || name.contains(':')
        || name.chars().any(char::is_control);
    if bad {
        Err(RuleError::BadUserName)
    } else {
        Ok(())
    }
}

/// Checks that `phc` is an argon2id PHC string with bounded costs.
fn check_argon2id(phc: &str) -> Result<(), RuleError> {
    let hash = password_hash::PasswordHash::new(phc).map_err(|_| RuleError::NotArgon2id)?;
    if hash.algorithm != argon2::ARGON2ID_IDENT || hash.hash.is_none() || hash.salt.is_none() {
        return Err(RuleError::NotArgon2id);
    }
    if hash.version.is_some_and(|v| v != 0x13) {
        return Err(RuleError::NotArgon2id);
    }
    let params = argon2::Params::try_from(&hash).map_err(|_| RuleError::NotArgon2id)?;
    if params.m_cost() > MAX_ARGON2_M_COST_KIB
        || params.t_cost() > MAX_ARGON2_T_COST
        || params.p_cost() > MAX_ARGON2_P_COST
    {
        return Err(RuleError::Argon2CostTooHigh);
    }
    Ok(())
}

/// Normalizes a rule's directory PATH the way [`crate::http::decode_target`]
/// normalizes a request path: `/`, `.` and empty segments dropped, the
/// leading and trailing `/` gone (`/drop/` and `/drop` both become `drop`,
/// `/` becomes `""`). The PATH is literal: `%` is an ordinary character.
///
/// ```
/// use ringdrop::auth::normalize_rule_path;
/// assert_eq!(normalize_rule_path("/"), Some(String::new()));
/// assert_eq!(normalize_rule_path("//a/./b/"), Some("a/b".to_string()));
/// assert_eq!(normalize_rule_path("/a/../b"), None);
/// assert_eq!(normalize_rule_path("drop/"), None);
/// ```
pub fn normalize_rule_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let mut out = String::with_capacity(rest.len());
    for segment in rest.split('/') {
        match segment {
            "" | "." => continue,
            ".." => return None,
            _ => {}
        }
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(segment);
    }
    Some(out)
}

/// Parses `--user NAME:HASH`. The name ends at the first `:`.
///
/// ```
/// use ringdrop::auth::parse_user;
/// let phc = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
///            AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
/// let user = parse_user(&format!("alice:{phc}")).unwrap();
/// assert_eq!(user.name, "alice");
/// assert!(parse_user("alice").is_err());
/// ```
pub fn parse_user(text: &str) -> Result<UserSpec, RuleError> {
    let (name, phc) = text.split_once(':').ok_or(RuleError::UserSyntax)?;
    check_user_name(name)?;
    check_argon2id(phc)?;
    Ok(UserSpec {
        name: name.to_string(),
        phc: phc.to_string(),
    })
}

/// Parses `--allow WHO:PATH:PERMS`. WHO ends at the first `:`, PERMS
/// starts after the last, so PATH may contain `:`.
///
/// ```
/// use ringdrop::auth::{parse_allow, Perms, Who};
/// let rule = parse_allow("@users:/inbox/:upload").unwrap();
/// assert_eq!(rule.who, Who::Users);
/// assert_eq!(rule.prefix, "inbox");
/// assert_eq!(rule.perms, Perms::UPLOAD);
/// assert!(parse_allow("@admins:/:all").is_err());
/// ```
pub fn parse_allow(text: &str) -> Result<AllowRule, RuleError> {
    let (who, rest) = text.split_once(':').ok_or(RuleError::AllowSyntax)?;
    let (path, perms) = rest.rsplit_once(':').ok_or(RuleError::AllowSyntax)?;
    let who = match who {
        "@users" => Who::Users,
        "@anonymous" => Who::Anonymous,
        group if group.starts_with('@') => return Err(RuleError::UnknownGroup(group.to_string())),
        name => {
            check_user_name(name)?;
            Who::User(name.to_string())
        }
    };
    Ok(AllowRule {
        who,
        prefix: normalize_rule_path(path).ok_or(RuleError::BadPath)?,
        perms: Perms::parse(perms).ok_or(RuleError::BadPerms)?,
    })
}

/// Parses one token-file line that is not blank or a comment. Fields are
/// separated by blanks; a fifth field starting with `#` begins a comment.
fn parse_token_line(line: &str, number: usize) -> Result<TokenSpec, RuleError> {
    let mut fields = line.split_ascii_whitespace();
    let mut next = || fields.next().ok_or(RuleError::TokenFields);
    let (hash, path, perms, expires) = (next()?, next()?, next()?, next()?);
    if fields.next().is_some_and(|extra| !extra.starts_with('#')) {
        return Err(RuleError::TokenFields);
    }
    Ok(TokenSpec {
        sha256: decode_hex_array(hash.as_bytes()).ok_or(RuleError::BadTokenHash)?,
        prefix: normalize_rule_path(path).ok_or(RuleError::BadPath)?,
        perms: Perms::parse(perms).ok_or(RuleError::BadPerms)?,
        expires_unix: parse_rfc3339(expires).ok_or(RuleError::BadExpires)?,
        line: number,
    })
}

/// Parses the text of a `--token-file`: one token a line,
/// `SHA256HEX PATH PERMS EXPIRES`, blank lines and lines starting with `#`
/// ignored. A token is what a client sends after `Bearer `; the file holds
/// its SHA-256 (`printf %s "$TOKEN" | sha256sum`). PATH is literal and
/// cannot contain blanks.
///
/// ```
/// use ringdrop::auth::{parse_token_file, Perms};
/// let text = "# CI upload token\n\
///     0000000000000000000000000000000000000000000000000000000000000000 /ci/ upload 2030-01-01T00:00:00Z\n";
/// let tokens = parse_token_file(text).unwrap();
/// assert_eq!(tokens[0].prefix, "ci");
/// assert_eq!(tokens[0].perms, Perms::UPLOAD);
/// assert_eq!(tokens[0].line, 2);
/// assert_eq!(parse_token_file("x / read 2030-01-01T00:00:00Z").unwrap_err().line, 1);
/// ```
pub fn parse_token_file(text: &str) -> Result<Vec<TokenSpec>, TokenFileError> {
    let mut tokens: Vec<TokenSpec> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index.saturating_add(1);
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let token = parse_token_line(trimmed, number).map_err(|error| TokenFileError {
            line: number,
            error,
        })?;
        if let Some(first) = tokens.iter().find(|t| t.sha256 == token.sha256) {
            return Err(TokenFileError {
                line: number,
                error: RuleError::DuplicateToken(first.line),
            });
        }
        tokens.push(token);
    }
    Ok(tokens)
}

/// The access-control part of the configuration (`Config::access`).
///
/// [`AccessConfig::default`] has no users, rules or tokens: access control
/// is off and everyone may do what the global flags (`--read-only`,
/// `--allow-delete`) allow. As soon as any `--user`, `--allow` or
/// `--token-file` is given ([`AccessConfig::new`]), what no rule grants is
/// refused.
///
/// The index of a user in [`users`](Self::users) is its
/// [`UserId`](super::UserId), the index of a token in
/// [`tokens`](Self::tokens) its [`TokenId`](super::TokenId).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// Access control is on (any of the three flags was given).
    pub enabled: bool,
    /// `--user` values, in command-line order.
    pub users: Vec<UserSpec>,
    /// `--allow` values, in command-line order.
    pub rules: Vec<AllowRule>,
    /// The token file's tokens, in file order.
    pub tokens: Vec<TokenSpec>,
    /// Size of the password-verification pool (`--auth-threads`).
    pub auth_threads: usize,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            enabled: false,
            users: Vec::new(),
            rules: Vec::new(),
            tokens: Vec::new(),
            auth_threads: DEFAULT_AUTH_THREADS,
        }
    }
}

impl AccessConfig {
    /// Gathers parsed flags and checks them together: no user defined
    /// twice, every user an `--allow` names is defined. `tokens` is `None`
    /// without `--token-file` (an empty file still turns access control on).
    ///
    /// ```
    /// use ringdrop::auth::{parse_allow, AccessConfig};
    /// let rules = vec![parse_allow("@anonymous:/:read").unwrap()];
    /// let access = AccessConfig::new(vec![], rules, None, 1).unwrap();
    /// assert!(access.enabled);
    /// assert!(!AccessConfig::default().enabled);
    /// ```
    pub fn new(
        users: Vec<UserSpec>,
        rules: Vec<AllowRule>,
        tokens: Option<Vec<TokenSpec>>,
        auth_threads: usize,
    ) -> Result<Self, RuleError> {
        if !(1..=MAX_AUTH_THREADS).contains(&auth_threads) {
            return Err(RuleError::AuthThreads);
        }
        for (i, user) in users.iter().enumerate() {
            if users[..i].iter().any(|u| u.name == user.name) {
                return Err(RuleError::DuplicateUser(user.name.clone()));
            }
        }
        for rule in &rules {
            if let Who::User(name) = &rule.who {
                if !users.iter().any(|u| &u.name == name) {
                    return Err(RuleError::UnknownUser(name.clone()));
                }
            }
        }
        Ok(AccessConfig {
            enabled: !users.is_empty() || !rules.is_empty() || tokens.is_some(),
            users,
            rules,
            tokens: tokens.unwrap_or_default(),
            auth_threads,
        })
    }

    /// Anonymous clients may upload somewhere: always without access
    /// control, or when an `@anonymous` rule grants `upload`. The server
    /// warns at start-up when this holds and it listens on a non-loopback
    /// address (unless `--read-only`).
    pub fn anonymous_may_upload(&self) -> bool {
        !self.enabled
            || self
                .rules
                .iter()
                .any(|r| r.who == Who::Anonymous && r.perms.contains(Perms::UPLOAD))
    }
}

#[cfg(test)]
mod tests;
