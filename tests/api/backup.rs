//! `fandb backup FILE` and `fandb restore FILE`, run as the binary: a backup taken while twenty
//! fans sign, withdraw, RSVP and cancel holds every write acknowledged before it began, and
//! restores into a fresh database whose stored counts equal its rows; restore refuses a database
//! with data without `--force`, a database in use, and files that are not fandb backups, changing
//! nothing; without `pg_dump` the command says what to run.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, Statement,
};
use serde_json::{Value, json};

use crate::support::backends::{Scratch, fresh_database, unique_name};
use crate::support::{Backend, TestApp, fixtures};

const FANS: usize = 20;

db_tests!(
    a_backup_taken_while_fans_write_restores_every_write_acknowledged_before_it_began,
    restore_refuses_a_database_with_data_without_force_and_changes_nothing,
    restore_refuses_files_that_are_not_fandb_backups_and_changes_nothing
);

fn backend_of(app: &TestApp) -> Backend {
    if app.database_url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres }
}

/// A fresh, empty database on `backend` (removed when the guard drops).
async fn fresh(backend: Backend) -> (String, Scratch) {
    let url = fresh_database(backend).await.expect("a database: this test runs only where its backend is configured");
    (url.clone(), Scratch { backend, url })
}

/// A path in the temporary directory, removed when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(extension: &str) -> Self {
        Self(std::env::temp_dir().join(format!("fandb_backup_test_{}.{extension}", unique_name())))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `fandb --database-url URL ARGS…` to its end without blocking this thread's runtime (the
/// writers and the server's connections keep running meanwhile).
async fn fandb(database_url: &str, args: &[&str], path: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fandb"));
    command.args(["--database-url", database_url]).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let child = command.spawn().expect("start fandb");
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(output) = result.try_recv() {
            return output.expect("run fandb");
        }
        assert!(Instant::now() < deadline, "fandb {args:?} did not finish within two minutes");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_succeeded(output: &Output) {
    assert!(output.status.success(), "fandb failed: {}{}", String::from_utf8_lossy(&output.stdout), stderr(output));
}

/// A petition or an event a fan signs or RSVPs GOING to.
struct Target {
    slug: String,
    id: String,
    petition: bool,
}

impl Target {
    fn mutation(&self, present: bool) -> &'static str {
        match (self.petition, present) {
            (true, true) => "mutation($id: ID!) { signPetition(petitionId: $id) { id } }",
            (true, false) => "mutation($id: ID!) { withdrawSignature(petitionId: $id) }",
            (false, true) => "mutation($id: ID!) { rsvpEvent(eventId: $id, status: GOING) { id } }",
            (false, false) => "mutation($id: ID!) { cancelRsvp(eventId: $id) }",
        }
    }
}

/// One acknowledged write of `fan` to `target`: a signature or an RSVP that is never undone
/// (`kept`), or a step of the churn on the last petition, signed and withdrawn in turn.
struct Write {
    fan: usize,
    target: usize,
    kept: bool,
    finished: Instant,
}

/// Open petitions (the seeded one and fixtures) and future events without a seat limit, seven of
/// each; then one more petition, the churn's.
async fn targets(app: &TestApp) -> Vec<Target> {
    let mut targets = Vec::new();
    let mut petitions = vec!["open-letter-to-disney-alita-sequel".to_owned()];
    // Fixtures at even indices close (or closed) at some date: the odd ones stay open.
    petitions.extend(fixtures::petitions(&app.db, 16).await.into_iter().skip(1).step_by(2).map(|p| p.slug));
    for event in fixtures::events(&app.db, 7, None).await {
        let mut model: entity::event::ActiveModel = event.into();
        model.capacity = Set(None);
        model.starts_at = Set(chrono::Utc::now() + chrono::Duration::days(30));
        model.ends_at = Set(None);
        let event = model.update(&app.db).await.unwrap();
        targets.push(Target { slug: event.slug, id: fixtures::gid("Event", event.id), petition: false });
    }
    for slug in petitions {
        let data = app.data("query($s: String!) { petition(slug: $s) { id } }", json!({ "s": slug })).await;
        let id = data["petition"]["id"].as_str().unwrap().into();
        targets.push(Target { slug, id, petition: true });
    }
    targets
}

