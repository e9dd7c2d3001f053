//! Entry points for the fuzz targets and for the tests that replay their
//! seed corpora. Not part of the public API.
//!
//! Each `fuzz_*` function takes the fuzzer's bytes, drives one sans-IO core
//! the way the server does, and panics on any breach of the core's contract:
//!
//! * no panic inside the core, whatever the input;
//! * every call consumes bytes, returns an event, or asks for input — the
//!   drivers bound the number of calls by the number of bytes and pieces, so
//!   a core that spins fails with a message containing "spin";
//! * `consumed <= input.len()`, and every `Data` range is non-empty and
//!   inside `..consumed`;
//! * the result (events, decoded bytes, error) is identical however the
//!   input is split: whole, one byte at a time, and at points taken from the
//!   data;
//! * no unbounded growth: a core that asks for more input holds at most its
//!   documented number of unconsumed bytes.
//!
//! The targets in `fuzz/fuzz_targets/` are one-line shims over these
//! functions, and `mod tests` below runs every function on every seed in
//! `fuzz/corpus/<target>/`, so `cargo test` exercises them too.

use crate::http::{
    analyze, decode_target, BodyDecoder, BodyError, BodyEvent, BodyFraming, ChunkedLimits,
    HeadError, HeadLimits, HeadParser, RequestHead, TargetPath,
};
use crate::multipart::{collision_candidate, sanitize_filename, MAX_NAME_BYTES};
use crate::step::ContractCheck;

/// Inputs up to this long are also fed one byte at a time.
const BYTE_AT_A_TIME_MAX: usize = 4096;

/// Split points taken from the data itself: a cheap, deterministic spread of
/// piece sizes from 1 to `17`, different for every input.
fn data_splits(data: &[u8], salt: u8) -> Vec<usize> {
    let mut splits = Vec::new();
    let mut at = 0usize;
    for &b in data.iter().take(64) {
        at = at.saturating_add(usize::from(b.wrapping_add(salt) % 17) + 1);
        if at >= data.len() {
            break;
        }
        splits.push(at);
    }
    splits
}

/// `splits` clamped, sorted, deduplicated, ending with `len`: the ends of
/// the growing prefixes a reader would see.
fn prefix_ends(splits: &[usize], len: usize) -> Vec<usize> {
    let mut ends: Vec<usize> = splits.iter().map(|&p| p.min(len)).collect();
    ends.push(len);
    ends.sort_unstable();
    ends.dedup();
    ends
}

// ---------------------------------------------------------------------------
// http_head
// ---------------------------------------------------------------------------

/// Small limits, so a fuzzer reaches every limit with short inputs.
const SMALL_HEAD_LIMITS: HeadLimits = HeadLimits {
    max_request_line_bytes: 64,
    max_head_bytes: 256,
    max_header_count: 8,
};

/// Fuzz entry point for [`HeadParser`]: parses `data` whole, as growing
/// prefixes one byte at a time, and as prefixes cut at points taken from the
/// data, with small and default limits, and asserts every way gives the same
/// result. A complete head is checked (offsets inside the head, limits
/// respected) and run through [`analyze`] and [`decode_target`].
pub fn fuzz_http_head(data: &[u8]) {
    for limits in [SMALL_HEAD_LIMITS, HeadLimits::default()] {
        let whole = HeadParser::new(limits).parse(data);
        match &whole {
            Ok(Some(head)) => check_head(data, head, limits),
            Ok(None) => assert!(
                data.len() < limits.max_head_bytes,
                "asks for more input while holding {} bytes (limit {})",
                data.len(),
                limits.max_head_bytes
            ),
            Err(e) => assert!((400..600).contains(&e.status().as_u16()), "{e:?}"),
        }
        if data.len() <= BYTE_AT_A_TIME_MAX {
            let every: Vec<usize> = (0..data.len()).collect();
            assert_eq!(
                parse_prefixes(data, limits, &every),
                whole,
                "byte-at-a-time result differs"
            );
        }
        assert_eq!(
            parse_prefixes(data, limits, &data_splits(data, 0)),
            whole,
            "split-dependent result"
        );
    }
}

