//! Resumable uploads through the real binary (SPEC "Resumable uploads"):
//! tus 1.0.0 (core, creation, creation-with-upload, creation-defer-length,
//! termination, expiration, checksum) and the IETF draft on raw sockets,
//! every status and header the protocols name, the limits, access control,
//! the staging area never served, `kill -9` mid-upload and resume with no
//! reported offset ever going backwards, two servers on one ROOT, and the
//! bytes a client re-sends after a cut.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use sha1::Digest as _;

const TUS: &str = "Tus-Resumable: 1.0.0\r\n";
const OCTETS: &str = "Content-Type: application/offset+octet-stream\r\n";

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sha1_checksum(body: &[u8]) -> String {
    format!("sha1 {}", b64(&sha1::Sha1::digest(body)))
}

fn sha256_checksum(body: &[u8]) -> String {
    format!("sha256 {}", b64(&sha2::Sha256::digest(body)))
}

fn sha512_checksum(body: &[u8]) -> String {
    format!("sha512 {}", b64(&sha2::Sha512::digest(body)))
}

/// One request on a fresh connection (`Connection: close`); a body gets a
/// `Content-Length`. Returns the interim (1xx) responses and the final one.
fn request_all(
    server: &Server,
    method: &str,
    path: &str,
    headers: &str,
    body: Option<&[u8]>,
) -> (Vec<Response>, Response) {
    let length = body.map_or(String::new(), |b| {
        format!("Content-Length: {}\r\n", b.len())
    });
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}{length}Connection: close\r\n\r\n",
        server.host()
    );
    let mut c = Conn::connect(server.addr);
    c.send(head.as_bytes());
    if let Some(body) = body {
        let _ = c.try_send(body);
    }
    let mut interim = Vec::new();
    loop {
        let r = c
            .try_read_response_for(method == "HEAD", Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        if r.status >= 200 {
            return (interim, r);
        }
        interim.push(r);
    }
}

fn request(
    server: &Server,
    method: &str,
    path: &str,
    headers: &str,
    body: Option<&[u8]>,
) -> Response {
    request_all(server, method, path, headers, body).1
}

/// tus creation of an upload into `dir` named `name` (`None` length:
/// deferred); asserts 201 and returns the `Location`.
fn create(server: &Server, dir: &str, len: Option<u64>, name: &str, extra: &str) -> String {
    let r = try_create(server, dir, len, name, extra);
    assert_eq!(r.status, 201, "creation: {r:?} {}", r.body_str());
    r.header("location").expect("Location").to_owned()
}

fn try_create(server: &Server, dir: &str, len: Option<u64>, name: &str, extra: &str) -> Response {
    let length = match len {
        Some(n) => format!("Upload-Length: {n}\r\n"),
        None => "Upload-Defer-Length: 1\r\n".to_owned(),
    };
    let meta = format!("Upload-Metadata: filename {}\r\n", b64(name.as_bytes()));
    request(
        server,
        "POST",
        dir,
        &format!("{TUS}{length}{meta}{extra}"),
        None,
    )
}

fn patch(server: &Server, loc: &str, offset: u64, body: &[u8], extra: &str) -> Response {
    request(
        server,
        "PATCH",
        loc,
        &format!("{TUS}Upload-Offset: {offset}\r\n{OCTETS}{extra}"),
        Some(body),
    )
}

fn head(server: &Server, loc: &str) -> Response {
    request(server, "HEAD", loc, TUS, None)
}

fn offset_of(r: &Response) -> u64 {
    r.header("upload-offset")
        .unwrap_or_else(|| panic!("no Upload-Offset: {r:?}"))
        .parse()
        .unwrap()
}

fn staging(root: &Path) -> PathBuf {
    root.join(".ringdrop-uploads")
}

fn id_of(loc: &str) -> &str {
    loc.rsplit('/').next().unwrap()
}

fn data_file(root: &Path, loc: &str) -> PathBuf {
    staging(root).join(format!("{}.data", id_of(loc)))
}

/// Whether nobody holds the upload's lock (the `flock` of its data file):
/// taken and given back at once from a descriptor of our own.
fn lock_is_free(data: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(file) = fs::File::open(data) else {
        return false;
    };
    // SAFETY: flock takes the descriptor `file` keeps open and plain flags.
    let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    // Closing `file` releases the lock if it was taken.
    drop(file);
    taken
}

fn record_file(root: &Path, loc: &str) -> PathBuf {
    staging(root).join(format!("{}.record", id_of(loc)))
}

/// The tree without the staging area.
fn visible_tree(root: &Path) -> Vec<String> {
    list_tree(root)
        .into_iter()
        .filter(|p| !p.starts_with(".ringdrop-uploads"))
        .collect()
}

/// A deterministic pseudo-random sequence (xorshift) for sizes and delays;
/// the seed is printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn from_time(label: &str) -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1;
        eprintln!("{label}: seed {seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// A PATCH that reports instead of panicking (the server may die under
/// it), writing the body in `piece`-byte writes `pause` apart. Returns the
/// `Upload-Offset` of a 204.
fn patch_paced(
    addr: std::net::SocketAddr,
    loc: &str,
    offset: u64,
    body: &[u8],
    piece: usize,
    pause: Duration,
) -> Result<u64, String> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "PATCH {loc} HTTP/1.1\r\nHost: {addr}\r\n{TUS}{OCTETS}Upload-Offset: {offset}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    for part in body.chunks(piece) {
        s.write_all(part).map_err(|e| e.to_string())?;
        if !pause.is_zero() {
            thread::sleep(pause);
        }
    }
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    match parse_response(&buf, false, true) {
        Ok(Parsed::Done(r, _)) if r.status == 204 => Ok(offset_of(&r)),
        Ok(Parsed::Done(r, _)) => Err(format!("status {}: {}", r.status, r.body_str())),
        _ => Err(format!("no response: {:?}", String::from_utf8_lossy(&buf))),
    }
}

// ---------------------------------------------------------------------------
// tus core, creation, defer-length, creation-with-upload
// ---------------------------------------------------------------------------

