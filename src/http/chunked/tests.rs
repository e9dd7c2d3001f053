//! Chunked and Length decoding: named vectors, every split, one byte at a
//! time, proptest against a naive encoder, and the extension fast path
//! against its slow twin (every chunked run below is made twice and
//! compared).

use super::*;
use crate::http::{BodyDecoder, BodyFraming};
use proptest::prelude::*;

/// What a caller following the `Step` contract ends up with.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    data: Vec<u8>,
    /// Bytes after the body (only meaningful when `ended`).
    leftover: Vec<u8>,
    ended: bool,
}

/// Drive `decode` over `pieces` the way the server does: unconsumed bytes
/// stay at the front of its buffer and new bytes are appended after them.
/// Checks the contract on every call.
fn drive(
    mut decode: impl FnMut(&[u8]) -> Result<Step<BodyEvent>, BodyError>,
    pieces: &[&[u8]],
) -> Result<Outcome, BodyError> {
    let mut pending = Vec::new();
    let mut data = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        pending.extend_from_slice(piece);
        // Every call consumes a byte or returns an event (each Data event
        // consumes at least one byte), so this many calls is plenty.
        let max_calls = 2 * pending.len() + 4;
        let mut calls = 0usize;
        loop {
            calls += 1;
            assert!(calls <= max_calls, "decoder spins");
            let step = decode(&pending)?;
            assert!(step.consumed <= pending.len(), "consumed past the input");
            match step.event {
                Some(BodyEvent::Data(range)) => {
                    assert!(!range.is_empty(), "empty Data event");
                    assert!(range.end <= step.consumed, "Data outside consumed bytes");
                    data.extend_from_slice(&pending[range]);
                }
                Some(BodyEvent::End) => {
                    pending.drain(..step.consumed);
                    // Idempotent End that never consumes the next request.
                    assert_eq!(decode(&pending)?, Step::event(0, BodyEvent::End));
                    for rest in &pieces[i + 1..] {
                        pending.extend_from_slice(rest);
                    }
                    return Ok(Outcome {
                        data,
                        leftover: pending,
                        ended: true,
                    });
                }
                None if step.consumed == 0 => break,
                None => {}
            }
            pending.drain(..step.consumed);
        }
    }
    Ok(Outcome {
        data,
        leftover: pending,
        ended: false,
    })
}

/// Decodes `pieces` with the extension fast path and with its slow twin
/// (every extension byte through the per-byte handler), asserts they agree,
/// and returns the outcome.
fn chunked_limits(limits: ChunkedLimits, pieces: &[&[u8]]) -> Result<Outcome, BodyError> {
    let mut fast = ChunkedDecoder::new(limits);
    let mut slow = ChunkedDecoder::slow_twin(limits);
    let got = drive(|i| fast.decode(i), pieces);
    let twin = drive(|i| slow.decode(i), pieces);
    assert_eq!(
        got, twin,
        "the extension fast path differs from its slow twin"
    );
    got
}

fn chunked(pieces: &[&[u8]]) -> Result<Outcome, BodyError> {
    chunked_limits(ChunkedLimits::default(), pieces)
}

fn with_limits(limits: ChunkedLimits, input: &[u8]) -> Result<Outcome, BodyError> {
    split_invariant_with("with limits", limits, input)
}

/// Whole, split at every byte, and one byte at a time must agree (for an
/// error: the same error).
fn assert_split_invariant(name: &str, input: &[u8]) -> Result<Outcome, BodyError> {
    split_invariant_with(name, ChunkedLimits::default(), input)
}

