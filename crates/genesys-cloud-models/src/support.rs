//! Hand-written runtime support for the generated models.
//!
//! The generated code is deliberately thin: every struct, enum and newtype delegates its
//! serde, `Debug` and JSON helpers to the generic functions here, so the 6,651 generated
//! definitions carry one small `match` each instead of a full derive expansion. That is the
//! main lever on the crate's compile time.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Behaviour shared by every generated model: its definition name, its JSON field names,
/// explicit-`null` bookkeeping and the JSON helpers.
///
/// Bring it into scope (`use genesys_cloud_models::Model;`, or the crate prelude) to call
/// [`to_json`](Model::to_json), [`from_json`](Model::from_json) and friends.
pub trait Model: Serialize + for<'de> Deserialize<'de> + Sized {
    /// The Swagger definition (or synthesized inline schema) this type was generated from.
    const NAME: &'static str;
    /// The JSON names of the object's properties, in the order the spec lists them.
    /// Empty for enums and newtypes.
    const FIELDS: &'static [&'static str] = &[];

    /// What the value keeps besides its fields: the explicit JSON `null`s and the JSON fields
    /// this SDK version does not know. `None` for types that have no properties (enums and
    /// newtypes).
    fn extras(&self) -> Option<&Extras> {
        None
    }

    /// Mutable access to the [`extras`](Model::extras); `None` for enums and newtypes.
    fn extras_mut(&mut self) -> Option<&mut Extras> {
        None
    }

    /// The JSON fields received that this SDK version does not know (the API adds fields with
    /// nearly every release), in the order received. They are written back verbatim when the
    /// value is serialized, so GET → modify → PUT does not erase them on the server.
    fn unknown_fields(&self) -> &[(String, serde_json::Value)] {
        self.extras().map_or(&[], Extras::unknown)
    }

    /// Serializes to compact JSON.
    fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Serializes to indented JSON.
    fn to_json_pretty(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Serializes to a [`serde_json::Value`].
    fn to_json_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    /// Parses JSON text. Unknown fields and unknown enum values are kept, and written back.
    fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Parses JSON bytes. Unknown fields and unknown enum values are kept, and written back.
    fn from_json_slice(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }

    /// Marks `field` (its JSON name, as in [`FIELDS`](Model::FIELDS)) to be sent as an explicit
    /// JSON `null` while its Rust value is `None`. This is how a PATCH clears a value: a field
    /// left `None` without this mark is omitted from the JSON.
    ///
    /// A name the type does not have is an [`UnknownField`] error and changes nothing, so a
    /// typo cannot pass silently.
    fn set_null(&mut self, field: &str) -> Result<(), UnknownField> {
        let index = field_index::<Self>(field)?;
        let nulls = self.extras_mut().ok_or_else(|| UnknownField::new::<Self>(field))?;
        nulls.insert(index);
        Ok(())
    }

    /// Removes the explicit-`null` mark of `field`, so a `None` value is omitted again.
    /// Returns whether the mark was set; a name the type does not have is an error.
    fn clear_null(&mut self, field: &str) -> Result<bool, UnknownField> {
        let index = field_index::<Self>(field)?;
        Ok(self.extras_mut().is_some_and(|nulls| nulls.remove(index)))
    }

    /// Whether `field` carries an explicit-`null` mark (set by [`set_null`](Model::set_null)
    /// or received as `null` from the server); a name the type does not have is an error.
    fn is_explicit_null(&self, field: &str) -> Result<bool, UnknownField> {
        let index = field_index::<Self>(field)?;
        Ok(self.extras().is_some_and(|nulls| nulls.contains(index)))
    }

    /// Reads the value of `key` from `map` into the matching field, or skips it.
    /// Used by the generated `Deserialize` impls; not part of the public API.
    #[doc(hidden)]
    fn de_field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let _ = key;
        skip(map)
    }

    /// Writes every present (or explicitly null) field into `map`.
    /// Used by the generated `Serialize` impls; not part of the public API.
    #[doc(hidden)]
    fn ser_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        let _ = map;
        Ok(())
    }

    /// Applies `edit` and returns the value, for building a model in one expression:
    ///
    /// ```ignore
    /// let body = UpdateUser::default().with(|u| u.department = Some("Support".into()));
    /// ```
    fn with(mut self, edit: impl FnOnce(&mut Self)) -> Self {
        edit(&mut self);
        self
    }
}

