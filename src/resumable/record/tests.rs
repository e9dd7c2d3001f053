use super::*;
use crate::resumable::{Checksum, IetfDraft, RecordError, MAX_METADATA_BYTES, RECORD_MAX_BYTES};

const NOW: i64 = 1_700_000_000;

fn limits() -> ResumableLimits {
    ResumableLimits {
        max_upload_bytes: 1000,
        max_unfinished_uploads: 10,
        max_staged_bytes: 5000,
        ..ResumableLimits::default()
    }
}

fn new_record(protocol: Protocol, length: UploadLength) -> UploadRecord {
    let meta = Metadata::parse(b"filename YS50eHQ=", 2048).unwrap();
    UploadRecord::create(
        &NewUpload {
            id: UploadId::from_random([9; 16]),
            protocol,
            target_dir: "in/box",
            name: meta.filename().as_deref(),
            commit_mode: CommitMode::NewName,
            length,
            owner: "user:alice",
            metadata: &meta,
        },
        StagingUsage::default(),
        NOW,
        &limits(),
    )
    .unwrap()
}

fn chunk(offset: u64, body: BodyFraming) -> Chunk {
    Chunk {
        offset,
        body,
        complete: None,
        length: None,
        checksum: None,
    }
}

fn append(rec: &UploadRecord, c: &Chunk, received: u64) -> Result<AppendOutcome, ResumableError> {
    let plan = rec.begin_append(c, StagingUsage::default(), NOW + 1, &limits())?;
    rec.finish_append(
        &plan,
        received,
        BodyEnd::Complete,
        ChecksumOutcome::NotRequested,
        NOW + 1,
        &limits(),
    )
}

const IETF: Protocol = Protocol::Ietf(IetfDraft::Interop8);

#[test]
fn create_limits_table() {
    let meta = Metadata::default();
    let base = NewUpload {
        id: UploadId::from_random([1; 16]),
        protocol: Protocol::Tus,
        target_dir: "",
        name: Some("x"),
        commit_mode: CommitMode::NewName,
        length: UploadLength::Known(1000),
        owner: "anonymous",
        metadata: &meta,
    };
    let long_dir = "d".repeat(MAX_TARGET_DIR_BYTES + 1);
    let at_limit_dir = "d".repeat(MAX_TARGET_DIR_BYTES);
    let long_owner = "o".repeat(MAX_OWNER_BYTES + 1);
    let full = StagingUsage {
        unfinished_uploads: 10,
        staged_bytes: 0,
    };
    let staged = StagingUsage {
        unfinished_uploads: 0,
        staged_bytes: 5000,
    };
    let cases: Vec<(
        &str,
        NewUpload<'_>,
        StagingUsage,
        Result<(), ResumableError>,
    )> = vec![
        ("ok at max length", base, StagingUsage::default(), Ok(())),
        (
            "one byte over max",
            NewUpload {
                length: UploadLength::Known(1001),
                ..base
            },
            StagingUsage::default(),
            Err(ResumableError::TooLarge { limit: 1000 }),
        ),
        (
            "too many unfinished",
            base,
            full,
            Err(ResumableError::TooManyUploads { limit: 10 }),
        ),
        (
            "staging full",
            base,
            staged,
            Err(ResumableError::StagingFull { limit: 5000 }),
        ),
        (
            "dir at limit",
            NewUpload {
                target_dir: &at_limit_dir,
                ..base
            },
            StagingUsage::default(),
            Ok(()),
        ),
        (
            "dir over limit",
            NewUpload {
                target_dir: &long_dir,
                ..base
            },
            StagingUsage::default(),
            Err(ResumableError::TargetPathTooLong {
                limit: MAX_TARGET_DIR_BYTES,
            }),
        ),
        (
            "staging dir as target",
            NewUpload {
                target_dir: ".ringdrop-uploads",
                ..base
            },
            StagingUsage::default(),
            Err(ResumableError::NotFound),
        ),
        (
            "dot-dot target",
            NewUpload {
                target_dir: "a/../b",
                ..base
            },
            StagingUsage::default(),
            Err(ResumableError::NotFound),
        ),
        (
            "name dot-dot",
            NewUpload {
                name: Some("x/.."),
                ..base
            },
            StagingUsage::default(),
            Err(ResumableError::InvalidFilename),
        ),
        (
            "owner too long",
            NewUpload {
                owner: &long_owner,
                ..base
            },
            StagingUsage::default(),
            Err(ResumableError::InvalidOwner {
                limit: MAX_OWNER_BYTES,
            }),
        ),
    ];
    for (name, new, usage, want) in cases {
        let got = UploadRecord::create(&new, usage, NOW, &limits()).map(|_| ());
        assert_eq!(got, want, "{name}");
    }
    let no_name = UploadRecord::create(
        &NewUpload { name: None, ..base },
        StagingUsage::default(),
        NOW,
        &limits(),
    )
    .unwrap();
    assert_eq!(no_name.filename, "01010101010101010101010101010101");
    let path_name = UploadRecord::create(
        &NewUpload {
            name: Some("C:\\x\\y.txt"),
            ..base
        },
        StagingUsage::default(),
        NOW,
        &limits(),
    )
    .unwrap();
    assert_eq!(path_name.filename, "y.txt");
}

