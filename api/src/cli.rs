//! The `fandb` command line: `serve` (the default), `migrate`, `seed`, `import`, `create-admin`,
//! `audit prune`, `export-schema`, `backup`, `restore`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use entity::enums::Role;

use crate::commands::{import, seed, synthetic};
use crate::config::{Environment, Limits, Settings, parse_cors_origins, parse_trusted_proxies, resolve_jwt_secret};
use crate::domain::accounts;
use crate::infra::db;
use crate::startup::{Application, StartupError};
use crate::{graphql, telemetry};

/// fandb: a GraphQL fan-database API (the #AlitaArmy data set built in).
#[derive(Debug, Parser)]
#[command(name = "fandb", version, about)]
pub struct Cli {
    /// Database URL: sqlite://FILE?mode=rwc or postgres://USER:PASSWORD@HOST/DB.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://fandb.sqlite?mode=rwc",
        global = true,
        hide_env_values = true
    )]
    database_url: String,
    /// Address to listen on.
    #[arg(long, env = "FANDB_LISTEN", default_value = "127.0.0.1:8000", global = true)]
    listen: String,
    /// development or production.
    #[arg(long = "env", env = "FANDB_ENV", value_enum, default_value = "development", global = true)]
    environment: Environment,
    /// The key access tokens are signed with (at least 32 bytes); generated in development.
    #[arg(long, env = "FANDB_JWT_SECRET", global = true, hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Log lines as text or JSON.
    #[arg(long, env = "FANDB_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    log_format: telemetry::LogFormat,
    #[command(flatten)]
    limits: LimitArgs,
    /// Browser origins allowed to call the API (CORS), comma-separated, e.g. https://alita.example.
    #[arg(long, env = "FANDB_CORS_ORIGINS", value_delimiter = ',', global = true)]
    cors_origins: Vec<String>,
    /// Proxies (CIDRs or addresses, comma-separated, e.g. 10.0.0.0/8,::1) whose
    /// FANDB_FORWARDED_HEADER names the client; from any other peer the header is ignored.
    #[arg(long, env = "FANDB_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    trusted_proxies: Vec<String>,
    /// The header the trusted proxies write the client into (appending the peer they saw); the
    /// other one is ignored, since a proxy passes it through from the client unchanged.
    #[arg(long, env = "FANDB_FORWARDED_HEADER", value_enum, default_value = "x-forwarded-for", global = true)]
    forwarded_header: crate::config::ForwardedHeader,
    /// Redis shared by every fandb process behind one load balancer (redis://host:port/db): the
    /// request and sign-in budgets and the failed-login delays and locks live there; per-process
    /// memory when unset.
    #[arg(long, env = "FANDB_REDIS_URL", global = true, hide_env_values = true)]
    redis_url: Option<String>,
    /// A direct PostgreSQL URL for LISTEN and migrations, when DATABASE_URL points at a
    /// transaction pooler such as PgBouncer; DATABASE_URL when unset.
    #[arg(long, env = "FANDB_DATABASE_LISTEN_URL", global = true, hide_env_values = true)]
    database_listen_url: Option<String>,
    /// DATABASE_URL is a transaction-pooling PgBouncer: no prepared statements outlive a
    /// transaction, and no session options are sent (set FANDB_DATABASE_LISTEN_URL too).
    #[arg(long, env = "FANDB_DATABASE_TRANSACTION_POOLER", global = true)]
    database_transaction_pooler: bool,
    /// A PostgreSQL streaming replica that query operations read from (mutations, `me` and
    /// subscriptions stay on the primary, and a client reads its own writes).
    #[arg(long, env = "FANDB_DATABASE_READ_URL", global = true, hide_env_values = true)]
    database_read_url: Option<String>,
    /// Seconds the replica may trail the primary before reads skip it.
    #[arg(long, env = "FANDB_REPLICA_MAX_LAG", default_value_t = 5.0, global = true)]
    replica_max_lag: f64,
    /// Seconds a shared cache (a CDN) may keep an anonymous GET /graphql answer
    /// (Cache-Control: public, max-age=N); 0 revalidates each time with the ETag.
    #[arg(long, env = "FANDB_CACHE_MAX_AGE", default_value_t = 0, global = true)]
    cache_max_age: u32,
    /// The in-memory cache of anonymous query answers, dropped on every change to public data
    /// (`on` or `off`).
    #[arg(long, env = "FANDB_RESPONSE_CACHE", default_value = "on", value_parser = parse_switch, global = true)]
    response_cache: bool,
    /// The most bytes of answers the response cache holds (the oldest go first).
    #[arg(long, env = "FANDB_RESPONSE_CACHE_BYTES", default_value_t = crate::config::DEFAULT_RESPONSE_CACHE_BYTES, global = true)]
    response_cache_bytes: usize,
    /// A trusted-documents manifest (graphql-codegen's persisted-documents.json, hash → document):
    /// only its documents run for anyone but admins.
    #[arg(long, env = "FANDB_TRUSTED_DOCUMENTS", global = true)]
    trusted_documents: Option<std::path::PathBuf>,
    /// The bearer token GET /metrics asks for (at least 32 bytes). Without it /metrics is open
    /// outside production and off (404) in production, but on FANDB_METRICS_LISTEN.
    #[arg(long, env = "FANDB_METRICS_TOKEN", global = true, hide_env_values = true)]
    metrics_token: Option<String>,
    /// An address of its own for GET /metrics (e.g. 127.0.0.1:9100, reachable by the scraper
    /// only); the API's address then serves it only with FANDB_METRICS_TOKEN.
    #[arg(long, env = "FANDB_METRICS_LISTEN", global = true)]
    metrics_listen: Option<String>,
    #[command(flatten)]
    mail: MailArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Outgoing mail (verification and password-reset links).
