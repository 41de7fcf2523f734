//! Marathon's error answers: the status and the JSON body
//! `{"message": ..., "details": [{"path": "/json/pointer", "errors": [...]}]}`
//! its REST API gives for bad JSON (400), invalid objects (422), unknown
//! apps (404) and conflicts (409).

use serde_json::{json, Value};

/// One field's problems, at its JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    pub path: String,
    pub errors: Vec<String>,
}

/// Problems found while reading a document, grouped by path in the order
/// they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details(Vec<Detail>);

impl Details {
    pub fn push(&mut self, path: &str, error: impl Into<String>) {
        let error = error.into();
        match self.0.iter_mut().find(|d| d.path == path) {
            Some(d) => d.errors.push(error),
            None => self.0.push(Detail {
                path: path.to_owned(),
                errors: vec![error],
            }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Detail> {
        self.0.iter()
    }

    fn to_json(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|d| json!({"path": d.path, "errors": d.errors}))
                .collect(),
        )
    }
}

/// A refused request, as Marathon answers it.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 400 `Invalid JSON`: not JSON at all, or a field of the wrong type.
    InvalidJson(Details),
    /// 422 `Object is not valid`: well-formed, but a value breaks a rule.
    Invalid(Details),
    /// 404 with a message such as `App '/x' does not exist`.
    NotFound(String),
    /// 409 with a message, and the deployments in the way if any.
    Conflict {
        message: String,
        deployments: Vec<String>,
    },
    /// 400 with a plain message.
    BadRequest(String),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::InvalidJson(_) | ApiError::BadRequest(_) => 400,
            ApiError::Invalid(_) => 422,
            ApiError::NotFound(_) => 404,
            ApiError::Conflict { .. } => 409,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            ApiError::InvalidJson(d) => json!({"message": "Invalid JSON", "details": d.to_json()}),
            ApiError::Invalid(d) => {
                json!({"message": "Object is not valid", "details": d.to_json()})
            }
            ApiError::NotFound(m) | ApiError::BadRequest(m) => json!({ "message": m }),
            ApiError::Conflict {
                message,
                deployments,
            } => {
                let mut body = json!({ "message": message });
                if !deployments.is_empty() {
                    body["deployments"] =
                        deployments.iter().map(|id| json!({ "id": id })).collect();
                }
                body
            }
        }
    }

    pub fn app_not_found(id: &str) -> ApiError {
        ApiError::NotFound(format!("App '{id}' does not exist"))
    }

    /// The answer to a body that is not JSON: serde's reason at the root.
    pub fn not_json(e: &serde_json::Error) -> ApiError {
        let mut d = Details::default();
        d.push("", format!("{e}"));
        ApiError::InvalidJson(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_have_marathons_shapes() {
        let mut d = Details::default();
        d.push("/id", "error.expected.jsstring");
        d.push("/cpus", "error.expected.jsnumber");
        d.push("/id", "second");
        let e = ApiError::InvalidJson(d.clone());
        assert_eq!(e.status(), 400);
        assert_eq!(
            e.body(),
            json!({"message": "Invalid JSON", "details": [
                {"path": "/id", "errors": ["error.expected.jsstring", "second"]},
                {"path": "/cpus", "errors": ["error.expected.jsnumber"]}]})
        );
        assert_eq!(ApiError::Invalid(d).status(), 422);
        let missing = ApiError::app_not_found("/x");
        assert_eq!(
            (missing.status(), missing.body()),
            (404, json!({"message": "App '/x' does not exist"}))
        );
        let locked = ApiError::Conflict {
            message: "locked".into(),
            deployments: vec!["d1".into()],
        };
        assert_eq!(
            (locked.status(), locked.body()),
            (
                409,
                json!({"message": "locked", "deployments": [{"id": "d1"}]})
            )
        );
        let bad: serde_json::Error = serde_json::from_str::<Value>("{\"a\": 1,}").unwrap_err();
        let e = ApiError::not_json(&bad);
        assert_eq!(e.status(), 400);
        assert_eq!(e.body()["message"], "Invalid JSON");
    }
}
