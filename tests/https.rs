//! HTTPS (SPEC "HTTPS") through the real binary with `--tls-cert` and
//! `--tls-key`: a CA and a leaf certificate generated per test (rcgen), curl
//! trusting that CA only (`--cacert`), openssl `s_client`, and a rustls
//! client over a plain socket where a test needs to cut a record in half or
//! keep a connection across a reload.
//!
//! Covered: uploads (PUT of sizes around the 16 KiB record, chunked,
//! multipart) and downloads (whole, Range, HEAD) checked by sha256 on disk
//! in durable and `--no-sync` mode; every cipher suite of TLS 1.2 and 1.3;
//! keep-alive; ALPN; hostile clients (garbage instead of a ClientHello,
//! plain HTTP, a dripped handshake, a handshake then silence, a record cut
//! or corrupted mid-upload); SIGHUP certificate reload (good and bad
//! files); peak memory flat in the file size.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::tls::*;
use common::*;

/// The rustls client config every in-process client uses: trust `pki`'s CA,
/// offer `http/1.1`.
fn rustls_client(pki: &Pki) -> std::sync::Arc<rustls::ClientConfig> {
    client_config(&pki.ca_der, &[b"http/1.1"])
}

/// One HTTPS server and what it was started with. Fields drop in order:
/// the server is killed before its files and ROOT go.
struct Https {
    server: Server,
    files: TlsFiles,
    pki: Pki,
    root: TempDir,
}

