//! Leader election under a network partition (issue 16, item 7): two operator processes against
//! the real kube-apiserver and one simulated org.
//!
//! The first process (A) reaches the API server only through a TCP relay in this test; the second
//! (B) and the test itself talk to it directly, and both processes reach Salesforce directly.
//! A leads. Its next reconcile is made to need a Salesforce write that it can only send after a
//! read the simulator holds for 40 s; while that read is in flight the relay is cut: it stops
//! forwarding in both directions and keeps the connections open (a black hole, the way a
//! partition looks to a client: requests hang rather than fail). The spec is changed again, which
//! only B can see. Then:
//! - A gives up at its renew deadline (10 s after the start of its last renewal, which precedes
//!   the cut) and exits non-zero, before its held read comes back;
//! - B takes the Lease over only after that exit (its `acquireTime` is later than the moment the
//!   test saw A gone: same host, same wall clock), and writes the spec it sees;
//! - the org's app got exactly one write after the cut (B's, with B's spec), so A never wrote
//!   its stale spec. A process that is gone cannot send anything, so nothing of A's can reach
//!   Salesforce after B acquired. (A's held read is still pending at the org when the test ends;
//!   it is a read, and A is no longer there to act on its answer. Everything else A sent went over
//!   loopback to an org without other delays, long before the last check.)
//!
//! Against the leader election before issue 16 (renew calls without a timeout, leadership kept
//! for a lease duration) A never notices the partition: it stays up and, once its read returns,
//! writes its stale spec over B's.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use crate::common::cluster;
use crate::common::e2e::{self, AppOpts, Env, Operator, OperatorOpts, OrgSeed, Sim, app_manifest};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const LEASE: &str = "sso-operator-leader";
/// The operator's defaults, spelled out: lease 15 s, renew deadline 10 s, retry 2 s.
const RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// `sso_operator::leader::STOP_BUDGET`.
const STOP_BUDGET: Duration = Duration::from_secs(1);
/// How long the simulator holds A's read: longer than it takes B to lead.
const HELD_READ: Duration = Duration::from_secs(40);
const ACS_SEEN_BY_A: &str = "https://sso.vendor.example/saml/acs-seen-by-old-leader";
const ACS_SEEN_BY_B: &str = "https://sso.vendor.example/saml/acs-seen-by-new-leader";

/// A TCP relay to one upstream that the test can cut: after [`Relay::cut`] it forwards nothing
/// more, in either direction, and keeps every connection (and every new one) open.
struct Relay {
    port: u16,
    cut: watch::Sender<bool>,
}

impl Relay {
    async fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let port = listener.local_addr().expect("relay address").port();
        let (cut, rx) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                tokio::spawn(pipe(down, upstream, rx.clone()));
            }
        });
        Relay { port, cut }
    }

    fn cut(&self) {
        self.cut.send_replace(true);
    }
}

async fn pipe(mut down: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>) {
    if *cut.borrow() {
        // Accepted, never answered: `down` stays open until the test ends.
        return std::future::pending::<()>().await;
    }
    let Ok(mut up) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut down, &mut up) => {}
        _ = until_cut(&mut cut) => {
            // Nothing more is forwarded; both sockets stay open until the test ends.
            std::future::pending::<()>().await
        }
    }
}

async fn until_cut(cut: &mut watch::Receiver<bool>) {
    let _ = cut.wait_for(|c| *c).await;
}

/// The admin kubeconfig with its server moved to the relay; returns the file and the address
/// the relay must forward to.
async fn kubeconfig_via_relay(dir: &std::path::Path) -> (std::path::PathBuf, Relay) {
    let mut kc = kube::config::Kubeconfig::read_from(cluster::kubeconfig()).expect("kubeconfig");
    let cluster = kc
        .clusters
        .first_mut()
        .and_then(|c| c.cluster.as_mut())
        .expect("a cluster");
    let server = cluster.server.clone().expect("server URL");
    let mut url = url::Url::parse(&server).expect("server URL");
    let host = url.host_str().expect("host").to_string();
    let port = url.port_or_known_default().expect("port");
    let upstream = tokio::net::lookup_host((host.as_str(), port))
        .await
        .expect("resolve the API server")
        .next()
        .expect("an address");
    let relay = Relay::start(upstream).await;
    // Same host name (the certificate names it), another port.
    url.set_port(Some(relay.port)).expect("port");
    cluster.server = Some(url.as_str().trim_end_matches('/').to_string());
    let path = dir.join("via-relay.kubeconfig");
    std::fs::write(
        &path,
        serde_norway::to_string(&kc).expect("kubeconfig YAML"),
    )
    .expect("write kubeconfig");
    (path, relay)
}