#[test]
fn tus_discovery_creation_head_patch_and_commit() {
    let root = TempDir::new("rs-core");
    fs::create_dir(root.join("in")).unwrap();
    let server = Server::start(&root.path, &["--max-file-size", "1G"]);

    // OPTIONS: both protocols' discovery fields beside the usual Allow.
    let o = request(&server, "OPTIONS", "/in/", "", None);
    assert_eq!(o.status, 204);
    assert_eq!(o.header("tus-version"), Some("1.0.0"));
    assert_eq!(o.header("tus-resumable"), Some("1.0.0"));
    assert_eq!(o.header("tus-max-size"), Some("1073741824"));
    let ext = o.header("tus-extension").unwrap();
    for e in [
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "expiration",
        "checksum",
    ] {
        assert!(
            ext.split(',').any(|x| x == e),
            "Tus-Extension {ext} lacks {e}"
        );
    }
    assert_eq!(
        o.header("tus-checksum-algorithm"),
        Some("sha1,sha256,sha512")
    );
    assert_eq!(o.header("accept-patch"), Some("application/partial-upload"));
    assert!(o.header("allow").unwrap().contains("POST"));

    let data = random_bytes(300_000, 1);
    let created = try_create(&server, "/in/", Some(data.len() as u64), "report.pdf", "");
    assert_eq!(created.status, 201);
    assert_eq!(created.header("tus-resumable"), Some("1.0.0"));
    assert_eq!(created.header("upload-offset"), Some("0"));
    let expires = created.header("upload-expires").expect("Upload-Expires");
    assert!(expires.ends_with(" GMT"), "{expires}");
    let loc = created.header("location").unwrap().to_owned();
    assert!(
        loc.starts_with("/.ringdrop-uploads/") && id_of(&loc).len() == 32,
        "{loc}"
    );

    let h = head(&server, &loc);
    assert_eq!(h.status, 200);
    assert_eq!(h.header("upload-offset"), Some("0"));
    assert_eq!(h.header("upload-length"), Some("300000"));
    assert_eq!(h.header("cache-control"), Some("no-store"));
    assert_eq!(h.header("tus-resumable"), Some("1.0.0"));
    assert_eq!(
        h.header("upload-metadata"),
        Some(format!("filename {}", b64(b"report.pdf")).as_str())
    );

    // Three PATCHes; the file is invisible until the last one.
    let cuts = [0usize, 100_001, 200_000, data.len()];
    for w in cuts.windows(2) {
        assert!(visible_tree(&root.path) == vec!["in/".to_owned()]);
        assert_eq!(get(&server, "/in/report.pdf", "").status, 404);
        let r = patch(&server, &loc, w[0] as u64, &data[w[0]..w[1]], "");
        assert_eq!(r.status, 204, "{r:?} {}", r.body_str());
        assert_eq!(offset_of(&r), w[1] as u64);
        assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
        assert_eq!(offset_of(&head(&server, &loc)), w[1] as u64);
    }
    let stored = root.join("in/report.pdf");
    assert_eq!(sha256_file(&stored), sha256_hex(&data));
    assert_eq!(fs::metadata(&stored).unwrap().len(), data.len() as u64);
    // The data's staging name is gone, the record answers HEAD for a while.
    assert!(!data_file(&root.path, &loc).exists());
    let h = head(&server, &loc);
    assert_eq!((h.status, offset_of(&h)), (200, 300_000));
    // A repeated empty PATCH at the end is answered again; more bytes not.
    assert_eq!(patch(&server, &loc, 300_000, b"", "").status, 204);
    assert_eq!(patch(&server, &loc, 300_000, b"x", "").status, 400);
    // Listings never show the staging area.
    let listing = get(&server, "/?json", "").body_str();
    assert!(!listing.contains("ringdrop-uploads"), "{listing}");
}

#[test]
fn tus_refusals_have_the_protocols_statuses_and_headers() {
    let root = TempDir::new("rs-errors");
    fs::create_dir(root.join("in")).unwrap();
    let server = Server::start(&root.path, &["--max-file-size", "1M"]);
    let loc = create(&server, "/in/", Some(100), "a.txt", "");
    assert_eq!(patch(&server, &loc, 0, &[7; 40], "").status, 204);

    // Wrong offset: 409 with the right one; nothing changes.
    let r = patch(&server, &loc, 39, b"x", "");
    assert_eq!((r.status, offset_of(&r)), (409, 40));
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    // No Tus-Resumable: 412 with Tus-Version.
    let r = request(
        &server,
        "PATCH",
        &loc,
        &format!("Upload-Offset: 40\r\n{OCTETS}"),
        Some(b"x"),
    );
    assert_eq!(r.status, 412);
    assert_eq!(r.header("tus-version"), Some("1.0.0"));
    let r = request(
        &server,
        "POST",
        "/in/",
        "Tus-Resumable: 0.2.2\r\nUpload-Length: 1\r\n",
        None,
    );
    assert_eq!(r.status, 412);
    // Wrong body type: 415.
    let r = request(
        &server,
        "PATCH",
        &loc,
        &format!("{TUS}Upload-Offset: 40\r\nContent-Type: application/octet-stream\r\n"),
        Some(b"x"),
    );
    assert_eq!(r.status, 415);
    // Past the declared length: 413, declared or found while streaming.
    assert_eq!(patch(&server, &loc, 40, &[1; 61], "").status, 413);
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PATCH {loc} HTTP/1.1\r\nHost: {}\r\n{TUS}Upload-Offset: 40\r\n{OCTETS}Transfer-Encoding: chunked\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    let _ = c.try_send(&chunked_body(&[1; 61], 20));
    assert_eq!(c.read_response().status, 413);
    assert_eq!(offset_of(&head(&server, &loc)), 40);
    assert_eq!(fs::metadata(data_file(&root.path, &loc)).unwrap().len(), 40);
    // Creation: both lengths 400, none 400, over the maximum 413, a
    // missing directory 404, bad metadata 400.
    let both = "Upload-Length: 5\r\nUpload-Defer-Length: 1\r\n";
    assert_eq!(
        request(&server, "POST", "/in/", &format!("{TUS}{both}"), None).status,
        400
    );
    assert_eq!(request(&server, "POST", "/in/", TUS, None).status, 400);
    assert_eq!(
        try_create(&server, "/in/", Some((1 << 20) + 1), "big", "").status,
        413
    );
    assert_eq!(
        try_create(&server, "/in/", Some(1 << 20), "big", "").status,
        201
    );
    assert_eq!(try_create(&server, "/nope/", Some(5), "a", "").status, 404);
    let r = request(
        &server,
        "POST",
        "/in/",
        &format!("{TUS}Upload-Length: 5\r\nUpload-Metadata: filename ***\r\n"),
        None,
    );
    assert_eq!(r.status, 400);
    // Unknown algorithm: 400.
    let r = patch(
        &server,
        &loc,
        40,
        b"x",
        "Upload-Checksum: md5 AAAAAAAAAAAAAAAAAAAAAA==\r\n",
    );
    assert_eq!(r.status, 400);
    // No such upload: 404; a method an upload URL does not take: 405.
    let gone = "/.ringdrop-uploads/00000000000000000000000000000000";
    assert_eq!(head(&server, gone).status, 404);
    assert_eq!(patch(&server, gone, 0, b"x", "").status, 404);
    let r = request(&server, "GET", &loc, "", None);
    assert_eq!(r.status, 405);
    assert!(r.header("allow").unwrap().contains("PATCH"));
    // X-HTTP-Method-Override: PATCH on a POST is a PATCH.
    let r = request(
        &server,
        "POST",
        &loc,
        &format!("{TUS}X-HTTP-Method-Override: PATCH\r\nUpload-Offset: 40\r\n{OCTETS}"),
        Some(&[2; 60]),
    );
    assert_eq!((r.status, offset_of(&r)), (204, 100));
    assert!(root.join("in/a.txt").exists());
}

