use std::collections::BTreeMap;

use super::*;
use crate::bundle::compile::{compile, parse_catalogue, read_catalogue_file};
use crate::bundle::envelope::seal;
use crate::bundle::keys::dev_key;
use crate::bundle::{LoadOptions, TrustedKeys};
use crate::learn::{aggregate, learn, Options};
use crate::synthetic::events::{self, Setting, Sink};
use crate::time::{parse_rfc3339, DAY};
use crate::Engine;

const START: &str = "2026-12-01T00:00:00Z";

fn sample() -> Catalogue {
    let mut c = parse_catalogue(&read_catalogue_file(concat!(env!("CARGO_MANIFEST_DIR"), "/www/catalogue.json")).unwrap()).unwrap();
    // A larger holdout group than the sample's 2%, so both arms have customers.
    if let Some(h) = c.holdout.as_mut() {
        h.percent = 20.0;
    }
    c
}

struct Memory(Vec<Measurement>, Vec<Conversion>);

impl Sink for Memory {
    fn event(&mut self, e: &Measurement) -> Result<()> {
        self.0.push(e.clone());
        Ok(())
    }
    fn conversion(&mut self, c: &Conversion) -> Result<()> {
        self.1.push(c.clone());
        Ok(())
    }
}

/// A synthetic log of the sample catalogue: `n` events and their server-side conversions.
fn log(catalogue: &Catalogue, n: u64) -> (Vec<Measurement>, Vec<Conversion>) {
    let start = parse_rfc3339(START, "start").unwrap();
    let key = dev_key(3);
    let mut trusted = TrustedKeys::new();
    trusted.add(&key.public_key()).unwrap();
    let engine = Engine::load(&seal(&compile(catalogue, start).unwrap(), &key).unwrap(), &LoadOptions { trusted_keys: &trusted, now: start, min_version: None }).unwrap();
    let products: BTreeMap<String, String> = catalogue.propositions.iter().filter_map(|p| Some((p.id.clone(), p.product.clone()?))).collect();
    let setting = Setting { engine: &engine, products: &products, seed: 5, days: 14, start };
    let mut memory = Memory(Vec::new(), Vec::new());
    events::write(&setting, n, 2, &mut memory).unwrap();
    (memory.0, memory.1)
}

fn write_parquet(dir: &Path, events: &[Measurement], conversions: &[Conversion]) -> (PathBuf, PathBuf) {
    let (e, c) = (dir.join("events.parquet"), dir.join("conversions.parquet"));
    let mut sink = event_sink(&e).unwrap();
    for x in events {
        sink.push(x.clone()).unwrap();
    }
    sink.finish().unwrap();
    let mut sink = conversion_sink(&c).unwrap();
    for x in conversions {
        sink.push(x.clone()).unwrap();
    }
    sink.finish().unwrap();
    (e, c)
}

fn write_jsonl<T: serde::Serialize>(path: &Path, rows: &[T]) {
    let text: String = rows.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    std::fs::write(path, text).unwrap();
}

const LIMITS: Limits = Limits { memory_limit_mb: 512, threads: 2 };

#[test]
fn datafusion_counts_what_memory_counts_from_parquet_and_json_lines() {
    let mut catalogue = sample();
    catalogue.propositions.iter_mut().find(|p| p.id == "green-savings").unwrap().product = Some("SAV-GREEN".into());
    let (events, conversions) = log(&catalogue, 60_000);
    assert!(events.iter().any(|e| e.event == Measured::Withheld), "the holdout group's withheld events are in the log");
    assert!(conversions.iter().any(|c| c.product.is_some()), "conversions by product code are in the log");
    let scratch = Scratch::new().unwrap();
    let (e, c) = write_parquet(&scratch.0, &events, &conversions);
    let (ej, cj) = (scratch.0.join("events.jsonl"), scratch.0.join("conversions.jsonl"));
    write_jsonl(&ej, &events);
    write_jsonl(&cj, &conversions);

    let memory = aggregate(&events, &conversions, &catalogue);
    let parquet = counts(&e, Some(&c), &catalogue, LIMITS).unwrap();
    let lines = counts(&ej, Some(&cj), &catalogue, LIMITS).unwrap();
    assert!(memory.rows.len() > 100, "{} rows", memory.rows.len());
    assert!(memory.same_as(&parquet), "memory and DataFusion over Parquet differ:\n{:#?}\n{:#?}", memory.rows.iter().take(5).collect::<Vec<_>>(), parquet.rows.iter().take(5).collect::<Vec<_>>());
    assert!(memory.same_as(&lines), "memory and DataFusion over JSON Lines differ");
    for m in [Measure::Exposed, Measure::Converted, Measure::Logged] {
        assert!(memory.of(m).any(|r| r.n > 0), "{m:?} rows");
    }
    assert!(memory.of(Measure::Exposed).any(|r| r.holdout), "the control arm has exposures");

    // The learned catalogues are the same, whichever file was read.
    let options = Options { now: parse_rfc3339(START, "now").unwrap() + 14 * DAY, half_life_days: 30.0, decay: 0.8, prior_strength: 20.0 };
    let (mut a, mut b) = (catalogue.clone(), catalogue.clone());
    let report_a = learn(&mut a, &memory, &options).unwrap();
    let report_b = learn(&mut b, &parquet, &options).unwrap();
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    assert_eq!(crate::learn::table(&report_a), crate::learn::table(&report_b));

    // Counts written and read back (what `--counts` reads) are the same counts.
    let path = scratch.0.join("counts.parquet");
    write_counts(&path, &parquet).unwrap();
    assert!(read_counts(&path).unwrap().same_as(&parquet));
}

