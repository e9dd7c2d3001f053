use super::*;
use crate::http::BodyFraming;
use crate::resumable::{
    BodyEnd, ChecksumOutcome, Chunk, CommitMode, Metadata, NewUpload, StagingUsage, UploadId,
};

const NOW: i64 = 1_700_000_000;
const V6: Protocol = Protocol::Ietf(IetfDraft::Interop6);
const V8: Protocol = Protocol::Ietf(IetfDraft::Interop8);

fn record(protocol: Protocol, length: UploadLength, offset: u64) -> UploadRecord {
    let meta = Metadata::parse(b"filename YSBiLnR4dA==", 2048).unwrap();
    let limits = ResumableLimits::default();
    let rec = UploadRecord::create(
        &NewUpload {
            id: UploadId::from_random([0xab; 16]),
            protocol,
            target_dir: "in",
            name: meta.filename().as_deref(),
            commit_mode: CommitMode::NewName,
            length,
            owner: "anonymous",
            metadata: &meta,
        },
        StagingUsage::default(),
        NOW,
        &limits,
    )
    .unwrap();
    if offset == 0 {
        return rec;
    }
    let chunk = Chunk {
        offset: 0,
        body: BodyFraming::Length(offset),
        complete: if protocol.is_tus() { None } else { Some(false) },
        length: None,
        checksum: None,
    };
    let plan = rec
        .begin_append(&chunk, StagingUsage::default(), NOW, &limits)
        .unwrap();
    rec.finish_append(
        &plan,
        offset,
        BodyEnd::Complete,
        ChecksumOutcome::NotRequested,
        NOW,
        &limits,
    )
    .unwrap()
    .record
}

fn names(r: &ResumableResponse) -> Vec<&'static str> {
    r.headers.iter().map(|(n, _)| *n).collect()
}

#[test]
fn per_operation_and_protocol_table() {
    let limits = ResumableLimits::default();
    let tus = record(Protocol::Tus, UploadLength::Known(10), 4);
    let tus_deferred = record(Protocol::Tus, UploadLength::Deferred, 0);
    let v6 = record(V6, UploadLength::Known(10), 4);
    let v8 = record(V8, UploadLength::Deferred, 4);
    let expires = "Wed, 15 Nov 2023 22:13:20 GMT";
    let location = "/.ringdrop-uploads/abababababababababababababababab";
    /// (name, response, status, headers)
    type Case = (
        &'static str,
        ResumableResponse,
        u16,
        Vec<(&'static str, &'static str)>,
    );
    let cases: Vec<Case> = vec![
        (
            "tus created",
            created(&tus_deferred, Protocol::Tus, NOW, &limits),
            201,
            vec![
                ("Tus-Resumable", "1.0.0"),
                ("Location", location),
                ("Upload-Offset", "0"),
                ("Upload-Expires", expires),
            ],
        ),
        (
            "v6 created",
            created(&v6, V6, NOW, &limits),
            201,
            vec![
                ("Location", location),
                ("Upload-Offset", "4"),
                ("Upload-Complete", "?0"),
                ("Upload-Limit", "max-size=1099511627776, expires=86400"),
            ],
        ),
        (
            "tus head",
            head(&tus, Protocol::Tus, NOW, &limits),
            200,
            vec![
                ("Tus-Resumable", "1.0.0"),
                ("Upload-Offset", "4"),
                ("Upload-Length", "10"),
                ("Upload-Metadata", "filename YSBiLnR4dA=="),
                ("Upload-Expires", expires),
                ("Cache-Control", "no-store"),
            ],
        ),
        (
            "tus head deferred",
            head(&tus_deferred, Protocol::Tus, NOW + 86_000, &limits),
            200,
            vec![
                ("Tus-Resumable", "1.0.0"),
                ("Upload-Offset", "0"),
                ("Upload-Defer-Length", "1"),
                ("Upload-Metadata", "filename YSBiLnR4dA=="),
                ("Upload-Expires", expires),
                ("Cache-Control", "no-store"),
            ],
        ),
        (
            "v8 head, time passed",
            head(&v8, V8, NOW + 400, &limits),
            204,
            vec![
                ("Upload-Offset", "4"),
                ("Upload-Complete", "?0"),
                ("Upload-Limit", "max-size=1099511627776, max-age=86000"),
                ("Cache-Control", "no-store"),
            ],
        ),
        (
            "tus appended",
            appended(&tus, Protocol::Tus),
            204,
            vec![
                ("Tus-Resumable", "1.0.0"),
                ("Upload-Offset", "4"),
                ("Upload-Expires", expires),
            ],
        ),
        (
            "v6 appended",
            appended(&v6, V6),
            204,
            vec![("Upload-Offset", "4"), ("Upload-Complete", "?0")],
        ),
        (
            "tus terminated",
            terminated(Protocol::Tus),
            204,
            vec![("Tus-Resumable", "1.0.0")],
        ),
        ("v8 terminated", terminated(V8), 204, vec![]),
    ];
    for (name, resp, status, headers) in cases {
        assert_eq!(resp.status, status, "{name}");
        let got: Vec<(&str, &str)> = resp.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_eq!(got, headers, "{name}");
        assert_eq!(resp.body, None, "{name}");
    }
}

