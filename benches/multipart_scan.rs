//! Multipart scanner throughput (GiB/s): `MultipartParser` on a ~16 MiB body
//! with one file part, at feed sizes 4 KiB, 64 KiB and 1 MiB, with few and
//! with many boundary-like bytes; side by side with `multer` on the same
//! bodies and a bare `memmem::find_iter` pass over the same bytes (the
//! ceiling for any delimiter scan).
//!
//! Run: `cargo bench --bench multipart_scan`.

use std::convert::Infallible;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use memchr::memmem;
use ringdrop::multipart::{Event, MultipartLimits, MultipartParser};

const BOUNDARY: &str = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
const CONTENT_BYTES: usize = 16 * 1024 * 1024;
const FEED_SIZES: [(usize, &str); 3] = [(4096, "4KiB"), (65536, "64KiB"), (1 << 20, "1MiB")];

/// A body with one file part of `CONTENT_BYTES` pseudo-random bytes. With
/// `dense`, every 100 bytes carry `\r\n--` + half of the boundary.
fn body(dense: bool) -> (Vec<u8>, usize) {
    let mut content = Vec::with_capacity(CONTENT_BYTES);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let trap = format!("\r\n--{}", &BOUNDARY[..BOUNDARY.len() / 2]);
    while content.len() < CONTENT_BYTES {
        if dense && content.len() % 100 == 0 {
            content.extend_from_slice(trap.as_bytes());
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        content.push((x >> 24) as u8);
    }
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (body, content.len())
}

/// The server's loop, zero-copy: the unconsumed bytes and the next `feed`
/// bytes form one window of the body (as they would in a buffer).
fn ringdrop_scan(body: &[u8], feed: usize) -> usize {
    let mut parser = MultipartParser::new(BOUNDARY.as_bytes(), MultipartLimits::default())
        .expect("valid boundary");
    let (mut start, mut end) = (0, feed.min(body.len()));
    let mut data = 0;
    loop {
        let step = parser.feed(&body[start..end]).expect("valid body");
        if step.needs_more() {
            if end == body.len() {
                break;
            }
            end = (end + feed).min(body.len());
            continue;
        }
        if let Some(Event::Data(r)) = step.event {
            data += r.len();
        }
        start += step.consumed;
    }
    parser.finish().expect("complete body");
    data
}

fn multer_scan(body: &bytes::Bytes, feed: usize) -> usize {
    let chunks: Vec<Result<bytes::Bytes, Infallible>> = (0..body.len())
        .step_by(feed)
        .map(|at| Ok(body.slice(at..(at + feed).min(body.len()))))
        .collect();
    let mut mp = multer::Multipart::new(futures_util::stream::iter(chunks), BOUNDARY);
    futures_executor::block_on(async {
        let mut data = 0;
        while let Some(mut field) = mp.next_field().await.expect("valid body") {
            while let Some(chunk) = field.chunk().await.expect("valid body") {
                data += chunk.len();
            }
        }
        data
    })
}

fn bench(c: &mut Criterion) {
    for (dense, label) in [(false, "few_boundary_like"), (true, "many_boundary_like")] {
        let (body, content_len) = body(dense);
        let shared = bytes::Bytes::from(body.clone());
        let delimiter = format!("\r\n--{BOUNDARY}");
        let finder = memmem::Finder::new(delimiter.as_bytes()).into_owned();

        let mut group = c.benchmark_group(format!("multipart_scan/{label}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.sample_size(20);
        group.bench_function("memmem_find_iter", |b| {
            b.iter(|| {
                let n = finder.find_iter(std::hint::black_box(&body)).count();
                assert_eq!(n, 1);
            })
        });
        for (feed, feed_label) in FEED_SIZES {
            group.bench_with_input(
                BenchmarkId::new("ringdrop", feed_label),
                &feed,
                |b, &feed| {
                    b.iter(|| {
                        assert_eq!(
                            ringdrop_scan(std::hint::black_box(&body), feed),
                            content_len
                        )
                    })
                },
            );
            group.bench_with_input(BenchmarkId::new("multer", feed_label), &feed, |b, &feed| {
                b.iter(|| assert_eq!(multer_scan(&shared, feed), content_len))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
