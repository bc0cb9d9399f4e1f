//! The profile snapshot: what the engine knows about the customer, pseudonymously.
//!
//! The bank issues a snapshot for a logged-in customer (or the page builds one from a visitor's
//! own behaviour on logged-off pages). It is parsed and checked **once** and then reused for
//! every placement on the page:
//!
//! ```json
//! {
//!   "id": "p-5c1e0f3a",
//!   "loggedIn": true,
//!   "attributes": { "age": 21, "segments": ["student"], "holdings": ["payment_account"] },
//!   "propensities": { "student_credit": 0.35 },
//!   "consent": { "personalisation": true, "marketing": true, "analytics": true,
//!                "channelOptOuts": ["callcentre"] },
//!   "issuedAt": "2026-12-05T09:00:00Z",
//!   "expiresAt": "2026-12-06T09:00:00Z"
//! }
//! ```
//!
//! Every field is optional. `id` is a pseudonymous id (never a customer number): it keeps
//! treatment splits sticky and is hashed into decision ids. `loggedIn` defaults to whether there
//! is an `id`; an anonymous logged-off visitor is `{}` or `{"loggedIn": false}`. `consent`
//! defaults to **no** consent at all (privacy by default): missing flags are `false`.
//! Propensities are probabilities from 0 to 1, keyed by the model keys propositions name.
//!
//! Checks, each failing with the JSON path of the offending value: the shape (unknown fields
//! are errors), the [limits](MAX_PROFILE_BYTES), RFC 3339 times with `expiresAt` after
//! `issuedAt`, and pseudonymity ([`pii`]): an attribute or id that looks like personal data is
//! refused with [`Error::PersonalData`]. The attribute name `context` is reserved: conditions
//! read the contact's context under `context.*`.
//!
//! A snapshot may be signed by the bank ([`signed`]); an engine configured to require signed
//! profiles refuses unsigned ones.

pub mod pii;
pub mod signed;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::bundle::keys::{KeyId, TrustedKeys};
use crate::limits::MAX_ID_BYTES;
use crate::time::{parse_rfc3339, Timestamp};
use crate::{Error, Result};

/// Largest profile snapshot accepted, in bytes of JSON (64 KiB).
pub const MAX_PROFILE_BYTES: usize = 64 * 1024;
/// Most attributes (top-level entries of `attributes`).
pub const MAX_ATTRIBUTES: usize = 256;
/// Most JSON values inside `attributes`, counting every nested value.
pub const MAX_ATTRIBUTE_VALUES: usize = 4096;
/// Deepest nesting of an attribute's value: `["a"]` is 1 deep, `{"a": ["b"]}` 2.
pub const MAX_ATTRIBUTE_DEPTH: usize = 6;
/// Longest string value (and longest attribute name is [`MAX_ID_BYTES`]).
pub const MAX_STRING_BYTES: usize = 256;
/// Most propensity scores.
pub const MAX_PROPENSITIES: usize = 256;
/// Most channels a customer may opt out of.
pub const MAX_CHANNEL_OPT_OUTS: usize = 32;

/// A pseudonymous profile snapshot, checked. Immutable once parsed, so that a verified
/// signature stays meaningful.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    id: Option<String>,
    logged_in: bool,
    attributes: Map<String, Value>,
    propensities: BTreeMap<String, f64>,
    consent: Consent,
    issued_at: Option<Timestamp>,
    expires_at: Option<Timestamp>,
    signed_by: Option<KeyId>,
}

/// What the customer agreed to. Everything defaults to `false`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    /// Profile attributes and propensities may be used. Without it a decision is made from the
    /// context alone.
    pub personalisation: bool,
    /// Commercial (sales and loyalty) propositions may be shown. Without it: service only.
    pub marketing: bool,
    /// Impressions may be measured: without it a decision carries no tracking tokens.
    pub analytics: bool,
    /// Channels in which the customer wants no commercial propositions.
    pub channel_opt_outs: Vec<String>,
}

