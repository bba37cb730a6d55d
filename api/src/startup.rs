//! Building and running the application: connect, migrate, load the data set into an empty
//! database, build the schema once, and serve.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use sea_orm::{DatabaseConnection, DbErr};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use sea_orm::DatabaseBackend;

use crate::auth::Auth;
use crate::commands::seed;
use crate::config::{ConfigError, Settings};
use crate::domain::DomainError;
use crate::domain::account_mail::AccountPolicy;
use crate::domain::notify::Notifier;
use crate::graphql::build_schema;
use crate::graphql::documents::DocumentCache;
use crate::graphql::live_counts::LiveCounts;
use crate::graphql::persisted::PersistedDocuments;
use crate::http::access::trace_requests;
use crate::http::cors;
use crate::http::metrics::{Exposure, Metrics, MetricsToken};
use crate::http::response_cache::ResponseCache;
use crate::http::{AppState, configure, configure_metrics};
use crate::infra::mail::Mailer;
use crate::infra::replica::ReadRouting;
use crate::infra::shared_state::SharedState;
use crate::infra::{db, listen};
use crate::limits::request::RequestLimiter;
use crate::limits::socket::SocketRegistry;

/// The longest a stop waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("loading the data set: {0:?}")]
    Seed(DomainError),
    #[error("listening: {0}")]
    Io(#[from] std::io::Error),
    #[error("FANDB_REDIS_URL: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    /// The metrics listener (`FANDB_METRICS_LISTEN`) and its port, when configured.
    metrics_server: Option<(u16, Server)>,
    shutdown: tokio::sync::watch::Sender<bool>,
    in_flight: Arc<InFlight>,
}

/// The HTTP requests being served. A stop waits for them before it stops any worker: the database
/// pool is shared by every worker, and a connection opened on one worker's runtime dies with that
/// runtime, under a request another worker may still be serving.
#[derive(Debug, Default)]
struct InFlight(AtomicUsize);

