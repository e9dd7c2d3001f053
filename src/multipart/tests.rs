//! Parser tests: a vector table run whole, split at every byte, one byte at
//! a time and through every small buffer capacity, plus arbitrary bytes
//! through the fuzz entry point. The property tests against a naive
//! whole-buffer oracle and against `multer` are in `tests/multipart_oracle.rs`
//! (they need an executor, which the sans-IO rule keeps out of this module).

use proptest::prelude::*;

use super::error::ALL_ERRORS;
use super::*;
use crate::fuzzing::multipart::{drive_all, fuzz_multipart, OwnedEvent, FUZZ_BOUNDARY};
use crate::step::Step;

const B: &str = "b0undary";

fn limits() -> MultipartLimits {
    MultipartLimits::default()
}

fn head(name: Option<&str>, filename: Option<&str>, content_type: Option<&str>) -> OwnedEvent {
    OwnedEvent::PartStart(PartHead {
        name: name.map(str::to_owned),
        filename: filename.map(str::to_owned),
        content_type: content_type.map(str::to_owned),
    })
}

fn field(name: &str) -> OwnedEvent {
    head(Some(name), None, None)
}

fn file(name: &str, filename: &str) -> OwnedEvent {
    head(Some(name), Some(filename), None)
}

fn data(bytes: &[u8]) -> OwnedEvent {
    OwnedEvent::Data(bytes.to_vec())
}

use OwnedEvent::{End, PartEnd};

struct Vector {
    name: &'static str,
    boundary: String,
    limits: MultipartLimits,
    body: Vec<u8>,
    want: Result<Vec<OwnedEvent>, MultipartError>,
}

/// `vector!(name, body, want)` with boundary [`B`] and default limits;
/// `vector!(name, boundary = b, limits = l, body, want)` otherwise.
macro_rules! vector {
    ($name:expr, $body:expr, $want:expr) => {
        vector!($name, boundary = B, limits = limits(), $body, $want)
    };
    ($name:expr, limits = $limits:expr, $body:expr, $want:expr) => {
        vector!($name, boundary = B, limits = $limits, $body, $want)
    };
    ($name:expr, boundary = $b:expr, limits = $limits:expr, $body:expr, $want:expr) => {
        Vector {
            name: $name,
            boundary: String::from($b),
            limits: $limits,
            body: Vec::from(AsRef::<[u8]>::as_ref(&$body)),
            want: $want,
        }
    };
}

/// One part's header block for field `name` (and `filename` when given).
fn cd(name: &str) -> String {
    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n")
}

fn cdf(name: &str, filename: &str) -> String {
    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\r\n")
}

