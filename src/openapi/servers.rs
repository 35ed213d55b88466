//! The base URL an operation's requests go to: the import's own, or the document's `servers`.

use serde_json::Value;

use super::document::DocumentSet;
use super::pointer::Location;
use super::{ImportError, Options};

/// The base URL: the import's own, else the first of `servers` (variables at their defaults),
/// resolved against where the document came from when relative.
pub fn base_url(
    set: &DocumentSet,
    holder: &Value,
    at: &Location,
    options: &Options,
) -> Result<String, ImportError> {
    if let Some(base) = &options.base_url {
        return checked_base(base, &Location::new(&set.root, ""));
    }
    let Some(server) = holder.get("servers").and_then(Value::as_array).and_then(|s| s.first()) else {
        return match &options.source_url {
            Some(source) => checked_base(&url_join(source, "/")?, at),
            None => Err(ImportError::at(at, "the document names no server: give the API's base URL")),
        };
    };
    let mut url = server.get("url").and_then(Value::as_str).unwrap_or("/").to_owned();
    if let Some(Value::Object(variables)) = server.get("variables") {
        for (name, variable) in variables {
            let default = variable.get("default").and_then(Value::as_str).unwrap_or_default();
            url = url.replace(&format!("{{{name}}}"), default);
        }
    }
    let url = match url::Url::parse(&url) {
        Ok(_) => url,
        Err(_) => match &options.source_url {
            Some(source) => url_join(source, &url)?,
            None => {
                return Err(ImportError::at(
                    &at.child("0").child("url"),
                    format!("the server URL {url:?} is relative: give the API's base URL"),
                ));
            }
        },
    };
    checked_base(&url, at)
}

fn url_join(base: &str, relative: &str) -> Result<String, ImportError> {
    url::Url::parse(base)
        .and_then(|b| b.join(relative))
        .map(String::from)
        .map_err(|e| ImportError::document(base, format!("cannot resolve {relative:?} against it: {e}")))
}

fn checked_base(url: &str, at: &Location) -> Result<String, ImportError> {
    let parsed =
        url::Url::parse(url).map_err(|e| ImportError::at(at, format!("{url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ImportError::at(at, format!("the base URL {url:?} must be http(s) with a host")));
    }
    if url.contains(['?', '#']) {
        return Err(ImportError::at(at, format!("the base URL {url:?} may not have a query or fragment")));
    }
    Ok(url.trim_end_matches('/').to_owned())
}
