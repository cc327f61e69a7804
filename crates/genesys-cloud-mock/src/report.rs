//! The analytics the mock answers from its own state, so that a report computed from an
//! export can be checked against the aggregate for the same interval.
//!
//! A conversations details job over an interval holds
//! [`MockOptions::job_items`](crate::MockOptions::job_items) conversations spread evenly over
//! it. Conversation `i` waits in queue `i mod q` of the mock's queues (in their listing order)
//! and has media type `i mod 4` of [`MEDIA`]; it is connected and handled for 45 s.
//! `POST /api/v2/analytics/conversations/aggregates/query` counts the same conversations for
//! the same interval, grouped by `queueId` and `mediaType`, bucketed by `granularity`.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The media types the conversations take in turn.
pub(crate) const MEDIA: [&str; 4] = ["voice", "chat", "email", "message"];

/// How long each conversation is handled.
const HANDLE_MS: i64 = 45_000;

/// An interval `start/end` of a query; `None` when it is missing, malformed or empty.
pub(crate) fn interval(query: &Value) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (a, b) = query.get("interval")?.as_str()?.split_once('/')?;
    let a: DateTime<Utc> = a.parse().ok()?;
    let b: DateTime<Utc> = b.parse().ok()?;
    (a < b).then_some((a, b))
}

/// Conversation `i` of `n` over `[from, to)`: when it starts, its queue and its media type.
fn shape(
    i: usize,
    n: usize,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    queues: &[String],
) -> (DateTime<Utc>, &str, &'static str) {
    let step = (to - from) / n.max(1) as i32;
    let queue = if queues.is_empty() { "" } else { queues[i % queues.len()].as_str() };
    (from + step * i as i32, queue, MEDIA[i % MEDIA.len()])
}

/// Gives a sampled conversation the queue, media type and times of conversation `i`.
pub(crate) fn conversation(
    mut item: Value,
    i: usize,
    n: usize,
    span: (DateTime<Utc>, DateTime<Utc>),
    queues: &[String],
) -> Value {
    let (start, queue, media) = shape(i, n, span, queues);
    let end = start + Duration::milliseconds(HANDLE_MS);
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if let Some(o) = item.as_object_mut() {
        o.insert("conversationStart".into(), json!(at(start)));
        o.insert("conversationEnd".into(), json!(at(end)));
        o.insert(
            "participants".into(),
            json!([{
                "participantId": format!("acd-{i:06}"),
                "purpose": "acd",
                "sessions": [{
                    "sessionId": format!("session-{i:06}"),
                    "mediaType": media,
                    "segments": [{"segmentType": "interact", "queueId": queue, "segmentStart": at(start), "segmentEnd": at(end)}],
                }],
            }]),
        );
    }
    item
}

/// A `granularity` as a duration (`PT15M`, `PT1H`, `P1D`, …).
fn granularity(text: &str) -> Option<Duration> {
    let (days, time) = match text.strip_prefix('P')?.split_once('T') {
        Some((d, t)) => (d, t),
        None => (text.strip_prefix('P')?, ""),
    };
    let mut total = Duration::zero();
    let mut number = String::new();
    for (part, units) in
        [(days, [('W', 7 * 86_400), ('D', 86_400), ('\0', 0)]), (time, [('H', 3_600), ('M', 60), ('S', 1)])]
    {
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let (_, seconds) = units.iter().find(|(u, _)| *u == c)?;
            total += Duration::seconds(number.parse::<i64>().ok()? * seconds);
            number.clear();
        }
    }
    (number.is_empty() && total > Duration::zero()).then_some(total)
}