#[test]
fn creation_with_upload_defer_length_and_zero_length() {
    let root = TempDir::new("rs-create");
    fs::create_dir(root.join("in")).unwrap();
    let server = Server::start(&root.path, &[]);
    // creation-with-upload: the POST's body is the first bytes.
    let data = random_bytes(70_000, 2);
    let r = request(
        &server,
        "POST",
        "/in/",
        &format!(
            "{TUS}Upload-Length: 70000\r\nUpload-Metadata: filename {}\r\n{OCTETS}",
            b64(b"w.bin")
        ),
        Some(&data[..50_000]),
    );
    assert_eq!((r.status, offset_of(&r)), (201, 50_000));
    let loc = r.header("location").unwrap().to_owned();
    assert_eq!(
        patch(&server, &loc, 50_000, &data[50_000..], "").status,
        204
    );
    assert_eq!(sha256_file(&root.join("in/w.bin")), sha256_hex(&data));
    // A creation that carries every byte answers 201 with the Location.
    let r = request(
        &server,
        "POST",
        "/in/",
        &format!(
            "{TUS}Upload-Length: 3\r\nUpload-Metadata: filename {}\r\n{OCTETS}",
            b64(b"three")
        ),
        Some(b"abc"),
    );
    assert_eq!((r.status, offset_of(&r)), (201, 3));
    assert!(r.header("location").is_some());
    assert_eq!(fs::read(root.join("in/three")).unwrap(), b"abc");

    // creation-defer-length: the length comes with a later PATCH.
    let loc = create(&server, "/in/", None, "d.bin", "");
    let h = head(&server, &loc);
    assert_eq!(h.header("upload-defer-length"), Some("1"));
    assert!(h.header("upload-length").is_none());
    assert_eq!(patch(&server, &loc, 0, &data[..1000], "").status, 204);
    let r = patch(
        &server,
        &loc,
        1000,
        &data[1000..2000],
        "Upload-Length: 2000\r\n",
    );
    assert_eq!((r.status, offset_of(&r)), (204, 2000));
    assert_eq!(fs::read(root.join("in/d.bin")).unwrap(), &data[..2000]);

    // Upload-Length: 0 is complete at once.
    let r = try_create(&server, "/in/", Some(0), "empty", "");
    assert_eq!(r.status, 201);
    assert_eq!(fs::metadata(root.join("in/empty")).unwrap().len(), 0);

    // Names: sanitized like a multipart filename, collision-free.
    for _ in 0..2 {
        let loc = create(&server, "/in/", Some(1), "../../x.txt", "");
        assert_eq!(patch(&server, &loc, 0, b"1", "").status, 204);
    }
    assert!(root.join("in/x.txt").exists() && root.join("in/x (1).txt").exists());
    // Without a filename, the id names the file.
    let r = request(
        &server,
        "POST",
        "/in/",
        &format!("{TUS}Upload-Length: 1\r\n"),
        None,
    );
    let loc = r.header("location").unwrap().to_owned();
    let r = patch(&server, &loc, 0, b"z", "");
    let id = id_of(&loc).to_owned();
    assert_eq!(
        r.header("content-location"),
        Some(format!("/in/{id}").as_str())
    );
}

#[test]
fn odd_chunks_land_exactly_in_every_write_mode() {
    // Offsets that end mid-block: direct writes re-read the partial block.
    let sizes = [
        1usize, 4095, 1, 4096, 8191, 100_000, 3, 1_048_577, 5000, 4097,
    ];
    let total: usize = sizes.iter().sum();
    let data = random_bytes(total, 3);
    for mode in [
        &[][..],
        &["--no-sync"][..],
        &["--direct-io", "never"][..],
        &["--no-sync", "--direct-io", "always"][..],
    ] {
        let root = TempDir::new("rs-odd");
        let server = Server::start(&root.path, mode);
        let loc = create(&server, "/", Some(total as u64), "odd.bin", "");
        let mut at = 0;
        for &n in &sizes {
            let r = patch(&server, &loc, at as u64, &data[at..at + n], "");
            assert_eq!(r.status, 204, "{mode:?} at {at}: {}", r.body_str());
            at += n;
            assert_eq!(offset_of(&r), at as u64, "{mode:?}");
            assert_eq!(offset_of(&head(&server, &loc)), at as u64, "{mode:?}");
            if at < total {
                // The data file holds exactly the upload so far.
                let on_disk = fs::read(data_file(&root.path, &loc)).unwrap();
                assert_eq!(&on_disk[..at], &data[..at], "{mode:?} at {at}");
            }
        }
        assert_eq!(
            sha256_file(&root.join("odd.bin")),
            sha256_hex(&data),
            "{mode:?}"
        );
        // Chunked PATCH bodies too.
        let loc = create(&server, "/", Some(10_000), "chunked.bin", "");
        let mut c = Conn::connect(server.addr);
        c.send(
            format!(
                "PATCH {loc} HTTP/1.1\r\nHost: {}\r\n{TUS}Upload-Offset: 0\r\n{OCTETS}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                server.host()
            )
            .as_bytes(),
        );
        c.send(&chunked_body(&data[..10_000], 777));
        let r = c.read_response();
        assert_eq!((r.status, offset_of(&r)), (204, 10_000), "{mode:?}");
        assert_eq!(fs::read(root.join("chunked.bin")).unwrap(), &data[..10_000]);
    }
}

