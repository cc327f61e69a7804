//! What the generator makes of each Swagger construct, checked from outside the crate
//! (as a user sees it). Needs `--features full`.
#![cfg(feature = "full")]

use golden_models::*;
use serde_json::json;

#[test]
fn awkward_property_names_become_valid_fields_and_keep_their_json_names() {
    let mut n = Names::default();
    n.r#type = Some("t".into());
    n.self_ = Some("s".into());
    n.r#match = Some("m".into());
    n.n3d_model = Some("3d".into());
    n.r#ref = Some("#/x".into());
    n.schema = Some("urn:schema".into());
    n.first_name = Some("Ann".into());
    n.a_b = Some("dot".into());
    n.x_y = Some("slash".into());
    n.with_space = Some("space".into());
    n.foo_bar = Some("camel".into());
    n.foo_bar_2 = Some("snake".into());
    n.state = Some(NamesStateEnum::On);
    let v = n.to_json_value().unwrap();
    assert_eq!(
        v,
        json!({"type": "t", "self": "s", "match": "m", "3dModel": "3d", "$ref": "#/x", "$schema": "urn:schema",
               "first-name": "Ann", "a.b": "dot", "x/y": "slash", "with space": "space",
               "fooBar": "camel", "foo_bar": "snake", "state": "on"})
    );
    let back = Names::from_json(&v.to_string()).unwrap();
    assert_eq!(back, n);
    // The definition `NamesState` keeps its name; the inline enum `Names.state` gets `Enum`.
    let _: NamesState = NamesState::default();
}

#[test]
fn awkward_definition_names_become_valid_types() {
    let _ = MyDefV2::default();
    let _ = N2ndThing::default();
    // `Model` is the crate's trait; the definition called Model gets a suffix.
    assert_eq!(<Model2 as Model>::NAME, "Model");
    // Definitions named like std types do not break the generated code.
    let mut o = golden_models::Option::default();
    let mut v = golden_models::Vec::default();
    v.items = Some(vec!["a".into()]);
    o.some = Some(v);
    assert_eq!(o.to_json().unwrap(), r#"{"some":{"items":["a"]}}"#);
}

#[test]
fn inline_objects_and_enums_are_named_after_their_parent() {
    let pet = Pet::from_json(
        r#"{"name":"Rex","owner":{"name":"Ann","since":"2020-01-02"},"tags":[{"label":"x","weight":0.5}],
            "kind":"a b","status":"sold","priority":2,"matrix":[[1,2],[3]],
            "labels":{"a":"b"},"byId":{"x":"available","y":"brand-new"},"meta":{"k":[1]},"anything":[true]}"#,
    )
    .unwrap();
    let owner: &PetOwner = pet.owner.as_ref().unwrap();
    assert_eq!(owner.since, Some(chrono::NaiveDate::from_ymd_opt(2020, 1, 2).unwrap()));
    let tag: &PetTagsItem = &pet.tags.as_ref().unwrap()[0];
    assert_eq!(tag.weight, Some(0.5f32));
    assert_eq!(pet.kind, Some(PetKind::AB));
    assert_eq!(pet.status, Some(Status::Sold));
    assert_eq!(pet.priority, Some(Priority::V2));
    assert_eq!(pet.matrix, Some(vec![vec![1, 2], vec![3]]));
    let by_id = pet.by_id.as_ref().unwrap();
    assert_eq!(by_id["y"], Status::Unknown("brand-new".into()));
    assert_eq!(pet.meta, Some(json!({"k": [1]})));
    assert_eq!(pet.anything, Some(json!([true])));
}

