//! Contact policies: may this proposition be shown to this customer now, given what the
//! [ledger](crate::ledger) remembers? "Less is more": customers are bothered less, a dismissal
//! is respected, an accepted offer stops being offered.
//!
//! The catalogue sets defaults ([`ContactPolicy`]); a segment and then a proposition may
//! override parts of them ([`PolicyOverride`]); [`effective`] folds the three. The rules, each
//! with its own name in the decision's trace:
//!
//! | rule | blocks when |
//! |---|---|
//! | `converted` | `suppressAfterConversion` and the customer converted on it, ever (as far as the ledger remembers) |
//! | `dismiss_cooldown` | the last "not interested" is fewer than `dismissCooldownDays` days ago |
//! | `impression_cap` | a cap `{impressions: n, days: d}` has n impressions in the last d days |
//! | `resting_after_ignored` | `restAfterIgnored {impressions: k, days: d}`: shown k times since the last click without a click → rests d days from the k-th; afterwards the count starts again |
//! | `sales_per_day` | sales and loyalty propositions only: the catalogue's `salesPerDay` impressions across all of them in the last 24 hours |
//!
//! Windows are rolling ("the last d days" means the last d × 24 hours before `now`).

use crate::bundle::model::{Cap, ContactPolicy, PolicyOverride, Rest};
use super::rules::Rule;
use crate::ledger::{minute, Event, EventKind, Ledger};
use crate::time::Timestamp;

const MINUTES_PER_DAY: u32 = 24 * 60;

/// The rules in force for one proposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub dismiss_cooldown_days: u32,
    pub caps: Vec<Cap>,
    pub suppress_after_conversion: bool,
    pub rest_after_ignored: Option<Rest>,
}

/// The catalogue's policy with the segment's and then the proposition's overrides applied.
pub fn effective(catalogue: &ContactPolicy, segment: &PolicyOverride, proposition: &PolicyOverride) -> Effective {
    let pick = |f: fn(&PolicyOverride) -> Option<u32>, default: u32| f(proposition).or(f(segment)).unwrap_or(default);
    Effective {
        dismiss_cooldown_days: pick(|o| o.dismiss_cooldown_days, catalogue.dismiss_cooldown_days),
        caps: proposition.caps.clone().or_else(|| segment.caps.clone()).unwrap_or_else(|| catalogue.caps.clone()),
        suppress_after_conversion: proposition
            .suppress_after_conversion
            .or(segment.suppress_after_conversion)
            .unwrap_or(catalogue.suppress_after_conversion),
        rest_after_ignored: proposition.rest_after_ignored.or(segment.rest_after_ignored).or(catalogue.rest_after_ignored),
    }
}

/// Why a policy keeps a proposition away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The rule (its stable name is in the module doc).
    pub rule: Rule,
    /// What happened and until when, for people.
    pub detail: String,
}

/// Checks one proposition's own rules against its events (oldest first).
pub fn check(events: &[Event], policy: &Effective, now: Timestamp) -> Option<Blocked> {
    let now_minute = minute(now);
    let last = |kind: EventKind| events.iter().rev().find(|e| e.kind == kind);
    if policy.suppress_after_conversion {
        if let Some(e) = last(EventKind::Convert) {
            return Some(Blocked { rule: Rule::Converted, detail: format!("converted at {}", when(e.minute)) });
        }
    }
    if let Some(e) = last(EventKind::Dismiss) {
        let until = e.minute.saturating_add(policy.dismiss_cooldown_days.saturating_mul(MINUTES_PER_DAY));
        if now_minute < until {
            return Some(Blocked {
                rule: Rule::DismissCooldown,
                detail: format!("not interested at {}; cool-down until {}", when(e.minute), when(until)),
            });
        }
    }
    for cap in &policy.caps {
        let since = now_minute.saturating_sub(cap.days.saturating_mul(MINUTES_PER_DAY));
        let shown = impressions_in(events, since, now_minute);
        if shown >= cap.impressions as usize {
            return Some(Blocked {
                rule: Rule::ImpressionCap,
                detail: format!("shown {shown} times in the last {} days (cap {})", cap.days, cap.impressions),
            });
        }
    }
    if let Some(rest) = policy.rest_after_ignored {
        if let Some(until) = resting_until(events, rest) {
            if now_minute < until {
                return Some(Blocked {
                    rule: Rule::RestingAfterIgnored,
                    detail: format!("shown {} times without a click; resting until {}", rest.impressions, when(until)),
                });
            }
        }
    }
    None
}

