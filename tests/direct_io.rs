//! Direct (`O_DIRECT`) upload writes through the real binary: the file is
//! really opened for direct I/O in the modes that ask for it (seen in
//! /proc/PID/fdinfo while an upload is in flight), and the bytes on disk are
//! exact — length included, since the last direct write is padded to a whole
//! block and trimmed — for sizes around the block (4 KiB) and buffer
//! (64 KiB here) boundaries, for Content-Length, chunked and multipart
//! bodies, in every `--direct-io` mode.

mod common;

use std::fs;
use std::io::Cursor;
use std::time::Duration;

use common::*;

/// `O_DIRECT` in the octal `flags:` line of /proc/PID/fdinfo (x86_64,
/// aarch64 differ: use the libc constant).
const O_DIRECT_FLAG: u32 = libc::O_DIRECT as u32;

/// The `--direct-io` modes with the flags they are run with, and whether
/// uploads should then write with O_DIRECT.
const MODES: &[(&[&str], bool)] = &[
    (&[], true),
    // `auto`: a --no-sync upload that fits in the dirty-page headroom goes
    // through the page cache (the test waits for the headroom first).
    (&["--no-sync"], false),
    (&["--no-sync", "--direct-io", "always"], true),
    (&["--direct-io", "never"], false),
    // page-cache writes handed to io_uring even when they could run inline
    (
        &["--no-sync", "--direct-io", "never", "--no-inline-writes"],
        false,
    ),
];

/// Sizes around block and buffer boundaries (the buffer is 64 KiB).
const SIZES: &[usize] = &[
    0,
    1,
    4095,
    4096,
    4097,
    65_535,
    65_536,
    65_537,
    3 * 65_536 + 17,
    (1 << 20) + 4095,
];

fn start(root: &TempDir, mode_flags: &[&str]) -> Server {
    let mut args = vec!["--buffer-size", "64K"];
    args.extend_from_slice(mode_flags);
    Server::start(&root.path, &args)
}

/// Flags (octal in fdinfo) of the server's open O_TMPFILE upload files.
fn staged_file_flags(server: &Server) -> Vec<u32> {
    let prefix = server.root.to_string_lossy().into_owned();
    let mut flags = Vec::new();
    let dir = format!("/proc/{}/fd", server.pid());
    for entry in fs::read_dir(&dir).expect("fd dir").flatten() {
        let Ok(target) = fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        if !(target.starts_with(&prefix) && target.ends_with("(deleted)")) {
            continue;
        }
        let fd = entry.file_name().to_string_lossy().into_owned();
        flags.extend(fd_flags(server.pid(), &fd));
    }
    flags
}

/// (dirty + writeback pages, background threshold pages) from /proc/vmstat.
fn dirty_pages() -> (u64, u64) {
    let text = fs::read_to_string("/proc/vmstat").expect("/proc/vmstat");
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/vmstat"))
    };
    (
        field("nr_dirty") + field("nr_writeback"),
        field("nr_dirty_background_threshold"),
    )
}

/// Waits until the system's dirty pages are well below the background
/// threshold, so that `--direct-io auto` has headroom for a small upload
/// (other tests running at the same time may have filled the page cache).
fn wait_for_dirty_page_headroom() {
    assert!(
        wait_until(Duration::from_secs(60), || {
            let (dirty, threshold) = dirty_pages();
            dirty < threshold / 4
        }),
        "dirty pages stayed near the background threshold: {:?}",
        dirty_pages()
    );
}

#[test]
fn uploads_write_with_o_direct_exactly_in_the_modes_that_ask_for_it() {
    for &(mode_flags, want_direct) in MODES {
        wait_for_dirty_page_headroom();
        let root = TempDir::new("root");
        let server = start(&root, mode_flags);
        // Half a body, then a pause: the staged file is open meanwhile.
        let data = random_bytes(200_000, 3);
        let mut c = stalled_put(&server, "/slow.bin", &data, 100_000);
        let mut flags = Vec::new();
        assert!(
            wait_until(Duration::from_secs(10), || {
                flags = staged_file_flags(&server);
                !flags.is_empty()
            }),
            "{mode_flags:?}: no staged upload file seen"
        );
        assert_eq!(
            flags[0] & O_DIRECT_FLAG != 0,
            want_direct,
            "{mode_flags:?}: O_DIRECT in fdinfo flags {:o}",
            flags[0]
        );
        c.send(&data[100_000..]);
        let r = c.read_response();
        assert_eq!(r.status, 201, "{mode_flags:?}: {}", r.body_str());
        assert_eq!(sha256_file(&root.join("slow.bin")), sha256_hex(&data));
    }
}

