//! Decision ids and tracking tokens.
//!
//! A **decision id** is 16 hex digits: the first 8 bytes of SHA-256 over the bundle id, bundle
//! version, the bundle's **content digest** ([`Bundle::content`](crate::bundle::Bundle::content)), placement, profile id and
//! `now` (length-prefixed, so no two different inputs collide by concatenation). The same inputs
//! give the same id, which is what makes a decision replayable; two catalogues that share an id
//! and version but differ in content give different ids, so a replay is never ambiguous. The
//! profile id only enters through the hash.
//!
//! A **tracking token** names one shown (or, for the holdout group, withheld) proposition and
//! carries every fact the measurement events of its responses state about the decision, so an
//! event says what the decision knew, not what the engine knows when the response arrives (at
//! the edge the bundle may have been replaced in between). Base64url, no padding, of:
//!
//! ```text
//! offset  bytes  field
//!      0      1  format (2)
//!      1      8  decision id
//!      9      1  flags: bit 0 = the customer was in the holdout group, bit 1 = withheld
//!     10      1  position in the placement (1, 2, …; 0 for a withheld proposition)
//!     11      4  selection probability of the treatment, f32 little-endian
//!     15      8  bundle version, u64 little-endian
//!     23      …  bundle id, placement, proposition, treatment: each one length byte, then UTF-8
//! ```
//!
//! It carries no personal data, and [`parse_token`] reads it back. Tokens of format 1 (earlier
//! builds) lack those facts and are refused with a message that says so.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::time::Timestamp;
use crate::{Error, Result};

/// Format byte of tokens made by this build.
const TOKEN_VERSION: u8 = 2;
/// Bytes before the first length-prefixed id.
const FIXED_LEN: usize = 23;
const FLAG_HOLDOUT: u8 = 1;
const FLAG_WITHHELD: u8 = 2;
/// Longest id a token carries (bundles hold ids of at most 128 bytes).
const MAX_ID_LEN: usize = 255;

fn first_eight(digest: &[u8]) -> [u8; 8] {
    digest.first_chunk::<8>().copied().unwrap_or_default() // a SHA-256 digest always has 32 bytes
}

/// A decision id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionId(pub [u8; 8]);

/// The bundle a decision was made from, as its decision id and tokens name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleRef<'a> {
    pub id: &'a str,
    pub version: u64,
    pub content: [u8; 8],
}

impl DecisionId {
    /// The id of a decision from its inputs.
    pub fn of(bundle: BundleRef<'_>, placement: &str, profile_id: Option<&str>, now: Timestamp) -> DecisionId {
        let mut h = Sha256::new();
        h.update(b"opmaat decision v2");
        for part in [bundle.id, placement, profile_id.unwrap_or("")] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.update(bundle.version.to_le_bytes());
        h.update(bundle.content);
        h.update(now.to_le_bytes());
        DecisionId(first_eight(&h.finalize()))
    }

    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a tracking token says: the decision's facts about one proposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The decision id, 16 hex digits.
    pub decision: String,
    pub bundle: String,
    pub bundle_version: u64,
    pub placement: String,
    /// 1, 2, … in the placement; 0 for a withheld proposition.
    pub position: u8,
    /// The customer was in the holdout group when the decision was made.
    pub holdout: bool,
    /// The holdout group's decision withheld this proposition: it would have been shown.
    pub withheld: bool,
    /// The probability with which the decision picked this treatment (f32 precision).
    pub selection_probability: f64,
    pub proposition: String,
    pub treatment: String,
}

