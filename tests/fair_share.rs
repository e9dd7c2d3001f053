//! Fair share under hostile load (SPEC "Fair share under hostile load"),
//! through the real binary: what a slow, lying or odd client can hold of
//! the server's fixed resources — registered buffers, disk space, worker
//! threads — and that everyone else is still served.

mod common;

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::thread;
use std::time::Duration;

use common::*;

/// `mkfifo(path)`.
fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only reads it.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// A character device node equal to /dev/null (tests run as root).
fn mknod_null(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mknod only reads it.
    let rc = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 3)) };
    assert_eq!(
        rc,
        0,
        "mknod (the tests run as root): {}",
        std::io::Error::last_os_error()
    );
}

/// A PUT whose head and first `sent` body bytes are sent; the rest never
/// comes (until the test sends it).
fn stalled_put(server: &Server, path: &str, declared: u64, first: &[u8]) -> Conn {
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {declared}\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    c.send(first);
    c
}

#[test]
fn stalled_uploads_do_not_hold_the_buffer_pool() {
    // One worker with the smallest pool there is: two registered buffers.
    // Before buffers were taken only while bytes move, two stalled uploads
    // held both and every other upload waited --body-idle-timeout for a
    // buffer, then got 503.
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
            "--body-idle-timeout",
            "20s",
        ],
    );
    let mut stalled: Vec<Conn> = (0..16)
        .map(|i| stalled_put(&server, &format!("/stalled{i}.bin"), 1 << 20, &[b'x'; 100]))
        .collect();
    // Every stalled upload has its staged file: they are all in their body.
    assert!(wait_until(EVENT_DEADLINE, || tmpfile_fds(
        server.pid(),
        &root.path
    )
    .len()
        == 16));

    let data = random_bytes(3 << 20, 1);
    let r = put(&server, "/normal.bin", "", &data);
    assert_eq!(r.status, 201, "{}", r.body_str());
    assert_eq!(sha256_file(&root.join("normal.bin")), sha256_hex(&data));
    // A multipart upload and a chunked one too.
    let r = curl(
        &server,
        &["-F", &format!("f=@{}", root.join("normal.bin").display())],
        "/",
    );
    assert!(r.contains("\"size\":3145728"), "{r}");

    // The stalled uploads are intact: finishing them stores them.
    for (i, c) in stalled.iter_mut().enumerate().take(3) {
        c.send(&vec![b'y'; (1 << 20) - 100]);
        assert_eq!(c.read_response().status, 201, "stalled {i}");
        let stored = fs::read(root.join(&format!("stalled{i}.bin"))).unwrap();
        assert_eq!(stored.len(), 1 << 20);
        assert!(
            stored[..100].iter().all(|&b| b == b'x') && stored[100..].iter().all(|&b| b == b'y')
        );
    }
}

/// `curl -sS ARGS URL` and its stdout.
fn curl(server: &Server, args: &[&str], path: &str) -> String {
    let out = std::process::Command::new("curl")
        .arg("-sS")
        .args(args)
        .arg(server.url(path))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn stalled_uploads_still_get_408_at_the_body_idle_timeout_and_leave_nothing() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &["--body-idle-timeout", "1s"]);
    let mut stalled: Vec<Conn> = (0..8)
        .map(|i| stalled_put(&server, &format!("/s{i}.bin"), 100_000, b"abc"))
        .collect();
    for c in &mut stalled {
        let r = c.read_response();
        assert_json_error(&r, 408);
        assert!(c.wait_closed(EVENT_DEADLINE));
    }
    assert!(wait_until(EVENT_DEADLINE, || tmpfile_fds(
        server.pid(),
        &root.path
    )
    .is_empty()));
    assert_no_temp_files(&root.path, &[]);
}

