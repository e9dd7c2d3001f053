//! Fuzz entry points for the resumable-upload codecs and the upload
//! record decoder (`fuzz/fuzz_targets/tus_*.rs`, `ietf_headers.rs`,
//! `upload_record.rs`). None of these cores is incremental (a header value
//! or a record file is whole when parsed), so the invariants are: no
//! panic, errors map to an error status, and everything accepted survives
//! format → parse unchanged.

use crate::http::BodyFraming;
use crate::resumable::headers::{
    format_expires, parse_expires, parse_sf_boolean, parse_u64, UploadLimit, SF_INTEGER_MAX,
};
use crate::resumable::{
    classify, Checksum, CommitMode, Field, Metadata, NewUpload, Operation, PathShape, Protocol,
    RequestHeaders, ResumableLimits, StagingUsage, UploadId, UploadLength, UploadRecord,
    MAX_METADATA_BYTES, RECORD_MAX_BYTES,
};

/// `Upload-Metadata`: parsed with a small and the default limit; a parsed
/// value has valid, unique keys, and its canonical form parses to the same
/// pairs and is a fixed point.
pub fn fuzz_tus_metadata(data: &[u8]) {
    for max in [64, MAX_METADATA_BYTES] {
        match Metadata::parse(data, max) {
            Ok(m) => {
                assert!(data.len() <= max);
                for (i, (key, _)) in m.entries().iter().enumerate() {
                    assert!(
                        !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic() && b != b',')
                    );
                    assert!(
                        m.entries()[..i].iter().all(|(k, _)| k != key),
                        "duplicate {key}"
                    );
                }
                let canonical = m.to_header();
                let again = Metadata::parse(canonical.as_bytes(), usize::MAX)
                    .unwrap_or_else(|e| panic!("canonical {canonical:?} rejected: {e:?}"));
                assert_eq!(again, m, "canonical form parses differently");
                assert_eq!(
                    again.to_header(),
                    canonical,
                    "canonical form is not a fixed point"
                );
                let _ = m.filename();
            }
            Err(e) => {
                assert!(matches!(e.status(), 400 | 431), "{e:?}");
                if data.len() > max {
                    assert_eq!(e.status(), 431);
                }
            }
        }
    }
}

/// `Upload-Checksum`: a parsed value has a digest of its algorithm's
/// length and round-trips through `to_header`; errors are 400. The
/// streaming verifier gives the same answer however the data is split.
pub fn fuzz_tus_checksum(data: &[u8]) {
    match Checksum::parse(data) {
        Ok(c) => {
            assert_eq!(c.digest().len(), c.algorithm().digest_len());
            assert_eq!(Checksum::parse(c.to_header().as_bytes()), Ok(c));
        }
        Err(e) => assert_eq!(e.status(), 400, "{e:?}"),
    }
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    for algorithm in crate::digest::Algorithm::ALL {
        let sum = Checksum::compute(algorithm, data);
        assert_eq!(Checksum::parse(sum.to_header().as_bytes()), Ok(sum));
        let mut v = sum.verifier();
        v.update(&data[..split]);
        v.update(&data[split..]);
        assert_eq!(v.finish(), Ok(()));
        if !data.is_empty() {
            let mut v = sum.verifier();
            v.update(&data[1..]);
            assert!(v.finish().is_err(), "dropped byte not detected");
        }
    }
}

