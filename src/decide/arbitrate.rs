//! Stage 3: filling a placement's slots under its rules.
//!
//! Candidates are taken in order of priority (highest first; equal priorities in catalogue
//! order, so the outcome never depends on anything but the inputs). A candidate is passed over,
//! with the first rule that applies, when:
//!
//! 1. `outranked`: every slot is taken;
//! 2. `one_per_segment`: the placement shows one proposition per product segment and its
//!    segment is already shown;
//! 3. `max_sales`: it is a sales or loyalty proposition and `maxSales` of those are shown;
//! 4. `reserved_for_service`: it is a sales or loyalty proposition and taking it would leave
//!    fewer free slots than the service propositions still owed to `minService`. The minimum
//!    is a reservation, not a wish: if too few service propositions qualify, the reserved slots
//!    stay empty rather than go to sales.
//!
//! Then the **fallback** pass: while slots are still empty, the segments' fallback
//! propositions that passed every selection rule except applicability (the context did not fit)
//! are offered, in the same order and under the same four rules, and marked as fallbacks.
//! Fallbacks that were candidates in their own right already had their chance in the first pass.

use super::prioritise::{Funnel, Parts, Status};
use crate::bundle::model::{Kind, Placement, Proposition, SegmentId};

/// A candidate for a slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// The caller's handle (an index into its own list).
    pub id: usize,
    pub priority: f64,
    /// Position in the catalogue: the tie-breaker.
    pub order: usize,
    pub kind: Kind,
    pub segment: SegmentId,
}

/// Why a candidate did not get a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loss {
    Outranked,
    /// The segment is shown by the entry with this id.
    OnePerSegment { shown_by: usize },
    MaxSales,
    ReservedForService,
}

/// The outcome: chosen entry ids in slot order (with whether each is a fallback) and every
/// entry that lost, with why.
#[derive(Debug, Default)]
pub(crate) struct Filled {
    pub chosen: Vec<(usize, bool)>,
    pub lost: Vec<(usize, Loss)>,
}

/// The placement's rules, as numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub slots: usize,
    pub max_sales: usize,
    pub min_service: usize,
    pub one_per_segment: bool,
}

impl Rules {
    pub fn of(p: &Placement) -> Rules {
        let slots = usize::from(p.slots);
        Rules {
            slots,
            max_sales: p.max_sales.map_or(slots, usize::from),
            min_service: usize::from(p.min_service).min(slots),
            one_per_segment: p.one_per_segment,
        }
    }
}

/// How many of the best candidates are ranked first when no trace is asked for: filling a few
/// slots rarely looks further, and when it does every candidate is ranked after all.
const RANKED_FIRST: usize = 32;

/// Stage 3: the slots filled by priority (`with`, the strategic knob set) and, for the knob's
/// cost, the same arbitration with every strategic setting at 0 (`without`). With `complete`
/// every loser is in the result's `lost` (for the trace); without, only the best candidates are
/// ranked and `lost` may be partial, the slots are the same.
#[inline(never)] // called twice for a held-out customer: one copy keeps the Wasm small
pub(crate) fn arbitrate(funnel: &Funnel, propositions: &[Proposition], rules: Rules, complete: bool) -> (Filled, Filled) {
    let entries = |fallback: bool, priority: fn(&Parts) -> f64| {
        let out: Vec<Entry> = funnel
            .statuses
            .iter()
            .zip(propositions)
            .enumerate()
            .filter_map(|(i, (s, p))| {
                let parts = match s {
                    Status::Candidate { parts, .. } if !fallback => funnel.parts.get(*parts)?,
                    Status::Fallback { parts, .. } if fallback => funnel.parts.get(*parts)?,
                    _ => return None,
                };
                let priority = priority(parts);
                (priority > 0.0).then_some(Entry { id: i, priority, order: i, kind: p.kind, segment: p.segment })
            })
            .collect();
        out
    };
    let run = |priority: fn(&Parts) -> f64| {
        let (mut main, mut fallbacks) = (entries(false, priority), entries(true, priority));
        if !complete {
            if let Some(filled) = fill_from_the_best(rules, &mut main, &mut fallbacks) {
                return filled;
            }
        }
        rank(&mut main);
        rank(&mut fallbacks);
        fill(rules, &main, &fallbacks)
    };
    (run(|parts| parts.priority), run(|parts| parts.priority_without_knob))
}

