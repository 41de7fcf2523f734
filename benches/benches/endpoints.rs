//! Rendering the master's `/master/state` and `/master/slaves` for a large
//! cluster: 10k agents and 100k tasks (Mesos 1.7 needs about 3 s for
//! `/master/state` at 20k agents and 400k tasks). The baseline in the same
//! run is serializing the same number of task-shaped JSON objects with
//! serde_json alone, the floor any renderer of this document pays.

use criterion::{criterion_group, criterion_main, Criterion};
use mesos::master::http::{slaves_json, state_json};
use mesos::master::state::{AgentRecord, FrameworkRecord};
use mesos::master::{Master, MasterFlags};
use wire::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::{AgentInfo, FrameworkInfo, MasterInfo, Task, TaskStatus};
use wire::resources::Resources;
use wire::task::TaskState;

const AGENTS: usize = 10_000;
const TASKS: usize = 100_000;
const FRAMEWORKS: usize = 100;

fn master() -> Master {
    let info = MasterInfo {
        id: "bench".into(),
        ip: "127.0.0.1".into(),
        port: 5050,
        pid: "master@127.0.0.1:5050".into(),
        hostname: "localhost".into(),
        version: wire::mesos::VERSION.into(),
    };
    let store = Box::new(mesos::registrar::InMemoryStore::default());
    let mut master = Master::new(MasterFlags::defaults(), info, store);
    let total = Resources::parse("cpus:32;mem:131072;disk:1000000;ports:[31000-32000]", "*")
        .expect("resources");
    let task_resources = Resources::parse("cpus:0.1;mem:32", "*").expect("resources");
    let attributes = wire::mesos::parse_attributes("rack:r1;zone:z1").expect("attributes");
    let state = master.state_mut();
    for a in 0..AGENTS {
        let id = AgentId::new(format!("bench-S{a}"));
        state.add_agent(AgentRecord::new(
            id.clone(),
            AgentInfo {
                hostname: format!("agent{a}.example.com"),
                port: 5051,
                resources: total.clone(),
                attributes: attributes.clone(),
                id: Some(id.clone()),
            },
            format!("slave(1)@10.0.{}.{}:5051", a / 256, a % 256),
            wire::mesos::VERSION.into(),
            1.7e9,
        ));
    }
    for f in 0..FRAMEWORKS {
        let id = FrameworkId::new(format!("bench-{f:04}"));
        let mut info = FrameworkInfo::new("root", &format!("framework {f}"));
        info.id = Some(id.clone());
        state.add_framework(FrameworkRecord::new(
            id,
            info,
            Some(format!("scheduler-{f}@10.1.0.1:4000")),
            1.7e9,
        ));
    }
    for t in 0..TASKS {
        let framework_id = FrameworkId::new(format!("bench-{:04}", t % FRAMEWORKS));
        let agent_id = AgentId::new(format!("bench-S{}", t % AGENTS));
        let task_id = TaskId::new(format!("task-{t}"));
        let mut status = TaskStatus::new(task_id.clone(), TaskState::Running);
        status.timestamp = 1.7e9;
        state.add_task(Task {
            name: format!("task {t}"),
            task_id: task_id.clone(),
            framework_id,
            executor_id: Some(ExecutorId::new(task_id.value.clone())),
            agent_id,
            state: TaskState::Running,
            resources: task_resources.clone(),
            statuses: vec![status],
            status_update_state: Some(TaskState::Running),
            status_update_uuid: None,
            role: "*".into(),
            meta: Default::default(),
        });
    }
    master
}

/// The same number of task objects with the same fields, serialized
/// straight from structs: no model building, no maps of resources.
fn baseline(tasks: &[Task]) -> String {
    #[derive(serde::Serialize)]
    struct Flat<'a> {
        id: &'a str,
        name: &'a str,
        framework_id: &'a str,
        executor_id: &'a str,
        slave_id: &'a str,
        state: &'a str,
        cpus: f64,
        mem: f64,
        timestamp: f64,
    }
    let flat: Vec<Flat> = tasks
        .iter()
        .map(|t| Flat {
            id: &t.task_id.value,
            name: &t.name,
            framework_id: &t.framework_id.value,
            executor_id: t
                .executor_id
                .as_ref()
                .map(|e| e.value.as_str())
                .unwrap_or(""),
            slave_id: &t.agent_id.value,
            state: t.state.name(),
            cpus: t.resources.scalar("cpus"),
            mem: t.resources.scalar("mem"),
            timestamp: t.statuses.first().map(|s| s.timestamp).unwrap_or(0.0),
        })
        .collect();
    serde_json::to_string(&flat).unwrap_or_default()
}

fn render(c: &mut Criterion) {
    let master = master();
    let tasks: Vec<Task> = master
        .state()
        .frameworks()
        .values()
        .flat_map(|f| f.tasks().values().map(|t| t.task().clone()))
        .collect();
    let mut group = c.benchmark_group("endpoints_10k_agents_100k_tasks");
    group.sample_size(10);
    group.bench_function("master_state", |b| {
        b.iter(|| state_json(&master.view()).len())
    });
    group.bench_function("master_slaves", |b| {
        b.iter(|| slaves_json(&master.view(), None).len())
    });
    group.bench_function("baseline_serde_flat_tasks", |b| {
        b.iter(|| baseline(&tasks).len())
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
