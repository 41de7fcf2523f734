//! What the v1 HTTP APIs share: the master's `POST /api/v1/scheduler` and
//! the agent's `POST /api/v1/executor` check a request the same way
//! (method, `Content-Type`, `Accept`) and answer a refusal the same way,
//! as Mesos's `src/common/http.cpp` does for both.
//!
//! An API handler returns `Result<Reply, ApiError>`; [`ApiError::reply`]
//! (or [`answer`], over the whole result) is the one place a refusal
//! becomes a status and a one-line text body. A refusal only one API makes
//! (the agent's unknown executor, say) is that API's own error, converted
//! into an [`ApiError`] with the status Mesos gives it.

use actors::http::{Method, Response, StatusCode};
use actors::{Reply, Request};
use bytes::Bytes;
use wire::v1::CallError;

/// Why a v1 API request was refused, each with the status Mesos answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 405: only POST carries calls.
    #[error("Expecting a 'POST' request, received '{0}'")]
    NotPost(String),
    /// 415: a body of another media type than JSON.
    #[error("Expecting 'Content-Type' of application/json; '{0}' is not supported")]
    UnsupportedMediaType(String),
    /// 406: the client will not take a JSON event stream.
    #[error("Expecting 'Accept' to allow application/json")]
    NotAcceptable,
    /// The body is not a valid call of `api` (`scheduler`, `executor`);
    /// the status is the one the call error names (400, or 501).
    #[error("Failed to validate {api}::Call: {error}")]
    BadCall { api: &'static str, error: CallError },
    /// 400, with Mesos's text.
    #[error("{0}")]
    BadRequest(String),
    /// 403: the caller may not make this call now.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the call names something (an agent, a file) that is not there.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with the cluster as it is.
    #[error("{0}")]
    Conflict(String),
    /// 503: this process cannot serve calls yet.
    #[error("{0}")]
    Unavailable(String),
    /// 501: a call this implementation does not support.
    #[error("{0}")]
    NotImplemented(String),
    /// 500: the process failed to serve a call it took.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotPost(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::BadCall { error, .. } => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The answer: the status and this error's text.
    pub fn reply(&self) -> Reply {
        Reply::Now(Response::text(self.status(), self.to_string()))
    }
}

/// The answer to a handler's outcome: its reply, or its refusal's.
pub fn answer(outcome: Result<Reply, ApiError>) -> Reply {
    outcome.unwrap_or_else(|refusal| refusal.reply())
}

/// The answer to a call that was taken: `202 Accepted`, no body.
pub fn accepted() -> Reply {
    Reply::Now(Response::new(StatusCode::ACCEPTED, Bytes::new()))
}

/// Checks that `req` is a POST with a JSON body, before anything else is
/// looked at.
pub fn check_json_post(req: &Request) -> Result<(), ApiError> {
    if req.method != Method::POST {
        return Err(ApiError::NotPost(req.method.to_string()));
    }
    match req
        .header("content-type")
        .map(|c| c.split(';').next().unwrap_or("").trim())
    {
        None => Err(ApiError::BadRequest(
            "Expecting 'Content-Type' to be present".into(),
        )),
        Some("application/json") => Ok(()),
        Some(other) => Err(ApiError::UnsupportedMediaType(other.to_owned())),
    }
}

/// Checks that the client takes JSON back (no `Accept` header does), as a
/// call that opens an event stream must.
pub fn check_accepts_json(req: &Request) -> Result<(), ApiError> {
    let takes_json = match req.header("accept") {
        None => true,
        Some(accept) => accept.split(',').any(|a| {
            let media = a.split(';').next().unwrap_or("").trim();
            matches!(media, "application/json" | "application/*" | "*/*")
        }),
    };
    if takes_json {
        Ok(())
    } else {
        Err(ApiError::NotAcceptable)
    }
}

