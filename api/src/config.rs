//! Typed settings, read once from flags and environment by the command line.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ipnet::IpNet;

/// A secret whose `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

/// The shortest JWT secret accepted.
pub(crate) const MIN_SECRET_BYTES: usize = 32;

/// A fresh random key, 64 bytes of the OS's randomness, URL-safe.
fn random_key() -> String {
    let mut bytes = [0_u8; 64];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Development (the default) or production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

/// Everything the server needs to start.
/// The response cache's default bound: 64 MiB of answers.
pub const DEFAULT_RESPONSE_CACHE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone)]
pub struct Settings {
    /// Where the database is (`sqlite://…` or `postgres://…`).
    pub database_url: String,
    /// The address to listen on, `host:port` (port 0 picks a free one).
    pub listen: String,
    /// Development or production.
    pub environment: Environment,
    /// Load the Alita data set when the database is empty.
    pub seed_when_empty: bool,
    /// HTTP worker threads; the number of cores when unset.
    pub workers: Option<usize>,
    /// The key access tokens are signed with.
    pub jwt_secret: Secret,
    /// Request and sign-in rate limits.
    pub limits: Limits,
    /// Origins allowed to call the API from a browser (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` (or `Forwarded`, as configured) names the client; none by
    /// default.
    pub trusted_proxies: TrustedProxies,
    /// Redis holding the rate-limit state every process shares; per-process memory when unset.
    pub redis_url: Option<Secret>,
    /// A direct PostgreSQL URL (not through a transaction pooler) for `LISTEN` and migrations,
    /// which need a session of their own; `database_url` when unset.
    pub database_listen_url: Option<String>,
    /// `database_url` is a transaction pooler (PgBouncer `pool_mode = transaction`).
    pub database_transaction_pooler: bool,
    /// A streaming replica that query operations read from; every read goes to `database_url`
    /// when unset.
    pub database_read_url: Option<String>,
    /// How far the replica may trail the primary before reads skip it.
    pub replica_max_lag: std::time::Duration,
    /// Outgoing mail: the SMTP server, the sender, and the public address links point to.
    pub mail: MailSettings,
    /// Signing petitions and RSVPing need a verified email address.
    pub require_verified_email: bool,
    /// Seconds a shared cache (a CDN) may keep an anonymous GET answer (`Cache-Control: public,
    /// max-age=N`); 0 makes it revalidate each time (with the `ETag`).
    pub cache_max_age: u32,
    /// The in-memory cache of anonymous query answers (`FANDB_RESPONSE_CACHE`, on by default).
    pub response_cache: bool,
    /// The most bytes the response cache holds (`FANDB_RESPONSE_CACHE_BYTES`).
    pub response_cache_bytes: usize,
    /// A trusted-documents manifest (graphql-codegen's `persisted-documents.json`): only its
    /// documents run for anyone but admins. Every document runs when unset.
    pub trusted_documents: Option<PathBuf>,
    /// The bearer token `/metrics` asks for; without it, `/metrics` is open outside production and
    /// off in production (but on `metrics_listen`).
    pub metrics_token: Option<Secret>,
    /// An address of its own to serve `/metrics` on (`127.0.0.1:9100`); then the API's address
    /// serves it only with `metrics_token`.
    pub metrics_listen: Option<String>,
}

/// Where outgoing mail goes and what its links point to.
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://host:port`, `smtps://user:pass@host` (lettre's connection URL); with none,
    /// development logs each message and production refuses to send.
    pub smtp_url: Option<Secret>,
    /// The sender, e.g. `fandb <noreply@alita.example>`.
    pub from: String,
    /// The address links in mail start with (`https://alita.example`); the address the server
    /// listens on when unset.
    pub public_url: Option<String>,
    /// How much account mail one address may receive, whoever asks for it.
    pub pacing: MailPacing,
}

