//! Where outbound requests may connect: the address rule, and the resolver that applies it to
//! every name before a socket is opened (no DNS-rebinding window).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;

use super::OutboundError;

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

    /// Checks a URL's host when it is an IP literal (`127.0.0.1`, `[::1]`); names are checked
    /// by [`GuardedResolver`] once resolved. The connector dials literals without resolving,
    /// so this check must run before every request and redirect.
    pub fn check_host(&self, host: &str) -> Result<(), OutboundError> {
        match host_ip(host) {
            Some(ip) => self.check(ip),
            None => Ok(()),
        }
    }
}

/// The address a URL's host names literally (`[…]` around IPv6), if it is an IP literal.
pub(super) fn host_ip(host: &str) -> Option<IpAddr> {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).parse().ok()
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
#[derive(Clone)]
pub(super) struct GuardedResolver {
    pub(super) policy: NetworkPolicy,
}

type Resolved = std::vec::IntoIter<SocketAddr>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Name> for GuardedResolver {
    type Response = Resolved;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Resolved, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
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
                return Err(Box::new(err) as BoxError);
            }
            Ok(allowed.into_iter())
        })
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
    fn literal_hosts_are_checked_bracketed_or_not() {
        let strict = NetworkPolicy { allow_private: false };
        assert!(strict.check_host("127.0.0.1").is_err());
        assert!(strict.check_host("[::1]").is_err());
        assert!(strict.check_host("[::ffff:10.0.0.1]").is_err());
        assert!(strict.check_host("example.com").is_ok());
        assert!(strict.check_host("8.8.8.8").is_ok());
    }
}
