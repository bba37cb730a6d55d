//! A throwaway PgBouncer in transaction pooling mode per test, in front of the test's PostgreSQL
//! database, with only two server connections (so clients are shuffled between them after every
//! transaction); killed on drop. `.ci/run` installs it; elsewhere a missing binary skips the test
//! with one line (and fails it under `CI=true`).

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a starting PgBouncer may take to accept connections.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// A running `pgbouncer` child and its files.
pub struct PgBouncer {
    port: u16,
    user: String,
    password: String,
    database: String,
    child: Child,
    directory: std::path::PathBuf,
}

impl PgBouncer {
    /// PgBouncer in front of the PostgreSQL database at `database_url`, or `None` after a
    /// `skipped:` line when `pgbouncer` is not installed.
    pub fn start(database_url: &str) -> Option<Self> {
        if Command::new("pgbouncer").arg("--version").stdout(Stdio::null()).status().is_err() {
            assert!(std::env::var("CI").is_err(), "CI is set but pgbouncer is not installed: .ci/run installs it");
            eprintln!("skipped: install pgbouncer (Debian package pgbouncer) to run the pooler tests");
            return None;
        }
        let url = url::Url::parse(database_url).expect("a PostgreSQL URL");
        let user = url.username().to_owned();
        let password = url.password().unwrap_or_default().to_owned();
        let database = url.path().trim_start_matches('/').to_owned();
        let host = url.host_str().unwrap_or("127.0.0.1").to_owned();
        let server_port = url.port().unwrap_or(5432);
        let port =
            TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port").port();
        let directory = std::env::temp_dir().join(format!("fandb_pgbouncer_{port}"));
        std::fs::create_dir_all(&directory).expect("a directory for pgbouncer");
        let users = directory.join("users.txt");
        std::fs::write(&users, format!("\"{user}\" \"{password}\"\n")).expect("write the user list");
        let config = directory.join("pgbouncer.ini");
        std::fs::write(
            &config,
            format!(
                "[databases]\n{database} = host={host} port={server_port} dbname={database} \
                 connect_query='SET statement_timeout = 5000'\n\
                 [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = plain\nauth_file = {users}\npool_mode = transaction\ndefault_pool_size = 2\n\
                 max_client_conn = 200\nignore_startup_parameters = extra_float_digits\n",
                users = users.display()
            ),
        )
        .expect("write pgbouncer.ini");
        make_readable(&directory);
        let mut command = Command::new("pgbouncer");
        // PgBouncer refuses to run as root; CI runs the tests as root.
        if is_root() {
            command.args(["-u", "nobody"]);
        }
        let child = command.arg(&config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start pgbouncer");
        let bouncer = Self { port, user, password, database, child, directory };
        let deadline = Instant::now() + START_DEADLINE;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "pgbouncer on port {port} did not listen within {START_DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(bouncer)
    }

    /// The URL fandb is given as `DATABASE_URL`.
    pub fn url(&self) -> String {
        format!("postgres://{}:{}@127.0.0.1:{}/{}", self.user, self.password, self.port, self.database)
    }
}

fn is_root() -> bool {
    std::env::var("USER").is_ok_and(|user| user == "root")
        || std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
            status.lines().any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
        })
}

fn make_readable(directory: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o755));
    for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
        let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o644));
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}
