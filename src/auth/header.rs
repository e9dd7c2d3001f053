//! The `Authorization` request header: `Basic` (RFC 7617) and `Bearer`
//! (RFC 6750 §2.1). Pure; no allocation except the decoded Basic
//! credentials.
//!
//! Every way a header can be wrong (too long, unknown scheme, bad base64,
//! no `:`) is answered like wrong credentials, 401: a client learns nothing
//! about which part was wrong, a browser shows its sign-in prompt again,
//! and the failure counts towards the peer's backoff.
#![forbid(unsafe_code)]

use core::fmt;

use base64::Engine as _;

use crate::http::StatusCode;
use crate::syntax::trim_ows;

/// Longest `Authorization` value parsed, in bytes (4 KiB): far above any
/// real credential (a 255-byte user name and a 1 KiB password take under
/// 1.8 KiB in base64), so a longer value is wrong credentials (401) and is
/// never decoded. The header block as a whole is bounded by
/// [`crate::http::HeadLimits`] (431).
pub const MAX_AUTHORIZATION_BYTES: usize = 4096;

/// The challenge for a 401 to a request without credentials or with
/// Basic ones (RFC 7617 §2, §2.1): browsers show their sign-in prompt and
/// send the user name and password in UTF-8.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"ringdrop\", charset=\"UTF-8\"";

/// The challenge for a 401 to a request whose bearer token is unknown or
/// expired (RFC 6750 §3, §3.1 `invalid_token`).
pub const BEARER_INVALID_TOKEN_CHALLENGE: &str =
    "Bearer realm=\"ringdrop\", error=\"invalid_token\"";

/// The challenge for a 403 to a request with a valid bearer token that
/// does not reach this path or action (RFC 6750 §3.1
/// `insufficient_scope`); sent in addition to the JSON body.
pub const BEARER_INSUFFICIENT_SCOPE_CHALLENGE: &str =
    "Bearer realm=\"ringdrop\", error=\"insufficient_scope\"";

/// The `WWW-Authenticate` value for a 401 answering a request that carried
/// the `Authorization` value `header`: the Bearer challenge when the client
/// used (or tried) a bearer token, the Basic one otherwise, so a browser
/// gets its sign-in prompt and a token client learns its token is bad.
///
/// ```
/// use ringdrop::auth::{challenge_for, BASIC_CHALLENGE, BEARER_INVALID_TOKEN_CHALLENGE};
/// assert_eq!(challenge_for(None), BASIC_CHALLENGE);
/// assert_eq!(challenge_for(Some(b"Basic eDp5")), BASIC_CHALLENGE);
/// assert_eq!(challenge_for(Some(b"bearer abc")), BEARER_INVALID_TOKEN_CHALLENGE);
/// ```
pub fn challenge_for(header: Option<&[u8]>) -> &'static str {
    let bearer = header.is_some_and(|h| {
        trim_ows(h)
            .get(..6)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer"))
    });
    if bearer {
        BEARER_INVALID_TOKEN_CHALLENGE
    } else {
        BASIC_CHALLENGE
    }
}

/// Decoded `Basic` credentials: `user-id ":" password` (RFC 7617 §2). The
/// user-id ends at the first `:`; the password may contain `:`.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    /// The decoded `user-pass`.
    decoded: Vec<u8>,
    /// Offset of the first `:` in `decoded` (INVARIANT: `< decoded.len()`).
    colon: usize,
}

impl BasicCredentials {
    /// The user-id (bytes before the first `:`).
    pub fn user(&self) -> &[u8] {
        self.decoded.get(..self.colon).unwrap_or_default()
    }

    /// The password (bytes after the first `:`).
    pub fn password(&self) -> &[u8] {
        self.decoded.get(self.colon + 1..).unwrap_or_default()
    }
}

/// Never prints the password.
impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("user", &String::from_utf8_lossy(self.user()))
            .field("password", &"…")
            .finish()
    }
}

/// The credentials of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// `Basic <base64(user:password)>`.
    Basic(BasicCredentials),
    /// `Bearer <token68>`: the token as sent.
    Bearer(&'a [u8]),
}

/// Why an `Authorization` value is not usable credentials. Every variant
/// is answered 401 (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthHeaderError {
    /// Longer than [`MAX_AUTHORIZATION_BYTES`].
    TooLong,
    /// A scheme other than `Basic` and `Bearer`.
    UnsupportedScheme,
    /// A scheme without credentials, or credentials that are not one
    /// token68 (RFC 9110 §11.2).
    Malformed,
    /// `Basic` credentials that are not base64 (RFC 4648 §4, padded).
    BadBase64,
    /// Decoded `Basic` credentials without `:`.
    NoColon,
}

