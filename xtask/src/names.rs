//! Turning spec names into Rust identifiers, deterministically and without clashes.

use heck::{ToSnakeCase, ToUpperCamelCase};
use std::collections::HashSet;

/// Rust keywords (strict, reserved and edition-2018+), which cannot be plain identifiers.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in",
    "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super",
    "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box",
    "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", "union",
];

/// Keywords that cannot even be raw identifiers.
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super", "_"];

/// Splits on anything that is not ASCII alphanumeric, so `$ - . / :` and spaces become word
/// boundaries.
fn words(raw: &str) -> String {
    raw.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' }).collect()
}

/// A `snake_case` field or module name for `raw`: never empty, never starting with a digit,
/// keywords made raw (`r#type`) or suffixed where raw identifiers are not allowed.
pub fn snake(raw: &str) -> String {
    let mut s = words(raw).to_snake_case();
    if s.is_empty() {
        s = "field".into();
    }
    if s.as_bytes()[0].is_ascii_digit() {
        s.insert(0, 'n');
    }
    s
}

/// Makes a snake identifier usable in code: `type` → `r#type`, `self` → `self_`.
pub fn field_ident(snake: &str) -> String {
    if NOT_RAW.contains(&snake) {
        format!("{snake}_")
    } else if KEYWORDS.contains(&snake) {
        format!("r#{snake}")
    } else {
        snake.to_owned()
    }
}

/// A module name (keywords get a `_` suffix: modules are private, so readability wins).
pub fn module_ident(snake: &str) -> String {
    if KEYWORDS.contains(&snake) || NOT_RAW.contains(&snake) {
        format!("{snake}_")
    } else {
        snake.to_owned()
    }
}

/// An `UpperCamelCase` type name. A name that is already a clean type name (`ADFS`,
/// `ScimV2User`) is kept as the spec spells it, so users find the definition by its name.
pub fn type_name(raw: &str) -> String {
    let clean =
        raw.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && raw.chars().all(|c| c.is_ascii_alphanumeric());
    let mut s = if clean { raw.to_owned() } else { words(raw).to_upper_camel_case() };
    if s.is_empty() {
        s = "Unnamed".into();
    }
    if s.as_bytes()[0].is_ascii_digit() {
        s.insert(0, 'N');
    }
    if s == "Self" {
        s.push_str("Type");
    }
    s
}

/// `UpperCamelCase` for joining onto a parent's type name (`User` + `state` → `UserState`).
pub fn camel_part(raw: &str) -> String {
    let s = words(raw).to_upper_camel_case();
    if s.is_empty() {
        "Field".into()
    } else {
        s
    }
}

/// A `lower-kebab` Cargo feature name for a tag (`Telephony Providers Edge` →
/// `telephony-providers-edge`, `OAuth` → `oauth`).
pub fn feature(tag: &str) -> String {
    words(tag).split_whitespace().map(str::to_ascii_lowercase).collect::<Vec<_>>().join("-")
}

/// An enum variant name for a wire value.
pub fn variant(value: &str) -> String {
    if value.is_empty() {
        return "Empty".into();
    }
    let mut s = words(value).to_upper_camel_case();
    if s.is_empty() {
        // Only punctuation: spell the characters so distinct values stay distinct.
        s = value.chars().map(|c| format!("U{:X}", c as u32)).collect();
    }
    if s.as_bytes()[0].is_ascii_digit() {
        s.insert(0, 'V');
    }
    match s.as_str() {
        // `Unknown(String)` is the catch-all variant; a value spelled "unknown" gets its own name.
        "Unknown" => "UnknownValue".into(),
        "Self" => "SelfValue".into(),
        _ => s,
    }
}

/// Hands out names, adding `2`, `3`, … (with `sep` before the number) to a name already taken.
#[derive(Default)]
pub struct Namer {
    taken: HashSet<String>,
}

impl Namer {
    /// A namer with some names reserved up front.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Self { taken: reserved.iter().map(|s| (*s).to_owned()).collect() }
    }

    /// Takes `wanted`, or the first free `wanted{sep}N`.
    pub fn take(&mut self, wanted: &str, sep: &str) -> String {
        if self.taken.insert(wanted.to_owned()) {
            return wanted.to_owned();
        }
        (2..)
            .map(|n| format!("{wanted}{sep}{n}"))
            .find(|candidate| self.taken.insert(candidate.clone()))
            .expect("an unbounded range always yields a free name")
    }

    /// Takes a name that must be exactly `wanted`; returns `false` if it was taken.
    pub fn take_exact(&mut self, wanted: &str) -> bool {
        self.taken.insert(wanted.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names() {
        assert_eq!(snake("selfUri"), "self_uri");
        assert_eq!(field_ident(&snake("$ref")), "r#ref");
        assert_eq!(field_ident(&snake("type")), "r#type");
        assert_eq!(field_ident(&snake("self")), "self_");
        assert_eq!(snake("service-area"), "service_area");
        assert_eq!(
            snake("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            "urn_ietf_params_scim_schemas_extension_enterprise_2_0_user"
        );
        assert_eq!(snake("24HourClock"), "n24hour_clock");
        assert_eq!(snake("a.b/c d"), "a_b_c_d");
        assert_eq!(snake("$$$"), "field");
    }

    #[test]
    fn type_and_variant_names() {
        assert_eq!(type_name("ADFS"), "ADFS");
        assert_eq!(type_name("my-def.v2"), "MyDefV2");
        assert_eq!(type_name("3dThing"), "N3dThing");
        assert_eq!(
            variant("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"),
            "UrnOasisNamesTcSaml11NameidFormatUnspecified"
        );
        assert_eq!(variant(""), "Empty");
        assert_eq!(variant("unknown"), "UnknownValue");
        assert_eq!(variant("1m"), "V1m");
        assert_eq!(variant("+"), "U2B");
        assert_eq!(feature("Telephony Providers Edge"), "telephony-providers-edge");
        assert_eq!(feature("OAuth"), "oauth");
        assert_eq!(feature("AI Studio"), "ai-studio");
    }

    #[test]
    fn namer_suffixes_clashes() {
        let mut n = Namer::with_reserved(&["Model"]);
        assert_eq!(n.take("Model", ""), "Model2");
        assert_eq!(n.take("a", "_"), "a");
        assert_eq!(n.take("a", "_"), "a_2");
    }
}
