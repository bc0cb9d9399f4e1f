//! The names of the funnel's stages and of the rules that keep a proposition off the screen:
//! the vocabulary of the trace, stable (hosts and dashboards may count them), shared by every
//! stage.

use serde::Serialize;

/// Where in the funnel a proposition was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Select,
    Prioritise,
    Arbitrate,
}

/// The rule that removed a proposition. Serialised in snake_case (`validity_window`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Audience,
    Channel,
    ValidityWindow,
    Paused,
    SoldOut,
    ConsentMarketing,
    ChannelOptOut,
    Holdout,
    Eligibility,
    Applicability,
    Suitability,
    Converted,
    DismissCooldown,
    ImpressionCap,
    RestingAfterIgnored,
    SalesPerDay,
    NoTreatment,
    NoLocaleCreative,
    NoCompactCreative,
    ZeroPriority,
    Outranked,
    OnePerSegment,
    MaxSales,
    ReservedForService,
}

impl Rule {
    /// Every rule, in funnel order.
    pub const ALL: [Rule; 24] = [
        Rule::Audience,
        Rule::Channel,
        Rule::ValidityWindow,
        Rule::Paused,
        Rule::SoldOut,
        Rule::ConsentMarketing,
        Rule::ChannelOptOut,
        Rule::Holdout,
        Rule::Eligibility,
        Rule::Applicability,
        Rule::Suitability,
        Rule::Converted,
        Rule::DismissCooldown,
        Rule::ImpressionCap,
        Rule::RestingAfterIgnored,
        Rule::SalesPerDay,
        Rule::NoTreatment,
        Rule::NoLocaleCreative,
        Rule::NoCompactCreative,
        Rule::ZeroPriority,
        Rule::Outranked,
        Rule::OnePerSegment,
        Rule::MaxSales,
        Rule::ReservedForService,
    ];

    /// The stable name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Audience => "audience",
            Rule::Channel => "channel",
            Rule::ValidityWindow => "validity_window",
            Rule::Paused => "paused",
            Rule::SoldOut => "sold_out",
            Rule::ConsentMarketing => "consent_marketing",
            Rule::ChannelOptOut => "channel_opt_out",
            Rule::Holdout => "holdout",
            Rule::Converted => "converted",
            Rule::DismissCooldown => "dismiss_cooldown",
            Rule::ImpressionCap => "impression_cap",
            Rule::RestingAfterIgnored => "resting_after_ignored",
            Rule::SalesPerDay => "sales_per_day",
            Rule::Eligibility => "eligibility",
            Rule::Applicability => "applicability",
            Rule::Suitability => "suitability",
            Rule::NoTreatment => "no_treatment",
            Rule::NoLocaleCreative => "no_locale_creative",
            Rule::NoCompactCreative => "no_compact_creative",
            Rule::ZeroPriority => "zero_priority",
            Rule::Outranked => "outranked",
            Rule::OnePerSegment => "one_per_segment",
            Rule::MaxSales => "max_sales",
            Rule::ReservedForService => "reserved_for_service",
        }
    }
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Select => "select",
            Stage::Prioritise => "prioritise",
            Stage::Arbitrate => "arbitrate",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typescript_declarations_name_every_rule() {
        let declarations = include_str!("../wasm/mod.rs");
        let start = declarations.find("export type TraceRule =").unwrap();
        let end = start + declarations[start..].find(';').unwrap();
        let names: Vec<&str> = declarations[start..end].split('"').skip(1).step_by(2).collect();
        assert_eq!(names, Rule::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>());
    }

    #[test]
    fn rule_names_match_their_serialisation() {
        for rule in Rule::ALL {
            assert_eq!(serde_json::to_value(rule).unwrap(), rule.as_str());
        }
        for stage in [Stage::Select, Stage::Prioritise, Stage::Arbitrate] {
            assert_eq!(serde_json::to_value(stage).unwrap(), stage.as_str());
        }
    }
}
