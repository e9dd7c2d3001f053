//! Downloads (GET/HEAD of files) and JSON directory listings.

mod common;

use std::fs;
use std::time::Duration;

use common::*;

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7 IMF-fixdate).
fn is_imf_fixdate(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 29
        && ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&&s[0..3])
        && &s[3..5] == ", "
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b' '
        && [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .contains(&&s[8..11])
        && b[11] == b' '
        && b[12..16].iter().all(u8::is_ascii_digit)
        && b[16] == b' '
        && b[17..19].iter().all(u8::is_ascii_digit)
        && b[19] == b':'
        && b[20..22].iter().all(u8::is_ascii_digit)
        && b[22] == b':'
        && b[23..25].iter().all(u8::is_ascii_digit)
        && &s[25..] == " GMT"
}

fn is_etag(s: &str) -> bool {
    let opaque = s.strip_prefix("W/").unwrap_or(s);
    opaque.len() >= 2 && opaque.starts_with('"') && opaque.ends_with('"')
}

#[test]
fn get_and_head_of_an_uploaded_file() {
    let root = TempDir::new("root");
    let src = TempDir::new("src");
    let server = Server::start(&root.path, &[]);
    fs::write(src.join("doc.txt"), b"hello world\n").unwrap();
    let up = curl_capture(&[
        "-T",
        src.join("doc.txt").to_str().unwrap(),
        &server.url("/doc.txt"),
    ]);
    assert_eq!(up.status, 201, "{}", up.stderr);

    let g = get(&server, "/doc.txt", "");
    assert_eq!(g.status, 200);
    assert_eq!(g.body, b"hello world\n");
    assert_eq!(g.header("content-length"), Some("12"));
    let ct = g.header("content-type").unwrap_or("");
    assert!(ct.starts_with("text/plain"), "Content-Type {ct:?}");
    let lm = g.header("last-modified").unwrap_or("");
    assert!(
        is_imf_fixdate(lm),
        "Last-Modified {lm:?} is not an IMF-fixdate"
    );
    let etag = g.header("etag").unwrap_or("").to_string();
    assert!(is_etag(&etag), "ETag {etag:?}");
    assert_eq!(g.header("accept-ranges"), Some("bytes"));

    // HEAD: same headers, no body (read to close to be sure nothing follows)
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "HEAD /doc.txt HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    let h = c.read_head_response();
    assert_eq!(h.status, 200);
    assert_eq!(h.header("content-length"), Some("12"));
    assert_eq!(h.header("content-type"), g.header("content-type"));
    assert_eq!(h.header("etag"), Some(etag.as_str()));
    assert_eq!(h.header("last-modified"), g.header("last-modified"));
    assert!(
        c.wait_closed(Duration::from_secs(5)),
        "Connection: close not honoured on HEAD"
    );
    assert!(
        c.leftover().is_empty(),
        "HEAD response carried a body: {:?}",
        String::from_utf8_lossy(c.leftover())
    );

    // replacing the content changes the validator
    let r = put(&server, "/doc.txt", "", b"a different, longer content\n");
    assert_eq!(r.status, 200);
    let g2 = get(&server, "/doc.txt", "");
    assert_eq!(g2.body, b"a different, longer content\n");
    assert_ne!(
        g2.header("etag"),
        Some(etag.as_str()),
        "ETag unchanged after the content changed"
    );
}

#[test]
fn large_download_matches_by_sha256() {
    let root = TempDir::new("root");
    let dst = TempDir::new("dst");
    let want = write_random_file(&root.join("big.bin"), 48 * MIB + 7, 3);
    let server = Server::start(&root.path, &[]);
    let out = dst.join("big.bin");
    let r = curl(&[
        "-o",
        out.to_str().unwrap(),
        "-w",
        "%{http_code}",
        &server.url("/big.bin"),
    ]);
    assert!(
        r.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&r.stdout), "200");
    assert_eq!(sha256_file(&out), want);
}

#[test]
fn content_type_follows_the_extension() {
    let root = TempDir::new("root");
    for name in [
        "a.html",
        "a.json",
        "a.png",
        "a.txt",
        "a.css",
        "a.unknownext",
    ] {
        fs::write(root.join(name), b"x").unwrap();
    }
    let server = Server::start(&root.path, &[]);
    for (name, want) in [
        ("a.html", "text/html"),
        ("a.json", "application/json"),
        ("a.png", "image/png"),
        ("a.txt", "text/plain"),
        ("a.css", "text/css"),
        ("a.unknownext", "application/octet-stream"),
    ] {
        let g = get(&server, &format!("/{name}"), "");
        assert_eq!(g.status, 200, "{name}");
        let ct = g.header("content-type").unwrap_or("");
        assert!(
            ct.starts_with(want),
            "{name}: Content-Type {ct:?}, want {want}"
        );
    }
}