// ---------------------------------------------------------------------------
// checksum, termination, expiry, limits
// ---------------------------------------------------------------------------

#[test]
fn checksum_mismatch_is_460_and_changes_nothing() {
    let root = TempDir::new("rs-sum");
    let server = Server::start(&root.path, &[]);
    let data = random_bytes(30_000, 4);
    let loc = create(&server, "/", Some(30_000), "s.bin", "");
    // Mid-block offset, so the bad chunk's direct write rewrote the block.
    let r = patch(
        &server,
        &loc,
        0,
        &data[..5000],
        &format!("Upload-Checksum: {}\r\n", sha1_checksum(&data[..5000])),
    );
    assert_eq!(r.status, 204);
    let before = fs::read(data_file(&root.path, &loc)).unwrap();
    assert_eq!(before, &data[..5000]);
    let mut bad = data[5000..20_000].to_vec();
    bad[14_999] ^= 1;
    for checksum in [
        sha1_checksum(&data[5000..20_000]),
        sha256_checksum(&data[5000..20_000]),
        sha512_checksum(&data[5000..20_000]),
    ] {
        let r = patch(
            &server,
            &loc,
            5000,
            &bad,
            &format!("Upload-Checksum: {checksum}\r\n"),
        );
        assert_eq!(r.status, 460, "{}", r.body_str());
        assert_eq!(offset_of(&head(&server, &loc)), 5000);
        assert_eq!(fs::read(data_file(&root.path, &loc)).unwrap(), before);
    }
    // Every algorithm OPTIONS advertises is accepted (names in any case).
    let advertised = request(&server, "OPTIONS", "/", TUS, None)
        .header("tus-checksum-algorithm")
        .map(str::to_owned)
        .unwrap_or_default();
    assert_eq!(advertised, "sha1,sha256,sha512");
    let piece = &data[5000..12_000];
    let r = patch(
        &server,
        &loc,
        5000,
        piece,
        &format!("Upload-Checksum: {}\r\n", sha512_checksum(piece)),
    );
    assert_eq!((r.status, offset_of(&r)), (204, 12_000), "{}", r.body_str());
    let piece = &data[12_000..20_000];
    let upper = sha1_checksum(piece).replacen("sha1", "SHA1", 1);
    let r = patch(
        &server,
        &loc,
        12_000,
        piece,
        &format!("Upload-Checksum: {upper}\r\n"),
    );
    assert_eq!((r.status, offset_of(&r)), (204, 20_000), "{}", r.body_str());
    let good = &data[20_000..];
    let r = patch(
        &server,
        &loc,
        20_000,
        good,
        &format!("Upload-Checksum: {}\r\n", sha256_checksum(good)),
    );
    assert_eq!((r.status, offset_of(&r)), (204, 30_000));
    assert_eq!(sha256_file(&root.join("s.bin")), sha256_hex(&data));
}

#[test]
fn termination_removes_the_upload() {
    let root = TempDir::new("rs-del");
    fs::create_dir(root.join("in")).unwrap();
    let server = Server::start(&root.path, &[]);
    let loc = create(&server, "/in/", Some(10_000), "t.bin", "");
    assert_eq!(patch(&server, &loc, 0, &[1; 5000], "").status, 204);
    assert!(data_file(&root.path, &loc).exists() && record_file(&root.path, &loc).exists());
    let r = request(&server, "DELETE", &loc, TUS, None);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    assert!(!data_file(&root.path, &loc).exists() && !record_file(&root.path, &loc).exists());
    assert_eq!(head(&server, &loc).status, 404);
    assert_eq!(patch(&server, &loc, 5000, b"x", "").status, 404);
    assert_eq!(visible_tree(&root.path), vec!["in/".to_owned()]);
    // Without --allow-delete, DELETE of a file stays refused.
    fs::write(root.join("in/keep"), b"k").unwrap();
    assert_eq!(request(&server, "DELETE", "/in/keep", "", None).status, 405);
}

#[test]
fn expired_uploads_are_refused_and_swept() {
    let root = TempDir::new("rs-expiry");
    let server = Server::start(&root.path, &["--upload-expiry", "2s"]);
    let loc = create(&server, "/", Some(10_000), "e.bin", "");
    let r = patch(&server, &loc, 0, &[3; 4000], "");
    assert_eq!(r.status, 204);
    let expires = r.header("upload-expires").unwrap().to_owned();
    assert!(expires.ends_with("GMT"));
    // Gone within the expiry plus a sweep or two: data and record.
    assert!(
        wait_until(Duration::from_secs(10), || !data_file(&root.path, &loc)
            .exists()
            && !record_file(&root.path, &loc).exists()),
        "the sweeper did not free the expired upload; staging: {:?}",
        fs::read_dir(staging(&root.path))
            .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
    );
    let h = head(&server, &loc);
    assert!(matches!(h.status, 404 | 410), "{h:?}");
    assert!(matches!(
        patch(&server, &loc, 4000, b"x", "").status,
        404 | 410
    ));
    assert_eq!(visible_tree(&root.path), Vec::<String>::new());
}

#[test]
fn an_expired_upload_is_410_before_the_sweeper_gets_to_it() {
    let root = TempDir::new("rs-410");
    let server = Server::start(&root.path, &["--upload-expiry", "1s"]);
    let loc = create(&server, "/", Some(10), "e.bin", "");
    // The record says expired one second after creation; the sweeper may
    // or may not have run: either 410 (the record) or 404 (swept).
    // Expiry has a one-second resolution: ask until it has passed.
    let expired = || matches!(head(&server, &loc).status, 404 | 410);
    assert!(wait_until(Duration::from_secs(5), expired));
    let h = head(&server, &loc);
    assert!(matches!(h.status, 404 | 410), "{h:?}");
}

