//! Tests of the v1 APIs as their clients use them: the JSON shapes of the
//! Mesos documentation and of pymesos, the internal messages they become,
//! the JSON our events render to, and every kind of bad input.

use serde_json::{json, Value};

use super::executor::{self, ExecutorCall};
use super::scheduler::{self, CallType, SchedulerCall};
use super::*;
use crate::agent::{
    ExecutorToFramework, ExitedExecutor, FrameworkToExecutor, RunTask, StatusUpdateAcknowledgement,
};
use crate::executor::ExecutorRegistered;
use crate::ids::{AgentId, ContainerId, ExecutorId, FrameworkId, OfferId, TaskId};
use crate::mesos::{self, FrameworkInfo, Offer, TaskStatus};
use crate::resources::Resources;
use crate::task::{Reason, Source, TaskState};

const MID: &str = "5e2b7a1c-0000-4c3e-9d7f-1a2b3c4d5e6f";

fn sched(body: Value) -> Result<SchedulerCall, CallError> {
    parse_scheduler_call(body.to_string().as_bytes())
}

fn exec(body: Value) -> Result<ExecutorCall, CallError> {
    parse_executor_call(body.to_string().as_bytes())
}

fn json_of(bytes: Vec<u8>) -> Value {
    serde_json::from_slice(&bytes).unwrap()
}

fn res(text: &str) -> Resources {
    Resources::parse(text, "*").unwrap()
}

// ---------------------------------------------------------------------------
// Scheduler calls: the shapes of the Mesos docs and of pymesos

#[test]
fn subscribe_from_the_docs_becomes_a_forced_subscribe() {
    let call = sched(
        json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {
        "user": "root", "name": "f1", "roles": ["*"],
        "capabilities": [{"type": "MULTI_ROLE"}], "failover_timeout": 604800}}}),
    )
    .unwrap();
    let SchedulerCall::Subscribe {
        subscribe,
        suppressed_roles,
    } = call
    else {
        panic!("not a subscribe: {call:?}");
    };
    assert!(subscribe.force);
    assert!(suppressed_roles.is_empty());
    let f = subscribe.framework;
    assert_eq!((f.user.as_str(), f.name.as_str()), ("root", "f1"));
    assert_eq!(f.roles, vec!["*"]);
    assert_eq!(f.capabilities, vec!["MULTI_ROLE"]);
    assert_eq!(f.failover_timeout, 604800.0);
    assert_eq!(f.id, None);
    assert!(!f.checkpoint);
}

#[test]
fn pymesos_subscribe_bodies_parse() {
    // The body of the brief, and what pymesos 0.3.15 really sends for its
    // example framework against a 1.x master: no roles, a 100 s failover
    // timeout it adds itself, GPU_RESOURCES it adds for masters >= 1.0.
    for body in [
        json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "root",
            "name": "x", "hostname": "h", "failover_timeout": 100,
            "capabilities": [{"type": "MULTI_ROLE"}], "roles": ["*"]}}}),
        json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "root",
            "name": "x", "hostname": "h", "failover_timeout": 100,
            "capabilities": [{"type": "GPU_RESOURCES"}]}}}),
    ] {
        let Ok(SchedulerCall::Subscribe { subscribe, .. }) = sched(body.clone()) else {
            panic!("{body}");
        };
        let f = subscribe.framework;
        assert_eq!(f.roles, vec!["*"], "{body}");
        assert_eq!(f.hostname.as_deref(), Some("h"));
        assert_eq!(f.failover_timeout, 100.0);
    }
    // Re-subscription: the id in both places, as pymesos sends it.
    let id = json!({"value": format!("{MID}-0000")});
    let Ok(SchedulerCall::Subscribe { subscribe, .. }) = sched(json!({"type": "SUBSCRIBE",
        "framework_id": id, "subscribe": {"framework_info": {"user": "root", "name": "x",
        "id": id, "failover_timeout": 100}}}))
    else {
        panic!("re-subscribe refused");
    };
    assert_eq!(
        subscribe.framework.id,
        Some(FrameworkId::new(format!("{MID}-0000")))
    );
}

fn accept_body(task_extra: Value) -> Value {
    let mut task = json!({"name": "t1", "task_id": {"value": "t1"},
        "agent_id": {"value": format!("{MID}-S0")},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1},
             "allocation_info": {"role": "*"}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 128},
             "allocation_info": {"role": "*"}}]});
    if let (Some(task), Some(extra)) = (task.as_object_mut(), task_extra.as_object()) {
        task.extend(extra.clone());
    }
    json!({"framework_id": {"value": format!("{MID}-0000")}, "type": "ACCEPT", "accept": {
        "offer_ids": [{"value": format!("{MID}-O7")}],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
        "filters": {"refuse_seconds": 5.0}}})
}

#[test]
fn accept_with_launch_from_the_docs_becomes_an_accept() {
    let body = accept_body(
        json!({"command": {"value": "echo hi && sleep 5", "shell": true,
        "uris": [{"value": "http://h/x.tgz", "extract": true}],
        "environment": {"variables": [{"name": "K", "value": "V"}]}}}),
    );
    let Ok(SchedulerCall::Accept {
        accept,
        unsupported,
    }) = sched(body)
    else {
        panic!("accept refused");
    };
    assert!(unsupported.is_empty());
    assert_eq!(accept.framework_id, FrameworkId::new(format!("{MID}-0000")));
    assert_eq!(accept.offer_ids, vec![OfferId::new(format!("{MID}-O7"))]);
    assert_eq!(accept.filters.refuse_seconds, 5.0);
    let [mesos::Operation::Launch { task_infos }] = accept.operations.as_slice() else {
        panic!("one launch expected: {:?}", accept.operations);
    };
    let [task] = task_infos.as_slice() else {
        panic!("one task expected");
    };
    assert_eq!(task.name, "t1");
    assert_eq!(task.task_id, TaskId::new("t1"));
    assert_eq!(task.agent_id, AgentId::new(format!("{MID}-S0")));
    assert_eq!(task.resources, res("cpus:1;mem:128"));
    assert!(task.executor.is_none());
    let command = task.command.as_ref().unwrap();
    assert_eq!(command.value.as_deref(), Some("echo hi && sleep 5"));
    assert!(command.shell);
    assert_eq!(command.environment, vec![("K".into(), "V".into())]);
    assert_eq!(command.uris.len(), 1);
    assert_eq!(command.uris[0].value, "http://h/x.tgz");
    assert!(command.uris[0].extract && !command.uris[0].executable);
}

