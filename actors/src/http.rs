//! HTTP/1.1 on the node's one port, beside frames.
//!
//! The listener peeks at the first byte of each connection: the frame magic
//! starts with 0x89, which no HTTP request does, so frame connections go to
//! `peer.rs` and everything else to hyper. A request for
//! `/<process id><route>` is handed to that process as a message and
//! answered from its handler, so the answer is a consistent view of the
//! process's state. As in libprocess, trailing slashes do not matter and
//! a path is served by the longest route that prefixes it in whole
//! segments (`/master/tasks/` and `/master/tasks/x` by `/tasks`). Paths whose first segment names no process go to the
//! node's delegate, if one is set. The node itself answers `/health` and
//! `/metrics/snapshot`. Malformed requests get hyper's 4xx and are counted.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Weak;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::header::{HeaderValue, CONTENT_TYPE};
pub use hyper::{HeaderMap, Method, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use crate::node::{Inner, Node};
use crate::process::RouteRequest;

/// How long `/metrics/snapshot` waits for processes' values when no
/// `timeout` is given.
const DEFAULT_SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(15);

/// An HTTP request as a process sees it.
#[derive(Debug)]
pub struct Request {
    pub method: Method,
    /// The path as received (`/master/state`).
    pub path: String,
    /// The part of the path the process's route matched (`/state`).
    pub route: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub remote: SocketAddr,
}

impl Request {
    /// The first query parameter called `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A response body: all at once, or streamed chunk by chunk (chunked
/// transfer encoding) until the sender is dropped.
pub enum Body {
    Full(Bytes),
    Stream(mpsc::UnboundedReceiver<Bytes>),
}

/// An HTTP response from a process or the node.
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Body,
}

impl Response {
    pub fn new(status: StatusCode, body: impl Into<Bytes>) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Body::Full(body.into()),
        }
    }

    /// `200 OK` with a JSON body.
    pub fn json(body: impl Into<Bytes>) -> Response {
        Response::new(StatusCode::OK, body).with_header(CONTENT_TYPE.as_str(), "application/json")
    }

    /// A plain-text answer, typically an error with a one-line reason.
    pub fn text(status: StatusCode, message: impl Into<String>) -> Response {
        Response::new(status, message.into())
            .with_header(CONTENT_TYPE.as_str(), "text/plain; charset=utf-8")
    }

    pub fn not_found() -> Response {
        Response::new(StatusCode::NOT_FOUND, Bytes::new())
    }

    /// A streamed response: each chunk sent on the returned sender is
    /// written as it comes; dropping the sender ends the response.
    pub fn stream(
        status: StatusCode,
        content_type: &str,
    ) -> (Response, mpsc::UnboundedSender<Bytes>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let response = Response {
            status,
            headers: HeaderMap::new(),
            body: Body::Stream(rx),
        }
        .with_header(CONTENT_TYPE.as_str(), content_type);
        (response, tx)
    }

    /// Adds a header; a name or value that is not valid HTTP is ignored.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        if let (Ok(n), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.headers.insert(n, v);
        }
        self
    }
}

/// What a route handler returns: a response now, or a future of one (run
/// on the process's thread, outside its mailbox).
pub enum Reply {
    Now(Response),
    Later(Pin<Box<dyn Future<Output = Response>>>),
}

impl Reply {
    pub fn later(future: impl Future<Output = Response> + 'static) -> Reply {
        Reply::Later(Box::pin(future))
    }
}

impl From<Response> for Reply {
    fn from(r: Response) -> Reply {
        Reply::Now(r)
    }
}

/// The body type handed to hyper.
pub(crate) enum OutBody {
    Full(Option<Bytes>),
    Stream(mpsc::UnboundedReceiver<Bytes>),
}

impl HttpBody for OutBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            OutBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            OutBody::Stream(rx) => rx.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, OutBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            OutBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            OutBody::Full(None) => SizeHint::with_exact(0),
            OutBody::Stream(_) => SizeHint::default(),
        }
    }
}