#[derive(Debug, clap::Args)]
struct MailArgs {
    /// The SMTP server mail goes through: smtp://host:port (plain), smtp://user:pass@host:587?tls=required
    /// (STARTTLS) or smtps://user:pass@host (TLS). Unset: development logs each message, production
    /// sends none (and refuses verification and password reset).
    #[arg(long, env = "FANDB_SMTP_URL", global = true, hide_env_values = true)]
    smtp_url: Option<String>,
    /// The sender of that mail.
    #[arg(long, env = "FANDB_MAIL_FROM", default_value = "fandb <noreply@localhost>", global = true)]
    mail_from: String,
    /// The public address links in mail start with (https://alita.example); the listening address
    /// when unset.
    #[arg(long, env = "FANDB_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// Signing petitions and RSVPing need a verified email address (FORBIDDEN until then).
    #[arg(long, env = "FANDB_REQUIRE_VERIFIED_EMAIL", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    require_verified_email: bool,
    /// Verification mails, and separately password-reset mails, one address may receive within an
    /// hour, whoever asks; further requests are answered as usual and send nothing.
    #[arg(long, env = "FANDB_MAILS_PER_ADDRESS_PER_HOUR", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    mails_per_address_per_hour: u32,
    /// The least time, in seconds, between two such mails of one kind to one address.
    #[arg(long, env = "FANDB_MAIL_GAP_SECONDS", default_value_t = 60, global = true)]
    mail_gap_seconds: u64,
}

