//! What the fuzz targets share: a test signing key, the sample catalogue loaded as an engine,
//! and a fixed moment to decide at. Test data only: the key is derived from a fixed seed and
//! signs nothing but the fuzzer's own inputs.

use std::sync::OnceLock;

use opmaat::bundle::keys::{SigningKey, TrustedKeys};
use opmaat::{Context, DecideRequest, Engine, LoadOptions, Profile};

/// 2026-12-01T00:00:00Z, inside the sample catalogue's validity window.
pub const NOW: i64 = 1_796_083_200;

/// A development key for the fuzzer's own bundles and snapshots, never a real one.
pub fn test_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_seed(&[0x5a; SigningKey::SEED_LEN]))
}

/// The test key as the only trusted key.
pub fn trusted() -> &'static TrustedKeys {
    static TRUSTED: OnceLock<TrustedKeys> = OnceLock::new();
    TRUSTED.get_or_init(|| {
        let mut keys = TrustedKeys::new();
        keys.add(&test_key().public_key()).expect("the test key is a valid key");
        keys
    })
}

/// The sample catalogue (`www/catalogue.json`), compiled and signed with the test key.
pub fn sample_bundle() -> &'static [u8] {
    static BUNDLE: OnceLock<Vec<u8>> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let json = include_str!("../../www/catalogue.json");
        let payload = opmaat::bundle::compile::compile_json(json, NOW).expect("the sample compiles");
        opmaat::bundle::envelope::seal(&payload, test_key()).expect("the sample seals")
    })
}

/// The sample bundle, loaded.
pub fn sample_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let options = LoadOptions { trusted_keys: trusted(), now: NOW, min_version: None };
        Engine::load(sample_bundle(), &options).expect("the sample loads")
    })
}

/// A logged-in customer with every consent who is eligible for the sample's loyalty deal.
pub fn customer() -> &'static Profile {
    static CUSTOMER: OnceLock<Profile> = OnceLock::new();
    CUSTOMER.get_or_init(|| {
        let json = r#"{"id": "p-fuzz-01", "attributes": {"age": 30, "holdings": ["payment_account", "debit_card"]},
            "propensities": {"loyalty": 0.2}, "consent": {"personalisation": true, "marketing": true, "analytics": true}}"#;
        Profile::parse(json).expect("the customer parses")
    })
}

/// Decides every placement of `engine` for `profile` and `context`, with and without the trace,
/// and checks what must hold of any decision: the two agree on the slots.
pub fn decide_everywhere(engine: &Engine, profile: &Profile, context: &Context, ledger: Option<&opmaat::ledger::Ledger>, now: i64) {
    let placements: Vec<String> = engine.placement_ids().map(str::to_string).collect();
    for placement in &placements {
        let request = DecideRequest { placement, profile, context, ledger, now };
        let traced = engine.decide(&request);
        let fast = engine.decide_without_trace(&request);
        match (traced, fast) {
            (Ok(a), Ok(b)) => assert_eq!(a.slots, b.slots, "the trace changed the slots of {placement}"),
            (Err(a), Err(b)) => assert_eq!(a.code(), b.code()),
            (a, b) => panic!("with and without the trace disagree: {a:?} / {b:?}"),
        }
    }
}