fn vectors() -> Vec<Vector> {
    use MultipartError::*;
    let b70 = "x".repeat(69) + "Z";
    let with = |f: &dyn Fn(&mut MultipartLimits)| {
        let mut l = limits();
        f(&mut l);
        l
    };
    vec![
        // ---- valid bodies ----
        vector!("one field", format!("--{B}\r\n{}value\r\n--{B}--\r\n", cd("a")),
            Ok(vec![field("a"), data(b"value"), PartEnd, End])),
        vector!("close only", format!("--{B}--"), Ok(vec![End])),
        vector!("close only with crlf", format!("\r\n--{B}--\r\n"), Ok(vec![End])),
        vector!("preamble", format!("This is a preamble.\r\n--{B}\r\n{}v\r\n--{B}--", cd("a")),
            Ok(vec![field("a"), data(b"v"), PartEnd, End])),
        vector!("preamble with boundary-like bytes",
            format!("--{B}x\r\n-\r\n--b0und\r\n--{B}\r\n{}v\r\n--{B}--", cd("a")),
            Err(MalformedDelimiter)),
        vector!("preamble that mentions the boundary without CRLF",
            format!("x--{B}\r\n\r\n--{B}\r\n{}v\r\n--{B}--", cd("a")),
            Ok(vec![field("a"), data(b"v"), PartEnd, End])),
        vector!("epilogue", format!("--{B}\r\n{}v\r\n--{B}--\r\nepilogue\r\n--{B}\r\ngarbage", cd("a")),
            Ok(vec![field("a"), data(b"v"), PartEnd, End])),
        vector!("epilogue without crlf", format!("--{B}\r\n{}v\r\n--{B}--junk", cd("a")),
            Ok(vec![field("a"), data(b"v"), PartEnd, End])),
        vector!("empty part", format!("--{B}\r\n{}\r\n--{B}--", cd("a")),
            Ok(vec![field("a"), PartEnd, End])),
        vector!("part with headers and no body (RFC 2046)", format!("--{B}\r\n{}--{B}--", cd("a")),
            Ok(vec![field("a"), PartEnd, End])),
        vector!("two empty parts", format!("--{B}\r\n{}\r\n--{B}\r\n{}\r\n--{B}--", cd("a"), cdf("f", "x")),
            Ok(vec![field("a"), PartEnd, file("f", "x"), PartEnd, End])),
        vector!("file and field",
            format!("--{B}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\nworld\r\n--{B}\r\n{}42\r\n--{B}--\r\n", cd("n")),
            Ok(vec![head(Some("f"), Some("a.txt"), Some("text/plain")), data(b"hello\nworld"), PartEnd,
                field("n"), data(b"42"), PartEnd, End])),
        vector!("full delimiter then garbage inside data",
            format!("--{B}\r\n{}--b0undar\r\n\r\n--{B}x--{B}\r\n--{B}--", cdf("f", "d.bin")),
            Err(MalformedDelimiter)),
        vector!("boundary-like bytes in data, no full delimiter",
            format!("--{B}\r\n{}--b0undar\r\n--b0undarX\r\n-\r\n--\r\n\r\r\n\r\nx--{B}\r\n--{B}--", cdf("f", "d.bin")),
            Ok(vec![file("f", "d.bin"), data(format!("--b0undar\r\n--b0undarX\r\n-\r\n--\r\n\r\r\n\r\nx--{B}").as_bytes()), PartEnd, End])),
        vector!("CRLF-- at the very end of content", format!("--{B}\r\n{}abc\r\n--\r\n--{B}--", cd("a")),
            Ok(vec![field("a"), data(b"abc\r\n--"), PartEnd, End])),
        vector!("partial delimiter at the very end of content", format!("--{B}\r\n{}abc\r\n--b0undar\r\n--{B}--", cd("a")),
            Ok(vec![field("a"), data(b"abc\r\n--b0undar"), PartEnd, End])),
        vector!("lone CR and CRLF at the end of content", format!("--{B}\r\n{}\r\r\n\r\n\r\n--{B}--", cd("a")),
            Ok(vec![field("a"), data(b"\r\r\n\r\n"), PartEnd, End])),
        vector!("content starting with CRLF", format!("--{B}\r\n{}\r\nx\r\n--{B}--", cd("a")),
            Ok(vec![field("a"), data(b"\r\nx"), PartEnd, End])),
        vector!("binary content", [format!("--{B}\r\n{}", cdf("f", "z")).as_bytes(), &[0, 255, 13, 0, 10, 13], format!("\r\n--{B}--").as_bytes()].concat(),
            Ok(vec![file("f", "z"), data(&[0, 255, 13, 0, 10, 13]), PartEnd, End])),
        vector!("70-char boundary", boundary = b70.as_str(), limits = limits(),
            format!("--{b70}\r\n{}x\r\n--{}\r\n--{b70}--", cd("a"), &b70[..69]),
            Ok(vec![field("a"), data(format!("x\r\n--{}", &b70[..69]).as_bytes()), PartEnd, End])),
        vector!("one-char boundary", boundary = "-", limits = limits(),
            format!("---\r\n{}x\r\n--\r\n---\r\n{}\r\n-----", cd("a"), cd("b")),
            Ok(vec![field("a"), data(b"x\r\n--"), PartEnd, field("b"), PartEnd, End])),
        vector!("boundary with spaces and specials", boundary = "a b'()+_,-./:=?", limits = limits(),
            format!("--a b'()+_,-./:=?\r\n{}x\r\n--a b'()+_,-./:=?--", cd("a")),
            Ok(vec![field("a"), data(b"x"), PartEnd, End])),
        vector!("LWSP after the boundary", format!("--{B} \t \r\n{}x\r\n--{B}\t\r\n{}y\r\n--{B}--  \r\n", cd("a"), cd("b")),
            Ok(vec![field("a"), data(b"x"), PartEnd, field("b"), data(b"y"), PartEnd, End])),
        vector!("quoted names with escapes",
            format!("--{B}\r\nContent-Disposition: form-data; name=\"a\\\"b\"; filename=\"q\\\"uote\\\\d.txt\"\r\n\r\nx\r\n--{B}--"),
            Ok(vec![file("a\"b", "d.txt"), data(b"x"), PartEnd, End])),
        vector!("token names, odd case and spacing",
            format!("--{B}\r\ncontent-disposition:FORM-DATA;NAME=tok ; FILENAME = f.txt\r\n\r\nx\r\n--{B}--"),
            Ok(vec![file("tok", "f.txt"), data(b"x"), PartEnd, End])),
        vector!("filename*",
            format!("--{B}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"rates.txt\"; filename*=UTF-8''%e2%82%ac%20rates.txt\r\n\r\nx\r\n--{B}--"),
            Ok(vec![file("f", "€ rates.txt"), data(b"x"), PartEnd, End])),
        vector!("Windows path in filename", format!("--{B}\r\n{}x\r\n--{B}--", cdf("f", "C:\\fakepath\\x.txt")),
            Ok(vec![file("f", "x.txt"), data(b"x"), PartEnd, End])),
        vector!("unicode names", format!("--{B}\r\n{}x\r\n--{B}--", cdf("名前", "日本語 🦀.pdf")),
            Ok(vec![file("名前", "日本語 🦀.pdf"), data(b"x"), PartEnd, End])),
        vector!("empty filename is a field", format!("--{B}\r\n{}\r\n--{B}--", cdf("f", "")),
            Ok(vec![field("f"), PartEnd, End])),
        vector!("a large field is read, whatever its size", format!("--{B}\r\n{}{}\r\n--{B}--", cd("a"), "v".repeat(2000)),
            Ok(vec![field("a"), data("v".repeat(2000).as_bytes()), PartEnd, End])),
        vector!("a large empty-filename field too", format!("--{B}\r\n{}{}\r\n--{B}--", cdf("f", ""), "w".repeat(1500)),
            Ok(vec![field("f"), data("w".repeat(1500).as_bytes()), PartEnd, End])),
        vector!("raw controls in a filename are dropped",
            format!("--{B}\r\n{}x\r\n--{B}--", cdf("f", "a\u{1}b\u{1f}c\u{7f}d\u{0}e\tf.txt")),
            Ok(vec![file("f", "abcdef.txt"), data(b"x"), PartEnd, End])),
        vector!("C1 controls in a UTF-8 filename are dropped",
            format!("--{B}\r\n{}x\r\n--{B}--", cdf("f", "a\u{85}b\u{9f}.txt")),
            Ok(vec![file("f", "ab.txt"), data(b"x"), PartEnd, End])),
        vector!("a filename of controls only is a field",
            format!("--{B}\r\n{}x\r\n--{B}--", cdf("f", "\u{1}\u{2}")),
            Ok(vec![field("f"), data(b"x"), PartEnd, End])),
        vector!("controls anywhere in Content-Disposition",
            format!("--{B}\r\nContent-Disposition: form-\u{1}data;\u{2} na\u{3}me=\"n\"; file\u{7f}name=\"y\u{4}.txt\"\r\n\r\nx\r\n--{B}--"),
            Ok(vec![file("n", "y.txt"), data(b"x"), PartEnd, End])),
        vector!("controls in another header's value",
            format!("--{B}\r\nX-A: \u{0}\u{1b}\r\nContent-Type: text/plain\u{1}\r\n{}x\r\n--{B}--", cd("a")),
            Ok(vec![head(Some("a"), None, Some("text/plain\u{1}")), data(b"x"), PartEnd, End])),
        vector!("preamble at exactly max_preamble_bytes", limits = with(&|l| l.max_preamble_bytes = 8),
            format!("12345678\r\n--{B}--"), Ok(vec![End])),
        vector!("header block at exactly max_part_header_bytes",
            limits = with(&|l| l.max_part_header_bytes = cd("a").len()),
            format!("--{B}\r\n{}\r\n--{B}--", cd("a")), Ok(vec![field("a"), PartEnd, End])),
        vector!("parts and files at their limits", limits = with(&|l| { l.max_parts = 2; l.max_files = 1 }),
            format!("--{B}\r\n{}\r\n--{B}\r\n{}\r\n--{B}--", cd("a"), cdf("f", "x")),
            Ok(vec![field("a"), PartEnd, file("f", "x"), PartEnd, End])),
        vector!("headers at max_part_headers", limits = with(&|l| l.max_part_headers = 2),
            format!("--{B}\r\nX-A: 1\r\n{}\r\n--{B}--", cd("a")), Ok(vec![field("a"), PartEnd, End])),
        vector!("many header slots (heap)", limits = with(&|l| l.max_part_headers = 100),
            format!("--{B}\r\n{}{}\r\n--{B}--", "X-A: 1\r\n".repeat(40), cd("a")),
            Ok(vec![field("a"), PartEnd, End])),
        // ---- errors ----
        vector!("empty body", "", Err(Truncated)),
        vector!("no close delimiter", format!("--{B}\r\n{}data", cd("a")), Err(Truncated)),
        vector!("ends after delimiter", format!("--{B}\r\n{}data\r\n--{B}", cd("a")), Err(Truncated)),
        vector!("ends after one dash", format!("--{B}\r\n{}data\r\n--{B}-", cd("a")), Err(Truncated)),
        vector!("ends inside headers", format!("--{B}\r\nContent-Disp"), Err(Truncated)),
        vector!("ends in padding", format!("--{B}  "), Err(Truncated)),
        vector!("preamble only", "hello world", Err(Truncated)),
        vector!("preamble one byte over", limits = with(&|l| l.max_preamble_bytes = 8),
            format!("123456789\r\n--{B}--"), Err(PreambleTooLong { limit: 8 })),
        vector!("endless preamble", limits = with(&|l| l.max_preamble_bytes = 8),
            "x".repeat(100), Err(PreambleTooLong { limit: 8 })),
        vector!("garbage after first boundary", format!("--{B}X\r\n"), Err(MalformedDelimiter)),
        vector!("boundary then LF only", format!("--{B}\n{}", cd("a")), Err(MalformedDelimiter)),
        vector!("boundary then CR X", format!("--{B}\rX"), Err(MalformedDelimiter)),
        vector!("full delimiter inside data", format!("--{B}\r\n{}a\r\n--{B}X\r\n--{B}--", cd("a")),
            Err(MalformedDelimiter)),
        vector!("padding then dashes", format!("--{B} --"), Err(MalformedDelimiter)),
        vector!("too much padding", format!("--{B}{}\r\n", " ".repeat(MAX_TRANSPORT_PADDING_BYTES + 1)),
            Err(MalformedDelimiter)),
        vector!("header block one byte over", limits = with(&|l| l.max_part_header_bytes = cd("a").len() - 1),
            format!("--{B}\r\n{}\r\n--{B}--", cd("a")), Err(PartHeadersTooLarge { limit: cd("a").len() - 1 })),
        vector!("endless header block", limits = with(&|l| l.max_part_header_bytes = 64),
            format!("--{B}\r\nX-Long: {}", "y".repeat(200)), Err(PartHeadersTooLarge { limit: 64 })),
        vector!("one header too many", limits = with(&|l| l.max_part_headers = 2),
            format!("--{B}\r\nX-A: 1\r\nX-B: 2\r\n{}\r\n--{B}--", cd("a")), Err(TooManyPartHeaders { limit: 2 })),
        vector!("malformed header line", format!("--{B}\r\nNo colon here\r\n{}\r\n--{B}--", cd("a")),
            Err(MalformedPartHeaders)),
        vector!("unterminated quoted name",
            format!("--{B}\r\nContent-Disposition: form-data; name=\"a\r\n\r\n\r\n--{B}--"), Err(MalformedPartHeaders)),
        vector!("no headers at all", format!("--{B}\r\n\r\nx\r\n--{B}--"), Err(MissingContentDisposition)),
        vector!("no content-disposition", format!("--{B}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{B}--"),
            Err(MissingContentDisposition)),
        vector!("attachment disposition",
            format!("--{B}\r\nContent-Disposition: attachment; filename=\"a\"\r\n\r\nx\r\n--{B}--"),
            Err(MissingContentDisposition)),
        vector!("dot-dot filename", format!("--{B}\r\n{}x\r\n--{B}--", cdf("f", "C:\\x\\..")), Err(InvalidFilename)),
        vector!("invalid filename* alone",
            format!("--{B}\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''%ff\r\n\r\nx\r\n--{B}--"),
            Err(InvalidFilename)),
        vector!("one part too many", limits = with(&|l| l.max_parts = 1),
            format!("--{B}\r\n{}\r\n--{B}\r\n{}\r\n--{B}--", cd("a"), cd("b")), Err(TooManyParts { limit: 1 })),
        vector!("one file too many", limits = with(&|l| l.max_files = 1),
            format!("--{B}\r\n{}\r\n--{B}\r\n{}\r\n--{B}\r\n{}\r\n--{B}--", cdf("f", "x"), cd("a"), cdf("g", "y")),
            Err(TooManyFiles { limit: 1 })),
        vector!("bare LF between part header lines", format!("--{B}\r\nX-A: 1\n{}x\r\n--{B}--", cd("a")),
            Err(MalformedPartHeaders)),
        vector!("bare CR in a part header value", format!("--{B}\r\nX-A: 1\r2\r\n{}x\r\n--{B}--", cd("a")),
            Err(MalformedPartHeaders)),
        vector!("raw LF inside a quoted filename", format!("--{B}\r\n{}x\r\n--{B}--", cdf("f", "a\nb.txt")),
            Err(MalformedPartHeaders)),
        vector!("NUL in a part header name", format!("--{B}\r\nX-\u{0}A: 1\r\n{}x\r\n--{B}--", cd("a")),
            Err(MalformedPartHeaders)),
        vector!("whitespace before a part header colon", format!("--{B}\r\nX-A : 1\r\n{}x\r\n--{B}--", cd("a")),
            Err(MalformedPartHeaders)),
        vector!("obs-fold in part headers", format!("--{B}\r\nX-A: 1\r\n 2\r\n{}x\r\n--{B}--", cd("a")),
            Err(MalformedPartHeaders)),
    ]
}

