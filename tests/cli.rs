//! The `opmaat` CLI as a user runs it: the README's command-line example, key files, exit
//! statuses and error output.

mod common;

use std::path::Path;

use common::{run, stderr, stdout, workdir, ROOT};

/// The lines of the README's fenced `sh` block that run `opmaat`.
fn readme_commands() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .map(|b| b.split("```").next().unwrap())
        .find(|b| b.trim_start().starts_with("opmaat "))
        .expect("README has an `opmaat` command-line example");
    block
        .lines()
        .filter(|l| l.starts_with("opmaat "))
        .map(|l| l.split_whitespace().skip(1).map(str::to_string).collect())
        .collect()
}

#[test]
fn the_readme_example_runs() {
    let dir = workdir("readme");
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::copy(Path::new(ROOT).join("www/catalogue.json"), dir.join("www/catalogue.json")).unwrap();
    let commands = readme_commands();
    assert_eq!(commands.len(), 4);
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&dir, &args);
        assert!(out.status.success(), "opmaat {}: {}", args.join(" "), stderr(&out));
    }
    let inspect = stdout(&run(&dir, &["inspect", "bank-nl-web.opb"]));
    assert!(inspect.contains("propositions  11 (5 sales, 5 service, 1 loyalty)"), "{inspect}");
    assert!(inspect.contains("catalogue     bank-nl-web version 1"), "{inspect}");
}