/// Counts one request in flight for as long as it lives (also when the client goes away).
struct Serving(Arc<InFlight>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The middleware that keeps `InFlight` up to date.
async fn count_in_flight(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let serving = request.app_data::<web::Data<Arc<InFlight>>>().map(|in_flight| {
        in_flight.0.fetch_add(1, Ordering::SeqCst);
        Serving(Arc::clone(in_flight.get_ref()))
    });
    let response = next.call(request).await;
    drop(serving);
    response
}

impl Application {
    /// Connects to the configured database and prepares the server.
    pub(crate) async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let mut db = if settings.database_transaction_pooler {
            db::connect_pooled(&settings.database_url).await?
        } else {
            db::connect(&settings.database_url).await?
        };
        let metrics = Arc::new(Metrics::new());
        let counter = metrics.clone();
        db.set_metric_callback(move |_| counter.statement());
        Self::build_with(settings, db, metrics).await
    }

    /// Prepares the server on an existing connection (tests pass one with a statement counter of
    /// their own, so `/metrics` counts no statements here).
    pub async fn build_with_db(settings: &Settings, db: DatabaseConnection) -> Result<Self, StartupError> {
        Self::build_with(settings, db, Arc::new(Metrics::new())).await
    }

    async fn build_with(
        settings: &Settings,
        db: DatabaseConnection,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StartupError> {
        // Redis is connected to lazily: only a malformed URL stops the start.
        let shared = match &settings.redis_url {
            Some(url) => Some(Arc::new(SharedState::connect(url, metrics.redis_errors())?)),
            None => None,
        };
        if let Some(direct) =
            settings.database_listen_url.as_deref().filter(|_| db.get_database_backend() == DatabaseBackend::Postgres)
        {
            // Migrations hold a session (and its locks) across transactions: not through a pooler.
            let direct = db::connect(direct).await?;
            db::migrate(&direct).await?;
            direct.close().await?;
        } else {
            db::migrate(&db).await?;
        }
        if settings.seed_when_empty
            && let Some(report) = seed::load_alita_if_empty(&db).await.map_err(StartupError::Seed)?
        {
            tracing::info!(records = report.inserted, "empty database: loaded the Alita data set");
        }
        let auth = Auth::with_shared_state(&settings.jwt_secret, &settings.limits, shared.clone());
        let notifier = Arc::new(Notifier::new(&db));
        if db.get_database_backend() == DatabaseBackend::Postgres {
            listen::start(settings.direct_database_url(), notifier.clone()).await?;
        }
        notifier.start(&db).await;
        let read_routing = match settings.database_read_url.as_deref() {
            Some(url) if db.get_database_backend() == DatabaseBackend::Postgres => {
                // Connected lazily: a replica that is down at start-up is only skipped.
                let replica = db::connect_lazy(url).await?;
                Some(ReadRouting::start(db.clone(), replica, settings.replica_max_lag, shared.clone()))
            }
            _ => None,
        };
        let request_limiter = Arc::new(RequestLimiter::new(&settings.limits, shared));
        let listener = TcpListener::bind(&settings.listen)?;
        let local = listener.local_addr()?;
        let port = local.port();
        let mailer = Arc::new(Mailer::new(&settings.mail, settings.environment, &listening_url(local))?);
        log_mail_setup(&mailer, settings);
        let policy = AccountPolicy { require_verified_email: settings.require_verified_email };
        let (hits, misses) = metrics.document_cache();
        let trusted = match &settings.trusted_documents {
            Some(path) => {
                let manifest = load_trusted_documents(path)?;
                tracing::info!(documents = manifest.len(), path = %path.display(), "trusted documents: only these run for anyone but admins");
                metrics.label_only(manifest.operation_names());
                Some(manifest)
            }
            None => None,
        };
        let documents = Arc::new(DocumentCache::with_persisted(hits, misses, PersistedDocuments::new(trusted)));
        let response_cache = settings
            .response_cache
            .then(|| Arc::new(ResponseCache::new(&notifier, settings.response_cache_bytes, metrics.response_cache())));
        let live_counts =
            LiveCounts::new(documents.clone(), db.clone(), notifier.clone(), metrics.live_counts_served());
        let schema = build_schema(
            db.clone(),
            auth.clone(),
            notifier,
            settings.environment,
            settings.limits.document,
            read_routing.clone(),
            mailer,
            policy,
            metrics.plan_counters(),
            documents.clone(),
        );
        let (shutdown, stopping) = tokio::sync::watch::channel(false);
        let metrics_token = settings.metrics_token.as_ref().map(|token| MetricsToken::new(token.expose()));
        let metrics_listener = match &settings.metrics_listen {
            Some(address) => Some(TcpListener::bind(address).map_err(|error| {
                std::io::Error::new(error.kind(), format!("FANDB_METRICS_LISTEN {address}: {error}"))
            })?),
            None => None,
        };
        let production = settings.environment == crate::config::Environment::Production;
        if production && metrics_token.is_none() && metrics_listener.is_none() {
            tracing::warn!("/metrics is off: set FANDB_METRICS_TOKEN or FANDB_METRICS_LISTEN to scrape it");
        }
        let state = AppState {
            schema,
            db,
            auth,
            request_limiter,
            environment: settings.environment,
            metrics,
            limits: Arc::new(settings.limits.clone()),
            sockets: Arc::new(SocketRegistry::new(&settings.limits)),
            trusted_proxies: Arc::new(settings.trusted_proxies.clone()),
            shutdown: stopping,
            read_routing,
            documents,
            live_counts,
            cache_max_age: settings.cache_max_age,
            response_cache,
            public_host: settings.mail.public_host(),
            metrics_exposure: Exposure::api(metrics_token.clone(), production, metrics_listener.is_some()),
        };
        let metrics_server = match metrics_listener {
            Some(listener) => {
                let port = listener.local_addr()?.port();
                let state = AppState { metrics_exposure: Exposure::own_listener(metrics_token), ..state.clone() };
                let server = HttpServer::new(move || {
                    App::new().app_data(web::Data::new(state.clone())).configure(configure_metrics)
                })
                .listen(listener)?
                .workers(1)
                .client_request_timeout(settings.limits.request_read_timeout)
                .disable_signals()
                .shutdown_timeout(1);
                Some((port, server.run()))
            }
            None => None,
        };
        let in_flight = Arc::new(InFlight::default());
        let counted = in_flight.clone();
        let cors_origins = settings.cors_origins.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .app_data(web::Data::new(counted.clone()))
                .wrap(cors(&cors_origins))
                .wrap(middleware::from_fn(trace_requests))
                .wrap(middleware::from_fn(count_in_flight))
                .configure(configure)
        })
        .listen(listener)?
        .client_request_timeout(settings.limits.request_read_timeout)
        // The signals are handled in `run_until_stopped`, which tells open sockets first.
        .disable_signals()
        .shutdown_timeout(DRAIN_TIMEOUT.as_secs());
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Self { port, server: server.run(), metrics_server, shutdown, in_flight })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, when `FANDB_METRICS_LISTEN` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(port, _)| *port)
    }

    /// Serves until the process is told to stop: on SIGINT/SIGTERM open WebSockets complete their
    /// operations and close with 1001 at once, no new connection is accepted, and in-flight
    /// requests drain (up to 30 s) before the workers stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let shutdown = self.shutdown;
        let in_flight = self.in_flight;
        actix_web::rt::spawn(crate::infra::allocator::trim_periodically());
        let metrics_handle = self.metrics_server.map(|(_, server)| {
            let handle = server.handle();
            actix_web::rt::spawn(server);
            handle
        });
        match stop_signals() {
            Ok(signals) => {
                actix_web::rt::spawn(async move {
                    signals.await;
                    if let Some(metrics) = metrics_handle {
                        metrics.stop(false).await;
                    }
                    tracing::info!("stopping: closing WebSockets, finishing requests in flight");
                    shutdown.send_replace(true);
                    handle.pause().await;
                    let deadline = Instant::now() + DRAIN_TIMEOUT;
                    while in_flight.0.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    handle.stop(true).await;
                });
            }
            Err(error) => tracing::warn!(%error, "cannot listen for SIGINT/SIGTERM; stop the process with SIGKILL"),
        }
        self.server.await
    }
}