impl Profile {
    /// A visitor nobody knows: no id, logged off, no attributes, no consent.
    pub fn anonymous() -> Profile {
        Profile {
            id: None,
            logged_in: false,
            attributes: Map::new(),
            propensities: BTreeMap::new(),
            consent: Consent::default(),
            issued_at: None,
            expires_at: None,
            signed_by: None,
        }
    }

    /// Parses and checks an unsigned snapshot from JSON text. A signed snapshot is refused here:
    /// open it with [`signed::open`] or [`crate::Engine::parse_profile`].
    pub fn parse(json: &str) -> Result<Profile> {
        Profile::from_value(&parse_json(json)?)
    }

    /// Checks an unsigned snapshot that is already a JSON value (the Wasm shell's path).
    pub fn from_value(value: &Value) -> Result<Profile> {
        let Value::Object(fields) = value else {
            return Err(Error::profile("profile", "expected a JSON object"));
        };
        if fields.contains_key("signature") || fields.contains_key("snapshot") {
            return Err(Error::profile(
                "profile",
                "this is a signed snapshot: open it with the engine (which holds the bank's keys)",
            ));
        }
        let mut profile = Profile::anonymous();
        let mut logged_in = None;
        for (key, v) in fields {
            let path = format!("profile.{key}");
            if v.is_null() {
                continue;
            }
            match key.as_str() {
                "id" => profile.id = Some(check_id(v, &path)?),
                "loggedIn" => logged_in = Some(boolean(v, &path)?),
                "attributes" => profile.attributes = attributes(v)?,
                "propensities" => profile.propensities = propensities(v)?,
                "consent" => profile.consent = consent(v)?,
                "issuedAt" => profile.issued_at = Some(time(v, &path)?),
                "expiresAt" => profile.expires_at = Some(time(v, &path)?),
                _ => {
                    return Err(Error::profile(
                        path,
                        "unknown field; expected id, loggedIn, attributes, propensities, consent, issuedAt or expiresAt",
                    ))
                }
            }
        }
        if let (Some(issued), Some(expires)) = (profile.issued_at, profile.expires_at) {
            if expires <= issued {
                return Err(Error::profile("profile.expiresAt", "must be after issuedAt"));
            }
        }
        profile.logged_in = logged_in.unwrap_or(profile.id.is_some());
        Ok(profile)
    }

    /// The pseudonymous id, if the snapshot has one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Whether the customer is logged in (placements have an audience).
    pub fn logged_in(&self) -> bool {
        self.logged_in
    }

    /// The attributes conditions read (only with personalisation consent).
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }

    /// Propensity scores per model key, 0–1.
    pub fn propensities(&self) -> &BTreeMap<String, f64> {
        &self.propensities
    }

    pub fn consent(&self) -> &Consent {
        &self.consent
    }

    pub fn issued_at(&self) -> Option<Timestamp> {
        self.issued_at
    }

    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }

    /// The bank key whose signature over this snapshot was verified, if it was signed.
    pub fn signed_by(&self) -> Option<KeyId> {
        self.signed_by
    }

    pub(crate) fn set_signed_by(&mut self, key: KeyId) {
        self.signed_by = Some(key);
    }
}

/// How an engine treats profile snapshots: which bank keys it trusts, and whether a snapshot
/// must be signed. The default trusts no key and accepts unsigned snapshots.
#[derive(Debug, Clone, Default)]
pub struct ProfilePolicy {
    /// Keys the bank signs snapshots with (several at once while keys rotate).
    pub trusted_keys: TrustedKeys,
    /// Refuse snapshots that are not signed by one of `trusted_keys`.
    pub require_signed: bool,
}

