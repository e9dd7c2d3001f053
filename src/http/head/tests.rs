//! Head parser: named vectors, growing-prefix sweeps, limits, proptest.

use super::*;
use proptest::prelude::*;

fn parse_whole(input: &[u8]) -> Result<Option<RequestHead>, HeadError> {
    HeadParser::new(HeadLimits::default()).parse(input)
}

/// Feed growing prefixes `input[..i]` (what the server does as bytes
/// arrive), `step` bytes at a time; return the first non-`None` result.
fn parse_growing(
    parser: &mut HeadParser,
    input: &[u8],
    step: usize,
) -> Result<Option<RequestHead>, HeadError> {
    let mut end = 0;
    loop {
        end = (end + step).min(input.len());
        match parser.parse(&input[..end]) {
            Ok(None) if end < input.len() => continue,
            other => return other,
        }
    }
}

/// Split at every byte (two calls), and one byte at a time: all agree with
/// the whole-buffer parse.
fn assert_split_invariant(name: &str, input: &[u8]) {
    let whole = parse_whole(input);
    let mut parser = HeadParser::new(HeadLimits::default());
    for split in 0..=input.len() {
        parser.reset();
        let first = parser.parse(&input[..split]);
        let result = match first {
            Ok(None) => parser.parse(input),
            other => other,
        };
        assert_eq!(result, whole, "{name}: split at {split}");
    }
    parser.reset();
    assert_eq!(
        parse_growing(&mut parser, input, 1),
        whole,
        "{name}: byte at a time"
    );
}

struct Valid {
    name: &'static str,
    input: &'static [u8],
    method: Method,
    target: &'static [u8],
    version: Version,
    headers: &'static [(&'static str, &'static str)],
    head_len: usize,
}

macro_rules! valid {
    ($name:literal, $head:literal, $rest:literal, $method:ident, $target:literal, $version:ident, [$(($n:literal, $v:literal)),*]) => {
        Valid {
            name: $name,
            input: concat!($head, $rest).as_bytes(),
            method: Method::$method,
            target: $target,
            version: Version::$version,
            headers: &[$(($n, $v)),*],
            head_len: $head.len(),
        }
    };
}

const VALID: &[Valid] = &[
    valid!(
        "get",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "",
        Get,
        b"/",
        Http11,
        [("Host", "a")]
    ),
    valid!(
        "put with body after",
        "PUT /f.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
        "abc",
        Put,
        b"/f.txt",
        Http11,
        [("Host", "a"), ("Content-Length", "3")]
    ),
    valid!(
        "post chunked",
        "POST /up/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        "0\r\n\r\n",
        Post,
        b"/up/",
        Http11,
        [("Host", "a"), ("Transfer-Encoding", "chunked")]
    ),
    valid!(
        "http/1.0 no host",
        "GET /x HTTP/1.0\r\n\r\n",
        "",
        Get,
        b"/x",
        Http10,
        []
    ),
    valid!(
        "absolute-form",
        "GET http://h:8080/a?q HTTP/1.1\r\nHost: h\r\n\r\n",
        "",
        Get,
        b"http://h:8080/a?q",
        Http11,
        [("Host", "h")]
    ),
    valid!(
        "leading empty lines",
        "\r\n\r\nHEAD /h HTTP/1.1\r\nHost: a\r\n\r\n",
        "",
        Head,
        b"/h",
        Http11,
        [("Host", "a")]
    ),
    valid!(
        "mkcol",
        "MKCOL /d/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "",
        Mkcol,
        b"/d/",
        Http11,
        [("Host", "a")]
    ),
    valid!(
        "delete",
        "DELETE /d HTTP/1.1\r\nHost: a\r\n\r\n",
        "",
        Delete,
        b"/d",
        Http11,
        [("Host", "a")]
    ),
    valid!(
        "options",
        "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        "",
        Options,
        b"*",
        Http11,
        [("Host", "a")]
    ),
    valid!(
        "other method",
        "PATCH / HTTP/1.1\r\nHost: a\r\n\r\n",
        "",
        Other,
        b"/",
        Http11,
        [("Host", "a")]
    ),
    valid!(
        "lowercase get is other",
        "get / HTTP/1.1\r\nHost: a\r\n\r\n",
        "",
        Other,
        b"/",
        Http11,
        [("Host", "a")]
    ),
    valid!(
        "value whitespace trimmed, empty value",
        "GET / HTTP/1.1\r\nHost:   a b \t\r\nX-Empty:\r\nX-E2: \r\n\r\n",
        "",
        Get,
        b"/",
        Http11,
        [("Host", "a b"), ("X-Empty", ""), ("X-E2", "")]
    ),
    valid!(
        "pipelined second request stays",
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /2 HTTP/1.1\r\n",
        Get,
        b"/1",
        Http11,
        [("Host", "a")]
    ),
];

