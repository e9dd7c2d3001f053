//! Access control through the real binary (SPEC "Access control"): every
//! permission combination the SPEC names, asked with curl (`-u`, `-H
//! 'Authorization: Bearer …'`) and raw sockets, with the files on disk
//! checked by sha256.
//!
//! Users are made with `ringdrop hash-password` (argon2id, as an operator
//! would). Password checks count towards a per-address backoff, so tests
//! that send wrong credentials on purpose do it from their own loopback
//! source address (`127.0.0.N`, see [`Client::connect_from`]); everything
//! else comes from 127.0.0.1.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;

const BASIC_CHALLENGE: &str = "Basic realm=\"ringdrop\", charset=\"UTF-8\"";

// ---------------------------------------------------------------------------
// credentials
// ---------------------------------------------------------------------------

/// The argon2id PHC string `ringdrop hash-password` prints for `password`
/// (computed once per password and test process).
fn hash(password: &str) -> String {
    static HASHES: OnceLock<Mutex<BTreeMap<String, String>>> = OnceLock::new();
    let hashes = HASHES.get_or_init(Default::default);
    if let Some(h) = hashes.lock().unwrap().get(password) {
        return h.clone();
    }
    let phc = hash_password(password);
    assert!(
        phc.starts_with("$argon2id$"),
        "hash-password printed {phc:?}"
    );
    hashes
        .lock()
        .unwrap()
        .insert(password.to_owned(), phc.clone());
    phc
}

/// `--user NAME:HASH` for `name` with `password`.
fn user(name: &str, password: &str) -> String {
    format!("{name}:{}", hash(password))
}

/// The SHA-256 of a bearer token, as a token file stores it.
fn token_sha256(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Who sends a request.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// No `Authorization` header.
    Anon,
    /// `Authorization: Basic base64(user:password)`.
    Basic(&'static str, &'static str),
    /// `Authorization: Bearer TOKEN`.
    Bearer(&'static str),
}

impl Who {
    /// The header line (with CRLF), empty for anonymous.
    fn header(self) -> String {
        match self {
            Who::Anon => String::new(),
            Who::Basic(u, p) => format!("Authorization: {}\r\n", basic_value(u, p)),
            Who::Bearer(t) => format!("Authorization: Bearer {t}\r\n"),
        }
    }

    /// The `WWW-Authenticate` a 401 to this identity must carry.
    fn challenge(self) -> &'static str {
        match self {
            Who::Anon | Who::Basic(..) => BASIC_CHALLENGE,
            Who::Bearer(_) => "Bearer realm=\"ringdrop\", error=\"invalid_token\"",
        }
    }
}

