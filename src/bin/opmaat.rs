//! `opmaat`: the authoring CLI. Makes signing keys, compiles and signs catalogues into bundles,
//! verifies and inspects bundles, builds, verifies and inspects availability overlays, prints the
//! catalogue's JSON Schema, replays and explains decisions, signs profile snapshots, learns from
//! measurement and writes synthetic catalogues.
//!
//! Every failure prints `error[<code>]: <message>` on stderr and exits with status 1; the code is
//! the same stable code the library and the Wasm package use.

#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::string_slice, clippy::unwrap_used, clippy::expect_used)
)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use opmaat::bundle::compile::{compile_json, read_catalogue_file};
use opmaat::bundle::envelope::{read_header, seal, HEADER_LEN, SIGNATURE_LEN};
use opmaat::bundle::keys::{decode_public_key, KeyId, SigningKey, TrustedKeys};
use opmaat::bundle::model::{FormFactor, Kind};
use opmaat::bundle::{catalogue, envelope};
use opmaat::synthetic;
use opmaat::decide::{explain, Screen};
use opmaat::profile::signed;
use opmaat::ledger::Ledger;
use opmaat::time::{format_rfc3339, parse_rfc3339, Timestamp};
use opmaat::{Context, DecideRequest, Decision, Engine, Error, LoadOptions, Profile, ProfilePolicy, Result};

