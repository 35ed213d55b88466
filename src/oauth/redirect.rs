//! Redirect URIs: what a client may register, and whether a requested one is registered.
//! Matching is exact (OAuth 2.1 § 2.3.1), except that a loopback IP redirect of a native client
//! may use any port (RFC 8252 § 7.3: the port is picked when the client starts).

use url::{Host, Url};

/// Whether `uri` may be registered: absolute, no fragment, and `https` — or `http` on a
/// loopback host (native clients), or a private-use scheme of a native app such as `cursor://`
/// (RFC 8252 § 7.1); never a scheme a browser would run or read locally.
pub fn registrable(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|_| format!("{uri} is not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(format!("{uri} has a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err(format!("{uri}: http is allowed only for loopback redirects")),
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about" | "ftp" | "ws" | "wss" => {
            Err(format!("{uri}: scheme not allowed"))
        }
        _ => Ok(()),
    }
}

/// Whether `requested` is one of `registered`.
pub fn matches(registered: &[String], requested: &str) -> bool {
    if registered.iter().any(|r| r == requested) {
        return true;
    }
    let Ok(asked) = Url::parse(requested) else { return false };
    if asked.scheme() != "http" || !is_loopback_ip(&asked) {
        return false;
    }
    registered.iter().filter_map(|r| Url::parse(r).ok()).any(|r| {
        r.scheme() == "http"
            && is_loopback_ip(&r)
            && r.host() == asked.host()
            && r.path() == asked.path()
            && r.query() == asked.query()
    })
}

/// Whether a browser may be sent to `target` when a flow Gatehouse ran ends: a path of
/// Gatehouse's own, a URL under its public URL, or an http(s) listener on a loopback address (a
/// local app's, any port) — never elsewhere, so a flow cannot be made an open redirect.
pub fn returnable(target: &str, public_url: &str) -> bool {
    if target.starts_with('/') {
        return !target.starts_with("//") && !target.contains('\\');
    }
    let Ok(url) = Url::parse(target) else { return false };
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return false;
    }
    let own = public_url.trim_end_matches('/');
    let under_own =
        target == own || target.starts_with(&format!("{own}/")) || target.starts_with(&format!("{own}?"));
    under_own || (matches!(url.scheme(), "http" | "https") && is_loopback(&url))
}

fn is_loopback(url: &Url) -> bool {
    is_loopback_ip(url) || url.host() == Some(Host::Domain("localhost"))
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ports_are_free_and_everything_else_exact() {
        let reg = vec!["http://127.0.0.1/callback".to_string(), "https://app.example/cb".to_string()];
        assert!(matches(&reg, "http://127.0.0.1:53121/callback"));
        assert!(!matches(&reg, "http://127.0.0.1:53121/other"));
        assert!(!matches(&reg, "http://127.0.0.2:53121/callback"));
        assert!(matches(&reg, "https://app.example/cb"));
        assert!(!matches(&reg, "https://app.example/cb/"));
        assert!(!matches(&reg, "https://app.example:444/cb"));
    }

    #[test]
    fn flows_return_only_home_or_to_loopback() {
        let public = "https://gh.example";
        for ok in [
            "/orgs/a/upstreams/u",
            "https://gh.example/x",
            "http://127.0.0.1:5555/cb",
            "http://localhost:9/cb?x=1",
        ] {
            assert!(returnable(ok, public), "{ok}");
        }
        for bad in [
            "//evil.example",
            "https://evil.example/cb",
            "https://gh.example.evil.example/",
            "http://127.0.0.1/#f",
            "http://u:p@127.0.0.1/",
            "javascript:alert(1)",
            "/\\evil.example",
        ] {
            assert!(!returnable(bad, public), "{bad}");
        }
    }

    #[test]
    fn what_may_be_registered() {
        assert!(registrable("http://localhost:3000/cb").is_ok());
        assert!(registrable("https://claude.ai/api/mcp/auth_callback").is_ok());
        assert!(registrable("cursor://anysphere.cursor-retrieval/oauth/callback").is_ok());
        assert!(registrable("http://evil.example/cb").is_err());
        assert!(registrable("javascript:alert(1)").is_err());
        assert!(registrable("https://app.example/cb#frag").is_err());
    }
}
