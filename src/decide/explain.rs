//! Stage 4: why. The trace of a decision and its readable table.
//!
//! Every proposition of the catalogue ends up either in a slot (with its priority parts) or in
//! the trace, with the stage and the rule that removed it and a sentence of detail:
//!
//! | stage | rules |
//! |---|---|
//! | `select` | `audience`, `channel`, `validity_window`, `paused`, `sold_out`, `consent_marketing`, `channel_opt_out`, `holdout`, `eligibility`, `applicability`, `suitability`, `converted`, `dismiss_cooldown`, `impression_cap`, `resting_after_ignored`, `sales_per_day`, `no_treatment`, `no_locale_creative`, `no_compact_creative` (in the order checked) |
//! | `prioritise` | `zero_priority` |
//! | `arbitrate` | `outranked`, `one_per_segment`, `max_sales`, `reserved_for_service` |
//!
//! Rule names are stable (hosts and dashboards may count them); details are for people and may
//! change. Entries of the `prioritise` and `arbitrate` stages carry the priority and its parts;
//! so does a segment fallback that was kept aside but not needed (stage `select`, rule
//! `applicability`).
//!
//! [`table`] renders a decision as the table `opmaat explain` prints.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;

use super::arbitrate::{Filled, Loss, Rules};
use super::context::View;
use super::prioritise::{self, segment_of, Funnel, Parts, Status};
use crate::condition::Session;
use super::rules::{Rule, Stage};
use super::Decision;
use crate::bundle::model::{Audience, Catalogue, FormFactor, Kind, Segment};
use crate::Result;

/// Why one proposition is not shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceEntry {
    pub proposition: String,
    pub segment: String,
    pub kind: Kind,
    pub stage: Stage,
    pub rule: Rule,
    pub detail: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<Box<Parts>>,
}

/// The trace: an entry for every proposition not shown, in catalogue order.
pub(crate) fn trace(
    funnel: &Funnel,
    filled: &Filled,
    rules: Rules,
    catalogue: &Catalogue,
    session: &Session<'_, View<'_>>,
) -> Result<Vec<TraceEntry>> {
    let mut lost: Vec<Option<Loss>> = vec![None; funnel.statuses.len()];
    for &(i, loss) in &filled.lost {
        if let Some(slot) = lost.get_mut(i) {
            *slot = Some(loss);
        }
    }
    let name = |i: usize| catalogue.propositions.get(i).map_or_else(String::new, |p| p.id.clone());
    let mut trace = Vec::with_capacity(funnel.statuses.len().saturating_sub(filled.chosen.len()));
    for (i, (p, status)) in catalogue.propositions.iter().zip(&funnel.statuses).enumerate() {
        if filled.chosen.iter().any(|&(shown, _)| shown == i) {
            continue;
        }
        let segment = segment_of(&catalogue.segments, p)?;
        let parts_of = |index: usize| funnel.parts.get(index);
        let entry = |stage, rule, detail, parts: Option<&Parts>| TraceEntry {
            proposition: p.id.clone(),
            segment: segment.id.clone(),
            kind: p.kind,
            stage,
            rule,
            detail,
            priority: parts.map(|x| x.priority),
            parts: parts.map(|x| Box::new(prioritise::described(x, p, session))),
        };
        let loss = lost.get(i).copied().flatten();
        trace.push(match status {
            Status::Out { rule, detail } => entry(Stage::Select, *rule, detail.clone(), None),
            Status::Fallback { detail, parts, .. } => {
                let why = match loss {
                    None => "its priority is 0".to_string(),
                    Some(Loss::Outranked) => "no slot was left empty".to_string(),
                    Some(loss) => loss_detail(loss, rules, segment, &name),
                };
                let detail = format!("{detail}; not needed as the segment's fallback: {why}");
                entry(Stage::Select, Rule::Applicability, detail.into(), parts_of(*parts))
            }
            Status::Candidate { parts, .. } => match parts_of(*parts) {
                Some(x) if x.priority <= 0.0 => entry(Stage::Prioritise, Rule::ZeroPriority, prioritise::why_zero(x).into(), Some(x)),
                x => {
                    let loss = loss.unwrap_or(Loss::Outranked);
                    let rule = match loss {
                        Loss::Outranked => Rule::Outranked,
                        Loss::OnePerSegment { .. } => Rule::OnePerSegment,
                        Loss::MaxSales => Rule::MaxSales,
                        Loss::ReservedForService => Rule::ReservedForService,
                    };
                    entry(Stage::Arbitrate, rule, loss_detail(loss, rules, segment, &name).into(), x)
                }
            },
        });
    }
    Ok(trace)
}

/// Why a candidate lost in arbitration, for people.
fn loss_detail(loss: Loss, rules: Rules, segment: &Segment, name: &dyn Fn(usize) -> String) -> String {
    match loss {
        Loss::Outranked => format!("the placement's {} slot(s) went to propositions ranked higher", rules.slots),
        Loss::OnePerSegment { shown_by } => {
            format!("one proposition per segment: {} is already shown by {}", segment.id, name(shown_by))
        }
        Loss::MaxSales => format!("at most {} sales and loyalty propositions (maxSales), all taken", rules.max_sales),
        Loss::ReservedForService => format!(
            "taking it would leave no room for the {} service proposition(s) this placement reserves (minService)",
            rules.min_service
        ),
    }
}