#[test]
fn labels_and_discovery_info_come_through_and_go_back() {
    let discovery = json!({"visibility": "EXTERNAL", "name": "web",
        "ports": {"ports": [{"number": 80, "name": "http", "protocol": "tcp"}]}});
    let body = accept_body(json!({"command": {"value": "true"},
        "labels": {"labels": [{"key": "tier", "value": "front"}, {"key": "canary"}]},
        "discovery": discovery}));
    let Ok(SchedulerCall::Accept { accept, .. }) = sched(body) else {
        panic!("accept refused");
    };
    let [mesos::Operation::Launch { task_infos }] = accept.operations.as_slice() else {
        panic!("one launch expected");
    };
    let meta = &task_infos[0].meta;
    assert_eq!(
        meta.labels,
        [
            mesos::Label {
                key: "tier".into(),
                value: Some("front".into())
            },
            mesos::Label {
                key: "canary".into(),
                value: None
            }
        ]
    );
    let kept: serde_json::Value = serde_json::from_str(meta.discovery.as_deref().unwrap()).unwrap();
    assert_eq!(kept, discovery);
    let back = crate::v1::types::TaskInfo::from_internal(
        &task_infos[0],
        &crate::v1::types::ResourceFormat::LEGACY,
    );
    assert_eq!(back.discovery, Some(discovery));
    assert_eq!(back.labels.map(|l| l.labels.len()), Some(2));
    // A discovery that is not an object, or a label without a key, is refused.
    for bad in [
        json!({"command": {"value": "true"}, "discovery": "web"}),
        json!({"command": {"value": "true"}, "labels": {"labels": [{"value": "v"}]}}),
    ] {
        assert!(sched(accept_body(bad)).is_err());
    }
}

#[test]
fn health_checks_take_mesos_defaults_and_their_type_from_what_is_set() {
    let launch = |check: serde_json::Value| {
        let body = accept_body(json!({"command": {"value": "true"}, "health_check": check}));
        match sched(body) {
            Ok(SchedulerCall::Accept { accept, .. }) => match &accept.operations[..] {
                [mesos::Operation::Launch { task_infos }] => {
                    Ok(task_infos[0].meta.health_check.clone())
                }
                other => panic!("{other:?}"),
            },
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        }
    };
    let tcp = launch(json!({"tcp": {"port": 8080}})).unwrap().unwrap();
    assert_eq!(tcp.check, mesos::Check::Tcp { port: 8080 });
    assert_eq!(
        (tcp.delay_seconds, tcp.interval_seconds, tcp.timeout_seconds),
        (15.0, 10.0, 20.0)
    );
    assert_eq!(
        (tcp.consecutive_failures, tcp.grace_period_seconds),
        (3, 10.0)
    );
    let http = launch(json!({"type": "HTTP", "http": {"port": 80}, "interval_seconds": 1}))
        .unwrap()
        .unwrap();
    assert_eq!(
        http.check,
        mesos::Check::Http {
            scheme: "http".into(),
            port: 80,
            path: "/".into(),
            statuses: vec![]
        }
    );
    assert_eq!(http.interval_seconds, 1.0);
    let command = launch(json!({"command": {"value": "true"}}))
        .unwrap()
        .unwrap();
    assert!(matches!(command.check, mesos::Check::Command(_)));
    for bad in [
        json!({}),
        json!({"type": "GRPC"}),
        json!({"type": "HTTP"}),
        json!({"tcp": {"port": 1}, "delay_seconds": -1}),
    ] {
        assert!(launch(bad.clone()).is_err(), "{bad}");
    }
}

#[test]
fn accept_with_a_custom_executor_keeps_the_executor() {
    let body = accept_body(json!({"executor": {"executor_id": {"value": "e1"},
        "command": {"value": "./my-exec"},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}]},
        "data": "aGVsbG8="}));
    let Ok(SchedulerCall::Accept { accept, .. }) = sched(body) else {
        panic!("accept refused");
    };
    let task = &accept.operations[0].tasks()[0];
    assert!(task.command.is_none());
    assert_eq!(task.data.as_deref(), Some(&b"hello"[..]));
    let executor = task.executor.as_ref().unwrap();
    assert_eq!(executor.executor_id, ExecutorId::new("e1"));
    assert_eq!(executor.command.value.as_deref(), Some("./my-exec"));
    assert!(executor.command.shell, "shell defaults to true");
    assert_eq!(executor.resources, res("cpus:0.1"));
}

#[test]
fn accept_keeps_launch_groups_in_order_and_names_unsupported_operations() {
    let body = json!({"framework_id": {"value": "f"}, "type": "ACCEPT", "accept": {
        "offer_ids": [{"value": "o1"}],
        "operations": [
            {"type": "RESERVE", "reserve": {"resources": [{"name": "cpus", "type": "SCALAR",
                "scalar": {"value": 1}, "reservations": [{"type": "DYNAMIC", "role": "web"}]}]}},
            {"type": "LAUNCH_GROUP", "launch_group": {
                "executor": {"type": "DEFAULT", "executor_id": {"value": "d"}},
                "task_group": {"tasks": [{"name": "a", "task_id": {"value": "a"},
                    "agent_id": {"value": "s"}}]}}},
            {"type": "SOMETHING_NEW"},
            {"type": "LAUNCH", "launch": {}}]}});
    let Ok(SchedulerCall::Accept {
        accept,
        unsupported,
    }) = sched(body)
    else {
        panic!("accept refused");
    };
    let [mesos::Operation::Resources {
        id: None,
        kind: mesos::ResourceOpKind::Reserve,
        resources,
    }, mesos::Operation::LaunchGroup {
        executor,
        task_group,
    }, mesos::Operation::Launch { task_infos }] = accept.operations.as_slice()
    else {
        panic!("a group then a launch expected: {:?}", accept.operations);
    };
    assert!(task_infos.is_empty());
    assert_eq!(executor.executor_id, ExecutorId::new("d"));
    assert!(executor.is_default());
    assert_eq!(task_group[0].task_id, TaskId::new("a"));
    assert_eq!(resources.reserved_by_role()["web"].scalar("cpus"), 1.0);
    assert_eq!(unsupported, vec!["SOMETHING_NEW"]);
    assert_eq!(accept.filters, mesos::Filters::default(), "filters default");
}

