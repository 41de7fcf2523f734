//! [`FieldError`], the error of every v1 conversion, which names the path
//! of the offending field, and the helpers conversions build it with
//! ([`required`], [`convert_list`], [`Within`]).

use std::fmt;

use crate::v1::json;

/// One step of the path to a field: a field name or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Field(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    Missing,
    Invalid(String),
}

/// A field of v1 input that is missing or holds a value the internal types
/// cannot take, with its path from the outermost converted message
/// (`subscribe.framework_info.user`, `launch.task_infos[0].resources[1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    path: Vec<Segment>,
    problem: Problem,
}

impl FieldError {
    /// The required field `field` is absent.
    pub fn missing(field: &str) -> FieldError {
        FieldError {
            path: vec![Segment::Field(field.to_owned())],
            problem: Problem::Missing,
        }
    }

    /// `field` holds a value that is not acceptable, for `reason`.
    pub fn invalid(field: &str, reason: impl Into<String>) -> FieldError {
        FieldError {
            path: vec![Segment::Field(field.to_owned())],
            problem: Problem::Invalid(reason.into()),
        }
    }

    /// The message being converted is not acceptable as a whole.
    pub fn invalid_here(reason: impl Into<String>) -> FieldError {
        FieldError {
            path: Vec::new(),
            problem: Problem::Invalid(reason.into()),
        }
    }

    /// The same error seen from the message that holds this one in `field`.
    pub fn at(mut self, field: &str) -> FieldError {
        self.path.insert(0, Segment::Field(field.to_owned()));
        self
    }

    /// The same error seen from the list that holds this one at `index`.
    pub fn at_index(mut self, index: usize) -> FieldError {
        self.path.insert(0, Segment::Index(index));
        self
    }

    /// Whether a required field is missing (rather than holding a bad value).
    pub fn is_missing(&self) -> bool {
        self.problem == Problem::Missing
    }

    /// The dotted path of the field, `a.b[2].c`.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            match segment {
                Segment::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = json::one_line(&self.path());
        match &self.problem {
            Problem::Missing => write!(f, "missing required field '{path}'"),
            Problem::Invalid(reason) if path.is_empty() => f.write_str(&json::one_line(reason)),
            Problem::Invalid(reason) => {
                write!(f, "invalid field '{path}': {}", json::one_line(reason))
            }
        }
    }
}

impl std::error::Error for FieldError {}

/// Adds the holding field to an error on the way out.
pub trait Within<T> {
    fn within(self, field: &str) -> Result<T, FieldError>;
}

impl<T> Within<T> for Result<T, FieldError> {
    fn within(self, field: &str) -> Result<T, FieldError> {
        self.map_err(|e| e.at(field))
    }
}

/// The value of the required field `field`.
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, FieldError> {
    value.ok_or_else(|| FieldError::missing(field))
}

/// Converts each element of the repeated field `field`.
pub fn convert_list<A, B>(
    items: Vec<A>,
    field: &str,
    convert: impl Fn(A) -> Result<B, FieldError>,
) -> Result<Vec<B>, FieldError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| convert(item).map_err(|e| e.at_index(i).at(field)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_error_paths_read_naturally() {
        let e = FieldError::missing("user")
            .at("framework_info")
            .at("subscribe");
        assert_eq!(
            e.to_string(),
            "missing required field 'subscribe.framework_info.user'"
        );
        let e = FieldError::invalid("scalar", "bad\nvalue")
            .at_index(1)
            .at("resources")
            .at_index(0)
            .at("task_infos");
        assert_eq!(
            e.to_string(),
            "invalid field 'task_infos[0].resources[1].scalar': bad value"
        );
    }
}
