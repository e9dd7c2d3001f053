//! Small PUT bodies with `--no-sync`: a `Content-Length` body of at most
//! 32 KiB is completed in the connection buffer and written with one call,
//! without the registered-buffer pump. These tests drive that path (and
//! the sizes on either side of its bound) through the real binary: whole
//! and byte-split bodies, pipelining, `Expect: 100-continue`, truncated and
//! stalled bodies, and a full disk. Every stored file is checked on disk,
//! and ROOT is checked for leftovers.

mod common;

use std::fs;
use std::net::Shutdown;
use std::time::Duration;

use common::*;

/// The bound of the small-body path (`SMALL_BODY_MAX_BYTES`).
const SMALL_MAX: usize = 32 * 1024;

/// Sizes around the bound; the last two take the pump.
const SIZES: [usize; 7] = [0, 1, 4096, 4097, SMALL_MAX - 1, SMALL_MAX, SMALL_MAX + 1];

fn put_head(server: &Server, name: &str, len: usize, extra: &str) -> String {
    format!(
        "PUT /{name} HTTP/1.1\r\nHost: {}\r\nContent-Length: {len}\r\n{extra}\r\n",
        server.host()
    )
}

#[test]
fn small_bodies_whole_and_split_are_stored_intact() {
    // inline pwrite (dirty pages permitting) and io_uring writes
    for flags in [&["--no-sync"][..], &["--no-sync", "--no-inline-writes"][..]] {
        small_bodies_are_stored_intact_with(flags);
    }
}

