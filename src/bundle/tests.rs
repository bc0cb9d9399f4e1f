//! Tests of the bundle life cycle: compile, seal, load, and every way loading refuses a bundle.

use super::compile::{compile_json, read_catalogue_file};
use super::envelope::{seal, seal_raw, HEADER_LEN, SIGNATURE_LEN};
use super::keys::SigningKey;
use crate::limits::{MAX_BUNDLE_BYTES, MAX_ID_BYTES, MAX_PLACEMENTS};
use super::{load, Bundle, LoadOptions, Payload, TrustedKeys};
use crate::time::parse_rfc3339;
use crate::{Error, Result};
use serde_json::{json, Value};

pub(crate) use super::keys::dev_key;

pub(crate) fn sample_payload() -> Payload {
    let json = read_catalogue_file(concat!(env!("CARGO_MANIFEST_DIR"), "/www/catalogue.json")).unwrap();
    compile_json(&json, at("2026-11-23T12:00:00Z")).unwrap()
}

fn at(text: &str) -> i64 {
    parse_rfc3339(text, "test").unwrap()
}

fn trusting(keys: &[&SigningKey]) -> TrustedKeys {
    let mut trusted = TrustedKeys::new();
    for key in keys {
        trusted.add(&key.public_key()).unwrap();
    }
    trusted
}

fn open(bytes: &[u8], trusted: &TrustedKeys, now: &str, min_version: Option<u64>) -> Result<Bundle> {
    load(bytes, &LoadOptions { trusted_keys: trusted, now: at(now), min_version })
}

const NOW: &str = "2026-12-05T09:30:00Z";

fn code<T>(r: Result<T>) -> &'static str {
    failure(r).code()
}

/// The error of a result that must fail (without printing a whole payload when it does not).
fn failure<T>(r: Result<T>) -> Error {
    match r {
        Ok(_) => panic!("expected an error, got a success"),
        Err(e) => e,
    }
}

#[test]
fn round_trip() {
    let key = dev_key(1);
    let payload = sample_payload();
    let bytes = seal(&payload, &key).unwrap();
    let bundle = open(&bytes, &trusting(&[&key]), NOW, None).unwrap();
    // The pool moves into the prepared conditions; everything else is the payload as sealed.
    let mut expected = payload.clone();
    let pool = std::mem::take(&mut expected.catalogue.conditions);
    assert_eq!(bundle.payload, expected);
    assert_eq!(bundle.conditions.pool, pool);
    assert_eq!(bundle.header.key_id, key.key_id());
    assert_eq!(bundle.size, bytes.len());
    assert_eq!(bundle.payload.catalogue.propositions.len(), 11);
    assert_eq!(bundle.payload.catalogue.placements.len(), 4);
    // Sealing is deterministic: the same catalogue and key give the same bytes.
    assert_eq!(seal(&payload, &key).unwrap(), bytes);
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let key = dev_key(1);
    let bytes = seal(&sample_payload(), &key).unwrap();
    let trusted = trusting(&[&key]);
    let mut flipped = bytes.clone();
    for bit in 0..bytes.len() * 8 {
        let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
        flipped[byte] ^= mask;
        let code = code(open(&flipped, &trusted, NOW, None));
        let expected: &[&str] = match byte {
            0..=3 => &["bad_magic"],
            4..=5 => &["unsupported_format_version"],
            6..=13 => &["unknown_key"],
            14..=17 => &["trailing_bytes", "malformed_payload", "too_large"],
            _ => &["bad_signature"],
        };
        assert!(expected.contains(&code), "bit {bit} (byte {byte}) gave {code}");
        flipped[byte] ^= mask;
    }
    assert_eq!(flipped, bytes);
}