#[test]
fn limits_answer_their_documented_statuses() {
    let root = TempDir::new("rs-limits");
    let server = Server::start(
        &root.path,
        &[
            "--max-unfinished-uploads",
            "2",
            "--max-staged-bytes",
            "64K",
            "--max-file-size",
            "1M",
        ],
    );
    let a = create(&server, "/", Some(1 << 20), "a", "");
    let _b = create(&server, "/", Some(100), "b", "");
    let r = try_create(&server, "/", Some(100), "c", "");
    assert_eq!(r.status, 503, "{}", r.body_str());
    assert!(r.header("retry-after").is_some());
    // Staged bytes: a PATCH past the room is refused before its body.
    let r = patch(&server, &a, 0, &[0; 65 * 1024], "");
    assert_eq!(r.status, 507, "{}", r.body_str());
    assert_eq!(offset_of(&head(&server, &a)), 0);
    assert_eq!(patch(&server, &a, 0, &[0; 64 * 1024], "").status, 204);
    assert_eq!(patch(&server, &a, 65_536, b"x", "").status, 507);
    // Terminating one makes room for a new one.
    assert_eq!(request(&server, "DELETE", &_b, TUS, None).status, 204);
    let r = try_create(&server, "/", Some(100), "c", "");
    assert_eq!(r.status, 507, "staging full: {}", r.body_str());
    assert_eq!(request(&server, "DELETE", &a, TUS, None).status, 204);
    assert_eq!(try_create(&server, "/", Some(100), "c", "").status, 201);
    // The largest upload.
    assert_eq!(
        try_create(&server, "/", Some((1 << 20) + 1), "big", "").status,
        413
    );
}

// ---------------------------------------------------------------------------
// access control and the staging area
// ---------------------------------------------------------------------------

#[test]
fn access_rules_apply_at_creation_and_on_every_later_request() {
    let root = TempDir::new("rs-auth");
    fs::create_dir(root.join("in")).unwrap();
    fs::create_dir(root.join("ro")).unwrap();
    let tokens = TempDir::new("rs-auth-tokens");
    let digest = |t: &str| sha256_hex(t.as_bytes());
    let file = tokens.join("tokens");
    fs::write(
        &file,
        format!(
            "{} /in/ upload 2099-01-01T00:00:00Z\n{} /in/ upload 2099-01-01T00:00:00Z\n{} /ro/ read 2099-01-01T00:00:00Z\n",
            digest("alice-token"),
            digest("bob-token"),
            digest("reader-token")
        ),
    )
    .unwrap();
    let server = Server::start(&root.path, &["--token-file", file.to_str().unwrap()]);
    let alice = "Authorization: Bearer alice-token\r\n";
    let bob = "Authorization: Bearer bob-token\r\n";
    let reader = "Authorization: Bearer reader-token\r\n";
    // Creation needs `upload` on the directory.
    assert_eq!(try_create(&server, "/in/", Some(10), "x", "").status, 401);
    assert_eq!(
        try_create(&server, "/ro/", Some(10), "x", reader).status,
        403
    );
    assert_eq!(
        try_create(&server, "/ro/", Some(10), "x", alice).status,
        403
    );
    let loc = create(&server, "/in/", Some(10), "x", alice);
    // Only the creator continues, inspects or cancels it.
    for who in ["", bob, reader] {
        let want = if who.is_empty() { 401 } else { 403 };
        assert_eq!(
            request(&server, "HEAD", &loc, &format!("{TUS}{who}"), None).status,
            want,
            "{who}"
        );
        assert_eq!(patch(&server, &loc, 0, b"12345", who).status, want, "{who}");
        assert_eq!(
            request(&server, "DELETE", &loc, &format!("{TUS}{who}"), None).status,
            want,
            "{who}"
        );
    }
    let r = request(&server, "HEAD", &loc, &format!("{TUS}{alice}"), None);
    assert_eq!((r.status, offset_of(&r)), (200, 0));
    assert_eq!(patch(&server, &loc, 0, b"1234567890", alice).status, 204);
    assert_eq!(fs::read(root.join("in/x")).unwrap(), b"1234567890");
}

