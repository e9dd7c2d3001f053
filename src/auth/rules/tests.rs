use super::*;
use crate::auth::password::cheap_hash;

const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn user(name: &str) -> UserSpec {
    parse_user(&format!("{name}:{}", cheap_hash(b"pw"))).unwrap()
}

#[test]
fn parse_user_table() {
    let phc = cheap_hash(b"pw");
    let argon2i = phc.replace("$argon2id$", "$argon2i$");
    let costly = "$argon2id$v=19$m=524288,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                  AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let no_hash = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA";
    let old_version = phc.replace("v=19", "v=16");
    let long = "x".repeat(MAX_USER_NAME_BYTES);
    let cases: Vec<(String, Result<&str, RuleError>)> = vec![
        (format!("alice:{phc}"), Ok("alice")),
        (format!("zoë:{phc}"), Ok("zoë")),
        (format!("a b:{phc}"), Ok("a b")),
        (format!("{long}:{phc}"), Ok(&long)),
        (
            format!("{}:{phc}", "x".repeat(256)),
            Err(RuleError::BadUserName),
        ),
        (format!(":{phc}"), Err(RuleError::BadUserName)),
        (format!("@users:{phc}"), Err(RuleError::BadUserName)),
        (format!("a\tb:{phc}"), Err(RuleError::BadUserName)),
        ("alice".to_string(), Err(RuleError::UserSyntax)),
        ("alice:".to_string(), Err(RuleError::NotArgon2id)),
        ("alice:secret".to_string(), Err(RuleError::NotArgon2id)),
        (format!("alice:{argon2i}"), Err(RuleError::NotArgon2id)),
        (format!("alice:{old_version}"), Err(RuleError::NotArgon2id)),
        (format!("alice:{no_hash}"), Err(RuleError::NotArgon2id)),
        (format!("alice:{costly}"), Err(RuleError::Argon2CostTooHigh)),
        (format!("alice:{phc}:x"), Err(RuleError::NotArgon2id)),
    ];
    for (text, want) in cases {
        let got = parse_user(&text);
        match want {
            Ok(name) => {
                let got = got.unwrap_or_else(|e| panic!("{text:?}: {e}"));
                assert_eq!(got.name, name);
                assert_eq!(format!("{}:{}", got.name, got.phc), text);
            }
            Err(e) => assert_eq!(got, Err(e), "{text:?}"),
        }
    }
}

#[test]
fn parse_allow_table() {
    let rule = |who: Who, prefix: &str, perms: Perms| {
        Ok(AllowRule {
            who,
            prefix: prefix.to_string(),
            perms,
        })
    };
    let alice = || Who::User("alice".to_string());
    let cases: Vec<(&str, Result<AllowRule, RuleError>)> = vec![
        ("@anonymous:/:read", rule(Who::Anonymous, "", Perms::READ)),
        (
            "@users:/inbox/:upload",
            rule(Who::Users, "inbox", Perms::UPLOAD),
        ),
        (
            "@users:/inbox:upload",
            rule(Who::Users, "inbox", Perms::UPLOAD),
        ),
        ("alice:/a/b/:all", rule(alice(), "a/b", Perms::ALL)),
        (
            "alice://a//./b//:read,delete",
            rule(alice(), "a/b", Perms::READ | Perms::DELETE),
        ),
        ("alice:/x:y/:read", rule(alice(), "x:y", Perms::READ)),
        ("alice:/a%20b/:read", rule(alice(), "a%20b", Perms::READ)),
        (
            "alice:/café/:overwrite",
            rule(alice(), "café", Perms::OVERWRITE),
        ),
        (
            "@admins:/:all",
            Err(RuleError::UnknownGroup("@admins".to_string())),
        ),
        ("@:/:all", Err(RuleError::UnknownGroup("@".to_string()))),
        (":/:all", Err(RuleError::BadUserName)),
        ("alice:/:", Err(RuleError::BadPerms)),
        ("alice:/:write", Err(RuleError::BadPerms)),
        ("alice:drop/:read", Err(RuleError::BadPath)),
        ("alice::read", Err(RuleError::BadPath)),
        ("alice:/a/../b/:read", Err(RuleError::BadPath)),
        ("alice:/a\\b/:read", Err(RuleError::BadPath)),
        ("alice:/a\nb/:read", Err(RuleError::BadPath)),
        ("alice:/", Err(RuleError::AllowSyntax)),
        ("alice", Err(RuleError::AllowSyntax)),
        ("alice:read", Err(RuleError::AllowSyntax)),
        ("", Err(RuleError::AllowSyntax)),
    ];
    for (text, want) in cases {
        assert_eq!(parse_allow(text), want, "{text:?}");
    }
}