fn field_index<T: Model>(field: &str) -> Result<usize, UnknownField> {
    T::FIELDS.iter().position(|f| *f == field).ok_or_else(|| UnknownField::new::<T>(field))
}

/// A JSON field name that the model does not have (from [`Model::set_null`] and friends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    model: &'static str,
    field: String,
}

impl UnknownField {
    fn new<T: Model>(field: &str) -> Self {
        Self { model: T::NAME, field: field.to_owned() }
    }

    /// The model's definition name.
    pub fn model(&self) -> &'static str {
        self.model
    }

    /// The field name that was asked for.
    pub fn field(&self) -> &str {
        &self.field
    }
}

impl fmt::Display for UnknownField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} has no JSON field {:?}", self.model, self.field)
    }
}

impl std::error::Error for UnknownField {}

/// What a model value keeps besides its fields: the fields that are explicit JSON `null`s
/// rather than absent, and the JSON fields this SDK version does not know.
///
/// Kept behind one pointer: a model that has neither (the common case) pays 8 bytes and no
/// allocation for it. A field whose value is `Some` is always serialized with its value,
/// whatever the null marks say.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Extras(Option<Box<ExtrasInner>>);

#[derive(Clone, Default, PartialEq, Eq)]
struct ExtrasInner {
    /// Sorted field indexes.
    nulls: Vec<u16>,
    /// Unknown fields, in the order received (a repeated key keeps its last value).
    unknown: Vec<(String, serde_json::Value)>,
}

impl Extras {
    fn list(&self) -> &[u16] {
        self.0.as_deref().map_or(&[], |x| x.nulls.as_slice())
    }

    /// Empty is always `None`, so equal extras compare equal.
    fn tidy(&mut self) {
        if self.0.as_ref().is_some_and(|x| x.nulls.is_empty() && x.unknown.is_empty()) {
            self.0 = None;
        }
    }

    /// Whether the field with this index is marked as an explicit `null`.
    pub fn contains(&self, index: usize) -> bool {
        u16::try_from(index).is_ok_and(|i| self.list().binary_search(&i).is_ok())
    }

    /// Marks the field with this index as an explicit `null`. Indexes past `u16::MAX` are
    /// ignored.
    pub fn insert(&mut self, index: usize) {
        if let Ok(i) = u16::try_from(index) {
            let list = &mut self.0.get_or_insert_with(Box::default).nulls;
            if let Err(pos) = list.binary_search(&i) {
                list.insert(pos, i);
            }
        }
    }

    /// Unmarks the field with this index; returns whether it was marked.
    pub fn remove(&mut self, index: usize) -> bool {
        let Some(inner) = self.0.as_mut() else { return false };
        let removed = match u16::try_from(index).map(|i| inner.nulls.binary_search(&i)) {
            Ok(Ok(pos)) => {
                inner.nulls.remove(pos);
                true
            }
            _ => false,
        };
        self.tidy();
        removed
    }

    /// The unknown fields, in the order received.
    pub fn unknown(&self) -> &[(String, serde_json::Value)] {
        self.0.as_deref().map_or(&[], |x| x.unknown.as_slice())
    }

    /// Keeps an unknown field (replacing an earlier value of the same key).
    pub fn insert_unknown(&mut self, key: String, value: serde_json::Value) {
        let unknown = &mut self.0.get_or_insert_with(Box::default).unknown;
        match unknown.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => unknown.push((key, value)),
        }
    }

    /// Removes an unknown field; returns its value.
    pub fn remove_unknown(&mut self, key: &str) -> Option<serde_json::Value> {
        let inner = self.0.as_mut()?;
        let pos = inner.unknown.iter().position(|(k, _)| k == key)?;
        let (_, value) = inner.unknown.remove(pos);
        self.tidy();
        Some(value)
    }

    /// Whether no field is marked and no unknown field is kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Debug for Extras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Unknown fields show their names only: their values may be secrets.
        f.debug_struct("Extras")
            .field("nulls", &self.list())
            .field("unknown", &self.unknown().iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

/// A year and month (`YYYY-MM`), the spec's `year-month` string format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    /// The year, e.g. 2026.
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u8,
}

