//! An operation's security requirement as a tool's credential: the first alternative that is one
//! scheme a tool can carry (HTTP bearer or basic, an API key in a header or the query, OAuth 2.0
//! client credentials).

use serde_json::{Map, Value};

use super::document::DocumentSet;
use super::pointer::{self, Location};
use super::{AuthKind, PlannedAuth};

/// The credential the operation at `at` needs, if any and if a tool can carry it; what cannot be
/// carried is said in `warnings`.
pub fn auth_for(
    set: &DocumentSet,
    operation: &Map<String, Value>,
    at: &Location,
    warnings: &mut Vec<String>,
) -> Option<PlannedAuth> {
    let root = set.root_value();
    let requirements = operation.get("security").or_else(|| root.get("security"))?.as_array()?;
    let mut wanted = Vec::new();
    for requirement in requirements {
        let Some(requirement) = requirement.as_object() else { continue };
        // `{}` among the alternatives: calling without a credential is allowed.
        if requirement.is_empty() {
            return None;
        }
        if requirement.len() == 1 {
            let (name, scopes) = requirement.iter().next().expect("one");
            let scopes = scopes.as_array().into_iter().flatten().filter_map(Value::as_str);
            match scheme(set, name, scopes.map(str::to_owned).collect()) {
                Ok(auth) => return Some(auth),
                Err(why) => wanted.push(why),
            }
        } else {
            let names: Vec<&str> = requirement.keys().map(String::as_str).collect();
            wanted.push(format!("{} together", names.join(" and ")));
        }
    }
    if !wanted.is_empty() {
        warnings.push(format!(
            "{}: the API asks for {}, which a tool cannot carry; give the tool a credential after importing",
            at.child("security"),
            wanted.join(", or ")
        ));
    }
    None
}

/// The scheme named `name` (the operation asking for `scopes`) as a tool credential, or what it
/// is when a tool cannot carry it.
fn scheme(set: &DocumentSet, name: &str, scopes: Vec<String>) -> Result<PlannedAuth, String> {
    let root = Location::new(&set.root, "/components/securitySchemes");
    let mut at = root.child(name);
    let mut value = set.get(&at).ok_or_else(|| format!("{name} (not defined)"))?;
    if let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        at = pointer::resolve(set, &at, reference).map_err(|why| format!("{name} ({why})"))?;
        value = set.get(&at).ok_or_else(|| format!("{name} (not defined)"))?;
    }
    let kind = value.get("type").and_then(Value::as_str).unwrap_or_default();
    let auth = |kind, header: Option<&str>| PlannedAuth {
        scheme: name.to_owned(),
        kind,
        name: header.map(str::to_owned),
        token_url: None,
        scopes: Vec::new(),
    };
    match kind {
        "http" => match value.get("scheme").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
            Some("bearer") => Ok(auth(AuthKind::Bearer, None)),
            Some("basic") => Ok(auth(AuthKind::Basic, None)),
            other => Err(format!("{name} (HTTP {})", other.unwrap_or("without a scheme"))),
        },
        "apiKey" => {
            let key = value.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
            match (value.get("in").and_then(Value::as_str), key) {
                (Some("header"), Some(key)) => Ok(auth(AuthKind::ApiKey, Some(key))),
                (Some("query"), Some(key)) => Ok(auth(AuthKind::ApiKeyQuery, Some(key))),
                (place, _) => Err(format!("{name} (an API key in {})", place.unwrap_or("no stated place"))),
            }
        }
        "oauth2" => {
            // Only the client-credentials flow runs without a person; its token URL must be
            // absolute to be reached.
            let flow = value.pointer("/flows/clientCredentials");
            match flow.and_then(|f| f.get("tokenUrl")).and_then(Value::as_str) {
                Some(url) if url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) => {
                    Ok(PlannedAuth {
                        token_url: Some(url.to_owned()),
                        scopes,
                        ..auth(AuthKind::ClientCredentials, None)
                    })
                }
                Some(url) => {
                    Err(format!("{name} (OAuth 2.0 client credentials at {url:?}, not an absolute URL)"))
                }
                None => Err(format!("{name} (OAuth 2.0 without a client-credentials flow)")),
            }
        }
        "openIdConnect" => Err(format!("{name} (OpenID Connect)")),
        "mutualTLS" => Err(format!("{name} (mutual TLS)")),
        other => Err(format!("{name} ({other:?})")),
    }
}