/// `Basic base64(user:password)`.
fn basic_value(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

// ---------------------------------------------------------------------------
// a raw client that can choose its source address
// ---------------------------------------------------------------------------

/// A raw keep-alive connection (like `common::Conn`) whose source address
/// can be any loopback address, so a test can play several peers.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        Client::connect_from(Ipv4Addr::LOCALHOST, addr)
    }

    /// Connects to `addr` from the loopback address `src` (any 127.0.0.N
    /// works on Linux without configuration).
    fn connect_from(src: Ipv4Addr, addr: SocketAddr) -> Client {
        Client::try_connect_from(src, addr)
            .unwrap_or_else(|e| panic!("connect {src} → {addr}: {e}"))
    }

    fn try_connect_from(src: Ipv4Addr, addr: SocketAddr) -> std::io::Result<Client> {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        socket.bind(&SocketAddr::V4(SocketAddrV4::new(src, 0)).into())?;
        socket.connect_timeout(&addr.into(), Duration::from_secs(5))?;
        let stream: TcpStream = socket.into();
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::new(),
            eof: false,
        })
    }

    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one response (a `100 Continue` counts as one).
    fn read(&mut self, head_request: bool, timeout: Duration) -> Result<Response, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match parse_response(&self.buf, head_request, self.eof)? {
                Parsed::Done(resp, used) => {
                    self.buf.drain(..used);
                    return Ok(resp);
                }
                Parsed::Partial if self.eof => {
                    return Err(format!(
                        "closed before a full response; got {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ))
                }
                Parsed::Partial => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "timed out; got {:?}",
                    String::from_utf8_lossy(&self.buf)
                ));
            }
            self.stream.set_read_timeout(Some(deadline - now)).unwrap();
            let mut tmp = [0u8; 64 * 1024];
            match self.stream.read(&mut tmp) {
                Ok(0) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => self.eof = true,
            }
        }
    }

    fn response(&mut self, head_request: bool) -> Response {
        self.read(head_request, EVENT_DEADLINE)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A multipart body with one file part named `name`.
fn multipart(name: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "acboundary7e1d";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (
        format!("Content-Type: multipart/form-data; boundary={boundary}\r\n"),
        body,
    )
}

/// Sends one request (`Connection: close`) from `src` and reads its answer.
/// PUT bodies are `body`; a POST sends `body` as one multipart file part
/// named `posted.bin`.
fn send_from(
    src: Ipv4Addr,
    server: &Server,
    method: &str,
    path: &str,
    who: Who,
    extra: &str,
    body: &[u8],
) -> Response {
    let (framing, body) = match method {
        "PUT" => (format!("Content-Length: {}\r\n", body.len()), body.to_vec()),
        "POST" => {
            let (ct, mp) = multipart("posted.bin", body);
            (format!("{ct}Content-Length: {}\r\n", mp.len()), mp)
        }
        _ => (String::new(), Vec::new()),
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{}{framing}{extra}Connection: close\r\n\r\n",
        server.host(),
        who.header()
    );
    let mut c = Client::connect_from(src, server.addr);
    c.send(head.as_bytes()).unwrap();
    // The server may answer before the body (a refusal) and close.
    let _ = c.send(&body);
    c.read(method == "HEAD", EVENT_DEADLINE)
        .unwrap_or_else(|e| panic!("{method} {path} as {who:?}: {e}"))
}

fn send(server: &Server, method: &str, path: &str, who: Who, body: &[u8]) -> Response {
    send_from(Ipv4Addr::LOCALHOST, server, method, path, who, "", body)
}

// ---------------------------------------------------------------------------
// tables
// ---------------------------------------------------------------------------

/// One row of a permission table: who does what where, and the status the
/// SPEC says it gets.
struct Case {
    who: Who,
    method: &'static str,
    path: &'static str,
    status: u16,
}

const fn case(who: Who, method: &'static str, path: &'static str, status: u16) -> Case {
    Case {
        who,
        method,
        path,
        status,
    }
}

/// Runs the rows in order (PUTs send `put:PATH` as the body) and fails
/// once with every row that went wrong. Besides the status: errors have
/// the JSON shape, a 401 has the right challenge, a 403 to a token says
/// `insufficient_scope`, a 405 has `Allow`, nothing is ever a 500.
fn run_table(server: &Server, cases: &[Case]) {
    let mut wrong = Vec::new();
    for c in cases {
        let body = format!("put:{}", c.path);
        let resp = send(server, c.method, c.path, c.who, body.as_bytes());
        let label = format!("{:?} {} {}", c.who, c.method, c.path);
        if resp.status != c.status {
            wrong.push(format!(
                "{label}: got {} (want {}) {}",
                resp.status,
                c.status,
                short(&resp.body_str())
            ));
            continue;
        }
        if let Some(problem) = check_error_shape(&resp, c.who, c.method == "HEAD") {
            wrong.push(format!("{label}: {problem}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// The first 200 characters of `text` (for messages).
fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

/// What is wrong with an error response's shape, if anything.
fn check_error_shape(resp: &Response, who: Who, head: bool) -> Option<String> {
    if resp.status >= 500 && resp.status != 503 {
        return Some(format!("server error {}", resp.status));
    }
    if resp.status < 400 {
        return None;
    }
    if !head {
        let ct = resp.header("content-type").unwrap_or("");
        let json = Json::parse(&resp.body_str()).ok();
        let has = |k: &str| {
            json.as_ref()
                .and_then(|j| j.get(k))
                .and_then(Json::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        if !ct.starts_with("application/json") || !has("error") || !has("message") {
            return Some(format!("not a JSON error: {ct} {:?}", resp.body_str()));
        }
    }
    match resp.status {
        401 if resp.header("www-authenticate") != Some(who.challenge()) => Some(format!(
            "401 with WWW-Authenticate {:?}, want {:?}",
            resp.header("www-authenticate"),
            who.challenge()
        )),
        403 if matches!(who, Who::Bearer(_))
            && !resp
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer ") && h.contains("insufficient_scope")) =>
        {
            Some(format!(
                "403 to a token without insufficient_scope: {:?}",
                resp.header("www-authenticate")
            ))
        }
        403 if !matches!(who, Who::Bearer(_)) && resp.header("www-authenticate").is_some() => {
            Some("403 with a challenge".into())
        }
        405 if resp.header("allow").is_none() => Some("405 without Allow".into()),
        _ => None,
    }
}

/// Names in a JSON listing.
fn listed(resp: &Response) -> BTreeSet<String> {
    assert_eq!(resp.status, 200, "listing: {}", resp.body_str());
    resp.json()
        .get("entries")
        .and_then(Json::as_array)
        .unwrap_or_else(|| panic!("no entries: {}", resp.body_str()))
        .iter()
        .map(|e| e.get("name").and_then(Json::as_str).unwrap().to_owned())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Rows of an HTML listing page (files and directories, not `..`).
fn page_rows(html: &str) -> usize {
    html.matches("<tr class=\"file\">").count() + html.matches("<tr class=\"dir\">").count()
}

fn has_upload_ui(html: &str) -> bool {
    html.contains("type=\"file\"")
}

/// A header's value in curl's `-D` dump (last response).
fn curl_header(headers: &str, name: &str) -> Option<String> {
    let last = headers.rsplit("HTTP/1.1 ").next().unwrap_or("");
    last.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// Serves while a signed-in client asks (the check `server_is_alive` does,
/// for servers that refuse anonymous listings).
fn alive_for(server: &Server, who: Who) -> bool {
    let head = format!(
        "GET /?json HTTP/1.1\r\nHost: {}\r\n{}Connection: close\r\n\r\n",
        server.host(),
        who.header()
    );
    let Ok(mut c) = Client::try_connect_from(Ipv4Addr::LOCALHOST, server.addr) else {
        return false;
    };
    c.send(head.as_bytes()).is_ok()
        && c.read(false, EVENT_DEADLINE)
            .is_ok_and(|r| r.status == 200 && Json::parse(&r.body_str()).is_ok())
}

// ---------------------------------------------------------------------------
// private server
// ---------------------------------------------------------------------------

#[test]
fn private_server_asks_everyone_to_sign_in() {
    let root = TempDir::new("ac-private");
    fs::write(root.join("a.txt"), b"alpha").unwrap();
    let server = Server::start(
        &root.path,
        &["--user", &user("bob", "hunter2"), "--allow", "bob:/:all"],
    );
    let url = server.url("/a.txt");
    let listing = server.url("/");

    // Nothing is anonymous: every method is a 401 with the Basic challenge.
    for (method, target) in [
        ("GET", &url),
        ("GET", &listing),
        ("HEAD", &url),
        ("OPTIONS", &listing),
        ("MKCOL", &server.url("/new/")),
    ] {
        // (curl's HEAD is -I: with -X HEAD it would wait for a body.)
        let r = match method {
            "HEAD" => curl_capture(&["-I", target]),
            _ => curl_capture(&["-X", method, target]),
        };
        assert_eq!(r.status, 401, "{method} {target}: {}", r.headers);
        assert_eq!(
            curl_header(&r.headers, "www-authenticate").as_deref(),
            Some(BASIC_CHALLENGE),
            "{method} {target}"
        );
    }
    let r = curl_capture(&["-T", "-", &server.url("/up.txt")]);
    assert_eq!(r.status, 401, "anonymous PUT: {}", r.headers);
    assert!(!root.join("up.txt").exists());

    // The right password: 200, with the file.
    let r = curl_capture(&["-u", "bob:hunter2", &url]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"alpha"[..]));
    let r = curl_capture(&["-u", "bob:hunter2", &format!("{listing}?json")]);
    assert_eq!(r.status, 200);
    assert!(r.json().get("entries").is_some());

    // A wrong password and an unknown user: 401 with the challenge and a
    // JSON error, never the file.
    for creds in ["bob:hunter3", "mallory:hunter2", "bob:", "BOB:hunter2"] {
        let r = curl_capture(&["-u", creds, &url]);
        assert_eq!(r.status, 401, "{creds}: {}", r.headers);
        assert_eq!(
            curl_header(&r.headers, "www-authenticate").as_deref(),
            Some(BASIC_CHALLENGE)
        );
        let j = r.json();
        assert_eq!(j.get("error").and_then(Json::as_str), Some("unauthorized"));
    }

    // Signed in, bob may do everything (but DELETE is capped: no
    // --allow-delete).
    let r = curl_capture(&["-u", "bob:hunter2", "-T", "-", &server.url("/up.txt")]);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = curl_capture(&["-u", "bob:hunter2", "-X", "DELETE", &url]);
    assert_eq!(r.status, 405);
    assert!(curl_header(&r.headers, "allow").is_some());
}

// ---------------------------------------------------------------------------
// public read, authenticated upload
// ---------------------------------------------------------------------------

#[test]
fn public_read_authenticated_upload() {
    let root = TempDir::new("ac-public-read");
    fs::write(root.join("a.txt"), b"alpha").unwrap();
    fs::create_dir(root.join("sub")).unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("bob", "pw-bob"),
            "--allow",
            "@anonymous:/:read",
            "--allow",
            "@users:/:upload",
        ],
    );
    let anon = Who::Anon;
    let bob = Who::Basic("bob", "pw-bob");
    run_table(
        &server,
        &[
            case(anon, "GET", "/a.txt", 200),
            case(anon, "HEAD", "/a.txt", 200),
            case(anon, "GET", "/", 200),
            case(anon, "GET", "/?json", 200),
            case(anon, "GET", "/sub/", 200),
            case(anon, "PUT", "/anon.txt", 401),
            case(anon, "PUT", "/a.txt", 401),
            case(anon, "POST", "/", 401),
            case(anon, "MKCOL", "/anon-dir/", 401),
            case(anon, "DELETE", "/a.txt", 405),
            // bob reads through @anonymous, uploads through @users.
            case(bob, "GET", "/a.txt", 200),
            case(bob, "GET", "/?json", 200),
            case(bob, "PUT", "/bob.txt", 201),
            case(bob, "PUT", "/sub/bob.txt", 201),
            case(bob, "POST", "/sub/", 201),
            case(bob, "MKCOL", "/bob-dir/", 201),
            // upload is not overwrite.
            case(bob, "PUT", "/a.txt", 403),
            case(bob, "PUT", "/bob.txt", 403),
            case(bob, "DELETE", "/bob.txt", 405),
        ],
    );
    assert_eq!(fs::read(root.join("a.txt")).unwrap(), b"alpha");
    assert_eq!(fs::read(root.join("bob.txt")).unwrap(), b"put:/bob.txt");
    assert!(root.join("bob-dir").is_dir());
    assert!(!root.join("anon.txt").exists() && !root.join("anon-dir").exists());
    assert_eq!(
        list_tree(&root.path),
        set(&[
            "a.txt",
            "bob.txt",
            "bob-dir/",
            "sub/",
            "sub/bob.txt",
            "sub/posted.bin"
        ])
    );

    // The page: no upload UI for anonymous, the upload UI for bob.
    let page = send(&server, "GET", "/", anon, b"");
    assert!(!has_upload_ui(&page.body_str()));
    assert!(page.body_str().contains("data-read-only=\"true\""));
    let page = send(&server, "GET", "/", bob, b"");
    assert!(has_upload_ui(&page.body_str()));
    assert!(page.body_str().contains("data-read-only=\"false\""));
    assert!(page.body_str().contains("data-drop-box=\"false\""));
}

// ---------------------------------------------------------------------------
// drop box
// ---------------------------------------------------------------------------

#[test]
fn drop_box_takes_files_it_does_not_show() {
    let root = TempDir::new("ac-dropbox");
    fs::create_dir(root.join("drop")).unwrap();
    fs::write(root.join("drop/old.txt"), b"already here").unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("owner", "pw-owner"),
            "--allow",
            "@anonymous:/drop/:upload",
            "--allow",
            "owner:/:read",
        ],
    );
    let anon = Who::Anon;
    let owner = Who::Basic("owner", "pw-owner");

    // Anonymous upload: 201, and the bytes are on disk.
    let body = random_bytes(100_000, 7);
    let r = send(&server, "PUT", "/drop/report.bin", anon, &body);
    assert_eq!(r.status, 201, "{}", r.body_str());
    assert_eq!(
        sha256_file(&root.join("drop/report.bin")),
        sha256_hex(&body)
    );

    // ... but anonymous cannot fetch, list or replace it.
    run_table(
        &server,
        &[
            case(anon, "GET", "/drop/report.bin", 401),
            case(anon, "HEAD", "/drop/report.bin", 401),
            case(anon, "GET", "/drop/old.txt", 401),
            case(anon, "GET", "/drop/?json", 401),
            case(anon, "GET", "/", 401),
            case(anon, "GET", "/?json", 401),
            case(anon, "PUT", "/drop/report.bin", 401),
            case(anon, "PUT", "/elsewhere.bin", 401),
            case(anon, "MKCOL", "/drop/sub/", 201),
            case(anon, "POST", "/drop/", 201),
        ],
    );
    let json_accept = send_from(
        Ipv4Addr::LOCALHOST,
        &server,
        "GET",
        "/drop/",
        anon,
        "Accept: application/json\r\n",
        b"",
    );
    assert_json_error(&json_accept, 401);

    // A second PUT of the same name, also as the page sends it (If-None-Match:
    // *): refused, and the first file is intact.
    let other = random_bytes(5_000, 8);
    for extra in ["", "If-None-Match: *\r\n"] {
        let r = send_from(
            Ipv4Addr::LOCALHOST,
            &server,
            "PUT",
            "/drop/report.bin",
            anon,
            extra,
            &other,
        );
        assert!(
            matches!(r.status, 401 | 403 | 412),
            "second PUT ({extra:?}) got {}: {}",
            r.status,
            r.body_str()
        );
        assert_json_error_body(&r);
    }
    assert_eq!(
        sha256_file(&root.join("drop/report.bin")),
        sha256_hex(&body)
    );

    // The drop box's page: the upload UI, no entries, marked as a drop box.
    let page = send(&server, "GET", "/drop/", anon, b"");
    assert_eq!(page.status, 200);
    let html = page.body_str();
    assert!(html.contains("data-drop-box=\"true\""), "{html}");
    assert!(has_upload_ui(&html));
    assert_eq!(page_rows(&html), 0);
    for name in ["report.bin", "old.txt", "posted.bin"] {
        assert!(!html.contains(name), "the drop box page names {name}");
    }

    // The owner sees it all.
    let r = send(&server, "GET", "/drop/report.bin", owner, b"");
    assert_eq!((r.status, sha256_hex(&r.body)), (200, sha256_hex(&body)));
    let names = listed(&send(&server, "GET", "/drop/?json", owner, b""));
    assert_eq!(names, set(&["old.txt", "posted.bin", "report.bin", "sub"]));
}

// ---------------------------------------------------------------------------
// overwrite vs upload
// ---------------------------------------------------------------------------

#[test]
fn overwrite_and_upload_are_separate_rights() {
    let root = TempDir::new("ac-overwrite");
    fs::write(root.join("existing.txt"), b"original").unwrap();
    fs::write(root.join("kept.txt"), b"keep me").unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("ow", "pw-ow"),
            "--user",
            &user("up", "pw-up"),
            "--allow",
            "ow:/:read,overwrite",
            "--allow",
            "up:/:read,upload",
        ],
    );
    let ow = Who::Basic("ow", "pw-ow");
    let up = Who::Basic("up", "pw-up");
    run_table(
        &server,
        &[
            // overwrite without upload: existing names only.
            case(ow, "PUT", "/existing.txt", 200),
            case(ow, "PUT", "/new-by-ow.txt", 403),
            case(ow, "MKCOL", "/dir-by-ow/", 403),
            case(ow, "POST", "/", 403),
            // upload without overwrite: new names only.
            case(up, "PUT", "/new-by-up.txt", 201),
            case(up, "PUT", "/kept.txt", 403),
            case(up, "PUT", "/new-by-up.txt", 403),
            case(up, "MKCOL", "/dir-by-up/", 201),
        ],
    );
    assert_eq!(
        fs::read(root.join("existing.txt")).unwrap(),
        b"put:/existing.txt"
    );
    assert_eq!(fs::read(root.join("kept.txt")).unwrap(), b"keep me");
    assert_eq!(
        fs::read(root.join("new-by-up.txt")).unwrap(),
        b"put:/new-by-up.txt"
    );
    assert!(!root.join("new-by-ow.txt").exists() && !root.join("dir-by-ow").exists());

    // The race: `up` may create race.bin, which does not exist when its
    // head is checked. Once `100 Continue` is out, another writer creates
    // it; `up`'s commit must not replace it (no `overwrite`): 403 and the
    // other file byte for byte.
    let body = random_bytes(300_000, 3);
    let head = format!(
        "PUT /race.bin HTTP/1.1\r\nHost: {}\r\n{}Content-Length: {}\r\n\
         Expect: 100-continue\r\nConnection: close\r\n\r\n",
        server.host(),
        up.header(),
        body.len()
    );
    let mut c = Client::connect(server.addr);
    c.send(head.as_bytes()).unwrap();
    let interim = c.response(false);
    assert_eq!(interim.status, 100, "{}", interim.body_str());
    let theirs = random_bytes(12_345, 4);
    fs::write(root.join("race.bin"), &theirs).unwrap();
    c.send(&body).unwrap();
    let r = c.response(false);
    assert_json_error(&r, 403);
    assert_eq!(sha256_file(&root.join("race.bin")), sha256_hex(&theirs));
    assert!(wait_until(EVENT_DEADLINE, || tmpfile_fds(
        server.pid(),
        &root.path
    )
    .is_empty()));
    assert_no_temp_files(
        &root.path,
        &[
            "dir-by-up/",
            "existing.txt",
            "kept.txt",
            "new-by-up.txt",
            "race.bin",
        ],
    );
}

// ---------------------------------------------------------------------------
// how rules combine
// ---------------------------------------------------------------------------

#[test]
fn longest_prefix_decides_for_each_source() {
    let root = TempDir::new("ac-prefix");
    fs::write(root.join("a.txt"), b"a").unwrap();
    fs::create_dir(root.join("inbox")).unwrap();
    fs::write(root.join("inbox/mail.txt"), b"private").unwrap();
    fs::create_dir(root.join("inboxes")).unwrap();
    fs::write(root.join("inboxes/x.txt"), b"x").unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("bob", "pw-bob"),
            "--allow",
            "@users:/:read",
            "--allow",
            "@users:/inbox/:upload",
        ],
    );
    let bob = Who::Basic("bob", "pw-bob");
    run_table(
        &server,
        &[
            case(bob, "GET", "/a.txt", 200),
            case(bob, "GET", "/?json", 200),
            case(bob, "PUT", "/b.txt", 403),
            // /inbox/ is upload-only: the longer rule decides there.
            case(bob, "GET", "/inbox/mail.txt", 403),
            case(bob, "HEAD", "/inbox/mail.txt", 403),
            case(bob, "GET", "/inbox/?json", 403),
            case(bob, "PUT", "/inbox/new.txt", 201),
            case(bob, "GET", "/inbox/new.txt", 403),
            case(bob, "MKCOL", "/inbox/d/", 201),
            // ... and whole segments only: /inboxes/ is not inside /inbox/.
            case(bob, "GET", "/inboxes/x.txt", 200),
            case(bob, "PUT", "/inboxes/y.txt", 403),
            case(Who::Anon, "GET", "/a.txt", 401),
            case(Who::Anon, "PUT", "/inbox/anon.txt", 401),
        ],
    );
    let page = send(&server, "GET", "/inbox/", bob, b"");
    assert_eq!(page.status, 200);
    assert!(page.body_str().contains("data-drop-box=\"true\""));
    assert_eq!(page_rows(&page.body_str()), 0);
    // The listing of / shows inbox (bob can upload into it).
    let names = listed(&send(&server, "GET", "/?json", bob, b""));
    assert_eq!(names, set(&["a.txt", "inbox", "inboxes"]));
}

#[test]
fn rights_of_a_user_users_and_anonymous_add_up() {
    let root = TempDir::new("ac-add-up");
    for dir in ["pub", "team", "alice", "ci"] {
        fs::create_dir(root.join(dir)).unwrap();
        fs::write(root.join(&format!("{dir}/x.txt")), dir).unwrap();
    }
    let tokens = TempDir::new("ac-add-up-tokens");
    let token_file = tokens.join("tokens");
    fs::write(
        &token_file,
        format!(
            "# the CI job\n{} /ci/ upload 2099-01-01T00:00:00Z\n",
            token_sha256("ci-token-1")
        ),
    )
    .unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("alice", "pw-alice"),
            "--user",
            &user("bob", "pw-bob"),
            "--allow",
            "@anonymous:/pub/:read",
            "--allow",
            "@users:/team/:read",
            "--allow",
            "alice:/team/:upload",
            "--allow",
            "alice:/alice/:read,upload,overwrite",
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    );
    let anon = Who::Anon;
    let alice = Who::Basic("alice", "pw-alice");
    let bob = Who::Basic("bob", "pw-bob");
    let ci = Who::Bearer("ci-token-1");
    run_table(
        &server,
        &[
            case(anon, "GET", "/pub/x.txt", 200),
            case(anon, "GET", "/team/x.txt", 401),
            case(anon, "GET", "/alice/x.txt", 401),
            // bob: @anonymous + @users.
            case(bob, "GET", "/pub/x.txt", 200),
            case(bob, "GET", "/team/x.txt", 200),
            case(bob, "PUT", "/team/bob.txt", 403),
            case(bob, "GET", "/alice/x.txt", 403),
            // alice: @anonymous + @users + her own.
            case(alice, "GET", "/pub/x.txt", 200),
            case(alice, "GET", "/team/x.txt", 200),
            case(alice, "PUT", "/team/alice.txt", 201),
            case(alice, "PUT", "/team/x.txt", 403),
            case(alice, "PUT", "/alice/x.txt", 200),
            case(alice, "PUT", "/pub/alice.txt", 403),
            // a token: its line + @anonymous (not @users).
            case(ci, "PUT", "/ci/build.tar", 201),
            case(ci, "GET", "/ci/build.tar", 403),
            case(ci, "GET", "/pub/x.txt", 200),
            case(ci, "GET", "/team/x.txt", 403),
            case(ci, "PUT", "/pub/ci.txt", 403),
        ],
    );
    assert!(!root.join("team/bob.txt").exists() && !root.join("pub/ci.txt").exists());
    assert_eq!(fs::read(root.join("team/x.txt")).unwrap(), b"team");
}

