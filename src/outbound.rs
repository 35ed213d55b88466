//! Every outbound HTTP request Gatehouse makes goes through here, so the rule of where it may
//! connect is enforced once: loopback, private, link-local, CGNAT and unspecified addresses
//! are refused unless `allow_private_networks` is set, and cloud metadata addresses always.
//! Names are resolved by [`GuardedResolver`], which drops forbidden addresses before a socket
//! is opened (no DNS-rebinding window); IP literals are checked before sending and on every
//! redirect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes_util::collect_limited;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, RequestBuilder, Response, Url};

/// Why an outbound request was not made or not read.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The destination is not allowed by the network policy.
    #[error("outbound request refused: {0}")]
    Forbidden(String),
    /// The URL is not an absolute http(s) URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// No answer in time.
    #[error("the request timed out")]
    Timeout,
    /// The answer exceeded the size limit.
    #[error("the response exceeded {0} bytes")]
    TooLarge(usize),
    /// Connecting or reading failed.
    #[error("request failed: {0}")]
    Failed(String),
}

impl From<reqwest::Error> for OutboundError {
    fn from(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            return Self::Timeout;
        }
        // Keep the policy refusal readable when it surfaced through the resolver or redirects.
        let mut source: Option<&dyn std::error::Error> = Some(&err);
        while let Some(e) = source {
            let text = e.to_string();
            if text.starts_with("outbound request refused") {
                return Self::Forbidden(text.trim_start_matches("outbound request refused: ").to_string());
            }
            source = e.source();
        }
        Self::Failed(without_url(&err))
    }
}

/// reqwest's messages embed the URL, which may carry credentials in its query; drop it.
fn without_url(err: &reqwest::Error) -> String {
    let kind = if err.is_connect() {
        "could not connect"
    } else if err.is_redirect() {
        "too many redirects"
    } else if err.is_body() || err.is_decode() {
        "could not read the response body"
    } else {
        "transport error"
    };
    kind.to_string()
}

/// Where outbound requests may go.
#[derive(Debug, Clone, Copy)]
pub struct NetworkPolicy {
    /// Allow loopback, private, link-local and CGNAT destinations.
    pub allow_private: bool,
}

impl NetworkPolicy {
    /// Checks one address against the policy.
    pub fn check(&self, ip: IpAddr) -> Result<(), OutboundError> {
        let ip = canonical(ip);
        if is_metadata(ip) {
            return Err(OutboundError::Forbidden(format!("{ip} is a cloud metadata address")));
        }
        if !self.allow_private && is_internal(ip) {
            return Err(OutboundError::Forbidden(format!(
                "{ip} is a private, loopback or link-local address (set GATEHOUSE_ALLOW_PRIVATE_NETWORKS=true to allow)"
            )));
        }
        Ok(())
    }
}

/// IPv4-mapped and NAT64 IPv6 addresses are judged as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            }
            ip
        }
        v4 => v4,
    }
}

fn is_metadata(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4 == Ipv4Addr::new(169, 254, 169, 254) || v4 == Ipv4Addr::new(100, 100, 100, 200),
        IpAddr::V6(v6) => v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    }
}

fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
                || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18.0.0/15
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        }
    }
}

/// A DNS resolver that only yields addresses the policy allows.
struct GuardedResolver {
    policy: NetworkPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match policy.check(addr.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        refused = Some(e);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let err = refused.unwrap_or_else(|| OutboundError::Failed(format!("{host} has no address")));
                return Err(Box::new(err) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The outbound HTTP client.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: NetworkPolicy,
}

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

impl Outbound {
    /// A client enforcing `policy`, pooling connections per host.
    pub fn new(policy: NetworkPolicy) -> Self {
        let redirect_policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(OutboundError::Failed("too many redirects".into()));
            }
            match check_literal(&policy, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(err) => attempt.error(err),
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .redirect(redirect_policy)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("building the HTTP client");
        Self { client, policy }
    }

    /// The policy in force.
    pub fn policy(&self) -> NetworkPolicy {
        self.policy
    }

    /// Starts a request to `url` after checking its scheme and (if literal) its address.
    pub fn request(&self, method: Method, url: &str) -> Result<RequestBuilder, OutboundError> {
        let parsed = Url::parse(url).map_err(|e| OutboundError::InvalidUrl(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(OutboundError::InvalidUrl("only absolute http(s) URLs are allowed".into()));
        }
        check_literal(&self.policy, &parsed)?;
        Ok(self.client.request(method, parsed))
    }

    /// Sends a request built by [`Outbound::request`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, OutboundError> {
        Ok(request.send().await?)
    }

    /// Reads a response body, refusing more than `limit` bytes.
    pub async fn read_limited(response: Response, limit: usize) -> Result<Vec<u8>, OutboundError> {
        collect_limited(response, limit).await
    }
}

/// Checks the host of `url` when it is an IP literal (names go through the resolver).
fn check_literal(policy: &NetworkPolicy, url: &Url) -> Result<(), OutboundError> {
    match url.host() {
        Some(url::Host::Ipv4(v4)) => policy.check(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => policy.check(IpAddr::V6(v6)),
        _ => Ok(()),
    }
}

mod bytes_util {
    use super::OutboundError;

    /// Collects a body chunk by chunk, stopping as soon as it passes `limit`.
    pub async fn collect_limited(
        mut response: reqwest::Response,
        limit: usize,
    ) -> Result<Vec<u8>, OutboundError> {
        if response.content_length().is_some_and(|n| n as usize > limit) {
            return Err(OutboundError::TooLarge(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > limit {
                return Err(OutboundError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_by_default() {
        let strict = NetworkPolicy { allow_private: false };
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(strict.check(ip(bad)).is_err(), "{bad} should be refused");
        }
        for good in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(strict.check(ip(good)).is_ok(), "{good} should be allowed");
        }
    }

    #[test]
    fn metadata_is_refused_even_when_private_networks_are_allowed() {
        let open = NetworkPolicy { allow_private: true };
        assert!(open.check(ip("127.0.0.1")).is_ok());
        assert!(open.check(ip("169.254.169.254")).is_err());
        assert!(open.check(ip("::ffff:169.254.169.254")).is_err());
        assert!(open.check(ip("fd00:ec2::254")).is_err());
    }

    #[test]
    fn urls_are_checked_before_sending() {
        let out = Outbound::new(NetworkPolicy { allow_private: false });
        assert!(matches!(out.request(Method::GET, "http://127.0.0.1:1/x"), Err(OutboundError::Forbidden(_))));
        assert!(matches!(out.request(Method::GET, "http://[::1]/x"), Err(OutboundError::Forbidden(_))));
        assert!(matches!(out.request(Method::GET, "file:///etc/passwd"), Err(OutboundError::InvalidUrl(_))));
        assert!(matches!(out.request(Method::GET, "not a url"), Err(OutboundError::InvalidUrl(_))));
        assert!(out.request(Method::GET, "https://example.com/x").is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let out = Outbound::new(NetworkPolicy { allow_private: false });
        let req = out.request(Method::GET, "http://localhost:9/").unwrap();
        match out.send(req).await {
            Err(OutboundError::Forbidden(msg)) => {
                assert!(msg.contains("127.0.0.1") || msg.contains("::1"), "{msg}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
