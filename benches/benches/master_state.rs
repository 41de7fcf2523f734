//! `/master/state` at the scale Mesos users reported trouble with: 20,000
//! agents and 400,000 running tasks (Mesos 1.7 took about 3 s to answer it).
//!
//! The master's state is built in memory as registration and launches
//! would leave it (every agent with its resources and attributes, every
//! task RUNNING with its status), then the endpoint's JSON is rendered from
//! the master's view, as the `master` process renders it in its mailbox.
//!
//! The baseline, in the same run: serializing the same document once it
//! is already a `serde_json::Value` tree, which is what serde_json alone
//! costs for that many bytes (no lookups, no resource arithmetic, no
//! formatting decisions). The ratio says how far the endpoint is from
//! the cost of writing its own output.
//!
//! The operator API's `GET_STATE` answer (`POST /api/v1` with
//! `{"type":"GET_STATE"}`) is a second row: the same records in the v1
//! JSON, rendered as the operator API renders it.
//!
//! `MASTER_STATE_AGENTS` and `MASTER_STATE_TASKS_PER_AGENT` change the size
//! (20,000 and 20 by default); `MASTER_STATE_RUNS` the number of timed
//! renders (5). With `MASTER_STATE_PROFILE` set, only the endpoint is
//! rendered (for `perf record`); `MASTER_STATE_PROFILE=get_state` renders
//! only the `GET_STATE` answer instead; `=cold` and `=get_state_cold`
//! forget the tasks' kept fragments before each render.
//!
//! Each task keeps its rendered JSON (`src/master/rendered.rs`), so each
//! document is timed twice: with the fragments kept (every render after
//! the first, while tasks do not change) and with none (the first render,
//! or every task changed since the last).

use std::time::{Duration, Instant};

use mesos::master::flags::MasterFlags;
use mesos::master::state::{AgentRecord, FrameworkRecord, State};
use mesos::master::view::MasterView;
use wire::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::{
    parse_attributes, AgentInfo, FrameworkInfo, MasterInfo, Task, TaskStatus, VERSION,
};
use wire::resources::Resources;
use wire::task::TaskState;

/// Frameworks the tasks are spread over.
const FRAMEWORKS: usize = 100;