#[test]
fn tus_append_sequence_to_commit() {
    let rec = new_record(Protocol::Tus, UploadLength::Known(10));
    assert!(!rec.is_tus_complete());
    let a = append(&rec, &chunk(0, BodyFraming::Length(4)), 4).unwrap();
    assert!(a.changed && !a.ready_to_commit);
    assert_eq!(a.record.offset, 4);
    assert_eq!(a.record.seq, 1);
    assert_eq!(a.record.expires_at, NOW + 1 + 24 * 3600);
    let b = append(&a.record, &chunk(4, BodyFraming::Chunked), 6).unwrap();
    assert!(b.ready_to_commit);
    let committing = b.record.begin_commit("a (1).txt").unwrap();
    assert_eq!(committing.final_path().as_deref(), Some("in/box/a (1).txt"));
    assert_eq!(committing.terminate(), Err(ResumableError::UploadBusy));
    assert_eq!(
        committing.begin_append(
            &chunk(10, BodyFraming::None),
            StagingUsage::default(),
            NOW,
            &limits()
        ),
        Err(ResumableError::UploadBusy)
    );
    assert_eq!(
        committing.sweep(NOW),
        SweepAction::ResumeCommit {
            name: "a (1).txt".into()
        }
    );
    let done = committing.finish_commit(NOW + 2, &limits()).unwrap();
    assert_eq!(
        done.state,
        UploadState::Completed {
            name: "a (1).txt".into()
        }
    );
    assert_eq!(done.expires_at, NOW + 2 + 3600);
    assert!(!done.is_unfinished());
    assert_eq!(done.terminate(), Ok(Removal::RecordOnly));
    // A repeated empty PATCH at the final offset is answered again.
    let plan = done
        .begin_append(
            &chunk(10, BodyFraming::None),
            StagingUsage::default(),
            NOW + 3,
            &limits(),
        )
        .unwrap();
    assert!(plan.already_complete);
    // More bytes to a completed upload are refused.
    assert_eq!(
        done.begin_append(
            &chunk(10, BodyFraming::Length(1)),
            StagingUsage::default(),
            NOW + 3,
            &limits()
        ),
        Err(ResumableError::UploadCompleted)
    );
    assert_eq!(done.finish_commit(NOW, &limits()), Some(done.clone()));
    assert_eq!(rec.finish_commit(NOW, &limits()), None);
}

