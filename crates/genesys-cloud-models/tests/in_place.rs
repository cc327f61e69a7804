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
