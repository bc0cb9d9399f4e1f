//! What `learn` reads: the collector's measurement events and the bank's server-side
//! conversions, as JSON Lines (this module) or Parquet (see `warehouse`), each row checked
//! before it is used.
//!
//! A **server-side conversion** is how the bank's own systems report that a customer took a
//! product, whatever screen they took it on — the only way a held-out customer's conversion
//! reaches `learn`, since held-out customers are not shown the propositions they would convert
//! on. One JSON object per line:
//!
//! ```json
//! {"subject": "p-7f3a", "proposition": "green-savings", "time": "2026-12-04T10:12:00Z"}
//! {"subject": "p-91c2", "product": "SAV-GREEN", "time": "2026-12-04T11:40:00Z", "token": "Ag…"}
//! ```
//!
//! * `subject`: the profile's pseudonymous id (never a customer number);
//! * `proposition` (a catalogue id) or `product` (a catalogue proposition's `product` code; every
//!   proposition with that code gets the conversion), one of the two;
//! * `time`: RFC 3339 in UTC (`…Z`), when the product was taken;
//! * `token` (optional): the tracking token of the banner the customer came through, if the
//!   form behind it kept it; kept for the bank's own attribution, not needed by `learn`.
//!
//! No other field is accepted. A conversion counts for a customer who was exposed to the
//! proposition (shown it, or — in the holdout group — had it withheld) at or before its time.

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::measure::{Measured, Measurement};
use crate::{Error, Result};

/// Longest id or code accepted in an event (the collector's limit).
pub const MAX_FIELD_LEN: usize = 200;

/// One server-side conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Conversion {
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Why a measurement event cannot be used, or `Ok`.
pub fn check_event(e: &Measurement) -> std::result::Result<(), String> {
    for (field, value) in [
        ("decisionId", &e.decision_id),
        ("proposition", &e.proposition),
        ("treatment", &e.treatment),
        ("bundle", &e.bundle),
        ("placement", &e.placement),
        ("subject", &e.subject),
    ] {
        check_text(field, value)?;
    }
    check_time(&e.time)?;
    if !(e.selection_probability > 0.0 && e.selection_probability <= 1.0) {
        return Err(format!("selectionProbability: expected a probability above 0 and at most 1, found {}", e.selection_probability));
    }
    match (e.event, e.holdout, e.position) {
        (Measured::Withheld, false, _) => Err("event: withheld, but holdout is false (only the holdout group's decisions withhold)".into()),
        (Measured::Withheld, true, p) if p != 0 => Err(format!("position: a withheld proposition has position 0, found {p}")),
        (Measured::Withheld, true, _) => Ok(()),
        (_, _, 0) => Err("position: a shown proposition has position 1 or more, found 0".into()),
        _ => Ok(()),
    }
}

/// Why a server-side conversion cannot be used, or `Ok`.
pub fn check_conversion(c: &Conversion) -> std::result::Result<(), String> {
    check_text("subject", &c.subject)?;
    check_time(&c.time)?;
    match (&c.proposition, &c.product) {
        (Some(p), None) => check_text("proposition", p),
        (None, Some(p)) => check_text("product", p),
        (Some(_), Some(_)) => Err("name the proposition or the product, not both".into()),
        (None, None) => Err("proposition or product: one of the two is needed".into()),
    }?;
    c.token.as_deref().map_or(Ok(()), |t| check_text("token", t))
}

fn check_text(field: &str, value: &str) -> std::result::Result<(), String> {
    if value.is_empty() || value.len() > MAX_FIELD_LEN {
        return Err(format!("{field}: expected 1 to {MAX_FIELD_LEN} characters, found {}", value.len()));
    }
    Ok(())
}

/// Times are compared and bucketed as text (seconds: the first 19 characters, the day: the
/// first 10), the same in every SQL dialect: so only the UTC form the engine writes is accepted.
fn check_time(time: &str) -> std::result::Result<(), String> {
    let utc = time.len() >= 20 && time.as_bytes().get(10) == Some(&b'T') && time.ends_with('Z');
    if !utc || crate::time::parse_rfc3339(time, "time").is_err() {
        return Err(format!("time: expected an RFC 3339 time in UTC such as 2026-12-04T10:12:00Z, found {time:?}"));
    }
    Ok(())
}

/// Reads JSON Lines of `T` from `reader`, checking each line; `path` names the file in errors.
/// Blank lines are skipped. Every bad line is counted and the first few named, in one error.
pub fn read_lines<T: serde::de::DeserializeOwned>(
    reader: impl BufRead,
    path: &str,
    what: &str,
    check: impl Fn(&T) -> std::result::Result<(), String>,
    mut each: impl FnMut(T),
) -> Result<usize> {
    let mut bad = BadRows::new(path, what);
    let mut read = 0;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Error::argument(path.to_string(), format!("cannot be read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(&line).map_err(|e| e.to_string()).and_then(|v| check(&v).map(|()| v)) {
            Ok(v) => {
                each(v);
                read += 1;
            }
            Err(why) => bad.add(i + 1, why),
        }
    }
    bad.finish()?;
    Ok(read)
}