#[test]
fn the_learned_rates_approach_the_true_rates() {
    let catalogue = sample();
    let (events, conversions) = log(&catalogue, 150_000);
    let counts = aggregate(&events, &conversions, &catalogue);
    let mut shown = 0;
    for p in &catalogue.propositions {
        let n: u64 = counts.of(Measure::Events).filter(|r| r.proposition == p.id && r.event == "impression" && !r.holdout).map(|r| r.n).sum();
        let clicks: u64 = counts.of(Measure::Events).filter(|r| r.proposition == p.id && r.event == "click" && !r.holdout).map(|r| r.n).sum();
        if n < 5_000 {
            continue;
        }
        shown += 1;
        let (rate, truth) = (clicks as f64 / n as f64, events::click_rate(&p.id, 0));
        let se = (truth * (1.0 - truth) / n as f64).sqrt();
        assert!((rate - truth).abs() < 4.0 * se, "{}: click rate {rate:.4}, true {truth:.4} (n = {n})", p.id);
    }
    assert!(shown >= 3, "{shown} propositions with enough impressions");
}

#[test]
fn bad_rows_unknown_columns_and_corrupt_files_are_named_never_used() {
    let catalogue = sample();
    let (events, conversions) = log(&catalogue, 2_000);
    let scratch = Scratch::new().unwrap();

    // A bad row is named by row, and counted.
    let mut bad = events.clone();
    bad[6].selection_probability = 0.0;
    bad[9].time = "2026-12-01 10:00:00".into();
    let (e, _) = write_parquet(&scratch.0, &bad, &conversions);
    let err = counts(&e, None, &catalogue, LIMITS).unwrap_err().to_string();
    assert!(err.contains("2 bad rows (nothing was learned)"), "{err}");
    assert!(err.contains("events.parquet:7: not a measurement event: selectionProbability"), "{err}");
    assert!(err.contains("events.parquet:10: not a measurement event: time"), "{err}");

    // An unknown column (here: personal data) is refused by name.
    let with_email = scratch.0.join("email.parquet");
    let mut columns: Vec<(&str, DataType)> = EVENT_COLUMNS.to_vec();
    columns.push(("email", DataType::Utf8));
    let mut sink = ParquetSink::create(&with_email, &columns, |rows: &[Measurement]| {
        let mut arrays = event_arrays(rows);
        arrays.push(strings(rows, |_| "someone@example.nl"));
        arrays
    })
    .unwrap();
    sink.push(events[0].clone()).unwrap();
    sink.finish().unwrap();
    let err = counts(&with_email, None, &catalogue, LIMITS).unwrap_err().to_string();
    assert!(err.contains("unknown column \"email\""), "{err}");

    // A corrupt file: truncated, or with flipped bytes, anywhere. An error, never a panic.
    let (good, _) = write_parquet(&scratch.0, &events, &conversions);
    let bytes = std::fs::read(&good).unwrap();
    let broken = scratch.0.join("broken.parquet");
    let step = (bytes.len() / 23).max(1);
    for cut in (0..bytes.len()).step_by(step) {
        std::fs::write(&broken, &bytes[..cut]).unwrap();
        let err = counts(&broken, None, &catalogue, LIMITS).unwrap_err();
        assert!(err.to_string().contains("broken.parquet"), "cut at {cut}: {err}");
        let mut flipped = bytes.clone();
        flipped[cut] ^= 0x5A;
        std::fs::write(&broken, &flipped).unwrap();
        // Flipping a byte may leave a readable file with other values; it must not panic.
        let _ = counts(&broken, None, &catalogue, LIMITS);
    }
    // JSON Lines with an unknown field are refused the same way on this path.
    let lines = scratch.0.join("events.jsonl");
    let mut text = serde_json::to_string(&events[0]).unwrap().replace("\"subject\"", "\"iban\":\"NL91ABNA0417164300\",\"subject\"");
    text.push('\n');
    std::fs::write(&lines, text).unwrap();
    let err = counts(&lines, None, &catalogue, LIMITS).unwrap_err().to_string();
    assert!(err.contains("events.jsonl:1: not a measurement event: unknown field `iban`"), "{err}");
}


