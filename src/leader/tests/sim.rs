//! Randomized: three candidates, each rejoining as a standby (under a new identity, as a
//! restarted process) after it lost the Lease, while their networks are cut, slowed, made to fail
//! or delayed at random. However the faults fall, one candidate's leadership ends, plus the time it
//! is given to stop, before another's begins. Seeded; the failing seed is in the message.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::{Instant, sleep};

use super::T;
use super::fake::{FakeStore, Net, NetSwitch};
use crate::leader::{Elector, STOP_BUDGET};

const CANDIDATES: usize = 3;
const RUN: Duration = Duration::from_secs(1800);

/// One stretch of leadership: who, from when `acquire()` returned until `lost()` resolved.
#[derive(Clone, Debug)]
struct Term {
    who: String,
    from: Instant,
    to: Option<Instant>,
}

type Terms = Arc<Mutex<Vec<Term>>>;

async fn candidate(idx: usize, store: FakeStore, net: NetSwitch, terms: Terms) {
    for generation in 0.. {
        let who = format!("c{idx}-{generation}");
        let leading = Elector::new(store.view_on(&net), who.clone(), T)
            .acquire()
            .await;
        let at = {
            let mut t = terms.lock().unwrap();
            t.push(Term {
                who,
                from: Instant::now(),
                to: None,
            });
            t.len() - 1
        };
        leading.lost().await;
        terms.lock().unwrap()[at].to = Some(Instant::now());
        // The process exits (dropping the renewals) and restarts as a standby.
    }
}

fn ms(rng: &mut StdRng, max: u64) -> Duration {
    Duration::from_millis(rng.random_range(0..max))
}

fn fault(rng: &mut StdRng) -> Net {
    match rng.random_range(0..5) {
        0 => Net::Cut,
        1 => Net::Fail,
        2 => Net::Slow {
            before: ms(rng, 9000),
            after: ms(rng, 9000),
        },
        _ => Net::Up {
            latency: ms(rng, 3000),
        },
    }
}

async fn run(seed: u64) -> Vec<Term> {
    let store = FakeStore::default();
    let terms: Terms = Arc::default();
    let mut nets = Vec::new();
    let mut tasks = Vec::new();
    for idx in 0..CANDIDATES {
        let (_, net) = store.view();
        nets.push(net.clone());
        tasks.push(tokio::spawn(candidate(
            idx,
            store.clone(),
            net,
            terms.clone(),
        )));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let end = Instant::now() + RUN;
    while Instant::now() < end {
        let who = rng.random_range(0..CANDIDATES);
        nets[who].set(fault(&mut rng));
        sleep(ms(&mut rng, 20_000)).await;
        if rng.random_bool(0.6) {
            nets[who].set(Net::UP);
        }
    }
    for t in tasks {
        t.abort();
    }
    let terms = terms.lock().unwrap();
    terms.clone()
}

#[tokio::test(start_paused = true)]
async fn leadership_terms_never_overlap_under_random_network_faults() {
    let mut total_terms = 0;
    for seed in 0..40 {
        let mut terms = run(seed).await;
        terms.sort_by_key(|t| t.from);
        for pair in terms.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let a_end = a.to.unwrap_or_else(|| {
                panic!(
                    "seed {seed}: {} still leads while {} took over",
                    a.who, b.who
                )
            });
            assert!(
                a_end + STOP_BUDGET < b.from,
                "seed {seed}: {} led until {:?}, {} from {:?} (less than {STOP_BUDGET:?} apart)",
                a.who,
                a_end - a.from,
                b.who,
                b.from - a.from
            );
        }
        assert!(!terms.is_empty(), "seed {seed}: nobody ever led");
        total_terms += terms.len();
    }
    // Not vacuous: the faults made leadership change hands many times.
    assert!(total_terms > 200, "only {total_terms} terms in 40 runs");
}
