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
    // And both are what the body says, explicit null included, the unknown key dropped.
    let mut expected: serde_json::Value = serde_json::from_str(body).unwrap();
    expected.as_object_mut().unwrap().remove("futureField");
    assert_eq!(a.to_json_value().unwrap(), expected);
    assert_eq!(a.name.as_deref(), Some("Ada"));
    assert_eq!(a.division.as_ref().and_then(|d| d.id.as_deref()), Some("d1"));
    assert!(a.is_explicit_null("department") && !a.is_explicit_null("email"));
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
    assert!(a.division.is_none() && a.is_explicit_null("division"));
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
