//! Paths that would leave ROOT are refused and touch nothing.
//!
//! Layout of each test:
//! ```text
//! base/
//!   x                   "OUTSIDE X"     (target of the `..` attempts)
//!   outside/secret.txt  "TOP SECRET"    (target of the symlink attempts)
//!   root/               the server's ROOT
//!     f.txt, a/b
//! ```
//! Requests go over raw sockets (curl would normalise `..`), plus one
//! `curl --path-as-is` for a real client's view.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use common::*;

struct Layout {
    base: TempDir,
    root: PathBuf,
    server: Server,
}

fn layout() -> Layout {
    let base = TempDir::new("base");
    let root = base.join("root");
    fs::create_dir(&root).unwrap();
    fs::write(base.join("x"), b"OUTSIDE X").unwrap();
    fs::create_dir(base.join("outside")).unwrap();
    fs::write(base.join("outside").join("secret.txt"), b"TOP SECRET").unwrap();
    fs::write(root.join("f.txt"), b"inside").unwrap();
    fs::create_dir(root.join("a")).unwrap();
    fs::write(root.join("a").join("b"), b"a slash b").unwrap();
    let server = Server::start(&root, &[]);
    Layout { base, root, server }
}

impl Layout {
    fn check_untouched(&self, extra_root_entries: &[&str]) {
        assert_eq!(fs::read(self.base.join("x")).unwrap(), b"OUTSIDE X");
        assert_eq!(
            fs::read(self.base.join("outside").join("secret.txt")).unwrap(),
            b"TOP SECRET"
        );
        let mut want: Vec<&str> = vec![
            "outside/",
            "outside/secret.txt",
            "root/",
            "root/a/",
            "root/a/b",
            "root/f.txt",
            "x",
        ];
        want.extend_from_slice(extra_root_entries);
        assert_no_temp_files(&self.base.path, &want);
    }
}

fn request(server: &Server, method: &str, target: &str, body: &[u8]) -> Response {
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        server.host()
    );
    if method == "PUT" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut c = Conn::connect(server.addr);
    c.send(req.as_bytes());
    let _ = c.try_send(body);
    c.try_read_response()
        .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
}

fn assert_refused(r: &Response, what: &str) {
    assert!(
        r.status == 400 || r.status == 403,
        "{what}: want 400 or 403, got {} {:?}",
        r.status,
        r.body_str()
    );
    assert_json_error_body(r);
    let body = r.body_str();
    assert!(
        !body.contains("OUTSIDE X") && !body.contains("TOP SECRET"),
        "{what}: response leaks outside content: {body:?}"
    );
}

const TRAVERSALS: &[&str] = &[
    "/../x",
    "/%2e%2e/x",
    "/%2E%2E/x",
    "/a/%2E%2e/%2e%2e/x",
    "/a/../../x",
    "/./../x",
    "/..%2fx",
    "/%2e%2e%2fx",
    "/a/..%2f..%2fx",
    "/..\\x",
];

#[test]
fn dot_dot_get_is_refused() {
    let l = layout();
    for t in TRAVERSALS {
        let r = request(&l.server, "GET", t, b"");
        // `/..\x` is a legal (odd) file name on Linux: refusing or not finding it are both fine
        if *t == "/..\\x" && r.status == 404 {
            continue;
        }
        assert_refused(&r, &format!("GET {t}"));
    }
    l.check_untouched(&[]);
}

#[test]
fn dot_dot_put_is_refused_and_creates_nothing() {
    let l = layout();
    for t in TRAVERSALS {
        let target = t.replace('x', "y");
        let r = request(&l.server, "PUT", &target, b"written from outside");
        if target == "/..\\y" && (r.status == 201 || r.status == 200) {
            // stored as a file literally named `..\y` inside ROOT: not an escape
            assert_eq!(
                fs::read(l.root.join("..\\y")).unwrap(),
                b"written from outside"
            );
            fs::remove_file(l.root.join("..\\y")).unwrap();
            continue;
        }
        assert_refused(&r, &format!("PUT {target}"));
        assert!(
            !l.base.join("y").exists(),
            "PUT {target} created a file outside ROOT"
        );
    }
    // and an attempt to overwrite the existing outside file
    let r = request(&l.server, "PUT", "/../x", b"overwritten");
    assert_refused(&r, "PUT /../x");
    l.check_untouched(&[]);
}

