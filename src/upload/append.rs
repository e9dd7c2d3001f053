//! [`AppendPlanner`]: the planner of one resumable append — a
//! [`PutPlanner`] that continues the data file and counts the request's
//! own bytes — and [`AppendChecks`], what the pipeline verifies as those
//! bytes pass.
//!
//! Sans-IO like every planner: it sees each decoded body byte when it is
//! planned (never twice: bytes held back come again unplanned), skips the
//! re-read partial block at the front of the first buffer (those are the
//! upload's durable bytes, not the request's), and stops the body at the
//! append's bound before planning past it. The checks see the decoded
//! body bytes (never the re-read block: it is not decoded again).

use super::{Absorbed, Alignment, BodyCheck, BodyPlanner, Plan, PlanError, PutPlanner};
use crate::digest::{ChunkChecksum, UploadDigest};

/// What an append verifies while its body streams: the tus
/// `Upload-Checksum` and the RFC 9530 `Content-Digest` of the request.
#[derive(Debug, Default)]
pub(crate) struct AppendChecks {
    /// tus `Upload-Checksum` (460 on a mismatch).
    pub(crate) checksum: Option<ChunkChecksum>,
    /// `Content-Digest` (400 `digest_mismatch`).
    pub(crate) digest: Option<UploadDigest>,
}

impl AppendChecks {
    /// Whether anything is checked (a body that broke off cannot be).
    pub(crate) fn any(&self) -> bool {
        self.checksum.is_some() || self.digest.is_some()
    }
}

impl BodyCheck for AppendChecks {
    fn update(&mut self, bytes: &[u8]) {
        BodyCheck::update(&mut self.checksum, bytes);
        BodyCheck::update(&mut self.digest, bytes);
    }
}

/// Plans one append; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct AppendPlanner {
    inner: PutPlanner,
    /// Bytes at the front of the body that were re-read from the data file
    /// and are not planned yet (they are not this request's).
    prefix_left: usize,
    /// The most bytes this request may append (`AppendPlan::max_bytes`).
    max_bytes: u64,
    /// This request's bytes planned so far.
    received: u64,
    /// The body went past `max_bytes`.
    overflowed: bool,
}

impl AppendPlanner {
    /// An append at `offset` whose first buffer starts with the `prefix`
    /// bytes of the data file before it (`offset - prefix` is then aligned
    /// as `align` requires), taking at most `max_bytes` of the body.
    pub(crate) fn new(
        align: Alignment,
        offset: u64,
        prefix: usize,
        max_bytes: u64,
    ) -> AppendPlanner {
        let start = offset.saturating_sub(prefix as u64);
        AppendPlanner {
            inner: PutPlanner::starting_at(align, u64::MAX, start),
            prefix_left: prefix,
            max_bytes,
            received: 0,
            overflowed: false,
        }
    }

    /// The request's bytes planned so far: once the body ended (or broke
    /// off), the bytes appended at the offset.
    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    /// Whether the body was refused for going past `max_bytes`.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }
}

impl BodyPlanner for AppendPlanner {
    fn absorb(
        &mut self,
        body: &[u8],
        body_complete: bool,
        plan: &mut Plan,
    ) -> Result<Absorbed, PlanError> {
        // Everything after the unplanned prefix is this request's, not yet
        // planned: refuse before planning a byte past the bound.
        let new = body.len().saturating_sub(self.prefix_left) as u64;
        if self.received.saturating_add(new) > self.max_bytes {
            self.overflowed = true;
            return Err(PlanError::FileTooLarge {
                limit: self.max_bytes,
            });
        }
        let absorbed = self.inner.absorb(body, body_complete, plan)?;
        let consumed = absorbed.consumed.min(body.len());
        let skipped = self.prefix_left.min(consumed);
        self.prefix_left -= skipped;
        self.received += (consumed - skipped) as u64;
        Ok(absorbed)
    }

    fn finish(&mut self) -> Result<(), PlanError> {
        self.inner.finish()
    }

