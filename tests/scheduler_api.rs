//! The v1 scheduler API answers bad input with a 4xx and a one-line reason,
//! and never loses the framework that sent it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use common::{Daemon, TempDir};

const LOCAL: &str = env!("CARGO_BIN_EXE_mesos-local");
const JSON: (&str, &str) = ("Content-Type", "application/json");
const API: &str = "/api/v1/scheduler";

/// A case: what it is, headers, body, expected status, text the reason holds.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16, &'a str);

/// Subscribes over a raw connection; returns the stream (kept open), its
/// id and the framework id from SUBSCRIBED.
fn subscribe(address: &str) -> (std::net::TcpStream, String, String) {
    // A master still recovering its registry answers 503: wait for it, as
    // clients do.
    let ready = common::wait_until(Duration::from_secs(30), || {
        let probe = br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"probe"}}}"#;
        let (status, _, _) =
            common::http_post(address, API, &[JSON, ("Accept", "text/plain")], probe);
        status != 503
    });
    assert!(ready, "the master never finished recovery");
    let body =
        br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"api-test"}}}"#;
    let mut s = std::net::TcpStream::connect(address).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let req = format!(
        "POST {API} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    s.write_all(body).expect("write");
    let mut reader = BufReader::new(s.try_clone().expect("clone"));
    let mut stream_id = String::new();
    let mut line = String::new();
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status");
    assert!(status_line.contains("200"), "{status_line}");
    loop {
        line.clear();
        reader.read_line(&mut line).expect("header");
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("mesos-stream-id:") {
            stream_id = v.trim().to_string();
        }
    }
    // First chunk: the RecordIO record of SUBSCRIBED.
    let mut chunk = vec![0u8; 4096];
    let n = reader.read(&mut chunk).expect("chunk");
    let text = String::from_utf8_lossy(&chunk[..n]).to_string();
    let framework_id = text
        .split("\"framework_id\":{\"value\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("framework id in SUBSCRIBED")
        .to_string();
    assert!(!stream_id.is_empty());
    (s, stream_id, framework_id)
}

#[test]
fn bad_calls_get_a_4xx_with_a_reason_and_the_framework_survives() {
    let dir = TempDir::new("scheduler-api");
    let cluster = Daemon::start(
        LOCAL,
        &[
            "--port=0",
            &format!("--work_dir={}", dir.path().display()),
            "--resources=cpus:1;mem:256",
        ],
    );
    let a = cluster.address.as_str();
    let (_stream, stream_id, fid) = subscribe(a);
    let sid = ("Mesos-Stream-Id", stream_id.as_str());
    let decline = format!(r#"{{"framework_id":{{"value":"{fid}"}},"type":"REVIVE"}}"#);
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            vec![JSON],
            b"{not json".to_vec(),
            400,
            "Failed to validate",
        ),
        (
            "a wrong type",
            vec![JSON],
            br#"{"type":5}"#.to_vec(),
            400,
            "",
        ),
        (
            "a missing field",
            vec![JSON, sid],
            br#"{"type":"REVIVE"}"#.to_vec(),
            400,
            "framework_id",
        ),
        (
            "an unknown call",
            vec![JSON, sid],
            format!(r#"{{"framework_id":{{"value":"{fid}"}},"type":"BOGUS"}}"#).into_bytes(),
            400,
            "",
        ),
        (
            "the UNKNOWN call",
            vec![JSON, sid],
            format!(r#"{{"framework_id":{{"value":"{fid}"}},"type":"UNKNOWN"}}"#).into_bytes(),
            501,
            "",
        ),
        (
            "no stream id",
            vec![JSON],
            decline.clone().into_bytes(),
            400,
            "Mesos-Stream-Id",
        ),
        (
            "a wrong stream id",
            vec![JSON, ("Mesos-Stream-Id", "nope")],
            decline.clone().into_bytes(),
            400,
            "stream ID",
        ),
        (
            "an unknown framework",
            vec![JSON, sid],
            br#"{"framework_id":{"value":"nope"},"type":"REVIVE"}"#.to_vec(),
            400,
            "Framework cannot be found",
        ),
        (
            "no content type",
            vec![],
            decline.clone().into_bytes(),
            400,
            "Content-Type",
        ),
        (
            "protobuf",
            vec![("Content-Type", "application/x-protobuf")],
            decline.clone().into_bytes(),
            415,
            "",
        ),
        (
            "text",
            vec![("Content-Type", "text/plain")],
            decline.clone().into_bytes(),
            415,
            "",
        ),
        (
            "subscribe that accepts no JSON",
            vec![JSON, ("Accept", "application/x-protobuf")],
            br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}"#
                .to_vec(),
            406,
            "",
        ),
        (
            "subscribe with a stream id",
            vec![JSON, sid],
            br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}"#
                .to_vec(),
            400,
            "Mesos-Stream-Id",
        ),
    ];
    for (case, headers, body, status, reason) in cases {
        let (got, _, text) = common::http_post(a, API, &headers, &body);
        assert_eq!(got, status, "{case}: {text}");
        assert!(text.contains(reason), "{case}: '{text}' lacks '{reason}'");
        assert!(
            !text.trim_end().contains('\n'),
            "{case}: reason is not one line: {text}"
        );
    }
    // A call before subscribing: an HTTP framework that is not (yet) known.
    let (got, _, _) = common::http_post(
        a,
        API,
        &[JSON, ("Mesos-Stream-Id", "x")],
        br#"{"framework_id":{"value":"other"},"type":"TEARDOWN"}"#,
    );
    assert_eq!(got, 400);
    // Not POST.
    assert_eq!(common::http_get(a, API).0, 405);
    // A body over the 16 MiB cap.
    let huge = vec![b' '; 17 * 1024 * 1024];
    let (got, _, _) = common::http_post(a, API, &[JSON], &huge);
    assert_eq!(got, 413);

    // After all that, the framework is still subscribed and its calls work.
    let (got, _, text) = common::http_post(a, API, &[JSON, sid], decline.as_bytes());
    assert_eq!(got, 202, "{text}");
    let (_, body) = common::http_get(a, "/master/frameworks");
    assert!(
        body.contains(&fid) && body.contains("\"active\":true"),
        "{body}"
    );
}