impl Https {
    fn start(label: &str, extra: &[&str]) -> Https {
        let root = TempDir::new(label);
        let pki = Pki::generate(&format!("ringdrop {label} test CA"));
        let files = TlsFiles::new(&pki);
        let server = start_https(&root.path, &files, extra);
        Https {
            server,
            files,
            pki,
            root,
        }
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// curl trusting this server's CA only.
    fn curl(&self, args: &[&str]) -> CurlResult {
        let ca = self.files.ca_arg();
        let mut all = vec!["--cacert", ca.as_str()];
        all.extend_from_slice(args);
        curl_capture(&all)
    }

    /// The server still completes handshakes and answers (`GET /?json`).
    fn alive(&self) -> bool {
        let r = self.curl(&[&self.url("/?json")]);
        r.exit.success() && r.status == 200
    }

    fn tls_conn(&self) -> TlsConn {
        TlsConn::connect(self.server.addr, rustls_client(&self.pki))
    }
}

/// Checks a curl run answered `status`, showing everything if not.
fn assert_status(r: &CurlResult, status: u16, what: &str) {
    assert!(
        r.exit.success() && r.status == status,
        "{what}: curl exit {:?}, status {} (want {status})\nstderr: {}\nheaders: {}\nbody: {:?}",
        r.exit.code(),
        r.status,
        r.stderr,
        r.headers,
        String::from_utf8_lossy(&r.body)
    );
}

/// Durable (the default) and `--no-sync`: uploads take different paths
/// (O_DIRECT vs the page cache), so each HTTPS case runs in both.
const MODES: [(&str, &[&str]); 2] = [("durable", &[]), ("no-sync", &["--no-sync"])];

/// `/proc/PID/status` lines and sockets aside, how a test sees that the
/// server finished with an upload: no unlinked temp file open.
fn wait_no_tmpfiles(server: &Server) {
    let pid = server.pid();
    assert!(
        wait_until(EVENT_DEADLINE, || tmpfile_fds(pid, &server.root).is_empty()),
        "server still holds temp files: {:?}",
        tmpfile_fds(pid, &server.root)
    );
}

// ---------------------------------------------------------------------------
// uploads
// ---------------------------------------------------------------------------

#[test]
fn put_of_sizes_around_the_record_size_is_stored_intact() {
    const KIB16: u64 = 16 * KIB;
    let sizes = [0, 1, KIB16 - 1, KIB16, KIB16 + 1, MIB + 7, 64 * MIB];
    let src = TempDir::new("https-src");
    for (mode, flags) in MODES {
        let h = Https::start(&format!("https-put-{mode}"), flags);
        let mut names = Vec::new();
        for (i, &size) in sizes.iter().enumerate() {
            let name = format!("f-{size}.bin");
            let file = src.join(&name);
            let want = write_random_file(&file, size, 100 + i as u64);
            let r = h.curl(&["-T", file.to_str().unwrap(), &h.url(&format!("/{name}"))]);
            assert_status(&r, 201, &format!("{mode}: PUT {size} bytes"));
            assert_eq!(
                r.json().get("size").and_then(Json::as_u64),
                Some(size),
                "{mode}: size in {:?}",
                r.json()
            );
            assert_eq!(
                sha256_file(&h.root.join(&name)),
                want,
                "{mode}: {size} bytes PUT over HTTPS differ on disk"
            );
            names.push(name);
        }
        let expected: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_no_temp_files(&h.root.path, &expected);
    }
}

#[test]
fn chunked_put_over_https_is_stored_intact() {
    for (mode, flags) in MODES {
        let h = Https::start(&format!("https-chunked-{mode}"), flags);
        let size = 5 * MIB + 3;
        // curl -T - reads stdin of unknown length: Transfer-Encoding: chunked.
        let ca = h.files.ca_arg();
        let r = curl_capture_stdin(
            &["--cacert", &ca, "-T", "-", "-v", &h.url("/chunked.bin")],
            random_body_reader(size, 7),
        );
        assert_status(&r, 201, &format!("{mode}: chunked PUT"));
        assert!(
            r.stderr
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "{mode}: curl did not send a chunked body: {}",
            r.stderr
        );
        assert_eq!(
            sha256_file(&h.root.join("chunked.bin")),
            random_sha256(size, 7),
            "{mode}: chunked PUT over HTTPS differs on disk"
        );
        assert_no_temp_files(&h.root.path, &["chunked.bin"]);
    }
}

#[test]
fn multipart_post_over_https_is_stored_intact() {
    let src = TempDir::new("https-mp-src");
    let a = src.join("first.bin");
    let b = src.join("second.bin");
    let ha = write_random_file(&a, 3 * MIB + 1, 21);
    let hb = write_random_file(&b, 17 * KIB, 22);
    for (mode, flags) in MODES {
        let h = Https::start(&format!("https-mp-{mode}"), flags);
        std::fs::create_dir(h.root.join("dir")).unwrap();
        let fa = format!("a=@{}", a.display());
        let fb = format!("b=@{}", b.display());
        let r = h.curl(&["-F", &fa, "-F", &fb, "-F", "field=value", &h.url("/dir/")]);
        assert_status(&r, 201, &format!("{mode}: multipart POST"));
        assert_eq!(sha256_file(&h.root.join("dir/first.bin")), ha, "{mode}");
        assert_eq!(sha256_file(&h.root.join("dir/second.bin")), hb, "{mode}");
        assert_no_temp_files(&h.root.path, &["dir/", "dir/first.bin", "dir/second.bin"]);
    }
}

// ---------------------------------------------------------------------------
// downloads
// ---------------------------------------------------------------------------

#[test]
fn downloads_whole_range_and_head_over_https() {
    let src = TempDir::new("https-dl-src");
    let size = 5 * MIB + 13;
    let file = src.join("big.bin");
    let want = write_random_file(&file, size, 31);
    let data = std::fs::read(&file).unwrap();
    for (mode, flags) in MODES {
        let h = Https::start(&format!("https-dl-{mode}"), flags);
        // Stored over HTTPS, then read back over HTTPS.
        let r = h.curl(&["-T", file.to_str().unwrap(), &h.url("/big.bin")]);
        assert_status(&r, 201, &format!("{mode}: PUT"));
        std::fs::write(h.root.join("empty.bin"), b"").unwrap();

        let r = h.curl(&[&h.url("/big.bin")]);
        assert_status(&r, 200, &format!("{mode}: GET"));
        assert_eq!(r.body.len() as u64, size, "{mode}: GET length");
        assert_eq!(sha256_hex(&r.body), want, "{mode}: GET content");

        let (from, to) = (100_000usize, 3_000_000usize);
        let r = h.curl(&["-r", &format!("{from}-{to}"), &h.url("/big.bin")]);
        assert_status(&r, 206, &format!("{mode}: Range GET"));
        assert!(
            r.headers
                .to_ascii_lowercase()
                .contains(&format!("content-range: bytes {from}-{to}/{size}")),
            "{mode}: Content-Range in {}",
            r.headers
        );
        assert_eq!(
            sha256_hex(&r.body),
            sha256_hex(&data[from..=to]),
            "{mode}: Range content"
        );

        // The last byte alone: a record of one byte.
        let r = h.curl(&["-r", "-1", &h.url("/big.bin")]);
        assert_status(&r, 206, &format!("{mode}: suffix Range"));
        assert_eq!(r.body, &data[data.len() - 1..], "{mode}: last byte");

        // HEAD on a kept-alive session: the head only, and the next response
        // follows right after it (a body in between would break parsing).
        let mut c = h.tls_conn();
        let host = h.server.host();
        c.send(format!("HEAD /big.bin HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
            .unwrap();
        let r = c.try_read_response(true).unwrap();
        assert_eq!(r.status, 200, "{mode}: HEAD");
        assert_eq!(
            r.header("content-length"),
            Some(size.to_string().as_str()),
            "{mode}: HEAD Content-Length"
        );
        c.send(format!("GET /empty.bin HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
            .unwrap();
        let r = c.read_response();
        assert_eq!(r.status, 200, "{mode}: GET after HEAD");
        assert!(
            r.body.is_empty(),
            "{mode}: GET after HEAD: {:?}",
            r.body_str()
        );
        assert!(c.leftover().is_empty(), "{mode}: bytes after HEAD and GET");

        let r = h.curl(&[&h.url("/empty.bin")]);
        assert_status(&r, 200, &format!("{mode}: GET of an empty file"));
        assert!(r.body.is_empty(), "{mode}: empty file");
    }
}

// ---------------------------------------------------------------------------
// protocol versions, cipher suites, ALPN, keep-alive
// ---------------------------------------------------------------------------

/// Every cipher suite the server offers, by the curl flags that pick it
/// and the name curl prints for it.
const SUITES: [(&str, &[&str], &str); 6] = [
    (
        "TLS 1.3 AES-128-GCM",
        &["--tlsv1.3", "--tls13-ciphers", "TLS_AES_128_GCM_SHA256"],
        "TLSv1.3 / TLS_AES_128_GCM_SHA256",
    ),
    (
        "TLS 1.3 AES-256-GCM",
        &["--tlsv1.3", "--tls13-ciphers", "TLS_AES_256_GCM_SHA384"],
        "TLSv1.3 / TLS_AES_256_GCM_SHA384",
    ),
    (
        "TLS 1.3 ChaCha20-Poly1305",
        &[
            "--tlsv1.3",
            "--tls13-ciphers",
            "TLS_CHACHA20_POLY1305_SHA256",
        ],
        "TLSv1.3 / TLS_CHACHA20_POLY1305_SHA256",
    ),
    (
        "TLS 1.2 AES-128-GCM",
        &[
            "--tls-max",
            "1.2",
            "--ciphers",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
        ],
        "TLSv1.2 / ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        "TLS 1.2 AES-256-GCM",
        &[
            "--tls-max",
            "1.2",
            "--ciphers",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
        ],
        "TLSv1.2 / ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        "TLS 1.2 ChaCha20-Poly1305",
        &[
            "--tls-max",
            "1.2",
            "--ciphers",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
        ],
        "TLSv1.2 / ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
];

#[test]
fn tls12_and_tls13_with_every_cipher_suite_upload_and_download() {
    let src = TempDir::new("https-suites-src");
    let size = MIB + 7;
    let h = Https::start("https-suites", &[]);
    for (i, (what, flags, negotiated)) in SUITES.iter().enumerate() {
        let name = format!("s{i}.bin");
        let file = src.join(&name);
        let want = write_random_file(&file, size, 40 + i as u64);
        let url = h.url(&format!("/{name}"));
        let mut args: Vec<&str> = flags.to_vec();
        args.extend_from_slice(&["-v", "-T", file.to_str().unwrap(), &url]);
        let r = h.curl(&args);
        assert_status(&r, 201, &format!("{what}: PUT"));
        assert!(
            r.stderr.contains(negotiated),
            "{what}: curl did not negotiate {negotiated}: {}",
            r.stderr
        );
        assert_eq!(
            sha256_file(&h.root.join(&name)),
            want,
            "{what}: PUT content"
        );

        let mut args: Vec<&str> = flags.to_vec();
        args.extend_from_slice(&["-v", &url]);
        let r = h.curl(&args);
        assert_status(&r, 200, &format!("{what}: GET"));
        assert!(r.stderr.contains(negotiated), "{what}: {}", r.stderr);
        assert_eq!(sha256_hex(&r.body), want, "{what}: GET content");
    }
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let h = Https::start("https-keepalive", &[]);
    std::fs::write(h.root.join("a.txt"), b"first").unwrap();
    std::fs::write(h.root.join("b.txt"), b"second").unwrap();

    // curl with three URLs: one TLS connection, reused.
    let ca = h.files.ca_arg();
    let out = curl(&[
        "--cacert",
        &ca,
        "-w",
        "%{num_connects} %{http_code}\n",
        "-o",
        "/dev/null",
        &h.url("/a.txt"),
        "-o",
        "/dev/null",
        &h.url("/b.txt"),
        "-o",
        "/dev/null",
        &h.url("/a.txt"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1 200\n0 200\n0 200\n",
        "one connection for three requests (num_connects per transfer)"
    );

    // Uploads and downloads interleaved on one session.
    let mut c = h.tls_conn();
    let host = h.server.host();
    let body = random_bytes(300 * 1024 + 5, 51);
    let mut req = format!(
        "PUT /k1.bin HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    c.send(&req).unwrap();
    let r = c.read_response();
    assert_eq!(r.status, 201, "{}", r.body_str());
    assert!(!r.says_close());

    c.send(format!("GET /k1.bin HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    let r = c.read_response();
    assert_eq!(r.status, 200);
    assert_eq!(sha256_hex(&r.body), sha256_hex(&body));

    let chunked = chunked_body(&body, 7000);
    let mut req =
        format!("PUT /k2.bin HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    req.extend_from_slice(&chunked);
    c.send(&req).unwrap();
    let r = c.read_response();
    assert_eq!(r.status, 201, "{}", r.body_str());

    c.send(format!("GET /b.txt HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    assert_eq!(c.read_response().body, b"second");

    assert_eq!(sha256_file(&h.root.join("k1.bin")), sha256_hex(&body));
    assert_eq!(sha256_file(&h.root.join("k2.bin")), sha256_hex(&body));
}

#[test]
fn pipelined_gets_over_https_are_answered_at_once() {
    let h = Https::start("https-pipelined", &[]);
    std::fs::write(h.root.join("a.txt"), b"first").unwrap();
    std::fs::write(h.root.join("b.txt"), b"second").unwrap();
    let host = h.server.host();
    let mut c = h.tls_conn();
    // Two requests in one record: both are answered, in order, without the
    // client sending anything more.
    c.send(
        format!(
            "GET /a.txt HTTP/1.1\r\nHost: {host}\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: {host}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let started = Instant::now();
    assert_eq!(c.read_response().body, b"first");
    let second = c.try_read_response(false).unwrap_or_else(|e| {
        panic!(
            "second pipelined GET, {:?} after sending: {e}",
            started.elapsed()
        )
    });
    assert_eq!(second.status, 200);
    assert_eq!(second.body, b"second");
}

#[test]
fn alpn_http11_is_negotiated() {
    let h = Https::start("https-alpn", &[]);
    std::fs::write(h.root.join("a.txt"), b"alpn").unwrap();

    // curl --http1.1 offers http/1.1 only; curl's default offers h2 too:
    // both end up on HTTP/1.1.
    for flags in [&["--http1.1"][..], &[][..]] {
        let mut args = flags.to_vec();
        let url = h.url("/a.txt");
        args.extend_from_slice(&["-v", &url]);
        let r = h.curl(&args);
        assert_status(&r, 200, &format!("curl {flags:?}"));
        assert!(
            r.stderr.contains("ALPN: server accepted http/1.1"),
            "curl {flags:?}: {}",
            r.stderr
        );
        assert!(r.headers.starts_with("HTTP/1.1 200"), "{}", r.headers);
        assert_eq!(r.body, b"alpn");
    }

    // rustls: http/1.1 chosen when offered; no ALPN at all is served too.
    let c = h.tls_conn();
    assert_eq!(c.tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    let mut c = TlsConn::connect(h.server.addr, client_config(&h.pki.ca_der, &[]));
    assert_eq!(c.tls.conn.alpn_protocol(), None);
    c.send(format!("GET /a.txt HTTP/1.1\r\nHost: {}\r\n\r\n", h.server.host()).as_bytes())
        .unwrap();
    assert_eq!(c.read_response().body, b"alpn");

    assert!(h.alive());
}

#[test]
fn a_client_offering_only_h2_fails_the_handshake_with_no_application_protocol() {
    let h = Https::start("https-alpn-h2", &[]);
    // RFC 7301 §3.2: no protocol in common → a fatal no_application_protocol
    // alert, in TLS 1.2 and in TLS 1.3.
    for version in ["-tls1_2", "-tls1_3"] {
        let out = std::process::Command::new("openssl")
            .args(["s_client", version, "-connect"])
            .arg(h.server.addr.to_string())
            .args(["-alpn", "h2", "-servername", "localhost", "-CAfile"])
            .arg(&h.files.ca)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("openssl s_client (Debian: openssl)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success(),
            "openssl s_client {version} -alpn h2 connected: {text}"
        );
        assert!(
            text.contains("no application protocol"),
            "openssl s_client {version} -alpn h2: the handshake must end with a \
             no_application_protocol alert; openssl saw: {text}"
        );
    }
    let err = TlsConn::try_connect(h.server.addr, client_config(&h.pki.ca_der, &[b"h2"]))
        .err()
        .expect("a rustls client offering only h2 completed the handshake");
    assert!(
        format!("{err:?}").contains("NoApplicationProtocol"),
        "rustls client offering only h2 (TLS 1.3): {err:?}"
    );
    assert!(h.alive());
}

// ---------------------------------------------------------------------------
// hostile clients
// ---------------------------------------------------------------------------

/// Reads what the server sends until it closes (or `timeout`): the bytes,
/// and whether it closed.
fn read_until_closed(s: &mut TcpStream, timeout: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return (got, false);
        }
        s.set_read_timeout(Some(deadline - now)).unwrap();
        match s.read(&mut tmp) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&tmp[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return (got, false)
            }
            Err(_) => return (got, true),
        }
    }
}

#[test]
fn garbage_instead_of_a_client_hello_is_closed_and_the_server_keeps_serving() {
    let h = Https::start("https-garbage", &[]);
    let mut junk = random_bytes(20 * 1024, 61);
    junk[0] = 0x16; // a handshake record header, then nonsense
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("NUL bytes", vec![0u8; 512]),
        ("random bytes not starting like TLS", {
            let mut b = random_bytes(4096, 62);
            b[0] = 0x01;
            b
        }),
        ("lowercase text", b"hello there\r\n\r\n".to_vec()),
        (
            "handshake record with a garbage body",
            [&[0x16, 0x03, 0x01, 0x00, 0x40][..], &random_bytes(0x40, 63)].concat(),
        ),
        (
            "handshake record longer than any record",
            [&[0x16, 0x03, 0x01, 0xff, 0xff][..], &junk[..]].concat(),
        ),
        ("a lone record header byte, then close", vec![0x16]),
        (
            "TLS alert record first",
            vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],
        ),
    ];
    for (what, bytes) in cases {
        let mut s = TcpStream::connect(h.server.addr).unwrap();
        let _ = s.write_all(&bytes);
        if bytes.len() == 1 {
            let _ = s.shutdown(Shutdown::Write);
        }
        let (got, closed) = read_until_closed(&mut s, EVENT_DEADLINE);
        assert!(closed, "{what}: connection still open");
        // Nothing but (at most) a TLS alert record: never HTTP, never a
        // ServerHello.
        assert!(
            got.is_empty() || got[0] == 0x15,
            "{what}: the server answered {:02x?}",
            &got[..got.len().min(32)]
        );
    }
    assert!(h.alive(), "the server stopped serving after garbage");
}

#[test]
fn plain_http_on_the_https_port_gets_400_https_required() {
    let h = Https::start("https-plain", &[]);
    // A GET.
    let mut c = Conn::connect(h.server.addr);
    c.send(format!("GET / HTTP/1.1\r\nHost: {}\r\n\r\n", h.server.host()).as_bytes());
    let r = c.read_response();
    assert_json_error(&r, 400);
    assert_eq!(
        r.json().get("error").and_then(Json::as_str),
        Some("https_required"),
        "{}",
        r.body_str()
    );
    assert!(r.says_close(), "{:?}", r.headers);
    assert!(c.wait_closed(EVENT_DEADLINE), "connection open after 400");

    // A PUT with a body: refused the same way, nothing stored.
    let mut c = Conn::connect(h.server.addr);
    let body = random_bytes(256 * 1024, 71);
    let mut req = format!(
        "PUT /plain.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
        h.server.host(),
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let _ = c.try_send(&req);
    let r = c.read_response();
    assert_json_error(&r, 400);
    assert_eq!(
        r.json().get("error").and_then(Json::as_str),
        Some("https_required")
    );
    assert!(!h.root.join("plain.bin").exists());

    // curl with an http:// URL reads the same answer.
    let r = curl_capture(&[&format!("http://{}/", h.server.addr)]);
    assert_eq!(r.status, 400, "{}", r.stderr);
    assert_eq!(
        r.json().get("error").and_then(Json::as_str),
        Some("https_required")
    );
    assert_no_temp_files(&h.root.path, &[]);
    assert!(h.alive());
}

/// `ringdrop_buffers_in_use` (and friends) from the `--metrics` listener,
/// whose address the server logs at start.
fn gauge(server: &Server, name: &str) -> f64 {
    assert!(server.wait_for_stderr(EVENT_DEADLINE, |l| l.contains("metrics on http://")));
    let addr: SocketAddr = server
        .stderr_lines()
        .iter()
        .find_map(|l| {
            l.split("metrics on http://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .and_then(|a| a.parse().ok())
        })
        .expect("metrics address in the log");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(EVENT_DEADLINE)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(' ')?;
            (n == name).then(|| v.trim().parse().ok()).flatten()
        })
        .unwrap_or_else(|| panic!("{name} not in the scrape:\n{text}"))
}

const HEAD_TIMEOUT: Duration = Duration::from_secs(2);

#[test]
fn a_dripped_handshake_is_closed_at_the_head_timeout_holding_no_buffer() {
    let h = Https::start(
        "https-slow-hs",
        &["--head-timeout", "2s", "--metrics", "127.0.0.1:0"],
    );
    // A real ClientHello, sent one byte every 100 ms (it would take ~30 s).
    let mut hello = Vec::new();
    let mut client = client_connection(rustls_client(&h.pki));
    while client.wants_write() {
        client.write_tls(&mut hello).unwrap();
    }
    assert!(hello.len() > 100, "ClientHello of {} bytes", hello.len());
    let mut s = TcpStream::connect(h.server.addr).unwrap();
    s.set_nodelay(true).unwrap();
    let start = Instant::now();
    let mut checked_buffers = false;
    let mut closed_at = None;
    let mut received = Vec::new();
    for &byte in &hello {
        if s.write_all(&[byte]).is_err() {
            closed_at = Some(start.elapsed());
            break;
        }
        let (got, closed) = read_until_closed(&mut s, Duration::from_millis(100));
        received.extend_from_slice(&got);
        if closed {
            closed_at = Some(start.elapsed());
            break;
        }
        if !checked_buffers && start.elapsed() > HEAD_TIMEOUT / 2 {
            // Half-way through: the handshake waits without a registered buffer.
            assert_eq!(gauge(&h.server, "ringdrop_buffers_in_use"), 0.0);
            assert_eq!(gauge(&h.server, "ringdrop_connections_open"), 1.0);
            checked_buffers = true;
        }
    }
    let closed_at = closed_at.expect("the whole ClientHello was dripped without a close");
    assert!(checked_buffers, "closed before the buffer check");
    assert!(
        closed_at >= HEAD_TIMEOUT - Duration::from_millis(200)
            && closed_at <= HEAD_TIMEOUT + Duration::from_secs(3),
        "a dripped handshake was closed after {closed_at:?}, head timeout {HEAD_TIMEOUT:?}"
    );
    assert!(
        received.is_empty() || received[0] == 0x15,
        "the server sent {:02x?} to an incomplete ClientHello",
        &received[..received.len().min(32)]
    );
    assert!(h.alive());
}

#[test]
fn a_handshake_then_silence_is_closed_at_the_head_timeout_holding_no_buffer() {
    let h = Https::start(
        "https-silent",
        &["--head-timeout", "2s", "--metrics", "127.0.0.1:0"],
    );
    let connected = Instant::now();
    let mut c = h.tls_conn();
    let handshaken = Instant::now();
    // Waiting for a head that does not come, the connection holds no buffer.
    assert_eq!(gauge(&h.server, "ringdrop_buffers_in_use"), 0.0);
    assert_eq!(gauge(&h.server, "ringdrop_connections_open"), 1.0);
    assert!(
        c.wait_closed(HEAD_TIMEOUT + Duration::from_secs(3)),
        "a silent TLS connection is still open {:?} after its handshake",
        handshaken.elapsed()
    );
    let after = handshaken.elapsed();
    eprintln!(
        "closed {after:?} after the handshake, {:?} after connect",
        connected.elapsed()
    );
    assert!(
        after >= HEAD_TIMEOUT - Duration::from_millis(200),
        "closed after {after:?}, before the head timeout {HEAD_TIMEOUT:?}"
    );
    // Whatever came is a 408 (or nothing).
    let rest = c.leftover().to_vec();
    if !rest.is_empty() {
        let rs = parse_responses(&rest, &[]);
        assert_eq!(rs.len(), 1, "{rs:?}");
        assert_json_error(&rs[0], 408);
    }
    assert!(wait_until(EVENT_DEADLINE, || gauge(
        &h.server,
        "ringdrop_connections_open"
    ) == 0.0));
    assert!(h.alive());
}

/// How a test cuts the TCP connection under a TLS upload.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// FIN: the client closes its side.
    Close,
    /// RST (SO_LINGER 0).
    Reset,
}

fn cut(c: TlsConn, how: Cut) {
    let sock = c.tls.sock;
    match how {
        Cut::Close => {
            let _ = sock.shutdown(Shutdown::Both);
        }
        Cut::Reset => {
            let _ = socket2::SockRef::from(&sock).set_linger(Some(Duration::ZERO));
        }
    }
    drop(sock);
}

/// Sends a PUT head and `sent` body bytes of `total` over TLS, and waits
/// for the upload to reach its staged file.
fn start_upload(h: &Https, name: &str, total: u64, sent: u64) -> TlsConn {
    let mut c = h.tls_conn();
    c.send(
        format!(
            "PUT /{name} HTTP/1.1\r\nHost: {}\r\nContent-Length: {total}\r\n\r\n",
            h.server.host()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut body = random_body_reader(sent, 81);
    let mut piece = vec![0u8; 256 * 1024];
    loop {
        let n = body.read(&mut piece).unwrap();
        if n == 0 {
            break;
        }
        c.send(&piece[..n]).unwrap();
    }
    let pid = h.server.pid();
    assert!(
        wait_until(EVENT_DEADLINE, || !tmpfile_fds(pid, &h.root.path)
            .is_empty()),
        "PUT /{name} never reached its staged file: the checks after would prove nothing"
    );
    c
}

/// The one TLS record sealing `plain`, as the client would send it.
fn seal_record(c: &mut TlsConn, plain: &[u8]) -> Vec<u8> {
    c.tls.conn.writer().write_all(plain).unwrap();
    let mut record = Vec::new();
    while c.tls.conn.wants_write() {
        c.tls.conn.write_tls(&mut record).unwrap();
    }
    assert_eq!(record[0], 0x17, "an application data record");
    record
}

fn assert_nothing_stored(h: &Https, old: &str, what: &str) {
    wait_no_tmpfiles(&h.server);
    assert_eq!(
        sha256_file(&h.root.join("victim.bin")),
        old,
        "{what}: victim.bin changed"
    );
    assert!(
        !h.root.join("fresh.bin").exists(),
        "{what}: fresh.bin stored"
    );
    assert_no_temp_files(&h.root.path, &["victim.bin"]);
    assert!(h.alive(), "{what}: server not answering");
}

#[test]
fn a_record_cut_mid_upload_stores_nothing() {
    for (mode, flags) in MODES {
        let h = Https::start(&format!("https-cut-{mode}"), flags);
        let old = write_random_file(&h.root.join("victim.bin"), MIB, 82);
        for how in [Cut::Close, Cut::Reset] {
            for name in ["victim.bin", "fresh.bin"] {
                let what = format!("{mode} {how:?} PUT /{name}");
                // The body's last record is the one cut in half: every byte
                // but its second half has arrived.
                let tail = 10 * KIB;
                let mut c = start_upload(&h, name, 3 * MIB + tail, 3 * MIB);
                let record = seal_record(&mut c, &random_bytes(tail as usize, 83));
                c.tls.sock.write_all(&record[..record.len() / 2]).unwrap();
                c.tls.sock.flush().unwrap();
                cut(c, how);
                assert_nothing_stored(&h, &old, &what);
            }
        }
    }
}

#[test]
fn a_corrupted_record_mid_upload_stores_nothing() {
    let h = Https::start("https-corrupt", &[]);
    let old = write_random_file(&h.root.join("victim.bin"), MIB, 84);
    let (mut outcomes, mut verdicts) = (Vec::new(), Vec::new());
    for name in ["victim.bin", "fresh.bin"] {
        let tail = 10 * KIB;
        let mut c = start_upload(&h, name, 2 * MIB + tail, 2 * MIB);
        let mut record = seal_record(&mut c, &random_bytes(tail as usize, 85));
        let mid = record.len() / 2;
        record[mid] ^= 0x40; // the tag no longer matches
        c.tls.sock.write_all(&record).unwrap();
        let mut raw = c.tls.sock.try_clone().unwrap();
        let (got, closed) = read_until_closed(&mut raw, EVENT_DEADLINE);
        assert!(
            closed,
            "PUT /{name}: connection open after a corrupted record"
        );
        assert_nothing_stored(&h, &old, &format!("corrupted record, PUT /{name}"));
        // What the server sent after the bad record, decrypted by the client.
        let mut rd = &got[..];
        while !rd.is_empty() {
            if c.tls.conn.read_tls(&mut rd).unwrap() == 0 {
                break;
            }
        }
        let processed = c.tls.conn.process_new_packets();
        let mut plain = Vec::new();
        let _ = c.tls.conn.reader().read_to_end(&mut plain);
        outcomes.push(format!(
            "PUT /{name}: client saw {processed:?}, plaintext {:?}",
            String::from_utf8_lossy(&plain)
        ));
        // RFC 8446 §5.2: a record that fails to decrypt ends the connection
        // with a bad_record_mac alert; nothing more of the session is used.
        let alerted = matches!(
            processed,
            Err(rustls::Error::AlertReceived(
                rustls::AlertDescription::BadRecordMac
            ))
        );
        verdicts.push(alerted && plain.is_empty());
    }
    assert!(
        verdicts.iter().all(|&ok| ok),
        "after a corrupted record the server must end the session with a \
         bad_record_mac alert and send no application data: {outcomes:#?}"
    );
}

// ---------------------------------------------------------------------------
// certificate reload
// ---------------------------------------------------------------------------

/// Stderr lines containing `needle`.
fn count_lines(server: &Server, needle: &str) -> usize {
    server
        .stderr_lines()
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

/// Sends SIGHUP and waits for the log line that says how the reload went.
fn sighup_and_wait(server: &Server, needle: &str) -> String {
    let before = count_lines(server, needle);
    server.signal(libc::SIGHUP);
    assert!(
        wait_until(EVENT_DEADLINE, || count_lines(server, needle) > before),
        "no `{needle}` in the log after SIGHUP: {:?}",
        server.stderr_lines()
    );
    server
        .stderr_lines()
        .into_iter()
        .rev()
        .find(|l| l.contains(needle))
        .unwrap()
}

const RELOADED: &str = "received SIGHUP: TLS certificate reloaded";
const NOT_RELOADED: &str = "could not be reloaded";

#[test]
fn sighup_reloads_the_certificate_and_keeps_open_connections() {
    let h = Https::start("https-reload", &[]);
    std::fs::write(h.root.join("a.txt"), b"before and after").unwrap();
    let host = h.server.host();
    let ca_a = TempDir::new("ca-a");
    let ca_a_pem = ca_a.join("ca.pem");
    std::fs::write(&ca_a_pem, &h.pki.ca_pem).unwrap();

    // A client on certificate A, kept open across the reload.
    let mut old = h.tls_conn();
    old.send(format!("GET /a.txt HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    assert_eq!(old.read_response().status, 200);

    let pki_b = Pki::generate("ringdrop reload test CA B");
    h.files.install(&pki_b);
    sighup_and_wait(&h.server, RELOADED);

    // New connections: certificate B, which CA A does not vouch for.
    let r = h.curl(&[&h.url("/a.txt")]);
    assert_status(&r, 200, "GET trusting CA B after the reload");
    assert_eq!(r.body, b"before and after");
    let r = curl_capture(&["--cacert", ca_a_pem.to_str().unwrap(), &h.url("/a.txt")]);
    assert_eq!(
        r.exit.code(),
        Some(60),
        "a client trusting only CA A must fail verification after the reload: {}",
        r.stderr
    );
    let err = TlsConn::try_connect(h.server.addr, rustls_client(&h.pki))
        .err()
        .expect("a rustls client trusting only CA A connected after the reload");
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
    let c = TlsConn::connect(h.server.addr, rustls_client(&pki_b));
    drop(c);

    // The old connection still works, for a download and an upload.
    old.send(format!("GET /a.txt HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    let r = old.read_response();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"before and after");
    let body = random_bytes(200 * 1024 + 1, 91);
    let mut req = format!(
        "PUT /after.bin HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    old.send(&req).unwrap();
    assert_eq!(old.read_response().status, 201);
    assert_eq!(sha256_file(&h.root.join("after.bin")), sha256_hex(&body));
}

#[test]
fn a_bad_replacement_certificate_keeps_the_old_one_and_warns() {
    let h = Https::start("https-bad-reload", &[]);
    std::fs::write(h.root.join("a.txt"), b"still here").unwrap();
    let pki_b = Pki::generate("ringdrop bad reload test CA B");
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        (
            "a certificate file that is not PEM",
            b"this is not a certificate\n".to_vec(),
            h.pki.key_pem.clone().into_bytes(),
        ),
        (
            "an empty key file",
            h.pki.chain_pem.clone().into_bytes(),
            Vec::new(),
        ),
        (
            "certificate B with key A",
            pki_b.chain_pem.clone().into_bytes(),
            h.pki.key_pem.clone().into_bytes(),
        ),
        (
            // Cut inside the leaf's base64 (a copy caught half-written).
            "a truncated certificate",
            h.pki.chain_pem.as_bytes()[..h.pki.chain_pem.find("-----END").unwrap() / 2].to_vec(),
            h.pki.key_pem.clone().into_bytes(),
        ),
    ];
    for (what, cert, key) in cases {
        h.files.replace(&h.files.cert, &cert);
        h.files.replace(&h.files.key, &key);
        let line = sighup_and_wait(&h.server, NOT_RELOADED);
        assert!(line.contains("WARN"), "{what}: not a warning: {line}");
        let r = h.curl(&[&h.url("/a.txt")]);
        assert_status(
            &r,
            200,
            &format!("{what}: the old certificate still serves"),
        );
        assert_eq!(r.body, b"still here");
    }
    // A missing file.
    std::fs::remove_file(&h.files.key).unwrap();
    sighup_and_wait(&h.server, NOT_RELOADED);
    assert!(h.alive(), "a missing key file stopped the server");

    // Good files again: the next SIGHUP takes them.
    h.files.install(&pki_b);
    sighup_and_wait(&h.server, RELOADED);
    let r = h.curl(&[&h.url("/a.txt")]);
    assert_status(&r, 200, "after a good reload");
}

// ---------------------------------------------------------------------------
// memory
// ---------------------------------------------------------------------------

#[test]
fn peak_memory_of_https_transfers_does_not_grow_with_file_size() {
    // One worker: one buffer pool, so every transfer uses the same memory.
    let h = Https::start("https-rss", &["--no-sync", "--workers", "1"]);
    let src = TempDir::new("https-rss-src");
    let pid = h.server.pid();
    let small = src.join("m64.bin");
    let big = src.join("g1.bin");
    write_random_file(&small, 64 * MIB, 1);
    let want_big = write_random_file(&big, GIB, 2);

    let put = |file: &std::path::Path, name: &str| {
        let r = h.curl(&["-T", file.to_str().unwrap(), &h.url(&format!("/{name}"))]);
        assert_status(&r, 201, name);
    };
    let get = |name: &str, size: u64| {
        let ca = h.files.ca_arg();
        let out = curl(&[
            "--cacert",
            &ca,
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download}",
            &h.url(&format!("/{name}")),
        ]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("200 {size}"),
            "GET {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    // Warm up: first-use allocations (buffer pool, TLS state) happen here.
    put(&small, "warm.bin");
    get("warm.bin", 64 * MIB);

    reset_hwm(pid);
    put(&small, "m64.bin");
    let put_64m = vm_hwm_kib(pid);
    reset_hwm(pid);
    put(&big, "g1.bin");
    let put_1g = vm_hwm_kib(pid);
    assert_eq!(sha256_file(&h.root.join("g1.bin")), want_big);

    reset_hwm(pid);
    get("m64.bin", 64 * MIB);
    let get_64m = vm_hwm_kib(pid);
    reset_hwm(pid);
    get("g1.bin", GIB);
    let get_1g = vm_hwm_kib(pid);

    eprintln!("VmHWM KiB: PUT 64M {put_64m}, 1G {put_1g}; GET 64M {get_64m}, 1G {get_1g}");
    assert!(
        put_1g.abs_diff(put_64m) <= 1024,
        "HTTPS PUT peak RSS differs by more than 1 MiB: 64 MiB -> {put_64m} KiB, 1 GiB -> {put_1g} KiB"
    );
    assert!(
        get_1g.abs_diff(get_64m) <= 1024,
        "HTTPS GET peak RSS differs by more than 1 MiB: 64 MiB -> {get_64m} KiB, 1 GiB -> {get_1g} KiB"
    );
}

/// Clients that read slowly hold no registered buffer (SPEC "Fair share":
/// a buffer only while bytes are ready to move). One worker, two buffers:
/// four HTTPS downloads of a 24 MiB file whose clients stop reading once
/// the socket buffers are full, then a 4 MiB upload beside them is stored
/// at once (it would otherwise wait for a buffer until
/// `--body-idle-timeout`, 30 s here). Then the slow readers read on and
/// each gets every byte, in order.
#[test]
fn slow_https_readers_hold_no_buffer_and_get_every_byte() {
    let mut flags = TINY_POOL_FLAGS.to_vec();
    flags.extend_from_slice(&["--metrics", "127.0.0.1:0"]);
    let h = Https::start("https-slow-readers", &flags);
    let big = write_random_file(&h.root.join("big.bin"), 24 * MIB, 77);
    let host = h.server.host();
    let mut readers: Vec<TlsConn> = (0..4)
        .map(|_| {
            let mut c = h.tls_conn();
            c.send(format!("GET /big.bin HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
                .unwrap();
            c
        })
        .collect();
    // Every download is under way (its head and body bytes are coming);
    // their readers stop here, and the server soon fills their sockets.
    for c in &mut readers {
        assert!(c.wait_for_bytes(64 * 1024));
    }
    // Once their sockets are full, the stalled downloads hold no buffer.
    assert!(wait_until(EVENT_DEADLINE, || gauge(
        &h.server,
        "ringdrop_buffers_in_use"
    ) == 0.0));

    let src = TempDir::new("https-slow-readers-src");
    let file = src.join("up.bin");
    let want = write_random_file(&file, 4 * MIB, 78);
    let started = Instant::now();
    let r = h.curl(&[
        "--max-time",
        "20",
        "-T",
        file.to_str().unwrap(),
        &h.url("/up.bin"),
    ]);
    assert_status(&r, 201, "PUT beside four stalled HTTPS downloads");
    assert_eq!(sha256_file(&h.root.join("up.bin")), want);
    eprintln!(
        "upload beside the stalled readers took {:?}",
        started.elapsed()
    );

    for (i, c) in readers.iter_mut().enumerate() {
        let r = c.read_response();
        assert_eq!(r.status, 200, "reader {i}");
        assert_eq!(sha256_hex(&r.body), big, "reader {i}: body differs");
    }
    // Every block's buffer was counted back.
    assert_eq!(gauge(&h.server, "ringdrop_buffers_in_use"), 0.0);
}
