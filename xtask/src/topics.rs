//! The notification topics of `genesys-cloud-notifications`, from `spec/notification-topics.json`
//! (topic pattern → payload definition): one constructor per pattern, the payload enum, the
//! decode dispatch, and a test that decodes a sampled payload of every topic.

use crate::features::Features;
use crate::ir::Ir;
use crate::models::OutFile;
use crate::names;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// One topic pattern of the mapping.
struct Topic {
    /// `v2.users.{id}.presence`.
    pattern: String,
    /// The payload's Rust type name.
    payload: String,
    /// The constructor's name (`users_presence`) and the enum variant (`UsersPresence`).
    function: String,
    variant: String,
    /// The argument name of each `{id}`.
    args: Vec<String>,
}

impl Topic {
    /// The topic's family: the second segment of its pattern (`users` of `v2.users.{id}.presence`).
    fn family(&self) -> &str {
        self.pattern.split('.').nth(1).unwrap_or("other")
    }
}

/// The payload definitions of each topic family, for [`Features::add_topic_families`].
pub fn families(ir: &Ir, json: &str) -> Result<BTreeMap<String, BTreeSet<usize>>, String> {
    let by_name: BTreeMap<&str, usize> = ir.definitions.iter().map(|&d| (ir.types[d].name.as_str(), d)).collect();
    let mut out: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for t in topics(ir, json)? {
        out.entry(t.family().to_owned()).or_default().insert(by_name[t.payload.as_str()]);
    }
    Ok(out)
}

fn singular(word: &str) -> String {
    let w = names::snake(word);
    if let Some(stem) = w.strip_suffix("ies") {
        format!("{stem}y")
    } else if w.ends_with("ss") {
        w
    } else if let Some(stem) = w.strip_suffix('s') {
        stem.to_owned()
    } else {
        w
    }
}

fn topics(ir: &Ir, json: &str) -> Result<Vec<Topic>, String> {
    let root: Value = serde_json::from_str(json).map_err(|e| format!("notification-topics.json: {e}"))?;
    let list = root["topics"].as_array().ok_or("notification-topics.json: no `topics` array")?;
    let by_pointer: BTreeMap<&str, &str> =
        ir.definitions.iter().map(|&d| (ir.types[d].pointer.as_str(), ir.types[d].name.as_str())).collect();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let (Some(pattern), Some(payload)) = (entry["topic"].as_str(), entry["payload"].as_str()) else {
            problems.push(format!("topics/{i}: needs `topic` and `payload`"));
            continue;
        };
        let Some(ty) = by_pointer.get(format!("#/definitions/{payload}").as_str()) else {
            problems.push(format!("topics/{i} ({pattern}): no definition {payload} in the spec"));
            continue;
        };
        let segments: Vec<&str> = pattern.split('.').collect();
        let words: Vec<String> =
            segments.iter().skip(1).filter(|s| !s.starts_with('{')).map(|s| names::snake(s)).collect();
        let mut args = Vec::new();
        for (j, s) in segments.iter().enumerate() {
            if s.starts_with('{') {
                let before = segments[..j].iter().rev().find(|p| !p.starts_with('{')).copied().unwrap_or("topic");
                let mut name = format!("{}_id", singular(before));
                let mut n = 2;
                while args.contains(&name) {
                    name = format!("{}_id{n}", singular(before));
                    n += 1;
                }
                args.push(name);
            }
        }
        out.push(Topic {
            pattern: pattern.to_owned(),
            payload: (*ty).to_owned(),
            function: words.join("_"),
            variant: String::new(),
            args,
        });
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    // Two patterns that differ only in a trailing `{id}` get `_by_id` on the longer one.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for t in &out {
        *seen.entry(t.function.clone()).or_default() += 1;
    }
    for t in &mut out {
        if seen[&t.function] > 1 && t.pattern.ends_with('}') {
            t.function.push_str("_by_id");
        }
    }
    let mut unique = BTreeSet::new();
    for t in &mut out {
        if !unique.insert(t.function.clone()) {
            return Err(format!("two topic patterns give the constructor name {}", t.function));
        }
        t.variant = names::type_name(&t.function);
        t.function = names::field_ident(&t.function);
    }
    Ok(out)
}

/// The feature of a topic's family (`topics-users`): the same name in the models crate and in
/// the notifications crate, whose manifest forwards one to the other.
fn family_feature<'p>(plan: &'p Features, t: &Topic) -> &'p str {
    plan.topic_features.get(t.family()).map(String::as_str).unwrap_or("topics-other")
}

