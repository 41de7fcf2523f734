//! Command-line flags as Mesos reads them (stout's `flags`).
//!
//! Every flag is `--name=value` (or `--name value`); a boolean may be
//! `--name`, `--no-name` or `--name=true|false`. Each is also read from the
//! environment as `MESOS_<NAME>`, the name part in any case; the command line
//! wins over the environment. A value `file:///path` is read from that file.
//! Unknown flags and bad values are errors with one clear line.
//!
//! Daemons declare their flags as a table of [`Spec`]s and read typed values
//! from the resulting [`Flags`]; `/flags` endpoints serve [`Flags::all`].

use std::collections::BTreeMap;
use std::time::Duration;

/// One flag a program accepts.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    /// Text of the default value; `None` means unset unless given.
    pub default: Option<&'static str>,
    pub boolean: bool,
    pub help: &'static str,
}

impl Spec {
    pub const fn value(
        name: &'static str,
        default: Option<&'static str>,
        help: &'static str,
    ) -> Spec {
        Spec {
            name,
            default,
            boolean: false,
            help,
        }
    }

    pub const fn boolean(name: &'static str, default: bool, help: &'static str) -> Spec {
        Spec {
            name,
            default: Some(if default { "true" } else { "false" }),
            boolean: true,
            help,
        }
    }
}

/// Why flags could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("Failed to load unknown flag '{0}'")]
    Unknown(String),
    #[error("Failed to load flag '{name}': {reason}")]
    Bad { name: String, reason: String },
    #[error("Flag '{0}' is required but was not given")]
    Missing(String),
    #[error("Unexpected argument '{0}'")]
    Positional(String),
}

/// What the caller should do besides running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Run(Flags),
    Help,
    Version,
}

/// Loaded flag values, as text, defaults included.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Flags {
    values: BTreeMap<String, String>,
}

impl Flags {
    /// Loads flags from `args` (without the program name) over `env`.
    pub fn load(
        specs: &[Spec],
        args: impl IntoIterator<Item = String>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Outcome, FlagError> {
        let find = |name: &str| specs.iter().find(|s| s.name == name);
        let mut values = BTreeMap::new();
        for spec in specs {
            if let Some(d) = spec.default {
                values.insert(spec.name.to_owned(), d.to_owned());
            }
        }
        for (key, value) in env {
            let Some(rest) = key.strip_prefix("MESOS_") else {
                continue;
            };
            let name = rest.to_ascii_lowercase();
            if let Some(spec) = find(&name) {
                let value = resolve(spec, value)?;
                values.insert(name, value);
            }
        }
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                return Ok(Outcome::Help);
            }
            if arg == "--version" {
                return Ok(Outcome::Version);
            }
            let Some(body) = arg.strip_prefix("--") else {
                return Err(FlagError::Positional(arg));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (body.to_owned(), None),
            };
            let (spec, value) = match (find(&name), value) {
                (Some(spec), Some(v)) => (spec, v),
                (Some(spec), None) if spec.boolean => (spec, "true".to_owned()),
                (Some(spec), None) => match args.next() {
                    Some(v) => (spec, v),
                    None => {
                        return Err(FlagError::Bad {
                            name,
                            reason: "missing value".into(),
                        })
                    }
                },
                (None, None) => match name.strip_prefix("no-").and_then(find) {
                    Some(spec) if spec.boolean => (spec, "false".to_owned()),
                    _ => return Err(FlagError::Unknown(name)),
                },
                (None, Some(_)) => return Err(FlagError::Unknown(name)),
            };
            let value = resolve(spec, value)?;
            values.insert(spec.name.to_owned(), value);
        }
        Ok(Outcome::Run(Flags { values }))
    }

    /// Every flag that has a value, for `/flags`.
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn string(&self, name: &str) -> Result<String, FlagError> {
        self.get(name)
            .map(str::to_owned)
            .ok_or_else(|| FlagError::Missing(name.to_owned()))
    }

    pub fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, FlagError>
    where
        T::Err: std::fmt::Display,
    {
        self.get(name)
            .map(|v| {
                v.parse::<T>().map_err(|e| FlagError::Bad {
                    name: name.to_owned(),
                    reason: format!("'{v}': {e}"),
                })
            })
            .transpose()
    }

    pub fn duration(&self, name: &str) -> Result<Option<Duration>, FlagError> {
        self.get(name)
            .map(|v| {
                parse_duration(v).map_err(|reason| FlagError::Bad {
                    name: name.to_owned(),
                    reason,
                })
            })
            .transpose()
    }

    pub fn boolean(&self, name: &str) -> Result<bool, FlagError> {
        Ok(self.parse::<bool>(name)?.unwrap_or(false))
    }
}