impl AuthHeaderError {
    /// The response status: always 401.
    pub fn status(self) -> StatusCode {
        match self {
            AuthHeaderError::TooLong
            | AuthHeaderError::UnsupportedScheme
            | AuthHeaderError::Malformed
            | AuthHeaderError::BadBase64
            | AuthHeaderError::NoColon => StatusCode(401),
        }
    }

    /// A stable snake_case id (for logs; the JSON body says `unauthorized`
    /// for every variant, see the module docs).
    pub fn kind(self) -> &'static str {
        match self {
            AuthHeaderError::TooLong => "authorization_too_long",
            AuthHeaderError::UnsupportedScheme => "unsupported_auth_scheme",
            AuthHeaderError::Malformed => "malformed_authorization",
            AuthHeaderError::BadBase64 => "bad_base64",
            AuthHeaderError::NoColon => "basic_without_colon",
        }
    }
}

impl fmt::Display for AuthHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthHeaderError::TooLong => "The Authorization header is too long.",
            AuthHeaderError::UnsupportedScheme => {
                "The Authorization scheme is not Basic or Bearer."
            }
            AuthHeaderError::Malformed => "The Authorization header is malformed.",
            AuthHeaderError::BadBase64 => "The Basic credentials are not valid base64.",
            AuthHeaderError::NoColon => "The Basic credentials have no ':'.",
        })
    }
}

impl std::error::Error for AuthHeaderError {}

