use super::*;
use crate::digest::Algorithm;
use crate::http::{analyze, decode_target, HeadLimits, HeadParser};

const ID_HEX: &str = "000102030405060708090a0b0c0d0e0f";

fn id() -> UploadId {
    UploadId::parse(ID_HEX).unwrap()
}

/// Classifies a whole raw request, the way the server will.
fn classify_raw(raw: &str) -> Result<Operation, ResumableError> {
    let buf = raw.as_bytes();
    let head = HeadParser::new(HeadLimits::default())
        .parse(buf)
        .unwrap()
        .unwrap();
    let info = analyze(&head, buf).unwrap();
    let target = decode_target(&buf[head.target.clone()]).unwrap();
    let headers = RequestHeaders::from_head(&head, buf);
    classify(
        &buf[head.method_bytes.clone()],
        &path_shape(&target),
        &headers,
        info.framing,
        &ResumableLimits::default(),
    )
}

fn req(method: &str, target: &str, headers: &[&str]) -> String {
    let mut s = format!("{method} {target} HTTP/1.1\r\nHost: x\r\n");
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s
}

/// A short name for an operation, for the table.
fn shape_of(op: &Result<Operation, ResumableError>) -> String {
    match op {
        Ok(Operation::NotResumable) => "not".into(),
        Ok(Operation::Options) => "options".into(),
        Ok(Operation::Create(c)) => format!(
            "create {:?} {:?} {:?} {:?} chunk={}",
            c.protocol,
            c.dir,
            c.name,
            c.length,
            c.chunk.is_some()
        ),
        Ok(Operation::Append(a)) => format!(
            "append {:?} @{} complete={:?} len={:?} sum={}",
            a.protocol,
            a.chunk.offset,
            a.chunk.complete,
            a.chunk.length,
            a.chunk.checksum.is_some()
        ),
        Ok(Operation::Head { protocol, .. }) => format!("head {protocol:?}"),
        Ok(Operation::Terminate { protocol, .. }) => format!("terminate {protocol:?}"),
        Err(e) => format!("err {e:?}"),
    }
}

