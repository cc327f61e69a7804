//! Query and path encoding, with every Swagger 2.0 `collectionFormat`.

use crate::error::Error;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt::Write as _;

/// Characters left as they are in a path segment (RFC 3986 unreserved); everything else,
/// `/` included, is percent-encoded so a parameter can never change the path's shape.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Characters left as they are in a query name or value.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes one path parameter.
pub fn encode_path_segment(value: &str) -> String {
    utf8_percent_encode(value, PATH_SEGMENT).to_string()
}

/// Checks a path parameter before it is encoded: it must not be empty, and it must not be `.`
/// or `..`. Those two are left as they are by percent-encoding (`.` is unreserved), and a
/// server or proxy that removes dot segments (RFC 3986 §5.2.4) would read
/// `/api/v2/users/u1/routingskills/..` as `/api/v2/users/u1`, another resource with another
/// meaning for the method. The error is a build error naming the operation and the parameter;
/// nothing is sent.
pub fn check_path_param(operation: &'static str, name: &str, value: &str) -> Result<(), Error> {
    let problem = match value {
        "" => "is empty",
        "." | ".." => "is a dot segment (`.` or `..`), which would change the request's path",
        _ => return Ok(()),
    };
    Err(Error::build(format!("path parameter `{name}` {problem}")).with_operation(operation))
}

/// Checks a whole request path (a raw call's): no segment may be `.` or `..`, also when
/// percent-encoded (`%2E`), since servers and proxies that normalize paths remove them and
/// so send the request to another resource.
pub fn check_path(path: &str) -> Result<(), Error> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    // Only a segment of at most six bytes (`%2E%2E`) can decode to `.` or `..`.
    for segment in path.split('/').filter(|s| !s.is_empty() && s.len() <= 6) {
        let decoded = percent_encoding::percent_decode_str(segment).collect::<Vec<u8>>();
        if decoded == b"." || decoded == b".." {
            return Err(Error::build(format!(
                "the path {path:?} has a dot segment ({segment:?}), which would change the request's path"
            )));
        }
    }
    Ok(())
}

/// How an array query parameter is written (Swagger 2.0 `collectionFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CollectionFormat {
    /// `a,b` (the Swagger default).
    #[default]
    Csv,
    /// `a b`.
    Ssv,
    /// `a\tb`.
    Tsv,
    /// `a|b`.
    Pipes,
    /// `name=a&name=b`.
    Multi,
}

impl CollectionFormat {
    fn separator(self) -> Option<char> {
        match self {
            CollectionFormat::Csv => Some(','),
            CollectionFormat::Ssv => Some(' '),
            CollectionFormat::Tsv => Some('\t'),
            CollectionFormat::Pipes => Some('|'),
            CollectionFormat::Multi => None,
        }
    }
}

/// Builds an encoded query string (without the leading `?`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    encoded: String,
}

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// A query from an already encoded string (e.g. the query of a `nextUri`).
    pub fn from_encoded(encoded: &str) -> Self {
        Self { encoded: encoded.to_owned() }
    }

    /// Appends `name=value`.
    pub fn push(&mut self, name: &str, value: &str) -> &mut Self {
        if !self.encoded.is_empty() {
            self.encoded.push('&');
        }
        let _ = write!(self.encoded, "{}={}", utf8_percent_encode(name, QUERY), utf8_percent_encode(value, QUERY));
        self
    }

    /// Appends a value that has a `Display` form (numbers, booleans).
    pub fn push_display(&mut self, name: &str, value: &dyn std::fmt::Display) -> &mut Self {
        self.push(name, &value.to_string())
    }

    /// Appends an array parameter in the given format. An empty array adds nothing.
    pub fn push_list<S: AsRef<str>>(&mut self, name: &str, values: &[S], format: CollectionFormat) -> &mut Self {
        if values.is_empty() {
            return self;
        }
        match format.separator() {
            None => {
                for v in values {
                    self.push(name, v.as_ref());
                }
            }
            Some(sep) => {
                let mut joined = String::new();
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        joined.push(sep);
                    }
                    joined.push_str(v.as_ref());
                }
                self.push(name, &joined);
            }
        }
        self
    }

    /// The encoded query, `""` when empty.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.encoded.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_cannot_escape_their_segment() {
        assert_eq!(encode_path_segment("abc-123_x.y~z"), "abc-123_x.y~z");
        assert_eq!(encode_path_segment("a/b"), "a%2Fb");
        assert_eq!(encode_path_segment("../admin"), "..%2Fadmin");
        assert_eq!(encode_path_segment("a b?c#d%e"), "a%20b%3Fc%23d%25e");
        assert_eq!(encode_path_segment("é"), "%C3%A9");
    }

    #[test]
    fn dot_segments_are_build_errors() {
        for bad in [".", ".."] {
            let e = check_path_param("deleteUserRoutingskill", "skillId", bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Build);
            assert_eq!(e.operation(), Some("deleteUserRoutingskill"));
            assert!(e.message().contains("`skillId`"), "{e}");
        }
        assert!(check_path_param("op", "id", "").unwrap_err().message().contains("empty"));
        for ok in ["...", ".a", "a.", "u1"] {
            assert!(check_path_param("op", "id", ok).is_ok(), "{ok}");
        }
        for bad in ["/api/v2/users/..", "/api/v2/./users", "/api/v2/users/%2e%2E/x", "/api/v2/users/%2E?x=1"] {
            assert_eq!(check_path(bad).unwrap_err().kind(), crate::ErrorKind::Build, "{bad}");
        }
        for ok in ["/api/v2/users/u1", "/api/v2/users/...", "/api/v2/users?q=..", "/api/v2/users/%2e%2e%2e"] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn every_collection_format() {
        let v = ["a", "b c", "d,e"];
        let q = |f| Query::new().push_list("x", &v, f).as_str().to_owned();
        assert_eq!(q(CollectionFormat::Csv), "x=a%2Cb%20c%2Cd%2Ce");
        assert_eq!(q(CollectionFormat::Ssv), "x=a%20b%20c%20d%2Ce");
        assert_eq!(q(CollectionFormat::Tsv), "x=a%09b%20c%09d%2Ce");
        assert_eq!(q(CollectionFormat::Pipes), "x=a%7Cb%20c%7Cd%2Ce");
        assert_eq!(q(CollectionFormat::Multi), "x=a&x=b%20c&x=d%2Ce");
        assert_eq!(Query::new().push_list::<&str>("x", &[], CollectionFormat::Multi).as_str(), "");
    }

    #[test]
    fn values_are_encoded_and_joined() {
        let mut q = Query::new();
        q.push("pageSize", "25").push_display("active", &true).push("q", "a&b=c+d");
        assert_eq!(q.as_str(), "pageSize=25&active=true&q=a%26b%3Dc%2Bd");
    }
}