/// `http://host:port` of this server, for links when `FANDB_PUBLIC_URL` is unset (a wildcard
/// address becomes `localhost`).
fn listening_url(local: std::net::SocketAddr) -> String {
    if local.ip().is_unspecified() { format!("http://localhost:{}", local.port()) } else { format!("http://{local}") }
}

/// Says at start where mail goes, and warns of settings that cannot work together.
fn log_mail_setup(mailer: &Mailer, settings: &Settings) {
    match mailer.check_ready() {
        Ok(()) => tracing::info!("{}", mailer.describe()),
        Err(_) => tracing::warn!("{}", mailer.describe()),
    }
    if settings.environment == crate::config::Environment::Production && settings.mail.public_url.is_none() {
        tracing::warn!("FANDB_PUBLIC_URL is not set: links in mail point at the address this server listens on");
    }
    if settings.require_verified_email && mailer.check_ready().is_err() {
        tracing::warn!(
            "FANDB_REQUIRE_VERIFIED_EMAIL is on but no mail can be sent: nobody new can sign petitions or RSVP"
        );
    }
}

/// Resolves at the first SIGINT or SIGTERM (listening starts before this returns).
fn stop_signals() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// The trusted-documents manifest at `path`, checked (see `graphql::persisted`).
fn load_trusted_documents(path: &std::path::Path) -> Result<crate::graphql::persisted::Manifest, ConfigError> {
    crate::graphql::persisted::Manifest::load(path)
        .map_err(|reason| ConfigError::TrustedDocuments { path: path.to_owned(), reason })
}
