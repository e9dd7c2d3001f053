//! Off-the-shelf resumable-upload clients against the real binary:
//! tus-js-client (under Node, tus 1.0 and the IETF draft's
//! `ietf-draft-05`) and tuspy, from `tests/clients` (see its README).
//! Each uploads a file, is cut off or stopped and resumes from the
//! server's offset, and the stored file is checked by SHA-256.
//!
//! The clients are installed by `scripts/client-deps`; without them these
//! tests fail (never skip), saying so.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// How long one client run may take.
const CLIENT_DEADLINE: Duration = Duration::from_secs(120);

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Fails the test unless tus-js-client (under Node) is installed.
fn require_tus_js() {
    let installed = clients_dir()
        .join("node_modules/tus-js-client/package.json")
        .exists();
    let node = Command::new("node").arg("--version").output();
    assert!(
        installed && node.is_ok_and(|o| o.status.success()),
        "tus-js-client under Node is missing: run scripts/client-deps \
         (npm ci --prefix tests/clients); these tests do not skip"
    );
}

/// Fails the test unless tuspy is installed.
fn require_tuspy() {
    let ok = Command::new("python3")
        .args(["-c", "import tusclient"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "tuspy is missing: run scripts/client-deps \
         (python3 -m pip install -r tests/clients/requirements.txt); these tests do not skip"
    );
}

/// Runs a client script; returns its JSON result (and fails the test with
/// its output if it does not exit 0 when `expect_ok`).
fn run_client(program: &str, script: &str, args: &[String], expect_ok: bool) -> Json {
    let mut cmd = Command::new(program);
    cmd.arg(clients_dir().join(script)).args(args);
    let out = run_with_deadline(cmd, CLIENT_DEADLINE);
    let status = out.status.expect("the client finished in time");
    assert!(
        status.code() != Some(2),
        "{script}: bad usage or client missing (run scripts/client-deps):\n{}",
        out.stderr
    );
    if expect_ok {
        assert!(
            status.success(),
            "{script} {args:?} failed ({status}):\nstdout: {}\nstderr: {}",
            out.stdout,
            out.stderr
        );
    }
    Json::parse(out.stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{script}: output is not JSON ({e}):\n{}\n{}",
            out.stdout, out.stderr
        )
    })
}

fn tus_js(args: &[String]) -> Json {
    require_tus_js();
    run_client("node", "tus-js-upload.mjs", args, true)
}