/// Makes the token of a shown or withheld proposition. Ids longer than 255 bytes (which no bundle
/// holds) are cut at a character boundary.
pub fn tracking_token(decision: DecisionId, token: &Token) -> String {
    let ids = [token.bundle.as_str(), &token.placement, &token.proposition, &token.treatment];
    let mut bytes = Vec::with_capacity(FIXED_LEN + ids.iter().map(|s| s.len() + 1).sum::<usize>());
    bytes.push(TOKEN_VERSION);
    bytes.extend_from_slice(&decision.0);
    bytes.push(if token.holdout { FLAG_HOLDOUT } else { 0 } | if token.withheld { FLAG_WITHHELD } else { 0 });
    bytes.push(token.position);
    bytes.extend_from_slice(&(token.selection_probability as f32).to_le_bytes());
    bytes.extend_from_slice(&token.bundle_version.to_le_bytes());
    for part in ids {
        let mut end = part.len().min(MAX_ID_LEN);
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
    let (&version, _) = bytes.split_first().ok_or_else(|| bad("empty"))?;
    if version == 1 {
        return Err(bad("format 1, made by an earlier build: it lacks the decision's facts (bundle version, holdout, placement), so decide again"));
    }
    if version != TOKEN_VERSION {
        return Err(bad(&format!("format {version}, this build reads {TOKEN_VERSION}")));
    }
    let (fixed, mut rest) = bytes.split_first_chunk::<FIXED_LEN>().ok_or_else(|| bad("too short"))?;
    let [_, d0, d1, d2, d3, d4, d5, d6, d7, flags, position, p0, p1, p2, p3, v @ ..] = *fixed;
    if flags & !(FLAG_HOLDOUT | FLAG_WITHHELD) != 0 {
        return Err(bad("unknown flags"));
    }
    let probability = f64::from(f32::from_le_bytes([p0, p1, p2, p3]));
    if !(0.0..=1.0).contains(&probability) {
        return Err(bad("the selection probability is not between 0 and 1"));
    }
    let mut field = || -> Result<String> {
        let (&len, tail) = rest.split_first().ok_or_else(|| bad("too short"))?;
        let (text, tail) = tail.split_at_checked(usize::from(len)).ok_or_else(|| bad("too short"))?;
        rest = tail;
        String::from_utf8(text.to_vec()).map_err(|_| bad("an id is not UTF-8"))
    };
    let (bundle, placement, proposition, treatment) = (field()?, field()?, field()?, field()?);
    if !rest.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(Token {
        decision: [d0, d1, d2, d3, d4, d5, d6, d7].iter().map(|b| format!("{b:02x}")).collect(),
        bundle,
        bundle_version: u64::from_le_bytes(v),
        placement,
        position,
        holdout: flags & FLAG_HOLDOUT != 0,
        withheld: flags & FLAG_WITHHELD != 0,
        selection_probability: probability,
        proposition,
        treatment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: BundleRef<'static> = BundleRef { id: "bank", version: 1, content: [7; 8] };

    #[test]
    fn decision_ids_depend_on_every_input() {
        let base = DecisionId::of(BUNDLE, "overview", Some("p-1"), 100);
        assert_eq!(base, DecisionId::of(BUNDLE, "overview", Some("p-1"), 100));
        for other in [
            DecisionId::of(BundleRef { id: "bank2", ..BUNDLE }, "overview", Some("p-1"), 100),
            DecisionId::of(BundleRef { version: 2, ..BUNDLE }, "overview", Some("p-1"), 100),
            DecisionId::of(BundleRef { content: [8; 8], ..BUNDLE }, "overview", Some("p-1"), 100),
            DecisionId::of(BUNDLE, "homepage", Some("p-1"), 100),
            DecisionId::of(BUNDLE, "overview", Some("p-2"), 100),
            DecisionId::of(BUNDLE, "overview", None, 100),
            DecisionId::of(BUNDLE, "overview", Some("p-1"), 101),
            DecisionId::of(BundleRef { id: "ban", ..BUNDLE }, "koverview", Some("p-1"), 100),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(base.hex().len(), 16);
    }

    fn sample() -> Token {
        Token {
            decision: "0102030405060708".into(),
            bundle: "bank-nl".into(),
            bundle_version: 41,
            placement: "overview".into(),
            position: 2,
            holdout: true,
            withheld: false,
            selection_probability: 0.25,
            proposition: "green-savings".into(),
            treatment: "a".into(),
        }
    }

    #[test]
    fn tokens_round_trip_with_the_decisions_facts() {
        let id = DecisionId([1, 2, 3, 4, 5, 6, 7, 8]);
        let token = tracking_token(id, &sample());
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
        assert!(!token.contains("green"), "the ids are not readable in passing");
        assert_eq!(parse_token(&token).unwrap(), sample());
        let withheld = Token { withheld: true, position: 0, ..sample() };
        assert_eq!(parse_token(&tracking_token(id, &withheld)).unwrap(), withheld);
        for bad in ["", "!!", &token[..token.len() - 2], &format!("{token}AA")] {
            assert_eq!(parse_token(bad).unwrap_err().code(), "invalid_argument", "{bad}");
        }
        let long = Token { proposition: "é".repeat(200), ..sample() };
        let t = parse_token(&tracking_token(id, &long)).unwrap();
        assert!(long.proposition.starts_with(&t.proposition) && t.proposition.len() <= 255);
    }

    #[test]
    fn earlier_formats_and_bad_fields_are_refused_by_name() {
        let v1 = BASE64URL.encode([1, 1, 2, 3, 4, 5, 6, 7, 8, 1, b'x', 1, b'a']);
        assert!(parse_token(&v1).unwrap_err().to_string().contains("format 1, made by an earlier build"));
        let mut bytes = BASE64URL.decode(tracking_token(DecisionId([0; 8]), &sample())).unwrap();
        bytes[9] = 0x80;
        assert!(parse_token(&BASE64URL.encode(&bytes)).unwrap_err().to_string().contains("unknown flags"));
        bytes[9] = 0;
        bytes[11..15].copy_from_slice(&2.0f32.to_le_bytes());
        assert!(parse_token(&BASE64URL.encode(&bytes)).unwrap_err().to_string().contains("selection probability"));
    }
}
