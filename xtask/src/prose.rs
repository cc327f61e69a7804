//! The vendor's prose (operation summaries and descriptions, parameter and property
//! descriptions) as Markdown that rustdoc shows as written.
//!
//! The text is plain prose, not Markdown: `[.mmm]` in a date pattern is not a link, `<= 1,000`
//! is not an HTML tag, `*phone` is not emphasis. Every character Markdown or rustdoc would read
//! as markup is escaped, with two exceptions that keep the writer's intent: a URL becomes an
//! autolink (`<https://…>`, which `rustdoc::bare_urls` asks for), and backticks that pair up
//! stay code spans.

/// Placeholder descriptions the vendor's SDK gives body parameters: they say nothing.
const PLACEHOLDERS: &[&str] = &["body", "query"];

/// The description to show, or `None` when there is none or it is a placeholder.
pub fn shown(text: Option<&str>) -> Option<String> {
    let text = text?.trim();
    if text.is_empty() || PLACEHOLDERS.iter().any(|p| text.eq_ignore_ascii_case(p)) {
        return None;
    }
    Some(escape(text))
}

/// `text` on one line, escaped for rustdoc (see the module docs).
pub fn escape(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let urls = urls(&text);
    let outside: usize = {
        let mut n = 0;
        let mut at = 0;
        for &(start, end) in &urls {
            n += text[at..start].matches('`').count();
            at = end;
        }
        n + text[at..].matches('`').count()
    };
    let code_spans = outside > 0 && outside % 2 == 0;
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_code = false;
    let mut at = 0;
    let mut next_url = urls.iter().peekable();
    while at < text.len() {
        if let Some(&&(start, end)) = next_url.peek() {
            if start == at && !in_code {
                out.push('<');
                out.push_str(&text[start..end]);
                out.push('>');
                at = end;
                next_url.next();
                continue;
            }
        }
        let c = text[at..].chars().next().unwrap_or(' ');
        at += c.len_utf8();
        if c == '`' && code_spans {
            in_code = !in_code;
            out.push(c);
            continue;
        }
        if in_code {
            out.push(c);
            continue;
        }
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '&' | '~' | '!')
            || (out.is_empty() && matches!(c, '-' | '+' | '='))
        {
            out.push('\\');
        }
        out.push(c);
        // `1. text` or `1) text` at the start would be a list item.
        if out.chars().all(|d| d.is_ascii_digit()) && text[at..].starts_with(['.', ')']) {
            out.push('\\');
        }
    }
    out
}

/// The byte ranges of `http://` and `https://` URLs in `text`, without trailing punctuation.
fn urls(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = ["http://", "https://"].iter().filter_map(|p| text[from..].find(p)).min() {
        let start = from + found;
        let rest = &text[start..];
        let mut end = start + rest.find(|c: char| c.is_whitespace() || "<>\"`".contains(c)).unwrap_or(rest.len());
        // Sentence punctuation after a URL is not part of it; nor is a closing bracket the URL
        // did not open.
        loop {
            let url = &text[start..end];
            let Some(last) = url.chars().last() else { break };
            let unbalanced =
                |open: char, close: char| last == close && url.matches(open).count() < url.matches(close).count();
            if ".,;:!?'".contains(last) || unbalanced('(', ')') || unbalanced('[', ']') {
                end -= last.len_utf8();
            } else {
                break;
            }
        }
        if end > start + "https://".len() {
            out.push((start, end));
        }
        from = end.max(start + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_prose_is_shown_as_written() {
        assert_eq!(escape("yyyy-MM-ddTHH:mm:ss[.mmm]Z"), r"yyyy-MM-ddTHH:mm:ss\[.mmm\]Z");
        assert_eq!(escape("pageNumber * pageSize must be <= 1,000"), r"pageNumber \* pageSize must be \<= 1,000");
        assert_eq!(escape("a & b, #1, x|y, ~z~"), r"a \& b, \#1, x\|y, \~z\~");
        assert_eq!(escape("- not a list"), r"\- not a list");
        assert_eq!(escape("1. not a list"), r"1\. not a list");
        assert_eq!(escape("snake_case\\path"), r"snake\_case\\path");
        assert_eq!(escape("two\n  lines"), "two lines");
    }

    #[test]
    fn paired_backticks_stay_code_and_a_lone_one_is_escaped() {
        assert_eq!(escape("If an `after` key is [returned]"), r"If an `after` key is \[returned\]");
        assert_eq!(escape("the `a_b` and `[x]`"), "the `a_b` and `[x]`");
        assert_eq!(escape("a lone ` tick"), r"a lone \` tick");
    }

    #[test]
    fn urls_become_autolinks_without_trailing_punctuation() {
        assert_eq!(
            escape("See https://developer.genesys.cloud/limits#available-limits for limits."),
            "See <https://developer.genesys.cloud/limits#available-limits> for limits."
        );
        assert_eq!(escape("(see http://x.example/a_(b))."), "(see <http://x.example/a_(b)>).");
        assert_eq!(escape("(at https://x.example/p)"), "(at <https://x.example/p>)");
        assert_eq!(escape("just https:// here"), "just https:// here");
    }

    #[test]
    fn placeholders_show_nothing() {
        assert_eq!(shown(Some("body")), None);
        assert_eq!(shown(Some(" Query ")), None);
        assert_eq!(shown(Some("")), None);
        assert_eq!(shown(None), None);
        assert_eq!(shown(Some("The request body")), Some("The request body".into()));
    }
}