#[test]
fn the_staging_area_is_never_listed_served_or_written() {
    let root = TempDir::new("rs-hidden");
    let server = Server::start(&root.path, &["--allow-delete"]);
    let loc = create(&server, "/", Some(100), "h.bin", "");
    assert_eq!(patch(&server, &loc, 0, &[5; 50], "").status, 204);
    let id = id_of(&loc).to_owned();
    let before = fs::read(data_file(&root.path, &loc)).unwrap();
    let record_before = fs::read(record_file(&root.path, &loc)).unwrap();
    for path in [
        "/.ringdrop-uploads/".to_owned(),
        "/.ringdrop-uploads".to_owned(),
        format!("/.ringdrop-uploads/{id}.data"),
        format!("/.ringdrop-uploads/{id}.record"),
        format!("/.ringdrop-uploads/{id}/x"),
        "/.ringdrop-uploads/new.txt".to_owned(),
    ] {
        for method in ["GET", "HEAD", "PUT", "DELETE", "MKCOL", "POST", "PATCH"] {
            let body: Option<&[u8]> = matches!(method, "PUT" | "POST" | "PATCH").then_some(b"evil");
            let r = request(&server, method, &path, "", body);
            assert_eq!(r.status, 404, "{method} {path}: {r:?}");
        }
    }
    // The upload URL itself takes only the protocol's methods.
    for method in ["GET", "PUT", "MKCOL"] {
        let body: Option<&[u8]> = (method == "PUT").then_some(b"evil");
        assert_eq!(
            request(&server, method, &loc, "", body).status,
            405,
            "{method}"
        );
    }
    assert_eq!(fs::read(data_file(&root.path, &loc)).unwrap(), before);
    assert_eq!(
        fs::read(record_file(&root.path, &loc)).unwrap(),
        record_before
    );
    assert!(!staging(&root.path).join("new.txt").exists());
    for listing in [get(&server, "/?json", ""), get(&server, "/", "")] {
        assert_eq!(listing.status, 200);
        assert!(!listing.body_str().contains("ringdrop-uploads"));
    }
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(staging(&root.path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode & 0o077, 0, "staging directory mode {mode:o}");
}

#[test]
fn a_server_that_receives_no_upload_leaves_root_as_it_was() {
    let root = TempDir::new("rs-untouched");
    let server = Server::start(&root.path, &[]);
    assert_eq!(put(&server, "/a.txt", "", b"a").status, 201);
    assert_eq!(request(&server, "OPTIONS", "/", "", None).status, 204);
    assert_eq!(
        head(
            &server,
            "/.ringdrop-uploads/00000000000000000000000000000000"
        )
        .status,
        404
    );
    assert_no_temp_files(&root.path, &["a.txt"]);
}

// ---------------------------------------------------------------------------
// the IETF draft
// ---------------------------------------------------------------------------

#[test]
fn ietf_put_cut_off_mid_body_is_resumed_from_the_104_location() {
    let root = TempDir::new("rs-ietf");
    fs::create_dir(root.join("in")).unwrap();
    let server = Server::start(&root.path, &[]);
    let data = random_bytes(3 * MIB as usize + 777, 5);
    let cut = 2 * MIB as usize + 123;
    let v8 = "Upload-Draft-Interop-Version: 8\r\n";
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /in/doc.bin HTTP/1.1\r\nHost: {}\r\n{v8}Upload-Complete: ?1\r\nContent-Length: {}\r\n\r\n",
            server.host(),
            data.len()
        )
        .as_bytes(),
    );
    // 104 Upload Resumption Supported, before the body.
    let interim = c.read_response();
    assert_eq!(interim.status, 104);
    assert_eq!(interim.header("upload-draft-interop-version"), Some("8"));
    let loc = interim.header("location").expect("104 Location").to_owned();
    assert!(interim.header("upload-limit").unwrap().contains("max-age="));
    c.send(&data[..cut]);
    c.stream.shutdown(Shutdown::Both).unwrap();
    drop(c);
    // The server keeps what arrived (all of it with a clean cut, less at
    // most one registered buffer) and says so.
    let mut offset = 0;
    assert!(wait_until(Duration::from_secs(10), || {
        let h = request(&server, "HEAD", &loc, v8, None);
        offset = h
            .header("upload-offset")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        h.status == 204 && offset > 0
    }));
    let h = request(&server, "HEAD", &loc, v8, None);
    assert_eq!(h.header("upload-complete"), Some("?0"));
    assert_eq!(h.header("cache-control"), Some("no-store"));
    assert!(
        offset as usize <= cut && cut - offset as usize <= MIB as usize,
        "offset {offset}, cut {cut}"
    );
    assert!(!root.join("in/doc.bin").exists());
    // Wrong offset: 409 with the right one and the problem type.
    let r = request(
        &server,
        "PATCH",
        &loc,
        &format!("{v8}Upload-Offset: 1\r\nUpload-Complete: ?0\r\nContent-Type: application/partial-upload\r\n"),
        Some(b"x"),
    );
    assert_eq!((r.status, offset_of(&r)), (409, offset));
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert!(r.body_str().contains("mismatching-upload-offset"));
    // The rest completes the PUT: its answer is the PUT's.
    let r = request(
        &server,
        "PATCH",
        &loc,
        &format!("{v8}Upload-Offset: {offset}\r\nUpload-Complete: ?1\r\nContent-Type: application/partial-upload\r\n"),
        Some(&data[offset as usize..]),
    );
    assert_eq!(r.status, 201, "{}", r.body_str());
    assert_eq!(r.header("upload-complete"), Some("?1"));
    let j = r.json();
    assert_eq!(j.get("name").and_then(Json::as_str), Some("doc.bin"));
    assert_eq!(j.get("path").and_then(Json::as_str), Some("/in/doc.bin"));
    assert_eq!(
        j.get("size").and_then(Json::as_u64),
        Some(data.len() as u64)
    );
    assert_eq!(sha256_file(&root.join("in/doc.bin")), sha256_hex(&data));
    // Bytes to a completed upload: 400 completed-upload.
    let r = request(
        &server,
        "PATCH",
        &loc,
        &format!("{v8}Upload-Offset: {}\r\nUpload-Complete: ?1\r\nContent-Type: application/partial-upload\r\n", data.len()),
        Some(b"x"),
    );
    assert_eq!(r.status, 400);
    assert!(r.body_str().contains("completed-upload"));
}

#[test]
fn ietf_creations_of_each_interop_version() {
    let root = TempDir::new("rs-ietf2");
    fs::create_dir(root.join("in")).unwrap();
    fs::write(root.join("in/old.txt"), b"old").unwrap();
    let server = Server::start(&root.path, &[]);
    // Whole PUT with Upload-Complete: ?1 replaces like a PUT (200).
    let (interim, r) = request_all(
        &server,
        "PUT",
        "/in/old.txt",
        "Upload-Draft-Interop-Version: 8\r\nUpload-Complete: ?1\r\n",
        Some(b"new"),
    );
    assert_eq!(interim.len(), 1);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(fs::read(root.join("in/old.txt")).unwrap(), b"new");
    // If-None-Match: * on an existing file: 412, nothing changes.
    let r = request(
        &server,
        "PUT",
        "/in/old.txt",
        "Upload-Draft-Interop-Version: 8\r\nUpload-Complete: ?1\r\nIf-None-Match: *\r\n",
        Some(b"newer"),
    );
    assert_eq!(r.status, 412);
    assert_eq!(fs::read(root.join("in/old.txt")).unwrap(), b"new");
    // tus-js-client's ietf-draft-05 shape: empty POST with Upload-Complete: ?0.
    let (interim, r) = request_all(
        &server,
        "POST",
        "/in/",
        &format!(
            "Upload-Draft-Interop-Version: 6\r\nUpload-Complete: ?0\r\nUpload-Length: 6\r\nUpload-Metadata: filename {}\r\n",
            b64(b"six.txt")
        ),
        None,
    );
    assert!(interim.is_empty());
    assert_eq!(r.status, 201);
    assert_eq!(r.header("upload-complete"), Some("?0"));
    assert!(r.header("upload-limit").unwrap().contains("expires="));
    let loc = r.header("location").unwrap().to_owned();
    let h = request(
        &server,
        "HEAD",
        &loc,
        "Upload-Draft-Interop-Version: 6\r\n",
        None,
    );
    assert_eq!((h.status, offset_of(&h)), (204, 0));
    assert_eq!(h.header("upload-length"), Some("6"));
    let r = request(
        &server,
        "PATCH",
        &loc,
        "Upload-Draft-Interop-Version: 6\r\nUpload-Offset: 0\r\nUpload-Complete: ?1\r\nContent-Type: application/partial-upload\r\n",
        Some(b"123456"),
    );
    assert_eq!(r.status, 201, "{}", r.body_str());
    assert_eq!(fs::read(root.join("in/six.txt")).unwrap(), b"123456");
    // A final-RFC client (no interop version) gets no 104.
    let (interim, r) = request_all(
        &server,
        "POST",
        "/in/",
        "Upload-Complete: ?1\r\n",
        Some(b"rfc"),
    );
    assert!(interim.is_empty());
    assert_eq!(r.status, 201);
    // An interop version the server does not speak: with ?1 a plain
    // upload (here a POST without multipart: 415), with ?0 400.
    let r = request(
        &server,
        "POST",
        "/in/",
        "Upload-Draft-Interop-Version: 99\r\nUpload-Complete: ?0\r\n",
        None,
    );
    assert_eq!(r.status, 400);
    // Cancel: DELETE → 204.
    let r = request(
        &server,
        "POST",
        "/in/",
        "Upload-Draft-Interop-Version: 8\r\nUpload-Complete: ?0\r\n",
        None,
    );
    let loc = r.header("location").unwrap().to_owned();
    assert_eq!(
        request(
            &server,
            "DELETE",
            &loc,
            "Upload-Draft-Interop-Version: 8\r\n",
            None
        )
        .status,
        204
    );
}