/// Rate limits (the defaults suit production).
#[derive(Debug, clap::Args)]
struct LimitArgs {
    /// Sustained requests per second per client IP on /graphql.
    #[arg(long, env = "FANDB_RATE_LIMIT_PER_SECOND", default_value_t = 10, global = true)]
    rate_limit_per_second: u32,
    /// Requests a client IP may send in a burst.
    #[arg(long, env = "FANDB_RATE_LIMIT_BURST", default_value_t = 50, global = true)]
    rate_limit_burst: u32,
    // The help names the operations from the one list the budget is spent by.
    #[arg(long, env = "FANDB_SIGN_INS_PER_MINUTE", default_value_t = 10, global = true, help = sign_ins_help())]
    sign_ins_per_minute: u32,
    /// Login attempts from one IP on one email, without a success, before each further one waits
    /// 1 s, 2 s, 4 s …
    #[arg(long, env = "FANDB_LOGIN_DELAY_AFTER", default_value_t = 5, global = true)]
    login_delay_after: u32,
    /// The first wait, in seconds, once an IP reaches the delays on an email (then 2×, 4× …).
    #[arg(long, env = "FANDB_LOGIN_FIRST_DELAY_SECONDS", default_value_t = 1, global = true)]
    login_first_delay_seconds: u64,
    /// The longest wait, in seconds, between login attempts from one IP on one email.
    #[arg(long, env = "FANDB_LOGIN_MAX_DELAY_SECONDS", default_value_t = 900, global = true)]
    login_max_delay_seconds: u64,
    /// Distinct IPs failing on one email within the lock window that lock it (except to known-good
    /// IPs).
    #[arg(long, env = "FANDB_LOGIN_LOCK_AFTER_IPS", default_value_t = 10, global = true)]
    login_lock_after_ips: u32,
    /// Minutes a locked email stays locked, and the window failing IPs are counted in.
    #[arg(long, env = "FANDB_LOGIN_LOCK_MINUTES", default_value_t = 15, global = true)]
    login_lock_minutes: u64,
    /// The most lexical tokens a GraphQL document may have.
    #[arg(long, env = "FANDB_MAX_DOCUMENT_TOKENS", default_value_t = 10_000, global = true)]
    max_document_tokens: usize,
    /// The most field selections a document may make once its fragments are expanded.
    #[arg(long, env = "FANDB_MAX_DOCUMENT_FIELDS", default_value_t = 2_000, global = true)]
    max_document_fields: u64,
    /// The most fragment spreads a document may make once its fragments are expanded.
    #[arg(long, env = "FANDB_MAX_FRAGMENT_SPREADS", default_value_t = 500, global = true)]
    max_fragment_spreads: u64,
    /// Days an IP that signed in to an email stays known-good for it (spared by its lock).
    #[arg(long, env = "FANDB_LOGIN_KNOWN_GOOD_DAYS", default_value_t = 30, global = true)]
    login_known_good_days: u64,
    /// Operations one WebSocket may have running at once.
    #[arg(long, env = "FANDB_OPERATIONS_PER_SOCKET", default_value_t = 20, global = true)]
    operations_per_socket: u32,
    /// WebSockets one client IP may hold open.
    #[arg(long, env = "FANDB_SOCKETS_PER_IP", default_value_t = 10, global = true)]
    sockets_per_ip: u32,
    /// Sustained operations per second one WebSocket may start.
    #[arg(long, env = "FANDB_SOCKET_OPERATIONS_PER_SECOND", default_value_t = 10, global = true)]
    socket_operations_per_second: u32,
    /// Operations one WebSocket may start in a burst.
    #[arg(long, env = "FANDB_SOCKET_OPERATION_BURST", default_value_t = 20, global = true)]
    socket_operation_burst: u32,
    /// Seconds a client may take to send a request's headers, and again its body.
    #[arg(long, env = "FANDB_REQUEST_READ_TIMEOUT_SECONDS", default_value_t = 10, global = true)]
    request_read_timeout_seconds: u64,
    /// Threads hashing passwords (the most CPU sign-ins may take); half the cores when unset.
    #[arg(long, env = "FANDB_HASH_THREADS", value_parser = clap::value_parser!(u16).range(1..), global = true)]
    hash_threads: Option<u16>,
    /// Password hashes that may wait for a thread before sign-ins are refused (RATE_LIMITED).
    #[arg(long, env = "FANDB_HASH_QUEUE", default_value_t = 64, global = true)]
    hash_queue: u16,
}

/// `--sign-ins-per-minute`'s help, naming every operation that spends the budget.
fn sign_ins_help() -> String {
    format!(
        "Sign-in attempts per minute per client IP, spent by each of these operations: {}",
        crate::limits::sign_in::sign_in_operation_list(", ", ", ")
    )
}