fn parser(v: &Vector) -> MultipartParser {
    MultipartParser::new(v.boundary.as_bytes(), v.limits).expect("valid boundary")
}

fn run(v: &Vector, splits: &[usize]) -> Result<Vec<OwnedEvent>, MultipartError> {
    drive_all(&mut parser(v), &v.body, splits)
}

#[test]
fn vector_table_whole_body() {
    for v in vectors() {
        assert_eq!(run(&v, &[]), v.want, "vector {:?}", v.name);
    }
}

#[test]
fn vector_table_covers_every_feed_error() {
    let seen: Vec<&str> = vectors()
        .iter()
        .filter_map(|v| v.want.as_ref().err().map(|e| e.kind()))
        .collect();
    for e in ALL_ERRORS {
        let from_content_type = matches!(
            e,
            MultipartError::UnsupportedMediaType | MultipartError::InvalidBoundary
        );
        assert!(
            from_content_type || seen.contains(&e.kind()),
            "no vector for {e:?}"
        );
    }
}

#[test]
fn vector_table_split_at_every_byte() {
    for v in vectors() {
        for at in 0..=v.body.len() {
            assert_eq!(run(&v, &[at]), v.want, "vector {:?} split at {at}", v.name);
        }
        for (a, b) in [(1, 2), (3, 7), (5, 11)] {
            let mut splits = Vec::new();
            let mut at = 0;
            while at < v.body.len() {
                at += a;
                splits.push(at);
                at += b;
                splits.push(at);
            }
            assert_eq!(
                run(&v, &splits),
                v.want,
                "vector {:?} steps {a}/{b}",
                v.name
            );
        }
    }
}

