//! What one `SsoConnectedApp` costs in the operator's caches, in bytes, measured with a counting
//! allocator: as the app store holds it (deserialised from the API server's JSON, in a map keyed by
//! name), its entries in the app index, its metric series and its refresh queue entry. "In musl
//! slots" rounds each allocation up to the slot size of musl's malloc (mallocng), the allocator of
//! the shipped build, which is what RSS pays.
//!
//!     CARGO_TARGET_DIR=target/memprobe cargo run --release \
//!       --manifest-path hack/bench/memprobe/Cargo.toml -- hack/bench/memprobe/app.json
//!
//! `app.json` is an app as the benchmark creates it, with the status the operator writes; `KKKK`
//! is replaced by the app's number. BENCHMARKS.md quotes the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use kube::runtime::watcher::Event;
use sso_operator::api::SsoConnectedApp;
use sso_operator::controller::context::resource_labels;
use sso_operator::controller::index::{AppIndex, key_of};
use sso_operator::controller::refresh_queue::RefreshQueue;
use sso_operator::metrics::{Metrics, ResourceState};

static BYTES: AtomicIsize = AtomicIsize::new(0);
static CLASSED: AtomicIsize = AtomicIsize::new(0);
static COUNT: AtomicIsize = AtomicIsize::new(0);

/// musl mallocng's size classes, in 16-byte units; a slot also holds a 4-byte header.
const CLASSES: [usize; 48] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 18, 20, 25, 31, 36, 42, 50, 63, 72, 84, 102, 127, 146,
    170, 204, 255, 292, 340, 409, 511, 584, 682, 818, 1023, 1169, 1364, 1637, 2047, 2340, 2730,
    3276, 4095, 4680, 5460, 6552, 8191,
];

fn classed(n: usize) -> usize {
    let units = (n + 4).div_ceil(16);
    CLASSES
        .iter()
        .find(|&&c| c >= units)
        .map_or(n + 4096, |c| c * 16)
}

struct Counting;

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        BYTES.fetch_add(l.size() as isize, Relaxed);
        CLASSED.fetch_add(classed(l.size()) as isize, Relaxed);
        COUNT.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        BYTES.fetch_sub(l.size() as isize, Relaxed);
        CLASSED.fetch_sub(classed(l.size()) as isize, Relaxed);
        COUNT.fetch_sub(1, Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

type Snapshot = (isize, isize, isize);

fn snapshot() -> Snapshot {
    (BYTES.load(Relaxed), CLASSED.load(Relaxed), COUNT.load(Relaxed))
}

fn report(what: &str, n: isize, a: Snapshot, b: Snapshot) {
    println!(
        "{what}: {} bytes requested, {} bytes in musl slots, {} allocations per app",
        (b.0 - a.0) / n,
        (b.1 - a.1) / n,
        (b.2 - a.2) / n
    );
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: memprobe <app.json>");
    let template = std::fs::read_to_string(path).expect("read the app template");
    let n = 2000;
    let docs: Vec<String> = (0..n)
        .map(|k| template.replace("KKKK", &format!("{k:05}")))
        .collect();

    let a = snapshot();
    let mut store: HashMap<String, Arc<SsoConnectedApp>> = HashMap::new();
    for d in &docs {
        let app: SsoConnectedApp = serde_json::from_str(d).expect("an SsoConnectedApp");
        store.insert(app.metadata.name.clone().unwrap_or_default(), Arc::new(app));
    }
    report("app store", n as isize, a, snapshot());
    println!("size_of::<SsoConnectedApp>() = {}", size_of::<SsoConnectedApp>());

    let index = AppIndex::default();
    let a = snapshot();
    for app in store.values() {
        index.apply(&Event::Apply((**app).clone()));
    }
    report("app index", n as isize, a, snapshot());

    let metrics = Metrics::default();
    let a = snapshot();
    for app in store.values() {
        let labels = resource_labels("ssoconnectedapp", &**app);
        let state = ResourceState {
            ready: true,
            suspended: false,
            certificate_not_after: Some(jiff::Timestamp::now()),
            api_usage: None,
        };
        metrics.record_resource(&labels, &state);
    }
    report("metric series", n as isize, a, snapshot());

    let queue = RefreshQueue::default();
    let a = snapshot();
    for (i, app) in store.values().enumerate() {
        queue.schedule(&key_of(app), std::time::Duration::from_millis(60_000 + i as u64));
    }
    report("refresh queue entry", n as isize, a, snapshot());
}
