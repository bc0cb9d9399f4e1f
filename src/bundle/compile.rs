//! Catalogue JSON → validated, compiled [`Payload`] (authoring side, native only).
//!
//! Everything a host would otherwise have to distrust is checked here, once, with the JSON path
//! of the offending value in the error: ids unique and free of invisible characters (bidi
//! controls, zero-width characters) that would make two ids look alike, numbers finite and in
//! range, windows ordered, links resolved as a browser resolves them ([`link_target`]) and then
//! `https:` to an allowed host on the default port or relative, every proposition with a creative
//! in the default locale, every lever naming a real segment, every condition compiled in strict
//! mode, and every count and string within the limits a host enforces when it loads the bundle.

use std::collections::{BTreeMap, BTreeSet};

use super::catalogue as src;
use crate::limits::*;
use super::model::{self as out, Payload};
use crate::condition::{Compiler, Mode};
use crate::ledger;
use crate::time::{parse_rfc3339, Timestamp};
use crate::{Error, Result};

/// Reads a catalogue file.
pub fn read_catalogue_file(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Io { path: path.to_string(), message: e.to_string() })
}

/// Parses catalogue JSON; a syntax or shape error names its JSON path.
pub fn parse_catalogue(json: &str) -> Result<src::Catalogue> {
    let mut de = serde_json::Deserializer::from_str(json);
    let catalogue: src::Catalogue = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { "catalogue".to_string() } else { path };
        Error::catalogue(path, e.into_inner())
    })?;
    de.end().map_err(|e| Error::catalogue("catalogue", e))?;
    Ok(catalogue)
}

/// Parses and compiles catalogue JSON into the payload of a bundle issued at `issued_at`.
pub fn compile_json(json: &str, issued_at: Timestamp) -> Result<Payload> {
    compile(&parse_catalogue(json)?, issued_at)
}

