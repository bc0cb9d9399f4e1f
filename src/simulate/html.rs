//! The simulation's report as one self-contained HTML page: no script, no font, no image or
//! style from the network. Charts (share of voice, contact pressure, value with and without the
//! knob over time) are inline SVG drawn by plotters; everything else is tables.

use std::fmt::Write as _;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::report::{kind_name, Compared, Named, Report, Voice};
use crate::{Error, Result};

const WIDTH: u32 = 920;
const BAR_HEIGHT: u32 = 26;
/// Most propositions a share-of-voice chart shows (the table lists them all).
const MAX_BARS: usize = 15;
const WITH_COLOUR: RGBColor = RGBColor(0, 94, 184);
const WITHOUT_COLOUR: RGBColor = RGBColor(230, 126, 34);

fn chart_error(e: impl std::fmt::Display) -> Error {
    Error::malformed(format!("the report's chart could not be drawn: {e}"))
}

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1234567` → `1,234,567`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

/// A value in the catalogue's units, two decimals, thousands separated.
fn value(x: f64) -> String {
    let sign = if x < 0.0 { "-" } else { "" };
    let cents = (x.abs() * 100.0).round() as u64;
    format!("{sign}{}.{:02}", count(cents / 100), cents % 100)
}

/// Horizontal bars, largest on top.
fn bars(title: &str, axis: &str, items: &[(String, f64)]) -> Result<String> {
    let n = items.len().max(1);
    let height = 70 + BAR_HEIGHT * n as u32;
    let max = items.iter().map(|(_, v)| *v).fold(0.0f64, f64::max).max(1e-9) * 1.05;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(210)
            .build_cartesian_2d(0f64..max, (0..n).into_segmented())
            .map_err(chart_error)?;
        let label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => n.checked_sub(1 + *i).and_then(|k| items.get(k)).map_or_else(String::new, |(name, _)| name.clone()),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&label)
            .x_desc(axis)
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_series(items.iter().enumerate().map(|(k, (_, v))| {
                let i = n - 1 - k;
                let mut bar = Rectangle::new([(0.0, SegmentValue::Exact(i)), (*v, SegmentValue::Exact(i + 1))], WITH_COLOUR.filled());
                bar.set_margin(4, 4, 0, 0);
                bar
            }))
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// The distribution of impressions per customer per week.
fn pressure_chart(report: &Report) -> Result<String> {
    let buckets = &report.pressure.distribution;
    let top = buckets.iter().map(|b| b.impressions).max().unwrap_or(0) + 1;
    let max = buckets.iter().map(|b| b.customer_weeks).max().unwrap_or(0).max(1) as f64 * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Impressions per customer per week", ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d((0u32..top).into_segmented(), 0f64..max)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("impressions in the week")
            .y_desc("customer-weeks")
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_series(buckets.iter().map(|b| {
                let mut bar = Rectangle::new([(SegmentValue::Exact(b.impressions), 0.0), (SegmentValue::Exact(b.impressions + 1), b.customer_weeks as f64)], WITH_COLOUR.filled());
                bar.set_margin(0, 0, 2, 2);
                bar
            }))
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// Expected value per day with and without the knob.
fn knob_chart(report: &Report) -> Result<String> {
    let daily = &report.knob.daily;
    let days = daily.len().max(1) as u32;
    let top = daily.iter().flat_map(|d| [d.with_knob, d.without_knob]).fold(0.0f64, f64::max).max(1e-9) * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 340)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Expected value per day (Σ P × V), with and without the strategic knob", ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..f64::from(days.saturating_sub(1)).max(1.0), 0f64..top)
            .map_err(chart_error)?;
        let date = |x: &f64| daily.get(x.round().max(0.0) as usize).map_or_else(String::new, |d| d.date.chars().take(10).collect());
        chart
            .configure_mesh()
            .x_labels(days.min(10) as usize)
            .x_label_formatter(&date)
            .y_desc("expected value")
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(chart_error)?;
        for (name, colour, pick) in [("with the knob", WITH_COLOUR, true), ("without the knob", WITHOUT_COLOUR, false)] {
            let points: Vec<(f64, f64)> = daily.iter().enumerate().map(|(i, d)| (i as f64, if pick { d.with_knob } else { d.without_knob })).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(chart_error)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled()))).map_err(chart_error)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 12))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

const STYLE: &str = "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f6f8;color:#1c2430}\
main{max-width:980px;margin:0 auto;padding:24px}h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px;border-bottom:2px solid #005eb8;padding-bottom:4px}\
h3{font-size:16px;margin:20px 0 6px}.meta{color:#556}section{background:#fff;border-radius:8px;padding:4px 20px 16px;margin:16px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}\
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}\
.card{background:#fff;border-radius:8px;padding:12px 16px;min-width:180px;flex:1;box-shadow:0 1px 3px rgba(0,0,0,.08)}.card b{display:block;font-size:22px}\
.chart svg{max-width:100%;height:auto}.note{color:#556;font-size:13px}.bad{color:#b3261e}";

fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table><thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let class = if i > 0 { " class=\"n\"" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if i > 0 { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", esc(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn names(list: &[Named]) -> String {
    list.iter().map(|n| format!("{} {}", n.name, count(n.count))).collect::<Vec<_>>().join(", ")
}

fn voice_section(out: &mut String, v: &Voice) -> Result<()> {
    let title = if v.placement == "all" { "All placements".to_string() } else { format!("Placement {}", v.placement) };
    let _ = write!(out, "<h3>{} · {} impressions</h3>", esc(&title), count(v.impressions));
    let items: Vec<(String, f64)> = v.propositions.iter().filter(|s| s.impressions > 0).take(MAX_BARS).map(|s| (s.name.clone(), s.share * 100.0)).collect();
    if !items.is_empty() {
        let _ = write!(out, "<div class=\"chart\">{}</div>", bars(&format!("Share of voice: {title}"), "share of impressions (%)", &items)?);
    }
    let kinds = v.kinds.iter().map(|k| format!("{} {}", k.name, pct(k.share))).collect::<Vec<_>>().join(" · ");
    let segments = v.segments.iter().filter(|s| s.impressions > 0).map(|s| format!("{} {}", s.name, pct(s.share))).collect::<Vec<_>>().join(" · ");
    let _ = write!(out, "<p>By kind: {}<br>By segment: {}</p>", esc(&kinds), esc(&segments));
    Ok(())
}

fn compared_rows(list: &[Compared]) -> Vec<Vec<String>> {
    list.iter().map(|c| vec![c.name.clone(), count(c.impressions), count(c.other), format!("{:+}", i128::from(c.other) - i128::from(c.impressions))]).collect()
}

/// The report as a page.
pub fn render(report: &Report) -> Result<String> {
    let mut out = String::with_capacity(64 * 1024);
    let r = report;
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>Simulation of {id} version {version}</title><style>{STYLE}</style></head><body><main>\
<h1>Simulation of {id} version {version}</h1><p class=\"meta\">{customers} customers · {days} days from {start} · seed {seed} · \
{visits} visits per customer per day, up to {ppv} placements per visit ({placements}) · a click with the propensity P, then a conversion with {conv}, else a dismissal with {dismiss}</p>",
        id = esc(&r.catalogue.id),
        version = r.catalogue.version,
        customers = count(r.population.customers),
        days = r.days,
        start = esc(r.start.get(..10).unwrap_or(&r.start)),
        seed = r.seed,
        visits = r.visit_model.visits_per_day,
        ppv = r.visit_model.placements_per_visit,
        placements = esc(&r.visit_model.placements.join(", ")),
        conv = pct(r.visit_model.convert_after_click),
        dismiss = pct(r.visit_model.dismiss_rate),
    );
    let _ = write!(
        out,
        "<div class=\"cards\"><div class=\"card\">Decisions<b>{}</b>{} per day</div><div class=\"card\">Knob cost per 1,000 decisions<b>{}</b>{} per year</div>\
<div class=\"card\">Customers covered in every segment<b>{}</b>of {} with a decision</div><div class=\"card\">Impressions per customer-week<b>{:.2}</b>median {}, p99 {}</div></div>",
        count(r.decisions.total),
        value(r.decisions.per_day),
        value(r.knob.cost_per_1000_decisions),
        value(r.knob.cost_per_year),
        pct(r.coverage.every_segment_share),
        count(r.coverage.customers),
        r.pressure.mean,
        r.pressure.median,
        r.pressure.p99,
    );
    if r.population.skipped > 0 {
        let _ = write!(out, "<section><h2 class=\"bad\">Skipped rows: {}</h2>", count(r.population.skipped));
        let rows: Vec<Vec<String>> = r.population.skipped_rows.iter().map(|s| vec![s.row.to_string(), s.code.clone(), s.message.clone()]).collect();
        table(&mut out, &["row", "code", "why"], &rows);
        if r.population.skipped > r.population.skipped_rows.len() as u64 {
            out.push_str("<p class=\"note\">Only the first rows are named.</p>");
        }
        out.push_str("</section>");
    }

    out.push_str("<section><h2>Share of voice</h2>");
    for v in &r.share_of_voice {
        voice_section(&mut out, v)?;
    }
    let rows: Vec<Vec<String>> = r
        .share_of_voice
        .last()
        .map(|all| all.propositions.iter().map(|s| vec![s.name.clone(), count(s.impressions), pct(s.share)]).collect())
        .unwrap_or_default();
    table(&mut out, &["proposition (all placements)", "impressions", "share"], &rows);
    out.push_str("<h3>Never shown</h3>");
    if r.never_shown.is_empty() {
        out.push_str("<p>Every proposition was shown at least once.</p>");
    } else {
        let rows: Vec<Vec<String>> = r
            .never_shown
            .iter()
            .map(|n| {
                vec![
                    format!("{} ({}, {})", n.proposition, n.segment, kind_name(n.kind)),
                    n.rule.map_or_else(|| "never came up".to_string(), |rule| rule.as_str().to_string()),
                    pct(n.rule_share),
                    count(n.removals),
                ]
            })
            .collect();
        table(&mut out, &["proposition", "removed most by", "of its removals", "removals"], &rows);
    }
    out.push_str("</section>");

    let c = &r.coverage;
    let _ = write!(
        out,
        "<section><h2>Coverage per product segment</h2><p>{} of the {} customers with a decision saw at least one proposition of every segment.</p>",
        pct(c.every_segment_share),
        count(c.customers)
    );
    let rows: Vec<Vec<String>> = c.segments.iter().map(|s| vec![s.segment.clone(), pct(s.shown_share), pct(s.eligible_share), names(&s.without)]).collect();
    table(&mut out, &["segment", "shown one", "eligible for one", "without one, by the rule that removed its propositions most"], &rows);
    out.push_str("</section>");

    out.push_str("<section><h2>Service and sales</h2>");
    let rows: Vec<Vec<String>> = r.balance.iter().map(|b| vec![b.placement.clone(), count(b.service), count(b.sales), count(b.loyalty), pct(b.service_share)]).collect();
    table(&mut out, &["placement", "service", "sales", "loyalty", "service share"], &rows);
    out.push_str("</section>");

    let k = &r.knob;
    let settings = k.settings.iter().map(|s| format!("{} {:+}%", s.name, s.percent)).collect::<Vec<_>>().join(", ");
    let _ = write!(
        out,
        "<section><h2>What the strategic knob costs</h2><p>Strategic settings: {}. The same decisions with every setting at 0 would have had an expected value of \
<b>{}</b> instead of <b>{}</b>: the knob costs <b>{}</b> in all, <b>{}</b> per 1,000 decisions, <b>{}</b> per year at {} decisions a year. \
Values are in the catalogue's value units (euros when its values are euros); a negative cost is a gain.</p>",
        esc(if settings.is_empty() { "none" } else { &settings }),
        value(k.without_knob.expected_value),
        value(k.with_knob.expected_value),
        value(k.cost),
        value(k.cost_per_1000_decisions),
        value(k.cost_per_year),
        count(k.decisions_per_year.round().max(0.0) as u64),
    );
    table(
        &mut out,
        &["", "expected value", "for the bank", "for the customer"],
        &[
            vec!["with the knob".into(), value(k.with_knob.expected_value), value(k.with_knob.bank), value(k.with_knob.customer)],
            vec!["without the knob".into(), value(k.without_knob.expected_value), value(k.without_knob.bank), value(k.without_knob.customer)],
        ],
    );
    let rows: Vec<Vec<String>> = k
        .segments
        .iter()
        .map(|s| vec![s.segment.clone(), count(s.slots_with_knob), count(s.slots_without_knob), value(s.value_with_knob), value(s.value_without_knob), value(s.cost_per_1000_decisions)])
        .collect();
    table(&mut out, &["segment the knob touches", "slots with", "slots without", "value with", "value without", "cost per 1,000 decisions"], &rows);
    let _ = write!(out, "<div class=\"chart\">{}</div></section>", knob_chart(r)?);

    let cc = &r.customer_centric;
    out.push_str("<section><h2>Bank value and customer value</h2><p>The same customers and seed with <code>bankValueWeight</code> 0: ranked by what the customer gains alone.</p>");
    table(
        &mut out,
        &["", "expected value", "for the bank", "for the customer"],
        &[
            vec!["as the catalogue is".into(), value(cc.as_is.expected_value), value(cc.as_is.bank), value(cc.as_is.customer)],
            vec!["bankValueWeight 0".into(), value(cc.customer_centric.expected_value), value(cc.customer_centric.bank), value(cc.customer_centric.customer)],
        ],
    );
    table(&mut out, &["segment", "impressions as is", "with bankValueWeight 0", "difference"], &compared_rows(&cc.segments));
    table(&mut out, &["proposition (most changed first)", "impressions as is", "with bankValueWeight 0", "difference"], &compared_rows(&cc.propositions));
    out.push_str("</section>");

    let p = &r.pressure;
    let _ = write!(
        out,
        "<section><h2>Contact pressure</h2><p>{} customer-weeks: {:.2} impressions per customer per week on average, median {}, 90th percentile {}, 99th {}, most {}.</p><div class=\"chart\">{}</div>",
        count(p.customer_weeks),
        p.mean,
        p.median,
        p.p90,
        p.p99,
        p.max,
        pressure_chart(r)?
    );
    let rows: Vec<Vec<String>> = p.policies.iter().map(|x| vec![x.rule.as_str().to_string(), count(x.removals), count(x.customers)]).collect();
    table(&mut out, &["contact policy", "times it removed a proposition", "customers"], &rows);
    let _ = write!(
        out,
        "<p>The global cap ({}): {} customers reached it at least once.</p></section>",
        esc(&p.sales_per_day.map_or_else(|| "none set".to_string(), |n| format!("{n} sales impressions a day"))),
        count(p.customers_at_global_cap)
    );

    let m = &r.measurement;
    let _ = write!(
        out,
        "<section><h2>Measurement</h2><p>Holdout: {} % of customers by the catalogue; {} customers ({}) simulated in the group. The minimum detectable uplift is the smallest \
rise in conversion rate a two-sided test at 5 % would find with 80 % power, at this traffic over the simulated period.</p>",
        m.holdout_percent,
        count(m.holdout_customers),
        pct(m.holdout_share)
    );
    let rows: Vec<Vec<String>> = m
        .propositions
        .iter()
        .map(|d| {
            vec![
                d.proposition.clone(),
                count(d.exposed),
                pct(d.conversion_rate),
                count(d.control),
                d.minimum_detectable_uplift.map_or_else(|| d.note.clone().unwrap_or_default(), |u| format!("{:.2} points", u * 100.0)),
            ]
        })
        .collect();
    table(&mut out, &["proposition", "customers shown", "converted", "held-out customers", "minimum detectable uplift"], &rows);
    out.push_str("</section>");

    if let Some(b) = &r.baseline {
        let _ = write!(out, "<section><h2>Against the baseline: {} version {}</h2>", esc(&b.catalogue.id), b.catalogue.version);
        let line = |name: &str, this: String, base: String| vec![name.to_string(), this, base];
        table(
            &mut out,
            &["", "this catalogue", "baseline"],
            &[
                line("decisions", count(r.decisions.total), count(b.decisions.total)),
                line("expected value", value(r.knob.with_knob.expected_value), value(b.knob.with_knob.expected_value)),
                line("for the bank", value(r.knob.with_knob.bank), value(b.knob.with_knob.bank)),
                line("for the customer", value(r.knob.with_knob.customer), value(b.knob.with_knob.customer)),
                line("knob cost per 1,000 decisions", value(r.knob.cost_per_1000_decisions), value(b.knob.cost_per_1000_decisions)),
                line("covered in every segment", pct(r.coverage.every_segment_share), pct(b.coverage.every_segment_share)),
                line("impressions per customer-week", format!("{:.2}", r.pressure.mean), format!("{:.2}", b.pressure.mean)),
                line("service share", r.balance.last().map_or_else(String::new, |x| pct(x.service_share)), b.balance.last().map_or_else(String::new, |x| pct(x.service_share))),
            ],
        );
        let mut rows: Vec<Vec<String>> = Vec::new();
        if let (Some(this), Some(base)) = (r.share_of_voice.last(), b.share_of_voice.last()) {
            let mut names: Vec<&str> = this.propositions.iter().chain(&base.propositions).map(|s| s.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            for name in names {
                let of = |v: &Voice| v.propositions.iter().find(|s| s.name == name).map_or(0, |s| s.impressions);
                rows.push(vec![name.to_string(), count(of(this)), count(of(base))]);
            }
        }
        table(&mut out, &["proposition", "impressions", "baseline impressions"], &rows);
        out.push_str("</section>");
    }
    out.push_str("<p class=\"note\">Made by opmaat simulate. Every decision was made by the same engine the pages and apps run.</p></main></body></html>\n");
    Ok(out)
}