#[derive(Parser)]
#[command(name = "opmaat", version, about = "Compile, sign and inspect opmaat proposition bundles, and replay decisions")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a new Ed25519 signing key; prints its key id and base64 public key, and writes the
    /// public key to `<out>.pub` as well.
    Keygen {
        /// Where to write the private key file (created with mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Compile and sign a catalogue into a bundle.
    Build {
        /// The catalogue JSON.
        catalogue: String,
        /// The signing key file made by `opmaat keygen`.
        #[arg(long)]
        key: String,
        /// Where to write the bundle (.opb).
        #[arg(long)]
        out: PathBuf,
        /// Issue time (RFC 3339); defaults to now, or SOURCE_DATE_EPOCH when set.
        #[arg(long)]
        issued_at: Option<String>,
    },
    /// Verify a bundle's signature, validity window and contents.
    Verify {
        /// The bundle (.opb) to verify.
        bundle: String,
        /// A trusted public key: base64, or a file holding it (such as `<key>.pub` from
        /// `opmaat keygen`). Repeat for several keys.
        #[arg(long = "pub", required = true)]
        public_keys: Vec<String>,
        /// Check validity at this time (RFC 3339) instead of now.
        #[arg(long)]
        now: Option<String>,
        /// Refuse bundles older than this version.
        #[arg(long)]
        min_version: Option<u64>,
    },
    /// Show a bundle's header, validity, counts and sizes (without verifying its signature).
    Inspect {
        /// The bundle (.opb) to inspect.
        bundle: String,
        /// Print the whole decoded payload as JSON (times in RFC 3339, as everywhere else).
        #[arg(long)]
        json: bool,
    },
    /// Print the catalogue's JSON Schema.
    Schema,
    /// Decide what a placement shows for a profile and context, as a host would; prints the
    /// slots (or the whole decision with --json).
    Decide(DecideArgs),
    /// Replay a decision and print every proposition's fate as a table: its slot and priority
    /// parts, or the stage and rule that removed it (the whole decision with --json).
    Explain(DecideArgs),
    /// Sign a profile snapshot's exact bytes with a (bank) key: prints the signed form
    /// {"snapshot", "keyId", "signature"}.
    SignProfile {
        /// The profile snapshot JSON.
        profile: String,
        /// The signing key file made by `opmaat keygen`.
        #[arg(long)]
        key: String,
        /// Where to write the signed snapshot (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Learn from the collector's measurement events (and the bank's server-side conversions):
    /// new Beta parameters and default propensities (old evidence fading), uplift against the
    /// holdout group, version + 1; optionally evaluate a candidate bundle off-policy.
    Learn {
        /// The measurement events: JSON Lines (the collector's), or Parquet.
        #[arg(long, required_unless_present_any = ["counts", "print_sql"])]
        events: Option<PathBuf>,
        /// The bank's server-side conversions: JSON Lines or Parquet (see the README).
        #[arg(long)]
        conversions: Option<PathBuf>,
        /// Learn from counts the aggregation made elsewhere (the --print-sql query's result, as
        /// Parquet or JSON Lines) instead of from events.
        #[arg(long, conflicts_with_all = ["events", "conversions"])]
        counts: Option<PathBuf>,
        /// Print the aggregation's SQL for this catalogue (to run where the events are) and stop.
        #[arg(long)]
        print_sql: bool,
        /// The catalogue JSON to learn into.
        #[arg(long)]
        catalogue: String,
        /// Where to write the updated catalogue (needed unless --print-sql).
        #[arg(long, required_unless_present = "print_sql")]
        out: Option<PathBuf>,
        /// Estimate what this candidate bundle's treatments would have earned on the logged
        /// traffic (IPS and self-normalised IPS). Needs --pub.
        #[arg(long)]
        evaluate: Option<String>,
        /// A trusted public key for --evaluate: base64, or a file holding it.
        #[arg(long = "pub")]
        public_keys: Vec<String>,
        /// Where the aggregation runs: datafusion (built with the warehouse feature; the default
        /// there) or memory (JSON Lines only).
        #[arg(long, value_parser = ["memory", "datafusion"])]
        engine: Option<String>,
        /// DataFusion's memory limit in MiB (at least 256); beyond it the aggregation spills to disk.
        #[arg(long, default_value_t = 4096)]
        memory_limit_mb: usize,
        /// Measure event ages from this moment (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
        /// An event this many days old counts half.
        #[arg(long, default_value_t = opmaat::learn::Options::DEFAULT_HALF_LIFE_DAYS)]
        half_life_days: f64,
        /// Share of earlier runs' evidence kept.
        #[arg(long, default_value_t = opmaat::learn::Options::DEFAULT_DECAY)]
        decay: f64,
        /// Pseudo-impressions of the current default propensity.
        #[arg(long, default_value_t = opmaat::learn::Options::DEFAULT_PRIOR_STRENGTH)]
        prior_strength: f64,
    },
    /// Write a synthetic catalogue (for benchmarks and load tests), or with --events a synthetic
    /// event log of a catalogue.
    Synth {
        /// How many propositions.
        #[arg(long, required_unless_present_any = ["events", "people"])]
        propositions: Option<usize>,
        /// Seed: the same seed gives the same catalogue (or log).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where to write the catalogue JSON (default: standard output), or with --events the
        /// log: .parquet, or JSON Lines by any other name.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write this many synthetic customers, each with a context, to --people-out: a
        /// population for `opmaat simulate`.
        #[arg(long, requires = "people_out")]
        people: Option<u64>,
        /// Where to write the customers that --people asks for: `{"profiles", "contexts"}` JSON
        /// (.json), Parquet (.parquet) or JSON Lines (any other name).
        #[arg(long)]
        people_out: Option<PathBuf>,
        /// Write this many measurement events of --catalogue's decisions over synthetic
        /// customers, with responses from a behaviour model of known true rates.
        #[arg(long, requires_all = ["catalogue", "out"], conflicts_with = "propositions")]
        events: Option<u64>,
        /// The catalogue JSON whose decisions --events logs.
        #[arg(long)]
        catalogue: Option<String>,
        /// Where to write the log's server-side conversions (.parquet or JSON Lines).
        #[arg(long, requires = "events")]
        conversions_out: Option<PathBuf>,
        /// Days the log covers (customers visit on about half of them).
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// The log's first day (RFC 3339, midnight UTC); default 30 days before the catalogue's
        /// validity ends, or its start.
        #[arg(long)]
        start: Option<String>,
    },
    /// Run a catalogue over a population for days before it is published: share of voice,
    /// coverage per segment, service and sales balance, what the strategic knob costs, contact
    /// pressure and what the holdout group can measure, as a self-contained HTML report (--out)
    /// or JSON (--json).
    #[cfg(feature = "simulate")]
    Simulate(SimulateArgs),
    /// Availability overlays: live stock and pause states for a bundle's propositions, signed
    /// like bundles, valid for minutes to hours (build, verify, inspect).
    Overlay {
        #[command(subcommand)]
        command: OverlayCommand,
    },
}

#[derive(Subcommand)]
enum OverlayCommand {
    /// Sign an overlay source (JSON: bundle, sequence, propositions with available, soldOut,
    /// remaining or paused) into an overlay (.opa).
    Build {
        /// The overlay source JSON.
        source: String,
        /// The signing key file made by `opmaat keygen` (a key the hosts trust for bundles).
        #[arg(long)]
        key: String,
        /// Where to write the overlay (.opa).
        #[arg(long)]
        out: PathBuf,
        /// Issue time (RFC 3339); defaults to now. Also the default sequence, in Unix seconds.
        #[arg(long)]
        issued_at: Option<String>,
        /// How long the overlay is valid from its issue time when the source has no `valid`
        /// window (1 to 1440).
        #[arg(long, default_value_t = opmaat::bundle::overlay::DEFAULT_TTL_MINUTES)]
        ttl_minutes: i64,
        /// A bundle (.opb) to check the overlay against: its id, and that every proposition
        /// named is in it. Needs --pub.
        #[arg(long)]
        bundle: Option<String>,
        /// A trusted public key for --bundle: base64, or a file holding it. Repeat for several.
        #[arg(long = "pub")]
        public_keys: Vec<String>,
    },
    /// Verify an overlay's signature and window against the bundle it is for.
    Verify {
        /// The overlay (.opa) to verify.
        overlay: String,
        /// The bundle (.opb) it is for.
        #[arg(long)]
        bundle: String,
        /// A trusted public key: base64, or a file holding it. Repeat for several keys.
        #[arg(long = "pub", required = true)]
        public_keys: Vec<String>,
        /// Check validity at this time (RFC 3339) instead of now.
        #[arg(long)]
        now: Option<String>,
    },
    /// Show an overlay's header, window and entries (without verifying its signature).
    Inspect {
        /// The overlay (.opa) to inspect.
        overlay: String,
        /// Print the decoded payload as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What `simulate` runs.
#[cfg(feature = "simulate")]
#[derive(clap::Args)]
struct SimulateArgs {
    /// A signed bundle (.opb); needs --pub. One of --bundle and --catalogue is needed.
    #[arg(long, conflicts_with = "catalogue")]
    bundle: Option<String>,
    /// A trusted public key for --bundle and --baseline: base64, or a file holding it. Repeat
    /// for several.
    #[arg(long = "pub")]
    public_keys: Vec<String>,
    /// A catalogue JSON, compiled in memory.
    #[arg(long)]
    catalogue: Option<String>,
    /// The customers: Parquet, `{"profiles", "contexts"}` JSON (what `opmaat synth --people`
    /// writes) or JSON Lines of snapshots (or of {"profile", "context"}).
    #[arg(long)]
    population: PathBuf,
    /// Days to simulate.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// The first day (RFC 3339, midnight UTC); default the first midnight the bundle is valid.
    #[arg(long)]
    start: Option<String>,
    /// Seed: the same seed and population give the same report.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Mean visits per customer per day (Poisson).
    #[arg(long, default_value_t = 0.3)]
    visits_per_day: f64,
    /// Placements decided per visit, at most.
    #[arg(long, default_value_t = 2)]
    placements_per_visit: usize,
    /// The placements visits decide, comma-separated (default: every placement open to the
    /// customer).
    #[arg(long, value_delimiter = ',')]
    placements: Vec<String>,
    /// The context mix: a JSON file `[{"weight": 3, "context": {"page": "/sparen", …}}, …]`
    /// (default: each customer's own context from the population, else none).
    #[arg(long)]
    contexts: Option<String>,
    /// Chance that a click converts.
    #[arg(long, default_value_t = opmaat::simulate::ResponseModel::DEFAULT_CONVERT_AFTER_CLICK)]
    convert_after_click: f64,
    /// Chance that an impression not clicked is dismissed ("not interested").
    #[arg(long, default_value_t = opmaat::simulate::ResponseModel::DEFAULT_DISMISS_RATE)]
    dismiss_rate: f64,
    /// Decisions per year to state the knob's yearly cost at (default: the simulated traffic).
    #[arg(long)]
    decisions_per_year: Option<f64>,
    /// Compare with this catalogue on the same customers and seed: a bundle (.opb, verified
    /// with --pub) or a catalogue JSON.
    #[arg(long)]
    baseline: Option<String>,
    /// Where to write the HTML report.
    #[arg(long, required_unless_present = "json")]
    out: Option<PathBuf>,
    /// Print the report's figures as JSON on standard output.
    #[arg(long)]
    json: bool,
    /// Refuse the population at its first bad row (default: name it in the report and skip it).
    #[arg(long)]
    strict: bool,
}

/// What `decide` and `explain` decide from.
#[derive(clap::Args)]
struct DecideArgs {
    /// A signed bundle (.opb); needs --pub. One of --bundle and --catalogue is needed.
    #[arg(long, conflicts_with = "catalogue")]
    bundle: Option<String>,
    /// A trusted public key for --bundle: base64, or a file holding it. Repeat for several.
    #[arg(long = "pub")]
    public_keys: Vec<String>,
    /// A catalogue JSON, compiled in memory (for authors trying changes before building).
    #[arg(long)]
    catalogue: Option<String>,
    /// The placement to decide, such as `overview`.
    #[arg(long)]
    placement: String,
    /// The profile snapshot JSON, bare or signed (default: an anonymous visitor).
    #[arg(long)]
    profile: Option<String>,
    /// The bank's public key for signed snapshots: base64 or a file. Given, snapshots must be
    /// signed by one of these keys. Repeat for several.
    #[arg(long = "profile-pub")]
    profile_keys: Vec<String>,
    /// The context JSON ({"page", "topic", "locale", "formFactor", …}); the flags below
    /// override its fields.
    #[arg(long)]
    context: Option<String>,
    /// The page path, such as `/sparen` (the context's `page`).
    #[arg(long)]
    page: Option<String>,
    /// What the customer is reading about, such as `savings` (the context's `topic`).
    #[arg(long)]
    topic: Option<String>,
    /// The locale asked for, BCP 47, such as `en-GB` (default: the catalogue's).
    #[arg(long)]
    locale: Option<String>,
    /// `small` or `large`.
    #[arg(long)]
    form_factor: Option<String>,
    /// The moment to decide at (RFC 3339); default now. Pass it to replay a decision.
    #[arg(long)]
    now: Option<String>,
    /// A file holding the customer's ledger string (as kept in localStorage or the cookie), so
    /// that contact policies see the recorded responses. A bad ledger is reset with a warning.
    #[arg(long)]
    ledger: Option<String>,
    /// An availability overlay (.opa) for the bundle, applied at --now: replays a decision
    /// with the stock and pause states it had.
    #[arg(long)]
    overlay: Option<String>,
    /// Print the whole decision as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error[{}]: {e}", e.code());
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Keygen { out } => keygen(&out),
        Command::Build { catalogue, key, out, issued_at } => build(&catalogue, &key, &out, issued_at),
        Command::Verify { bundle, public_keys, now, min_version } => {
            verify(&bundle, &public_keys, now, min_version)
        }
        Command::Inspect { bundle, json } => inspect(&bundle, json),
        Command::Schema => {
            print!("{}", catalogue::schema_json());
            Ok(())
        }
        Command::Decide(args) => {
            let d = decision(&args)?;
            print_warnings(&d);
            if args.json {
                print_json(&d)
            } else {
                print_slots(&d);
                Ok(())
            }
        }
        Command::Explain(args) => {
            let d = decision(&args)?;
            print_warnings(&d);
            if args.json {
                print_json(&d)
            } else {
                print!("{}", explain::table(&d));
                Ok(())
            }
        }
        Command::SignProfile { profile, key, out } => sign_profile(&profile, &key, out.as_deref()),
        Command::Learn {
            events,
            conversions,
            counts,
            print_sql,
            catalogue,
            out,
            evaluate,
            public_keys,
            engine,
            memory_limit_mb,
            now: at,
            half_life_days,
            decay,
            prior_strength,
        } => {
            let now = match at {
                Some(text) => parse_rfc3339(&text, "--now")?,
                None => now(),
            };
            let mut parsed = opmaat::bundle::compile::parse_catalogue(&read_catalogue_file(&catalogue)?).map_err(|e| with_file(e, &catalogue))?;
            if print_sql {
                print!("{}", opmaat::learn::sql(&parsed));
                return Ok(());
            }
            let counts = match (&counts, &events) {
                (Some(path), _) => opmaat::learn::read_counts(path)?,
                (None, Some(path)) => opmaat::learn::counts_of_files(path, conversions.as_deref(), &parsed, aggregator(engine.as_deref(), memory_limit_mb)?)?,
                (None, None) => return Err(Error::argument("--events", "pass --events (or --counts)")),
            };
            let options = opmaat::learn::Options { now, half_life_days, decay, prior_strength };
            let report = opmaat::learn::learn(&mut parsed, &counts, &options)?;
            let out = out.ok_or_else(|| Error::argument("--out", "where should the learned catalogue go?"))?;
            let text = serde_json::to_string_pretty(&parsed).map_err(|e| Error::argument("learn", e))? + "\n";
            write_or_print(Some(&out), &text)?;
            print!("{}", opmaat::learn::table(&report));
            if let Some(candidate) = evaluate {
                if public_keys.is_empty() {
                    return Err(Error::argument("--pub", "the candidate bundle is verified before it is evaluated: pass its signing key's public key"));
                }
                let trusted = trusted_keys(&public_keys)?;
                let bundle = opmaat::bundle::load(&read_bundle(&candidate)?, &LoadOptions { trusted_keys: &trusted, now, min_version: None })?;
                let policy = opmaat::learn::evaluate::policy_of(&bundle.payload.catalogue);
                print!("\n{}", opmaat::learn::evaluate::table(&opmaat::learn::evaluate::evaluate(&counts, &policy)));
            }
            println!("\n{} written: build it into a bundle (version {}) to use what was learned", out.display(), report.version);
            Ok(())
        }
        Command::Overlay { command } => overlay_command(command),
        #[cfg(feature = "simulate")]
        Command::Simulate(args) => simulate(&args),
        Command::Synth { propositions, seed, out, people, people_out, events, catalogue, conversions_out, days, start } => {
            if let (Some(n), Some(path)) = (events, catalogue.as_deref()) {
                return synth_events(n, path, seed, days, start.as_deref(), out.as_deref(), conversions_out.as_deref());
            }
            if let (Some(n), Some(path)) = (people, people_out.as_deref()) {
                write_people(n, seed, path)?;
            }
            let Some(propositions) = propositions else { return Ok(()) }; // --people alone
            let c = synthetic::catalogue(propositions, seed);
            let text = serde_json::to_string_pretty(&c).map_err(|e| Error::argument("synth", e))? + "\n";
            write_or_print(out.as_deref(), &text)
        }
    }
}

/// A bundle verified with `keys` (a `.opb`) or a catalogue compiled and signed in memory, with
/// the keys it verifies with and the moment `at` (default: the first midnight it is valid).
#[cfg(feature = "simulate")]
fn simulated_bundle(path: &str, keys: &[String], at: Option<Timestamp>) -> Result<(Vec<u8>, TrustedKeys, Timestamp)> {
    let first_midnight = |from: Timestamp| from.div_euclid(opmaat::time::DAY) * opmaat::time::DAY + if from.rem_euclid(opmaat::time::DAY) == 0 { 0 } else { opmaat::time::DAY };
    if path.ends_with(".opb") {
        if keys.is_empty() {
            return Err(Error::argument("--pub", format!("{path}: a bundle is verified before it is used: pass the signing key's public key")));
        }
        let trusted = trusted_keys(keys)?;
        let bytes = read_bundle(path)?;
        let (_, body) = envelope::open(&bytes, &trusted)?;
        let payload: opmaat::bundle::Payload = envelope::decode(body)?;
        return Ok((bytes, trusted, at.unwrap_or_else(|| first_midnight(payload.not_before))));
    }
    let json = read_catalogue_file(path).map_err(|e| with_file(e, path))?;
    let authored = opmaat::bundle::compile::parse_catalogue(&json).map_err(|e| with_file(e, path))?;
    let from = parse_rfc3339(&authored.valid.from, "catalogue.valid.from")?;
    let at = at.unwrap_or_else(|| first_midnight(from));
    let payload = compile_json(&json, from).map_err(|e| with_file(e, path))?;
    let (bytes, trusted) = sealed_in_memory(&payload)?;
    Ok((bytes, trusted, at))
}

/// `opmaat simulate`.
#[cfg(feature = "simulate")]
fn simulate(args: &SimulateArgs) -> Result<()> {
    use opmaat::simulate::{self, population, Arms, Options, ResponseModel, VisitModel};
    let start = args.start.as_deref().map(|t| parse_rfc3339(t, "--start")).transpose()?;
    let source = match (&args.bundle, &args.catalogue) {
        (Some(b), _) => b,
        (None, Some(c)) => c,
        (None, None) => return Err(Error::argument("--bundle", "one of --bundle (with --pub) and --catalogue is needed: what should be simulated?")),
    };
    let (bundle, trusted, start) = simulated_bundle(source, &args.public_keys, start)?;
    // Loaded as valid at the first simulated moment; the days must fit its window (checked by
    // the simulation, which says so plainly).
    let load = |bytes: &[u8], trusted: &TrustedKeys| {
        let payload_window = envelope::open(bytes, trusted).and_then(|(_, body)| envelope::decode::<opmaat::bundle::Payload>(body)).map(|p| (p.not_before, p.expires_at))?;
        Ok::<_, Error>(start.clamp(payload_window.0, payload_window.1.saturating_sub(1)))
    };
    let now = load(&bundle, &trusted)?;
    let baseline = match args.baseline.as_deref() {
        Some(b) => {
            let (bytes, keys, _) = simulated_bundle(b, &args.public_keys, Some(start))?;
            let now = load(&bytes, &keys)?;
            Some(Engine::load(&bytes, &LoadOptions { trusted_keys: &keys, now, min_version: None })?)
        }
        None => None,
    };
    let contexts = match &args.contexts {
        None => Vec::new(),
        Some(path) => {
            let value: serde_json::Value = serde_json::from_str(&read_text(path)?).map_err(|e| Error::argument(path, format!("not JSON: {e}")))?;
            let items = value.as_array().ok_or_else(|| Error::argument(path, "expected an array of {\"weight\", \"context\"}"))?;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let weight = item.get("weight").map_or(Some(1.0), serde_json::Value::as_f64).ok_or_else(|| Error::argument(format!("{path}: [{i}].weight"), "expected a number"))?;
                    let context = item.get("context").cloned().ok_or_else(|| Error::argument(format!("{path}: [{i}]"), "expected {\"weight\", \"context\"}"))?;
                    Ok((weight, context))
                })
                .collect::<Result<Vec<_>>>()?
        }
    };
    let options = Options {
        seed: args.seed,
        days: args.days,
        start,
        visits: VisitModel { visits_per_day: args.visits_per_day, placements_per_visit: args.placements_per_visit, placements: args.placements.clone(), contexts },
        responses: ResponseModel { convert_after_click: args.convert_after_click, dismiss_rate: args.dismiss_rate },
        strict: args.strict,
        decisions_per_year: args.decisions_per_year,
    };
    let arms = Arms::new(&bundle, &trusted, now, baseline)?;
    let population_file = population::open(&args.population)?;
    let bar = indicatif::ProgressBar::with_draw_target(population_file.rows, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} [{wide_bar}] {human_pos}/{human_len} customers, {per_sec}, ETA {eta}") {
        bar.set_style(style);
    }
    let began = std::time::Instant::now();
    let tallies = simulate::run(population_file, &args.population.display().to_string(), &arms, &options, &|rows| bar.set_position(rows))?;
    bar.finish_and_clear();
    let seconds = began.elapsed().as_secs_f64();
    let report = simulate::report::report(&arms, &tallies, &options);
    if let Some(out) = &args.out {
        write_or_print(Some(out), &simulate::html::render(&report)?)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| Error::argument("report", e))?);
    }
    let runs = 2 + u64::from(arms.baseline.is_some());
    let decided = report.decisions.total + report.customer_centric.decisions + report.baseline.as_ref().map_or(0, |b| b.decisions.total);
    eprintln!(
        "{} customers ({} skipped) over {} days: {} decisions of {} version {} ({} runs: {:.0} decisions per second over {seconds:.1} s){}",
        report.population.customers,
        report.population.skipped,
        report.days,
        report.decisions.total,
        report.catalogue.id,
        report.catalogue.version,
        runs,
        decided as f64 / seconds.max(1e-9),
        args.out.as_ref().map_or_else(String::new, |o| format!("; report written to {}", o.display())),
    );
    Ok(())
}

