use super::*;
use crate::digest::Hasher;

/// `sha-256` of the empty message, base64.
const EMPTY_256: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
/// `sha-512` of the empty message, base64.
const EMPTY_512: &str =
    "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==";

fn empty(algorithm: Algorithm) -> DigestValue {
    Hasher::new(algorithm).finish()
}

fn set(values: &[Algorithm]) -> DigestSet {
    let mut set = DigestSet::default();
    for &a in values {
        set.insert(empty(a));
    }
    set
}

#[test]
fn content_digest_vectors() {
    use Algorithm::{Sha256, Sha512};
    let f = DigestField::ContentDigest;
    let no_pad_512 = EMPTY_512.trim_end_matches('=');
    let ok: Vec<(&str, Vec<String>, DigestSet)> = vec![
        ("no field", vec![], set(&[])),
        ("empty line", vec![String::new()], set(&[])),
        (
            "sha-256",
            vec![format!("sha-256=:{EMPTY_256}:")],
            set(&[Sha256]),
        ),
        (
            "both, one line",
            vec![format!("sha-512=:{EMPTY_512}:, sha-256=:{EMPTY_256}:")],
            set(&[Sha256, Sha512]),
        ),
        (
            "both, two lines",
            vec![
                format!("sha-256=:{EMPTY_256}:"),
                format!("sha-512=:{EMPTY_512}:"),
            ],
            set(&[Sha256, Sha512]),
        ),
        (
            "padding optional",
            vec![format!("sha-512=:{no_pad_512}:")],
            set(&[Sha512]),
        ),
        (
            "unknown and insecure ignored",
            vec![format!(
                "md5=:AAAA:, sha=:x:, unixsum=1, sha-256=:{EMPTY_256}:, id-sha-256=?1"
            )],
            set(&[Sha256]),
        ),
        (
            "only unknown",
            vec!["crc32c=:AAAAAA==:, adler=:AA==:".into()],
            set(&[]),
        ),
        (
            "last duplicate wins",
            vec![format!(
                "sha-256=:{}:, sha-256=:{EMPTY_256}:",
                "A".repeat(43) + "="
            )],
            set(&[Sha256]),
        ),
        (
            "empty lines add nothing",
            vec![String::new(), format!("sha-256=:{EMPTY_256}:"), " ".into()],
            set(&[Sha256]),
        ),
        (
            // RFC 8941 §4.2 parses the lines joined with ", ": a string
            // may run across them (found by the fuzzer).
            "string across lines",
            vec![
                format!("sha-256=:{EMPTY_256}:;p=\"x"),
                format!("y\", sha-512=:{EMPTY_512}:"),
            ],
            set(&[Sha256, Sha512]),
        ),
        (
            "parameters on a digest",
            vec![format!("sha-256=:{EMPTY_256}:;note=\"x\"")],
            set(&[Sha256]),
        ),
    ];
    for (name, lines, expected) in ok {
        let got = parse_digest_field(f, lines.iter().map(|l| l.as_bytes()));
        assert_eq!(got, Ok(expected), "{name}");
    }
    let malformed: Vec<(&str, String)> = vec![
        ("uppercase key", format!("SHA-256=:{EMPTY_256}:")),
        ("token value", "sha-256=abc".into()),
        ("integer value", "sha-256=1".into()),
        ("inner list value", format!("sha-256=(:{EMPTY_256}:)")),
        ("short digest", "sha-256=:AAAA:".into()),
        ("long digest", format!("sha-256=:{EMPTY_512}:")),
        ("bad base64", "sha-256=:!!!!:".into()),
        ("boolean shorthand", "sha-256".into()),
        ("trailing comma", format!("sha-256=:{EMPTY_256}:,")),
        ("garbage after", format!("sha-256=:{EMPTY_256}: x")),
        ("legacy Digest syntax", format!("SHA-256={EMPTY_256}")),
    ];
    for (name, line) in malformed {
        assert_eq!(
            parse_digest_field(f, [line.as_bytes()]),
            Err(DigestError::Malformed { field: f }),
            "{name}"
        );
    }
}