/// The most account mail of one kind (verification links, or password-reset links) one address
/// receives, whoever asks: a request past it is answered as usual and sends nothing. Counted in
/// the database from the links themselves, so it holds across server processes and restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailPacing {
    /// Mails of one kind to one address within any hour (at least 1).
    pub per_hour: u32,
    /// The least time between two mails of one kind to one address.
    pub min_gap: std::time::Duration,
}

impl Default for MailPacing {
    fn default() -> Self {
        Self { per_hour: 5, min_gap: std::time::Duration::from_secs(60) }
    }
}

impl MailSettings {
    /// The host of `public_url` (`alita.example`): the name this server goes by in calendar UIDs
    /// and in the `Message-ID` of its mail. `None` when it is unset (a malformed one stops start-up,
    /// see `Mailer::new`).
    pub(crate) fn public_host(&self) -> Option<String> {
        let url = url::Url::parse(self.public_url.as_deref()?.trim()).ok()?;
        url.host_str().map(str::to_owned)
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "fandb <noreply@localhost>".to_owned(),
            public_url: None,
            pacing: MailPacing::default(),
        }
    }
}

/// Rate limits; the defaults suit production, tests may raise them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Requests per second per client IP on `/graphql`, sustained.
    pub requests_per_second: u32,
    /// Requests a client IP may send at once before the sustained rate applies.
    pub request_burst: u32,
    /// Sign-in attempts (`login`, `register`) per minute per client IP.
    pub sign_ins_per_minute: u32,
    /// Login attempts without a success from one client IP on one email before each further one
    /// must wait (1 s, 2 s, 4 s … up to `max_delay`).
    pub failures_before_delay: u32,
    /// The first of the growing waits (then twice as long each time).
    pub first_delay: std::time::Duration,
    /// The longest wait between attempts from one client IP on one email.
    pub max_delay: std::time::Duration,
    /// Distinct client IPs failing on one email within `lock_duration` that lock it.
    pub lock_after_ips: u32,
    /// How long a locked email stays locked (to IPs that are not known-good), and the window in
    /// which failing IPs are counted.
    pub lock_duration: std::time::Duration,
    /// How large a GraphQL document may be: tokens, and fields and spreads once fragments expand.
    pub document: DocumentLimits,
    /// How long an IP that signed in to an email stays known-good for it (spared by its lock).
    pub known_good_duration: std::time::Duration,
    /// Operations (subscriptions, or queries sent over the socket) one WebSocket may have running.
    pub operations_per_socket: u32,
    /// WebSockets one client IP may hold open.
    pub sockets_per_ip: u32,
    /// Operations per second one WebSocket may start, sustained (past it the socket is closed).
    pub socket_operations_per_second: u32,
    /// Operations one WebSocket may start at once before the sustained rate applies.
    pub socket_operation_burst: u32,
    /// How long a client may take to send a request's headers, and again its body.
    pub request_read_timeout: std::time::Duration,
    /// Threads hashing passwords (register, login, password change, account deletion): the most CPU sign-ins may take.
    pub hash_threads: usize,
    /// Hashes that may wait for a thread; past it a sign-in is refused with a retry hint.
    pub hash_queue: usize,
}

/// Half the cores, at least one: a burst of sign-ins leaves the other half to reads.
pub(crate) fn default_hash_threads() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(2).div_ceil(2).max(1)
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            requests_per_second: 10,
            request_burst: 50,
            sign_ins_per_minute: 10,
            failures_before_delay: 5,
            first_delay: std::time::Duration::from_secs(1),
            max_delay: std::time::Duration::from_secs(15 * 60),
            lock_after_ips: 10,
            lock_duration: std::time::Duration::from_secs(15 * 60),
            document: DocumentLimits::default(),
            known_good_duration: std::time::Duration::from_secs(30 * 24 * 60 * 60),
            operations_per_socket: 20,
            sockets_per_ip: 10,
            socket_operations_per_second: 10,
            socket_operation_burst: 20,
            request_read_timeout: std::time::Duration::from_secs(10),
            hash_threads: default_hash_threads(),
            hash_queue: 64,
        }
    }
}