/// The slots filled from only the [`RANKED_FIRST`] best main and fallback candidates, when that
/// gives what ranking all of them would: the slots filled by main candidates alone, or every
/// main candidate among the best and the slots filled (or every fallback among the best too).
fn fill_from_the_best(rules: Rules, main: &mut [Entry], fallbacks: &mut [Entry]) -> Option<Filled> {
    let best_main = rank_best(main, RANKED_FIRST);
    let best_fallbacks = rank_best(fallbacks, RANKED_FIRST);
    let filled = fill(rules, main.get(..best_main)?, fallbacks.get(..best_fallbacks)?);
    let full = filled.chosen.len() >= rules.slots;
    let main_done = best_main == main.len();
    let by_main_alone = full && filled.chosen.iter().all(|&(_, fallback)| !fallback);
    (by_main_alone || (main_done && (full || best_fallbacks == fallbacks.len()))).then_some(filled)
}

/// Puts the `k` best entries first, in rank order; returns how many that is.
fn rank_best(entries: &mut [Entry], k: usize) -> usize {
    if entries.len() <= k || k == 0 {
        rank(entries);
        return entries.len();
    }
    entries.select_nth_unstable_by(k - 1, by_rank);
    if let Some(best) = entries.get_mut(..k) {
        rank(best);
    }
    k
}

fn by_rank(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    b.priority.total_cmp(&a.priority).then(a.order.cmp(&b.order))
}

/// Sorts by priority, highest first; ties by catalogue order. Catalogue positions are unique, so
/// the order is total and an unstable sort gives the one possible result.
pub(crate) fn rank(entries: &mut [Entry]) {
    entries.sort_unstable_by(by_rank);
}

/// Fills the slots from ranked `main` candidates, then from ranked `fallbacks`.
pub(crate) fn fill(rules: Rules, main: &[Entry], fallbacks: &[Entry]) -> Filled {
    let mut state = State { rules, filled: Filled::default(), segments: Vec::new(), sales: 0, service: 0 };
    for e in main {
        state.offer(e, false);
    }
    for e in fallbacks {
        state.offer(e, true);
    }
    state.filled
}

struct State {
    rules: Rules,
    filled: Filled,
    /// Segments shown, with the entry showing each.
    segments: Vec<(SegmentId, usize)>,
    sales: usize,
    service: usize,
}

impl State {
    fn offer(&mut self, e: &Entry, fallback: bool) {
        match self.loss(e) {
            Some(loss) => self.filled.lost.push((e.id, loss)),
            None => {
                self.filled.chosen.push((e.id, fallback));
                self.segments.push((e.segment, e.id));
                if e.kind == Kind::Service {
                    self.service += 1;
                } else {
                    self.sales += 1;
                }
            }
        }
    }