/// Compiles a parsed catalogue.
pub fn compile(c: &src::Catalogue, issued_at: Timestamp) -> Result<Payload> {
    check_id(&c.catalogue, "catalogue")?;
    let not_before = time(&c.valid.from, "valid.from")?;
    let expires_at = time(&c.valid.until, "valid.until")?;
    if expires_at <= not_before {
        return Err(Error::catalogue("valid.until", "must be after valid.from"));
    }
    check_id(&c.default_locale, "defaultLocale")?;
    check_count(c.propositions.len(), MAX_PROPOSITIONS, "propositions")?;
    check_count(c.placements.len(), MAX_PLACEMENTS, "placements")?;
    check_count(c.allowed_link_hosts.len(), MAX_SMALL_LIST, "allowedLinkHosts")?;
    let allowed_link_hosts = c
        .allowed_link_hosts
        .iter()
        .enumerate()
        .map(|(i, host)| link_host_entry(host, &format!("allowedLinkHosts[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    for name in c.saved_groups.keys() {
        check_id(name, &format!("savedGroups.{name}"))?;
    }

    let mut tables = Tables::default();
    for (i, p) in c.propositions.iter().enumerate() {
        tables.segment(&p.segment, &format!("propositions[{i}].segment"))?;
    }
    let segments = segments(c, &tables)?;
    let mut conditions = Compiler::new(Mode::Strict, &c.saved_groups);
    let placements = c
        .placements
        .iter()
        .enumerate()
        .map(|(i, p)| placement(p, &format!("placements[{i}]"), &mut tables))
        .collect::<Result<Vec<_>>>()?;
    unique(c.placements.iter().map(|p| p.id.as_str()), "placements", "id")?;
    unique(c.propositions.iter().map(|p| p.id.as_str()), "propositions", "id")?;
    check_ledger_keys(&c.propositions)?;
    for id in c.arbitration.strategic.propositions.keys() {
        if !c.propositions.iter().any(|p| p.id == *id) {
            return Err(Error::catalogue(
                format!("arbitration.strategic.propositions.{id}"),
                "no proposition has this id",
            ));
        }
    }
    let mut propositions = Vec::with_capacity(c.propositions.len());
    let mut fallbacks: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, p) in c.propositions.iter().enumerate() {
        let path = format!("propositions[{i}]");
        if p.fallback {
            if let Some(other) = fallbacks.insert(&p.segment, i) {
                return Err(Error::catalogue(
                    format!("{path}.fallback"),
                    format!("segment {:?} already has a fallback: propositions[{other}]", p.segment),
                ));
            }
        }
        let strategic = c.arbitration.strategic.propositions.get(&p.id).copied().unwrap_or(0.0);
        number(strategic, &format!("arbitration.strategic.propositions.{}", p.id))?;
        propositions.push(proposition(c, &allowed_link_hosts, p, &path, strategic, &mut tables, &mut conditions)?);
    }
    let a = &c.arbitration;
    non_negative(a.bank_value_weight, "arbitration.bankValueWeight")?;
    non_negative(a.customer_value_weight, "arbitration.customerValueWeight")?;
    if a.bank_value_weight == 0.0 && a.customer_value_weight == 0.0 {
        return Err(Error::catalogue("arbitration", "bankValueWeight and customerValueWeight cannot both be 0: every priority would be 0"));
    }
    let cp = &c.contact_policies;
    let contact_policy = out::ContactPolicy {
        dismiss_cooldown_days: cp.dismiss_cooldown_days,
        sales_per_day: cp.sales_per_day,
        caps: caps(&cp.caps, "contactPolicies.caps")?,
        suppress_after_conversion: cp.suppress_after_conversion,
        rest_after_ignored: rest(cp.rest_after_ignored, "contactPolicies.restAfterIgnored")?,
    };
    let holdout = match &c.holdout {
        None => None,
        Some(h) => {
            if !(0.0..=100.0).contains(&h.percent) {
                return Err(Error::catalogue("holdout.percent", "expected a percentage from 0 to 100"));
            }
            check_id(&h.salt, "holdout.salt")?;
            Some(out::Holdout {
                percent: h.percent,
                salt: h.salt.clone(),
                mode: match h.mode {
                    src::HoldoutMode::NoSales => out::HoldoutMode::NoSales,
                    src::HoldoutMode::Random => out::HoldoutMode::Random,
                    src::HoldoutMode::Fallbacks => out::HoldoutMode::Fallbacks,
                },
            })
        }
    };
    let catalogue = out::Catalogue {
        default_locale: c.default_locale.clone(),
        segments,
        channels: tables.channels,
        allowed_link_hosts,
        arbitration: out::Arbitration {
            bank_value_weight: a.bank_value_weight,
            customer_value_weight: a.customer_value_weight,
            sampled_propensities: a.sampled_propensities,
        },
        contact_policy,
        holdout,
        placements,
        propositions,
        conditions: conditions.finish(),
    };
    catalogue.check()?;
    Ok(Payload { bundle_id: c.catalogue.clone(), version: c.version, issued_at, not_before, expires_at, catalogue })
}

/// Interned segment and channel names, in order of first appearance.
#[derive(Default)]
struct Tables {
    segments: Vec<String>,
    channels: Vec<String>,
}

impl Tables {
    fn segment(&mut self, name: &str, path: &str) -> Result<out::SegmentId> {
        intern(&mut self.segments, name, path, MAX_SEGMENTS, "segments")
    }

    fn channel(&mut self, name: &str, path: &str) -> Result<out::ChannelId> {
        intern(&mut self.channels, name, path, MAX_CHANNELS, "channels")
    }
}

fn intern(table: &mut Vec<String>, name: &str, path: &str, max: usize, what: &str) -> Result<u16> {
    check_id(name, path)?;
    let index = match table.iter().position(|s| s == name) {
        Some(index) => index,
        None => {
            if table.len() == max {
                return Err(Error::catalogue(path, format!("more than {max} distinct {what}")));
            }
            table.push(name.to_string());
            table.len() - 1
        }
    };
    Ok(index as u16)
}

fn segments(c: &src::Catalogue, tables: &Tables) -> Result<Vec<out::Segment>> {
    let known = |map: &BTreeMap<String, f64>, path: &str| -> Result<()> {
        for (name, value) in map {
            let path = format!("{path}.{name}");
            if !tables.segments.contains(name) {
                return Err(Error::catalogue(path, "no proposition has this segment"));
            }
            number(*value, &path)?;
        }
        Ok(())
    };
    known(&c.arbitration.levers, "arbitration.levers")?;
    known(&c.arbitration.strategic.segments, "arbitration.strategic.segments")?;
    for name in c.contact_policies.segments.keys() {
        if !tables.segments.contains(name) {
            return Err(Error::catalogue(format!("contactPolicies.segments.{name}"), "no proposition has this segment"));
        }
    }
    tables
        .segments
        .iter()
        .map(|name| {
            let policy = match c.contact_policies.segments.get(name) {
                Some(o) => policy_override(o, &format!("contactPolicies.segments.{name}"))?,
                None => out::PolicyOverride::default(),
            };
            Ok(out::Segment {
                id: name.clone(),
                lever: c.arbitration.levers.get(name).copied().unwrap_or(0.0),
                strategic: c.arbitration.strategic.segments.get(name).copied().unwrap_or(0.0),
                policy,
            })
        })
        .collect()
}

fn placement(p: &src::Placement, path: &str, tables: &mut Tables) -> Result<out::Placement> {
    check_id(&p.id, &format!("{path}.id"))?;
    let channel = tables.channel(&p.channel, &format!("{path}.channel"))?;
    if p.slots == 0 || usize::from(p.slots) > MAX_SLOTS {
        return Err(Error::catalogue(format!("{path}.slots"), format!("expected 1 to {MAX_SLOTS} slots")));
    }
    if p.min_service > p.slots {
        return Err(Error::catalogue(format!("{path}.minService"), format!("cannot exceed slots ({})", p.slots)));
    }
    if p.max_sales.is_some_and(|m| m > p.slots) {
        return Err(Error::catalogue(format!("{path}.maxSales"), format!("cannot exceed slots ({})", p.slots)));
    }
    Ok(out::Placement {
        id: p.id.clone(),
        channel,
        audience: match p.audience {
            src::Audience::LoggedIn => out::Audience::LoggedIn,
            src::Audience::LoggedOff => out::Audience::LoggedOff,
            src::Audience::Any => out::Audience::Any,
        },
        slots: p.slots,
        max_sales: p.max_sales,
        min_service: p.min_service,
        one_per_segment: p.one_per_segment,
    })
}

fn proposition(
    c: &src::Catalogue,
    hosts: &[String],
    p: &src::Proposition,
    path: &str,
    strategic: f64,
    tables: &mut Tables,
    conditions: &mut Compiler,
) -> Result<out::Proposition> {
    check_id(&p.id, &format!("{path}.id"))?;
    let segment = tables.segment(&p.segment, &format!("{path}.segment"))?;
    if p.channels.is_empty() {
        return Err(Error::catalogue(format!("{path}.channels"), "expected at least one channel"));
    }
    check_count(p.channels.len(), MAX_CHANNELS, &format!("{path}.channels"))?;
    let channels = p
        .channels
        .iter()
        .enumerate()
        .map(|(i, ch)| tables.channel(ch, &format!("{path}.channels[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    let (valid_from, valid_until) = match &p.valid {
        None => (None, None),
        Some(w) => {
            let from = time(&w.from, &format!("{path}.valid.from"))?;
            let until = time(&w.until, &format!("{path}.valid.until"))?;
            if until <= from {
                return Err(Error::catalogue(format!("{path}.valid.until"), "must be after valid.from"));
            }
            (Some(from), Some(until))
        }
    };
    let mut condition = |value: &Option<serde_json::Value>, field: &str| {
        value.as_ref().map(|v| conditions.compile(v, &format!("{path}.{field}"))).transpose()
    };
    let eligibility = condition(&p.eligibility, "eligibility")?;
    let applicability = condition(&p.applicability, "applicability")?;
    let suitability = condition(&p.suitability, "suitability")?;
    check_count(p.context_weights.len(), MAX_SMALL_LIST, &format!("{path}.contextWeights"))?;
    let mut context_weights = Vec::with_capacity(p.context_weights.len());
    for (i, w) in p.context_weights.iter().enumerate() {
        let wpath = format!("{path}.contextWeights[{i}]");
        number(w.weight, &format!("{wpath}.weight"))?;
        let when = conditions.compile(&w.when, &format!("{wpath}.when"))?;
        context_weights.push(out::ContextWeight { when, weight: w.weight });
    }
    non_negative(p.value.bank, &format!("{path}.value.bank"))?;
    non_negative(p.value.customer, &format!("{path}.value.customer"))?;
    if !(0.0..=1.0).contains(&p.propensity.default) {
        return Err(Error::catalogue(format!("{path}.propensity.default"), "expected a probability from 0 to 1"));
    }
    if let Some(model) = &p.propensity.model {
        check_id(model, &format!("{path}.propensity.model"))?;
    }
    number(p.lever, &format!("{path}.lever"))?;
    let policy = match &p.contact_policy {
        Some(o) => policy_override(o, &format!("{path}.contactPolicy"))?,
        None => out::PolicyOverride::default(),
    };
    if p.treatments.is_empty() {
        return Err(Error::catalogue(format!("{path}.treatments"), "expected at least one treatment"));
    }
    check_count(p.treatments.len(), MAX_TREATMENTS, &format!("{path}.treatments"))?;
    unique(p.treatments.iter().map(|t| t.id.as_str()), &format!("{path}.treatments"), "id")?;
    let treatments = p
        .treatments
        .iter()
        .enumerate()
        .map(|(i, t)| treatment(c, hosts, t, &format!("{path}.treatments[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    if p.treatments.iter().all(|t| t.weight == 0.0) {
        return Err(Error::catalogue(format!("{path}.treatments"), "at least one treatment needs a weight above 0"));
    }
    let loyalty = p.loyalty.as_ref().map(|l| loyalty(p, l, &format!("{path}.loyalty"))).transpose()?;
    Ok(out::Proposition {
        id: p.id.clone(),
        segment,
        kind: match p.kind {
            src::Kind::Sales => out::Kind::Sales,
            src::Kind::Service => out::Kind::Service,
            src::Kind::Loyalty => out::Kind::Loyalty,
        },
        channels,
        valid_from,
        valid_until,
        eligibility,
        applicability,
        suitability,
        context_weights,
        bank_value: p.value.bank,
        customer_value: p.value.customer,
        propensity_model: p.propensity.model.clone(),
        default_propensity: p.propensity.default,
        lever: p.lever,
        strategic,
        fallback: p.fallback,
        policy,
        assignment: match p.assignment {
            src::Assignment::Split => out::Assignment::Split,
            src::Assignment::Bandit => out::Assignment::Bandit,
        },
        treatments,
        loyalty,
    })
}

fn loyalty(p: &src::Proposition, l: &src::Loyalty, path: &str) -> Result<out::Loyalty> {
    if !matches!(p.kind, src::Kind::Loyalty) {
        return Err(Error::catalogue(path, "a loyalty block belongs to a proposition of kind loyalty"));
    }
    check_text(&l.partner, &format!("{path}.partner"))?;
    if l.partner.trim().is_empty() {
        return Err(Error::catalogue(format!("{path}.partner"), "expected the partner's name"));
    }
    let reward = match (l.points_cost, l.discount_percent) {
        (Some(points), None) => out::Reward::PointsCost(points),
        (None, Some(d)) if d.is_finite() && d > 0.0 && d <= 100.0 => out::Reward::DiscountPercent(d),
        (None, Some(_)) => return Err(Error::catalogue(format!("{path}.discountPercent"), "expected a percentage above 0 and at most 100")),
        _ => return Err(Error::catalogue(path, "give exactly one of pointsCost and discountPercent")),
    };
    let low_stock = match l.low_stock {
        None => None,
        Some(low) => {
            if low.threshold == 0 {
                return Err(Error::catalogue(format!("{path}.lowStock.threshold"), "expected at least 1 (at 0 the deal is sold out)"));
            }
            number(low.lever, &format!("{path}.lowStock.lever"))?;
            Some(out::LowStock { threshold: low.threshold, lever: low.lever })
        }
    };
    Ok(out::Loyalty { partner: l.partner.clone(), reward, stock: l.stock, low_stock })
}

fn treatment(c: &src::Catalogue, hosts: &[String], t: &src::Treatment, path: &str) -> Result<out::Treatment> {
    check_id(&t.id, &format!("{path}.id"))?;
    non_negative(t.weight, &format!("{path}.weight"))?;
    for (i, x) in t.beta.iter().enumerate() {
        if !(x.is_finite() && *x > 0.0) {
            return Err(Error::catalogue(format!("{path}.beta[{i}]"), "expected a number above 0"));
        }
    }
    if !t.creative.contains_key(&c.default_locale) {
        return Err(Error::catalogue(
            format!("{path}.creative"),
            format!("expected a creative for the default locale {:?}", c.default_locale),
        ));
    }
    check_count(t.creative.len() + t.compact.len(), MAX_CREATIVES, &format!("{path}.creative"))?;
    let mut creatives = Vec::new();
    for (form, field, map) in [(out::FormFactor::Large, "creative", &t.creative), (out::FormFactor::Compact, "compact", &t.compact)] {
        for (locale, cr) in map {
            let cpath = format!("{path}.{field}.{locale}");
            check_id(locale, &cpath)?;
            creatives.push(creative(hosts, cr, locale, form, &cpath)?);
        }
    }
    Ok(out::Treatment { id: t.id.clone(), weight: t.weight, alpha: t.beta[0], beta: t.beta[1], creatives })
}

fn creative(hosts: &[String], cr: &src::Creative, locale: &str, form: out::FormFactor, path: &str) -> Result<out::Creative> {
    for (field, text) in [("title", &cr.title), ("body", &cr.body), ("cta", &cr.cta), ("href", &cr.href)] {
        check_text(text, &format!("{path}.{field}"))?;
    }
    if cr.title.trim().is_empty() {
        return Err(Error::catalogue(format!("{path}.title"), "expected a non-empty title"));
    }
    check_link(&cr.href, hosts, &format!("{path}.href"))?;
    let image = match &cr.image {
        None => None,
        Some(img) => {
            check_text(&img.src, &format!("{path}.image.src"))?;
            check_text(&img.alt, &format!("{path}.image.alt"))?;
            check_link(&img.src, hosts, &format!("{path}.image.src"))?;
            if img.width == 0 || img.height == 0 {
                return Err(Error::catalogue(format!("{path}.image"), "width and height must be above 0 (they reserve the image's space)"));
            }
            Some(out::Image { src: img.src.clone(), width: img.width, height: img.height, alt: img.alt.clone() })
        }
    };
    Ok(out::Creative {
        locale: locale.to_string(),
        form,
        title: cr.title.clone(),
        body: cr.body.clone(),
        cta: cr.cta.clone(),
        href: cr.href.clone(),
        image,
    })
}

/// Where a creative's link leads: what a browser makes of it on a page of the bank's site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// A path, query or fragment on the page's own site.
    SameSite,
    /// `https:` on the default port of this host: ASCII, lower case, without a trailing dot.
    Host(String),
}

/// The one scheme absolute links may have.
const HTTPS: &str = "https";
/// The port `https:` uses when a link names none; a link may name it, but no other.
const HTTPS_PORT: u32 = 443;
/// The largest port number.
const MAX_PORT: u32 = 65_535;

/// Resolves a link as the WHATWG URL parser does against a page of the bank's site (an `https:`
/// URL, whose scheme is special): leading and trailing C0 controls and spaces are stripped, tabs
/// and newlines removed wherever they are, `\` read as `/`. A relative link that starts with two
/// slashes (`//host`, `/\host`, `/⇥/host`) names a host, as does every `https:` link, with or
/// without slashes (`https:host` is a host wherever the page's scheme is not `https:`; on an
/// `https:` page it stays on the site, so reading it as a host is the safe side). The host is
/// percent-decoded and lower-cased, a trailing dot dropped; user information, a port other than
/// the default and any other scheme are refused.
pub fn link_target(href: &str) -> std::result::Result<LinkTarget, &'static str> {
    let cleaned: String = href
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    if cleaned.is_empty() {
        return Err("expected a link: an https: URL or a relative one such as /sparen");
    }
    match scheme(&cleaned) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(HTTPS) => authority(rest.trim_start_matches('/')),
        Some(_) => Err("only https: links and relative ones are allowed (not javascript:, data:, http:, …)"),
        None if cleaned.starts_with("//") => authority(cleaned.trim_start_matches('/')),
        None => Ok(LinkTarget::SameSite),
    }
}

/// The scheme of a URL and what follows its `:`: an ASCII letter, then letters, digits, `+`, `-`
/// or `.`, then `:`. Anything else before the first `:` makes the link relative.
fn scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (first && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))).then_some((scheme, rest))
}