#[test]
fn read_only_and_missing_allow_delete_cap_every_rule() {
    let root = TempDir::new("ac-caps");
    fs::write(root.join("a.txt"), b"a").unwrap();
    let tokens = TempDir::new("ac-caps-tokens");
    let token_file = tokens.join("tokens");
    fs::write(
        &token_file,
        format!(
            "{} / all 2099-01-01T00:00:00Z\n",
            token_sha256("root-token")
        ),
    )
    .unwrap();
    let rules = [
        "--user".to_owned(),
        user("bob", "pw-bob"),
        "--allow".to_owned(),
        "bob:/:all".to_owned(),
        "--allow".to_owned(),
        "@anonymous:/:all".to_owned(),
        "--token-file".to_owned(),
        token_file.to_str().unwrap().to_owned(),
    ];
    let everyone = [
        Who::Anon,
        Who::Basic("bob", "pw-bob"),
        Who::Bearer("root-token"),
    ];

    // --read-only: 405 with `Allow: GET, HEAD, OPTIONS` for every write,
    // whoever asks.
    let mut args: Vec<&str> = rules.iter().map(String::as_str).collect();
    args.push("--read-only");
    args.push("--allow-delete");
    let server = Server::start(&root.path, &args);
    for who in everyone {
        for (method, path) in [
            ("PUT", "/new.txt"),
            ("PUT", "/a.txt"),
            ("POST", "/"),
            ("MKCOL", "/d/"),
            ("DELETE", "/a.txt"),
        ] {
            let r = send(&server, method, path, who, b"x");
            assert_json_error(&r, 405);
            assert_eq!(
                r.header("allow"),
                Some("GET, HEAD, OPTIONS"),
                "{who:?} {method} {path}"
            );
        }
        let r = send(&server, "GET", "/a.txt", who, b"");
        assert_eq!(r.status, 200, "{who:?} reads");
        let r = send(&server, "OPTIONS", "/", who, b"");
        assert_eq!(
            (r.status, r.header("allow")),
            (204, Some("GET, HEAD, OPTIONS")),
            "{who:?}"
        );
        let page = send(&server, "GET", "/", who, b"");
        assert!(!has_upload_ui(&page.body_str()), "{who:?}: upload UI");
    }
    drop(server);
    assert_eq!(list_tree(&root.path), set(&["a.txt"]));

    // No --allow-delete: DELETE is 405 with Allow, whoever asks; the rest
    // of `all` works.
    let args: Vec<&str> = rules.iter().map(String::as_str).collect();
    let server = Server::start(&root.path, &args);
    for who in everyone {
        let r = send(&server, "DELETE", "/a.txt", who, b"");
        assert_json_error(&r, 405);
        let allow = r.header("allow").unwrap_or("");
        assert!(
            !allow.contains("DELETE") && allow.contains("GET"),
            "{allow}"
        );
        let r = send(&server, "OPTIONS", "/a.txt", who, b"");
        assert!(
            !r.header("allow").unwrap_or("DELETE").contains("DELETE"),
            "{who:?}: {:?}",
            r.header("allow")
        );
    }
    assert!(root.join("a.txt").exists());
    let r = send(
        &server,
        "PUT",
        "/a.txt",
        Who::Basic("bob", "pw-bob"),
        b"new",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn delete_and_mkcol_need_their_rights() {
    let root = TempDir::new("ac-delete");
    for name in ["a.txt", "b.txt", "c.txt"] {
        fs::write(root.join(name), name).unwrap();
    }
    fs::create_dir(root.join("empty")).unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--allow-delete",
            "--user",
            &user("del", "pw-del"),
            "--user",
            &user("up", "pw-up"),
            "--allow",
            "del:/:read,delete",
            "--allow",
            "up:/:read,upload,overwrite",
            "--allow",
            "@anonymous:/:read",
        ],
    );
    let del = Who::Basic("del", "pw-del");
    let up = Who::Basic("up", "pw-up");
    run_table(
        &server,
        &[
            case(Who::Anon, "DELETE", "/a.txt", 401),
            case(up, "DELETE", "/a.txt", 403),
            case(del, "DELETE", "/a.txt", 204),
            case(del, "DELETE", "/empty/", 204),
            case(del, "MKCOL", "/by-del/", 403),
            case(Who::Anon, "MKCOL", "/by-anon/", 401),
            case(up, "MKCOL", "/by-up/", 201),
            case(up, "DELETE", "/by-up/", 403),
            case(del, "PUT", "/b.txt", 403),
        ],
    );
    assert_eq!(list_tree(&root.path), set(&["b.txt", "by-up/", "c.txt"]));
}

