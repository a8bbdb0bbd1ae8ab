//! Leader election on a `coordination.k8s.io` Lease: only the holder reconciles. A standby takes the
//! Lease over once the holder has not renewed it for the lease duration; on shutdown the holder
//! releases it so a standby takes over at once.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::sync::watch;

pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
}

/// Held while leading. [`Leading::lost`] resolves if renewing fails for a whole lease duration.
pub struct Leading {
    elector: LeaderElector,
    lost_rx: watch::Receiver<bool>,
    renew: tokio::task::JoinHandle<()>,
}

fn now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

impl LeaderElector {
    pub fn new(client: Client, namespace: &str, name: &str, duration: Duration) -> Self {
        let host = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "sso-operator".to_string());
        // The pid and a random suffix keep two processes on one host apart.
        let identity = format!(
            "{host}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
            identity,
            duration,
        }
    }

    fn clone_handle(&self) -> Self {
        Self {
            api: self.api.clone(),
            name: self.name.clone(),
            identity: self.identity.clone(),
            duration: self.duration,
        }
    }

    /// Tries once to take or keep the Lease; `Ok(true)` while this process holds it.
    async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let secs = self.duration.as_secs().max(1) as i32;
        match self.api.get_opt(&self.name).await? {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..Default::default()
                    },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(self.identity.clone()),
                        lease_duration_seconds: Some(secs),
                        acquire_time: Some(now()),
                        renew_time: Some(now()),
                        lease_transitions: Some(0),
                        ..Default::default()
                    }),
                };
                match self.api.create(&PostParams::default(), &lease).await {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Some(mut lease) => {
                let spec = lease.spec.get_or_insert_with(Default::default);
                let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
                let mine = holder.as_deref() == Some(self.identity.as_str());
                let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
                    (Some(t), Some(d)) => {
                        t.0.checked_add(jiff::SignedDuration::from_secs(d as i64))
                            .map(|e| e < jiff::Timestamp::now())
                            .unwrap_or(true)
                    }
                    _ => true,
                };
                if !mine && holder.is_some() && !expired {
                    return Ok(false);
                }
                if !mine {
                    spec.acquire_time = Some(now());
                    spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
                }
                spec.holder_identity = Some(self.identity.clone());
                spec.lease_duration_seconds = Some(secs);
                spec.renew_time = Some(now());
                // `replace` carries the resourceVersion, so two standbys racing for an expired
                // Lease cannot both win: the loser gets a 409.
                match self
                    .api
                    .replace(&self.name, &PostParams::default(), &lease)
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Waits until this process holds the Lease, then keeps renewing it in the background.
    pub async fn acquire(self) -> Result<Leading, kube::Error> {
        let retry = (self.duration / 5).max(Duration::from_millis(500));
        let mut waiting_logged = false;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => break,
                Ok(false) => {
                    if !waiting_logged {
                        tracing::info!(lease = %self.name, identity = %self.identity, "standing by: another replica holds the leader Lease");
                        waiting_logged = true;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "leader election: Lease not readable yet"),
            }
            tokio::time::sleep(retry).await;
        }
        tracing::info!(lease = %self.name, identity = %self.identity, "acquired the leader Lease");
        let (lost_tx, lost_rx) = watch::channel(false);
        let renewer = self.clone_handle();
        let renew = tokio::spawn(async move {
            let every = renewer.duration / 3;
            let mut last_ok = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(every).await;
                match renewer.try_acquire_or_renew().await {
                    Ok(true) => last_ok = tokio::time::Instant::now(),
                    Ok(false) => {
                        let _ = lost_tx.send(true);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "renewing the leader Lease failed");
                        if last_ok.elapsed() >= renewer.duration {
                            let _ = lost_tx.send(true);
                            return;
                        }
                    }
                }
            }
        });
        Ok(Leading {
            elector: self,
            lost_rx,
            renew,
        })
    }
}

impl Leading {
    /// Resolves when leadership is lost.
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + use<> {
        let mut rx = self.lost_rx.clone();
        async move {
            let _ = rx.wait_for(|l| *l).await;
        }
    }

    /// Gives the Lease up so a standby takes over without waiting for it to expire.
    pub async fn release(self) {
        self.renew.abort();
        let e = &self.elector;
        if let Ok(Some(mut lease)) = e.api.get_opt(&e.name).await
            && let Some(spec) = lease.spec.as_mut()
            && spec.holder_identity.as_deref() == Some(e.identity.as_str())
        {
            spec.holder_identity = None;
            spec.renew_time = None;
            match e.api.replace(&e.name, &PostParams::default(), &lease).await {
                Ok(_) => tracing::info!(lease = %e.name, "released the leader Lease"),
                Err(err) => {
                    tracing::warn!(error = %err, "releasing the leader Lease failed")
                }
            }
        }
    }
}
