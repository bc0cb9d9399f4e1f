//! The aggregation `learn` needs, as rows of counts: computed here in memory from JSON Lines, or
//! by the one SQL query [`sql`] writes, run by DataFusion over Parquet (`warehouse`) or by the
//! bank on its own cluster (`opmaat learn --print-sql`, then `--counts`). Both give the same rows.
//!
//! Every input event is first made distinct: the same decision, proposition, treatment, holdout
//! flag, event and customer is one event, at the earliest time it arrived. Then each row of the
//! result is one `measure`:
//!
//! | measure              | per                                              | `n`                         |
//! |----------------------|--------------------------------------------------|-----------------------------|
//! | `events`             | proposition × treatment × holdout × event × day  | distinct events             |
//! | `exposed`            | proposition × holdout                            | customers exposed           |
//! | `converted`          | proposition × holdout                            | of them, customers converted|
//! | `server_conversions` | (one row)                                        | server-side conversions read|
//! | `logged`             | proposition × treatment × event (`click` or '')  | impressions (`inverse_sum`, `inverse_square_sum`: Σ 1/p and Σ 1/p² of their selection probabilities) |
//!
//! *Exposed* is an impression outside the holdout group, or a `withheld` event inside it (the
//! decision would have shown the proposition). *Converted* is a `convert` event or a server-side
//! conversion of the proposition (named, or through its `product` code) at or after the
//! customer's first exposure, to the second. *Logged* impressions are those outside the holdout
//! group; one is `click` when the same decision's click on it was recorded.
//!
//! The query keeps to SQL every engine reads alike (DataFusion, Spark SQL, Trino): `WITH`,
//! `UNION ALL`, `GROUP BY`, `HAVING`, `COUNT`, `SUM`, `MIN`, `MAX`, `CASE`, `COALESCE`, `SUBSTR`,
//! `CAST(… AS DOUBLE)`; unquoted snake_case names; no dates (times are compared and cut as RFC
//! 3339 text), no `NULL` in results, no `FILTER`, `QUALIFY`, `DISTINCT ON`, window functions or
//! boolean aggregates. Its one join is with the catalogue's product codes (a few rows): "at or
//! after the first exposure" is the latest outcome against the first exposure, and "the same
//! decision's click" a group by decision, both aggregations, because an aggregation spills to
//! disk where a hash join (DataFusion's) holds its whole build side in memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::events::Conversion;
use crate::bundle::catalogue::Catalogue;
use crate::measure::{Measured, Measurement};

/// What a row counts (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Events,
    Exposed,
    Converted,
    ServerConversions,
    Logged,
}

impl Measure {
    pub const ALL: [Measure; 5] = [Measure::Events, Measure::Exposed, Measure::Converted, Measure::ServerConversions, Measure::Logged];

    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Events => "events",
            Measure::Exposed => "exposed",
            Measure::Converted => "converted",
            Measure::ServerConversions => "server_conversions",
            Measure::Logged => "logged",
        }
    }

    pub fn parse(text: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

/// One row of the aggregation. Fields a measure does not use are `""`, `false` and `0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountRow {
    pub measure: Measure,
    pub proposition: String,
    pub treatment: String,
    pub holdout: bool,
    pub event: String,
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub n: u64,
    pub inverse_sum: f64,
    pub inverse_square_sum: f64,
}

/// The whole aggregation, rows in a fixed order (so two paths can be compared).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Counts {
    pub rows: Vec<CountRow>,
}

impl Counts {
    pub fn new(mut rows: Vec<CountRow>) -> Counts {
        rows.sort_by(|a, b| key(a).cmp(&key(b)));
        Counts { rows }
    }

    pub fn of(&self, measure: Measure) -> impl Iterator<Item = &CountRow> {
        self.rows.iter().filter(move |r| r.measure == measure)
    }

