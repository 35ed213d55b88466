//! Posted forms: read as name/value pairs, refused unless they carry the visitor's
//! anti-forgery token, and the API's error placed next to the field it concerns.

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::{StatusCode, header};
use maud::{Markup, html};

use super::fault::Fault;
use super::layout::CSRF_FIELD;
pub use super::layout::csrf_input;
use super::session::Visitor;
use crate::app::AppState;
use crate::error::ApiError;

/// A posted form whose anti-forgery token matched.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
    }

    /// The first value of `name` unless blank.
    pub fn some(&self, name: &str) -> Option<String> {
        Some(self.get(name)).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// Every name and value, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Builds a form from pairs (to re-render what was typed).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }
}

impl FromRequest<AppState> for Fields {
    type Rejection = Fault;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Fault> {
        let (mut parts, body) = request.into_parts();
        let visitor = Visitor::from_request_parts(&mut parts, state).await?;
        let multipart = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        let request = Request::from_parts(parts, body);
        // Bounded like every body: axum's default limit applies unless the route raises it.
        let pairs = match multipart {
            true => multipart_pairs(request, state).await?,
            false => {
                Form::<Vec<(String, String)>>::from_request(request, state)
                    .await
                    .map_err(|e| ApiError::bad_request(format!("unreadable form: {e}")))?
                    .0
            }
        };
        let token = pairs.iter().find(|(k, _)| k == CSRF_FIELD).map_or("", |(_, v)| v.as_str());
        if !visitor.csrf_matches(state, token) {
            return Err(Fault::Forged);
        }
        Ok(Fields(pairs))
    }
}

/// A `multipart/form-data` form (one with a file) as name/value pairs: a file's value is its
/// text, which must be UTF-8.
async fn multipart_pairs(request: Request, state: &AppState) -> Result<Vec<(String, String)>, Fault> {
    let unreadable = |e: &dyn std::fmt::Display| ApiError::bad_request(format!("unreadable form: {e}"));
    let mut form = Multipart::from_request(request, state).await.map_err(|e| unreadable(&e))?;
    let mut pairs = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|e| unreadable(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        let file = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|e| unreadable(&e))?;
        let value = String::from_utf8(bytes.to_vec()).map_err(|_| match &file {
            Some(file) => ApiError::bad_request(format!("{name}: {file} is not UTF-8 text")),
            None => ApiError::bad_request(format!("{name} is not UTF-8 text")),
        })?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// An error of a submitted form, placed by field.
pub struct FormError {
    /// The field (its API name) the message concerns, if one is named in it.
    pub field: Option<String>,
    pub message: String,
    /// The status the page is answered with: the operation's own.
    pub status: StatusCode,
}

impl FormError {
    /// Places `err` next to the first of `fields` (API names) its message mentions.
    pub fn place(err: &ApiError, fields: &[&str]) -> Self {
        let message = err.to_string();
        let field = fields.iter().find(|f| mentions(&message, f)).map(|f| (*f).to_string());
        Self { field, message, status: err.status() }
    }

    /// An error the console finds before asking the operation (a field it cannot read).
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.to_string()), message: message.into(), status: StatusCode::BAD_REQUEST }
    }

    /// The message if it belongs to `field`.
    pub fn at(&self, field: &str) -> Option<&str> {
        (self.field.as_deref() == Some(field)).then_some(self.message.as_str())
    }

    /// The message if it belongs to no field (shown above the form).
    pub fn general(&self) -> Option<&str> {
        self.field.is_none().then_some(self.message.as_str())
    }
}

/// Whether `message` names `field` as a word (so `name` is not found in `username`).
fn mentions(message: &str, field: &str) -> bool {
    message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| word.eq_ignore_ascii_case(field))
}

/// The message under a field, announced to screen readers with it.
pub fn field_error(error: Option<&FormError>, field: &str, id: &str) -> Markup {
    html! {
        @if let Some(message) = error.and_then(|e| e.at(field)) {
            p.field-error id=(id) role="alert" { (message) }
        }
    }
}

/// The status of a page showing `error` (200 without one).
pub fn status_of(error: Option<&FormError>) -> StatusCode {
    error.map_or(StatusCode::OK, |e| e.status)
}

/// The form-wide message.
pub fn general_error(error: Option<&FormError>) -> Markup {
    html! {
        @if let Some(message) = error.and_then(FormError::general) {
            div.alert.error role="alert" { (message) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_land_on_the_field_they_name() {
        let err = ApiError::bad_request("endpointUrl is not an absolute URL: relative URL without a base");
        let placed = FormError::place(&err, &["name", "endpointUrl"]);
        assert_eq!(placed.field.as_deref(), Some("endpointUrl"));
        let err = ApiError::conflict("a tool named get_user already exists");
        assert_eq!(FormError::place(&err, &["username"]).field, None);
    }
}