/// `opmaat synth --people N --people-out FILE`: synthetic customers, each with a context, as
/// `{"profiles", "contexts"}` JSON, or (built with `simulate`) JSON Lines or Parquet by the
/// file's name, streamed.
fn write_people(n: u64, seed: u64, path: &Path) -> Result<()> {
    #[cfg(feature = "simulate")]
    {
        let entries = (0..n).map(|i| opmaat::simulate::population::Entry { profile: synthetic::profile(seed.wrapping_add(i)), context: Some(synthetic::context(seed.wrapping_add(i))) });
        opmaat::simulate::population::write(path, entries).map(|_| ())
    }
    #[cfg(not(feature = "simulate"))]
    {
        if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            return Err(Error::argument(path.display(), "JSON Lines and Parquet populations are written with `--features simulate`; or name the file .json"));
        }
        let people = serde_json::json!({
            "profiles": (0..n).map(|i| synthetic::profile(seed.wrapping_add(i))).collect::<Vec<_>>(),
            "contexts": (0..n).map(|i| synthetic::context(seed.wrapping_add(i))).collect::<Vec<_>>(),
        });
        write_or_print(Some(path), &(people.to_string() + "\n"))
    }
}

/// Where `learn` aggregates: DataFusion when built with it, unless told otherwise.
#[cfg_attr(not(feature = "warehouse"), allow(unused_variables))]
fn aggregator(engine: Option<&str>, memory_limit_mb: usize) -> Result<opmaat::learn::Aggregator> {
    #[cfg(feature = "warehouse")]
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    match engine {
        Some("memory") => Ok(opmaat::learn::Aggregator::Memory),
        #[cfg(feature = "warehouse")]
        Some("datafusion") | None => Ok(opmaat::learn::Aggregator::DataFusion(opmaat::learn::warehouse::Limits { memory_limit_mb, threads })),
        #[cfg(not(feature = "warehouse"))]
        Some("datafusion") => Err(Error::argument("--engine", "datafusion: this opmaat was built without it (`--features warehouse`)")),
        #[cfg(not(feature = "warehouse"))]
        None => Ok(opmaat::learn::Aggregator::Memory),
        Some(other) => Err(Error::argument("--engine", format!("{other:?}: memory or datafusion"))),
    }
}