#[test]
fn trailing_and_missing_bytes_are_rejected() {
    let key = dev_key(1);
    let trusted = trusting(&[&key]);
    let mut bytes = seal(&sample_payload(), &key).unwrap();
    bytes.push(0);
    let err = failure(open(&bytes, &trusted, NOW, None));
    assert_eq!(err, Error::TrailingBytes { count: 1, after: "signature".into() });
    bytes.truncate(bytes.len() - 2);
    assert_eq!(code(open(&bytes, &trusted, NOW, None)), "malformed_payload");
    assert_eq!(code(open(&bytes[..10], &trusted, NOW, None)), "malformed_payload");
    assert_eq!(code(open(&[], &trusted, NOW, None)), "malformed_payload");

    // A signed payload followed by bytes of its own: signed, but still refused.
    let mut body = postcard::to_allocvec(&sample_payload()).unwrap();
    body.extend_from_slice(&[1, 2, 3]);
    let sealed = seal_raw(&body, &key).unwrap();
    let err = failure(open(&sealed, &trusted, NOW, None));
    assert_eq!(err, Error::TrailingBytes { count: 3, after: "payload".into() });
}

#[test]
fn signed_garbage_is_malformed_not_a_panic() {
    let key = dev_key(1);
    let trusted = trusting(&[&key]);
    for body in [&b""[..], b"\x00", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", &[7u8; 300]] {
        let sealed = seal_raw(body, &key).unwrap();
        assert_eq!(code(open(&sealed, &trusted, NOW, None)), "malformed_payload");
    }
    // Well-formed postcard whose indices point outside their tables.
    let mut payload = sample_payload();
    payload.catalogue.propositions[0].segment = 999;
    let sealed = seal(&payload, &key).unwrap();
    let err = failure(open(&sealed, &trusted, NOW, None));
    assert!(err.to_string().contains("propositions[0] names segment 999"), "{err}");
}

#[test]
fn key_rotation() {
    let (old, new) = (dev_key(1), dev_key(2));
    let payload = sample_payload();
    let by_old = seal(&payload, &old).unwrap();
    let by_new = seal(&payload, &new).unwrap();
    let both = trusting(&[&old, &new]);
    assert!(open(&by_old, &both, NOW, None).is_ok());
    assert!(open(&by_new, &both, NOW, None).is_ok());
    let only_new = trusting(&[&new]);
    let err = failure(open(&by_old, &only_new, NOW, None));
    assert_eq!(err.code(), "unknown_key");
    assert!(err.to_string().contains(&old.key_id().to_string()), "{err}");
    assert_eq!(code(open(&by_new, &TrustedKeys::new(), NOW, None)), "unknown_key");

    // The right key id with another key's signature.
    let mut forged = by_new.clone();
    forged[6..14].copy_from_slice(&old.key_id().0);
    assert_eq!(code(open(&forged, &both, NOW, None)), "bad_signature");
}

#[test]
fn rollback_is_refused() {
    let key = dev_key(1);
    let trusted = trusting(&[&key]);
    let mut payload = sample_payload();
    payload.version = 41;
    let bytes = seal(&payload, &key).unwrap();
    assert!(open(&bytes, &trusted, NOW, Some(41)).is_ok());
    assert!(open(&bytes, &trusted, NOW, Some(40)).is_ok());
    assert_eq!(
        failure(open(&bytes, &trusted, NOW, Some(42))),
        Error::Rollback { what: "bundle", version: 41, min_version: 42 }
    );
}

#[test]
fn validity_window_edges() {
    let key = dev_key(1);
    let trusted = trusting(&[&key]);
    let bytes = seal(&sample_payload(), &key).unwrap();
    assert_eq!(code(open(&bytes, &trusted, "2026-10-31T23:59:59Z", None)), "not_yet_valid");
    assert!(open(&bytes, &trusted, "2026-11-01T00:00:00Z", None).is_ok());
    assert!(open(&bytes, &trusted, "2027-05-31T23:59:59Z", None).is_ok());
    let err = failure(open(&bytes, &trusted, "2027-06-01T00:00:00Z", None));
    assert_eq!(err.to_string(), "bundle expired at 2027-06-01T00:00:00Z (now is 2027-06-01T00:00:00Z)");
}