#[test]
fn completed_answers_like_put() {
    let limits = ResumableLimits::default();
    for (protocol, replaced, status) in [
        (Protocol::Tus, false, 204),
        (V8, false, 201),
        (V8, true, 200),
    ] {
        let rec = record(protocol, UploadLength::Known(4), 4);
        assert_eq!(completed(&rec, protocol, replaced, false), None);
        let done = rec
            .begin_commit("a b (1).txt")
            .unwrap()
            .finish_commit(NOW, &limits)
            .unwrap();
        let resp = completed(&done, protocol, replaced, false).unwrap();
        assert_eq!(resp.status, status);
        assert_eq!(resp.header("Upload-Offset"), Some("4"));
        assert_eq!(
            resp.header("Content-Location"),
            Some("/in/a%20b%20%281%29.txt")
        );
        if protocol.is_tus() {
            assert_eq!(resp.body, None);
            assert_eq!(resp.header("Tus-Resumable"), Some("1.0.0"));
        } else {
            assert_eq!(resp.header("Upload-Complete"), Some("?1"));
            let body = resp.body.as_ref().unwrap();
            assert_eq!(body.content_type, "application/json");
            assert_eq!(
                body.text,
                r#"{"name":"a b (1).txt","path":"/in/a%20b%20%281%29.txt","size":4}"#
            );
            assert!(resp
                .header_pairs()
                .contains(&("Content-Type", "application/json")));
        }
        if protocol.is_tus() {
            // creation-with-upload that carried every byte: still the 201.
            let c = completed(&done, protocol, replaced, true).unwrap();
            assert_eq!(c.status, 201);
            assert_eq!(
                c.header("Location"),
                Some("/.ringdrop-uploads/abababababababababababababababab")
            );
        }
        // HEAD of a completed upload: offset = length, complete.
        let h = head(&done, protocol, NOW, &limits);
        assert_eq!(h.header("Upload-Offset"), Some("4"));
        if protocol.is_tus() {
            assert_eq!(h.header("Upload-Length"), Some("4"));
            assert_eq!(h.header("Upload-Expires"), None);
        } else {
            assert_eq!(h.header("Upload-Complete"), Some("?1"));
        }
    }
}

