//! PUT uploads through the real binary: sizes up to 1 GiB, replace vs create,
//! preconditions, chunked bodies, concurrency, aborted and over-limit
//! uploads, a full disk, and flat memory. Every stored file is checked by
//! sha256 on disk, and ROOT is checked for leftovers.

mod common;

use std::fs;
use std::net::Shutdown;
use std::time::Duration;

use common::*;

fn check_put_json(j: &Json, name: &str, path: &str, size: u64) {
    assert_eq!(
        j.get("name").and_then(Json::as_str),
        Some(name),
        "name in {j:?}"
    );
    assert_eq!(
        j.get("path").and_then(Json::as_str),
        Some(path),
        "path in {j:?}"
    );
    assert_eq!(
        j.get("size").and_then(Json::as_u64),
        Some(size),
        "size in {j:?}"
    );
}

/// Waits until the server holds no unlinked temp file under ROOT, i.e. it is
/// finished with every upload it had in flight.
fn wait_uploads_settled(server: &Server) {
    let pid = server.pid();
    assert!(
        wait_until(EVENT_DEADLINE, || tmpfile_fds(pid, &server.root).is_empty()),
        "server still holds temp files: {:?}",
        tmpfile_fds(pid, &server.root)
    );
}

#[test]
fn put_1gib_with_curl_is_stored_intact() {
    let src = TempDir::new("src");
    let root = TempDir::new("root");
    let file = src.join("big.bin");
    let want = write_random_file(&file, GIB, 1);
    let server = Server::start(&root.path, &[]);

    let r = curl_capture(&["-T", file.to_str().unwrap(), &server.url("/big.bin")]);
    assert!(r.exit.success(), "curl failed: {}", r.stderr);
    assert_eq!(
        r.status,
        201,
        "headers: {}\nbody: {:?}",
        r.headers,
        String::from_utf8_lossy(&r.body)
    );
    check_put_json(&r.json(), "big.bin", "/big.bin", GIB);
    assert_eq!(
        sha256_file(&root.join("big.bin")),
        want,
        "content on disk differs from what was sent"
    );
    assert_no_temp_files(&root.path, &["big.bin"]);
}

#[test]
fn put_replaces_existing_file_with_200() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);

    let r = put(&server, "/r.txt", "", b"first version");
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    check_put_json(&r.json(), "r.txt", "/r.txt", 13);

    let second = random_bytes(100_000, 2);
    let r = put(&server, "/r.txt", "", &second);
    assert_eq!(r.status, 200, "replace must answer 200: {:?}", r.body_str());
    check_put_json(&r.json(), "r.txt", "/r.txt", 100_000);
    assert_eq!(sha256_file(&root.join("r.txt")), sha256_hex(&second));

    // and the server serves the new content
    let g = get(&server, "/r.txt", "");
    assert_eq!(g.status, 200);
    assert_eq!(sha256_hex(&g.body), sha256_hex(&second));
    assert_no_temp_files(&root.path, &["r.txt"]);
}

#[test]
fn if_none_match_star_refuses_to_overwrite() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);

    let r = put(&server, "/k.txt", "If-None-Match: *\r\n", b"one");
    assert_eq!(
        r.status,
        201,
        "If-None-Match: * on a new name creates it: {:?}",
        r.body_str()
    );

    let r = put(&server, "/k.txt", "If-None-Match: *\r\n", b"two, longer");
    assert_json_error(&r, 412);
    assert_eq!(
        fs::read(root.join("k.txt")).unwrap(),
        b"one",
        "412 must leave the old content"
    );
    assert_no_temp_files(&root.path, &["k.txt"]);
}

