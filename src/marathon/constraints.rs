//! Placement constraints (`[field, OPERATOR, value?]`) and whether an
//! agent may take one more instance of an app, given where its other
//! instances run.
//!
//! The field is `hostname` (or `@hostname`) or an agent attribute, its
//! value compared as Mesos prints it. An agent without the attribute is
//! refused by every operator but `UNLIKE`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

/// The operators Marathon knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Unique,
    Cluster,
    GroupBy,
    Like,
    Unlike,
    MaxPer,
    Is,
}

impl Operator {
    pub fn name(self) -> &'static str {
        match self {
            Operator::Unique => "UNIQUE",
            Operator::Cluster => "CLUSTER",
            Operator::GroupBy => "GROUP_BY",
            Operator::Like => "LIKE",
            Operator::Unlike => "UNLIKE",
            Operator::MaxPer => "MAX_PER",
            Operator::Is => "IS",
        }
    }

    fn parse(text: &str) -> Option<Operator> {
        Some(match text {
            "UNIQUE" => Operator::Unique,
            "CLUSTER" => Operator::Cluster,
            "GROUP_BY" => Operator::GroupBy,
            "LIKE" => Operator::Like,
            "UNLIKE" => Operator::Unlike,
            "MAX_PER" => Operator::MaxPer,
            "IS" => Operator::Is,
            _ => return None,
        })
    }
}

/// One constraint of an app.
#[derive(Debug, Clone)]
pub struct Constraint {
    pub field: String,
    pub operator: Operator,
    pub value: Option<String>,
    /// `LIKE`/`UNLIKE`'s pattern, compiled once.
    pattern: Option<Pattern>,
}

impl PartialEq for Constraint {
    fn eq(&self, other: &Constraint) -> bool {
        (&self.field, self.operator, &self.value) == (&other.field, other.operator, &other.value)
    }
}

impl Constraint {
    /// Reads `["field", "OP", "value"?]`; the reason it is not valid.
    pub fn read(items: &[Value]) -> Result<Constraint, String> {
        let strings: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
        let Some(strings) = strings else {
            return Err("Each constraint must be an array of strings".into());
        };
        let (field, op, value) = match strings.as_slice() {
            [f, o] => (*f, *o, None),
            [f, o, v] => (*f, *o, Some((*v).to_owned())),
            _ => return Err("Each constraint must have either 2 or 3 fields".into()),
        };
        if field.is_empty() {
            return Err("Missing field name".into());
        }
        let Some(operator) = Operator::parse(op) else {
            return Err(format!(
                "Constraint operator must be one of the following: [CLUSTER, GROUP_BY, IS, LIKE, MAX_PER, UNIQUE, UNLIKE], not '{op}'"
            ));
        };
        let mut pattern = None;
        match (operator, value.as_deref()) {
            (Operator::Unique, Some(_)) => {
                return Err("Value specified but not used".into());
            }
            (Operator::GroupBy, Some(v)) | (Operator::MaxPer, Some(v))
                if v.parse::<u32>().is_err() =>
            {
                return Err(format!("Value was not a valid integer: {v}"));
            }
            (Operator::MaxPer, None) | (Operator::Is, None) => {
                return Err(format!("{} requires a value", operator.name()));
            }
            (Operator::Like, v) | (Operator::Unlike, v) => {
                let Some(v) = v else {
                    return Err(format!(
                        "A regular expression value must be provided for {}",
                        operator.name()
                    ));
                };
                pattern = Some(
                    Pattern::compile(v)
                        .map_err(|e| format!("'{v}' is not a valid regular expression: {e}"))?,
                );
            }
            _ => {}
        }
        Ok(Constraint {
            field: field.to_owned(),
            operator,
            value,
            pattern,
        })
    }

    pub fn to_json(&self) -> Value {
        match &self.value {
            Some(v) => json!([self.field, self.operator.name(), v]),
            None => json!([self.field, self.operator.name()]),
        }
    }

    /// Whether an agent whose field value is `value` (`None`: the agent has
    /// no such attribute) may take one more instance, where `placed` are
    /// the field values of the app's other live instances (one per
    /// instance; `None` for instances on agents without it), and `known`
    /// the values offers have shown so far (which `GROUP_BY` spreads over).
    pub fn admits(
        &self,
        value: Option<&str>,
        placed: &[Option<&str>],
        known: &BTreeSet<String>,
    ) -> bool {
        let Some(value) = value else {
            return self.operator == Operator::Unlike;
        };
        let here = placed.iter().filter(|p| **p == Some(value)).count();
        match self.operator {
            Operator::Unique => here == 0,
            Operator::Cluster => match &self.value {
                Some(v) if !v.is_empty() => v == value,
                _ => placed.iter().flatten().all(|p| *p == value),
            },
            Operator::Is => self.value.as_deref() == Some(value),
            Operator::Like => self.pattern.as_ref().is_some_and(|p| p.matches(value)),
            Operator::Unlike => !self.pattern.as_ref().is_some_and(|p| p.matches(value)),
            Operator::MaxPer => {
                let max: usize = self
                    .value
                    .as_deref()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                here < max
            }
            Operator::GroupBy => {
                // Spread evenly: this value may take one more while it holds
                // no more than the least-used value known (with the expected
                // number of values, unseen ones count as holding none).
                let mut counts: BTreeMap<&str, usize> =
                    known.iter().map(|k| (k.as_str(), 0)).collect();
                for p in placed.iter().flatten() {
                    *counts.entry(p).or_default() += 1;
                }
                counts.entry(value).or_default();
                let expected: usize = self
                    .value
                    .as_deref()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let least = if counts.len() < expected {
                    0
                } else {
                    counts.values().copied().min().unwrap_or(0)
                };
                here <= least
            }
        }
    }
}

