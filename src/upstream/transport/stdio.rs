//! stdio toward an upstream (basic/transports § stdio): a child process, newline-delimited
//! JSON on stdin/stdout, stderr copied to the log line by line. The child gets a clean
//! environment — PATH, HOME, locale, temp dir and what the upstream configures — so that
//! Gatehouse's own secrets (`GATEHOUSE_MASTER_KEY`, database URLs) never reach it.

use std::process::Stdio as ProcessStdio;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::Mutex;

use super::{CallSink, Peer, Transport};
use crate::upstream::launch::{Launch, LaunchPolicy};
use crate::upstream::spec::Spec;
use crate::upstream::{MAX_MESSAGE_BYTES, UpstreamError};

/// Variables passed through from Gatehouse's own environment.
const INHERITED: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "USER", "SHELL", "NODE_PATH"];

/// The stdio transport: one child process.
pub struct Stdio {
    stdin: Mutex<Option<ChildStdin>>,
    child: Mutex<Option<Child>>,
}

impl Stdio {
    /// Starts the command, if `launch` allows it as it is now.
    pub(crate) fn spawn(spec: &Spec, launch: &LaunchPolicy, peer: Arc<Peer>) -> Result<Self, UpstreamError> {
        let program =
            spec.command.as_deref().ok_or_else(|| UpstreamError::Config("command is required".into()))?;
        launch
            .check(Launch {
                template_id: spec.template_id.as_deref(),
                command: program,
                args: &spec.args,
                env: &spec.env,
            })
            .map_err(|refused| UpstreamError::Config(refused.to_string()))?;
        let mut cmd = Command::new(program);
        cmd.args(&spec.args)
            .env_clear()
            .stdin(ProcessStdio::piped())
            .stdout(ProcessStdio::piped())
            .stderr(ProcessStdio::piped())
            .kill_on_drop(true);
        for name in INHERITED {
            if let Ok(v) = std::env::var(name) {
                cmd.env(name, v);
            }
        }
        cmd.envs(&spec.env);
        #[cfg(unix)]
        cmd.process_group(0); // its own group: a Ctrl-C to Gatehouse is Gatehouse's to handle
        let mut child =
            cmd.spawn().map_err(|e| UpstreamError::Connect(format!("cannot start {program}: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or_else(|| UpstreamError::Connect("no stdout".into()))?;
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(copy_stderr(stderr, spec.id.clone()));
        }
        tokio::spawn(read_stdout(stdout, peer));
        Ok(Self { stdin: Mutex::new(stdin), child: Mutex::new(Some(child)) })
    }
}

#[async_trait]
impl Transport for Stdio {
    /// One process per node serves every caller.
    fn keeps_session(&self) -> bool {
        false
    }

    async fn send(&self, msg: &Value, _sink: Option<CallSink>) -> Result<(), UpstreamError> {
        let mut line = super::wire::to_wire(msg).map_err(|e| UpstreamError::Protocol(e.to_string()))?;
        line.push(b'\n');
        let mut stdin = self.stdin.lock().await;
        let Some(pipe) = stdin.as_mut() else {
            return Err(UpstreamError::Closed("the process has ended".into()));
        };
        let written = async {
            pipe.write_all(&line).await?;
            pipe.flush().await
        };
        written.await.map_err(|e| {
            *stdin = None;
            UpstreamError::Closed(format!("cannot write to the process: {e}"))
        })
    }

    async fn close(&self) {
        // Closing stdin asks the server to exit (basic/lifecycle § stdio shutdown); then kill.
        self.stdin.lock().await.take();
        if let Some(mut child) = self.child.lock().await.take() {
            if tokio::time::timeout(std::time::Duration::from_secs(2), child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
    }
}

async fn read_stdout(stdout: impl AsyncRead + Unpin, peer: Arc<Peer>) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let reason = loop {
        line.clear();
        let read = (&mut reader).take(MAX_MESSAGE_BYTES as u64 + 1).read_until(b'\n', &mut line).await;
        match read {
            Ok(0) => break "the process exited".to_string(),
            Ok(n) if n > MAX_MESSAGE_BYTES => {
                break format!("the process wrote a line over {MAX_MESSAGE_BYTES} bytes");
            }
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(text) {
                    Ok(Value::Array(batch)) => batch.into_iter().for_each(|m| peer.deliver(m, None)),
                    Ok(msg) => peer.deliver(msg, None),
                    // Servers that print banners on stdout break the protocol; say so and go on.
                    Err(_) => {
                        tracing::warn!(upstream = %peer.upstream_id, "stdout line is not JSON-RPC; ignored")
                    }
                }
            }
            Err(e) => break format!("reading stdout failed: {e}"),
        }
    };
    tracing::info!(upstream = %peer.upstream_id, reason = %reason, "stdio upstream ended");
    peer.close_with(&reason);
}

async fn copy_stderr(stderr: impl AsyncRead + Unpin, upstream: String) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line: String = line.chars().take(2000).collect();
        tracing::info!(upstream = %upstream, stderr = %line, "upstream stderr");
    }
}
