use proptest::prelude::*;

use super::*;
use crate::auth::password::cheap_hash;
use crate::auth::rules::{parse_allow, parse_token_file, parse_user, AllowRule, UserSpec};
use crate::http::decode_target;

/// "Now" in the tables: 2030-03-17.
const NOW: i64 = 1_900_000_000;

const ANON: Identity = Identity::Anonymous;
const ALICE: Identity = Identity::User(UserId(0));
const BOB: Identity = Identity::User(UserId(1));
const TOK0: Identity = Identity::Token(TokenId(0));
const TOK1: Identity = Identity::Token(TokenId(1));

use Action::{Create, Delete, Overwrite, Read};
use Decision::{Allow, Disabled, Forbidden, Unauthenticated};

fn users() -> Vec<UserSpec> {
    let phc = cheap_hash(b"pw");
    vec![
        parse_user(&format!("alice:{phc}")).unwrap(),
        parse_user(&format!("bob:{phc}")).unwrap(),
    ]
}

/// Tokens for the tables: token 0 `/ci/ upload` valid until 2031, token 1
/// `/ci/ upload` expired in 2020.
const TOKENS: &str = "\
1111111111111111111111111111111111111111111111111111111111111111 /ci/ upload 2031-01-01T00:00:00Z
2222222222222222222222222222222222222222222222222222222222222222 /ci/ upload 2020-01-01T00:00:00Z
";

/// A policy for alice, bob, the two tokens and `allow`.
fn policy(allow: &[&str], caps: Caps) -> Policy {
    let rules = allow.iter().map(|r| parse_allow(r).unwrap()).collect();
    let tokens = parse_token_file(TOKENS).unwrap();
    let access = AccessConfig::new(users(), rules, Some(tokens), 1).unwrap();
    Policy::new(&access, caps)
}

const NO_DELETE: Caps = Caps {
    read_only: false,
    allow_delete: false,
};
const DELETE: Caps = Caps {
    read_only: false,
    allow_delete: true,
};
const READ_ONLY: Caps = Caps {
    read_only: true,
    allow_delete: true,
};

struct Scenario {
    name: &'static str,
    allow: &'static [&'static str],
    caps: Caps,
    checks: &'static [(Identity, Action, &'static str, Decision)],
}