/// The global cap against info-overload: blocks sales and loyalty propositions once
/// `sales_per_day` of their impressions fell in the last 24 hours. `is_sales` tells, by
/// ledger key, which propositions count.
pub fn check_sales_per_day(ledger: &Ledger, sales_per_day: Option<u32>, is_sales: impl Fn(u32) -> bool, now: Timestamp) -> Option<Blocked> {
    let limit = sales_per_day?;
    let now_minute = minute(now);
    let since = now_minute.saturating_sub(MINUTES_PER_DAY);
    let shown: usize = ledger
        .entries()
        .iter()
        .filter(|e| is_sales(e.proposition))
        .map(|e| impressions_in(&e.events, since, now_minute))
        .sum();
    (shown >= limit as usize).then(|| Blocked {
        rule: Rule::SalesPerDay,
        detail: format!("{shown} sales impressions in the last 24 hours (limit {limit})"),
    })
}

/// Impressions in `(since, until]`.
fn impressions_in(events: &[Event], since: u32, until: u32) -> usize {
    events.iter().filter(|e| e.kind == EventKind::Impression && e.minute > since && e.minute <= until).count()
}

/// When the current rest ends, if the customer ignored the proposition `rest.impressions`
/// times since the last click (counting again after each rest).
fn resting_until(events: &[Event], rest: Rest) -> Option<u32> {
    let last_click = events.iter().rev().find(|e| e.kind == EventKind::Click).map(|e| e.minute);
    let mut count = 0;
    let mut until: Option<u32> = None;
    for e in events.iter().filter(|e| e.kind == EventKind::Impression && last_click.is_none_or(|c| e.minute > c)) {
        if let Some(end) = until {
            if e.minute < end {
                continue;
            }
            until = None;
            count = 0;
        }
        count += 1;
        if count >= rest.impressions {
            until = Some(e.minute.saturating_add(rest.days.saturating_mul(MINUTES_PER_DAY)));
        }
    }
    until
}

