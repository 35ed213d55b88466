//! How the console answers when a page cannot be shown: a redirect to sign in, a refused
//! forgery, or the API's own error as a page with the same status and message.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::html;

use super::layout;
use crate::error::ApiError;

/// A console request that ends without its page.
#[derive(Debug)]
pub enum Fault {
    /// Not signed in: go to the sign-in page.
    SignIn,
    /// A state change without this origin's anti-forgery token.
    Forged,
    /// What the operation answered.
    Api(ApiError),
}

impl From<ApiError> for Fault {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        match self {
            Fault::SignIn => (StatusCode::SEE_OTHER, [(header::LOCATION, "/sign-in")]).into_response(),
            Fault::Forged => page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form did not come from a Gatehouse page of this browser, or it has expired. \
                 Go back, reload the page and try again.",
            ),
            Fault::Api(ApiError::NotInitialized) => page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Gatehouse is not set up yet",
                "Initialise it first: POST /init (see the README), or start it with --dev.",
            ),
            Fault::Api(err) => {
                if let ApiError::Internal(inner) = &err {
                    tracing::error!(error = ?inner, "internal error rendering a console page");
                }
                let title = match err.status() {
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::UNAUTHORIZED => "Sign in again",
                    _ => "Something went wrong",
                };
                page(err.status(), title, &err.to_string())
            }
        }
    }
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        main.narrow #main {
            h1 { (title) }
            p.lead { (message) }
            p { a href="/" { "Back to the console" } }
        }
    };
    (status, Html(layout::bare(title, body).into_string())).into_response()
}
