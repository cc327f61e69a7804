//! `Extras`: the explicit nulls and unknown fields of a model value, behind one pointer.

use genesys_cloud_models::Extras;

#[test]
fn a_set_of_field_indexes_behind_one_pointer() {
    assert_eq!(std::mem::size_of::<Extras>(), std::mem::size_of::<usize>());
    let mut n = Extras::default();
    assert!(n.is_empty() && !n.contains(3));
    n.insert(7);
    n.insert(3);
    n.insert(7);
    assert!(n.contains(3) && n.contains(7) && !n.contains(5));
    assert_eq!(format!("{n:?}"), r#"Extras { nulls: [3, 7], unknown: [] }"#);
    assert!(n.remove(3) && !n.remove(3));
    assert!(n.remove(7));
    assert!(n.is_empty());
    assert_eq!(n, Extras::default(), "emptied equals never filled");
    n.insert(usize::MAX);
    assert!(n.is_empty(), "indexes past u16 are ignored");
    n.insert_unknown("newField".into(), serde_json::json!({"secret": "s3cr3t"}));
    n.insert_unknown("newField".into(), serde_json::json!(2));
    assert_eq!(n.unknown(), &[("newField".to_owned(), serde_json::json!(2))]);
    assert!(!format!("{n:?}").contains("s3cr3t"));
    assert_eq!(n.remove_unknown("newField"), Some(serde_json::json!(2)));
    assert_eq!(n, Extras::default(), "emptied equals never filled");
}