/// The value of `field` on an agent: its hostname, or an attribute as
/// text (`attributes` as Mesos prints them: `rack:r1`, `[1-2]`, `{a,b}`).
pub fn field_value<'a>(
    field: &str,
    hostname: &'a str,
    attributes: &'a BTreeMap<String, String>,
) -> Option<&'a str> {
    match field {
        "hostname" | "@hostname" => Some(hostname),
        other => attributes.get(other).map(String::as_str),
    }
}

/// Whether all of an app's constraints admit an agent; `known` holds the
/// values seen so far of each field (`hostname` included).
pub fn all_admit(
    constraints: &[Constraint],
    hostname: &str,
    attributes: &BTreeMap<String, String>,
    placed: &[(String, BTreeMap<String, String>)],
    known: &BTreeMap<String, BTreeSet<String>>,
) -> bool {
    let none = BTreeSet::new();
    constraints.iter().all(|c| {
        let values: Vec<Option<&str>> = placed
            .iter()
            .map(|(h, a)| field_value(&c.field, h, a))
            .collect();
        let field = if c.field == "@hostname" {
            "hostname"
        } else {
            c.field.as_str()
        };
        let known = known.get(field).unwrap_or(&none);
        c.admits(field_value(&c.field, hostname, attributes), &values, known)
    })
}

/// A regular expression matched against the whole value, as Java's
/// `matches` does.
#[derive(Debug, Clone)]
struct Pattern(regex::Regex);

impl Pattern {
    fn compile(text: &str) -> Result<Pattern, String> {
        // Constraint values are short; a bound on the compiled size keeps a
        // hostile one from costing the scheduler memory.
        regex::RegexBuilder::new(&format!("^(?:{text})$"))
            .size_limit(1 << 20)
            .build()
            .map(Pattern)
            .map_err(|e| e.to_string())
    }

