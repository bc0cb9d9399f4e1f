//! Profile snapshots signed by the bank.
//!
//! The bank signs the exact bytes of the snapshot's JSON (no canonicalisation: what is verified
//! is what is parsed) and sends a small JSON wrapper:
//!
//! ```json
//! { "snapshot": "<base64 of the profile JSON bytes>",
//!   "keyId": "<16 hex digits: the signing key's id>",
//!   "signature": "<base64 Ed25519 signature over the decoded snapshot bytes>" }
//! ```
//!
//! Keys are named and trusted as for bundles ([`TrustedKeys`]); verification is strict
//! (`verify_strict`: no non-canonical or small-order signatures). An engine configured to
//! require signed profiles refuses an unsigned snapshot with `unsigned_profile`; a snapshot
//! that does not verify, or is signed by a key that is not trusted, is refused with
//! `bad_profile_signature`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::Signature;
use serde_json::Value;

use super::{Profile, MAX_PROFILE_BYTES};
use crate::bundle::keys::{KeyId, TrustedKeys};
use crate::{Error, Result};

/// Largest signed wrapper accepted: the base64 of the largest snapshot plus room for the rest.
pub const MAX_SIGNED_PROFILE_BYTES: usize = MAX_PROFILE_BYTES / 3 * 4 + 1024;

/// Whether a JSON value is a signed wrapper rather than a bare snapshot.
pub fn is_signed(value: &Value) -> bool {
    value.as_object().is_some_and(|m| m.contains_key("signature") || m.contains_key("snapshot"))
}

/// Parses a signed wrapper from JSON text and verifies it with `trusted`.
pub fn open(json: &str, trusted: &TrustedKeys) -> Result<Profile> {
    if json.len() > MAX_SIGNED_PROFILE_BYTES {
        return Err(Error::too_large("signed profile snapshot", MAX_SIGNED_PROFILE_BYTES as u64, json.len() as u64));
    }
    let value: Value = serde_json::from_str(json)
        .map_err(|e| Error::profile("profile", format!("not valid JSON: {e}")))?;
    open_value(&value, trusted)
}

/// Verifies a signed wrapper that is already a JSON value, then parses the snapshot inside.
pub fn open_value(value: &Value, trusted: &TrustedKeys) -> Result<Profile> {
    let Value::Object(fields) = value else {
        return Err(Error::profile("profile", "expected a JSON object"));
    };
    if let Some(unknown) = fields.keys().find(|k| !matches!(k.as_str(), "snapshot" | "keyId" | "signature")) {
        return Err(Error::profile(
            format!("profile.{unknown}"),
            "unknown field in a signed snapshot; expected snapshot, keyId and signature",
        ));
    }
    let text = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| Error::profile(format!("profile.{name}"), "expected a string"))
    };
    let (snapshot, key_id, signature) = (text("snapshot")?, text("keyId")?, text("signature")?);
    let key_id = KeyId::parse(key_id).map_err(|_| Error::profile("profile.keyId", "expected 16 hex digits"))?;
    let key = trusted.get(&key_id).ok_or_else(|| Error::BadProfileSignature {
        key_id: key_id.to_string(),
        reason: format!("not a trusted key (trusted: {})", trusted.describe()),
    })?;
    let bytes = BASE64
        .decode(snapshot)
        .map_err(|e| Error::profile("profile.snapshot", format!("not base64: {e}")))?;
    if bytes.len() > MAX_PROFILE_BYTES {
        return Err(Error::too_large("profile snapshot", MAX_PROFILE_BYTES as u64, bytes.len() as u64));
    }
    let signature: [u8; 64] = BASE64
        .decode(signature)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Error::profile("profile.signature", "expected the base64 of a 64-byte Ed25519 signature"))?;
    key.verify_strict(&bytes, &Signature::from_bytes(&signature)).map_err(|_| Error::BadProfileSignature {
        key_id: key_id.to_string(),
        reason: "the signature does not verify: the snapshot was altered or signed by another key".into(),
    })?;
    let json = std::str::from_utf8(&bytes)
        .map_err(|_| Error::profile("profile.snapshot", "the snapshot is not UTF-8 text"))?;
    let mut profile = Profile::parse(json)?;
    profile.set_signed_by(key_id);
    Ok(profile)
}