/// The IETF field codecs on every line of `data`, and [`classify`] on a
/// request whose header fields are taken from those lines (`Name: value`)
/// with a method and path shape chosen by the first byte: no panic, errors
/// are HTTP error statuses, operations are consistent with the request.
pub fn fuzz_ietf_headers(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        if let Some(n) = parse_u64(line) {
            assert_eq!(parse_u64(n.to_string().as_bytes()), Some(n));
        }
        if let Some(b) = parse_sf_boolean(line) {
            assert_eq!(parse_sf_boolean(if b { b"?1" } else { b"?0" }), Some(b));
        }
        if let Some(limit) = UploadLimit::parse(line) {
            for v in [limit.max_size, limit.min_size, limit.max_age]
                .into_iter()
                .flatten()
            {
                assert!(v <= SF_INTEGER_MAX);
            }
            let text = limit.format("max-age").unwrap_or_default();
            assert_eq!(UploadLimit::parse(text.as_bytes()), Some(limit), "{text:?}");
        }
        if let Some(t) = parse_expires(line) {
            assert_eq!(parse_expires(format_expires(t).as_bytes()), Some(t));
        }
    }

    let mut pairs: Vec<(Field, &[u8])> = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if let Some(field) = Field::ALL
            .into_iter()
            .find(|f| f.name().as_bytes().eq_ignore_ascii_case(name))
        {
            pairs.push((field, value));
        }
    }
    let headers = RequestHeaders::from_pairs(&pairs);
    let selector = data.first().copied().unwrap_or(0);
    let method: &[u8] = [
        &b"POST"[..],
        b"PUT",
        b"PATCH",
        b"HEAD",
        b"DELETE",
        b"OPTIONS",
        b"GET",
    ][usize::from(selector % 7)];
    let id = UploadId::from_random([selector; 16]);
    let shape = [
        PathShape::Directory { dir: "in" },
        PathShape::File {
            dir: "in",
            name: "a",
        },
        PathShape::Upload(id),
        PathShape::StagingArea,
    ][usize::from(selector / 7 % 4)];
    let body = match selector / 28 % 3 {
        0 => BodyFraming::None,
        1 => BodyFraming::Length(u64::from(selector)),
        _ => BodyFraming::Chunked,
    };
    match classify(method, &shape, &headers, body, &ResumableLimits::default()) {
        Ok(Operation::Create(c)) => {
            assert!(matches!(
                shape,
                PathShape::Directory { .. } | PathShape::File { .. }
            ));
            if let Some(chunk) = c.chunk {
                assert_eq!(chunk.offset, 0);
                assert_eq!(chunk.body, body);
            }
            if let Protocol::Ietf(_) = c.protocol {
                assert!(c.chunk.is_some(), "IETF creation without its chunk");
            }
            if let (UploadLength::Known(n), Some(Some(l))) = (c.length, c.chunk.map(|ch| ch.length))
            {
                assert_eq!(n, l);
            }
        }
        Ok(Operation::Append(a)) => {
            assert_eq!(shape, PathShape::Upload(id));
            assert_eq!(a.chunk.body, body);
            assert_eq!(a.chunk.complete.is_some(), !a.protocol.is_tus());
        }
        Ok(Operation::Head { .. } | Operation::Terminate { .. }) => {
            assert_eq!(shape, PathShape::Upload(id));
        }
        Ok(Operation::Options | Operation::NotResumable) => {}
        Err(e) => assert!((400..600).contains(&e.status()), "{e:?}"),
    }
}

