//! Secrets masked in bodies before they are logged or kept in an error.
//!
//! A body may carry secrets outside the token endpoint too: a user created with a `password`,
//! an integration's `client_secret`, a token echoed back by a gateway. [`redact_body`] masks
//! the value of every field named like a secret (see [`SECRET_FIELDS`]), in JSON (also cut off
//! part-way, as an excerpt is) and in form-encoded text, and leaves the rest as it was.

use std::borrow::Cow;

/// The field names whose values are masked, compared without case and without `_` or `-`
/// (so `client_secret`, `clientSecret` and `Client-Secret` are one name).
pub const SECRET_FIELDS: &[&str] =
    &["access_token", "refresh_token", "client_secret", "password", "assertion", "code_verifier", "id_token"];

/// What a masked value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Endings that make any field name secret-looking, compared as [`SECRET_FIELDS`] are: an
/// Open Messaging integration's `outboundNotificationWebhookSignatureSecretToken`, a
/// credential's `apiKey`, an integration's `privateKey`.
pub const SECRET_ENDINGS: &[&str] =
    &["secret", "secrettoken", "password", "passphrase", "accesstoken", "refreshtoken", "apikey", "privatekey"];

/// Whether `name` is one of [`SECRET_FIELDS`] or ends with one of [`SECRET_ENDINGS`].
pub fn is_secret_field(name: &str) -> bool {
    let normal =
        |s: &str| -> String { s.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect() };
    let name = normal(name);
    SECRET_FIELDS.iter().any(|f| normal(f) == name) || SECRET_ENDINGS.iter().any(|e| name.ends_with(e))
}

/// `text` with the values of its secret fields masked: a JSON body (its text starts with `{` or
/// `[`) field by field at any depth, else a form-encoded one pair by pair. Borrowed back when
/// nothing was masked.
pub fn redact_body(text: &str) -> Cow<'_, str> {
    match text.trim_start().as_bytes().first() {
        Some(b'{' | b'[') => redact_json(text),
        _ => redact_form(text),
    }
}

/// Masks the value after every key of a secret field. Works on text that is not whole JSON:
/// a string cut off before its end is masked to the end.
fn redact_json(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let (end, _) = string_end(bytes, i);
        let key = text.get(i + 1..end.saturating_sub(1)).unwrap_or("");
        i = end;
        let mut j = skip_space(bytes, i);
        if bytes.get(j) != Some(&b':') || !is_secret_field(key) {
            continue;
        }
        j = skip_space(bytes, j + 1);
        // The value's text (`from..to`), and where the scan goes on (past a closing quote).
        let (from, to, resume) = match bytes.get(j) {
            // The string's content, or all that is left of it.
            Some(b'"') => match string_end(bytes, j) {
                (end, true) => (j + 1, end - 1, end),
                (end, false) => (j + 1, end, end),
            },
            Some(b'{' | b'[') | None => continue,
            Some(_) => {
                let stop = bytes[j..].iter().position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace());
                let to = stop.map_or(bytes.len(), |p| j + p);
                if &text[j..to] == "null" {
                    continue;
                }
                (j, to, to)
            }
        };
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        o.push_str(&text[copied..from]);
        o.push_str(REDACTED);
        copied = to;
        i = resume;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

/// Where the string that starts with the quote at `start` ends: just past its closing quote
/// (`true`), or at the end of the text when it has none (`false`).
fn string_end(bytes: &[u8], start: usize) -> (usize, bool) {
    let mut k = start + 1;
    while k < bytes.len() {
        match bytes[k] {
            b'\\' => k += 2,
            b'"' => return (k + 1, true),
            _ => k += 1,
        }
    }
    (bytes.len(), false)
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Masks the value of every `name=value` pair of a secret field in form-encoded text.
fn redact_form(text: &str) -> Cow<'_, str> {
    let secret = |pair: &str| pair.split_once('=').is_some_and(|(name, _)| is_secret_field(name.trim()));
    if !text.split('&').any(secret) {
        return Cow::Borrowed(text);
    }
    let pairs: Vec<String> = text
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_field(name.trim()) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect();
    Cow::Owned(pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_masked_at_any_depth_and_the_rest_is_kept() {
        let body = r#"{"name":"Ann","password" : "hunter2","nested":{"clientSecret":"s3cr\"et","n":1},"list":[{"access_token":"tok"}],"id_token":null,"refresh_token":12345}"#;
        let masked = redact_body(body);
        assert_eq!(
            masked,
            r#"{"name":"Ann","password" : "[REDACTED]","nested":{"clientSecret":"[REDACTED]","n":1},"list":[{"access_token":"[REDACTED]"}],"id_token":null,"refresh_token":[REDACTED]}"#
        );
        for secret in ["hunter2", "s3cr", "tok\"", "12345"] {
            assert!(!masked.contains(secret), "{secret} in {masked}");
        }
    }

    #[test]
    fn names_ending_like_a_secret_are_masked_too() {
        let body = r#"{"outboundNotificationWebhookSignatureSecretToken":"whsec","webhookApiKey":"k-1","privateKey":"pem","userPassword":"pw","name":"tokenless","nextPageToken":"c-2"}"#;
        let masked = redact_body(body);
        for secret in ["whsec", "k-1", "pem", "\"pw\""] {
            assert!(!masked.contains(secret), "{secret} in {masked}");
        }
        assert!(masked.contains("tokenless") && masked.contains("c-2"), "the rest is kept: {masked}");
    }

    #[test]
    fn a_value_named_like_a_secret_is_not_a_key() {
        let body = r#"{"field":"password","other":"x"}"#;
        assert!(matches!(redact_body(body), Cow::Borrowed(_)));
    }

    #[test]
    fn a_body_cut_off_inside_a_secret_is_masked_to_its_end() {
        let cut = r#"{"user":"a","assertion":"PHNhbWw6QXNzZXJ0aW9uIHhtbG5z"#;
        assert_eq!(redact_body(cut), r#"{"user":"a","assertion":"[REDACTED]"#);
        let escaped = r#"{"password":"abc\"#;
        assert!(!redact_body(escaped).contains("abc"));
    }

    #[test]
    fn form_bodies_are_masked_pair_by_pair() {
        let form = "grant_type=urn%3Aietf&assertion=PHNhbWw&client_secret=xyz&code_verifier=v";
        assert_eq!(
            redact_body(form),
            "grant_type=urn%3Aietf&assertion=[REDACTED]&client_secret=[REDACTED]&code_verifier=[REDACTED]"
        );
        assert!(matches!(redact_body("<html>502</html>"), Cow::Borrowed(_)));
    }
}