impl Settings {
    /// Settings for a local server on `database_url`.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            listen: "127.0.0.1:8000".to_owned(),
            environment: Environment::Development,
            seed_when_empty: true,
            workers: None,
            // A fresh random key: sessions last as long as the process, and no secret sits in code.
            jwt_secret: Secret::new(random_key()),
            limits: Limits::default(),
            cors_origins: Vec::new(),
            trusted_proxies: TrustedProxies::default(),
            redis_url: None,
            database_listen_url: None,
            database_transaction_pooler: false,
            database_read_url: None,
            replica_max_lag: std::time::Duration::from_secs(5),
            mail: MailSettings::default(),
            require_verified_email: false,
            cache_max_age: 0,
            response_cache: true,
            response_cache_bytes: DEFAULT_RESPONSE_CACHE_BYTES,
            trusted_documents: None,
            metrics_token: None,
            metrics_listen: None,
        }
    }

    /// The URL of a session of its own on the primary: for `LISTEN` and migrations.
    pub(crate) fn direct_database_url(&self) -> &str {
        self.database_listen_url.as_deref().unwrap_or(&self.database_url)
    }
}

impl fmt::Debug for Settings {
    // The database URL may hold a password: show only its scheme.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.database_url.split(':').next().unwrap_or_default();
        f.debug_struct("Settings")
            .field("database", &scheme)
            .field("listen", &self.listen)
            .field("environment", &self.environment)
            .field("seed_when_empty", &self.seed_when_empty)
            .field("workers", &self.workers)
            .field("limits", &self.limits)
            .field("cors_origins", &self.cors_origins)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("redis", &self.redis_url.is_some())
            .field("direct_listen_url", &self.database_listen_url.is_some())
            .field("transaction_pooler", &self.database_transaction_pooler)
            .field("read_replica", &self.database_read_url.is_some())
            .field("replica_max_lag", &self.replica_max_lag)
            .field("smtp", &self.mail.smtp_url.is_some())
            .field("mail_from", &self.mail.from)
            .field("public_url", &self.mail.public_url)
            .field("mail_pacing", &self.mail.pacing)
            .field("require_verified_email", &self.require_verified_email)
            .field("cache_max_age", &self.cache_max_age)
            .field("response_cache", &self.response_cache)
            .field("response_cache_bytes", &self.response_cache_bytes)
            .field("trusted_documents", &self.trusted_documents)
            .field("metrics_token", &self.metrics_token.is_some())
            .field("metrics_listen", &self.metrics_listen)
            .finish()
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("FANDB_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret,
    #[error("FANDB_ENV=production needs FANDB_JWT_SECRET (at least {MIN_SECRET_BYTES} random bytes)")]
    MissingSecret,
    #[error("FANDB_CORS_ORIGINS: `{0}` is not an origin like https://alita.example (scheme, host, optional port)")]
    CorsOrigin(String),
    #[error("FANDB_TRUSTED_PROXIES: `{0}` is not an IP address or CIDR network like 10.0.0.0/8 or ::1/128")]
    TrustedProxy(String),
    #[error("FANDB_SMTP_URL: {0}")]
    SmtpUrl(String),
    #[error("FANDB_MAIL_FROM: `{0}` is not a mailbox like `fandb <noreply@alita.example>`")]
    MailFrom(String),
    #[error("FANDB_PUBLIC_URL: `{0}` is not an http(s) URL like https://alita.example")]
    PublicUrl(String),
    #[error("FANDB_TRUSTED_DOCUMENTS: the manifest {path}: {reason}")]
    TrustedDocuments { path: PathBuf, reason: String },
    #[error("FANDB_METRICS_TOKEN must be at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -hex 32`)")]
    WeakMetricsToken,
    #[error("the development JWT secret file {path}: {source}")]
    SecretFile { path: PathBuf, source: std::io::Error },
}

/// The JWT secret: the given one if strong; in development without one, a random secret kept in
/// `.fandb-jwt-secret` beside the SQLite file (or in the working directory).
pub(crate) fn resolve_jwt_secret(
    given: Option<String>,
    environment: Environment,
    database_url: &str,
) -> Result<Secret, ConfigError> {
    if let Some(secret) = given {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::WeakSecret);
        }
        return Ok(Secret::new(secret));
    }
    if environment == Environment::Production {
        return Err(ConfigError::MissingSecret);
    }
    let path = secret_file(database_url);
    let failed = |source| ConfigError::SecretFile { path: path.clone(), source };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= MIN_SECRET_BYTES {
            return Ok(Secret::new(existing));
        }
    }
    let secret = random_key();
    write_private(&path, &secret).map_err(failed)?;
    tracing::warn!(path = %path.display(), "FANDB_JWT_SECRET is not set: generated a development secret and kept it in this file");
    Ok(Secret::new(secret))
}

