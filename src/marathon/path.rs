//! Marathon's ids of apps and groups: slash-separated paths such as
//! `/prod/web`, given absolute or relative (`web`, `../web`) and resolved
//! against a base group; each segment a lowercase DNS-like name.

use std::fmt;

/// The rule each segment must match, as Marathon words it.
pub const SEGMENT_RULE: &str = "must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'";

/// Last segments an app may not have: they are sub-resources of an app.
const RESERVED: [&str; 3] = ["restart", "tasks", "versions"];

/// An absolute path: its segments, root being none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PathId(Vec<String>);

impl PathId {
    pub fn root() -> PathId {
        PathId(Vec::new())
    }

    /// Resolves `text` against `base`: an absolute path stands alone, a
    /// relative one is appended to `base`, `.` stays and `..` climbs.
    pub fn parse(text: &str, base: &PathId) -> Result<PathId, String> {
        let mut segments = if text.starts_with('/') {
            Vec::new()
        } else {
            base.0.clone()
        };
        for segment in text.split('/').filter(|s| !s.is_empty()) {
            match segment {
                "." => {}
                ".." => {
                    if segments.pop().is_none() {
                        return Err(format!("'{text}' climbs above the root group"));
                    }
                }
                s if valid_segment(s) => segments.push(s.to_owned()),
                _ => return Err(SEGMENT_RULE.to_owned()),
            }
        }
        Ok(PathId(segments))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn segments(&self) -> &[String] {
        &self.0
    }

    pub fn name(&self) -> Option<&str> {
        self.0.last().map(String::as_str)
    }

    /// The enclosing group (the root's parent is the root).
    pub fn parent(&self) -> PathId {
        let mut s = self.0.clone();
        s.pop();
        PathId(s)
    }

    pub fn is_ancestor_of(&self, other: &PathId) -> bool {
        other.0.len() > self.0.len() && other.0.starts_with(&self.0)
    }

    /// Why this path cannot name an app, if it cannot.
    pub fn app_id_problem(&self) -> Option<String> {
        match self.name() {
            None => Some("Path must not be the root group".to_owned()),
            Some(last) if RESERVED.contains(&last) => Some(format!(
                "must not end with {}",
                RESERVED.map(|r| format!("'{r}'")).join(", ")
            )),
            Some(_) => None,
        }
    }

    /// The app path reversed and dot-joined, as Marathon names tasks and
    /// their DiscoveryInfo: `/prod/web` is `web.prod`.
    pub fn reversed_dotted(&self) -> String {
        let mut s: Vec<&str> = self.0.iter().map(String::as_str).collect();
        s.reverse();
        s.join(".")
    }

    /// The path with `/` replaced by `_`, the prefix of its task ids
    /// (`/prod/web` → `prod_web`).
    pub fn safe(&self) -> String {
        self.0.join("_")
    }
}

impl fmt::Display for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        for s in &self.0 {
            write!(f, "/{s}")?;
        }
        Ok(())
    }
}

/// Labels of lowercase letters and digits, dashes inside, joined by dots.
fn valid_segment(s: &str) -> bool {
    s.split('.').all(|label| {
        let bytes = label.as_bytes();
        let ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                ok(first) && ok(last) && bytes.iter().all(|b| ok(b) || *b == b'-')
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abs(text: &str) -> Result<String, String> {
        PathId::parse(text, &PathId::parse("/prod", &PathId::root()).unwrap())
            .map(|p| p.to_string())
    }

    #[test]
    fn ids_resolve_against_their_group_and_follow_marathons_rule() {
        let cases: &[(&str, Result<&str, ()>)] = &[
            ("/mysql", Ok("/mysql")),
            ("mysql", Ok("/prod/mysql")),
            ("./web", Ok("/prod/web")),
            ("../dev/web", Ok("/dev/web")),
            ("/a/b/", Ok("/a/b")),
            ("sleep-cluster", Ok("/prod/sleep-cluster")),
            ("a.b-c.d9", Ok("/prod/a.b-c.d9")),
            ("/", Ok("/")),
            ("Web", Err(())),
            ("-web", Err(())),
            ("web-", Err(())),
            ("we_b", Err(())),
            ("a..b", Err(())),
            ("/../x", Err(())),
        ];
        for (text, want) in cases {
            let got = abs(text);
            match want {
                Ok(w) => assert_eq!(got.as_deref(), Ok(*w), "{text}"),
                Err(()) => assert!(got.is_err(), "{text} gave {got:?}"),
            }
        }
    }

    #[test]
    fn app_ids_are_not_the_root_nor_end_in_a_sub_resource() {
        let p = |t: &str| PathId::parse(t, &PathId::root()).unwrap();
        assert!(p("/").app_id_problem().is_some());
        assert!(p("/a/tasks").app_id_problem().is_some());
        assert!(p("/restart").app_id_problem().is_some());
        assert_eq!(p("/a/b").app_id_problem(), None);
        assert_eq!(p("/prod/web").reversed_dotted(), "web.prod");
        assert_eq!(p("/tools/docker/registry").safe(), "tools_docker_registry");
        assert!(p("/a").is_ancestor_of(&p("/a/b")));
        assert!(!p("/a").is_ancestor_of(&p("/a")));
        assert!(!p("/a").is_ancestor_of(&p("/ab")));
        assert_eq!(p("/a/b").parent(), p("/a"));
    }
}