#[test]
fn request_table() {
    let up = format!("/.ringdrop-uploads/{ID_HEX}");
    let tus = "Tus-Resumable: 1.0.0";
    let oct = "Content-Type: application/offset+octet-stream";
    let cases: Vec<(&str, String, &str)> = vec![
        // --- tus creation
        (
            "tus create",
            req(
                "POST",
                "/in/",
                &[
                    tus,
                    "Upload-Length: 5",
                    "Upload-Metadata: filename YS50eHQ=",
                ],
            ),
            "create Tus \"in\" Some(\"a.txt\") Known(5) chunk=false",
        ),
        (
            "tuspy: empty metadata, lowercase",
            req(
                "POST",
                "/",
                &[
                    "tus-resumable: 1.0.0",
                    "upload-length: 0",
                    "upload-metadata: ",
                ],
            ),
            "create Tus \"\" None Known(0) chunk=false",
        ),
        (
            "tus create deferred",
            req("POST", "/in/", &[tus, "Upload-Defer-Length: 1"]),
            "create Tus \"in\" None Deferred chunk=false",
        ),
        (
            "tus creation-with-upload",
            req(
                "POST",
                "/in/",
                &[tus, "Upload-Length: 5", oct, "Content-Length: 3"],
            ),
            "create Tus \"in\" None Known(5) chunk=true",
        ),
        (
            "tus creation body of wrong type",
            req(
                "POST",
                "/in/",
                &[
                    tus,
                    "Upload-Length: 5",
                    "Content-Type: text/plain",
                    "Content-Length: 3",
                ],
            ),
            "err WrongContentType",
        ),
        (
            "tus create both lengths",
            req(
                "POST",
                "/in/",
                &[tus, "Upload-Length: 5", "Upload-Defer-Length: 1"],
            ),
            "err AmbiguousLength",
        ),
        (
            "tus create no length",
            req("POST", "/in/", &[tus]),
            "err MissingHeader { field: UploadLength }",
        ),
        (
            "tus create bad defer",
            req("POST", "/in/", &[tus, "Upload-Defer-Length: 2"]),
            "err InvalidHeader { field: UploadDeferLength }",
        ),
        (
            "tus create bad length",
            req("POST", "/in/", &[tus, "Upload-Length: -1"]),
            "err InvalidHeader { field: UploadLength }",
        ),
        (
            "tus old version",
            req(
                "POST",
                "/in/",
                &["Tus-Resumable: 0.2.2", "Upload-Length: 5"],
            ),
            "err UnsupportedTusVersion",
        ),
        (
            "tus repeated length",
            req(
                "POST",
                "/in/",
                &[tus, "Upload-Length: 5", "Upload-Length: 5"],
            ),
            "err DuplicateHeader { field: UploadLength }",
        ),
        (
            "plain multipart POST",
            req(
                "POST",
                "/in/",
                &["Content-Type: multipart/form-data; boundary=x"],
            ),
            "not",
        ),
        (
            "plain PUT",
            req("PUT", "/in/a", &["Content-Length: 0"]),
            "not",
        ),
        (
            "plain PUT with duplicate content-type",
            req("PUT", "/in/a", &["Content-Type: a", "Content-Type: b"]),
            "not",
        ),
        ("tus header on PUT", req("PUT", "/in/a", &[tus]), "not"),
        ("GET", req("GET", "/in/", &[]), "not"),
        (
            "tus POST to a file URL",
            req("POST", "/in/a", &[tus, "Upload-Length: 1"]),
            "not",
        ),
        // --- OPTIONS
        ("options dir", req("OPTIONS", "/in/", &[]), "options"),
        ("options upload", req("OPTIONS", &up, &[]), "options"),
        // --- upload URL
        ("tus head", req("HEAD", &up, &[tus]), "head Some(Tus)"),
        ("bare head", req("HEAD", &up, &[]), "head None"),
        (
            "ietf head",
            req("HEAD", &up, &["Upload-Draft-Interop-Version: 6"]),
            "head Some(Ietf(Interop6))",
        ),
        (
            "tus delete",
            req("DELETE", &up, &[tus]),
            "terminate Some(Tus)",
        ),
        (
            "tus patch",
            req(
                "PATCH",
                &up,
                &[tus, oct, "Upload-Offset: 3", "Content-Length: 2"],
            ),
            "append Tus @3 complete=None len=None sum=false",
        ),
        (
            "tus patch via override",
            req(
                "POST",
                &up,
                &[
                    tus,
                    oct,
                    "X-HTTP-Method-Override: PATCH",
                    "Upload-Offset: 3",
                    "Content-Length: 2",
                ],
            ),
            "append Tus @3 complete=None len=None sum=false",
        ),
        (
            "tus patch sets deferred length, with checksum",
            req(
                "PATCH",
                &up,
                &[
                    tus,
                    oct,
                    "Upload-Offset: 3",
                    "Upload-Length: 5",
                    "Upload-Checksum: sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=",
                    "Content-Length: 2",
                ],
            ),
            "append Tus @3 complete=None len=Some(5) sum=true",
        ),
        (
            "tus patch wrong type",
            req(
                "PATCH",
                &up,
                &[
                    tus,
                    "Content-Type: application/octet-stream",
                    "Upload-Offset: 0",
                ],
            ),
            "err WrongContentType",
        ),
        (
            "tus patch no offset",
            req("PATCH", &up, &[tus, oct]),
            "err MissingHeader { field: UploadOffset }",
        ),
        (
            "tus patch bad offset",
            req("PATCH", &up, &[tus, oct, "Upload-Offset: 1.5"]),
            "err InvalidHeader { field: UploadOffset }",
        ),
        (
            "tus patch bad checksum algo",
            req(
                "PATCH",
                &up,
                &[tus, oct, "Upload-Offset: 0", "Upload-Checksum: md5 AAAA"],
            ),
            "err UnsupportedChecksumAlgorithm",
        ),
        (
            "patch without protocol",
            req("PATCH", &up, &[oct, "Upload-Offset: 0"]),
            "err UnsupportedTusVersion",
        ),
        (
            "GET upload URL",
            req("GET", &up, &[]),
            "err MethodNotAllowed",
        ),
        (
            "PUT upload URL",
            req("PUT", &up, &[tus]),
            "err MethodNotAllowed",
        ),
        (
            "staging dir listing",
            req("GET", "/.ringdrop-uploads/", &[]),
            "err NotFound",
        ),
        (
            "staging data file",
            req("GET", &format!("{up}.data"), &[]),
            "err NotFound",
        ),
        (
            "staging options",
            req("OPTIONS", "/.ringdrop-uploads/x", &[]),
            "err NotFound",
        ),
        (
            "upper-case id",
            req(
                "HEAD",
                &up.to_uppercase()
                    .replace(".RINGDROP-UPLOADS", ".ringdrop-uploads"),
                &[],
            ),
            "err NotFound",
        ),
        // --- IETF creation
        (
            "tus-js-client ietf-draft-05 create",
            req(
                "POST",
                "/in/",
                &[
                    "Upload-Draft-Interop-Version: 6",
                    "Upload-Length: 9",
                    "Upload-Metadata: filename YS50eHQ=",
                    "Upload-Complete: ?0",
                ],
            ),
            "create Ietf(Interop6) \"in\" Some(\"a.txt\") Known(9) chunk=true",
        ),
        (
            "ietf optimistic PUT",
            req(
                "PUT",
                "/in/b.bin",
                &[
                    "Upload-Draft-Interop-Version: 8",
                    "Upload-Complete: ?1",
                    "Content-Length: 7",
                ],
            ),
            "create Ietf(Interop8) \"in\" Some(\"b.bin\") Known(7) chunk=true",
        ),
        (
            "ietf final-RFC PUT (no interop)",
            req(
                "PUT",
                "/b.bin",
                &["Upload-Complete: ?1", "Transfer-Encoding: chunked"],
            ),
            "create Ietf(Final) \"\" Some(\"b.bin\") Deferred chunk=true",
        ),
        (
            "ietf interop 3 (Upload-Incomplete)",
            req(
                "POST",
                "/in/",
                &[
                    "Upload-Draft-Interop-Version: 3",
                    "Upload-Incomplete: ?0",
                    "Content-Length: 4",
                ],
            ),
            "create Ietf(Interop3) \"in\" None Known(4) chunk=true",
        ),
        (
            "ietf inconsistent lengths",
            req(
                "PUT",
                "/in/b",
                &[
                    "Upload-Draft-Interop-Version: 8",
                    "Upload-Complete: ?1",
                    "Upload-Length: 8",
                    "Content-Length: 7",
                ],
            ),
            "err InconsistentLength",
        ),
        (
            "ietf invalid Upload-Length is ignored",
            req(
                "PUT",
                "/in/b",
                &[
                    "Upload-Draft-Interop-Version: 8",
                    "Upload-Complete: ?0",
                    "Upload-Length: ?1",
                ],
            ),
            "create Ietf(Interop8) \"in\" Some(\"b\") Deferred chunk=true",
        ),
        (
            "ietf creation without Upload-Complete",
            req("POST", "/in/", &["Upload-Draft-Interop-Version: 8"]),
            "err MissingHeader { field: UploadComplete }",
        ),
        (
            "ietf bad Upload-Complete",
            req(
                "POST",
                "/in/",
                &["Upload-Draft-Interop-Version: 8", "Upload-Complete: yes"],
            ),
            "err InvalidHeader { field: UploadComplete }",
        ),
        (
            "ietf multipart POST stays multipart",
            req(
                "POST",
                "/in/",
                &[
                    "Upload-Complete: ?1",
                    "Content-Type: multipart/form-data; boundary=x",
                ],
            ),
            "not",
        ),
        (
            "unknown interop, complete: plain upload",
            req(
                "PUT",
                "/in/b",
                &["Upload-Draft-Interop-Version: 99", "Upload-Complete: ?1"],
            ),
            "not",
        ),
        (
            "unknown interop, incomplete: refused",
            req(
                "POST",
                "/in/",
                &["Upload-Draft-Interop-Version: 99", "Upload-Complete: ?0"],
            ),
            "err UnsupportedInteropVersion",
        ),
        (
            "unknown interop on upload URL",
            req("HEAD", &up, &["Upload-Draft-Interop-Version: 2"]),
            "err UnsupportedInteropVersion",
        ),
        // --- IETF append
        (
            "tus-js-client ietf-draft-05 patch",
            req(
                "PATCH",
                &up,
                &[
                    "Upload-Draft-Interop-Version: 6",
                    "Upload-Offset: 4",
                    "Upload-Complete: ?1",
                    "Content-Type: application/partial-upload",
                    "Content-Length: 5",
                ],
            ),
            "append Ietf(Interop6) @4 complete=Some(true) len=Some(9) sum=false",
        ),
        (
            "ietf empty completing patch",
            req(
                "PATCH",
                &up,
                &[
                    "Upload-Draft-Interop-Version: 8",
                    "Upload-Offset: 9",
                    "Upload-Complete: ?1",
                ],
            ),
            "append Ietf(Interop8) @9 complete=Some(true) len=Some(9) sum=false",
        ),
        (
            "ietf patch without complete",
            req(
                "PATCH",
                &up,
                &["Upload-Draft-Interop-Version: 8", "Upload-Offset: 9"],
            ),
            "err MissingHeader { field: UploadComplete }",
        ),
        (
            "ietf patch without offset",
            req(
                "PATCH",
                &up,
                &["Upload-Draft-Interop-Version: 8", "Upload-Complete: ?0"],
            ),
            "err MissingHeader { field: UploadOffset }",
        ),
        (
            "ietf cancel",
            req("DELETE", &up, &["Upload-Draft-Interop-Version: 8"]),
            "terminate Some(Ietf(Interop8))",
        ),
    ];
    for (name, raw, want) in cases {
        let got = shape_of(&classify_raw(&raw));
        assert_eq!(got, want, "{name}\n{raw}");
    }
}