// ---------------------------------------------------------------------------
// listings and OPTIONS
// ---------------------------------------------------------------------------

#[test]
fn listings_show_only_what_the_identity_may_read() {
    let root = TempDir::new("ac-listing");
    fs::write(root.join("pub.txt"), b"p").unwrap();
    fs::write(root.join("hidden.txt"), b"h").unwrap();
    for dir in ["team", "secret", "inbox", "archive"] {
        fs::create_dir(root.join(dir)).unwrap();
        fs::write(root.join(&format!("{dir}/in-{dir}.txt")), dir).unwrap();
    }
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("bob", "pw-bob"),
            "--allow",
            "@users:/:read",
            // rules without read: longest prefix hides these from users
            "--allow",
            "@users:/secret/:overwrite",
            "--allow",
            "@users:/hidden.txt:overwrite",
            "--allow",
            "@users:/archive/:overwrite",
            "--allow",
            "@users:/inbox/:upload",
            "--allow",
            "@anonymous:/team/:read",
        ],
    );
    let bob = Who::Basic("bob", "pw-bob");
    let names = listed(&send(&server, "GET", "/?json", bob, b""));
    assert_eq!(names, set(&["inbox", "pub.txt", "team"]));
    let page = send(&server, "GET", "/", bob, b"").body_str();
    assert_eq!(page_rows(&page), 3, "{page}");
    for hidden in ["secret", "hidden.txt", "archive"] {
        assert!(!page.contains(hidden), "the page shows {hidden}");
    }
    // No upload at / for bob: no upload UI; in /inbox/, a drop box.
    assert!(!has_upload_ui(&page));
    let inbox = send(&server, "GET", "/inbox/", bob, b"").body_str();
    assert!(has_upload_ui(&inbox) && inbox.contains("data-drop-box=\"true\""));
    assert!(!inbox.contains("in-inbox.txt"));
    let r = send(&server, "GET", "/secret/?json", bob, b"");
    assert_json_error(&r, 403);

    // Anonymous reads /team/ only: its listing works, the root's is 401.
    let names = listed(&send(&server, "GET", "/team/?json", Who::Anon, b""));
    assert_eq!(names, set(&["in-team.txt"]));
    assert_json_error(&send(&server, "GET", "/?json", Who::Anon, b""), 401);
}

