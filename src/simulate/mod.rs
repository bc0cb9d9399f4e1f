//! `opmaat simulate`: a catalogue run over a population, over days, before it is published.
//!
//! Every customer of the [`population`] is simulated on its own (see [`customer`]): visits
//! drawn from a [`VisitModel`], each visit's placements decided by the very [`Engine`] the hosts
//! run, with the customer's own ledger, and responses drawn from the customer's propensities
//! ([`ResponseModel`]) recorded in it. The counts ([`tally`]) become a [`report::Report`]: share
//! of voice, coverage per product segment, the service and sales balance, what the strategic
//! knob costs, what a customer-centric ranking would show instead, contact pressure and what
//! the holdout group can measure; [`html`] renders it as a self-contained page.
//!
//! Each population is run three ways at once, in one pass over the file: the catalogue as it is
//! (with the trace, so every removal is counted by its rule), the same catalogue with
//! `bankValueWeight` 0 (ranked by the customer's value alone), and, given one, a baseline
//! catalogue (the version in production, say) on the same customers and seed.
//!
//! The population streams through in batches of [`BATCH_ROWS`]; a batch is simulated on every
//! core (rayon) in blocks of [`BLOCK_ROWS`] customers whose tallies are added in the population's
//! order, so the report is the same on one core or many. Snapshots' `issuedAt` and `expiresAt`
//! are set aside: the simulation treats a snapshot as re-issued for every simulated day.

pub mod customer;
pub mod html;
pub mod population;
pub mod report;
pub mod tally;

#[cfg(test)]
mod tests;

use rayon::prelude::*;
use serde_json::Value;

pub use customer::{Arm, ResponseModel, VisitModel};
use customer::Setting;
use population::{Population, Record};
use tally::{Skipped, Tally};

use crate::bundle::envelope::{decode, open, seal};
use crate::bundle::Payload;
use crate::bundle::keys::{SigningKey, TrustedKeys};
use crate::decide::Context;
use crate::time::{format_rfc3339, Timestamp, DAY};
use crate::{Engine, Error, LoadOptions, Result};

/// Rows read from the population before they are simulated.
pub const BATCH_ROWS: usize = 16_384;
/// Customers simulated one after the other on one thread, as one tally.
pub const BLOCK_ROWS: usize = 64;
/// The code a skipped row that could not be read at all is counted under (other rows carry the
/// code of the error their profile or context failed with, such as `personal_data`).
pub const UNREADABLE_ROW: &str = "unreadable_row";
/// Longest simulation, in days.
pub const MAX_DAYS: u32 = 366;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub days: u32,
    /// Midnight (UTC) of the first simulated day.
    pub start: Timestamp,
    pub visits: VisitModel,
    pub responses: ResponseModel,
    /// Refuse the population at its first bad row instead of skipping it.
    pub strict: bool,
    /// Decisions per year to state the knob's yearly cost at (default: the simulated traffic,
    /// per day, times 365).
    pub decisions_per_year: Option<f64>,
}

/// The runs of a simulation: the catalogue, the same with `bankValueWeight` 0, and a baseline.
pub struct Arms {
    pub catalogue: Arm,
    pub customer_centric: Arm,
    pub baseline: Option<Arm>,
}

impl Arms {
    /// The runs of a signed bundle (verified with `trusted`, valid at `now`) and of `baseline`.
    pub fn new(bundle: &[u8], trusted: &TrustedKeys, now: Timestamp, baseline: Option<Engine>) -> Result<Arms> {
        let engine = Engine::load(bundle, &LoadOptions { trusted_keys: trusted, now, min_version: None })?;
        let customer_centric = customer_centric(bundle, trusted, now)?;
        Ok(Arms { catalogue: Arm::new(engine), customer_centric: Arm::new(customer_centric), baseline: baseline.map(Arm::new) })
    }

    fn all(&self) -> Vec<&Arm> {
        let mut all = vec![&self.catalogue, &self.customer_centric];
        all.extend(&self.baseline);
        all
    }
}

/// The same bundle with `bankValueWeight` 0, signed in memory with a throwaway key.
pub fn customer_centric(bundle: &[u8], trusted: &TrustedKeys, now: Timestamp) -> Result<Engine> {
    let (_, body) = open(bundle, trusted)?;
    let mut payload: Payload = decode(body)?;
    payload.catalogue.arbitration.bank_value_weight = 0.0;
    let mut seed = [0u8; SigningKey::SEED_LEN];
    getrandom::fill(&mut seed).map_err(|e| Error::Io { path: "(system random source)".into(), message: e.to_string() })?;
    let key = SigningKey::from_seed(&seed);
    let mut own = TrustedKeys::new();
    own.add(&key.public_key())?;
    Engine::load(&seal(&payload, &key)?, &LoadOptions { trusted_keys: &own, now, min_version: None })
}

/// The tallies of a whole simulation, one per run, in the order of [`Arms`].
pub struct Tallies {
    pub catalogue: Tally,
    pub customer_centric: Tally,
    pub baseline: Option<Tally>,
}

/// Hears every decision of the catalogue's run (for tests that check the figures against the
/// decisions themselves).
pub type Observer<'a> = &'a (dyn Fn(&crate::Decision) + Sync);

/// Runs the simulation over `population` (named `source` in errors); `progress` hears the rows
/// read so far after every batch.
pub fn run(population: Population, source: &str, arms: &Arms, options: &Options, progress: &(dyn Fn(u64) + Sync)) -> Result<Tallies> {
    run_observed(population, source, arms, options, progress, None)
}

