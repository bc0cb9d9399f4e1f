//! The contact's context, and the one attribute view conditions read.
//!
//! A context describes the moment of contact: which page, what the contact is about, which
//! language, how big the screen is. The channel and placement come from the placement being
//! decided; `now` is passed to the decision, never read from a clock.
//!
//! ```json
//! { "page": "/sparen", "topic": "savings", "locale": "nl-NL", "formFactor": "small",
//!   "campaign": "winter" }
//! ```
//!
//! Every field is optional: `locale` defaults to the catalogue's default locale, `formFactor`
//! to `large`. Fields other than the known ones are extra context (strings, numbers, booleans,
//! or arrays of them) that conditions may read too. `channel` and `placement` may be given; they
//! must then match the placement decided. Context strings are checked for personal data like
//! profile attributes are (a page address with an e-mail address in it is refused).
//!
//! Conditions read one view: `context.*` paths read the context (`context.page`,
//! `context.topic`, `context.locale`, `context.language`, `context.formFactor`,
//! `context.channel`, `context.placement`, `context.loggedIn`, `context.now` as an RFC 3339
//! string, and the extra fields); every other path reads the profile's attributes — and nothing
//! at all without personalisation consent.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::limits::MAX_ID_BYTES;
use crate::condition::{lookup_path, Attributes};
use crate::profile::pii;
use crate::{Error, Result};

/// Largest context accepted, in bytes of JSON.
pub const MAX_CONTEXT_BYTES: usize = 16 * 1024;
/// Longest page address.
pub const MAX_PAGE_BYTES: usize = 2048;
/// Longest other context string.
pub const MAX_CONTEXT_STRING_BYTES: usize = 256;
/// Most extra fields.
pub const MAX_EXTRA_FIELDS: usize = 32;
/// Most elements in an extra field's array.
pub const MAX_EXTRA_ITEMS: usize = 32;

/// Names a context may not use for extra fields: the view sets them itself.
const RESERVED: &[&str] = &["language", "loggedIn", "now"];

/// How much room a placement has on the screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Screen {
    /// A phone-sized screen: only compact creatives are shown.
    Small,
    /// Anything larger.
    #[default]
    Large,
}

impl Screen {
    pub fn as_str(self) -> &'static str {
        match self {
            Screen::Small => "small",
            Screen::Large => "large",
        }
    }
}

/// The context of one contact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// If given, must be the placement's channel.
    pub channel: Option<String>,
    /// If given, must be the placement decided.
    pub placement: Option<String>,
    /// The page's path, such as `/sparen/groen`.
    pub page: Option<String>,
    /// What the contact is about (a call-centre topic, a search), such as `mortgage`.
    pub topic: Option<String>,
    /// BCP 47 locale such as `nl-NL`; the catalogue's default locale when absent.
    pub locale: Option<String>,
    pub screen: Screen,
    /// Further fields conditions may read as `context.<name>`.
    pub extra: Map<String, Value>,
}

