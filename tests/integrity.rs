//! Integrity (SPEC "Integrity"), through the real binary: RFC 9530
//! digests verified while an upload streams, nothing stored on a mismatch,
//! the verified digest kept with the file and returned on request, and
//! forgotten when the file changes behind the server's back.

mod common;

use std::fs;

use base64::Engine;
use sha2::{Digest, Sha256, Sha512};

use common::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sha256_field(data: &[u8]) -> String {
    format!("sha-256=:{}:", b64(&Sha256::digest(data)))
}

fn sha512_field(data: &[u8]) -> String {
    format!("sha-512=:{}:", b64(&Sha512::digest(data)))
}

#[test]
fn put_with_a_right_digest_is_stored_and_its_digest_returned_later() {
    let root = TempDir::new("root");
    for flags in [&[][..], &["--no-sync"][..]] {
        let server = Server::start(&root.path, flags);
        for (i, size) in [0usize, 1, 4096, 100_000, 3 << 20].into_iter().enumerate() {
            let data = random_bytes(size, i as u64);
            let name = format!("/ok{i}.bin");
            let header = format!(
                "Content-Digest: {}, {}\r\n",
                sha256_field(&data),
                sha512_field(&data)
            );
            let r = put(&server, &name, &header, &data);
            assert!(
                r.status == 201 || r.status == 200,
                "{flags:?} {size}: {}",
                r.body_str()
            );
            assert_eq!(sha256_file(&root.join(&name[1..])), sha256_hex(&data));
            // Asked for, the verified digest comes back, for HEAD and GET.
            let g = get(&server, &name, "Want-Repr-Digest: sha-256=3, sha-512=9\r\n");
            assert_eq!(g.status, 200);
            assert_eq!(g.header("repr-digest"), Some(sha512_field(&data).as_str()));
            let g = get(&server, &name, "Want-Content-Digest: sha-256=1\r\n");
            assert_eq!(
                g.header("content-digest"),
                Some(sha256_field(&data).as_str())
            );
            // Not asked for: none sent.
            let g = get(&server, &name, "");
            assert_eq!(g.header("repr-digest"), None);
        }
    }
}

#[test]
fn a_wrong_digest_stores_nothing_put_chunked_and_multipart() {
    let root = TempDir::new("root");
    fs::write(root.join("keep.bin"), b"the previous file").unwrap();
    let server = Server::start(&root.path, &[]);
    let data = random_bytes(2 << 20, 7);
    let wrong = sha256_field(b"something else");

    // PUT over an existing file: the old one stays.
    let r = put(
        &server,
        "/keep.bin",
        &format!("Content-Digest: {wrong}\r\n"),
        &data,
    );
    assert_json_error(&r, 400);
    assert_eq!(
        r.json().get("error").and_then(Json::as_str),
        Some("digest_mismatch")
    );
    assert_eq!(
        fs::read(root.join("keep.bin")).unwrap(),
        b"the previous file"
    );

    // Chunked: the digest covers the decoded content.
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /chunked.bin HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nContent-Digest: {wrong}\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    c.send(&chunk_with_sizes(&data, &[1000, 65_536, 7]).0);
    assert_json_error(&c.read_response(), 400);
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /chunked-ok.bin HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nContent-Digest: {}\r\n\r\n",
            server.host(),
            sha256_field(&data)
        )
        .as_bytes(),
    );
    c.send(&chunk_with_sizes(&data, &[1000, 65_536, 7]).0);
    assert_eq!(c.read_response().status, 201);

    // Multipart: the digest covers the whole multipart body.
    let boundary = "xYzZy";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"m.bin\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    for (digest, status) in [(wrong.clone(), 400), (sha256_field(&body), 201)] {
        let mut c = Conn::connect(server.addr);
        c.send(
            format!(
                "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nContent-Digest: {digest}\r\n\r\n",
                server.host(),
                body.len()
            )
            .as_bytes(),
        );
        c.send(&body);
        assert_eq!(c.read_response().status, status);
    }
    assert_eq!(sha256_file(&root.join("m.bin")), sha256_hex(&data));
    assert_no_temp_files(&root.path, &["keep.bin", "chunked-ok.bin", "m.bin"]);
}