/// `opmaat synth --events`: a synthetic log of a catalogue's decisions.
fn synth_events(n: u64, catalogue_path: &str, seed: u64, days: u32, start: Option<&str>, out: Option<&Path>, conversions_out: Option<&Path>) -> Result<()> {
    use opmaat::synthetic::events::{self, Setting};
    let out = out.ok_or_else(|| Error::argument("--out", "where should the events go?"))?;
    let json = read_catalogue_file(catalogue_path).map_err(|e| with_file(e, catalogue_path))?;
    let authored = opmaat::bundle::compile::parse_catalogue(&json).map_err(|e| with_file(e, catalogue_path))?;
    let products = authored.propositions.iter().filter_map(|p| Some((p.id.clone(), p.product.clone()?))).collect();
    let start = match start {
        Some(text) => parse_rfc3339(text, "--start")?,
        None => {
            let from = parse_rfc3339(&authored.valid.from, "catalogue.valid.from")?;
            let until = parse_rfc3339(&authored.valid.until, "catalogue.valid.until")?;
            (until - i64::from(days) * opmaat::time::DAY).max(from).div_euclid(opmaat::time::DAY) * opmaat::time::DAY
        }
    };
    let payload = compile_json(&json, start).map_err(|e| with_file(e, catalogue_path))?;
    let (bytes, trusted) = sealed_in_memory(&payload)?;
    let engine = Engine::load(&bytes, &LoadOptions { trusted_keys: &trusted, now: start, min_version: None })?;
    let setting = Setting { engine: &engine, products: &products, seed, days, start };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut sink = LogFiles::create(out, conversions_out)?;
    let (written, conversions) = events::write(&setting, n, threads, &mut sink)?;
    sink.finish()?;
    eprintln!("{written} events and {conversions} server-side conversions of {} over {days} days written to {}", authored.catalogue, out.display());
    Ok(())
}

