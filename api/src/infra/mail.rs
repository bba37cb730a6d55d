//! Outgoing mail: verification and password-reset messages, sent over SMTP (lettre) in the
//! background so a request never waits on the mail server. With no SMTP server configured,
//! development writes each message to the log instead, and production refuses to send (the
//! mutations that need mail answer `MAIL_NOT_CONFIGURED`).
//!
//! Each message carries `Date`, `MIME-Version` and a `Message-ID` of this site's domain.
//!
//! Nothing here knows about accounts: the domain hands over a finished `Letter`.

use lettre::message::{Mailbox, Message, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{ConfigError, Environment, MailPacing, MailSettings};

/// One message to one user.
pub(crate) struct Letter {
    /// The recipient's id, for the log (never their address).
    pub(crate) user_id: i64,
    /// The recipient's address.
    pub(crate) to: String,
    pub(crate) subject: String,
    /// Plain text.
    pub(crate) body: String,
}

/// Why a message cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MailError {
    /// Production without `FANDB_SMTP_URL`.
    #[error("outgoing mail is not configured on this server")]
    NotConfigured,
}

/// Where messages go.
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without SMTP: the message, link included, goes to the log.
    Log,
    /// Production without SMTP: nothing can be sent.
    Off,
}

/// The configured way out for mail, shared by every request.
pub(crate) struct Mailer {
    from: Mailbox,
    public_url: String,
    /// The right-hand side of each `Message-ID`: `FANDB_PUBLIC_URL`'s host, else the sender's domain.
    message_id_domain: String,
    transport: Transport,
    pacing: MailPacing,
}

impl Mailer {
    /// The mailer of `settings`; links start with `settings.public_url`, or `listening`
    /// (`http://host:port` of this server) when it is unset.
    pub(crate) fn new(settings: &MailSettings, environment: Environment, listening: &str) -> Result<Self, ConfigError> {
        let from = settings.from.parse::<Mailbox>().map_err(|_| ConfigError::MailFrom(settings.from.clone()))?;
        let message_id_domain = settings.public_host().unwrap_or_else(|| from.email.domain().to_owned());
        let public_url = match &settings.public_url {
            Some(url) => parse_public_url(url)?,
            None => listening.trim_end_matches('/').to_owned(),
        };
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|_| {
                        ConfigError::SmtpUrl(
                            "not an SMTP URL like smtp://host:port or smtps://user:password@host".to_owned(),
                        )
                    })?
                    .build(),
            ),
            None if environment == Environment::Production => Transport::Off,
            None => Transport::Log,
        };
        Ok(Self { from, public_url, message_id_domain, transport, pacing: settings.pacing })
    }

    /// Whether a message can be sent (or, in development, logged).
    pub(crate) fn check_ready(&self) -> Result<(), MailError> {
        match self.transport {
            Transport::Off => Err(MailError::NotConfigured),
            Transport::Smtp(_) | Transport::Log => Ok(()),
        }
    }

    /// A sentence for the start-up log saying where mail goes.
    pub(crate) fn describe(&self) -> &'static str {
        match self.transport {
            Transport::Smtp(_) => "mail is sent through FANDB_SMTP_URL",
            Transport::Log => "FANDB_SMTP_URL is not set: mail is written to the log (development)",
            Transport::Off => {
                "FANDB_SMTP_URL is not set: no mail can be sent, so email verification and password reset are refused (MAIL_NOT_CONFIGURED)"
            }
        }
    }

    /// How much account mail one address may receive (the domain counts what was sent).
    pub(crate) fn pacing(&self) -> MailPacing {
        self.pacing
    }

    /// The public link to `path` carrying `token`.
    pub(crate) fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.public_url)
    }

    /// Sends `letter` in the background; a failure is logged (without the message).
    pub(crate) fn send(&self, letter: Letter) {
        match &self.transport {
            Transport::Smtp(smtp) => {
                let user_id = letter.user_id;
                let message = match self.message(letter) {
                    Ok(message) => message,
                    Err(error) => {
                        tracing::warn!(user.id = user_id, %error, "a message could not be built: not sent");
                        return;
                    }
                };
                let smtp = smtp.clone();
                tokio::spawn(async move {
                    match smtp.send(message).await {
                        Ok(_) => tracing::info!(user.id = user_id, "mail sent"),
                        Err(error) => tracing::warn!(
                            user.id = user_id,
                            transient = error.is_transient(),
                            "mail could not be sent: {}",
                            error_kind(&error)
                        ),
                    }
                });
            }
            Transport::Log => tracing::info!(
                user.id = letter.user_id,
                mail.subject = %letter.subject,
                mail.body = %letter.body,
                "FANDB_SMTP_URL is not set (development): this message was not sent"
            ),
            Transport::Off => {
                tracing::warn!(user.id = letter.user_id, "no mail can be sent: FANDB_SMTP_URL is not set")
            }
        }
    }

    /// The message of `letter`, with the headers spam filters look for: `Date`, a `Message-ID` of
    /// this site's domain (rather than one a relay makes up, or none), and `MIME-Version` with a
    /// UTF-8 `text/plain` part.
    fn message(&self, letter: Letter) -> Result<Message, String> {
        let to = letter.to.parse::<Mailbox>().map_err(|_| "the recipient is not a mailbox".to_owned())?;
        let unique: String = std::iter::repeat_with(fastrand::alphanumeric).take(32).collect();
        Message::builder()
            .message_id(Some(format!("<{unique}@{}>", self.message_id_domain)))
            .date_now()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject)
            .singlepart(SinglePart::plain(letter.body))
            .map_err(|error| error.to_string())
    }
}

/// What kind of SMTP failure it was, without the server's reply (which may quote the recipient).
fn error_kind(error: &lettre::transport::smtp::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_tls() {
        "TLS failed"
    } else if error.is_permanent() {
        "the server refused it"
    } else if error.is_transient() {
        "the server deferred it"
    } else if error.is_response() {
        "the server's reply was not understood"
    } else {
        "the connection failed"
    }
}

/// `https://host[:port][/path]`, without a trailing slash.
fn parse_public_url(given: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::PublicUrl(given.to_owned());
    let url = url::Url::parse(given.trim()).map_err(|_| invalid())?;
    let usable = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty();
    if !usable {
        return Err(invalid());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}
