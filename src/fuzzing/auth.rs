//! Fuzz entry points for access control: the `Authorization` parser and
//! the rule parsers with the policy built from what they accept. The
//! targets `fuzz/fuzz_targets/auth_*.rs` are one-line shims; the tests below
//! replay `fuzz/corpus/auth_*/*.seed`.

use base64::Engine as _;

use crate::auth::{
    normalize_rule_path, parse_allow, parse_authorization, parse_token_file, parse_user,
    prefix_contains, AccessConfig, Action, AllowRule, Caps, Credentials, Decision, Identity,
    Policy, TokenId, UserId, UserSpec, Who, MAX_AUTHORIZATION_BYTES,
};
use crate::http::decode_target;

/// Fuzz entry point for [`parse_authorization`]: never panics; every error
/// is a 401; Basic credentials re-encode to a header that parses to the
/// same user and password; a Bearer token is a token68 slice of the input
/// that parses again on its own; the scheme's case never matters.
pub fn fuzz_auth_header(data: &[u8]) {
    let parsed = parse_authorization(data);
    let credentials = match &parsed {
        Ok(credentials) => credentials,
        Err(e) => {
            assert_eq!(e.status().as_u16(), 401, "{e:?}");
            return;
        }
    };
    assert!(data.len() <= MAX_AUTHORIZATION_BYTES);
    match credentials {
        Credentials::Basic(c) => {
            assert!(!c.user().contains(&b':'), "user-id with ':'");
            let mut user_pass = c.user().to_vec();
            user_pass.push(b':');
            user_pass.extend_from_slice(c.password());
            let again = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(&user_pass)
            );
            match parse_authorization(again.as_bytes()) {
                Ok(Credentials::Basic(d)) => assert_eq!(
                    (d.user(), d.password()),
                    (c.user(), c.password()),
                    "re-encoded Basic differs"
                ),
                other => panic!("re-encoded Basic: {other:?}"),
            }
        }
        Credentials::Bearer(token) => {
            let range = data.as_ptr_range();
            let inside = range.start <= token.as_ptr() && token.as_ptr_range().end <= range.end;
            assert!(inside, "token is not a slice of the input");
            assert!(!token.is_empty() && !token.contains(&b' '));
            let mut again = b"Bearer ".to_vec();
            again.extend_from_slice(token);
            assert_eq!(parse_authorization(&again), Ok(Credentials::Bearer(token)));
        }
    }
    let flipped: Vec<u8> = {
        let mut v = data.to_vec();
        let scheme_end = v.iter().position(|&b| b == b' ').unwrap_or(v.len());
        for b in &mut v[..scheme_end] {
            if b.is_ascii_alphabetic() {
                *b ^= 0x20;
            }
        }
        v
    };
    assert_eq!(parse_authorization(&flipped), parsed, "scheme case matters");
}

/// A PHC string that passes [`parse_user`]; the fuzz target never checks a
/// password against it.
const FUZZ_PHC: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// "Now" for the policy: 2030-03-17.
const FUZZ_NOW: i64 = 1_900_000_000;

/// Fuzz entry point for the rule parsers and the policy. The data, as text,
/// is read three ways: each line as `--allow` and as `--user`, and the
/// whole as a token file. Accepted rules render back to themselves; token
/// file errors name a real line. Then the accepted rules and tokens form a
/// [`Policy`], and every line, decoded as a request target, is decided for
/// every identity: whatever is allowed lies under a prefix granted to one
/// of the identity's sources.
pub fn fuzz_auth_rules(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut rules = Vec::new();
    for line in text.lines() {
        if let Ok(rule) = parse_allow(line) {
            check_rule(&rule);
            rules.push(rule);
        }
        if let Ok(user) = parse_user(line) {
            assert!(!user.name.is_empty() && !user.name.contains(':'));
            assert_eq!(format!("{}:{}", user.name, user.phc), line);
        }
    }
    let line_count = text.lines().count();
    let tokens = match parse_token_file(&text) {
        Ok(tokens) => {
            for pair in tokens.windows(2) {
                assert!(pair[0].line < pair[1].line, "lines out of order");
            }
            for t in &tokens {
                assert!((1..=line_count).contains(&t.line), "line {}", t.line);
                assert_eq!(
                    normalize_rule_path(&format!("/{}", t.prefix)),
                    Some(t.prefix.clone())
                );
            }
            tokens
        }
        Err(e) => {
            assert!(
                (1..=line_count).contains(&e.line),
                "error on line {}",
                e.line
            );
            Vec::new()
        }
    };
    // Every user the rules name, defined (bounded: the data is small).
    let mut users: Vec<UserSpec> = Vec::new();
    for rule in &rules {
        if let Who::User(name) = &rule.who {
            if !users.iter().any(|u| &u.name == name) {
                users.push(UserSpec {
                    name: name.clone(),
                    phc: FUZZ_PHC.to_string(),
                });
            }
        }
    }
    let user_count = users.len();
    let token_count = tokens.len();
    let access = match AccessConfig::new(users, rules.clone(), Some(tokens.clone()), 1) {
        Ok(access) => access,
        Err(e) => panic!("rules that parsed do not combine: {e}"),
    };
    let policy = Policy::new(
        &access,
        Caps {
            read_only: false,
            allow_delete: true,
        },
    );
    let mut identities = vec![Identity::Anonymous];
    identities.extend((0..user_count.min(4)).map(|i| Identity::User(UserId(i as u32))));
    identities.extend((0..token_count.min(4)).map(|i| Identity::Token(TokenId(i as u32))));
    for line in text.lines().take(32) {
        let Ok(target) = decode_target(line.as_bytes()) else {
            continue;
        };
        let path = target.path.as_str();
        for &identity in &identities {
            for action in [
                Action::Read,
                Action::Create,
                Action::Overwrite,
                Action::Delete,
            ] {
                if policy.decide(identity, action, path, FUZZ_NOW) == Decision::Allow {
                    assert!(
                        granted(&access, identity, action, path),
                        "{identity:?} may {action:?} {path:?} with no rule granting it"
                    );
                }
            }
        }
    }
}

