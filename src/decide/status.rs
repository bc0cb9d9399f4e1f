//! What the stages of the funnel hand each other: every proposition's status so far and the
//! priority parts of those still in the running.

use std::borrow::Cow;

use super::explain::Rule;
use super::prioritise::Parts;
use super::select::Choice;
use crate::bundle::model::{Proposition, Segment};
use crate::{Error, Result};

/// One proposition on its way through the funnel. Small: a large catalogue has one per
/// proposition, most of them `Out`; the parts live in [`Funnel::parts`].
pub(crate) enum Status {
    /// Removed in selection.
    Out { rule: Rule, detail: Cow<'static, str> },
    /// Passed selection; `parts` indexes [`Funnel::parts`].
    Candidate { choice: Choice, parts: usize },
    /// A segment fallback that failed applicability only.
    Fallback { choice: Choice, parts: usize, detail: Cow<'static, str> },
}

/// A decision in the making.
pub(crate) struct Funnel {
    /// One per proposition, in catalogue order.
    pub statuses: Vec<Status>,
    /// The priority parts of the candidates and fallbacks.
    pub parts: Vec<Parts>,
}

impl Funnel {
    /// The choice and parts of proposition `i`, if it is a candidate or a fallback.
    pub fn chosen(&self, i: usize) -> Option<(&Choice, &Parts)> {
        match self.statuses.get(i)? {
            Status::Candidate { choice, parts } | Status::Fallback { choice, parts, .. } => Some((choice, self.parts.get(*parts)?)),
            Status::Out { .. } => None,
        }
    }
}

/// The segment a proposition belongs to.
pub(crate) fn segment_of<'c>(segments: &'c [Segment], p: &Proposition) -> Result<&'c Segment> {
    segments
        .get(usize::from(p.segment))
        .ok_or_else(|| Error::malformed(format!("proposition {} names a missing segment", p.id)))
}
