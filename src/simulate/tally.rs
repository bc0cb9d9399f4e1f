//! What a simulation counts as it goes: one [`Tally`] per block of customers, added up in the
//! population's order (so the float sums, and the report, are the same on any number of threads).

use std::collections::BTreeMap;

use crate::decide::Rule;

/// Rules in the trace's vocabulary, indexed as [`Rule::ALL`].
pub const RULES: usize = Rule::ALL.len();

/// The index of a rule in [`Rule::ALL`] (its declaration order).
pub fn rule_index(rule: Rule) -> usize {
    rule as usize
}

/// Expected value, split by who it is for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Value3 {
    /// `Σ P × V` (V weighted as the catalogue weighs it).
    pub weighted: f64,
    /// `Σ P × bank value`.
    pub bank: f64,
    /// `Σ P × customer value`.
    pub customer: f64,
}

impl Value3 {
    pub fn add(&mut self, other: Value3) {
        self.weighted += other.weighted;
        self.bank += other.bank;
        self.customer += other.customer;
    }
}

/// A row the simulation skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub row: u64,
    pub code: String,
    pub message: String,
}

/// Most skipped rows named in a report (the rest are counted).
pub const MAX_SKIPPED_NAMED: usize = 50;

/// The counts of one run over some customers. Vectors are indexed by placement, proposition,
/// segment and rule of the run's catalogue (`p × propositions + i` and the like).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub rows: u64,
    pub customers: u64,
    pub visited: u64,
    pub skipped: u64,
    pub skipped_named: Vec<Skipped>,
    pub decisions: Vec<u64>,
    pub failed: BTreeMap<String, u64>,
    /// `placement × propositions + proposition`.
    pub impressions: Vec<u64>,
    /// Slots the same decisions would have given each proposition with the knob at 0.
    pub unknobbed_slots: Vec<u64>,
    pub clicks: Vec<u64>,
    pub conversions: Vec<u64>,
    pub dismissals: Vec<u64>,
    /// `proposition × RULES + rule`: trace entries.
    pub removals: Vec<u64>,
    /// Customers shown at least one proposition of the segment.
    pub segment_shown: Vec<u64>,
    /// Customers for whom at least one of the segment's propositions passed selection.
    pub segment_eligible: Vec<u64>,
    /// `segment × RULES + rule`: customers shown nothing of the segment, by the rule that removed
    /// its propositions most often for them.
    pub segment_without: Vec<u64>,
    /// Customers shown at least one proposition of every segment.
    pub every_segment: u64,
    pub value: Value3,
    pub value_unknobbed: Value3,
    /// `Σ withoutKnob.knobCost` over the decisions.
    pub knob_cost: f64,
    /// Per segment: `Σ P × V` of its shown propositions, and of those the knob-free decisions
    /// would have shown.
    pub segment_value: Vec<f64>,
    pub segment_value_unknobbed: Vec<f64>,
    /// Per simulated day.
    pub daily_value: Vec<f64>,
    pub daily_value_unknobbed: Vec<f64>,
    pub daily_decisions: Vec<u64>,
    /// Impressions a customer got in one simulated week → how many customer-weeks.
    pub weekly_impressions: BTreeMap<u32, u64>,
    /// Per rule: trace entries, and customers it removed something for at least once.
    pub rule_removals: Vec<u64>,
    pub rule_customers: Vec<u64>,
    pub holdout_customers: u64,
    /// Per proposition: customers outside the holdout group shown it, and those of them who
    /// converted on it; customers in the group it was withheld from.
    pub exposed: Vec<u64>,
    pub exposed_converted: Vec<u64>,
    pub control: Vec<u64>,
}

