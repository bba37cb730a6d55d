//! PostgreSQL `LISTEN`: change notices sent by any server process on the database reach this
//! process's subscribers. The listener runs on a thread of its own (its connection belongs to that
//! thread's runtime, so it outlives no runtime it needs), reconnects when the connection drops, and
//! stops once the notifier it feeds is gone.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sea_orm::DbErr;
use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::oneshot;

use crate::domain::notify::{CHANNEL, Notice, Notifier};

/// How often an idle listener checks whether its notifier is still there.
const IDLE_CHECK: Duration = Duration::from_secs(1);

async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

fn startup_error(message: String) -> DbErr {
    DbErr::Conn(sea_orm::RuntimeErr::Internal(message))
}

/// Starts listening and returns once the `LISTEN` is in place, so no notice after start-up is missed.
pub async fn start(url: &str, notifier: Arc<Notifier>) -> Result<(), DbErr> {
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
                    Ok(listener) => {
                        let _ = ready_tx.send(Ok(()));
                        forward(listener, &url, notifier).await;
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

async fn forward(mut listener: PgListener, url: &str, notifier: Weak<Notifier>) {
    loop {
        let received = tokio::time::timeout(IDLE_CHECK, listener.recv()).await;
        let Some(live) = notifier.upgrade() else { return };
        match received {
            Err(_) => {}
            Ok(Ok(notification)) => match Notice::from_payload(notification.payload()) {
                Some(notice) => live.publish_local(notice),
                None => tracing::warn!("ignored a malformed change notice"),
            },
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "change notices: connection lost, reconnecting");
                loop {
                    tokio::time::sleep(IDLE_CHECK).await;
                    if notifier.strong_count() == 0 {
                        return;
                    }
                    match connect(url).await {
                        Ok(fresh) => {
                            listener = fresh;
                            break;
                        }
                        Err(error) => tracing::warn!(error = %error, "change notices: still reconnecting"),
                    }
                }
            }
        }
    }
}
