//! Real services for the tests of distributed mode: a throwaway Postgres
//! cluster (Debian's `postgresql`, started with `initdb` and `pg_ctl` on a
//! free port) and an S3-compatible server (`s3s-fs` from crates.io, built
//! into target/test-tools by scripts/test-env.sh), both stoppable and
//! restartable without losing data. Shared by the API tests (which run on
//! them when `MOUTHPIECE_TEST_DISTRIBUTED` is set) and the distributed tests.

// Each test binary uses a part of this module.
#![allow(dead_code)]

pub mod server;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BUCKET: &str = "mouthpiece";
pub const ACCESS_KEY: &str = "mouthpiece-test";
pub const SECRET_KEY: &str = "mouthpiece-test-secret";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// Whether this process runs as root (Postgres refuses to; it then runs as
/// the `postgres` user the Debian package creates).
fn is_root() -> bool {
    run(Command::new("id").arg("-u")).trim() == "0"
}

/// A throwaway Postgres cluster on a free port.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("Debian's postgresql is installed (scripts/test-env.sh)")
            .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
            .find(|bin| bin.join("initdb").exists())
            .expect("initdb");
        let dir = tempfile::tempdir().expect("temp dir");
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()));
        }
        let postgres = Postgres { bin, dir, port: free_port() };
        postgres.pg(&["initdb", "-A", "trust", "-U", "mouthpiece", "-D"], &[&postgres.data()]);
        postgres.up();
        postgres
    }

    fn data(&self) -> String {
        self.dir.path().join("cluster").display().to_string()
    }

    /// Runs a Postgres tool (as the postgres user when we are root).
    fn pg(&self, args: &[&str], more: &[&str]) {
        let tool = self.bin.join(args[0]).display().to_string();
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--", &tool]);
            command
        } else {
            Command::new(&tool)
        };
        command.args(&args[1..]).args(more).stdout(Stdio::null());
        run(&mut command);
    }

    pub fn up(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.path().display());
        let log = self.dir.path().join("log").display().to_string();
        self.pg(&["pg_ctl", "-w", "-D"], &[&self.data(), "-l", &log, "-o", &options, "start"]);
    }

    pub fn down(&self) {
        self.pg(&["pg_ctl", "-w", "-m", "fast", "-D"], &[&self.data(), "stop"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://mouthpiece@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| self.pg(&["pg_ctl", "-m", "immediate", "-D"], &[&self.data(), "stop"]));
    }
}

/// A real S3-compatible server keeping its objects as files in a directory
/// (so it can be stopped and started again without losing them).
pub struct S3 {
    child: Option<Child>,
    pub root: tempfile::TempDir,
    port: u16,
}

fn s3s_fs() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-tools/bin/s3s-fs");
    assert!(root.exists(), "s3s-fs is missing: run scripts/test-env.sh (./test.sh does)");
    root
}

impl S3 {
    pub fn start() -> S3 {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket");
        let mut s3 = S3 { child: None, root, port: free_port() };
        s3.up();
        s3
    }

    pub fn up(&mut self) {
        let child = Command::new(s3s_fs())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where the server keeps the object `name`.
    pub fn object(&self, name: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(name)
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.down();
    }
}

impl Postgres {
    /// Runs one SQL statement with psql and returns its rows, `|`-separated.
    pub fn query(&self, sql: &str) -> String {
        let port = self.port.to_string();
        run(Command::new(self.bin.join("psql")).args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "mouthpiece",
            "-d",
            "postgres",
            "-At",
            "-c",
            sql,
        ]))
    }
}

/// Waits until `url` answers with a success, for at most `within`.
pub async fn wait_until_up(url: &str, within: Duration) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + within;
    while !client.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "{url} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A database and a bucket, and how `mouthpiece` is told to use them.
pub struct Services {
    pub postgres: Postgres,
    pub s3: S3,
}

impl Services {
    pub fn start() -> Services {
        Services { postgres: Postgres::start(), s3: S3::start() }
    }

    /// Started when the environment asks the tests to run on them.
    pub fn from_env() -> Option<Services> {
        std::env::var_os("MOUTHPIECE_TEST_DISTRIBUTED").filter(|v| !v.is_empty()).map(|_| Services::start())
    }

    /// Points a `mouthpiece` command at them.
    pub fn configure<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .env("MOUTHPIECE_DATABASE_URL", self.postgres.url())
            .env("MOUTHPIECE_S3_BUCKET", BUCKET)
            .env("MOUTHPIECE_S3_ENDPOINT", self.s3.endpoint())
            .env("MOUTHPIECE_S3_ACCESS_KEY_ID", ACCESS_KEY)
            .env("MOUTHPIECE_S3_SECRET_ACCESS_KEY", SECRET_KEY)
    }
}