/// Every permission combination of SPEC "Access control".
const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "users but no rule: everything refused",
        allow: &[],
        caps: DELETE,
        checks: &[
            (ANON, Read, "", Unauthenticated),
            (ANON, Read, "a.txt", Unauthenticated),
            (ALICE, Read, "a.txt", Forbidden),
            (ALICE, Create, "a.txt", Forbidden),
            (TOK0, Read, "ci/x", Forbidden),
        ],
    },
    Scenario {
        name: "private server",
        allow: &["alice:/:all"],
        caps: DELETE,
        checks: &[
            (ALICE, Read, "", Allow),
            (ALICE, Read, "a/b.txt", Allow),
            (ALICE, Create, "a/new.txt", Allow),
            (ALICE, Overwrite, "a/b.txt", Allow),
            (ALICE, Delete, "a/b.txt", Allow),
            (BOB, Read, "a/b.txt", Forbidden),
            (ANON, Read, "", Unauthenticated),
            (ANON, Create, "x", Unauthenticated),
        ],
    },
    Scenario {
        name: "public read, authenticated upload",
        allow: &["@anonymous:/:read", "@users:/:upload"],
        caps: NO_DELETE,
        checks: &[
            (ANON, Read, "a.txt", Allow),
            (ANON, Create, "a.txt", Unauthenticated),
            (ANON, Overwrite, "a.txt", Unauthenticated),
            (ANON, Delete, "a.txt", Disabled),
            (ALICE, Read, "a.txt", Allow),
            (ALICE, Create, "d/a.txt", Allow),
            (ALICE, Overwrite, "a.txt", Forbidden),
            (ALICE, Delete, "a.txt", Disabled),
            (TOK0, Read, "a.txt", Allow),
            (TOK0, Create, "a.txt", Forbidden),
        ],
    },
    Scenario {
        name: "drop box for everyone",
        allow: &["@anonymous:/drop/:upload"],
        caps: NO_DELETE,
        checks: &[
            (ANON, Create, "drop/a.txt", Allow),
            (ANON, Create, "drop/sub/a.txt", Allow),
            (ANON, Create, "drop", Allow),
            (ANON, Read, "drop", Unauthenticated),
            (ANON, Read, "drop/a.txt", Unauthenticated),
            (ANON, Overwrite, "drop/a.txt", Unauthenticated),
            (ANON, Create, "dropbox", Unauthenticated),
            (ANON, Create, "dropbox/a.txt", Unauthenticated),
            (ANON, Create, "drop.txt", Unauthenticated),
            (ANON, Create, "a.txt", Unauthenticated),
            (ALICE, Create, "drop/a.txt", Allow),
            (ALICE, Read, "drop/a.txt", Forbidden),
            (TOK0, Create, "drop/a.txt", Allow),
        ],
    },
    Scenario {
        name: "overwrite without upload",
        allow: &["alice:/docs/:read,overwrite"],
        caps: NO_DELETE,
        checks: &[
            (ALICE, Overwrite, "docs/a.txt", Allow),
            (ALICE, Create, "docs/new.txt", Forbidden),
            (ALICE, Read, "docs/a.txt", Allow),
            (ALICE, Overwrite, "a.txt", Forbidden),
            (BOB, Overwrite, "docs/a.txt", Forbidden),
        ],
    },
    Scenario {
        name: "longest prefix decides within a source",
        allow: &["@users:/:read", "@users:/inbox/:upload"],
        caps: NO_DELETE,
        checks: &[
            (ALICE, Read, "a.txt", Allow),
            (ALICE, Create, "a.txt", Forbidden),
            (ALICE, Read, "inbox", Forbidden),
            (ALICE, Read, "inbox/a.txt", Forbidden),
            (ALICE, Create, "inbox/a.txt", Allow),
            (ALICE, Read, "inboxes/a.txt", Allow),
            (ANON, Read, "a.txt", Unauthenticated),
        ],
    },
    Scenario {
        name: "sources add up",
        allow: &[
            "@users:/:read",
            "@users:/inbox/:upload",
            "alice:/inbox/:read",
            "@anonymous:/pub/:read",
        ],
        caps: NO_DELETE,
        checks: &[
            (ALICE, Read, "inbox/a.txt", Allow),
            (ALICE, Create, "inbox/a.txt", Allow),
            (BOB, Read, "inbox/a.txt", Forbidden),
            (BOB, Read, "pub/a.txt", Allow),
            (ANON, Read, "pub/a.txt", Allow),
            (ANON, Read, "inbox/a.txt", Unauthenticated),
        ],
    },
    Scenario {
        name: "rules for the same source and path add up",
        allow: &["@users:/:read", "@users:/:upload"],
        caps: NO_DELETE,
        checks: &[(BOB, Read, "a", Allow), (BOB, Create, "a", Allow)],
    },
    Scenario {
        name: "tokens: scope, expiry, no @users",
        allow: &["@users:/:read"],
        caps: NO_DELETE,
        checks: &[
            (TOK0, Create, "ci/build.tar", Allow),
            (TOK0, Create, "ci", Allow),
            (TOK0, Create, "cid/x", Forbidden),
            (TOK0, Create, "other/x", Forbidden),
            (TOK0, Read, "ci/build.tar", Forbidden),
            (TOK0, Overwrite, "ci/build.tar", Forbidden),
            (TOK1, Create, "ci/build.tar", Unauthenticated),
            (TOK1, Read, "", Unauthenticated),
            (Identity::Token(TokenId(9)), Read, "", Unauthenticated),
        ],
    },
    Scenario {
        name: "tokens get @anonymous",
        allow: &["@anonymous:/:read"],
        caps: NO_DELETE,
        checks: &[
            (TOK0, Read, "other/x", Allow),
            (TOK0, Create, "ci/x", Allow),
            (TOK1, Read, "other/x", Unauthenticated),
        ],
    },
    Scenario {
        name: "--read-only caps every rule",
        allow: &["alice:/:all", "@anonymous:/:all"],
        caps: READ_ONLY,
        checks: &[
            (ALICE, Read, "a", Allow),
            (ALICE, Create, "a", Disabled),
            (ALICE, Overwrite, "a", Disabled),
            (ALICE, Delete, "a", Disabled),
            (ANON, Create, "a", Disabled),
            (TOK0, Create, "ci/a", Disabled),
            (TOK1, Create, "ci/a", Unauthenticated),
        ],
    },
    Scenario {
        name: "no --allow-delete caps delete",
        allow: &["alice:/:all"],
        caps: NO_DELETE,
        checks: &[
            (ALICE, Delete, "a", Disabled),
            (ALICE, Overwrite, "a", Allow),
            (ANON, Delete, "a", Disabled),
        ],
    },
    Scenario {
        name: "paths that are not normalized get nothing",
        allow: &["@anonymous:/:all"],
        caps: DELETE,
        checks: &[
            (ANON, Read, "a/../b", Unauthenticated),
            (ANON, Read, "/a", Unauthenticated),
            (ANON, Read, "a//b", Unauthenticated),
            (ANON, Read, "./a", Unauthenticated),
            (ANON, Read, "a/", Unauthenticated),
            (ANON, Read, "..", Unauthenticated),
            (ALICE, Read, "a/./b", Forbidden),
            (ANON, Read, "a/b", Allow),
        ],
    },
];