impl YearMonth {
    /// A year-month, or `None` when `month` is not 1 to 12 or the year has more than 4 digits.
    pub fn new(year: i32, month: u8) -> Option<Self> {
        ((1..=12).contains(&month) && (0..=9999).contains(&year)).then_some(Self { year, month })
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl std::str::FromStr for YearMonth {
    type Err = ParseYearMonthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (y, m) = s.split_once('-').ok_or(ParseYearMonthError)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(ParseYearMonthError);
        }
        let year = y.parse().map_err(|_| ParseYearMonthError)?;
        let month = m.parse().map_err(|_| ParseYearMonthError)?;
        Self::new(year, month).ok_or(ParseYearMonthError)
    }
}

/// The error of parsing a [`YearMonth`] from text that is not `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseYearMonthError;

impl fmt::Display for ParseYearMonthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected a year-month as YYYY-MM")
    }
}

impl std::error::Error for ParseYearMonthError {}

impl Serialize for YearMonth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = Key::deserialize(d)?;
        key.as_str().parse().map_err(de::Error::custom)
    }
}

/// Bytes carried in JSON as a base64 string (the spec's `byte` format).
///
/// Serializes with the standard alphabet and padding; accepts standard or URL-safe
/// alphabets, with or without padding.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Base64Bytes(pub Vec<u8>);

impl fmt::Debug for Base64Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64Bytes({} bytes)", self.0.len())
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
        use base64::Engine as _;
        let key = Key::deserialize(d)?;
        let text = key.as_str();
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .map(Base64Bytes)
            .ok_or_else(|| de::Error::custom("invalid base64 string"))
    }
}

// ---------------------------------------------------------------------------------------------
// Machinery the generated code calls. Public for the generated modules only.
// ---------------------------------------------------------------------------------------------

/// A JSON object key or string, borrowed from the input when it has no escapes.
#[doc(hidden)]
pub enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    /// The text of the key.
    pub fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The `Deserialize` of every generated struct: a default value filled in place.
#[doc(hidden)]
pub fn deserialize_struct<'de, D: Deserializer<'de>, T: Model + Default>(d: D) -> Result<T, D::Error> {
    let mut out = T::default();
    deserialize_into(d, &mut out)?;
    Ok(out)
}

/// Decodes a struct into `out` (a default value), field by field where it lies: no copy of
/// the struct is made, which matters for generated structs of many kilobytes. The API crate
/// decodes response bodies this way.
#[doc(hidden)]
pub fn deserialize_into<'de, D: Deserializer<'de>, T: Model>(d: D, out: &mut T) -> Result<(), D::Error> {
    struct Fields<'a, T>(&'a mut T);
    impl<'de, T: Model> Visitor<'de> for Fields<'_, T> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a JSON object ({})", T::NAME)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Key<'de>>()? {
                self.0.de_field(key.as_str(), &mut map)?;
            }
            Ok(())
        }
    }
    d.deserialize_map(Fields(out))
}

/// The one serializer all generated structs share: the known fields, then the unknown ones
/// kept from the decode, verbatim.
#[doc(hidden)]
pub fn serialize_struct<S: Serializer, T: Model + Default>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(None)?;
    v.ser_fields(&mut map)?;
    for (key, value) in v.unknown_fields() {
        map.serialize_entry(key, value)?;
    }
    map.end()
}

/// Reads one optional field; a JSON `null` leaves `None` and records the explicit null.
#[doc(hidden)]
#[inline]
pub fn de_opt<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
    nulls: &mut Extras,
    index: usize,
) -> Result<(), A::Error> {
    *slot = map.next_value::<Option<T>>()?;
    if slot.is_none() {
        nulls.insert(index);
    }
    Ok(())
}

/// Reads one optional field holding a struct, filling it where it lies; a JSON `null` leaves
/// `None` and records the explicit null.
#[doc(hidden)]
#[inline]
pub fn de_opt_struct<'de, A: MapAccess<'de>, T: Model + Default>(
    map: &mut A,
    slot: &mut Option<T>,
    nulls: &mut Extras,
    index: usize,
) -> Result<(), A::Error> {
    map.next_value_seed(OptionInPlace::<_, Fill<T>>(slot, PhantomData))?;
    if slot.is_none() {
        nulls.insert(index);
    }
    Ok(())
}

