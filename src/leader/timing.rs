//! The three durations of leader election and the rule that makes them safe together.

use std::fmt;
use std::time::Duration;

/// How long a leader that has lost leadership may take to stop: the controllers are dropped at
/// the renew deadline and the process exits; a watchdog thread ends the process if it is still
/// there this long after the deadline ([`super::Deadman`]).
pub const STOP_BUDGET: Duration = Duration::from_secs(1);

/// Lease duration, renew deadline and retry period, checked against each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How long a standby waits, on its own clock, after it last saw the Lease change before it
    /// takes the Lease over.
    pub lease_duration: Duration,
    /// How long after the start of its last successful renewal the leader keeps leading.
    pub renew_deadline: Duration,
    /// The pause between two attempts (a standby's reads, a leader's renewals).
    pub retry_period: Duration,
}

/// Why a [`Timing`] is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimingError {
    /// A duration is zero.
    Zero(&'static str),
    /// `renew_deadline + STOP_BUDGET >= lease_duration`: a standby could take over before the
    /// leader has stopped.
    RenewDeadlineTooLong {
        renew_deadline: Duration,
        lease_duration: Duration,
    },
    /// `retry_period >= renew_deadline`: a leader would get at most one renewal attempt.
    RetryPeriodTooLong {
        retry_period: Duration,
        renew_deadline: Duration,
    },
}

impl fmt::Display for TimingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimingError::Zero(what) => write!(f, "the {what} must be more than 0 s"),
            TimingError::RenewDeadlineTooLong {
                renew_deadline,
                lease_duration,
            } => write!(
                f,
                "the renew deadline ({renew_deadline:?}) plus the {STOP_BUDGET:?} a leader is given to stop must be less than the lease duration ({lease_duration:?}), or a standby could take over while the old leader still writes"
            ),
            TimingError::RetryPeriodTooLong {
                retry_period,
                renew_deadline,
            } => write!(
                f,
                "the retry period ({retry_period:?}) must be less than the renew deadline ({renew_deadline:?})"
            ),
        }
    }
}

impl std::error::Error for TimingError {}

impl Timing {
    /// client-go's defaults: 15 s, 10 s, 2 s.
    pub const DEFAULT: Timing = Timing {
        lease_duration: Duration::from_secs(15),
        renew_deadline: Duration::from_secs(10),
        retry_period: Duration::from_secs(2),
    };

    /// Checks `renew_deadline + STOP_BUDGET < lease_duration` and
    /// `retry_period < renew_deadline`.
    pub fn new(
        lease_duration: Duration,
        renew_deadline: Duration,
        retry_period: Duration,
    ) -> Result<Timing, TimingError> {
        for (d, what) in [
            (lease_duration, "lease duration"),
            (renew_deadline, "renew deadline"),
            (retry_period, "retry period"),
        ] {
            if d.is_zero() {
                return Err(TimingError::Zero(what));
            }
        }
        if renew_deadline + STOP_BUDGET >= lease_duration {
            return Err(TimingError::RenewDeadlineTooLong {
                renew_deadline,
                lease_duration,
            });
        }
        if retry_period >= renew_deadline {
            return Err(TimingError::RetryPeriodTooLong {
                retry_period,
                renew_deadline,
            });
        }
        Ok(Timing {
            lease_duration,
            renew_deadline,
            retry_period,
        })
    }

    /// The defaults for a lease duration that is not the default one: the renew deadline is two
    /// thirds of it and the retry period two fifteenths (10 s and 2 s of 15 s, as client-go).
    pub fn scaled(lease_duration: Duration) -> (Duration, Duration) {
        (lease_duration * 2 / 3, lease_duration * 2 / 15)
    }

    /// The longest one attempt (a read plus a write) may take: half the renew deadline, so a
    /// leader whose request hangs still gets a second attempt before its deadline.
    pub fn attempt_timeout(&self) -> Duration {
        self.renew_deadline / 2
    }

    /// `leaseDurationSeconds` as written into the Lease (whole seconds, rounded up).
    pub fn lease_seconds(&self) -> i32 {
        let ms = self.lease_duration.as_millis();
        i32::try_from(ms.div_ceil(1000)).unwrap_or(i32::MAX)
    }

    /// What is left between the moment a leader has certainly stopped and the earliest moment a
    /// standby can take over: slack for the two processes' clocks running at different rates and
    /// for scheduling delays.
    pub fn margin(&self) -> Duration {
        self.lease_duration
            .saturating_sub(self.renew_deadline + STOP_BUDGET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_defaults_are_client_go_s_and_leave_a_margin() {
        let t = Timing::new(S(15), S(10), S(2)).unwrap();
        assert_eq!(t, Timing::DEFAULT);
        assert_eq!(t.margin(), S(4));
        assert_eq!(t.attempt_timeout(), S(5));
        assert_eq!(t.lease_seconds(), 15);
        assert_eq!(Timing::scaled(S(15)), (S(10), S(2)));
    }

    #[test]
    fn a_renew_deadline_that_leaves_no_time_to_stop_is_refused() {
        let e = Timing::new(S(15), S(14), S(2)).unwrap_err();
        assert!(matches!(e, TimingError::RenewDeadlineTooLong { .. }));
        assert!(e.to_string().contains("plus the 1s"), "{e}");
        Timing::new(S(15), S(15), S(2)).unwrap_err();
        Timing::new(S(15), S(13), S(2)).unwrap();
    }

    #[test]
    fn a_retry_period_not_below_the_renew_deadline_is_refused() {
        let e = Timing::new(S(15), S(10), S(10)).unwrap_err();
        assert!(matches!(e, TimingError::RetryPeriodTooLong { .. }));
        Timing::new(S(15), S(10), S(0)).unwrap_err();
    }

    #[test]
    fn scaled_defaults_of_short_leases_are_valid() {
        for secs in [5, 6, 8, 30, 300] {
            let (renew, retry) = Timing::scaled(S(secs));
            Timing::new(S(secs), renew, retry).unwrap_or_else(|e| panic!("{secs}: {e}"));
        }
    }
}