fn main() {
    let agents = env_usize("MASTER_STATE_AGENTS", 20_000);
    let per_agent = env_usize("MASTER_STATE_TASKS_PER_AGENT", 20);
    let runs = env_usize("MASTER_STATE_RUNS", 5).max(1);

    let built = Instant::now();
    let mut state = build(agents, per_agent);
    let build_time = built.elapsed();
    let info = MasterInfo {
        id: "bench-master".into(),
        ip: "127.0.0.1".into(),
        port: 5050,
        pid: "master@127.0.0.1:5050".into(),
        hostname: "localhost".into(),
        version: VERSION.into(),
    };
    let flags = MasterFlags::defaults();
    let view = |state: &'_ State| -> String {
        let view = MasterView {
            state,
            info: &info,
            flags: &flags,
            start_time: 0.0,
            leader: Some(&info),
            elected: true,
            recovered: true,
        };
        mesos::master::http::state_json(&view)
    };

    if let Some(profile) = std::env::var_os("MASTER_STATE_PROFILE") {
        // Only the endpoint, for `perf record`: no check, no baseline.
        // `=cold` and `=get_state_cold` render with no kept fragments.
        let cold = profile == "cold" || profile == "get_state_cold";
        let render: Render = if profile == "get_state" || profile == "get_state_cold" {
            |s, _| get_state(s).len()
        } else {
            |s, v| v(s).len()
        };
        if !cold {
            render(&state, &view);
        }
        for _ in 0..runs {
            if cold {
                state.forget_rendered();
            }
            let start = Instant::now();
            std::hint::black_box(render(&state, &view));
            eprintln!("{:.0} ms", start.elapsed().as_secs_f64() * 1e3);
        }
        return;
    }

    // One render of each outside the timing: checks the documents and
    // fills the tasks' fragments (whose cost the resident set shows).
    let rss_before = rss_bytes();
    let doc = view(&state);
    let answer = get_state(&state);
    let rss_after = rss_bytes();
    let parsed: serde_json::Value = serde_json::from_str(&doc).expect("state is JSON");
    let slaves = parsed["slaves"].as_array().map_or(0, Vec::len);
    let tasks: usize = parsed["frameworks"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| f["tasks"].as_array().map_or(0, Vec::len))
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(slaves, agents, "every agent is in the document");
    assert_eq!(tasks, agents * per_agent, "every task is in the document");

    // The same checks on the GET_STATE answer.
    let parsed_answer: serde_json::Value =
        serde_json::from_str(&answer).expect("GET_STATE is JSON");
    assert_eq!(parsed_answer["type"], "GET_STATE");
    let get_state_doc = &parsed_answer["get_state"];
    let answer_agents = get_state_doc["get_agents"]["agents"]
        .as_array()
        .map_or(0, Vec::len);
    let answer_tasks = get_state_doc["get_tasks"]["tasks"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(answer_agents, agents, "every agent is in GET_STATE");
    assert_eq!(
        answer_tasks,
        agents * per_agent,
        "every task is in GET_STATE"
    );

    // What the kept fragments cost: their text, and the growth of the
    // resident set over the first renders (less the two documents, still
    // held).
    let kept = state.rendered_bytes();
    let rss_growth = rss_after
        .saturating_sub(rss_before)
        .saturating_sub(doc.len() + answer.len());
    let task_count = (agents * per_agent).max(1);

    // Kept fragments: every render after the first.
    let ours = time(runs, || view(&state).len());
    let baseline = time(runs, || {
        serde_json::to_string(&parsed).map_or(0, |s| s.len())
    });
    let ours_get_state = time(runs, || get_state(&state).len());
    let baseline_get_state = time(runs, || {
        serde_json::to_string(&parsed_answer).map_or(0, |s| s.len())
    });
    // No kept fragments: the first render after every task changed.
    let ours_cold = time_with(runs, &mut state, |s| s.forget_rendered(), |s| view(s).len());
    let ours_get_state_cold = time_with(
        runs,
        &mut state,
        |s| s.forget_rendered(),
        |s| get_state(s).len(),
    );

    println!(
        "{agents} agents, {} tasks in {FRAMEWORKS} frameworks (state built in {:.1} s); /master/state {:.1} MB, GET_STATE {:.1} MB",
        agents * per_agent,
        build_time.as_secs_f64(),
        doc.len() as f64 / 1e6,
        answer.len() as f64 / 1e6,
    );
    println!(
        "kept fragments: {:.1} MB of JSON ({:.0} bytes a task for both documents); resident set grew {:.1} MB ({:.0} bytes a task)",
        kept as f64 / 1e6,
        kept as f64 / task_count as f64,
        rss_growth as f64 / 1e6,
        rss_growth as f64 / task_count as f64,
    );
    println!("| what | median | min | max | ratio to baseline |");
    println!("|---|---|---|---|---|");
    row(
        "/master/state (ours, fragments kept)",
        &ours,
        median(&baseline),
    );
    row(
        "/master/state (ours, every fragment made)",
        &ours_cold,
        median(&baseline),
    );
    row(
        "baseline: serde_json of the same Value",
        &baseline,
        median(&baseline),
    );
    row(
        "GET_STATE (ours, fragments kept)",
        &ours_get_state,
        median(&baseline_get_state),
    );
    row(
        "GET_STATE (ours, every fragment made)",
        &ours_get_state_cold,
        median(&baseline_get_state),
    );
    row(
        "baseline: serde_json of the same GET_STATE Value",
        &baseline_get_state,
        median(&baseline_get_state),
    );
}

/// Renders one document of the state, given the `/master/state` renderer.
type Render = fn(&State, &dyn Fn(&State) -> String) -> usize;