/// An accepted rule is normalized and renders back to itself.
fn check_rule(rule: &AllowRule) {
    let who = match &rule.who {
        Who::User(name) => name.clone(),
        Who::Users => "@users".to_string(),
        Who::Anonymous => "@anonymous".to_string(),
    };
    assert_eq!(
        normalize_rule_path(&format!("/{}", rule.prefix)),
        Some(rule.prefix.clone()),
        "prefix {:?} is not normalized",
        rule.prefix
    );
    let rendered = format!("{who}:/{}/:{}", rule.prefix, rule.perms);
    assert_eq!(parse_allow(&rendered).as_ref(), Ok(rule), "{rendered}");
}

/// Some rule (or token line) of one of `identity`'s sources contains
/// `path` and grants what `action` needs: the necessary condition for
/// `Allow` under "rules only grant".
fn granted(access: &AccessConfig, identity: Identity, action: Action, path: &str) -> bool {
    let needs = action.needs();
    let applies = |who: &Who| match (who, identity) {
        (Who::Anonymous, _) => true,
        (Who::Users, Identity::User(_)) => true,
        (Who::User(name), Identity::User(UserId(i))) => access
            .users
            .get(i as usize)
            .is_some_and(|u| &u.name == name),
        _ => false,
    };
    let by_rule = access
        .rules
        .iter()
        .any(|r| applies(&r.who) && r.perms.contains(needs) && prefix_contains(&r.prefix, path));
    let by_token = match identity {
        Identity::Token(TokenId(i)) => access.tokens.get(i as usize).is_some_and(|t| {
            t.perms.contains(needs) && prefix_contains(&t.prefix, path) && FUZZ_NOW < t.expires_unix
        }),
        _ => false,
    };
    by_rule || by_token
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Runs `f` on every committed seed of `target` and on `inline`.
    fn replay(target: &str, f: fn(&[u8]), inline: &[&[u8]]) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("corpus entry").path();
            if path.extension().is_some_and(|e| e == "seed") {
                let bytes = std::fs::read(&path).expect("read seed");
                let ok = std::panic::catch_unwind(|| f(&bytes)).is_ok();
                assert!(ok, "{target}: seed {} failed", path.display());
                count += 1;
            }
        }
        assert!(count > 0, "no seeds in {}", dir.display());
        inline.iter().for_each(|input| f(input));
    }

    #[test]
    fn auth_header_seeds() {
        let long = [b"Bearer ".as_slice(), &[b'a'; MAX_AUTHORIZATION_BYTES]].concat();
        replay(
            "auth_header",
            fuzz_auth_header,
            &[
                b"",
                b" ",
                b"Basic",
                b"Basic =",
                b"Bearer a",
                b"Basic Og==",
                &long,
            ],
        );
    }

    #[test]
    fn auth_rules_seeds() {
        replay(
            "auth_rules",
            fuzz_auth_rules,
            &[
                b"",
                b"\n",
                b"@anonymous:/:all\n/a/b",
                b"\xff:/\xff/:read\n/\xff",
            ],
        );
    }

    #[test]
    fn the_fuzz_phc_is_accepted() {
        assert!(parse_user(&format!("u:{FUZZ_PHC}")).is_ok());
    }
}