#[test]
fn trickling_uploads_are_stored_exactly_and_do_not_block_others() {
    let root = TempDir::new("root");
    let server = Server::start(
        &root.path,
        &["--workers", "1", "--buffers", "2", "--buffer-size", "64K"],
    );
    // Several uploads, durable (direct writes, block-aligned) and chunked,
    // arriving a few bytes at a time.
    let bodies: Vec<Vec<u8>> = (0..4)
        .map(|i| random_bytes(9_000 + i * 1_111, 30 + i as u64))
        .collect();
    let mut trickles: Vec<Conn> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| stalled_put(&server, &format!("/t{i}.bin"), body.len() as u64, &[]))
        .collect();
    let mut chunked = Conn::connect(server.addr);
    chunked.send(
        format!(
            "PUT /chunked.bin HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    let chunked_body = random_bytes(5_000, 9);
    let framed = chunk_with_sizes(&chunked_body, &[1, 3, 700]).0;
    let mut sent = vec![0usize; bodies.len()];
    let mut chunked_sent = 0;
    let mut round = 0;
    while sent.iter().zip(&bodies).any(|(s, b)| *s < b.len()) || chunked_sent < framed.len() {
        for (i, c) in trickles.iter_mut().enumerate() {
            let end = (sent[i] + 37).min(bodies[i].len());
            c.send(&bodies[i][sent[i]..end]);
            sent[i] = end;
        }
        let end = (chunked_sent + 29).min(framed.len());
        chunked.send(&framed[chunked_sent..end]);
        chunked_sent = end;
        round += 1;
        if round % 50 == 0 {
            // Meanwhile a normal upload is served.
            let data = random_bytes(200_000, round as u64);
            assert_eq!(
                put(&server, &format!("/n{round}.bin"), "", &data).status,
                201
            );
        }
        thread::sleep(Duration::from_millis(2));
    }
    for (i, c) in trickles.iter_mut().enumerate() {
        assert_eq!(c.read_response().status, 201);
        assert_eq!(
            sha256_file(&root.join(&format!("t{i}.bin"))),
            sha256_hex(&bodies[i])
        );
    }
    assert_eq!(chunked.read_response().status, 201);
    assert_eq!(
        sha256_file(&root.join("chunked.bin")),
        sha256_hex(&chunked_body)
    );
}

#[test]
fn a_declared_length_takes_no_disk_space_until_bytes_arrive() {
    let mount = TmpfsMount::new("64M");
    let server = Server::start(&mount.path, &["--direct-io", "always"]);
    let free_before = statvfs_free_bytes(&mount.path);
    // Four heads each declaring 40 MiB (160 MiB in all, more than the disk
    // holds); each sends 20 KiB (more than the server gathers before it
    // writes), then stalls.
    let mut stalled: Vec<Conn> = (0..4)
        .map(|i| {
            stalled_put(
                &server,
                &format!("/big{i}.bin"),
                40 << 20,
                &[b'z'; 20 << 10],
            )
        })
        .collect();
    // The first blocks of each have reached its file.
    assert!(wait_until(EVENT_DEADLINE, || {
        let sizes = staged_file_sizes(server.pid(), &mount.path);
        sizes.len() == 4 && sizes.iter().all(|&n| n >= 16 << 10)
    }));
    let taken = free_before.saturating_sub(statvfs_free_bytes(&mount.path));
    assert!(
        taken < 16 << 20,
        "{taken} bytes of disk taken for 4 KiB received per upload"
    );
    // The disk still takes a normal upload.
    let data = random_bytes(8 << 20, 5);
    assert_eq!(put(&server, "/normal.bin", "", &data).status, 201);
    // A declared length that cannot fit is refused before 100 Continue.
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /huge.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            server.host(),
            100u64 << 20
        )
        .as_bytes(),
    );
    let r = c.read_response();
    assert_json_error(&r, 507);
    drop(stalled.drain(..));
}