#[test]
fn keygen_protects_the_private_key() {
    let dir = workdir("keygen");
    let out = run(&dir, &["keygen", "--out", "k.key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    let public = std::fs::read_to_string(dir.join("k.key.pub")).unwrap();
    assert!(printed.contains(&format!("public key: {}", public.trim())), "{printed}");
    assert!(printed.lines().next().unwrap().starts_with("key id:     "), "{printed}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("k.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = run(&dir, &["keygen", "--out", "k.key"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).starts_with("error[io]: k.key:"), "{}", stderr(&again));
}

#[test]
fn errors_name_their_code_and_place() {
    let dir = workdir("errors");
    assert!(run(&dir, &["keygen", "--out", "k.key"]).status.success());
    let bad = std::fs::read_to_string(Path::new(ROOT).join("www/catalogue.json"))
        .unwrap()
        .replacen("\"bank\": 15", "\"bank\": \"lots\"", 1);
    std::fs::write(dir.join("bad.json"), bad).unwrap();
    let out = run(&dir, &["build", "bad.json", "--key", "k.key", "--out", "x.opb"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error[invalid_catalogue]: bad.json: propositions[0].value.bank: invalid type: string \"lots\", expected f64"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("x.opb").exists());

    std::fs::copy(Path::new(ROOT).join("www/catalogue.json"), dir.join("c.json")).unwrap();
    let built = run(&dir, &["build", "c.json", "--key", "k.key", "--out", "c.opb", "--issued-at", "2026-11-23T12:00:00Z"]);
    assert!(built.status.success(), "{}", stderr(&built));
    let expired = run(&dir, &["verify", "c.opb", "--pub", "k.key.pub", "--now", "2027-06-01T00:00:00Z"]);
    assert_eq!(expired.status.code(), Some(1));
    assert!(stderr(&expired).starts_with("error[expired]: bundle expired at 2027-06-01T00:00:00Z"), "{}", stderr(&expired));
    assert!(run(&dir, &["keygen", "--out", "other.key"]).status.success());
    let unknown = run(&dir, &["verify", "c.opb", "--pub", "other.key.pub", "--now", "2026-12-01T00:00:00Z"]);
    assert!(stderr(&unknown).starts_with("error[unknown_key]"), "{}", stderr(&unknown));
    let rotated = run(&dir, &["verify", "c.opb", "--pub", "other.key.pub", "--pub", "k.key.pub", "--now", "2026-12-01T00:00:00Z"]);
    assert!(rotated.status.success(), "{}", stderr(&rotated));

    let mut bytes = std::fs::read(dir.join("c.opb")).unwrap();
    bytes.push(0);
    std::fs::write(dir.join("t.opb"), &bytes).unwrap();
    let inspect = stdout(&run(&dir, &["inspect", "t.opb"]));
    assert!(inspect.contains("1 TRAILING"), "{inspect}");
    let trailing = run(&dir, &["verify", "t.opb", "--pub", "k.key.pub", "--now", "2026-12-01T00:00:00Z"]);
    assert!(stderr(&trailing).starts_with("error[trailing_bytes]"), "{}", stderr(&trailing));
}

#[test]
fn inspect_json_prints_the_whole_payload() {
    let dir = workdir("inspect-json");
    assert!(run(&dir, &["keygen", "--out", "k.key"]).status.success());
    let catalogue = Path::new(ROOT).join("www/catalogue.json");
    let built = run(&dir, &["build", catalogue.to_str().unwrap(), "--key", "k.key", "--out", "c.opb"]);
    assert!(built.status.success(), "{}", stderr(&built));
    let out = run(&dir, &["inspect", "c.opb", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["bundleId"], "bank-nl-web");
    assert_eq!(json["catalogue"]["propositions"].as_array().unwrap().len(), 11);
    assert_eq!(json["catalogue"]["placements"][0]["id"], "overview");
    // Times as `inspect` prints them: RFC 3339, not Unix seconds.
    let text = stdout(&run(&dir, &["inspect", "c.opb"]));
    let issued = text.lines().find_map(|l| l.strip_prefix("issued at     ")).unwrap();
    assert_eq!(json["issuedAt"], issued);
    assert_eq!(json["expiresAt"], "2027-06-01T00:00:00Z");
    let museum = json["catalogue"]["propositions"].as_array().unwrap().iter().find(|p| p["id"] == "rijksmuseum").unwrap();
    assert_eq!(museum["validFrom"], "2026-11-15T00:00:00Z");
    assert!(text.contains("overview: 3 slots, homepage: 1 slot,"), "{text}");
}

#[test]
fn overlays_build_verify_inspect_and_replay() {
    let dir = workdir("overlay");
    assert!(run(&dir, &["keygen", "--out", "k.key"]).status.success());
    let catalogue = Path::new(ROOT).join("www/catalogue.json");
    let built = run(&dir, &["build", catalogue.to_str().unwrap(), "--key", "k.key", "--out", "c.opb", "--issued-at", "2026-11-23T12:00:00Z"]);
    assert!(built.status.success(), "{}", stderr(&built));
    std::fs::write(
        dir.join("o.json"),
        r#"{"bundle": "bank-nl-web", "sequence": 4, "propositions": {"rijksmuseum": {"soldOut": true}, "phishing-tips": {"paused": "outdated advice"}}}"#,
    )
    .unwrap();
    let at = "2026-12-05T09:00:00Z";
    let out = run(&dir, &["overlay", "build", "o.json", "--key", "k.key", "--out", "o.opa", "--issued-at", at, "--ttl-minutes", "30", "--bundle", "c.opb", "--pub", "k.key.pub"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("availability overlay 4 for bank-nl-web") && stdout(&out).contains("2 entries"), "{}", stdout(&out));
    let verified = run(&dir, &["overlay", "verify", "o.opa", "--bundle", "c.opb", "--pub", "k.key.pub", "--now", "2026-12-05T09:10:00Z"]);
    assert!(stdout(&verified).contains("OK — availability overlay 4 for bank-nl-web"), "{}{}", stdout(&verified), stderr(&verified));
    let late = run(&dir, &["overlay", "verify", "o.opa", "--bundle", "c.opb", "--pub", "k.key.pub", "--now", "2026-12-05T09:30:00Z"]);
    assert!(stderr(&late).starts_with("error[expired]: availability overlay expired at 2026-12-05T09:30:00Z"), "{}", stderr(&late));
    let inspected = stdout(&run(&dir, &["overlay", "inspect", "o.opa"]));
    assert!(inspected.contains("sequence      4") && inspected.contains("valid         2026-12-05T09:00:00Z to 2026-12-05T09:30:00Z"), "{inspected}");
    assert!(inspected.contains("phishing-tips") && inspected.contains("PAUSED: outdated advice") && inspected.contains("sold out"), "{inspected}");
    let json: serde_json::Value = serde_json::from_slice(&run(&dir, &["overlay", "inspect", "o.opa", "--json"]).stdout).unwrap();
    assert_eq!((json["sequence"].as_u64(), json["expiresAt"].as_str()), (Some(4), Some("2026-12-05T09:30:00Z")));
    // A bundle is not an overlay.
    let wrong = run(&dir, &["overlay", "inspect", "c.opb"]);
    assert!(stderr(&wrong).starts_with("error[bad_magic]: not an opmaat availability overlay"), "{}", stderr(&wrong));
    // The decision replayed with the overlay in force: the museum deal sold out, with its trace entry.
    let decide = |overlay: bool, now: &str| {
        let mut args = vec!["explain", "--bundle", "c.opb", "--pub", "k.key.pub", "--placement", "homepage", "--now", now, "--json"];
        if overlay {
            args.extend(["--overlay", "o.opa"]);
        }
        let out = run(&dir, &args);
        assert!(out.status.success(), "{}", stderr(&out));
        (serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), stderr(&out))
    };
    let (d, _) = decide(true, "2026-12-05T09:10:00Z");
    let museum = d["trace"].as_array().unwrap().iter().find(|t| t["proposition"] == "rijksmuseum").unwrap();
    assert_eq!((museum["rule"].as_str(), d["overlaySequence"].as_u64()), (Some("sold_out"), Some(4)));
    let (d, _) = decide(false, "2026-12-05T09:10:00Z");
    assert!(d.get("overlaySequence").is_none());
    // An unknown proposition is refused when the overlay is checked against its bundle.
    std::fs::write(dir.join("typo.json"), r#"{"bundle": "bank-nl-web", "propositions": {"rijksmusem": {"soldOut": true}}}"#).unwrap();
    let typo = run(&dir, &["overlay", "build", "typo.json", "--key", "k.key", "--out", "t.opa", "--issued-at", at, "--bundle", "c.opb", "--pub", "k.key.pub"]);
    assert!(stderr(&typo).starts_with("error[invalid_argument]: typo.json: propositions: 1 proposition not in bundle bank-nl-web v1: rijksmusem"), "{}", stderr(&typo));
    assert!(!dir.join("t.opa").exists());
    let source = run(&dir, &["overlay", "build", "typo.json", "--key", "k.key", "--out", "t.opa", "--ttl-minutes", "0"]);
    assert!(stderr(&source).starts_with("error[invalid_argument]"), "{}", stderr(&source));
}

#[test]
fn decide_needs_a_bundle_or_a_catalogue() {
    let dir = workdir("decide-needs");
    let out = run(&dir, &["decide", "--placement", "overview"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("one of --bundle (with --pub) and --catalogue is needed"), "{}", stderr(&out));
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let out = run(Path::new(ROOT), &["schema"]);
    let committed = std::fs::read_to_string(Path::new(ROOT).join("schema/catalogue.schema.json")).unwrap();
    assert_eq!(stdout(&out), committed);
}

#[test]
fn learn_writes_a_catalogue_with_a_higher_version() {
    let dir = workdir("learn");
    let line = |subject: &str, proposition: &str, event: &str, holdout: bool| {
        let position = if event == "withheld" { 0 } else { 1 };
        format!(
            "{{\"decisionId\":\"d-{subject}\",\"proposition\":\"{proposition}\",\"treatment\":\"a\",\"holdout\":{holdout},\"event\":\"{event}\",\"time\":\"2026-12-05T09:30:00Z\",\"bundle\":\"bank-nl-web\",\"bundleVersion\":1,\"placement\":\"overview\",\"position\":{position},\"selectionProbability\":1.0,\"subject\":\"{subject}\"}}\n"
        )
    };
    let conversion = |subject: &str| format!("{{\"subject\":\"{subject}\",\"proposition\":\"green-savings\",\"time\":\"2026-12-05T10:00:00Z\"}}\n");
    let (mut events, mut conversions) = (String::new(), String::new());
    for i in 0..50 {
        let s = format!("s{i}");
        events += &line(&s, "afloswijzer", "impression", false);
        events += &line(&s, "green-savings", "impression", false);
        if i % 5 == 0 {
            events += &line(&s, "afloswijzer", "click", false);
            events += &line(&s, "afloswijzer", "convert", false);
            events += &line(&s, "green-savings", "convert", false);
            conversions += &conversion(&s);
        }
    }
    for i in 0..40 {
        let h = format!("h{i}");
        events += &line(&h, "afloswijzer", "impression", true);
        events += &line(&h, "green-savings", "withheld", true);
        if i % 20 == 0 {
            conversions += &conversion(&h);
        }
    }
    std::fs::write(dir.join("events.jsonl"), events).unwrap();
    std::fs::write(dir.join("conversions.jsonl"), conversions).unwrap();
    let catalogue = Path::new(ROOT).join("www/catalogue.json");
    let catalogue = catalogue.to_str().unwrap();
    let learn = |extra: &[&str]| {
        let mut args = vec!["learn", "--catalogue", catalogue, "--out", "learned.json", "--now", "2026-12-06T00:00:00Z"];
        args.extend_from_slice(extra);
        run(&dir, &args)
    };
    let out = learn(&["--events", "events.jsonl", "--conversions", "conversions.jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("catalogue version 2 learned"), "{printed}");
    assert!(printed.contains("green-savings          treated 0.2000 (n=50) holdout 0.0500 (n=40) uplift +0.1500"), "{printed}");
    assert!(printed.contains("afloswijzer            no holdout evidence: the holdout group is shown it too"), "{printed}");
    assert!(printed.contains("mortgages                       50      10          10    0.2000"), "{printed}");
    let learned: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("learned.json")).unwrap()).unwrap();
    assert_eq!(learned["version"], 2);
    let afl = learned["propositions"].as_array().unwrap().iter().find(|p| p["id"] == "afloswijzer").unwrap();
    assert!(afl["treatments"][0]["beta"][0].as_f64().unwrap() > 10.0, "{afl}");
    // The learned catalogue builds.
    assert!(run(&dir, &["keygen", "--out", "k.key"]).status.success());
    let built = run(&dir, &["build", "learned.json", "--key", "k.key", "--out", "learned.opb"]);
    assert!(built.status.success(), "{}", stderr(&built));
    assert!(stdout(&built).contains("bank-nl-web v2"), "{}", stdout(&built));

    // Without the bank's conversions, no uplift is claimed.
    let out = learn(&["--events", "events.jsonl"]);
    assert!(stdout(&out).contains("green-savings          no holdout evidence: no server-side conversions were read"), "{}", stdout(&out));

    // The SQL, and counts made elsewhere (here the in-memory aggregation's, as JSON Lines).
    let sql = run(&dir, &["learn", "--print-sql", "--catalogue", catalogue]);
    assert!(sql.status.success() && stdout(&sql).contains("FROM distinct_events GROUP BY proposition, treatment, holdout, event"), "{}", stderr(&sql));
    let counts = opmaat::learn::aggregate(
        &opmaat::learn::parse_events(&std::fs::read_to_string(dir.join("events.jsonl")).unwrap(), "events.jsonl").unwrap(),
        &opmaat::learn::parse_conversions(&std::fs::read_to_string(dir.join("conversions.jsonl")).unwrap(), "c").unwrap(),
        &opmaat::bundle::compile::parse_catalogue(&std::fs::read_to_string(catalogue).unwrap()).unwrap(),
    );
    let text: String = counts.rows.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    std::fs::write(dir.join("counts.jsonl"), text).unwrap();
    let from_counts = learn(&["--counts", "counts.jsonl"]);
    assert!(from_counts.status.success(), "{}", stderr(&from_counts));
    assert_eq!(stdout(&from_counts), printed, "the same report from the counts");

    // Off-policy evaluation of the learned bundle against the log.
    let evaluated = learn(&["--events", "events.jsonl", "--evaluate", "learned.opb", "--pub", "k.key.pub"]);
    assert!(evaluated.status.success(), "{}", stderr(&evaluated));
    assert!(stdout(&evaluated).contains("off-policy evaluation of the candidate"), "{}", stdout(&evaluated));
    assert!(stdout(&evaluated).contains("afloswijzer                     50  0.2000"), "{}", stdout(&evaluated));

    std::fs::write(dir.join("bad.jsonl"), "{\"not\": \"an event\"}\n").unwrap();
    let bad = run(&dir, &["learn", "--events", "bad.jsonl", "--catalogue", catalogue, "--out", "x.json"]);
    assert!(stderr(&bad).starts_with("error[invalid_argument]: bad.jsonl: 1 bad row (nothing was learned):\nbad.jsonl:1: not a measurement event"), "{}", stderr(&bad));
}

#[test]
fn synth_writes_an_event_log_that_learn_reads() {
    let dir = workdir("synth-events");
    let catalogue = Path::new(ROOT).join("www/catalogue.json");
    let out = run(&dir, &["synth", "--events", "3000", "--catalogue", catalogue.to_str().unwrap(), "--out", "e.jsonl", "--conversions-out", "c.jsonl", "--days", "7"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("3000 events and "), "{}", stderr(&out));
    let events = std::fs::read_to_string(dir.join("e.jsonl")).unwrap();
    assert_eq!(events.lines().count(), 3000);
    let again = run(&dir, &["synth", "--events", "3000", "--catalogue", catalogue.to_str().unwrap(), "--out", "e2.jsonl", "--days", "7"]);
    assert!(again.status.success());
    assert_eq!(std::fs::read_to_string(dir.join("e2.jsonl")).unwrap(), events, "deterministic for a seed");
    let learned = run(&dir, &["learn", "--events", "e.jsonl", "--conversions", "c.jsonl", "--catalogue", catalogue.to_str().unwrap(), "--out", "l.json", "--engine", "memory"]);
    assert!(learned.status.success(), "{}", stderr(&learned));
}

/// A malformed timestamp anywhere is an `invalid_argument` error with its place, exit status 1,
/// never a panic (exit status 101): `0€` once split a multi-byte character.
#[test]
fn malformed_timestamps_are_errors_never_panics() {
    let dir = workdir("timestamps");
    assert!(run(&dir, &["keygen", "--out", "k.key"]).status.success());
    let catalogue = std::fs::read_to_string(Path::new(ROOT).join("www/catalogue.json")).unwrap();
    std::fs::write(dir.join("c.json"), &catalogue).unwrap();
    std::fs::write(dir.join("bad-valid.json"), catalogue.replacen("2026-11-01T00:00:00Z", "2026-11-01T00:00:0€Z", 1)).unwrap();
    assert!(run(&dir, &["build", "c.json", "--key", "k.key", "--out", "c.opb", "--issued-at", "2026-11-23T12:00:00Z"]).status.success());
    std::fs::write(dir.join("events.jsonl"), "").unwrap();
    std::fs::write(dir.join("profile.json"), r#"{"id": "abcdefghijklmnop", "issuedAt": "2026-12-05T09:30:0€Z"}"#).unwrap();
    let bad = "2026-12-05T09:30:0€Z";
    for args in [
        vec!["decide", "--catalogue", "c.json", "--placement", "homepage", "--now", bad],
        vec!["verify", "c.opb", "--pub", "k.key.pub", "--now", bad],
        vec!["build", "c.json", "--key", "k.key", "--out", "x.opb", "--issued-at", bad],
        vec!["build", "bad-valid.json", "--key", "k.key", "--out", "x.opb"],
        vec!["learn", "--catalogue", "c.json", "--events", "events.jsonl", "--out", "x.json", "--now", bad],
        vec!["decide", "--catalogue", "c.json", "--placement", "overview", "--profile", "profile.json", "--now", "2026-12-05T09:30:00Z"],
    ] {
        let out = run(&dir, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.starts_with("error[invalid_"), "{args:?}: {err}");
        assert!(err.contains("expected an RFC 3339 date-time"), "{args:?}: {err}");
    }
}
