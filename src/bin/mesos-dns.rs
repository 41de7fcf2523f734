//! `mesos-dns -config=config.json [-v=N] [-version]`: the Mesos-DNS
//! compatible server. Flags are Go style (one dash; two are accepted).

use std::sync::Arc;

use anyhow::{bail, Context};
use mesos::dns::{http, server, source, Config, Shared};

const USAGE: &str = "usage: mesos-dns [-config=PATH] [-v=N] [-version]";

struct Flags {
    config: String,
    verbosity: u8,
    version: bool,
}

fn parse_flags(args: impl Iterator<Item = String>) -> anyhow::Result<Flags> {
    let mut flags = Flags {
        config: "./config.json".into(),
        verbosity: 0,
        version: false,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            bail!("unexpected argument '{arg}'\n{USAGE}");
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        match name {
            "config" => {
                flags.config = match value {
                    Some(v) => v,
                    None => args.next().context("-config needs a path")?,
                }
            }
            "v" => {
                let v = match value {
                    Some(v) => v,
                    None => args.next().context("-v needs a number")?,
                };
                flags.verbosity = v.parse().with_context(|| format!("-v={v}: not a number"))?;
            }
            "version" => flags.version = value.is_none_or(|v| v != "false"),
            "help" | "h" => bail!("{USAGE}"),
            _ => bail!("unknown flag -{name}\n{USAGE}"),
        }
    }
    Ok(flags)
}

fn init_logging(verbosity: u8) {
    let level = match verbosity {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("warn,mesos::dns={level},mesos_dns={level}"))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let shared = Shared::new(config);
    let c = &shared.config;
    if c.dns_on {
        let (udp, tcp) = server::bind(&shared)
            .await
            .with_context(|| format!("cannot listen for DNS on {}:{}", c.listener, c.port))?;
        println!("DNS listening on {}", udp.local_addr()?);
        tokio::spawn(server::serve_udp(shared.clone(), udp));
        tokio::spawn(server::serve_tcp(shared.clone(), tcp));
    }
    if c.http_on {
        let listener = tokio::net::TcpListener::bind((c.http_listener, c.http_port))
            .await
            .with_context(|| {
                format!(
                    "cannot listen for HTTP on {}:{}",
                    c.http_listener, c.http_port
                )
            })?;
        // The banner every daemon of the project prints.
        println!("Mesos-DNS started at http://{}", listener.local_addr()?);
        tokio::spawn(http::serve(shared.clone(), listener));
    }
    let source = tokio::spawn(source::run(Arc::clone(&shared)));
    tokio::select! {
        result = source => match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(e.into()),
        },
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

fn main() {
    let flags = match parse_flags(std::env::args().skip(1)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("mesos-dns: {e}");
            std::process::exit(2);
        }
    };
    if flags.version {
        println!("Mesos-DNS compatible {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let config = match Config::load(&flags.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mesos-dns: {e}");
            std::process::exit(1);
        }
    };
    init_logging(flags.verbosity);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mesos-dns: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(serve(config)) {
        eprintln!("mesos-dns: {e:#}");
        std::process::exit(1);
    }
}