/// Starts a PUT of `len` bytes, sends `sent` of them and leaves it open.
fn stalled_put(server: &Server, path: &str, data: &[u8], sent: usize) -> Conn {
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            server.host(),
            data.len()
        )
        .as_bytes(),
    );
    c.send(&data[..sent]);
    c
}

#[test]
fn two_concurrent_durable_uploads_on_one_worker_both_write_direct() {
    // One worker, so both uploads share it (and its pool).
    for (mode_flags, second_direct) in [(&[][..], true)] {
        let root = TempDir::new("root");
        let mut args = vec!["--workers", "1"];
        args.extend_from_slice(mode_flags);
        let server = Server::start(&root.path, &args);
        let data = random_bytes(400_000, 8);
        let mut first = stalled_put(&server, "/first.bin", &data, 100_000);
        assert!(
            wait_until(Duration::from_secs(10), || staged_file_flags(&server).len()
                == 1),
            "{mode_flags:?}: first upload not staged"
        );
        assert!(staged_file_flags(&server)[0] & O_DIRECT_FLAG != 0);
        let mut second = stalled_put(&server, "/second.bin", &data, 100_000);
        let mut flags = Vec::new();
        assert!(
            wait_until(Duration::from_secs(10), || {
                flags = staged_file_flags(&server);
                flags.len() == 2
            }),
            "{mode_flags:?}: second upload not staged"
        );
        let direct = flags.iter().filter(|&&f| f & O_DIRECT_FLAG != 0).count();
        assert_eq!(
            direct,
            if second_direct { 2 } else { 1 },
            "{mode_flags:?}: flags {flags:?}"
        );
        for (c, name) in [(&mut first, "first.bin"), (&mut second, "second.bin")] {
            c.send(&data[100_000..]);
            let r = c.read_response();
            assert_eq!(r.status, 201, "{mode_flags:?} {name}: {}", r.body_str());
            assert_eq!(sha256_file(&root.join(name)), sha256_hex(&data));
        }
    }
}

#[test]
fn put_sizes_around_block_and_buffer_boundaries_are_exact_in_every_mode() {
    for &(mode_flags, _) in MODES {
        let root = TempDir::new("root");
        let server = start(&root, mode_flags);
        for (i, &size) in SIZES.iter().enumerate() {
            let name = format!("f{i}.bin");
            let data = random_bytes(size, i as u64 + 10);
            let r = put(&server, &format!("/{name}"), "", &data);
            assert_eq!(
                r.status,
                201,
                "{mode_flags:?} size {size}: {}",
                r.body_str()
            );
            let path = root.join(&name);
            assert_eq!(
                fs::metadata(&path).unwrap().len(),
                size as u64,
                "{mode_flags:?}: length on disk for size {size}"
            );
            assert_eq!(
                sha256_file(&path),
                sha256_hex(&data),
                "{mode_flags:?}: content for size {size}"
            );
        }
        // Replacing a long file with a short one leaves only the short one.
        let short = random_bytes(5000, 99);
        let r = put(&server, "/f9.bin", "", &short);
        assert_eq!(r.status, 200, "{}", r.body_str());
        assert_eq!(sha256_file(&root.join("f9.bin")), sha256_hex(&short));
        let names: Vec<String> = (0..SIZES.len()).map(|i| format!("f{i}.bin")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_no_temp_files(&root.path, &names);
    }
}

/// Chunk sizes that never line up with blocks or buffers.
const ODD_CHUNK_SIZES: &[usize] = &[1, 4095, 4097, 7, 65_536, 12_345, 100_003];

#[test]
fn chunked_puts_with_odd_chunk_sizes_are_exact_in_every_mode() {
    for &(mode_flags, _) in MODES {
        let root = TempDir::new("root");
        let server = start(&root, mode_flags);
        for (i, size) in [4097usize, 300_001, (1 << 20) + 1].into_iter().enumerate() {
            let data = random_bytes(size, i as u64 + 40);
            let mut c = Conn::connect(server.addr);
            c.send(
                format!(
                    "PUT /c{i}.bin HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
                    server.host()
                )
                .as_bytes(),
            );
            c.send(&chunk_with_sizes(&data, ODD_CHUNK_SIZES).0);
            let r = c.read_response();
            assert_eq!(
                r.status,
                201,
                "{mode_flags:?} size {size}: {}",
                r.body_str()
            );
            let path = root.join(&format!("c{i}.bin"));
            assert_eq!(fs::metadata(&path).unwrap().len(), size as u64);
            assert_eq!(
                sha256_file(&path),
                sha256_hex(&data),
                "{mode_flags:?} {size}"
            );
        }
    }
}

const BOUNDARY: &str = "directIoBoundary0123456789";

#[test]
fn multipart_parts_of_odd_sizes_are_exact_in_every_mode() {
    // Parts whose data start and end anywhere within the 64 KiB buffers.
    let sizes = [
        0usize,
        1,
        5000,
        4096,
        70_000,
        4096 * 20,
        200_001,
        65_536 * 3,
    ];
    let parts: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| random_bytes(n, i as u64 + 70))
        .collect();
    let mut body = Vec::new();
    for (i, data) in parts.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"p{i}.bin\"\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
        if i == 2 {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n")
                    .as_bytes(),
            );
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());

    for &(mode_flags, _) in MODES {
        let root = TempDir::new("root");
        let server = start(&root, mode_flags);
        let headers = format!(
            "Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n",
            body.len()
        );
        let (r, _) = send_streaming(&server, "POST", "/", &headers, Cursor::new(body.clone()));
        assert_eq!(r.status, 201, "{mode_flags:?}: {}", r.body_str());
        for (i, data) in parts.iter().enumerate() {
            let path = root.join(&format!("p{i}.bin"));
            assert_eq!(
                fs::metadata(&path).unwrap().len(),
                data.len() as u64,
                "{mode_flags:?}: length of part {i}"
            );
            assert_eq!(
                sha256_file(&path),
                sha256_hex(data),
                "{mode_flags:?}: content of part {i}"
            );
        }
    }
}