#[test]
fn missing_parent_directory_is_409() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);

    let r = put(&server, "/nodir/x.txt", "", b"data");
    assert_json_error(&r, 409);
    let r = put(&server, "/a/b/c.txt", "", b"data");
    assert_json_error(&r, 409);

    // with Expect: 100-continue the path is checked before `100 Continue`
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /nodir/y.txt HTTP/1.1\r\nHost: {}\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    let r = c.read_response();
    assert_ne!(
        r.status, 100,
        "server sent 100 Continue for an upload into a missing directory"
    );
    assert_json_error(&r, 409);
    assert_no_temp_files(&root.path, &[]);
}

#[test]
fn chunked_put_from_curl_stdin() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let size = 5 * MIB + 123;

    let r = curl_capture_stdin(
        &[
            "-T",
            "-",
            "-H",
            "Transfer-Encoding: chunked",
            &server.url("/stdin.bin"),
        ],
        random_body_reader(size, 7),
    );
    assert!(r.exit.success(), "curl failed: {}", r.stderr);
    assert_eq!(
        r.status,
        201,
        "headers: {}\nbody: {:?}",
        r.headers,
        String::from_utf8_lossy(&r.body)
    );
    check_put_json(&r.json(), "stdin.bin", "/stdin.bin", size);
    assert_eq!(sha256_file(&root.join("stdin.bin")), random_sha256(size, 7));
    assert_no_temp_files(&root.path, &["stdin.bin"]);
}

