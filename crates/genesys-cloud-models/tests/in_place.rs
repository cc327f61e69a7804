//! `support::deserialize_into`, the in-place decode the API crate uses for response bodies,
//! gives what `serde_json::from_slice` gives, and the same errors.
#![cfg(feature = "users")]

use genesys_cloud_models::support::deserialize_into;
use genesys_cloud_models::{Model, UserMe};

fn in_place(body: &str) -> Result<UserMe, serde_json::Error> {
    let mut value = UserMe::default();
    let mut de = serde_json::Deserializer::from_str(body);
    deserialize_into(&mut de, &mut value)?;
    de.end()?;
    Ok(value)
}

#[test]
fn matches_the_value_decode_with_nulls_unknown_keys_and_nesting() {
    let body = r#"{"id":"u1","name":"Ada","department":null,"futureField":{"a":[1,2]},
        "division":{"id":"d1","name":"Home"},"images":[{"resolution":"x48","imageUri":"https://i/1"}],
        "state":"someday","version":3}"#;
    let a = in_place(body).unwrap();
    let b: UserMe = serde_json::from_str(body).unwrap();
    assert_eq!(a.to_json().unwrap(), b.to_json().unwrap());
    // And both are what the body says, explicit null and the unknown key included.
    let expected: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(a.to_json_value().unwrap(), expected);
    assert_eq!(a.name.as_deref(), Some("Ada"));
    assert_eq!(a.division.as_ref().and_then(|d| d.id.as_deref()), Some("d1"));
    assert_eq!((a.is_explicit_null("department"), a.is_explicit_null("email")), (Ok(true), Ok(false)));
    assert_eq!(a.images.as_ref().map(Vec::len), Some(1));
    // An unknown enum value is kept, not an error.
    assert!(a.to_json().unwrap().contains(r#""state":"someday""#));
}

#[test]
fn refuses_what_the_value_decode_refuses() {
    for body in ["[]", "null", "\"x\"", r#"{"id":"u1"} trailing"#, r#"{"id":"u1","#, r#"{"version":"three"}"#] {
        let e = in_place(body).unwrap_err();
        assert!(serde_json::from_str::<UserMe>(body).is_err(), "{body}");
        assert!(!e.to_string().is_empty(), "{body}");
    }
    assert!(in_place("[]").unwrap_err().to_string().contains("UserMe"));
}

#[test]
fn nested_structs_and_lists_of_them_fill_in_place_with_null_empty_and_repeated_keys() {
    let a = in_place(r#"{"division":null,"images":[],"manager":{"id":"m1"},"manager":{"name":"second"}}"#).unwrap();
    assert!(a.division.is_none() && a.is_explicit_null("division") == Ok(true));
    assert_eq!(a.images.as_ref().map(Vec::len), Some(0));
    // A repeated key replaces the whole value, as the value decode does.
    let manager = a.manager.as_ref().unwrap();
    assert_eq!((manager.id.as_deref(), manager.name.as_deref()), (None, Some("second")));
    let many = (0..37).map(|i| format!(r#"{{"resolution":"r{i}"}}"#)).collect::<Vec<_>>().join(",");
    let a = in_place(&format!(r#"{{"images":[{many}]}}"#)).unwrap();
    let images = a.images.unwrap();
    assert_eq!(images.len(), 37);
    assert_eq!(images[36].resolution.as_deref(), Some("r36"));
    // A null or a non-object inside a list of structs is refused, as by the value decode.
    for body in [r#"{"images":[null]}"#, r#"{"images":[1]}"#, r#"{"images":{}}"#, r#"{"division":[]}"#] {
        assert!(in_place(body).is_err(), "{body}");
        assert!(serde_json::from_str::<UserMe>(body).is_err(), "{body}");
    }
}

/// GET → modify → PUT against a newer API: fields this SDK does not know, at every level of
/// nesting (the body, a nested struct, structs in a list, a struct in a struct in a list), are
/// written back verbatim, so the PUT erases nothing.
#[test]
fn get_modify_put_keeps_unknown_fields_at_every_level() {
    let got = r#"{"id":"u1","name":"Ada","newTopLevel":{"deep":[1,{"x":null}]},
        "division":{"id":"d1","newInDivision":"kept"},
        "images":[{"resolution":"x48","newInImage":7},{"resolution":"x96"}],
        "manager":{"id":"m1","division":{"id":"d2","newTwoDeep":[true]}},
        "version":3}"#;
    for user in [in_place(got).unwrap(), UserMe::from_json(got).unwrap()] {
        assert_eq!(user.unknown_fields().len(), 1, "{user:?}");
        assert_eq!(user.division.as_ref().unwrap().unknown_fields()[0].0, "newInDivision");
        let mut edited = user.clone();
        edited.name = Some("Ada L.".into());
        let put: serde_json::Value = serde_json::from_str(&edited.to_json().unwrap()).unwrap();
        let mut expected: serde_json::Value = serde_json::from_str(got).unwrap();
        expected["name"] = "Ada L.".into();
        assert_eq!(put, expected);
        // Debug names an unknown field but never shows its value (it may be a secret).
        let shown = format!("{user:?}");
        assert!(shown.contains("newTopLevel") && !shown.contains("deep"), "{shown}");
    }
    // Nothing is kept, and nothing allocated, when there is nothing unknown.
    let plain = in_place(r#"{"id":"u1","division":{"id":"d1"}}"#).unwrap();
    assert!(plain.unknown_fields().is_empty() && plain.division.unwrap().unknown_fields().is_empty());
}