/// A symlink in a readable directory that leads into an unreadable one is
/// not readable through the link, so a listing must not show it either
/// (its name, size and date are the target's).
#[test]
fn listings_hide_symlinks_into_unreadable_places() {
    let root = TempDir::new("ac-listing-links");
    fs::create_dir(root.join("pub")).unwrap();
    fs::create_dir(root.join("private")).unwrap();
    fs::write(root.join("pub/ok.txt"), b"ok").unwrap();
    fs::write(root.join("private/secret.txt"), b"top secret").unwrap();
    std::os::unix::fs::symlink("../private/secret.txt", root.join("pub/link.txt")).unwrap();
    std::os::unix::fs::symlink("../private", root.join("pub/dirlink")).unwrap();
    std::os::unix::fs::symlink("ok.txt", root.join("pub/samedir.txt")).unwrap();
    let server = Server::start(&root.path, &["--allow", "@anonymous:/pub/:read"]);
    let names = listed(&send(&server, "GET", "/pub/?json", Who::Anon, b""));
    assert_eq!(
        names,
        set(&["ok.txt", "samedir.txt"]),
        "the listing of /pub/ shows links whose targets anonymous may not read"
    );
}

#[test]
fn options_allow_follows_the_identity() {
    let root = TempDir::new("ac-options");
    fs::create_dir(root.join("drop")).unwrap();
    fs::create_dir(root.join("ci")).unwrap();
    let tokens = TempDir::new("ac-options-tokens");
    let token_file = tokens.join("tokens");
    fs::write(
        &token_file,
        format!(
            "{} /ci/ upload,delete 2099-01-01T00:00:00Z\n",
            token_sha256("tok-options")
        ),
    )
    .unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--allow-delete",
            "--user",
            &user("bob", "pw-bob"),
            "--user",
            &user("admin", "pw-admin"),
            "--allow",
            "@anonymous:/:read",
            "--allow",
            "@anonymous:/drop/:upload",
            "--allow",
            "@users:/:read,upload",
            "--allow",
            "admin:/:all",
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    );
    let table: &[(Who, &str, u16, Option<&str>)] = &[
        (Who::Anon, "/", 204, Some("GET, HEAD, OPTIONS")),
        (
            Who::Anon,
            "/drop/",
            204,
            Some("GET, HEAD, PUT, POST, MKCOL, OPTIONS"),
        ),
        (
            Who::Basic("bob", "pw-bob"),
            "/",
            204,
            Some("GET, HEAD, PUT, POST, MKCOL, OPTIONS"),
        ),
        (
            Who::Basic("admin", "pw-admin"),
            "/",
            204,
            Some("GET, HEAD, PUT, POST, MKCOL, DELETE, OPTIONS"),
        ),
        (
            Who::Bearer("tok-options"),
            "/ci/",
            204,
            Some("GET, HEAD, PUT, POST, MKCOL, DELETE, OPTIONS"),
        ),
        (
            Who::Bearer("tok-options"),
            "/",
            204,
            Some("GET, HEAD, OPTIONS"),
        ),
    ];
    let mut wrong = Vec::new();
    for &(who, path, status, allow) in table {
        let r = send(&server, "OPTIONS", path, who, b"");
        if (r.status, r.header("allow")) != (status, allow) {
            wrong.push(format!(
                "{who:?} OPTIONS {path}: {} {:?}, want {status} {allow:?}",
                r.status,
                r.header("allow")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn options_without_any_right_is_refused_like_a_read() {
    let root = TempDir::new("ac-options-none");
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("bob", "pw-bob"),
            "--allow",
            "bob:/bob/:read",
        ],
    );
    run_table(
        &server,
        &[
            case(Who::Anon, "OPTIONS", "/", 401),
            case(Who::Basic("bob", "pw-bob"), "OPTIONS", "/", 403),
        ],
    );
}

// ---------------------------------------------------------------------------
// bearer tokens
// ---------------------------------------------------------------------------

#[test]
fn bearer_tokens_scope_expiry_and_anonymous_rights() {
    let root = TempDir::new("ac-tokens");
    for dir in ["ci", "pub", "other"] {
        fs::create_dir(root.join(dir)).unwrap();
    }
    fs::write(root.join("pub/readme.txt"), b"public").unwrap();
    fs::write(root.join("other/x.txt"), b"other").unwrap();
    let tokens = TempDir::new("ac-token-file");
    let token_file = tokens.join("tokens");
    fs::write(
        &token_file,
        format!(
            "# CI uploads, read back\n\
             {} /ci/ read,upload 2099-01-01T00:00:00Z\n\
             {} /ci/ all 2001-01-01T00:00:00Z  # long expired\n\
             \n\
             {} / read 2099-01-01T00:00:00+02:00\n",
            token_sha256("tok-ci"),
            token_sha256("tok-old"),
            token_sha256("tok-reader"),
        ),
    )
    .unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--allow",
            "@anonymous:/pub/:read",
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    );
    let bearer = |t: &str| format!("Authorization: Bearer {t}");

    // In scope: upload, then read it back.
    let artifact = random_bytes(200_000, 11);
    let src = TempDir::new("ac-token-src");
    fs::write(src.join("build.tar"), &artifact).unwrap();
    let r = curl_capture(&[
        "-H",
        &bearer("tok-ci"),
        "-T",
        src.join("build.tar").to_str().unwrap(),
        &server.url("/ci/build.tar"),
    ]);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        sha256_file(&root.join("ci/build.tar")),
        sha256_hex(&artifact)
    );
    let r = curl_capture(&["-H", &bearer("tok-ci"), &server.url("/ci/build.tar")]);
    assert_eq!(
        (r.status, sha256_hex(&r.body)),
        (200, sha256_hex(&artifact))
    );

    // The token's rights plus @anonymous's: /pub/ is readable with it.
    let r = curl_capture(&["-H", &bearer("tok-ci"), &server.url("/pub/readme.txt")]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"public"[..]));

    // Out of scope: 403 with the insufficient_scope challenge.
    for (args, what) in [
        (vec!["-X", "GET"], "/other/x.txt"),
        (vec!["-T", "/dev/null"], "/other/new.txt"),
        (vec!["-T", "/dev/null"], "/pub/new.txt"),
        (vec!["-T", "/dev/null"], "/ci/build.tar"),
    ] {
        let auth = bearer("tok-ci");
        let url = server.url(what);
        let mut all = vec!["-H", auth.as_str()];
        all.extend(args);
        all.push(&url);
        let r = curl_capture(&all);
        assert_eq!(r.status, 403, "{what}: {}", r.headers);
        let challenge = curl_header(&r.headers, "www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"insufficient_scope\""),
            "{what}: {challenge:?}"
        );
        assert_eq!(
            r.json().get("error").and_then(Json::as_str),
            Some("forbidden")
        );
    }
    assert!(!root.join("other/new.txt").exists() && !root.join("pub/new.txt").exists());
    assert_eq!(
        sha256_file(&root.join("ci/build.tar")),
        sha256_hex(&artifact)
    );

    // Expired: 401 invalid_token, even where anonymous may read.
    for what in ["/ci/build.tar", "/pub/readme.txt"] {
        let r = curl_capture(&["-H", &bearer("tok-old"), &server.url(what)]);
        assert_eq!(r.status, 401, "expired token, {what}");
        let challenge = curl_header(&r.headers, "www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
            "{challenge:?}"
        );
        assert_eq!(
            r.json().get("error").and_then(Json::as_str),
            Some("unauthorized")
        );
    }
    let r = curl_capture(&[
        "-H",
        &bearer("tok-old"),
        "-T",
        "/dev/null",
        &server.url("/ci/z"),
    ]);
    assert_eq!(r.status, 401);
    assert!(!root.join("ci/z").exists());

    // Wrong: 401 invalid_token.
    for wrong in ["tok-cj", "TOK-CI", "tok-ci-", "x"] {
        let r = curl_capture(&["-H", &bearer(wrong), &server.url("/pub/readme.txt")]);
        assert_eq!(r.status, 401, "token {wrong:?}");
        let challenge = curl_header(&r.headers, "www-authenticate").unwrap_or_default();
        assert!(challenge.contains("invalid_token"), "{challenge:?}");
    }

    // A read token with an offset expiry reads everything, writes nothing.
    let r = curl_capture(&["-H", &bearer("tok-reader"), &server.url("/other/x.txt")]);
    assert_eq!(r.status, 200);
    let r = curl_capture(&[
        "-H",
        &bearer("tok-reader"),
        "-T",
        "/dev/null",
        &server.url("/other/y.txt"),
    ]);
    assert_eq!(r.status, 403);
    // And anonymous: /pub/ only.
    let r = curl_capture(&[&server.url("/ci/build.tar")]);
    assert_eq!(r.status, 401);
}