#[test]
fn chunked_put_raw_with_extensions_and_trailer() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let data = random_bytes(300_000, 9);

    // chunk sizes of every shape, extensions (token and quoted), upper- and
    // lower-case hex, then a last-chunk with an extension and two trailers
    let sizes = [1usize, 15, 16, 255, 4096, 65_536, 100_000];
    let mut body = Vec::new();
    let mut pos = 0;
    for (i, &n) in sizes.iter().enumerate() {
        let size_txt = if i % 2 == 0 {
            format!("{n:x}")
        } else {
            format!("{n:X}")
        };
        body.extend_from_slice(format!("{size_txt};ext{i}=v;q=\"a b\"\r\n").as_bytes());
        body.extend_from_slice(&data[pos..pos + n]);
        body.extend_from_slice(b"\r\n");
        pos += n;
    }
    let rest = data.len() - pos;
    body.extend_from_slice(format!("{rest:x}\r\n").as_bytes());
    body.extend_from_slice(&data[pos..]);
    body.extend_from_slice(b"\r\n0;last=1\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n");

    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /chunked.bin HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    // uneven writes so chunk heads and CRLFs straddle reads
    let mut cut = 0;
    let mut step = 1;
    while cut < body.len() {
        let end = (cut + step).min(body.len());
        c.send(&body[cut..end]);
        cut = end;
        step = step * 7 % 65_521 + 1;
    }
    let r = c.read_response();
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    check_put_json(&r.json(), "chunked.bin", "/chunked.bin", data.len() as u64);
    assert_eq!(sha256_file(&root.join("chunked.bin")), sha256_hex(&data));

    // the connection stays usable after a chunked body with trailers
    c.send(
        format!(
            "GET /chunked.bin HTTP/1.1\r\nHost: {}\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    let g = c.read_response();
    assert_eq!(g.status, 200);
    assert_eq!(sha256_hex(&g.body), sha256_hex(&data));
    assert_no_temp_files(&root.path, &["chunked.bin"]);
}

#[test]
fn thirty_two_concurrent_puts_of_64mib_are_intact() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let size = 64 * MIB;
    let n = 32u64;

    let results: Vec<(String, u16, String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let server = &server;
                s.spawn(move || {
                    let name = format!("c{i:02}.bin");
                    let seed = 100 + i;
                    if i % 2 == 0 {
                        // raw socket, Content-Length
                        let (resp, body) = put_streaming(
                            server,
                            &format!("/{name}"),
                            &format!("Content-Length: {size}\r\n"),
                            random_body_reader(size, seed).hashing(),
                        );
                        (name, resp.status, resp.body_str(), body.sha256_hex())
                    } else {
                        // curl, chunked from stdin
                        let r = curl_capture_stdin(
                            &[
                                "-T",
                                "-",
                                "-H",
                                "Transfer-Encoding: chunked",
                                &server.url(&format!("/{name}")),
                            ],
                            random_body_reader(size, seed),
                        );
                        assert!(r.exit.success(), "curl {name}: {}", r.stderr);
                        (
                            name,
                            r.status,
                            String::from_utf8_lossy(&r.body).into_owned(),
                            random_sha256(size, seed),
                        )
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut names = Vec::new();
    for (name, status, body, want) in &results {
        assert_eq!(*status, 201, "{name}: {body}");
        let j = Json::parse(body).unwrap_or_else(|e| panic!("{name}: body not JSON ({e}): {body}"));
        check_put_json(&j, name, &format!("/{name}"), size);
        assert_eq!(
            &sha256_file(&root.join(name)),
            want,
            "{name} differs on disk"
        );
        names.push(name.as_str());
    }
    assert_no_temp_files(&root.path, &names);
}

#[test]
fn client_disconnect_mid_body_leaves_nothing_and_keeps_old_file() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let pid = server.pid();
    let old = write_random_file(&root.join("victim.bin"), MIB, 11);

    for name in ["victim.bin", "fresh.bin"] {
        let mut c = Conn::connect(server.addr);
        c.send(
            format!(
                "PUT /{name} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
                server.host(),
                100 * MIB
            )
            .as_bytes(),
        );
        std::io::copy(&mut random_body_reader(10 * MIB, 12), &mut c.stream).unwrap();
        // the event "the upload is in flight": the server holds its temp file
        let in_flight = wait_until(EVENT_DEADLINE, || !tmpfile_fds(pid, &root.path).is_empty());
        assert!(
            in_flight,
            "{name} never reached its staged file: the checks below would prove nothing"
        );
        // while in flight, nothing is visible under the name
        assert_eq!(
            sha256_file(&root.join("victim.bin")),
            old,
            "victim.bin changed while an upload to {name} was in flight"
        );
        assert!(
            !root.join("fresh.bin").exists(),
            "fresh.bin visible while in flight"
        );

        let _ = c.stream.shutdown(Shutdown::Both);
        drop(c);

        wait_uploads_settled(&server);
        // the access-log line (if any) marks the end of the request
        server.wait_for_stderr(Duration::from_secs(5), |l| l.contains(&format!("/{name}")));
        assert_eq!(
            sha256_file(&root.join("victim.bin")),
            old,
            "aborted PUT /{name} touched victim.bin"
        );
        assert_no_temp_files(&root.path, &["victim.bin"]);
        assert!(
            server_is_alive(&server),
            "server not answering after an aborted upload"
        );
    }
}

#[test]
fn expect_100_over_limit_gets_413_without_100_continue() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &["--max-file-size", "1M"]);
    let old = write_random_file(&root.join("limit.bin"), 1000, 3);

    for len in [2 * MIB, MIB + 1] {
        let mut c = Conn::connect(server.addr);
        c.send(
            format!(
                "PUT /limit.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: {len}\r\nExpect: 100-continue\r\n\r\n",
                server.host()
            )
            .as_bytes(),
        );
        // only the head was sent: the answer must come without any body
        let r = c.read_response();
        assert_ne!(
            r.status, 100,
            "server sent `100 Continue` before rejecting a {len}-byte upload"
        );
        assert_json_error(&r, 413);
    }
    assert_eq!(sha256_file(&root.join("limit.bin")), old);
    assert_no_temp_files(&root.path, &["limit.bin"]);
}

#[test]
fn expect_100_under_limit_gets_100_then_201() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &["--max-file-size", "1M"]);
    let data = random_bytes(1000, 4);

    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /ok.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            server.host(),
            data.len()
        )
        .as_bytes(),
    );
    let interim = c.read_response();
    assert_eq!(
        interim.status, 100,
        "want `100 Continue` first, got {interim:?}"
    );
    c.send(&data);
    let r = c.read_response();
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    check_put_json(&r.json(), "ok.bin", "/ok.bin", 1000);
    assert_eq!(sha256_file(&root.join("ok.bin")), sha256_hex(&data));
    assert_no_temp_files(&root.path, &["ok.bin"]);
}