/// Where `synth --events` writes: JSON Lines or Parquet files (the conversions may go nowhere).
struct LogFiles {
    events: LogFile<opmaat::measure::Measurement>,
    conversions: Option<LogFile<opmaat::learn::Conversion>>,
}

enum LogFile<T> {
    Lines(std::io::BufWriter<std::fs::File>, PathBuf),
    #[cfg(feature = "warehouse")]
    Parquet(Box<opmaat::learn::warehouse::ParquetSink<T>>),
    #[cfg(not(feature = "warehouse"))]
    #[allow(dead_code)]
    Never(std::marker::PhantomData<T>),
}

impl<T: serde::Serialize> LogFile<T> {
    fn create(path: &Path, parquet: impl FnOnce(&Path) -> Result<LogFile<T>>) -> Result<LogFile<T>> {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet")) {
            return parquet(path);
        }
        let file = std::fs::File::create(path).map_err(|e| io_error(path, e))?;
        Ok(LogFile::Lines(std::io::BufWriter::new(file), path.to_path_buf()))
    }

    fn push(&mut self, row: &T) -> Result<()>
    where
        T: Clone,
    {
        match self {
            LogFile::Lines(w, path) => {
                serde_json::to_writer(&mut *w, row).map_err(|e| Error::argument(path.display(), e))?;
                w.write_all(b"\n").map_err(|e| io_error(path, e))
            }
            #[cfg(feature = "warehouse")]
            LogFile::Parquet(sink) => sink.push(row.clone()),
            #[cfg(not(feature = "warehouse"))]
            LogFile::Never(_) => Ok(()),
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            LogFile::Lines(mut w, path) => w.flush().map_err(|e| io_error(&path, e)),
            #[cfg(feature = "warehouse")]
            LogFile::Parquet(sink) => sink.finish(),
            #[cfg(not(feature = "warehouse"))]
            LogFile::Never(_) => Ok(()),
        }
    }
}

#[cfg(feature = "warehouse")]
fn parquet_of<T>(make: fn(&Path) -> Result<opmaat::learn::warehouse::ParquetSink<T>>) -> impl FnOnce(&Path) -> Result<LogFile<T>> {
    move |path| make(path).map(|sink| LogFile::Parquet(Box::new(sink)))
}

#[cfg(not(feature = "warehouse"))]
fn no_parquet<T>(path: &Path) -> Result<LogFile<T>> {
    Err(Error::argument(path.display(), "Parquet is written with `--features warehouse`; or name the file .jsonl"))
}

impl LogFiles {
    fn create(events: &Path, conversions: Option<&Path>) -> Result<LogFiles> {
        #[cfg(feature = "warehouse")]
        let (e, c) = (parquet_of(opmaat::learn::warehouse::event_sink), parquet_of(opmaat::learn::warehouse::conversion_sink));
        #[cfg(not(feature = "warehouse"))]
        let (e, c) = (no_parquet, no_parquet);
        Ok(LogFiles { events: LogFile::create(events, e)?, conversions: conversions.map(|p| LogFile::create(p, c)).transpose()? })
    }

    fn finish(self) -> Result<()> {
        self.events.finish()?;
        self.conversions.map_or(Ok(()), LogFile::finish)
    }
}

impl opmaat::synthetic::events::Sink for LogFiles {
    fn event(&mut self, event: &opmaat::measure::Measurement) -> Result<()> {
        self.events.push(event)
    }

    fn conversion(&mut self, conversion: &opmaat::learn::Conversion) -> Result<()> {
        self.conversions.as_mut().map_or(Ok(()), |c| c.push(conversion))
    }
}

fn read_text(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| io_error(Path::new(path), e))
}