/// The answer to a conversations aggregate query, or the reason it is refused.
pub(crate) fn aggregate(query: &Value, queues: &[String], n: usize) -> Result<Value, String> {
    let span = interval(query).ok_or("the query needs an interval start/end (ISO-8601), start before end")?;
    let strings = |key: &str| -> Vec<String> {
        query
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let group_by = strings("groupBy");
    let metrics = strings("metrics");
    if metrics.is_empty() {
        return Err("the query needs at least one metric".into());
    }
    let bucket = match query.get("granularity").and_then(Value::as_str) {
        Some(g) => Some(granularity(g).ok_or_else(|| format!("invalid granularity {g:?}"))?),
        None => None,
    };
    // (group, bucket index) → conversations.
    let mut counts: BTreeMap<(Vec<(String, String)>, i64), u64> = BTreeMap::new();
    for i in 0..n {
        let (start, queue, media) = shape(i, n, span, queues);
        let group: Vec<(String, String)> = group_by
            .iter()
            .filter_map(|d| match d.as_str() {
                "queueId" => Some((d.clone(), queue.to_owned())),
                "mediaType" => Some((d.clone(), media.to_owned())),
                _ => None,
            })
            .collect();
        let index = bucket.map_or(0, |b| (start - span.0).num_milliseconds() / b.num_milliseconds().max(1));
        *counts.entry((group, index)).or_default() += 1;
    }
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut results: BTreeMap<Vec<(String, String)>, Vec<Value>> = BTreeMap::new();
    for ((group, index), count) in counts {
        let (from, to) = match bucket {
            Some(b) => (span.0 + b * index as i32, (span.0 + b * (index as i32 + 1)).min(span.1)),
            None => span,
        };
        let stats: Vec<Value> = metrics
            .iter()
            .map(|m| {
                let stats = if m.starts_with('t') {
                    json!({"count": count, "sum": count as i64 * HANDLE_MS, "min": HANDLE_MS, "max": HANDLE_MS})
                } else {
                    json!({"count": count})
                };
                json!({"metric": m, "stats": stats})
            })
            .collect();
        results
            .entry(group)
            .or_default()
            .push(json!({"interval": format!("{}/{}", at(from), at(to)), "metrics": stats}));
    }
    let results: Vec<Value> = results
        .into_iter()
        .map(|(group, data)| {
            let group: Map<String, Value> = group.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
            json!({"group": group, "data": data})
        })
        .collect();
    Ok(json!({ "results": results }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granularities_parse_as_durations() {
        assert_eq!(granularity("PT15M"), Some(Duration::minutes(15)));
        assert_eq!(granularity("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(granularity("P1D"), Some(Duration::days(1)));
        assert_eq!(granularity("P1W"), Some(Duration::days(7)));
        assert_eq!(granularity("PT"), None);
        assert_eq!(granularity("1H"), None);
        assert_eq!(granularity("PT5X"), None);
    }

    #[test]
    fn an_aggregate_is_grouped_bucketed_and_shaped_by_its_metrics() {
        let queues = vec!["q-a".to_owned(), "q-b".to_owned()];
        let query = json!({
            "interval": "2026-12-01T00:00:00Z/2026-12-01T02:00:00Z",
            "groupBy": ["queueId"], "metrics": ["nConnected", "tHandle"], "granularity": "PT1H",
        });
        let answer = aggregate(&query, &queues, 8).unwrap();
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), 2, "one group a queue");
        assert_eq!(results[0]["group"], json!({"queueId": "q-a"}));
        let data = results[0]["data"].as_array().unwrap();
        assert_eq!(data.len(), 2, "two hours");
        assert_eq!(data[0]["interval"], "2026-12-01T00:00:00.000Z/2026-12-01T01:00:00.000Z");
        assert_eq!(data[0]["metrics"][0], json!({"metric": "nConnected", "stats": {"count": 2}}));
        assert_eq!(data[0]["metrics"][1]["stats"]["sum"], 90_000);
        assert!(aggregate(&json!({"metrics": ["nConnected"]}), &queues, 8).is_err(), "no interval");
        assert!(aggregate(&json!({"interval": "2026-12-01T00:00:00Z/2026-12-01T02:00:00Z"}), &queues, 8).is_err());
    }
}
