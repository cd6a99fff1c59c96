//! Child processes of the workspace's programs for the end-to-end tests: where the programs are, a daemon whose output is collected line by line (and printed when a test fails), bounded waits, and a plain HTTP GET.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

/// The bound on every wait; only a hang reaches it.
pub const WAIT: Duration = Duration::from_secs(20);

pub async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(WAIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// The directory of the workspace's programs: this test runs from `target/<profile>/deps`.
pub fn programs() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>").to_path_buf();
    for program in ["mesos-master", "mesos-agent", "mesos-executor", "mesos-default-executor"] {
        assert!(
            dir.join(program).exists(),
            "{program} is not built in {}: run `cargo test --workspace` (or `cargo build --workspace --bins`)",
            dir.display()
        );
    }
    dir
}

// ---------------------------------------------------------------------------------------------
// Daemons.

#[derive(Default)]
pub struct Log {
    lines: Mutex<(Vec<String>, bool)>,
    changed: Notify,
}

impl Log {
    pub fn text(&self) -> String {
        self.lines.lock().unwrap().0.join("\n")
    }

    pub async fn wait_for<T>(&self, what: &str, pick: impl Fn(&str) -> Option<T>) -> T {
        let search = async {
            loop {
                let notified = self.changed.notified();
                {
                    let lines = self.lines.lock().unwrap();
                    if let Some(found) = lines.0.iter().find_map(|line| pick(line)) {
                        return found;
                    }
                    if lines.1 {
                        panic!("the program closed its output before logging {what}");
                    }
                }
                notified.await;
            }
        };
        within(what, search).await
    }
}

/// A daemon child process; dropping it kills it, and a failing test prints its log.
pub struct Daemon {
    name: &'static str,
    pub child: Child,
    pub log: Arc<Log>,
}

impl Daemon {
    pub fn start(name: &'static str, args: &[String]) -> Daemon {
        Daemon::start_with(name, args, &[])
    }

    /// Starts `name` with only `PATH` and `environment` set; its stdout and stderr lines
    /// both go to its log.
    pub fn start_with(name: &'static str, args: &[String], environment: &[(&str, &str)]) -> Daemon {
        Daemon::start_program(name, &programs().join(name), args, environment)
    }

    /// As [`Daemon::start_with`], for a program outside the workspace (`name` labels it).
    pub fn start_program(name: &'static str, program: &Path, args: &[String], environment: &[(&str, &str)]) -> Daemon {
        let mut child = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(environment.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("{name} starts: {error}"));
        let log = Arc::new(Log::default());
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(2));
        Self::collect(BufReader::new(stdout).lines(), log.clone(), open.clone());
        Self::collect(BufReader::new(stderr).lines(), log.clone(), open);
        Daemon { name, child, log }
    }

    fn collect<R: tokio::io::AsyncBufRead + Unpin + Send + 'static>(
        mut lines: tokio::io::Lines<R>,
        log: Arc<Log>,
        open: Arc<std::sync::atomic::AtomicUsize>,
    ) {
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                log.lines.lock().unwrap().0.push(line);
                log.changed.notify_waiters();
            }
            if open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
                log.lines.lock().unwrap().1 = true;
            }
            log.changed.notify_waiters();
        });
    }

    /// Waits for the program to exit; its exit code.
    pub async fn exit_code(&mut self) -> Option<i32> {
        within(&format!("{} to exit", self.name), self.child.wait()).await.ok().and_then(|status| status.code())
    }

    /// The address from the daemon's "started on" log line.
    pub async fn address(&self) -> String {
        self.log
            .wait_for("the 'started on' line", |line| {
                let (_, rest) = line.split_once(" started on ")?;
                rest.split(|c: char| c.is_whitespace() || c == ';').next().map(str::to_string)
            })
            .await
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!("--- {} stderr ---\n{}\n---", self.name, self.log.text());
        }
    }
}

/// A GET on `address`: the status and the body.
pub async fn get(address: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0), body.to_string())
}

/// A master and two agents, each agent with 2 CPUs and 1 GB.
pub struct ProcessCluster {
    pub master: Daemon,
    _agents: Vec<Daemon>,
    pub address: String,
    _work_dir: tempfile::TempDir,
}

impl ProcessCluster {
    pub async fn start() -> ProcessCluster {
        let work_dir = tempfile::tempdir().unwrap();
        let master =
            Daemon::start("mesos-master", &["--ip=127.0.0.1".into(), "--port=0".into(), "--registry=in_memory".into()]);
        let address = master.address().await;
        let mut agents = Vec::new();
        for index in 0..2 {
            let agent = Daemon::start(
                "mesos-agent",
                &[
                    format!("--master={address}"),
                    "--ip=127.0.0.1".into(),
                    "--port=0".into(),
                    format!("--work_dir={}", work_dir.path().join(index.to_string()).display()),
                    format!("--launcher_dir={}", programs().display()),
                    "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31100]".into(),
                    "--hostname=localhost".into(),
                    "--registration_backoff_factor=10ms".into(),
                ],
            );
            agent.address().await;
            agents.push(agent);
        }
        let cluster = ProcessCluster { master, _agents: agents, address, _work_dir: work_dir };
        cluster.wait_for_state("both agents registered", |state| state["activated_slaves"] == 2.0).await;
        cluster
    }

    pub async fn state(&self) -> serde_json::Value {
        let (status, body) = get(&self.address, "/master/state").await;
        assert_eq!(status, 200);
        serde_json::from_str(&body).unwrap()
    }

    pub async fn wait_for_state(&self, what: &str, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        within(what, async {
            loop {
                let state = self.state().await;
                if check(&state) {
                    return state;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
    }

    /// Runs an example program to its end: its exit code and output.
    pub async fn run(&self, program: &'static str, args: &[&str]) -> (Option<i32>, String) {
        let mut all = vec![format!("--master={}", self.address)];
        all.extend(args.iter().map(|s| s.to_string()));
        let mut daemon = Daemon::start(program, &all);
        let code = daemon.exit_code().await;
        // The output readers finish once the pipes close.
        daemon.log.wait_for("the end of the output", |_| Some(())).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let text = daemon.log.text();
        (code, text)
    }
}