fn write_or_print(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(path) => std::fs::write(path, text).map_err(|e| io_error(path, e)),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Trusted keys from base64 strings or files holding them.
fn trusted_keys(given: &[String]) -> Result<TrustedKeys> {
    let mut trusted = TrustedKeys::new();
    for key in given {
        let text = std::fs::read_to_string(key).unwrap_or_else(|_| key.clone());
        trusted.add(&decode_public_key(&text)?)?;
    }
    Ok(trusted)
}

/// The engine `decide` and `explain` use: a verified bundle, or a catalogue compiled and
/// signed in memory with a throwaway key.
fn engine(args: &DecideArgs, now: Timestamp) -> Result<Engine> {
    let (bytes, trusted) = match (&args.bundle, &args.catalogue) {
        (Some(bundle), _) => {
            if args.public_keys.is_empty() {
                return Err(Error::argument("--pub", "a bundle is verified before it is used: pass the signing key's public key"));
            }
            (read_bundle(bundle)?, trusted_keys(&args.public_keys)?)
        }
        (None, Some(path)) => {
            let json = read_catalogue_file(path).map_err(|e| with_file(e, path))?;
            sealed_in_memory(&compile_json(&json, now).map_err(|e| with_file(e, path))?)?
        }
        (None, None) => {
            return Err(Error::argument("--bundle", "one of --bundle (with --pub) and --catalogue is needed: what should be decided from?"))
        }
    };
    let mut engine = Engine::load(&bytes, &LoadOptions { trusted_keys: &trusted, now, min_version: None })?;
    if let Some(path) = &args.overlay {
        if args.catalogue.is_some() {
            return Err(Error::argument("--overlay", "an overlay is signed for a bundle: pass --bundle (with --pub), not --catalogue"));
        }
        engine.apply_overlay(&read_bundle(path)?, now)?;
    }
    if !args.profile_keys.is_empty() {
        engine.set_profile_policy(ProfilePolicy { trusted_keys: trusted_keys(&args.profile_keys)?, require_signed: true });
    }
    Ok(engine)
}

fn decision(args: &DecideArgs) -> Result<Decision> {
    let now = match &args.now {
        Some(text) => parse_rfc3339(text, "--now")?,
        None => now(),
    };
    let engine = engine(args, now)?;
    let profile = match &args.profile {
        Some(path) => engine.parse_profile(&read_text(path)?)?,
        None => {
            let anonymous = Profile::anonymous();
            engine.profile_policy().admit(&anonymous)?;
            anonymous
        }
    };
    let mut context = match &args.context {
        Some(path) => Context::parse(&read_text(path)?)?,
        None => Context::default(),
    };
    for (field, value) in [(&mut context.page, &args.page), (&mut context.topic, &args.topic), (&mut context.locale, &args.locale)] {
        if value.is_some() {
            field.clone_from(value);
        }
    }
    match args.form_factor.as_deref() {
        None => {}
        Some("small") => context.screen = Screen::Small,
        Some("large") => context.screen = Screen::Large,
        Some(other) => return Err(Error::argument("--form-factor", format!("expected small or large, found {other:?}"))),
    }
    let (ledger, warning) = match &args.ledger {
        Some(path) => {
            let (ledger, warning) = Ledger::parse(read_text(path)?.trim(), engine.bundle_id());
            (Some(ledger), warning)
        }
        None => (None, None),
    };
    let mut decision = engine.decide(&DecideRequest { placement: &args.placement, profile: &profile, context: &context, ledger: ledger.as_ref(), now })?;
    decision.warnings.extend(warning.map(|w| w.code().to_string()));
    Ok(decision)
}

/// The problems that did not stop the decision, on stderr (they are in the JSON too).
fn print_warnings(d: &Decision) {
    for code in &d.warnings {
        let what = match code.as_str() {
            "ledger_corrupt" => "the ledger could not be read; decided as for a customer without one",
            "ledger_foreign" => "the ledger belongs to another catalogue; decided as for a customer without one",
            "ledger_version" => "the ledger is of a newer format; decided as for a customer without one",
            "overlay_expired" => "the availability overlay has expired; decided with the catalogue's own stock",
            "overlay_not_yet_valid" => "the availability overlay is not valid yet; decided with the catalogue's own stock",
            _ => "see the decision's warnings",
        };
        eprintln!("warning[{code}]: {what}");
    }
}

fn print_json(d: &Decision) -> Result<()> {
    let text = serde_json::to_string_pretty(d).map_err(|e| Error::argument("decision", e))?;
    println!("{text}");
    Ok(())
}

fn print_slots(d: &Decision) {
    println!(
        "decision {}: placement {} at {}, {} of {}",
        d.decision_id,
        d.placement.id,
        d.now,
        d.slots.len(),
        counted(u64::from(d.placement.slots), "slot")
    );
    for s in &d.slots {
        println!(
            "{}  {}  treatment {}  priority {:.3}{}  {:?}  token {}",
            s.position,
            s.proposition,
            s.treatment,
            s.priority,
            if s.fallback { " (fallback)" } else { "" },
            s.creative.title,
            s.token
        );
    }
}

fn sign_profile(profile: &str, key_path: &str, out: Option<&Path>) -> Result<()> {
    let key = SigningKey::from_file_text(&read_text(key_path)?, key_path)?;
    let bytes = std::fs::read(profile).map_err(|e| io_error(Path::new(profile), e))?;
    let signed = signed::sign(&bytes, &key)?;
    write_or_print(out, &signed)
}

/// A compiled catalogue signed with a throwaway key made here, and that key as the only one
/// trusted: for bundles that never leave this process.
fn sealed_in_memory(payload: &opmaat::bundle::Payload) -> Result<(Vec<u8>, TrustedKeys)> {
    let mut seed = [0u8; SigningKey::SEED_LEN];
    getrandom::fill(&mut seed).map_err(|e| io_error(Path::new("(system random source)"), e))?;
    let key = SigningKey::from_seed(&seed);
    let mut trusted = TrustedKeys::new();
    trusted.add(&key.public_key())?;
    Ok((seal(payload, &key)?, trusted))
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io { path: path.display().to_string(), message: e.to_string() }
}

fn keygen(out: &Path) -> Result<()> {
    let mut seed = [0u8; SigningKey::SEED_LEN];
    getrandom::fill(&mut seed).map_err(|e| io_error(Path::new("(system random source)"), e))?;
    let key = SigningKey::from_seed(&seed);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).map_err(|e| io_error(out, e))?;
    file.write_all(key.to_file_text().as_bytes()).map_err(|e| io_error(out, e))?;
    let public = PathBuf::from(format!("{}.pub", out.display()));
    std::fs::write(&public, format!("{}\n", key.public_key_base64())).map_err(|e| io_error(&public, e))?;
    println!("key id:     {}", key.key_id());
    println!("public key: {}", key.public_key_base64());
    eprintln!(
        "private key written to {} (mode 0600; keep it out of version control), public key to {}",
        out.display(),
        public.display()
    );
    Ok(())
}

fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as Timestamp)
        .unwrap_or(0)
}

fn build(catalogue_path: &str, key_path: &str, out: &Path, issued_at: Option<String>) -> Result<()> {
    let key_text = std::fs::read_to_string(key_path).map_err(|e| io_error(Path::new(key_path), e))?;
    let key = SigningKey::from_file_text(&key_text, key_path)?;
    let issued_at = match (issued_at, std::env::var("SOURCE_DATE_EPOCH")) {
        (Some(text), _) => parse_rfc3339(&text, "--issued-at")?,
        (None, Ok(epoch)) => epoch
            .parse()
            .map_err(|_| Error::argument("SOURCE_DATE_EPOCH", "expected whole seconds since 1970"))?,
        (None, Err(_)) => now(),
    };
    let json = read_catalogue_file(catalogue_path).map_err(|e| with_file(e, catalogue_path))?;
    let payload = compile_json(&json, issued_at).map_err(|e| with_file(e, catalogue_path))?;
    let bytes = seal(&payload, &key)?;
    refuse_unloadable(&bytes, &key, payload.not_before, catalogue_path)?;
    std::fs::write(out, &bytes).map_err(|e| io_error(out, e))?;
    println!(
        "{}: {} v{} signed by {}, {} propositions, {} placements, {} bytes",
        out.display(),
        payload.bundle_id,
        payload.version,
        key.key_id(),
        payload.catalogue.propositions.len(),
        payload.catalogue.placements.len(),
        bytes.len()
    );
    Ok(())
}

