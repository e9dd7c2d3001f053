//! Fuzz entry point for the body decoders ([`BodyDecoder`]): chunked and
//! Content-Length framing.

use super::{data_splits, prefix_ends, BYTE_AT_A_TIME_MAX};
use crate::http::{BodyDecoder, BodyError, BodyEvent, BodyFraming, ChunkedLimits};
use crate::step::ContractCheck;

/// Small limits, so a fuzzer reaches every limit with short inputs.
const SMALL_CHUNKED_LIMITS: ChunkedLimits = ChunkedLimits {
    max_chunk_extension_bytes: 16,
    max_total_chunk_extension_bytes: 40,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::replay;

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
}
