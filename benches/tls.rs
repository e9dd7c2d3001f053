//! TLS record-layer throughput on one core, with ring: 1 MiB of
//! application data as 64 full 16 KiB records, for every version and
//! cipher the server negotiates.
//!
//! * `open`: `Opener::open` over the sealed megabyte in one buffer —
//!   authentication, decryption in place and the compaction of the
//!   plaintext to the front (what an upload costs per byte in user space).
//! * `seal_in_place`: `Sealer::seal_in_place` of a megabyte of plaintext
//!   read into the buffer — the move up by the record overhead, sealing
//!   (what a download costs per byte in user space).
//!
//! Throughput is in plaintext bytes. Each iteration starts from a fresh
//! copy of the input (the copy is not timed) and fresh keys.
//!
//! Run: `cargo bench --bench tls`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ringdrop::tls::record::{Opener, Sealer};
use ringdrop::tls::{Cipher, TlsVersion};

const DATA: usize = 1 << 20;

const COMBOS: [(TlsVersion, Cipher, &str); 6] = [
    (TlsVersion::Tls13, Cipher::Aes128Gcm, "tls13-aes128gcm"),
    (TlsVersion::Tls13, Cipher::Aes256Gcm, "tls13-aes256gcm"),
    (
        TlsVersion::Tls13,
        Cipher::Chacha20Poly1305,
        "tls13-chacha20",
    ),
    (TlsVersion::Tls12, Cipher::Aes128Gcm, "tls12-aes128gcm"),
    (TlsVersion::Tls12, Cipher::Aes256Gcm, "tls12-aes256gcm"),
    (
        TlsVersion::Tls12,
        Cipher::Chacha20Poly1305,
        "tls12-chacha20",
    ),
];

fn key(cipher: Cipher) -> &'static [u8] {
    match cipher {
        Cipher::Aes128Gcm => &[1; 16],
        Cipher::Aes256Gcm | Cipher::Chacha20Poly1305 => &[2; 32],
    }
}

fn sealer(version: TlsVersion, cipher: Cipher) -> Sealer {
    Sealer::from_raw(version, cipher, key(cipher), [9; 12], 0).expect("sealer")
}

fn opener(version: TlsVersion, cipher: Cipher) -> Opener {
    Opener::from_raw(version, cipher, key(cipher), [9; 12], 0).expect("opener")
}

fn plaintext() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..DATA)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let data = plaintext();
    let mut group = c.benchmark_group("tls_records");
    group.throughput(Throughput::Bytes(DATA as u64));
    for (version, cipher, label) in COMBOS {
        let mut s = sealer(version, cipher);
        let mut wire = vec![0u8; s.sealed_len(DATA)];
        let n = s.seal(&data, &mut wire).expect("seal");
        assert_eq!(n, wire.len());

        group.bench_with_input(BenchmarkId::new("open", label), &wire, |b, wire| {
            b.iter_batched_ref(
                || (wire.clone(), opener(version, cipher)),
                |(buf, o)| {
                    let len = buf.len();
                    let opened = o.open(buf, 0, len).expect("open");
                    assert_eq!(opened.plain_end, DATA);
                    black_box(opened)
                },
                BatchSize::LargeInput,
            )
        });
        group.bench_with_input(
            BenchmarkId::new("seal_in_place", label),
            &data,
            |b, data| {
                b.iter_batched_ref(
                    || {
                        let mut buf = data.clone();
                        let s = sealer(version, cipher);
                        buf.resize(s.sealed_len(DATA), 0);
                        (buf, s)
                    },
                    |(buf, s)| {
                        let n = s.seal_in_place(buf, 0..DATA, 0).expect("seal");
                        assert_eq!(n, buf.len());
                        black_box(n)
                    },
                    BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
