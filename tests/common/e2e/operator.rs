//! The `sso-operator` binary run as a process against the test cluster and a simulated org, and
//! what its `/metrics` say.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::org::Sim;
use crate::cluster;

/// A running operator process.
pub struct Operator {
    child: Option<Child>,
    pub log: PathBuf,
    pub metrics_port: u16,
}

impl Operator {
    pub fn start(ns: &str, sim: &Sim, dir: &std::path::Path, extra: &[&str]) -> Operator {
        Self::start_as(ns, sim, dir, extra, cluster::kubeconfig())
    }

    /// Like [`Operator::start`], with extra environment (e.g. another `RUST_LOG`).
    pub fn start_env(
        ns: &str,
        sim: &Sim,
        dir: &std::path::Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Operator {
        Self::spawn(ns, sim, dir, extra, cluster::kubeconfig(), env)
    }

    /// Like [`Operator::start`], with another identity's kubeconfig.
    pub fn start_as(
        ns: &str,
        sim: &Sim,
        dir: &std::path::Path,
        extra: &[&str],
        kubeconfig: &std::path::Path,
    ) -> Operator {
        Self::spawn(ns, sim, dir, extra, kubeconfig, &[])
    }

    fn spawn(
        ns: &str,
        sim: &Sim,
        dir: &std::path::Path,
        extra: &[&str],
        kubeconfig: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Operator {
        let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join(format!("operator-{metrics_port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_sso-operator"))
            .arg("run")
            .args(["--namespace", ns])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .args(["--allow-host", &format!("localhost:{}", sim.port)])
            .arg("--salesforce-ca-file")
            .arg(&sim.ca_file)
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,sso_operator=debug")
            .envs(env.iter().copied())
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

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The exit status if the process has exited (e.g. crashed), `None` while it runs.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
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

/// True once the operator has finished every reconcile of `controller` it started (and started
/// at least one): reconciles counted at start equal reconciles timed at the end.
pub async fn operator_idle(port: u16, controller: &str) -> bool {
    let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await else {
        return false;
    };
    let text = r.text().await.unwrap_or_default();
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

/// The operator's `/metrics` text.
pub async fn metrics(port: u16) -> String {
    match reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}