impl From<LimitArgs> for Limits {
    fn from(args: LimitArgs) -> Self {
        Self {
            requests_per_second: args.rate_limit_per_second,
            request_burst: args.rate_limit_burst,
            sign_ins_per_minute: args.sign_ins_per_minute,
            document: crate::config::DocumentLimits {
                max_tokens: args.max_document_tokens,
                max_fields: args.max_document_fields,
                max_spreads: args.max_fragment_spreads,
            },
            failures_before_delay: args.login_delay_after,
            first_delay: std::time::Duration::from_secs(args.login_first_delay_seconds),
            max_delay: std::time::Duration::from_secs(args.login_max_delay_seconds),
            lock_after_ips: args.login_lock_after_ips,
            lock_duration: std::time::Duration::from_secs(args.login_lock_minutes.saturating_mul(60)),
            known_good_duration: std::time::Duration::from_secs(
                args.login_known_good_days.saturating_mul(24 * 60 * 60),
            ),
            operations_per_socket: args.operations_per_socket,
            sockets_per_ip: args.sockets_per_ip,
            socket_operations_per_second: args.socket_operations_per_second,
            socket_operation_burst: args.socket_operation_burst,
            request_read_timeout: std::time::Duration::from_secs(args.request_read_timeout_seconds),
            hash_threads: args.hash_threads.map_or_else(crate::config::default_hash_threads, usize::from),
            hash_queue: usize::from(args.hash_queue),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate, load the data set into an empty database, and serve GraphQL (the default).
    Serve {
        /// Do not load the Alita data set into an empty database.
        #[arg(long)]
        no_seed: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Load a data file (the Alita data set by default); records that exist are left alone.
    Seed {
        /// A JSON data file in the format of data/alita.json.
        #[arg(long, conflicts_with = "synthetic")]
        file: Option<PathBuf>,
        /// Load deterministic synthetic data for benchmarks instead (into an empty database).
        #[arg(long)]
        synthetic: bool,
        /// With --synthetic: 1 is 2,000 films, 20,000 people, 100,000 credits, 50,000 quotes,
        /// 10,000 events, 1,000 petitions, 50,000 users and 500,000 signatures.
        #[arg(long, default_value_t = 1.0, requires = "synthetic")]
        scale: f64,
    },
    /// Import films, people, credits, quotes, events and petitions from JSON (the data file
    /// format) or NDJSON (one `{"film": {…}}` record a line): validated like the mutations,
    /// upserted by slug, all or nothing.
    Import {
        /// The file to import.
        file: PathBuf,
    },
    /// Create an admin account (the password from FANDB_ADMIN_PASSWORD, else typed at a hidden
    /// prompt, or read as one line from standard input when it is not a terminal).
    CreateAdmin {
        /// The admin's sign-in email.
        #[arg(long)]
        email: String,
        /// The admin's shown name.
        #[arg(long)]
        display_name: String,
    },
    /// Look after the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Copy the database into FILE while servers keep using it: SQLite with VACUUM INTO, checked
    /// with integrity_check; PostgreSQL with pg_dump --format=custom (pg_dump must be on PATH).
    /// Written to a temporary file beside FILE and renamed into place once checked; the file is
    /// readable by its owner only. An existing FILE is refused unless --force.
    Backup {
        /// Where to write the backup.
        file: PathBuf,
        /// Replace FILE if it exists (only with a copy that passed its check).
        #[arg(long)]
        force: bool,
    },
    /// Replace the database with a backup made by `fandb backup`, then apply pending migrations.
    /// The file is checked first (SQLite: integrity_check and fandb's migrations table; PostgreSQL:
    /// pg_restore --list). A database holding any row is refused unless --force. On SQLite, a
    /// database another process has open (a running server) is refused even with --force: stop
    /// the servers first. PostgreSQL restores with pg_restore --clean --if-exists --no-owner in one
    /// transaction.
    Restore {
        /// The backup to restore.
        file: PathBuf,
        /// Replace a database that holds data.
        #[arg(long)]
        force: bool,
    },
    /// Write the GraphQL schema (SDL) to PATH.
    ExportSchema {
        /// Where to write it.
        #[arg(default_value = "schema.graphql")]
        path: PathBuf,
    },
}

/// `fandb audit …`.
#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Delete the audit events older than an age, and print how many went.
    Prune {
        /// The age, in days or hours: 365d, 12h.
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        older_than: chrono::Duration,
    },
}

/// `--older-than`'s parser: the domain's rule, its message as clap's.
/// `on` or `off` (also `true`/`false`, `1`/`0`).
fn parse_switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err("must be `on` or `off`".to_owned()),
    }
}