impl ProfilePolicy {
    /// Parses a snapshot, signed (`{"snapshot", "keyId", "signature"}`, verified with the
    /// trusted keys) or bare (refused with `unsigned_profile` when signatures are required).
    pub fn parse(&self, json: &str) -> Result<Profile> {
        if json.len() > signed::MAX_SIGNED_PROFILE_BYTES {
            return Err(Error::too_large("profile snapshot", MAX_PROFILE_BYTES as u64, json.len() as u64));
        }
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Error::profile("profile", format!("not valid JSON: {e}")))?;
        if !signed::is_signed(&value) && json.len() > MAX_PROFILE_BYTES {
            return Err(Error::too_large("profile snapshot", MAX_PROFILE_BYTES as u64, json.len() as u64));
        }
        self.from_value(&value)
    }

    /// As [`ProfilePolicy::parse`], for a snapshot that is already a JSON value.
    pub fn from_value(&self, value: &Value) -> Result<Profile> {
        let profile = if signed::is_signed(value) {
            signed::open_value(value, &self.trusted_keys)?
        } else {
            Profile::from_value(value)?
        };
        self.admit(&profile)?;
        Ok(profile)
    }

    /// Checks that a parsed profile may be decided for: signed by a trusted key when
    /// signatures are required.
    pub fn admit(&self, profile: &Profile) -> Result<()> {
        if !self.require_signed {
            return Ok(());
        }
        match profile.signed_by() {
            Some(key) if self.trusted_keys.get(&key).is_some() => Ok(()),
            Some(key) => Err(Error::BadProfileSignature {
                key_id: key.to_string(),
                reason: format!("not a trusted key (trusted: {})", self.trusted_keys.describe()),
            }),
            None => Err(Error::UnsignedProfile {
                detail: "this snapshot carries no signature; send the signed form {\"snapshot\", \"keyId\", \"signature\"}".into(),
            }),
        }
    }
}

/// Parses JSON text of at most [`MAX_PROFILE_BYTES`].
fn parse_json(json: &str) -> Result<Value> {
    if json.len() > MAX_PROFILE_BYTES {
        return Err(Error::too_large("profile snapshot", MAX_PROFILE_BYTES as u64, json.len() as u64));
    }
    serde_json::from_str(json).map_err(|e| Error::profile("profile", format!("not valid JSON: {e}")))
}

fn boolean(v: &Value, path: &str) -> Result<bool> {
    v.as_bool().ok_or_else(|| Error::profile(path, format!("expected true or false, found {}", kind(v))))
}

fn time(v: &Value, path: &str) -> Result<Timestamp> {
    let text = v.as_str().ok_or_else(|| Error::profile(path, "expected an RFC 3339 date-time string"))?;
    parse_rfc3339(text, path).map_err(|e| match e {
        Error::InvalidArgument { path, message } => Error::InvalidProfile { path, message },
        other => other,
    })
}

/// An identifier: 1 to [`MAX_ID_BYTES`] bytes, no spaces or control characters, and nothing
/// that looks like personal data.
fn check_id(v: &Value, path: &str) -> Result<String> {
    let text = v.as_str().ok_or_else(|| Error::profile(path, format!("expected a string, found {}", kind(v))))?;
    identifier(text, path)?;
    Ok(text.to_string())
}

