//! `opmaat`: the authoring CLI. Makes signing keys, compiles and signs catalogues into bundles,
//! verifies and inspects bundles, and prints the catalogue's JSON Schema.
//!
//! Every failure prints `error[<code>]: <message>` on stderr and exits with status 1; the code is
//! the same stable code the library and the Wasm package use.

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
use opmaat::time::{format_rfc3339, parse_rfc3339, Timestamp};
use opmaat::{Engine, Error, LoadOptions, Result};

#[derive(Parser)]
#[command(name = "opmaat", version, about = "Compile, sign and inspect opmaat proposition bundles")]
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
        bundle: String,
        /// Print the whole decoded payload as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the catalogue's JSON Schema.
    Schema,
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
    }
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
    let payload = envelope::decode(&bytes[HEADER_LEN..payload_end])?;
    if json {
        let text = serde_json::to_string_pretty(&payload).map_err(|e| Error::MalformedPayload { detail: e.to_string() })?;
        println!("{text}");
        return Ok(());
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
    println!("placements    {} ({})", c.placements.len(), c.placements.iter().map(|p| format!("{}: {} slots", p.id, p.slots)).collect::<Vec<_>>().join(", "));
    println!("segments      {}", c.segments.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", "));
    println!("channels      {}", c.channels.join(", "));
    println!("creatives     {creatives} ({compact} compact)");
    println!("conditions    {}", c.conditions.len());
    println!("size          {} bytes: header {HEADER_LEN}, payload {}, signature {SIGNATURE_LEN}{}", bytes.len(), header.payload_len,
        if trailing > 0 { format!(", {trailing} TRAILING") } else { String::new() });
    Ok(())
}