/// Mesos flags a daemon accepts so that existing configurations start,
/// but only with the values it can honour: a clear refusal beats silently
/// running without the authentication, ACLs or modules an operator asked
/// for.
#[derive(Debug, Default)]
pub struct Unsupported<'a> {
    /// Flags that must keep this one value.
    pub only: &'a [(&'a str, &'a str)],
    /// Booleans that must be false.
    pub only_false: &'a [&'a str],
    /// Booleans that must be true.
    pub only_true: &'a [&'a str],
    /// Flags that must not be given (or be empty).
    pub unset: &'a [&'a str],
}

impl Unsupported<'_> {
    pub fn check(&self, f: &Flags) -> Result<(), FlagError> {
        let bad = |name: &str, reason: String| FlagError::Bad {
            name: name.to_owned(),
            reason,
        };
        for (name, only) in self.only {
            let value = f.string(name)?;
            if value != *only {
                return Err(bad(
                    name,
                    format!("'{value}' is not supported; only '{only}' is"),
                ));
            }
        }
        for name in self.only_false {
            if f.boolean(name)? {
                return Err(bad(name, "is not supported; only false is".into()));
            }
        }
        for name in self.only_true {
            if !f.boolean(name)? {
                return Err(bad(name, "is not supported; only true is".into()));
            }
        }
        for name in self.unset {
            if f.get(name).is_some_and(|v| !v.trim().is_empty()) {
                return Err(bad(name, "is not supported".into()));
            }
        }
        Ok(())
    }
}

/// Applies `file://` indirection and checks booleans.
fn resolve(spec: &Spec, value: String) -> Result<String, FlagError> {
    let value = match value.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path)
            .map(|s| s.trim_end().to_owned())
            .map_err(|e| FlagError::Bad {
                name: spec.name.to_owned(),
                reason: format!("cannot read '{path}': {e}"),
            })?,
        None => value,
    };
    if spec.boolean && value != "true" && value != "false" {
        return Err(FlagError::Bad {
            name: spec.name.to_owned(),
            reason: format!("'{value}' is not true or false"),
        });
    }
    Ok(value)
}

/// Help text listing every flag with its default.
pub fn usage(program: &str, specs: &[Spec]) -> String {
    let mut out = format!("Usage: {program} [options]\n\n");
    for s in specs {
        let form = if s.boolean {
            format!("--[no-]{}", s.name)
        } else {
            format!("--{}=VALUE", s.name)
        };
        out.push_str(&format!("  {form:<40} {}", s.help));
        if let Some(d) = s.default {
            out.push_str(&format!(" (default: {d})"));
        }
        out.push('\n');
    }
    out
}

/// Parses a duration as Mesos writes them: a number (fractions allowed)
/// followed by `ns`, `us`, `ms`, `secs`, `mins`, `hrs`, `days` or `weeks`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("'{text}' has no unit (e.g. 5secs)"))?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' does not start with a number"))?;
    let seconds = match unit {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "secs" => 1.0,
        "mins" => 60.0,
        "hrs" => 3600.0,
        "days" => 86400.0,
        "weeks" => 7.0 * 86400.0,
        other => return Err(format!("unknown duration unit '{other}' in '{text}'")),
    };
    Duration::try_from_secs_f64(n * seconds).map_err(|e| format!("'{text}': {e}"))
}