/// One event of green-savings' treatment `a`, made by hand.
fn at(subject: &str, decision: &str, kind: Measured, holdout: bool, time: &str, probability: f64) -> Measurement {
    let event = crate::learn::tests::event(subject, "green-savings", "a", kind, holdout, time);
    Measurement { decision_id: decision.into(), selection_probability: probability, ..event }
}

#[test]
fn datafusion_and_memory_agree_where_a_synthetic_log_rarely_goes() {
    let mut catalogue = sample();
    catalogue.propositions.iter_mut().find(|p| p.id == "green-savings").unwrap().product = Some("SAV-GREEN".into());
    let (t0, t1, t2) = ("2026-12-05T09:00:00Z", "2026-12-05T10:00:00Z", "2026-12-06T11:00:00Z");
    let events = [
        at("early", "d1", Measured::Impression, false, t1, 0.5),  // converted before it was shown
        at("product", "d2", Measured::Impression, false, t0, 0.25), // converted by product code after
        at("control", "d3", Measured::Withheld, true, t0, 1.0),   // held out, converted after
        at("twice", "d4", Measured::Impression, false, t0, 0.5),  // the same impression twice, clicked
        at("twice", "d4", Measured::Impression, false, t1, 0.5),
        at("twice", "d4", Measured::Click, false, t1, 0.5),
        at("stray", "d5", Measured::Click, false, t1, 0.5),      // a click without its impression
        at("client", "d6", Measured::Impression, false, t0, 0.5), // converted through the page
        at("client", "d6", Measured::Convert, false, t1, 0.5),
        at("switched", "d7", Measured::Withheld, true, t0, 1.0),  // in the control group, then out
        at("switched", "d8", Measured::Impression, false, t2, 0.5),
    ];
    let conversion = |subject: &str, product: bool, time: &str| Conversion {
        subject: subject.into(),
        proposition: (!product).then(|| "green-savings".into()),
        product: product.then(|| "SAV-GREEN".into()),
        time: time.into(),
        token: None,
    };
    let conversions = [
        conversion("early", false, t0),
        conversion("product", true, t1),
        conversion("control", false, t1),
        conversion("nobody-showed", false, t1), // an outcome without an exposure
        conversion("switched", false, t1),      // after the withheld exposure, before the shown one
    ];
    let scratch = Scratch::new().unwrap();
    let (e, c) = write_parquet(&scratch.0, &events, &conversions);
    let memory = aggregate(&events, &conversions, &catalogue);
    let datafusion = counts(&e, Some(&c), &catalogue, LIMITS).unwrap();
    assert!(memory.same_as(&datafusion), "memory and DataFusion differ:\n{:#?}\n{:#?}", memory.rows, datafusion.rows);

    let n = |m: Measure, holdout: bool| memory.of(m).filter(|r| r.holdout == holdout).map(|r| r.n).sum::<u64>();
    assert_eq!(n(Measure::Exposed, false), 5, "early, product, twice, client, switched");
    assert_eq!(n(Measure::Exposed, true), 2, "control, switched");
    assert_eq!(n(Measure::Converted, false), 2, "product and client: early converted before, switched before it was shown");
    assert_eq!(n(Measure::Converted, true), 2, "control, switched");
    let logged: Vec<_> = memory.of(Measure::Logged).map(|r| (r.event.as_str(), r.n, r.inverse_sum)).collect();
    assert_eq!(logged, vec![("", 4, 2.0 + 4.0 + 2.0 + 2.0), ("click", 1, 2.0)], "the stray click has no impression");
    assert_eq!(n(Measure::ServerConversions, false), 5);
}

#[test]
fn a_memory_limit_too_small_to_run_is_refused_up_front() {
    let catalogue = sample();
    let scratch = Scratch::new().unwrap();
    let (e, c) = write_parquet(&scratch.0, &[at("s", "d", Measured::Impression, false, START, 0.5)], &[]);
    let err = counts(&e, Some(&c), &catalogue, Limits { memory_limit_mb: 1, threads: 2 }).unwrap_err().to_string();
    assert!(err.contains("--memory-limit-mb") && err.contains("at least 256"), "{err}");
    assert!(counts(&e, Some(&c), &catalogue, Limits { memory_limit_mb: MIN_MEMORY_LIMIT_MB, threads: 2 }).is_ok());

    // An empty log is counted too (the stored distinct events are then an empty table).
    let (e, c) = write_parquet(&scratch.0, &[], &[]);
    assert!(counts(&e, Some(&c), &catalogue, LIMITS).unwrap().same_as(&aggregate(&[], &[], &catalogue)));
}