/// [`run`], with every decision of the catalogue's run handed to `observe`.
pub fn run_observed(population: Population, source: &str, arms: &Arms, options: &Options, progress: &(dyn Fn(u64) + Sync), observe: Option<Observer<'_>>) -> Result<Tallies> {
    check(arms, options)?;
    let mix: Vec<(f64, Context)> = options
        .visits
        .contexts
        .iter()
        .enumerate()
        .map(|(i, (w, c))| Context::from_value(c).map(|c| (*w, c)).map_err(|e| Error::argument(format!("contexts[{i}]"), e)))
        .collect::<Result<_>>()?;
    let setting = Setting { seed: options.seed, days: options.days, start: options.start, visits: &options.visits, responses: options.responses, mix: &mix, observe: None };
    let all = arms.all();
    let mut totals: Vec<Tally> = all.iter().map(|a| a.tally(options.days)).collect();
    let (mut read, mut ordinal) = (0u64, 0u64);
    let mut population = population.peekable();
    while population.peek().is_some() {
        let mut batch: Vec<(u64, Record)> = Vec::with_capacity(BATCH_ROWS);
        for record in population.by_ref().take(BATCH_ROWS) {
            batch.push((ordinal, record?));
            ordinal += 1;
        }
        read += batch.len() as u64;
        let blocks: Vec<Result<Vec<Tally>>> = batch.par_chunks(BLOCK_ROWS).map(|block| simulate_block(block, source, &all, &setting, options, observe)).collect();
        for block in blocks {
            for (total, tally) in totals.iter_mut().zip(block?) {
                total.add(&tally);
            }
        }
        progress(read);
    }
    let mut totals = totals.into_iter();
    let (Some(catalogue), Some(customer_centric)) = (totals.next(), totals.next()) else {
        return Err(Error::malformed("a simulation lost its tallies"));
    };
    Ok(Tallies { catalogue, customer_centric, baseline: totals.next() })
}

/// The simulated days must lie inside every catalogue's validity window.
fn check(arms: &Arms, options: &Options) -> Result<()> {
    if options.days == 0 || options.days > MAX_DAYS {
        return Err(Error::argument("--days", format!("{}: from 1 to {MAX_DAYS}", options.days)));
    }
    let v = &options.visits;
    if !(v.visits_per_day.is_finite() && (0.0..=f64::from(customer::MAX_VISITS_PER_DAY)).contains(&v.visits_per_day)) {
        return Err(Error::argument("--visits-per-day", format!("{}: from 0 to {}", v.visits_per_day, customer::MAX_VISITS_PER_DAY)));
    }
    if v.placements_per_visit == 0 {
        return Err(Error::argument("--placements-per-visit", "at least 1"));
    }
    for (name, rate) in [("--convert-after-click", options.responses.convert_after_click), ("--dismiss-rate", options.responses.dismiss_rate)] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(Error::argument(name, format!("{rate}: a probability, from 0 to 1")));
        }
    }
    if let Some((i, (w, _))) = v.contexts.iter().enumerate().find(|(_, (w, _))| !(w.is_finite() && *w > 0.0)) {
        return Err(Error::argument(format!("contexts[{i}].weight"), format!("{w}: a positive number")));
    }
    let end = options.start + i64::from(options.days) * DAY;
    for arm in [Some(&arms.catalogue), arms.baseline.as_ref()].into_iter().flatten() {
        let e = &arm.engine;
        if options.start < e.not_before() || end > e.expires_at() {
            return Err(Error::argument(
                "--start",
                format!(
                    "{} days from {} run outside the validity of {} version {} ({} to {})",
                    options.days,
                    format_rfc3339(options.start),
                    e.bundle_id(),
                    e.version(),
                    format_rfc3339(e.not_before()),
                    format_rfc3339(e.expires_at())
                ),
            ));
        }
        if let Some(unknown) = v.placements.iter().find(|p| !arm.placements.contains(p)) {
            return Err(Error::argument("--placements", format!("no placement {unknown:?} in {} (placements: {})", e.bundle_id(), arm.placements.join(", "))));
        }
    }
    Ok(())
}

/// One block of customers through every run.
fn simulate_block(block: &[(u64, Record)], source: &str, arms: &[&Arm], setting: &Setting<'_>, options: &Options, observe: Option<Observer<'_>>) -> Result<Vec<Tally>> {
    let mut tallies: Vec<Tally> = arms.iter().map(|a| a.tally(options.days)).collect();
    let Some(main) = arms.first() else { return Ok(tallies) };
    for (ordinal, record) in block {
        for t in &mut tallies {
            t.rows += 1;
        }
        let customer = record.entry.clone().map_err(|message| Error::argument(format!("{source}: row {}", record.row), message)).and_then(|entry| {
            let mut snapshot = entry.profile;
            if let Value::Object(map) = &mut snapshot {
                map.remove("issuedAt");
                map.remove("expiresAt");
            }
            let profile = main.engine.profile_from_value(&snapshot)?;
            let context = match &entry.context {
                Some(c) => Context::from_value(c)?,
                None => Context::default(),
            };
            Ok((profile, context))
        });
        let (profile, context) = match customer {
            Ok(c) => c,
            Err(e) if options.strict => {
                return Err(match e {
                    Error::InvalidArgument { .. } => e,
                    other => Error::argument(format!("{source}: row {}", record.row), format!("{} ({other})", other.code())),
                })
            }
            Err(e) => {
                let code = if record.entry.is_err() { UNREADABLE_ROW } else { e.code() };
                let skipped = Skipped { row: record.row, code: code.to_string(), message: e.to_string() };
                for t in &mut tallies {
                    t.skip(skipped.clone());
                }
                continue;
            }
        };
        for (k, (arm, tally)) in arms.iter().zip(&mut tallies).enumerate() {
            let setting = Setting { observe: if k == 0 { observe } else { None }, ..*setting };
            customer::simulate(arm, &setting, &profile, &context, *ordinal, tally)?;
        }
    }
    Ok(tallies)
}