#[test]
fn vector_table_one_byte_at_a_time() {
    for v in vectors() {
        let every: Vec<usize> = (1..v.body.len()).collect();
        assert_eq!(run(&v, &every), v.want, "vector {:?}", v.name);
    }
}

/// Feeds through a fixed-capacity buffer, like the server's registered
/// buffer: never more than `capacity` unconsumed bytes are presented.
fn run_with_capacity(v: &Vector, capacity: usize) -> Result<Vec<OwnedEvent>, MultipartError> {
    let mut p = parser(v);
    let mut pending: Vec<u8> = Vec::new();
    let mut next = 0;
    let mut events = Vec::new();
    loop {
        let room = capacity - pending.len();
        let take = room.min(v.body.len() - next);
        pending.extend_from_slice(&v.body[next..next + take]);
        next += take;
        let step = p.feed(&pending)?;
        if step.needs_more() {
            if next == v.body.len() {
                break;
            }
            assert!(
                pending.len() < capacity,
                "stalled with a full buffer of {capacity}"
            );
            continue;
        }
        match step.event {
            Some(Event::Data(r)) => match events.last_mut() {
                Some(OwnedEvent::Data(d)) => d.extend_from_slice(&pending[r]),
                _ => events.push(OwnedEvent::Data(pending[r].to_vec())),
            },
            Some(Event::PartStart(h)) => events.push(OwnedEvent::PartStart(h)),
            Some(Event::PartEnd) => events.push(OwnedEvent::PartEnd),
            Some(Event::End) => events.push(OwnedEvent::End),
            None => {}
        }
        pending.drain(..step.consumed);
    }
    p.finish()?;
    Ok(events)
}

