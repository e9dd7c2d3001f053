//! The upload page's resumable uploads in a real browser: headless Chromium
//! through WebDriver (chromedriver + fantoccini, `tests/common/browser_kit.rs`)
//! against the real `ringdrop` binary on loopback.
//!
//! Files above the page's threshold (8 MiB) go through the server's tus
//! endpoint; these tests check it from both ends — what the page shows, and
//! what the server saw (its access log: one creation, the PATCHes and the
//! bytes each carried, the HEADs that asked for the offset) and stored (the
//! SHA-256 of the file on disk). The network is cut with the DevTools
//! protocol (`Network.emulateNetworkConditions` offline, then online); a
//! small proxy in front of the server slows uploads down enough to catch
//! them midway.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/browser-deps`).
//! Without them these tests FAIL: they never skip.
//!
//! Screenshots land in `target/browser-test/` (`resumable-retrying.png`,
//! `resumable-reloaded.png`).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::browser_kit::*;
use common::*;
use fantoccini::Locator;
use serde_json::{json, Value};

/// The page's uploads and message, for assertions and timed-out waits.
const PAGE_STATE: &str = "return {
    uploads: [...document.querySelectorAll('#uploads .upload')].map(li => ({
        name: li.dataset.name, state: li.dataset.state, method: li.dataset.method || null,
        resumedFrom: li.dataset.resumedFrom === undefined ? null : Number(li.dataset.resumedFrom),
        savedAs: li.dataset.savedAs || null,
        pct: Number(li.querySelector('[role=progressbar]').getAttribute('aria-valuenow')),
        text: li.querySelector('.upload-stats').textContent })),
    message: (() => { const m = document.getElementById('message');
        return m && !m.hidden ? m.textContent : null; })(),
    stored: Object.keys(localStorage).filter(k => k.startsWith('ringdrop.upload ')),
};";

/// True once every upload on the page has finished (done or not).
const UPLOADS_SETTLED: &str = "const u = [...document.querySelectorAll('#uploads .upload')];
    return u.length > 0 && u.every(li => !['queued', 'active', 'retrying'].includes(li.dataset.state));";

/// How long the slowest test step may take: an upload of tens of MiB into a
/// debug build on a loaded 2-core machine.
const UPLOAD_DEADLINE: Duration = Duration::from_secs(30);

/// An upload rate slow enough to catch an upload midway, fast enough to
/// keep each test short (bytes per second).
const SLOW_UPLOAD: u64 = 8 * MIB;

/// The PATCHes of resumable uploads the server logged.
fn patches(server: &Server) -> Vec<AccessLine> {
    access_log(server)
        .into_iter()
        .filter(|l| l.method == "PATCH" && l.target.starts_with("/.ringdrop-uploads/"))
        .collect()
}

/// Requests the server logged with `method` whose target starts with `prefix`.
fn logged(server: &Server, method: &str, prefix: &str) -> Vec<AccessLine> {
    access_log(server)
        .into_iter()
        .filter(|l| l.method == method && l.target.starts_with(prefix))
        .collect()
}