/// RFC 9110 §11.2 `token68`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
/// "+" / "/" ) *"="`.
fn is_token68(s: &[u8]) -> bool {
    let body_len = s.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    body_len > 0
        && s[..body_len]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Parses an `Authorization` field value. The scheme is case-insensitive
/// (RFC 9110 §11.1); one or more spaces separate it from the credentials.
///
/// ```
/// use ringdrop::auth::{parse_authorization, Credentials, AuthHeaderError};
/// // "alice:open:sesame" — the password may contain ':'.
/// let Ok(Credentials::Basic(c)) = parse_authorization(b"basic YWxpY2U6b3BlbjpzZXNhbWU=") else {
///     panic!()
/// };
/// assert_eq!((c.user(), c.password()), (&b"alice"[..], &b"open:sesame"[..]));
/// assert_eq!(parse_authorization(b"Bearer abc.DEF-_~+/=="), Ok(Credentials::Bearer(b"abc.DEF-_~+/==")));
/// assert_eq!(parse_authorization(b"Digest x=1"), Err(AuthHeaderError::UnsupportedScheme));
/// ```
pub fn parse_authorization(value: &[u8]) -> Result<Credentials<'_>, AuthHeaderError> {
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return Err(AuthHeaderError::TooLong);
    }
    let value = trim_ows(value);
    let (scheme, rest) = match memchr::memchr(b' ', value) {
        Some(sp) => (&value[..sp], &value[sp..]),
        None => (value, &b""[..]),
    };
    let credentials = {
        let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
        &rest[start..]
    };
    let basic = scheme.eq_ignore_ascii_case(b"basic");
    if !basic && !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(AuthHeaderError::UnsupportedScheme);
    }
    if !is_token68(credentials) {
        return Err(AuthHeaderError::Malformed);
    }
    if !basic {
        return Ok(Credentials::Bearer(credentials));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .map_err(|_| AuthHeaderError::BadBase64)?;
    let colon = memchr::memchr(b':', &decoded).ok_or(AuthHeaderError::NoColon)?;
    Ok(Credentials::Basic(BasicCredentials { decoded, colon }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    /// (scheme, user or token, password).
    type Parsed = Result<(String, Vec<u8>, Vec<u8>), AuthHeaderError>;

    /// The parse result in a comparable, printable shape.
    fn parsed(value: &[u8]) -> Parsed {
        parse_authorization(value).map(|c| match c {
            Credentials::Basic(c) => ("basic".into(), c.user().to_vec(), c.password().to_vec()),
            Credentials::Bearer(t) => ("bearer".into(), t.to_vec(), Vec::new()),
        })
    }

    #[test]
    fn table() {
        use AuthHeaderError::*;
        let basic = |u: &str, p: &str| Ok(("basic".to_string(), u.into(), p.into()));
        let bearer = |t: &str| Ok(("bearer".to_string(), t.into(), Vec::new()));
        let alice = b64(b"alice:secret");
        let cases: Vec<(&str, Vec<u8>, Parsed)> = vec![
            (
                "basic",
                format!("Basic {alice}").into(),
                basic("alice", "secret"),
            ),
            (
                "lowercase scheme",
                format!("basic {alice}").into(),
                basic("alice", "secret"),
            ),
            (
                "uppercase scheme",
                format!("BASIC {alice}").into(),
                basic("alice", "secret"),
            ),
            (
                "two spaces",
                format!("Basic  {alice}").into(),
                basic("alice", "secret"),
            ),
            (
                "ows around",
                format!(" \tBasic {alice} \t").into(),
                basic("alice", "secret"),
            ),
            (
                "colon in password",
                format!("Basic {}", b64(b"a:b:c")).into(),
                basic("a", "b:c"),
            ),
            (
                "empty password",
                format!("Basic {}", b64(b"a:")).into(),
                basic("a", ""),
            ),
            (
                "empty user",
                format!("Basic {}", b64(b":p")).into(),
                basic("", "p"),
            ),
            (
                "utf-8 user",
                format!("Basic {}", b64("zoë:p".as_bytes())).into(),
                basic("zoë", "p"),
            ),
            (
                "no colon",
                format!("Basic {}", b64(b"alice")).into(),
                Err(NoColon),
            ),
            ("unpadded", b"Basic YWxpY2U6cw".to_vec(), Err(BadBase64)),
            ("bad base64", b"Basic YWxp*2U6cw==".to_vec(), Err(Malformed)),
            (
                "base64 bad length",
                b"Basic YWxpY2U6c===".to_vec(),
                Err(BadBase64),
            ),
            ("url-safe alphabet", b"Basic YW_-".to_vec(), Err(BadBase64)),
            ("basic no credentials", b"Basic".to_vec(), Err(Malformed)),
            ("basic space only", b"Basic ".to_vec(), Err(Malformed)),
            (
                "basic two tokens",
                format!("Basic {alice} x").into(),
                Err(Malformed),
            ),
            (
                "basic auth-param",
                b"Basic realm=\"x\"".to_vec(),
                Err(Malformed),
            ),
            (
                "tab separator",
                format!("Basic\t{alice}").into(),
                Err(UnsupportedScheme),
            ),
            ("bearer", b"Bearer abc".to_vec(), bearer("abc")),
            ("bearer case", b"bEaReR abc".to_vec(), bearer("abc")),
            (
                "bearer token68 chars",
                b"Bearer aZ09-._~+/==".to_vec(),
                bearer("aZ09-._~+/=="),
            ),
            ("bearer only padding", b"Bearer ==".to_vec(), Err(Malformed)),
            ("bearer inner =", b"Bearer a=b".to_vec(), Err(Malformed)),
            ("bearer space", b"Bearer a b".to_vec(), Err(Malformed)),
            ("bearer comma", b"Bearer a,b".to_vec(), Err(Malformed)),
            ("bearer non-ascii", b"Bearer \xff".to_vec(), Err(Malformed)),
            ("bearer empty", b"Bearer".to_vec(), Err(Malformed)),
            (
                "digest",
                b"Digest username=\"a\"".to_vec(),
                Err(UnsupportedScheme),
            ),
            (
                "negotiate",
                b"Negotiate abc".to_vec(),
                Err(UnsupportedScheme),
            ),
            (
                "basicx",
                format!("BasicX {alice}").into(),
                Err(UnsupportedScheme),
            ),
            ("empty", b"".to_vec(), Err(UnsupportedScheme)),
            ("only spaces", b"   ".to_vec(), Err(UnsupportedScheme)),
        ];
        for (name, value, want) in cases {
            assert_eq!(parsed(&value), want, "{name}");
        }
    }

    #[test]
    fn length_limit_is_exact() {
        let prefix = b"Bearer ";
        let mut at_limit = prefix.to_vec();
        at_limit.resize(MAX_AUTHORIZATION_BYTES, b'a');
        assert!(parse_authorization(&at_limit).is_ok());
        at_limit.push(b'a');
        assert_eq!(
            parse_authorization(&at_limit),
            Err(AuthHeaderError::TooLong)
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let value = format!("Basic {}", b64(b"alice:hunter2"));
        let shown = format!("{:?}", parse_authorization(value.as_bytes()));
        assert!(
            shown.contains("alice") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn every_error_is_401() {
        use AuthHeaderError::*;
        for e in [TooLong, UnsupportedScheme, Malformed, BadBase64, NoColon] {
            assert_eq!(e.status(), StatusCode(401));
            assert!(!e.kind().is_empty() && !e.to_string().is_empty());
        }
    }

    proptest::proptest! {
        /// Any user (without ':') and password round-trip through Basic.
        #[test]
        fn basic_round_trips(user in "[^:]{0,40}", password in ".{0,80}") {
            let value = format!("Basic {}", b64(format!("{user}:{password}").as_bytes()));
            let Ok(Credentials::Basic(c)) = parse_authorization(value.as_bytes()) else {
                panic!("{value}");
            };
            proptest::prop_assert_eq!(c.user(), user.as_bytes());
            proptest::prop_assert_eq!(c.password(), password.as_bytes());
        }

        /// Arbitrary bytes never panic, and a `Bearer` result is a
        /// token68 slice of the input.
        #[test]
        fn arbitrary_bytes(value in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Ok(Credentials::Bearer(t)) = parse_authorization(&value) {
                proptest::prop_assert!(is_token68(t));
            }
        }
    }
}