/// The host of an authority (up to the first `/`, `?` or `#`), checked as above.
fn authority(rest: &str) -> std::result::Result<LinkTarget, &'static str> {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or_default();
    if authority.contains('@') {
        return Err("links may not carry user information (user@host)");
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if let Some(port) = port.filter(|p| !p.is_empty()) {
        let value = port.bytes().try_fold(0u32, |n, b| {
            b.is_ascii_digit().then(|| (n * 10 + u32::from(b - b'0')).min(MAX_PORT + 1))
        });
        match value {
            Some(HTTPS_PORT) => {}
            Some(p) if p <= MAX_PORT => return Err("links may only use the default https: port (443)"),
            _ => return Err("the link's port is not a port number"),
        }
    }
    let decoded = percent_decode(host);
    if !decoded.is_ascii() {
        return Err("the link's host is not ASCII: write an international host name in punycode (xn--…)");
    }
    let host: String = decoded.iter().map(|&b| char::from(b.to_ascii_lowercase())).collect();
    let host = host.strip_suffix('.').unwrap_or(&host);
    if host.is_empty() {
        return Err("link has no host");
    }
    Ok(LinkTarget::Host(host.to_string()))
}

/// `%XX` sequences as the bytes they stand for; a `%` not followed by two hex digits stays.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|&h| char::from(h).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.extend(u8::try_from(high * 16 + low).ok());
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn check_link(href: &str, allowed: &[String], path: &str) -> Result<()> {
    match link_target(href).map_err(|reason| Error::catalogue(path, reason))? {
        LinkTarget::Host(host) if !allowed.contains(&host) => {
            return Err(Error::catalogue(path, format!("host {host:?} is not in allowedLinkHosts")));
        }
        LinkTarget::Host(_) | LinkTarget::SameSite => {}
    }
    if href.chars().any(char::is_control) {
        return Err(Error::catalogue(
            path,
            "contains a control character (a tab, a newline, …), which browsers skip: write the link without it",
        ));
    }
    Ok(())
}