#[test]
fn valid_vectors() {
    for v in VALID {
        let head = parse_whole(v.input)
            .unwrap_or_else(|e| panic!("{}: {e:?}", v.name))
            .unwrap_or_else(|| panic!("{}: incomplete", v.name));
        assert_eq!(head.method, v.method, "{}", v.name);
        assert_eq!(&v.input[head.target.clone()], v.target, "{}", v.name);
        assert_eq!(head.version, v.version, "{}", v.name);
        assert_eq!(head.head_len, v.head_len, "{}", v.name);
        let got: Vec<(&[u8], &[u8])> = head
            .headers
            .iter()
            .map(|h| (&v.input[h.name.clone()], &v.input[h.value.clone()]))
            .collect();
        let want: Vec<(&[u8], &[u8])> = v
            .headers
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        assert_eq!(got, want, "{}", v.name);
        let method = &v.input[head.method_bytes.clone()];
        assert!(
            v.input[..head.head_len].ends_with(b"\r\n\r\n"),
            "{}",
            v.name
        );
        assert!(!method.is_empty(), "{}", v.name);
    }
}

const INVALID: &[(&str, &[u8], HeadError)] = &[
    (
        "http/2.0",
        b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        HeadError::UnsupportedVersion,
    ),
    (
        "http/1.2",
        b"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
        HeadError::UnsupportedVersion,
    ),
    (
        "garbage version",
        b"GET / FOO/1.1\r\nHost: a\r\n\r\n",
        HeadError::Malformed,
    ),
    (
        "http/2 no minor",
        b"GET / HTTP/2\r\nHost: a\r\n\r\n",
        HeadError::Malformed,
    ),
    (
        "no version",
        b"GET /\r\nHost: a\r\n\r\n",
        HeadError::Malformed,
    ),
    (
        "garbage line",
        b"\x01\x02\x03\r\n\r\n",
        HeadError::Malformed,
    ),
    (
        "space in target",
        b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
        HeadError::Malformed,
    ),
    (
        "obs-fold sp",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n",
        HeadError::ObsFold,
    ),
    (
        "obs-fold tab",
        b"GET / HTTP/1.1\r\nX: b\r\n\tc\r\nHost: a\r\n\r\n",
        HeadError::ObsFold,
    ),
    (
        "space before colon",
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        HeadError::WhitespaceBeforeColon,
    ),
    (
        "tab before colon",
        b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",
        HeadError::WhitespaceBeforeColon,
    ),
    (
        "no colon",
        b"GET / HTTP/1.1\r\nHost a\r\n\r\n",
        HeadError::Malformed,
    ),
    (
        "empty name",
        b"GET / HTTP/1.1\r\n: a\r\n\r\n",
        HeadError::Malformed,
    ),
    (
        "bad name char",
        b"GET / HTTP/1.1\r\nH(st: a\r\n\r\n",
        HeadError::Malformed,
    ),
    (
        "ctl in value",
        b"GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n",
        HeadError::Malformed,
    ),
    (
        "bare lf request line",
        b"GET / HTTP/1.1\nHost: a\r\n\r\n",
        HeadError::BareLf,
    ),
    (
        "bare lf header",
        b"GET / HTTP/1.1\r\nHost: a\n\r\n",
        HeadError::BareLf,
    ),
    (
        "bare lf end",
        b"GET / HTTP/1.1\r\nHost: a\r\n\n",
        HeadError::BareLf,
    ),
    (
        "bare lf leading",
        b"\nGET / HTTP/1.1\r\n\r\n",
        HeadError::BareLf,
    ),
    (
        "lone cr in line",
        b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        HeadError::Malformed,
    ),
    (
        "too many empty lines",
        b"\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        HeadError::TooManyLeadingEmptyLines,
    ),
    (
        "double space",
        b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        HeadError::Malformed,
    ),
];