// ---------------------------------------------------------------------------
// refused before the body
// ---------------------------------------------------------------------------

#[test]
fn refused_uploads_are_answered_before_the_body() {
    let root = TempDir::new("ac-early");
    fs::create_dir(root.join("up")).unwrap();
    fs::create_dir(root.join("ro")).unwrap();
    fs::write(root.join("up/existing.bin"), b"existing").unwrap();
    let tokens = TempDir::new("ac-early-tokens");
    let token_file = tokens.join("tokens");
    fs::write(
        &token_file,
        format!(
            "{} /up/ upload 2099-01-01T00:00:00Z\n{} /up/ all 2001-01-01T00:00:00Z\n",
            token_sha256("tok-up"),
            token_sha256("tok-expired")
        ),
    )
    .unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("bob", "pw-bob"),
            "--allow",
            "bob:/up/:read,upload",
            "--allow",
            "bob:/ro/:read",
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    );
    let before = list_tree(&root.path);
    let bob = Who::Basic("bob", "pw-bob");
    let declared = 64 * MIB;
    let cases: &[(&str, Who, &str, &str, u16)] = &[
        ("anonymous", Who::Anon, "PUT", "/up/a.bin", 401),
        ("bob outside his upload", bob, "PUT", "/ro/a.bin", 403),
        (
            "bob over a file without overwrite",
            bob,
            "PUT",
            "/up/existing.bin",
            403,
        ),
        (
            "wrong password",
            Who::Basic("bob", "nope"),
            "PUT",
            "/up/a.bin",
            401,
        ),
        (
            "unknown user",
            Who::Basic("eve", "pw-bob"),
            "PUT",
            "/up/a.bin",
            401,
        ),
        (
            "token out of scope",
            Who::Bearer("tok-up"),
            "PUT",
            "/ro/a.bin",
            403,
        ),
        (
            "expired token",
            Who::Bearer("tok-expired"),
            "PUT",
            "/up/a.bin",
            401,
        ),
        (
            "wrong token",
            Who::Bearer("tok-wrong"),
            "PUT",
            "/up/a.bin",
            401,
        ),
        ("anonymous multipart", Who::Anon, "POST", "/up/", 401),
        ("bob multipart outside", bob, "POST", "/ro/", 403),
    ];
    for &(what, who, method, path, status) in cases {
        let content_type = if method == "POST" {
            "Content-Type: multipart/form-data; boundary=xyz\r\n"
        } else {
            ""
        };
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{}{content_type}Content-Length: {declared}\r\n\
             Expect: 100-continue\r\n\r\n",
            server.host(),
            who.header()
        );
        let mut c = Client::connect_from(Ipv4Addr::new(127, 0, 0, 9), server.addr);
        c.send(head.as_bytes()).unwrap();
        let r = c.response(false);
        assert_ne!(r.status, 100, "{what}: 100 Continue for a refused upload");
        assert_eq!(r.status, status, "{what}: {}", r.body_str());
        assert!(check_error_shape(&r, who, false).is_none(), "{what}: {r:?}");
        // The connection goes away (lingering close) without us sending
        // the body; meanwhile nothing was staged.
        assert!(
            tmpfile_fds(server.pid(), &root.path).is_empty(),
            "{what}: staged {:?}",
            tmpfile_fds(server.pid(), &root.path)
        );
        drop(c);
    }
    assert_eq!(list_tree(&root.path), before, "something was stored");

    // The control: an allowed upload gets 100 Continue, and then (and only
    // then) has a staged file — so the probe above can see one.
    let head = format!(
        "PUT /up/ok.bin HTTP/1.1\r\nHost: {}\r\n{}Content-Length: {declared}\r\n\
         Expect: 100-continue\r\n\r\n",
        server.host(),
        bob.header()
    );
    let mut c = Client::connect(server.addr);
    c.send(head.as_bytes()).unwrap();
    assert_eq!(c.response(false).status, 100);
    assert!(
        wait_until(EVENT_DEADLINE, || !tmpfile_fds(server.pid(), &root.path)
            .is_empty()),
        "an accepted upload shows no staged file"
    );
    c.send(&vec![0u8; 1024 * 1024]).unwrap();
    drop(c);
    assert!(wait_until(EVENT_DEADLINE, || tmpfile_fds(
        server.pid(),
        &root.path
    )
    .is_empty()));
    assert_eq!(list_tree(&root.path), before);
}

// ---------------------------------------------------------------------------
// malformed Authorization headers
// ---------------------------------------------------------------------------