    /// Equal counts, and sums equal to a relative 1e-9 (engines add in different orders).
    pub fn same_as(&self, other: &Counts) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        self.rows.len() == other.rows.len()
            && self.rows.iter().zip(&other.rows).all(|(a, b)| {
                key(a) == key(b) && a.n == b.n && close(a.inverse_sum, b.inverse_sum) && close(a.inverse_square_sum, b.inverse_square_sum)
            })
    }
}

fn key(r: &CountRow) -> (Measure, &str, &str, bool, &str, &str) {
    (r.measure, &r.proposition, &r.treatment, r.holdout, &r.event, &r.day)
}

/// The propositions each product code stands for, from the catalogue's `product` fields.
pub fn products(catalogue: &Catalogue) -> BTreeMap<&str, Vec<&str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &catalogue.propositions {
        if let Some(product) = p.product.as_deref() {
            map.entry(product).or_default().push(&p.id);
        }
    }
    map
}

/// One distinct event: its earliest time (to the second) and selection probability.
struct Seen {
    at: String,
    probability: f64,
}

/// The aggregation in memory, the same as [`sql`] computes.
pub fn aggregate(events: &[Measurement], conversions: &[Conversion], catalogue: &Catalogue) -> Counts {
    let mut distinct: HashMap<(&str, &str, &str, bool, Measured, &str), Seen> = HashMap::new();
    for e in events {
        let at = e.time.get(..19).unwrap_or(&e.time);
        let seen = distinct
            .entry((&e.decision_id, &e.proposition, &e.treatment, e.holdout, e.event, &e.subject))
            .or_insert_with(|| Seen { at: at.to_string(), probability: e.selection_probability });
        if at < seen.at.as_str() {
            seen.at = at.to_string();
        }
        seen.probability = seen.probability.max(e.selection_probability);
    }

    let mut rows = Vec::new();
    let mut per_day: BTreeMap<(&str, &str, bool, Measured, &str), u64> = BTreeMap::new();
    let mut first_exposure: HashMap<(&str, &str, bool), &str> = HashMap::new();
    let mut outcomes: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    let mut clicks: BTreeSet<(&str, &str, &str, &str)> = BTreeSet::new();
    for (&(decision, proposition, treatment, holdout, event, subject), seen) in &distinct {
        let day = seen.at.get(..10).unwrap_or(&seen.at);
        *per_day.entry((proposition, treatment, holdout, event, day)).or_default() += 1;
        match (event, holdout) {
            (Measured::Impression, false) | (Measured::Withheld, true) => {
                let first = first_exposure.entry((proposition, subject, holdout)).or_insert(&seen.at);
                if seen.at.as_str() < *first {
                    *first = &seen.at;
                }
            }
            (Measured::Convert, _) => outcomes.entry((proposition, subject)).or_default().push(&seen.at),
            (Measured::Click, _) => {
                clicks.insert((decision, proposition, treatment, subject));
            }
            _ => {}
        }
    }
    for ((proposition, treatment, holdout, event, day), n) in per_day {
        rows.push(row(Measure::Events, proposition, treatment, holdout, event.as_str(), day, n));
    }

    let products = products(catalogue);
    let server: Vec<(&str, &str, &str)> = conversions
        .iter()
        .flat_map(|c| {
            let at = c.time.get(..19).unwrap_or(&c.time);
            let named = c.proposition.as_deref().into_iter();
            let through_product = c.product.as_deref().and_then(|code| products.get(code)).into_iter().flatten().copied();
            named.chain(through_product).map(move |p| (c.subject.as_str(), p, at))
        })
        .collect();
    for &(subject, proposition, at) in &server {
        outcomes.entry((proposition, subject)).or_default().push(at);
    }
    let mut exposed: BTreeMap<(&str, bool), [u64; 2]> = BTreeMap::new();
    for (&(proposition, subject, holdout), &first) in &first_exposure {
        let counts = exposed.entry((proposition, holdout)).or_default();
        counts[0] += 1;
        if outcomes.get(&(proposition, subject)).is_some_and(|times| times.iter().any(|&t| t >= first)) {
            counts[1] += 1;
        }
    }
    for (&(proposition, holdout), &[n, converted]) in &exposed {
        rows.push(row(Measure::Exposed, proposition, "", holdout, "", "", n));
        if converted > 0 {
            rows.push(row(Measure::Converted, proposition, "", holdout, "", "", converted));
        }
    }
    rows.push(row(Measure::ServerConversions, "", "", false, "", "", conversions.len() as u64));

    let mut logged: BTreeMap<(&str, &str, &str), (u64, f64, f64)> = BTreeMap::new();
    for (&(decision, proposition, treatment, holdout, event, subject), seen) in &distinct {
        if event != Measured::Impression || holdout {
            continue;
        }
        let clicked = if clicks.contains(&(decision, proposition, treatment, subject)) { "click" } else { "" };
        let sums = logged.entry((proposition, treatment, clicked)).or_default();
        sums.0 += 1;
        sums.1 += 1.0 / seen.probability;
        sums.2 += 1.0 / (seen.probability * seen.probability);
    }
    for ((proposition, treatment, clicked), (n, inverse, square)) in logged {
        rows.push(CountRow { inverse_sum: inverse, inverse_square_sum: square, ..row(Measure::Logged, proposition, treatment, false, clicked, "", n) });
    }
    Counts::new(rows)
}

