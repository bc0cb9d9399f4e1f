//! Measurement events for the bank's collector: what the customer did with a shown proposition,
//! tied to the decision that showed it. They exist only with the customer's `analytics` consent
//! and carry nothing personal: the pseudonymous id, ids from the bundle, the event and its time.
//! The browser's `Beacon` sends them; `opmaat learn` reads what the collector stored.

use serde::{Deserialize, Serialize};

use crate::decide::parse_token;
use crate::ledger::{EventKind, Ledger, Recorded};
use crate::profile::Profile;
use crate::time::{format_rfc3339, Timestamp};
use crate::{Engine, Error, Result};

/// One measurement event, exactly the fields the collector accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Measurement {
    pub decision_id: String,
    pub proposition: String,
    pub treatment: String,
    /// The customer was in the holdout control group when the decision was made.
    pub holdout: bool,
    pub event: EventKind,
    /// RFC 3339, UTC.
    pub time: String,
    pub bundle: String,
    pub bundle_version: u64,
    /// The profile's pseudonymous id.
    pub subject: String,
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
            Some(p) if recorded == Recorded::Added && p.consent().analytics => p.id().map(|subject| Measurement {
                decision_id: parsed.decision,
                proposition: parsed.proposition,
                treatment: parsed.treatment,
                holdout: crate::decide::holdout::is_member(self.bundle().payload.catalogue.holdout.as_ref(), Some(subject)),
                event: kind,
                time: format_rfc3339(now),
                bundle: self.bundle_id().to_string(),
                bundle_version: self.version(),
                subject: subject.to_string(),
            }),
            _ => None,
        };
        Ok(Outcome { recorded, measurement })
    }
}