/// Longest DNS host name, and longest label of one.
const MAX_HOST_BYTES: usize = 253;
const MAX_LABEL_BYTES: usize = 63;

/// An entry of `allowedLinkHosts`: a plain DNS host name (letters, digits and `-` in labels
/// joined by dots), in any case, returned lower-cased. No wildcard, scheme, path, port, user or
/// IP address: links are compared with exactly these names.
fn link_host_entry(host: &str, path: &str) -> Result<String> {
    const EXPECTED: &str = "expected a plain host name such as www.example-bank.nl (no *, scheme, path or port)";
    let labels_ok = host.split('.').all(|label| {
        (1..=MAX_LABEL_BYTES).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if host.len() > MAX_HOST_BYTES || !labels_ok {
        return Err(Error::catalogue(path, EXPECTED));
    }
    // A host whose last label is a number is an IPv4 address to a browser.
    let last = host.rsplit('.').next().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) || last.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x")) {
        return Err(Error::catalogue(path, "expected a host name, not an IP address"));
    }
    Ok(host.to_ascii_lowercase())
}

fn policy_override(o: &src::PolicyOverride, path: &str) -> Result<out::PolicyOverride> {
    Ok(out::PolicyOverride {
        dismiss_cooldown_days: o.dismiss_cooldown_days,
        caps: o.caps.as_ref().map(|c| caps(c, &format!("{path}.caps"))).transpose()?,
        suppress_after_conversion: o.suppress_after_conversion,
        rest_after_ignored: rest(o.rest_after_ignored, &format!("{path}.restAfterIgnored"))?,
    })
}

