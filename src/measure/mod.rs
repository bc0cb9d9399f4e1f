//! Measurement events for the bank's collector: what the customer did with a shown proposition,
//! tied to the decision that showed it. They exist only with the customer's `analytics` consent
//! and carry nothing personal: the pseudonymous id, ids from the bundle, the event and its time.
//! The browser's `Beacon` sends them; `opmaat learn` reads what the collector stored.
//!
//! Everything an event says about its decision (bundle id and version, placement, position,
//! holdout, treatment, selection probability) is read from the slot's tracking token, which the
//! decision wrote: never from the engine at the time the response arrives, whose bundle may
//! have been replaced since (see [`token`]).
//!
//! Besides the customer's responses there is one event the engine makes itself: `withheld`, for
//! each proposition a holdout-group decision would have shown outside the group
//! ([`Decision::withheld`](crate::Decision::withheld), events in
//! [`Decision::measurement`](crate::Decision::measurement)). The host sends them when it renders
//! the placement, as it sends impressions; they are the control arm's exposures for uplift.

pub mod token;

use serde::{Deserialize, Serialize};

use token::{parse_token, Token};
use crate::ledger::{EventKind, Ledger, Recorded};
use crate::profile::Profile;
use crate::time::{format_rfc3339, Timestamp};
use crate::{Engine, Error, Result};

/// What a measurement event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measured {
    Impression,
    Click,
    Dismiss,
    Convert,
    /// A holdout-group customer would have been shown the proposition.
    Withheld,
}

impl Measured {
    pub const ALL: [Measured; 5] = [Measured::Impression, Measured::Click, Measured::Dismiss, Measured::Convert, Measured::Withheld];

    pub fn as_str(self) -> &'static str {
        match self {
            Measured::Impression => "impression",
            Measured::Click => "click",
            Measured::Dismiss => "dismiss",
            Measured::Convert => "convert",
            Measured::Withheld => "withheld",
        }
    }

    pub fn parse(text: &str) -> Option<Measured> {
        Measured::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

impl From<EventKind> for Measured {
    fn from(kind: EventKind) -> Measured {
        match kind {
            EventKind::Impression => Measured::Impression,
            EventKind::Click => Measured::Click,
            EventKind::Dismiss => Measured::Dismiss,
            EventKind::Convert => Measured::Convert,
        }
    }
}

/// One measurement event, exactly the fields the collector accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Measurement {
    pub decision_id: String,
    pub proposition: String,
    pub treatment: String,
    /// The customer was in the holdout control group when the decision was made.
    pub holdout: bool,
    pub event: Measured,
    /// RFC 3339, UTC.
    pub time: String,
    /// The bundle id and version the decision was made from.
    pub bundle: String,
    pub bundle_version: u64,
    pub placement: String,
    /// 1, 2, … in the placement; 0 for a withheld proposition.
    pub position: u8,
    /// The probability with which the decision picked this treatment (for off-policy
    /// evaluation).
    pub selection_probability: f64,
    /// The profile's pseudonymous id.
    pub subject: String,
}

impl Measurement {
    /// The event of `event` at `now` for the decision facts a token carries.
    pub fn of(token: Token, event: Measured, now: Timestamp, subject: &str) -> Measurement {
        Measurement {
            decision_id: token.decision,
            proposition: token.proposition,
            treatment: token.treatment,
            holdout: token.holdout,
            event,
            time: format_rfc3339(now),
            bundle: token.bundle,
            bundle_version: token.bundle_version,
            placement: token.placement,
            position: token.position,
            selection_probability: token.selection_probability,
            subject: subject.to_string(),
        }
    }
}

/// What recording one response did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub recorded: Recorded,
    /// The event for the collector: present only for a new event of a profile with analytics
    /// consent and a pseudonymous id.
    pub measurement: Option<Measurement>,
}

impl Engine {
    /// Records the customer's response (`kind`) to the proposition a tracking `token` names, in
    /// `ledger`, at `now`; returns what happened and, with analytics consent, the measurement
    /// event. A token that is not one of this bundle's propositions is an `invalid_argument`.
    pub fn record(&self, ledger: &mut Ledger, kind: EventKind, token: &str, now: Timestamp, profile: Option<&Profile>) -> Result<Outcome> {
        let parsed = parse_token(token)?;
        if parsed.withheld {
            return Err(Error::argument("token", "names a proposition the holdout group's decision withheld: it was never shown, so there is no response to record"));
        }
        if parsed.bundle != self.bundle_id() {
            return Err(Error::argument("token", format!("is from bundle {:?}, not from {}", parsed.bundle, self.bundle_id())));
        }
        let catalogue = &self.bundle().payload.catalogue;
        let proposition = catalogue
            .propositions
            .iter()
            .find(|p| p.id == parsed.proposition)
            .ok_or_else(|| Error::argument("token", format!("names proposition {:?}, which is not in bundle {}", parsed.proposition, self.bundle_id())))?;
        if !proposition.treatments.iter().any(|t| t.id == parsed.treatment) {
            return Err(Error::argument("token", format!("names treatment {:?}, which proposition {:?} does not have", parsed.treatment, proposition.id)));
        }
        let recorded = ledger.record(&proposition.id, kind, token, now);
        let measurement = match profile {
            Some(p) if recorded == Recorded::Added && p.consent().analytics => p.id().map(|subject| Measurement::of(parsed, kind.into(), now, subject)),
            _ => None,
        };
        Ok(Outcome { recorded, measurement })
    }
}

#[cfg(all(test, feature = "compiler"))]
mod tests;