#[test]
fn dot_dot_with_curl_path_as_is_is_refused() {
    let l = layout();
    let r = curl_capture(&["--path-as-is", &l.server.url("/../x")]);
    assert!(
        r.status == 400 || r.status == 403,
        "curl --path-as-is /../x: {} {:?}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    assert!(!String::from_utf8_lossy(&r.body).contains("OUTSIDE X"));
    l.check_untouched(&[]);
}

#[test]
fn nul_bytes_are_refused() {
    let l = layout();
    for t in ["/%00", "/f.txt%00.png", "/a%00b", "/a/%00/b"] {
        let r = request(&l.server, "GET", t, b"");
        assert_refused(&r, &format!("GET {t}"));
        let r = request(&l.server, "PUT", t, b"nul");
        assert_refused(&r, &format!("PUT {t}"));
    }
    l.check_untouched(&[]);
}

#[test]
fn encoded_slash_never_escapes() {
    // `%2f` inside a segment: refusing it (400/403), not finding it (404), or
    // treating it as `/` (serving ROOT/a/b) are all safe; anything else is not.
    let l = layout();
    for t in ["/a%2fb", "/a%2Fb"] {
        let r = request(&l.server, "GET", t, b"");
        match r.status {
            200 => assert_eq!(
                r.body, b"a slash b",
                "GET {t} served something other than ROOT/a/b"
            ),
            400 | 403 | 404 => assert_json_error_body(&r),
            s => panic!("GET {t}: unexpected {s} {:?}", r.body_str()),
        }
    }
    let r = request(&l.server, "PUT", "/a%2fnew", b"new");
    match r.status {
        201 => {
            assert_eq!(fs::read(l.root.join("a").join("new")).unwrap(), b"new");
            l.check_untouched(&["root/a/new"]);
        }
        400 | 403 | 404 | 409 => {
            assert_json_error_body(&r);
            l.check_untouched(&[]);
        }
        s => panic!("PUT /a%2fnew: unexpected {s} {:?}", r.body_str()),
    }
}

#[test]
fn symlink_to_outside_is_refused_for_get_and_put() {
    let l = layout();
    symlink(l.base.join("outside"), l.root.join("out")).unwrap();
    symlink(
        l.base.join("outside").join("secret.txt"),
        l.root.join("leak.txt"),
    )
    .unwrap();
    // relative symlink escaping too
    symlink("../outside", l.root.join("rel-out")).unwrap();

    for t in [
        "/out/secret.txt",
        "/leak.txt",
        "/rel-out/secret.txt",
        "/out/?json",
        "/out/",
    ] {
        let r = request(&l.server, "GET", t, b"");
        assert_refused(&r, &format!("GET {t}"));
    }
    for t in [
        "/out/new.txt",
        "/out/secret.txt",
        "/rel-out/new.txt",
        "/rel-out/secret.txt",
    ] {
        let r = request(&l.server, "PUT", t, b"through the link");
        assert_refused(&r, &format!("PUT {t}"));
    }
    assert!(
        !l.base.join("outside").join("new.txt").exists(),
        "PUT created a file outside ROOT"
    );

    // PUT onto a symlink that points outside: refusing is fine, and so is
    // replacing the link itself inside ROOT; writing through it is not.
    let r = request(&l.server, "PUT", "/leak.txt", b"replaced");
    match r.status {
        200 | 201 => {
            let meta = fs::symlink_metadata(l.root.join("leak.txt")).unwrap();
            assert!(
                meta.file_type().is_file(),
                "leak.txt should now be a regular file"
            );
            assert_eq!(fs::read(l.root.join("leak.txt")).unwrap(), b"replaced");
        }
        _ => assert_refused(&r, "PUT /leak.txt"),
    }
    assert_eq!(
        fs::read(l.base.join("outside").join("secret.txt")).unwrap(),
        b"TOP SECRET"
    );
    assert_eq!(fs::read(l.base.join("x")).unwrap(), b"OUTSIDE X");
    assert_eq!(
        list_tree(&l.base.join("outside"))
            .into_iter()
            .collect::<Vec<_>>(),
        vec!["secret.txt".to_string()],
        "something was created outside ROOT"
    );
    assert!(server_is_alive(&l.server));
}

#[test]
fn symlink_inside_root_is_followed() {
    let l = layout();
    fs::create_dir(l.root.join("real")).unwrap();
    fs::write(l.root.join("real").join("file.txt"), b"real content").unwrap();
    symlink("real", l.root.join("alias")).unwrap();
    symlink("real/file.txt", l.root.join("alias.txt")).unwrap();
    symlink("../f.txt", l.root.join("real").join("up.txt")).unwrap();

    for (t, want) in [
        ("/alias/file.txt", &b"real content"[..]),
        ("/alias.txt", &b"real content"[..]),
        ("/real/up.txt", &b"inside"[..]),
    ] {
        let r = request(&l.server, "GET", t, b"");
        assert_eq!(r.status, 200, "GET {t}: {:?}", r.body_str());
        assert_eq!(r.body, want, "GET {t}");
    }
}