fn split_invariant_with(
    name: &str,
    limits: ChunkedLimits,
    input: &[u8],
) -> Result<Outcome, BodyError> {
    let whole = chunked_limits(limits, &[input]);
    for split in 0..=input.len() {
        let (a, b) = input.split_at(split);
        assert_eq!(
            chunked_limits(limits, &[a, b]),
            whole,
            "{name}: split at {split}"
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        chunked_limits(limits, &bytes),
        whole,
        "{name}: byte at a time"
    );
    whole
}

/// (name, input, decoded data, bytes left after the body)
type ValidVector = (&'static str, &'static [u8], &'static [u8], &'static [u8]);

const VALID: &[ValidVector] = &[
    ("one chunk", b"3\r\nabc\r\n0\r\n\r\n", b"abc", b""),
    (
        "several chunks, data holding crlf",
        b"3\r\nabc\r\n5\r\nde\r\nf\r\n1\r\ng\r\n0\r\n\r\n",
        b"abcde\r\nfg",
        b"",
    ),
    (
        "hex both cases",
        b"A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
        b"01234567890123456789",
        b"",
    ),
    ("leading zeros", b"0003\r\nabc\r\n0000\r\n\r\n", b"abc", b""),
    (
        "sixteen digits",
        b"0000000000000003\r\nabc\r\n0\r\n\r\n",
        b"abc",
        b"",
    ),
    (
        "extensions",
        b"3;name=val\r\nabc\r\n0;last\r\n\r\n",
        b"abc",
        b"",
    ),
    (
        "quoted extension with tab",
        b"3;a=\"x y\"\t;b\r\nabc\r\n0\r\n\r\n",
        b"abc",
        b"",
    ),
    (
        "space before ; (RFC 9112 BWS)",
        b"6 ; ext\r\nabcdef\r\n0\r\n\r\n",
        b"abcdef",
        b"",
    ),
    (
        "tab before ;",
        b"6\t;name=value\r\nabcdef\r\n0 \t ;last\r\n\r\n",
        b"abcdef",
        b"",
    ),
    (
        "bws before an empty extension",
        b"1 ;\r\nz\r\n0;\r\n\r\n",
        b"z",
        b"",
    ),
    (
        "extension with obs-text and a long run",
        b"2;\x80\xffname=\"a value that runs past one scan block\"\r\nab\r\n0\r\n\r\n",
        b"ab",
        b"",
    ),
    (
        "trailers",
        b"3\r\nabc\r\n0\r\nX-Sum: 1\r\nY:2\r\n\r\n",
        b"abc",
        b"",
    ),
    ("empty body", b"0\r\n\r\n", b"", b""),
    (
        "pipelined request after body",
        b"1\r\nz\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
        b"z",
        b"GET / HTTP/1.1\r\n",
    ),
];

#[test]
fn valid_vectors_every_split() {
    for (name, input, data, leftover) in VALID {
        let got = assert_split_invariant(name, input).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let want = Outcome {
            data: data.to_vec(),
            leftover: leftover.to_vec(),
            ended: true,
        };
        assert_eq!(got, want, "{name}");
    }
}

const INVALID: &[(&str, &[u8], BodyError)] = &[
    ("empty size line", b"\r\n", BodyError::InvalidChunkSize),
    (
        "space before size",
        b" 3\r\nabc\r\n",
        BodyError::InvalidChunkSize,
    ),
    (
        "space after size",
        b"3 \r\nabc\r\n",
        BodyError::InvalidChunkSize,
    ),
    (
        "tab after size",
        b"3\t\r\nabc\r\n",
        BodyError::InvalidChunkSize,
    ),
    (
        "space after size then bare lf",
        b"3 \nabc\r\n",
        BodyError::InvalidChunkSize,
    ),
    (
        "space between digits",
        b"3 4\r\nabc\r\n",
        BodyError::InvalidChunkSize,
    ),
    (
        "space then junk",
        b"3 x\r\nabc\r\n",
        BodyError::InvalidChunkSize,
    ),
    (
        "control after bws",
        b"3 \x01;x\r\nabc\r\n",
        BodyError::InvalidChunkSize,
    ),
    (
        "bws on the last chunk without extension",
        b"3\r\nabc\r\n0 \r\n\r\n",
        BodyError::InvalidChunkSize,
    ),
    ("non-hex", b"g\r\n", BodyError::InvalidChunkSize),
    ("plus sign", b"+3\r\nabc\r\n", BodyError::InvalidChunkSize),
    ("minus sign", b"-3\r\nabc\r\n", BodyError::InvalidChunkSize),
    ("0x prefix", b"0x3\r\nabc\r\n", BodyError::InvalidChunkSize),
    (
        "extension without size",
        b";x\r\n",
        BodyError::InvalidChunkSize,
    ),
    (
        "seventeen digits",
        b"00000000000000003\r\nabc\r\n",
        BodyError::ChunkSizeOverflow,
    ),
    (
        "beyond u64",
        b"1FFFFFFFFFFFFFFFF\r\n",
        BodyError::ChunkSizeOverflow,
    ),
    (
        "bare lf after size",
        b"3\nabc\r\n0\r\n\r\n",
        BodyError::InvalidLineEnding,
    ),
    ("cr without lf", b"3\rabc\r\n", BodyError::InvalidLineEnding),
    (
        "bare lf in extension",
        b"3;x\nabc\r\n",
        BodyError::InvalidLineEnding,
    ),
    (
        "ctl in extension",
        b"3;x\x01\r\nabc\r\n",
        BodyError::InvalidChunkExtension,
    ),
    (
        "del in extension",
        b"3;x\x7f\r\nabc\r\n",
        BodyError::InvalidChunkExtension,
    ),
    (
        "nul deep in a long extension",
        b"3;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x00\r\nabc\r\n",
        BodyError::InvalidChunkExtension,
    ),
    (
        "bare lf deep in a long extension",
        b"3 ;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nabc\r\n",
        BodyError::InvalidLineEnding,
    ),
    (
        "data too long",
        b"3\r\nabcd\r\n0\r\n\r\n",
        BodyError::MissingChunkCrlf,
    ),
    (
        "lf only after data",
        b"3\r\nabc\n0\r\n\r\n",
        BodyError::MissingChunkCrlf,
    ),
    (
        "cr then junk after data",
        b"3\r\nabc\rx",
        BodyError::MissingChunkCrlf,
    ),
    (
        "trailer obs-fold",
        b"0\r\nA: b\r\n c\r\n\r\n",
        BodyError::InvalidTrailer,
    ),
    (
        "trailer without colon",
        b"0\r\nAbc\r\n\r\n",
        BodyError::InvalidTrailer,
    ),
    (
        "trailer empty name",
        b"0\r\n: b\r\n\r\n",
        BodyError::InvalidTrailer,
    ),
    (
        "trailer ctl",
        b"0\r\nA: \x01\r\n\r\n",
        BodyError::InvalidTrailer,
    ),
    (
        "trailer bare lf",
        b"0\r\nA: b\n\r\n",
        BodyError::InvalidLineEnding,
    ),
    (
        "trailer cr junk",
        b"0\r\nA: b\rx\r\n",
        BodyError::InvalidLineEnding,
    ),
    ("final bare lf", b"0\r\n\n", BodyError::InvalidLineEnding),
    ("final cr junk", b"0\r\n\rx", BodyError::InvalidLineEnding),
];

#[test]
fn invalid_vectors_every_split() {
    for (name, input, want) in INVALID {
        assert_eq!(assert_split_invariant(name, input), Err(*want), "{name}");
    }
}

#[test]
fn incomplete_bodies_need_more() {
    for input in [
        &b""[..],
        b"3",
        b"3\r",
        b"3\r\nab",
        b"3\r\nabc\r",
        b"0\r\n",
        b"0\r\nA: b\r\n",
    ] {
        let got = chunked(&[input]).unwrap();
        assert!(!got.ended, "{:?}", String::from_utf8_lossy(input));
    }
    // The largest size that fits in a u64 is accepted (and then awaits data).
    let got = chunked(&[b"FFFFFFFFFFFFFFFF\r\nab"]).unwrap();
    assert_eq!((got.data, got.ended), (b"ab".to_vec(), false));
}

#[test]
fn chunk_line_limit_exact_and_one_over() {
    let limits = ChunkedLimits {
        max_chunk_extension_bytes: 8,
        max_total_chunk_extension_bytes: 100,
        max_trailer_bytes: 100,
    };
    for ok in [
        &b"3;abcdef\r\nabc\r\n0\r\n\r\n"[..],
        b"3 ;abcde\r\nabc\r\n0\r\n\r\n",
        b"00000003\r\nabc\r\n0\r\n\r\n",
    ] {
        assert!(with_limits(limits, ok).unwrap().ended, "{ok:?}");
    }
    for over in [
        &b"3;abcdefg\r\nabc\r\n0\r\n\r\n"[..],
        b"3 \t;abcde\r\nabc\r\n0\r\n\r\n",
        // Long hex sizes count too.
        b"000000003\r\nabc\r\n",
    ] {
        assert_eq!(
            with_limits(limits, over),
            Err(BodyError::ChunkExtensionTooLong { limit: 8 }),
            "{over:?}"
        );
    }
}

#[test]
fn total_extension_limit_exact_and_one_over() {
    let limits = |max_total_chunk_extension_bytes| ChunkedLimits {
        max_chunk_extension_bytes: 100,
        max_total_chunk_extension_bytes,
        max_trailer_bytes: 100,
    };
    // 5 + 6 + 2 extension bytes (BWS and ';' count): 13 in all.
    let input = b"1;abcd\r\nz\r\n1 \t;a=b\r\ny\r\n0 ;\r\n\r\n";
    assert_eq!(with_limits(limits(13), input).unwrap().data, b"zy");
    assert_eq!(
        with_limits(limits(12), input),
        Err(BodyError::ChunkExtensionsTooLarge { limit: 12 })
    );
    // When both limits are passed by the same byte, the line's is reported.
    let both = ChunkedLimits {
        max_chunk_extension_bytes: 6,
        max_total_chunk_extension_bytes: 5,
        max_trailer_bytes: 100,
    };
    assert_eq!(
        with_limits(both, b"1;abcde\r\nz\r\n0\r\n\r\n"),
        Err(BodyError::ChunkExtensionTooLong { limit: 6 })
    );
    // The default: 16 KiB per body, reached by five 4000-byte extensions.
    let ext = format!("1;{}\r\nz\r\n", "e".repeat(3999));
    let mut body = ext.repeat(4);
    body.push_str("0\r\n\r\n");
    assert_eq!(chunked(&[body.as_bytes()]).unwrap().data, b"zzzz");
    let body = ext.repeat(5);
    assert_eq!(
        chunked(&[body.as_bytes()]),
        Err(BodyError::ChunkExtensionsTooLarge { limit: 16 * 1024 })
    );
}

#[test]
fn trailer_limit_exact_and_one_over() {
    // Trailer section "A: 1234\r\n\r\n" is 11 bytes.
    let input = b"0\r\nA: 1234\r\n\r\n";
    let limits = |max_trailer_bytes| ChunkedLimits {
        max_chunk_extension_bytes: 100,
        max_total_chunk_extension_bytes: 100,
        max_trailer_bytes,
    };
    assert!(with_limits(limits(11), input).unwrap().ended);
    assert_eq!(
        with_limits(limits(10), input),
        Err(BodyError::TrailersTooLarge { limit: 10 })
    );
}

#[test]
fn decoded_so_far_counts_data_only() {
    let mut dec = BodyDecoder::new(BodyFraming::Chunked, ChunkedLimits::default());
    let input = b"3;x\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    let out = drive(|i| dec.decode(i), &[input]).unwrap();
    assert_eq!(out.data, b"abcde");
    assert_eq!(dec.decoded_so_far(), 5);
    assert!(dec.is_done());
    assert_eq!(dec.finish(), Ok(()));
}

#[test]
fn length_decoder_end_semantics() {
    // Content-Length: 0 and no body: End at once, nothing consumed.
    for framing in [BodyFraming::None, BodyFraming::Length(0)] {
        let mut dec = BodyDecoder::new(framing, ChunkedLimits::default());
        assert!(dec.is_done());
        assert_eq!(dec.decode(b"GET"), Ok(Step::event(0, BodyEvent::End)));
        assert_eq!(dec.decode(b"GET"), Ok(Step::event(0, BodyEvent::End)));
    }
    let mut dec = BodyDecoder::new(BodyFraming::Length(5), ChunkedLimits::default());
    assert_eq!(dec.decode(b""), Ok(Step::need_more()));
    assert_eq!(dec.finish(), Err(BodyError::Truncated));
    assert_eq!(
        dec.decode(b"abc"),
        Ok(Step::event(3, BodyEvent::Data(0..3)))
    );
    assert_eq!(
        dec.decode(b"deNEXT"),
        Ok(Step::event(2, BodyEvent::Data(0..2)))
    );
    assert!(dec.is_done());
    assert_eq!(dec.decode(b"NEXT"), Ok(Step::event(0, BodyEvent::End)));
    assert_eq!(dec.decode(b"NEXT"), Ok(Step::event(0, BodyEvent::End)));
    assert_eq!(dec.decoded_so_far(), 5);
}

#[test]
fn chunked_done_is_idempotent_without_consuming() {
    let mut dec = ChunkedDecoder::new(ChunkedLimits::default());
    assert_eq!(
        dec.decode(b"0\r\n\r\nX"),
        Ok(Step::event(5, BodyEvent::End))
    );
    assert!(dec.is_done());
    assert_eq!(dec.decode(b"X"), Ok(Step::event(0, BodyEvent::End)));
}

/// The naive oracle: encode `body` in chunks of the given sizes.
fn encode_chunked(
    body: &[u8],
    sizes: &[usize],
    exts: &[String],
    trailers: &[(String, String)],
    upper: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        let size = if upper {
            format!("{n:X}")
        } else {
            format!("{n:x}")
        };
        out.extend_from_slice(size.as_bytes());
        out.extend_from_slice(exts[i % exts.len()].as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
        i += 1;
    }
    out.extend_from_slice(b"0");
    out.extend_from_slice(exts[i % exts.len()].as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in trailers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Cut `input` at the given points (taken modulo its length).
fn pieces<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts {
        out.push(&input[start..cut]);
        start = cut;
    }
    out.push(&input[start..]);
    out
}

proptest! {
    #[test]
    fn chunked_round_trip(
        body in prop::collection::vec(any::<u8>(), 0..2000),
        sizes in prop::collection::vec(1usize..300, 1..8),
        exts in prop::collection::vec("([ \t]{0,2};[a-z]{1,5}(=[a-z0-9\"]{0,5})?){0,2}", 1..4),
        trailers in prop::collection::vec(("[A-Za-z-]{1,8}", "[ -~]{0,10}"), 0..3),
        upper in any::<bool>(),
        next in prop::collection::vec(any::<u8>(), 0..50),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut input = encode_chunked(&body, &sizes, &exts, &trailers, upper);
        input.extend_from_slice(&next);
        // Up to 2000 one-byte chunks with extensions can exceed the
        // per-body extension budget (its own tests are above): lift it,
        // this property is about framing.
        let limits = ChunkedLimits {
            max_total_chunk_extension_bytes: usize::MAX,
            ..ChunkedLimits::default()
        };
        let out = chunked_limits(limits, &pieces(&input, &cuts)).unwrap();
        prop_assert!(out.ended);
        prop_assert_eq!(out.data, body);
        prop_assert_eq!(out.leftover, next);
    }

    #[test]
    fn length_round_trip(
        body in prop::collection::vec(any::<u8>(), 0..2000),
        next in prop::collection::vec(any::<u8>(), 0..50),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut input = body.clone();
        input.extend_from_slice(&next);
        let len = u64::try_from(body.len()).unwrap();
        let mut dec = BodyDecoder::new(BodyFraming::Length(len), ChunkedLimits::default());
        let out = drive(|i| dec.decode(i), &pieces(&input, &cuts)).unwrap();
        prop_assert!(out.ended);
        prop_assert_eq!(out.data, body);
        prop_assert_eq!(out.leftover, next);
        prop_assert_eq!(dec.decoded_so_far(), len);
    }

    #[test]
    fn chunked_arbitrary_bytes_never_panic_and_split_invariant(
        input in prop::collection::vec(any::<u8>(), 0..300),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let whole = chunked(&[&input]);
        let split = chunked(&pieces(&input, &cuts));
        match (&whole, &split) {
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            _ => prop_assert_eq!(whole, split),
        }
    }
}

/// `min_bytes_remaining` is what the server may block reading: after any
/// prefix of a valid body has been decoded, it must never promise more bytes
/// than the rest of the body holds (else a read could wait forever).
#[test]
fn min_bytes_remaining_never_overpromises() {
    let bodies: &[&[u8]] = &[
        b"5\r\nhello\r\n0\r\n\r\n",
        b"1;ext=1\r\na\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n",
        b"0\r\n\r\n",
    ];
    for body in bodies {
        for cut in 0..=body.len() {
            let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
            let mut pos = 0;
            loop {
                let step = decoder.decode(&body[pos..cut]).unwrap();
                pos += step.consumed;
                if step.needs_more() || step.event == Some(BodyEvent::End) {
                    break;
                }
            }
            let unread = (body.len() - pos) as u64;
            assert!(
                decoder.min_bytes_remaining() <= unread,
                "{body:?} cut at {cut}: promises {} of {unread}",
                decoder.min_bytes_remaining()
            );
            if pos == body.len() {
                assert_eq!(decoder.min_bytes_remaining(), 0);
            }
        }
    }
}

#[test]
fn stop_scan_matches_the_naive_search_for_every_byte_and_position() {
    for len in 0..=25 {
        let mut buf = vec![b'a'; len];
        assert_eq!(find_extension_stop(&buf), None, "len {len}");
        for at in 0..len {
            for b in 0..=255u8 {
                buf[at] = b;
                assert_eq!(
                    find_extension_stop(&buf),
                    buf.iter().position(|&x| is_ctl(x)),
                    "byte {b:#x} at {at} of {len}"
                );
            }
            buf[at] = b'a';
        }
    }
}

#[test]
fn stop_scan_steps_over_tabs_and_sees_past_high_bytes() {
    let cases: &[(&[u8], Option<usize>)] = &[
        (b"\t\t\t\t\t\t\t\t\t\t\r", Some(10)),
        (b"\xff\x80\xa0\x9f\x7e\x20\xe0\xdf\x7f", Some(8)),
        (b"\x1f\x00\x00\x00\x00\x00\x00\x00", Some(0)),
        (
            b"\x20\x20\x20\x20\x20\x20\x20\x20\x20\x09\x20\x20\x20\x20\x20\x20\x0a",
            Some(16),
        ),
        (b"\x21\x21\x21\x21\x21\x21\x21\x21\x21\x21", None),
    ];
    for (bytes, want) in cases {
        assert_eq!(find_extension_stop(bytes), *want, "{bytes:?}");
        assert_eq!(bytes.iter().position(|&b| is_ctl(b)), *want, "{bytes:?}");
    }
}

proptest! {
    #[test]
    fn stop_scan_matches_the_naive_search(
        bytes in prop::collection::vec(
            prop_oneof![any::<u8>(), prop::sample::select(b"\t\t \x1f\x20\x7e\x7f\x80".to_vec())],
            0..200,
        ),
    ) {
        prop_assert_eq!(find_extension_stop(&bytes), bytes.iter().position(|&b| is_ctl(b)));
    }

    /// Extension-heavy bodies under small limits: the fast path and its
    /// slow twin agree (checked inside `chunked_limits`), whole and split.
    /// Chunks of 1 byte whose size lines carry BWS and extensions, mostly
    /// plain bytes with the odd control character.
    #[test]
    fn extension_fast_path_agrees_with_its_slow_twin(
        lines in prop::collection::vec(
            ("[ \t]{0,3}", "[a-z=\";\t \x01\x7f\n\u{80}]{0,30}"),
            0..8,
        ),
        line in 1usize..40,
        total in 1usize..80,
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut input = Vec::new();
        for (bws, ext) in &lines {
            input.extend_from_slice(format!("1{bws};{ext}\r\nx\r\n").as_bytes());
        }
        input.extend_from_slice(b"0\r\n\r\n");
        let limits = ChunkedLimits {
            max_chunk_extension_bytes: line,
            max_total_chunk_extension_bytes: total,
            max_trailer_bytes: 64,
        };
        let whole = chunked_limits(limits, &[&input]);
        let split = chunked_limits(limits, &pieces(&input, &cuts));
        prop_assert_eq!(whole, split);
    }
}