#[test]
fn a_malformed_digest_is_refused_before_the_body() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /x.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: 10\r\nExpect: 100-continue\r\nContent-Digest: sha-256=notbase64\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    let r = c.read_response();
    assert_json_error(&r, 400);
    assert!(!root.join("x.bin").exists());
}

#[test]
fn a_kept_digest_is_forgotten_when_the_file_changes_behind_the_server() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let data = random_bytes(50_000, 3);
    let r = put(
        &server,
        "/f.bin",
        &format!("Content-Digest: {}\r\n", sha256_field(&data)),
        &data,
    );
    assert_eq!(r.status, 201);
    let want = "Want-Repr-Digest: sha-256=1\r\n";
    assert!(get(&server, "/f.bin", want).header("repr-digest").is_some());
    // Changed in place (same size, new mtime): no stale digest is served.
    let mut changed = data.clone();
    changed[0] ^= 1;
    fs::write(root.join("f.bin"), &changed).unwrap();
    let g = get(&server, "/f.bin", want);
    assert_eq!(g.status, 200);
    assert_eq!(g.header("repr-digest"), None);
    // A PUT without a digest keeps none either.
    assert_eq!(put(&server, "/g.bin", "", &data).status, 201);
    assert_eq!(get(&server, "/g.bin", want).header("repr-digest"), None);
}

/// Digests are hashed as the bytes pass through the registered buffers:
/// with one worker, two 64 KiB buffers and six uploads at once, buffers
/// are reused as soon as their writes finish and each upload's carry moves
/// between them. Every upload with a right digest is stored whole, every
/// one with a wrong digest leaves nothing.
#[test]
fn digests_stay_right_when_uploads_share_a_tiny_pool() {
    let root = TempDir::new("root");
    for flags in [&[][..], &["--no-sync"][..]] {
        let mut args = vec!["--workers", "1", "--buffers", "2", "--buffer-size", "64K"];
        args.extend_from_slice(flags);
        let server = Server::start(&root.path, &args);
        let uploads: Vec<_> = (0..6)
            .map(|i| {
                let addr = server.addr;
                let host = server.host();
                std::thread::spawn(move || {
                    let data = random_bytes(5 << 20 | 12345, 100 + i);
                    let digest = if i % 3 == 2 {
                        sha256_field(b"not this body")
                    } else {
                        sha256_field(&data)
                    };
                    let mut c = Conn::connect(addr);
                    c.send(
                        format!(
                            "PUT /tiny{i}.bin HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nContent-Digest: {digest}\r\n\r\n",
                            data.len()
                        )
                        .as_bytes(),
                    );
                    // In uneven pieces, so buffers fill to different levels.
                    for piece in data.chunks(100_000 + 999 * i as usize) {
                        c.send(piece);
                    }
                    (i, sha256_hex(&data), c.read_response().status)
                })
            })
            .collect();
        for upload in uploads {
            let (i, hash, status) = upload.join().unwrap();
            let path = root.join(&format!("tiny{i}.bin"));
            if i % 3 == 2 {
                assert_eq!(status, 400, "{flags:?} upload {i}");
                assert!(!path.exists(), "{flags:?} upload {i}");
            } else {
                assert!(
                    status == 201 || status == 200,
                    "{flags:?} upload {i}: {status}"
                );
                assert_eq!(sha256_file(&path), hash, "{flags:?} upload {i}");
            }
        }
        drop(server);
        for i in 0..6 {
            let _ = fs::remove_file(root.join(&format!("tiny{i}.bin")));
        }
    }
    assert_no_temp_files(&root.path, &[]);
}