#[test]
fn declared_length_over_limit_is_413_and_nothing_stored() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &["--max-file-size", "1M"]);
    let old = write_random_file(&root.join("keep.bin"), 5000, 5);

    let (r, _) = put_streaming(
        &server,
        "/new.bin",
        &format!("Content-Length: {}\r\n", 8 * MIB),
        random_body_reader(8 * MIB, 6),
    );
    assert_json_error(&r, 413);
    let (r, _) = put_streaming(
        &server,
        "/keep.bin",
        &format!("Content-Length: {}\r\n", 8 * MIB),
        random_body_reader(8 * MIB, 6),
    );
    assert_json_error(&r, 413);

    wait_uploads_settled(&server);
    assert_eq!(sha256_file(&root.join("keep.bin")), old);
    assert_no_temp_files(&root.path, &["keep.bin"]);
    assert!(server_is_alive(&server));
}

#[test]
fn chunked_body_over_limit_is_413_and_nothing_stored() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &["--max-file-size", "1M"]);
    let old = write_random_file(&root.join("keep.bin"), 5000, 5);

    for name in ["new.bin", "keep.bin"] {
        let (r, _) = put_streaming(
            &server,
            &format!("/{name}"),
            "Transfer-Encoding: chunked\r\n",
            ChunkedReader::new(random_body_reader(4 * MIB, 8), 64 * 1024),
        );
        assert_json_error(&r, 413);
    }
    wait_uploads_settled(&server);
    assert_eq!(sha256_file(&root.join("keep.bin")), old);
    assert_no_temp_files(&root.path, &["keep.bin"]);
    assert!(server_is_alive(&server));
}

#[test]
fn file_of_exactly_max_size_is_accepted_one_more_byte_is_not() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &["--max-file-size", "1M"]);

    // Content-Length, exactly the limit
    let (r, body) = put_streaming(
        &server,
        "/exact.bin",
        &format!("Content-Length: {MIB}\r\n"),
        random_body_reader(MIB, 20).hashing(),
    );
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    check_put_json(&r.json(), "exact.bin", "/exact.bin", MIB);
    assert_eq!(sha256_file(&root.join("exact.bin")), body.sha256_hex());

    // chunked, exactly the limit (odd chunk size so the last chunk is short)
    let (r, body) = put_streaming(
        &server,
        "/exact-chunked.bin",
        "Transfer-Encoding: chunked\r\n",
        ChunkedReader::new(random_body_reader(MIB, 21).hashing(), 10_000),
    );
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    check_put_json(&r.json(), "exact-chunked.bin", "/exact-chunked.bin", MIB);
    assert_eq!(
        sha256_file(&root.join("exact-chunked.bin")),
        body.into_inner().sha256_hex()
    );

    // one byte over, both framings
    let (r, _) = put_streaming(
        &server,
        "/over.bin",
        &format!("Content-Length: {}\r\n", MIB + 1),
        random_body_reader(MIB + 1, 22),
    );
    assert_json_error(&r, 413);
    let (r, _) = put_streaming(
        &server,
        "/over-chunked.bin",
        "Transfer-Encoding: chunked\r\n",
        ChunkedReader::new(random_body_reader(MIB + 1, 23), 10_000),
    );
    assert_json_error(&r, 413);

    wait_uploads_settled(&server);
    assert_no_temp_files(&root.path, &["exact-chunked.bin", "exact.bin"]);
}