fn small_bodies_are_stored_intact_with(flags: &[&str]) {
    let root = TempDir::new("small-split");
    let server = Server::start(&root.path, flags);
    let mut names = Vec::new();
    // one keep-alive connection for everything: each body must be consumed
    // exactly, or the next head would not parse
    let mut c = Conn::connect(server.addr);
    for (i, &len) in SIZES.iter().chain(&[100_000]).enumerate() {
        let data = random_bytes(len, 100 + i as u64);
        // head and body in one write
        let whole = format!("whole-{len}.bin");
        let mut req = put_head(&server, &whole, len, "").into_bytes();
        req.extend_from_slice(&data);
        c.send(&req);
        let r = c.read_response();
        assert_eq!(r.status, 201, "{whole}: {:?}", r.body_str());
        assert_eq!(
            r.json().get("size").and_then(Json::as_u64),
            Some(len as u64)
        );
        assert_eq!(
            sha256_file(&root.join(&whole)),
            sha256_hex(&data),
            "{whole}"
        );

        // head alone, then the body in uneven pieces with pauses
        let split = format!("split-{len}.bin");
        c.send(put_head(&server, &split, len, "").as_bytes());
        std::thread::sleep(Duration::from_millis(20));
        let mut cut = 0;
        let mut step = 1;
        while cut < len {
            let end = (cut + step).min(len);
            c.send(&data[cut..end]);
            cut = end;
            step = step * 5 % 9_973 + 1;
            if step % 3 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let r = c.read_response();
        assert_eq!(r.status, 201, "{split}: {:?}", r.body_str());
        assert_eq!(
            sha256_file(&root.join(&split)),
            sha256_hex(&data),
            "{split}"
        );
        names.push(whole);
        names.push(split);
    }

    // replacing with a small body answers 200 and swaps the content
    let data = random_bytes(1000, 7);
    let mut req = put_head(&server, "whole-4096.bin", data.len(), "").into_bytes();
    req.extend_from_slice(&data);
    c.send(&req);
    let r = c.read_response();
    assert_eq!(r.status, 200, "{:?}", r.body_str());
    assert_eq!(fs::read(root.join("whole-4096.bin")).unwrap(), data);

    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_no_temp_files(&root.path, &names);
}

#[test]
fn pipelined_small_puts_are_answered_in_order() {
    let root = TempDir::new("small-pipelined");
    let server = Server::start(&root.path, &["--no-sync"]);
    let mut c = Conn::connect(server.addr);
    let mut batch = Vec::new();
    let mut bodies = Vec::new();
    for (i, len) in [4096usize, 0, 17, SMALL_MAX, 3].into_iter().enumerate() {
        let data = random_bytes(len, 200 + i as u64);
        batch.extend_from_slice(put_head(&server, &format!("p{i}.bin"), len, "").as_bytes());
        batch.extend_from_slice(&data);
        bodies.push(data);
    }
    batch.extend_from_slice(
        format!("GET /p0.bin HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes(),
    );
    c.send(&batch);
    for (i, data) in bodies.iter().enumerate() {
        let r = c.read_response();
        assert_eq!(r.status, 201, "p{i}: {:?}", r.body_str());
        assert_eq!(
            r.json().get("name").and_then(Json::as_str),
            Some(format!("p{i}.bin").as_str())
        );
        assert_eq!(fs::read(root.join(&format!("p{i}.bin"))).unwrap(), *data);
    }
    let g = c.read_response();
    assert_eq!(g.status, 200);
    assert_eq!(g.body, bodies[0]);
    assert_no_temp_files(
        &root.path,
        &["p0.bin", "p1.bin", "p2.bin", "p3.bin", "p4.bin"],
    );
}

#[test]
fn expect_continue_small_body_gets_100_then_201() {
    let root = TempDir::new("small-expect");
    let server = Server::start(&root.path, &["--no-sync"]);
    let mut c = Conn::connect(server.addr);
    let data = random_bytes(4096, 300);
    c.send(put_head(&server, "e.bin", data.len(), "Expect: 100-continue\r\n").as_bytes());
    let r = c.read_response();
    assert_eq!(r.status, 100);
    c.send(&data);
    let r = c.read_response();
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    assert_eq!(fs::read(root.join("e.bin")).unwrap(), data);
    assert_no_temp_files(&root.path, &["e.bin"]);
}

#[test]
fn truncated_small_body_is_400_and_leaves_nothing() {
    let root = TempDir::new("small-truncated");
    let server = Server::start(&root.path, &["--no-sync"]);
    let old = write_random_file(&root.join("keep.bin"), 5000, 400);
    for name in ["keep.bin", "new.bin"] {
        let mut c = Conn::connect(server.addr);
        c.send(put_head(&server, name, 4096, "").as_bytes());
        c.send(&[1u8; 100]);
        c.stream.shutdown(Shutdown::Write).unwrap();
        let r = c.read_response();
        assert_json_error(&r, 400);
        assert!(c.wait_closed(EVENT_DEADLINE), "connection not closed");
        assert_eq!(sha256_file(&root.join("keep.bin")), old);
        assert!(!root.join("new.bin").exists());
    }
    // a client that just disconnects
    let mut c = Conn::connect(server.addr);
    c.send(put_head(&server, "gone.bin", 4096, "").as_bytes());
    c.send(&[1u8; 10]);
    drop(c);
    assert!(server_is_alive(&server));
    assert!(wait_until(EVENT_DEADLINE, || tmpfile_fds(
        server.pid(),
        &root.path
    )
    .is_empty()));
    assert_no_temp_files(&root.path, &["keep.bin"]);
}

#[test]
fn stalled_small_body_times_out_with_408() {
    let root = TempDir::new("small-stalled");
    let server = Server::start(&root.path, &["--no-sync", "--body-idle-timeout", "1"]);
    let mut c = Conn::connect(server.addr);
    c.send(put_head(&server, "stall.bin", 4096, "").as_bytes());
    c.send(&[1u8; 10]);
    let r = c.read_response();
    assert_json_error(&r, 408);
    assert!(c.wait_closed(EVENT_DEADLINE), "connection not closed");
    assert!(!root.join("stall.bin").exists());
    assert_no_temp_files(&root.path, &[]);
}

#[test]
fn small_body_on_full_disk_is_507_and_leaves_nothing() {
    let mnt = TmpfsMount::new("1m");
    let server = Server::start(&mnt.path, &["--no-sync"]);
    // fill the disk with small files until one is refused
    let data = random_bytes(SMALL_MAX, 500);
    let mut stored = Vec::new();
    let mut refused = None;
    for i in 0..200 {
        let name = format!("f{i}.bin");
        let r = put(&server, &format!("/{name}"), "", &data);
        if r.status == 201 {
            stored.push(name);
        } else {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("a 1 MiB tmpfs took 200 x 32 KiB");
    assert_json_error(&r, 507);
    assert!(wait_until(EVENT_DEADLINE, || tmpfile_fds(
        server.pid(),
        &mnt.path
    )
    .is_empty()));
    let names: Vec<&str> = stored.iter().map(String::as_str).collect();
    assert_no_temp_files(&mnt.path, &names);
    for name in &stored {
        assert_eq!(fs::read(mnt.path.join(name)).unwrap(), data, "{name}");
    }
}

#[test]
fn small_put_onto_a_directory_is_409_and_if_none_match_is_412() {
    // The small path leaves the existence check to the commit unless the
    // client waits for 100 Continue or sends If-None-Match: the answers
    // must be the same as on the pump's path, and nothing may be left.
    for flags in [&["--no-sync"][..], &[][..]] {
        let root = TempDir::new("small-conflicts");
        fs::create_dir(root.join("sub")).unwrap();
        fs::write(root.join("sub/keep.txt"), b"keep").unwrap();
        fs::write(root.join("taken.bin"), b"old").unwrap();
        let server = Server::start(&root.path, flags);
        let data = random_bytes(4096, 400);
        for extra in ["", "Expect: 100-continue\r\n"] {
            let r = put(&server, "/sub", extra, &data);
            assert_eq!(r.status, 409, "{flags:?} {extra:?}: {}", r.body_str());
            assert!(r.body_str().contains("directory"), "{}", r.body_str());
        }
        let r = put(&server, "/taken.bin", "If-None-Match: *\r\n", &data);
        assert_eq!(r.status, 412, "{flags:?}: {}", r.body_str());
        assert_eq!(fs::read(root.join("taken.bin")).unwrap(), b"old");
        assert_eq!(fs::read(root.join("sub/keep.txt")).unwrap(), b"keep");
        assert!(root.join("sub").is_dir());
        let r = put(&server, "/taken.bin", "", &data);
        assert_eq!(r.status, 200, "{flags:?}: {}", r.body_str());
        assert_eq!(fs::read(root.join("taken.bin")).unwrap(), data);
        assert_no_temp_files(&root.path, &["sub/", "sub/keep.txt", "taken.bin"]);
    }
}