#[test]
fn malformed_authorization_headers_get_json_errors() {
    let root = TempDir::new("ac-malformed");
    fs::write(root.join("a.txt"), b"a").unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("bob", "pw-bob"),
            "--user",
            &user("carol", "pw-carol"),
            "--allow",
            "@users:/:read",
        ],
    );
    let bob = Who::Basic("bob", "pw-bob");
    // Signed in before the noise: this header is cached.
    assert!(alive_for(&server, bob));

    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let ok = b64(b"bob:pw-bob");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "scheme without credentials",
            b"Authorization: Basic\r\n".to_vec(),
            401,
        ),
        (
            "no space after the scheme",
            format!("Authorization: Basic{ok}\r\n").into_bytes(),
            401,
        ),
        (
            "unknown scheme",
            format!("Authorization: Digest {ok}\r\n").into_bytes(),
            401,
        ),
        (
            "Negotiate",
            b"Authorization: Negotiate YIIBhwYGKwYBBQUCoII=\r\n".to_vec(),
            401,
        ),
        (
            "bad base64",
            b"Authorization: Basic !!!not-base64!!!\r\n".to_vec(),
            401,
        ),
        (
            "truncated base64",
            b"Authorization: Basic Ym9iOnB\r\n".to_vec(),
            401,
        ),
        (
            "user without colon",
            format!("Authorization: Basic {}\r\n", b64(b"bobpw-bob")).into_bytes(),
            401,
        ),
        ("empty value", b"Authorization: \r\n".to_vec(), 401),
        (
            "two tokens",
            format!("Authorization: Basic {ok} {ok}\r\n").into_bytes(),
            401,
        ),
        (
            "5 KiB value",
            format!("Authorization: Basic {}\r\n", "QUFB".repeat(1280)).into_bytes(),
            401,
        ),
        (
            "5 KiB bearer",
            format!("Authorization: Bearer {}\r\n", "a".repeat(5120)).into_bytes(),
            401,
        ),
        (
            "non-UTF-8 bytes",
            b"Authorization: Basic \xff\xfe\xfd\r\n".to_vec(),
            401,
        ),
        (
            "two Authorization headers",
            format!("Authorization: Basic {ok}\r\nAuthorization: Basic {ok}\r\n").into_bytes(),
            400,
        ),
        (
            "two, differently cased",
            format!("Authorization: Basic {ok}\r\nauthorization: Bearer x\r\n").into_bytes(),
            400,
        ),
        (
            "NUL byte",
            format!("Authorization: Basic Ym9i\0{ok}\r\n").into_bytes(),
            400,
        ),
        (
            "control byte",
            format!("Authorization: Basic \x01{ok}\r\n").into_bytes(),
            400,
        ),
        (
            "DEL byte",
            format!("Authorization: Basic {ok}\x7f\r\n").into_bytes(),
            400,
        ),
        (
            "bare CR",
            format!("Authorization: Basic {ok}\rX: y\r\n").into_bytes(),
            400,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, header, status) in &cases {
        let mut req = format!("GET /a.txt HTTP/1.1\r\nHost: {}\r\n", server.host()).into_bytes();
        req.extend_from_slice(header);
        req.extend_from_slice(b"Connection: close\r\n\r\n");
        let mut c = Client::connect_from(Ipv4Addr::new(127, 0, 0, 7), server.addr);
        c.send(&req).unwrap();
        let r = match c.read(false, EVENT_DEADLINE) {
            Ok(r) => r,
            Err(e) => {
                wrong.push(format!("{what}: no response: {e}"));
                continue;
            }
        };
        if r.status != *status {
            wrong.push(format!(
                "{what}: {} (want {status}) {}",
                r.status,
                r.body_str()
            ));
            continue;
        }
        // A bearer attempt gets the Bearer challenge, anything else Basic.
        let who = if header.starts_with(b"Authorization: Bearer") {
            Who::Bearer("")
        } else {
            Who::Anon
        };
        if let Some(problem) = check_error_shape(&r, who, false) {
            wrong.push(format!("{what}: {problem}"));
        }
        if r.body == b"a" {
            wrong.push(format!("{what}: served the file"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // The same on one keep-alive connection: each refusal is answered and
    // the connection serves the next request (those the head parser
    // refuses end it, so only the 401s here).
    let mut c = Client::connect_from(Ipv4Addr::new(127, 0, 0, 8), server.addr);
    for (what, header, _) in cases.iter().filter(|(_, _, s)| *s == 401) {
        let mut req = format!("GET /a.txt HTTP/1.1\r\nHost: {}\r\n", server.host()).into_bytes();
        req.extend_from_slice(header);
        req.extend_from_slice(b"\r\n");
        c.send(&req).unwrap();
        let r = c.response(false);
        assert_json_error(&r, 401);
        assert!(!r.says_close(), "{what}: closed the keep-alive connection");
    }
    let req = format!(
        "GET /a.txt HTTP/1.1\r\nHost: {}\r\n{}Connection: close\r\n\r\n",
        server.host(),
        bob.header()
    );
    c.send(req.as_bytes()).unwrap();
    let r = c.response(false);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"a"[..]));

    // The server keeps serving: the cached credentials, and a fresh
    // sign-in from an address that sent none of the noise.
    assert!(alive_for(&server, bob));
    let r = send_from(
        Ipv4Addr::new(127, 0, 0, 10),
        &server,
        "GET",
        "/a.txt",
        Who::Basic("carol", "pw-carol"),
        "",
        b"",
    );
    assert_eq!(r.status, 200, "carol's first sign-in: {}", r.body_str());
}

// ---------------------------------------------------------------------------
// symlinks
// ---------------------------------------------------------------------------

#[test]
fn symlinks_are_checked_where_they_lead() {
    let root = TempDir::new("ac-symlinks");
    fs::create_dir(root.join("pub")).unwrap();
    fs::create_dir(root.join("private")).unwrap();
    fs::write(root.join("pub/ok.txt"), b"ok").unwrap();
    fs::write(root.join("private/secret.txt"), b"top secret").unwrap();
    std::os::unix::fs::symlink("../private/secret.txt", root.join("pub/link.txt")).unwrap();
    std::os::unix::fs::symlink("../private", root.join("pub/dirlink")).unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("alice", "pw-alice"),
            "--user",
            &user("bob", "pw-bob"),
            "--allow",
            "@anonymous:/pub/:read,upload,overwrite",
            "--allow",
            "alice:/:read",
        ],
    );
    let anon = Who::Anon;
    let bob = Who::Basic("bob", "pw-bob");
    run_table(
        &server,
        &[
            case(anon, "GET", "/pub/ok.txt", 200),
            case(anon, "GET", "/pub/link.txt", 401),
            case(anon, "HEAD", "/pub/link.txt", 401),
            case(anon, "GET", "/pub/dirlink/secret.txt", 401),
            case(anon, "GET", "/pub/dirlink/?json", 401),
            case(anon, "PUT", "/pub/dirlink/planted.txt", 401),
            case(anon, "MKCOL", "/pub/dirlink/planted/", 401),
            case(anon, "POST", "/pub/dirlink/", 401),
            case(bob, "GET", "/pub/link.txt", 403),
            case(bob, "GET", "/pub/dirlink/secret.txt", 403),
            case(bob, "PUT", "/pub/dirlink/planted.txt", 403),
            // Where the target is readable, the link is too.
            case(Who::Basic("alice", "pw-alice"), "GET", "/pub/link.txt", 200),
            case(
                Who::Basic("alice", "pw-alice"),
                "GET",
                "/pub/dirlink/secret.txt",
                200,
            ),
            // A PUT over the link replaces the link in /pub/ (where
            // anonymous may overwrite), never its target.
            case(anon, "PUT", "/pub/link.txt", 200),
            case(anon, "GET", "/pub/link.txt", 200),
        ],
    );
    assert_eq!(
        fs::read(root.join("pub/link.txt")).unwrap(),
        b"put:/pub/link.txt"
    );
    assert_eq!(
        fs::read(root.join("private/secret.txt")).unwrap(),
        b"top secret"
    );
    assert_eq!(
        list_tree(&root.join("private")),
        set(&["secret.txt"]),
        "something was planted through the link"
    );
}

/// A symlinked directory leading where the identity may neither read nor
/// upload: its page is refused like the directory itself (not an empty
/// 200 page).
#[test]
fn symlinked_directory_page_is_refused_where_it_leads() {
    let root = TempDir::new("ac-symlink-dir-page");
    fs::create_dir(root.join("pub")).unwrap();
    fs::create_dir(root.join("private")).unwrap();
    fs::write(root.join("private/secret.txt"), b"top secret").unwrap();
    std::os::unix::fs::symlink("../private", root.join("pub/dirlink")).unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("bob", "pw-bob"),
            "--allow",
            "@anonymous:/pub/:read",
        ],
    );
    // The direct way is refused ...
    run_table(
        &server,
        &[
            case(Who::Anon, "GET", "/private/", 401),
            case(Who::Basic("bob", "pw-bob"), "GET", "/private/", 403),
        ],
    );
    // ... and so must be the way through the link.
    run_table(
        &server,
        &[
            case(Who::Anon, "GET", "/pub/dirlink/", 401),
            case(Who::Basic("bob", "pw-bob"), "GET", "/pub/dirlink/", 403),
        ],
    );
}

// ---------------------------------------------------------------------------
// brute force
// ---------------------------------------------------------------------------

/// What the flooders saw.
#[derive(Default, Debug)]
struct FloodCounts {
    by_status: BTreeMap<u16, u64>,
    bad: Vec<String>,
}