fn caps(caps: &[src::Cap], path: &str) -> Result<Vec<out::Cap>> {
    check_count(caps.len(), MAX_SMALL_LIST, path)?;
    caps.iter()
        .enumerate()
        .map(|(i, c)| {
            if c.impressions == 0 || c.days == 0 {
                return Err(Error::catalogue(format!("{path}[{i}]"), "impressions and days must be at least 1"));
            }
            check_remembered(c.impressions, &format!("{path}[{i}].impressions"))?;
            Ok(out::Cap { impressions: c.impressions, days: c.days })
        })
        .collect()
}

fn rest(r: Option<src::Rest>, path: &str) -> Result<Option<out::Rest>> {
    match r {
        Some(r) if r.impressions == 0 || r.days == 0 => {
            Err(Error::catalogue(path, "impressions and days must be at least 1"))
        }
        Some(r) => {
            check_remembered(r.impressions, &format!("{path}.impressions"))?;
            Ok(Some(out::Rest { impressions: r.impressions, days: r.days }))
        }
        None => Ok(None),
    }
}

/// A policy may count no more impressions than the ledger remembers per proposition.
fn check_remembered(impressions: u32, path: &str) -> Result<()> {
    if impressions as usize > ledger::MAX_IMPRESSIONS {
        return Err(Error::catalogue(
            path,
            format!("at most {}: the ledger remembers the newest {} impressions of a proposition", ledger::MAX_IMPRESSIONS, ledger::MAX_IMPRESSIONS),
        ));
    }
    Ok(())
}