/// The resident set of this process, from `/proc/self/statm`.
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// The body `POST /api/v1` answers `{"type":"GET_STATE"}` with, rendered
/// as the operator API renders it.
fn get_state(state: &State) -> String {
    mesos::master::operator::json::get_state_body(state)
}

/// The master's state with `agents` agents, each running `per_agent` tasks.
fn build(agents: usize, per_agent: usize) -> State {
    let mut state = State::new("bench");
    let attributes = parse_attributes("rack:r1;zone:z1;os:debian").expect("attributes parse");
    let agent_resources =
        Resources::parse("cpus:32;mem:131072;disk:1000000;ports:[31000-32000]", "*")
            .expect("agent resources parse");
    let task_resources = Resources::parse("cpus:0.5;mem:128;ports:[31000-31000]", "*")
        .expect("task resources parse");
    let frameworks: Vec<FrameworkId> = (0..FRAMEWORKS)
        .map(|i| {
            let id = state.new_framework_id();
            let info = FrameworkInfo::new("root", &format!("framework-{i}"));
            state.add_framework(FrameworkRecord::new(
                id.clone(),
                info,
                Some(format!("scheduler-{i}@10.0.0.1:{}", 40000 + i)),
                1.0,
            ));
            id
        })
        .collect();
    let mut n = 0usize;
    for a in 0..agents {
        let id = state.new_agent_id();
        let info = AgentInfo {
            hostname: format!("agent-{a}.example.com"),
            port: 5051,
            resources: agent_resources.clone(),
            attributes: attributes.clone(),
            id: Some(id.clone()),
        };
        state.add_agent(AgentRecord::new(
            id.clone(),
            info,
            format!(
                "slave(1)@10.{}.{}.{}:5051",
                a >> 16,
                (a >> 8) & 255,
                a & 255
            ),
            VERSION.into(),
            1.0,
        ));
        for _ in 0..per_agent {
            let framework_id = frameworks[n % FRAMEWORKS].clone();
            state.add_task(task(&framework_id, &id, n, &task_resources));
            n += 1;
        }
    }
    state
}

fn task(framework_id: &FrameworkId, agent_id: &AgentId, n: usize, resources: &Resources) -> Task {
    let task_id = TaskId::new(format!("task-{n}.2f1c7c3e-8c1d-11ed-a1eb-0242ac120002"));
    let mut status = TaskStatus::new(task_id.clone(), TaskState::Running);
    status.agent_id = Some(agent_id.clone());
    status.executor_id = Some(ExecutorId::new(task_id.as_str()));
    Task {
        name: format!("task-{n}"),
        task_id: task_id.clone(),
        framework_id: framework_id.clone(),
        executor_id: None,
        agent_id: agent_id.clone(),
        state: TaskState::Running,
        resources: resources.clone(),
        statuses: vec![status],
        status_update_state: Some(TaskState::Running),
        status_update_uuid: None,
        role: "*".into(),
        meta: Default::default(),
    }
}

/// Runs `f` `runs` times; the durations, sorted. `f` returns a size so
/// the work is not optimised away.
fn time(runs: usize, mut f: impl FnMut() -> usize) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

/// Like [`time`], with `prepare` run untimed before each run.
fn time_with<T>(
    runs: usize,
    on: &mut T,
    mut prepare: impl FnMut(&mut T),
    mut f: impl FnMut(&T) -> usize,
) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            prepare(on);
            let start = Instant::now();
            std::hint::black_box(f(on));
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn median(times: &[Duration]) -> Duration {
    times[times.len() / 2]
}

fn row(what: &str, times: &[Duration], baseline: Duration) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| {what} | {:.0} ms | {:.0} ms | {:.0} ms | {:.2} |",
        ms(median(times)),
        ms(times[0]),
        ms(times[times.len() - 1]),
        median(times).as_secs_f64() / baseline.as_secs_f64(),
    );
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
