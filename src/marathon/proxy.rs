//! What a standby does with a request: Marathon's LeaderProxyFilter. Every
//! request is forwarded to the leader (method, path, query, body, headers
//! but `Host` and hop-by-hop ones) with `X-Marathon-Via: 1.1 <me>` and
//! `X-Forwarded-For` added, and answered with the leader's response (which
//! carries the leader's `X-Marathon-Leader`) plus our `X-Marathon-Via`.
//!
//! - A request that already came through us is a loop: 502
//!   `Detected proxying loop.`
//! - `/v2/events` is redirected (307, `Location` on the leader) rather
//!   than proxied, so that the stream is not buffered by a standby
//!   (Marathon's issue 1926).
//! - The leader refusing the connection is 502 `Connection to leader
//!   refused.`, not answering in time 504 `Connection to leader timed
//!   out.` (Marathon's connect and read timeouts: 5 s and 10 s).
//! - No leader known (the process waits 10 × 250 ms for one first, as
//!   Marathon does): 503 `Could not determine the current leader`.

use std::time::Duration;

use actors::http::{Request, Response, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

pub const VIA: &str = "x-marathon-via";
pub const LEADER: &str = "x-marathon-leader";
const FORWARDED_FOR: &str = "x-forwarded-for";

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request waits for a leader to be known.
pub const LEADER_WAIT: Duration = Duration::from_millis(2500);

pub const NO_LEADER: &str = "Could not determine the current leader";
pub const LOOP: &str = "Detected proxying loop.";
const REFUSED: &str = "Connection to leader refused.";
const TIMED_OUT: &str = "Connection to leader timed out.";
const BAD_CONNECTION: &str = "Failed to successfully establish a connection to the leader.";

/// Headers that belong to one connection, not to the request.
const HOP_BY_HOP: [&str; 9] = [
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
    "content-length",
];

/// Our `X-Marathon-Via` value.
pub fn via(me: &str) -> String {
    format!("1.1 {me}")
}

/// Whether `request` already passed through the instance `me`.
pub fn is_loop(request: &Request, me: &str) -> bool {
    let ours = via(me);
    request
        .headers
        .get_all(VIA)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim() == ours)
}

/// The request's path and query, re-encoded.
pub fn path_and_query(request: &Request) -> String {
    if request.query.is_empty() {
        return request.path.clone();
    }
    let query: Vec<String> = request
        .query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("{}?{}", request.path, query.join("&"))
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn error(status: StatusCode, message: &str) -> Response {
    Response::new(status, json!({ "message": message }).to_string())
        .with_header("content-type", "application/json")
}

/// `/v2/events` on a standby: 307 to the same on the leader.
pub fn redirect(request: &Request, leader: &str) -> Response {
    Response::new(StatusCode::TEMPORARY_REDIRECT, Bytes::new()).with_header(
        "location",
        &format!("http://{leader}{}", path_and_query(request)),
    )
}

/// Sends `request` to `leader` (`host:port`) as the standby `me`, and
/// answers with what the leader answered.
pub async fn forward(request: Request, leader: String, me: String) -> Response {
    let path = path_and_query(&request);
    tracing::info!(method = %request.method, %path, %leader, "proxying to the leader");
    let mut out = hyper::Request::new(Full::new(request.body.clone()));
    *out.method_mut() = request.method.clone();
    *out.uri_mut() = match path.parse() {
        Ok(uri) => uri,
        Err(_) => return error(StatusCode::BAD_REQUEST, "Invalid request path"),
    };
    let headers = out.headers_mut();
    for (name, value) in &request.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    let forwarded = match request.header(FORWARDED_FOR) {
        Some(earlier) => format!("{earlier},{}", request.remote.ip()),
        None => request.remote.ip().to_string(),
    };
    for (name, value) in [
        ("host", leader.clone()),
        (VIA, via(&me)),
        (FORWARDED_FOR, forwarded),
    ] {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
            if name == VIA {
                headers.append(name, v);
            } else {
                headers.insert(name, v);
            }
        }
    }

    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&leader)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::warn!(%leader, error = %e, "{REFUSED}");
            return error(StatusCode::BAD_GATEWAY, REFUSED);
        }
        Err(_) => return error(StatusCode::GATEWAY_TIMEOUT, TIMED_OUT),
    };
    let _ = stream.set_nodelay(true);
    let exchange = async {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let response = sender.send_request(out).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok::<_, hyper::Error>((parts, body))
    };
    let (parts, body) = match tokio::time::timeout(READ_TIMEOUT, exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            tracing::warn!(%leader, error = %e, "{BAD_CONNECTION}");
            return error(StatusCode::BAD_GATEWAY, BAD_CONNECTION);
        }
        Err(_) => return error(StatusCode::GATEWAY_TIMEOUT, TIMED_OUT),
    };
    let mut response = Response::new(parts.status, body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response.headers.append(name.clone(), value.clone());
        }
    }
    if let Ok(v) = hyper::header::HeaderValue::from_str(&via(&me)) {
        response.headers.append(VIA, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::http::Method;

    fn request(path: &str, query: &[(&str, &str)], via: &[&str]) -> Request {
        let mut headers = hyper::HeaderMap::new();
        for v in via {
            headers.append(VIA, v.parse().unwrap());
        }
        Request {
            method: Method::GET,
            path: path.into(),
            route: path.into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers,
            body: Bytes::new(),
            remote: "127.0.0.9:4000".parse().unwrap(),
        }
    }

    #[test]
    fn loops_are_seen_in_any_via() {
        let me = "10.0.0.1:8080";
        assert!(!is_loop(&request("/v2/apps", &[], &[]), me));
        assert!(!is_loop(
            &request("/v2/apps", &[], &["1.1 10.0.0.2:8080"]),
            me
        ));
        assert!(is_loop(
            &request("/v2/apps", &[], &["1.1 10.0.0.2:8080", "1.1 10.0.0.1:8080"]),
            me
        ));
        assert!(is_loop(
            &request("/v2/apps", &[], &["1.1 10.0.0.2:8080, 1.1 10.0.0.1:8080"]),
            me
        ));
    }

    #[test]
    fn events_are_redirected_with_their_query() {
        let r = redirect(
            &request(
                "/v2/events",
                &[("event_type", "status_update_event"), ("x", "a b&c")],
                &[],
            ),
            "10.0.0.2:8080",
        );
        assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(
            r.headers["location"],
            "http://10.0.0.2:8080/v2/events?event_type=status_update_event&x=a%20b%26c"
        );
    }

    #[tokio::test]
    async fn a_leader_that_is_not_there_is_a_bad_gateway() {
        // A port nobody listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = forward(
            request("/v2/apps", &[], &[]),
            format!("127.0.0.1:{port}"),
            "127.0.0.1:1".into(),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    }
}
