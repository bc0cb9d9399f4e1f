//! Ed25519 keys: the trusted public keys a host verifies bundles with, and (natively) the
//! private key the authoring CLI signs with.
//!
//! A key is named by its key id: the first 8 bytes of SHA-512 of the 32-byte public key, written
//! as 16 lowercase hex digits. The envelope carries the id, so a host that trusts several keys at
//! once (during a rotation) knows which one to try. Public keys are checked strictly when they
//! are trusted: a key that is not canonically encoded or has small order is refused, because
//! such keys let forged signatures verify.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha512};
use std::fmt;

use crate::{Error, Result};

/// Length of a key id in the envelope.
pub const KEY_ID_LEN: usize = 8;
/// Length of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;

/// The short name of a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl KeyId {
    /// The id of a public key.
    pub fn of(public_key: &[u8; PUBLIC_KEY_LEN]) -> KeyId {
        let digest = Sha512::digest(public_key);
        let mut id = [0; KEY_ID_LEN];
        if let Some(prefix) = digest.first_chunk::<KEY_ID_LEN>() {
            id = *prefix; // a SHA-512 digest always has 64 bytes
        }
        KeyId(id)
    }

    /// Parses the 16-hex-digit form.
    pub fn parse(text: &str) -> Result<KeyId> {
        let bad = || Error::InvalidKey {
            what: format!("id {text:?}"),
            reason: format!("expected {} hex digits", KEY_ID_LEN * 2),
        };
        if text.len() != KEY_ID_LEN * 2 {
            return Err(bad());
        }
        let mut id = [0; KEY_ID_LEN];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
                .map_err(|_| bad())?;
        }
        Ok(KeyId(id))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Checks a public key strictly and returns it ready for verification.
pub fn verifying_key(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<VerifyingKey> {
    let refuse = |reason: &str| Error::InvalidKey {
        what: format!("public key {}", BASE64.encode(bytes)),
        reason: reason.into(),
    };
    let point = CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or_else(|| refuse("not a point on the Ed25519 curve"))?;
    if point.compress().as_bytes() != bytes {
        return Err(refuse("not canonically encoded"));
    }
    if point.is_small_order() {
        return Err(refuse("a small-order (weak) key"));
    }
    VerifyingKey::from_bytes(bytes).map_err(|e| refuse(&e.to_string()))
}

/// Decodes a base64 public key.
pub fn decode_public_key(text: &str) -> Result<[u8; PUBLIC_KEY_LEN]> {
    let bytes = BASE64.decode(text.trim()).map_err(|e| Error::InvalidKey {
        what: format!("public key {:?}", text.trim()),
        reason: format!("not base64: {e}"),
    })?;
    bytes.as_slice().try_into().map_err(|_| Error::InvalidKey {
        what: format!("public key {:?}", text.trim()),
        reason: format!("expected {PUBLIC_KEY_LEN} bytes, found {}", bytes.len()),
    })
}

/// The public keys a host accepts bundles from. Holding several is how keys rotate: publish
/// bundles signed with the new key once every host trusts both.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<(KeyId, VerifyingKey)>,
}

impl TrustedKeys {
    pub fn new() -> TrustedKeys {
        TrustedKeys::default()
    }

    /// Trusts a public key; returns its id.
    pub fn add(&mut self, public_key: &[u8; PUBLIC_KEY_LEN]) -> Result<KeyId> {
        let key = verifying_key(public_key)?;
        let id = KeyId::of(public_key);
        if !self.keys.iter().any(|(k, _)| *k == id) {
            self.keys.push((id, key));
        }
        Ok(id)
    }

    /// Trusts a base64 public key announced under `key_id`; the id must be the key's own.
    pub fn add_base64(&mut self, key_id: &str, public_key: &str) -> Result<KeyId> {
        let declared = KeyId::parse(key_id)?;
        let bytes = decode_public_key(public_key)?;
        let actual = KeyId::of(&bytes);
        if declared != actual {
            return Err(Error::InvalidKey {
                what: format!("id {key_id}"),
                reason: format!("the public key given for it has id {actual}"),
            });
        }
        self.add(&bytes)
    }

