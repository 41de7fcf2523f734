//! Mesos-DNS's HTTP API on `HTTPListener:httpport`: `/v1/version`,
//! `/v1/config`, `/v1/hosts/{host}`, `/v1/services/{service}`,
//! `/v1/enumerate`, `/v1/axfr`, plus `/metrics/snapshot`. [`route`] is the
//! whole surface without a socket; [`serve`] puts it on hyper.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tracing::debug;

use super::Shared;

/// The name as a lowercase FQDN, `.*` removed.
fn fqdn(name: &str) -> String {
    let mut name = name.to_ascii_lowercase().replace(".*", "");
    if !name.ends_with('.') {
        name.push('.');
    }
    name
}

/// The status and JSON body for `GET path`.
pub fn route(shared: &Shared, method: &Method, path: &str) -> (StatusCode, Value) {
    if method != Method::GET {
        return (StatusCode::METHOD_NOT_ALLOWED, json!({"error": "only GET"}));
    }
    let loaded = shared.records();
    let rs = loaded.as_deref().map(|l| &l.records);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["v1", "version"] => (
            StatusCode::OK,
            json!({"Service": "Mesos-DNS", "URL": "https://github.com/mesosphere/mesos-dns",
                   "Version": env!("CARGO_PKG_VERSION")}),
        ),
        ["v1", "config"] => (StatusCode::OK, shared.config.to_json()),
        ["v1", "hosts", host] => {
            let name = fqdn(host);
            let mut out: Vec<Value> = Vec::new();
            if let Some(rs) = rs {
                let v4 =
                    rs.a.get(&name)
                        .into_iter()
                        .flatten()
                        .map(|ip| ip.to_string());
                let v6 = rs
                    .aaaa
                    .get(&name)
                    .into_iter()
                    .flatten()
                    .map(|ip| ip.to_string());
                out = v4
                    .chain(v6)
                    .map(|ip| json!({"host": name, "ip": ip}))
                    .collect();
            }
            if out.is_empty() {
                out.push(json!({"host": "", "ip": ""}));
            }
            (StatusCode::OK, Value::Array(out))
        }
        ["v1", "hosts", _, "ports"] => (
            StatusCode::NOT_IMPLEMENTED,
            json!({"error": "not implemented"}),
        ),
        ["v1", "services", service] => {
            let name = fqdn(service);
            let mut out: Vec<Value> = Vec::new();
            for (target, port) in rs.and_then(|rs| rs.srv.get(&name)).into_iter().flatten() {
                let Some(rs) = rs else { break };
                let v4 =
                    rs.a.get(target)
                        .into_iter()
                        .flatten()
                        .map(|ip| ip.to_string());
                let v6 = rs
                    .aaaa
                    .get(target)
                    .into_iter()
                    .flatten()
                    .map(|ip| ip.to_string());
                for ip in v4.chain(v6) {
                    out.push(json!({"service": name, "host": target, "ip": ip, "port": port.to_string()}));
                }
            }
            if out.is_empty() {
                out.push(json!({"service": "", "host": "", "ip": "", "port": ""}));
            }
            (StatusCode::OK, Value::Array(out))
        }
        ["v1", "enumerate"] if shared.config.enumeration_on => {
            let frameworks: Vec<Value> = rs
                .map(|rs| rs.frameworks.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|f| {
                    let tasks: Vec<Value> = f
                        .tasks
                        .iter()
                        .map(|t| {
                            let records: Vec<Value> = t
                                .records
                                .iter()
                                .map(|r| json!({"name": r.name, "host": r.host, "rtype": r.rtype}))
                                .collect();
                            json!({"name": t.name, "id": t.id, "records": records})
                        })
                        .collect();
                    json!({"name": f.name, "tasks": tasks})
                })
                .collect();
            (StatusCode::OK, json!({"frameworks": frameworks}))
        }
        ["v1", "axfr"] if shared.config.enumeration_on => {
            let c = &shared.config;
            let (mut srvs, mut a, mut aaaa) = (json!({}), json!({}), json!({}));
            if let Some(rs) = rs {
                for (name, list) in &rs.srv {
                    srvs[name] = json!(list
                        .iter()
                        .map(|(t, p)| format!("{t}:{p}"))
                        .collect::<Vec<_>>());
                }
                for (name, list) in &rs.a {
                    a[name] = json!(list.iter().map(|ip| ip.to_string()).collect::<Vec<_>>());
                }
                for (name, list) in &rs.aaaa {
                    aaaa[name] = json!(list.iter().map(|ip| ip.to_string()).collect::<Vec<_>>());
                }
            }
            (
                StatusCode::OK,
                json!({"Records": {"SRVs": srvs, "As": a, "AAAAs": aaaa},
                       "Serial": loaded.as_ref().map_or(0, |l| l.serial),
                       "Mname": c.soa_mname, "Rname": c.soa_rname, "TTL": c.ttl,
                       "RefreshSeconds": c.refresh_seconds, "Domain": c.domain}),
            )
        }
        ["metrics", "snapshot"] => (StatusCode::OK, shared.metrics.snapshot()),
        _ => (StatusCode::NOT_FOUND, json!({"error": "no such endpoint"})),
    }
}

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = route(&shared, request.method(), request.uri().path());
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Serves the API on `listener` until it fails; each connection on its
/// own task, a malformed request closing only its connection.
pub async fn serve(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |r| answer(shared.clone(), r));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                debug!(error = %e, "http connection");
            }
        });
    }
}