#[test]
fn vector_table_every_small_buffer_capacity() {
    for v in vectors() {
        let min = parser(&v).max_pending_bytes() + 1;
        for capacity in (min..min + 80).chain([min + 1000]) {
            assert_eq!(
                run_with_capacity(&v, capacity),
                v.want,
                "vector {:?} capacity {capacity}",
                v.name
            );
        }
    }
}

#[test]
fn errors_are_sticky_and_finish_reports_them() {
    let mut p = MultipartParser::new(B.as_bytes(), limits()).unwrap();
    let body = format!("--{B}X");
    assert_eq!(p.feed(body.as_bytes()), Ok(Step::consumed(B.len() + 2)));
    assert_eq!(p.feed(b"X"), Err(MultipartError::MalformedDelimiter));
    assert_eq!(
        p.feed(format!("\r\n{}", cd("a")).as_bytes()),
        Err(MultipartError::MalformedDelimiter)
    );
    assert_eq!(p.finish(), Err(MultipartError::MalformedDelimiter));
    assert!(!p.is_done());
}

#[test]
fn epilogue_is_consumed_and_done() {
    let mut p = MultipartParser::new(B.as_bytes(), limits()).unwrap();
    assert_eq!(p.finish(), Err(MultipartError::Truncated));
    let body = format!("--{B}--");
    assert_eq!(p.feed(body.as_bytes()), Ok(Step::consumed(B.len() + 2)));
    assert!(!p.is_done());
    assert_eq!(p.feed(b"--\r\nrest"), Ok(Step::event(2, Event::End)));
    assert!(p.is_done());
    assert_eq!(p.feed(b"\r\nrest"), Ok(Step::consumed(6)));
    assert_eq!(p.feed(b""), Ok(Step::need_more()));
    assert_eq!(p.finish(), Ok(()));
}

