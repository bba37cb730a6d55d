//! Headless Chromium driven over the DevTools protocol (a WebSocket, no extra crates): open a
//! page, evaluate JavaScript in it, wait for a condition, take a screenshot. Screenshots go to
//! `target/test-artifacts/`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use awc::ws::{Frame, Message};
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

/// A headless Chromium with one page open.
pub struct Browser {
    child: Child,
    page: actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>,
    next_id: u64,
    profile: std::path::PathBuf,
}

/// Where Chromium is, if installed: `CHROMIUM` or Debian's `/usr/bin/chromium`.
fn executable() -> Option<String> {
    let candidates = [std::env::var("CHROMIUM").ok(), Some("/usr/bin/chromium".to_owned())];
    candidates.into_iter().flatten().find(|path| std::path::Path::new(path).exists())
}

impl Browser {
    /// Starts Chromium on `url`, or `None` (the test is skipped) when Chromium is not installed
    /// outside CI; in CI a missing Chromium fails.
    pub async fn open(url: &str) -> Option<Self> {
        let Some(chromium) = executable() else {
            assert!(std::env::var("CI").is_err(), "CI is set but Chromium is not installed (apt-get install chromium)");
            eprintln!("skipped: Chromium is not installed");
            return None;
        };
        let profile = std::env::temp_dir().join(format!(
            "fandb_chromium_{}_{}",
            std::process::id(),
            super::backends::unique_name()
        ));
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=412,915",
                "--remote-debugging-port=0",
                &format!("--user-data-dir={}", profile.display()),
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start Chromium");
        // Chromium prints its DevTools address on stderr.
        let stderr = child.stderr.take().expect("stderr");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = line.split("DevTools listening on ").nth(1) {
                    let _ = sender.send(address.trim().to_owned());
                }
            }
        });
        let browser_ws = receiver.recv_timeout(Duration::from_secs(30)).expect("Chromium's DevTools address");
        let http = browser_ws.replacen("ws://", "http://", 1);
        let base = &http[..http.find("/devtools").expect("a DevTools path")];
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        let mut response = client.put(format!("{base}/json/new?{url}")).send().await.expect("open a page");
        let target: Value = response.json().await.expect("the page's target");
        let page_ws = target["webSocketDebuggerUrl"].as_str().expect("a page socket").to_owned();
        let (_, page) = awc::Client::builder()
            .max_http_version(awc::http::Version::HTTP_11)
            .finish()
            .ws(page_ws)
            .max_frame_size(64 * 1024 * 1024)
            .connect()
            .await
            .expect("connect to the page");
        let mut browser = Self { child, page, next_id: 0, profile };
        browser.call("Page.enable", json!({})).await;
        browser.call("Runtime.enable", json!({})).await;
        Some(browser)
    }

    /// Sends one DevTools command and returns its result (events on the way are skipped).
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.page.send(Message::Text(message.into())).await.expect("send a DevTools command");
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), self.page.next())
                .await
                .expect("a DevTools answer within 30 s")
                .expect("the page socket is open")
                .expect("a frame");
            let bytes = match frame {
                Frame::Text(bytes) | Frame::Binary(bytes) => bytes,
                _ => continue,
            };
            let answer: Value = serde_json::from_slice(&bytes).expect("DevTools JSON");
            if answer["id"] == id {
                assert!(answer.get("error").is_none(), "{method} failed: {answer}");
                return answer["result"].clone();
            }
        }
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its JSON value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }))
            .await;
        assert!(result.get("exceptionDetails").is_none(), "{expression} threw: {result}");
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is truthy in the page, at most `limit`.
    pub async fn wait_for(&mut self, expression: &str, limit: Duration) {
        let started = Instant::now();
        loop {
            // Until the page has parsed, `document.body` and friends may not exist yet.
            let value = self
                .eval(&format!(
                    "(() => {{ try {{ return Boolean({expression}); }} catch (error) {{ return false; }} }})()"
                ))
                .await;
            if value == Value::Bool(true) {
                return;
            }
            assert!(started.elapsed() < limit, "`{expression}` still false after {limit:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the page to `target/test-artifacts/NAME.png` and returns its path.
    pub async fn screenshot(&mut self, name: &str) -> std::path::PathBuf {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true })).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("image data"))
            .expect("base64");
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
        std::fs::create_dir_all(&directory).expect("the artefact folder");
        let path = directory.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