/// Signs a snapshot's exact bytes (authoring side: the CLI and tests). The snapshot is checked
/// first, so a snapshot the engine would refuse is never signed.
#[cfg(feature = "compiler")]
pub fn sign(snapshot: &[u8], key: &crate::bundle::keys::SigningKey) -> Result<String> {
    let json = std::str::from_utf8(snapshot)
        .map_err(|_| Error::profile("profile", "the snapshot is not UTF-8 text"))?;
    Profile::parse(json)?;
    let wrapper = serde_json::json!({
        "snapshot": BASE64.encode(snapshot),
        "keyId": key.key_id().to_string(),
        "signature": BASE64.encode(key.sign(snapshot)),
    });
    Ok(format!("{wrapper:#}\n"))
}

#[cfg(all(test, feature = "compiler"))]
mod tests {
    use super::*;
    use crate::bundle::keys::dev_key;

    const SNAPSHOT: &str = r#"{"id": "p-1", "attributes": {"age": 40}, "consent": {"personalisation": true}}"#;

    fn trusting(key: &crate::bundle::keys::SigningKey) -> TrustedKeys {
        let mut t = TrustedKeys::new();
        t.add(&key.public_key()).unwrap();
        t
    }

    #[test]
    fn sign_and_open() {
        let key = dev_key(7);
        let wrapper = sign(SNAPSHOT.as_bytes(), &key).unwrap();
        let value: Value = serde_json::from_str(&wrapper).unwrap();
        assert!(is_signed(&value));
        let profile = open(&wrapper, &trusting(&key)).unwrap();
        assert_eq!(profile.signed_by(), Some(key.key_id()));
        assert_eq!(profile.attributes()["age"], 40);
    }

    #[test]
    fn tampering_and_strangers_are_refused() {
        let key = dev_key(7);
        let trusted = trusting(&key);
        let wrapper: Value = serde_json::from_str(&sign(SNAPSHOT.as_bytes(), &key).unwrap()).unwrap();

        // The snapshot altered after signing (age 40 → 17).
        let mut altered = wrapper.clone();
        altered["snapshot"] = Value::from(BASE64.encode(SNAPSHOT.replace("40", "17")));
        let err = open_value(&altered, &trusted).unwrap_err();
        assert_eq!(err.code(), "bad_profile_signature");
        assert!(err.to_string().contains("does not verify"), "{err}");

        // Every bit of the signature matters.
        let signature = BASE64.decode(wrapper["signature"].as_str().unwrap()).unwrap();
        for bit in [0, 100, 511] {
            let mut flipped = signature.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let mut w = wrapper.clone();
            w["signature"] = Value::from(BASE64.encode(&flipped));
            assert_eq!(open_value(&w, &trusted).unwrap_err().code(), "bad_profile_signature", "bit {bit}");
        }

        // Signed by a key the engine does not trust.
        let stranger = sign(SNAPSHOT.as_bytes(), &dev_key(8)).unwrap();
        let err = open(&stranger, &trusted).unwrap_err();
        assert_eq!(err.code(), "bad_profile_signature");
        assert!(err.to_string().contains("not a trusted key"), "{err}");
        assert_eq!(open(&sign(SNAPSHOT.as_bytes(), &key).unwrap(), &TrustedKeys::new()).unwrap_err().code(), "bad_profile_signature");

        // Malformed wrappers.
        let mut extra = wrapper.clone();
        extra["note"] = Value::from("x");
        assert!(open_value(&extra, &trusted).unwrap_err().to_string().starts_with("profile.note: unknown field"));
        let mut short = wrapper.clone();
        short["signature"] = Value::from("AAAA");
        assert!(open_value(&short, &trusted).unwrap_err().to_string().starts_with("profile.signature: expected the base64"));
        let mut bad_id = wrapper;
        bad_id["keyId"] = Value::from("xyz");
        assert!(open_value(&bad_id, &trusted).unwrap_err().to_string().starts_with("profile.keyId"));
    }

    #[test]
    fn a_signed_snapshot_is_still_checked_for_personal_data() {
        let key = dev_key(7);
        let bad = r#"{"attributes": {"email": "jan@example.nl"}}"#;
        assert_eq!(sign(bad.as_bytes(), &key).unwrap_err().code(), "personal_data");
        // Even when someone signs it without the check.
        let forged = serde_json::json!({
            "snapshot": BASE64.encode(bad), "keyId": key.key_id().to_string(),
            "signature": BASE64.encode(key.sign(bad.as_bytes())),
        });
        assert_eq!(open_value(&forged, &trusting(&key)).unwrap_err().code(), "personal_data");
    }
}