/// Bytes of unfinished uploads' data files in the staging area
/// (`ROOT/.ringdrop-uploads/*.data`).
fn staged_bytes(root: &Path) -> u64 {
    let Ok(dir) = std::fs::read_dir(root.join(".ringdrop-uploads")) else {
        return 0;
    };
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".data"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Waits (without blocking the runtime) until `proxy` has passed at least
/// `bytes` to the server.
async fn wait_forwarded(proxy: &SlowProxy, bytes: u64) {
    let deadline = Instant::now() + UPLOAD_DEADLINE;
    while proxy.forwarded() < bytes {
        assert!(
            Instant::now() < deadline,
            "the server never got {bytes} bytes (has {})",
            proxy.forwarded()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn pick(browser: &Browser, file: &Path) {
    browser
        .client
        .find(Locator::Css("input[type=file]"))
        .await
        .unwrap()
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
}

/// The first upload on the page, once it has finished; asserts it is done.
async fn wait_done(browser: &Browser) -> Value {
    browser
        .wait_js_for(UPLOAD_DEADLINE, "the upload to finish", UPLOADS_SETTLED)
        .await;
    let page = browser.js(PAGE_STATE).await;
    assert_eq!(page["uploads"][0]["state"], "done", "{page}");
    assert_eq!(page["uploads"][0]["pct"], 100, "{page}");
    assert_eq!(
        page["stored"],
        json!([]),
        "a finished upload is forgotten: {page}"
    );
    page
}

/// What most tests here need: a file to upload, a server with a ROOT of its
/// own, and the slow proxy in front of it.
struct Scene {
    root: TempDir,
    _src: TempDir,
    file: PathBuf,
    size: u64,
    sha: String,
    server: Server,
    proxy: SlowProxy,
}

impl Scene {
    /// A random file `name` of `size` bytes, and `ringdrop [server_args]`.
    fn new(label: &str, name: &str, size: u64, server_args: &[&str]) -> Scene {
        Scene::with_server(label, name, size, |root| Server::start(root, server_args))
    }

    /// The same with a server `start` starts on the ROOT it is given.
    fn with_server(
        label: &str,
        name: &str,
        size: u64,
        start: impl FnOnce(&Path) -> Server,
    ) -> Scene {
        let root = TempDir::new(&format!("resumable-{label}-root"));
        let src = TempDir::new(&format!("resumable-{label}-src"));
        let file = src.join(name);
        let sha = write_random_file(&file, size, size);
        let server = start(&root.path);
        let proxy = SlowProxy::start(server.addr, SLOW_UPLOAD);
        Scene {
            root,
            _src: src,
            file,
            size,
            sha,
            server,
            proxy,
        }
    }

    /// Opens the page at `url` (through the proxy), picks the file, and
    /// waits until `bytes` of it went to the server.
    async fn upload_until(&self, browser: &Browser, url: &str, bytes: u64) {
        browser.client.goto(url).await.unwrap();
        pick(browser, &self.file).await;
        wait_forwarded(&self.proxy, bytes).await;
    }

    /// The network drops: every connection ends, and no new one gets
    /// through until [`SlowProxy::set_down`]`(false)`.
    fn drop_network(&self) {
        self.proxy.set_down(true);
        self.proxy.cut();
    }

    /// Asserts the file is in ROOT, byte for byte, under its own name.
    fn assert_stored(&self) {
        let name = self.file.file_name().unwrap().to_str().unwrap();
        assert_eq!(sha256_file(&self.root.join(name)), self.sha, "{name}");
    }

    /// Asserts the file is stored, byte for byte, by one upload, created
    /// once, that was cut `cuts` times: its PATCHes were the `cuts` cut ones,
    /// each of which left what it brought (5 MiB or more here) on the
    /// server, and the one that completed it; what the next one sent started
    /// from the server's offset, so at most `cuts` registered buffers
    /// (1 MiB) were sent twice. (Chromium may send a cut PATCH again on a
    /// new connection by itself; the server refuses that with 409 before
    /// its body.)
    fn assert_one_upload(&self, cuts: usize) {
        self.assert_stored();
        let log = access_log(&self.server);
        assert_eq!(logged(&self.server, "POST", "/").len(), 1, "{log:#?}");
        let carried: Vec<AccessLine> = patches(&self.server)
            .into_iter()
            .filter(|p| p.status != 409)
            .collect();
        assert_eq!(carried.len(), cuts + 1, "{log:#?}");
        assert!(
            carried[..cuts].iter().all(|p| p.bytes_in >= 5 * MIB),
            "{log:#?}"
        );
        assert_eq!(carried[cuts].status, 204, "{log:#?}");
        let sent: u64 = carried.iter().map(|p| p.bytes_in).sum();
        assert!(
            sent >= self.size && sent - self.size <= cuts as u64 * MIB,
            "{} bytes sent twice: {log:#?}",
            sent.saturating_sub(self.size)
        );
    }
}

#[test]
fn a_large_file_goes_through_tus_and_lands_whole() {
    let root = TempDir::new("resumable-page-root");
    let src = TempDir::new("resumable-page-src");
    std::fs::create_dir(root.join("in box")).unwrap();
    // Above one 64 MiB PATCH: the page sends two.
    let file = src.join("film – final.mov");
    let size = 72 * MIB + 5;
    let sha = write_random_file(&file, size, 11);
    let small = src.join("small.txt");
    let small_sha = write_random_file(&small, 100 * KIB, 12);
    // A name that is taken: the page asks first.
    std::fs::write(root.join("in box/clip.mp4"), b"the first clip").unwrap();
    let clip = src.join("clip.mp4");
    let clip_sha = write_random_file(&clip, 9 * MIB, 13);
    let server = Server::start(&root.path, &[]);

    run(async {
        let browser = Browser::start(PAGE_STATE).await;
        browser
            .client
            .goto(&server.url("/in%20box/"))
            .await
            .unwrap();
        pick(&browser, &file).await;
        let page = wait_done(&browser).await;
        assert_eq!(page["uploads"][0]["method"], "tus", "{page}");
        assert_eq!(page["uploads"][0]["resumedFrom"], Value::Null, "{page}");
        // The listing shows it.
        browser
            .wait_js(
                "the listing to show the file",
                "return [...document.querySelectorAll('#entries .name span')]
                    .some(s => s.textContent === 'film – final.mov');",
            )
            .await;
        // A small file still goes in one PUT.
        pick(&browser, &small).await;
        browser
            .wait_js(
                "the small upload to finish",
                "const u = [...document.querySelectorAll('#uploads .upload')];
                 return u.length === 2 && u[1].dataset.state === 'done';",
            )
            .await;
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["uploads"][1]["method"], "put", "{page}");

        // A large file whose name is taken: Replace, Keep both or Skip;
        // kept, the server gives it a free name, which the page shows.
        pick(&browser, &clip).await;
        browser
            .wait_js(
                "the question about the existing name",
                "const u = [...document.querySelectorAll('#uploads .upload')];
                 return u.length === 3 && u[2].dataset.state === 'exists';",
            )
            .await;
        let choices = browser
            .js(
                "return [...document.querySelectorAll('#uploads .upload')][2]
                   .querySelectorAll('.upload-buttons button').length",
            )
            .await;
        assert_eq!(choices, 3);
        browser
            .client
            .find(Locator::Css("#uploads .upload:nth-child(3) button[aria-label^='Upload clip.mp4 under a new name']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser
            .wait_js(
                "the kept upload to finish",
                "const u = [...document.querySelectorAll('#uploads .upload')];
                 return u.length === 3 && u[2].dataset.state === 'done';",
            )
            .await;
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["uploads"][2]["savedAs"], "clip (1).mp4", "{page}");
        assert!(
            page["uploads"][2]["text"]
                .as_str()
                .unwrap()
                .contains("saved as “clip (1).mp4”"),
            "{page}"
        );
        browser.close().await;
    });

    assert_eq!(sha256_file(&root.join("in box/film – final.mov")), sha);
    assert_eq!(sha256_file(&root.join("in box/small.txt")), small_sha);
    assert_eq!(sha256_file(&root.join("in box/clip (1).mp4")), clip_sha);
    assert_eq!(
        std::fs::read(root.join("in box/clip.mp4")).unwrap(),
        b"the first clip"
    );
    // What the server saw: one tus creation in the page's directory, two
    // PATCHes that carried the file's bytes exactly once, and the small
    // file as a PUT.
    let log = access_log(&server);
    let creations = logged(&server, "POST", "/in%20box/");
    assert_eq!(creations.len(), 2, "{log:#?}");
    assert!(creations.iter().all(|c| c.status == 201), "{log:#?}");
    let patches = patches(&server);
    assert_eq!(patches.len(), 3, "{log:#?}");
    assert!(patches.iter().all(|p| p.status == 204), "{log:#?}");
    assert_eq!(patches[0].bytes_in, 64 * MIB, "{log:#?}");
    assert_eq!(patches[0].bytes_in + patches[1].bytes_in, size);
    assert_eq!(patches[2].bytes_in, 9 * MIB);
    let puts = logged(&server, "PUT", "/");
    assert_eq!(puts.len(), 1, "{log:#?}");
    assert_eq!(puts[0].target, "/in%20box/small.txt", "{log:#?}");
    assert_eq!(staged_bytes(&root.path), 0, "staged data left behind");
}

/// Two cuts during one upload: the connection ends mid-request (the
/// page sees a network error, waits, asks the server's offset, goes on),
/// then the browser goes offline (DevTools) and comes back. Each time the
/// page continues from the offset the server reports.
#[test]
fn a_cut_connection_is_retried_from_the_servers_offset() {
    let scene = Scene::new("cut", "backup.tar", 40 * MIB + 3, &[]);
    let proxy = &scene.proxy;

    run(async {
        let browser = Browser::start(PAGE_STATE).await;
        // Midway, the network drops: the connection ends, and for a
        // moment no new one gets through.
        scene.upload_until(&browser, &proxy.url("/"), 6 * MIB).await;
        scene.drop_network();
        browser
            .wait_js_for(
                UPLOAD_DEADLINE,
                "the page to wait before retrying",
                "const li = document.querySelector('#uploads .upload');
                 return li.dataset.state === 'retrying'
                     && /lost\\. Retrying in \\d+ s \\(attempt \\d of 8\\)/
                         .test(li.querySelector('.upload-stats').textContent);",
            )
            .await;
        browser.screenshot("resumable-retrying.png").await;
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["stored"].as_array().unwrap().len(), 1, "{page}");
        let pct = page["uploads"][0]["pct"].as_u64().unwrap();
        assert!(pct > 0 && pct < 100, "{page}");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        proxy.set_down(false);

        // It goes on by itself; later the browser goes offline.
        wait_forwarded(proxy, proxy.forwarded() + 6 * MIB).await;
        browser.set_offline(true).await;
        browser
            .wait_js_for(
                UPLOAD_DEADLINE,
                "the page to wait for the network",
                "const li = document.querySelector('#uploads .upload');
                 return li.dataset.state === 'retrying'
                     && /offline/.test(li.querySelector('.upload-stats').textContent);",
            )
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        proxy.set_rate(0);
        browser.set_offline(false).await;
        wait_done(&browser).await;
        browser.close().await;
    });

    scene.assert_one_upload(2);
    // Before each retry a HEAD asked for the offset.
    let log = access_log(&scene.server);
    let heads = logged(&scene.server, "HEAD", "/.ringdrop-uploads/");
    assert!(
        heads.iter().filter(|h| h.status == 200).count() >= 2,
        "{log:#?}"
    );
}

/// A network that stays down: the page tries a bounded number of times
/// (here hurried along with "Retry now"), then shows an error with Retry;
/// once the network is back, Retry continues from the server's offset.
#[test]
fn giving_up_shows_retry_which_continues() {
    let scene = Scene::new("giveup", "raw footage.mxf", 24 * MIB + 11, &[]);

    run(async {
        let browser = Browser::start(PAGE_STATE).await;
        scene
            .upload_until(&browser, &scene.proxy.url("/"), 6 * MIB)
            .await;
        scene.drop_network();
        // Every wait cut short, every attempt failing, until the page
        // gives up.
        let mut clicks = 0;
        loop {
            browser
                .wait_js_for(
                    UPLOAD_DEADLINE,
                    "a retry to wait for, or the end",
                    "const s = document.querySelector('#uploads .upload').dataset.state;
                     return s === 'retrying' || s === 'error';",
                )
                .await;
            let clicked = browser
                .js("const li = document.querySelector('#uploads .upload');
                     if (li.dataset.state !== 'retrying') return li.dataset.state;
                     const now = [...li.querySelectorAll('button')].find(b => b.textContent === 'Retry now');
                     if (now) now.click();
                     return now ? 'clicked' : 'retrying';")
                .await;
            if clicked == "error" {
                break;
            }
            if clicked == "clicked" {
                clicks += 1;
            }
            assert!(clicks < 20, "the page never gives up");
        }
        let page = browser.js(PAGE_STATE).await;
        let text = page["uploads"][0]["text"].as_str().unwrap();
        assert!(text.contains("Gave up after 8 attempts"), "{page}");
        assert_eq!(page["stored"].as_array().unwrap().len(), 1, "{page}");
        let buttons = browser
            .js("return [...document.querySelectorAll('#uploads .upload button')].map(b => b.textContent)")
            .await;
        assert_eq!(buttons, json!(["Retry", "Remove"]));

        // The network is back; Retry goes on from where the server is.
        scene.proxy.set_down(false);
        scene.proxy.set_rate(0);
        browser
            .client
            .find(Locator::Css(
                "#uploads .upload button[aria-label^='Retry upload']",
            ))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_done(&browser).await;
        browser.close().await;
    });

    scene.assert_one_upload(1);
}

#[test]
fn after_a_reload_the_same_file_resumes() {
    let scene = Scene::new("reload", "holiday photos.zip", 40 * MIB + 1, &[]);

    run(async {
        let browser = Browser::start(PAGE_STATE).await;
        scene
            .upload_until(&browser, &scene.proxy.url("/"), 6 * MIB)
            .await;
        // Reload midway: the upload stops with the page.
        browser.client.refresh().await.unwrap();
        scene.proxy.set_rate(0);
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["uploads"], json!([]), "{page}");
        assert_eq!(page["stored"].as_array().unwrap().len(), 1, "{page}");
        let message = page["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("holiday photos.zip") && message.contains("did not finish"),
            "the page tells what can be resumed: {page}"
        );
        browser.screenshot("resumable-reloaded.png").await;

        // The same file again: it continues from the server's offset.
        pick(&browser, &scene.file).await;
        let page = wait_done(&browser).await;
        let from = page["uploads"][0]["resumedFrom"].as_u64().unwrap();
        assert!(from >= 5 * MIB && from < scene.size, "{page}");
        let text = page["uploads"][0]["text"].as_str().unwrap();
        assert!(text.contains("resumed from"), "{page}");
        browser.close().await;
    });

    // One upload; the bytes before the reload were not sent again (at
    // most one registered buffer of them).
    scene.assert_one_upload(1);
    assert_eq!(staged_bytes(&scene.root.path), 0);
}

/// Uploads the page remembers but the server does not have any more start
/// over cleanly, as new uploads from byte 0: one the server forgot (404 to
/// the page's HEAD), and one past its `Upload-Expires`, which the page
/// drops without asking.
#[test]
fn uploads_the_server_forgot_start_over() {
    let forgot = Scene::new("forgot", "old.iso", 12 * MIB + 13, &[]);
    let expired = Scene::new(
        "expired",
        "old.iso",
        12 * MIB + 13,
        &["--upload-expiry", "1s"],
    );

    run(async {
        let browser = Browser::start(PAGE_STATE).await;
        let c = &browser.client;
        // Begun, then the page reloaded, then the upload terminated behind
        // its back.
        forgot
            .upload_until(&browser, &forgot.proxy.url("/"), 4 * MIB)
            .await;
        c.refresh().await.unwrap();
        forgot.proxy.set_rate(0);
        let url = browser
            .js(
                "const k = Object.keys(localStorage).find(k => k.startsWith('ringdrop.upload '));
                 return JSON.parse(localStorage.getItem(k)).url;",
            )
            .await;
        let url = url.as_str().unwrap().to_owned();
        assert!(url.starts_with("/.ringdrop-uploads/"), "{url}");
        let r = curl_capture(&[
            "-X",
            "DELETE",
            "-H",
            "Tus-Resumable: 1.0.0",
            &forgot.server.url(&url),
        ]);
        assert_eq!(r.status, 204);
        pick(&browser, &forgot.file).await;
        let page = wait_done(&browser).await;
        assert_eq!(page["uploads"][0]["resumedFrom"], Value::Null, "{page}");

        // Begun on a server whose uploads expire after a second; the page
        // comes back later.
        expired
            .upload_until(&browser, &expired.proxy.url("/"), 4 * MIB)
            .await;
        c.refresh().await.unwrap();
        expired.proxy.set_rate(0);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        c.refresh().await.unwrap();
        let page = browser.js(PAGE_STATE).await;
        assert_eq!(page["stored"], json!([]), "{page}");
        assert_eq!(page["message"], Value::Null, "{page}");
        pick(&browser, &expired.file).await;
        wait_done(&browser).await;
        browser.close().await;
    });

    for scene in [&forgot, &expired] {
        scene.assert_stored();
        let log = access_log(&scene.server);
        let last = patches(&scene.server).pop().unwrap();
        assert_eq!((last.status, last.bytes_in), (204, scene.size), "{log:#?}");
    }
    // The forgotten one: asked about (404), then created anew.
    let log = access_log(&forgot.server);
    let heads = logged(&forgot.server, "HEAD", "/.ringdrop-uploads/");
    assert!(heads.iter().any(|h| h.status == 404), "{log:#?}");
    assert_eq!(logged(&forgot.server, "POST", "/").len(), 2, "{log:#?}");
    // The expired one: not even asked about, created anew. (On a loaded
    // machine a second can pass between a creation and its PATCH: an
    // upload that expired meanwhile answers 410, and the page starts over
    // once more.)
    let log = access_log(&expired.server);
    assert!(logged(&expired.server, "HEAD", "/.ringdrop-uploads/").is_empty());
    assert!(logged(&expired.server, "POST", "/").len() >= 2, "{log:#?}");
}

/// With access rules: a drop box (anonymous may only upload into `/drop/`)
/// and a signed-in user both upload resumably, every tus request carrying
/// what the page's other requests carry.
#[test]
fn drop_box_and_signed_in_user_upload_resumably() {
    let root = TempDir::new("resumable-access-root");
    let src = TempDir::new("resumable-access-src");
    std::fs::create_dir(root.join("drop")).unwrap();
    let dropped = src.join("for the editor.mkv");
    let dropped_sha = write_random_file(&dropped, 12 * MIB + 9, 41);
    let own = src.join("bob's disk image.img");
    let own_sha = write_random_file(&own, 12 * MIB + 10, 42);
    let bookmarked = src.join("from a bookmark.bin");
    let bookmarked_sha = write_random_file(&bookmarked, 9 * MIB + 1, 43);
    let server = Server::start(
        &root.path,
        &[
            "--user",
            &format!("bob:{}", hash_password("bob pass")),
            "--allow",
            "bob:/:read,upload",
            "--allow",
            "@anonymous:/drop/:upload",
        ],
    );

    run(async {
        let browser = Browser::start(PAGE_STATE).await;
        let c = &browser.client;
        // Anonymous, into the drop box.
        c.goto(&server.url("/drop/")).await.unwrap();
        assert_eq!(
            browser.js("return document.body.dataset.dropBox").await,
            "true"
        );
        pick(&browser, &dropped).await;
        let page = wait_done(&browser).await;
        assert_eq!(page["uploads"][0]["method"], "tus", "{page}");
        assert_eq!(page["message"], Value::Null, "{page}");

        // Signed in (the browser's auth cache, as after its dialog).
        c.goto(&format!("http://bob:bob%20pass@{}/", server.host()))
            .await
            .unwrap();
        c.goto(&server.url("/")).await.unwrap();
        assert_eq!(
            browser.js("return document.body.dataset.readOnly").await,
            "false"
        );
        pick(&browser, &own).await;
        let page = wait_done(&browser).await;
        assert_eq!(page["uploads"][0]["method"], "tus", "{page}");
        browser
            .wait_js(
                "the listing to show the file",
                "return [...document.querySelectorAll('#entries .name span')]
                    .some(s => s.textContent === \"bob's disk image.img\");",
            )
            .await;

        // A page left at a URL with credentials in it (a bookmark): its
        // requests go to the origin without them, and the browser signs
        // them in after the server's 401.
        c.goto(&format!("http://bob:bob%20pass@{}/", server.host()))
            .await
            .unwrap();
        pick(&browser, &bookmarked).await;
        let page = wait_done(&browser).await;
        assert_eq!(page["uploads"][0]["method"], "tus", "{page}");
        browser.close().await;
    });

    assert_eq!(
        sha256_file(&root.join("drop/for the editor.mkv")),
        dropped_sha
    );
    assert_eq!(sha256_file(&root.join("bob's disk image.img")), own_sha);
    assert_eq!(
        sha256_file(&root.join("from a bookmark.bin")),
        bookmarked_sha
    );
    let log = access_log(&server);
    assert_eq!(logged(&server, "POST", "/drop/").len(), 1, "{log:#?}");
    let created: Vec<_> = logged(&server, "POST", "/")
        .into_iter()
        .filter(|l| l.status == 201)
        .collect();
    assert_eq!(created.len(), 3, "{log:#?}");
    let completed = patches(&server)
        .into_iter()
        .filter(|p| p.status == 204)
        .count();
    assert_eq!(completed, 3, "{log:#?}");
    // After the sign-in, Bob's tus requests carried his credentials up
    // front (the browser's auth cache signs the bookmarked page's requests
    // too): none was refused first.
    let refused: Vec<_> = log
        .iter()
        .filter(|l| l.status == 401 && ["HEAD", "POST", "PATCH"].contains(&l.method.as_str()))
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
}

/// Over HTTPS (the server's own certificate, which Chromium is told to
/// trust by its key and nothing else), a large upload goes through tus and
/// survives a cut connection: every TLS session through the proxy ends
/// midway, the page retries on a new one from the server's offset.
#[test]
fn over_https_a_cut_upload_resumes() {
    use base64::Engine as _;
    use common::tls::{start_https, Pki, TlsFiles};
    use sha2::{Digest as _, Sha256};

    let pki = Pki::generate("ringdrop resumable browser test CA");
    let files = TlsFiles::new(&pki);
    let scene = Scene::with_server("https", "over tls.bin", 24 * MIB + 7, |root| {
        start_https(root, &files, &[])
    });
    let pin = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&pki.leaf_spki_der));

    run(async {
        let browser = Browser::start_with(
            PAGE_STATE,
            &[format!("--ignore-certificate-errors-spki-list={pin}")],
        )
        .await;
        scene
            .upload_until(&browser, &scene.proxy.https_url("/"), 6 * MIB)
            .await;
        assert_eq!(browser.js("return window.isSecureContext").await, true);
        scene.proxy.cut();
        scene.proxy.set_rate(0);
        let page = wait_done(&browser).await;
        assert_eq!(page["uploads"][0]["method"], "tus", "{page}");
        browser.close().await;
    });

    scene.assert_one_upload(1);
}