/// Loads a freshly signed bundle as a host would, so that a catalogue over a host's limits (its
/// memory budget, say) fails here, when it is built, and never on a customer's device.
fn refuse_unloadable(bytes: &[u8], key: &SigningKey, now: Timestamp, catalogue_path: &str) -> Result<()> {
    let mut trusted = TrustedKeys::new();
    trusted.add(&key.public_key())?;
    let options = LoadOptions { trusted_keys: &trusted, now, min_version: None };
    match opmaat::bundle::load(bytes, &options) {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::InvalidCatalogue {
            path: catalogue_path.to_string(),
            message: format!("the compiled bundle would be refused by every host: {e}"),
        }),
    }
}

/// Names the file in a catalogue error, so `path` reads `catalogue.json: propositions[3]…`.
fn with_file(e: Error, file: &str) -> Error {
    match e {
        Error::InvalidCatalogue { path, message } => Error::InvalidCatalogue { path: format!("{file}: {path}"), message },
        Error::InvalidCondition { path, message } => Error::InvalidCondition { path: format!("{file}: {path}"), message },
        other => other,
    }
}

fn read_bundle(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io_error(Path::new(path), e))
}

fn verify(path: &str, public_keys: &[String], now_text: Option<String>, min_version: Option<u64>) -> Result<()> {
    let mut trusted = TrustedKeys::new();
    for given in public_keys {
        let text = match std::fs::read_to_string(given) {
            Ok(file) => file,
            Err(_) => given.clone(),
        };
        trusted.add(&decode_public_key(&text)?)?;
    }
    let now = match now_text {
        Some(text) => parse_rfc3339(&text, "--now")?,
        None => now(),
    };
    let bytes = read_bundle(path)?;
    let engine = Engine::load(&bytes, &LoadOptions { trusted_keys: &trusted, now, min_version })?;
    println!(
        "{path}: OK — {} v{}, signed by {}, valid {} to {}, {} propositions",
        engine.bundle_id(),
        engine.version(),
        engine.key_id(),
        format_rfc3339(engine.not_before()),
        format_rfc3339(engine.expires_at()),
        engine.proposition_count()
    );
    Ok(())
}

fn inspect(path: &str, json: bool) -> Result<()> {
    let bytes = read_bundle(path)?;
    let header = read_header(&bytes)?;
    let payload_end = HEADER_LEN + header.payload_len as usize;
    if bytes.len() < payload_end + SIGNATURE_LEN {
        return Err(Error::MalformedPayload { detail: format!("truncated: {} bytes", bytes.len()) });
    }
    let body = bytes.get(HEADER_LEN..payload_end).ok_or_else(|| Error::MalformedPayload { detail: "truncated".into() })?;
    let payload: opmaat::bundle::Payload = envelope::decode(body)?;
    if json {
        return print_with_times(&payload);
    }
    let c = &payload.catalogue;
    let count = |kind: Kind| c.propositions.iter().filter(|p| p.kind == kind).count();
    let creatives: usize = c.propositions.iter().flat_map(|p| &p.treatments).map(|t| t.creatives.len()).sum();
    let compact = c
        .propositions
        .iter()
        .flat_map(|p| &p.treatments)
        .flat_map(|t| &t.creatives)
        .filter(|cr| cr.form == FormFactor::Compact)
        .count();
    let trailing = bytes.len() - payload_end - SIGNATURE_LEN;
    println!("bundle        {path}");
    println!("format        version {} (this build reads {})", header.format_version, envelope::FORMAT_VERSION);
    println!("signed by     key {} (signature not checked: use `opmaat verify`)", KeyId::to_string(&header.key_id));
    println!("catalogue     {} version {}", payload.bundle_id, payload.version);
    println!("issued at     {}", format_rfc3339(payload.issued_at));
    println!("valid         {} to {}", format_rfc3339(payload.not_before), format_rfc3339(payload.expires_at));
    println!("propositions  {} ({} sales, {} service, {} loyalty)", c.propositions.len(), count(Kind::Sales), count(Kind::Service), count(Kind::Loyalty));
    println!("placements    {} ({})", c.placements.len(), c.placements.iter().map(|p| format!("{}: {}", p.id, counted(u64::from(p.slots), "slot"))).collect::<Vec<_>>().join(", "));
    println!("segments      {}", c.segments.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", "));
    println!("channels      {}", c.channels.join(", "));
    println!("creatives     {creatives} ({compact} compact)");
    println!("conditions    {}", c.conditions.len());
    println!("size          {} bytes: header {HEADER_LEN}, payload {}, signature {SIGNATURE_LEN}{}", bytes.len(), header.payload_len,
        if trailing > 0 { format!(", {trailing} TRAILING") } else { String::new() });
    Ok(())
}

/// `n` and the noun, in the singular for one: "1 slot", "3 slots".
fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The fields of a bundle's or an overlay's payload that hold times (Unix seconds inside).
const TIME_FIELDS: &[&str] = &["issuedAt", "notBefore", "expiresAt", "validFrom", "validUntil"];

/// Prints a payload as JSON with its times in RFC 3339, as `inspect` prints them.
fn print_with_times(payload: &impl serde::Serialize) -> Result<()> {
    let mut value = serde_json::to_value(payload).map_err(|e| Error::MalformedPayload { detail: e.to_string() })?;
    times_as_rfc3339(&mut value);
    let text = serde_json::to_string_pretty(&value).map_err(|e| Error::MalformedPayload { detail: e.to_string() })?;
    println!("{text}");
    Ok(())
}

fn times_as_rfc3339(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v.as_i64() {
                    Some(seconds) if TIME_FIELDS.contains(&key.as_str()) => *v = format_rfc3339(seconds).into(),
                    _ => times_as_rfc3339(v),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(times_as_rfc3339),
        _ => {}
    }
}