#[test]
fn checksum_is_parsed_into_the_chunk() {
    let raw = req(
        "PATCH",
        &format!("/.ringdrop-uploads/{ID_HEX}"),
        &[
            "Tus-Resumable: 1.0.0",
            "Content-Type: application/offset+octet-stream",
            "Upload-Offset: 0",
            "Upload-Checksum: sha256 LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
            "Content-Length: 5",
        ],
    );
    let Ok(Operation::Append(a)) = classify_raw(&raw) else {
        panic!()
    };
    assert_eq!(a.id, id());
    let sum = a.chunk.checksum.unwrap();
    assert_eq!(sum.algorithm(), Algorithm::Sha256);
    let mut v = sum.verifier();
    v.update(b"hello");
    assert_eq!(v.finish(), Ok(()));
}

#[test]
fn metadata_limit_is_431() {
    let limits = ResumableLimits {
        max_metadata_bytes: 8,
        ..ResumableLimits::default()
    };
    let h = RequestHeaders::from_pairs(&[
        (Field::TusResumable, b"1.0.0"),
        (Field::UploadLength, b"1"),
        (Field::UploadMetadata, b"k YWJjZA=="),
    ]);
    let got = classify(
        b"POST",
        &PathShape::Directory { dir: "" },
        &h,
        BodyFraming::None,
        &limits,
    );
    assert_eq!(got, Err(ResumableError::MetadataTooLarge { limit: 8 }));
}

