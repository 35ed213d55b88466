//! The bearer token of a tool authenticated with an OAuth client-credentials grant (RFC 6749
//! § 4.4): asked for at the token endpoint (client authenticated with HTTP Basic, § 2.3.1) on
//! the first call, kept until shortly before it expires, and asked for again when the API
//! refuses it. One request at a time per tool: calls arriving meanwhile wait for its token.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use tokio::sync::Mutex;

use crate::domain::client_credentials::ClientCredentials;
use crate::outbound::{Outbound, OutboundError, Response, Target};
use crate::upstream::oauth;

/// A token is asked for again this long before it expires, so none is sent about to lapse.
const EARLY: Duration = Duration::from_secs(30);
/// How long a token without `expires_in` is kept (the API saying 401 ends it sooner).
const UNSTATED: Duration = Duration::from_secs(300);

/// Where a tool gets its token, and the token it holds.
pub struct TokenSource {
    grant: ClientCredentials,
    client_secret: String,
    held: Mutex<Option<Held>>,
}

/// The grant only: the client's secret and the token stay out of any debug output.
impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource").field("grant", &self.grant).finish_non_exhaustive()
    }
}

struct Held {
    header: HeaderValue,
    until: Instant,
}

impl TokenSource {
    pub fn new(grant: ClientCredentials, client_secret: String) -> Self {
        Self { grant, client_secret, held: Mutex::new(None) }
    }

    /// `Bearer <token>`: the one held, or a new one from the token endpoint. The error says why
    /// none could be had (the endpoint's OAuth error, never the secret).
    pub async fn authorization(&self, outbound: &Outbound) -> Result<HeaderValue, String> {
        let mut held = self.held.lock().await;
        if let Some(token) = held.as_ref().filter(|t| t.until > Instant::now()) {
            return Ok(token.header.clone());
        }
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.grant.scope {
            form.push(("scope", scope));
        }
        let answer = oauth::token(
            outbound,
            &self.grant.token_url,
            &form,
            Some((&self.grant.client_id, &self.client_secret)),
        )
        .await
        .map_err(|e| format!("the OAuth token could not be had: {e}"))?;
        let mut header = HeaderValue::try_from(format!("Bearer {}", answer.access_token))
            .map_err(|_| "the OAuth token cannot be sent in a header".to_owned())?;
        header.set_sensitive(true);
        let lifetime = answer
            .expires_in
            .and_then(|s| u64::try_from(s).ok())
            .map_or(UNSTATED, Duration::from_secs)
            .saturating_sub(EARLY);
        *held = Some(Held { header: header.clone(), until: Instant::now() + lifetime });
        Ok(header)
    }

    /// Forgets `refused`, a token the API answered 401 to (unless another call has replaced it
    /// already), so that the next call asks for a new one.
    pub async fn refused(&self, refused: &HeaderValue) {
        let mut held = self.held.lock().await;
        if held.as_ref().is_some_and(|t| t.header == *refused) {
            *held = None;
        }
    }
}

/// Sends a tool's request with the token of `tokens`; when the API answers 401, the token is
/// forgotten and the request sent once more with a new one (it may have been revoked early).
pub(super) async fn send(
    outbound: &Outbound,
    tokens: &TokenSource,
    target: &Target,
    path: String,
    mut extra: HeaderMap,
    body: Bytes,
    timeout: Duration,
) -> Result<Response, OutboundError> {
    let authorization = tokens.authorization(outbound).await.map_err(OutboundError::Failed)?;
    let mut first = extra.clone();
    first.insert(header::AUTHORIZATION, authorization.clone());
    let answer = outbound.send_to(target, path.clone(), first, body.clone(), Some(timeout)).await?;
    if answer.status() != http::StatusCode::UNAUTHORIZED {
        return Ok(answer);
    }
    tokens.refused(&authorization).await;
    let authorization = tokens.authorization(outbound).await.map_err(OutboundError::Failed)?;
    extra.insert(header::AUTHORIZATION, authorization);
    outbound.send_to(target, path, extra, body, Some(timeout)).await
}