#[test]
fn response_path_is_percent_encoded() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);

    let r = put(&server, "/a%20b.txt", "", b"hello");
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    check_put_json(&r.json(), "a b.txt", "/a%20b.txt", 5);
    assert_eq!(fs::read(root.join("a b.txt")).unwrap(), b"hello");

    fs::create_dir(root.join("sub dir")).unwrap();
    let r = put(&server, "/sub%20dir/%C3%A9t%C3%A9.txt", "", b"summer!");
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    let j = r.json();
    assert_eq!(j.get("name").and_then(Json::as_str), Some("été.txt"));
    assert_eq!(j.get("size").and_then(Json::as_u64), Some(7));
    let path = j.get("path").and_then(Json::as_str).expect("path");
    assert!(
        path.is_ascii() && !path.contains(' '),
        "path must be percent-encoded as in a link, got {path:?}"
    );
    assert_eq!(
        percent_decode(path),
        "/sub dir/été.txt".as_bytes(),
        "path {path:?}"
    );
    assert_eq!(
        fs::read(root.join("sub dir").join("été.txt")).unwrap(),
        b"summer!"
    );
    assert_no_temp_files(&root.path, &["a b.txt", "sub dir/", "sub dir/été.txt"]);
}

#[test]
fn full_disk_is_507_and_leaves_nothing() {
    // declared before the server so the server is killed before the unmount
    let mnt = TmpfsMount::new("8m");
    let server = Server::start(&mnt.path, &[]);
    let free0 = mnt.free_bytes();

    // declared length: may be refused up front or when the disk fills
    let (r, _) = put_streaming(
        &server,
        "/huge.bin",
        &format!("Content-Length: {}\r\n", 16 * MIB),
        random_body_reader(16 * MIB, 30),
    );
    assert_json_error(&r, 507);
    wait_uploads_settled(&server);
    assert_no_temp_files(&mnt.path, &[]);
    assert!(
        wait_until(EVENT_DEADLINE, || mnt.free_bytes() >= free0),
        "space not released after 507: {} free, {} before",
        mnt.free_bytes(),
        free0
    );

    // chunked: the size is unknown, so ENOSPC is met while writing
    let (r, _) = put_streaming(
        &server,
        "/huge-chunked.bin",
        "Transfer-Encoding: chunked\r\n",
        ChunkedReader::new(random_body_reader(16 * MIB, 31), 256 * 1024),
    );
    assert_json_error(&r, 507);
    wait_uploads_settled(&server);
    assert_no_temp_files(&mnt.path, &[]);
    assert!(
        wait_until(EVENT_DEADLINE, || mnt.free_bytes() >= free0),
        "space not released after 507 (chunked): {} free, {} before",
        mnt.free_bytes(),
        free0
    );

    // and the disk is usable again
    let r = put(&server, "/small.txt", "", b"still works");
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    assert_eq!(
        fs::read(mnt.path.join("small.txt")).unwrap(),
        b"still works"
    );
    assert_no_temp_files(&mnt.path, &["small.txt"]);
}

#[test]
fn peak_memory_does_not_grow_with_file_size() {
    let root = TempDir::new("root");
    // one worker: one buffer pool, so both uploads exercise the same memory
    let server = Server::start(&root.path, &["--no-sync", "--workers", "1"]);
    let pid = server.pid();

    let upload = |name: &str, size: u64, seed: u64| {
        let (r, _) = put_streaming(
            &server,
            &format!("/{name}"),
            &format!("Content-Length: {size}\r\n"),
            random_body_reader(size, seed),
        );
        assert_eq!(r.status, 201, "{name}: {:?}", r.body_str());
        assert_eq!(fs::metadata(root.join(name)).unwrap().len(), size);
    };

    // warm up: first-use allocations (buffer pool, connection state) happen here
    upload("warm.bin", 64 * MIB, 40);

    reset_hwm(pid);
    upload("m64.bin", 64 * MIB, 41);
    let hwm_64m = vm_hwm_kib(pid);

    reset_hwm(pid);
    upload("m1g.bin", GIB, 42);
    let hwm_1g = vm_hwm_kib(pid);

    assert!(
        hwm_1g.abs_diff(hwm_64m) <= 1024,
        "peak RSS differs by more than 1 MiB: 64 MiB PUT -> {hwm_64m} KiB, 1 GiB PUT -> {hwm_1g} KiB"
    );
}

