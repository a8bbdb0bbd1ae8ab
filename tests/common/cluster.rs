//! The control plane of the integration tests: a real kube-apiserver + etcd (see
//! docs/testing.md).
//!
//! Which cluster, decided once per test binary:
//! 1. `KUBECONFIG`, if it is set, reachable, and names a loopback server (set
//!    `SSO_TEST_ANY_CLUSTER=1` to allow another server: the tests create namespaces and CRDs);
//! 2. else `<repo>/.local/kubeconfig` if a cluster from `make cluster-up` is running;
//! 3. else a private cluster started with `hack/cluster-up.sh` in a temporary directory. A
//!    watchdog started by that script stops it and removes the directory when this test binary
//!    exits, however it exits.
//!
//! A test that stops or restarts the API server calls [`use_private_cluster`] first: from then
//! on, everything this module does on that test's thread goes to a private cluster of its own,
//! while the binary's other tests keep the shared one.
//!
//! Name tests that need a cluster `k8s_*`: `make test-unit` skips them. Each test works in its own
//! [`fresh_namespace`]: namespaces never finish deleting here (no controller-manager).

use std::cell::Cell;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, PostParams};

use super::repo::{crd_yaml, find_helm, repo_root, run_ok};

/// Names of the two CRDs this crate defines.
pub const CRD_NAMES: [&str; 2] = [
    "salesforceorgs.sso-operator.dev",
    "ssoconnectedapps.sso-operator.dev",
];

/// The cluster the tests of this binary use.
#[derive(Debug)]
pub struct Cluster {
    /// Admin kubeconfig (a single file).
    pub kubeconfig: PathBuf,
    /// Kubeconfig of the user `system:serviceaccount:sso-operator-system:sso-operator`
    /// (static token; no RBAC granted by default), when the cluster came from `cluster-up.sh`.
    pub operator_kubeconfig: Option<PathBuf>,
    /// The `kubectl` binary or wrapper (v1.34.5).
    pub kubectl: PathBuf,
    /// True when this binary started the cluster itself.
    pub private: bool,
    /// Set once the CRDs are installed and Established ([`install_crds`]).
    crds: tokio::sync::OnceCell<()>,
}

impl Cluster {
    fn new(kubeconfig: PathBuf, operator_kubeconfig: Option<PathBuf>, kubectl: PathBuf) -> Self {
        Cluster {
            kubeconfig,
            operator_kubeconfig,
            kubectl,
            private: false,
            crds: tokio::sync::OnceCell::new(),
        }
    }
}

/// The cluster the tests of this binary share.
static SHARED: OnceLock<Cluster> = OnceLock::new();
/// The private cluster of [`use_private_cluster`].
static PRIVATE: OnceLock<Cluster> = OnceLock::new();

thread_local! {
    /// Whether the test running on this thread uses [`PRIVATE`]. A `#[tokio::test]` runs its
    /// body and every task it spawns on its own thread (current-thread runtime).
    static ON_PRIVATE: Cell<bool> = const { Cell::new(false) };
}

/// The cluster of the calling test: the shared one, found or started on first use, or its
/// private one after [`use_private_cluster`].
pub fn cluster() -> &'static Cluster {
    if ON_PRIVATE.get() {
        return PRIVATE.get().expect("private cluster started");
    }
    SHARED.get_or_init(find_or_start)
}