async fn lease(client: &kube::Client, ns: &str) -> Option<Lease> {
    Api::<Lease>::namespaced(client.clone(), ns)
        .get_opt(LEASE)
        .await
        .ok()
        .flatten()
}

fn holder_is(lease: &Option<Lease>, pid: u32) -> bool {
    lease
        .as_ref()
        .and_then(|l| l.spec.as_ref())
        .and_then(|s| s.holder_identity.as_deref())
        .is_some_and(|h| h.contains(&format!("-{pid}-")))
}

fn app_with_acs(acs: &str) -> String {
    app_manifest(&AppOpts {
        acs_url: acs,
        ..Default::default()
    })
}

async fn generation(env: &Env) -> i64 {
    env.apps()
        .get("telephony")
        .await
        .expect("app")
        .metadata
        .generation
        .expect("generation")
}

/// Sequence numbers of the org's write calls naming `full_name`, after `after`.
async fn writes_after(sim: &Sim, full_name: &str, after: u64) -> Vec<u64> {
    sim.writes_of(full_name)
        .await
        .iter()
        .filter_map(|w| w["seq"].as_u64())
        .filter(|s| *s > after)
        .collect()
}

async fn last_seq(sim: &Sim) -> u64 {
    sim.calls().await["log"]
        .as_array()
        .and_then(|l| l.last())
        .and_then(|c| c["seq"].as_u64())
        .unwrap_or(0)
}