#[test]
fn begin_append_table() {
    let tus = new_record(Protocol::Tus, UploadLength::Known(100));
    let tus_at_40 = append(&tus, &chunk(0, BodyFraming::Length(40)), 40)
        .unwrap()
        .record;
    let deferred = new_record(Protocol::Tus, UploadLength::Deferred);
    let ietf = new_record(IETF, UploadLength::Deferred);
    let usage = StagingUsage::default();
    let with_len = |c: Chunk, l| Chunk {
        length: Some(l),
        ..c
    };
    /// (name, record, chunk, now, usage, want max_bytes)
    type Case<'a> = (
        &'a str,
        &'a UploadRecord,
        Chunk,
        i64,
        StagingUsage,
        Result<u64, ResumableError>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "fits",
            &tus_at_40,
            chunk(40, BodyFraming::Length(60)),
            NOW,
            usage,
            Ok(60),
        ),
        (
            "one byte over declared length",
            &tus_at_40,
            chunk(40, BodyFraming::Length(61)),
            NOW,
            usage,
            Err(ResumableError::TooLarge { limit: 100 }),
        ),
        (
            "chunked gets the room",
            &tus_at_40,
            chunk(40, BodyFraming::Chunked),
            NOW,
            usage,
            Ok(60),
        ),
        (
            "offset behind",
            &tus_at_40,
            chunk(39, BodyFraming::Length(1)),
            NOW,
            usage,
            Err(ResumableError::OffsetMismatch {
                expected: 40,
                provided: 39,
            }),
        ),
        (
            "offset ahead",
            &tus_at_40,
            chunk(41, BodyFraming::Length(1)),
            NOW,
            usage,
            Err(ResumableError::OffsetMismatch {
                expected: 40,
                provided: 41,
            }),
        ),
        (
            "expired",
            &tus_at_40,
            chunk(40, BodyFraming::Length(1)),
            tus_at_40.expires_at,
            usage,
            Err(ResumableError::Gone),
        ),
        (
            "length changes",
            &tus_at_40,
            with_len(chunk(40, BodyFraming::None), 99),
            NOW,
            usage,
            Err(ResumableError::InconsistentLength),
        ),
        (
            "same length again",
            &tus_at_40,
            with_len(chunk(40, BodyFraming::None), 100),
            NOW,
            usage,
            Ok(60),
        ),
        (
            "deferred: server max",
            &deferred,
            chunk(0, BodyFraming::Chunked),
            NOW,
            usage,
            Ok(1000),
        ),
        (
            "deferred: over server max",
            &deferred,
            chunk(0, BodyFraming::Length(1001)),
            NOW,
            usage,
            Err(ResumableError::TooLarge { limit: 1000 }),
        ),
        (
            "deferred: set once",
            &deferred,
            with_len(chunk(0, BodyFraming::Length(5)), 5),
            NOW,
            usage,
            Ok(5),
        ),
        (
            "deferred: set above max",
            &deferred,
            with_len(chunk(0, BodyFraming::None), 1001),
            NOW,
            usage,
            Err(ResumableError::TooLarge { limit: 1000 }),
        ),
        (
            "staging room",
            &deferred,
            chunk(0, BodyFraming::Length(11)),
            NOW,
            StagingUsage {
                unfinished_uploads: 1,
                staged_bytes: 4990,
            },
            Err(ResumableError::StagingFull { limit: 5000 }),
        ),
        (
            "staging room exact",
            &deferred,
            chunk(0, BodyFraming::Length(10)),
            NOW,
            StagingUsage {
                unfinished_uploads: 1,
                staged_bytes: 4990,
            },
            Ok(10),
        ),
        (
            "ietf deferred",
            &ietf,
            chunk(0, BodyFraming::None),
            NOW,
            usage,
            Ok(1000),
        ),
    ];
    for (name, rec, c, now, usage, want) in cases {
        let got = rec
            .begin_append(&c, usage, now, &limits())
            .map(|p| p.max_bytes);
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn deferred_length_is_set_below_offset_refused() {
    let rec = new_record(Protocol::Tus, UploadLength::Deferred);
    let at_5 = append(&rec, &chunk(0, BodyFraming::Length(5)), 5).unwrap();
    assert!(!at_5.ready_to_commit);
    let c = Chunk {
        length: Some(4),
        ..chunk(5, BodyFraming::None)
    };
    assert_eq!(
        at_5.record
            .begin_append(&c, StagingUsage::default(), NOW, &limits()),
        Err(ResumableError::InconsistentLength)
    );
    // Setting it to the current offset with an empty PATCH completes it.
    let c = Chunk {
        length: Some(5),
        ..chunk(5, BodyFraming::None)
    };
    let done = append(&at_5.record, &c, 0).unwrap();
    assert!(done.ready_to_commit && done.changed);
    assert_eq!(done.record.length, UploadLength::Known(5));
}

#[test]
fn checksum_and_interruption_outcomes() {
    let rec = new_record(Protocol::Tus, UploadLength::Known(10));
    let c = Chunk {
        checksum: Some(Checksum::compute(crate::digest::Algorithm::Sha1, b"abcd")),
        ..chunk(0, BodyFraming::Length(4))
    };
    let plan = rec
        .begin_append(&c, StagingUsage::default(), NOW, &limits())
        .unwrap();
    let finish =
        |received, body, sum| rec.finish_append(&plan, received, body, sum, NOW, &limits());
    assert_eq!(
        finish(4, BodyEnd::Complete, ChecksumOutcome::Mismatched),
        Err(ResumableError::ChecksumMismatch)
    );
    let unverifiable = finish(2, BodyEnd::Interrupted, ChecksumOutcome::Unverifiable).unwrap();
    assert!(!unverifiable.changed);
    assert_eq!(unverifiable.record, rec);
    let matched = finish(4, BodyEnd::Complete, ChecksumOutcome::Matched).unwrap();
    assert_eq!(matched.record.offset, 4);
    // Without a checksum, an interrupted body keeps what arrived.
    let plan = rec
        .begin_append(
            &chunk(0, BodyFraming::Length(8)),
            StagingUsage::default(),
            NOW,
            &limits(),
        )
        .unwrap();
    let cut = rec
        .finish_append(
            &plan,
            3,
            BodyEnd::Interrupted,
            ChecksumOutcome::NotRequested,
            NOW,
            &limits(),
        )
        .unwrap();
    assert_eq!(
        (cut.record.offset, cut.changed, cut.ready_to_commit),
        (3, true, false)
    );
    // More bytes than planned is the plan's overflow error.
    assert_eq!(
        plan.check_received(11),
        Err(ResumableError::TooLarge { limit: 10 })
    );
    assert_eq!(
        rec.finish_append(
            &plan,
            11,
            BodyEnd::Complete,
            ChecksumOutcome::NotRequested,
            NOW,
            &limits()
        ),
        Err(ResumableError::TooLarge { limit: 10 })
    );
}

#[test]
fn ietf_completion_rules() {
    let rec = new_record(IETF, UploadLength::Deferred);
    let ietf = |offset, body, complete, length| Chunk {
        offset,
        body,
        complete: Some(complete),
        length,
        checksum: None,
    };
    // ?0 with bytes: appended, not complete, even at a known length.
    let a = append(&rec, &ietf(0, BodyFraming::Length(5), false, None), 5).unwrap();
    assert!(!a.ready_to_commit);
    assert_eq!(a.record.length, UploadLength::Deferred);
    // ?1 with a chunked body: the length becomes the final offset.
    let b = append(&a.record, &ietf(5, BodyFraming::Chunked, true, None), 7).unwrap();
    assert!(b.ready_to_commit);
    assert_eq!(b.record.length, UploadLength::Known(12));
    // ?1 but fewer bytes than the declared length: inconsistent.
    let known = new_record(IETF, UploadLength::Known(10));
    assert_eq!(
        append(&known, &ietf(0, BodyFraming::Chunked, true, None), 9),
        Err(ResumableError::InconsistentLength)
    );
    // ?1 interrupted: the bytes stay, the upload is not complete.
    let plan = known
        .begin_append(
            &ietf(0, BodyFraming::Length(10), true, Some(10)),
            StagingUsage::default(),
            NOW,
            &limits(),
        )
        .unwrap();
    let cut = known
        .finish_append(
            &plan,
            6,
            BodyEnd::Interrupted,
            ChecksumOutcome::NotRequested,
            NOW,
            &limits(),
        )
        .unwrap();
    assert_eq!((cut.record.offset, cut.ready_to_commit), (6, false));
    // ?0 that brings the offset to the declared length: complete all the
    // same, no byte can follow (tus-js-client's ietf-draft-05 ends so).
    let full = append(&known, &ietf(0, BodyFraming::Length(10), false, None), 10).unwrap();
    assert!(full.ready_to_commit);
    // A ?1 request cut after its last byte: the next (empty) request
    // completes it.
    let cut_full = known
        .finish_append(
            &plan,
            10,
            BodyEnd::Interrupted,
            ChecksumOutcome::NotRequested,
            NOW,
            &limits(),
        )
        .unwrap();
    assert_eq!(
        (cut_full.record.offset, cut_full.ready_to_commit),
        (10, false)
    );
    for complete in [true, false] {
        let done = append(
            &cut_full.record,
            &ietf(10, BodyFraming::None, complete, Some(10)),
            0,
        )
        .unwrap();
        assert!(done.ready_to_commit, "?{}", u8::from(complete));
    }
}

#[test]
fn tus_zero_length_is_complete_at_creation() {
    let rec = new_record(Protocol::Tus, UploadLength::Known(0));
    assert!(rec.is_tus_complete());
    assert!(rec.begin_commit("a.txt").is_ok());
    let ietf = new_record(IETF, UploadLength::Known(0));
    assert!(!ietf.is_tus_complete());
}

#[test]
fn begin_commit_requires_all_bytes_and_a_clean_name() {
    let rec = new_record(Protocol::Tus, UploadLength::Known(3));
    assert_eq!(
        rec.begin_commit("a.txt"),
        Err(ResumableError::InconsistentLength)
    );
    let full = append(&rec, &chunk(0, BodyFraming::Length(3)), 3)
        .unwrap()
        .record;
    for bad in ["", "..", "a/b", "a\u{1}"] {
        assert_eq!(
            full.begin_commit(bad),
            Err(ResumableError::InvalidFilename),
            "{bad:?}"
        );
    }
    let c = full.begin_commit("a.txt").unwrap();
    // A collision retry renames the commit.
    let c2 = c.begin_commit("a (1).txt").unwrap();
    assert_eq!(c2.seq, c.seq + 1);
}

#[test]
fn sweep_table() {
    let active = new_record(Protocol::Tus, UploadLength::Known(3));
    assert_eq!(active.sweep(NOW), SweepAction::Keep);
    assert_eq!(
        active.sweep(active.expires_at),
        SweepAction::Remove(Removal::RecordAndData)
    );
    assert_eq!(active.check_live(active.expires_at - 1), Ok(()));
    assert_eq!(
        active.check_live(active.expires_at),
        Err(ResumableError::Gone)
    );
    let done = append(&active, &chunk(0, BodyFraming::Length(3)), 3)
        .unwrap()
        .record
        .begin_commit("a.txt")
        .unwrap()
        .finish_commit(NOW, &limits())
        .unwrap();
    assert_eq!(done.sweep(done.expires_at - 1), SweepAction::Keep);
    assert_eq!(
        done.sweep(done.expires_at),
        SweepAction::Remove(Removal::RecordOnly)
    );
}

// ---------------------------------------------------------------------------
// The on-disk encoding
// ---------------------------------------------------------------------------

/// Records in every state and protocol.
fn sample_records() -> Vec<UploadRecord> {
    let mut out = Vec::new();
    for protocol in [
        Protocol::Tus,
        Protocol::Ietf(IetfDraft::Interop3),
        Protocol::Ietf(IetfDraft::Interop6),
        IETF,
        Protocol::Ietf(IetfDraft::Final),
    ] {
        let rec = new_record(protocol, UploadLength::Known(4));
        let half = append(&rec, &chunk(0, BodyFraming::Length(2)), 2)
            .unwrap()
            .record;
        out.push(rec.clone());
        out.push(half);
        let mut full = rec.clone();
        full.offset = 4;
        let committing = full.begin_commit("a.txt").unwrap();
        out.push(committing.clone());
        out.push(committing.finish_commit(NOW, &limits()).unwrap());
    }
    out.push(new_record(Protocol::Tus, UploadLength::Deferred));
    let mut replace = new_record(Protocol::Tus, UploadLength::Deferred);
    replace.commit_mode = CommitMode::Replace;
    out.push(replace.clone());
    replace.commit_mode = CommitMode::CreateOnly;
    replace.created_at = -5;
    replace.expires_at = i64::MAX;
    replace.seq = u64::MAX;
    out.push(replace);
    out
}

#[test]
fn encode_decode_round_trips() {
    for rec in sample_records() {
        let bytes = rec.encode().unwrap();
        assert!(bytes.len() <= RECORD_MAX_BYTES);
        assert!(bytes.starts_with(b"RDUPLD\r\n"));
        assert_eq!(UploadRecord::decode(&bytes), Ok(rec.clone()), "{rec:?}");
    }
}

#[test]
fn the_largest_record_fits_in_4_kib() {
    let dir = vec!["d".repeat(254); 5].join("/");
    let dir = &dir[..MAX_TARGET_DIR_BYTES];
    let dir = dir.trim_end_matches('/');
    // Padded base64, so the canonical form is as long as the input.
    let value = "A".repeat((MAX_METADATA_BYTES - 2) / 4 * 4);
    let meta_text = format!("k {value}");
    let meta = Metadata::parse(meta_text.as_bytes(), MAX_METADATA_BYTES).unwrap();
    let name = "n".repeat(255);
    let owner = "o".repeat(MAX_OWNER_BYTES);
    let rec = UploadRecord::create(
        &NewUpload {
            id: UploadId::from_random([0xff; 16]),
            protocol: IETF,
            target_dir: dir,
            name: Some(&name),
            commit_mode: CommitMode::NewName,
            length: UploadLength::Known(0),
            owner: &owner,
            metadata: &meta,
        },
        StagingUsage::default(),
        NOW,
        &ResumableLimits::default(),
    )
    .unwrap();
    assert!(rec.metadata.len() <= MAX_METADATA_BYTES);
    let committing = rec.begin_commit(&"m".repeat(255)).unwrap();
    let bytes = committing.encode().unwrap();
    assert!(bytes.len() <= RECORD_MAX_BYTES, "{}", bytes.len());
    assert_eq!(UploadRecord::decode(&bytes), Ok(committing));
}

#[test]
fn every_single_byte_change_and_truncation_is_detected() {
    let rec = sample_records().swap_remove(1);
    let bytes = rec.encode().unwrap();
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = bytes.clone();
            bad[i] ^= flip;
            assert!(UploadRecord::decode(&bad).is_err(), "byte {i} ^ {flip:#x}");
        }
    }
    for n in 0..bytes.len() {
        assert!(
            UploadRecord::decode(&bytes[..n]).is_err(),
            "truncated to {n}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(UploadRecord::decode(&longer), Err(RecordError::Truncated));
}

#[test]
fn decode_error_table() {
    let good = sample_records().swap_remove(0).encode().unwrap();
    // Re-seal a modified body with a correct digest, to reach the field checks.
    let reseal = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut body = good[..good.len() - 32].to_vec();
        f(&mut body);
        let total = u16::try_from(body.len() + 32).unwrap();
        body[10..12].copy_from_slice(&total.to_le_bytes());
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&body);
        body.extend_from_slice(&digest);
        body
    };
    let cases: Vec<(&str, Vec<u8>, RecordError)> = vec![
        ("empty", vec![], RecordError::Truncated),
        (
            "foreign",
            b"{\"json\":true}".to_vec(),
            RecordError::BadMagic,
        ),
        ("foreign long", vec![b'x'; 200], RecordError::BadMagic),
        ("magic prefix", good[..20].to_vec(), RecordError::Truncated),
        (
            "version 2",
            reseal(&|b| b[8] = 2),
            RecordError::UnsupportedVersion { found: 2 },
        ),
        (
            "protocol 7",
            reseal(&|b| b[28] = 7),
            RecordError::InvalidField { field: "protocol" },
        ),
        (
            "tus with interop",
            reseal(&|b| b[29] = 6),
            RecordError::InvalidField { field: "protocol" },
        ),
        (
            "state 3",
            reseal(&|b| b[30] = 3),
            RecordError::InvalidField { field: "state" },
        ),
        (
            "committing without name",
            reseal(&|b| b[30] = 1),
            RecordError::InvalidField {
                field: "final_name",
            },
        ),
        (
            "commit mode 3",
            reseal(&|b| b[31] = 3),
            RecordError::InvalidField {
                field: "commit_mode",
            },
        ),
        (
            "length kind 2",
            reseal(&|b| b[32] = 2),
            RecordError::InvalidField { field: "length" },
        ),
        (
            "reserved",
            reseal(&|b| b[39] = 1),
            RecordError::InvalidField { field: "reserved" },
        ),
        (
            "offset past length",
            reseal(&|b| b[48] = 200),
            RecordError::InvalidField { field: "offset" },
        ),
        (
            "string lengths",
            reseal(&|b| b[80] = b[80].wrapping_add(1)),
            RecordError::Truncated,
        ),
        (
            "bad utf-8",
            reseal(&|b| b[90] = 0xff),
            RecordError::InvalidField {
                field: "target_dir",
            },
        ),
        (
            "dot-dot dir",
            reseal(&|b| b[90..92].copy_from_slice(b"..")),
            RecordError::InvalidField {
                field: "target_dir",
            },
        ),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(UploadRecord::decode(&bytes), Err(want), "{name}");
    }
}

proptest::proptest! {
    /// Decoding arbitrary bytes never panics, and whatever decodes encodes
    /// back to the same bytes (the digest pins the encoding).
    #[test]
    fn decode_arbitrary(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        if let Ok(rec) = UploadRecord::decode(&bytes) {
            proptest::prop_assert_eq!(rec.encode().unwrap(), bytes);
        }
    }

    /// Oracle for appends: a sequence of chunk sizes lands on their sum,
    /// ready exactly when the sum reaches the declared length.
    #[test]
    fn appends_sum_up(sizes in proptest::collection::vec(0u64..50, 1..8), extra in 0u64..3) {
        let total: u64 = sizes.iter().sum::<u64>() + extra;
        let mut rec = new_record(Protocol::Tus, UploadLength::Known(total));
        let mut offset = 0;
        for &n in &sizes {
            let out = append(&rec, &chunk(offset, BodyFraming::Length(n)), n).unwrap();
            offset += n;
            proptest::prop_assert_eq!(out.record.offset, offset);
            proptest::prop_assert_eq!(out.ready_to_commit, offset == total);
            rec = out.record;
            let again = UploadRecord::decode(&rec.encode().unwrap()).unwrap();
            proptest::prop_assert_eq!(&again, &rec);
        }
    }
}
