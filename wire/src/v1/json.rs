//! Serde helpers that give the v1 types Mesos's JSON reading rules
//! (stout's protobuf-from-JSON parser): numbers may arrive as JSON numbers
//! or as strings holding one (protobuf's JSON mapping writes 64-bit
//! integers as strings), `null` leaves a singular optional field unset,
//! and an unknown name in an optional enum field leaves the field unset
//! instead of failing.
//! Also the `bytes` newtype (base64 in JSON) and the one-line error text.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::base64;

/// A protobuf `bytes` field: raw bytes in Rust, base64 text in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        base64::decode(&text).map(Bytes).map_err(D::Error::custom)
    }
}

/// A numeric protobuf field type.
pub(crate) trait Number: Sized {
    const KIND: &'static str;
    fn from_json(n: &serde_json::Number) -> Option<Self>;
    fn from_text(s: &str) -> Option<Self>;
}

impl Number for f64 {
    const KIND: &'static str = "a number";
    fn from_json(n: &serde_json::Number) -> Option<f64> {
        n.as_f64()
    }
    fn from_text(s: &str) -> Option<f64> {
        s.trim().parse().ok()
    }
}

/// An integral value of a JSON number: integers, and floats without a
/// fractional part (stout converts those too).
fn integral(n: &serde_json::Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    let f = n.as_f64()?;
    // Beyond 2^64 no integer field can hold it anyway.
    (f.fract() == 0.0 && f.abs() < 1.9e19).then_some(f as i128)
}

macro_rules! integer {
    ($($t:ty => $kind:literal),+ $(,)?) => {$(
        impl Number for $t {
            const KIND: &'static str = $kind;
            fn from_json(n: &serde_json::Number) -> Option<$t> {
                integral(n).and_then(|i| <$t>::try_from(i).ok())
            }
            fn from_text(s: &str) -> Option<$t> {
                let s = s.trim();
                s.parse::<$t>().ok().or_else(|| {
                    let f: f64 = s.parse().ok()?;
                    serde_json::Number::from_f64(f).and_then(|n| Self::from_json(&n))
                })
            }
        }
    )+};
}

integer! {
    u64 => "an unsigned 64-bit integer",
    i64 => "a 64-bit integer",
    u32 => "an unsigned 32-bit integer",
    i32 => "a 32-bit integer",
}

/// The JSON kind of `v`, for error messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn number_from<T: Number, E: serde::de::Error>(v: &Value) -> Result<T, E> {
    let parsed = match v {
        Value::Number(n) => T::from_json(n),
        Value::String(s) => T::from_text(s),
        _ => None,
    };
    parsed.ok_or_else(|| match v {
        Value::Number(_) | Value::String(_) => E::custom(format!("expected {}, got {v}", T::KIND)),
        other => E::custom(format!("expected {}, got {}", T::KIND, kind(other))),
    })
}

/// A required (or defaulted) numeric field.
pub(crate) fn number<'de, D: Deserializer<'de>, T: Number>(d: D) -> Result<T, D::Error> {
    number_from(&Value::deserialize(d)?)
}

/// An optional numeric field; `null` is unset.
pub(crate) fn opt_number<'de, D: Deserializer<'de>, T: Number>(
    d: D,
) -> Result<Option<T>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => number_from(&v).map(Some),
    }
}

/// An optional enum field: a name this implementation does not know leaves
/// the field unset, as protobuf does for optional enums.
pub(crate) fn lenient_enum<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::String(_)) => Ok(T::deserialize(v).ok()),
        Some(other) => Err(D::Error::custom(format!(
            "expected an enum name, got {}",
            kind(&other)
        ))),
    }
}

/// Longest error text taken from input (names, serde messages).
const MAX_REASON: usize = 500;

/// `text` on one line and of bounded length: control characters become
/// spaces, so an error built from input can go into a one-line HTTP body or
/// a log line as it is.
pub(crate) fn one_line(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_REASON)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_REASON).is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Numbers {
        #[serde(deserialize_with = "number")]
        a: u64,
        #[serde(default, deserialize_with = "opt_number")]
        b: Option<i32>,
        #[serde(default, deserialize_with = "opt_number")]
        c: Option<f64>,
    }

    fn numbers(text: &str) -> Result<Numbers, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_come_as_numbers_or_strings() {
        assert_eq!(
            numbers(r#"{"a": 3, "b": -2, "c": 1.5}"#).unwrap(),
            Numbers {
                a: 3,
                b: Some(-2),
                c: Some(1.5)
            }
        );
        assert_eq!(
            numbers(r#"{"a": "18446744073709551615", "b": "7", "c": "2"}"#).unwrap(),
            Numbers {
                a: u64::MAX,
                b: Some(7),
                c: Some(2.0)
            }
        );
        assert_eq!(numbers(r#"{"a": 5.0, "b": null}"#).unwrap().a, 5);
        assert_eq!(numbers(r#"{"a": 5}"#).unwrap().b, None);
    }

    #[test]
    fn bad_numbers_are_one_line_errors() {
        for bad in [
            r#"{"a": -1}"#,
            r#"{"a": 1.5}"#,
            r#"{"a": "x\ny"}"#,
            r#"{"a": true}"#,
            r#"{"a": 1, "b": 4294967296}"#,
            r#"{"b": 1}"#,
        ] {
            let e = numbers(bad).unwrap_err();
            assert!(!one_line(&e).contains('\n'), "{bad}: {e}");
        }
    }

    #[test]
    fn one_line_strips_controls_and_bounds_length() {
        assert_eq!(one_line("a\nb\r\tc"), "a b  c");
        let long = "x".repeat(1000);
        assert_eq!(one_line(&long).len(), MAX_REASON + 3);
    }

    #[test]
    fn bytes_are_base64_in_json() {
        let b: Bytes = serde_json::from_str(r#""aGk=""#).unwrap();
        assert_eq!(b, Bytes(b"hi".to_vec()));
        assert_eq!(serde_json::to_string(&b).unwrap(), r#""aGk=""#);
        assert!(serde_json::from_str::<Bytes>(r#""a*""#).is_err());
    }
}