/// One flooder: wrong passwords from `src` on keep-alive connections,
/// reconnecting whenever the server closes, until `stop`.
fn flood(
    server_addr: SocketAddr,
    host: String,
    src: Ipv4Addr,
    stop: Arc<AtomicBool>,
    counts: Arc<Mutex<FloodCounts>>,
) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut c) = Client::try_connect_from(src, server_addr) else {
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let req = format!(
                "GET /f.bin HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\n\r\n",
                basic_value("bob", &format!("guess-{n}"))
            );
            if c.send(req.as_bytes()).is_err() {
                break;
            }
            let r = match c.read(false, Duration::from_secs(30)) {
                Ok(r) => r,
                Err(_) => break,
            };
            let mut counts = counts.lock().unwrap();
            *counts.by_status.entry(r.status).or_default() += 1;
            let ok_shape = match r.status {
                401 => r.header("www-authenticate") == Some(BASIC_CHALLENGE),
                429 | 503 => r
                    .header("retry-after")
                    .is_some_and(|s| s.parse::<u32>().is_ok_and(|n| n >= 1)),
                _ => false,
            };
            if !ok_shape && counts.bad.len() < 10 {
                counts
                    .bad
                    .push(format!("{} {:?} {}", r.status, r.headers, r.body_str()));
            }
            drop(counts);
            if r.says_close() {
                break;
            }
        }
    }
}

#[test]
fn wrong_password_flood_does_not_stop_a_signed_in_client() {
    let root = TempDir::new("ac-flood");
    let file = random_bytes(4096, 21);
    fs::write(root.join("f.bin"), &file).unwrap();
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &user("bob", "pw-bob"),
            "--user",
            &user("carol", "pw-carol"),
            "--user",
            &user("dave", "pw-dave"),
            "--user",
            &user("erin", "pw-erin"),
            "--allow",
            "@users:/:read,upload",
        ],
    );
    let flooder = Ipv4Addr::new(127, 0, 0, 2);
    let bob = Who::Basic("bob", "pw-bob");
    let carol = Who::Basic("carol", "pw-carol");
    // Before the flood: bob signs in from 127.0.0.1, carol from the
    // flooder's own address. Both headers are now cached.
    assert_eq!(send(&server, "GET", "/f.bin", bob, b"").status, 200);
    assert_eq!(
        send_from(flooder, &server, "GET", "/f.bin", carol, "", b"").status,
        200
    );

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Mutex::new(FloodCounts::default()));
    let flooders: Vec<_> = (0..24)
        .map(|_| {
            let (stop, counts, host) = (stop.clone(), counts.clone(), server.host());
            let addr = server.addr;
            thread::spawn(move || flood(addr, host, flooder, stop, counts))
        })
        .collect();
    // Wait until the flood is being throttled.
    let throttled = wait_until(Duration::from_secs(30), || {
        counts
            .lock()
            .unwrap()
            .by_status
            .get(&429)
            .is_some_and(|&n| n >= 10)
    });
    assert!(
        throttled,
        "no 429s to the flood: {:?}",
        counts.lock().unwrap()
    );

    // During the flood, bob (cached) is served, every time: reads, a
    // listing and uploads, on one keep-alive connection.
    let mut c = Client::connect(server.addr);
    for i in 0..40 {
        let get = format!(
            "GET /f.bin HTTP/1.1\r\nHost: {}\r\n{}\r\n",
            server.host(),
            bob.header()
        );
        c.send(get.as_bytes()).unwrap();
        let r = c.response(false);
        assert_eq!(
            r.status,
            200,
            "bob's GET #{i} during the flood: {}",
            r.body_str()
        );
        assert_eq!(r.body, file);
        let body = random_bytes(10_000, i);
        let put = format!(
            "PUT /bob-{i}.bin HTTP/1.1\r\nHost: {}\r\n{}Content-Length: {}\r\n\r\n",
            server.host(),
            bob.header(),
            body.len()
        );
        c.send(put.as_bytes()).unwrap();
        c.send(&body).unwrap();
        let r = c.response(false);
        assert_eq!(
            r.status,
            201,
            "bob's PUT #{i} during the flood: {}",
            r.body_str()
        );
        assert_eq!(
            sha256_file(&root.join(&format!("bob-{i}.bin"))),
            sha256_hex(&body)
        );
    }
    let r = send(&server, "GET", "/?json", bob, b"");
    assert_eq!(r.status, 200);
    // A first sign-in from another address is checked too, during the flood.
    let r = send(&server, "GET", "/f.bin", Who::Basic("dave", "pw-dave"), b"");
    assert_eq!(
        r.status,
        200,
        "dave's first sign-in during the flood: {}",
        r.body_str()
    );

    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        f.join().unwrap();
    }
    let counts = counts.lock().unwrap();
    assert!(
        counts.bad.is_empty(),
        "answers to the flood: {:?}",
        counts.bad
    );
    let unexpected: Vec<_> = counts
        .by_status
        .keys()
        .filter(|s| !matches!(s, 401 | 429 | 503))
        .collect();
    assert!(
        unexpected.is_empty(),
        "flood answered with {:?}",
        counts.by_status
    );
    eprintln!("flood answers: {:?}", counts.by_status);

    // After the flood: the flooder's address is throttled (429 with
    // Retry-After) for new password checks, right or wrong ...
    // (erin has never signed in: her right password needs a check too.)
    for who in [
        Who::Basic("bob", "another-guess"),
        Who::Basic("erin", "pw-erin"),
    ] {
        let asked = std::time::Instant::now();
        let r = send_from(flooder, &server, "GET", "/f.bin", who, "", b"");
        let waited = asked.elapsed();
        assert_json_error(&r, 429);
        let retry: u32 = r
            .header("retry-after")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("429 without a Retry-After: {r:?}"));
        assert!(retry >= 1, "Retry-After {retry}");
        // The answer is held back for its Retry-After (at most 1 s): asking
        // again at once gains a flooder nothing.
        assert!(
            waited >= std::time::Duration::from_millis(900),
            "429 after {waited:?}"
        );
    }
    // ... while its cached valid credentials still work, as do bob's.
    let r = send_from(flooder, &server, "GET", "/f.bin", carol, "", b"");
    assert_eq!(
        (r.status, r.body == file),
        (200, true),
        "carol from the flooder's address"
    );
    assert!(alive_for(&server, bob));
}

// ---------------------------------------------------------------------------
// the startup warning
// ---------------------------------------------------------------------------

/// Starts on 0.0.0.0 with `args`, waits until it has served a request (so
/// start-up logging is over), and returns its stderr.
fn startup_log_on_all_addresses(args: &[&str]) -> Vec<String> {
    let root = TempDir::new("ac-warning");
    let mut all = vec!["--bind", "0.0.0.0"];
    all.extend_from_slice(args);
    let server = Server::start(&root.path, &all);
    let port = server.addr.port();
    let mut c = Client::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    c.send(b"OPTIONS / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let _ = c.response(false);
    assert!(server.wait_for_stderr(EVENT_DEADLINE, |l| l.contains("OPTIONS /")));
    server.stderr_lines()
}

fn upload_warning(lines: &[String]) -> Option<&String> {
    lines
        .iter()
        .find(|l| l.contains("WARN") && l.to_ascii_lowercase().contains("upload"))
}

#[test]
fn startup_warning_for_anonymous_uploads_off_loopback() {
    let bob = user("bob", "pw-bob");
    // Anonymous may upload: a warning line.
    for args in [
        vec!["--allow", "@anonymous:/drop/:upload"],
        vec![
            "--user",
            bob.as_str(),
            "--allow",
            "@anonymous:/:read,upload",
        ],
    ] {
        let log = startup_log_on_all_addresses(&args);
        assert!(
            upload_warning(&log).is_some(),
            "{args:?}: no warning in {log:#?}"
        );
    }
    // Rules that do not let anonymous upload: no warning.
    for args in [
        vec!["--user", bob.as_str(), "--allow", "@users:/:read,upload"],
        vec!["--allow", "@anonymous:/:read"],
        vec!["--read-only"],
    ] {
        let log = startup_log_on_all_addresses(&args);
        assert!(
            upload_warning(&log).is_none(),
            "{args:?}: warned: {:?}",
            upload_warning(&log)
        );
    }
    // On loopback, no warning even with anonymous uploads.
    let root = TempDir::new("ac-warning-lo");
    let server = Server::start(&root.path, &["--allow", "@anonymous:/:upload"]);
    let mut c = Client::connect(server.addr);
    c.send(b"OPTIONS / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let _ = c.response(false);
    assert!(server.wait_for_stderr(EVENT_DEADLINE, |l| l.contains("OPTIONS /")));
    assert!(upload_warning(&server.stderr_lines()).is_none());
}
