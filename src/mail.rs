//! Outgoing mail: SMTP through lettre when `GATEHOUSE_SMTP_URL` is set; otherwise dev mode
//! writes the message to the log and enterprise mode refuses to send.

use anyhow::{Context, bail};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Where mail goes.
pub enum Mailer {
    /// A real SMTP server.
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox },
    /// No SMTP configured (or the configuration is unusable: the reason is kept).
    Unconfigured { reason: Option<String> },
}

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// There is no SMTP server to send through.
    #[error("no SMTP server is configured")]
    Unconfigured,
    /// The SMTP server refused or could not be reached.
    #[error("sending mail failed: {0}")]
    Send(String),
}

impl Mailer {
    /// Builds the mailer from the configured URL (`smtp://[user:pass@]host[:port]`).
    pub fn new(url: Option<&str>, from: &str) -> Self {
        let Some(url) = url else { return Self::Unconfigured { reason: None } };
        match build_transport(url, from) {
            Ok((transport, from)) => Self::Smtp { transport, from },
            Err(err) => {
                tracing::error!(error = %err, "GATEHOUSE_SMTP_URL is unusable; mail is disabled");
                Self::Unconfigured { reason: Some(err.to_string()) }
            }
        }
    }

    /// Whether an SMTP server is configured.
    pub fn is_configured(&self) -> bool {
        matches!(self, Self::Smtp { .. })
    }

    /// Sends a plain-text mail.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        self.send_as(None, to, subject, body).await
    }

    /// Sends a plain-text mail, with `sender_name` (if any) as the display name of the sender.
    pub async fn send_as(
        &self,
        sender_name: Option<&str>,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), MailError> {
        let Self::Smtp { transport, from } = self else {
            return Err(MailError::Unconfigured);
        };
        let mut from = from.clone();
        if let Some(name) = sender_name {
            from.name = Some(name.to_string());
        }
        let to: Mailbox = to.parse().map_err(|e| MailError::Send(format!("bad recipient: {e}")))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .body(body.to_string())
            .map_err(|e| MailError::Send(e.to_string()))?;
        transport.send(message).await.map_err(|e| MailError::Send(e.to_string()))?;
        Ok(())
    }
}

fn build_transport(url: &str, from: &str) -> anyhow::Result<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)> {
    let from: Mailbox = from.parse().context("GATEHOUSE_SMTP_FROM is not a valid mailbox")?;
    let rest = url.strip_prefix("smtp://").context("GATEHOUSE_SMTP_URL must start with smtp://")?;
    let rest = rest.split(['/', '?']).next().unwrap_or_default();
    let (userinfo, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().context("invalid SMTP port")?),
        None => (hostport, 25),
    };
    if host.is_empty() {
        bail!("GATEHOUSE_SMTP_URL has no host");
    }
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port);
    if let Some(userinfo) = userinfo {
        let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        builder = builder.credentials(Credentials::new(user.to_string(), pass.to_string()));
    }
    Ok((builder.build(), from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(build_transport("smtp://127.0.0.1:2525", "G <g@localhost>").is_ok());
        assert!(build_transport("smtp://u:p@mail.example.com", "g@example.com").is_ok());
        assert!(build_transport("http://x", "g@example.com").is_err());
        assert!(build_transport("smtp://:25", "g@example.com").is_err());
        assert!(build_transport("smtp://h:notaport", "g@example.com").is_err());
        assert!(build_transport("smtp://h", "not a mailbox").is_err());
    }
}