/// `src/generated/topics.rs` and `tests/generated/topics.rs` of the notifications crate, and
/// the lines its manifest's `[features]` must have: one feature per topic family, forwarded to
/// the models crate.
pub fn emit(ir: &Ir, plan: &Features, json: &str, source: &str) -> Result<(Vec<OutFile>, Vec<String>), String> {
    let topics = topics(ir, json)?;
    let features: Vec<String> = plan.topic_features.values().map(|f| format!("{f} = [\"models/{f}\"]")).collect();
    let header =
        format!("// @generated by `cargo xtask codegen` from {source}. Do not edit by hand: change the generator.\n");
    let mut src = header.clone();
    src.push_str("//! One constructor per topic pattern, the payload of every topic, and the dispatch from a topic\n//! name to its payload type.\n\nuse crate::topic::{Topic, TopicError};\n\n");
    // Constructors.
    src.push_str("/// One constructor per topic pattern; each `{id}` is an argument (checked: not empty, no `.`).\npub mod topics {\n    use super::*;\n");
    for t in &topics {
        let params: Vec<String> = t.args.iter().map(|a| format!("{a}: &str")).collect();
        let _ = writeln!(
            src,
            "    #[doc = \" `{}`: events carry `{}` (feature `{}`).\"]\n    pub fn {}({}) -> ::std::result::Result<Topic, TopicError> {{\n        Topic::from_pattern({:?}, &[{}])\n    }}",
            t.pattern,
            t.payload,
            family_feature(plan, t),
            t.function,
            params.join(", "),
            t.pattern,
            t.args.join(", ")
        );
    }
    src.push_str("}\n\n");
    // The payload enum.
    src.push_str("/// The body of an event, by its topic.\n#[derive(Debug, Clone, PartialEq)]\n#[non_exhaustive]\npub enum Payload {\n");
    for t in &topics {
        let _ = writeln!(
            src,
            "    #[doc = \" `{}`\"]\n    #[cfg(feature = \"{}\")]\n    #[cfg_attr(docsrs, doc(cfg(feature = \"{}\")))]\n    {}(::std::boxed::Box<::models::{}>),",
            t.pattern,
            family_feature(plan, t),
            family_feature(plan, t),
            t.variant,
            t.payload
        );
    }
    src.push_str("    /// A topic this SDK has no type for (a pattern it does not know, or one whose family's\n    /// feature is off): the body as sent.\n    Raw(::serde_json::Value),\n}\n\n");
    // Patterns, most literal segments first, so `v2.system.socket_closing` wins over `v2.system.{id}.{id}`.
    let mut order: Vec<&Topic> = topics.iter().collect();
    order.sort_by_key(|t| {
        (std::cmp::Reverse(t.pattern.split('.').filter(|s| !s.starts_with('{')).count()), t.pattern.clone())
    });
    src.push_str("/// Every topic pattern with its payload type name, most specific first.\npub const PATTERNS: &[(&str, &str)] = &[\n");
    for t in &order {
        let _ = writeln!(src, "    ({:?}, {:?}),", t.pattern, t.payload);
    }
    src.push_str("];\n\n");
    src.push_str("/// Decodes an event body of the pattern `pattern` (an index of [`PATTERNS`]; `None`: no\n/// pattern, [`Payload::Raw`]) from `d`: inside the envelope's own parse, or alone.\npub(crate) fn decode_from<'de, D: ::serde::Deserializer<'de>>(pattern: ::std::option::Option<usize>, d: D) -> ::std::result::Result<Payload, D::Error> {\n    match pattern {\n");
    for (i, t) in order.iter().enumerate() {
        let _ = writeln!(
            src,
            "        #[cfg(feature = \"{}\")]\n        Some({i}) => ::serde::Deserialize::deserialize(d).map(Payload::{}),",
            family_feature(plan, t),
            t.variant
        );
    }
    src.push_str("        _ => ::serde::Deserialize::deserialize(d).map(Payload::Raw),\n    }\n}\n\n");
    src.push_str("/// Decodes the event body of `topic` into its payload type. A topic no pattern matches is\n/// [`Payload::Raw`]; a body that does not fit its type is an error.\npub(crate) fn decode(topic: &str, body: &str) -> ::std::result::Result<Payload, ::serde_json::Error> {\n    // The same deserializer type as the envelope's, so each payload's decoding is compiled once.\n    let mut de = ::serde_json::Deserializer::from_slice(body.as_bytes());\n    let payload = decode_from(crate::topic::pattern_of(topic), &mut de)?;\n    de.end()?;\n    ::std::result::Result::Ok(payload)\n}\n\nimpl Payload {\n    /// The payload type's definition name (`PresenceEventUserPresence`), or `Raw`.\n    pub fn type_name(&self) -> &'static str {\n        match self {\n");
    for t in &topics {
        let _ = writeln!(
            src,
            "            #[cfg(feature = \"{}\")]\n            Payload::{}(_) => {:?},",
            family_feature(plan, t),
            t.variant,
            t.payload
        );
    }
    src.push_str("            Payload::Raw(_) => \"Raw\",\n        }\n    }\n}\n");

    // The test: a sampled payload of every topic decodes into its type.
    let mut test = header;
    let families: String = plan
        .topic_features
        .iter()
        .map(|(family, feature)| format!("    ({family:?}, cfg!(feature = {feature:?})),\n"))
        .collect();
    let families = format!("/// Each topic family, and whether its feature (its payload types) is on.\nconst FAMILIES: &[(&str, bool)] = &[\n{families}];\n");
    test.push_str(&"//! A schema-valid sampled payload of every topic decodes into the topic's type, from the\n//! WebSocket's envelope and from an Amazon EventBridge event alike.\n\nuse genesys_cloud_notifications::{decode_event, decode_eventbridge, Payload, PATTERNS};\n\n{families}\n#[test]\nfn every_topic_decodes_its_sampled_payload() {\n    let spec = std::fs::read_to_string(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/../../spec/platform-api-v2.json\")).expect(\"the spec\");\n    let doc = genesys_cloud_spec::Document::parse(&spec).expect(\"the spec parses\");\n    let sampler = genesys_cloud_spec::Sampler::new(&doc, genesys_cloud_spec::SampleOptions { max_depth: 3, ..Default::default() });\n    let mut groups: std::collections::BTreeMap<String, (usize, usize)> = Default::default();\n    let mut failures = Vec::new();\n    for (pattern, payload) in PATTERNS {\n        let topic = pattern.replace(\"{id}\", \"3fa85f64-5717-4562-b3fc-2c963f66afa6\");\n        let body = sampler.definition(payload).expect(\"a sample\");\n        let envelope = serde_json::json!({\"topicName\": topic, \"version\": \"2\", \"eventBody\": body, \"metadata\": {\"CorrelationId\": \"c-1\"}}).to_string();\n        let group = pattern.split('.').nth(1).unwrap_or(\"?\").to_owned();\n        // A family whose feature is off decodes as `Raw`.\n        let typed = FAMILIES.iter().any(|(f, on)| *f == group && *on);\n        let entry = groups.entry(group).or_default();\n        // The same notification from Amazon EventBridge: the same payload.\n        let detail: serde_json::Value = serde_json::from_str(&envelope).expect(\"the envelope is JSON\");\n        let bridged = serde_json::json!({\"version\": \"0\", \"id\": \"e-1\", \"detail-type\": pattern, \"source\": \"aws.partner/genesys.com/cloud/org-1/feed\", \"account\": \"123456789012\", \"time\": \"2026-12-07T10:15:30Z\", \"region\": \"us-east-1\", \"resources\": [], \"detail\": detail}).to_string();\n        let from_bridge = decode_eventbridge(bridged.as_bytes()).map(|b| b.event.payload);\n        match decode_event(envelope.as_bytes()) {\n            Ok(event) if from_bridge.as_ref().ok() != Some(&event.payload) => {\n                entry.1 += 1;\n                failures.push(format!(\"{pattern}: from EventBridge {from_bridge:?}\"));\n            }\n            Ok(event) if typed && event.payload.type_name() == *payload && !matches!(event.payload, Payload::Raw(_)) => entry.0 += 1,\n            Ok(event) if !typed && matches!(event.payload, Payload::Raw(_)) => entry.0 += 1,\n            Ok(event) => {\n                entry.1 += 1;\n                failures.push(format!(\"{pattern}: decoded as {}\", event.payload.type_name()));\n            }\n            Err(e) => {\n                entry.1 += 1;\n                failures.push(format!(\"{pattern}: {e}\"));\n            }\n        }\n    }\n    for (group, (ok, bad)) in &groups {\n        println!(\"{group}: {ok} passed, {bad} failed\");\n    }\n    println!(\"{} passed, {} failed\", PATTERNS.len() - failures.len(), failures.len());\n    assert!(failures.is_empty(), \"{}\", failures.join(\"\\n\"));\n".replace("{families}", &families));
    let _ = writeln!(test, "    assert_eq!(PATTERNS.len(), {});\n}}", topics.len());
    Ok((vec![("src/generated/topics.rs".to_owned(), src), ("tests/generated/topics.rs".to_owned(), test)], features))
}
