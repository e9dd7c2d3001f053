//! The planners and the pipeline, driven the way the server's pump drives
//! them — carry to the front of the next buffer, read after it — with
//! every arrival pattern, buffer size and alignment, against a reference
//! run with one big buffer and no alignment.

use proptest::prelude::*;

use super::*;
use crate::http::{BodyDecoder, BodyError, BodyFraming, ChunkedLimits};
use crate::multipart::{MultipartError, MultipartLimits};

/// What a body became: each file's name and bytes, and the bytes after
/// the body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    files: Vec<(String, Vec<u8>)>,
    after_body: Vec<u8>,
}

/// How bytes arrive: the first arrival (with the head), then pieces of
/// `piece` bytes (0: everything at once).
#[derive(Debug, Clone, Copy)]
struct Arrivals {
    first: usize,
    piece: usize,
}

/// The pump's loop without I/O: the carry goes to the front of the next
/// buffer, reads append after it (never more than the buffer holds, never
/// past a Content-Length body's end), writes land in in-memory files.
/// Checks, per write, the alignment promise and, per buffer, the carry
/// bound.
fn drive<P: BodyPlanner>(
    mut pipeline: BodyPipeline<P>,
    input: &[u8],
    capacity: usize,
    arrivals: Arrivals,
    align: Alignment,
) -> Result<Stored, PipelineError> {
    // A PUT's one file exists before its body; multipart files are
    // announced by the planner.
    let preexisting = usize::from(std::any::type_name::<P>().ends_with("PutPlanner"));
    let mut files: Vec<(String, Vec<u8>)> = vec![(String::new(), Vec::new()); preexisting];
    // Per file: (buffer offset, file offset, length) of every write.
    let mut writes: Vec<Vec<(usize, u64, usize)>> = vec![Vec::new(); preexisting];
    let mut buf = vec![0u8; capacity];
    let mut carry: Vec<u8> = Vec::new();
    let mut next_in = 0usize;
    let mut first = true;
    let mut again = false;
    let mut plan = Plan::default();
    for _round in 0..(input.len() * 2 + 64) {
        buf[..carry.len()].copy_from_slice(&carry);
        let mut filled = carry.len();
        if !again {
            let mut want = if first {
                arrivals.first
            } else if arrivals.piece == 0 {
                usize::MAX
            } else {
                arrivals.piece
            };
            if let Some(owed) = pipeline.exact_raw_bytes_remaining() {
                let raw_in_carry = (carry.len() - pipeline.held_bytes()) as u64;
                want = want.min(usize::try_from(owed.saturating_sub(raw_in_carry)).unwrap());
            }
            let n = want.min(capacity - filled).min(input.len() - next_in);
            buf[filled..filled + n].copy_from_slice(&input[next_in..next_in + n]);
            filled += n;
            next_in += n;
            if n == 0 && !first && !pipeline.body_is_complete() {
                assert!(
                    next_in == input.len() || filled == capacity,
                    "no progress with input left"
                );
                if next_in == input.len() {
                    return Err(PipelineError::Body(BodyError::Truncated));
                }
            }
        }
        first = false;
        plan.clear();
        let processed = pipeline.process(&mut buf, filled, &mut plan)?;
        for file in &plan.new_files {
            assert_eq!(file.index, files.len(), "files announced in order");
            files.push((file.name.clone(), Vec::new()));
            writes.push(Vec::new());
        }
        for w in &plan.writes {
            let data = &buf[w.range.clone()];
            let content = &mut files[w.file].1;
            let end = w.offset as usize + data.len();
            if content.len() < end {
                content.resize(end, 0);
            }
            content[w.offset as usize..end].copy_from_slice(data);
            writes[w.file].push((w.range.start, w.offset, data.len()));
        }
        if processed.ended {
            let mut after_body = buf[processed.raw_tail.clone()].to_vec();
            after_body.extend_from_slice(&input[next_in..]);
            check_alignment(&writes, &files, align);
            return Ok(Stored { files, after_body });
        }
        assert!(processed.raw_tail.is_empty(), "raw bytes left undecoded");
        if !processed.again {
            assert!(
                processed.carry_len() <= pipeline.max_carry_bytes(),
                "carry {} over the bound {}",
                processed.carry_len(),
                pipeline.max_carry_bytes()
            );
        }
        again = processed.again;
        carry.clear();
        carry.extend_from_slice(&buf[processed.body_tail.clone()]);
        carry.extend_from_slice(&buf[processed.raw_tail.clone()]);
    }
    panic!("spin: the pipeline made no progress");
}