#[test]
fn field_limits_are_exact() {
    let f = DigestField::ReprDigest;
    // Exactly at the byte limit, across two lines joined by ", ".
    let half = "a".repeat((MAX_DIGEST_FIELD_BYTES - 2) / 2);
    assert!(parse_digest_field(f, [half.as_bytes(), half.as_bytes()]).is_ok());
    let over = "a".repeat((MAX_DIGEST_FIELD_BYTES - 2) / 2 + 1);
    assert_eq!(
        parse_digest_field(f, [half.as_bytes(), over.as_bytes()]),
        Err(DigestError::FieldTooLarge {
            field: f,
            limit: MAX_DIGEST_FIELD_BYTES
        })
    );
    let keys = |n: usize| {
        (0..n)
            .map(|i| format!("k{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    assert!(parse_digest_field(f, [keys(MAX_DIGEST_FIELD_MEMBERS).as_bytes()]).is_ok());
    assert_eq!(
        parse_want_field(f, [keys(MAX_DIGEST_FIELD_MEMBERS + 1).as_bytes()]),
        Err(DigestError::TooManyMembers {
            field: f,
            limit: MAX_DIGEST_FIELD_MEMBERS
        })
    );
    // The member limit counts across lines too.
    let first = keys(MAX_DIGEST_FIELD_MEMBERS);
    assert!(parse_digest_field(f, [first.as_bytes(), b"x".as_slice()]).is_err());
}

#[test]
fn want_vectors() {
    let f = DigestField::WantReprDigest;
    let weights = |p: Preferences| {
        (
            p.weight(Algorithm::Sha256),
            p.weight(Algorithm::Sha512),
            p.weight(Algorithm::Sha1),
        )
    };
    let ok: &[(&str, &str, (u8, u8, u8))] = &[
        ("rfc example", "sha-256=1, sha-512=3", (1, 3, 0)),
        ("zero", "sha-256=0", (0, 0, 0)),
        ("ten", "sha-512=10", (0, 10, 0)),
        (
            "unknown ignored",
            "md5=9, sha=10, foo=\"x\", sha-256=2",
            (2, 0, 0),
        ),
        ("last wins", "sha-256=2, sha-256=7", (7, 0, 0)),
        ("empty", "", (0, 0, 0)),
    ];
    for (name, input, expected) in ok {
        let got = parse_want_field(f, [input.as_bytes()]).map(weights);
        assert_eq!(got, Ok(*expected), "{name}");
    }
    for bad in [
        "sha-256=11",
        "sha-256=-1",
        "sha-256=1.5",
        "sha-256=?1",
        "sha-256",
        "sha-256=:AA==:",
    ] {
        assert_eq!(
            parse_want_field(f, [bad.as_bytes()]),
            Err(DigestError::Malformed { field: f }),
            "{bad}"
        );
    }
}

#[test]
fn choose_prefers_weight_then_sha256() {
    use Algorithm::{Sha256, Sha512};
    let both = set(&[Sha256, Sha512]);
    let only_256 = set(&[Sha256]);
    let cases: &[(&str, &DigestSet, Option<Algorithm>)] = &[
        ("sha-512=3, sha-256=1", &both, Some(Sha512)),
        ("sha-512=1, sha-256=3", &both, Some(Sha256)),
        ("sha-512=5, sha-256=5", &both, Some(Sha256)),
        ("sha-512=5, sha-256=0", &only_256, None),
        ("sha-512=5, sha-256=1", &only_256, Some(Sha256)),
        ("md5=10", &both, None),
        ("sha-256=1", &DigestSet::default(), None),
    ];
    for (want, held, expected) in cases {
        let p = parse_want_field(DigestField::WantReprDigest, [want.as_bytes()]).unwrap();
        assert_eq!(p.choose(held).map(|d| d.algorithm()), *expected, "{want}");
        assert_eq!(p.is_empty(), want.starts_with("md5"), "{want}");
    }
}

#[test]
fn answer_want_formats_one_member_or_nothing() {
    let both = set(&[Algorithm::Sha256, Algorithm::Sha512]);
    assert_eq!(
        answer_want([b"sha-512=9".as_slice()], &both),
        Some(format!("sha-512=:{EMPTY_512}:"))
    );
    assert_eq!(
        answer_want([b"sha-512=x".as_slice()], &both),
        None,
        "malformed ignored"
    );
    assert_eq!(answer_want([b"sha-512=0".as_slice()], &both), None);
    assert_eq!(answer_want([], &both), None);
    assert_eq!(
        both.to_field_value(),
        format!("sha-256=:{EMPTY_256}:, sha-512=:{EMPTY_512}:")
    );
    // SHA-1 is never written into an HTTP field.
    assert_eq!(set(&[Algorithm::Sha1]).to_field_value(), "");
}

proptest::proptest! {
    /// What `to_field_value` writes parses back to the same set, with any
    /// unknown members and whitespace around it.
    #[test]
    fn format_then_parse_round_trips(
        a in proptest::collection::vec(proptest::num::u8::ANY, 32),
        b in proptest::collection::vec(proptest::num::u8::ANY, 64),
        which in 0u8..4,
        noise in "[a-z][a-z0-9-]{0,8}=[0-9]{1,5}",
    ) {
        let mut expected = DigestSet::default();
        if which & 1 != 0 {
            expected.insert(DigestValue::new(Algorithm::Sha256, &a).unwrap());
        }
        if which & 2 != 0 {
            expected.insert(DigestValue::new(Algorithm::Sha512, &b).unwrap());
        }
        let value = expected.to_field_value();
        let line = if value.is_empty() { noise.clone() } else { format!(" {noise},\t{value} ") };
        // `noise` never starts with "sha-", so it is always ignored.
        proptest::prop_assume!(!noise.starts_with("sha-"));
        let got = parse_digest_field(DigestField::ContentDigest, [line.as_bytes()]);
        proptest::prop_assert_eq!(got, Ok(expected));
    }

    /// No input panics; an accepted field holds digests of the right
    /// lengths only.
    #[test]
    fn arbitrary_fields_never_panic(line in proptest::collection::vec(proptest::num::u8::ANY, 0..160)) {
        if let Ok(set) = parse_digest_field(DigestField::ContentDigest, [line.as_slice()]) {
            for d in set.iter() {
                proptest::prop_assert_eq!(d.as_bytes().len(), d.algorithm().digest_len());
            }
        }
        let _ = parse_want_field(DigestField::WantReprDigest, [line.as_slice()]);
    }
}