/// One fan signing and RSVPing to every target but the last, each once, then signing and
/// withdrawing on the last until `stop`; each acknowledged write logged.
async fn fan_writes(
    app: &TestApp,
    fan: usize,
    token: &str,
    targets: &[Target],
    stop: &Cell<bool>,
    log: &RefCell<Vec<Write>>,
) {
    let churn = targets.len() - 1;
    let kept = (0..churn).map(|step| (step + fan) % churn);
    for target in kept {
        acknowledged(app, token, targets[target].mutation(true), json!({ "id": targets[target].id })).await;
        log.borrow_mut().push(Write { fan, target, kept: true, finished: Instant::now() });
    }
    let mut signed = false;
    while !stop.get() {
        signed = !signed;
        acknowledged(app, token, targets[churn].mutation(signed), json!({ "id": targets[churn].id })).await;
        log.borrow_mut().push(Write { fan, target: churn, kept: false, finished: Instant::now() });
    }
}

/// Sends a fan's write until it is acknowledged, as a client told to try again shortly does: a 503
/// `SERVICE_UNAVAILABLE` (the database busier than the pool's wait, on a loaded machine) rolled
/// everything back, so it is sent again; anything else but an answer without errors fails.
async fn acknowledged(app: &TestApp, token: &str, query: &str, variables: Value) {
    let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).unwrap();
    let authorization = format!("Bearer {token}");
    let headers = [("content-type", "application/json"), ("authorization", authorization.as_str())];
    for _ in 0..50 {
        let response = app.request("POST", "/graphql", &headers, Some(body.clone())).await;
        if response.status == 503 && response.body.contains("SERVICE_UNAVAILABLE") {
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        assert_eq!(response.status, 200, "POST /graphql answered {}: {}", response.status, response.body);
        let answer = response.json();
        assert!(answer.get("errors").is_none(), "unexpected errors: {answer}");
        return;
    }
    panic!("a write was refused as unavailable 50 times in a row");
}

/// Whether a fan's own view of `target` shows it signed / going.
async fn restored_state(app: &TestApp, token: &str, target: &Target) -> bool {
    if target.petition {
        let data = app
            .data_as(
                token,
                "query($s: String!) { petition(slug: $s) { viewerHasSigned } }",
                json!({ "s": target.slug }),
            )
            .await;
        data["petition"]["viewerHasSigned"].as_bool().unwrap()
    } else {
        let data = app
            .data_as(
                token,
                "query($s: String!) { event(slug: $s) { viewerRsvp { status } } }",
                json!({ "s": target.slug }),
            )
            .await;
        data["event"]["viewerRsvp"]["status"] == "GOING"
    }
}

/// Each target's stored count over HTTP, and its rows counted in SQL: they must be equal. The
/// rows of all targets together.
async fn assert_counts_equal_rows(app: &TestApp, targets: &[Target]) -> i64 {
    let mut total = 0;
    for target in targets {
        let raw = fixtures::raw_id(&target.id);
        let (count, sql) = if target.petition {
            let data = app
                .data("query($s: String!) { petition(slug: $s) { signatureCount } }", json!({ "s": target.slug }))
                .await;
            (
                data["petition"]["signatureCount"].as_i64().unwrap(),
                format!("SELECT COUNT(*) AS n FROM signatures WHERE petition_id = {raw}"),
            )
        } else {
            let data =
                app.data("query($s: String!) { event(slug: $s) { rsvpCount } }", json!({ "s": target.slug })).await;
            (
                data["event"]["rsvpCount"].as_i64().unwrap(),
                format!("SELECT COUNT(*) AS n FROM rsvps WHERE event_id = {raw} AND status = 'GOING'"),
            )
        };
        let backend = app.db.get_database_backend();
        let row = app.db.query_one_raw(Statement::from_string(backend, sql)).await.unwrap().unwrap();
        let rows: i64 = row.try_get("", "n").unwrap();
        assert_eq!(count, rows, "{}: the stored count is {count} but there are {rows} rows", target.slug);
        total += rows;
    }
    total
}

