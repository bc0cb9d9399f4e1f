//! `opmaat decide`, `opmaat explain`, `opmaat sign-profile` and `opmaat synth` as a user runs
//! them: replaying the personas' decisions from files, signed profiles, and errors.

mod common;

use std::path::Path;

use common::{run, workdir, ROOT};
use serde_json::Value;

const NOW: &str = "2026-12-05T09:30:00Z";

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(out.status.success(), "opmaat {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn failing(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(out.status.code(), Some(1), "opmaat {} should fail", args.join(" "));
    String::from_utf8(out.stderr).unwrap()
}

/// Writes a persona's profile and first context to `profile.json` and `context.json`.
fn persona(dir: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join("tests/personas").join(format!("{name}.json"))).unwrap();
    let persona: Value = serde_json::from_str(&text).unwrap();
    std::fs::write(dir.join("profile.json"), persona["profile"].to_string()).unwrap();
    std::fs::write(dir.join("context.json"), persona["decisions"][0]["context"].to_string()).unwrap();
    persona
}

fn catalogue() -> String {
    Path::new(ROOT).join("www/catalogue.json").display().to_string()
}

#[test]
fn decide_and_explain_replay_a_persona_from_a_signed_bundle() {
    let dir = workdir("decide-bundle");
    let persona = persona(&dir, "student");
    ok(&dir, &["keygen", "--out", "k.key"]);
    ok(&dir, &["build", &catalogue(), "--key", "k.key", "--out", "c.opb", "--issued-at", "2026-11-23T12:00:00Z"]);
    let args = ["--bundle", "c.opb", "--pub", "k.key.pub", "--placement", "overview", "--profile", "profile.json", "--context", "context.json", "--now", NOW];

    let json: Value = serde_json::from_str(&ok(&dir, &[&["decide", "--json"][..], &args].concat())).unwrap();
    let slots: Vec<&str> = json["slots"].as_array().unwrap().iter().map(|s| s["proposition"].as_str().unwrap()).collect();
    let expected: Vec<&str> = persona["decisions"][0]["slots"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(slots, expected);

    let decide = ok(&dir, &[&["decide"][..], &args].concat());
    let id = json["decisionId"].as_str().unwrap();
    assert!(decide.starts_with(&format!("decision {id}: placement overview at {NOW}, 3 of 3 slots\n")), "{decide}");
    assert!(decide.contains("1  student-13th-month  treatment a  priority 6.300  \"Een 13e maand studiefinanciering voor u?\"  token "), "{decide}");

    let table = ok(&dir, &[&["explain"][..], &args].concat());
    assert!(table.starts_with(&format!("decision {id}  bank-nl-web v1  at {NOW}\n")), "{table}");
    assert!(table.contains("1  student-13th-month  sales    loans         6.300  0.350  1.00  18.0  1.00  shown: treatment a (split), nl large"), "{table}");
    assert!(table.contains("-  kids-savings        sales    savings           -      -     -     -     -  select / eligibility:"), "{table}");
    assert_eq!(table, ok(&dir, &[&["explain"][..], &args].concat()), "a replay gives the same table");
    let explained: Value = serde_json::from_str(&ok(&dir, &[&["explain", "--json"][..], &args].concat())).unwrap();
    assert_eq!(explained, json);

    let stderr = failing(&dir, &["decide", "--bundle", "c.opb", "--placement", "overview", "--now", NOW]);
    assert!(stderr.starts_with("error[invalid_argument]: --pub:"), "{stderr}");
}

#[test]
fn authors_decide_from_a_catalogue_and_flags() {
    let dir = workdir("decide-catalogue");
    persona(&dir, "small-screen");
    let out = ok(&dir, &["explain", "--catalogue", &catalogue(), "--placement", "overview", "--profile", "profile.json", "--locale", "en-GB", "--form-factor", "small", "--now", NOW]);
    assert!(out.contains("-  rijksmuseum         loyalty  payments          -      -     -     -     -  select / no_compact_creative: treatment a has no compact creative for small screens"), "{out}");
    assert!(out.contains("shown: treatment a (split), en compact"), "{out}");
    // An anonymous visitor on the homepage, context from flags only.
    let out = ok(&dir, &["decide", "--catalogue", &catalogue(), "--placement", "homepage", "--page", "/sparen", "--now", NOW, "--json"]);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["loggedIn"], false);
    assert_eq!(json["slots"][0]["proposition"], "phishing-tips", "no marketing consent: service only");
    let stderr = failing(&dir, &["decide", "--catalogue", &catalogue(), "--placement", "sidebar", "--now", NOW]);
    assert!(stderr.starts_with("error[invalid_argument]: placement: no placement \"sidebar\""), "{stderr}");
    let stderr = failing(&dir, &["decide", "--catalogue", &catalogue(), "--placement", "overview", "--form-factor", "tablet", "--now", NOW]);
    assert!(stderr.starts_with("error[invalid_argument]: --form-factor"), "{stderr}");
}

