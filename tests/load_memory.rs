//! The memory a bundle load takes, measured by counting every allocation, for the worst bundles
//! we can build: a signed bundle of the largest size whose condition pool is filled with the
//! cheapest-to-encode, dearest-to-decode entries of each kind. A trusted key may sign such a
//! bundle by mistake (or be stolen); the host must then refuse it, not allocate 30 times its
//! size. The bound: peak memory during a load ≤ 8 × the bundle's size + [`CONSTANT`].
//!
//! Run with `--nocapture` to see the table of figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use opmaat::bundle::envelope::seal_raw;
use opmaat::bundle::keys::SigningKey;
use opmaat::bundle::{compile::compile_json, load, LoadOptions, TrustedKeys};
use opmaat::condition::Pool;
use opmaat::limits::MAX_BUNDLE_BYTES;

/// Counts the bytes in use and the highest count since the last [`reset_peak`].
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                let now = IN_USE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes a load may take beyond 8 × the bundle's size.
const CONSTANT: usize = 4 << 20;
/// The bound's factor.
const FACTOR: usize = 8;
/// Room the envelope needs around the payload.
const ENVELOPE: usize = 18 + 64;

const NOW: i64 = 1_796_083_200; // 2026-12-01T00:00:00Z

/// postcard's unsigned varint.
fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A payload whose catalogue has no conditions, encoded without its (empty) pool: the pool is
/// the payload's last field, so any pool's bytes may follow.
fn payload_prefix() -> Vec<u8> {
    let catalogue = r#"{
      "catalogue": "hostile", "version": 1,
      "valid": { "from": "2026-01-01T00:00:00Z", "until": "2027-06-01T00:00:00Z" },
      "defaultLocale": "nl",
      "placements": [ { "id": "home", "channel": "web", "audience": "logged_off", "slots": 1 } ],
      "propositions": [ { "id": "p", "segment": "s", "kind": "service", "channels": ["web"],
        "value": { "bank": 1, "customer": 1 }, "propensity": { "default": 0.1 },
        "treatments": [ { "id": "a", "creative": { "nl": { "title": "t", "body": "b", "cta": "c", "href": "/x" } } } ] } ]
    }"#;
    let payload = compile_json(catalogue, NOW).expect("the hostile test's own catalogue compiles");
    assert!(payload.catalogue.conditions.is_empty());
    let mut bytes = postcard::to_allocvec(&payload).unwrap();
    let empty_pool = postcard::to_allocvec(&Pool::default()).unwrap();
    assert!(bytes.ends_with(&empty_pool));
    bytes.truncate(bytes.len() - empty_pool.len());
    bytes
}

/// The nine tables of a pool in order, each given as (count, encoded entries); absent ones are
/// empty.
fn pool(tables: &[(usize, u64, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for table in 0..9 {
        match tables.iter().find(|(t, _, _)| *t == table) {
            Some((_, count, entry)) => {
                varint(&mut out, *count);
                for _ in 0..*count {
                    out.extend_from_slice(entry);
                }
            }
            None => out.push(0),
        }
    }
    out
}

/// How many entries of `entry_len` bytes fill the room a bundle has left after `prefix`.
fn fill(prefix: &[u8], entry_len: usize) -> u64 {
    ((MAX_BUNDLE_BYTES - ENVELOPE - prefix.len() - 9 - 8) / entry_len) as u64
}

// Pool tables: 0 roots, 1 nodes, 2 lists, 3 paths, 4 strings, 5 sets, 6 patterns, 7 json,
// 8 json_items.
const ROOTS: usize = 0;
const NODES: usize = 1;
const LISTS: usize = 2;
const PATHS: usize = 3;
const STRINGS: usize = 4;
const SETS: usize = 5;
const PATTERNS: usize = 6;
const JSON: usize = 7;

#[test]
fn a_hostile_bundle_never_takes_more_than_eight_times_its_size() {
    let key = SigningKey::from_seed(&[7; 32]);
    let mut trusted = TrustedKeys::new();
    trusted.add(&key.public_key()).unwrap();
    let options = LoadOptions { trusted_keys: &trusted, now: NOW, min_version: None };
    let prefix = payload_prefix();

    // A regex-lite pattern whose short source expands a lot: variant 1, source, fold, required.
    let expanding = br"(?:\b[a-z]{50}){40}";
    let mut regex_entry = vec![1, expanding.len() as u8];
    regex_entry.extend_from_slice(expanding);
    regex_entry.extend_from_slice(&[0, 0]);
    let small = br"\bz";
    let mut small_regex = vec![1, small.len() as u8];
    small_regex.extend_from_slice(small);
    small_regex.extend_from_slice(&[0, 0]);
    // A path of seven empty segments; an empty value set; `Const(false)`.
    let seven_empty = [7u8, 0, 0, 0, 0, 0, 0, 0];

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("8 M empty paths", pool(&[(PATHS, fill(&prefix, 1), &[0])])),
        ("paths of 7 empty segments", pool(&[(PATHS, fill(&prefix, 8).min(1 << 20), &seven_empty)])),
        ("8 M empty strings", pool(&[(STRINGS, fill(&prefix, 1), &[0])])),
        ("1 M empty strings", pool(&[(STRINGS, 1 << 20, &[0])])),
        ("1 M Const nodes", pool(&[(NODES, 1 << 20, &[0, 0])])),
        ("1 M roots", pool(&[(ROOTS, 1 << 20, &[0])])),
        ("1 M list entries", pool(&[(LISTS, 1 << 20, &[0])])),
        ("1 M empty value sets", pool(&[(SETS, 1 << 20, &[0, 0, 0, 0, 0, 0])])),
        ("1 M JSON nulls", pool(&[(JSON, 1 << 20, &[0])])),
        ("1 M empty literal patterns", pool(&[(PATTERNS, 1 << 20, &[0, 0, 0, 0])])),
        ("expanding regexes", pool(&[(PATTERNS, fill(&prefix, regex_entry.len()).min(1 << 20), &regex_entry)])),
        ("small regexes", pool(&[(PATTERNS, fill(&prefix, small_regex.len()).min(1 << 20), &small_regex)])),
    ];

    let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/www/catalogue.json")).unwrap();
    let sample = postcard::to_allocvec(&compile_json(&json, NOW).unwrap()).unwrap();

    println!("{:<32} {:>10} {:>12} {:>7}  outcome", "bundle", "bytes", "peak", "ratio");
    let mut all = vec![("the sample catalogue", sample, true)];
    all.extend(cases.into_iter().map(|(name, pool_bytes)| {
        let mut payload = prefix.clone();
        payload.extend_from_slice(&pool_bytes);
        (name, payload, false)
    }));
    for (name, payload, must_load) in all {
        let Ok(bundle) = seal_raw(&payload, &key) else {
            panic!("{name}: the case does not fit in a bundle ({} bytes)", payload.len());
        };
        let base = IN_USE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let loaded = load(&bundle, &options);
        let outcome = match &loaded {
            Ok(_) => "loaded".to_string(),
            Err(e) => format!("refused: {}", e.code()),
        };
        assert!(!must_load || loaded.is_ok(), "{name}: {outcome}");
        drop(loaded);
        let peak = PEAK.load(Ordering::Relaxed) - base;
        let ratio = peak as f64 / bundle.len() as f64;
        println!("{name:<32} {:>10} {peak:>12} {ratio:>7.2}  {outcome}", bundle.len());
        assert!(
            peak <= FACTOR * bundle.len() + CONSTANT,
            "{name}: a load of {} bytes took {peak} bytes",
            bundle.len()
        );
    }
}