async fn a_backup_taken_while_fans_write_restores_every_write_acknowledged_before_it_began(app: TestApp) {
    let targets = targets(&app).await;
    let mut tokens = Vec::new();
    for fan in 0..FANS {
        tokens.push(fixtures::fan(&app.db, &format!("Backup Fan {fan}")).await.1);
    }
    let file = TempPath::new("backup");
    let file_arg = file.0.display().to_string();
    let stop = Cell::new(false);
    let log = RefCell::new(Vec::new());
    let writers =
        join_all(tokens.iter().enumerate().map(|(fan, token)| fan_writes(&app, fan, token, &targets, &stop, &log)));
    let backup = async {
        // Every fan has written a few times before the backup begins.
        let deadline = Instant::now() + Duration::from_secs(120);
        while (0..FANS).any(|fan| log.borrow().iter().filter(|write| write.fan == fan).count() < 3) {
            assert!(Instant::now() < deadline, "the fans did not get their first writes in");
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        let began = Instant::now();
        let output = fandb(&app.database_url, &["backup", &file_arg], None).await;
        let ended = Instant::now();
        // Some more writes after the backup, then stop.
        let written = log.borrow().len();
        while log.borrow().len() < written + FANS {
            assert!(Instant::now() < deadline, "the fans stopped writing");
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        stop.set(true);
        (output, began, ended)
    };
    let (_, (output, began, ended)) = futures_util::join!(writers, backup);
    assert_succeeded(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("backup written to"), "{output:?}");
    let log = log.into_inner();
    let during = log.iter().filter(|write| write.finished > began && write.finished < ended).count();
    assert!(during > 0, "no write was acknowledged while the backup ran: it did not run under load");
    let before: Vec<&Write> = log.iter().filter(|write| write.kept && write.finished < began).collect();
    assert!(before.len() >= 2 * FANS, "only {} writes were acknowledged before the backup began", before.len());
    assert_counts_equal_rows(&app, &targets).await;

    let (restored_url, _scratch) = fresh(backend_of(&app)).await;
    assert_succeeded(&fandb(&restored_url, &["restore", &file_arg], None).await);
    let restored = TestApp::spawn(&restored_url).await;
    let rows = assert_counts_equal_rows(&restored, &targets).await;
    assert!(rows >= before.len() as i64, "{rows} rows hold fewer than the {} writes acknowledged before", before.len());
    for write in before {
        let target = &targets[write.target];
        assert!(
            restored_state(&restored, &tokens[write.fan], target).await,
            "fan {}'s write to {}, acknowledged before the backup began, is not in it",
            write.fan,
            target.slug
        );
    }
}

/// A marker user in the database at `url`, written behind the server's back; whether it is there.
async fn marker(url: &str, add: bool) -> bool {
    let db = api::infra::db::connect(url).await.unwrap();
    if add {
        fixtures::user(&db, "Marker Fan").await;
    }
    let found = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq("marker.fan@example.com"))
        .count(&db)
        .await
        .unwrap();
    db.close().await.unwrap();
    found == 1
}

async fn restore_refuses_a_database_with_data_without_force_and_changes_nothing(app: TestApp) {
    let file = TempPath::new("backup");
    let file_arg = file.0.display().to_string();
    assert_succeeded(&fandb(&app.database_url, &["backup", &file_arg], None).await);
    let backup = std::fs::read(&file.0).unwrap();

    // backup does not replace a file without --force.
    let again = fandb(&app.database_url, &["backup", &file_arg], None).await;
    assert!(!again.status.success());
    assert!(stderr(&again).contains("exists") && stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(std::fs::read(&file.0).unwrap(), backup, "the backup is untouched");
    assert_succeeded(&fandb(&app.database_url, &["backup", "--force", &file_arg], None).await);

    let (target, _scratch) = fresh(backend_of(&app)).await;
    assert_succeeded(&fandb(&target, &["restore", &file_arg], None).await);
    assert!(marker(&target, true).await);
    let refused = fandb(&target, &["restore", &file_arg], None).await;
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(message.contains("is not empty") && message.contains("--force"), "{message}");
    assert!(marker(&target, false).await, "the refused restore changed nothing");
    assert_succeeded(&fandb(&target, &["restore", "--force", &file_arg], None).await);
    assert!(!marker(&target, false).await, "--force replaced the database with the backup");

    // The live server's own database: refused without --force; on SQLite, while the server has it
    // open, even with it.
    let (_, token) = fixtures::fan(&app.db, "Live Fan").await;
    let petition = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id } }"#, json!({})).await;
    let id = petition["petition"]["id"].as_str().unwrap();
    app.data_as(&token, "mutation($id: ID!) { signPetition(petitionId: $id) { id } }", json!({ "id": id })).await;
    let refused = fandb(&app.database_url, &["restore", &file_arg], None).await;
    assert!(!refused.status.success());
    if backend_of(&app) == Backend::Sqlite {
        assert!(stderr(&refused).contains("open in another process"), "{}", stderr(&refused));
        let forced = fandb(&app.database_url, &["restore", "--force", &file_arg], None).await;
        assert!(!forced.status.success());
        assert!(stderr(&forced).contains("stop every server using it"), "{}", stderr(&forced));
        let itself = app.database_url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
        let onto_itself = fandb(&app.database_url, &["backup", "--force", &itself], None).await;
        assert!(!onto_itself.status.success());
        assert!(stderr(&onto_itself).contains("is the database itself"), "{}", stderr(&onto_itself));
    } else {
        assert!(stderr(&refused).contains("is not empty"), "{}", stderr(&refused));
    }
    let signed = app
        .data_as(&token, r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { viewerHasSigned } }"#, json!({}))
        .await;
    assert_eq!(signed["petition"]["viewerHasSigned"], true, "the live database kept its latest write");
}