#[test]
fn special_files_are_refused_at_once_and_never_block_a_worker() {
    let root = TempDir::new("root");
    fs::write(root.join("ok.txt"), b"fine").unwrap();
    mkfifo(&root.join("fifo"));
    mknod_null(&root.join("null"));
    let _listener = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
    // One worker: a FIFO that blocked it would block everyone.
    let server = Server::start(&root.path, &["--workers", "1", "--allow-delete"]);
    for name in ["fifo", "null", "sock"] {
        for _ in 0..4 {
            let r = get(&server, &format!("/{name}"), "");
            assert_json_error(&r, 403);
        }
        let mut c = Conn::connect(server.addr);
        c.send(format!("HEAD /{name} HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
        assert_eq!(c.read_head_response().status, 403);
        let r = put(&server, &format!("/{name}"), "", b"replace me?");
        assert_json_error(&r, 403);
        let mut c = Conn::connect(server.addr);
        c.send(format!("DELETE /{name} HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
        assert_json_error(&c.read_response(), 403);
    }
    // Untouched, and not listed.
    let meta = |n: &str| fs::symlink_metadata(root.join(n)).unwrap().file_type();
    assert!(meta("fifo").is_fifo() && meta("null").is_char_device() && meta("sock").is_socket());
    let listing = get(&server, "/?json", "").body_str();
    assert!(listing.contains("ok.txt") && !listing.contains("fifo") && !listing.contains("null"));
    assert!(!listing.contains("sock"), "{listing}");
    // Everyone else is served, and the server stops on SIGTERM.
    assert_eq!(get(&server, "/ok.txt", "").body, b"fine");
    let mut server = server;
    server.signal(libc::SIGTERM);
    let status = server
        .wait_exit(EVENT_DEADLINE)
        .expect("exit after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn writes_through_a_symlink_leading_outside_root_are_refused() {
    let root = TempDir::new("root");
    let outside = TempDir::new("outside");
    fs::write(outside.join("secret.txt"), b"keep me").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("link.txt")).unwrap();
    fs::write(root.join("inside.txt"), b"inside").unwrap();
    std::os::unix::fs::symlink("inside.txt", root.join("inner-link.txt")).unwrap();
    let server = Server::start(&root.path, &["--allow-delete"]);

    assert_json_error(&put(&server, "/link.txt", "", b"overwrite?"), 403);
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "DELETE /link.txt HTTP/1.1\r\nHost: {}\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    assert_json_error(&c.read_response(), 403);
    assert_eq!(
        fs::read_link(root.join("link.txt")).unwrap(),
        outside.join("secret.txt")
    );
    assert_eq!(fs::read(outside.join("secret.txt")).unwrap(), b"keep me");

    // A link that stays beneath ROOT is replaced by the upload (the link,
    // not its target, as nginx's rename does) ...
    assert_eq!(put(&server, "/inner-link.txt", "", b"new").status, 200);
    assert!(fs::symlink_metadata(root.join("inner-link.txt"))
        .unwrap()
        .is_file());
    assert_eq!(fs::read(root.join("inside.txt")).unwrap(), b"inside");
    // ... and DELETE of such a link removes the link only.
    std::os::unix::fs::symlink("inside.txt", root.join("l2")).unwrap();
    let mut c = Conn::connect(server.addr);
    c.send(format!("DELETE /l2 HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
    assert_eq!(c.read_response().status, 204);
    assert!(fs::symlink_metadata(root.join("l2")).is_err());
    assert_eq!(fs::read(root.join("inside.txt")).unwrap(), b"inside");
}

#[test]
fn mkcol_on_an_existing_path_answers_405_with_allow() {
    let root = TempDir::new("root");
    fs::create_dir(root.join("d")).unwrap();
    fs::write(root.join("f"), b"x").unwrap();
    let server = Server::start(&root.path, &[]);
    for (path, allow) in [
        ("/d/", "GET, HEAD, POST, OPTIONS"),
        ("/f", "GET, HEAD, PUT, OPTIONS"),
    ] {
        let mut c = Conn::connect(server.addr);
        c.send(format!("MKCOL {path} HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
        let r = c.read_response();
        assert_json_error(&r, 405);
        assert_eq!(r.header("allow"), Some(allow), "{path}");
    }
}

#[test]
fn options_and_405s_advertise_delete_only_when_it_is_allowed() {
    let root = TempDir::new("root");
    fs::write(root.join("f"), b"x").unwrap();
    for (flags, allow) in [
        (&[][..], "GET, HEAD, PUT, POST, MKCOL, OPTIONS"),
        (
            &["--allow-delete"][..],
            "GET, HEAD, PUT, POST, MKCOL, DELETE, OPTIONS",
        ),
        (&["--read-only"][..], "GET, HEAD, OPTIONS"),
    ] {
        let server = Server::start(&root.path, flags);
        let mut c = Conn::connect(server.addr);
        c.send(format!("OPTIONS / HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
        let r = c.read_response();
        assert_eq!(r.status, 204);
        assert_eq!(r.header("allow"), Some(allow), "{flags:?}");
        if flags.is_empty() {
            c.send(format!("DELETE /f HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
            let r = c.read_response();
            assert_json_error(&r, 405);
            assert_eq!(r.header("allow"), Some(allow));
        }
    }
}

#[test]
fn a_large_listing_is_complete_and_others_are_served_meanwhile() {
    let root = TempDir::new("root");
    fs::create_dir(root.join("many")).unwrap();
    for i in 0..20_000 {
        fs::write(root.join(&format!("many/f{i:05}")), b"").unwrap();
    }
    fs::write(root.join("small.txt"), b"small").unwrap();
    let server = Server::start(&root.path, &["--workers", "1"]);
    let addr = server.addr;
    let host = server.host();
    let lister = thread::spawn(move || {
        let mut c = Conn::connect(addr);
        c.send(format!("GET /many/?json HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes());
        c.read_response()
    });
    for _ in 0..20 {
        assert_eq!(get(&server, "/small.txt", "").body, b"small");
    }
    let r = lister.join().unwrap();
    assert_eq!(r.status, 200);
    let json = r.json();
    let entries = json.get("entries").unwrap().as_array().unwrap();
    assert_eq!(entries.len(), 20_000);
    assert_eq!(
        entries[0].get("name").and_then(Json::as_str),
        Some("f00000")
    );
    assert_eq!(
        entries[19_999].get("name").and_then(Json::as_str),
        Some("f19999")
    );
    // The HTML page has every row too.
    let page = get(&server, "/many/", "").body_str();
    assert_eq!(page.matches("<tr class=\"file\">").count(), 20_000);
}

#[test]
fn stalled_uploads_cannot_exhaust_the_open_file_limit() {
    // A small open-file limit: the server keeps descriptors for 16
    // uploads' files after the connections it allows. Before the budget,
    // stalled uploads took every descriptor: new clients were refused at
    // accept (logged 20 times a second) or got 500s, until the stalled
    // ones timed out.
    let root = TempDir::new("root");
    fs::write(root.join("ok.txt"), b"fine").unwrap();
    let mut cmd = std::process::Command::new("prlimit");
    cmd.args(["--nofile=300:300", BIN, "--port", "0", "--workers", "1"])
        .arg(&root.path);
    let server = Server::spawn(cmd, &root.path).expect("server under prlimit");
    assert!(server.wait_for_stderr(EVENT_DEADLINE, |l| l.contains("16 files being uploaded")));
    let mut stalled: Vec<Conn> = (0..16)
        .map(|i| stalled_put(&server, &format!("/s{i}.bin"), 100, &[b'x'; 10]))
        .collect();
    assert!(wait_until(EVENT_DEADLINE, || tmpfile_fds(
        server.pid(),
        &root.path
    )
    .len()
        == 16));
    // The 17th upload is refused at once, and says why.
    let r = put(&server, "/one-too-many.bin", "", b"data");
    assert_json_error(&r, 503);
    assert_eq!(
        r.json().get("error").and_then(Json::as_str),
        Some("too_many_uploads")
    );
    assert!(r.header("retry-after").is_some());
    // Downloads go on.
    assert_eq!(get(&server, "/ok.txt", "").body, b"fine");
    // The stalled ones are intact; once one finishes, a new upload fits.
    stalled[0].send(&[b'y'; 90]);
    assert_eq!(stalled[0].read_response().status, 201);
    assert!(wait_until(EVENT_DEADLINE, || {
        put(&server, "/next.bin", "", b"data").status == 201
    }));
    assert_eq!(fs::read(root.join("next.bin")).unwrap(), b"data");
}