#[test]
fn limits_are_enforced_before_allocating() {
    let key = dev_key(1);
    let trusted = trusting(&[&key]);
    let mut huge = vec![0u8; MAX_BUNDLE_BYTES + 1];
    huge[..4].copy_from_slice(b"OPMB");
    assert_eq!(code(open(&huge, &trusted, NOW, None)), "too_large");

    // A header announcing more payload than any bundle may carry.
    let mut bytes = seal(&sample_payload(), &key).unwrap();
    bytes[14..18].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(code(open(&bytes, &trusted, NOW, None)), "too_large");

    // Too many placements, and too long an id, inside a validly signed payload.
    let mut payload = sample_payload();
    let placement = payload.catalogue.placements[0].clone();
    payload.catalogue.placements = vec![placement; MAX_PLACEMENTS + 1];
    let err = failure(open(&seal(&payload, &key).unwrap(), &trusted, NOW, None));
    assert_eq!(err, Error::too_large("a list in the bundle", MAX_PLACEMENTS as u64, MAX_PLACEMENTS as u64 + 1));
    let mut payload = sample_payload();
    payload.catalogue.propositions[3].id = "x".repeat(MAX_ID_BYTES + 1);
    let err = failure(open(&seal(&payload, &key).unwrap(), &trusted, NOW, None));
    assert_eq!(err.code(), "too_large", "{err}");

    // A length prefix claiming four billion placements, more than the bytes that follow could
    // hold: malformed, and nothing is allocated for the claim.
    let mut body = postcard::to_allocvec(&sample_payload()).unwrap();
    let mut forged = Vec::new();
    let placements_prefix = postcard::to_allocvec(&sample_payload().catalogue.placements).unwrap();
    let at_placements = find(&body, &placements_prefix).expect("placements are encoded in the payload");
    forged.extend_from_slice(&body[..at_placements]);
    forged.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    forged.extend_from_slice(&body[at_placements + 1..]);
    body = forged;
    let err = failure(open(&seal_raw(&body, &key).unwrap(), &trusted, NOW, None));
    assert_eq!(err.code(), "malformed_payload", "{err}");
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn envelope_header_fields() {
    let key = dev_key(3);
    let bytes = seal(&sample_payload(), &key).unwrap();
    let header = super::envelope::read_header(&bytes).unwrap();
    assert_eq!(header.format_version, 2);
    assert_eq!(header.key_id, key.key_id());
    assert_eq!(header.payload_len as usize, bytes.len() - HEADER_LEN - SIGNATURE_LEN);
    let mut v3 = bytes.clone();
    v3[4] = 3;
    assert_eq!(
        failure(super::envelope::read_header(&v3)),
        Error::UnsupportedFormatVersion { what: "bundle", found: 3, supported: 2 }
    );
    assert_eq!(code(super::envelope::read_header(b"PK\x03\x04 a zip file")), "bad_magic");
}

#[test]
fn every_error_code_is_reached() {
    let key = dev_key(1);
    let trusted = trusting(&[&key]);
    let bytes = seal(&sample_payload(), &key).unwrap();
    let flip = |i: usize| {
        let mut b = bytes.clone();
        b[i] ^= 1;
        code(open(&b, &trusted, NOW, None))
    };
    let mut reached = vec![flip(0), flip(4), flip(6), flip(bytes.len() - 1)];
    reached.push(code(open(&bytes, &trusted, "2020-01-01T00:00:00Z", None)));
    reached.push(code(open(&bytes, &trusted, "2030-01-01T00:00:00Z", None)));
    reached.push(code(open(&bytes, &trusted, NOW, Some(u64::MAX))));
    reached.push(code(open(&vec![b'O'; MAX_BUNDLE_BYTES + 1], &trusted, NOW, None)));
    reached.push(code(open(&[bytes.clone(), vec![0]].concat(), &trusted, NOW, None)));
    reached.push(code(open(&seal_raw(b"", &key).unwrap(), &trusted, NOW, None)));
    reached.push(code(TrustedKeys::new().add(&[0; 32])));
    reached.push(code(compile_json("{}", 0)));
    reached.push(code(compile_json(&catalogue_with(r#""eligibility": {"age": {"$gte": []}}"#), 0)));
    reached.push(code(parse_rfc3339("yesterday", "now")));
    reached.push(code(read_catalogue_file("/nonexistent/catalogue.json")));
    // Profile snapshots and decisions.
    use crate::{Context, DecideRequest, Profile, ProfilePolicy};
    reached.push(code(Profile::parse("[]")));
    reached.push(code(Profile::parse(r#"{"attributes": {"email": "x"}}"#)));
    let engine = crate::Engine::load(&bytes, &LoadOptions { trusted_keys: &trusted, now: at(NOW), min_version: None }).unwrap();
    let stale = Profile::parse(r#"{"expiresAt": "2026-12-01T00:00:00Z"}"#).unwrap();
    let context = Context::default();
    reached.push(code(engine.decide(&DecideRequest { placement: "overview", profile: &stale, context: &context, ledger: None, now: at(NOW) })));
    let strict = ProfilePolicy { trusted_keys: trusted.clone(), require_signed: true };
    reached.push(code(strict.parse("{}")));
    reached.push(code(strict.parse(&crate::profile::signed::sign(b"{}", &dev_key(2)).unwrap())));
    // An availability overlay for another catalogue.
    let mut engine = engine;
    let source = super::overlay::parse_source(r#"{"bundle": "another", "propositions": {"x": {"soldOut": true}}}"#).unwrap();
    let overlay = super::envelope::seal_as(&super::overlay::OVERLAY, &super::overlay::build(&source, at(NOW), 60).unwrap(), &key).unwrap();
    reached.push(code(engine.apply_overlay(&overlay, at(NOW))));
    for c in Error::CODES {
        assert!(reached.contains(c), "no test reaches error code {c}");
    }
}

/// The sample catalogue with extra fields spliced into its first proposition.
fn catalogue_with(fields: &str) -> String {
    let json = read_catalogue_file(concat!(env!("CARGO_MANIFEST_DIR"), "/www/catalogue.json")).unwrap();
    json.replacen("\"id\": \"spaar-spektakel\",", &format!("\"id\": \"spaar-spektakel\", {fields},"), 1)
        .replacen("\"eligibility\": {\n        \"age\": {\n          \"$gte\": 18\n        }\n      },", "", 1)
}

#[test]
fn catalogue_errors_carry_a_json_path() {
    let cases = [
        (r#""value": {"bank": "lots", "customer": 1}"#, "propositions[0].value.bank", "invalid type"),
        (r#""typo": 1"#, "propositions[0].typo", "unknown field"),
        (r#""fallback": "yes""#, "propositions[0].fallback", "expected a boolean"),
        (r#""eligibility": {"age": {"$gte": []}}"#, "propositions[0].eligibility.age.$gte", ""),
        (r#""eligibility": {"age": {"$bogus": 1}}"#, "propositions[0].eligibility.age", "$bogus"),
        (r#""eligibility": {"$where": "this.age >= 18"}"#, "propositions[0].eligibility.$where", "unknown operator"),
        (r#""suitability": {"age": 1, "$expr": {"$gte": ["$age", 18]}}"#, "propositions[0].suitability.$expr", "unknown operator"),
    ];
    for (fields, path, message) in cases {
        let err = failure(compile_json(&catalogue_with(fields), 0));
        if path.contains('$') {
            assert_eq!(err.code(), "invalid_condition", "{fields}: {err}");
        }
        assert!(err.to_string().starts_with(path), "{fields}: {err}");
        assert!(err.to_string().contains(message), "{fields}: {err}");
    }
    let json = read_catalogue_file(concat!(env!("CARGO_MANIFEST_DIR"), "/www/catalogue.json")).unwrap();
    let semantic = [
        ("\"slots\": 3", "\"slots\": 0", "placements[0].slots: expected 1 to 12 slots"),
        ("\"minService\": 1", "\"minService\": 9", "placements[0].minService: cannot exceed slots (3)"),
        ("\"id\": \"afloswijzer\"", "\"id\": \"spaar-spektakel\"", "propositions[1].id: duplicate id \"spaar-spektakel\""),
        ("\"href\": \"https://www.example-bank.nl/app\"", "\"href\": \"https://evil.example/app\"", "propositions[9].treatments[0].creative.nl.href: host \"evil.example\" is not in allowedLinkHosts"),
        ("\"href\": \"/contact\"", "\"href\": \"javascript:alert(1)\"", "propositions[8].treatments[0].creative.nl.href: only https: links and relative ones are allowed"),
        ("\"default\": 0.5", "\"default\": 1.5", "propositions[10].propensity.default: expected a probability from 0 to 1"),
        ("\"until\": \"2027-06-01T00:00:00Z\"", "\"until\": \"2026-06-01T00:00:00Z\"", "valid.until: must be after valid.from"),
        ("\"from\": \"2026-11-01T00:00:00Z\"", "\"from\": \"1 November\"", "valid.from: expected an RFC 3339 date-time"),
        ("\"savings\": 20", "\"savngs\": 20", "arbitration.strategic.segments.savngs: no proposition has this segment"),
        ("\"fallback\": true", "\"fallback\": true, \"segment\": \"x\"", "propositions[5]: duplicate field `segment`"),
        ("\"impressions\": 5", "\"impressions\": 17", "contactPolicies.caps[0].impressions: at most 16: the ledger remembers"),
        ("\"defaultLocale\": \"nl\"", "\"defaultLocale\": \"de\"", "propositions[0].treatments[0].creative: expected a creative for the default locale \"de\""),
    ];
    for (from, to, expected) in semantic {
        assert!(json.contains(from), "sample catalogue lacks {from}");
        let err = failure(compile_json(&json.replacen(from, to, 1), 0));
        assert!(err.to_string().starts_with(expected), "{to}: got {err}");
    }
    let err = failure(compile_json("{\"catalogue\": ", 0));
    assert_eq!(err.code(), "invalid_catalogue");
    assert!(err.to_string().contains("line 1"), "{err}");
}

/// The sample catalogue as a JSON value, to change one field of.
fn sample_value() -> Value {
    let json = read_catalogue_file(concat!(env!("CARGO_MANIFEST_DIR"), "/www/catalogue.json")).unwrap();
    serde_json::from_str(&json).unwrap()
}

/// The error of compiling a changed sample catalogue, which must fail.
fn compile_error(catalogue: &Value) -> String {
    failure(compile_json(&catalogue.to_string(), 0)).to_string()
}

/// Links that leave the site (or may, for some reader) and the start of their error.
const HOSTILE_LINKS: &[(&str, &str)] = &[
    ("/\\evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("/\t/evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("/\n/evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("//evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("\\\\evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("\\/evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("///evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    (" //evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("\u{1}//evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("https:evil.example", "host \"evil.example\" is not in allowedLinkHosts"),
    ("https:/evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("https:\\\\evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("https:///evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("HTTPS://EVIL.EXAMPLE/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("ht\ttps://evil.example/x", "host \"evil.example\" is not in allowedLinkHosts"),
    ("https://evil.example\\@www.example-bank.nl/", "host \"evil.example\" is not in allowedLinkHosts"),
    ("https://evil.example/https://www.example-bank.nl/", "host \"evil.example\" is not in allowedLinkHosts"),
    ("https://evil.example?https://www.example-bank.nl/", "host \"evil.example\" is not in allowedLinkHosts"),
    ("https://www.example-bank.nl.evil.example/", "host \"www.example-bank.nl.evil.example\" is not in allowedLinkHosts"),
    ("https://www.example-bank.nl%2eevil.example/", "host \"www.example-bank.nl.evil.example\" is not in allowedLinkHosts"),
    ("https://www.example-bank.nl%2F@evil.example/", "links may not carry user information"),
    ("https://www.example-bank.nl@evil.example/", "links may not carry user information"),
    ("https://jan:geheim@www.example-bank.nl/", "links may not carry user information"),
    ("https://www.example-bank.nl:444/x", "links may only use the default https: port (443)"),
    ("https://www.example-bank.nl:8443/x", "links may only use the default https: port (443)"),
    ("https://www.example-bank.nl:99999/x", "the link's port is not a port number"),
    ("https://www.example-bank.nl:x/", "the link's port is not a port number"),
    ("https://[::1]/", "the link's port is not a port number"),
    ("https://127.0.0.1/x", "host \"127.0.0.1\" is not in allowedLinkHosts"),
    ("https://\u{ff45}vil.example/", "the link's host is not ASCII"),
    ("https://www.exam\u{ad}ple-bank.nl/", "the link's host is not ASCII"),
    ("https://www.example-bank.nl%C3%A9/", "the link's host is not ASCII"),
    ("https://", "link has no host"),
    ("https:", "link has no host"),
    ("//", "link has no host"),
    ("", "expected a link"),
    (" \t", "expected a link"),
    ("http://www.example-bank.nl/x", "only https: links and relative ones are allowed"),
    ("javascript:alert(1)", "only https: links and relative ones are allowed"),
    ("JavaScript:alert(1)", "only https: links and relative ones are allowed"),
    ("java\tscript:alert(1)", "only https: links and relative ones are allowed"),
    ("  javascript:alert(1)", "only https: links and relative ones are allowed"),
    ("data:text/html,<script>alert(1)</script>", "only https: links and relative ones are allowed"),
    ("vbscript:msgbox", "only https: links and relative ones are allowed"),
    ("ftp://www.example-bank.nl/", "only https: links and relative ones are allowed"),
    ("wss://www.example-bank.nl/", "only https: links and relative ones are allowed"),
    ("sparen:groen", "only https: links and relative ones are allowed"),
    ("/sparen\t/groen", "contains a control character"),
    ("https://www.example-bank.nl/x\n", "contains a control character"),
];

/// Links that stay on the site or go to an allowed host.
const LEGITIMATE_LINKS: &[&str] = &[
    "/sparen/groen",
    "https://www.example-bank.nl/x?y=1#z",
    "HTTPS://WWW.EXAMPLE-BANK.NL/x",
    "sparen/groen",
    "../sparen/groen",
    "?q=1",
    "#top",
    "https://www.example-bank.nl",
    "https://www.example-bank.nl?x=1",
    "https://www.example-bank.nl:443/x",
    "https://www.example-bank.nl:/x",
    "https://www.example-bank.nl./x",
    "https://%77ww.example-bank.nl/x",
    "/sparen?next=//evil.example",
    "/zoeken?q=a:b",
    " /sparen ",
];

#[test]
fn links_that_leave_the_site_are_refused() {
    for (link, expected) in HOSTILE_LINKS {
        let mut catalogue = sample_value();
        catalogue["propositions"][8]["treatments"][0]["creative"]["nl"]["href"] = json!(link);
        let err = compile_error(&catalogue);
        let path = "propositions[8].treatments[0].creative.nl.href: ";
        assert!(err.starts_with(&format!("{path}{expected}")), "{link:?}: {err}");
        let mut catalogue = sample_value();
        catalogue["propositions"][0]["treatments"][0]["creative"]["nl"]["image"]["src"] = json!(link);
        let err = compile_error(&catalogue);
        let path = "propositions[0].treatments[0].creative.nl.image.src: ";
        assert!(err.starts_with(&format!("{path}{expected}")), "{link:?}: {err}");
    }
}

#[test]
fn links_on_the_site_and_allowed_hosts_build() {
    for link in LEGITIMATE_LINKS {
        let mut catalogue = sample_value();
        catalogue["propositions"][8]["treatments"][0]["creative"]["nl"]["href"] = json!(link);
        catalogue["propositions"][0]["treatments"][0]["creative"]["nl"]["image"]["src"] = json!(link);
        let result = compile_json(&catalogue.to_string(), 0);
        assert!(result.is_ok(), "{link:?}: {:?}", result.err());
    }
}

#[test]
fn links_resolve_as_browsers_resolve_them() {
    use super::compile::{link_target, LinkTarget};
    let host = |h: &str| Ok(LinkTarget::Host(h.to_string()));
    assert_eq!(link_target("/\\evil.example/x"), host("evil.example"));
    assert_eq!(link_target("HTTPS://WWW.Example-Bank.NL./x"), host("www.example-bank.nl"));
    assert_eq!(link_target("https://%77ww.example-bank.nl"), host("www.example-bank.nl"));
    assert_eq!(link_target("https:evil.example"), host("evil.example"));
    for same_site in ["/x", "x", "./x", "?q", "#top", "/x//evil.example", "\t/x"] {
        assert_eq!(link_target(same_site), Ok(LinkTarget::SameSite), "{same_site:?}");
    }
}

#[test]
fn allowed_link_hosts_are_plain_host_names() {
    let refused = [
        ("*", "expected a plain host name"),
        ("*.example-bank.nl", "expected a plain host name"),
        ("https://www.example-bank.nl", "expected a plain host name"),
        ("www.example-bank.nl/sparen", "expected a plain host name"),
        ("www.example-bank.nl:443", "expected a plain host name"),
        ("jan@www.example-bank.nl", "expected a plain host name"),
        ("www..example-bank.nl", "expected a plain host name"),
        ("www.example-bank.nl.", "expected a plain host name"),
        (".example-bank.nl", "expected a plain host name"),
        ("-www.example-bank.nl", "expected a plain host name"),
        ("www.example-bank-.nl", "expected a plain host name"),
        ("bücher.de", "expected a plain host name"),
        ("www example-bank.nl", "expected a plain host name"),
        ("", "expected a plain host name"),
        ("127.0.0.1", "expected a host name, not an IP address"),
        ("10.0x1", "expected a host name, not an IP address"),
        ("[::1]", "expected a plain host name"),
    ];
    for (host, expected) in refused {
        let mut catalogue = sample_value();
        catalogue["allowedLinkHosts"] = json!(["www.example-bank.nl", host]);
        let err = compile_error(&catalogue);
        assert!(err.starts_with(&format!("allowedLinkHosts[1]: {expected}")), "{host:?}: {err}");
    }
    let mut catalogue = sample_value();
    catalogue["allowedLinkHosts"] = json!(["WWW.Example-Bank.NL", "xn--bcher-kva.de", "localhost"]);
    let payload = compile_json(&catalogue.to_string(), 0).unwrap();
    assert_eq!(payload.catalogue.allowed_link_hosts, ["www.example-bank.nl", "xn--bcher-kva.de", "localhost"]);
}

#[test]
fn ids_with_invisible_characters_are_refused() {
    let hidden = [
        ('\u{202e}', "a bidirectional control"),
        ('\u{202a}', "a bidirectional control"),
        ('\u{2066}', "a bidirectional control"),
        ('\u{2069}', "a bidirectional control"),
        ('\u{200e}', "a bidirectional control"),
        ('\u{200f}', "a bidirectional control"),
        ('\u{061c}', "a bidirectional control"),
        ('\u{200b}', "a zero-width character"),
        ('\u{200d}', "a zero-width character"),
        ('\u{2060}', "a zero-width character"),
        ('\u{feff}', "a zero-width character"),
        ('\u{ad}', "an invisible formatting character"),
        ('\u{7}', "a control character"),
        ('\u{85}', "a control character"),
    ];
    // Every id of the catalogue, by the pointer to it and its JSON path.
    let ids = [
        ("/catalogue", "catalogue"),
        ("/defaultLocale", "defaultLocale"),
        ("/holdout/salt", "holdout.salt"),
        ("/placements/1/id", "placements[1].id"),
        ("/placements/1/channel", "placements[1].channel"),
        ("/propositions/3/id", "propositions[3].id"),
        ("/propositions/3/segment", "propositions[3].segment"),
        ("/propositions/3/channels/0", "propositions[3].channels[0]"),
        ("/propositions/3/propensity/model", "propositions[3].propensity.model"),
        ("/propositions/3/treatments/0/id", "propositions[3].treatments[0].id"),
    ];
    for (c, what) in hidden {
        for (pointer, path) in ids {
            let mut catalogue = sample_value();
            let id = catalogue.pointer_mut(pointer).unwrap();
            *id = json!(format!("{}{c}x", id.as_str().unwrap()));
            let err = compile_error(&catalogue);
            let expected = format!("{path}: contains U+{:04X}, {what}: an id must read the same", u32::from(c));
            assert!(err.starts_with(&expected), "{pointer} with U+{:04X}: {err}", u32::from(c));
        }
    }
    // Ids that are keys: a creative's locale and a saved group's name.
    let mut catalogue = sample_value();
    let creative = catalogue.pointer_mut("/propositions/3/treatments/0/creative").unwrap().as_object_mut().unwrap();
    let en = creative.remove("en").unwrap();
    creative.insert("en\u{202e}".into(), en);
    let err = compile_error(&catalogue);
    assert!(err.starts_with("propositions[3].treatments[0].creative.en\u{202e}: contains U+202E, a bidirectional control"), "{err}");
    let mut catalogue = sample_value();
    catalogue["savedGroups"] = json!({"staff\u{200b}": ["a"]});
    let err = compile_error(&catalogue);
    assert!(err.starts_with("savedGroups.staff\u{200b}: contains U+200B, a zero-width character"), "{err}");
}

#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/catalogue.schema.json"))
        .unwrap_or_default();
    assert!(
        committed == super::catalogue::schema_json(),
        "schema/catalogue.schema.json is out of date: run `cargo run --features cli -- schema > schema/catalogue.schema.json`"
    );
}

#[test]
fn ledger_key_collisions_are_refused() {
    // Find two proposition ids with the same 32-bit ledger key (a birthday search).
    let mut seen = std::collections::HashMap::new();
    let (a, b) = (0u32..)
        .find_map(|i| {
            let id = format!("p{i}");
            seen.insert(crate::ledger::proposition_key(&id), id.clone()).map(|other| (other, id))
        })
        .unwrap();
    let json = read_catalogue_file(concat!(env!("CARGO_MANIFEST_DIR"), "/www/catalogue.json")).unwrap();
    let json = json
        .replacen("\"id\": \"afloswijzer\"", &format!("\"id\": \"{a}\""), 1)
        .replacen("\"id\": \"phishing-tips\"", &format!("\"id\": \"{b}\""), 1);
    let err = failure(compile_json(&json, 0));
    assert!(err.to_string().starts_with("propositions[2].id:"), "{err}");
    assert!(err.to_string().contains("shares its ledger key with propositions[1]"), "{err}");
}

#[test]
#[ignore = "benchmark: ./build.sh bench"]
fn benchmark_load() {
    let key = dev_key(1);
    let trusted = trusting(&[&key]);
    let now = at(NOW);
    let bundles = [
        ("the sample bundle".to_string(), seal(&sample_payload(), &key).unwrap(), 2000),
        ("a 1000-proposition bundle".to_string(), seal(&super::compile::compile(&crate::synthetic::catalogue(1000, 42), now).unwrap(), &key).unwrap(), 200),
        ("a 10000-proposition bundle".to_string(), seal(&super::compile::compile(&crate::synthetic::catalogue(10_000, 42), now).unwrap(), &key).unwrap(), 20),
    ];
    for (label, bytes, rounds) in bundles {
        let mut samples: Vec<u128> = (0..rounds)
            .map(|_| {
                let start = std::time::Instant::now();
                let bundle = load(&bytes, &LoadOptions { trusted_keys: &trusted, now, min_version: None }).unwrap();
                std::hint::black_box(bundle);
                start.elapsed().as_nanos()
            })
            .collect();
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)] as f64 / 1e6;
        println!("load (verify + decode + prepare) of {label} ({} bytes), native: p50 {:.2} ms, p99 {:.2} ms", bytes.len(), at(0.5), at(0.99));
    }
}

#[test]
fn the_typescript_declarations_name_every_error_code() {
    let declarations = include_str!("../wasm/mod.rs");
    let start = declarations.find("export type ErrorCode =").unwrap();
    let end = start + declarations[start..].find(';').unwrap();
    let union = &declarations[start..end];
    for code in Error::CODES {
        assert!(union.contains(&format!("\"{code}\"")), "ErrorCode lacks {code}");
    }
    assert!(!union.contains("| string"), "ErrorCode is a closed union");
}