/// Reads a whole file of measurement events (JSON Lines).
pub fn parse_events(text: &str, path: &str) -> Result<Vec<Measurement>> {
    let mut events = Vec::new();
    read_lines(text.as_bytes(), path, "measurement event", check_event, |e| events.push(e))?;
    Ok(events)
}

/// Reads a whole file of server-side conversions (JSON Lines).
pub fn parse_conversions(text: &str, path: &str) -> Result<Vec<Conversion>> {
    let mut conversions = Vec::new();
    read_lines(text.as_bytes(), path, "server-side conversion", check_conversion, |c| conversions.push(c))?;
    Ok(conversions)
}

/// The bad rows of one input: counted, the first few named with why.
pub struct BadRows<'a> {
    path: &'a str,
    what: &'a str,
    count: usize,
    named: Vec<String>,
}

impl<'a> BadRows<'a> {
    /// How many bad rows an error names.
    const NAMED: usize = 5;

    pub fn new(path: &'a str, what: &'a str) -> BadRows<'a> {
        BadRows { path, what, count: 0, named: Vec::new() }
    }

    /// Row (or line) `row`, 1-based, is bad because of `why`.
    pub fn add(&mut self, row: usize, why: String) {
        self.count += 1;
        if self.named.len() < Self::NAMED {
            self.named.push(format!("{}:{row}: not a {}: {why}", self.path, self.what));
        }
    }

    /// An error naming the bad rows, if there were any: nothing bad is used, and nothing is
    /// learned from a file with bad rows (fix or remove them, then run again).
    pub fn finish(self) -> Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        let more = if self.count > self.named.len() { format!("\n… {} bad rows in all", self.count) } else { String::new() };
        Err(Error::argument(
            self.path.to_string(),
            format!("{} bad row{} (nothing was learned):\n{}{more}", self.count, if self.count == 1 { "" } else { "s" }, self.named.join("\n")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn event() -> Measurement {
        Measurement {
            decision_id: "0102030405060708".into(),
            proposition: "green-savings".into(),
            treatment: "a".into(),
            holdout: false,
            event: Measured::Impression,
            time: "2026-12-04T10:00:00Z".into(),
            bundle: "bank-nl-web".into(),
            bundle_version: 3,
            placement: "overview".into(),
            position: 1,
            selection_probability: 0.5,
            subject: "p-1".into(),
        }
    }

    #[test]
    fn bad_rows_are_named_and_counted() {
        let good = serde_json::to_string(&event()).unwrap();
        let unknown = good.replace("\"subject\"", "\"email\":\"a@b.nl\",\"subject\"");
        let offset = good.replace("10:00:00Z", "11:00:00+01:00");
        let withheld = good.replace("\"impression\"", "\"withheld\"");
        let text = [good.as_str(), "", &unknown, "{", &offset, &withheld, &good].join("\n");
        let err = parse_events(&text, "events.jsonl").unwrap_err();
        let message = err.to_string();
        assert_eq!(err.code(), "invalid_argument");
        assert!(message.contains("4 bad rows (nothing was learned)"), "{message}");
        assert!(message.contains("events.jsonl:3: not a measurement event: unknown field `email`"), "{message}");
        assert!(message.contains("events.jsonl:4:"), "{message}");
        assert!(message.contains("events.jsonl:5: not a measurement event: time: expected an RFC 3339 time in UTC"), "{message}");
        assert!(message.contains("events.jsonl:6: not a measurement event: event: withheld, but holdout is false"), "{message}");
        assert_eq!(parse_events(&[good.as_str(), &good].join("\n"), "e").unwrap().len(), 2);
    }

    #[test]
    fn conversions_name_a_proposition_or_a_product() {
        let ok = parse_conversions(
            "{\"subject\":\"p-1\",\"proposition\":\"green-savings\",\"time\":\"2026-12-04T10:12:00Z\"}\n{\"subject\":\"p-2\",\"product\":\"SAV-GREEN\",\"time\":\"2026-12-04T11:40:00Z\",\"token\":\"AgE\"}",
            "c.jsonl",
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        for (line, why) in [
            ("{\"subject\":\"p-1\",\"time\":\"2026-12-04T10:12:00Z\"}", "one of the two is needed"),
            ("{\"subject\":\"p-1\",\"proposition\":\"a\",\"product\":\"b\",\"time\":\"2026-12-04T10:12:00Z\"}", "not both"),
            ("{\"subject\":\"p-1\",\"proposition\":\"a\",\"time\":\"2026-12-04T10:12:00Z\",\"iban\":\"NL91\"}", "unknown field `iban`"),
            ("{\"subject\":\"\",\"proposition\":\"a\",\"time\":\"2026-12-04T10:12:00Z\"}", "subject: expected 1 to 200 characters"),
        ] {
            let err = parse_conversions(line, "c.jsonl").unwrap_err().to_string();
            assert!(err.contains("c.jsonl:1: not a server-side conversion") && err.contains(why), "{err}");
        }
    }
}