impl From<Response> for hyper::Response<OutBody> {
    fn from(r: Response) -> Self {
        let body = match r.body {
            Body::Full(b) => OutBody::Full(Some(b)),
            Body::Stream(rx) => OutBody::Stream(rx),
        };
        let mut out = hyper::Response::new(body);
        *out.status_mut() = r.status;
        *out.headers_mut() = r.headers;
        out
    }
}

/// Accepts connections until the node shuts down.
pub(crate) async fn accept_loop(node: Weak<Inner>, listener: TcpListener) {
    loop {
        let accepted = listener.accept().await;
        let Some(inner) = node.upgrade() else {
            return;
        };
        let node = Node { inner };
        match accepted {
            Ok((stream, remote)) => {
                node.inner
                    .runtime
                    .spawn(classify(node.clone(), stream, remote));
            }
            Err(e) => {
                // Out of file descriptors, typically: back off, keep serving.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn classify(node: Node, stream: TcpStream, remote: SocketAddr) {
    let mut first = [0u8; 1];
    let timeout = node.inner.config.connect_timeout;
    match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return, // closed, failed, or silent: drop it
    }
    if first[0] == wire::MAGIC[0] {
        crate::peer::accept(node, stream, remote).await;
    } else {
        serve_http(node, stream, remote).await;
    }
}

async fn serve_http(node: Node, stream: TcpStream, remote: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let service_node = node.clone();
    let service = hyper::service::service_fn(move |req| {
        let node = service_node.clone();
        async move { Ok::<_, Infallible>(node.handle_http(req, remote).await.into()) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = connection.await {
        if e.is_parse() || e.is_parse_too_large() || e.is_parse_status() {
            node.inner.stats.http_bad_requests.inc();
            tracing::debug!(%remote, "bad HTTP request: {e}");
        }
    }
}

impl Node {
    async fn handle_http(&self, req: hyper::Request<Incoming>, remote: SocketAddr) -> Response {
        let path = req.uri().path().to_owned();
        let query = parse_query(req.uri().query().unwrap_or(""));
        // `/state/` is `/state`, as libprocess serves it.
        match without_trailing_slash(&path) {
            "/health" => return Response::new(StatusCode::OK, Bytes::new()),
            "/metrics/snapshot" => {
                let timeout = match query.iter().find(|(k, _)| k == "timeout") {
                    None => DEFAULT_SNAPSHOT_TIMEOUT,
                    Some((_, v)) => match crate::metrics::parse_timeout(v) {
                        Some(t) => t,
                        None => {
                            return Response::text(
                                StatusCode::BAD_REQUEST,
                                format!("Invalid timeout '{v}'"),
                            )
                        }
                    },
                };
                let snapshot = self.inner.metrics.snapshot_with_collectors(timeout).await;
                return with_jsonp(crate::metrics::to_json(snapshot), &query);
            }
            _ => {}
        }
        if path.contains("/..") {
            self.inner.stats.http_not_found.inc();
            return Response::not_found();
        }
        let Some((entry, route)) = self.resolve(without_trailing_slash(&path)) else {
            self.inner.stats.http_not_found.inc();
            return Response::not_found();
        };
        let Some(route) = match_route(&entry.routes, &route) else {
            self.inner.stats.http_not_found.inc();
            return Response::not_found();
        };
        let method = req.method().clone();
        let headers = req.headers().clone();
        let limit = self.inner.config.max_http_body;
        let body = match http_body_util::Limited::new(req.into_body(), limit)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                if e.is::<http_body_util::LengthLimitError>() {
                    self.inner.stats.http_too_large.inc();
                    return Response::text(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("Request body exceeds the limit of {limit} bytes"),
                    );
                }
                self.inner.stats.http_bad_requests.inc();
                return Response::text(
                    StatusCode::BAD_REQUEST,
                    format!("Failed to read request body: {e}"),
                );
            }
        };
        let request = Request {
            method,
            path,
            route: route.clone(),
            query,
            headers,
            body,
            remote,
        };
        let (reply, answer) = oneshot::channel();
        entry.http.do_send(RouteRequest {
            route,
            request,
            reply,
        });
        answer.await.unwrap_or_else(|_| {
            Response::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "The process has terminated",
            )
        })
    }

    /// Finds the process and route for a path: `/<id><route>`, else the
    /// delegate with the whole path as its route.
    fn resolve(&self, path: &str) -> Option<(std::sync::Arc<crate::node::Entry>, String)> {
        let exposed = crate::node::read(&self.inner.exposed).get(path).cloned();
        if let Some((id, route)) = exposed {
            if let Some(entry) = self.entry(&id) {
                return Some((entry, route));
            }
        }
        let rest = path.strip_prefix('/')?;
        let (first, route) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if let Some(entry) = self.entry(&percent_decode(first, false)) {
            return Some((entry, route.to_owned()));
        }
        let delegate = crate::node::read(&self.inner.delegate).clone()?;
        let entry = self.entry(&delegate)?;
        Some((entry, path.to_owned()))
    }
}

/// The path without its trailing slashes (`/` stays `/`).
fn without_trailing_slash(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    }
}

/// The route of `routes` that serves `route`: the route itself, else the
/// longest route that is a prefix of it in whole segments, as libprocess
/// routes (`/tasks/x` is served by `/tasks`, `/tasks/` by `/tasks`). The
/// root route `/` serves only the root itself.
fn match_route(routes: &[String], route: &str) -> Option<String> {
    let mut name = route.trim_matches('/');
    loop {
        let candidate = format!("/{name}");
        if routes.contains(&candidate) {
            return Some(candidate);
        }
        name = &name[..name.rfind('/')?];
    }
}

/// Wraps a JSON body as `callback(json);` when `jsonp=callback` was asked.
pub fn with_jsonp(json: String, query: &[(String, String)]) -> Response {
    match query.iter().find(|(k, _)| k == "jsonp") {
        Some((_, callback)) => Response::new(StatusCode::OK, format!("{callback}({json});"))
            .with_header(CONTENT_TYPE.as_str(), "text/javascript"),
        None => Response::json(json),
    }
}

/// Splits and decodes `a=1&b=two%20words`.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// Decodes `%XX` escapes (and `+` as space in query strings). Invalid
/// escapes are kept as written.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_decoded() {
        assert_eq!(
            parse_query("a=1&b=two%20words&c=x+y&flag&d=%zz"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "two words".into()),
                ("c".into(), "x y".into()),
                ("flag".into(), "".into()),
                ("d".into(), "%zz".into()),
            ]
        );
        assert_eq!(percent_decode("slave%281%29", false), "slave(1)");
    }

    #[test]
    fn routes_match_by_their_longest_prefix_in_whole_segments() {
        let routes: Vec<String> = ["/", "/tasks", "/api/v1", "/api/v1/scheduler", "/read.json"]
            .iter()
            .map(|r| r.to_string())
            .collect();
        let cases = [
            ("/tasks", Some("/tasks")),
            ("/tasks/", Some("/tasks")),
            ("/tasks//", Some("/tasks")),
            ("/tasks/abc/def", Some("/tasks")),
            ("/tasksx", None),
            ("/api/v1/operator", Some("/api/v1")),
            ("/api/v1/scheduler", Some("/api/v1/scheduler")),
            ("/api/v1/scheduler/", Some("/api/v1/scheduler")),
            ("/api", None),
            ("/read.json", Some("/read.json")),
            ("/read", None),
            ("/", Some("/")),
            ("/unknown", None),
        ];
        for (route, want) in cases {
            assert_eq!(
                match_route(&routes, route).as_deref(),
                want,
                "route {route}"
            );
        }
        assert_eq!(match_route(&["/state".to_string()], "/"), None);
    }

    #[test]
    fn trailing_slashes_are_dropped_but_the_root_stays() {
        assert_eq!(
            without_trailing_slash("/master/frameworks/"),
            "/master/frameworks"
        );
        assert_eq!(
            without_trailing_slash("/metrics/snapshot//"),
            "/metrics/snapshot"
        );
        assert_eq!(without_trailing_slash("/"), "/");
        assert_eq!(without_trailing_slash("//"), "/");
        assert_eq!(without_trailing_slash("/state"), "/state");
    }
}