/// Ledger keys are 32-bit hashes of proposition ids: two ids of one catalogue must not share one.
fn check_ledger_keys(propositions: &[src::Proposition]) -> Result<()> {
    let mut keys = BTreeMap::new();
    for (i, p) in propositions.iter().enumerate() {
        if let Some(other) = keys.insert(ledger::proposition_key(&p.id), i) {
            return Err(Error::catalogue(
                format!("propositions[{i}].id"),
                format!("{:?} shares its ledger key with propositions[{other}]; rename one of them", p.id),
            ));
        }
    }
    Ok(())
}

fn time(text: &str, path: &str) -> Result<Timestamp> {
    parse_rfc3339(text, path).map_err(|e| match e {
        Error::InvalidArgument { path, message } => Error::InvalidCatalogue { path, message },
        other => other,
    })
}

fn check_id(id: &str, path: &str) -> Result<()> {
    if let Some((c, what)) = id.chars().find_map(|c| invisible(c).map(|what| (c, what))) {
        return Err(Error::catalogue(
            path,
            format!("contains U+{:04X}, {what}: an id must read the same wherever it is shown", u32::from(c)),
        ));
    }
    if id.is_empty() || id.len() > MAX_ID_BYTES || id.chars().any(char::is_whitespace) {
        return Err(Error::catalogue(
            path,
            format!("expected an identifier of 1 to {MAX_ID_BYTES} bytes without spaces, found {id:?}"),
        ));
    }
    Ok(())
}

