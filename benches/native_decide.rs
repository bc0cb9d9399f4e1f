//! Native benchmark of `Engine::decide` on synthetic catalogues of 100, 1,000 and 10,000
//! propositions (3 to 6 targeting clauses each, see `opmaat::synthetic`), deciding the
//! 3-slot `overview` placement for varied profiles and contexts. Prints p50 and p99 in µs.
//!
//! ```sh
//! cargo bench --bench native_decide --features compiler --profile cli
//! ```
//!
//! Each decision is timed on its own, from the request to the finished `Decision`, without the
//! trace (as a page asks) and with it; profiles and contexts are parsed beforehand, as a page
//! parses its profile once.
//! Figures are reported, never asserted.

use std::hint::black_box;
use std::time::{Duration, Instant};

use opmaat::bundle::compile::compile;
use opmaat::bundle::envelope::seal;
use opmaat::bundle::keys::SigningKey;
use opmaat::bundle::TrustedKeys;
use opmaat::synthetic;
use opmaat::decide::Stage;
use opmaat::time::parse_rfc3339;
use opmaat::{Context, DecideRequest, Engine, LoadOptions, Profile};

const PROFILES: u64 = 64;
const CONTEXTS: u64 = 16;

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    let i = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1e6
}

fn main() {
    let now = parse_rfc3339("2026-12-05T09:30:00Z", "now").unwrap();
    let key = SigningKey::from_seed(&[7; 32]);
    let mut trusted = TrustedKeys::new();
    trusted.add(&key.public_key()).unwrap();
    println!("decide, native ({}), overview placement: 3 slots, at most 2 sales, 1 service, one per segment", std::env::consts::ARCH);
    println!("{:>13}  {:>10}  {:>10}  {:>10}  {:>12}  {:>10}  {:>10}", "propositions", "bundle KiB", "p50 µs", "p99 µs", "traced p50 µs", "candidates", "iterations");
    for (n, iterations) in [(100usize, 5_000usize), (1_000, 2_000), (10_000, 400)] {
        let payload = compile(&synthetic::catalogue(n, 42), now).unwrap();
        let bytes = seal(&payload, &key).unwrap();
        let engine = Engine::load(&bytes, &LoadOptions { trusted_keys: &trusted, now, min_version: None }).unwrap();
        let profiles: Vec<Profile> = (0..PROFILES).map(|i| engine.profile_from_value(&synthetic::profile(i)).unwrap()).collect();
        let contexts: Vec<Context> = (0..CONTEXTS).map(|i| Context::from_value(&synthetic::context(i)).unwrap()).collect();
        let request = |i: usize| DecideRequest {
            placement: "overview",
            profile: &profiles[i % profiles.len()],
            context: &contexts[i % contexts.len()],
            ledger: None,
            now,
        };
        for i in 0..iterations / 10 {
            black_box(engine.decide(&request(i)).unwrap());
        }
        let mut times = Vec::with_capacity(iterations);
        for i in 0..iterations {
            let r = request(i);
            let start = Instant::now();
            black_box(engine.decide_without_trace(black_box(&r)).unwrap());
            times.push(start.elapsed());
        }
        let mut traced = Vec::with_capacity(iterations);
        let mut candidates = 0;
        for i in 0..iterations {
            let r = request(i);
            let start = Instant::now();
            let decision = engine.decide(black_box(&r)).unwrap();
            traced.push(start.elapsed());
            candidates += decision.slots.len() + decision.trace.iter().filter(|t| t.stage != Stage::Select).count();
            black_box(decision);
        }
        times.sort_unstable();
        traced.sort_unstable();
        println!(
            "{n:>13}  {:>10.0}  {:>10.1}  {:>10.1}  {:>12.1}  {:>10.1}  {iterations:>10}",
            bytes.len() as f64 / 1024.0,
            percentile(&times, 50),
            percentile(&times, 99),
            percentile(&traced, 50),
            candidates as f64 / iterations as f64,
        );
    }
}