#[test]
fn invalid_vectors() {
    for (name, input, want) in INVALID {
        assert_eq!(parse_whole(input), Err(*want), "{name}");
    }
}

#[test]
fn every_vector_is_split_invariant() {
    for v in VALID {
        assert_split_invariant(v.name, v.input);
    }
    for (name, input, _) in INVALID {
        assert_split_invariant(name, input);
    }
}

#[test]
fn incomplete_head_needs_more() {
    for input in [
        &b""[..],
        b"GET",
        b"GET / HTTP/1.1\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r",
    ] {
        assert_eq!(
            parse_whole(input),
            Ok(None),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

fn limits(line: usize, head: usize, count: usize) -> HeadLimits {
    HeadLimits {
        max_request_line_bytes: line,
        max_head_bytes: head,
        max_header_count: count,
    }
}

#[test]
fn request_line_limit_exact_and_one_over() {
    // "GET /aaaa HTTP/1.1" is 18 bytes.
    let ok = b"GET /aaaa HTTP/1.1\r\n\r\n";
    let over = b"GET /aaaaa HTTP/1.1\r\n\r\n";
    let mut p = HeadParser::new(limits(18, 1024, 10));
    assert!(matches!(p.parse(ok), Ok(Some(_))));
    p.reset();
    assert_eq!(
        p.parse(over),
        Err(HeadError::RequestLineTooLong { limit: 18 })
    );
    // Reported before any CRLF arrives, as soon as the line passes the limit.
    p.reset();
    assert_eq!(p.parse(&over[..18]), Ok(None));
    assert_eq!(
        p.parse(&over[..19]),
        Err(HeadError::RequestLineTooLong { limit: 18 })
    );
    // A CR right at the limit is not counted as line content.
    p.reset();
    assert_eq!(p.parse(&ok[..19]), Ok(None));
}

#[test]
fn head_size_limit_exact_and_one_over() {
    let ok = b"GET / HTTP/1.1\r\nHost: abc\r\n\r\n";
    let over = b"GET / HTTP/1.1\r\nHost: abcd\r\n\r\n";
    let mut p = HeadParser::new(limits(100, ok.len(), 10));
    assert!(matches!(p.parse(ok), Ok(Some(_))));
    p.reset();
    let limit = ok.len();
    assert_eq!(p.parse(over), Err(HeadError::HeadTooLarge { limit }));
    // Without the end, as soon as the limit is reached with no end in sight.
    p.reset();
    assert_eq!(p.parse(&over[..limit - 1]), Ok(None));
    assert_eq!(
        p.parse(&over[..limit]),
        Err(HeadError::HeadTooLarge { limit })
    );
    // Exact fit followed by pipelined bytes is fine.
    let mut pipelined = ok.to_vec();
    pipelined.extend_from_slice(b"GET / HTTP/1.1\r\n");
    p.reset();
    assert_eq!(
        p.parse(&pipelined).map(|h| h.map(|h| h.head_len)),
        Ok(Some(limit))
    );
}

#[test]
fn header_count_limit_exact_and_one_over() {
    let render = |n: usize| {
        let mut s = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..n {
            s.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        s.extend_from_slice(b"\r\n");
        s
    };
    let ok = render(HeadLimits::DEFAULT_MAX_HEADER_COUNT);
    let head = parse_whole(&ok).unwrap().unwrap();
    assert_eq!(head.headers.len(), HeadLimits::DEFAULT_MAX_HEADER_COUNT);
    let over = render(HeadLimits::DEFAULT_MAX_HEADER_COUNT + 1);
    assert_eq!(
        parse_whole(&over),
        Err(HeadError::TooManyHeaders { limit: 100 })
    );
    // Reported before the head is complete.
    let cut = over.len() - 2;
    assert_eq!(
        parse_whole(&over[..cut]),
        Err(HeadError::TooManyHeaders { limit: 100 })
    );
}

#[test]
fn header_count_is_clamped_to_slots() {
    let p = HeadParser::new(limits(100, 100, usize::MAX));
    assert_eq!(p.limits.max_header_count, MAX_HEADER_SLOTS);
}

#[test]
fn default_limits_reject_long_request_line_early() {
    let mut line = b"GET /".to_vec();
    line.resize(9000, b'a');
    assert_eq!(
        parse_whole(&line),
        Err(HeadError::RequestLineTooLong { limit: 8192 })
    );
}

#[test]
fn header_lookup_is_case_insensitive() {
    let buf = b"GET / HTTP/1.1\r\nhost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n";
    let head = parse_whole(buf).unwrap().unwrap();
    assert_eq!(head.header(buf, "HOST"), Some(&b"a"[..]));
    assert_eq!(head.header_count(buf, "X-a"), 2);
    let all: Vec<&[u8]> = head.headers_named(buf, "x-A").collect();
    assert_eq!(all, vec![&b"1"[..], &b"2"[..]]);
    assert_eq!(head.header(buf, "missing"), None);
}

#[test]
fn parse_after_complete_and_shrunk_buffer_do_not_panic() {
    let buf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut p = HeadParser::new(HeadLimits::default());
    let first = p.parse(buf).unwrap();
    assert_eq!(p.parse(buf).unwrap(), first);
    // Contract broken (buffer shrank): starts over instead of panicking.
    assert_eq!(p.parse(&buf[..5]), Ok(None));
}

#[test]
fn errors_are_sticky_until_reset() {
    let bad = b"GET / HTTP/1.1\r\nX: a\r\n b\r\nHost: a\r\n\r\n";
    let mut p = HeadParser::new(HeadLimits::default());
    assert_eq!(p.parse(bad), Err(HeadError::ObsFold));
    assert_eq!(p.parse(bad), Err(HeadError::ObsFold));
    p.reset();
    assert!(matches!(
        p.parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        Ok(Some(_))
    ));
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn field_value() -> impl Strategy<Value = String> {
    // Visible ASCII with inner spaces; no leading/trailing whitespace.
    "([!-~]([ !-~]{0,20}[!-~])?)?"
}

proptest! {
    #[test]
    fn rendered_heads_parse_back(
        method in token(),
        path in "/[!-~&&[^#]]{0,30}",
        fields in prop::collection::vec((token(), field_value()), 0..20),
        body in prop::collection::vec(any::<u8>(), 0..10),
        step in 1usize..40,
    ) {
        let mut buf = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
        for (n, v) in &fields {
            buf.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        buf.extend_from_slice(b"\r\n");
        let head_len = buf.len();
        buf.extend_from_slice(&body);
        let mut parser = HeadParser::new(HeadLimits::default());
        let head = parse_growing(&mut parser, &buf, step).unwrap().unwrap();
        prop_assert_eq!(head.head_len, head_len);
        prop_assert_eq!(&buf[head.method_bytes.clone()], method.as_bytes());
        prop_assert_eq!(&buf[head.target.clone()], path.as_bytes());
        prop_assert_eq!(head.headers.len(), fields.len());
        for (h, (n, v)) in head.headers.iter().zip(&fields) {
            prop_assert_eq!(&buf[h.name.clone()], n.as_bytes());
            prop_assert_eq!(&buf[h.value.clone()], v.as_bytes());
        }
        prop_assert_eq!(Ok(Some(head)), parse_whole(&buf));
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..200), step in 1usize..50) {
        let whole = parse_whole(&input);
        let mut parser = HeadParser::new(HeadLimits::default());
        prop_assert_eq!(parse_growing(&mut parser, &input, step), whole);
    }
}
