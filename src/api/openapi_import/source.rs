//! Where an import's documents come from: text given in the request, or a URL fetched through
//! the outbound network policy with the files its references name beside it (same origin only).

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::openapi::{self, MAX_FILES, MAX_SET_BYTES, Options, Selection};
use crate::outbound::{Method, Outbound};

/// How long fetching one file of a document may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// Which operations to import (each list optional; none given: all).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectInput {
    /// Operations with any of these tags.
    #[serde(default)]
    #[schemars(length(max = 200))]
    tags: Vec<String>,
    /// Operations whose path matches a pattern (`*` within a segment, `**` across).
    #[serde(default)]
    #[schemars(length(max = 200))]
    paths: Vec<String>,
    /// Operations by `operationId` or tool name.
    #[serde(default)]
    #[schemars(length(max = 5000))]
    operations: Vec<String>,
}

/// An OpenAPI 3.0 or 3.1 document to import: its text, or the URL it is published at.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImportSource {
    /// The document (JSON or YAML), pasted or uploaded.
    #[schemars(length(max = 16_777_216))]
    document: Option<String>,
    /// Other files the document references by relative path (`schemas/pet.yaml`), by that path.
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// Where the document is published, fetched through the outbound network policy; files its
    /// references name beside it are fetched too (same origin, at most 200).
    #[schemars(length(max = 2048), pattern(r"^https?://"))]
    url: Option<String>,
    /// The API's base URL, instead of the document's `servers`.
    #[schemars(length(max = 2048), pattern(r"^https?://"))]
    base_url: Option<String>,
    /// Which operations become tools.
    #[serde(default)]
    select: SelectInput,
}

impl ImportSource {
    /// The document an import was made from, fetched again from its URL with the same base URL
    /// and selection (`selection` as stored: `{tags, paths, operations}`).
    pub fn again(url: String, base_url: Option<String>, selection: &Value) -> Self {
        let list = |key: &str| -> Vec<String> {
            selection
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        Self {
            document: None,
            files: BTreeMap::new(),
            url: Some(url),
            base_url,
            select: SelectInput { tags: list("tags"), paths: list("paths"), operations: list("operations") },
        }
    }

    /// The planner's options for this source.
    pub fn options(&self) -> ApiResult<Options> {
        for pattern in &self.select.paths {
            openapi::valid_pattern(pattern)
                .map_err(|e| ApiError::unprocessable(format!("select.paths: {e}")))?;
        }
        Ok(Options {
            base_url: self.base_url.clone(),
            source_url: self.url.clone(),
            selection: Selection {
                tags: self.select.tags.clone(),
                paths: self.select.paths.clone(),
                operations: self.select.operations.clone(),
            },
        })
    }

    /// The document set: parsed from the request, or fetched.
    pub async fn load(&self, outbound: &Outbound) -> ApiResult<openapi::DocumentSet> {
        let files = match (&self.document, &self.url) {
            (Some(_), Some(_)) => return Err(ApiError::unprocessable("give a document or a url, not both")),
            (None, None) => {
                return Err(ApiError::unprocessable("give the document, or the url it is published at"));
            }
            (Some(text), None) => {
                if self.files.len() + 1 > MAX_FILES {
                    return Err(ApiError::unprocessable(format!(
                        "a document set has at most {MAX_FILES} files"
                    )));
                }
                let mut files = vec![("openapi".to_owned(), parse("openapi", text)?)];
                for (name, text) in &self.files {
                    files.push((name.clone(), parse(name, text)?));
                }
                files
            }
            (None, Some(url)) => fetch(outbound, url).await?,
        };
        openapi::DocumentSet::from_parsed(files).map_err(unprocessable)
    }
}

fn parse(name: &str, text: &str) -> ApiResult<Value> {
    openapi::parse_file(name, text).map_err(unprocessable)
}

/// A document that cannot be imported: 422, naming the place.
pub fn unprocessable(e: openapi::ImportError) -> ApiError {
    ApiError::Unprocessable(e.to_string())
}

/// The document at `url` and the files its references name, each named by its path on the
/// origin (so that relative references resolve as they do there).
async fn fetch(outbound: &Outbound, url: &str) -> ApiResult<Vec<(String, Value)>> {
    let root = url::Url::parse(url).map_err(|e| ApiError::unprocessable(format!("url: {e}")))?;
    if !matches!(root.scheme(), "http" | "https") || root.host_str().is_none() {
        return Err(ApiError::unprocessable("url must be http(s) with a host"));
    }
    let origin = root.origin().ascii_serialization();
    let name_of = |u: &url::Url| u.path().trim_start_matches('/').to_owned();
    let mut pending = vec![(name_of(&root), root.clone())];
    let mut files: Vec<(String, Value)> = Vec::new();
    let mut tried = std::collections::HashSet::new();
    let mut total = 0usize;
    while let Some((name, at)) = pending.pop() {
        if !tried.insert(name.clone()) {
            continue;
        }
        if tried.len() > MAX_FILES {
            return Err(ApiError::unprocessable(format!(
                "the document references more than {MAX_FILES} files"
            )));
        }
        let text = match fetch_one(outbound, at.as_str(), MAX_SET_BYTES.saturating_sub(total)).await {
            Ok(text) => text,
            Err(e) if files.is_empty() => return Err(e),
            // A referenced file that cannot be had: the operations that need it are skipped,
            // saying which file is missing.
            Err(_) => continue,
        };
        total += text.len();
        let value = parse(&name, &text)?;
        for other in openapi::referenced_files(&name, &value) {
            if let Ok(next) = url::Url::parse(&format!("{origin}/{other}")) {
                pending.push((other, next));
            }
        }
        files.push((name, value));
    }
    Ok(files)
}

async fn fetch_one(outbound: &Outbound, url: &str, limit: usize) -> ApiResult<String> {
    let refused = |why: String| ApiError::unprocessable(format!("fetching {url}: {why}"));
    let request = outbound
        .request(Method::GET, url)
        .map_err(|e| refused(e.to_string()))?
        .header(http::header::ACCEPT, "application/yaml, application/json;q=0.9, */*;q=0.5")
        .timeout(FETCH_TIMEOUT);
    let response = outbound.send(request).await.map_err(|e| refused(e.to_string()))?;
    if response.status() != 200 {
        return Err(refused(format!("it answered HTTP {}", response.status().as_u16())));
    }
    let bytes = response.read_limited(limit).await.map_err(|e| refused(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| refused("it is not UTF-8 text".into()))
}
