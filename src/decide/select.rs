//! Stage 1: which propositions may be considered at all.
//!
//! Rules, in the order they are checked; the first that fails names the proposition's fate in
//! the trace:
//!
//! | rule | removes a proposition when |
//! |---|---|
//! | `audience` | the placement is for logged-in customers and the profile is logged off, or the other way round |
//! | `channel` | it is not offered in the placement's channel |
//! | `validity_window` | `now` is outside its campaign dates |
//! | `paused` | the availability overlay in force pauses it (see [`crate::bundle::overlay`]) |
//! | `sold_out` | the overlay in force says it is sold out or has 0 left, or, without an overlay entry, the catalogue's stock is 0 |
//! | `consent_marketing` | it is sales or loyalty and the customer gave no marketing consent |
//! | `channel_opt_out` | it is sales or loyalty and the customer opted out of this channel |
//! | `holdout` | the customer is in the holdout control group and its mode keeps it away |
//! | `eligibility` | its eligibility condition does not hold (may the customer have it?) |
//! | `applicability` | its applicability condition does not hold (does it make sense now?) |
//! | `suitability` | its suitability condition does not hold (is it responsible?) |
//! | `converted`, `dismiss_cooldown`, `impression_cap`, `resting_after_ignored`, `sales_per_day` | a contact policy keeps it away (see [`super::policy`]) |
//! | `no_treatment` | no treatment can be shown (every split weight is 0) |
//! | `no_locale_creative` | the treatment has no creative for any locale of the fallback chain |
//! | `no_compact_creative` | the screen is small and the treatment has no compact creative |
//!
//! Service propositions need no marketing consent and survive a channel opt-out: a rejected
//! payment is news, not marketing. Without personalisation consent conditions see no profile
//! attribute at all (see [`super::context`]), so a condition that needs one fails. The
//! conditions come before the contact policies: a proposition the customer may not have is
//! reported as not eligible, whatever the ledger says.
//!
//! A segment's fallback proposition whose only failure is applicability is kept aside (with its
//! treatment and creative) for the fallback pass of [`super::arbitrate`].

use std::borrow::Cow;

use super::context::Screen;
use super::rules::Rule;
use super::treatment::{self, Assignment};
use crate::bundle::overlay::{availability, Overlay};
use crate::bundle::model::{Audience, ContactPolicy, HoldoutMode, Kind, Placement, PolicyOverride, Proposition, Segment};
use crate::ledger::Ledger;
use super::policy::{self, Blocked};
use crate::condition::{CondId, Session};
use crate::time::{format_rfc3339, Timestamp};

use super::context::View;

/// The shown treatment and creative of a proposition that passed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Choice {
    pub treatment: usize,
    pub assignment: Assignment,
    pub creative: usize,
    /// The probability that the assignment shows this treatment (see [`treatment`]); NaN for a
    /// Thompson draw until the proposition is shown (the slot computes it).
    pub probability: f64,
}

/// A proposition's fate in selection.
#[derive(Debug)]
pub(crate) enum Verdict {
    Pass(Choice),
    Fail {
        rule: Rule,
        detail: Cow<'static, str>,
        /// For a fallback proposition that failed applicability and nothing else.
        fallback: Option<Choice>,
    },
}

/// Stage 1 for every proposition of the catalogue, in catalogue order.
pub(crate) fn select<'a>(gate: &'a Gate<'a>, propositions: &'a [Proposition]) -> impl Iterator<Item = Verdict> + 'a {
    propositions.iter().enumerate().map(move |(i, p)| gate.screen(i, p))
}