    fn max_carry_bytes(&self) -> usize {
        self.inner.max_carry_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{BodyDecoder, BodyFraming, ChunkedLimits};
    use crate::resumable::Checksum;
    use crate::upload::BodyPipeline;
    use base64::Engine as _;
    use sha1::Digest as _;

    /// What feeding one append through a pipeline did.
    struct Outcome {
        /// Bytes written at each file offset (`None`: never written).
        image: Vec<Option<u8>>,
        received: u64,
        overflowed: bool,
        failed: bool,
        checksum_ok: Option<bool>,
    }

    /// Feeds `prefix` + `body` (`framing` of the body) through a pipeline in
    /// buffers of `buf_len` bytes, as the server's pump does (the carry goes
    /// to the front of the next buffer).
    #[allow(clippy::too_many_arguments)]
    fn run(
        align: Alignment,
        offset: u64,
        prefix: &[u8],
        raw: &[u8],
        framing: BodyFraming,
        max_bytes: u64,
        buf_len: usize,
        checksum: Option<&str>,
    ) -> Outcome {
        let decoder = BodyDecoder::new(framing, ChunkedLimits::default());
        let checks = AppendChecks {
            checksum: checksum.map(|c| Checksum::parse(c.as_bytes()).unwrap().verifier()),
            digest: None,
        };
        let planner = AppendPlanner::new(align, offset, prefix.len(), max_bytes);
        let mut pipeline = BodyPipeline::with_held(decoder, planner, prefix.len()).checked(checks);
        let mut image: Vec<Option<u8>> = Vec::new();
        let mut carry: Vec<u8> = prefix.to_vec();
        let mut fed = 0;
        let mut failed = false;
        for _ in 0..10_000 {
            let mut buf = vec![0u8; buf_len.max(carry.len() + 1)];
            buf[..carry.len()].copy_from_slice(&carry);
            let take = (buf.len() - carry.len()).min(raw.len() - fed);
            buf[carry.len()..carry.len() + take].copy_from_slice(&raw[fed..fed + take]);
            fed += take;
            let filled = carry.len() + take;
            let mut plan = Plan::default();
            match pipeline.process(&mut buf, filled, &mut plan) {
                Ok(done) => {
                    for w in &plan.writes {
                        for (i, b) in buf[w.range.clone()].iter().enumerate() {
                            let at = w.offset as usize + i;
                            if image.len() <= at {
                                image.resize(at + 1, None);
                            }
                            image[at] = Some(*b);
                        }
                    }
                    if done.ended
                        || (take == 0 && fed == raw.len() && done.carry_len() == carry.len())
                    {
                        break;
                    }
                    carry = buf[done.body_tail.clone()].to_vec();
                    carry.extend_from_slice(&buf[done.raw_tail.clone()]);
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        let (planner, checks) = pipeline.into_parts();
        Outcome {
            image,
            received: planner.received(),
            overflowed: planner.overflowed(),
            failed,
            checksum_ok: checks.checksum.map(|c| c.finish().is_ok()),
        }
    }

    fn data(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn sha1_header(body: &[u8]) -> String {
        let digest = sha1::Sha1::digest(body);
        format!(
            "sha1 {}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    }

    /// The data file after the append: `prefix` then `body` from
    /// `offset - prefix.len()`, nothing before it written.
    fn expected(offset: u64, prefix: &[u8], body: &[u8]) -> Vec<Option<u8>> {
        if prefix.is_empty() && body.is_empty() {
            return Vec::new();
        }
        let start = offset as usize - prefix.len();
        let mut image = vec![None; start];
        image.extend(prefix.iter().chain(body).map(|&b| Some(b)));
        image
    }

    #[test]
    fn appends_at_the_offset_at_every_buffer_size() {
        let block = Alignment::new(8).unwrap();
        // (name, alignment, offset, prefix length, body length)
        let cases: &[(&str, Alignment, u64, usize, usize)] = &[
            ("page cache, no prefix", Alignment::NONE, 13, 0, 40),
            ("aligned offset", block, 16, 0, 37),
            ("mid-block offset", block, 21, 5, 37),
            ("mid-block, body ends aligned", block, 21, 5, 35),
            ("mid-block, body shorter than the block", block, 21, 5, 2),
            ("empty body", block, 21, 5, 0),
            ("from zero", block, 0, 0, 9),
        ];
        for &(name, align, offset, prefix_len, body_len) in cases {
            let prefix = data(prefix_len, 7);
            let body = data(body_len, 99);
            for buf_len in 16..=body_len + prefix_len + 24 {
                let got = run(
                    align,
                    offset,
                    &prefix,
                    &body,
                    BodyFraming::Length(body.len() as u64),
                    body.len() as u64,
                    buf_len,
                    Some(&sha1_header(&body)),
                );
                assert!(!got.failed, "{name} buf {buf_len}");
                assert_eq!(
                    got.image,
                    expected(offset, &prefix, &body),
                    "{name} buf {buf_len}"
                );
                assert_eq!(got.received, body.len() as u64, "{name} buf {buf_len}");
                assert_eq!(got.checksum_ok, Some(true), "{name} buf {buf_len}");
            }
        }
    }

    proptest::proptest! {
        /// Oracle: the file after the append is the durable bytes up to the
        /// offset, then the body, whatever the alignment, the offset, the
        /// body's framing and where the buffers are cut; the checksum sees
        /// exactly the body.
        #[test]
        fn the_file_is_the_bytes_before_then_the_body(
            shift in 0u32..5,
            offset in 0u64..200,
            body_len in 0usize..300,
            buf_extra in 0usize..64,
            chunked in proptest::bool::ANY,
            piece in 1usize..40,
        ) {
            let align = Alignment::new(1 << shift).unwrap();
            let prefix_len = (offset % (1 << shift)) as usize;
            let prefix = data(prefix_len, 11);
            let body = data(body_len, 13);
            let (raw, framing) = if chunked {
                let mut raw = Vec::new();
                for part in body.chunks(piece) {
                    raw.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                    raw.extend_from_slice(part);
                    raw.extend_from_slice(b"\r\n");
                }
                raw.extend_from_slice(b"0\r\n\r\n");
                (raw, BodyFraming::Chunked)
            } else {
                (body.clone(), BodyFraming::Length(body.len() as u64))
            };
            let got = run(
                align,
                offset,
                &prefix,
                &raw,
                framing,
                body_len as u64,
                16 + prefix_len + buf_extra,
                Some(&sha1_header(&body)),
            );
            proptest::prop_assert!(!got.failed);
            proptest::prop_assert_eq!(got.image, expected(offset, &prefix, &body));
            proptest::prop_assert_eq!(got.received, body_len as u64);
            proptest::prop_assert_eq!(got.checksum_ok, Some(true));
        }
    }

    #[test]
    fn chunked_body_is_hashed_once_per_byte() {
        let block = Alignment::new(8).unwrap();
        let body = data(53, 3);
        let mut raw = Vec::new();
        for piece in body.chunks(5) {
            raw.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            raw.extend_from_slice(piece);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"0\r\n\r\n");
        let prefix = data(3, 1);
        for buf_len in 24..=96 {
            let got = run(
                block,
                11,
                &prefix,
                &raw,
                BodyFraming::Chunked,
                1000,
                buf_len,
                Some(&sha1_header(&body)),
            );
            assert!(!got.failed, "buf {buf_len}");
            assert_eq!(got.image, expected(11, &prefix, &body), "buf {buf_len}");
            assert_eq!(got.checksum_ok, Some(true), "buf {buf_len}");
        }
    }

    #[test]
    fn a_wrong_checksum_is_told() {
        let body = data(20, 5);
        let mut other = body.clone();
        other[19] ^= 1;
        let got = run(
            Alignment::NONE,
            0,
            &[],
            &body,
            BodyFraming::Length(20),
            20,
            64,
            Some(&sha1_header(&other)),
        );
        assert_eq!(got.checksum_ok, Some(false));
        assert_eq!(got.received, 20);
    }

    #[test]
    fn the_bound_stops_the_body_before_a_byte_past_it_is_planned() {
        let block = Alignment::new(8).unwrap();
        let body = data(30, 9);
        let chunked = {
            let mut raw = Vec::new();
            for piece in body.chunks(4) {
                raw.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                raw.extend_from_slice(piece);
                raw.extend_from_slice(b"\r\n");
            }
            raw.extend_from_slice(b"0\r\n\r\n");
            raw
        };
        let prefix = data(5, 2);
        for max in [0u64, 1, 7, 29] {
            for buf_len in 24..64 {
                let got = run(
                    block,
                    21,
                    &prefix,
                    &chunked,
                    BodyFraming::Chunked,
                    max,
                    buf_len,
                    None,
                );
                assert!(got.failed && got.overflowed, "max {max} buf {buf_len}");
                assert!(got.received <= max, "max {max} buf {buf_len}");
                // Nothing planned past the bound.
                assert!(
                    got.image.len() as u64 <= 21 + max,
                    "max {max} buf {buf_len}"
                );
            }
            let got = run(
                Alignment::NONE,
                3,
                &[],
                &body,
                BodyFraming::Length(30),
                max,
                64,
                None,
            );
            assert!(got.failed && got.overflowed, "max {max}");
            assert_eq!(got.received, 0, "max {max}");
            assert!(got.image.iter().all(Option::is_none), "max {max}");
        }
        let exact = run(
            Alignment::NONE,
            3,
            &[],
            &body,
            BodyFraming::Length(30),
            30,
            64,
            None,
        );
        assert!(!exact.failed && !exact.overflowed);
        assert_eq!(exact.received, 30);
        assert_eq!(exact.image, expected(3, &[], &body));
    }
}