/// Feeds the growing prefixes `data[..end]` for each end in `splits` (and
/// finally all of `data`) to one parser, as a connection does, until it
/// completes or fails.
fn parse_prefixes(
    data: &[u8],
    limits: HeadLimits,
    splits: &[usize],
) -> Result<Option<RequestHead>, HeadError> {
    let mut parser = HeadParser::new(limits);
    let mut result = Ok(None);
    for end in prefix_ends(splits, data.len()) {
        let prefix = &data[..end];
        result = parser.parse(prefix);
        match &result {
            Ok(None) => assert!(
                end < limits.max_head_bytes,
                "asks for more input while holding {end} bytes (limit {})",
                limits.max_head_bytes
            ),
            Ok(Some(head)) => {
                assert!(head.head_len <= end, "head_len {} > {end}", head.head_len);
                // A complete head stays complete (and identical).
                assert_eq!(parser.parse(prefix), result, "complete head changed");
                return result;
            }
            Err(_) => {
                assert_eq!(parser.parse(prefix), result, "error is not sticky");
                return result;
            }
        }
    }
    result
}

/// A complete head: every offset inside the head, limits respected, and the
/// later cores run on it without panicking.
fn check_head(data: &[u8], head: &RequestHead, limits: HeadLimits) {
    let n = head.head_len;
    assert!(
        n <= data.len() && n <= limits.max_head_bytes,
        "head_len {n}"
    );
    assert!(
        data[..n].ends_with(b"\r\n\r\n"),
        "head does not end in CRLFCRLF"
    );
    assert!(head.headers.len() <= limits.max_header_count);
    let in_head = |r: &core::ops::Range<usize>| r.start <= r.end && r.end <= n;
    assert!(in_head(&head.method_bytes) && !head.method_bytes.is_empty());
    assert!(in_head(&head.target) && !head.target.is_empty());
    for h in &head.headers {
        assert!(in_head(&h.name) && !h.name.is_empty(), "{h:?}");
        assert!(in_head(&h.value), "{h:?}");
    }
    let target = &data[head.target.clone()];
    assert!(target.len() <= limits.max_request_line_bytes);
    match analyze(head, data) {
        Ok(info) => {
            if info.framing == BodyFraming::Chunked {
                assert!(head.header(data, "transfer-encoding").is_some());
            }
        }
        Err(e) => assert!((400..600).contains(&e.status().as_u16()), "{e:?}"),
    }
    if let Ok(decoded) = decode_target(target) {
        check_target(&decoded);
    }
}

// ---------------------------------------------------------------------------
// target_path
// ---------------------------------------------------------------------------