/// Two catalogues with the same id and version but other contents: before, `decide --catalogue`
/// gave both the same decision id for different slots, so a replay was ambiguous.
#[test]
fn decision_ids_name_the_catalogue_s_content() {
    let dir = workdir("decide-content");
    persona(&dir, "small-screen");
    let text = std::fs::read_to_string(catalogue()).unwrap();
    let other = text.replacen("\"weight\": 50", "\"weight\": 60", 1);
    assert_ne!(other, text);
    std::fs::write(dir.join("other.json"), other).unwrap();
    let id = |path: &str| {
        let out = ok(&dir, &["decide", "--catalogue", path, "--placement", "overview", "--profile", "profile.json", "--now", NOW, "--json"]);
        serde_json::from_str::<Value>(&out).unwrap()["decisionId"].as_str().unwrap().to_string()
    };
    let first = id(&catalogue());
    assert_eq!(first, id(&catalogue()), "the same catalogue replays to the same id");
    assert_ne!(first, id("other.json"));
}

#[test]
fn signed_profiles() {
    let dir = workdir("signed-profiles");
    persona(&dir, "pensioner");
    ok(&dir, &["keygen", "--out", "bank.key"]);
    ok(&dir, &["sign-profile", "profile.json", "--key", "bank.key", "--out", "signed.json"]);
    let signed: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("signed.json")).unwrap()).unwrap();
    assert_eq!(signed.as_object().unwrap().len(), 3, "{signed}");
    let base = ["decide", "--catalogue", &catalogue(), "--placement", "overview", "--now", NOW, "--profile-pub", "bank.key.pub", "--profile"];
    let out = ok(&dir, &[&base[..], &["signed.json"]].concat());
    assert!(out.contains("1  afloswijzer  treatment a  priority 6.250"), "{out}");
    let stderr = failing(&dir, &[&base[..], &["profile.json"]].concat());
    assert!(stderr.starts_with("error[unsigned_profile]"), "{stderr}");

    // The snapshot changed after signing: 68 becomes 58.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let snapshot = String::from_utf8(b64.decode(signed["snapshot"].as_str().unwrap()).unwrap()).unwrap();
    assert!(snapshot.contains("\"age\":68"), "{snapshot}");
    let mut tampered = signed.clone();
    tampered["snapshot"] = Value::from(b64.encode(snapshot.replace("\"age\":68", "\"age\":58")));
    std::fs::write(dir.join("tampered.json"), tampered.to_string()).unwrap();
    let stderr = failing(&dir, &[&base[..], &["tampered.json"]].concat());
    assert!(stderr.starts_with("error[bad_profile_signature]"), "{stderr}");

    // A key the engine does not trust.
    ok(&dir, &["keygen", "--out", "other.key"]);
    let stderr = failing(&dir, &["decide", "--catalogue", &catalogue(), "--placement", "overview", "--now", NOW, "--profile-pub", "other.key.pub", "--profile", "signed.json"]);
    assert!(stderr.contains("not a trusted key"), "{stderr}");

    // Personal data is refused before anything is signed.
    std::fs::write(dir.join("leaky.json"), r#"{"id": "p-1", "attributes": {"email": "jan@example.nl"}}"#).unwrap();
    let stderr = failing(&dir, &["sign-profile", "leaky.json", "--key", "bank.key"]);
    assert!(stderr.starts_with("error[personal_data]: profile.attributes.email: the attribute name \"email\" suggests an e-mail address"), "{stderr}");
}

