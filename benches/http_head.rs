//! Request-head throughput (bytes of head per second): ringdrop's
//! `HeadParser::parse` + `analyze` (what the server runs for every request)
//! next to a bare `httparse::Request::parse` over the same bytes (the
//! tokenizer ringdrop uses underneath, with no end-of-head scan, no limits
//! and no framing rules), on three heads:
//!
//! * `small`: a minimal `GET` (request line + Host);
//! * `browser`: a typical browser navigation, ~600 bytes, 15 header fields;
//! * `100_headers`: 100 header fields (the default `max_header_count`).
//!
//! Run: `cargo bench --bench http_head` (quick:
//! `cargo bench --bench http_head -- --warm-up-time 1 --measurement-time 3`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ringdrop::http::{analyze, BodyFraming, HeadLimits, HeadParser};

/// Header slots for the bare httparse baseline: enough for every head here.
const HTTPARSE_SLOTS: usize = 128;

fn small_head() -> Vec<u8> {
    b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec()
}

/// A Chrome-like navigation request: 15 header fields, ~600 bytes.
fn browser_head() -> Vec<u8> {
    let head = "GET /photos/2024/holiday/IMG_0042.jpg?download=1 HTTP/1.1\r\n\
        Host: files.example.org:8080\r\n\
        Connection: keep-alive\r\n\
        Cache-Control: max-age=0\r\n\
        sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
        sec-ch-ua-mobile: ?0\r\n\
        sec-ch-ua-platform: \"Linux\"\r\n\
        Upgrade-Insecure-Requests: 1\r\n\
        User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
        Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
        Sec-Fetch-Site: same-origin\r\n\
        Sec-Fetch-Mode: navigate\r\n\
        Sec-Fetch-Dest: document\r\n\
        Referer: http://files.example.org:8080/photos/2024/holiday/\r\n\
        Accept-Encoding: gzip, deflate, br\r\n\
        Accept-Language: en-GB,en;q=0.9,de;q=0.8\r\n\
        \r\n";
    head.as_bytes().to_vec()
}

/// A PUT with 100 header fields (Host, Content-Length and 98 custom ones).
fn many_headers_head() -> Vec<u8> {
    let mut head = String::from(
        "PUT /uploads/archive.tar HTTP/1.1\r\nHost: localhost:8080\r\nContent-Length: 4096\r\n",
    );
    for i in 0..98 {
        head.push_str(&format!(
            "X-Custom-Header-{i:03}: value-{i:03}-abcdefghijklmnop\r\n"
        ));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// What the server does per request: parse the complete head, then apply
/// the framing/Host/connection rules. The parser is reused (`reset`), as on
/// a keep-alive connection.
fn ringdrop_head(parser: &mut HeadParser, buf: &[u8]) -> BodyFraming {
    parser.reset();
    let head = parser
        .parse(buf)
        .expect("valid head")
        .expect("complete head");
    analyze(&head, buf).expect("valid framing").framing
}

fn httparse_head(buf: &[u8]) -> usize {
    let mut headers = [httparse::EMPTY_HEADER; HTTPARSE_SLOTS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf).expect("valid head") {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => panic!("partial head"),
    }
}

fn bench(c: &mut Criterion) {
    let heads = [
        ("small", small_head(), 1),
        ("browser", browser_head(), 15),
        ("100_headers", many_headers_head(), 100),
    ];
    for (label, buf, fields) in heads {
        // Check the inputs once, outside the timing.
        let mut parser = HeadParser::new(HeadLimits::default());
        let head = parser.parse(&buf).expect("valid").expect("complete");
        assert_eq!(
            head.head_len,
            buf.len(),
            "{label}: whole buffer is the head"
        );
        assert_eq!(head.headers.len(), fields, "{label}: header count");
        assert_eq!(httparse_head(&buf), buf.len());

        let mut group = c.benchmark_group(format!("http_head/{label}"));
        group.throughput(Throughput::Bytes(buf.len() as u64));
        group.bench_function("ringdrop_parse_analyze", |b| {
            b.iter(|| ringdrop_head(&mut parser, black_box(&buf)))
        });
        group.bench_function("httparse", |b| b.iter(|| httparse_head(black_box(&buf))));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