fn identifier(text: &str, path: &str) -> Result<()> {
    if text.is_empty() || text.len() > MAX_ID_BYTES || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::profile(
            path,
            format!("expected an identifier of 1 to {MAX_ID_BYTES} bytes without spaces"),
        ));
    }
    if let Some(what) = pii::personal_value(text) {
        return Err(Error::PersonalData { path: path.to_string(), message: format!("looks like {what}") });
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn attributes(v: &Value) -> Result<Map<String, Value>> {
    let Value::Object(map) = v else {
        return Err(Error::profile("profile.attributes", format!("expected an object, found {}", kind(v))));
    };
    if map.len() > MAX_ATTRIBUTES {
        return Err(Error::too_large("profile.attributes", MAX_ATTRIBUTES as u64, map.len() as u64));
    }
    if map.contains_key("context") {
        return Err(Error::profile(
            "profile.attributes.context",
            "the name `context` is reserved: conditions read the contact's context under context.*",
        ));
    }
    if map.contains_key("id") {
        return Err(Error::profile(
            "profile.attributes.id",
            "the name `id` is reserved: conditions read the snapshot's pseudonymous id under id",
        ));
    }
    let mut walker = Walker { values: 0, path: String::from("profile.attributes") };
    walker.object(map, 0)?;
    Ok(map.clone())
}

/// Walks attribute values depth-first, checking limits and pseudonymity; `path` grows and
/// shrinks with the walk so errors name the exact value.
struct Walker {
    values: usize,
    path: String,
}

impl Walker {
    fn object(&mut self, map: &Map<String, Value>, depth: usize) -> Result<()> {
        for (key, value) in map {
            let len = self.path.len();
            self.path.push('.');
            self.path.push_str(key);
            if key.is_empty() || key.len() > MAX_ID_BYTES {
                return Err(Error::profile(&self.path, format!("attribute names have 1 to {MAX_ID_BYTES} bytes")));
            }
            if let Some(what) = pii::personal_name(key) {
                return Err(Error::PersonalData {
                    path: self.path.clone(),
                    message: format!("the attribute name {key:?} suggests {what}"),
                });
            }
            self.value(value, depth)?;
            self.path.truncate(len);
        }
        Ok(())
    }

    fn value(&mut self, value: &Value, depth: usize) -> Result<()> {
        self.values += 1;
        if self.values > MAX_ATTRIBUTE_VALUES {
            return Err(Error::too_large(
                "profile.attributes (values, all levels)",
                MAX_ATTRIBUTE_VALUES as u64,
                self.values as u64,
            ));
        }
        match value {
            Value::String(s) => {
                if s.len() > MAX_STRING_BYTES {
                    return Err(Error::too_large(&self.path, MAX_STRING_BYTES as u64, s.len() as u64));
                }
                if let Some(what) = pii::personal_value(s) {
                    return Err(Error::PersonalData { path: self.path.clone(), message: format!("looks like {what}") });
                }
            }
            Value::Array(items) => {
                self.nest(depth)?;
                for (i, item) in items.iter().enumerate() {
                    let len = self.path.len();
                    self.path.push_str(&format!("[{i}]"));
                    self.value(item, depth + 1)?;
                    self.path.truncate(len);
                }
            }
            Value::Object(map) => {
                self.nest(depth)?;
                self.object(map, depth + 1)?;
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
        Ok(())
    }

    fn nest(&self, depth: usize) -> Result<()> {
        if depth >= MAX_ATTRIBUTE_DEPTH {
            return Err(Error::too_large(
                format!("{} (nesting depth)", self.path),
                MAX_ATTRIBUTE_DEPTH as u64,
                depth as u64 + 1,
            ));
        }
        Ok(())
    }
}

fn propensities(v: &Value) -> Result<BTreeMap<String, f64>> {
    let Value::Object(map) = v else {
        return Err(Error::profile("profile.propensities", format!("expected an object, found {}", kind(v))));
    };
    if map.len() > MAX_PROPENSITIES {
        return Err(Error::too_large("profile.propensities", MAX_PROPENSITIES as u64, map.len() as u64));
    }
    let mut out = BTreeMap::new();
    for (key, score) in map {
        let path = format!("profile.propensities.{key}");
        identifier(key, &path)?;
        let x = score.as_f64().filter(|x| (0.0..=1.0).contains(x)).ok_or_else(|| {
            Error::profile(&path, format!("expected a probability from 0 to 1, found {score}"))
        })?;
        out.insert(key.clone(), x);
    }
    Ok(out)
}

fn consent(v: &Value) -> Result<Consent> {
    let Value::Object(map) = v else {
        return Err(Error::profile("profile.consent", format!("expected an object, found {}", kind(v))));
    };
    let mut consent = Consent::default();
    for (key, value) in map {
        let path = format!("profile.consent.{key}");
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "personalisation" => consent.personalisation = boolean(value, &path)?,
            "marketing" => consent.marketing = boolean(value, &path)?,
            "analytics" => consent.analytics = boolean(value, &path)?,
            "channelOptOuts" => {
                let Value::Array(items) = value else {
                    return Err(Error::profile(path, "expected an array of channel names"));
                };
                if items.len() > MAX_CHANNEL_OPT_OUTS {
                    return Err(Error::too_large(path, MAX_CHANNEL_OPT_OUTS as u64, items.len() as u64));
                }
                for (i, item) in items.iter().enumerate() {
                    consent.channel_opt_outs.push(check_id(item, &format!("{path}[{i}]"))?);
                }
            }
            _ => {
                return Err(Error::profile(
                    path,
                    "unknown field; expected personalisation, marketing, analytics or channelOptOuts",
                ))
            }
        }
    }
    Ok(consent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(v: Value) -> Error {
        match Profile::from_value(&v) {
            Ok(p) => panic!("expected an error, got {p:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_a_full_snapshot() {
        let p = Profile::parse(
            r#"{"id": "p-1", "attributes": {"age": 21, "holdings": ["savings"]},
                "propensities": {"savings": 0.25}, "issuedAt": "2026-12-05T09:00:00Z",
                "expiresAt": "2026-12-06T09:00:00Z",
                "consent": {"personalisation": true, "marketing": false, "channelOptOuts": ["app"]}}"#,
        )
        .unwrap();
        assert_eq!(p.id(), Some("p-1"));
        assert!(p.logged_in(), "an id means logged in unless loggedIn says otherwise");
        assert_eq!(p.attributes()["age"], json!(21));
        assert_eq!(p.propensities()["savings"], 0.25);
        assert_eq!(p.consent(), &Consent { personalisation: true, marketing: false, analytics: false, channel_opt_outs: vec!["app".into()] });
        assert_eq!(p.expires_at().unwrap() - p.issued_at().unwrap(), 86_400);
        assert_eq!(p.signed_by(), None);
    }

    #[test]
    fn an_anonymous_visitor_is_expressible() {
        let p = Profile::parse("{}").unwrap();
        assert_eq!(p, Profile::anonymous());
        let p = Profile::parse(r#"{"id": "v-9", "loggedIn": false, "consent": {"marketing": true}}"#).unwrap();
        assert!(!p.logged_in());
        assert!(!p.consent().personalisation && p.consent().marketing);
    }

    #[test]
    fn shape_errors_name_their_path() {
        let cases = [
            (json!([]), "profile: expected a JSON object"),
            (json!({"nmae": 1}), "profile.nmae: unknown field"),
            (json!({"id": 7}), "profile.id: expected a string, found a number"),
            (json!({"id": "two words"}), "profile.id: expected an identifier"),
            (json!({"loggedIn": "yes"}), "profile.loggedIn: expected true or false"),
            (json!({"attributes": []}), "profile.attributes: expected an object"),
            (json!({"attributes": {"context": {}}}), "profile.attributes.context: the name `context` is reserved"),
            (json!({"attributes": {"id": "p-2"}}), "profile.attributes.id: the name `id` is reserved"),
            (json!({"propensities": {"savings": 1.5}}), "profile.propensities.savings: expected a probability from 0 to 1, found 1.5"),
            (json!({"propensities": {"savings": "high"}}), "profile.propensities.savings: expected a probability"),
            (json!({"consent": {"marketing": 1}}), "profile.consent.marketing: expected true or false, found a number"),
            (json!({"consent": {"cookies": true}}), "profile.consent.cookies: unknown field"),
            (json!({"consent": {"channelOptOuts": "web"}}), "profile.consent.channelOptOuts: expected an array"),
            (json!({"issuedAt": "today"}), "profile.issuedAt: expected an RFC 3339 date-time"),
            (json!({"issuedAt": "2026-12-05T09:00:00Z", "expiresAt": "2026-12-05T09:00:00Z"}), "profile.expiresAt: must be after issuedAt"),
            (json!({"snapshot": "e30=", "keyId": "00", "signature": ""}), "profile: this is a signed snapshot"),
        ];
        for (value, expected) in cases {
            let err = error(value.clone());
            assert_eq!(err.code(), "invalid_profile", "{value}: {err}");
            assert!(err.to_string().starts_with(expected), "{value}: {err}");
        }
        let err = Profile::parse("{\"id\": ").unwrap_err();
        assert!(err.to_string().starts_with("profile: not valid JSON"), "{err}");
    }

    #[test]
    fn personal_data_is_refused_with_the_attribute() {
        let cases = [
            (json!({"attributes": {"email": "x"}}), "profile.attributes.email: the attribute name \"email\" suggests an e-mail address"),
            (json!({"attributes": {"firstName": "Jan"}}), "profile.attributes.firstName: the attribute name \"firstName\" suggests a name"),
            (json!({"attributes": {"household": {"partner_name": "x"}}}), "profile.attributes.household.partner_name"),
            (json!({"attributes": {"note": "mail jan@example.nl"}}), "profile.attributes.note: looks like an e-mail address"),
            (json!({"attributes": {"accounts": ["savings", "NL91 ABNA 0417 1643 00"]}}), "profile.attributes.accounts[1]: looks like an IBAN"),
            (json!({"attributes": {"contact": {"preferred": "+31 6 12345678"}}}), "profile.attributes.contact.preferred: looks like a phone number"),
            (json!({"id": "jan@example.nl"}), "profile.id: looks like an e-mail address"),
            (json!({"propensities": {"0612345678": 0.5}}), "profile.propensities.0612345678: looks like a phone number"),
            (json!({"consent": {"channelOptOuts": ["NL91ABNA0417164300"]}}), "profile.consent.channelOptOuts[0]: looks like an IBAN"),
        ];
        for (value, expected) in cases {
            let err = error(value.clone());
            assert_eq!(err.code(), "personal_data", "{value}: {err}");
            assert!(err.to_string().starts_with(expected), "{value}: {err}");
            assert!(err.to_string().ends_with("profile snapshots must be pseudonymous, so the bank must leave this out"), "{err}");
        }
    }

    #[test]
    fn limits() {
        let big = format!("{{\"attributes\": {{\"x\": \"{}\"}}}}", "a".repeat(MAX_PROFILE_BYTES));
        assert_eq!(Profile::parse(&big).unwrap_err(), Error::too_large("profile snapshot", MAX_PROFILE_BYTES as u64, big.len() as u64));
        let long = json!({"attributes": {"x": "a".repeat(MAX_STRING_BYTES + 1)}});
        assert_eq!(error(long).to_string(), format!("profile.attributes.x is too large: {} exceeds the limit of {MAX_STRING_BYTES}", MAX_STRING_BYTES + 1));
        let many: Map<String, Value> = (0..=MAX_ATTRIBUTES).map(|i| (format!("a{i}"), json!(i))).collect();
        assert_eq!(error(json!({"attributes": many})).code(), "too_large");
        let mut deep = json!(1);
        for _ in 0..MAX_ATTRIBUTE_DEPTH {
            deep = json!([deep]);
        }
        assert!(Profile::from_value(&json!({"attributes": {"d": deep.clone()}})).is_ok());
        let err = error(json!({"attributes": {"d": [deep]}}));
        assert!(err.to_string().starts_with("profile.attributes.d[0][0][0][0][0][0] (nesting depth) is too large"), "{err}");
        let values: Vec<Value> = (0..MAX_ATTRIBUTE_VALUES).map(|i| json!(i)).collect();
        assert_eq!(error(json!({"attributes": {"v": values}})).code(), "too_large");
        let scores: Map<String, Value> = (0..=MAX_PROPENSITIES).map(|i| (format!("m{i}"), json!(0.5))).collect();
        assert_eq!(error(json!({"propensities": scores})).code(), "too_large");
        let channels: Vec<String> = (0..=MAX_CHANNEL_OPT_OUTS).map(|i| format!("c{i}")).collect();
        assert_eq!(error(json!({"consent": {"channelOptOuts": channels}})).code(), "too_large");
    }
}