/// Reads one optional field holding a list of structs, filling each where it lies in the
/// list; a JSON `null` leaves `None` and records the explicit null.
#[doc(hidden)]
#[inline]
pub fn de_opt_structs<'de, A: MapAccess<'de>, T: Model + Default>(
    map: &mut A,
    slot: &mut Option<Vec<T>>,
    nulls: &mut Extras,
    index: usize,
) -> Result<(), A::Error> {
    map.next_value_seed(OptionInPlace::<_, FillVec<T>>(slot, PhantomData))?;
    if slot.is_none() {
        nulls.insert(index);
    }
    Ok(())
}

/// How a value is decoded into a place that holds its default.
trait FillIn<T> {
    fn fill<'de, D: Deserializer<'de>>(d: D, place: &mut T) -> Result<(), D::Error>;
}

/// A struct, field by field.
struct Fill<T>(PhantomData<T>);

impl<T: Model> FillIn<T> for Fill<T> {
    fn fill<'de, D: Deserializer<'de>>(d: D, place: &mut T) -> Result<(), D::Error> {
        deserialize_into(d, place)
    }
}

/// A list of structs, each filled where it lies in the list.
struct FillVec<T>(PhantomData<T>);

impl<T: Model + Default> FillIn<Vec<T>> for FillVec<T> {
    fn fill<'de, D: Deserializer<'de>>(d: D, place: &mut Vec<T>) -> Result<(), D::Error> {
        struct Items<'a, T>(&'a mut Vec<T>);
        impl<'de, T: Model + Default> Visitor<'de> for Items<'_, T> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a JSON array of objects ({})", T::NAME)
            }
            fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
                let items = self.0;
                items.reserve(seq.size_hint().unwrap_or(0).min(4096));
                loop {
                    if items.len() == items.capacity() {
                        // A full list: the item is decoded beside it and moved in, so the list
                        // grows only for an item that exists (no spare room left behind).
                        let mut item = T::default();
                        match seq.next_element_seed(InPlace(&mut item))? {
                            Some(()) => items.push(item),
                            None => return Ok(()),
                        }
                        continue;
                    }
                    items.push(T::default());
                    let Some(last) = items.last_mut() else { return Ok(()) };
                    if seq.next_element_seed(InPlace(last))?.is_none() {
                        items.pop();
                        return Ok(());
                    }
                }
            }
        }
        d.deserialize_seq(Items(place))
    }
}

/// Decodes into the struct it points to.
struct InPlace<'a, T>(&'a mut T);

impl<'de, T: Model> de::DeserializeSeed<'de> for InPlace<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        deserialize_into(d, self.0)
    }
}

/// Decodes a JSON `null` as `None`, anything else into a default value in the slot.
struct OptionInPlace<'a, T, F>(&'a mut Option<T>, PhantomData<F>);

impl<'de, T: Default, F: FillIn<T>> de::DeserializeSeed<'de> for OptionInPlace<'_, T, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, T: Default, F: FillIn<T>> Visitor<'de> for OptionInPlace<'_, T, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        *self.0 = None;
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        *self.0 = None;
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        F::fill(d, self.0.insert(T::default()))
    }
}

/// Writes one optional field: its value, an explicit `null`, or nothing.
#[doc(hidden)]
#[inline]
pub fn ser_opt<M: SerializeMap, T: Serialize>(
    map: &mut M,
    key: &'static str,
    value: &Option<T>,
    nulls: &Extras,
    index: usize,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(key, v),
        None if !nulls.is_empty() && nulls.contains(index) => map.serialize_entry(key, &()),
        None => Ok(()),
    }
}

/// Reads an unmatched key into the `additionalProperties` map of a struct that has one.
#[doc(hidden)]
pub fn de_additional<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    key: &str,
    extra: &mut std::collections::BTreeMap<String, T>,
) -> Result<(), A::Error> {
    let value = map.next_value::<T>()?;
    extra.insert(key.to_owned(), value);
    Ok(())
}

/// Writes the `additionalProperties` entries of a struct that has them.
#[doc(hidden)]
pub fn ser_additional<M: SerializeMap, T: Serialize>(
    map: &mut M,
    extra: &std::collections::BTreeMap<String, T>,
) -> Result<(), M::Error> {
    extra.iter().try_for_each(|(k, v)| map.serialize_entry(k, v))
}

/// Skips the value of a key the model does not know.
#[doc(hidden)]
#[inline]
pub fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<de::IgnoredAny>().map(|_| ())
}

