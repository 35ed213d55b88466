//! A real browser for console stories: Debian's `chromium`, driven over WebDriver by
//! `chromedriver` (both installed by `scripts/install-test-deps.sh`), headless.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless browser session and the driver process behind it.
pub struct Browser {
    pub client: Client,
    /// The console's base URL (`http://127.0.0.1:<port>`).
    pub base: String,
    driver: Child,
}

impl Browser {
    /// Starts chromedriver and opens a browser; `None` (with a message) when they are not
    /// installed, outside CI.
    pub async fn start(base: &str) -> Option<Self> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            assert!(
                !super::in_ci(),
                "CI=true but chromium/chromedriver are missing: run scripts/install-test-deps.sh"
            );
            eprintln!(
                "SKIPPED: chromium and chromedriver are not installed; run scripts/install-test-deps.sh"
            );
            return None;
        }
        // fantoccini's TLS stack needs a process-wide provider; WebDriver here is plain HTTP.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let caps = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--lang=en-US"],
                "prefs": {}
            }
        });
        let caps = match caps {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::rustls().expect("rustls").capabilities(caps.clone()).connect(&url).await {
                Ok(client) => {
                    return Some(Self { client, base: base.trim_end_matches('/').to_string(), driver });
                }
                Err(err) => last = Some(err),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer: {last:?}");
    }

    /// Opens a console path.
    pub async fn open(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("page opens");
    }

    /// The current path (and query).
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Waits until the path ends with `suffix` (a page loads after a click); shows the page
    /// when it does not.
    pub async fn wait_path(&self, suffix: &str) -> String {
        for _ in 0..100 {
            let path = self.path().await;
            if path.ends_with(suffix) {
                return path;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("still at {} (wanted …{suffix}):\n{}", self.path().await, self.text().await);
    }

    /// The element matching a CSS selector (waits for it).
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Waits until exactly `n` elements match an XPath (pages load after a click).
    pub async fn wait_count(&self, xpath: &str, n: usize) {
        let mut found = usize::MAX;
        for _ in 0..100 {
            found = self.client.find_all(Locator::XPath(xpath)).await.map_or(usize::MAX, |v| v.len());
            if found == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} of {xpath}, found {found}");
    }

    /// Whether an element matches now.
    pub async fn has(&self, css: &str) -> bool {
        !self.client.find_all(Locator::Css(css)).await.unwrap().is_empty()
    }

    /// Clicks the link or button whose text is `text` exactly, as a person would.
    pub async fn click_text(&self, text: &str) {
        let xpath = format!(
            "//*[self::a or self::button or self::summary][normalize-space(.)={}]",
            xpath_literal(text)
        );
        let element = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("nothing to click labelled {text:?}: {e}"));
        element.click().await.unwrap_or_else(|e| panic!("clicking {text:?}: {e}"));
    }

    /// Clicks like [`Browser::click_text`] and waits for the next page to load.
    pub async fn go(&self, text: &str) {
        self.eval("window.__ghLeaving = true; return null").await;
        self.click_text(text).await;
        self.wait_loaded().await;
    }

    /// Submits the form a button belongs to (by CSS) and waits for the next page.
    pub async fn submit(&self, button_css: &str) {
        self.eval("window.__ghLeaving = true; return null").await;
        self.find(button_css).await.click().await.unwrap();
        self.wait_loaded().await;
    }

    /// Waits until the page marked before a click has been replaced and the new one is loaded.
    async fn wait_loaded(&self) {
        for _ in 0..100 {
            let state = self
                .client
                .execute(
                    "return window.__ghLeaving === undefined && document.readyState === 'complete'",
                    vec![],
                )
                .await;
            if state.is_ok_and(|v| v == Value::Bool(true)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the next page did not load");
    }

    /// Types into the input whose `<label>` reads `label`.
    pub async fn fill(&self, label: &str, value: &str) {
        let input = self.labelled(label).await;
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    /// The form control a visible `<label>` with this text names.
    pub async fn labelled(&self, label: &str) -> Element {
        let xpath = format!("//label[normalize-space(.)={}]", xpath_literal(label));
        let label_el = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no label {label:?}: {e}"));
        let id = label_el.attr("for").await.unwrap().unwrap_or_else(|| panic!("label {label:?} has no for"));
        self.find(&format!("#{id}")).await
    }

    /// Chooses an option of a `<select>` by its value.
    pub async fn choose(&self, label: &str, value: &str) {
        self.labelled(label).await.select_by_value(value).await.unwrap();
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.find("body").await.text().await.unwrap()
    }

    /// Runs a script in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Runs an async script body (it may `await`) and returns what it returns.
    pub async fn eval_async(&self, body: &str) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1]; (async () => {{ {body} }})().then(done, e => done(String(e)));"
        );
        self.client.execute_async(&script, vec![]).await.unwrap()
    }

    /// Ends the browser session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else {
        format!("concat('{}')", text.replace('\'', "', \"'\", '"))
    }
}

/// Controls without a label, and text whose contrast with its background is below 4.5:1.
pub const AUDIT: &str = r#"
const unlabelled = [...document.querySelectorAll('input, select, textarea, button')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => el.tagName === 'BUTTON'
      ? !(el.textContent.trim() || el.getAttribute('aria-label'))
      : !((el.labels && el.labels.length) || el.getAttribute('aria-label')))
  .map(el => el.outerHTML.slice(0, 120));
const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => {
  const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
};
const background = el => {
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
  }
  return [255, 255, 255];
};
const low = [...document.querySelectorAll('body *')]
  .filter(el => el.offsetParent !== null && [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .map(el => {
    const fg = rgb(getComputedStyle(el).color).slice(0, 3), bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return { text: el.textContent.trim().slice(0, 40), ratio: (a + 0.05) / (b + 0.05) };
  })
  .filter(x => x.ratio < 4.5);
return { unlabelled, low };
"#;
