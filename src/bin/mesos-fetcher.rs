//! `mesos-fetcher`: started by the agent in an executor's place when its
//! command has URIs. It fetches them into the sandbox (its working
//! directory), then execs the executor's command; see
//! `mesos::agent::fetcher`.

use std::path::PathBuf;

use mesos::agent::fetcher::{self, FetcherInfo};

fn main() {
    let info = match std::env::var(fetcher::INFO_VAR)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<FetcherInfo>(&text).map_err(|e| e.to_string()))
    {
        Ok(info) => info,
        Err(e) => {
            eprintln!("mesos-fetcher: cannot read {}: {e}", fetcher::INFO_VAR);
            std::process::exit(1);
        }
    };
    let home = std::env::var_os(fetcher::HOME_VAR).map(PathBuf::from);
    let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    for uri in &info.uris {
        eprintln!("mesos-fetcher: fetching '{}'", uri.value);
    }
    let cache = std::env::var_os(fetcher::CACHE_DIR_VAR).map(|dir| fetcher::Cache {
        dir: PathBuf::from(dir),
        size: std::env::var(fetcher::CACHE_SIZE_VAR)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2 << 30),
    });
    if let Err(e) = fetcher::fetch_all(&info.uris, &dir, home.as_deref(), cache.as_ref()) {
        eprintln!("mesos-fetcher: {e}");
        std::process::exit(1);
    }
    let e = fetcher::exec(&info.command);
    eprintln!("mesos-fetcher: cannot start the executor: {e}");
    std::process::exit(1);
}