/// Keeps the value of a key the model does not know, to write it back.
#[doc(hidden)]
pub fn de_unknown<'de, A: MapAccess<'de>>(map: &mut A, key: &str, extras: &mut Extras) -> Result<(), A::Error> {
    let value = map.next_value::<serde_json::Value>()?;
    extras.insert_unknown(key.to_owned(), value);
    Ok(())
}

/// An open string enum: known variants plus one that keeps any other value verbatim.
#[doc(hidden)]
pub trait OpenEnum: Sized {
    /// The variant for a known value, or `None`.
    fn from_known(value: &str) -> Option<Self>;
    /// The variant keeping an unknown value.
    fn unknown(value: String) -> Self;
    /// The wire value.
    fn wire(&self) -> &str;
}

/// `From<&str>` for open enums.
#[doc(hidden)]
pub fn enum_from_str<T: OpenEnum>(value: &str) -> T {
    T::from_known(value).unwrap_or_else(|| T::unknown(value.to_owned()))
}

/// `From<String>` for open enums, reusing the allocation for unknown values.
#[doc(hidden)]
pub fn enum_from_string<T: OpenEnum>(value: String) -> T {
    T::from_known(&value).unwrap_or_else(|| T::unknown(value))
}

/// `Deserialize` for open string enums: never fails on an unknown value.
#[doc(hidden)]
pub fn deserialize_enum<'de, D: Deserializer<'de>, T: OpenEnum>(d: D) -> Result<T, D::Error> {
    Ok(match Key::deserialize(d)? {
        Key::Borrowed(s) => enum_from_str(s),
        Key::Owned(s) => enum_from_string(s),
    })
}

/// An open integer enum: known variants plus one that keeps any other value.
#[doc(hidden)]
pub trait OpenIntEnum: Sized {
    /// The variant for a known value, or `None`.
    fn from_known(value: i64) -> Option<Self>;
    /// The variant keeping an unknown value.
    fn unknown(value: i64) -> Self;
    /// The wire value.
    fn wire(&self) -> i64;
}

/// `Deserialize` for open integer enums.
#[doc(hidden)]
pub fn deserialize_int_enum<'de, D: Deserializer<'de>, T: OpenIntEnum>(d: D) -> Result<T, D::Error> {
    let v = i64::deserialize(d)?;
    Ok(T::from_known(v).unwrap_or_else(|| T::unknown(v)))
}

/// One field as `Debug` shows it: absent fields are left out, secrets are masked.
#[doc(hidden)]
pub trait DebugField {
    /// Whether the field is absent (and so not shown).
    fn is_absent(&self) -> bool;
    /// Shows the value.
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: fmt::Debug> DebugField for Option<T> {
    fn is_absent(&self) -> bool {
        self.is_none()
    }
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Some(v) => fmt::Debug::fmt(v, f),
            None => f.write_str("None"),
        }
    }
}

impl<T: fmt::Debug> DebugField for std::collections::BTreeMap<String, T> {
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A field whose value `Debug` never shows (secrets, passwords, tokens).
#[doc(hidden)]
pub struct Redacted<'a, T>(pub &'a Option<T>);

impl<T> DebugField for Redacted<'_, T> {
    fn is_absent(&self) -> bool {
        self.0.is_none()
    }
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

struct Shown<'a>(&'a dyn DebugField);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.show(f)
    }
}

/// `Debug` for generated structs: the present fields only, secrets masked.
#[doc(hidden)]
pub fn debug_struct(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    fields: &[(&str, &dyn DebugField)],
    nulls: &Extras,
) -> fmt::Result {
    let mut s = f.debug_struct(name);
    for (key, value) in fields {
        if !value.is_absent() {
            s.field(key, &Shown(*value));
        }
    }
    if !nulls.is_empty() {
        let names: Vec<&str> =
            fields.iter().enumerate().filter(|(i, _)| nulls.contains(*i)).map(|(_, (k, _))| *k).collect();
        if !names.is_empty() {
            s.field("explicit_nulls", &names);
        }
        // Names only: an unknown field's value may be a secret.
        let unknown: Vec<&str> = nulls.unknown().iter().map(|(k, _)| k.as_str()).collect();
        if !unknown.is_empty() {
            s.field("unknown_fields", &unknown);
        }
    }
    s.finish_non_exhaustive()
}