/// Fuzz entry point for [`decode_target`]: never panics; a decoded path is
/// root-relative (no leading `/`), has no empty, `.` or `..` segment, and no
/// NUL, control character or backslash; percent-encoding it again and
/// decoding gives the same path.
pub fn fuzz_target_path(data: &[u8]) {
    let decoded = match decode_target(data) {
        Ok(decoded) => decoded,
        Err(e) => {
            assert!((400..500).contains(&e.status().as_u16()), "{e:?}");
            return;
        }
    };
    check_target(&decoded);
    let mut again = Vec::with_capacity(decoded.path.len() * 3 + 1);
    again.push(b'/');
    for &b in decoded.path.as_bytes() {
        if b == b'/' || b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            again.push(b);
        } else {
            again.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    match decode_target(&again) {
        Ok(t) => assert_eq!(t.path, decoded.path, "re-encoded path decodes differently"),
        Err(e) => panic!("re-encoded path {again:?} rejected: {e:?}"),
    }
}

/// The decoded-path invariants of [`fuzz_target_path`].
fn check_target(t: &TargetPath) {
    let path = &t.path;
    assert!(!path.starts_with('/'), "leading slash: {path:?}");
    if path.is_empty() {
        return;
    }
    for segment in path.split('/') {
        assert!(
            !matches!(segment, "" | "." | ".."),
            "bad segment {segment:?} in {path:?}"
        );
    }
    assert!(
        !path.chars().any(|c| c == '\\' || c.is_ascii_control()),
        "NUL, control char or backslash in {path:?}"
    );
}

// ---------------------------------------------------------------------------
// chunked
// ---------------------------------------------------------------------------

/// Small limits, so a fuzzer reaches every limit with short inputs.
const SMALL_CHUNKED_LIMITS: ChunkedLimits = ChunkedLimits {
    max_chunk_extension_bytes: 16,
    max_trailer_bytes: 64,
};

/// What driving a body decoder over a whole input produced.
#[derive(Debug, PartialEq, Eq)]
struct BodyOutcome {
    /// Every `Data` byte, in order.
    data: Vec<u8>,
    /// Offset in the input where the body ended (`End`), if it did.
    end: Option<usize>,
    /// The error that stopped decoding, if any.
    error: Option<BodyError>,
}

/// Fuzz entry point for the body decoders: decodes `data` as a chunked body
/// (small and default limits) whole, one byte at a time and split at points
/// from the data, and asserts identical results; the chunked decoder never
/// holds back a byte. Then checks Content-Length framing against the
/// obvious answer, with a length taken from the data.
pub fn fuzz_chunked(data: &[u8]) {
    for limits in [SMALL_CHUNKED_LIMITS, ChunkedLimits::default()] {
        let run = |splits: &[usize]| drive_body(BodyFraming::Chunked, limits, data, splits);
        let whole = run(&[]);
        if data.len() <= BYTE_AT_A_TIME_MAX {
            let every: Vec<usize> = (1..data.len()).collect();
            assert_eq!(run(&every), whole, "byte-at-a-time result differs");
        }
        assert_eq!(run(&data_splits(data, 0)), whole, "split-dependent result");
        assert_eq!(run(&data_splits(data, 7)), whole, "split-dependent result");
    }

    let length = data.first().map_or(0, |&b| u64::from(b) * 3);
    let framing = BodyFraming::Length(length);
    let outcome = drive_body(
        framing,
        ChunkedLimits::default(),
        data,
        &data_splits(data, 3),
    );
    let n = usize::try_from(length)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let want = BodyOutcome {
        data: data[..n].to_vec(),
        end: (n == usize::try_from(length).unwrap_or(usize::MAX)).then_some(n),
        error: None,
    };
    assert_eq!(outcome, want, "Content-Length body");
    let none = drive_body(BodyFraming::None, ChunkedLimits::default(), data, &[]);
    let want = BodyOutcome {
        data: Vec::new(),
        end: Some(0),
        error: None,
    };
    assert_eq!(none, want, "no body");
}

/// Feeds `data` to a [`BodyDecoder`] in pieces cut at `splits`, the way the
/// server does (unconsumed bytes stay in front, the next piece is appended),
/// asserting the [`Step`](crate::step::Step) contract on every call, and
/// that [`BodyDecoder::min_bytes_remaining`] never promised more bytes than
/// the body turned out to have (the server may block reading that many).
fn drive_body(
    framing: BodyFraming,
    limits: ChunkedLimits,
    data: &[u8],
    splits: &[usize],
) -> BodyOutcome {
    let mut decoder = BodyDecoder::new(framing, limits);
    let ends = prefix_ends(splits, data.len());
    let mut contract = ContractCheck::new(data.len(), ends.len());
    // The most that `min_bytes_remaining` promised at any point, as an
    // offset in `data`: the body must not end before it.
    let mut promised = decoder.min_bytes_remaining();
    let mut out = BodyOutcome {
        data: Vec::new(),
        end: None,
        error: None,
    };
    // `pending` = data[base..fed]: received, not yet consumed.
    let mut pending: Vec<u8> = Vec::new();
    let mut base = 0usize;
    let mut fed = 0usize;
    for end in ends {
        pending.extend_from_slice(&data[fed..end]);
        fed = end;
        loop {
            let step = match decoder.decode(&pending) {
                Ok(step) => step,
                Err(e) => {
                    assert!((400..600).contains(&e.status().as_u16()), "{e:?}");
                    out.error = Some(e);
                    return out;
                }
            };
            contract.check(&step, pending.len());
            let needs_more = step.needs_more();
            match step.event {
                None => {}
                Some(BodyEvent::Data(range)) => {
                    ContractCheck::check_data(&range, step.consumed);
                    out.data.extend_from_slice(&pending[range]);
                }
                Some(BodyEvent::End) => {
                    assert!(decoder.is_done() && decoder.finish().is_ok());
                    let again = decoder.decode(&pending[step.consumed..]);
                    assert_eq!(
                        again,
                        Ok(crate::step::Step::event(0, BodyEvent::End)),
                        "End is not sticky"
                    );
                    out.end = Some(base + step.consumed);
                    assert!(
                        promised <= (base + step.consumed) as u64,
                        "min_bytes_remaining promised {promised} bytes, the body ended at {}",
                        base + step.consumed
                    );
                    assert_eq!(decoder.min_bytes_remaining(), 0);
                    assert_eq!(decoder.decoded_so_far(), out.data.len() as u64);
                    return out;
                }
            }
            pending.drain(..step.consumed);
            base += step.consumed;
            promised = promised.max((base as u64).saturating_add(decoder.min_bytes_remaining()));
            if needs_more {
                // Body decoders consume framing bytes as they arrive.
                assert!(pending.is_empty(), "holds back {} bytes", pending.len());
                break;
            }
        }
    }
    assert_eq!(decoder.decoded_so_far(), out.data.len() as u64);
    assert_eq!(decoder.finish(), Err(BodyError::Truncated));
    out
}

// ---------------------------------------------------------------------------
// multipart
// ---------------------------------------------------------------------------

/// Fuzz entry point for the multipart parser on raw bytes with a fixed
/// boundary ([`FUZZ_BOUNDARY`](crate::multipart::fuzzing::FUZZ_BOUNDARY)):
/// whole, one byte at a time and split at points from the data, through
/// [`drive_all`](crate::multipart::drive_all), which asserts the contract.
pub fn fuzz_multipart(data: &[u8]) {
    crate::multipart::fuzzing::fuzz_multipart(data);
}

#[cfg(any(test, feature = "arbitrary"))]
pub use split::{fuzz_multipart_split, fuzz_multipart_split_bytes, SplitCase, SplitPart};

/// The structure-aware multipart target: built only for tests and for the
/// fuzz crate (feature `arbitrary`), which is where `Arbitrary` exists.
#[cfg(any(test, feature = "arbitrary"))]
mod split {
    use arbitrary::{Arbitrary, Unstructured};

    use crate::multipart::{
        boundary_from_content_type, drive_all, sanitize_filename, MultipartError, MultipartLimits,
        MultipartParser, OwnedEvent, PartHead,
    };

    /// RFC 2046 `bchars`, which boundary bytes are mapped onto.
    const BCHARS: &[u8] =
        b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";

    /// Most parts rendered; names and filenames are cut to `MAX_TEXT` chars.
    const MAX_PARTS: usize = 16;
    const MAX_TEXT: usize = 600;

    /// One part of a [`SplitCase`].
    #[derive(Debug, Arbitrary)]
    pub struct SplitPart {
        /// `name=` (control characters are removed before rendering).
        pub name: String,
        /// `filename=`, if any (control characters other than tab removed).
        pub filename: Option<String>,
        /// `Content-Type` (kept: visible ASCII); empty → no header.
        pub content_type: Option<String>,
        /// The content; cut before any delimiter it contains.
        pub content: Vec<u8>,
    }

    /// A multipart body described by its parts, and the ways to split it.
    #[derive(Debug, Arbitrary)]
    pub struct SplitCase {
        /// Mapped onto `bchars`, 1..=70 of them.
        pub boundary: Vec<u8>,
        /// Bytes before the first delimiter (cut before any delimiter).
        pub preamble: Vec<u8>,
        /// Transport padding after each delimiter: `padding % 4` spaces/tabs.
        pub padding: u8,
        /// The parts, in order.
        pub parts: Vec<SplitPart>,
        /// Bytes after the close delimiter.
        pub epilogue: Vec<u8>,
        /// Where to cut the rendered body (taken modulo its length + 1).
        pub split_points: Vec<u16>,
        /// Also cut the body every `feed_size` bytes (0 → 1).
        pub feed_size: u8,
    }

    /// Fuzz entry point for raw bytes, decoded as libFuzzer's
    /// `fuzz_target!(|case: SplitCase| ..)` does; the seed tests use it.
    pub fn fuzz_multipart_split_bytes(data: &[u8]) {
        if let Ok(case) = SplitCase::arbitrary_take_rest(Unstructured::new(data)) {
            fuzz_multipart_split(&case);
        }
    }

    /// Renders `case` into a body and asserts that parsing it whole, one byte
    /// at a time, at the case's split points and in `feed_size` pieces all
    /// give exactly the parts that were rendered (sanitized filenames
    /// included), or the same error when a filename is `.`/`..`.
    pub fn fuzz_multipart_split(case: &SplitCase) {
        let boundary = boundary_bytes(&case.boundary);
        let limits = MultipartLimits {
            max_part_header_bytes: 64 * 1024,
            max_part_headers: 8,
            max_parts: MAX_PARTS,
            max_files: MAX_PARTS,
            max_preamble_bytes: 64 * 1024,
            max_field_bytes: 1 << 30,
        };
        if MultipartParser::new(&boundary, limits).is_err() {
            // Only a boundary ending in a space is invalid here.
            assert_eq!(boundary.last(), Some(&b' '), "{boundary:?} rejected");
            return;
        }
        let content_type = [b"multipart/form-data; boundary=\"", &boundary[..], b"\""].concat();
        assert_eq!(
            boundary_from_content_type(&content_type),
            Ok(boundary.clone())
        );

        let (body, want) = render(case, &boundary);
        let run = |splits: &[usize]| {
            let mut parser = MultipartParser::new(&boundary, limits)
                .unwrap_or_else(|e| panic!("boundary rejected: {e}"));
            drive_all(&mut parser, &body, splits)
        };
        assert_eq!(run(&[]), want, "whole body");
        let len = body.len();
        let points: Vec<usize> = case
            .split_points
            .iter()
            .map(|&p| usize::from(p) % (len + 1))
            .collect();
        assert_eq!(run(&points), want, "split at {points:?}");
        let size = usize::from(case.feed_size.max(1));
        let pieces: Vec<usize> = (size..len).step_by(size).collect();
        assert_eq!(run(&pieces), want, "fed {size} bytes at a time");
        if len <= 2048 {
            let every: Vec<usize> = (1..len).collect();
            assert_eq!(run(&every), want, "byte at a time");
        }
    }

    fn boundary_bytes(raw: &[u8]) -> Vec<u8> {
        let mut b: Vec<u8> = raw
            .iter()
            .take(70)
            .map(|&x| BCHARS[usize::from(x) % BCHARS.len()])
            .collect();
        if b.is_empty() {
            b.push(b'B');
        }
        b
    }

    /// `s` without what a header value cannot carry (CR, LF, NUL and the
    /// other controls except tab, and DEL), at most `MAX_TEXT` chars.
    fn header_safe(s: &str, keep_tab: bool) -> String {
        s.chars()
            .filter(|&c| !(c.is_ascii_control() && !(keep_tab && c == '\t')))
            .take(MAX_TEXT)
            .collect()
    }

    /// A quoted-string whose `\` escapes `"` and `\` only.
    fn quoted(out: &mut Vec<u8>, s: &str) {
        out.push(b'"');
        for &b in s.as_bytes() {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    }

    /// `bytes` cut before the first occurrence of `delimiter`.
    fn cut_at(bytes: &[u8], delimiter: &[u8]) -> Vec<u8> {
        let end = memchr::memmem::find(bytes, delimiter).unwrap_or(bytes.len());
        bytes[..end].to_vec()
    }

    /// Part content cut before the first delimiter. The header block's
    /// final CRLF counts as the CRLF of a delimiter (RFC 2046: a part may
    /// have headers and no body), so `--boundary` right at the start of the
    /// content ends the part too.
    fn cut_content(content: &[u8], delimiter: &[u8]) -> Vec<u8> {
        let led = [b"\r\n", content].concat();
        let end =
            memchr::memmem::find(&led, delimiter).map_or(content.len(), |at| at.saturating_sub(2));
        content[..end].to_vec()
    }

    /// The body, and what the parser must return for it.
    fn render(
        case: &SplitCase,
        boundary: &[u8],
    ) -> (Vec<u8>, Result<Vec<OwnedEvent>, MultipartError>) {
        let dash = [b"--", boundary].concat();
        let delimiter = [b"\r\n", &dash[..]].concat();
        let padding: Vec<u8> = (0..case.padding % 4)
            .map(|i| if i % 2 == 0 { b' ' } else { b'\t' })
            .collect();
        let mut body = Vec::new();
        let preamble = cut_at(&case.preamble, &delimiter);
        if !preamble.is_empty() && !preamble.starts_with(&dash) {
            body.extend_from_slice(&preamble);
            body.extend_from_slice(b"\r\n");
        }
        let mut events = Vec::new();
        let mut error = None;
        for part in case.parts.iter().take(MAX_PARTS) {
            let name = header_safe(&part.name, false);
            let raw_filename = part.filename.as_deref().map(|f| header_safe(f, true));
            let content_type: Option<String> = part
                .content_type
                .as_deref()
                .map(|t| {
                    t.chars()
                        .filter(|c| c.is_ascii_graphic())
                        .take(MAX_TEXT)
                        .collect()
                })
                .filter(|t: &String| !t.is_empty());
            let content = cut_content(&part.content, &delimiter);

            body.extend_from_slice(&dash);
            body.extend_from_slice(&padding);
            body.extend_from_slice(b"\r\nContent-Disposition: form-data; name=");
            quoted(&mut body, &name);
            if let Some(f) = &raw_filename {
                body.extend_from_slice(b"; filename=");
                quoted(&mut body, f);
            }
            if let Some(t) = &content_type {
                body.extend_from_slice(b"\r\nContent-Type: ");
                body.extend_from_slice(t.as_bytes());
            }
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(&content);
            body.extend_from_slice(b"\r\n");

            if error.is_some() {
                continue;
            }
            let filename = match raw_filename.as_deref().map(sanitize_filename) {
                None => None,
                Some(Ok(f)) => f,
                Some(Err(e)) => {
                    error = Some(e);
                    continue;
                }
            };
            events.push(OwnedEvent::PartStart(PartHead {
                name: Some(name),
                filename,
                content_type,
            }));
            if !content.is_empty() {
                events.push(OwnedEvent::Data(content));
            }
            events.push(OwnedEvent::PartEnd);
        }
        body.extend_from_slice(&dash);
        body.extend_from_slice(b"--");
        body.extend_from_slice(&case.epilogue);
        events.push(OwnedEvent::End);
        (body, error.map_or(Ok(events), Err))
    }
}

// ---------------------------------------------------------------------------
// filename
// ---------------------------------------------------------------------------

/// C0, DEL and C1 controls: what [`sanitize_filename`] drops.
fn is_name_control(c: char) -> bool {
    c <= '\u{1f}' || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// The extension [`collision_candidate`] keeps: from the last `.` that is
/// neither the first nor the last byte.
fn extension(name: &str) -> &str {
    match name.rfind('.') {
        Some(dot) if dot > 0 && dot + 1 < name.len() => &name[dot..],
        _ => "",
    }
}

/// Fuzz entry point for [`sanitize_filename`] and [`collision_candidate`]:
/// a sanitized name is 1..=255 bytes of UTF-8 with no `/`, `\` or control
/// character, is not `.`/`..`, equals the cleaned last component when that
/// fits, and keeps its extension when truncated; every collision candidate
/// is at most 255 bytes, carries its ` (n)` and keeps the extension when it
/// fits.
pub fn fuzz_filename(data: &[u8]) {
    let (n, text) = match data {
        [a, b, c, d, rest @ ..] => (u32::from_le_bytes([*a, *b, *c, *d]), rest),
        _ => (1, data),
    };
    let raw = String::from_utf8_lossy(text);
    let cleaned: String = raw
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|&c| !is_name_control(c))
        .collect();
    let name = match sanitize_filename(&raw) {
        Ok(None) => {
            assert!(cleaned.is_empty(), "{raw:?} → None, cleaned {cleaned:?}");
            return;
        }
        Err(e) => {
            assert_eq!(e.status(), 400);
            assert!(
                cleaned == "." || cleaned == "..",
                "{raw:?} rejected, cleaned {cleaned:?}"
            );
            return;
        }
        Ok(Some(name)) => name,
    };
    check_name(&name);
    assert!(name != "." && name != "..", "{raw:?} → {name:?}");
    if cleaned.len() <= MAX_NAME_BYTES {
        assert_eq!(name, cleaned, "a name that fits is kept byte for byte");
    } else {
        let ext = extension(&cleaned);
        if ext.len() < MAX_NAME_BYTES {
            assert!(name.ends_with(ext), "{name:?} lost extension {ext:?}");
        }
        // The rest is a prefix of the cleaned name (its stem, when the
        // extension was kept).
        let kept = if ext.len() < MAX_NAME_BYTES && name.ends_with(ext) {
            &name[..name.len() - ext.len()]
        } else {
            &name[..]
        };
        assert!(
            cleaned.starts_with(kept),
            "{name:?} is no cut of {cleaned:?}"
        );
    }
    assert_eq!(collision_candidate(&name, 0), name);
    for n in [1, 2, 10, n.max(1), u32::MAX] {
        let candidate = collision_candidate(&name, n);
        check_name(&candidate);
        let suffix = format!(" ({n})");
        let ext = extension(&name);
        if suffix.len() + ext.len() < MAX_NAME_BYTES {
            let tail = format!("{suffix}{ext}");
            assert!(candidate.ends_with(&tail), "{candidate:?} lacks {tail:?}");
        } else {
            assert!(
                candidate.ends_with(&suffix),
                "{candidate:?} lacks {suffix:?}"
            );
        }
    }
}

/// Stored-name invariants shared by sanitized names and candidates.
fn check_name(name: &str) {
    assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES, "{name:?}");
    assert!(!name.contains(['/', '\\']), "separator in {name:?}");
    assert!(!name.chars().any(is_name_control), "control in {name:?}");
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// The committed seeds of one target: `fuzz/corpus/<target>/*.seed`
    /// (not the hash-named inputs a local fuzzing run may add there).
    fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut seeds: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("corpus entry").path())
            .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "seed"))
            .map(|path| {
                let bytes = std::fs::read(&path).expect("read seed");
                (path, bytes)
            })
            .collect();
        seeds.sort();
        assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
        for (path, _) in &seeds {
            // `.gitignore` drops libFuzzer's hash-named inputs with
            // `fuzz/corpus/*/[0-9a-f]*`: a seed named like one is never committed.
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            assert!(
                !name.starts_with(|c: char| c.is_ascii_digit() || ('a'..='f').contains(&c)),
                "seed {} starts with a hex digit, so git ignores it: rename it",
                path.display()
            );
        }
        seeds
    }

    /// Runs `f` on every seed of `target` and on `inline` inputs; a panic
    /// names the seed.
    fn replay(target: &str, f: fn(&[u8]), inline: &[&[u8]]) {
        for (path, bytes) in seeds(target) {
            let result = std::panic::catch_unwind(|| f(&bytes));
            assert!(result.is_ok(), "{target}: seed {} failed", path.display());
        }
        for input in inline {
            f(input);
        }
    }

    #[test]
    fn http_head_seeds() {
        replay(
            "http_head",
            fuzz_http_head,
            &[
                b"",
                b"\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET / HTTP/1.1\nHost: x\n\n",
                b"PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
                b"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
            ],
        );
    }

    #[test]
    fn http_head_line_limit_is_split_invariant() {
        // A request line over the limit that ends in a bare LF: parsed
        // whole or byte by byte, the same error.
        let mut data = vec![b'A'; 100];
        data.extend_from_slice(b"\n\r\n");
        fuzz_http_head(&data);
    }

    #[test]
    fn target_path_seeds() {
        replay(
            "target_path",
            fuzz_target_path,
            &[
                b"",
                b"/",
                b"/%2e%2e/x",
                b"/a/%2F/b",
                b"/a%00b",
                b"http://h",
                b"HTTPS://h/a/./b//c/?q#f",
                b"/%C3%A9/%ff",
            ],
        );
    }

    #[test]
    fn chunked_seeds() {
        replay(
            "chunked",
            fuzz_chunked,
            &[
                b"",
                b"0\r\n\r\n",
                b"3\r\nabc\r\n0\r\n\r\nGET",
                b"ffffffffffffffffff\r\n",
                b"1;a=b\r\nx\r\n0\r\nT: v\r\n\r\n",
                b"1\nx",
            ],
        );
    }

    #[test]
    fn multipart_seeds() {
        replay(
            "multipart",
            fuzz_multipart,
            &[
                b"",
                b"--fuzzBOUNDARY--",
                b"--fuzzBOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--fuzzBOUNDARY--\r\n",
            ],
        );
    }

    #[test]
    fn multipart_split_seeds() {
        replay(
            "multipart_split",
            fuzz_multipart_split_bytes,
            &[b"", &[0xff; 64], &[1; 300]],
        );
    }

    #[test]
    fn multipart_split_hand_built_cases() {
        let part = |name: &str, filename: Option<&str>, content: &[u8]| SplitPart {
            name: name.into(),
            filename: filename.map(str::to_owned),
            content_type: Some("text/plain".into()),
            content: content.to_vec(),
        };
        let case = SplitCase {
            boundary: b"xyz".to_vec(),
            preamble: b"preamble\r\n".to_vec(),
            padding: 1,
            parts: vec![
                part("a\"b", Some("C:\\fakepath\\x.txt"), b"hello\r\n--xy"),
                part("field", None, b""),
                part("f", Some(""), b"\r\n"),
                part("g", Some("a/../../etc/pass\u{9}wd"), &[0; 100]),
            ],
            epilogue: b"\r\ntrailing".to_vec(),
            split_points: vec![1, 5, 17, 400],
            feed_size: 3,
        };
        fuzz_multipart_split(&case);
        let dots = SplitCase {
            parts: vec![part("a", Some("x/.."), b"data")],
            ..case
        };
        fuzz_multipart_split(&dots);
    }

    #[test]
    fn filename_seeds() {
        replay(
            "filename",
            fuzz_filename,
            &[
                b"",
                b"\x01\0\0\0a.txt",
                b"\xff\xff\xff\xff..",
                b"\x02\0\0\0C:\\fakepath\\x.txt",
                "\u{5}\0\0\0🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀.tar.gz".as_bytes(),
            ],
        );
    }
}