#[test]
fn declared_length_beyond_free_space_is_507_before_100_continue() {
    // Direct (durable) uploads preallocate a declared length, so a disk
    // without room says so before the client sends a byte of the body.
    // (The server is declared after the mount so it stops before the unmount.)
    let mnt = TmpfsMount::new("8m");
    let server = Server::start(&mnt.path, &[]);
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /huge.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            server.host(),
            16 * MIB
        )
        .as_bytes(),
    );
    let r = c.read_response();
    assert_eq!(
        r.status,
        507,
        "want 507 before 100 Continue: {}",
        r.body_str()
    );
    assert_eq!(
        r.json().get("error").and_then(Json::as_str),
        Some("insufficient_storage"),
        "{}",
        r.body_str()
    );
    assert_no_temp_files(&mnt.path, &[]);
    // A declared length that fits is stored.
    let data = random_bytes(3 * MIB as usize, 5);
    let r = put(&server, "/fits.bin", "", &data);
    assert_eq!(r.status, 201, "{}", r.body_str());
    assert_eq!(sha256_file(&mnt.path.join("fits.bin")), sha256_hex(&data));
}

#[test]
fn auto_mode_writes_direct_what_does_not_fit_in_the_page_cache_headroom() {
    // Durable, a chunked body (length unknown), and a declared length
    // beyond the background threshold all write direct with the default
    // `--direct-io auto`, with or without --no-sync.
    let (_, threshold_pages) = dirty_pages();
    let too_big = (threshold_pages + 1) * 4096 * 2;
    let root = TempDir::new("auto");
    let nosync = start(&root, &["--no-sync", "--workers", "1"]);
    let durable = start(&root, &["--workers", "1"]);
    let heads = [
        (
            &nosync,
            "Transfer-Encoding: chunked\r\n".to_string(),
            "chunked",
        ),
        (&nosync, format!("Content-Length: {too_big}\r\n"), "too big"),
        (
            &durable,
            "Content-Length: 300000\r\n".to_string(),
            "durable",
        ),
    ];
    for (server, framing, what) in heads {
        let mut c = Conn::connect(server.addr);
        c.send(
            format!(
                "PUT /auto.bin HTTP/1.1\r\nHost: {}\r\n{framing}\r\n",
                server.host()
            )
            .as_bytes(),
        );
        let first = random_bytes(100_000, 9);
        if framing.starts_with("Transfer") {
            c.send(format!("{:x}\r\n", first.len()).as_bytes());
        }
        c.send(&first);
        let mut flags = Vec::new();
        let mut answered = false;
        c.stream.set_nonblocking(true).unwrap();
        assert!(
            wait_until(Duration::from_secs(10), || {
                flags = staged_file_flags(server);
                // Only a direct file is preallocated: a disk without room
                // for `too_big` answers 507 early, which shows it too.
                answered = c.stream.peek(&mut [0u8; 1]).is_ok_and(|n| n > 0);
                !flags.is_empty() || answered
            }),
            "{what}: no staged upload file seen"
        );
        c.stream.set_nonblocking(false).unwrap();
        if flags.is_empty() {
            let r = c.read_response();
            assert_eq!(r.status, 507, "{what}: {}", r.body_str());
            continue;
        }
        assert!(
            flags[0] & O_DIRECT_FLAG != 0,
            "{what}: flags {:o}",
            flags[0]
        );
        // Leave mid-body: the staged file goes, nothing is stored.
        drop(c);
        assert!(
            wait_until(Duration::from_secs(10), || staged_file_flags(server)
                .is_empty()),
            "{what}: staged file still open after the client left"
        );
    }
    assert_no_temp_files(&root.path, &[]);
}
