//! The console's stylesheet and script, embedded in the binary. Each is served under a name
//! carrying a hash of its content, so browsers may keep it for a year: a new build with other
//! content has other names.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
struct Asset {
    stem: &'static str,
    ext: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 2] = [
    Asset {
        stem: "console",
        ext: "css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("static/console.css"),
    },
    Asset {
        stem: "console",
        ext: "js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("static/console.js"),
    },
];

/// The hashed names, computed once.
fn names() -> &'static [String; 2] {
    static NAMES: OnceLock<[String; 2]> = OnceLock::new();
    NAMES.get_or_init(|| {
        ASSETS.map(|a| {
            let hash = crate::crypto::sha256_hex(a.body);
            format!("{}.{}.{}", a.stem, &hash[..12], a.ext)
        })
    })
}

/// The URL of the stylesheet.
pub fn stylesheet() -> String {
    format!("/assets/{}", names()[0])
}

/// The URL of the script.
pub fn script() -> String {
    format!("/assets/{}", names()[1])
}

/// `GET /assets/{file}`: an asset by its hashed name; any other name is 404.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(i) = names().iter().position(|n| *n == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let asset = &ASSETS[i];
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        assert!(stylesheet().starts_with("/assets/console."));
        assert!(stylesheet().ends_with(".css"));
        assert_ne!(names()[0], names()[1]);
    }
}
