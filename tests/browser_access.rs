//! Access control in a real browser: headless Chromium through WebDriver
//! (chromedriver + fantoccini, `tests/common/browser_kit.rs`), against the real
//! `ringdrop` binary on loopback — a drop box's page, and signing in.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/browser-deps`).
//! Without them these tests FAIL: they never skip.
//!
//! Screenshots land in `target/browser-test/` (`drop-box.png`,
//! `signed-in.png`).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::browser_kit::*;
use common::*;
use fantoccini::Locator;
use serde_json::{json, Value};

const BASIC_CHALLENGE: &str = "Basic realm=\"ringdrop\", charset=\"UTF-8\"";

/// The page as the tests look at it: its flags, rows, uploads and message.
const PAGE_STATE: &str = "return {
    readOnly: document.body && document.body.dataset.readOnly,
    dropBox: document.body && document.body.dataset.dropBox,
    rows: [...document.querySelectorAll('#entries tr:not(.parent) .name span')].map(s => s.textContent),
    uploads: [...document.querySelectorAll('#uploads .upload')].map(li => ({
        name: li.dataset.name, state: li.dataset.state,
        text: li.querySelector('.upload-stats').textContent })),
    message: (() => { const m = document.getElementById('message');
        return m && !m.hidden ? m.textContent : null; })(),
    text: document.body ? document.body.innerText.slice(0, 300) : null,
};";

/// The JSON of the page's uploads, once every one of them has finished
/// (done, failed, or waiting for a decision).
const UPLOADS_SETTLED: &str = "const u = [...document.querySelectorAll('#uploads .upload')];
    return u.length > 0 && u.every(li => !['queued', 'active'].includes(li.dataset.state));";

#[test]
fn drop_box_page_uploads_without_listing() {
    let root = TempDir::new("browser-dropbox-root");
    let src = TempDir::new("browser-dropbox-src");
    std::fs::create_dir(root.join("drop")).unwrap();
    std::fs::write(root.join("drop/earlier.txt"), b"someone else's").unwrap();
    let file = src.join("my report.pdf");
    let sha = write_random_file(&file, 2 * MIB + 77, 5);
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &format!("owner:{}", hash_password("pw-owner")),
            "--allow",
            "owner:/:read",
            "--allow",
            "@anonymous:/drop/:upload",
        ],
    );

    run(async {
        let browser = Browser::start(PAGE_STATE).await;
        let c = &browser.client;
        c.goto(&server.url("/drop/")).await.unwrap();
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["dropBox"], "true", "{page}");
        assert_eq!(page["readOnly"], "false", "{page}");
        assert_eq!(page["rows"], json!([]), "a drop box lists nothing: {page}");
        // The upload UI is there and usable.
        let input = c.find(Locator::Css("input[type=file]")).await.unwrap();
        assert!(c.find(Locator::Id("drop")).await.is_ok());

        input.send_keys(&file.display().to_string()).await.unwrap();
        browser
            .wait_js("the upload to finish", UPLOADS_SETTLED)
            .await;
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["uploads"][0]["state"], "done", "{page}");
        assert_eq!(sha256_file(&root.join("drop/my report.pdf")), sha);

        // No refresh of the listing was tried (it would be refused): no
        // error message, and still no rows.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["message"], Value::Null, "{page}");
        assert_eq!(page["rows"], json!([]), "{page}");
        browser.screenshot("drop-box.png").await;

        // Uploading the same name again does not replace the first file.
        input.send_keys(&file.display().to_string()).await.unwrap();
        browser
            .wait_js(
                "the second upload to settle",
                "const u = [...document.querySelectorAll('#uploads .upload')];
                 return u.length === 2 && !['queued', 'active'].includes(u[1].dataset.state);",
            )
            .await;
        let page = browser.js(PAGE_STATE).await;
        assert_ne!(page["uploads"][1]["state"], "done", "{page}");
        browser.close().await;
    });
    assert_eq!(sha256_file(&root.join("drop/my report.pdf")), sha);
    assert_eq!(
        std::fs::read(root.join("drop/earlier.txt")).unwrap(),
        b"someone else's"
    );
}

