//! Reading a JSON document field by field, as Marathon's readers do: a
//! field of the wrong type is recorded at its JSON pointer with Play's
//! error names (`error.expected.jsstring`, ...) and reading goes on, so
//! one answer lists every problem. Values that are well-typed but break a
//! rule are checked afterwards (see `validate`), not here.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::Details;

pub const EXPECTED_STRING: &str = "error.expected.jsstring";
pub const EXPECTED_NUMBER: &str = "error.expected.jsnumber";
pub const EXPECTED_BOOLEAN: &str = "error.expected.jsboolean";
pub const EXPECTED_ARRAY: &str = "error.expected.jsarray";
pub const EXPECTED_OBJECT: &str = "error.expected.jsobject";
pub const EXPECTED_INTEGER: &str = "error.expected.int";

/// The fields of one JSON object at `path`, and where type errors go.
pub struct Object<'a> {
    path: String,
    fields: Option<&'a Map<String, Value>>,
    errors: &'a mut Details,
}

impl<'a> Object<'a> {
    /// Reads `value` at `path`; anything but an object is an error there
    /// (and every field then reads as absent).
    pub fn new(value: &'a Value, path: &str, errors: &'a mut Details) -> Object<'a> {
        let fields = value.as_object();
        if fields.is_none() {
            errors.push(path_or_root(path), EXPECTED_OBJECT);
        }
        Object {
            path: path.to_owned(),
            fields,
            errors,
        }
    }

    pub fn path_of(&self, key: &str) -> String {
        format!("{}/{key}", self.path)
    }

    /// The raw value of `key`; `null` reads as absent, as Marathon's
    /// readers take it.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.fields?.get(key).filter(|v| !v.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    pub fn errors(&mut self) -> &mut Details {
        self.errors
    }

    fn wrong(&mut self, key: &str, expected: &str) {
        let path = self.path_of(key);
        self.errors.push(&path, expected);
    }

    pub fn string(&mut self, key: &str) -> Option<String> {
        let v = self.raw(key)?;
        match v.as_str() {
            Some(s) => Some(s.to_owned()),
            None => {
                self.wrong(key, EXPECTED_STRING);
                None
            }
        }
    }

    pub fn number(&mut self, key: &str) -> Option<f64> {
        let v = self.raw(key)?;
        match v.as_f64() {
            Some(n) => Some(n),
            None => {
                self.wrong(key, EXPECTED_NUMBER);
                None
            }
        }
    }

    /// A whole number (a JSON number with no fraction) in `i64`.
    pub fn integer(&mut self, key: &str) -> Option<i64> {
        let v = self.raw(key)?;
        if let Some(n) = v.as_i64() {
            return Some(n);
        }
        let expected = if v.is_number() {
            EXPECTED_INTEGER
        } else {
            EXPECTED_NUMBER
        };
        self.wrong(key, expected);
        None
    }

    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        let v = self.raw(key)?;
        match v.as_bool() {
            Some(b) => Some(b),
            None => {
                self.wrong(key, EXPECTED_BOOLEAN);
                None
            }
        }
    }

    /// The elements of an array, with their paths.
    pub fn array(&mut self, key: &str) -> Option<Vec<(String, &'a Value)>> {
        let v = self.raw(key)?;
        match v.as_array() {
            Some(items) => {
                let base = self.path_of(key);
                Some(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| (format!("{base}/{i}"), item))
                        .collect(),
                )
            }
            None => {
                self.wrong(key, EXPECTED_ARRAY);
                None
            }
        }
    }

    /// An array of strings; elements of another type are errors at their
    /// index.
    pub fn strings(&mut self, key: &str) -> Option<Vec<String>> {
        let items = self.array(key)?;
        let mut out = Vec::with_capacity(items.len());
        for (path, item) in items {
            match item.as_str() {
                Some(s) => out.push(s.to_owned()),
                None => self.errors.push(&path, EXPECTED_STRING),
            }
        }
        Some(out)
    }

    /// An object of strings (`labels`).
    pub fn string_map(&mut self, key: &str) -> Option<BTreeMap<String, String>> {
        let v = self.raw(key)?;
        let Some(map) = v.as_object() else {
            self.wrong(key, EXPECTED_OBJECT);
            return None;
        };
        let base = self.path_of(key);
        let mut out = BTreeMap::new();
        for (k, v) in map {
            match v.as_str() {
                Some(s) => {
                    out.insert(k.clone(), s.to_owned());
                }
                None => self.errors.push(&format!("{base}/{k}"), EXPECTED_STRING),
            }
        }
        Some(out)
    }

    /// A nested object, to read with its own [`Object`].
    pub fn object(&mut self, key: &str) -> Option<(String, &'a Value)> {
        let v = self.raw(key)?;
        if v.is_object() {
            Some((self.path_of(key), v))
        } else {
            self.wrong(key, EXPECTED_OBJECT);
            None
        }
    }
}

/// Marathon names the document itself with an empty path; `/` reads
/// better in an answer.
fn path_or_root(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_errors_are_recorded_at_their_pointer_and_reading_goes_on() {
        let doc = json!({"id": 3, "cpus": "one", "instances": 1.5, "ok": true,
                         "args": ["a", 2], "labels": {"a": "b", "c": 1}, "n": null});
        let mut errors = Details::default();
        let mut o = Object::new(&doc, "", &mut errors);
        assert_eq!(o.string("id"), None);
        assert_eq!(o.number("cpus"), None);
        assert_eq!(o.integer("instances"), None);
        assert_eq!(o.boolean("ok"), Some(true));
        assert_eq!(o.strings("args"), Some(vec!["a".to_owned()]));
        let labels = o.string_map("labels").unwrap();
        assert_eq!(labels.len(), 1);
        assert_eq!(o.string("n"), None, "null reads as absent");
        assert!(!o.has("n"));
        let got: Vec<(String, Vec<String>)> = errors
            .iter()
            .map(|d| (d.path.clone(), d.errors.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/id".to_owned(), vec![EXPECTED_STRING.to_owned()]),
                ("/cpus".to_owned(), vec![EXPECTED_NUMBER.to_owned()]),
                ("/instances".to_owned(), vec![EXPECTED_INTEGER.to_owned()]),
                ("/args/1".to_owned(), vec![EXPECTED_STRING.to_owned()]),
                ("/labels/c".to_owned(), vec![EXPECTED_STRING.to_owned()]),
            ]
        );
    }

    #[test]
    fn a_document_that_is_not_an_object_is_one_error_at_the_root() {
        let mut errors = Details::default();
        let doc = json!([1]);
        let mut o = Object::new(&doc, "", &mut errors);
        assert_eq!(o.string("id"), None);
        assert_eq!(errors.iter().count(), 1);
        assert_eq!(errors.iter().next().unwrap().path, "/");
    }
}
