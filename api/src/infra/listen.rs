//! PostgreSQL `LISTEN`: change notices sent by any server process on the database reach this
//! process's subscribers. The listener runs on a thread of its own (its connections belong to that
//! thread's runtime, so it outlives no runtime it needs) and stops once the notifier it feeds is gone.
//!
//! Notices sent while no `LISTEN` is in place go to no one, so when the connection drops the
//! listener connects again (backing off while the database is away), and once the new `LISTEN` is in
//! place it re-reads every counter an open subscription watches and publishes the values: a change
//! committed before that read is in it, a change committed after it sends a notice that is heard.
//! A connection that died without a word (a silent network) is found by a probe after some quiet.

use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sea_orm::{DatabaseConnection, DbErr, SqlxPostgresConnector};
use tokio::sync::oneshot;

use crate::domain::notify::{ALL_RECORDS, CHANNEL, Counter, Notice, Notifier};

/// The `application_name` of the listener's connections, so they can be told apart in
/// `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "fandb-listen";

/// How often an idle listener checks whether its notifier is still there.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// After this long without a notice, a `SELECT 1` checks that the connection still answers.
const PROBE_AFTER: Duration = Duration::from_secs(10);
/// How long the probe may take before the connection counts as lost.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait before connecting again; it doubles after each failure, up to `RETRY_MAX`.
const RETRY_FIRST: Duration = Duration::from_millis(250);
/// The longest wait between two attempts to connect again.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// A `LISTEN` in place, and a connection beside it for re-reads.
struct Session {
    listener: PgListener,
    db: DatabaseConnection,
}

async fn connect(url: &str) -> Result<Session, sea_orm::sqlx::Error> {
    let options =
        PgConnectOptions::from_str(url)?.application_name(APPLICATION_NAME).options([("statement_timeout", "5s")]);
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .max_lifetime(None)
        .connect_lazy_with(options);
    let mut listener = PgListener::connect_with(&pool).await?;
    // A lost connection comes back here, through `reconnect`, which re-reads after it.
    listener.eager_reconnect(false);
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    Ok(Session { listener, db: SqlxPostgresConnector::from_sqlx_postgres_pool(pool) })
}

fn startup_error(message: String) -> DbErr {
    DbErr::Conn(sea_orm::RuntimeErr::Internal(message))
}

/// Starts listening and returns once the `LISTEN` is in place, so no notice after start-up is missed.
pub(crate) async fn start(url: &str, notifier: Arc<Notifier>) -> Result<(), DbErr> {
    let (ready_tx, ready_rx) = oneshot::channel();
    let url = url.to_owned();
    let notifier = Arc::downgrade(&notifier);
    std::thread::Builder::new()
        .name("fandb-listen".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = ready_tx.send(Err(format!("LISTEN runtime: {error}")));
                    return;
                }
            };
            runtime.block_on(async move {
                match connect(&url).await {
                    Ok(session) => {
                        let _ = ready_tx.send(Ok(()));
                        forward(session, &url, notifier).await;
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(format!("LISTEN: {error}")));
                    }
                }
            });
        })
        .map_err(|error| startup_error(format!("LISTEN thread: {error}")))?;
    ready_rx.await.map_err(|_| startup_error("LISTEN thread ended".to_owned()))?.map_err(startup_error)
}

async fn forward(mut session: Session, url: &str, notifier: Weak<Notifier>) {
    let mut heard = Instant::now();
    loop {
        let received = tokio::time::timeout(IDLE_CHECK, session.listener.try_recv()).await;
        let lost = {
            let Some(live) = notifier.upgrade() else { return };
            match received {
                Ok(Ok(Some(notification))) => {
                    heard = Instant::now();
                    match Notice::from_payload(notification.payload()) {
                        Some(notice) => live.publish_local(notice),
                        None => tracing::warn!("ignored a malformed change notice"),
                    }
                    false
                }
                Ok(Ok(None)) => {
                    tracing::warn!("change notices: connection lost, reconnecting");
                    true
                }
                Ok(Err(error)) => {
                    tracing::warn!(error = %error, "change notices: connection failed, reconnecting");
                    true
                }
                Err(_) if heard.elapsed() < PROBE_AFTER => false,
                Err(_) => {
                    let answered = tokio::time::timeout(
                        PROBE_TIMEOUT,
                        sea_orm::sqlx::query("SELECT 1").execute(&mut session.listener),
                    )
                    .await;
                    heard = Instant::now();
                    let alive = matches!(answered, Ok(Ok(_)));
                    if !alive {
                        tracing::warn!("change notices: the connection stopped answering, reconnecting");
                    }
                    !alive
                }
            }
        };
        if lost {
            match reconnect(url, &notifier).await {
                Some(fresh) => {
                    session = fresh;
                    heard = Instant::now();
                }
                None => return,
            }
        }
    }
}

/// Connects again, backing off while the database is away, and re-reads every watched counter on
/// the new session once its `LISTEN` is in place. `None` once the notifier is gone.
async fn reconnect(url: &str, notifier: &Weak<Notifier>) -> Option<Session> {
    let mut wait = RETRY_FIRST;
    loop {
        tokio::time::sleep(wait).await;
        let live = notifier.upgrade()?;
        match connect(url).await {
            Ok(session) => match live.reread_on(&session.db).await {
                Ok(()) => {
                    // Record changes sent meanwhile were missed too: response caches drop everything.
                    live.publish_local(Notice { counter: Counter::Records, id: ALL_RECORDS, count: 0, version: 0 });
                    tracing::info!("change notices: listening again, watched counters re-read");
                    return Some(session);
                }
                Err(error) => tracing::warn!(error = %error, "change notices: re-read failed, reconnecting"),
            },
            Err(error) => tracing::warn!(error = %error, "change notices: still reconnecting"),
        }
        wait = (wait * 2).min(RETRY_MAX);
    }
}