fn parse_age(text: &str) -> Result<chrono::Duration, String> {
    crate::domain::audit::parse_age(text).map_err(|error| describe(&error))
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Data(String),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Backup(#[from] crate::commands::backup::BackupError),
}

/// Runs the command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    telemetry::init(cli.log_format);
    let mut settings = Settings::new(cli.database_url);
    settings.listen = cli.listen;
    settings.environment = cli.environment;
    settings.limits = cli.limits.into();
    settings.cors_origins = parse_cors_origins(&cli.cors_origins)?;
    settings.trusted_proxies = parse_trusted_proxies(&cli.trusted_proxies)?.with_header(cli.forwarded_header);
    settings.redis_url = cli.redis_url.filter(|url| !url.trim().is_empty()).map(crate::config::Secret::new);
    settings.database_listen_url = cli.database_listen_url.filter(|url| !url.trim().is_empty());
    settings.database_transaction_pooler = cli.database_transaction_pooler;
    settings.database_read_url = cli.database_read_url.filter(|url| !url.trim().is_empty());
    settings.replica_max_lag = std::time::Duration::try_from_secs_f64(cli.replica_max_lag)
        .map_err(|_| CliError::Data("FANDB_REPLICA_MAX_LAG must be a number of seconds, 0 or more".to_owned()))?;
    settings.mail = crate::config::MailSettings {
        smtp_url: cli.mail.smtp_url.filter(|url| !url.trim().is_empty()).map(crate::config::Secret::new),
        from: cli.mail.mail_from,
        public_url: cli.mail.public_url.filter(|url| !url.trim().is_empty()),
        pacing: crate::config::MailPacing {
            per_hour: cli.mail.mails_per_address_per_hour,
            min_gap: std::time::Duration::from_secs(cli.mail.mail_gap_seconds),
        },
    };
    settings.require_verified_email = cli.mail.require_verified_email;
    settings.cache_max_age = cli.cache_max_age;
    settings.response_cache = cli.response_cache;
    settings.response_cache_bytes = cli.response_cache_bytes;
    settings.trusted_documents = cli.trusted_documents.filter(|path| !path.as_os_str().is_empty());
    settings.metrics_token = crate::config::parse_metrics_token(cli.metrics_token)?;
    settings.metrics_listen = cli.metrics_listen.filter(|address| !address.trim().is_empty());
    match cli.command.unwrap_or(Command::Serve { no_seed: false }) {
        Command::Serve { no_seed } => {
            settings.seed_when_empty = !no_seed;
            settings.jwt_secret = resolve_jwt_secret(cli.jwt_secret, settings.environment, &settings.database_url)?;
            let application = Application::build(&settings).await?;
            let host = settings.listen.rsplit_once(':').map(|(host, _)| host).unwrap_or("127.0.0.1");
            tracing::info!("fandb serving GraphQL at http://{host}:{}/graphql", application.port());
            tracing::info!("GraphiQL: open http://{host}:{}/graphiql", application.port());
            application.run_until_stopped().await?;
        }
        Command::Migrate => {
            let connection = db::connect(settings.direct_database_url()).await?;
            db::migrate(&connection).await?;
            tracing::info!("migrations applied");
        }
        Command::Seed { synthetic: true, scale, .. } => {
            if !(scale > 0.0 && scale <= 100.0) {
                return Err(CliError::Data("--scale must be above 0 and at most 100".to_owned()));
            }
            let connection = db::connect(settings.direct_database_url()).await?;
            db::migrate(&connection).await?;
            let report = synthetic::load(&connection, scale, |line| eprintln!("synthetic data: {line}"))
                .await
                .map_err(|error| CliError::Data(describe(&error)))?;
            crate::domain::notify::announce_records_changed(&connection).await?;
            tracing::info!(
                rows = report.rows,
                credits = report.credits,
                signatures = report.signatures,
                "synthetic data loaded"
            );
        }
        Command::Seed { file, .. } => {
            let json = match file {
                Some(path) => std::fs::read_to_string(path)?,
                None => seed::ALITA.to_owned(),
            };
            let data =
                crate::commands::records::DataSet::parse(&json).map_err(|error| CliError::Data(describe(&error)))?;
            let connection = db::connect(settings.direct_database_url()).await?;
            db::migrate(&connection).await?;
            let report = seed::load(&connection, &data).await.map_err(|error| CliError::Data(describe(&error)))?;
            crate::domain::notify::announce_records_changed(&connection).await?;
            tracing::info!(records = report.inserted, "data set loaded");
        }
        Command::Import { file } => {
            let text = std::fs::read_to_string(&file)?;
            let connection = db::connect(settings.direct_database_url()).await?;
            db::migrate(&connection).await?;
            let progress = Progress::new();
            let report = import::import(&connection, &text, |done, total| progress.update(done, total))
                .await
                .map_err(|error| CliError::Data(format!("nothing imported: {error}")))?;
            progress.finish();
            // Running servers on the database drop the answers the import made stale.
            crate::domain::notify::announce_records_changed(&connection).await?;
            tracing::info!(created = report.created, updated = report.updated, "imported {} records", report.records);
        }
        Command::CreateAdmin { email, display_name } => {
            let password = match std::env::var("FANDB_ADMIN_PASSWORD") {
                Ok(password) => password,
                Err(_) => read_password(&email)?,
            };
            let connection = db::connect(settings.direct_database_url()).await?;
            db::migrate(&connection).await?;
            let auth = crate::auth::Auth::new(&settings.jwt_secret, &settings.limits);
            let registration = accounts::Registration { email, password, display_name };
            let admin = accounts::create_user(&connection, &auth, registration, Role::Admin)
                .await
                .map_err(|error| CliError::Data(describe(&error)))?;
            tracing::info!(user.id = admin.id, "admin account created");
        }
        Command::Audit { command: AuditCommand::Prune { older_than } } => {
            let connection = db::connect(settings.direct_database_url()).await?;
            db::migrate(&connection).await?;
            let removed = crate::domain::audit::prune(&connection, older_than)
                .await
                .map_err(|error| CliError::Data(describe(&error)))?;
            println!("removed {removed} audit events older than {} hours", older_than.num_hours());
        }
        Command::Backup { file, force } => {
            let report = crate::commands::backup::backup(settings.direct_database_url(), &file, force).await?;
            println!("backup written to {} ({} bytes)", report.path.display(), report.bytes);
        }
        Command::Restore { file, force } => {
            crate::commands::backup::restore(settings.direct_database_url(), &file, force).await?;
            println!("restored {} and applied pending migrations", file.display());
        }
        Command::ExportSchema { path } => {
            std::fs::write(&path, graphql::sdl())?;
            tracing::info!(path = %path.display(), "schema written");
        }
    }
    Ok(())
}