/// Writes a duration as Mesos prints them (`5secs`, `10mins`, `250ms`).
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let units: [(&str, u128); 8] = [
        ("weeks", 7 * 86_400_000_000_000),
        ("days", 86_400_000_000_000),
        ("hrs", 3_600_000_000_000),
        ("mins", 60_000_000_000),
        ("secs", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    for (unit, size) in units {
        if ns >= size {
            let v = ns as f64 / size as f64;
            return format!("{}{unit}", trim_float(v));
        }
    }
    "0ns".into()
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[Spec] = &[
        Spec::value("ip", None, "IP to listen on"),
        Spec::value("port", Some("5050"), "port"),
        Spec::value(
            "allocation_interval",
            Some("1secs"),
            "batch allocation interval",
        ),
        Spec::boolean("hostname_lookup", true, "look up the hostname"),
    ];

    fn load(args: &[&str], env: &[(&str, &str)]) -> Result<Outcome, FlagError> {
        Flags::load(
            SPECS,
            args.iter().map(|s| s.to_string()),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    fn flags(args: &[&str], env: &[(&str, &str)]) -> Flags {
        match load(args, env).unwrap() {
            Outcome::Run(f) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_environment_and_command_line_layer_in_that_order() {
        let f = flags(&[], &[]);
        assert_eq!(f.get("port"), Some("5050"));
        assert_eq!(f.get("ip"), None);
        let f = flags(
            &[],
            &[
                ("MESOS_ip", "1.2.3.4"),
                ("MESOS_PORT", "6000"),
                ("OTHER", "x"),
            ],
        );
        assert_eq!(f.get("ip"), Some("1.2.3.4"));
        assert_eq!(f.parse::<u16>("port").unwrap(), Some(6000));
        let f = flags(
            &["--port=7000", "--ip", "5.6.7.8"],
            &[("MESOS_PORT", "6000")],
        );
        assert_eq!(f.get("port"), Some("7000"));
        assert_eq!(f.get("ip"), Some("5.6.7.8"));
    }

    #[test]
    fn booleans_take_all_three_forms() {
        assert!(!flags(&["--no-hostname_lookup"], &[])
            .boolean("hostname_lookup")
            .unwrap());
        assert!(flags(&["--hostname_lookup"], &[])
            .boolean("hostname_lookup")
            .unwrap());
        assert!(!flags(&["--hostname_lookup=false"], &[])
            .boolean("hostname_lookup")
            .unwrap());
        assert!(load(&["--hostname_lookup=maybe"], &[]).is_err());
    }

    #[test]
    fn unknown_flags_and_bad_values_are_one_line_errors() {
        assert_eq!(
            load(&["--bogus=1"], &[]).unwrap_err().to_string(),
            "Failed to load unknown flag 'bogus'"
        );
        assert!(matches!(
            load(&["stray"], &[]),
            Err(FlagError::Positional(_))
        ));
        assert!(matches!(load(&["--ip"], &[]), Err(FlagError::Bad { .. })));
        let f = flags(&["--port=http"], &[]);
        let err = f.parse::<u16>("port").unwrap_err().to_string();
        assert!(err.starts_with("Failed to load flag 'port'"), "{err}");
        assert!(!err.contains('\n'));
        assert_eq!(load(&["--help"], &[]).unwrap(), Outcome::Help);
        assert_eq!(load(&["--version"], &[]).unwrap(), Outcome::Version);
    }

    #[test]
    fn values_can_come_from_files() {
        let dir = std::env::temp_dir().join(format!("flags-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ip");
        std::fs::write(&path, "9.9.9.9\n").unwrap();
        let f = flags(&[&format!("--ip=file://{}", path.display())], &[]);
        assert_eq!(f.get("ip"), Some("9.9.9.9"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(load(&["--ip=file:///nonexistent/x"], &[]).is_err());
    }

    #[test]
    fn durations_parse_and_print_as_mesos_writes_them() {
        let cases = [
            ("10mins", Duration::from_secs(600)),
            ("5secs", Duration::from_secs(5)),
            ("1hrs", Duration::from_secs(3600)),
            ("250ms", Duration::from_millis(250)),
            ("1.5secs", Duration::from_millis(1500)),
            ("2weeks", Duration::from_secs(14 * 86400)),
            ("3days", Duration::from_secs(3 * 86400)),
            ("7us", Duration::from_micros(7)),
            ("9ns", Duration::from_nanos(9)),
        ];
        for (text, d) in cases {
            assert_eq!(parse_duration(text), Ok(d), "{text}");
        }
        for bad in ["", "5", "secs", "5 parsecs", "-1secs", "1e999secs"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(5)), "5secs");
        assert_eq!(format_duration(Duration::from_secs(600)), "10mins");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5secs");
        assert_eq!(format_duration(Duration::ZERO), "0ns");
    }
}