fn entries_by_name(listing: &Json) -> Vec<(String, String, u64, String)> {
    let mut v: Vec<_> = listing
        .get("entries")
        .and_then(Json::as_array)
        .unwrap_or_else(|| panic!("listing without an entries array: {listing:?}"))
        .iter()
        .map(|e| {
            for k in ["name", "type", "size", "modified"] {
                assert!(e.get(k).is_some(), "entry without {k:?}: {e:?}");
            }
            (
                e.get("name")
                    .and_then(Json::as_str)
                    .expect("name string")
                    .to_string(),
                e.get("type")
                    .and_then(Json::as_str)
                    .expect("type string")
                    .to_string(),
                e.get("size").and_then(Json::as_u64).expect("size integer"),
                e.get("modified")
                    .and_then(Json::as_str)
                    .expect("modified string")
                    .to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn json_listing_by_query_and_by_accept() {
    let root = TempDir::new("root");
    fs::write(root.join("a.txt"), b"abc").unwrap();
    write_random_file(&root.join("b c.bin"), 1000, 1);
    fs::create_dir(root.join("sub")).unwrap();
    fs::write(root.join("sub").join("inner.txt"), b"12345").unwrap();
    let server = Server::start(&root.path, &[]);
    // one file arrives through the server too
    assert_eq!(put(&server, "/up.txt", "", b"uploaded").status, 201);

    let by_query = get(&server, "/?json", "");
    let by_accept = get(&server, "/", "Accept: application/json\r\n");
    for (how, r) in [("?json", &by_query), ("Accept", &by_accept)] {
        assert_eq!(r.status, 200, "{how}: {:?}", r.body_str());
        let ct = r.header("content-type").unwrap_or("");
        assert!(
            ct.starts_with("application/json"),
            "{how}: Content-Type {ct:?}"
        );
        let j = r.json();
        assert_eq!(
            j.get("path").and_then(Json::as_str),
            Some("/"),
            "{how}: {j:?}"
        );
        let entries = entries_by_name(&j);
        let shape: Vec<(&str, &str)> = entries
            .iter()
            .map(|(n, t, _, _)| (n.as_str(), t.as_str()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("a.txt", "file"),
                ("b c.bin", "file"),
                ("sub", "dir"),
                ("up.txt", "file")
            ],
            "{how}"
        );
        for (name, ty, size, modified) in &entries {
            assert!(
                is_rfc3339_utc(modified),
                "{how}: {name}: modified {modified:?} is not RFC 3339 UTC"
            );
            match name.as_str() {
                "a.txt" => assert_eq!(*size, 3),
                "b c.bin" => assert_eq!(*size, 1000),
                "up.txt" => assert_eq!(*size, 8),
                _ => assert_eq!(ty, "dir"),
            }
        }
    }

    let sub = get(&server, "/sub/?json", "");
    assert_eq!(sub.status, 200);
    let j = sub.json();
    assert_eq!(j.get("path").and_then(Json::as_str), Some("/sub/"));
    let entries = entries_by_name(&j);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        (entries[0].0.as_str(), entries[0].1.as_str(), entries[0].2),
        ("inner.txt", "file", 5)
    );
}

#[test]
fn directory_without_slash_redirects() {
    let root = TempDir::new("root");
    fs::create_dir(root.join("sub")).unwrap();
    let server = Server::start(&root.path, &[]);
    let r = get(&server, "/sub", "");
    assert_eq!(r.status, 301, "{r:?}");
    let loc = r.header("location").unwrap_or("");
    assert!(
        loc == "/sub/" || loc == server.url("/sub/"),
        "Location {loc:?}, want /sub/"
    );
}

#[test]
fn missing_paths_are_404_json() {
    let root = TempDir::new("root");
    fs::create_dir(root.join("sub")).unwrap();
    let server = Server::start(&root.path, &[]);
    for path in ["/nope.txt", "/sub/nope.txt", "/nodir/", "/nodir/x?json"] {
        let r = get(&server, path, "");
        assert_json_error(&r, 404);
    }
    // HEAD of a missing file: 404, no body
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "HEAD /nope.txt HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    let h = c.read_head_response();
    assert_eq!(h.status, 404);
    assert!(c.wait_closed(Duration::from_secs(5)));
    assert!(
        c.leftover().is_empty(),
        "HEAD 404 carried a body: {:?}",
        String::from_utf8_lossy(c.leftover())
    );
}

#[test]
fn percent_encoded_names_and_query_strings() {
    let root = TempDir::new("root");
    fs::write(root.join("a b.txt"), b"spaced").unwrap();
    fs::write(root.join("été.txt"), b"accent").unwrap();
    let server = Server::start(&root.path, &[]);
    for (target, want) in [
        ("/a%20b.txt", &b"spaced"[..]),
        ("/%C3%A9t%C3%A9.txt", &b"accent"[..]),
        ("/%c3%a9t%c3%a9.txt", &b"accent"[..]),
        ("/a%20b.txt?download=1", &b"spaced"[..]),
    ] {
        let r = get(&server, target, "");
        assert_eq!(r.status, 200, "GET {target}: {:?}", r.body_str());
        assert_eq!(r.body, want, "GET {target}");
    }
}

#[test]
fn listing_is_valid_json_for_awkward_names() {
    use std::os::unix::ffi::OsStrExt;

    let root = TempDir::new("root");
    let awkward = [
        "quo\"te.txt",
        "back\\slash.txt",
        "tab\there.txt",
        "ctl\u{1}.txt",
        "ünï ©ødé 📁.txt",
        "<b>&amp;.html",
    ];
    for name in awkward {
        fs::write(root.join(name), name.as_bytes()).unwrap();
    }
    // a name that is not UTF-8 at all: the listing must still be valid JSON
    fs::write(
        root.path.join(std::ffi::OsStr::from_bytes(b"raw\xff.bin")),
        b"x",
    )
    .unwrap();
    let server = Server::start(&root.path, &[]);

    let r = get(&server, "/?json", "");
    assert_eq!(r.status, 200, "{:?}", r.body_str());
    let j = r.json();
    let names: Vec<String> = entries_by_name(&j).into_iter().map(|e| e.0).collect();
    for name in awkward {
        assert!(
            names.iter().any(|n| n == name),
            "{name:?} missing or mangled in the listing: {names:?}"
        );
    }
    // the non-UTF-8 name may be shown (lossily or escaped) or left out, but
    // it must not break the listing or hide the other entries
    assert!(
        names.len() == awkward.len() || names.len() == awkward.len() + 1,
        "{names:?}"
    );
}
