//! Access-control costs per request:
//!
//! * `header/*`: parsing an `Authorization` value (Basic with base64
//!   decoding, Bearer);
//! * `decide/*`: [`Policy::decide`] on a policy of 12 rules for a user (three
//!   sources) and for a token, with a 6-segment path;
//! * `authenticate/cached`: a Basic header already verified (what a
//!   browser's every request after the first costs: HMAC + cache lookup);
//! * `authenticate/uncached`: the same header with the cache off: a full
//!   argon2id check (default parameters) on the verification pool, awaited
//!   through the oneshot;
//! * `authenticate/bearer`: a token (SHA-256 + constant-time search of 16);
//! * `argon2id/verify`: the bare check, without pool or channel.
//!
//! Run: `cargo bench --bench auth` (quick: add
//! `-- --warm-up-time 1 --measurement-time 3`).

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use futures_executor::block_on;
use ringdrop::auth::{
    hash_password, parse_allow, parse_authorization, parse_token_file, parse_user, verify_password,
    AccessConfig, Action, AuthOutcome, Authenticator, Caps, Decision, Identity, Policy, TokenId,
    UserId,
};

/// `alice:correct horse battery staple`
const BASIC: &[u8] = b"Basic YWxpY2U6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZQ==";
const PASSWORD: &[u8] = b"correct horse battery staple";
/// SHA-256 of "ci-token-0".
const TOKEN: &[u8] = b"Bearer ci-token-0";

fn access() -> AccessConfig {
    let phc = hash_password(PASSWORD).expect("hash");
    let users = ["alice", "bob", "carol"]
        .iter()
        .map(|n| parse_user(&format!("{n}:{phc}")).expect("user"))
        .collect();
    let rules = [
        "@anonymous:/:read",
        "@anonymous:/drop/:upload",
        "@users:/:read,upload",
        "@users:/inbox/:upload",
        "@users:/shared/team/:all",
        "alice:/home/alice/:all",
        "alice:/projects/:read,overwrite",
        "alice:/projects/ringdrop/:all",
        "bob:/home/bob/:all",
        "bob:/projects/:read",
        "carol:/home/carol/:all",
        "carol:/archive/:read",
    ]
    .iter()
    .map(|r| parse_allow(r).expect("rule"))
    .collect();
    let mut tokens = String::new();
    for i in 0..16 {
        let digest = ringdrop::auth::token_digest(format!("ci-token-{i}").as_bytes());
        let mut hex = String::new();
        ringdrop::syntax::encode_hex_into(&mut hex, &digest);
        tokens.push_str(&format!("{hex} /ci/{i}/ upload 2099-01-01T00:00:00Z\n"));
    }
    let tokens = parse_token_file(&tokens).expect("tokens");
    AccessConfig::new(users, rules, Some(tokens), 1).expect("access")
}

fn header(c: &mut Criterion) {
    let mut g = c.benchmark_group("header");
    g.bench_function("basic", |b| {
        b.iter(|| assert!(parse_authorization(black_box(BASIC)).is_ok()))
    });
    g.bench_function("bearer", |b| {
        b.iter(|| assert!(parse_authorization(black_box(TOKEN)).is_ok()))
    });
    g.finish();
}

fn decide(c: &mut Criterion) {
    let access = access();
    let policy = Policy::new(&access, Caps::default());
    let path = "projects/ringdrop/src/auth/policy/tests.rs";
    let mut g = c.benchmark_group("decide");
    g.bench_function("user", |b| {
        b.iter(|| {
            let d = policy.decide(
                Identity::User(UserId(0)),
                Action::Overwrite,
                black_box(path),
                0,
            );
            assert_eq!(d, Decision::Allow);
        })
    });
    g.bench_function("token", |b| {
        b.iter(|| {
            let d = policy.decide(
                Identity::Token(TokenId(7)),
                Action::Create,
                black_box("ci/7/x.tar"),
                0,
            );
            assert_eq!(d, Decision::Allow);
        })
    });
    g.finish();
}

fn authenticate(c: &mut Criterion) {
    let access = access();
    let peer: IpAddr = "127.0.0.1".parse().expect("ip");
    let alice = AuthOutcome::Identity(Identity::User(UserId(0)));
    let cached = Authenticator::new(&access).expect("authenticator");
    assert_eq!(block_on(cached.authenticate(Some(BASIC), peer)), alice);
    let uncached = Authenticator::with_ttl(&access, Duration::ZERO).expect("authenticator");
    let mut g = c.benchmark_group("authenticate");
    g.bench_function("cached", |b| {
        b.iter(|| {
            assert_eq!(
                block_on(cached.authenticate(Some(black_box(BASIC)), peer)),
                alice
            )
        })
    });
    g.bench_function("bearer", |b| {
        b.iter(|| {
            let got = block_on(cached.authenticate(Some(black_box(TOKEN)), peer));
            assert_eq!(got, AuthOutcome::Identity(Identity::Token(TokenId(0))));
        })
    });
    g.sample_size(20);
    g.bench_function("uncached", |b| {
        b.iter(|| {
            assert_eq!(
                block_on(uncached.authenticate(Some(black_box(BASIC)), peer)),
                alice
            )
        })
    });
    g.finish();
    let phc = &access.users[0].phc;
    let mut g = c.benchmark_group("argon2id");
    g.sample_size(20);
    g.bench_function("verify", |b| {
        b.iter(|| assert!(verify_password(phc, black_box(PASSWORD))))
    });
    g.finish();
}

criterion_group!(benches, header, decide, authenticate);
criterion_main!(benches);
