//! One-time codes as both sign-ins use them (a platform user's, `login.rs`; a server's end
//! user's, `end_user_auth.rs`): six digits mailed, kept only as an HMAC bound to whom they are
//! for, burnt after [`MAX_ATTEMPTS`] wrong guesses, good once. Each sign-in keeps its codes in
//! a table of its own; what is done with a code is written here once.

use async_trait::async_trait;

use crate::config::Mode;
use crate::crypto::{self, MasterKey};
use crate::error::{ApiError, ApiResult};
use crate::mail::{MailError, Mailer};
use crate::store::StoreResult;

/// Wrong guesses before a code is burnt.
pub const MAX_ATTEMPTS: i64 = 5;

/// A new code: six random digits.
pub fn new_code() -> String {
    crypto::new_otp_code()
}

/// What is kept of `code`: an HMAC under the master key, bound by `purpose` to one kind of
/// sign-in and by `bound` to whom it was sent (and where).
pub fn keyed(master_key: &MasterKey, purpose: &str, bound: &str, code: &str) -> String {
    master_key.keyed_hash(purpose, format!("{bound}:{code}").as_bytes())
}

/// A code as typed, which must be six digits (400 otherwise).
pub fn read(code: &str) -> ApiResult<&str> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request("code must be six digits"));
    }
    Ok(code)
}

/// The one answer to a code that is wrong, used, expired or burnt.
pub fn invalid() -> ApiError {
    ApiError::Unauthorized("invalid or expired code".into())
}

/// Where one kind of code is kept: what a redemption records there.
#[async_trait]
pub trait CodeBook: Send + Sync {
    /// Counts a wrong guess at the code `id`; the guesses so far.
    async fn wrong_guess(&self, id: &str) -> StoreResult<i64>;
    /// Marks the code used; `false` if it already was (another request redeemed it first).
    async fn consume(&self, id: &str, now: i64) -> StoreResult<bool>;
}

/// Redeems the active code `id`, kept as `kept`, with the HMAC of what was typed: a wrong
/// guess is counted (and the code burnt at [`MAX_ATTEMPTS`]); a right one uses the code up.
pub async fn redeem(book: &dyn CodeBook, id: &str, kept: &str, typed: &str, now: i64) -> ApiResult<()> {
    if !crypto::constant_time_eq(kept, typed) {
        if book.wrong_guess(id).await? >= MAX_ATTEMPTS {
            book.consume(id, now).await?;
        }
        return Err(invalid());
    }
    if !book.consume(id, now).await? {
        return Err(invalid());
    }
    Ok(())
}

/// A code's mail. In dev mode without SMTP the code is written to the log instead, so a local
/// instance can be signed in to; elsewhere a mail that cannot go is 503 `mail_unavailable`.
pub struct CodeMail<'a> {
    pub to: &'a str,
    pub sender_name: Option<&'a str>,
    pub subject: &'a str,
    pub body: String,
    pub code: &'a str,
}

/// Sends a code's mail (see [`CodeMail`]).
pub async fn send(mailer: &Mailer, mode: Option<Mode>, mail: CodeMail<'_>) -> ApiResult<()> {
    let unavailable =
        |message: &str| ApiError::Unavailable { code: "mail_unavailable", message: message.into() };
    match mailer.send_as(mail.sender_name, mail.to, mail.subject, &mail.body).await {
        Ok(()) => Ok(()),
        Err(MailError::Unconfigured) if mode == Some(Mode::Dev) => {
            tracing::warn!(email = %mail.to, code = %mail.code, "dev mode without SMTP: the code is written to the log");
            Ok(())
        }
        Err(MailError::Unconfigured) => Err(unavailable("no SMTP server is configured (GATEHOUSE_SMTP_URL)")),
        Err(err) => {
            tracing::error!(error = %err, "could not send a one-time code");
            Err(unavailable("the code could not be sent"))
        }
    }
}