#[test]
fn scenarios() {
    for s in SCENARIOS {
        let p = policy(s.allow, s.caps);
        for &(identity, action, path, want) in s.checks {
            let got = p.decide(identity, action, path, NOW);
            assert_eq!(got, want, "{}: {identity:?} {action:?} {path:?}", s.name);
            // The other views agree with `decide`.
            let caps = p.capabilities(identity, path, NOW);
            assert_eq!(caps.contains(action.needs()), want == Allow, "{}", s.name);
            assert_eq!(
                p.can_read(identity, path, NOW),
                p.decide(identity, Read, path, NOW) == Allow
            );
        }
    }
}

#[test]
fn access_control_off() {
    let open = |caps| Policy::new(&AccessConfig::default(), caps);
    let p = open(NO_DELETE);
    assert!(p.is_open());
    for path in ["", "a", "a/b"] {
        assert_eq!(p.decide(ANON, Read, path, NOW), Allow);
        assert_eq!(p.decide(ANON, Create, path, NOW), Allow);
        assert_eq!(p.decide(ANON, Overwrite, path, NOW), Allow);
        assert_eq!(p.decide(ANON, Delete, path, NOW), Disabled);
    }
    assert_eq!(open(DELETE).decide(ANON, Delete, "a", NOW), Allow);
    assert_eq!(open(READ_ONLY).decide(ANON, Create, "a", NOW), Disabled);
    assert_eq!(open(READ_ONLY).capabilities(ANON, "a", NOW), Perms::READ);
    assert_eq!(open(DELETE).capabilities(ANON, "a", NOW), Perms::ALL);
    assert_eq!(
        open(NO_DELETE).directory_view(ANON, "", NOW),
        DirectoryView::Listing
    );
    assert!(!policy(&[], NO_DELETE).is_open());
}

#[test]
fn token_expires_at_its_instant() {
    let p = policy(&[], NO_DELETE);
    let expires = 1_924_992_000; // 2031-01-01T00:00:00Z
    assert_eq!(p.decide(TOK0, Create, "ci/x", expires - 1), Allow);
    assert_eq!(p.decide(TOK0, Create, "ci/x", expires), Unauthenticated);
    assert_eq!(p.capabilities(TOK0, "ci", expires), Perms::NONE);
}

#[test]
fn directory_views_and_listings() {
    let p = policy(
        &[
            "@users:/:read",
            "@users:/inbox/:upload",
            "@anonymous:/drop/:upload",
        ],
        NO_DELETE,
    );
    assert_eq!(p.directory_view(ALICE, "", NOW), DirectoryView::Listing);
    assert_eq!(
        p.directory_view(ALICE, "inbox", NOW),
        DirectoryView::DropBox
    );
    assert_eq!(p.directory_view(ANON, "drop", NOW), DirectoryView::DropBox);
    assert_eq!(
        p.directory_view(ANON, "", NOW),
        DirectoryView::Refused(Unauthenticated)
    );
    assert_eq!(
        p.directory_view(TOK1, "drop", NOW),
        DirectoryView::Refused(Unauthenticated)
    );
    assert_eq!(
        p.directory_view(TOK0, "x", NOW),
        DirectoryView::Refused(Forbidden)
    );
    // In alice's listing of the root, the inbox directory shows (she can
    // open its drop box), a file in it would not.
    assert!(p.listing_shows(ALICE, "inbox", true, NOW));
    assert!(!p.listing_shows(ALICE, "inbox", false, NOW));
    assert!(!p.listing_shows(ALICE, "inbox/a.txt", false, NOW));
    assert!(p.listing_shows(ALICE, "a.txt", false, NOW));
    assert_eq!(
        p.capabilities(ALICE, "drop", NOW),
        Perms::READ | Perms::UPLOAD,
        "users have @users and @anonymous"
    );
}

