//! The daemons' logging: stderr and, with `--log_dir`, a file, at the
//! level of `--logging_level` (or `RUST_LOG`), and the verbosity an
//! operator raises for a while with `SET_LOGGING_LEVEL`.
//!
//! Mesos raises glog's `v` for the call's duration and then puts it back;
//! here a raised level widens the filter (`v` 1 and 2 show debug, 3 and
//! above trace) until the time is up, when the filter the daemon started
//! with comes back, unless a later call raised it again meanwhile.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry};

/// What the daemon started with, and the handle that swaps its filter.
struct Verbosity {
    base: String,
    handle: reload::Handle<EnvFilter, Registry>,
}

static VERBOSITY: OnceLock<Verbosity> = OnceLock::new();
/// Counts raises, so that an expiring raise leaves a later one alone.
static RAISES: AtomicU64 = AtomicU64::new(0);

/// Logs to stderr and, with `--log_dir`, also to `<log_dir>/<program>.log`.
/// `--logging_level` takes Mesos's names (INFO, WARNING, ERROR);
/// `RUST_LOG`, when set, wins.
pub fn init(program: &str, level: &str, log_dir: Option<&str>) -> Result<(), String> {
    let level = match level.to_ascii_uppercase().as_str() {
        "INFO" => "info",
        "WARNING" => "warn",
        "ERROR" => "error",
        other => {
            return Err(format!(
                "Failed to load flag 'logging_level': '{other}' is not INFO, WARNING or ERROR"
            ))
        }
    };
    let base = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| EnvFilter::try_new(v).is_ok())
        .unwrap_or_else(|| level.to_owned());
    let file = match log_dir {
        None => None,
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create --log_dir '{dir}': {e}"))?;
            let path = std::path::Path::new(dir).join(format!("{program}.log"));
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("cannot open log file '{}': {e}", path.display()))?;
            Some(Arc::new(Mutex::new(f)))
        }
    };
    let writer = move || -> Box<dyn Write> {
        match &file {
            Some(f) => Box::new(Tee(f.clone())),
            None => Box::new(std::io::stderr()),
        }
    };
    let (filter, handle) = reload::Layer::new(EnvFilter::new(&base));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_target(false);
    // A second initialisation (tests) keeps the first.
    if tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init()
        .is_ok()
    {
        let _ = VERBOSITY.set(Verbosity { base, handle });
    }
    Ok(())
}

/// The filter for glog verbosity `v` over the daemon's `base`.
fn filter_for(v: u32, base: &str) -> EnvFilter {
    match v {
        0 => EnvFilter::new(base),
        1 | 2 => EnvFilter::new("debug"),
        _ => EnvFilter::new("trace"),
    }
}

/// Raises the verbosity to `v` for `duration`, then puts the daemon's own
/// level back (unless raised again meanwhile). Without [`init`] (a process
/// embedded in a test) only the answer to `GET_LOGGING_LEVEL` changes.
pub fn raise(v: u32, duration: Duration) {
    let Some(verbosity) = VERBOSITY.get() else {
        return;
    };
    let raise = RAISES.fetch_add(1, Ordering::SeqCst) + 1;
    if let Err(e) = verbosity.handle.reload(filter_for(v, &verbosity.base)) {
        tracing::warn!("cannot change the logging level: {e}");
        return;
    }
    // The timer of this raise: a thread of its own, so that it needs no
    // runtime and a stuck process cannot keep the level raised.
    let spawned = std::thread::Builder::new()
        .name("logging-level".into())
        .spawn(move || {
            std::thread::sleep(duration);
            if RAISES.load(Ordering::SeqCst) == raise {
                let _ = verbosity.handle.reload(filter_for(0, &verbosity.base));
                tracing::info!("logging level back to the daemon's own");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot time the raised logging level, putting it back now: {e}");
        let _ = verbosity.handle.reload(filter_for(0, &verbosity.base));
    }
}

/// Writes to stderr and to a shared log file.
struct Tee(Arc<Mutex<std::fs::File>>);

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        let mut f = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_widens_the_filter_and_zero_is_the_daemons_own() {
        assert_eq!(filter_for(0, "warn").to_string(), "warn");
        assert_eq!(filter_for(1, "warn").to_string(), "debug");
        assert_eq!(filter_for(2, "error").to_string(), "debug");
        assert_eq!(filter_for(3, "info").to_string(), "trace");
    }
}