#[test]
fn path_shapes() {
    let cases: &[(&[u8], &str)] = &[
        (b"/", "Directory { dir: \"\" }"),
        (b"/a/b/", "Directory { dir: \"a/b\" }"),
        (b"/a", "File { dir: \"\", name: \"a\" }"),
        (b"/a/b", "File { dir: \"a\", name: \"b\" }"),
        (b"/.ringdrop-uploads", "StagingArea"),
        (b"/.ringdrop-uploads/", "StagingArea"),
        (
            b"/.ringdrop-uploads/000102030405060708090a0b0c0d0e0f/",
            "StagingArea",
        ),
        (
            b"/.ringdrop-uploads/000102030405060708090a0b0c0d0e0f/x",
            "StagingArea",
        ),
        (b"/.ringdrop-uploads/zz", "StagingArea"),
        (
            b"/x/.ringdrop-uploads/",
            "Directory { dir: \"x/.ringdrop-uploads\" }",
        ),
    ];
    for (raw, want) in cases {
        let t = decode_target(raw).unwrap();
        assert_eq!(
            format!("{:?}", path_shape(&t)),
            *want,
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    let t = decode_target(b"/.ringdrop-uploads/000102030405060708090a0b0c0d0e0f?x=1").unwrap();
    assert_eq!(path_shape(&t), PathShape::Upload(id()));
}