fn tuspy(args: &[String]) -> Json {
    require_tuspy();
    run_client("python3", "tuspy_upload.py", args, true)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A random file of `size` bytes in `dir`; returns its path and SHA-256.
fn source_file(dir: &TempDir, name: &str, size: u64, seed: u64) -> (PathBuf, String) {
    let path = dir.join(name);
    let sha = write_random_file(&path, size, seed);
    (path, sha)
}

fn attempts(result: &Json) -> Vec<(u64, u64)> {
    result
        .get("attempts")
        .and_then(Json::as_array)
        .expect("attempts")
        .iter()
        .map(|a| {
            (
                a.get("startOffset").and_then(Json::as_u64).unwrap_or(0),
                a.get("endOffset").and_then(Json::as_u64).unwrap_or(0),
            )
        })
        .collect()
}

/// Bytes the client sent again after each cut: where it was cut minus
/// where the server let it resume.
fn resent_after_cuts(result: &Json) -> Vec<u64> {
    attempts(result)
        .windows(2)
        .map(|w| w[0].1.saturating_sub(w[1].0))
        .collect()
}

#[test]
fn tus_js_client_uploads_and_resumes_after_cut_connections() {
    let root = TempDir::new("rc-js");
    fs::create_dir(root.join("in")).unwrap();
    let src = TempDir::new("rc-js-src");
    let buffer = 256 * KIB;
    let server = Server::start(&root.path, &["--buffer-size", "256K"]);
    let size = 6 * MIB + 12_345;
    let (file, sha) = source_file(&src, "movie.bin", size, 21);
    for chunk in [None, Some(MIB)] {
        let mut a = args(&[
            "--endpoint",
            &server.url("/in/"),
            "--file",
            file.to_str().unwrap(),
            "--abort-after",
            "1500001,4000003",
        ]);
        if let Some(n) = chunk {
            a.extend(args(&["--chunk-size", &n.to_string()]));
        }
        let result = tus_js(&a);
        assert_eq!(result.get("finalOffset").and_then(Json::as_u64), Some(size));
        assert_eq!(attempts(&result).len(), 3, "{result:?}");
        for resent in resent_after_cuts(&result) {
            assert!(
                resent <= buffer,
                "re-sent {resent} bytes after a cut: {result:?}"
            );
        }
        let stored = fs::read_dir(root.join("in"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| sha256_file(p) == sha);
        assert!(stored.is_some(), "no stored file matches; {result:?}");
    }
    // Both uploads stored, the second under a collision-free name.
    assert!(root.join("in/movie.bin").exists() && root.join("in/movie (1).bin").exists());
}

#[test]
fn tus_js_client_speaks_the_ietf_draft() {
    let root = TempDir::new("rc-ietf");
    let src = TempDir::new("rc-ietf-src");
    let server = Server::start(&root.path, &[]);
    let size = 3 * MIB + 999;
    let (file, sha) = source_file(&src, "draft.bin", size, 22);
    let result = tus_js(&args(&[
        "--endpoint",
        &server.url("/"),
        "--file",
        file.to_str().unwrap(),
        "--protocol",
        "ietf-draft-05",
        "--chunk-size",
        &MIB.to_string(),
        "--abort-after",
        "1200000",
    ]));
    assert_eq!(result.get("finalOffset").and_then(Json::as_u64), Some(size));
    assert_eq!(attempts(&result).len(), 2, "{result:?}");
    assert_eq!(sha256_file(&root.join("draft.bin")), sha);
}

#[test]
fn tus_js_client_terminates_and_defers_the_length() {
    let root = TempDir::new("rc-js-term");
    let src = TempDir::new("rc-js-term-src");
    let server = Server::start(&root.path, &[]);
    let (file, _) = source_file(&src, "gone.bin", 2 * MIB, 23);
    let result = tus_js(&args(&[
        "--endpoint",
        &server.url("/"),
        "--file",
        file.to_str().unwrap(),
        "--abort-after",
        "700000",
        "--terminate",
    ]));
    assert_eq!(
        result.get("terminated"),
        Some(&Json::Bool(true)),
        "{result:?}"
    );
    let url = result.get("uploadUrl").and_then(Json::as_str).unwrap();
    let id = url.rsplit('/').next().unwrap();
    let staging = root.join(".ringdrop-uploads");
    assert!(!staging.join(format!("{id}.data")).exists());
    assert!(!staging.join(format!("{id}.record")).exists());
    assert!(!root.join("gone.bin").exists());

    let (file, sha) = source_file(&src, "deferred.bin", 1_500_000, 24);
    let result = tus_js(&args(&[
        "--endpoint",
        &server.url("/"),
        "--file",
        file.to_str().unwrap(),
        "--defer-length",
        "--chunk-size",
        "500000",
    ]));
    assert_eq!(
        result.get("finalOffset").and_then(Json::as_u64),
        Some(1_500_000)
    );
    assert_eq!(sha256_file(&root.join("deferred.bin")), sha);
}

#[test]
fn tus_js_client_with_a_bearer_token() {
    let root = TempDir::new("rc-js-auth");
    fs::create_dir(root.join("drop")).unwrap();
    let src = TempDir::new("rc-js-auth-src");
    let tokens = src.join("tokens");
    fs::write(
        &tokens,
        format!(
            "{} /drop/ upload 2099-01-01T00:00:00Z\n",
            sha256_hex(b"uploader")
        ),
    )
    .unwrap();
    let server = Server::start(&root.path, &["--token-file", tokens.to_str().unwrap()]);
    let (file, sha) = source_file(&src, "secret.bin", MIB + 3, 25);
    let result = tus_js(&args(&[
        "--endpoint",
        &server.url("/drop/"),
        "--file",
        file.to_str().unwrap(),
        "--header",
        "Authorization: Bearer uploader",
        "--abort-after",
        "600000",
    ]));
    assert_eq!(
        result.get("finalOffset").and_then(Json::as_u64),
        Some(MIB + 3)
    );
    assert_eq!(sha256_file(&root.join("drop/secret.bin")), sha);
    // Without the token the creation is refused, and the client says so.
    require_tus_js();
    let mut cmd = Command::new("node");
    cmd.arg(clients_dir().join("tus-js-upload.mjs")).args([
        "--endpoint",
        &server.url("/drop/"),
        "--file",
        file.to_str().unwrap(),
        "--retry-delays",
        "",
    ]);
    let out = run_with_deadline(cmd, CLIENT_DEADLINE);
    assert_eq!(out.status.and_then(|s| s.code()), Some(1), "{}", out.stdout);
    assert!(out.stdout.contains("401"), "{}", out.stdout);
}

#[test]
fn tuspy_uploads_resumes_with_checksums_and_terminates() {
    let root = TempDir::new("rc-py");
    fs::create_dir(root.join("in")).unwrap();
    let src = TempDir::new("rc-py-src");
    let server = Server::start(&root.path, &[]);
    let size = 5 * MIB + 4321;
    let (file, sha) = source_file(&src, "py.bin", size, 26);
    for checksum in [false, true] {
        let mut a = args(&[
            "--endpoint",
            &server.url("/in/"),
            "--file",
            file.to_str().unwrap(),
            "--chunk-size",
            &(MIB + 1).to_string(),
            "--stop-after",
            "1000000,3000000",
        ]);
        if checksum {
            a.push("--checksum".into());
        }
        let result = tuspy(&a);
        assert_eq!(
            result.get("finalOffset").and_then(Json::as_u64),
            Some(size),
            "{result:?}"
        );
        let tries = attempts(&result);
        assert_eq!(tries.len(), 3, "{result:?}");
        // Each resume starts where the last attempt ended (a clean stop).
        for w in tries.windows(2) {
            assert_eq!(w[1].0, w[0].1, "{result:?}");
        }
    }
    assert_eq!(sha256_file(&root.join("in/py.bin")), sha);
    assert_eq!(sha256_file(&root.join("in/py (1).bin")), sha);

    let result = tuspy(&args(&[
        "--endpoint",
        &server.url("/in/"),
        "--file",
        file.to_str().unwrap(),
        "--chunk-size",
        &MIB.to_string(),
        "--stop-after",
        "2000000",
        "--terminate",
    ]));
    assert_eq!(
        result.get("terminated"),
        Some(&Json::Bool(true)),
        "{result:?}"
    );
    let url = result.get("uploadUrl").and_then(Json::as_str).unwrap();
    let id = url.rsplit('/').next().unwrap();
    assert!(!root.join(&format!(".ringdrop-uploads/{id}.data")).exists());
    assert!(!root.join("in/py (2).bin").exists());
}

/// One raw request on a fresh connection (`Connection: close`).
fn raw(server: &Server, head: &str, body: &[u8]) -> Response {
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "{head}Host: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            server.host(),
            body.len()
        )
        .as_bytes(),
    );
    c.send(body);
    c.read_response()
}