impl Context {
    /// Parses a context from JSON text.
    pub fn parse(json: &str) -> Result<Context> {
        if json.len() > MAX_CONTEXT_BYTES {
            return Err(Error::too_large("context", MAX_CONTEXT_BYTES as u64, json.len() as u64));
        }
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Error::argument("context", format!("not valid JSON: {e}")))?;
        Context::from_value(&value)
    }

    /// Reads a context from a JSON value (the Wasm shell's path) and checks it.
    pub fn from_value(value: &Value) -> Result<Context> {
        let Value::Object(fields) = value else {
            return Err(Error::argument("context", "expected a JSON object"));
        };
        let mut context = Context::default();
        for (key, v) in fields {
            let path = format!("context.{key}");
            if v.is_null() {
                continue;
            }
            let text = || {
                v.as_str().map(str::to_string).ok_or_else(|| Error::argument(&path, "expected a string"))
            };
            match key.as_str() {
                "channel" => context.channel = Some(text()?),
                "placement" => context.placement = Some(text()?),
                "page" => context.page = Some(text()?),
                "topic" => context.topic = Some(text()?),
                "locale" => context.locale = Some(text()?),
                "formFactor" => {
                    context.screen = match v.as_str() {
                        Some("small") => Screen::Small,
                        Some("large") => Screen::Large,
                        _ => return Err(Error::argument(path, format!("expected \"small\" or \"large\", found {v}"))),
                    }
                }
                _ => {
                    context.extra.insert(key.clone(), v.clone());
                }
            }
        }
        context.validate()?;
        Ok(context)
    }

    /// Checks lengths, the locale's form, extra fields, and personal data. [`Engine::decide`]
    /// calls it too, for contexts built in Rust.
    ///
    /// [`Engine::decide`]: crate::Engine::decide
    pub fn validate(&self) -> Result<()> {
        let fields = [
            ("context.channel", &self.channel, MAX_ID_BYTES),
            ("context.placement", &self.placement, MAX_ID_BYTES),
            ("context.page", &self.page, MAX_PAGE_BYTES),
            ("context.topic", &self.topic, MAX_CONTEXT_STRING_BYTES),
            ("context.locale", &self.locale, MAX_CONTEXT_STRING_BYTES),
        ];
        for (path, value, max) in fields {
            if let Some(text) = value {
                string(text, path, max)?;
            }
        }
        if let Some(locale) = &self.locale {
            if !is_locale(locale) {
                return Err(Error::argument(
                    "context.locale",
                    format!("expected a language tag such as nl-NL or en, found {locale:?}"),
                ));
            }
        }
        if self.extra.len() > MAX_EXTRA_FIELDS {
            return Err(Error::too_large("context (extra fields)", MAX_EXTRA_FIELDS as u64, self.extra.len() as u64));
        }
        for (key, value) in &self.extra {
            let path = format!("context.{key}");
            let known = ["channel", "placement", "page", "topic", "locale", "formFactor"];
            if RESERVED.contains(&key.as_str()) || known.contains(&key.as_str()) {
                return Err(Error::argument(path, "this name is set by the engine (pass now to the decision, not in the context)"));
            }
            if key.is_empty() || key.len() > MAX_ID_BYTES || key.contains(['.', ' ']) {
                return Err(Error::argument(path, format!("extra field names have 1 to {MAX_ID_BYTES} bytes, without dots or spaces")));
            }
            if let Some(what) = pii::personal_name(key) {
                return Err(Error::PersonalData { path, message: format!("the field name {key:?} suggests {what}") });
            }
            match value {
                Value::Array(items) => {
                    if items.len() > MAX_EXTRA_ITEMS {
                        return Err(Error::too_large(path, MAX_EXTRA_ITEMS as u64, items.len() as u64));
                    }
                    for (i, item) in items.iter().enumerate() {
                        scalar(item, &format!("{path}[{i}]"))?;
                    }
                }
                other => scalar(other, &path)?,
            }
        }
        Ok(())
    }
}

fn string(text: &str, path: &str, max: usize) -> Result<()> {
    if text.len() > max {
        return Err(Error::too_large(path, max as u64, text.len() as u64));
    }
    if let Some(what) = pii::personal_value(text) {
        return Err(Error::PersonalData { path: path.to_string(), message: format!("looks like {what}") });
    }
    Ok(())
}

fn scalar(value: &Value, path: &str) -> Result<()> {
    match value {
        Value::String(s) => string(s, path, MAX_CONTEXT_STRING_BYTES),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        _ => Err(Error::argument(path, "expected a string, number or boolean (or an array of them)")),
    }
}