#[test]
fn data_is_held_back_only_for_a_genuine_partial_delimiter() {
    let mut p = MultipartParser::new(B.as_bytes(), limits()).unwrap();
    let start = format!("--{B}\r\n{}", cd("a"));
    assert_eq!(
        p.feed(start.as_bytes()).unwrap(),
        Step::consumed(B.len() + 2)
    );
    let rest = &start[B.len() + 2..];
    assert_eq!(p.feed(rest.as_bytes()).unwrap(), Step::consumed(2));
    let step = p.feed(&rest.as_bytes()[2..]).unwrap();
    assert!(matches!(step.event, Some(Event::PartStart(_))));
    assert_eq!(step.consumed, cd("a").len());
    // Not a prefix of the delimiter: everything goes out.
    assert_eq!(
        p.feed(b"ab\r\n-x").unwrap(),
        Step::event(6, Event::Data(0..6))
    );
    assert_eq!(
        p.feed(b"ab\rx\r").unwrap(),
        Step::event(4, Event::Data(0..4))
    );
    // Genuine partial prefixes are held back, longest first.
    assert_eq!(
        p.feed(b"ab\r\n--b0und").unwrap(),
        Step::event(2, Event::Data(0..2))
    );
    assert_eq!(p.feed(b"\r\n--b0und").unwrap(), Step::need_more());
    assert_eq!(
        p.feed(b"\r\n--b0undX").unwrap(),
        Step::event(10, Event::Data(0..10))
    );
    assert_eq!(
        p.feed(b"\r\r\n-").unwrap(),
        Step::event(1, Event::Data(0..1))
    );
    // The window is delimiter.len() - 1 bytes: a CR further back is data.
    let long = format!("\r{}", "x".repeat(20));
    assert_eq!(
        p.feed(long.as_bytes()).unwrap(),
        Step::event(21, Event::Data(0..21))
    );
    let end = format!("\r\n--{B}--");
    assert_eq!(
        p.feed(end.as_bytes()).unwrap(),
        Step::event(B.len() + 4, Event::PartEnd)
    );
}

