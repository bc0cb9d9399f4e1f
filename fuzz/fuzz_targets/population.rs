//! Population files as `opmaat simulate` reads them: the input as a JSON Lines file and as a
//! `{"profiles", "contexts"}` file; every row that reads is simulated for two days on the sample
//! catalogue (a bad row is skipped with its reason, a bad file is an error; a panic is neither).
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use opmaat::simulate::{population, report, run, Arms, Options, ResponseModel, VisitModel};
use opmaat_fuzz::{sample_bundle, trusted, NOW};

fn arms() -> &'static Arms {
    static ARMS: OnceLock<Arms> = OnceLock::new();
    ARMS.get_or_init(|| Arms::new(sample_bundle(), trusted(), NOW, None).expect("the sample loads"))
}

fuzz_target!(|data: &[u8]| {
    let options = Options {
        seed: 1,
        days: 2,
        start: NOW - NOW.rem_euclid(86_400),
        visits: VisitModel { visits_per_day: 2.0, placements_per_visit: 2, placements: Vec::new(), contexts: Vec::new() },
        responses: ResponseModel { convert_after_click: 0.5, dismiss_rate: 0.5 },
        strict: false,
        decisions_per_year: None,
    };
    let dir = std::env::temp_dir().join(format!("opmaat-fuzz-population-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    for name in ["people.jsonl", "people.json"] {
        let path = dir.join(name);
        let Ok(mut file) = std::fs::File::create(&path) else { return };
        if file.write_all(data).is_err() {
            return;
        }
        drop(file);
        let Ok(population) = population::open(&path) else { continue };
        if let Ok(tallies) = run(population, name, arms(), &options, &|_| {}) {
            let report = report::report(arms(), &tallies, &options);
            assert_eq!(report.population.rows, report.population.customers + report.population.skipped);
            let _ = opmaat::simulate::html::render(&report);
        }
    }
});