#[test]
fn token_file_table() {
    let ok = |text: &str| parse_token_file(text).map(|t| t.len());
    let err = |line: usize, error: RuleError| Err(TokenFileError { line, error });
    let line = |rest: &str| format!("{ZERO_HASH} {rest}");
    let cases: Vec<(String, Result<usize, TokenFileError>)> = vec![
        (String::new(), Ok(0)),
        ("# only a comment\n\n   \n\t# indented\n".into(), Ok(0)),
        (line("/ read 2030-01-01T00:00:00Z"), Ok(1)),
        (
            line("/ci/ upload,overwrite 2030-01-01T00:00:00+02:00 # the CI job"),
            Ok(1),
        ),
        (
            format!("  {}\r\n", line("/\tread\t2030-01-01T00:00:00Z")),
            Ok(1),
        ),
        (
            line("/ read 2030-01-01T00:00:00Z extra"),
            err(1, RuleError::TokenFields),
        ),
        (line("/ read"), err(1, RuleError::TokenFields)),
        (
            "\n\nnot-hex / read 2030-01-01T00:00:00Z".into(),
            err(3, RuleError::BadTokenHash),
        ),
        (
            format!("{}0 / read 2030-01-01T00:00:00Z", &ZERO_HASH[1..]),
            Ok(1),
        ),
        (
            format!("{ZERO_HASH}0 / read 2030-01-01T00:00:00Z"),
            err(1, RuleError::BadTokenHash),
        ),
        (
            format!("{}g / read 2030-01-01T00:00:00Z", &ZERO_HASH[1..]),
            err(1, RuleError::BadTokenHash),
        ),
        (
            line("ci/ read 2030-01-01T00:00:00Z"),
            err(1, RuleError::BadPath),
        ),
        (
            line("/../ read 2030-01-01T00:00:00Z"),
            err(1, RuleError::BadPath),
        ),
        (
            line("/ reads 2030-01-01T00:00:00Z"),
            err(1, RuleError::BadPerms),
        ),
        (line("/ read 2030-01-01"), err(1, RuleError::BadExpires)),
        (line("/ read never"), err(1, RuleError::BadExpires)),
        (
            format!(
                "{}\n# dup\n{}",
                line("/ read 2030-01-01T00:00:00Z"),
                line("/x/ upload 2031-01-01T00:00:00Z")
            ),
            err(3, RuleError::DuplicateToken(1)),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(ok(&text), want, "{text:?}");
    }
}

#[test]
fn token_fields() {
    let text = format!(
        "# header\n{} /ci/builds/ upload 2030-01-01T01:00:00+01:00\n",
        "AB".repeat(32)
    );
    let tokens = parse_token_file(&text).unwrap();
    assert_eq!(
        tokens,
        vec![TokenSpec {
            sha256: [0xab; 32],
            prefix: "ci/builds".into(),
            perms: Perms::UPLOAD,
            expires_unix: 1_893_456_000,
            line: 2,
        }]
    );
}

#[test]
fn access_config_checks() {
    let allow = |s: &str| parse_allow(s).unwrap();
    assert_eq!(
        AccessConfig::new(vec![user("a"), user("a")], vec![], None, 1),
        Err(RuleError::DuplicateUser("a".into()))
    );
    assert_eq!(
        AccessConfig::new(vec![user("a")], vec![allow("b:/:read")], None, 1),
        Err(RuleError::UnknownUser("b".into()))
    );
    assert_eq!(
        AccessConfig::new(vec![], vec![], None, 0),
        Err(RuleError::AuthThreads)
    );
    assert_eq!(
        AccessConfig::new(vec![], vec![], None, MAX_AUTH_THREADS + 1),
        Err(RuleError::AuthThreads)
    );
    let none = AccessConfig::new(vec![], vec![], None, 1).unwrap();
    assert!(!none.enabled, "no flag: access control stays off");
    assert_eq!(none, AccessConfig::default());
    let empty_file = AccessConfig::new(vec![], vec![], Some(vec![]), 1).unwrap();
    assert!(
        empty_file.enabled,
        "an empty --token-file still turns it on"
    );
    let only_user = AccessConfig::new(vec![user("a")], vec![], None, 2).unwrap();
    assert!(only_user.enabled);
    assert_eq!(only_user.auth_threads, 2);
}

#[test]
fn anonymous_may_upload() {
    let allow = |s: &str| parse_allow(s).unwrap();
    assert!(AccessConfig::default().anonymous_may_upload());
    let with = |rules: Vec<AllowRule>| {
        AccessConfig::new(vec![user("a")], rules, None, 1)
            .unwrap()
            .anonymous_may_upload()
    };
    assert!(!with(vec![
        allow("@anonymous:/:read"),
        allow("@users:/:upload")
    ]));
    assert!(with(vec![allow("@anonymous:/drop/:upload")]));
    assert!(!with(vec![allow("a:/:all")]));
}

#[test]
fn every_error_has_a_message() {
    let errors = [
        RuleError::UserSyntax,
        RuleError::AllowSyntax,
        RuleError::BadUserName,
        RuleError::UnknownGroup("@x".into()),
        RuleError::NotArgon2id,
        RuleError::Argon2CostTooHigh,
        RuleError::BadPath,
        RuleError::BadPerms,
        RuleError::TokenFields,
        RuleError::BadTokenHash,
        RuleError::BadExpires,
        RuleError::DuplicateUser("a".into()),
        RuleError::UnknownUser("a".into()),
        RuleError::DuplicateToken(1),
        RuleError::AuthThreads,
    ];
    for e in errors {
        let message = e.to_string();
        assert!(!message.is_empty() && !message.contains('\n'), "{e:?}");
    }
    let e = TokenFileError {
        line: 7,
        error: RuleError::BadExpires,
    };
    assert!(e.to_string().starts_with("line 7: "));
}