/// What a character that changes text without being seen is: a bidirectional control
/// (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), a zero-width character (U+200B–U+200D,
/// U+2060, U+FEFF), another invisible format character, or a control character.
fn invisible(c: char) -> Option<&'static str> {
    match c {
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}' => {
            Some("a bidirectional control")
        }
        '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' => Some("a zero-width character"),
        '\u{00ad}' | '\u{180e}' | '\u{2061}'..='\u{2064}' | '\u{206a}'..='\u{206f}' | '\u{fff9}'..='\u{fffb}'
        | '\u{e0000}'..='\u{e007f}' => Some("an invisible formatting character"),
        c if c.is_control() => Some("a control character"),
        _ => None,
    }
}

fn check_text(text: &str, path: &str) -> Result<()> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(Error::catalogue(path, format!("longer than {MAX_TEXT_BYTES} bytes")));
    }
    Ok(())
}

fn check_count(n: usize, max: usize, path: &str) -> Result<()> {
    if n > max {
        return Err(Error::catalogue(path, format!("{n} entries, at most {max} allowed")));
    }
    Ok(())
}

fn number(x: f64, path: &str) -> Result<()> {
    if !x.is_finite() {
        return Err(Error::catalogue(path, "expected a finite number"));
    }
    Ok(())
}

fn non_negative(x: f64, path: &str) -> Result<()> {
    if !(x.is_finite() && x >= 0.0) {
        return Err(Error::catalogue(path, "expected a number of 0 or more"));
    }
    Ok(())
}

fn unique<'a>(ids: impl Iterator<Item = &'a str>, path: &str, field: &str) -> Result<()> {
    let mut seen = BTreeSet::new();
    for (i, id) in ids.enumerate() {
        if !seen.insert(id) {
            return Err(Error::catalogue(format!("{path}[{i}].{field}"), format!("duplicate id {id:?}")));
        }
    }
    Ok(())
}