/// Parses the body with `parse`, naming `api` in the refusal.
pub fn parse_call<T>(
    api: &'static str,
    body: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<T, CallError>,
) -> Result<T, ApiError> {
    parse(body).map_err(|error| ApiError::BadCall { api, error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::http::HeaderMap;

    fn request(method: Method, headers: &[(&'static str, &'static str)]) -> Request {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Request {
            method,
            path: "/api/v1/scheduler".into(),
            route: "/api/v1/scheduler".into(),
            query: Vec::new(),
            headers: map,
            body: Bytes::new(),
            remote: "127.0.0.1:1".parse().unwrap(),
        }
    }

    /// A request's method and headers, and the refusal expected (status, text).
    type Case = (
        Method,
        &'static [(&'static str, &'static str)],
        Option<(u16, &'static str)>,
    );

    #[test]
    fn only_a_json_post_passes_the_prelude() {
        let table: &[Case] = &[
            (Method::POST, &[("content-type", "application/json")], None),
            (
                Method::POST,
                &[("content-type", "application/json; charset=utf-8")],
                None,
            ),
            (
                Method::GET,
                &[("content-type", "application/json")],
                Some((405, "Expecting a 'POST' request, received 'GET'")),
            ),
            (
                Method::POST,
                &[],
                Some((400, "Expecting 'Content-Type' to be present")),
            ),
            (
                Method::POST,
                &[("content-type", "application/x-protobuf")],
                Some((
                    415,
                    "Expecting 'Content-Type' of application/json; 'application/x-protobuf' is not supported",
                )),
            ),
        ];
        for (method, headers, expected) in table {
            let got = check_json_post(&request(method.clone(), headers))
                .err()
                .map(|e| (e.status().as_u16(), e.to_string()));
            let expected = expected.map(|(s, t)| (s, t.to_owned()));
            assert_eq!(got, expected, "{method} {headers:?}");
        }
    }

    #[test]
    fn accept_must_admit_json_when_given() {
        let table: &[(&[(&str, &str)], bool)] = &[
            (&[], true),
            (&[("accept", "application/json")], true),
            (&[("accept", "text/html, application/*;q=0.5")], true),
            (&[("accept", "*/*")], true),
            (&[("accept", "application/x-protobuf")], false),
        ];
        for (headers, ok) in table {
            let got = check_accepts_json(&request(Method::POST, headers));
            assert_eq!(got.is_ok(), *ok, "{headers:?}");
            if let Err(e) = got {
                assert_eq!(e.status(), StatusCode::NOT_ACCEPTABLE);
            }
        }
    }

    #[test]
    fn a_bad_call_keeps_the_status_its_error_names() {
        let bad = parse_call("executor", b"{", |_| -> Result<(), CallError> {
            Err(CallError::Json("EOF".into()))
        })
        .unwrap_err();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            bad.to_string(),
            "Failed to validate executor::Call: Failed to parse body into JSON: EOF"
        );
        let unknown = parse_call("scheduler", b"{}", |_| -> Result<(), CallError> {
            Err(CallError::Unimplemented)
        })
        .unwrap_err();
        assert_eq!(unknown.status(), StatusCode::NOT_IMPLEMENTED);
    }

    /// The master's prelude tests, from when the scheduler API had its own
    /// copy of the prelude.
    fn scheduler_request(accept: Option<&str>) -> Request {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert("accept", a.parse().unwrap());
        }
        Request {
            method: Method::POST,
            path: "/api/v1/scheduler".into(),
            route: "/api/v1/scheduler".into(),
            query: vec![],
            headers,
            body: Bytes::new(),
            remote: "127.0.0.1:1".parse().unwrap(),
        }
    }

    #[test]
    fn accept_headers_that_admit_json() {
        for (accept, ok) in [
            (None, true),
            (Some("application/json"), true),
            (Some("*/*"), true),
            (Some("text/html, application/json;q=0.9"), true),
            (Some("application/x-protobuf"), false),
            (Some("text/plain"), false),
        ] {
            assert_eq!(
                check_accepts_json(&scheduler_request(accept)).is_ok(),
                ok,
                "{accept:?}"
            );
        }
    }

    #[test]
    fn the_prelude_wants_a_json_post() {
        let mut get = scheduler_request(None);
        get.method = Method::GET;
        let json = |r: &mut Request, ct: &str| {
            r.headers.insert("content-type", ct.parse().unwrap());
        };
        let mut plain = scheduler_request(None);
        json(&mut plain, "text/plain");
        let mut good = scheduler_request(None);
        json(&mut good, "application/json; charset=utf-8");
        assert_eq!(check_json_post(&get), Err(ApiError::NotPost("GET".into())));
        assert!(matches!(
            check_json_post(&scheduler_request(None)),
            Err(ApiError::BadRequest(_))
        ));
        assert_eq!(
            check_json_post(&plain),
            Err(ApiError::UnsupportedMediaType("text/plain".into()))
        );
        assert_eq!(check_json_post(&good), Ok(()));
    }

    /// The status and body text of a reply given now.
    fn status_and_text(reply: Reply) -> Option<(u16, String)> {
        match reply {
            Reply::Now(response) => {
                let text = match response.body {
                    actors::http::Body::Full(bytes) => String::from_utf8(bytes.to_vec()).ok()?,
                    _ => return None,
                };
                Some((response.status.as_u16(), text))
            }
            Reply::Later(_) => None,
        }
    }

    #[test]
    fn every_refusal_answers_its_status_with_its_text() {
        let table: &[(ApiError, u16, &str)] = &[
            (
                ApiError::NotPost("PUT".into()),
                405,
                "Expecting a 'POST' request, received 'PUT'",
            ),
            (
                ApiError::NotAcceptable,
                406,
                "Expecting 'Accept' to allow application/json",
            ),
            (ApiError::BadRequest("no".into()), 400, "no"),
            (
                ApiError::Forbidden("Framework is not subscribed".into()),
                403,
                "Framework is not subscribed",
            ),
            (ApiError::Unavailable("later".into()), 503, "later"),
            (ApiError::NotImplemented("never".into()), 501, "never"),
            (
                ApiError::Internal("Cannot name the stream".into()),
                500,
                "Cannot name the stream",
            ),
        ];
        for (error, status, text) in table {
            assert_eq!(
                status_and_text(error.reply()),
                Some((*status, (*text).to_owned())),
                "{error:?}"
            );
        }
    }

    #[test]
    fn an_answer_is_the_reply_or_the_refusal() {
        assert_eq!(
            status_and_text(answer(Ok(accepted()))),
            Some((202, String::new()))
        );
        assert_eq!(
            status_and_text(answer(Err(ApiError::NotAcceptable))),
            Some((
                406,
                "Expecting 'Accept' to allow application/json".to_owned()
            ))
        );
    }
}