/// Every write of a file but the last (by offset) is whole units at an
/// aligned buffer offset and an aligned file offset.
fn check_alignment(
    writes: &[Vec<(usize, u64, usize)>],
    files: &[(String, Vec<u8>)],
    align: Alignment,
) {
    for (index, file_writes) in writes.iter().enumerate() {
        let size = files[index].1.len() as u64;
        for &(buf_at, offset, len) in file_writes {
            if offset + len as u64 == size {
                // A file that starts in the body's last buffer is not
                // realigned (nothing follows to make it worth a copy).
                assert!(
                    align.is_aligned(offset as usize)
                        && (align.is_aligned(buf_at) || file_writes.len() == 1),
                    "file {index}: last write at buffer {buf_at}, offset {offset}, len {len}, {} writes",
                    file_writes.len()
                );
                continue;
            }
            assert!(
                align.is_aligned(buf_at) && align.is_aligned(offset as usize) && align.is_aligned(len),
                "file {index}: write at buffer {buf_at}, offset {offset}, len {len} not whole units of {}",
                align.bytes()
            );
        }
    }
}

fn put_pipeline(framing: BodyFraming, align: Alignment, max: u64) -> BodyPipeline<PutPlanner> {
    BodyPipeline::new(
        BodyDecoder::new(framing, ChunkedLimits::default()),
        PutPlanner::new(align, max),
    )
}

const BOUNDARY: &str = "b0undary";

fn small_multipart_limits() -> MultipartLimits {
    MultipartLimits {
        max_part_header_bytes: 512,
        max_preamble_bytes: 512,
        ..MultipartLimits::default()
    }
}

fn multipart_pipeline(
    framing: BodyFraming,
    align: Alignment,
    max: u64,
) -> BodyPipeline<MultipartPlanner> {
    let planner =
        MultipartPlanner::new(BOUNDARY.as_bytes(), small_multipart_limits(), align, max).unwrap();
    BodyPipeline::new(BodyDecoder::new(framing, ChunkedLimits::default()), planner)
}