fn row(measure: Measure, proposition: &str, treatment: &str, holdout: bool, event: &str, day: &str, n: u64) -> CountRow {
    CountRow {
        measure,
        proposition: proposition.into(),
        treatment: treatment.into(),
        holdout,
        event: event.into(),
        day: day.into(),
        n,
        inverse_sum: 0.0,
        inverse_square_sum: 0.0,
    }
}

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The first step of [`sql`]: every event made distinct (see the module's docs).
pub const DISTINCT_EVENTS: &str = "  SELECT decision_id, proposition, treatment, CASE WHEN holdout THEN 1 ELSE 0 END AS holdout, event, subject,
         MIN(SUBSTR(time, 1, 19)) AS at, MAX(selection_probability) AS selection_probability
  FROM events
  GROUP BY decision_id, proposition, treatment, CASE WHEN holdout THEN 1 ELSE 0 END, event, subject
";

/// The one query, over tables `events` and `conversions` with the snake_case columns of
/// `warehouse::EVENT_COLUMNS` and `CONVERSION_COLUMNS` (absent values as `''`); the catalogue's
/// product codes are written into it.
pub fn sql(catalogue: &Catalogue) -> String {
    format!(
        "-- opmaat learn: the counts `opmaat learn --counts` reads (see the README, \"Learning at bank scale\").
-- Input: tables events and conversions. Output columns: measure, proposition, treatment,
-- holdout, event, day, n, inverse_sum, inverse_square_sum.
WITH
distinct_events AS (
{DISTINCT_EVENTS}),
{}",
        after_distinct_events(catalogue)
    )
}

/// [`sql`] in two steps, for an engine that computes a `WITH` clause wherever it is used (as
/// DataFusion does): [`DISTINCT_EVENTS`], whose result is to be stored as table
/// `distinct_events`, and the rest of the query over it.
pub fn sql_in_two_steps(catalogue: &Catalogue) -> (&'static str, String) {
    (DISTINCT_EVENTS, format!("WITH\n{}", after_distinct_events(catalogue)))
}

/// The query's clauses after `distinct_events`, and its result.
fn after_distinct_events(catalogue: &Catalogue) -> String {
    let products = products(catalogue);
    let mapping = if products.is_empty() {
        "  SELECT '' AS product, '' AS proposition WHERE 1 = 0".to_string()
    } else {
        products
            .iter()
            .flat_map(|(code, ids)| ids.iter().map(move |id| format!("  SELECT {} AS product, {} AS proposition", literal(code), literal(id))))
            .collect::<Vec<_>>()
            .join("\n  UNION ALL\n")
    };
    format!(
        "products AS (
{mapping}
),
outcomes AS (
  SELECT subject, proposition, at FROM distinct_events WHERE event = 'convert'
  UNION ALL
  SELECT subject, proposition, SUBSTR(time, 1, 19) AS at FROM conversions WHERE COALESCE(proposition, '') <> ''
  UNION ALL
  SELECT c.subject, m.proposition, SUBSTR(c.time, 1, 19) AS at FROM products m JOIN conversions c ON c.product = m.product
  WHERE COALESCE(c.proposition, '') = ''
),
exposure_outcomes AS (
  SELECT proposition, subject,
         MIN(CASE WHEN kind = 'shown' THEN at END) AS first_shown,
         MIN(CASE WHEN kind = 'withheld' THEN at END) AS first_withheld,
         MAX(CASE WHEN kind = 'outcome' THEN at END) AS last_outcome
  FROM (
    SELECT proposition, subject, 'shown' AS kind, at FROM distinct_events WHERE event = 'impression' AND holdout = 0
    UNION ALL
    SELECT proposition, subject, 'withheld' AS kind, at FROM distinct_events WHERE event = 'withheld' AND holdout = 1
    UNION ALL
    SELECT proposition, subject, 'outcome' AS kind, at FROM outcomes
  ) exposures_and_outcomes
  GROUP BY proposition, subject
),
impression_clicks AS (
  SELECT proposition, treatment,
         MAX(CASE WHEN event = 'impression' AND holdout = 0 THEN 1 ELSE 0 END) AS shown,
         MAX(CASE WHEN event = 'impression' AND holdout = 0 THEN selection_probability END) AS selection_probability,
         MAX(CASE WHEN event = 'click' THEN 1 ELSE 0 END) AS clicked
  FROM distinct_events
  WHERE (event = 'impression' AND holdout = 0) OR event = 'click'
  GROUP BY decision_id, proposition, treatment, subject
)
SELECT 'events' AS measure, proposition, treatment, holdout, event, SUBSTR(at, 1, 10) AS day, COUNT(*) AS n,
       CAST(0 AS DOUBLE) AS inverse_sum, CAST(0 AS DOUBLE) AS inverse_square_sum
FROM distinct_events GROUP BY proposition, treatment, holdout, event, SUBSTR(at, 1, 10)
UNION ALL
SELECT 'exposed', proposition, '', 0, '', '', COUNT(first_shown), CAST(0 AS DOUBLE), CAST(0 AS DOUBLE)
FROM exposure_outcomes GROUP BY proposition HAVING COUNT(first_shown) > 0
UNION ALL
SELECT 'exposed', proposition, '', 1, '', '', COUNT(first_withheld), CAST(0 AS DOUBLE), CAST(0 AS DOUBLE)
FROM exposure_outcomes GROUP BY proposition HAVING COUNT(first_withheld) > 0
UNION ALL
SELECT 'converted', proposition, '', 0, '', '', SUM(CASE WHEN last_outcome >= first_shown THEN 1 ELSE 0 END),
       CAST(0 AS DOUBLE), CAST(0 AS DOUBLE)
FROM exposure_outcomes GROUP BY proposition HAVING SUM(CASE WHEN last_outcome >= first_shown THEN 1 ELSE 0 END) > 0
UNION ALL
SELECT 'converted', proposition, '', 1, '', '', SUM(CASE WHEN last_outcome >= first_withheld THEN 1 ELSE 0 END),
       CAST(0 AS DOUBLE), CAST(0 AS DOUBLE)
FROM exposure_outcomes GROUP BY proposition HAVING SUM(CASE WHEN last_outcome >= first_withheld THEN 1 ELSE 0 END) > 0
UNION ALL
SELECT 'server_conversions', '', '', 0, '', '', COUNT(*), CAST(0 AS DOUBLE), CAST(0 AS DOUBLE)
FROM conversions
UNION ALL
SELECT 'logged', proposition, treatment, 0, CASE WHEN clicked = 1 THEN 'click' ELSE '' END, '', COUNT(*),
       SUM(1.0 / selection_probability), SUM(1.0 / (selection_probability * selection_probability))
FROM impression_clicks WHERE shown = 1 GROUP BY proposition, treatment, CASE WHEN clicked = 1 THEN 'click' ELSE '' END
"
    )
}