    pub fn get(&self, id: &KeyId) -> Option<&VerifyingKey> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, key)| key)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The ids, comma-separated, for error messages.
    pub fn describe(&self) -> String {
        if self.keys.is_empty() {
            return "none".into();
        }
        let ids: Vec<String> = self.keys.iter().map(|(id, _)| id.to_string()).collect();
        ids.join(", ")
    }
}

/// A private signing key (authoring side only).
#[cfg(feature = "compiler")]
pub struct SigningKey(ed25519_dalek::SigningKey);

#[cfg(feature = "compiler")]
impl SigningKey {
    /// Length of the secret seed.
    pub const SEED_LEN: usize = 32;

    pub fn from_seed(seed: &[u8; Self::SEED_LEN]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    pub fn seed(&self) -> [u8; Self::SEED_LEN] {
        self.0.to_bytes()
    }

    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.0.verifying_key().to_bytes()
    }

    pub fn key_id(&self) -> KeyId {
        KeyId::of(&self.public_key())
    }

    pub fn public_key_base64(&self) -> String {
        BASE64.encode(self.public_key())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.0.sign(message).to_bytes()
    }

    /// The key file: JSON naming the key, its id, public key and secret seed (base64).
    pub fn to_file_text(&self) -> String {
        format!(
            "{{\n  \"kind\": \"opmaat-ed25519-signing-key\",\n  \"keyId\": \"{}\",\n  \"publicKey\": \"{}\",\n  \"secretKey\": \"{}\"\n}}\n",
            self.key_id(),
            self.public_key_base64(),
            BASE64.encode(self.seed())
        )
    }

    /// Reads a key file written by [`SigningKey::to_file_text`]; `path` is for errors.
    pub fn from_file_text(text: &str, path: &str) -> Result<SigningKey> {
        let bad = |reason: String| Error::InvalidKey { what: format!("file {path}"), reason };
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not a key file: {e}")))?;
        if json.get("kind").and_then(|k| k.as_str()) != Some("opmaat-ed25519-signing-key") {
            return Err(bad("not an opmaat signing key (\"kind\" differs)".into()));
        }
        let secret = json.get("secretKey").and_then(|k| k.as_str()).ok_or_else(|| bad("no \"secretKey\"".into()))?;
        let seed = BASE64.decode(secret).map_err(|e| bad(format!("secretKey is not base64: {e}")))?;
        let seed: [u8; Self::SEED_LEN] = seed
            .as_slice()
            .try_into()
            .map_err(|_| bad(format!("secretKey must be {} bytes", Self::SEED_LEN)))?;
        let key = SigningKey::from_seed(&seed);
        if json.get("publicKey").and_then(|k| k.as_str()) != Some(key.public_key_base64().as_str()) {
            return Err(bad("publicKey does not belong to secretKey".into()));
        }
        Ok(key)
    }
}

/// A development key derived from a fixed seed: for tests only. Here, beside the key type, so
/// that every module's tests can use it without depending on another module's tests.
#[cfg(test)]
pub(crate) fn dev_key(n: u8) -> SigningKey {
    SigningKey::from_seed(&[n; SigningKey::SEED_LEN])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_round_trips_and_is_checked() {
        let public = [7u8; 32];
        let id = KeyId::of(&public);
        assert_eq!(KeyId::parse(&id.to_string()).unwrap(), id);
        assert_eq!(KeyId::parse("zz").unwrap_err().code(), "invalid_key");
        assert_eq!(KeyId::parse("0123456789abcdeg").unwrap_err().code(), "invalid_key");
    }

    #[test]
    fn weak_and_non_canonical_keys_are_refused() {
        // The identity point (small order) and y = p (non-canonical encoding of y = 0).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let err = verifying_key(&identity).unwrap_err();
        assert!(err.to_string().contains("small-order"), "{err}");
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xed;
        non_canonical[31] = 0x7f;
        let err = verifying_key(&non_canonical).unwrap_err();
        assert_eq!(err.code(), "invalid_key");
    }

    #[test]
    fn announced_key_id_must_match() {
        let mut trusted = TrustedKeys::new();
        let good = BASE64.encode(crate::bundle::tests::dev_key(1).public_key());
        let err = trusted.add_base64("0000000000000000", &good).unwrap_err();
        assert!(err.to_string().contains("has id"), "{err}");
        assert!(trusted.is_empty());
        assert_eq!(trusted.add_base64("0000000000000000", "***").unwrap_err().code(), "invalid_key");
    }
}
