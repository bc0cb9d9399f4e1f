//! The one error type of opmaat.
//!
//! Every failure anywhere in the crate (loading a bundle, compiling a catalogue, a bad argument
//! from JavaScript) is one of these variants. Each variant has a stable, machine-readable
//! [`Error::code`] that hosts can branch on: the Wasm shell turns it into a JS `Error` whose
//! `code` property carries it, and the CLI prints it. Codes are never renamed or reused; new
//! variants get new codes.

use std::fmt;

/// What went wrong, with what a reader needs to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The bytes do not start with the magic of what was expected (a bundle's `OPMB`, an
    /// availability overlay's `OPMA`): not that kind of opmaat document at all.
    #[error("not an opmaat {what}: the first bytes are {found:02x?}, expected \"{expected}\"")]
    BadMagic { what: &'static str, found: Vec<u8>, expected: &'static str },

    /// The envelope's format version is one this build cannot read.
    #[error("{what} format version {found} is not supported (this build reads version {supported}); update opmaat or rebuild the {what}")]
    UnsupportedFormatVersion { what: &'static str, found: u16, supported: u16 },

    /// The bundle was signed with a key that is not among the trusted keys.
    #[error("{what} is signed with key {key_id}, which is not a trusted key (trusted: {trusted})")]
    UnknownKey { what: &'static str, key_id: String, trusted: String },

    /// A public or private key could not be used: wrong length, not canonical, small order, or a
    /// key id that does not belong to the key.
    #[error("invalid key {what}: {reason}")]
    InvalidKey { what: String, reason: String },

    /// The Ed25519 signature does not verify: the bundle was altered or signed with another key.
    #[error("{what} signature does not verify with trusted key {key_id}: the {what} was altered or not signed by that key")]
    BadSignature { what: &'static str, key_id: String },

    /// The bundle's validity window has not started yet.
    #[error("{what} is not valid before {not_before} (now is {now})")]
    NotYetValid { what: &'static str, not_before: String, now: String },

    /// The bundle's validity window has ended.
    #[error("{what} expired at {expires_at} (now is {now})")]
    Expired { what: &'static str, expires_at: String, now: String },

    /// The bundle (or availability overlay) is older than the one in use: loading it would roll
    /// the catalogue (or the stock and pause states) back.
    #[error("{what} version {version} is older than version {min_version} already in use (rollback refused)")]
    Rollback { what: &'static str, version: u64, min_version: u64 },

    /// Something is over a size or count limit; checked before anything is allocated for it.
    #[error("{what} is too large: {actual} exceeds the limit of {limit}")]
    TooLarge { what: String, limit: u64, actual: u64 },

    /// Bytes follow the end of the bundle (after the signature, or after the payload).
    #[error("{count} unexpected byte(s) after the end of the {after}")]
    TrailingBytes { count: u64, after: String },

    /// The signed payload or the envelope around it could not be decoded.
    #[error("malformed bundle: {detail}")]
    MalformedPayload { detail: String },

    /// A catalogue (source JSON) is not valid; `path` is a JSON path such as
    /// `propositions[3].value.bank`.
    #[error("{path}: {message}")]
    InvalidCatalogue { path: String, message: String },

    /// A targeting condition is not valid in strict mode; `path` is its JSON path.
    #[error("{path}: {message}")]
    InvalidCondition { path: String, message: String },

    /// An argument passed to the API (an option, a timestamp, a key map) is not valid.
    #[error("{path}: {message}")]
    InvalidArgument { path: String, message: String },

    /// Reading or writing a file failed (CLI only).
    #[error("{path}: {message}")]
    Io { path: String, message: String },

    /// A profile snapshot is not valid: not JSON, the wrong shape, a value out of range;
    /// `path` is a JSON path such as `profile.propensities.savings`.
    #[error("{path}: {message}")]
    InvalidProfile { path: String, message: String },

    /// A profile snapshot carries what looks like personal data (an e-mail address, an IBAN,
    /// a phone number, or an attribute named like one). Profiles must be pseudonymous.
    #[error("{path}: {message}; profile snapshots must be pseudonymous, so the bank must leave this out")]
    PersonalData { path: String, message: String },

    /// The engine requires profile snapshots signed by the bank and this one is not signed.
    #[error("this engine requires profile snapshots signed by the bank: {detail}")]
    UnsignedProfile { detail: String },

    /// A signed profile snapshot does not verify: altered, signed by another key, or by a key
    /// that is not trusted.
    #[error("profile snapshot signed with key {key_id} is refused: {reason}")]
    BadProfileSignature { key_id: String, reason: String },

    /// The profile snapshot's `expiresAt` has passed.
    #[error("profile snapshot expired at {expires_at} (now is {now}); fetch a fresh snapshot from the bank")]
    ProfileExpired { expires_at: String, now: String },

    /// An availability overlay was made for another bundle (its `bundle` id differs from the
    /// loaded bundle's id).
    #[error("this availability overlay is for bundle {overlay_bundle}, not for {bundle}, the bundle in use")]
    WrongBundle { overlay_bundle: String, bundle: String },
}

impl Error {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadMagic { .. } => "bad_magic",
            Error::UnsupportedFormatVersion { .. } => "unsupported_format_version",
            Error::UnknownKey { .. } => "unknown_key",
            Error::InvalidKey { .. } => "invalid_key",
            Error::BadSignature { .. } => "bad_signature",
            Error::NotYetValid { .. } => "not_yet_valid",
            Error::Expired { .. } => "expired",
            Error::Rollback { .. } => "rollback",
            Error::TooLarge { .. } => "too_large",
            Error::TrailingBytes { .. } => "trailing_bytes",
            Error::MalformedPayload { .. } => "malformed_payload",
            Error::InvalidCatalogue { .. } => "invalid_catalogue",
            Error::InvalidCondition { .. } => "invalid_condition",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::Io { .. } => "io",
            Error::InvalidProfile { .. } => "invalid_profile",
            Error::PersonalData { .. } => "personal_data",
            Error::UnsignedProfile { .. } => "unsigned_profile",
            Error::BadProfileSignature { .. } => "bad_profile_signature",
            Error::ProfileExpired { .. } => "profile_expired",
            Error::WrongBundle { .. } => "wrong_bundle",
        }
    }

    /// Every code, in declaration order; documentation and tests read this list.
    pub const CODES: &'static [&'static str] = &[
        "bad_magic",
        "unsupported_format_version",
        "unknown_key",
        "invalid_key",
        "bad_signature",
        "not_yet_valid",
        "expired",
        "rollback",
        "too_large",
        "trailing_bytes",
        "malformed_payload",
        "invalid_catalogue",
        "invalid_condition",
        "invalid_argument",
        "io",
        "invalid_profile",
        "personal_data",
        "unsigned_profile",
        "bad_profile_signature",
        "profile_expired",
        "wrong_bundle",
    ];

    pub(crate) fn too_large(what: impl fmt::Display, limit: u64, actual: u64) -> Error {
        Error::TooLarge { what: what.to_string(), limit, actual }
    }

    pub(crate) fn malformed(detail: impl fmt::Display) -> Error {
        Error::MalformedPayload { detail: detail.to_string() }
    }

    #[cfg(feature = "compiler")]
    pub(crate) fn catalogue(path: impl fmt::Display, message: impl fmt::Display) -> Error {
        Error::InvalidCatalogue { path: path.to_string(), message: message.to_string() }
    }

    pub(crate) fn profile(path: impl fmt::Display, message: impl fmt::Display) -> Error {
        Error::InvalidProfile { path: path.to_string(), message: message.to_string() }
    }

    pub fn argument(path: impl fmt::Display, message: impl fmt::Display) -> Error {
        Error::InvalidArgument { path: path.to_string(), message: message.to_string() }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