/// `language[-subtag]*`: 2–8 letters, then subtags of 1–8 letters or digits, `-` or `_`.
fn is_locale(text: &str) -> bool {
    let mut parts = text.split(['-', '_']);
    let language = parts.next().unwrap_or("");
    (2..=8).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The language of a locale: `nl` for `nl-NL`.
pub(crate) fn language(locale: &str) -> &str {
    locale.split(['-', '_']).next().unwrap_or(locale)
}

/// What conditions read during one decision: the context under `context.*`, and, when
/// personalisation is allowed, the profile's pseudonymous id under `id` (so that
/// `{"id": {"$inGroup": "vips"}}` works) and its attributes under every other path.
pub(crate) struct View<'a> {
    pub attributes: Option<&'a Map<String, Value>>,
    /// The profile's id as a JSON string, when it has one and personalisation is allowed.
    pub id: Option<Value>,
    /// The context as one JSON object, with the engine's fields filled in.
    pub context: &'a Value,
}

impl Attributes for View<'_> {
    fn lookup(&self, path: &[&str]) -> Option<&Value> {
        match path.split_first() {
            Some((&"context", rest)) => lookup_path(self.context, rest),
            Some((&"id", rest)) => lookup_path(self.id.as_ref()?, rest),
            _ => self.attributes?.lookup(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_known_and_extra_fields() {
        let c = Context::parse(r#"{"page": "/sparen", "topic": "savings", "locale": "nl-NL", "formFactor": "small", "campaign": "winter", "tags": ["a", 1]}"#).unwrap();
        assert_eq!(c.page.as_deref(), Some("/sparen"));
        assert_eq!(c.screen, Screen::Small);
        assert_eq!(c.extra["campaign"], json!("winter"));
        assert_eq!(Context::parse("{}").unwrap(), Context::default());
        assert_eq!(Context::default().screen, Screen::Large);
    }

    #[test]
    fn errors_name_their_path() {
        let cases = [
            (json!("x"), "invalid_argument", "context: expected a JSON object"),
            (json!({"formFactor": "tablet"}), "invalid_argument", "context.formFactor: expected \"small\" or \"large\""),
            (json!({"locale": "nederlands!"}), "invalid_argument", "context.locale: expected a language tag"),
            (json!({"page": 3}), "invalid_argument", "context.page: expected a string"),
            (json!({"now": "2026-12-05T09:30:00Z"}), "invalid_argument", "context.now: this name is set by the engine"),
            (json!({"deep": {"a": 1}}), "invalid_argument", "context.deep: expected a string, number or boolean"),
            (json!({"page": "/contact?from=jan@example.nl"}), "personal_data", "context.page: looks like an e-mail address"),
            (json!({"email": "x"}), "personal_data", "context.email: the field name"),
            (json!({"page": "/".repeat(MAX_PAGE_BYTES + 1)}), "too_large", "context.page is too large"),
        ];
        for (value, code, expected) in cases {
            let err = Context::from_value(&value).unwrap_err();
            assert_eq!(err.code(), code, "{value}: {err}");
            assert!(err.to_string().starts_with(expected), "{value}: {err}");
        }
    }

    #[test]
    fn the_view_splits_context_from_attributes() {
        let attributes = json!({"age": 30, "nested": {"x": 1}});
        let context = json!({"page": "/sparen"});
        let view = View { attributes: attributes.as_object(), id: Some(json!("p-1")), context: &context };
        assert_eq!(view.lookup(&["id"]), Some(&json!("p-1")));
        assert_eq!(view.lookup(&["id", "0"]), None);
        assert_eq!(view.lookup(&["context", "page"]), Some(&json!("/sparen")));
        assert_eq!(view.lookup(&["age"]), Some(&json!(30)));
        assert_eq!(view.lookup(&["nested", "x"]), Some(&json!(1)));
        let without_consent = View { attributes: None, id: None, context: &context };
        assert_eq!(without_consent.lookup(&["age"]), None);
        assert_eq!(without_consent.lookup(&["context", "page"]), Some(&json!("/sparen")));
        assert_eq!(language("en-GB"), "en");
        assert!(is_locale("nl") && is_locale("zh-Hant-TW") && is_locale("en_GB") && !is_locale("e") && !is_locale("nl-"));
    }
}
