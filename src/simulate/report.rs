//! The figures of a simulation, from its [`Tallies`]: what `--json` prints and the HTML report
//! shows. Every value is in the catalogue's value units (euros when its values are euros).

use serde::Serialize;

use super::customer::Arm;
use super::tally::{at, rule_index, Skipped, Tally, Value3, RULES};
use super::{Arms, Options, Tallies};
use crate::bundle::model::Kind;
use crate::decide::Rule;
use crate::learn::{MIN_GROUP, Z_95};
use crate::time::{format_rfc3339, DAY};

/// `z` of 80 % power, for the minimum detectable uplift.
pub const Z_POWER_80: f64 = 0.841_621_234;
const DAYS_PER_YEAR: f64 = 365.0;
/// The contact policies, as the trace names them (`sales_per_day` is the global cap).
pub const POLICY_RULES: [Rule; 5] = [Rule::Converted, Rule::DismissCooldown, Rule::ImpressionCap, Rule::RestingAfterIgnored, Rule::SalesPerDay];

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub catalogue: CatalogueRef,
    pub seed: u64,
    pub days: u32,
    /// The first simulated day, RFC 3339.
    pub start: String,
    pub visit_model: VisitModelEcho,
    pub population: PopulationFigures,
    pub decisions: Decisions,
    /// Per placement, then `all` for the placements together.
    pub share_of_voice: Vec<Voice>,
    pub never_shown: Vec<NeverShown>,
    pub coverage: Coverage,
    /// Per placement, then `all`.
    pub balance: Vec<Balance>,
    pub knob: Knob,
    pub customer_centric: CustomerCentric,
    pub pressure: Pressure,
    pub measurement: Measurement,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Box<Report>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueRef {
    pub id: String,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitModelEcho {
    pub visits_per_day: f64,
    pub placements_per_visit: usize,
    pub placements: Vec<String>,
    pub contexts: usize,
    pub convert_after_click: f64,
    pub dismiss_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PopulationFigures {
    pub rows: u64,
    /// Customers simulated (rows not skipped).
    pub customers: u64,
    /// Customers with at least one decision.
    pub visited: u64,
    pub skipped: u64,
    /// The first skipped rows, by row, with why.
    pub skipped_rows: Vec<SkippedRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedRow {
    pub row: u64,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decisions {
    pub total: u64,
    pub per_day: f64,
    pub per_placement: Vec<Named>,
    /// Decisions that failed, by error code.
    pub failed: Vec<Named>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Named {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Voice {
    pub placement: String,
    pub impressions: u64,
    pub propositions: Vec<Share>,
    pub segments: Vec<Share>,
    pub kinds: Vec<Share>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Share {
    pub name: String,
    pub impressions: u64,
    /// Of the placement's impressions, 0–1.
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NeverShown {
    pub proposition: String,
    pub segment: String,
    pub kind: Kind,
    /// The rule that removed it most often (absent: it never came up, as in a channel no
    /// simulated placement is in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    /// How often that rule removed it, of all its removals (0–1).
    pub rule_share: f64,
    pub removals: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    /// Customers with at least one decision: the denominator below.
    pub customers: u64,
    /// Shown at least one proposition of every product segment.
    pub every_segment: u64,
    pub every_segment_share: f64,
    pub segments: Vec<SegmentCoverage>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentCoverage {
    pub segment: String,
    /// Customers shown at least one of its propositions.
    pub shown: u64,
    pub shown_share: f64,
    /// Customers for whom at least one of its propositions passed selection.
    pub eligible: u64,
    pub eligible_share: f64,
    /// Customers shown none, by the rule that removed its propositions most often for them.
    pub without: Vec<Named>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    pub placement: String,
    pub service: u64,
    pub sales: u64,
    pub loyalty: u64,
    /// Service impressions of all, 0–1.
    pub service_share: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Values {
    /// `Σ P × V`, V as the catalogue weighs bank and customer value.
    pub expected_value: f64,
    /// `Σ P × bank value`.
    pub bank: f64,
    /// `Σ P × customer value`.
    pub customer: f64,
}

impl From<Value3> for Values {
    fn from(v: Value3) -> Values {
        Values { expected_value: v.weighted, bank: v.bank, customer: v.customer }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Knob {
    /// The strategic settings, in percent: `segment` or `segment/proposition`.
    pub settings: Vec<Setting>,
    /// The decisions as made.
    pub with_knob: Values,
    /// The same decisions with every strategic setting at 0.
    pub without_knob: Values,
    /// `Σ withoutKnob.knobCost`: expected value given up for the knob (negative: gained).
    pub cost: f64,
    pub cost_per_1000_decisions: f64,
    pub decisions_per_year: f64,
    pub cost_per_year: f64,
    /// Per segment the knob touches.
    pub segments: Vec<KnobSegment>,
    pub daily: Vec<Daily>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Setting {
    pub name: String,
    pub percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnobSegment {
    pub segment: String,
    /// Slots its propositions got, with and without the knob.
    pub slots_with_knob: u64,
    pub slots_without_knob: u64,
    pub value_with_knob: f64,
    pub value_without_knob: f64,
    /// `valueWithoutKnob - valueWithKnob`, per 1,000 decisions.
    pub cost_per_1000_decisions: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Daily {
    pub date: String,
    pub decisions: u64,
    pub with_knob: f64,
    pub without_knob: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerCentric {
    /// Decisions of the customer-centric run.
    pub decisions: u64,
    /// The catalogue as it is.
    pub as_is: Values,
    /// The same catalogue and customers with `bankValueWeight` 0.
    pub customer_centric: Values,
    /// Impressions per proposition, as is and customer-centric, most changed first.
    pub propositions: Vec<Compared>,
    pub segments: Vec<Compared>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Compared {
    pub name: String,
    pub impressions: u64,
    pub other: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pressure {
    /// Customer-weeks counted (weeks of 7 simulated days; a shorter last week counts as one).
    pub customer_weeks: u64,
    /// Impressions in a week → customer-weeks.
    pub distribution: Vec<Bucket>,
    pub mean: f64,
    pub median: u32,
    pub p90: u32,
    pub p99: u32,
    pub max: u32,
    /// How often each contact policy removed a proposition, and for how many customers.
    pub policies: Vec<Policy>,
    /// The global cap (`salesPerDay`), when the catalogue has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sales_per_day: Option<u32>,
    /// Customers the global cap stopped at least once.
    pub customers_at_global_cap: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    pub impressions: u32,
    pub customer_weeks: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub rule: Rule,
    pub removals: u64,
    pub customers: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    /// The catalogue's holdout percentage (0 without a holdout group).
    pub holdout_percent: f64,
    pub holdout_customers: u64,
    /// Of the customers with a decision, 0–1.
    pub holdout_share: f64,
    pub propositions: Vec<Detectable>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detectable {
    pub proposition: String,
    /// Customers outside the holdout group shown it.
    pub exposed: u64,
    /// Of them, converted on it.
    pub converted: u64,
    pub conversion_rate: f64,
    /// Held-out customers it was withheld from.
    pub control: u64,
    /// The smallest uplift in conversion rate (absolute, 0–1) a two-sided test at 5 % finds
    /// with 80 % power at this traffic; absent when it cannot be measured (see `note`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_detectable_uplift: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn share(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 / of as f64
    }
}

pub(crate) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Service => "service",
        Kind::Sales => "sales",
        Kind::Loyalty => "loyalty",
    }
}

fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Service => 0,
        Kind::Sales => 1,
        Kind::Loyalty => 2,
    }
}

/// Shares of `(name, impressions)`, largest first (then by name).
fn shares(items: Vec<(String, u64)>, total: u64) -> Vec<Share> {
    let mut out: Vec<Share> = items.into_iter().map(|(name, impressions)| Share { share: share(impressions, total), name, impressions }).collect();
    out.sort_by(|a, b| b.impressions.cmp(&a.impressions).then_with(|| a.name.cmp(&b.name)));
    out
}

struct Names<'a> {
    arm: &'a Arm,
}

impl Names<'_> {
    fn proposition(&self, i: usize) -> String {
        self.arm.engine.bundle().payload.catalogue.propositions.get(i).map_or_else(String::new, |p| p.id.clone())
    }

    fn segment(&self, s: usize) -> String {
        self.arm.engine.bundle().payload.catalogue.segments.get(s).map_or_else(String::new, |x| x.id.clone())
    }
}

/// Impressions per proposition over the placements `placements`.
fn impressions_of(arm: &Arm, tally: &Tally, placements: &[usize]) -> Vec<u64> {
    (0..arm.propositions).map(|i| placements.iter().map(|p| at(&tally.impressions, p * arm.propositions + i)).sum()).collect()
}

fn voice(arm: &Arm, placement: String, per_proposition: &[u64]) -> Voice {
    let names = Names { arm };
    let total: u64 = per_proposition.iter().sum();
    let mut segments = vec![0u64; arm.segments];
    let mut kinds = [0u64; 3];
    for (i, n) in per_proposition.iter().enumerate() {
        if let Some(s) = arm.segment_of.get(i).and_then(|s| segments.get_mut(*s)) {
            *s += n;
        }
        if let Some(k) = arm.kind_of.get(i).and_then(|k| kinds.get_mut(kind_index(*k))) {
            *k += n;
        }
    }
    Voice {
        placement,
        impressions: total,
        propositions: shares(per_proposition.iter().enumerate().map(|(i, n)| (names.proposition(i), *n)).collect(), total),
        segments: shares(segments.iter().enumerate().filter(|(s, _)| arm.covered_segments().any(|c| c == *s)).map(|(s, n)| (names.segment(s), *n)).collect(), total),
        kinds: shares([Kind::Service, Kind::Sales, Kind::Loyalty].iter().map(|k| (kind_name(*k).to_string(), kinds.get(kind_index(*k)).copied().unwrap_or(0))).collect(), total),
    }
}

fn balance(placement: String, voice: &Voice) -> Balance {
    let of = |k: &str| voice.kinds.iter().find(|s| s.name == k).map_or(0, |s| s.impressions);
    let (service, sales, loyalty) = (of("service"), of("sales"), of("loyalty"));
    Balance { placement, service, sales, loyalty, service_share: share(service, service + sales + loyalty) }
}

/// The report of the catalogue's run (and of the baseline's, given).
pub fn report(arms: &Arms, tallies: &Tallies, options: &Options) -> Report {
    let mut main = single(&arms.catalogue, &tallies.catalogue, Some((&arms.customer_centric, &tallies.customer_centric)), options);
    if let (Some(arm), Some(tally)) = (&arms.baseline, &tallies.baseline) {
        main.baseline = Some(Box::new(single(arm, tally, None, options)));
    }
    main
}

fn single(arm: &Arm, tally: &Tally, centric: Option<(&Arm, &Tally)>, options: &Options) -> Report {
    let names = Names { arm };
    let payload = &arm.engine.bundle().payload;
    let catalogue = &payload.catalogue;
    let n = arm.propositions;
    let all_placements: Vec<usize> = (0..arm.placements.len()).collect();
    let overall = impressions_of(arm, tally, &all_placements);

    let decisions_total: u64 = tally.decisions.iter().sum();
    let decisions = Decisions {
        total: decisions_total,
        per_day: decisions_total as f64 / f64::from(options.days.max(1)),
        per_placement: arm.placements.iter().enumerate().map(|(p, name)| Named { name: name.clone(), count: at(&tally.decisions, p) }).collect(),
        failed: tally.failed.iter().map(|(code, n)| Named { name: code.clone(), count: *n }).collect(),
    };

    let mut share_of_voice: Vec<Voice> = arm
        .placements
        .iter()
        .enumerate()
        .filter(|(p, _)| at(&tally.decisions, *p) > 0)
        .map(|(p, name)| voice(arm, name.clone(), &impressions_of(arm, tally, &[p])))
        .collect();
    share_of_voice.push(voice(arm, "all".into(), &overall));
    let balance_rows = share_of_voice.iter().map(|v| balance(v.placement.clone(), v)).collect();

    let never_shown = (0..n)
        .filter(|i| overall.get(*i).copied().unwrap_or(0) == 0)
        .map(|i| {
            let removals = tally.removals.get(i * RULES..(i + 1) * RULES).unwrap_or(&[]);
            let total: u64 = removals.iter().sum();
            let top = removals.iter().enumerate().filter(|(_, c)| **c > 0).max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)));
            let p = catalogue.propositions.get(i);
            NeverShown {
                proposition: names.proposition(i),
                segment: arm.segment_of.get(i).map_or_else(String::new, |s| names.segment(*s)),
                kind: p.map_or(Kind::Sales, |p| p.kind),
                rule: top.and_then(|(r, _)| Rule::ALL.get(r).copied()),
                rule_share: top.map_or(0.0, |(_, c)| share(*c, total)),
                removals: total,
            }
        })
        .collect();

    let coverage = Coverage {
        customers: tally.visited,
        every_segment: tally.every_segment,
        every_segment_share: share(tally.every_segment, tally.visited),
        segments: arm
            .covered_segments()
            .map(|s| {
                let shown = at(&tally.segment_shown, s);
                let eligible = at(&tally.segment_eligible, s);
                let mut without: Vec<Named> = Rule::ALL
                    .iter()
                    .map(|r| Named { name: r.as_str().to_string(), count: at(&tally.segment_without, s * RULES + rule_index(*r)) })
                    .filter(|x| x.count > 0)
                    .collect();
                let named: u64 = without.iter().map(|x| x.count).sum();
                let unexplained = tally.visited.saturating_sub(shown).saturating_sub(named);
                if unexplained > 0 {
                    without.push(Named { name: "never_decided".into(), count: unexplained });
                }
                without.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
                SegmentCoverage {
                    segment: names.segment(s),
                    shown,
                    shown_share: share(shown, tally.visited),
                    eligible,
                    eligible_share: share(eligible, tally.visited),
                    without,
                }
            })
            .collect(),
    };

    let per_1000 = |x: f64| if decisions_total == 0 { 0.0 } else { x * 1000.0 / decisions_total as f64 };
    let decisions_per_year = options.decisions_per_year.unwrap_or(decisions.per_day * DAYS_PER_YEAR);
    let mut settings: Vec<Setting> = Vec::new();
    let mut knob_segments: Vec<usize> = Vec::new();
    for (s, segment) in catalogue.segments.iter().enumerate() {
        if segment.strategic != 0.0 {
            settings.push(Setting { name: segment.id.clone(), percent: segment.strategic });
            knob_segments.push(s);
        }
    }
    for p in &catalogue.propositions {
        if p.strategic != 0.0 {
            let s = usize::from(p.segment);
            settings.push(Setting { name: format!("{}/{}", names.segment(s), p.id), percent: p.strategic });
            if !knob_segments.contains(&s) {
                knob_segments.push(s);
            }
        }
    }
    knob_segments.sort_unstable();
    let slots_of = |v: &[u64], s: usize| -> u64 { (0..n).filter(|i| arm.segment_of.get(*i) == Some(&s)).map(|i| v.get(i).copied().unwrap_or(0)).sum() };
    let knob = Knob {
        settings,
        with_knob: tally.value.into(),
        without_knob: tally.value_unknobbed.into(),
        cost: tally.knob_cost,
        cost_per_1000_decisions: per_1000(tally.knob_cost),
        decisions_per_year,
        cost_per_year: if decisions_total == 0 { 0.0 } else { tally.knob_cost / decisions_total as f64 * decisions_per_year },
        segments: knob_segments
            .iter()
            .map(|&s| {
                let with = tally.segment_value.get(s).copied().unwrap_or(0.0);
                let without = tally.segment_value_unknobbed.get(s).copied().unwrap_or(0.0);
                KnobSegment {
                    segment: names.segment(s),
                    slots_with_knob: slots_of(&overall, s),
                    slots_without_knob: slots_of(&tally.unknobbed_slots, s),
                    value_with_knob: with,
                    value_without_knob: without,
                    cost_per_1000_decisions: per_1000(without - with),
                }
            })
            .collect(),
        daily: (0..options.days as usize)
            .map(|d| Daily {
                date: format_rfc3339(options.start + d as i64 * DAY),
                decisions: at(&tally.daily_decisions, d),
                with_knob: tally.daily_value.get(d).copied().unwrap_or(0.0),
                without_knob: tally.daily_value_unknobbed.get(d).copied().unwrap_or(0.0),
            })
            .collect(),
    };

    let customer_centric = match centric {
        Some((other_arm, other)) => {
            let theirs = impressions_of(other_arm, other, &(0..other_arm.placements.len()).collect::<Vec<_>>());
            let mut propositions: Vec<Compared> =
                (0..n).map(|i| Compared { name: names.proposition(i), impressions: overall.get(i).copied().unwrap_or(0), other: theirs.get(i).copied().unwrap_or(0) }).collect();
            propositions.sort_by(|a, b| b.impressions.abs_diff(b.other).cmp(&a.impressions.abs_diff(a.other)).then_with(|| a.name.cmp(&b.name)));
            let segments = arm
                .covered_segments()
                .map(|s| Compared { name: names.segment(s), impressions: slots_of(&overall, s), other: slots_of(&theirs, s) })
                .collect();
            CustomerCentric { decisions: other.decisions.iter().sum(), as_is: tally.value.into(), customer_centric: other.value.into(), propositions, segments }
        }
        None => CustomerCentric { decisions: 0, as_is: tally.value.into(), customer_centric: tally.value.into(), propositions: Vec::new(), segments: Vec::new() },
    };

    let pressure = pressure(tally, catalogue.contact_policy.sales_per_day);

    let measurement = Measurement {
        holdout_percent: catalogue.holdout.as_ref().map_or(0.0, |h| h.percent),
        holdout_customers: tally.holdout_customers,
        holdout_share: share(tally.holdout_customers, tally.visited),
        propositions: (0..n)
            .map(|i| {
                let (exposed, converted, control) = (at(&tally.exposed, i), at(&tally.exposed_converted, i), at(&tally.control, i));
                let rate = share(converted, exposed);
                let (mde, note) = if exposed < MIN_GROUP || control < MIN_GROUP {
                    (None, Some(format!("too few customers (exposed {exposed}, held out {control}; at least {MIN_GROUP} each)")))
                } else if converted == 0 {
                    (None, Some("no conversions: nothing to measure against".to_string()))
                } else {
                    let variance = rate * (1.0 - rate) * (1.0 / exposed as f64 + 1.0 / control as f64);
                    (Some((Z_95 + Z_POWER_80) * variance.sqrt()), None)
                };
                Detectable { proposition: names.proposition(i), exposed, converted, conversion_rate: rate, control, minimum_detectable_uplift: mde, note }
            })
            .collect(),
    };

    Report {
        catalogue: CatalogueRef { id: payload.bundle_id.clone(), version: payload.version },
        seed: options.seed,
        days: options.days,
        start: format_rfc3339(options.start),
        visit_model: VisitModelEcho {
            visits_per_day: options.visits.visits_per_day,
            placements_per_visit: options.visits.placements_per_visit,
            placements: if options.visits.placements.is_empty() { arm.placements.clone() } else { options.visits.placements.clone() },
            contexts: options.visits.contexts.len(),
            convert_after_click: options.responses.convert_after_click,
            dismiss_rate: options.responses.dismiss_rate,
        },
        population: PopulationFigures {
            rows: tally.rows,
            customers: tally.customers,
            visited: tally.visited,
            skipped: tally.skipped,
            skipped_rows: tally.skipped_named.iter().map(|Skipped { row, code, message }| SkippedRow { row: *row, code: code.clone(), message: message.clone() }).collect(),
        },
        decisions,
        share_of_voice,
        never_shown,
        coverage,
        balance: balance_rows,
        knob,
        customer_centric,
        pressure,
        measurement,
        baseline: None,
    }
}

fn pressure(tally: &Tally, sales_per_day: Option<u32>) -> Pressure {
    let customer_weeks: u64 = tally.weekly_impressions.values().sum();
    let total: u64 = tally.weekly_impressions.iter().map(|(k, n)| u64::from(*k) * n).sum();
    let quantile = |q: f64| -> u32 {
        let target = (q * customer_weeks as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (k, n) in &tally.weekly_impressions {
            seen += n;
            if seen >= target {
                return *k;
            }
        }
        0
    };
    Pressure {
        customer_weeks,
        distribution: tally.weekly_impressions.iter().map(|(k, n)| Bucket { impressions: *k, customer_weeks: *n }).collect(),
        mean: share(total, customer_weeks),
        median: quantile(0.5),
        p90: quantile(0.9),
        p99: quantile(0.99),
        max: tally.weekly_impressions.keys().next_back().copied().unwrap_or(0),
        policies: POLICY_RULES
            .iter()
            .map(|r| Policy { rule: *r, removals: at(&tally.rule_removals, rule_index(*r)), customers: at(&tally.rule_customers, rule_index(*r)) })
            .collect(),
        sales_per_day,
        customers_at_global_cap: at(&tally.rule_customers, rule_index(Rule::SalesPerDay)),
    }
}
