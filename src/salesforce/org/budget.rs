//! One org's API budget: the in-flight cap (`maxConcurrentCalls`), one call at a time for a while
//! after Salesforce reported its concurrent-request limit, the daily allocation as last seen, the
//! reserve that holds back optional calls, and the org-wide pause once the allocation ran out.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::warn;

use crate::salesforce::error::SalesforceError;

/// How long calls stay one at a time after Salesforce reported its concurrent-request limit.
pub const SERIAL_AFTER_CONCURRENT_LIMIT: Duration = Duration::from_secs(60);

/// Daily API usage as last seen (`Sforce-Limit-Info`, `LimitInfoHeader` or `/limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    pub used: u64,
    pub limit: u64,
    pub observed_at: jiff::Timestamp,
}

impl ApiUsage {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

/// Whether a read may be held back to protect the org's remaining allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadPriority {
    /// Needed to make progress (create/update/delete decisions).
    #[default]
    Required,
    /// Drift checks, limit refreshes: fail fast with `Quota` when below the reserve.
    Optional,
}

/// Leave to make one call: a slot of the org's `maxConcurrentCalls`, plus the single slot while
/// calls are serialized after a concurrent-request refusal.
pub struct CallPermit {
    _main: OwnedSemaphorePermit,
    _serial: Option<OwnedSemaphorePermit>,
}

pub struct Budget {
    /// The org's registry key, for log lines.
    key: String,
    max_concurrent_calls: u32,
    reserve_percent: u32,
    /// Length of the org-wide pause after the daily allocation ran out.
    quota_backoff: Duration,
    permits: Arc<Semaphore>,
    /// Taken as well while `serial_until` lies ahead: calls then go one at a time.
    serial: Arc<Semaphore>,
    /// Set when Salesforce reported its concurrent-request limit.
    serial_until: Mutex<Option<Instant>>,
    usage: Mutex<Option<ApiUsage>>,
    /// Set when the daily allocation ran out: (until, Salesforce's message).
    paused_until: Mutex<Option<(Instant, String)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Budget {
    pub fn new(
        key: String,
        max_concurrent_calls: u32,
        reserve_percent: u32,
        quota_backoff: Duration,
    ) -> Self {
        Budget {
            key,
            max_concurrent_calls,
            reserve_percent,
            quota_backoff,
            permits: Arc::new(Semaphore::new(max_concurrent_calls.max(1) as usize)),
            serial: Arc::new(Semaphore::new(1)),
            serial_until: Mutex::new(None),
            usage: Mutex::new(None),
            paused_until: Mutex::new(None),
        }
    }

    /// Refuses a call while the org is paused, and an `Optional` one below the reserve as well.
    pub fn admit(&self, op: &'static str, priority: ReadPriority) -> Result<(), SalesforceError> {
        self.check_paused(op)?;
        if priority == ReadPriority::Optional {
            self.check_reserve(op)?;
        }
        Ok(())
    }

    /// Refuses a call while the org-wide pause lasts; ends the pause once it is over.
    pub fn check_paused(&self, op: &'static str) -> Result<(), SalesforceError> {
        let mut p = lock(&self.paused_until);
        if let Some((until, msg)) = p.as_ref() {
            let now = Instant::now();
            if now < *until {
                return Err(SalesforceError::QuotaExhausted {
                    operation: op,
                    message: msg.clone(),
                    retry_after: Some(*until - now),
                });
            }
            *p = None;
        }
        Ok(())
    }

    fn check_reserve(&self, op: &'static str) -> Result<(), SalesforceError> {
        let reserve = u64::from(self.reserve_percent);
        if let Some(u) = *lock(&self.usage)
            && u.limit > 0
            && u.remaining() * 100 < reserve * u.limit
        {
            return Err(SalesforceError::BudgetReserve {
                operation: op,
                remaining: u.remaining(),
                limit: u.limit,
                reserve_percent: self.reserve_percent,
            });
        }
        Ok(())
    }

    /// Pauses every call to the org for `quota_backoff`; returns that length.
    pub fn pause_for_quota(&self, message: &str) -> Duration {
        warn!(org = %self.key, backoff_secs = self.quota_backoff.as_secs(), "daily API allocation exhausted; pausing calls to this org");
        *lock(&self.paused_until) =
            Some((Instant::now() + self.quota_backoff, message.to_string()));
        self.quota_backoff
    }

    /// Records `used`/`limit` from a response header, when it had one.
    pub fn note_usage(&self, info: Option<(u64, u64)>) {
        if let Some((used, limit)) = info {
            self.set_usage(ApiUsage {
                used,
                limit,
                observed_at: jiff::Timestamp::now(),
            });
        }
    }

    pub fn set_usage(&self, usage: ApiUsage) {
        *lock(&self.usage) = Some(usage);
    }

    pub fn usage(&self) -> Option<ApiUsage> {
        *lock(&self.usage)
    }

    /// Waits for leave to make one call.
    pub async fn permit(&self) -> Result<CallPermit, SalesforceError> {
        let closed = |_| SalesforceError::Config {
            reason: "org client closed".into(),
        };
        let main = self.permits.clone().acquire_owned().await.map_err(closed)?;
        let serial = if self.serialized() {
            Some(self.serial.clone().acquire_owned().await.map_err(closed)?)
        } else {
            None
        };
        Ok(CallPermit {
            _main: main,
            _serial: serial,
        })
    }

    /// Calls allowed at once right now: `maxConcurrentCalls`, or 1 while serialized.
    pub fn effective_concurrency(&self) -> u32 {
        if self.serialized() {
            1
        } else {
            self.max_concurrent_calls.max(1)
        }
    }

    fn serialized(&self) -> bool {
        lock(&self.serial_until).is_some_and(|until| Instant::now() < until)
    }

    /// Salesforce refused a call for too many concurrent requests: the next calls to this org go
    /// one at a time for [`SERIAL_AFTER_CONCURRENT_LIMIT`] (restarted by each further refusal).
    pub fn note_concurrent_limit(&self) {
        let mut until = lock(&self.serial_until);
        if !until.is_some_and(|u| Instant::now() < u) {
            warn!(org = %self.key, secs = SERIAL_AFTER_CONCURRENT_LIMIT.as_secs(), "Salesforce concurrent-request limit reached; calls to this org go one at a time for a while");
        }
        *until = Some(Instant::now() + SERIAL_AFTER_CONCURRENT_LIMIT);
    }
}
