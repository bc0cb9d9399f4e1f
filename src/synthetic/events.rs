//! Synthetic event logs: a catalogue's decisions over a synthetic population, with responses
//! drawn from a behaviour model whose true rates are known, for tests and benchmarks of `learn`
//! (`opmaat synth --events N --catalogue c.json --out events.parquet`).
//!
//! Each customer ([`super::profile`]) visits on a day with probability [`VISIT_RATE`]; a visit
//! decides one of the catalogue's placements (picked at random) through the real funnel, with the
//! customer's ledger, so contact policies, the holdout group, splits and bandits behave as in
//! production, and every event comes from the real measurement path (`Engine::record`, and the
//! `withheld` events of held-out decisions, `Decision::measurement`). On each shown proposition the customer:
//!
//! * clicks with [`click_rate`] (the proposition's base rate, × [`TREATMENT_LIFT`] for every
//!   treatment after the first);
//! * after a click, converts with [`CONVERT_AFTER_CLICK`] (a `convert` event and a server-side
//!   conversion, by product code when the proposition has one);
//! * without a click, dismisses with [`DISMISS_RATE`].
//!
//! Every exposure, shown or withheld, also converts "organically" with [`ORGANIC_RATE`] (a
//! server-side conversion only): that is the holdout group's baseline, so the true uplift of a
//! proposition per exposure is `click_rate × CONVERT_AFTER_CLICK`. Deterministic for a seed.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::decide::bandit::Rng;
use crate::decide::{Context, DecideRequest};
use crate::learn::Conversion;
use crate::ledger::{EventKind, Ledger};
use crate::measure::Measurement;
use crate::time::{format_rfc3339, Timestamp, DAY};
use crate::{Engine, Result};

pub const VISIT_RATE: f64 = 0.5;
pub const TREATMENT_LIFT: f64 = 1.5;
pub const CONVERT_AFTER_CLICK: f64 = 0.3;
pub const DISMISS_RATE: f64 = 0.03;
pub const ORGANIC_RATE: f64 = 0.002;
/// Events per customer on the sample catalogues, about: sizes the population for `--events`.
pub const EVENTS_PER_CUSTOMER: u64 = 20;
const SECONDS_PER_HOUR: i64 = 3_600;

/// The true click rate of a proposition's treatment (its index in the catalogue).
pub fn click_rate(proposition: &str, treatment: usize) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    for b in proposition.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let base = 0.01 + 0.07 * ((h >> 11) as f64 / (1u64 << 53) as f64);
    base * TREATMENT_LIFT.powi(i32::try_from(treatment).unwrap_or(0))
}

/// What a log is written to.
pub trait Sink {
    fn event(&mut self, event: &Measurement) -> Result<()>;
    fn conversion(&mut self, conversion: &Conversion) -> Result<()>;
}

/// The log of one block of customers, in order.
#[derive(Debug, Default)]
pub struct Log {
    pub events: Vec<Measurement>,
    pub conversions: Vec<Conversion>,
}

/// The setting of a synthetic log.
pub struct Setting<'a> {
    pub engine: &'a Engine,
    /// Proposition id → product code, from the catalogue (authoring) JSON.
    pub products: &'a BTreeMap<String, String>,
    pub seed: u64,
    pub days: u32,
    /// Midnight of the first day.
    pub start: Timestamp,
}

