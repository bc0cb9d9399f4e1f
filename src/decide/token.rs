//! Decision ids and tracking tokens.
//!
//! A **decision id** is 16 hex digits: the first 8 bytes of SHA-256 over the bundle id, bundle
//! version, placement, profile id and `now` (length-prefixed, so no two different inputs
//! collide by concatenation). The same inputs give the same id, which is what makes a decision
//! replayable; the profile id only enters through the hash.
//!
//! A **tracking token** names one shown proposition for the impression, click or conversion
//! events a host reports: base64url (no padding) of
//! `[1, decision id (8 bytes), len, proposition id, len, treatment id]`, lengths one byte each.
//! It carries no personal data, and [`parse_token`] reads it back.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::time::Timestamp;
use crate::{Error, Result};

/// Format byte of tokens made by this build.
const TOKEN_VERSION: u8 = 1;

/// A decision id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionId(pub [u8; 8]);

impl DecisionId {
    /// The id of a decision from its inputs.
    pub fn of(bundle_id: &str, version: u64, placement: &str, profile_id: Option<&str>, now: Timestamp) -> DecisionId {
        let mut h = Sha256::new();
        h.update(b"opmaat decision v1");
        for part in [bundle_id, placement, profile_id.unwrap_or("")] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.update(version.to_le_bytes());
        h.update(now.to_le_bytes());
        let digest = h.finalize();
        let mut id = [0; 8];
        if let Some(prefix) = digest.first_chunk::<8>() {
            id = *prefix; // a SHA-256 digest always has 32 bytes
        }
        DecisionId(id)
    }

    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a tracking token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The decision id, 16 hex digits.
    pub decision: String,
    pub proposition: String,
    pub treatment: String,
}

/// Makes the token of a shown proposition. Ids longer than 255 bytes (which no bundle holds:
/// ids are at most 128) are cut at a character boundary.
pub fn tracking_token(decision: DecisionId, proposition: &str, treatment: &str) -> String {
    let mut bytes = Vec::with_capacity(11 + proposition.len() + treatment.len());
    bytes.push(TOKEN_VERSION);
    bytes.extend_from_slice(&decision.0);
    for part in [proposition, treatment] {
        let mut end = part.len().min(255);
        while !part.is_char_boundary(end) {
            end -= 1;
        }
        bytes.push(end as u8);
        bytes.extend_from_slice(part.as_bytes().get(..end).unwrap_or_default());
    }
    BASE64URL.encode(bytes)
}

/// Reads a tracking token.
pub fn parse_token(token: &str) -> Result<Token> {
    let bad = |why: &str| Error::argument("token", format!("not an opmaat tracking token: {why}"));
    let bytes = BASE64URL.decode(token).map_err(|_| bad("not base64url"))?;
    let (&version, rest) = bytes.split_first().ok_or_else(|| bad("empty"))?;
    if version != TOKEN_VERSION {
        return Err(bad(&format!("format {version}, this build reads {TOKEN_VERSION}")));
    }
    let (decision, mut rest) = rest.split_at_checked(8).ok_or_else(|| bad("too short"))?;
    let mut field = || -> Result<String> {
        let (&len, tail) = rest.split_first().ok_or_else(|| bad("too short"))?;
        let (text, tail) = tail.split_at_checked(usize::from(len)).ok_or_else(|| bad("too short"))?;
        rest = tail;
        String::from_utf8(text.to_vec()).map_err(|_| bad("an id is not UTF-8"))
    };
    let (proposition, treatment) = (field()?, field()?);
    if !rest.is_empty() {
        return Err(bad("trailing bytes"));
    }
    let decision = decision.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Token { decision, proposition, treatment })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_ids_depend_on_every_input() {
        let base = DecisionId::of("bank", 1, "overview", Some("p-1"), 100);
        assert_eq!(base, DecisionId::of("bank", 1, "overview", Some("p-1"), 100));
        for other in [
            DecisionId::of("bank2", 1, "overview", Some("p-1"), 100),
            DecisionId::of("bank", 2, "overview", Some("p-1"), 100),
            DecisionId::of("bank", 1, "homepage", Some("p-1"), 100),
            DecisionId::of("bank", 1, "overview", Some("p-2"), 100),
            DecisionId::of("bank", 1, "overview", None, 100),
            DecisionId::of("bank", 1, "overview", Some("p-1"), 101),
            DecisionId::of("ban", 1, "koverview", Some("p-1"), 100),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(base.hex().len(), 16);
    }

    #[test]
    fn tokens_round_trip() {
        let id = DecisionId([1, 2, 3, 4, 5, 6, 7, 8]);
        let token = tracking_token(id, "green-savings", "a");
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
        assert!(!token.contains("green"), "the ids are not readable in passing");
        assert_eq!(
            parse_token(&token).unwrap(),
            Token { decision: "0102030405060708".into(), proposition: "green-savings".into(), treatment: "a".into() }
        );
        for bad in ["", "!!", &token[..token.len() - 2], &format!("{token}AA")] {
            assert_eq!(parse_token(bad).unwrap_err().code(), "invalid_argument", "{bad}");
        }
        let long = "é".repeat(200);
        let t = parse_token(&tracking_token(id, &long, "b")).unwrap();
        assert!(long.starts_with(&t.proposition) && t.proposition.len() <= 255);
    }
}