fn overlay_command(command: OverlayCommand) -> Result<()> {
    use opmaat::bundle::overlay::{self, OVERLAY};
    match command {
        OverlayCommand::Build { source, key, out, issued_at, ttl_minutes, bundle, public_keys } => {
            let key = SigningKey::from_file_text(&read_text(&key)?, &key)?;
            let issued_at = match issued_at {
                Some(text) => parse_rfc3339(&text, "--issued-at")?,
                None => now(),
            };
            let parsed = overlay::parse_source(&read_text(&source)?).map_err(|e| with_file(e, &source))?;
            let payload = overlay::build(&parsed, issued_at, ttl_minutes).map_err(|e| with_file(e, &source))?;
            let bytes = envelope::seal_as(&OVERLAY, &payload, &key)?;
            if let Some(bundle) = bundle {
                if public_keys.is_empty() {
                    return Err(Error::argument("--pub", "the bundle is verified before the overlay is checked against it: pass its public key"));
                }
                let mut engine = Engine::load(&read_bundle(&bundle)?, &LoadOptions { trusted_keys: &trusted_keys(&public_keys)?, now: payload.not_before, min_version: None })?;
                let version = engine.version();
                let applied = engine.apply_overlay(&bytes, payload.not_before)?;
                if !applied.unknown.is_empty() {
                    return Err(Error::argument(
                        format!("{source}: propositions"),
                        format!("{} not in bundle {} v{}: {}", counted(applied.unknown.len() as u64, "proposition"), payload.bundle_id, version, applied.unknown.join(", ")),
                    ));
                }
            }
            std::fs::write(&out, &bytes).map_err(|e| io_error(&out, e))?;
            println!(
                "{}: availability overlay {} for {}, signed by {}, valid {} to {}, {}, {} bytes",
                out.display(),
                payload.sequence,
                payload.bundle_id,
                key.key_id(),
                format_rfc3339(payload.not_before),
                format_rfc3339(payload.expires_at),
                if payload.entries.len() == 1 { "1 entry".to_string() } else { format!("{} entries", payload.entries.len()) },
                bytes.len()
            );
            Ok(())
        }
        OverlayCommand::Verify { overlay, bundle, public_keys, now: at } => {
            let now = match at {
                Some(text) => parse_rfc3339(&text, "--now")?,
                None => now(),
            };
            let trusted = trusted_keys(&public_keys)?;
            // The bundle is checked at the overlay's time: an overlay may be checked for a
            // bundle whose window it falls in, whatever the clock says.
            let mut engine = Engine::load(&read_bundle(&bundle)?, &LoadOptions { trusted_keys: &trusted, now, min_version: None })?;
            let version = engine.version();
            let applied = engine.apply_overlay(&read_bundle(&overlay)?, now)?;
            let p = &applied.payload;
            println!(
                "{overlay}: OK — availability overlay {} for {} (v{} loaded), signed by {}, valid {} to {}, {} of its propositions named",
                p.sequence,
                p.bundle_id,
                version,
                KeyId::to_string(&applied.header.key_id),
                format_rfc3339(p.not_before),
                format_rfc3339(p.expires_at),
                applied.matched()
            );
            if !applied.unknown.is_empty() {
                eprintln!("warning: not in this bundle, ignored: {}", applied.unknown.join(", "));
            }
            Ok(())
        }
        OverlayCommand::Inspect { overlay, json } => {
            let bytes = read_bundle(&overlay)?;
            let header = envelope::read_header_of(&OVERLAY, &bytes)?;
            let payload_end = HEADER_LEN + header.payload_len as usize;
            let body = bytes
                .get(HEADER_LEN..payload_end)
                .filter(|_| bytes.len() >= payload_end + SIGNATURE_LEN)
                .ok_or_else(|| Error::MalformedPayload { detail: format!("truncated: {} bytes", bytes.len()) })?;
            let payload: overlay::OverlayPayload = envelope::decode(body)?;
            if json {
                return print_with_times(&payload);
            }
            println!("overlay       {overlay}");
            println!("format        version {} (this build reads {})", header.format_version, overlay::OVERLAY_FORMAT_VERSION);
            println!("signed by     key {} (signature not checked: use `opmaat overlay verify`)", KeyId::to_string(&header.key_id));
            println!("for bundle    {}", payload.bundle_id);
            println!("sequence      {}", payload.sequence);
            println!("issued at     {}", format_rfc3339(payload.issued_at));
            println!("valid         {} to {}", format_rfc3339(payload.not_before), format_rfc3339(payload.expires_at));
            for e in &payload.entries {
                let stock = match e.stock {
                    overlay::Stock::AsCatalogued => "stock as catalogued".to_string(),
                    overlay::Stock::Available => "available".to_string(),
                    overlay::Stock::SoldOut => "sold out".to_string(),
                    overlay::Stock::Remaining(n) => format!("{n} left"),
                };
                let paused = e.paused.as_deref().map(|r| format!(", PAUSED: {r}")).unwrap_or_default();
                println!("  {:<24} {stock}{paused}", e.proposition);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command, subcommand and flag of the CLI, with the help text `--help` prints for it.
    fn help_texts(command: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            let at = format!("{path} {}", sub.get_name());
            out.push((at.clone(), sub.get_about().map(|a| a.to_string()).unwrap_or_default()));
            for arg in sub.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
                out.push((format!("{at} {}", arg.get_id()), arg.get_help().map(|h| h.to_string()).unwrap_or_default()));
            }
            help_texts(sub, &at, out);
        }
    }

    #[test]
    fn every_command_and_flag_says_what_it_is_for() {
        let mut texts = Vec::new();
        help_texts(&Cli::command(), "opmaat", &mut texts);
        let empty: Vec<&str> = texts.iter().filter(|(_, help)| help.trim().is_empty()).map(|(at, _)| at.as_str()).collect();
        assert!(empty.is_empty(), "no help text: {empty:?}");
        assert!(texts.len() > 60, "{} help texts: the walk missed commands", texts.len());
        Cli::command().debug_assert();
    }

    #[test]
    fn each_command_has_its_own_description() {
        let cli = Cli::command();
        let about = |name: &str| cli.find_subcommand(name).and_then(|c| c.get_about()).map(|a| a.to_string()).unwrap_or_default();
        assert!(about("learn").starts_with("Learn from"), "{}", about("learn"));
        assert!(about("synth").starts_with("Write a synthetic catalogue"), "{}", about("synth"));
        assert!(about("overlay").starts_with("Availability overlays"), "{}", about("overlay"));
    }

    #[test]
    fn counts_read_as_english() {
        assert_eq!(counted(1, "slot"), "1 slot");
        assert_eq!(counted(3, "slot"), "3 slots");
        assert_eq!(counted(0, "slot"), "0 slots");
    }

    #[test]
    fn payload_times_print_in_rfc3339() {
        let mut value = serde_json::json!({"issuedAt": 0, "catalogue": {"propositions": [{"validFrom": 86400, "validUntil": null, "lever": 5}]}});
        times_as_rfc3339(&mut value);
        assert_eq!(value["issuedAt"], "1970-01-01T00:00:00Z");
        assert_eq!(value["catalogue"]["propositions"][0]["validFrom"], "1970-01-02T00:00:00Z");
        assert_eq!(value["catalogue"]["propositions"][0]["lever"], 5);
    }
}