fn add_all(into: &mut Vec<u64>, from: &[u64]) {
    if into.len() < from.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

fn add_all_f(into: &mut Vec<f64>, from: &[f64]) {
    if into.len() < from.len() {
        into.resize(from.len(), 0.0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

impl Tally {
    /// An empty tally for a catalogue of this shape.
    pub fn new(placements: usize, propositions: usize, segments: usize, days: usize) -> Tally {
        Tally {
            decisions: vec![0; placements],
            impressions: vec![0; placements * propositions],
            unknobbed_slots: vec![0; propositions],
            clicks: vec![0; propositions],
            conversions: vec![0; propositions],
            dismissals: vec![0; propositions],
            removals: vec![0; propositions * RULES],
            segment_shown: vec![0; segments],
            segment_eligible: vec![0; segments],
            segment_without: vec![0; segments * RULES],
            segment_value: vec![0.0; segments],
            segment_value_unknobbed: vec![0.0; segments],
            daily_value: vec![0.0; days],
            daily_value_unknobbed: vec![0.0; days],
            daily_decisions: vec![0; days],
            rule_removals: vec![0; RULES],
            rule_customers: vec![0; RULES],
            exposed: vec![0; propositions],
            exposed_converted: vec![0; propositions],
            control: vec![0; propositions],
            ..Tally::default()
        }
    }

    /// Adds `other` (the customers after this tally's) to this one.
    pub fn add(&mut self, other: &Tally) {
        self.rows += other.rows;
        self.customers += other.customers;
        self.visited += other.visited;
        self.skipped += other.skipped;
        for s in &other.skipped_named {
            if self.skipped_named.len() < MAX_SKIPPED_NAMED {
                self.skipped_named.push(s.clone());
            }
        }
        add_all(&mut self.decisions, &other.decisions);
        for (code, n) in &other.failed {
            *self.failed.entry(code.clone()).or_default() += n;
        }
        add_all(&mut self.impressions, &other.impressions);
        add_all(&mut self.unknobbed_slots, &other.unknobbed_slots);
        add_all(&mut self.clicks, &other.clicks);
        add_all(&mut self.conversions, &other.conversions);
        add_all(&mut self.dismissals, &other.dismissals);
        add_all(&mut self.removals, &other.removals);
        add_all(&mut self.segment_shown, &other.segment_shown);
        add_all(&mut self.segment_eligible, &other.segment_eligible);
        add_all(&mut self.segment_without, &other.segment_without);
        self.every_segment += other.every_segment;
        self.value.add(other.value);
        self.value_unknobbed.add(other.value_unknobbed);
        self.knob_cost += other.knob_cost;
        add_all_f(&mut self.segment_value, &other.segment_value);
        add_all_f(&mut self.segment_value_unknobbed, &other.segment_value_unknobbed);
        add_all_f(&mut self.daily_value, &other.daily_value);
        add_all_f(&mut self.daily_value_unknobbed, &other.daily_value_unknobbed);
        add_all(&mut self.daily_decisions, &other.daily_decisions);
        for (k, n) in &other.weekly_impressions {
            *self.weekly_impressions.entry(*k).or_default() += n;
        }
        add_all(&mut self.rule_removals, &other.rule_removals);
        add_all(&mut self.rule_customers, &other.rule_customers);
        self.holdout_customers += other.holdout_customers;
        add_all(&mut self.exposed, &other.exposed);
        add_all(&mut self.exposed_converted, &other.exposed_converted);
        add_all(&mut self.control, &other.control);
    }

    pub fn skip(&mut self, skipped: Skipped) {
        self.skipped += 1;
        if self.skipped_named.len() < MAX_SKIPPED_NAMED {
            self.skipped_named.push(skipped);
        }
    }
}

/// `v[i]`, or 0 past its end.
pub fn at(v: &[u64], i: usize) -> u64 {
    v.get(i).copied().unwrap_or(0)
}

/// Adds `n` to `v[i]` (nothing past its end: every index comes from the run's own catalogue).
pub fn bump(v: &mut [u64], i: usize, n: u64) {
    if let Some(x) = v.get_mut(i) {
        *x += n;
    }
}

pub fn bump_f(v: &mut [f64], i: usize, x: f64) {
    if let Some(y) = v.get_mut(i) {
        *y += x;
    }
}