#[test]
fn bad_executor_calls_get_a_4xx_with_a_reason() {
    let dir = TempDir::new("executor-api");
    let cluster = Daemon::start(
        LOCAL,
        &[
            "--port=0",
            &format!("--work_dir={}", dir.path().display()),
            "--resources=cpus:1;mem:256",
        ],
    );
    let a = cluster.address.as_str();
    let api = "/api/v1/executor";
    let ids = r#""framework_id":{"value":"f"},"executor_id":{"value":"e""#;
    let update = format!(
        r#"{{{ids}}},"type":"UPDATE","update":{{"status":{{"task_id":{{"value":"t"}},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"AAAAAAAAAAAAAAAAAAAAAA==","executor_id":{{"value":"e"}}}}}}}}"#
    );
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            vec![JSON],
            b"{oops".to_vec(),
            400,
            "Failed to validate",
        ),
        (
            "a missing field",
            vec![JSON],
            br#"{"type":"SUBSCRIBE"}"#.to_vec(),
            400,
            "",
        ),
        (
            "an unknown call",
            vec![JSON],
            format!(r#"{{{ids}}},"type":"BOGUS"}}"#).into_bytes(),
            400,
            "",
        ),
        (
            "an unknown executor",
            vec![JSON],
            format!(r#"{{{ids}}},"type":"SUBSCRIBE","subscribe":{{}}}}"#).into_bytes(),
            400,
            "cannot be found",
        ),
        (
            "an update from an unknown executor",
            vec![JSON],
            update.into_bytes(),
            400,
            "cannot be found",
        ),
        (
            "text",
            vec![("Content-Type", "text/plain")],
            b"{}".to_vec(),
            415,
            "",
        ),
        (
            "no content type",
            vec![],
            b"{}".to_vec(),
            400,
            "Content-Type",
        ),
    ];
    for (case, headers, body, status, reason) in cases {
        let (got, _, text) = common::http_post(a, api, &headers, &body);
        assert_eq!(got, status, "{case}: {text}");
        assert!(text.contains(reason), "{case}: '{text}' lacks '{reason}'");
        assert!(
            !text.trim_end().contains('\n'),
            "{case}: reason is not one line: {text}"
        );
    }
    // Heartbeats are accepted without a lookup, as Mesos does.
    let heartbeat = format!(r#"{{{ids}}},"type":"HEARTBEAT"}}"#);
    assert_eq!(
        common::http_post(a, api, &[JSON], heartbeat.as_bytes()).0,
        202
    );
    assert_eq!(common::http_get(a, api).0, 405);
}