#[test]
fn upload_in_progress_is_invisible() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let pid = server.pid();
    let data = random_bytes(2 * MIB as usize, 50);

    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /inflight.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            server.host(),
            data.len()
        )
        .as_bytes(),
    );
    c.send(&data[..MIB as usize]);
    assert!(
        wait_until(EVENT_DEADLINE, || !tmpfile_fds(pid, &root.path).is_empty()),
        "the upload never reached its staged file: the checks below would prove nothing"
    );

    let g = get(&server, "/inflight.bin", "");
    assert_json_error(&g, 404);
    let l = get(&server, "/?json", "");
    assert_eq!(l.status, 200);
    let names: Vec<String> = l
        .json()
        .get("entries")
        .and_then(Json::as_array)
        .expect("entries")
        .iter()
        .filter_map(|e| e.get("name").and_then(Json::as_str).map(str::to_string))
        .collect();
    assert!(
        names.is_empty(),
        "listing shows entries while the only upload is in flight: {names:?}"
    );
    assert_no_temp_files(&root.path, &[]);

    c.send(&data[MIB as usize..]);
    let r = c.read_response();
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    let g = get(&server, "/inflight.bin", "");
    assert_eq!(g.status, 200);
    assert_eq!(sha256_hex(&g.body), sha256_hex(&data));
    assert_no_temp_files(&root.path, &["inflight.bin"]);
}

#[test]
fn read_only_refuses_put() {
    let root = TempDir::new("root");
    std::fs::write(root.join("keep.txt"), b"keep").unwrap();
    let server = Server::start(&root.path, &["--read-only"]);
    for path in ["/new.txt", "/keep.txt"] {
        let r = put(&server, path, "", b"nope");
        assert!(
            r.status == 403 || r.status == 405,
            "read-only PUT {path}: {} {:?}",
            r.status,
            r.body_str()
        );
        assert_json_error_body(&r);
    }
    assert_eq!(fs::read(root.join("keep.txt")).unwrap(), b"keep");
    assert_no_temp_files(&root.path, &["keep.txt"]);
    // downloads still work
    assert_eq!(get(&server, "/keep.txt", "").body, b"keep");
}

