//! `gatehouse probe`: asks a node on this host whether it is alive (`/health`) or ready
//! (`/ready`), for container health checks in an image that has no shell and no HTTP client.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

/// How long a probe waits for the whole answer; an orchestrator's own timeout is the outer bound.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What to ask.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Check {
    /// `/health`: the process answers.
    Health,
    /// `/ready`: not draining, database reachable, migrations current.
    Ready,
}

impl Check {
    fn path(self) -> &'static str {
        match self {
            Check::Health => "/health",
            Check::Ready => "/ready",
        }
    }
}

/// The address to ask: the port of `bind` (the node's own listen address), on loopback when the
/// node listens on every address.
pub fn target(bind: SocketAddr) -> SocketAddr {
    if bind.ip().is_unspecified() { SocketAddr::from((Ipv4Addr::LOCALHOST, bind.port())) } else { bind }
}

/// Asks `addr` for `check`; the status and body, or why no answer came.
pub async fn probe(addr: SocketAddr, check: Check) -> anyhow::Result<(u16, String)> {
    tokio::time::timeout(PROBE_TIMEOUT, ask(addr, check))
        .await
        .with_context(|| format!("no answer from {addr} within {}s", PROBE_TIMEOUT.as_secs()))?
}

async fn ask(addr: SocketAddr, check: Check) -> anyhow::Result<(u16, String)> {
    let stream =
        tokio::net::TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = http::Request::get(check.path())
        .header(http::header::HOST, addr.to_string())
        .body(Empty::<bytes::Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