/// The events of customers `from..to` (each from its own seed, so blocks can be made in any
/// order and on any thread and give the same log).
pub fn block(setting: &Setting<'_>, from: u64, to: u64) -> Result<Log> {
    let engine = setting.engine;
    let placements: Vec<&str> = engine.placement_ids().collect();
    let mut log = Log::default();
    for customer in from..to {
        let seed = setting.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(customer);
        let mut snapshot = super::profile(seed);
        // Short digit runs: an id of 13 digits or more could look like a card number.
        snapshot["id"] = Value::from(format!("syn-s{}-c{customer}", setting.seed));
        let profile = engine.profile_from_value(&snapshot)?;
        let subject = profile.id().unwrap_or_default().to_string();
        let mut rng = Rng::seeded(seed ^ 0xE7E7_5EED);
        let mut ledger = Ledger::new(engine.bundle_id());
        for day in 0..setting.days {
            if rng.uniform() >= VISIT_RATE || placements.is_empty() {
                continue;
            }
            let hour = (rng.uniform() * 24.0) as i64;
            let now = setting.start + i64::from(day) * DAY + hour * SECONDS_PER_HOUR;
            let placement = placements.get((rng.uniform() * placements.len() as f64) as usize).copied().unwrap_or_default();
            let mut context_json = super::context(seed.wrapping_add(u64::from(day)));
            if let Value::Object(map) = &mut context_json {
                map.remove("topic");
            }
            let context = Context::from_value(&context_json)?;
            let Ok(decision) = engine.decide_without_trace(&DecideRequest { placement, profile: &profile, context: &context, ledger: Some(&ledger), now }) else {
                continue; // a placement this customer cannot be decided for (its audience)
            };
            let converted = |log: &mut Log, proposition: &str, at: Timestamp| {
                let (proposition, product) = match setting.products.get(proposition) {
                    Some(code) => (None, Some(code.clone())),
                    None => (Some(proposition.to_string()), None),
                };
                log.conversions.push(Conversion { subject: subject.clone(), proposition, product, time: format_rfc3339(at), token: None });
            };
            for w in decision.measurement.iter().cloned() {
                if rng.uniform() < ORGANIC_RATE {
                    converted(&mut log, &w.proposition, now + SECONDS_PER_HOUR);
                }
                log.events.push(w);
            }
            for slot in &decision.slots {
                let mut respond = |log: &mut Log, kind: EventKind, at: Timestamp| -> Result<()> {
                    let outcome = engine.record(&mut ledger, kind, &slot.token, at, Some(&profile))?;
                    log.events.extend(outcome.measurement);
                    Ok(())
                };
                respond(&mut log, EventKind::Impression, now)?;
                let index = engine
                    .bundle()
                    .payload
                    .catalogue
                    .propositions
                    .iter()
                    .find(|p| p.id == slot.proposition)
                    .and_then(|p| p.treatments.iter().position(|t| t.id == slot.treatment))
                    .unwrap_or(0);
                if rng.uniform() < click_rate(&slot.proposition, index) {
                    respond(&mut log, EventKind::Click, now + 1)?;
                    if rng.uniform() < CONVERT_AFTER_CLICK {
                        respond(&mut log, EventKind::Convert, now + 2)?;
                        converted(&mut log, &slot.proposition, now + 2);
                    }
                } else if rng.uniform() < DISMISS_RATE {
                    respond(&mut log, EventKind::Dismiss, now + 1)?;
                }
                if rng.uniform() < ORGANIC_RATE {
                    converted(&mut log, &slot.proposition, now + SECONDS_PER_HOUR);
                }
            }
        }
    }
    Ok(log)
}

/// Writes a log of at least `events` events (whole customers: it stops after the customer that
/// reaches the count) to `sink`, made on `threads` threads in blocks; returns the events and
/// conversions written.
pub fn write(setting: &Setting<'_>, events: u64, threads: usize, sink: &mut dyn Sink) -> Result<(u64, u64)> {
    const BLOCK: u64 = 2_000;
    let threads = threads.max(1) as u64;
    let (mut written, mut conversions, mut next) = (0u64, 0u64, 0u64);
    while written < events {
        let logs: Vec<Result<Log>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let from = next + t * BLOCK;
                    scope.spawn(move || block(setting, from, from + BLOCK))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(crate::Error::malformed("a synthetic log thread failed")))).collect()
        });
        next += threads * BLOCK;
        let before = written;
        for log in logs {
            let log = log?;
            for e in &log.events {
                if written == events {
                    break;
                }
                sink.event(e)?;
                written += 1;
            }
            for c in &log.conversions {
                sink.conversion(c)?;
                conversions += 1;
            }
        }
        if written == before {
            return Err(crate::Error::argument("--events", format!("the catalogue showed {next} synthetic customers nothing: no events to write")));
        }
    }
    Ok((written, conversions))
}