/// `seq operation fullNames status` of the org's calls after `after`, one a line.
async fn calls_after(sim: &Sim, after: u64) -> String {
    let calls = sim.calls().await;
    let log = calls["log"].as_array().cloned().unwrap_or_default();
    log.iter()
        .filter(|c| c["seq"].as_u64().is_some_and(|s| s > after))
        .map(|c| {
            format!(
                "{} {} {} {}",
                c["seq"], c["operation"], c["fullNames"], c["status"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn sim_acs(sim: &Sim) -> String {
    let app = sim.app("Telephony_SSO").await.unwrap_or(Value::Null);
    app["samlConfig"]["acsUrl"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k8s_partitioned_leader_stops_before_the_new_leader_acquires_and_never_writes_after() {
    let started = Instant::now();
    let mut env = Env::start("leader-partition", OrgSeed::default()).await;
    // The environment's own operator (no leader election) is replaced by A and B.
    env.operator.kill();
    let ns = env.ns.clone();
    let (kubeconfig_a, relay) = kubeconfig_via_relay(env.sim.dir.path()).await;
    let le = OperatorOpts::args(&["--leader-election", "--leader-election-namespace", &ns]);
    env.operator = env.spawn_operator(&le.clone().kubeconfig(&kubeconfig_a));
    let client = env.client.clone();
    let pid_a = env.operator.pid();

    // A alone: it leads (after a lease duration: no Lease existed) and reconciles the app.
    cluster::wait_for(Duration::from_secs(60), "A holds the Lease", || async {
        holder_is(&lease(&client, &ns).await, pid_a)
    })
    .await;
    env.apply(&app_with_acs("https://sso.vendor.example/saml/acs"));
    env.wait_ready("telephony", Duration::from_secs(60)).await;

    // B joins as a standby, directly connected.
    let mut b = env.spawn_operator(&le);
    cluster::wait_for(Duration::from_secs(30), "B standing by", || async {
        b.logs().contains("standing by")
    })
    .await;
    env.wait_idle(Duration::from_secs(30)).await;

    // A's next reconcile: a spec change whose write waits behind a read held by the org.
    let seq_before = last_seq(&env.sim).await;
    env.sim
        .fault(json!({"operation": "readMetadata", "count": 1, "latencyMs": HELD_READ.as_millis() as u64}))
        .await;
    env.apply(&app_with_acs(ACS_SEEN_BY_A));
    cluster::wait_for(
        Duration::from_secs(30),
        "A's read held by the org",
        || async { env.sim.active_faults().await.is_empty() },
    )
    .await;

    // Partition A from the API server; only B can see the next spec.
    relay.cut();
    let cut = Instant::now();
    let cut_wall = SystemTime::now();
    let seq_cut = last_seq(&env.sim).await;
    env.apply(&app_with_acs(ACS_SEEN_BY_B));
    let generation_b = generation(&env).await;

    let (a_exit, acquired) = watch_handover(&mut env.operator, b.pid(), &ns, &client, cut).await;
    let Some(a_exit) = a_exit else {
        panic!(
            "the old leader is still running {:?} after the partition; Salesforce writes of the app since: {:?}; the org's ACS URL: {}\ncalls since the first spec change:\n{}\nA's log:\n{}",
            cut.elapsed(),
            writes_after(&env.sim, "Telephony_SSO", seq_cut).await,
            sim_acs(&env.sim).await,
            calls_after(&env.sim, seq_before).await,
            e2e::tail(&env.operator.logs(), 30)
        )
    };
    let a_status = a_exit.1;
    let a_exited_after = a_exit.0 - cut;
    let a_exit_wall = cut_wall + a_exited_after;
    let acquired = acquired.expect("B acquired");
    eprintln!(
        "A exited {a_exited_after:?} after the partition ({a_status}); B acquired {:?} after it",
        acquired.duration_since(cut_wall).unwrap_or_default()
    );

    // A gave up at its renew deadline and exited non-zero, before B took over.
    assert!(!a_status.success(), "A exited with {a_status}");
    assert!(
        env.operator.logs().contains("lost the leader Lease"),
        "A's log:\n{}",
        e2e::tail(&env.operator.logs(), 30)
    );
    assert!(
        a_exited_after <= RENEW_DEADLINE + STOP_BUDGET + Duration::from_secs(1),
        "A stopped {a_exited_after:?} after the partition (renew deadline {RENEW_DEADLINE:?})"
    );
    assert!(
        acquired > a_exit_wall,
        "B acquired at {acquired:?}, A was still running at {a_exit_wall:?}"
    );

    assert_only_b_wrote(&env, generation_b, seq_cut, seq_before).await;
    b.terminate();
    eprintln!("test took {:?}", started.elapsed());
}

/// B wrote what it sees; A's stale spec never reached the org: one write of the app since the
/// partition (`seq_cut`), B's.
async fn assert_only_b_wrote(env: &Env, generation_b: i64, seq_cut: u64, seq_before: u64) {
    env.wait_status(
        "telephony",
        "B reconciled its spec",
        Duration::from_secs(60),
        |s| {
            s.observed_generation == Some(generation_b)
                && s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
        },
    )
    .await;
    cluster::wait_for(
        Duration::from_secs(5),
        "the org has B's ACS URL",
        || async { sim_acs(&env.sim).await == ACS_SEEN_BY_B },
    )
    .await;
    let writes = writes_after(&env.sim, "Telephony_SSO", seq_cut).await;
    let calls = calls_after(&env.sim, seq_before).await;
    eprintln!("the org's calls since the first spec change (partition after {seq_cut}):\n{calls}");
    assert_eq!(
        writes.len(),
        1,
        "writes of the app since the partition: {writes:?}"
    );
    assert_eq!(sim_acs(&env.sim).await, ACS_SEEN_BY_B);
}

/// Polls every 100 ms until A has exited and B holds the Lease, for at most a minute after the
/// cut (past the held read's return, so a surviving A would have written by then). Returns when
/// A's exit was seen (with its status) and B's `acquireTime`.
async fn watch_handover(
    a: &mut Operator,
    pid_b: u32,
    ns: &str,
    client: &kube::Client,
    cut: Instant,
) -> (
    Option<(Instant, std::process::ExitStatus)>,
    Option<SystemTime>,
) {
    let mut a_exit = None;
    let mut acquired = None;
    while cut.elapsed() < Duration::from_secs(60) {
        if a_exit.is_none() {
            a_exit = a.exit_status().map(|s| (Instant::now(), s));
        }
        if acquired.is_none() {
            let l = lease(client, ns).await;
            if holder_is(&l, pid_b) {
                let t = l
                    .and_then(|l| l.spec)
                    .and_then(|s| s.acquire_time)
                    .expect("acquireTime");
                acquired = Some(SystemTime::from(t.0));
            }
        }
        if a_exit.is_some() && acquired.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (a_exit, acquired)
}