fn when(minute: u32) -> String {
    crate::time::format_rfc3339(i64::from(minute) * 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::DAY;

    const T0: Timestamp = 1_796_083_200; // 2026-12-01T00:00:00Z
    const HOUR: Timestamp = 3600;

    fn catalogue() -> ContactPolicy {
        ContactPolicy {
            dismiss_cooldown_days: 30,
            sales_per_day: Some(3),
            caps: vec![Cap { impressions: 5, days: 7 }],
            suppress_after_conversion: true,
            rest_after_ignored: Some(Rest { impressions: 4, days: 14 }),
        }
    }

    fn rules() -> Effective {
        effective(&catalogue(), &PolicyOverride::default(), &PolicyOverride::default())
    }

    fn ledger(events: &[(&str, EventKind, Timestamp)]) -> Ledger {
        let mut l = Ledger::new("bank-nl-web");
        for (i, (p, kind, at)) in events.iter().enumerate() {
            l.record(p, *kind, &format!("tok-{i}"), *at);
        }
        l
    }

    fn rule_at(l: &Ledger, p: &str, policy: &Effective, now: Timestamp) -> Option<&'static str> {
        check(l.events(p), policy, now).map(|b| b.rule.as_str())
    }

    #[test]
    fn overrides_fold_proposition_over_segment_over_catalogue() {
        let segment = PolicyOverride { dismiss_cooldown_days: Some(60), caps: Some(vec![]), ..Default::default() };
        let proposition = PolicyOverride { dismiss_cooldown_days: Some(7), ..Default::default() };
        let e = effective(&catalogue(), &segment, &proposition);
        assert_eq!(e.dismiss_cooldown_days, 7);
        assert!(e.caps.is_empty());
        assert!(e.suppress_after_conversion);
        assert_eq!(e.rest_after_ignored, Some(Rest { impressions: 4, days: 14 }));
    }

    #[test]
    fn dismissal_cools_down_for_thirty_days() {
        let l = ledger(&[("green-savings", EventKind::Impression, T0), ("green-savings", EventKind::Dismiss, T0 + 60)]);
        assert_eq!(rule_at(&l, "green-savings", &rules(), T0 + 120), Some("dismiss_cooldown"));
        assert_eq!(rule_at(&l, "green-savings", &rules(), T0 + 60 + 30 * DAY - 60), Some("dismiss_cooldown"));
        assert_eq!(rule_at(&l, "green-savings", &rules(), T0 + 60 + 30 * DAY), None);
        let blocked = check(l.events("green-savings"), &rules(), T0 + DAY).unwrap();
        assert_eq!(blocked.detail, "not interested at 2026-12-01T00:01:00Z; cool-down until 2026-12-31T00:01:00Z");
    }

    #[test]
    fn conversion_suppresses_for_good() {
        let l = ledger(&[("green-savings", EventKind::Convert, T0)]);
        assert_eq!(rule_at(&l, "green-savings", &rules(), T0 + 300 * DAY), Some("converted"));
        let mut keep_offering = rules();
        keep_offering.suppress_after_conversion = false;
        assert_eq!(rule_at(&l, "green-savings", &keep_offering, T0 + DAY), None);
    }

    #[test]
    fn caps_count_a_rolling_window() {
        let events: Vec<_> = (0..5).map(|i| ("phishing-tips", EventKind::Impression, T0 + i * DAY)).collect();
        let l = ledger(&events);
        // Five impressions on days 0–4: capped until the first leaves the 7-day window.
        let mut no_rest = rules();
        no_rest.rest_after_ignored = None;
        assert_eq!(rule_at(&l, "phishing-tips", &no_rest, T0 + 4 * DAY + HOUR), Some("impression_cap"));
        assert_eq!(rule_at(&l, "phishing-tips", &no_rest, T0 + 7 * DAY - 60), Some("impression_cap"));
        assert_eq!(rule_at(&l, "phishing-tips", &no_rest, T0 + 7 * DAY), None);
    }

    #[test]
    fn ignored_impressions_rest_and_a_click_resets() {
        let mut policy = rules();
        policy.caps.clear();
        let shown: Vec<_> = (0..4).map(|i| ("afloswijzer", EventKind::Impression, T0 + i * DAY)).collect();
        let l = ledger(&shown);
        // Fourth ignored impression on day 3: rest 14 days from then.
        assert_eq!(rule_at(&l, "afloswijzer", &policy, T0 + 3 * DAY + HOUR), Some("resting_after_ignored"));
        assert_eq!(rule_at(&l, "afloswijzer", &policy, T0 + 17 * DAY - 60), Some("resting_after_ignored"));
        assert_eq!(rule_at(&l, "afloswijzer", &policy, T0 + 17 * DAY), None);
        // After the rest the count starts again: three more ignored impressions do not rest it.
        let mut more = shown.clone();
        more.extend((17..20).map(|d| ("afloswijzer", EventKind::Impression, T0 + d * DAY)));
        assert_eq!(rule_at(&ledger(&more), "afloswijzer", &policy, T0 + 20 * DAY), None);
        // A click before the fourth impression means it was not ignored.
        let mut clicked = shown.clone();
        clicked.insert(2, ("afloswijzer", EventKind::Click, T0 + DAY + HOUR));
        assert_eq!(rule_at(&ledger(&clicked), "afloswijzer", &policy, T0 + 3 * DAY + HOUR), None);
    }

    #[test]
    fn sales_per_day_counts_across_propositions() {
        let l = ledger(&[
            ("green-savings", EventKind::Impression, T0),
            ("kids-savings", EventKind::Impression, T0 + HOUR),
            ("phishing-tips", EventKind::Impression, T0 + HOUR),
            ("design-your-card", EventKind::Impression, T0 + 2 * HOUR),
        ]);
        let sales = ["green-savings", "kids-savings", "design-your-card"].map(crate::ledger::proposition_key);
        let is_sales = |key: u32| sales.contains(&key);
        let blocked = check_sales_per_day(&l, Some(3), is_sales, T0 + 3 * HOUR).unwrap();
        assert_eq!(blocked.rule, Rule::SalesPerDay);
        assert_eq!(blocked.detail, "3 sales impressions in the last 24 hours (limit 3)");
        assert!(check_sales_per_day(&l, Some(4), is_sales, T0 + 3 * HOUR).is_none());
        assert!(check_sales_per_day(&l, Some(3), is_sales, T0 + DAY + HOUR).is_none());
        assert!(check_sales_per_day(&l, None, is_sales, T0).is_none());
    }
}