/// A private server (bob may read and upload), with `notes.txt` in ROOT.
fn private_server(root: &TempDir) -> Server {
    std::fs::write(root.join("notes.txt"), b"private notes").unwrap();
    Server::start(
        &root.path,
        &[
            "--user",
            &format!("bob:{}", hash_password("s3cret pass")),
            "--allow",
            "bob:/:read,upload",
        ],
    )
}

/// Bob's user name and password in a URL (the space percent-encoded).
fn url_with_credentials(server: &Server, path: &str) -> String {
    format!("http://bob:s3cret%20pass@{}{path}", server.host())
}

/// Uploads `files` through the page's file input and waits until every
/// upload is done (asserting so), then until the listing (refreshed from
/// `?json`) names them all.
async fn upload_through_the_page(browser: &Browser, files: &[&Path]) {
    let input = browser
        .client
        .find(Locator::Css("input[type=file]"))
        .await
        .unwrap();
    let paths: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    input.send_keys(&paths.join("\n")).await.unwrap();
    browser
        .wait_js(
            "the uploads to finish",
            &format!(
                "const u = [...document.querySelectorAll('#uploads .upload')];
                 return u.length === {} && u.every(li => !['queued', 'active'].includes(li.dataset.state));",
                files.len()
            ),
        )
        .await;
    let page = browser.js(PAGE_STATE).await;
    for u in page["uploads"].as_array().unwrap() {
        assert_eq!(u["state"], "done", "{page}");
    }
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(
            page["message"],
            Value::Null,
            "the page shows an error after the uploads: {page}"
        );
        let rows: Vec<String> = page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        if names.iter().all(|n| rows.contains(n)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the listing does not show the uploads: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a person does: the server asks (401 with the Basic challenge), the
/// browser signs in, and from then on the page — its own XHR uploads, its
/// `?json` refresh, its MKCOL — carries the credentials.
///
/// Headless Chromium has no sign-in dialog, so the sign-in is a top-level
/// navigation to `http://USER:PASS@HOST/`: Chromium (156) strips the
/// credentials from the request, answers the server's 401 with them, and
/// keeps them in its HTTP auth cache for the origin and realm — the same
/// entry the dialog would make. The page is then opened at its plain URL,
/// as after the dialog: the navigation, the XHR PUTs and the fetches all
/// send the cached credentials preemptively (the server's log shows no 401
/// after the sign-in). (A page left at the URL with credentials behaves
/// differently, see the next test.) The DevTools route
/// (`Network.setExtraHTTPHeaders`) is tested below as well.
#[test]
fn sign_in_then_the_page_uploads_with_the_browsers_credentials() {
    let root = TempDir::new("browser-signin-root");
    let src = TempDir::new("browser-signin-src");
    let file = src.join("upload one.bin");
    let sha = write_random_file(&file, 3 * MIB + 5, 6);
    let file2 = src.join("upload two.bin");
    let sha2 = write_random_file(&file2, 100 * KIB, 7);
    let server = private_server(&root);

    // Without credentials: 401 with the Basic challenge, which is what
    // makes a browser ask for a user name and password.
    let r = curl_capture(&[&server.url("/")]);
    assert_eq!(r.status, 401);
    let challenge = r
        .headers
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("www-authenticate")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    assert_eq!(challenge, BASIC_CHALLENGE);
    let r = curl_capture(&["-u", "bob:s3cret pass", &server.url("/")]);
    assert_eq!(r.status, 200);

    run(async {
        let browser = Browser::start(PAGE_STATE).await;
        let c = &browser.client;
        // Not signed in: no listing, no upload UI.
        c.goto(&server.url("/")).await.unwrap();
        let shown = browser
            .js("return document.querySelectorAll('#entries, input[type=file]').length")
            .await;
        assert_eq!(shown, 0, "a listing without signing in");

        // Sign in, then open the page at its plain URL.
        c.goto(&url_with_credentials(&server, "/")).await.unwrap();
        c.goto(&server.url("/")).await.unwrap();
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["readOnly"], "false", "not signed in: {page}");
        assert_eq!(page["dropBox"], "false", "{page}");
        assert_eq!(page["rows"], json!(["notes.txt"]), "{page}");

        upload_through_the_page(&browser, &[&file, &file2]).await;
        assert_eq!(sha256_file(&root.join("upload one.bin")), sha);
        assert_eq!(sha256_file(&root.join("upload two.bin")), sha2);

        // New folder (a fetch MKCOL) is signed in too.
        c.find(Locator::Id("new-folder"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let field = c.find(Locator::Id("folder-name")).await.unwrap();
        field.send_keys("made by bob").await.unwrap();
        c.find(Locator::Css("#folder-form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser
            .wait_js(
                "the new folder in the listing",
                "return [...document.querySelectorAll('#entries tr.dir .name span')]
                    .some(s => s.textContent === 'made by bob');",
            )
            .await;
        assert!(root.join("made by bob").is_dir());
        browser.screenshot("signed-in.png").await;
        browser.close().await;
    }); // After the sign-in every request carried the credentials up front:
        // no upload, refresh or MKCOL was answered 401 first.
    let log = server.stderr_lines();
    let refused: Vec<_> = log
        .iter()
        .filter(|l| {
            (l.contains(" PUT ") || l.contains(" MKCOL ") || l.contains("?json"))
                && l.contains(" 401 ")
        })
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
}

/// A page opened at `http://USER:PASS@HOST/` (a bookmark with credentials,
/// or a link someone shared) must work like one opened after the dialog:
/// its uploads succeed, and refreshing the listing afterwards must not
/// fail. (Here Chromium sends each XHR PUT without credentials first and
/// resends it with them after the 401; and a document whose URL has
/// credentials cannot
/// `fetch()` a relative URL: the resolved URL carries them and the Fetch
/// standard refuses such a request, "Request cannot be constructed from a
/// URL that includes credentials"; XHR allows it.)
#[test]
fn page_opened_with_credentials_in_its_url_works() {
    let root = TempDir::new("browser-urlcreds-root");
    let src = TempDir::new("browser-urlcreds-src");
    let file = src.join("from a bookmark.bin");
    let sha = write_random_file(&file, 700 * KIB, 9);
    let server = private_server(&root);
    run(async {
        let browser = Browser::start(PAGE_STATE).await;
        browser
            .client
            .goto(&url_with_credentials(&server, "/"))
            .await
            .unwrap();
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["readOnly"], "false", "not signed in: {page}");
        assert_eq!(page["rows"], json!(["notes.txt"]), "{page}");
        upload_through_the_page(&browser, &[&file]).await;
        browser.close().await;
    });
    assert_eq!(sha256_file(&root.join("from a bookmark.bin")), sha);
}

/// The other way to sign a browser in, for clients that cannot put
/// credentials in a URL: an `Authorization` header on every request, set
/// through the DevTools protocol (`Network.setExtraHTTPHeaders`).
#[test]
fn authorization_header_through_devtools_signs_the_page_in() {
    let root = TempDir::new("browser-cdp-root");
    let src = TempDir::new("browser-cdp-src");
    std::fs::write(root.join("a.txt"), b"a").unwrap();
    let file = src.join("via-cdp.bin");
    let sha = write_random_file(&file, 512 * KIB, 8);
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &format!("carol:{}", hash_password("pw-carol")),
            "--allow",
            "carol:/:read,upload",
        ],
    );
    let value = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("carol:pw-carol")
    );
    run(async {
        let browser = Browser::start(PAGE_STATE).await;
        let c = &browser.client;
        browser.cdp("Network.enable", json!({})).await;
        browser
            .cdp(
                "Network.setExtraHTTPHeaders",
                json!({ "headers": { "Authorization": value } }),
            )
            .await;
        c.goto(&server.url("/")).await.unwrap();
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["readOnly"], "false", "not signed in: {page}");
        assert_eq!(page["rows"], json!(["a.txt"]), "{page}");
        let input = c.find(Locator::Css("input[type=file]")).await.unwrap();
        input.send_keys(&file.display().to_string()).await.unwrap();
        browser
            .wait_js("the upload to finish", UPLOADS_SETTLED)
            .await;
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["uploads"][0]["state"], "done", "{page}");
        browser.close().await;
    });
    assert_eq!(sha256_file(&root.join("via-cdp.bin")), sha);
}