pub(crate) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Sales => "sales",
        Kind::Service => "service",
        Kind::Loyalty => "loyalty",
    }
}

/// The decision as a table: a header with the inputs, one row per proposition (shown ones in
/// slot order, then the others by how far they got and their priority), and the knob's cost.
pub fn table(d: &Decision) -> String {
    let mut out = String::new();
    let p = &d.placement;
    let audience = match p.audience {
        Audience::LoggedIn => "logged-in",
        Audience::LoggedOff => "logged-off",
        Audience::Any => "any audience",
    };
    let yes = |b: bool| if b { "yes" } else { "no" };
    let _ = writeln!(out, "decision {}  {} v{}  at {}", d.decision_id, d.bundle_id, d.bundle_version, d.now);
    let _ = writeln!(
        out,
        "placement {}: channel {}, {audience}, {} slot(s), at most {} sales/loyalty, {} reserved for service{}",
        p.id,
        p.channel,
        p.slots,
        p.max_sales,
        p.min_service,
        if p.one_per_segment { ", one per segment" } else { "" }
    );
    let _ = writeln!(
        out,
        "profile {} ({}); consent: personalisation {}, marketing {}, analytics {}{}; locale {}, {} screen",
        d.profile_id.as_deref().unwrap_or("(anonymous)"),
        if d.logged_in { "logged in" } else { "logged off" },
        yes(d.consent.personalisation),
        yes(d.consent.marketing),
        yes(d.consent.analytics),
        if d.consent.channel_opted_out { ", opted out of this channel" } else { "" },
        d.locale,
        d.form_factor.as_str(),
    );
    out.push('\n');

    let mut rows: Vec<[String; 10]> = Vec::new();
    let number = |x: Option<f64>, digits: usize| x.map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"));
    let parts_cells = |parts: Option<&Parts>| {
        [
            number(parts.map(|x| x.p), 3),
            number(parts.map(|x| x.c), 2),
            number(parts.map(|x| x.v), 1),
            number(parts.map(|x| x.l), 2),
        ]
    };
    for s in &d.slots {
        let [pp, c, v, l] = parts_cells(Some(&s.parts));
        let form = match s.creative.form_factor {
            FormFactor::Large => "large",
            FormFactor::Compact => "compact",
        };
        let mut outcome = format!("shown: treatment {} ({}), {} {form}", s.treatment, assignment(s.assignment), s.creative.locale);
        if let Some(note) = &s.note {
            let _ = write!(outcome, "; {note}");
        }
        rows.push([s.position.to_string(), s.proposition.clone(), kind_name(s.kind).into(), s.segment.clone(), number(Some(s.priority), 3), pp, c, v, l, outcome]);
    }
    let mut rest: Vec<&TraceEntry> = d.trace.iter().collect();
    rest.sort_by(|a, b| {
        b.stage.cmp(&a.stage).then(b.priority.unwrap_or(-1.0).total_cmp(&a.priority.unwrap_or(-1.0)))
    });
    for t in rest {
        let [pp, c, v, l] = parts_cells(t.parts.as_deref());
        let outcome = format!("{} / {}: {}", t.stage.as_str(), t.rule.as_str(), t.detail);
        rows.push(["-".into(), t.proposition.clone(), kind_name(t.kind).into(), t.segment.clone(), number(t.priority, 3), pp, c, v, l, outcome]);
    }
    let header = ["#", "proposition", "kind", "segment", "priority", "P", "C", "V", "L", "outcome"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let right = [false, false, false, false, true, true, true, true, true, false];
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, ((cell, width), right)) in cells.iter().zip(widths).zip(right).enumerate() {
            let pad = width.saturating_sub(cell.chars().count());
            if i > 0 {
                text.push_str("  ");
            }
            if right {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else if i + 1 < cells.len() {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            } else {
                text.push_str(cell);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header.map(String::from));
    for row in &rows {
        line(row);
    }
    out.push('\n');
    let k = &d.without_knob;
    let _ = writeln!(out, "expected value (sum of P x V): {:.3}", d.expected_value);
    let same = k.propositions.iter().eq(d.slots.iter().map(|s| &s.proposition));
    let _ = writeln!(
        out,
        "without the strategic knob: {:.3} ({}){}; the knob costs {:.3}",
        k.expected_value,
        if k.propositions.is_empty() { "nothing shown".to_string() } else { k.propositions.join(", ") },
        if same { ", the same propositions" } else { "" },
        k.knob_cost
    );
    out
}

fn assignment(a: super::Assignment) -> &'static str {
    match a {
        super::Assignment::Split => "split",
        super::Assignment::Thompson => "thompson",
        super::Assignment::BanditMean => "bandit mean",
        super::Assignment::First => "first",
    }
}
