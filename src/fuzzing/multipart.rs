//! Fuzz entry points for the multipart parser: [`fuzz_multipart`] on raw
//! bytes, and (for tests and the fuzz crate, where `Arbitrary` exists) the
//! structure-aware `split` target. The drivers here feed a body in pieces
//! exactly as the server does, assert the [`Step`](crate::step::Step)
//! contract, and collect owned events; `tests/multipart_oracle.rs` uses
//! them too (through `ringdrop::multipart::{drive_all, OwnedEvent}`).

use super::{data_splits, BYTE_AT_A_TIME_MAX};
use crate::multipart::{Event, MultipartError, MultipartLimits, MultipartParser, PartHead};
use crate::step::ContractCheck;

#[cfg(any(test, feature = "arbitrary"))]
pub mod split;

/// An [`Event`] with its data copied out of the input; consecutive `Data`
/// events of one part are merged into one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedEvent {
    /// See [`Event::PartStart`].
    PartStart(PartHead),
    /// All content of one part between `PartStart` and `PartEnd`.
    Data(Vec<u8>),
    /// See [`Event::PartEnd`].
    PartEnd,
    /// See [`Event::End`].
    End,
}

/// Where the event sequence is, to check its grammar:
/// `(PartStart Data? PartEnd)* End`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grammar {
    BetweenParts,
    InPart,
    Ended,
}

/// Feeds `body` to `parser` in pieces cut at `split_points` (clamped and
/// sorted), the way the server does: unconsumed bytes stay at the front of
/// the buffer and the next piece is appended after them. Then calls
/// `finish()`.
///
/// # Panics
///
/// On any breach of the contract — `consumed > input.len()`, an empty or
/// out-of-range `Data` range, events out of order, more held-back bytes than
/// [`MultipartParser::max_pending_bytes`], or more calls than bytes and
/// pieces allow (message contains "spin"). The fuzz targets rely on these
/// panics.
#[doc(hidden)]
pub fn drive_all(
    parser: &mut MultipartParser,
    body: &[u8],
    split_points: &[usize],
) -> Result<Vec<OwnedEvent>, MultipartError> {
    let mut cuts: Vec<usize> = split_points.iter().map(|&p| p.min(body.len())).collect();
    cuts.sort_unstable();
    cuts.push(body.len());
    let mut contract = ContractCheck::new(body.len(), cuts.len());
    let mut pending: Vec<u8> = Vec::new();
    let mut events: Vec<OwnedEvent> = Vec::new();
    let mut grammar = Grammar::BetweenParts;
    let mut prev = 0;
    for cut in cuts {
        pending.extend_from_slice(&body[prev..cut]);
        prev = cut;
        loop {
            let step = parser.feed(&pending)?;
            contract.check(&step, pending.len());
            let needs_more = step.needs_more();
            match step.event {
                None => {}
                Some(Event::PartStart(head)) => {
                    assert_eq!(grammar, Grammar::BetweenParts, "PartStart out of order");
                    grammar = Grammar::InPart;
                    events.push(OwnedEvent::PartStart(head));
                }
                Some(Event::Data(range)) => {
                    assert_eq!(grammar, Grammar::InPart, "Data outside a part");
                    ContractCheck::check_data(&range, step.consumed);
                    let bytes = &pending[range];
                    match events.last_mut() {
                        Some(OwnedEvent::Data(data)) => data.extend_from_slice(bytes),
                        _ => events.push(OwnedEvent::Data(bytes.to_vec())),
                    }
                }
                Some(Event::PartEnd) => {
                    assert_eq!(grammar, Grammar::InPart, "PartEnd outside a part");
                    grammar = Grammar::BetweenParts;
                    events.push(OwnedEvent::PartEnd);
                }
                Some(Event::End) => {
                    assert_eq!(grammar, Grammar::BetweenParts, "End inside a part");
                    grammar = Grammar::Ended;
                    events.push(OwnedEvent::End);
                }
            }
            pending.drain(..step.consumed);
            if needs_more {
                assert!(
                    pending.len() <= parser.max_pending_bytes(),
                    "holding {} bytes, more than {}",
                    pending.len(),
                    parser.max_pending_bytes()
                );
                break;
            }
        }
    }
    parser.finish()?;
    assert!(parser.is_done() && grammar == Grammar::Ended);
    Ok(events)
}

/// The boundary [`fuzz_multipart`] parses with.
pub const FUZZ_BOUNDARY: &[u8] = b"fuzzBOUNDARY";

/// Fuzz entry point: parses `data` as a body with boundary
/// [`FUZZ_BOUNDARY`] whole, one byte at a time (short inputs) and split at
/// points derived from the data, and asserts the results are identical.
#[doc(hidden)]
pub fn fuzz_multipart(data: &[u8]) {
    let limits = MultipartLimits {
        max_part_header_bytes: 256,
        max_part_headers: 8,
        max_parts: 16,
        max_files: 8,
        max_preamble_bytes: 256,
    };
    let run = |splits: &[usize]| {
        let mut parser = match MultipartParser::new(FUZZ_BOUNDARY, limits) {
            Ok(p) => p,
            Err(e) => panic!("fuzz boundary rejected: {e}"),
        };
        drive_all(&mut parser, data, splits)
    };
    let whole = run(&[]);
    assert_eq!(run(&data_splits(data, 0)), whole, "split-dependent result");
    if data.len() <= BYTE_AT_A_TIME_MAX {
        let every: Vec<usize> = (1..data.len()).collect();
        assert_eq!(run(&every), whole, "byte-at-a-time result differs");
    }
}

#[cfg(test)]
mod tests {
    use super::split::{fuzz_multipart_split, fuzz_multipart_split_bytes, SplitCase, SplitPart};
    use super::*;
    use crate::fuzzing::replay;

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
                part(
                    "n\u{1}a\u{7f}me",
                    Some("x\u{0}y\u{1b}\u{85}.txt"),
                    b"raw controls",
                ),
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
}