/// The record decoder: never panics, and whatever decodes re-encodes to
/// the same bytes. Then a record built from the data is encoded (within
/// [`RECORD_MAX_BYTES`]), decoded back equal, and every corruption chosen
/// by the data (a flipped byte, a truncation) is detected.
pub fn fuzz_upload_record(data: &[u8]) {
    if let Ok(record) = UploadRecord::decode(data) {
        assert_eq!(record.encode().as_deref(), Ok(data), "decode/encode differ");
    }

    let text = String::from_utf8_lossy(data);
    let (dir, rest) = text.split_once('\n').unwrap_or(("", &text));
    let (name, owner) = rest.split_once('\n').unwrap_or((rest, "anonymous"));
    let meta = Metadata::parse(data, MAX_METADATA_BYTES).unwrap_or_default();
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let new = NewUpload {
        id: UploadId::from_random([byte(0); 16]),
        protocol: if byte(1) % 2 == 0 {
            Protocol::Tus
        } else {
            Protocol::Ietf(crate::resumable::IetfDraft::CURRENT)
        },
        target_dir: dir,
        name: Some(name),
        commit_mode: CommitMode::NewName,
        length: UploadLength::Known(u64::from(byte(2))),
        owner,
        metadata: &meta,
    };
    let limits = ResumableLimits::default();
    let Ok(record) =
        UploadRecord::create(&new, StagingUsage::default(), i64::from(byte(3)), &limits)
    else {
        return;
    };
    let bytes = record.encode().expect("a created record encodes");
    assert!(bytes.len() <= RECORD_MAX_BYTES);
    assert_eq!(UploadRecord::decode(&bytes), Ok(record));
    let at = usize::from(byte(4)) * 16 % bytes.len();
    let mut flipped = bytes.clone();
    flipped[at] ^= byte(5) | 1;
    assert!(
        UploadRecord::decode(&flipped).is_err(),
        "flip at {at} not detected"
    );
    let cut = usize::from(byte(6)) * 16 % bytes.len();
    assert!(
        UploadRecord::decode(&bytes[..cut]).is_err(),
        "cut at {cut} not detected"
    );
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Every committed `*.seed` of `fuzz/corpus/<target>/`, then `inline`,
    /// through `f`.
    fn replay(target: &str, f: fn(&[u8]), inline: &[&[u8]]) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("corpus entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "seed"))
            .collect();
        paths.sort();
        assert!(!paths.is_empty(), "no seeds in {}", dir.display());
        for path in paths {
            let bytes = std::fs::read(&path).expect("read seed");
            let result = std::panic::catch_unwind(|| f(&bytes));
            assert!(result.is_ok(), "{target}: seed {} failed", path.display());
        }
        for input in inline {
            f(input);
        }
    }

    #[test]
    fn tus_metadata_seeds() {
        replay(
            "tus_metadata",
            fuzz_tus_metadata,
            &[
                b"",
                b",",
                b"a",
                b"a ",
                b"a  ",
                b"a =",
                b"a YQ==,a",
                b"\xff YQ==",
            ],
        );
    }

    #[test]
    fn tus_checksum_seeds() {
        replay(
            "tus_checksum",
            fuzz_tus_checksum,
            &[
                b"",
                b" ",
                b"sha1 ",
                b"sha256 =",
                b"SHA1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ],
        );
    }

    #[test]
    fn ietf_headers_seeds() {
        replay(
            "ietf_headers",
            fuzz_ietf_headers,
            &[
                b"",
                b"\x02upload-complete: ?1\nupload-draft-interop-version: 6\nupload-offset: 5",
                b"\x00tus-resumable: 1.0.0\nupload-length: 3\nupload-defer-length: 1",
                b"max-size=1, max-age=2\n?1;a=b\nSun, 06 Nov 1994 08:49:37 GMT",
            ],
        );
    }

    #[test]
    fn upload_record_seeds() {
        replay(
            "upload_record",
            fuzz_upload_record,
            &[b"", b"RDUPLD\r\n", b"in/box\na.txt\nuser:alice", b"\n..\n"],
        );
    }

    /// The binary record seeds of `fuzz/corpus/upload_record/` are the
    /// encodings of today's sample records, so the fuzzer starts from valid
    /// records of the current format. When the format changes, rewrite
    /// them: `RINGDROP_WRITE_SEEDS=1 cargo test --lib upload_record_seeds_are_current`.
    #[test]
    fn upload_record_seeds_are_current() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/upload_record");
        let limits = ResumableLimits::default();
        let meta = Metadata::parse(b"filename YS50eHQ=,type dGV4dC9wbGFpbg==", 2048).unwrap();
        let filename = meta.filename();
        let new = NewUpload {
            id: UploadId::from_random([0x5a; 16]),
            protocol: Protocol::Tus,
            target_dir: "in/box",
            name: filename.as_deref(),
            commit_mode: CommitMode::NewName,
            length: UploadLength::Known(10),
            owner: "user:alice",
            metadata: &meta,
        };
        let active =
            UploadRecord::create(&new, StagingUsage::default(), 1_700_000_000, &limits).unwrap();
        let mut full = active.clone();
        full.offset = 10;
        let done = full
            .begin_commit("a (1).txt")
            .unwrap()
            .finish_commit(1_700_000_100, &limits)
            .unwrap();
        let ietf = UploadRecord::create(
            &NewUpload {
                protocol: Protocol::Ietf(crate::resumable::IetfDraft::Interop6),
                length: UploadLength::Deferred,
                ..new
            },
            StagingUsage::default(),
            1_700_000_000,
            &limits,
        )
        .unwrap();
        for (name, rec) in [
            ("record-active", active),
            ("record-completed", done),
            ("record-ietf", ietf),
        ] {
            let path = dir.join(format!("{name}.seed"));
            let encoded = rec.encode().unwrap();
            if std::env::var_os("RINGDROP_WRITE_SEEDS").is_some() {
                std::fs::write(&path, &encoded).unwrap();
            }
            assert_eq!(
                std::fs::read(&path).unwrap(),
                encoded,
                "{name}: the seed is stale (see this test's doc)"
            );
        }
    }
}