async fn restore_refuses_files_that_are_not_fandb_backups_and_changes_nothing(app: TestApp) {
    let backend = backend_of(&app);
    let (target, _scratch) = fresh(backend).await;
    let is_empty = || async {
        let db = api::infra::db::connect(&target).await.unwrap();
        let tables = match backend {
            Backend::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'",
            Backend::Postgres => "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
        };
        let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), tables)).await.unwrap().unwrap();
        let n: i64 = row.try_get("", "n").unwrap();
        db.close().await.unwrap();
        n == 0
    };

    let garbage = TempPath::new("backup");
    std::fs::write(&garbage.0, "this is not a database\n".repeat(200)).unwrap();
    let refused = fandb(&target, &["restore", &garbage.0.display().to_string()], None).await;
    assert!(!refused.status.success());
    let expected = match backend {
        Backend::Sqlite => "not a SQLite database",
        Backend::Postgres => "not a pg_dump custom-format archive",
    };
    assert!(stderr(&refused).contains(expected), "{}", stderr(&refused));
    assert!(stderr(&refused).contains(&garbage.0.display().to_string()), "the message names the file");

    // A database of the right kind that is not fandb's.
    let foreign = TempPath::new("backup");
    let foreign_arg = foreign.0.display().to_string();
    match backend {
        Backend::Sqlite => {
            let db = sea_orm::Database::connect(format!("sqlite://{foreign_arg}?mode=rwc")).await.unwrap();
            db.execute_unprepared("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi')").await.unwrap();
            db.close().await.unwrap();
        }
        Backend::Postgres => {
            let (other, _other_scratch) = fresh(Backend::Postgres).await;
            let db = sea_orm::Database::connect(other.as_str()).await.unwrap();
            db.execute_unprepared("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi')").await.unwrap();
            db.close().await.unwrap();
            let dump =
                Command::new("pg_dump").args(["--format=custom", "--file", &foreign_arg, "--dbname", &other]).output();
            assert_succeeded(&dump.expect("pg_dump is installed where the PostgreSQL tests run"));
        }
    }
    let refused = fandb(&target, &["restore", &foreign_arg], None).await;
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("not a fandb") && stderr(&refused).contains("seaql_migrations"),
        "{}",
        stderr(&refused)
    );

    // A real backup cut short.
    let cut = TempPath::new("backup");
    let cut_arg = cut.0.display().to_string();
    assert_succeeded(&fandb(&app.database_url, &["backup", &cut_arg], None).await);
    let bytes = std::fs::read(&cut.0).unwrap();
    std::fs::write(&cut.0, &bytes[..bytes.len() / 2]).unwrap();
    let refused = fandb(&target, &["restore", &cut_arg], None).await;
    assert!(!refused.status.success(), "a backup cut in half was restored");
    assert!(
        stderr(&refused).contains(&cut_arg) || stderr(&refused).contains("pg_restore failed"),
        "{}",
        stderr(&refused)
    );

    assert!(is_empty().await, "the refused restores left the target as it was");
}

/// Without `pg_dump` or `pg_restore` on PATH the command says what to install and the exact
/// command to run by hand, with the password named but never shown, and writes nothing.
#[test]
fn without_the_postgresql_tools_the_commands_say_what_to_run() {
    actix_web::rt::System::new().block_on(async {
        let url = "postgres://fandb:s3cret-not-shown@127.0.0.1:1/fandb";
        let file = TempPath::new("dump");
        let file_arg = file.0.display().to_string();
        let output = fandb(url, &["backup", &file_arg], Some("")).await;
        assert!(!output.status.success());
        let message = stderr(&output);
        assert!(message.contains("pg_dump was not found on PATH"), "{message}");
        assert!(message.contains("apt-get install postgresql-client"), "{message}");
        let command = format!("PGPASSWORD='<the password>' pg_dump --format=custom --file='{file_arg}' --dbname='postgres://fandb@127.0.0.1:1/fandb'");
        assert!(message.contains(&command), "{message}");
        assert!(!message.contains("s3cret"), "the password is not shown: {message}");
        assert!(!file.0.exists(), "nothing was written");

        std::fs::write(&file.0, "a dump").unwrap();
        let output = fandb(url, &["restore", &file_arg], Some("")).await;
        assert!(!output.status.success());
        let message = stderr(&output);
        assert!(message.contains("pg_restore was not found on PATH"), "{message}");
        assert!(message.contains("pg_restore --clean --if-exists --no-owner"), "{message}");
        assert!(!message.contains("s3cret"), "the password is not shown: {message}");
    });
}
