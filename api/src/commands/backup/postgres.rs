//! PostgreSQL: `pg_dump --format=custom` (one consistent snapshot, taken while the server keeps
//! writing) and `pg_restore`. The password never goes on a command line, where any user of the
//! machine could read it: the tools get it in `PGPASSWORD`, and the URL they see has none.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sea_orm::sqlx::postgres::PgConnection;
use sea_orm::sqlx::{self, Connection};

use super::files::Temp;
use super::{BackupError, refuse_data};

/// A database URL split for the client tools: the URL without its password, and the password.
struct Target {
    url: String,
    password: Option<String>,
}

impl Target {
    fn parse(database_url: &str) -> Result<Self, BackupError> {
        let invalid = || BackupError::Refused("the database URL is not a postgres:// URL".to_owned());
        let mut url = url::Url::parse(database_url).map_err(|_| invalid())?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(invalid());
        }
        let password = url.password().map(percent_decode);
        url.set_password(None).map_err(|()| invalid())?;
        // sqlx's own parameter, which libpq would refuse as unknown.
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| key != "statement-cache-capacity")
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        url.set_query(None);
        if !kept.is_empty() {
            url.query_pairs_mut().extend_pairs(kept);
        }
        Ok(Self { url: url.into(), password })
    }

    /// `tool ARGS… --dbname=URL`, with the password in its environment; its output.
    fn run(&self, tool: &Path, args: &[&str]) -> Result<Output, BackupError> {
        let mut command = Command::new(tool);
        command.args(args).arg("--no-password").arg(format!("--dbname={}", self.url));
        if let Some(password) = &self.password {
            command.env("PGPASSWORD", password);
        }
        command.output().map_err(BackupError::io(tool))
    }
}

/// Dumps the database into `target`.
pub(crate) async fn backup(database_url: &str, target: &Path, overwrite: bool) -> Result<(), BackupError> {
    let server = Target::parse(database_url)?;
    let temp = Temp::beside(target)?;
    let pg_dump = find_tool("pg_dump", || {
        format!(
            "{}pg_dump --format=custom --file={} --dbname='{}'",
            password_hint(&server),
            shell_word(target),
            server.url
        )
    })?;
    let file_arg = format!("--file={}", temp.path.display());
    let output = server.run(&pg_dump, &["--format=custom", &file_arg])?;
    if !output.status.success() {
        return Err(BackupError::Tool(format!("pg_dump failed: {}", String::from_utf8_lossy(&output.stderr).trim())));
    }
    check_archive(&temp.path, &server).map_err(|error| match error {
        BackupError::NotABackup { .. } => BackupError::Refused(format!(
            "{} holds no fandb database (it has no seaql_migrations table; `fandb migrate` creates one)",
            server.url
        )),
        other => other,
    })?;
    temp.install(target, overwrite)
}

/// Restores the archive `file` into the database, replacing what it holds.
pub(crate) async fn restore(database_url: &str, file: &Path, force: bool) -> Result<(), BackupError> {
    let server = Target::parse(database_url)?;
    let pg_restore = check_archive(file, &server)?;
    let mut connection = PgConnection::connect(database_url).await?;
    let tables = tables_with_rows(&mut connection).await?;
    connection.close().await?;
    if !tables.is_empty() && !force {
        return Err(refuse_data(&format!("the database {}", server.url), &tables));
    }
    // One transaction: the database is either the backup or what it was, never between.
    let file_arg = file.display().to_string();
    let output = server.run(
        &pg_restore,
        &[
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            &file_arg,
        ],
    )?;
    if !output.status.success() {
        return Err(BackupError::Tool(format!(
            "pg_restore failed and changed nothing: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

/// Checks with `pg_restore --list` that `file` is a custom-format archive holding fandb's
/// migrations table; the `pg_restore` found.
fn check_archive(file: &Path, server: &Target) -> Result<PathBuf, BackupError> {
    let pg_restore = find_tool("pg_restore", || {
        format!(
            "{}pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --dbname='{}' {}",
            password_hint(server),
            server.url,
            shell_word(file)
        )
    })?;
    let output = Command::new(&pg_restore).arg("--list").arg(file).output().map_err(BackupError::io(&pg_restore))?;
    let not_a_backup = |message: String| BackupError::NotABackup { path: file.to_owned(), message };
    if !output.status.success() {
        return Err(not_a_backup(format!(
            "not a pg_dump custom-format archive ({})",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let listing = String::from_utf8_lossy(&output.stdout);
    let has_migrations = listing.lines().any(|line| line.contains(" TABLE ") && line.contains(" seaql_migrations "));
    if !has_migrations {
        return Err(not_a_backup("a pg_dump archive, but not a fandb one (it has no seaql_migrations table)".into()));
    }
    Ok(pg_restore)
}

/// The tables of the `public` schema (but the migrations') that hold at least one row.
async fn tables_with_rows(connection: &mut PgConnection) -> Result<Vec<String>, BackupError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_type = 'BASE TABLE' AND table_name <> 'seaql_migrations' ORDER BY table_name",
    )
    .fetch_all(&mut *connection)
    .await?;
    let mut with_rows = Vec::new();
    for table in tables {
        let quoted = table.replace('"', "\"\"");
        let sql = format!("SELECT EXISTS (SELECT 1 FROM public.\"{quoted}\")");
        let any: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *connection).await?;
        if any {
            with_rows.push(table);
        }
    }
    Ok(with_rows)
}

/// The first `name` on PATH, or an error that says what to install and the command to run.
fn find_tool(name: &str, command: impl FnOnce() -> String) -> Result<PathBuf, BackupError> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path).map(|directory| directory.join(name)).find(|candidate| is_executable(candidate))
    });
    found.ok_or_else(|| {
        BackupError::Tool(format!(
            "{name} was not found on PATH. Install the PostgreSQL client tools of the server's major version \
             or newer (Debian: apt-get install postgresql-client), or run it by hand:\n  {}",
            command()
        ))
    })
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// How the password reaches the tool in the suggested command: named, never shown.
fn password_hint(server: &Target) -> &'static str {
    if server.password.is_some() { "PGPASSWORD='<the password>' " } else { "" }
}

/// A path quoted for a POSIX shell.
fn shell_word(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// Decodes `%XX` escapes (a URL's password is percent-encoded).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
#[expect(clippy::expect_used, reason = "a failing test should fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn the_tools_get_the_url_without_its_password_and_the_password_decoded() {
        let target = Target::parse(
            "postgres://fandb:p%40ss%2Fw@db.example:5433/fandb?sslmode=require&statement-cache-capacity=0",
        )
        .expect("a postgres URL");
        assert_eq!(target.url, "postgres://fandb@db.example:5433/fandb?sslmode=require");
        assert_eq!(target.password.as_deref(), Some("p@ss/w"));
    }
}