// ---------------------------------------------------------------------------
// concurrency, crashes, two servers
// ---------------------------------------------------------------------------

/// Starts a PATCH of `len` bytes at `offset` and sends `sent` of them,
/// holding the connection (and so the upload's lock) open.
fn hold_patch(server: &Server, loc: &str, offset: u64, len: usize, sent: &[u8]) -> Conn {
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PATCH {loc} HTTP/1.1\r\nHost: {}\r\n{TUS}{OCTETS}Upload-Offset: {offset}\r\nContent-Length: {len}\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    c.send(sent);
    c
}

#[test]
fn a_second_request_on_an_upload_in_flight_gets_423() {
    let root = TempDir::new("rs-423");
    let server = Server::start(&root.path, &[]);
    let data = random_bytes(200_000, 6);
    let loc = create(&server, "/", Some(200_000), "c.bin", "");
    let mut held = hold_patch(&server, &loc, 0, 200_000, &data[..50_000]);
    // Until the server has read the held request's head, an empty PATCH
    // (which changes nothing) could still go first: wait for the 423.
    let mut second = None;
    assert!(wait_until(EVENT_DEADLINE, || {
        let r = patch(&server, &loc, 0, b"", "");
        let busy = r.status == 423;
        second = Some(r);
        busy
    }));
    let r = second.unwrap();
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(request(&server, "DELETE", &loc, TUS, None).status, 423);
    // HEAD waits its turn a moment, then answers with the durable offset
    // whoever holds the upload.
    let h = head(&server, &loc);
    assert_eq!((h.status, offset_of(&h)), (200, 0));
    held.send(&data[50_000..]);
    let r = held.read_response();
    assert_eq!((r.status, offset_of(&r)), (204, 200_000));
    assert_eq!(sha256_file(&root.join("c.bin")), sha256_hex(&data));
}

#[test]
fn two_servers_on_one_root_share_uploads_and_never_write_together() {
    let root = TempDir::new("rs-two");
    fs::create_dir(root.join("in")).unwrap();
    let a = Server::start(&root.path, &[]);
    let mut b = Server::start(&root.path, &[]);
    let data = random_bytes(2 * MIB as usize + 4321, 7);
    let half = MIB as usize + 17;
    // Begun on A, finished on B.
    let loc = create(&a, "/in/", Some(data.len() as u64), "shared.bin", "");
    assert_eq!(patch(&a, &loc, 0, &data[..half], "").status, 204);
    assert_eq!(offset_of(&head(&b, &loc)), half as u64);
    let r = patch(&b, &loc, half as u64, &data[half..], "");
    assert_eq!(r.status, 204, "{}", r.body_str());
    assert_eq!(sha256_file(&root.join("in/shared.bin")), sha256_hex(&data));

    // Both alive: while A writes, B answers 423, never a second writer.
    let loc = create(&b, "/in/", Some(data.len() as u64), "busy.bin", "");
    let mut held = hold_patch(&a, &loc, 0, data.len(), &data[..100_000]);
    let mut seen = None;
    assert!(wait_until(EVENT_DEADLINE, || {
        let r = patch(&b, &loc, 0, b"", "");
        let busy = r.status == 423;
        seen = Some(r);
        busy
    }));
    assert_eq!(seen.unwrap().header("retry-after"), Some("1"));
    held.send(&data[100_000..]);
    assert_eq!(held.read_response().status, 204);
    assert_eq!(sha256_file(&root.join("in/busy.bin")), sha256_hex(&data));

    // A killed mid-PATCH: its lock dies with it; B continues.
    let loc = create(&a, "/in/", Some(data.len() as u64), "killed.bin", "");
    let held = hold_patch(&b, &loc, 0, data.len(), &data[..half]);
    assert!(wait_until(EVENT_DEADLINE, || patch(&a, &loc, 0, b"", "")
        .status
        == 423));
    b.child.kill().unwrap();
    b.wait_exit(EVENT_DEADLINE).expect("B exits");
    drop(held);
    let offset = offset_of(&head(&a, &loc));
    assert!(offset <= half as u64);
    let r = patch(&a, &loc, offset, &data[offset as usize..], "");
    assert_eq!(r.status, 204, "{}", r.body_str());
    assert_eq!(sha256_file(&root.join("in/killed.bin")), sha256_hex(&data));
}

#[test]
fn kill_9_at_random_moments_never_loses_a_reported_offset() {
    let root = TempDir::new("rs-kill");
    fs::create_dir(root.join("in")).unwrap();
    let size = 48 * MIB as usize;
    let data = Arc::new(random_bytes(size, 8));
    let mut rng = Rng::from_time("kill -9");
    let mut server = Server::start(&root.path, &[]);
    let loc = create(&server, "/in/", Some(size as u64), "big.bin", "");
    let mut reported = 0u64;
    for round in 0..5 {
        let start = offset_of(&head(&server, &loc));
        assert!(
            start >= reported,
            "round {round}: HEAD says {start} after {reported} was reported"
        );
        if start as usize == size {
            break;
        }
        // PATCHes of odd sizes, paced, from the server's offset, until the
        // server dies under them.
        let reports = Arc::new(Mutex::new(Vec::new()));
        let sizes: Vec<usize> = (0..64)
            .map(|_| rng.between(100_000, 1_500_000) as usize)
            .collect();
        let writer = {
            let (reports, data, loc, addr) =
                (reports.clone(), data.clone(), loc.clone(), server.addr);
            thread::spawn(move || {
                let mut at = start as usize;
                for n in sizes {
                    let end = (at + n).min(data.len());
                    match patch_paced(
                        addr,
                        &loc,
                        at as u64,
                        &data[at..end],
                        64 * 1024,
                        Duration::from_millis(2),
                    ) {
                        Ok(offset) => {
                            reports.lock().unwrap().push(offset);
                            at = offset as usize;
                        }
                        Err(_) => return,
                    }
                    if at == data.len() {
                        return;
                    }
                }
            })
        };
        thread::sleep(Duration::from_millis(rng.between(50, 700)));
        server.child.kill().unwrap();
        server.wait_exit(EVENT_DEADLINE).expect("killed");
        writer.join().unwrap();
        let max = reports.lock().unwrap().iter().copied().max().unwrap_or(0);
        eprintln!(
            "round {round}: from {start}, {} PATCHes answered, up to {max}",
            reports.lock().unwrap().len()
        );
        reported = reported.max(max);
        server = Server::start(&root.path, &[]);
    }
    // After the last restart: at least every reported offset, then finish.
    let h = head(&server, &loc);
    let offset = offset_of(&h);
    assert!(
        offset >= reported,
        "HEAD says {offset} after {reported} was reported"
    );
    if (offset as usize) < size {
        let r = patch(&server, &loc, offset, &data[offset as usize..], "");
        assert_eq!(r.status, 204, "{}", r.body_str());
    }
    assert_eq!(sha256_file(&root.join("in/big.bin")), sha256_hex(&data));
    assert_eq!(
        visible_tree(&root.path),
        vec!["in/".to_owned(), "in/big.bin".to_owned()]
    );
}

