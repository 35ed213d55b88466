//! `gatehouse serve` as a real child process, with its log captured.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `gatehouse serve` child process on a free port.
pub struct Process {
    pub child: Child,
    pub base: String,
    log: std::sync::mpsc::Receiver<String>,
    /// Lines already read by [`Process::wait_for_log`], kept for [`Process::stop_and_read_log`].
    read: Vec<String>,
}

impl Process {
    pub fn start(data_dir: &std::path::Path, extra: &[(&str, &str)]) -> Self {
        Self::start_with(&["serve", "--dev"], data_dir, extra)
    }

    /// Starts `gatehouse <args>` (a `serve` of some kind).
    pub fn start_with(args: &[&str], data_dir: &std::path::Path, extra: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.args(args)
            .env("GATEHOUSE_BIND", "127.0.0.1:0")
            .env("GATEHOUSE_DATA_DIR", data_dir)
            .env("NO_COLOR", "1")
            // No balancer to wait for, unless a story asks for a drain delay.
            .env("GATEHOUSE_DRAIN_DELAY_SECS", "0")
            .env_remove("GATEHOUSE_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn gatehouse");
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut base = None;
        while base.is_none() {
            let line = rx.recv_timeout(Duration::from_secs(20)).expect("gatehouse logs its address");
            if let Some(rest) = line.split("addr=").nth(1) {
                base = Some(format!("http://{}", rest.split_whitespace().next().unwrap()));
            }
            // The same line as JSON (`GATEHOUSE_LOG_FORMAT=json`).
            let json = serde_json::from_str::<serde_json::Value>(&line).ok();
            if let Some(addr) = json.as_ref().and_then(|l| l["fields"]["addr"].as_str()) {
                base = Some(format!("http://{addr}"));
            }
        }
        Self { child, base: base.unwrap(), log: rx, read: Vec::new() }
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("gatehouse did not exit");
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// Waits until a line containing `needle` is logged; panics after 20 s.
    pub fn wait_for_log(&mut self, needle: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.log.recv_timeout(left).unwrap_or_else(|_| panic!("no log line with {needle:?}"));
            let found = line.contains(needle);
            self.read.push(line);
            if found {
                return;
            }
        }
    }

    /// Stops the process and returns everything it logged.
    pub fn stop_and_read_log(&mut self) -> String {
        self.signal("-TERM");
        self.wait_exit();
        let mut lines = std::mem::take(&mut self.read);
        while let Ok(line) = self.log.recv_timeout(Duration::from_millis(500)) {
            lines.push(line);
        }
        lines.join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
