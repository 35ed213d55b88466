//! A real SMTP server for tests: `tests/support/smtp_sink.py` (aiosmtpd, installed by
//! `scripts/install-test-deps.sh`), run as a child process on loopback.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A received mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    /// The `From:` header (display name and address).
    pub from_header: String,
    pub subject: String,
    pub body: String,
}

/// The running sink.
pub struct SmtpSink {
    pub port: u16,
    child: Child,
    _stdin: ChildStdin,
    mails: mpsc::Receiver<Mail>,
}

fn python() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join(".test-deps/venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    let ok = Command::new("python3").args(["-c", "import aiosmtpd"]).stderr(Stdio::null()).status();
    ok.is_ok_and(|s| s.success()).then(|| PathBuf::from("python3"))
}

impl SmtpSink {
    /// Starts the sink; `None` (with a message) when aiosmtpd is not installed, outside CI.
    pub fn start() -> Option<Self> {
        let Some(python) = python() else {
            assert!(!super::in_ci(), "CI=true but aiosmtpd is missing: run scripts/install-test-deps.sh");
            eprintln!("SKIPPED: aiosmtpd not installed; run scripts/install-test-deps.sh");
            return None;
        };
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start SMTP sink");
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let port = first["port"].as_u64().unwrap() as u16;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).unwrap();
                let mail = Mail {
                    to: v["to"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect(),
                    from_header: v["from_header"].as_str().unwrap_or_default().to_string(),
                    subject: v["subject"].as_str().unwrap_or_default().to_string(),
                    body: v["body"].as_str().unwrap_or_default().to_string(),
                };
                if tx.send(mail).is_err() {
                    break;
                }
            }
        });
        Some(Self { port, child, _stdin: stdin, mails: rx })
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next mail, waiting up to 10 s.
    pub fn next_mail(&self) -> Mail {
        self.mails.recv_timeout(Duration::from_secs(10)).expect("a mail arrives at the SMTP sink")
    }

    /// Whether a mail arrives within `wait`.
    pub fn mail_within(&self, wait: Duration) -> Option<Mail> {
        self.mails.recv_timeout(wait).ok()
    }

    /// The six-digit code in a mail body.
    pub fn code_in(mail: &Mail) -> String {
        mail.body
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .expect("a six-digit code in the mail")
            .to_string()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self._stdin.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