#[test]
fn uploads_wait_for_buffers_when_the_pool_is_exhausted() {
    // one worker with the smallest pool: 2 buffers of 64 KiB, i.e. room for one
    // upload at a time; eight concurrent uploads must all wait their turn and
    // arrive intact (the pool never grows)
    let root = TempDir::new("root");
    let server = Server::start(
        &root.path,
        &[
            "--workers",
            "1",
            "--buffers",
            "2",
            "--buffer-size",
            "64K",
            "--no-sync",
        ],
    );
    let size = 8 * MIB;
    let results: Vec<(String, u16, String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8u64)
            .map(|i| {
                let server = &server;
                s.spawn(move || {
                    let name = format!("p{i}.bin");
                    if i % 2 == 0 {
                        let (r, body) = put_streaming(
                            server,
                            &format!("/{name}"),
                            &format!("Content-Length: {size}\r\n"),
                            random_body_reader(size, 60 + i).hashing(),
                        );
                        (name, r.status, r.body_str(), body.sha256_hex())
                    } else {
                        let (r, body) = put_streaming(
                            server,
                            &format!("/{name}"),
                            "Transfer-Encoding: chunked\r\n",
                            ChunkedReader::new(random_body_reader(size, 60 + i).hashing(), 100_000),
                        );
                        (name, r.status, r.body_str(), body.into_inner().sha256_hex())
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut names = Vec::new();
    for (name, status, body, want) in &results {
        assert_eq!(*status, 201, "{name}: {body}");
        assert_eq!(
            &sha256_file(&root.join(name)),
            want,
            "{name} differs on disk"
        );
        names.push(name.as_str());
    }
    assert_no_temp_files(&root.path, &names);
}

#[test]
fn early_error_is_readable_after_the_client_sent_its_body() {
    // A client that writes its whole body before reading (as simple clients
    // do) must still read the status, not a reset: the server drains a
    // bounded amount after answering early (lingering close).
    let body = random_bytes(MIB as usize, 70);
    let src = TempDir::new("src");
    let file = src.join("body.bin");
    write_random_file(&file, MIB, 71);
    // (server options, target, status): a missing directory, a size over the limit
    for (args, path, status) in [
        (&[][..], "/nodir/x.bin", 409),
        (&["--max-file-size", "100K"][..], "/big.bin", 413),
    ] {
        let root = TempDir::new("root");
        let server = Server::start(&root.path, args);
        let mut c = Conn::connect(server.addr);
        let head = format!(
            "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            server.host(),
            body.len()
        );
        c.send(head.as_bytes());
        c.try_send(&body).unwrap_or_else(|e| {
            panic!("PUT {path}: sending the body failed ({e}): the server did not drain it")
        });
        let r = c.try_read_response().unwrap_or_else(|e| {
            panic!("PUT {path}: status not readable after sending the body: {e}")
        });
        assert_json_error(&r, status);

        // the same through curl, with `Expect` disabled so the body goes at once
        let r = curl_capture(&[
            "-H",
            "Expect:",
            "-T",
            file.to_str().unwrap(),
            &server.url(path),
        ]);
        assert_eq!(
            r.status,
            status,
            "curl PUT {path}: {} / {:?}",
            r.stderr,
            String::from_utf8_lossy(&r.body)
        );
        assert_no_temp_files(&root.path, &[]);
    }
}

#[test]
fn replace_in_progress_keeps_serving_the_old_content() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let old = random_bytes(300_000, 80);
    let new = random_bytes(2 * MIB as usize, 81);
    assert_eq!(put(&server, "/doc.bin", "", &old).status, 201);

    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /doc.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            server.host(),
            new.len()
        )
        .as_bytes(),
    );
    c.send(&new[..MIB as usize]);
    assert!(
        wait_until(EVENT_DEADLINE, || !tmpfile_fds(server.pid(), &root.path)
            .is_empty()),
        "the replacing upload never reached its staged file: the check below would prove nothing"
    );
    let g = get(&server, "/doc.bin", "");
    assert_eq!(g.status, 200);
    assert_eq!(
        sha256_hex(&g.body),
        sha256_hex(&old),
        "a download during a replace must see the old file whole"
    );

    c.send(&new[MIB as usize..]);
    let r = c.read_response();
    assert_eq!(r.status, 200, "{:?}", r.body_str());
    let g = get(&server, "/doc.bin", "");
    assert_eq!(sha256_hex(&g.body), sha256_hex(&new));
    assert_no_temp_files(&root.path, &["doc.bin"]);
}

#[test]
fn concurrent_puts_to_one_name_never_mix() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let size = 4 * MIB;
    let results: Vec<(u16, String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6u64)
            .map(|i| {
                let server = &server;
                s.spawn(move || {
                    let (r, body) = put_streaming(
                        server,
                        "/same.bin",
                        &format!("Content-Length: {size}\r\n"),
                        random_body_reader(size, 90 + i).hashing(),
                    );
                    (r.status, r.body_str(), body.sha256_hex())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (status, body, _) in &results {
        assert!(*status == 200 || *status == 201, "{status}: {body}");
    }
    assert!(
        results.iter().any(|r| r.0 == 201),
        "no PUT reported creating the file: {results:?}"
    );
    let on_disk = sha256_file(&root.join("same.bin"));
    assert!(
        results.iter().any(|(_, _, h)| *h == on_disk),
        "same.bin is none of the uploads whole (mixed or truncated)"
    );
    assert_no_temp_files(&root.path, &["same.bin"]);
}
