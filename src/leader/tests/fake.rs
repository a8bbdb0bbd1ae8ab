//! An in-memory Lease with a `resourceVersion`, seen by each candidate through its own [`View`]
//! whose network can be cut, slowed or made to fail. Every successful write is logged with the
//! instant it was applied (tokio's clock, paused in the tests).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::LeaseSpec;
use tokio::time::Instant;

use crate::leader::{LeaseStore, StoreError, Stored};

/// How a view's requests fare.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Net {
    /// Answered after `latency` (applied half-way).
    Up { latency: Duration },
    /// Never answered, never applied (a black hole).
    Cut,
    /// Refused at once.
    Fail,
    /// Applied `before` after sending, even if the sender gave up meanwhile; answered `after`
    /// later (a request stuck in the network that still arrives).
    Slow { before: Duration, after: Duration },
}

impl Net {
    pub const UP: Net = Net::Up {
        latency: Duration::ZERO,
    };
}

#[derive(Default)]
struct Server {
    lease: Option<Stored>,
    version: u64,
    writes: Vec<(Instant, Option<String>)>,
}

/// The API server: one Lease.
#[derive(Clone, Default)]
pub struct FakeStore {
    server: Arc<Mutex<Server>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeStore {
    /// A client's view of the server, with its own network.
    pub fn view(&self) -> (View, NetSwitch) {
        let net = Arc::new(Mutex::new(Net::UP));
        (
            View {
                server: self.server.clone(),
                net: net.clone(),
            },
            NetSwitch(net),
        )
    }

    /// Another client on the same network as an earlier view (a restarted process).
    pub fn view_on(&self, net: &NetSwitch) -> View {
        View {
            server: self.server.clone(),
            net: net.0.clone(),
        }
    }

    /// Writes the Lease as another party would (no network), returning its new version.
    pub fn put(&self, spec: LeaseSpec) -> String {
        let mut s = lock(&self.server);
        apply(&mut s, None, spec).expect("unconditional put")
    }

    /// Deletes the Lease.
    pub fn delete(&self) {
        let mut s = lock(&self.server);
        s.lease = None;
        s.version += 1;
    }

    pub fn lease(&self) -> Option<LeaseSpec> {
        lock(&self.server).lease.as_ref().map(|l| l.spec.clone())
    }

    /// `(applied at, holder)` of every write so far.
    pub fn writes(&self) -> Vec<(Instant, Option<String>)> {
        lock(&self.server).writes.clone()
    }
}

/// Applies a write at `expect` (any version when `None`); the new version.
fn apply(s: &mut Server, expect: Option<Expect>, spec: LeaseSpec) -> Result<String, StoreError> {
    match (expect, &s.lease) {
        (Some(Expect::Absent), Some(_)) => return Err(StoreError::Conflict),
        (Some(Expect::Version(v)), Some(l)) if l.version != v => return Err(StoreError::Conflict),
        (Some(Expect::Version(_)), None) => return Err(StoreError::Conflict),
        _ => {}
    }
    s.version += 1;
    let version = s.version.to_string();
    s.writes
        .push((Instant::now(), spec.holder_identity.clone()));
    s.lease = Some(Stored {
        spec,
        version: version.clone(),
    });
    Ok(version)
}

#[derive(Clone)]
enum Expect {
    Absent,
    Version(String),
}

/// Changes a view's network.
#[derive(Clone)]
pub struct NetSwitch(Arc<Mutex<Net>>);

impl NetSwitch {
    pub fn set(&self, net: Net) {
        *lock(&self.0) = net;
    }
}

/// One client of the [`FakeStore`].
pub struct View {
    server: Arc<Mutex<Server>>,
    net: Arc<Mutex<Net>>,
}

enum Op {
    Get,
    Write(Option<Expect>, LeaseSpec),
}

enum Answer {
    Got(Option<Stored>),
    Wrote(Result<Stored, StoreError>),
}

impl View {
    async fn call(&self, op: Op) -> Answer {
        let net = *lock(&self.net);
        let server = self.server.clone();
        let run = move || {
            let mut s = lock(&server);
            match op {
                Op::Get => Answer::Got(s.lease.clone()),
                Op::Write(expect, spec) => {
                    let r =
                        apply(&mut s, expect, spec.clone()).map(|version| Stored { spec, version });
                    Answer::Wrote(r)
                }
            }
        };
        match net {
            Net::Up { latency } => {
                tokio::time::sleep(latency / 2).await;
                let a = run();
                tokio::time::sleep(latency / 2).await;
                a
            }
            Net::Cut => std::future::pending().await,
            Net::Fail => Answer::Wrote(Err(StoreError::Other("connection refused".into()))),
            Net::Slow { before, after } => {
                // Spawned: the request arrives even if the caller stops waiting.
                let arrived = tokio::spawn(async move {
                    tokio::time::sleep(before).await;
                    run()
                });
                let a = arrived.await.expect("fake server task");
                tokio::time::sleep(after).await;
                a
            }
        }
    }
}

fn got(a: Answer) -> Result<Option<Stored>, StoreError> {
    match a {
        Answer::Got(l) => Ok(l),
        Answer::Wrote(Err(e)) => Err(e),
        Answer::Wrote(Ok(_)) => unreachable!("a read answered as a write"),
    }
}

fn wrote(a: Answer) -> Result<Stored, StoreError> {
    match a {
        Answer::Wrote(r) => r,
        Answer::Got(_) => unreachable!("a write answered as a read"),
    }
}

impl LeaseStore for View {
    async fn get(&self) -> Result<Option<Stored>, StoreError> {
        got(self.call(Op::Get).await)
    }

    async fn create(&self, spec: LeaseSpec) -> Result<Stored, StoreError> {
        wrote(self.call(Op::Write(Some(Expect::Absent), spec)).await)
    }

    async fn replace(&self, version: &str, spec: LeaseSpec) -> Result<Stored, StoreError> {
        let expect = Some(Expect::Version(version.to_string()));
        wrote(self.call(Op::Write(expect, spec)).await)
    }
}