/// The `/metrics` token: none when unset or blank; a short one is refused (nothing limits how
/// fast `/metrics` may be asked).
pub(crate) fn parse_metrics_token(given: Option<String>) -> Result<Option<Secret>, ConfigError> {
    match given.map(|token| token.trim().to_owned()).filter(|token| !token.is_empty()) {
        Some(token) if token.len() < MIN_SECRET_BYTES => Err(ConfigError::WeakMetricsToken),
        token => Ok(token.map(Secret::new)),
    }
}

/// The allowed CORS origins, each checked and written as browsers send it (`https://host[:port]`).
pub(crate) fn parse_cors_origins(given: &[String]) -> Result<Vec<String>, ConfigError> {
    given
        .iter()
        .map(|origin| origin.trim())
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let invalid = || ConfigError::CorsOrigin(origin.to_owned());
            let url = url::Url::parse(origin).map_err(|_| invalid())?;
            let bare = matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.path() == "/"
                && url.query().is_none()
                && url.fragment().is_none()
                && url.username().is_empty();
            if !bare {
                return Err(invalid());
            }
            Ok(url.origin().ascii_serialization())
        })
        .collect()
}

/// The trusted proxy networks, each a CIDR (`10.0.0.0/8`) or a bare address (one host).
pub fn parse_trusted_proxies(given: &[String]) -> Result<TrustedProxies, ConfigError> {
    let networks = given
        .iter()
        .map(|entry| entry.trim())
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::TrustedProxy(entry.to_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrustedProxies::new(networks))
}

fn secret_file(database_url: &str) -> PathBuf {
    let sqlite_path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .filter(|path| !path.is_empty() && *path != ":memory:");
    let directory = sqlite_path.and_then(|path| Path::new(path).parent()).filter(|dir| !dir.as_os_str().is_empty());
    directory.unwrap_or(Path::new(".")).join(".fandb-jwt-secret")
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// The configurable size limits of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentLimits {
    /// Lexical tokens in the document's text.
    pub max_tokens: usize,
    /// Field selections once every fragment spread is expanded.
    pub max_fields: u64,
    /// Fragment spreads once every fragment spread is expanded.
    pub max_spreads: u64,
}

impl Default for DocumentLimits {
    fn default() -> Self {
        Self { max_tokens: 10_000, max_fields: 2_000, max_spreads: 500 }
    }
}

/// The header trusted proxies write the client into; the other one is ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …` (nginx's `$proxy_add_x_forwarded_for`, Squid, most
    /// cloud load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1, …`.
    Forwarded,
}

/// The networks whose connections may say who the client is (none by default), and the header
/// they say it in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// The given networks, writing `X-Forwarded-For`.
    pub(crate) fn new(networks: Vec<IpNet>) -> Self {
        Self { networks: networks.into_iter().map(|network| network.trunc()).collect(), header: Default::default() }
    }

    /// The same networks, taken to write `header` (and only it).
    #[must_use]
    pub fn with_header(self, header: ForwardedHeader) -> Self {
        Self { header, ..self }
    }

    /// The header the proxies are taken to write.
    pub(crate) fn header(&self) -> ForwardedHeader {
        self.header
    }

    /// Whether `ip` is inside one of the networks.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|network| network.contains(&ip))
    }

    /// Whether no proxy is trusted.
    pub(crate) fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }
}