#[test]
fn decision_statuses() {
    assert_eq!(Allow.status(), None);
    assert_eq!(Unauthenticated.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(Forbidden.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(Disabled.status().map(|s| s.as_u16()), Some(405));
    for d in [Allow, Unauthenticated, Forbidden, Disabled] {
        assert!(!d.kind().is_empty() && d.message().ends_with('.'));
    }
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

/// Segments that look alike: prefixes of each other, symlink-ish and
/// backup-ish names, dots, non-ASCII.
const SEGMENTS: &[&str] = &[
    "drop", "dropbox", "drop~", "drop.lnk", "d", "Drop", "a", "ab", "a b", "é", ".hidden", "...",
    "drop%", "x",
];

/// A raw request target built from `segments`, written in awkward ways:
/// doubled slashes, `.` segments, percent-encoding, a trailing slash.
fn raw_target(segments: &[&str], noise: &[u8], trailing: bool) -> String {
    let mut raw = String::new();
    for (i, segment) in segments.iter().enumerate() {
        let n = noise.get(i).copied().unwrap_or(0);
        raw.push('/');
        if n & 1 != 0 {
            raw.push('/');
        }
        if n & 2 != 0 {
            raw.push_str("./");
        }
        for b in segment.bytes() {
            if n & 4 != 0 || !(b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
                raw.push_str(&format!("%{b:02X}"));
            } else {
                raw.push(char::from(b));
            }
        }
    }
    if trailing || raw.is_empty() {
        raw.push('/');
    }
    raw
}

/// The naive oracle: does the segment list `prefix` start the segment
/// list of `path`?
fn naive_contains(prefix: &[&str], path: &str) -> bool {
    let path: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').collect()
    };
    path.len() >= prefix.len() && path[..prefix.len()] == *prefix
}

fn segments() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::collection::vec(proptest::sample::select(SEGMENTS), 0..4)
}

/// A rule on the command line for `who` at the segments `prefix`.
fn rule_text(who: &str, prefix: &[&str], perms: Perms) -> String {
    let mut path = String::from("/");
    for s in prefix {
        path.push_str(s);
        path.push('/');
    }
    format!("{who}:{path}:{perms}")
}

fn perms() -> impl Strategy<Value = Perms> {
    (1u8..16).prop_map(|bits| {
        [Perms::READ, Perms::UPLOAD, Perms::OVERWRITE, Perms::DELETE]
            .into_iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .fold(Perms::NONE, |acc, (_, p)| acc | p)
    })
}

const WHO: &[&str] = &["@anonymous", "@users", "alice", "bob"];
const IDENTITIES: [Identity; 5] = [ANON, ALICE, BOB, TOK0, TOK1];

/// Sources of an identity, as `WHO` names (tokens: their own line, added
/// separately).
fn sources(identity: Identity) -> &'static [&'static str] {
    match identity {
        Identity::Anonymous | Identity::Token(_) => &["@anonymous"],
        Identity::User(UserId(0)) => &["alice", "@users", "@anonymous"],
        Identity::User(_) => &["bob", "@users", "@anonymous"],
    }
}

/// The naive rights: for each source, the rules containing `path` with the
/// most segments, their perms united; the sources united; caps applied.
fn naive_rights(rules: &[(usize, Vec<&str>, Perms)], identity: Identity, path: &str) -> Perms {
    let mut rights = Perms::NONE;
    for who in sources(identity) {
        let matching: Vec<&(usize, Vec<&str>, Perms)> = rules
            .iter()
            .filter(|(w, prefix, _)| WHO[*w] == *who && naive_contains(prefix, path))
            .collect();
        let deepest = matching.iter().map(|(_, p, _)| p.len()).max();
        for (_, prefix, perms) in &matching {
            if Some(prefix.len()) == deepest {
                rights |= *perms;
            }
        }
    }
    if identity == TOK0 && naive_contains(&["ci"], path) {
        rights |= Perms::UPLOAD;
    }
    if identity == TOK1 {
        rights = Perms::NONE;
    }
    rights & DELETE.mask()
}

