//! Drivers for fuzz targets and tests: feed a body in pieces exactly as the
//! server does, assert the [`Step`](crate::step::Step) contract, and collect
//! owned events. Not part of the public API.

use super::error::MultipartError;
use super::limits::MultipartLimits;
use super::parser::{Event, MultipartParser};
use super::part_head::PartHead;
use crate::step::ContractCheck;

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
        max_field_bytes: 1024,
    };
    let run = |splits: &[usize]| {
        let mut parser = match MultipartParser::new(FUZZ_BOUNDARY, limits) {
            Ok(p) => p,
            Err(e) => panic!("fuzz boundary rejected: {e}"),
        };
        drive_all(&mut parser, data, splits)
    };
    let whole = run(&[]);
    // Split points from the data itself: a cheap, deterministic spread.
    let mut splits = Vec::new();
    let mut at = 0usize;
    for &b in data.iter().take(64) {
        at = at.saturating_add(usize::from(b % 17) + 1);
        splits.push(at);
    }
    assert_eq!(run(&splits), whole, "split-dependent result");
    if data.len() <= 4096 {
        let every: Vec<usize> = (1..data.len()).collect();
        assert_eq!(run(&every), whole, "byte-at-a-time result differs");
    }
}