/// A multipart body: `(field name, file name or none, content)` parts.
fn multipart_body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// `body` in chunks of `size` bytes (the last one shorter).
fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(size.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// The reference: one buffer holding everything, no alignment.
fn reference<P: BodyPlanner>(
    pipeline: BodyPipeline<P>,
    input: &[u8],
) -> Result<Stored, PipelineError> {
    let whole = Arrivals {
        first: usize::MAX,
        piece: 0,
    };
    drive(pipeline, input, input.len() + 1, whole, Alignment::NONE)
}

/// Every arrival pattern worth trying for `len` input bytes: the first
/// arrival cut at every byte (rest at once), and byte-at-a-time pieces.
fn arrival_patterns(len: usize) -> Vec<Arrivals> {
    let mut patterns: Vec<Arrivals> = (0..=len)
        .map(|first| Arrivals { first, piece: 0 })
        .collect();
    patterns.push(Arrivals { first: 0, piece: 1 });
    patterns.push(Arrivals { first: 1, piece: 7 });
    patterns
}

#[test]
fn put_length_body_every_split_every_alignment() {
    let body = pattern(300, 1);
    let framing = BodyFraming::Length(body.len() as u64);
    let mut input = body.clone();
    input.extend_from_slice(b"GET / HTTP/1.1\r\n");
    let expected = reference(put_pipeline(framing, Alignment::NONE, 1 << 20), &input).unwrap();
    assert_eq!(expected.files, vec![(String::new(), body.clone())]);
    assert_eq!(expected.after_body, b"GET / HTTP/1.1\r\n");
    for align in [1, 16, 64] {
        let align = Alignment::new(align).unwrap();
        for capacity in [align.bytes().max(8) * 2, 97, 128, 301, 4096] {
            if capacity <= align.bytes() {
                continue;
            }
            for arrivals in arrival_patterns(input.len()) {
                let got = drive(
                    put_pipeline(framing, align, 1 << 20),
                    &input,
                    capacity,
                    arrivals,
                    align,
                )
                .unwrap();
                assert_eq!(got, expected, "{align:?} capacity {capacity} {arrivals:?}");
            }
        }
    }
}

#[test]
fn put_chunked_body_every_split_every_alignment() {
    let body = pattern(260, 2);
    for chunk in [1, 5, 64, 300] {
        let mut input = chunked(&body, chunk);
        input.extend_from_slice(b"NEXT");
        let framing = BodyFraming::Chunked;
        let expected = reference(put_pipeline(framing, Alignment::NONE, 1 << 20), &input).unwrap();
        assert_eq!(expected.files[0].1, body, "chunk size {chunk}");
        assert_eq!(expected.after_body, b"NEXT");
        for align in [1, 32] {
            let align = Alignment::new(align).unwrap();
            for capacity in [64, 100, 257, 2048] {
                for arrivals in arrival_patterns(input.len()) {
                    let got = drive(
                        put_pipeline(framing, align, 1 << 20),
                        &input,
                        capacity,
                        arrivals,
                        align,
                    )
                    .unwrap();
                    assert_eq!(
                        got, expected,
                        "chunk {chunk} {align:?} capacity {capacity} {arrivals:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn put_over_the_size_limit_fails_however_split() {
    let body = pattern(100, 3);
    let framing = BodyFraming::Chunked;
    let input = chunked(&body, 7);
    for max in [0u64, 1, 99] {
        for arrivals in arrival_patterns(input.len()) {
            let got = drive(
                put_pipeline(framing, Alignment::NONE, max),
                &input,
                64,
                arrivals,
                Alignment::NONE,
            );
            assert_eq!(
                got,
                Err(PipelineError::Plan(PlanError::FileTooLarge { limit: max }))
            );
        }
    }
    let exact = drive(
        put_pipeline(framing, Alignment::NONE, 100),
        &input,
        64,
        Arrivals { first: 3, piece: 5 },
        Alignment::NONE,
    );
    assert_eq!(
        exact.unwrap().files[0].1,
        body,
        "a file of exactly the limit is stored"
    );
}

#[test]
fn truncated_bodies_are_reported_however_split() {
    let body = pattern(50, 4);
    let input = chunked(&body, 8);
    let cut = &input[..input.len() - 3];
    for arrivals in arrival_patterns(cut.len()) {
        let got = drive(
            put_pipeline(BodyFraming::Chunked, Alignment::NONE, 1 << 20),
            cut,
            64,
            arrivals,
            Alignment::NONE,
        );
        assert_eq!(
            got,
            Err(PipelineError::Body(BodyError::Truncated)),
            "{arrivals:?}"
        );
    }
}

fn sample_multipart() -> Vec<u8> {
    let big = pattern(333, 5);
    let small = pattern(17, 6);
    multipart_body(&[
        ("note", None, b"a form field, discarded"),
        ("f", Some("a.txt"), &big),
        ("g", Some("b.bin"), &small),
        ("h", Some("empty"), b""),
        ("k", None, &pattern(90, 7)),
        ("f", Some("c.txt"), b"\r\n--not-the-boundary\r\n"),
    ])
}

#[test]
fn multipart_every_split_every_alignment() {
    let body = sample_multipart();
    for framing_chunk in [None, Some(1), Some(61)] {
        let (framing, input) = match framing_chunk {
            None => (BodyFraming::Length(body.len() as u64), body.clone()),
            Some(size) => (BodyFraming::Chunked, chunked(&body, size)),
        };
        let expected = reference(
            multipart_pipeline(framing, Alignment::NONE, 1 << 20),
            &input,
        )
        .unwrap();
        let names: Vec<&str> = expected.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a.txt", "b.bin", "empty", "c.txt"]);
        assert_eq!(expected.files[0].1, pattern(333, 5));
        assert_eq!(expected.files[3].1, b"\r\n--not-the-boundary\r\n");
        for align in [1, 16, 128] {
            let align = Alignment::new(align).unwrap();
            let planner_min = multipart_pipeline(framing, align, 1 << 20).max_carry_bytes();
            for capacity in [planner_min + 1, planner_min + 97, 4 * planner_min] {
                for arrivals in arrival_patterns(input.len()) {
                    let got = drive(
                        multipart_pipeline(framing, align, 1 << 20),
                        &input,
                        capacity,
                        arrivals,
                        align,
                    )
                    .unwrap();
                    assert_eq!(
                        got, expected,
                        "{framing:?} {align:?} capacity {capacity} {arrivals:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn multipart_errors_are_the_same_however_split() {
    let mut body = sample_multipart();
    body.truncate(body.len() - 4); // no close delimiter
    let framing = BodyFraming::Length(body.len() as u64);
    let expected = reference(multipart_pipeline(framing, Alignment::NONE, 1 << 20), &body);
    assert_eq!(
        expected,
        Err(PipelineError::Plan(PlanError::Multipart(
            MultipartError::Truncated
        )))
    );
    for arrivals in arrival_patterns(body.len()) {
        let got = drive(
            multipart_pipeline(framing, Alignment::new(16).unwrap(), 1 << 20),
            &body,
            1200,
            arrivals,
            Alignment::new(16).unwrap(),
        );
        assert_eq!(got, expected, "{arrivals:?}");
    }
    let big = sample_multipart();
    let framing = BodyFraming::Length(big.len() as u64);
    let got = drive(
        multipart_pipeline(framing, Alignment::NONE, 300),
        &big,
        1200,
        Arrivals { first: 5, piece: 9 },
        Alignment::NONE,
    );
    assert_eq!(
        got,
        Err(PipelineError::Plan(PlanError::FileTooLarge { limit: 300 }))
    );
}

#[test]
fn block_alignment_with_real_blocks() {
    // 4 KiB blocks, 64 KiB buffers (the smallest the server allows), files
    // that straddle buffers.
    let a = pattern(150_000, 8);
    let b = pattern(4096 * 3, 9);
    let body = multipart_body(&[("f", Some("a"), &a), ("g", Some("b"), &b)]);
    let framing = BodyFraming::Length(body.len() as u64);
    let expected = reference(multipart_pipeline(framing, Alignment::NONE, 1 << 30), &body).unwrap();
    for piece in [0, 1000, 65_536, 70_001] {
        for first in [0, 100, 5000] {
            let arrivals = Arrivals { first, piece };
            let got = drive(
                multipart_pipeline(framing, Alignment::BLOCK, 1 << 30),
                &body,
                64 * 1024,
                arrivals,
                Alignment::BLOCK,
            )
            .unwrap();
            assert_eq!(got, expected, "{arrivals:?}");
        }
    }
    let put_framing = BodyFraming::Length(a.len() as u64);
    for piece in [0, 1, 4095, 4097, 65_536] {
        let arrivals = Arrivals { first: 77, piece };
        let got = drive(
            put_pipeline(put_framing, Alignment::BLOCK, 1 << 30),
            &a,
            64 * 1024,
            arrivals,
            Alignment::BLOCK,
        )
        .unwrap();
        assert_eq!(got.files[0].1, a, "{arrivals:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Random files and fields, random framing, random arrivals and
    /// buffer sizes: the stored files equal the reference run.
    #[test]
    fn multipart_matches_the_reference(
        sizes in proptest::collection::vec((0usize..700, any::<bool>()), 1..6),
        chunk in proptest::option::of(1usize..200),
        align_shift in 0u32..8,
        first in 0usize..2000,
        piece in 0usize..300,
        extra_capacity in 1usize..600,
    ) {
        let contents: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, (n, _))| pattern(*n, i as u8)).collect();
        let names: Vec<String> = (0..sizes.len()).map(|i| format!("f{i}.bin")).collect();
        let parts: Vec<(&str, Option<&str>, &[u8])> = sizes
            .iter()
            .enumerate()
            .map(|(i, (_, is_file))| ("x", is_file.then_some(names[i].as_str()), contents[i].as_slice()))
            .collect();
        let body = multipart_body(&parts);
        let (framing, input) = match chunk {
            None => (BodyFraming::Length(body.len() as u64), body.clone()),
            Some(size) => (BodyFraming::Chunked, chunked(&body, size)),
        };
        let align = Alignment::new(1 << align_shift).unwrap();
        let expected = reference(multipart_pipeline(framing, Alignment::NONE, 1 << 20), &input).unwrap();
        let stored: Vec<&Vec<u8>> = expected.files.iter().map(|(_, c)| c).collect();
        let want: Vec<&Vec<u8>> = sizes.iter().zip(&contents).filter(|((_, f), _)| *f).map(|(_, c)| c).collect();
        prop_assert_eq!(stored, want);
        let capacity = multipart_pipeline(framing, align, 1 << 20).max_carry_bytes() + extra_capacity;
        let got = drive(multipart_pipeline(framing, align, 1 << 20), &input, capacity, Arrivals { first, piece }, align).unwrap();
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn a_resumed_file_continues_block_aligned_after_its_re_read_partial_block() {
    // 10 000 bytes are on disk; the partial last block (8192..10000) is
    // re-read and held in front of the new body.
    let old = pattern(10_000, 11);
    let new = pattern(70_000, 12);
    let offset = 8192u64;
    let prefix = &old[offset as usize..];
    let mut input = prefix.to_vec();
    input.extend_from_slice(&new);
    let framing = BodyFraming::Length(new.len() as u64);
    let pipeline = BodyPipeline::with_held(
        BodyDecoder::new(framing, ChunkedLimits::default()),
        PutPlanner::starting_at(Alignment::BLOCK, 1 << 30, offset),
        prefix.len(),
    );
    // The driver carries `prefix` as the first buffer's decoded front.
    let mut buf = vec![0u8; 64 * 1024];
    let n = input.len().min(buf.len());
    buf[..n].copy_from_slice(&input[..n]);
    let mut plan = Plan::default();
    let mut pipeline = pipeline;
    let processed = pipeline.process(&mut buf, 64 * 1024, &mut plan).unwrap();
    let first = &plan.writes[0];
    assert_eq!(first.offset, offset);
    assert_eq!(first.range.start, 0);
    assert!(Alignment::BLOCK.is_aligned(first.range.len()));
    assert_eq!(&buf[..prefix.len()], prefix);
    assert!(!processed.ended);
}

#[test]
fn body_ends_within_tells_whether_raw_bytes_complete_the_body() {
    let length = put_pipeline(BodyFraming::Length(10), Alignment::NONE, 1 << 20);
    assert!(!length.body_ends_within(b"123456789"));
    assert!(length.body_ends_within(b"0123456789"));
    assert!(length.body_ends_within(b"0123456789GET"));
    let framed = chunked(b"hello world", 3);
    let chunked_pipeline = put_pipeline(BodyFraming::Chunked, Alignment::NONE, 1 << 20);
    for cut in 0..framed.len() {
        assert!(
            !chunked_pipeline.body_ends_within(&framed[..cut]),
            "cut {cut}"
        );
    }
    assert!(chunked_pipeline.body_ends_within(&framed));
    // Broken framing: let the next process() report it.
    assert!(chunked_pipeline.body_ends_within(b"zz\r\n"));
}

#[test]
fn check_ahead_reports_what_process_would_on_the_bytes_in_hand_and_changes_nothing() {
    let good = sample_multipart();
    let framing = BodyFraming::Length(good.len() as u64 + 1000);
    let pipeline = multipart_pipeline(framing, Alignment::new(16).unwrap(), 1 << 20);
    let mut scratch = Vec::new();
    // Every prefix of a well-formed body passes, and the pipeline is
    // untouched: the whole body still goes through it afterwards.
    for cut in 0..=good.len() {
        assert_eq!(
            pipeline.check_ahead(&good[..cut], &mut scratch),
            Ok(()),
            "cut {cut}"
        );
    }
    let exact = BodyFraming::Length(good.len() as u64);
    let fresh = multipart_pipeline(exact, Alignment::NONE, 1 << 20);
    fresh
        .check_ahead(&good[..good.len() / 2], &mut scratch)
        .unwrap();
    assert_eq!(
        reference(fresh, &good),
        reference(multipart_pipeline(exact, Alignment::NONE, 1 << 20), &good)
    );
    // A part head without Content-Disposition is refused from its first
    // bytes, as process() would refuse it.
    let bad = format!("--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nsome content");
    let mut real = multipart_pipeline(framing, Alignment::NONE, 1 << 20);
    let ahead = real.check_ahead(bad.as_bytes(), &mut scratch);
    assert!(ahead.is_err(), "{ahead:?}");
    let mut buf = bad.clone().into_bytes();
    let mut plan = Plan::default();
    assert_eq!(
        ahead.map(|_| ()),
        real.process(&mut buf, bad.len(), &mut plan).map(|_| ())
    );
    // Chunked framing errors too.
    let chunked_pipeline = put_pipeline(BodyFraming::Chunked, Alignment::NONE, 1 << 20);
    assert!(chunked_pipeline
        .check_ahead(b"zz\r\n", &mut scratch)
        .is_err());
    assert_eq!(
        chunked_pipeline.check_ahead(b"5\r\nab", &mut scratch),
        Ok(())
    );
}