fn reachable(kubectl: &Path, kubeconfig: &Path) -> bool {
    Command::new(kubectl)
        .env("KUBECONFIG", kubeconfig)
        .args(["--request-timeout=5s", "get", "--raw", "/readyz"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

fn cached_kubectl() -> PathBuf {
    let dir = run_ok(&mut Command::new(repo_root().join("hack/k8s-bins.sh")));
    PathBuf::from(dir.trim()).join("kubectl")
}

fn is_loopback_server(kubectl: &Path, kubeconfig: &Path) -> bool {
    let out = Command::new(kubectl)
        .env("KUBECONFIG", kubeconfig)
        .args([
            "config",
            "view",
            "--minify",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ])
        .output();
    let Ok(out) = out else { return false };
    let server = String::from_utf8_lossy(&out.stdout).to_string();
    let host = url::Url::parse(&server)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

fn find_or_start() -> Cluster {
    let repo = repo_root();
    let repo_local = repo.join(".local");
    let repo_kubectl = repo_local.join("bin/kubectl");

    // 1. KUBECONFIG
    if let Some(kc) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let kubectl = if repo_kubectl.exists() {
            repo_kubectl.clone()
        } else {
            cached_kubectl()
        };
        let kc = PathBuf::from(kc);
        let allowed = std::env::var("SSO_TEST_ANY_CLUSTER").is_ok_and(|v| v == "1")
            || is_loopback_server(&kubectl, &kc);
        if !allowed {
            eprintln!(
                "cluster harness: KUBECONFIG={} is not a loopback cluster; ignoring it \
                 (SSO_TEST_ANY_CLUSTER=1 to use it anyway)",
                kc.display()
            );
        } else if reachable(&kubectl, &kc) {
            // A single file is expected (what cluster-up writes); flatten anything else.
            let kubeconfig = if kc.is_file() {
                kc.clone()
            } else {
                flatten_kubeconfig(&kubectl, &kc)
            };
            let sibling = kc.with_file_name("operator-sa.kubeconfig");
            return Cluster::new(kubeconfig, sibling.is_file().then_some(sibling), kubectl);
        } else {
            eprintln!(
                "cluster harness: KUBECONFIG={} is not reachable; starting a private cluster",
                kc.display()
            );
        }
    }

    // 2. A running `make cluster-up`.
    let kc = repo_local.join("kubeconfig");
    if kc.is_file() && repo_kubectl.exists() && reachable(&repo_kubectl, &kc) {
        let sa = repo_local.join("operator-sa.kubeconfig");
        return Cluster::new(kc, sa.is_file().then_some(sa), repo_kubectl);
    }

    // 3. A private cluster, stopped by cluster-up's watchdog when this process exits.
    start_private()
}

/// Makes the calling test use a private cluster (started here unless already) until the
/// returned guard is dropped, for tests that stop or restart the API server (see
/// `hack/apiserver.sh`) without disturbing the others. Call it first, before anything of the test
/// touches a cluster, and keep the guard for the whole test.
#[must_use = "the test is on the private cluster only while the guard lives"]
pub fn use_private_cluster() -> PrivateCluster {
    PRIVATE.get_or_init(start_private);
    ON_PRIVATE.set(true);
    PrivateCluster(())
}

/// While it lives, the calling thread's test uses the private cluster.
pub struct PrivateCluster(());

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        ON_PRIVATE.set(false);
    }
}

/// The directory (`SSO_LOCAL_DIR`) of a private cluster: its PIDs, ports and logs.
pub fn private_dir() -> PathBuf {
    let c = cluster();
    assert!(c.private, "not a private cluster");
    c.kubeconfig.parent().expect("dir").to_path_buf()
}

fn start_private() -> Cluster {
    let repo = repo_root();
    let dir = std::env::temp_dir().join(format!(
        "sso-operator-test-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    eprintln!(
        "cluster harness: starting a private cluster in {}",
        dir.display()
    );
    let started = Instant::now();
    run_ok(
        Command::new(repo.join("hack/cluster-up.sh"))
            .env("SSO_LOCAL_DIR", &dir)
            .env("SSO_CLUSTER_WATCH_PID", std::process::id().to_string())
            .env("SSO_CLUSTER_EPHEMERAL", "1"),
    );
    eprintln!(
        "cluster harness: private cluster ready in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Cluster {
        private: true,
        ..Cluster::new(
            dir.join("kubeconfig"),
            Some(dir.join("operator-sa.kubeconfig")),
            dir.join("bin/kubectl"),
        )
    }
}

fn flatten_kubeconfig(kubectl: &Path, kc: &Path) -> PathBuf {
    let out = Command::new(kubectl)
        .env("KUBECONFIG", kc)
        .args(["config", "view", "--minify", "--flatten", "--raw"])
        .output()
        .expect("kubectl config view");
    assert!(out.status.success(), "kubectl config view failed");
    let path = std::env::temp_dir().join(format!(
        "sso-operator-test-kubeconfig-{}",
        std::process::id()
    ));
    std::fs::write(&path, &out.stdout).expect("write flattened kubeconfig");
    path
}

/// helm: the one next to the cluster's kubectl (`.local/bin/helm`), else any [`find_helm`] finds.
pub fn helm() -> PathBuf {
    let next_to_kubectl = cluster().kubectl.with_file_name("helm");
    if next_to_kubectl.exists() {
        return next_to_kubectl;
    }
    find_helm().unwrap_or_else(|| {
        panic!(
            "no helm next to kubectl at {} nor elsewhere",
            next_to_kubectl.display()
        )
    })
}

/// Path of the admin kubeconfig, e.g. for `KUBECONFIG` of an operator process.
pub fn kubeconfig() -> &'static Path {
    &cluster().kubeconfig
}

/// A new admin client. Build one per test (a client is bound to the tokio runtime it first
/// runs on, and each `#[tokio::test]` has its own runtime).
pub async fn client() -> kube::Client {
    client_for(kubeconfig()).await
}

/// A client for any kubeconfig file, e.g. [`Cluster::operator_kubeconfig`].
pub async fn client_for(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .unwrap_or_else(|e| panic!("read {}: {e}", kubeconfig.display()));
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("kubeconfig to client config");
    kube::Client::try_from(config).expect("kube client")
}

/// Runs `kubectl` (the repo's pinned one) against the test cluster as admin.
pub fn kubectl(args: &[&str]) -> Output {
    kubectl_with_stdin(args, None)
}

/// Runs `kubectl`, asserts success, and returns its stdout.
pub fn kubectl_ok(args: &[&str], stdin: Option<&str>) -> String {
    let out = kubectl_with_stdin(args, stdin);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `kubectl` with `stdin` piped in.
pub fn kubectl_with_stdin(args: &[&str], stdin: Option<&str>) -> Output {
    let c = cluster();
    let mut cmd = Command::new(&c.kubectl);
    cmd.env("KUBECONFIG", &c.kubeconfig)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", c.kubectl.display()));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes())
            .expect("write kubectl stdin");
    }
    child.wait_with_output().expect("kubectl output")
}

/// Applies YAML (one or more documents) in `ns` with server-side apply. `Ok(stdout)` on success,
/// `Err(stderr)` with the API server's message when refused.
pub fn apply_yaml(ns: &str, yaml: &str) -> Result<String, String> {
    let out = server_side_apply(&["-n", ns], yaml);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `kubectl apply --server-side` of `yaml` as the tests' field manager, with `scope` arguments.
fn server_side_apply(scope: &[&str], yaml: &str) -> Output {
    let mut args = vec![
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=sso-operator-tests",
        "-f",
        "-",
    ];
    args.extend_from_slice(scope);
    kubectl_with_stdin(&args, Some(yaml))
}

/// Creates a namespace `<prefix>-<random>` and returns its name. Never reuse one: they cannot be
/// deleted here.
pub async fn fresh_namespace(prefix: &str) -> String {
    let prefix: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(50)
        .collect();
    let name = format!("{}-{:08x}", prefix.trim_matches('-'), rand::random::<u32>());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some([("sso-operator.dev/test".to_owned(), "true".to_owned())].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client().await)
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
    name
}

/// Polls `f` every 200 ms until it returns `Some` (that value) or `timeout` passed (`None`).
pub async fn poll_until<T, F, Fut>(timeout: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls `pred` every 200 ms until it returns true; panics with `what` after `timeout`.
pub async fn wait_for<F, Fut>(timeout: Duration, what: &str, mut pred: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for_value(timeout, what, || {
        let fut = pred();
        async move { fut.await.then_some(()) }
    })
    .await
}

/// Polls `f` every 200 ms until it returns `Some`; panics with `what` after `timeout`.
pub async fn wait_for_value<T, F, Fut>(timeout: Duration, what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    poll_until(timeout, f)
        .await
        .unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// Server-side applies `sso-operator crd` and waits (up to 60 s) until both CRDs are Established.
/// Done once per cluster; later calls return at once.
pub async fn install_crds() {
    cluster()
        .crds
        .get_or_init(|| async {
            let out = server_side_apply(&[], &crd_yaml());
            assert!(
                out.status.success(),
                "installing the CRDs failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let crds = Api::<CustomResourceDefinition>::all(client().await);
            for name in CRD_NAMES {
                wait_for(
                    Duration::from_secs(60),
                    &format!("CRD {name} Established"),
                    || {
                        let crds = crds.clone();
                        async move { crd_established(&crds, name).await }
                    },
                )
                .await;
            }
        })
        .await;
}

/// Whether the CRD has condition `Established=True`.
pub async fn crd_established(crds: &Api<CustomResourceDefinition>, name: &str) -> bool {
    let Ok(crd) = crds.get(name).await else {
        return false;
    };
    crd.status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Established" && c.status == "True")
}
