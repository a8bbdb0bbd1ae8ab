//! The `sso-operator` binary run as a process against the test cluster (and, usually, a
//! simulated org), and what its `/metrics` say. Every test that runs the operator starts it here.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::cluster;
use crate::common::sim::Sim;

/// How to run the operator: extra arguments, environment, and whose kubeconfig it uses.
#[derive(Clone, Debug, Default)]
pub struct OperatorOpts {
    pub args: Vec<String>,
    /// Extra environment (e.g. another `RUST_LOG` than `info,sso_operator=debug`).
    pub env: Vec<(String, String)>,
    /// Another identity's kubeconfig (default: the cluster's admin).
    pub kubeconfig: Option<PathBuf>,
    /// Watch every namespace instead of the test's one. Only on a private cluster
    /// (`cluster::use_private_cluster`): on the shared one it would reconcile other tests' resources.
    pub all_namespaces: bool,
}

impl OperatorOpts {
    /// With these extra arguments.
    pub fn args(args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Self::default()
        }
    }

    /// With `RUST_LOG=filter`.
    pub fn log(mut self, filter: &str) -> Self {
        self.env.push(("RUST_LOG".into(), filter.into()));
        self
    }

    /// As the user of `kubeconfig`.
    pub fn kubeconfig(mut self, kubeconfig: &Path) -> Self {
        self.kubeconfig = Some(kubeconfig.to_owned());
        self
    }

    /// Watching every namespace.
    pub fn all_namespaces(mut self) -> Self {
        self.all_namespaces = true;
        self
    }
}

/// A running operator process; killed when dropped.
pub struct Operator {
    child: Option<Child>,
    pub log: PathBuf,
    pub metrics_port: u16,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The operator binary the tests run: this build, or `SSO_OPERATOR_BIN` to run the same tests
/// against another one (e.g. an older commit, to see a test fail where the bug still is). The
/// CRDs always come from this build.
pub fn operator_binary() -> std::ffi::OsString {
    std::env::var_os("SSO_OPERATOR_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_sso-operator").into())
}

impl Operator {
    /// Starts the operator watching `ns`, trusting and allowing `sim` when given, logging to a
    /// file in `dir`.
    pub fn start(ns: &str, sim: Option<&Sim>, dir: &Path, opts: &OperatorOpts) -> Operator {
        let metrics_port = free_port();
        let log = dir.join(format!("operator-{metrics_port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let kubeconfig = opts
            .kubeconfig
            .clone()
            .unwrap_or_else(|| cluster::kubeconfig().to_owned());
        let mut cmd = Command::new(operator_binary());
        cmd.arg("run")
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")]);
        if !opts.all_namespaces {
            cmd.args(["--namespace", ns]);
        }
        if let Some(sim) = sim {
            cmd.args(["--allow-host", &format!("localhost:{}", sim.port)])
                .arg("--salesforce-ca-file")
                .arg(&sim.ca_file);
        }
        let child = cmd
            .args(&opts.args)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,sso_operator=debug")
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("start sso-operator");
        Operator {
            child: Some(child),
            log,
            metrics_port,
        }
    }

    /// The process id (0 once it was killed or terminated).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The exit status if the process has exited (e.g. crashed), `None` while it runs.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Sends SIGTERM and waits for the exit status (SIGKILL after 15 s).
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The `/metrics` text (empty while it cannot be read).
    pub async fn metrics(&self) -> String {
        metrics(self.metrics_port).await
    }

    /// True once the operator has finished every reconcile of `controller` it started (and
    /// started at least one): reconciles counted at start equal reconciles timed at the end.
    pub async fn idle(&self, controller: &str) -> bool {
        let text = self.metrics().await;
        match (
            metric(&text, "sso_operator_reconciles_total", controller),
            metric(
                &text,
                "sso_operator_reconcile_duration_seconds_count",
                controller,
            ),
        ) {
            (Some(started), Some(done)) => started > 0.0 && started == done,
            _ => false,
        }
    }

    /// Waits (up to `timeout`) until [`Operator::idle`] for `controller`.
    pub async fn wait_idle(&self, controller: &str, timeout: Duration) {
        let what = format!("operator idle ({controller})");
        cluster::wait_for(timeout, &what, || self.idle(controller)).await
    }

    /// HTTP status of `path` (`/livez`, `/readyz`) on the metrics port, `None` while it is down.
    pub async fn probe(&self, path: &str) -> Option<u16> {
        let url = format!("http://127.0.0.1:{}{path}", self.metrics_port);
        Some(reqwest::get(url).await.ok()?.status().as_u16())
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

fn metric(text: &str, name: &str, controller: &str) -> Option<f64> {
    let prefix = format!("{name}{{controller=\"{controller}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

async fn metrics(port: u16) -> String {
    match reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}
