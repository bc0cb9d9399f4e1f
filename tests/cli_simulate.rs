//! `opmaat simulate` as a user runs it: a synthetic population written as Parquet and as JSON
//! Lines gives the same report, a signed bundle against a baseline catalogue, the README's
//! example, and bad input refused with its row.

mod common;

use std::path::Path;

use common::{run, stderr, stdout, workdir, ROOT};
use serde_json::Value;

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(out.status.success(), "opmaat {}: {}", args.join(" "), stderr(&out));
    stdout(&out)
}

fn catalogue(dir: &Path) {
    std::fs::copy(Path::new(ROOT).join("www/catalogue.json"), dir.join("catalogue.json")).unwrap();
}

#[test]
fn parquet_and_json_lines_populations_give_the_same_report() {
    let dir = workdir("simulate-forms");
    catalogue(&dir);
    for name in ["people.parquet", "people.jsonl"] {
        ok(&dir, &["synth", "--people", "300", "--people-out", name]);
    }
    let report = |name: &str| ok(&dir, &["simulate", "--catalogue", "catalogue.json", "--population", name, "--days", "10", "--seed", "3", "--json", "--out", &format!("{name}.html")]);
    let (parquet, lines) = (report("people.parquet"), report("people.jsonl"));
    assert_eq!(parquet, lines);
    let json: Value = serde_json::from_str(&lines).unwrap();
    assert_eq!(json["population"]["customers"], 300);
    assert!(json["decisions"]["total"].as_u64().unwrap() > 500, "{}", json["decisions"]);
    assert!(json["knob"]["costPerYear"].is_number());
    let html = std::fs::read_to_string(dir.join("people.jsonl.html")).unwrap();
    assert_eq!(html, std::fs::read_to_string(dir.join("people.parquet.html")).unwrap());
}

#[test]
fn a_signed_bundle_is_compared_with_a_baseline() {
    let dir = workdir("simulate-baseline");
    catalogue(&dir);
    ok(&dir, &["keygen", "--out", "k.key"]);
    ok(&dir, &["build", "catalogue.json", "--key", "k.key", "--out", "v1.opb", "--issued-at", "2026-11-23T12:00:00Z"]);
    let mut next: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("catalogue.json")).unwrap()).unwrap();
    next["version"] = 2.into();
    next["arbitration"]["strategic"]["segments"]["savings"] = 80.into();
    std::fs::write(dir.join("v2.json"), next.to_string()).unwrap();
    ok(&dir, &["synth", "--people", "200", "--people-out", "people.json"]);
    let out = ok(&dir, &["simulate", "--catalogue", "v2.json", "--baseline", "v1.opb", "--pub", "k.key.pub", "--population", "people.json", "--days", "7", "--start", "2026-12-01T00:00:00Z", "--json"]);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["catalogue"]["version"], 2);
    assert_eq!(json["baseline"]["catalogue"]["version"], 1);
    assert_eq!(json["start"], "2026-12-01T00:00:00Z");
    assert_eq!(json["decisions"]["total"], json["baseline"]["decisions"]["total"], "the same visits");
    let cost = |r: &Value| r["knob"]["cost"].as_f64().unwrap();
    assert!(cost(&json) > cost(&json["baseline"]), "a stronger knob costs more: {} vs {}", cost(&json), cost(&json["baseline"]));

    let unsigned = run(&dir, &["simulate", "--bundle", "v1.opb", "--population", "people.json", "--json"]);
    assert_eq!(unsigned.status.code(), Some(1));
    assert!(stderr(&unsigned).starts_with("error[invalid_argument]: --pub:"), "{}", stderr(&unsigned));
}

#[test]
fn bad_rows_are_counted_or_refused_with_strict() {
    let dir = workdir("simulate-bad");
    catalogue(&dir);
    let rows = ["{\"id\": \"p-1\", \"loggedIn\": true}", "{\"id\": ", "{\"id\": \"p-3\", \"attributes\": {\"mail\": \"an.de.vries@example.nl\"}}"];
    std::fs::write(dir.join("people.jsonl"), rows.join("\n") + "\n").unwrap();
    let out = ok(&dir, &["simulate", "--catalogue", "catalogue.json", "--population", "people.jsonl", "--json"]);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["population"]["skipped"], 2);
    assert_eq!(json["population"]["skippedRows"][0]["row"], 2);
    assert_eq!(json["population"]["skippedRows"][1]["code"], "personal_data");
    let strict = run(&dir, &["simulate", "--catalogue", "catalogue.json", "--population", "people.jsonl", "--json", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(stderr(&strict).starts_with("error[invalid_argument]: people.jsonl: row 2:"), "{}", stderr(&strict));
    let neither = run(&dir, &["simulate", "--catalogue", "catalogue.json", "--population", "people.jsonl"]);
    assert_eq!(neither.status.code(), Some(2), "clap: --out or --json is required");
}

/// The README's `opmaat simulate` example, as written.
#[test]
fn the_readme_simulation_runs() {
    let dir = workdir("simulate-readme");
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::copy(Path::new(ROOT).join("www/catalogue.json"), dir.join("www/catalogue.json")).unwrap();
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .map(|b| b.split("```").next().unwrap())
        .find(|b| b.contains("opmaat simulate"))
        .expect("README has an `opmaat simulate` example");
    let commands: Vec<Vec<&str>> = block.lines().filter(|l| l.starts_with("opmaat ")).map(|l| l.split_whitespace().skip(1).collect()).collect();
    assert!(commands.len() >= 2);
    for args in &commands {
        ok(&dir, args);
    }
    assert!(std::fs::read_to_string(dir.join("report.html")).unwrap().contains("What the strategic knob costs"));
}