#[test]
fn enum_values_map_to_distinct_variants_and_unknown_values_are_kept() {
    let all = ["cat", "dog", "unknown", "", "1m", "+", "a b", "A B"];
    let variants = [
        PetKind::Cat,
        PetKind::Dog,
        PetKind::UnknownValue,
        PetKind::Empty,
        PetKind::V1m,
        PetKind::U2B,
        PetKind::AB,
        PetKind::AB2,
    ];
    for (wire, variant) in all.iter().zip(variants.iter()) {
        assert_eq!(PetKind::from(*wire), *variant);
        assert_eq!(variant.as_str(), *wire);
        assert_eq!(serde_json::to_string(variant).unwrap(), format!("{wire:?}"));
    }
    assert_eq!(PetKind::VALUES, &all);
    let odd: PetKind = serde_json::from_str(r#""parrot""#).unwrap();
    assert_eq!(odd, PetKind::Unknown("parrot".into()));
    assert_eq!(odd.to_string(), "parrot");
    // Integer enums too.
    assert_eq!(serde_json::from_str::<Priority>("-3").unwrap(), Priority::Minus3);
    let seven: Priority = serde_json::from_str("7").unwrap();
    assert_eq!(seven, Priority::Unknown(7));
    assert_eq!(serde_json::to_string(&seven).unwrap(), "7");
}

#[test]
fn recursive_and_mutually_recursive_types_are_boxed() {
    let t = TreeNode::from_json(
        r#"{"value":"leaf","parent":{"value":"root","children":[{"value":"sibling"}]},"partner":{"b":{"a":{"n":1}}}}"#,
    )
    .unwrap();
    // The field types say where the boxes are.
    let parent: std::option::Option<Box<TreeNode>> = t.parent.clone();
    let parent = parent.unwrap();
    assert_eq!(parent.children.as_ref().unwrap()[0].value.as_deref(), Some("sibling"));
    let b: std::option::Option<Box<MutualB>> = t.partner.as_ref().unwrap().b.clone();
    let b = b.unwrap();
    assert_eq!(b.a.as_ref().unwrap().n, Some(1));
}

#[test]
fn all_of_merges_the_parent_properties() {
    let d = Dog::from_json(r#"{"name":"Rex","barkVolume":11.5,"kind":"dog","id":3}"#).unwrap();
    assert_eq!(d.name.as_deref(), Some("Rex"));
    assert_eq!(d.bark_volume, Some(11.5));
    assert_eq!(d.kind, Some(DogKind::Dog));
    assert_eq!(d.id, Some(3));
}

#[test]
fn formats_are_typed_and_round_trip() {
    let f = Formats::from_json(
        r#"{"i32":-5,"i64":9007199254740993,"f32":1.25,"f64":2.5,"day":"2024-02-29",
            "at":"2024-02-29T23:59:59.123456789+02:00","local":"2024-02-29T10:00:00",
            "month":"2024-02","raw":"aGVsbG8=","file":"bin","link":"https://x.example/a","uid":"u-1","flag":false}"#,
    )
    .unwrap();
    assert_eq!(f.i32, Some(-5i32));
    assert_eq!(f.i64, Some(9_007_199_254_740_993i64));
    let at = f.at.unwrap();
    assert_eq!(at.to_rfc3339(), "2024-02-29T21:59:59.123456789+00:00");
    assert_eq!(f.month, YearMonth::new(2024, 2));
    assert_eq!(f.raw.as_ref().unwrap().0, b"hello");
    let again = Formats::from_json(&f.to_json().unwrap()).unwrap();
    assert_eq!(again, f);
    // A malformed date is a decode error, not a silent default.
    assert!(Formats::from_json(r#"{"day":"2024-02-30"}"#).is_err());
    assert!(Formats::from_json(r#"{"month":"2024-13"}"#).is_err());
    // Base64 without padding or URL-safe is accepted too.
    assert_eq!(Formats::from_json(r#"{"raw":"aGVsbG8"}"#).unwrap().raw.unwrap().0, b"hello");
}

#[test]
fn additional_properties_are_kept_and_typed() {
    let e = Extensible::from_json(r#"{"fixed":"f","a":1,"b":2}"#).unwrap();
    assert_eq!(e.fixed.as_deref(), Some("f"));
    assert_eq!(e.additional_properties.get("a"), Some(&1));
    assert_eq!(e.to_json_value().unwrap(), json!({"fixed": "f", "a": 1, "b": 2}));
    assert!(Extensible::from_json(r#"{"c":"not a number"}"#).is_err());
    let m = StringMap::from_json(r#"{"k":"v"}"#).unwrap();
    assert_eq!(m.0["k"], "v");
    let any = Anything::from_json(r#"{"deep":{"x":[1]}}"#).unwrap();
    assert_eq!(any.to_json_value().unwrap(), json!({"deep": {"x": [1]}}));
    let list = PetList::from_json(r#"[{"name":"a"},{"name":"b"}]"#).unwrap();
    assert_eq!(list.0.len(), 2);
    let id = Identifier::from_json(r#""abc""#).unwrap();
    assert_eq!(id.0, "abc");
}

#[test]
fn explicit_null_is_distinct_from_absent() {
    let mut pet = Pet::default().with(|p| p.name = Some("Rex".into()));
    assert_eq!(pet.to_json().unwrap(), r#"{"name":"Rex"}"#);
    pet.set_null("nickname").unwrap();
    assert_eq!(pet.is_explicit_null("nickname"), Ok(true));
    assert_eq!(pet.to_json().unwrap(), r#"{"name":"Rex","nickname":null}"#);
    // A typo is an error naming the model and the field, and changes nothing.
    let typo = pet.set_null("nickame").unwrap_err();
    assert_eq!((typo.model(), typo.field()), ("Pet", "nickame"));
    assert_eq!(typo.to_string(), r#"Pet has no JSON field "nickame""#);
    assert!(pet.is_explicit_null("nickame").is_err() && pet.clear_null("nickame").is_err());
    assert_eq!(pet.to_json().unwrap(), r#"{"name":"Rex","nickname":null}"#);
    // A value wins over the null mark.
    pet.nickname = Some("R".into());
    assert_eq!(pet.to_json().unwrap(), r#"{"name":"Rex","nickname":"R"}"#);
    pet.nickname = None;
    assert_eq!(pet.clear_null("nickname"), Ok(true));
    assert_eq!(pet.clear_null("nickname"), Ok(false));
    assert_eq!(pet.to_json().unwrap(), r#"{"name":"Rex"}"#);
    // Nulls from the server are written back as nulls.
    let read = Pet::from_json(r#"{"name":null,"id":1}"#).unwrap();
    assert_eq!(read.is_explicit_null("name"), Ok(true));
    assert_eq!(read.to_json().unwrap(), r#"{"id":1,"name":null}"#);
}

#[test]
fn unknown_fields_are_kept_and_written_back() {
    let p = Pet::from_json(r#"{"name":"a","future":{"x":[1,{"y":null}]},"name2":3}"#).unwrap();
    assert_eq!(p.unknown_fields().len(), 2);
    assert_eq!(p.to_json().unwrap(), r#"{"name":"a","future":{"x":[1,{"y":null}]},"name2":3}"#);
    let plain = Pet::from_json(r#"{"name":"a"}"#).unwrap();
    assert!(plain.unknown_fields().is_empty());
    assert_eq!(plain, Pet::default().with(|p| p.name = Some("a".into())), "nothing kept when there is nothing");
}

#[test]
fn debug_shows_present_fields_and_hides_secrets() {
    let f = Formats::default().with(|f| {
        f.client_secret = Some("s3cr3t-value".into());
        f.access_token = Some("tok-value".into());
        f.flag = Some(true);
    });
    let shown = format!("{f:?}");
    assert!(shown.contains("flag: true"), "{shown}");
    assert!(shown.contains("clientSecret: <redacted>"), "{shown}");
    assert!(!shown.contains("s3cr3t-value") && !shown.contains("tok-value"), "{shown}");
    assert!(!shown.contains("i32"), "absent fields are not shown: {shown}");
}

#[test]
fn model_metadata() {
    assert_eq!(<Pet as Model>::NAME, "Pet");
    assert!(<Pet as Model>::FIELDS.contains(&"byId"));
    assert_eq!(<PetOwner as Model>::NAME, "Pet.owner");
    let pretty = Pet::default().with(|p| p.id = Some(1)).to_json_pretty().unwrap();
    assert_eq!(pretty, "{\n  \"id\": 1\n}");
}