#[test]
fn a_cut_costs_at_most_one_registered_buffer_of_resent_bytes() {
    let root = TempDir::new("rs-cut");
    let buffer = 256 * KIB as usize;
    let server = Server::start(&root.path, &["--buffer-size", "256K"]);
    let data = random_bytes(4 * MIB as usize, 9);
    let loc = create(&server, "/", Some(data.len() as u64), "cut.bin", "");
    let mut offset = 0usize;
    for sent in [1_000_003usize, 1_000_000, 777, 524_288] {
        let c = hold_patch(
            &server,
            &loc,
            offset as u64,
            data.len() - offset,
            &data[offset..offset + sent],
        );
        c.stream.shutdown(Shutdown::Both).unwrap();
        let mut now = offset;
        // A clean cut: everything but a partial block is kept.
        assert!(wait_until(Duration::from_secs(10), || {
            now = offset_of(&head(&server, &loc)) as usize;
            now + 4096 > offset + sent
        }));
        // The request that recorded it lets go of the upload's lock.
        assert!(wait_until(Duration::from_secs(10), || lock_is_free(
            &data_file(&root.path, &loc)
        )));
        let resent = offset + sent - now;
        eprintln!(
            "sent {sent} from {offset}: kept {}, re-sent {resent}",
            now - offset
        );
        assert!(
            now <= offset + sent && resent <= buffer,
            "sent to {}, kept to {now}",
            offset + sent
        );
        assert_eq!(
            &fs::read(data_file(&root.path, &loc)).unwrap()[..now],
            &data[..now]
        );
        offset = now;
    }
    let r = patch(&server, &loc, offset as u64, &data[offset..], "");
    assert_eq!(r.status, 204);
    assert_eq!(sha256_file(&root.join("cut.bin")), sha256_hex(&data));
}

#[test]
fn a_directory_on_another_filesystem_is_refused_at_creation() {
    let root = TempDir::new("rs-mount");
    fs::create_dir(root.join("mnt")).unwrap();
    let mount = TmpfsMount::new("4m");
    let server = Server::start(&root.path, &[]);
    // A bind of the tmpfs beneath ROOT: mount it on ROOT/mnt.
    let target = std::ffi::CString::new(root.join("mnt").to_str().unwrap()).unwrap();
    let source = std::ffi::CString::new(mount.path.to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "bind mount: {}", std::io::Error::last_os_error());
    let r = try_create(&server, "/mnt/", Some(10), "x", "");
    // SAFETY: as above.
    unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    assert_eq!(r.status, 409, "{}", r.body_str());
    assert_eq!(try_create(&server, "/", Some(10), "x", "").status, 201);
}

#[test]
fn the_flags_are_documented_and_checked() {
    let mut cmd = std::process::Command::new(BIN);
    cmd.arg("--help");
    let out = run_with_deadline(cmd, EVENT_DEADLINE);
    for flag in [
        "--upload-expiry",
        "--max-unfinished-uploads",
        "--max-staged-bytes",
    ] {
        assert!(
            out.stdout.contains(flag),
            "--help lacks {flag}:\n{}",
            out.stdout
        );
    }
    let root = TempDir::new("rs-flags");
    for bad in [
        &["--upload-expiry", "0"][..],
        &["--upload-expiry", "soon"][..],
        &["--max-staged-bytes", "12Q"][..],
        &["--max-unfinished-uploads", "-1"][..],
    ] {
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(bad).arg(&root.path);
        let out = run_with_deadline(cmd, EVENT_DEADLINE);
        let status = out.status.expect("exits");
        assert!(!status.success(), "{bad:?} was accepted");
        assert!(!out.stderr.contains("panicked"), "{bad:?}: {}", out.stderr);
    }
}

#[test]
fn a_content_digest_on_a_patch_is_checked() {
    let root = TempDir::new("rs-digest");
    let server = Server::start(&root.path, &[]);
    let loc = create(&server, "/", Some(20), "d.bin", "");
    let body = b"0123456789";
    let good = format!(
        "Content-Digest: sha-256=:{}:\r\n",
        b64(&sha2::Sha256::digest(body))
    );
    let bad = format!(
        "Content-Digest: sha-256=:{}:\r\n",
        b64(&sha2::Sha256::digest(b"x"))
    );
    let r = patch(&server, &loc, 0, body, &bad);
    assert_json_error(&r, 400);
    assert_eq!(
        r.json().get("error").and_then(Json::as_str),
        Some("digest_mismatch")
    );
    assert_eq!(offset_of(&head(&server, &loc)), 0);
    assert_eq!(fs::metadata(data_file(&root.path, &loc)).unwrap().len(), 0);
    let r = patch(&server, &loc, 0, body, &good);
    assert_eq!((r.status, offset_of(&r)), (204, 10));
    // A Repr-Digest (of the whole upload) on a part is not the part's.
    let repr = format!(
        "Repr-Digest: sha-256=:{}:\r\n",
        b64(&sha2::Sha256::digest(b"whole"))
    );
    let r = patch(&server, &loc, 10, body, &repr);
    assert_eq!((r.status, offset_of(&r)), (204, 20));
    assert_eq!(
        fs::read(root.join("d.bin")).unwrap(),
        b"01234567890123456789"
    );
}
