//! Resource indicators (RFC 8707): the URL of one MCP endpoint of this instance, which every
//! token is bound to. The canonical form is `{public URL}/mcp/{org}/{server}`; a client's may
//! differ in the case of scheme and host and a trailing slash (the authorization spec,
//! "Canonical Server URI", asks servers to accept uppercase).

use url::Url;

/// The resource URL of an MCP endpoint.
pub fn of(public_url: &str, org: &str, server: &str) -> String {
    format!("{}/mcp/{org}/{server}", public_url.trim_end_matches('/'))
}

/// The protected resource metadata URL of an MCP endpoint at `/{transport}/{org}/{server}`
/// (RFC 9728 § 3.1: the well-known segment inserted before the resource's path).
pub fn metadata_url(public_url: &str, transport: &str, org: &str, server: &str) -> String {
    let base = Url::parse(public_url).ok();
    let origin =
        base.as_ref().map(|u| u.origin().ascii_serialization()).unwrap_or_else(|| public_url.to_string());
    let prefix = base.as_ref().map(|u| u.path().trim_end_matches('/').to_string()).unwrap_or_default();
    format!("{origin}/.well-known/oauth-protected-resource{prefix}/{transport}/{org}/{server}")
}

/// The org and server a resource names, when it is one of this instance's MCP endpoints.
pub fn parse(public_url: &str, resource: &str) -> Option<(String, String)> {
    let ours = Url::parse(public_url).ok()?;
    let asked = Url::parse(resource).ok()?;
    if asked.scheme() != ours.scheme()
        || asked.host_str()? != ours.host_str()?
        || asked.port_or_known_default() != ours.port_or_known_default()
        || asked.query().is_some()
        || asked.fragment().is_some()
        || !asked.username().is_empty()
    {
        return None;
    }
    let base = ours.path().trim_end_matches('/');
    // The legacy SSE transport's URL names the same server as the Streamable HTTP one.
    let rest = ["mcp", "sse"].iter().find_map(|t| asked.path().strip_prefix(&format!("{base}/{t}/")))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (org, server) = rest.split_once('/')?;
    let plain =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (plain(org) && plain(server)).then(|| (org.to_string(), server.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_name_one_endpoint() {
        let ours = "https://gh.example";
        assert_eq!(parse(ours, "https://gh.example/mcp/acme/crm"), Some(("acme".into(), "crm".into())));
        assert_eq!(parse(ours, "HTTPS://GH.EXAMPLE/mcp/acme/crm/"), Some(("acme".into(), "crm".into())));
        assert_eq!(parse(ours, "https://gh.example:443/mcp/acme/crm"), Some(("acme".into(), "crm".into())));
        assert_eq!(parse(ours, "https://other.example/mcp/acme/crm"), None);
        assert_eq!(parse(ours, "https://gh.example/mcp/acme"), None);
        assert_eq!(parse(ours, "https://gh.example/mcp/acme/crm/x"), None);
        assert_eq!(parse(ours, "https://gh.example/mcp/acme/crm?x=1"), None);
        assert_eq!(parse(ours, "https://gh.example/api/acme/crm"), None);
        assert_eq!(parse(ours, "https://gh.example/sse/acme/crm"), Some(("acme".into(), "crm".into())));
        assert_eq!(
            metadata_url("https://gh.example/base", "mcp", "acme", "crm"),
            "https://gh.example/.well-known/oauth-protected-resource/base/mcp/acme/crm"
        );
    }
}