#[test]
fn synthetic_catalogues_build_and_decide() {
    let dir = workdir("synth");
    ok(&dir, &["synth", "--propositions", "200", "--seed", "3", "--out", "synthetic.json"]);
    let again = ok(&dir, &["synth", "--propositions", "200", "--seed", "3"]);
    assert_eq!(again, std::fs::read_to_string(dir.join("synthetic.json")).unwrap(), "deterministic");
    ok(&dir, &["keygen", "--out", "k.key"]);
    let built = ok(&dir, &["build", "synthetic.json", "--key", "k.key", "--out", "s.opb"]);
    assert!(built.contains("synthetic-200 v1"), "{built}");
    std::fs::write(dir.join("profile.json"), r#"{"id": "p-1", "attributes": {"age": 40, "holdings": ["savings"]}, "consent": {"personalisation": true, "marketing": true}}"#).unwrap();
    let json: Value = serde_json::from_str(&ok(&dir, &["decide", "--bundle", "s.opb", "--pub", "k.key.pub", "--placement", "overview", "--profile", "profile.json", "--now", NOW, "--json"])).unwrap();
    let accounted = json["slots"].as_array().unwrap().len() + json["trace"].as_array().unwrap().len();
    assert_eq!(accounted, 200);
}

#[test]
fn decide_replays_with_the_customer_s_ledger() {
    use opmaat::ledger::{EventKind, Ledger};
    use opmaat::time::parse_rfc3339;

    let dir = workdir("decide-ledger");
    persona(&dir, "student");
    let args = ["decide", "--json", "--catalogue", &catalogue(), "--placement", "overview", "--profile", "profile.json", "--context", "context.json", "--now", NOW];
    let first: Value = serde_json::from_str(&ok(&dir, &args)).unwrap();
    let slot = &first["slots"][0];
    let mut ledger = Ledger::new("bank-nl-web");
    ledger.record(slot["proposition"].as_str().unwrap(), EventKind::Dismiss, slot["token"].as_str().unwrap(), parse_rfc3339(NOW, "now").unwrap());
    std::fs::write(dir.join("ledger.txt"), ledger.serialise() + "\n").unwrap();

    let with_ledger = [&args[..], &["--ledger", "ledger.txt"]].concat();
    let next: Value = serde_json::from_str(&ok(&dir, &with_ledger)).unwrap();
    let shown: Vec<&str> = next["slots"].as_array().unwrap().iter().map(|s| s["proposition"].as_str().unwrap()).collect();
    assert!(!shown.contains(&"student-13th-month"), "{shown:?}");
    let why = next["trace"].as_array().unwrap().iter().find(|t| t["proposition"] == "student-13th-month").unwrap();
    assert_eq!(why["rule"], "dismiss_cooldown");
    assert_eq!(next["warnings"], serde_json::json!([]));

    std::fs::write(dir.join("ledger.txt"), "L1.not-a-ledger").unwrap();
    let reset: Value = serde_json::from_str(&ok(&dir, &with_ledger)).unwrap();
    assert_eq!(reset["warnings"], serde_json::json!(["ledger_corrupt"]));
    assert_eq!(reset["slots"], first["slots"]);
    let plain: Vec<&str> = with_ledger.iter().copied().filter(|a| *a != "--json").collect();
    let out = run(&dir, &plain);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("warning[ledger_corrupt]: the ledger could not be read"), "{}", String::from_utf8_lossy(&out.stderr));
}