fn build(rules: &[(usize, Vec<&str>, Perms)]) -> Policy {
    let texts: Vec<String> = rules
        .iter()
        .map(|(w, prefix, perms)| rule_text(WHO[*w], prefix, *perms))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    policy(&refs, DELETE)
}

fn rule_strategy() -> impl Strategy<Value = (usize, Vec<&'static str>, Perms)> {
    (0..WHO.len(), segments(), perms())
}

proptest! {
    /// With one grant at PREFIX, a request decoded from any awkward spelling
    /// of any path is allowed exactly when the path is under PREFIX.
    #[test]
    fn nothing_outside_a_granted_prefix(
        prefix in segments(),
        path in segments(),
        noise in proptest::collection::vec(0u8..8, 0..4),
        trailing in any::<bool>(),
        who in 0..WHO.len(),
    ) {
        let raw = raw_target(&path, &noise, trailing);
        let Ok(target) = decode_target(raw.as_bytes()) else {
            // Rejected before any policy is consulted.
            return Ok(());
        };
        let p = policy(&[&rule_text(WHO[who], &prefix, Perms::ALL)], DELETE);
        let inside = naive_contains(&prefix, &target.path);
        for identity in IDENTITIES {
            let granted_to_it = sources(identity).contains(&WHO[who]) && identity != TOK1;
            for action in [Read, Create, Overwrite, Delete] {
                let d = p.decide(identity, action, &target.path, NOW);
                let token_scope = identity == TOK0 && action == Create
                    && naive_contains(&["ci"], &target.path);
                prop_assert_eq!(
                    d == Allow,
                    (inside && granted_to_it) || token_scope,
                    "{} {:?} {:?} {:?} under {:?}", raw, target.path, identity, action, prefix
                );
            }
        }
    }

    /// The policy agrees with the naive oracle on random rule sets.
    #[test]
    fn matches_the_naive_oracle(
        rules in proptest::collection::vec(rule_strategy(), 0..8),
        path in segments(),
    ) {
        let p = build(&rules);
        let path = path.join("/");
        for identity in IDENTITIES {
            prop_assert_eq!(
                p.capabilities(identity, &path, NOW),
                naive_rights(&rules, identity, &path),
                "{:?} at {:?} with {:?}", identity, path, rules
            );
        }
    }

    /// Rules only grant: a new rule changes nothing outside its prefix,
    /// nothing for identities outside its source, and a new `all` rule
    /// removes no right anywhere.
    #[test]
    fn rules_only_grant(
        rules in proptest::collection::vec(rule_strategy(), 0..6),
        extra in rule_strategy(),
        all in any::<bool>(),
        paths in proptest::collection::vec(segments(), 1..6),
    ) {
        let mut extra = extra;
        if all {
            extra.2 = Perms::ALL;
        }
        let before = build(&rules);
        let mut more = rules.clone();
        more.push(extra.clone());
        let after = build(&more);
        for path in &paths {
            let path = path.join("/");
            for identity in IDENTITIES {
                let (b, a) = (before.capabilities(identity, &path, NOW), after.capabilities(identity, &path, NOW));
                let applies = sources(identity).contains(&WHO[extra.0]);
                if !naive_contains(&extra.1, &path) || !applies {
                    prop_assert_eq!(a, b, "{:?} at {:?}: rule {:?} changed it", identity, path, extra);
                }
                if all {
                    prop_assert!(a.contains(b), "{:?} at {:?}: {:?} → {:?}", identity, path, b, a);
                }
            }
        }
    }
}

#[test]
fn raw_target_spellings_decode_to_the_segments() {
    let raw = raw_target(&["a b", "drop"], &[1 | 2, 4], true);
    assert_eq!(raw, "//./a%20b/%64%72%6F%70/");
    assert_eq!(decode_target(raw.as_bytes()).unwrap().path, "a b/drop");
}

#[test]
fn one_source_one_rule_set() {
    // Two `AllowRule`s built by hand for the same source and prefix merge.
    let rules = vec![
        AllowRule {
            who: crate::auth::Who::Users,
            prefix: "a".into(),
            perms: Perms::READ,
        },
        AllowRule {
            who: crate::auth::Who::Users,
            prefix: "a".into(),
            perms: Perms::UPLOAD,
        },
    ];
    let access = AccessConfig::new(users(), rules, None, 1).unwrap();
    let p = Policy::new(&access, NO_DELETE);
    assert_eq!(p.capabilities(BOB, "a/x", NOW), Perms::READ | Perms::UPLOAD);
}