    fn matches(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(items: &[&str]) -> Result<Constraint, String> {
        let v: Vec<Value> = items.iter().map(|s| json!(s)).collect();
        Constraint::read(&v)
    }

    #[test]
    fn constraints_are_read_as_marathon_validates_them() {
        assert!(c(&["hostname", "UNIQUE"]).is_ok());
        assert!(c(&["hostname", "CLUSTER", "a.specific.node.com"]).is_ok());
        assert!(c(&["rack", "GROUP_BY"]).is_ok());
        assert!(c(&["rack", "GROUP_BY", "3"]).is_ok());
        assert!(c(&["rack", "MAX_PER", "2"]).is_ok());
        assert!(c(&["rack", "LIKE", "rack-[1-3]"]).is_ok());
        let refused: &[&[&str]] = &[
            &["hostname", "UNIQUES"],
            &["hostname"],
            &["hostname", "UNIQUE", "x", "y"],
            &["", "UNIQUE"],
            &["hostname", "UNIQUE", "x"],
            &["rack", "MAX_PER"],
            &["rack", "MAX_PER", "two"],
            &["rack", "GROUP_BY", "-1"],
            &["rack", "LIKE"],
            &["rack", "LIKE", "(a"],
            &["rack", "IS"],
        ];
        for items in refused {
            assert!(c(items).is_err(), "{items:?} was accepted");
        }
        assert!(Constraint::read(&[json!("a"), json!(1)]).is_err());
        assert_eq!(
            c(&["hostname", "CLUSTER", "h"]).unwrap().to_json(),
            json!(["hostname", "CLUSTER", "h"])
        );
    }

    #[test]
    fn each_operator_admits_and_refuses_as_specified() {
        // (constraint, the agent's value, the values of placed instances, admitted)
        type Case<'a> = (&'a [&'a str], Option<&'a str>, &'a [Option<&'a str>], bool);
        let cases: &[Case] = &[
            (&["hostname", "UNIQUE"], Some("a"), &[], true),
            (&["hostname", "UNIQUE"], Some("a"), &[Some("b")], true),
            (&["hostname", "UNIQUE"], Some("a"), &[Some("a")], false),
            (&["hostname", "CLUSTER", "a"], Some("a"), &[], true),
            (&["hostname", "CLUSTER", "a"], Some("b"), &[], false),
            (&["rack", "CLUSTER"], Some("r1"), &[], true),
            (&["rack", "CLUSTER"], Some("r2"), &[Some("r1")], false),
            (&["rack", "CLUSTER"], Some("r1"), &[Some("r1")], true),
            (&["rack", "MAX_PER", "2"], Some("r1"), &[Some("r1")], true),
            (
                &["rack", "MAX_PER", "2"],
                Some("r1"),
                &[Some("r1"), Some("r1")],
                false,
            ),
            (&["rack", "GROUP_BY"], Some("r1"), &[Some("r1")], true),
            (
                &["rack", "GROUP_BY"],
                Some("r1"),
                &[Some("r1"), Some("r2"), Some("r1")],
                false,
            ),
            (
                &["rack", "GROUP_BY"],
                Some("r2"),
                &[Some("r1"), Some("r2"), Some("r1")],
                true,
            ),
            (&["rack", "GROUP_BY", "2"], Some("r1"), &[Some("r1")], false),
            (&["rack", "GROUP_BY", "2"], Some("r2"), &[Some("r1")], true),
            (&["rack", "LIKE", "rack-[1-3]"], Some("rack-2"), &[], true),
            (&["rack", "LIKE", "rack-[1-3]"], Some("rack-4"), &[], false),
            (&["rack", "LIKE", "rack-[1-3]"], Some("xrack-1"), &[], false),
            (&["rack", "UNLIKE", "rack-[1-3]"], Some("rack-4"), &[], true),
            (
                &["rack", "UNLIKE", "rack-[1-3]"],
                Some("rack-1"),
                &[],
                false,
            ),
            (&["rack", "IS", "r1"], Some("r1"), &[], true),
            (&["rack", "IS", "r1"], Some("r10"), &[], false),
            // A missing attribute: refused, but for UNLIKE.
            (&["rack", "UNIQUE"], None, &[], false),
            (&["rack", "LIKE", ".*"], None, &[], false),
            (&["rack", "UNLIKE", "r1"], None, &[], true),
        ];
        for (items, value, placed, want) in cases {
            let constraint = c(items).unwrap();
            assert_eq!(
                constraint.admits(*value, placed, &BTreeSet::new()),
                *want,
                "{items:?} on {value:?} beside {placed:?}"
            );
        }
    }

    #[test]
    fn patterns_match_whole_values() {
        let cases: &[(&str, &str, bool)] = &[
            (".*", "", true),
            (".*", "anything", true),
            ("a|b", "b", true),
            ("a|b", "ab", false),
            ("(a|b)-.*", "b-1", true),
            ("web[0-9]+", "web12", true),
            ("web[0-9]+", "web", false),
            ("web[^0-9]", "webx", true),
            ("web[^0-9]", "web1", false),
            ("a?b", "b", true),
            ("a?b", "aab", false),
            ("x\\.y", "x.y", true),
            ("x\\.y", "xzy", false),
            ("(a*)*b", "aaab", true),
        ];
        for (pattern, text, want) in cases {
            let p = Pattern::compile(pattern).unwrap();
            assert_eq!(p.matches(text), *want, "{pattern} on {text}");
        }
        for bad in ["(a", "a)", "[a", "*a", "[z-a]"] {
            assert!(Pattern::compile(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostname_and_attributes_give_the_field_value() {
        let attrs = BTreeMap::from([("rack".to_owned(), "r1".to_owned())]);
        assert_eq!(field_value("hostname", "h1", &attrs), Some("h1"));
        assert_eq!(field_value("@hostname", "h1", &attrs), Some("h1"));
        assert_eq!(field_value("rack", "h1", &attrs), Some("r1"));
        assert_eq!(field_value("zone", "h1", &attrs), None);
        let unique = c(&["hostname", "UNIQUE"]).unwrap();
        let placed = vec![("h1".to_owned(), attrs.clone())];
        let known = BTreeMap::new();
        assert!(!all_admit(
            std::slice::from_ref(&unique),
            "h1",
            &attrs,
            &placed,
            &known
        ));
        assert!(all_admit(&[unique], "h2", &attrs, &placed, &known));
        // GROUP_BY spreads over every value offers have shown.
        let group = c(&["rack", "GROUP_BY"]).unwrap();
        let racks = BTreeSet::from(["r1".to_owned(), "r2".to_owned()]);
        let known = BTreeMap::from([("rack".to_owned(), racks)]);
        let on_r1 = vec![("h1".to_owned(), attrs.clone())];
        let group = std::slice::from_ref(&group);
        assert!(!all_admit(group, "h1", &attrs, &on_r1, &known));
        assert!(all_admit(group, "h1", &attrs, &on_r1, &BTreeMap::new()));
    }
}