#[test]
fn error_responses() {
    let limits = ResumableLimits::default();
    let e = ResumableError::UnsupportedTusVersion;
    let r = error_response(&e, None, &limits);
    assert_eq!((r.status, r.header("Tus-Version")), (412, Some("1.0.0")));

    let e = ResumableError::OffsetMismatch {
        expected: 7,
        provided: 9,
    };
    let r = error_response(&e, Some(V8), &limits);
    assert_eq!(r.header("Upload-Offset"), Some("7"));
    let body = r.body.unwrap();
    assert_eq!(body.content_type, "application/problem+json");
    assert!(body.text.starts_with(
        r#"{"type":"https://iana.org/assignments/http-problem-types#mismatching-upload-offset","title":"#
    ));
    assert!(body
        .text
        .ends_with(r#","expected-offset":7,"provided-offset":9}"#));

    let r = error_response(&e, Some(Protocol::Tus), &limits);
    assert_eq!(r.body.unwrap().content_type, "application/json");

    let r = error_response(&ResumableError::UploadBusy, Some(Protocol::Tus), &limits);
    assert_eq!((r.status, r.header("Retry-After")), (423, Some("1")));
    let r = error_response(&ResumableError::MethodNotAllowed, None, &limits);
    assert_eq!(r.header("Allow"), Some(UPLOAD_URL_ALLOW));
    let too_large = ResumableError::TooLarge { limit: 1 };
    assert_eq!(
        error_response(&too_large, Some(V8), &limits).header("Upload-Limit"),
        Some("max-size=1099511627776")
    );
    let old = Protocol::Ietf(IetfDraft::Interop5);
    assert_eq!(
        error_response(&too_large, Some(old), &limits).header("Upload-Limit"),
        None
    );
    let r = error_response(
        &ResumableError::ChecksumMismatch,
        Some(Protocol::Tus),
        &limits,
    );
    assert_eq!(r.status, 460);
    assert_eq!(
        r.body.unwrap().text,
        r#"{"error":"checksum_mismatch","message":"the chunk does not match its Upload-Checksum; it was not stored"}"#
    );
}

#[test]
fn options_and_104() {
    let limits = ResumableLimits::default();
    let h = options_headers(&limits);
    let n: Vec<&str> = h.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        n,
        [
            "Tus-Resumable",
            "Tus-Version",
            "Tus-Extension",
            "Tus-Max-Size",
            "Tus-Checksum-Algorithm",
            "Accept-Patch",
            "Upload-Limit"
        ]
    );
    let rec = record(V6, UploadLength::Deferred, 0);
    let bytes = interim_104(&rec, IetfDraft::Interop6, NOW, &limits).unwrap();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "HTTP/1.1 104 Upload Resumption Supported\r\n\
         Upload-Draft-Interop-Version: 6\r\n\
         Location: /.ringdrop-uploads/abababababababababababababababab\r\n\
         Upload-Limit: max-size=1099511627776, expires=86400\r\n\r\n"
    );
    let old = interim_104(&rec, IetfDraft::Interop4, NOW, &limits).unwrap();
    assert!(!String::from_utf8(old).unwrap().contains("Upload-Limit"));
    assert_eq!(answer_protocol(None, &rec), V6);
    assert_eq!(answer_protocol(Some(Protocol::Tus), &rec), Protocol::Tus);
    assert!(names(&created(&rec, V6, NOW, &limits)).contains(&"Location"));
}

#[test]
fn every_header_value_is_safe_to_encode() {
    // ResponseHead refuses CR, LF and NUL; metadata and names are checked
    // before they reach a header, this makes sure of it end to end.
    let limits = ResumableLimits::default();
    let rec = record(Protocol::Tus, UploadLength::Known(10), 4);
    for resp in [
        head(&rec, Protocol::Tus, NOW, &limits),
        created(&rec, V8, NOW, &limits),
    ] {
        let mut out = Vec::new();
        crate::http::ResponseHead {
            status: crate::http::StatusCode(resp.status),
            content_length: Some(0),
            close: false,
            headers: &resp.header_pairs(),
        }
        .encode(&mut out);
        assert!(out.ends_with(b"\r\n\r\n"));
    }
}