/// The new admin's password: when standard input is a terminal, typed at a prompt that does not
/// echo it (rpassword turns echo off on the controlling terminal, `/dev/tty`, while it reads);
/// otherwise one line of standard input, so scripts can pipe it in.
fn read_password(email: &str) -> Result<String, CliError> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password(format!("Password for {email} (8 to 128 characters, not shown): "))?);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn describe(error: &crate::domain::DomainError) -> String {
    match error {
        crate::domain::DomainError::InvalidInput { field, message } => format!("{field}: {message}"),
        other => other.to_string(),
    }
}

/// Import progress: a bar on a terminal, a plain line every 10% otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    reported: std::sync::atomic::AtomicU64,
}

impl Progress {
    fn new() -> Self {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| indicatif::ProgressBar::new(0));
        if let Some(bar) = &bar
            && let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} records ({per_sec}, {eta} left)")
        {
            bar.set_style(style);
        }
        Self { bar, reported: std::sync::atomic::AtomicU64::new(0) }
    }

    fn update(&self, done: u64, total: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            None => {
                let tenth = (done * 10).checked_div(total).unwrap_or(10);
                if self.reported.fetch_max(tenth + 1, std::sync::atomic::Ordering::Relaxed) <= tenth {
                    eprintln!("import: {done}/{total} records");
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