#[test]
fn acknowledge_from_the_docs_carries_the_raw_uuid() {
    let uuid: Vec<u8> = (1..=16).collect();
    let call = sched(json!({"framework_id": {"value": format!("{MID}-0000")},
        "type": "ACKNOWLEDGE", "acknowledge": {"agent_id": {"value": format!("{MID}-S0")},
        "task_id": {"value": "t1"}, "uuid": base64::encode(&uuid)}}))
    .unwrap();
    assert_eq!(
        call,
        SchedulerCall::Acknowledge(crate::scheduler::Acknowledge {
            framework_id: FrameworkId::new(format!("{MID}-0000")),
            agent_id: AgentId::new(format!("{MID}-S0")),
            task_id: TaskId::new("t1"),
            uuid,
        })
    );
}

#[test]
fn every_call_type_parses_as_pymesos_sends_it() {
    let fid = json!({"value": "f"});
    let uuid = base64::encode(&[7; 16]);
    let bodies = [
        json!({"type": "TEARDOWN", "framework_id": fid}),
        json!({"type": "DECLINE", "framework_id": fid,
            "decline": {"offer_ids": [{"value": "o"}], "filters": {"refuse_seconds": 5}}}),
        json!({"type": "REVIVE", "framework_id": fid}),
        json!({"type": "REVIVE", "framework_id": fid, "revive": {"roles": ["a"]}}),
        json!({"type": "SUPPRESS", "framework_id": fid}),
        json!({"type": "KILL", "framework_id": fid, "kill": {"task_id": {"value": "t"}}}),
        json!({"type": "SHUTDOWN", "framework_id": fid, "shutdown": {
            "executor_id": {"value": "e"}, "agent_id": {"value": "s"}}}),
        json!({"type": "RECONCILE", "framework_id": fid,
            "reconcile": {"tasks": [{"task_id": {"value": "t"}}]}}),
        json!({"type": "MESSAGE", "framework_id": fid, "message": {
            "agent_id": {"value": "s"}, "executor_id": {"value": "e"}, "data": "aGk="}}),
        json!({"type": "REQUEST", "framework_id": fid, "request": {"requests": [
            {"agent_id": {"value": "s"},
             "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]}]}}),
        json!({"type": "ACCEPT_INVERSE_OFFERS", "framework_id": fid,
            "accept_inverse_offers": {"inverse_offer_ids": [{"value": "i"}]}}),
        json!({"type": "DECLINE_INVERSE_OFFERS", "framework_id": fid,
            "decline_inverse_offers": {"inverse_offer_ids": [{"value": "i"}]}}),
        // pymesos sends the whole operation status as the payload.
        json!({"type": "ACKNOWLEDGE_OPERATION_STATUS", "framework_id": fid,
            "acknowledge_operation_status": {"agent_id": {"value": "s"}, "uuid": uuid,
            "operation_id": {"value": "op"}, "state": "OPERATION_FINISHED"}}),
        json!({"type": "RECONCILE_OPERATIONS", "framework_id": fid,
            "reconcile_operations": {"operations": [{"operation_id": {"value": "op"}}]}}),
        json!({"type": "UPDATE_FRAMEWORK", "framework_id": fid, "update_framework": {
            "framework_info": {"user": "u", "name": "n", "id": fid}}}),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for body in bodies {
        let call = sched(body.clone()).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(call.framework_id(), Some(&FrameworkId::new("f")), "{body}");
        assert_eq!(Some(call.call_type().name()), body["type"].as_str());
        seen.insert(call.call_type().name());
    }
    // With SUBSCRIBE, ACCEPT and ACKNOWLEDGE above: every type is covered.
    assert_eq!(seen.len() + 3, CallType::ALL.len());
}

#[test]
fn call_payloads_convert_to_internal_messages() {
    let fid = json!({"value": "f"});
    let message = sched(json!({"type": "MESSAGE", "framework_id": fid, "message": {
        "agent_id": {"value": "s"}, "executor_id": {"value": "e"}, "data": "aGk="}}))
    .unwrap();
    assert_eq!(
        message,
        SchedulerCall::Message(crate::scheduler::SendFrameworkMessage {
            framework_id: FrameworkId::new("f"),
            agent_id: AgentId::new("s"),
            executor_id: ExecutorId::new("e"),
            data: b"hi".to_vec(),
        })
    );
    let kill = sched(json!({"type": "KILL", "framework_id": fid, "kill": {
        "task_id": {"value": "t"}, "agent_id": {"value": "s"},
        "kill_policy": {"grace_period": {"nanoseconds": "1500000000"}}}}))
    .unwrap();
    let SchedulerCall::Kill { kill, grace_period } = kill else {
        panic!("not a kill");
    };
    assert_eq!(kill.agent_id, Some(AgentId::new("s")));
    assert_eq!(grace_period, Some(1.5));
    let reconcile = sched(json!({"type": "RECONCILE", "framework_id": fid,
        "reconcile": {"tasks": [{"task_id": {"value": "t"}, "agent_id": {"value": "s"}},
                                {"task_id": {"value": "u"}}]}}))
    .unwrap();
    assert_eq!(
        reconcile,
        SchedulerCall::Reconcile(crate::scheduler::Reconcile {
            framework_id: FrameworkId::new("f"),
            tasks: vec![
                (TaskId::new("t"), Some(AgentId::new("s"))),
                (TaskId::new("u"), None)
            ],
        })
    );
    let revive = sched(json!({"type": "REVIVE", "framework_id": fid})).unwrap();
    assert_eq!(
        revive,
        SchedulerCall::Revive(crate::scheduler::Revive {
            framework_id: FrameworkId::new("f"),
            roles: Vec::new()
        })
    );
}

#[test]
fn unknown_fields_are_ignored() {
    let call = sched(
        json!({"type": "TEARDOWN", "framework_id": {"value": "f", "x": 1},
        "future_field": {"a": [1, 2]}, "kill": {"anything": true}}),
    )
    .unwrap();
    assert_eq!(call.call_type(), CallType::Teardown);
}

// ---------------------------------------------------------------------------
// Scheduler calls: bad input

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Json,
    Invalid,
    Validation,
    UnknownType,
    Unimplemented,
}

fn kind_of(e: &CallError) -> Kind {
    match e {
        CallError::Json(_) => Kind::Json,
        CallError::Invalid(_) => Kind::Invalid,
        CallError::Validation(_) => Kind::Validation,
        CallError::UnknownType(_) => Kind::UnknownType,
        CallError::Unimplemented => Kind::Unimplemented,
    }
}

fn assert_one_line(e: &CallError, input: &str) {
    let text = e.to_string();
    assert!(!text.is_empty(), "{input}");
    assert!(
        !text.contains(['\n', '\r']),
        "{input}: error spans lines: {text:?}"
    );
}

#[test]
fn bad_scheduler_calls_are_refused_with_a_one_line_reason() {
    let user_name = r#""user":"u","name":"n""#;
    let cases: Vec<(String, Kind, &str)> = vec![
        ("".into(), Kind::Json, "EOF"),
        ("{\"type\":".into(), Kind::Json, "EOF"),
        ("{\"type\": \"TEARDOWN\",}".into(), Kind::Json, "trailing comma"),
        ("not json\nat all".into(), Kind::Json, "expected"),
        ("[]".into(), Kind::Invalid, "expected a JSON object"),
        ("[{\"value\":\"f\"},\"TEARDOWN\"]".into(), Kind::Invalid, "expected a JSON object"),
        ("5".into(), Kind::Invalid, "expected a JSON object"),
        ("{\"type\": 1}".into(), Kind::Invalid, "invalid type"),
        ("{\"type\":\"TEARDOWN\",\"framework_id\":\"f\"}".into(), Kind::Invalid, "invalid type"),
        (
            format!(r#"{{"type":"SUBSCRIBE","subscribe":{{"framework_info":{{{user_name},"failover_timeout":"soon"}}}}}}"#),
            Kind::Invalid,
            "expected a number",
        ),
        (
            format!(r#"{{"type":"SUBSCRIBE","subscribe":{{"framework_info":{{{user_name},"checkpoint":"yes"}}}}}}"#),
            Kind::Invalid,
            "invalid type",
        ),
        ("{}".into(), Kind::Validation, "Expecting 'type' to be present"),
        (r#"{"type":"ACCEPT","accept":{}}"#.into(), Kind::Validation, "Expecting 'framework_id' to be present"),
        (r#"{"type":"SUBSCRIBE"}"#.into(), Kind::Validation, "Expecting 'subscribe' to be present"),
        (
            r#"{"type":"SUBSCRIBE","subscribe":{}}"#.into(),
            Kind::Invalid,
            "missing required field 'subscribe.framework_info'",
        ),
        (
            r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"n"}}}"#.into(),
            Kind::Invalid,
            "missing required field 'subscribe.framework_info.user'",
        ),
        (
            r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u"}}}"#.into(),
            Kind::Invalid,
            "missing required field 'subscribe.framework_info.name'",
        ),
        (
            format!(r#"{{"type":"SUBSCRIBE","framework_id":{{"value":"a"}},"subscribe":{{"framework_info":{{{user_name}}}}}}}"#),
            Kind::Validation,
            "'framework_id' differs from 'subscribe.framework_info.id'",
        ),
        (
            format!(r#"{{"type":"SUBSCRIBE","subscribe":{{"framework_info":{{{user_name},"roles":["a"]}}}}}}"#),
            Kind::Invalid,
            "must not be set when the framework is not MULTI_ROLE capable",
        ),
        (r#"{"type":"FOO","framework_id":{"value":"f"}}"#.into(), Kind::UnknownType, "unknown type 'FOO'"),
        (r#"{"type":"FO\nO"}"#.into(), Kind::UnknownType, "unknown type 'FO O'"),
        (r#"{"type":"UNKNOWN","framework_id":{"value":"f"}}"#.into(), Kind::Unimplemented, "UNKNOWN"),
        (r#"{"type":"UNKNOWN"}"#.into(), Kind::Validation, "framework_id"),
        (r#"{"type":"ACCEPT","framework_id":{"value":"f"}}"#.into(), Kind::Validation, "Expecting 'accept' to be present"),
        (r#"{"type":"DECLINE","framework_id":{"value":"f"}}"#.into(), Kind::Validation, "Expecting 'decline' to be present"),
        (r#"{"type":"KILL","framework_id":{"value":"f"}}"#.into(), Kind::Validation, "Expecting 'kill' to be present"),
        (r#"{"type":"KILL","framework_id":{"value":"f"},"kill":{}}"#.into(), Kind::Invalid, "missing required field 'kill.task_id'"),
        (
            r#"{"type":"KILL","framework_id":{"value":"f"},"kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":-1}}}}"#.into(),
            Kind::Invalid,
            "invalid field 'kill.kill_policy.grace_period': must not be negative",
        ),
        (r#"{"type":"SHUTDOWN","framework_id":{"value":"f"},"shutdown":{"executor_id":{"value":"e"}}}"#.into(), Kind::Invalid, "'shutdown.agent_id'"),
        (
            r#"{"type":"ACKNOWLEDGE","framework_id":{"value":"f"},"acknowledge":{"agent_id":{"value":"s"},"task_id":{"value":"t"},"uuid":"!!"}}"#.into(),
            Kind::Invalid,
            "invalid base64",
        ),
        (
            r#"{"type":"ACKNOWLEDGE","framework_id":{"value":"f"},"acknowledge":{"agent_id":{"value":"s"},"task_id":{"value":"t"},"uuid":"aGk="}}"#.into(),
            Kind::Invalid,
            "invalid field 'acknowledge.uuid': a UUID is 16 bytes, not 2",
        ),
        (
            r#"{"type":"ACKNOWLEDGE","framework_id":{"value":"f"},"acknowledge":{"agent_id":{"value":"s"},"task_id":{"value":"t"}}}"#.into(),
            Kind::Invalid,
            "missing required field 'acknowledge.uuid'",
        ),
        (r#"{"type":"MESSAGE","framework_id":{"value":"f"},"message":{"agent_id":{"value":"s"},"executor_id":{"value":"e"}}}"#.into(), Kind::Invalid, "'message.data'"),
        (r#"{"type":"RECONCILE","framework_id":{"value":"f"},"reconcile":{"tasks":[{}]}}"#.into(), Kind::Invalid, "'reconcile.tasks[0].task_id'"),
        (
            r#"{"type":"ACKNOWLEDGE_OPERATION_STATUS","framework_id":{"value":"f"},"acknowledge_operation_status":{"uuid":"AAAAAAAAAAAAAAAAAAAAAA==","operation_id":{"value":"o"}}}"#.into(),
            Kind::Validation,
            "Expecting 'agent_id' to be present",
        ),
        (
            r#"{"type":"UPDATE_FRAMEWORK","framework_id":{"value":"f"},"update_framework":{"framework_info":{"user":"u","name":"n"}}}"#.into(),
            Kind::Validation,
            "'framework_id' differs from 'update_framework.framework_info.id'",
        ),
    ];
    for (input, kind, needle) in &cases {
        let err = parse_scheduler_call(input.as_bytes()).expect_err(&format!("accepted: {input}"));
        assert_eq!(kind_of(&err), *kind, "{input}: {err}");
        assert!(err.to_string().contains(needle), "{input}: {err}");
        assert_one_line(&err, input);
        let status = if *kind == Kind::Unimplemented {
            501
        } else {
            400
        };
        assert_eq!(err.status(), status, "{input}");
    }
    // Bytes that are not UTF-8 are not JSON either.
    let err = parse_scheduler_call(b"{\"type\":\"\xff\"}").unwrap_err();
    assert_eq!(kind_of(&err), Kind::Json);
}

#[test]
fn bad_tasks_in_an_accept_name_their_path() {
    let cases = [
        (
            accept_body(json!({"task_id": null})),
            "missing required field 'accept.operations[0].launch.task_infos[0].task_id'",
        ),
        (
            accept_body(json!({"resources": [{"name": "cpus", "type": "SCALAR",
                "scalar": {"value": -1}}]})),
            "invalid field 'accept.operations[0].launch.task_infos[0].resources[0].scalar': must be a non-negative number",
        ),
        (
            accept_body(json!({"command": {"environment": {"variables": [{"name": "A"}]}}})),
            "missing required field 'accept.operations[0].launch.task_infos[0].command.environment.variables[0].value'",
        ),
        (
            json!({"type": "ACCEPT", "framework_id": {"value": "f"},
                "accept": {"operations": [{"type": "LAUNCH"}]}}),
            "missing required field 'accept.operations[0].launch'",
        ),
        (
            json!({"type": "ACCEPT", "framework_id": {"value": "f"},
                "accept": {"operations": [{"type": "LAUNCH_GROUP", "launch_group": {
                    "executor": {"executor_id": {"value": "e"}},
                    "task_group": {"tasks": [{"name": "x"}]}}}]}}),
            "missing required field 'accept.operations[0].launch_group.task_group.tasks[0].task_id'",
        ),
    ];
    for (body, expected) in cases {
        let err = sched(body.clone()).unwrap_err();
        assert_eq!(err, CallError::Invalid(expected.to_owned()), "{body}");
    }
}

// ---------------------------------------------------------------------------
// Scheduler events: internal messages rendered as Mesos writes them

fn master_info() -> mesos::MasterInfo {
    mesos::MasterInfo {
        id: MID.into(),
        ip: "10.0.0.5".into(),
        port: 5050,
        pid: "master@10.0.0.5:5050".into(),
        hostname: "m1".into(),
        version: "1.11.0".into(),
    }
}

#[test]
fn subscribed_renders_as_the_docs_show() {
    let event = scheduler::Event::subscribed(
        &FrameworkId::new(format!("{MID}-0000")),
        15.0,
        &master_info(),
    );
    assert_eq!(
        json_of(event.to_json()),
        json!({"type": "SUBSCRIBED", "subscribed": {
            "framework_id": {"value": format!("{MID}-0000")},
            "heartbeat_interval_seconds": 15.0,
            "master_info": {"id": MID, "ip": 83886090u32, "port": 5050,
                "pid": "master@10.0.0.5:5050", "hostname": "m1", "version": "1.11.0",
                "address": {"hostname": "m1", "ip": "10.0.0.5", "port": 5050}}}})
    );
}

fn offer() -> Offer {
    Offer {
        id: OfferId::new(format!("{MID}-O7")),
        framework_id: FrameworkId::new(format!("{MID}-0000")),
        agent_id: AgentId::new(format!("{MID}-S0")),
        hostname: "a1".into(),
        agent_pid: "slave(1)@10.0.0.7:5051".into(),
        resources: res("cpus:4;mem:7000;ports:[31000-32000]"),
        attributes: mesos::parse_attributes("rack:r1").unwrap(),
        executor_ids: Vec::new(),
        role: "*".into(),
        unavailability: None,
    }
}

fn offer_json(resources: Value, allocation_info: Option<Value>) -> Value {
    let mut offer = json!({"id": {"value": format!("{MID}-O7")},
        "framework_id": {"value": format!("{MID}-0000")},
        "agent_id": {"value": format!("{MID}-S0")}, "hostname": "a1",
        "url": {"scheme": "http", "address": {"hostname": "a1", "ip": "10.0.0.7", "port": 5051},
                "path": "/slave(1)"},
        "resources": resources,
        "attributes": [{"name": "rack", "type": "TEXT", "text": {"value": "r1"}}]});
    if let (Some(o), Some(a)) = (offer.as_object_mut(), allocation_info) {
        o.insert("allocation_info".into(), a);
    }
    json!({"type": "OFFERS", "offers": {"offers": [offer]}})
}

#[test]
fn offers_render_for_a_multi_role_framework_as_the_docs_show() {
    // The docs' example is what a MULTI_ROLE framework that also declares
    // RESERVATION_REFINEMENT receives (no `role` on unreserved resources).
    // Mesos leaves the empty `executor_ids` out, as every empty list.
    let mut framework = FrameworkInfo::new("root", "f1");
    framework.capabilities = vec!["MULTI_ROLE".into(), "RESERVATION_REFINEMENT".into()];
    let event = scheduler::Event::offers(&[offer()], &framework);
    let star = json!({"role": "*"});
    assert_eq!(
        json_of(event.to_json()),
        offer_json(
            json!([
                {"name": "cpus", "type": "SCALAR", "scalar": {"value": 4.0}, "allocation_info": star},
                {"name": "mem", "type": "SCALAR", "scalar": {"value": 7000.0}, "allocation_info": star},
                {"name": "ports", "type": "RANGES",
                 "ranges": {"range": [{"begin": 31000, "end": 32000}]}, "allocation_info": star}
            ]),
            Some(star.clone())
        )
    );
}

#[test]
fn offers_render_for_a_legacy_framework_with_roles_and_no_allocation() {
    let framework = FrameworkInfo::new("root", "f1");
    let mut with_executor = offer();
    with_executor.executor_ids = vec![ExecutorId::new("e1")];
    let event = scheduler::Event::offers(&[with_executor], &framework);
    let mut expected = offer_json(
        json!([
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 4.0}, "role": "*"},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 7000.0}, "role": "*"},
            {"name": "ports", "type": "RANGES",
             "ranges": {"range": [{"begin": 31000, "end": 32000}]}, "role": "*"}
        ]),
        None,
    );
    expected["offers"]["offers"][0]["executor_ids"] = json!([{"value": "e1"}]);
    assert_eq!(json_of(event.to_json()), expected);
}

#[test]
fn updates_render_with_base64_uuid_or_none_from_the_master() {
    let mut status = TaskStatus::new(TaskId::new("t1"), TaskState::Running);
    status.source = Some(Source::Executor);
    status.agent_id = Some(AgentId::new(format!("{MID}-S0")));
    status.executor_id = Some(ExecutorId::new("t1"));
    status.timestamp = 1.7e9;
    status.uuid = Some((0..16).collect());
    status.healthy = Some(true);
    assert_eq!(
        json_of(scheduler::Event::update(&status).to_json()),
        json!({"type": "UPDATE", "update": {"status": {"task_id": {"value": "t1"},
            "state": "TASK_RUNNING", "source": "SOURCE_EXECUTOR",
            "agent_id": {"value": format!("{MID}-S0")}, "executor_id": {"value": "t1"},
            "timestamp": 1.7e9, "uuid": "AAECAwQFBgcICQoLDA0ODw==", "healthy": true}}})
    );
    // A master-generated update: reason set, no uuid (not to be acknowledged).
    let mut lost = TaskStatus::new(TaskId::new("t2"), TaskState::Lost);
    lost.source = Some(Source::Master);
    lost.reason = Some(Reason::Reconciliation);
    lost.message = Some("Reconciliation: task unknown".into());
    lost.timestamp = 5.0;
    let value = json_of(scheduler::Event::update(&lost).to_json());
    assert_eq!(
        value["update"]["status"],
        json!({"task_id": {"value": "t2"}, "state": "TASK_LOST",
               "message": "Reconciliation: task unknown", "source": "SOURCE_MASTER",
               "reason": "REASON_RECONCILIATION", "timestamp": 5.0})
    );
}

#[test]
fn the_small_scheduler_events_render_as_the_proto_nests_them() {
    let cases = [
        (
            scheduler::Event::rescind(&OfferId::new("o7")),
            json!({"type": "RESCIND", "rescind": {"offer_id": {"value": "o7"}}}),
        ),
        (
            scheduler::Event::error("Framework failed over"),
            json!({"type": "ERROR", "error": {"message": "Framework failed over"}}),
        ),
        (scheduler::Event::heartbeat(), json!({"type": "HEARTBEAT"})),
        (
            scheduler::Event::message(&ExecutorToFramework {
                agent_id: AgentId::new("s"),
                framework_id: FrameworkId::new("f"),
                executor_id: ExecutorId::new("e"),
                data: b"hi".to_vec(),
            }),
            json!({"type": "MESSAGE", "message": {"agent_id": {"value": "s"},
                "executor_id": {"value": "e"}, "data": "aGk="}}),
        ),
        (
            scheduler::Event::executor_failure(&ExitedExecutor {
                agent_id: AgentId::new("s"),
                framework_id: FrameworkId::new("f"),
                executor_id: ExecutorId::new("e"),
                status: 256,
            }),
            json!({"type": "FAILURE", "failure": {"agent_id": {"value": "s"},
                "executor_id": {"value": "e"}, "status": 256}}),
        ),
        (
            scheduler::Event::agent_failure(&AgentId::new("s")),
            json!({"type": "FAILURE", "failure": {"agent_id": {"value": "s"}}}),
        ),
    ];
    for (event, expected) in cases {
        let bytes = event.to_json();
        assert_eq!(json_of(bytes.clone()), expected);
        // A Rust client reads back what it was sent.
        let back: scheduler::Event = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn events_are_framed_as_recordio_records() {
    let record = scheduler::Event::heartbeat().to_record();
    assert_eq!(record, b"20\n{\"type\":\"HEARTBEAT\"}");
    let mut reader = RecordReader::new(1 << 20);
    reader.push(&record);
    reader.push(&scheduler::Event::offers(&[offer()], &FrameworkInfo::new("u", "n")).to_record());
    let first = reader.next_record().unwrap().unwrap();
    assert_eq!(json_of(first), json!({"type": "HEARTBEAT"}));
    let second: scheduler::Event =
        serde_json::from_slice(&reader.next_record().unwrap().unwrap()).unwrap();
    assert_eq!(second.offers.unwrap().offers.len(), 1);
    assert_eq!(reader.next_record().unwrap(), None);
}

// ---------------------------------------------------------------------------
// Executor calls

fn exec_ids() -> (Value, Value) {
    (json!({"value": "f"}), json!({"value": "e"}))
}

#[test]
fn pymesos_executor_subscribe_parses() {
    let (fid, eid) = exec_ids();
    let call = exec(
        json!({"type": "SUBSCRIBE", "framework_id": fid, "executor_id": eid,
        "subscribe": {"unacknowledged_tasks": [], "unacknowledged_updates": []}}),
    )
    .unwrap();
    assert_eq!(
        call,
        ExecutorCall::Subscribe {
            register: crate::executor::RegisterExecutor {
                framework_id: FrameworkId::new("f"),
                executor_id: ExecutorId::new("e"),
            },
            unacknowledged_tasks: Vec::new(),
            unacknowledged_updates: Vec::new(),
        }
    );
    assert_eq!(call.ids(), (&FrameworkId::new("f"), &ExecutorId::new("e")));
    // Re-subscription with what was not acknowledged.
    let uuid = base64::encode(&[1; 16]);
    let call = exec(
        json!({"type": "SUBSCRIBE", "framework_id": fid, "executor_id": eid,
        "subscribe": {
            "unacknowledged_tasks": [{"name": "t", "task_id": {"value": "t"},
                "agent_id": {"value": "s"}, "command": {"value": "true"}}],
            "unacknowledged_updates": [{"status": {"task_id": {"value": "t"},
                "state": "TASK_RUNNING", "uuid": uuid, "source": "SOURCE_EXECUTOR"}}]}}),
    )
    .unwrap();
    let ExecutorCall::Subscribe {
        unacknowledged_tasks,
        unacknowledged_updates,
        ..
    } = call
    else {
        panic!("not a subscribe");
    };
    assert_eq!(unacknowledged_tasks[0].task_id, TaskId::new("t"));
    assert_eq!(unacknowledged_updates[0].uuid, Some(vec![1; 16]));
}

#[test]
fn pymesos_status_update_becomes_an_internal_update() {
    let (fid, eid) = exec_ids();
    // pymesos stamps an integer time and adds uuid and source itself.
    let call = exec(
        json!({"type": "UPDATE", "framework_id": fid, "executor_id": eid,
        "update": {"status": {"task_id": {"value": "t"}, "state": "TASK_FINISHED",
            "message": "done", "data": "aGk=", "timestamp": 1700000000,
            "uuid": base64::encode(&[9; 16]), "source": "SOURCE_EXECUTOR",
            "labels": {"labels": []}}}}),
    )
    .unwrap();
    let ExecutorCall::Update {
        executor_id,
        update,
    } = call
    else {
        panic!("not an update");
    };
    assert_eq!(executor_id, ExecutorId::new("e"));
    assert_eq!(update.framework_id, FrameworkId::new("f"));
    assert_eq!(update.executor_id, Some(ExecutorId::new("e")));
    assert_eq!(update.uuid, Some(vec![9; 16]));
    assert_eq!(update.timestamp, 1.7e9);
    assert_eq!(update.status.state, TaskState::Finished);
    assert_eq!(update.status.message.as_deref(), Some("done"));
    assert_eq!(update.status.data.as_deref(), Some(&b"hi"[..]));
    assert_eq!(update.latest_state, None);
}

#[test]
fn executor_message_and_heartbeat_parse() {
    let (fid, eid) = exec_ids();
    let call = exec(
        json!({"type": "MESSAGE", "framework_id": fid, "executor_id": eid,
        "message": {"data": "aGk="}}),
    )
    .unwrap();
    assert_eq!(
        call.to_framework(&AgentId::new("s")),
        Some(ExecutorToFramework {
            agent_id: AgentId::new("s"),
            framework_id: FrameworkId::new("f"),
            executor_id: ExecutorId::new("e"),
            data: b"hi".to_vec(),
        })
    );
    let call = exec(json!({"type": "HEARTBEAT", "framework_id": fid, "executor_id": eid})).unwrap();
    assert!(matches!(call, ExecutorCall::Heartbeat { .. }));
    assert_eq!(call.to_framework(&AgentId::new("s")), None);
}

#[test]
fn bad_executor_calls_are_refused_with_a_one_line_reason() {
    let ids = r#""framework_id":{"value":"f"},"executor_id":{"value":"e"}"#;
    let uuid = base64::encode(&[3; 16]);
    let update = |status: &str| {
        format!(
            r#"{{"type":"UPDATE",{ids},"update":{{"status":{{"task_id":{{"value":"t"}},{status}}}}}}}"#
        )
    };
    let cases: Vec<(String, Kind, String)> = vec![
        ("{".into(), Kind::Json, "EOF".into()),
        (
            "{}".into(),
            Kind::Validation,
            "Expecting 'type' to be present".into(),
        ),
        (
            r#"{"type":"SUBSCRIBE","framework_id":{"value":"f"},"subscribe":{}}"#.into(),
            Kind::Validation,
            "Expecting 'executor_id' to be present".into(),
        ),
        (
            r#"{"type":"SUBSCRIBE","executor_id":{"value":"e"},"subscribe":{}}"#.into(),
            Kind::Validation,
            "Expecting 'framework_id' to be present".into(),
        ),
        (
            r#"{"type":"HEARTBEAT"}"#.into(),
            Kind::Validation,
            "executor_id".into(),
        ),
        (
            format!(r#"{{"type":"SUBSCRIBE",{ids}}}"#),
            Kind::Validation,
            "Expecting 'subscribe' to be present".into(),
        ),
        (
            format!(r#"{{"type":"UPDATE",{ids}}}"#),
            Kind::Validation,
            "Expecting 'update' to be present".into(),
        ),
        (
            format!(r#"{{"type":"MESSAGE",{ids},"message":{{}}}}"#),
            Kind::Invalid,
            "missing required field 'message.data'".into(),
        ),
        (
            format!(r#"{{"type":"UPDATE",{ids},"update":{{}}}}"#),
            Kind::Invalid,
            "missing required field 'update.status'".into(),
        ),
        (
            update(r#""source":"SOURCE_EXECUTOR""#),
            Kind::Invalid,
            "missing required field 'update.status.state'".into(),
        ),
        (
            update(r#""state":"TASK_RUNNING","source":"SOURCE_EXECUTOR""#),
            Kind::Validation,
            "Expecting 'uuid' to be present".into(),
        ),
        (
            update(r#""state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"aGk=""#),
            Kind::Invalid,
            "a UUID is 16 bytes, not 2".into(),
        ),
        (
            update(&format!(r#""state":"TASK_RUNNING","uuid":"{uuid}""#)),
            Kind::Validation,
            "expecting 'SOURCE_EXECUTOR'".into(),
        ),
        (
            update(&format!(
                r#""state":"TASK_RUNNING","source":"SOURCE_AGENT","uuid":"{uuid}""#
            )),
            Kind::Validation,
            "expecting 'SOURCE_EXECUTOR'".into(),
        ),
        (
            update(&format!(
                r#""state":"TASK_STAGING","source":"SOURCE_EXECUTOR","uuid":"{uuid}""#
            )),
            Kind::Validation,
            "TASK_STAGING".into(),
        ),
        (
            update(&format!(
                r#""state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"{uuid}","executor_id":{{"value":"other"}}"#
            )),
            Kind::Validation,
            "does not match".into(),
        ),
        (
            update(r#""state":"TASK_NOPE""#),
            Kind::Invalid,
            "unknown variant".into(),
        ),
        (
            format!(r#"{{"type":"LAUNCH",{ids}}}"#),
            Kind::UnknownType,
            "unknown type 'LAUNCH'".into(),
        ),
        (
            format!(r#"{{"type":"UNKNOWN",{ids}}}"#),
            Kind::Unimplemented,
            "UNKNOWN".into(),
        ),
    ];
    for (input, kind, needle) in &cases {
        let err = parse_executor_call(input.as_bytes()).expect_err(&format!("accepted: {input}"));
        assert_eq!(kind_of(&err), *kind, "{input}: {err}");
        assert!(err.to_string().contains(needle.as_str()), "{input}: {err}");
        assert_one_line(&err, input);
    }
}

// ---------------------------------------------------------------------------
// Executor events

fn framework_info() -> FrameworkInfo {
    FrameworkInfo::new("root", "f1")
}

fn task_info() -> mesos::TaskInfo {
    mesos::TaskInfo {
        name: "t1".into(),
        task_id: TaskId::new("t1"),
        agent_id: AgentId::new("s"),
        resources: res("cpus:1"),
        command: Some(mesos::CommandInfo::shell("sleep 1")),
        executor: None,
        data: None,
        kill_grace_period: None,
        meta: Default::default(),
    }
}

#[test]
fn executor_subscribed_carries_what_pymesos_asserts() {
    let reg = ExecutorRegistered {
        executor_info: mesos::ExecutorInfo {
            executor_id: ExecutorId::new("e"),
            framework_id: None,
            command: mesos::CommandInfo::shell("./exec"),
            resources: res("cpus:0.1"),
            name: None,
            shutdown_grace_period: None,
            container: None,
        },
        framework_id: FrameworkId::new("f"),
        framework_info: framework_info(),
        agent_id: AgentId::new("s"),
        agent_info: mesos::AgentInfo {
            hostname: "a1".into(),
            port: 5051,
            resources: res("cpus:2"),
            attributes: Vec::new(),
            id: Some(AgentId::new("s")),
        },
    };
    let event = executor::Event::subscribed(&reg, Some(&ContainerId::new("c1")));
    let value = json_of(event.to_json());
    assert_eq!(value["type"], "SUBSCRIBED");
    let sub = &value["subscribed"];
    assert_eq!(sub["executor_info"]["executor_id"], json!({"value": "e"}));
    assert_eq!(sub["executor_info"]["framework_id"], json!({"value": "f"}));
    assert_eq!(sub["framework_info"]["id"], json!({"value": "f"}));
    assert_eq!(sub["framework_info"]["checkpoint"], json!(false));
    assert_eq!(sub["agent_info"]["id"], json!({"value": "s"}));
    assert_eq!(sub["agent_info"]["port"], json!(5051));
    assert_eq!(sub["container_id"], json!({"value": "c1"}));
    let back: executor::Event = serde_json::from_value(value).unwrap();
    assert_eq!(back, event);
}

#[test]
fn the_executor_events_render_as_the_proto_nests_them() {
    let run = RunTask {
        framework: framework_info(),
        framework_pid: None,
        task: task_info(),
    };
    let launch = json_of(executor::Event::launch(&run).to_json());
    assert_eq!(
        launch,
        json!({"type": "LAUNCH", "launch": {"task": {"name": "t1", "task_id": {"value": "t1"},
            "agent_id": {"value": "s"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0},
                           "role": "*"}],
            "command": {"shell": true, "value": "sleep 1"}}}})
    );
    let group = json_of(executor::Event::launch_group(&framework_info(), &[task_info()]).to_json());
    assert_eq!(group["type"], "LAUNCH_GROUP");
    assert_eq!(
        group["launch_group"]["task_group"]["tasks"][0]["task_id"],
        json!({"value": "t1"})
    );
    let ack = executor::Event::acknowledged(&StatusUpdateAcknowledgement {
        agent_id: AgentId::new("s"),
        framework_id: FrameworkId::new("f"),
        task_id: TaskId::new("t1"),
        uuid: vec![0xff; 16],
    });
    let ack = json_of(ack.to_json());
    assert_eq!(ack["acknowledged"]["task_id"], json!({"value": "t1"}));
    let uuid = ack["acknowledged"]["uuid"].as_str().unwrap();
    assert_eq!(base64::decode(uuid).unwrap(), vec![0xff; 16]);
    let cases = [
        (
            executor::Event::kill(&TaskId::new("t1"), Some(3.0)),
            json!({"type": "KILL", "kill": {"task_id": {"value": "t1"},
                "kill_policy": {"grace_period": {"nanoseconds": 3_000_000_000i64}}}}),
        ),
        (
            executor::Event::kill(&TaskId::new("t1"), None),
            json!({"type": "KILL", "kill": {"task_id": {"value": "t1"}}}),
        ),
        (
            executor::Event::message(&FrameworkToExecutor {
                agent_id: AgentId::new("s"),
                framework_id: FrameworkId::new("f"),
                executor_id: ExecutorId::new("e"),
                data: b"hi".to_vec(),
            }),
            json!({"type": "MESSAGE", "message": {"data": "aGk="}}),
        ),
        (
            executor::Event::error("bad"),
            json!({"type": "ERROR", "error": {"message": "bad"}}),
        ),
        (executor::Event::shutdown(), json!({"type": "SHUTDOWN"})),
        (executor::Event::heartbeat(), json!({"type": "HEARTBEAT"})),
    ];
    for (event, expected) in cases {
        let mut reader = RecordReader::new(1 << 20);
        reader.push(&event.to_record());
        assert_eq!(json_of(reader.next_record().unwrap().unwrap()), expected);
        let back: executor::Event = serde_json::from_value(expected).unwrap();
        assert_eq!(back, event);
    }
}
