//! Chunked body decoding throughput: `BodyDecoder` with
//! `BodyFraming::Chunked` over a 16 MiB body (1 MiB for 1-byte chunks) made
//! of chunks of 1 B, 64 B, 4 KiB and 64 KiB, fed in 1 MiB slices the way the
//! server feeds it (the `Step` contract of `ringdrop::step`: call `decode`
//! with `input[consumed..]` until it needs more, then extend the window by the
//! next 1 MiB).
//!
//! The worst framings a client can choose: 1-byte chunks without extensions
//! (`1B`), and 1-byte chunks each with a 4000-byte extension (`1B_ext4000`,
//! 1024 chunks). The latter runs with the total extension limit lifted, to
//! measure what skipping extension bytes costs; with the default limit such
//! a body is refused after its fourth chunk.
//!
//! Throughput is in bytes of the encoded body (what crosses the wire, framing
//! included); the decoded data per chunk size is the body size above. Next to
//! it: a `memchr` pass for `\n` over the same bytes (what a scan over every
//! framing line would cost, and a floor for the 1-byte case).
//!
//! Run: `cargo bench --bench chunked`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringdrop::http::{BodyDecoder, BodyEvent, BodyFraming, ChunkedLimits};

const MIB: usize = 1 << 20;
const FEED: usize = MIB;
/// Bytes of extension (`;` included) on every size line of `1B_ext4000`.
const EXTENSION_BYTES: usize = 4000;

/// (chunk size, data bytes, extension bytes per chunk, label)
const CASES: [(usize, usize, usize, &str); 5] = [
    (1, MIB, 0, "1B"),
    (1, 1024, EXTENSION_BYTES, "1B_ext4000"),
    (64, 16 * MIB, 0, "64B"),
    (4096, 16 * MIB, 0, "4KiB"),
    (65536, 16 * MIB, 0, "64KiB"),
];

/// `data` pseudo-random bytes framed as chunks of `chunk` bytes, each size
/// line carrying an `ext`-byte extension (`;name=value...`, none for 0),
/// then the last chunk and an empty trailer section.
fn chunked_body(chunk: usize, data: usize, ext: usize) -> Vec<u8> {
    let extension = match ext {
        0 => String::new(),
        n => format!(";n={}", "v".repeat(n.saturating_sub(3))),
    };
    let per_chunk_framing = format!("{chunk:x}{extension}\r\n\r\n").len();
    let mut body = Vec::with_capacity(data + data.div_ceil(chunk) * per_chunk_framing + 5);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut left = data;
    while left > 0 {
        let n = chunk.min(left);
        body.extend_from_slice(format!("{n:x}{extension}\r\n").as_bytes());
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            body.push((x >> 24) as u8);
        }
        body.extend_from_slice(b"\r\n");
        left -= n;
    }
    body.extend_from_slice(b"0\r\n\r\n");
    body
}

/// The server's loop, zero-copy: the unconsumed bytes and the next `feed`
/// bytes form one window of the body (as they would in a registered
/// buffer). Returns the decoded data bytes.
fn decode(body: &[u8], feed: usize, limits: ChunkedLimits) -> u64 {
    let mut dec = BodyDecoder::new(BodyFraming::Chunked, limits);
    let (mut start, mut end) = (0, feed.min(body.len()));
    let mut data = 0u64;
    loop {
        let window = &body[start..end];
        let step = dec.decode(window).expect("valid chunked body");
        match step.event {
            Some(BodyEvent::Data(r)) => {
                black_box(&window[r.clone()]);
                data += r.len() as u64;
            }
            Some(BodyEvent::End) => break,
            None if step.consumed == 0 => {
                assert!(end < body.len(), "body ended before the last chunk");
                end = (end + feed).min(body.len());
            }
            None => {}
        }
        start += step.consumed;
    }
    dec.finish().expect("complete body");
    data
}

fn bench(c: &mut Criterion) {
    for (chunk, data, ext, label) in CASES {
        let body = chunked_body(chunk, data, ext);
        let limits = ChunkedLimits {
            max_total_chunk_extension_bytes: body.len(),
            ..ChunkedLimits::default()
        };
        assert_eq!(
            decode(&body, FEED, limits),
            data as u64,
            "{label}: decoded size"
        );

        let mut group = c.benchmark_group(format!("chunked/{label}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.sample_size(20);
        group.bench_with_input(
            BenchmarkId::new("ringdrop", "feed_1MiB"),
            &body,
            |b, body| b.iter(|| decode(black_box(body), FEED, limits)),
        );
        group.bench_with_input(BenchmarkId::new("memchr_lf", "whole"), &body, |b, body| {
            b.iter(|| memchr::memchr_iter(b'\n', black_box(body)).count())
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