    fn loss(&self, e: &Entry) -> Option<Loss> {
        let taken = self.filled.chosen.len();
        if taken >= self.rules.slots {
            return Some(Loss::Outranked);
        }
        if self.rules.one_per_segment {
            if let Some(&(_, shown_by)) = self.segments.iter().find(|(s, _)| *s == e.segment) {
                return Some(Loss::OnePerSegment { shown_by });
            }
        }
        if e.kind != Kind::Service {
            if self.sales >= self.rules.max_sales {
                return Some(Loss::MaxSales);
            }
            let free_after = self.rules.slots - taken - 1;
            let owed = self.rules.min_service.saturating_sub(self.service);
            if free_after < owed {
                return Some(Loss::ReservedForService);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: usize, priority: f64, kind: Kind, segment: SegmentId) -> Entry {
        Entry { id, priority, order: id, kind, segment }
    }

    fn rules(slots: usize, max_sales: usize, min_service: usize, one_per_segment: bool) -> Rules {
        Rules { slots, max_sales, min_service, one_per_segment }
    }

    #[test]
    fn filling_from_the_best_chooses_what_ranking_everything_does() {
        let mut rng = crate::decide::bandit::Rng::seeded(11);
        let mut below = |n: usize| (rng.next_u64() % n as u64) as usize;
        let (mut shortcuts, mut fallbacks_used, mut declined) = (0, 0, 0);
        for round in 0..3000 {
            let kinds = [Kind::Sales, Kind::Service, Kind::Loyalty];
            let n = below(240);
            let mut all: Vec<Entry> = (0..n)
                .map(|i| {
                    let segments = 1 + below(9);
                    entry(i, (1 + below(40)) as f64, kinds[below(3)], below(segments) as SegmentId)
                })
                .collect();
            let split = below(n + 1);
            let mut fallbacks = all.split_off(split);
            let mut main = all;
            let slots = 1 + below(4);
            let r = rules(slots, below(slots + 1), below(2).min(slots), round % 2 == 0);
            let (mut ranked_main, mut ranked_fallbacks) = (main.clone(), fallbacks.clone());
            rank(&mut ranked_main);
            rank(&mut ranked_fallbacks);
            let everything = fill(r, &ranked_main, &ranked_fallbacks);
            if let Some(best) = fill_from_the_best(r, &mut main, &mut fallbacks) {
                assert_eq!(best.chosen, everything.chosen, "round {round}");
                shortcuts += 1;
                fallbacks_used += usize::from(best.chosen.iter().any(|&(_, f)| f));
            } else {
                declined += 1;
            }
        }
        // The shortcut is taken most of the time, with and without fallbacks in the slots, and
        // declined when the best do not settle the slots.
        assert!(shortcuts > 2000 && fallbacks_used > 50 && declined > 0, "{shortcuts} {fallbacks_used} {declined}");
    }

    #[test]
    fn ranks_by_priority_then_catalogue_order() {
        let mut e = vec![entry(0, 1.0, Kind::Sales, 0), entry(1, 2.0, Kind::Sales, 0), entry(2, 1.0, Kind::Sales, 0), entry(3, f64::MAX, Kind::Sales, 0)];
        rank(&mut e);
        assert_eq!(e.iter().map(|e| e.id).collect::<Vec<_>>(), [3, 1, 0, 2]);
    }

    #[test]
    fn service_minimum_is_reserved() {
        // Three sales outrank the only service proposition; one slot is kept for it.
        let main = [entry(0, 9.0, Kind::Sales, 0), entry(1, 8.0, Kind::Sales, 1), entry(2, 7.0, Kind::Loyalty, 2), entry(3, 1.0, Kind::Service, 3)];
        let f = fill(rules(3, 3, 1, false), &main, &[]);
        assert_eq!(f.chosen, [(0, false), (1, false), (3, false)]);
        assert_eq!(f.lost, [(2, Loss::ReservedForService)]);
        // Without a service candidate the reserved slot stays empty.
        let f = fill(rules(3, 3, 1, false), &main[..3], &[]);
        assert_eq!(f.chosen.len(), 2);
    }

    #[test]
    fn max_sales_counts_loyalty_and_one_per_segment_holds() {
        let main = [entry(0, 9.0, Kind::Sales, 0), entry(1, 8.0, Kind::Sales, 0), entry(2, 7.0, Kind::Loyalty, 1), entry(3, 6.0, Kind::Sales, 2), entry(4, 5.0, Kind::Service, 3), entry(5, 4.0, Kind::Service, 3)];
        let f = fill(rules(4, 2, 0, true), &main, &[]);
        assert_eq!(f.chosen, [(0, false), (2, false), (4, false)]);
        assert_eq!(f.lost, [(1, Loss::OnePerSegment { shown_by: 0 }), (3, Loss::MaxSales), (5, Loss::OnePerSegment { shown_by: 4 })]);
    }

    #[test]
    fn fallbacks_fill_empty_slots_under_the_same_rules() {
        let main = [entry(0, 9.0, Kind::Service, 0)];
        let fallbacks = [entry(1, 0.5, Kind::Service, 0), entry(2, 0.1, Kind::Sales, 1), entry(3, 0.05, Kind::Sales, 2)];
        let f = fill(rules(3, 1, 1, true), &main, &fallbacks);
        assert_eq!(f.chosen, [(0, false), (2, true)]);
        assert_eq!(f.lost, [(1, Loss::OnePerSegment { shown_by: 0 }), (3, Loss::MaxSales)]);
        let f = fill(rules(1, 1, 0, false), &main, &fallbacks);
        assert_eq!(f.chosen, [(0, false)]);
        assert!(f.lost.iter().all(|(_, l)| *l == Loss::Outranked));
    }
}