#[test]
fn an_upload_begun_on_one_server_is_finished_by_the_clients_on_another() {
    let root = TempDir::new("rc-two");
    let src = TempDir::new("rc-two-src");
    let a = Server::start(&root.path, &[]);
    let b = Server::start(&root.path, &[]);
    let size = 3 * MIB + 5;
    let (file, sha) = source_file(&src, "both.bin", size, 27);
    let data = fs::read(&file).unwrap();
    let first = 1_000_003usize;
    for client in ["tus-js-client", "tuspy"] {
        // Begun on A: created, and its first bytes sent.
        let created = raw(
            &a,
            &format!(
                "POST / HTTP/1.1\r\nTus-Resumable: 1.0.0\r\nUpload-Length: {size}\r\nUpload-Metadata: filename Ym90aC5iaW4=\r\n"
            ),
            b"",
        );
        assert_eq!(created.status, 201);
        let loc = created.header("location").unwrap().to_owned();
        let r = raw(
            &a,
            &format!(
                "PATCH {loc} HTTP/1.1\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
            ),
            &data[..first],
        );
        assert_eq!(r.status, 204);
        // Finished on B by the client, from the offset B reports.
        let a_args = args(&[
            "--upload-url",
            &b.url(&loc),
            "--file",
            file.to_str().unwrap(),
            "--chunk-size",
            &MIB.to_string(),
        ]);
        let result = match client {
            "tus-js-client" => tus_js(&a_args),
            _ => tuspy(&a_args),
        };
        assert_eq!(
            result.get("finalOffset").and_then(Json::as_u64),
            Some(size),
            "{client}"
        );
        assert_eq!(attempts(&result)[0].0, first as u64, "{client}: {result:?}");
    }
    assert_eq!(sha256_file(&root.join("both.bin")), sha);
    assert_eq!(sha256_file(&root.join("both (1).bin")), sha);
}