#[test]
fn new_rejects_invalid_boundaries() {
    for b in [&b""[..], b"a ", &[b'a'; 71], b"a\"b", b"a\r\nb"] {
        assert_eq!(
            MultipartParser::new(b, limits()).err(),
            Some(MultipartError::InvalidBoundary),
            "{b:?}"
        );
    }
    assert!(MultipartParser::new(&[b'a'; 70], limits()).is_ok());
}

#[test]
fn fuzz_entry_point_on_seeds() {
    let b = std::str::from_utf8(FUZZ_BOUNDARY).unwrap();
    let seeds = [
        String::new(),
        format!("--{b}--"),
        format!("--{b}\r\n{}hello\r\n--{b}--\r\n", cdf("f", "a.txt")),
        format!(
            "pre\r\n--{b}\r\n{}\r\n--{b}\r\n{}x\r\n--{b}\r\n--{b}--",
            cd("a"),
            cd("b")
        ),
        format!("--{b}\r\n{}\r\n--fuzzBOUND\r\n--{b}X", cd("a")),
        "\r\n--\r\n--fuzz\r\r\n".repeat(30),
    ];
    for s in seeds {
        fuzz_multipart(s.as_bytes());
    }
}

// Arbitrary input: no panic, no spin, split-invariant.
proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        fuzz_multipart(&data);
    }
}