/// Everything selection needs to know about this contact.
pub(crate) struct Gate<'a> {
    /// The holdout mode, when the customer is in the holdout group.
    pub holdout: Option<HoldoutMode>,
    pub ledger: Option<&'a Ledger>,
    pub contact_policy: &'a ContactPolicy,
    pub segments: &'a [Segment],
    /// The global sales-per-day cap, when the ledger shows it reached.
    pub sales_blocked: Option<&'a Blocked>,
    pub placement: &'a Placement,
    /// The availability overlay in force, if any.
    pub overlay: Option<&'a Overlay>,
    pub channel: &'a str,
    pub session: &'a Session<'a, View<'a>>,
    pub now: Timestamp,
    pub logged_in: bool,
    pub marketing: bool,
    pub opted_out: bool,
    pub personalised: bool,
    pub profile_id: Option<&'a str>,
    pub locales: &'a [&'a str],
    pub screen: Screen,
    /// The decision's trace is asked for: only then are the details of failures written.
    pub explain: bool,
}

impl Gate<'_> {
    /// A failure's detail for the trace, written only when the trace is asked for.
    fn detail(&self, text: impl FnOnce() -> String) -> Cow<'static, str> {
        if self.explain { Cow::Owned(text()) } else { Cow::Borrowed("") }
    }

    fn holds(&self, condition: Option<CondId>) -> bool {
        condition.is_none_or(|c| self.session.eval(c))
    }

    fn condition_failed(&self, rule: Rule) -> Cow<'static, str> {
        let text = match (rule, self.personalised) {
            (Rule::Eligibility, true) => "the eligibility condition does not hold for this profile",
            (Rule::Applicability, true) => "the applicability condition does not hold for this profile",
            (_, true) => "the suitability condition does not hold for this profile",
            (Rule::Eligibility, false) => {
                "the eligibility condition does not hold (without personalisation consent conditions see no profile attributes)"
            }
            (Rule::Applicability, false) => {
                "the applicability condition does not hold (without personalisation consent conditions see no profile attributes)"
            }
            (_, false) => {
                "the suitability condition does not hold (without personalisation consent conditions see no profile attributes)"
            }
        };
        Cow::Borrowed(text)
    }

    fn audience_ok(&self) -> bool {
        match self.placement.audience {
            Audience::LoggedIn => self.logged_in,
            Audience::LoggedOff => !self.logged_in,
            Audience::Any => true,
        }
    }

    /// Stage 1 for proposition `index` of the catalogue, `p`.
    pub fn screen(&self, index: usize, p: &Proposition) -> Verdict {
        let fail = |rule: Rule, detail: Cow<'static, str>| Verdict::Fail { rule, detail, fallback: None };
        if !self.audience_ok() {
            let (for_whom, profile) = match self.placement.audience {
                Audience::LoggedIn => ("logged-in customers", "logged off"),
                _ => ("logged-off visitors", "logged in"),
            };
            return fail(Rule::Audience, self.detail(|| format!("placement {} is for {for_whom}; this profile is {profile}", self.placement.id)));
        }
        if !p.channels.contains(&self.placement.channel) {
            return fail(Rule::Channel, self.detail(|| format!("not offered in channel {}", self.channel)));
        }
        let started = p.valid_from.is_none_or(|from| from <= self.now);
        let running = p.valid_until.is_none_or(|until| self.now < until);
        if !(started && running) {
            let window = |t: Option<Timestamp>| t.map_or("-".to_string(), format_rfc3339);
            return fail(Rule::ValidityWindow, self.detail(|| format!("runs from {} until {}", window(p.valid_from), window(p.valid_until))));
        }
        if let Some((rule, detail)) = self.unavailable(index, p) {
            return fail(rule, detail);
        }
        let commercial = p.kind != Kind::Service;
        if commercial && !self.marketing {
            let detail = match p.kind {
                Kind::Loyalty => "a loyalty proposition needs marketing consent",
                _ => "a sales proposition needs marketing consent",
            };
            return fail(Rule::ConsentMarketing, detail.into());
        }
        if commercial && self.opted_out {
            return fail(
                Rule::ChannelOptOut,
                self.detail(|| format!("the customer opted out of commercial propositions in channel {}", self.channel)),
            );
        }
        match self.holdout {
            Some(HoldoutMode::NoSales) if commercial => {
                return fail(Rule::Holdout, "in the holdout control group: service propositions only".into());
            }
            Some(HoldoutMode::Fallbacks) if !p.fallback => {
                return fail(Rule::Holdout, "in the holdout control group: the segments' fallback propositions only".into());
            }
            _ => {}
        }
        if !self.holds(p.eligibility) {
            return fail(Rule::Eligibility, self.condition_failed(Rule::Eligibility));
        }
        let applicable = self.holds(p.applicability);
        if !applicable && !p.fallback {
            return fail(Rule::Applicability, self.condition_failed(Rule::Applicability));
        }
        let suitable = self.holds(p.suitability);
        if applicable {
            if !suitable {
                return fail(Rule::Suitability, self.condition_failed(Rule::Suitability));
            }
            if let Some((rule, detail)) = self.contact_policy_blocks(p, commercial) {
                return fail(rule, detail);
            }
            return match self.choose(p) {
                Ok(choice) => Verdict::Pass(choice),
                Err((rule, detail)) => fail(rule, detail),
            };
        }
        // A segment fallback that is not applicable: kept aside unless a later rule would also
        // keep it away.
        let kept = suitable && self.contact_policy_blocks(p, commercial).is_none();
        Verdict::Fail {
            rule: Rule::Applicability,
            detail: self.condition_failed(Rule::Applicability),
            fallback: kept.then(|| self.choose(p).ok()).flatten(),
        }
    }

    /// A pause or a sold-out stock that keeps `p` away (see [`crate::bundle::overlay`]).
    fn unavailable(&self, index: usize, p: &Proposition) -> Option<(Rule, Cow<'static, str>)> {
        let entry = self.overlay.and_then(|o| o.entry(index));
        if entry.is_none() && p.loyalty.as_ref().is_none_or(|l| l.stock != Some(0)) {
            return None; // most propositions: nothing to look at
        }
        let sequence = || self.overlay.map_or(0, |o| o.payload.sequence);
        let supply = availability(p, entry);
        if let Some(reason) = supply.paused {
            return Some((Rule::Paused, self.detail(|| format!("paused by availability overlay {}: {reason}", sequence()))));
        }
        if supply.sold_out {
            let detail = if supply.from_overlay {
                self.detail(|| format!("sold out (availability overlay {})", sequence()))
            } else {
                Cow::Borrowed("sold out: the catalogue's stock is 0 and no availability overlay says otherwise")
            };
            return Some((Rule::SoldOut, detail));
        }
        None
    }

    /// The contact policy that keeps `p` away, judged by the ledger (see [`super::policy`]).
    fn contact_policy_blocks(&self, p: &Proposition, commercial: bool) -> Option<(Rule, Cow<'static, str>)> {
        // A fresh ledger (most visitors) costs no lookup per proposition.
        let ledger = self.ledger.filter(|l| !l.is_empty())?;
        let events = ledger.events(&p.id);
        if !events.is_empty() {
            let segment = self.segments.get(usize::from(p.segment)).map(|s| &s.policy);
            let effective = policy::effective(self.contact_policy, segment.unwrap_or(&PolicyOverride::default()), &p.policy);
            if let Some(blocked) = policy::check(events, &effective, self.now) {
                return Some((blocked.rule, blocked.detail.into()));
            }
        }
        match self.sales_blocked {
            Some(blocked) if commercial => Some((blocked.rule, blocked.detail.clone().into())),
            _ => None,
        }
    }

    fn choose(&self, p: &Proposition) -> Result<Choice, (Rule, Cow<'static, str>)> {
        let (index, assignment, probability) = treatment::choose(p, self.profile_id, self.now)
            .ok_or((Rule::NoTreatment, Cow::Borrowed("no treatment has a weight above 0")))?;
        let t = p.treatments.get(index).ok_or((Rule::NoTreatment, Cow::Borrowed("the chosen treatment is missing")))?;
        let creative = treatment::creative(t, self.locales, self.screen).map_err(|(rule, detail)| (rule, Cow::Owned(detail)))?;
        Ok(Choice { treatment: index, assignment, creative, probability })
    }
}
