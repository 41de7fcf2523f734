//! A stand-in master for the update-latency rows of the dns bench: it
//! serves `GET /master/state` (v0 JSON) and, unless told it has none, the
//! operator API's `SUBSCRIBE` stream (`SUBSCRIBED` with the full state,
//! then the events it is handed, as RecordIO chunks). Its tasks all run on
//! three agents of one framework, `marathon`, as `cluster()` builds them
//! in the bench. HTTP/1.1 is spoken by hand: one request per connection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

/// One task of the stand-in's cluster.
#[derive(Clone)]
pub struct FakeTask {
    pub id: String,
    pub name: String,
    pub agent: usize,
    pub port: u16,
    pub state: &'static str,
}

pub struct FakeMaster {
    address: String,
    tasks: Mutex<Vec<FakeTask>>,
    events: broadcast::Sender<Value>,
    /// Whether `SUBSCRIBE` is served (else 404: mesos-dns polls).
    streams: bool,
}

fn agent_id(n: usize) -> String {
    format!("A-S{n}")
}

fn v0_task(t: &FakeTask) -> Value {
    json!({"id": t.id, "name": t.name, "framework_id": "F", "slave_id": agent_id(t.agent),
           "state": t.state, "resources": {"ports": format!("[{0}-{0}]", t.port)},
           "statuses": [{"state": t.state, "timestamp": 1.0}]})
}

fn v1_task(t: &FakeTask) -> Value {
    json!({"task_id": {"value": t.id}, "name": t.name, "framework_id": {"value": "F"},
           "agent_id": {"value": agent_id(t.agent)}, "state": t.state,
           "resources": [{"name": "ports", "type": "RANGES",
                          "ranges": {"range": [{"begin": t.port, "end": t.port}]}}],
           "statuses": [{"task_id": {"value": t.id}, "state": t.state, "timestamp": 1.0}]})
}

impl FakeMaster {
    /// Listens on loopback; `streams` says whether it has an event stream.
    pub async fn start(tasks: Vec<FakeTask>, streams: bool) -> Arc<FakeMaster> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let (events, _) = broadcast::channel(1024);
        let master = Arc::new(FakeMaster {
            address,
            tasks: Mutex::new(tasks),
            events,
            streams,
        });
        let serving = master.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serving.clone().connection(stream));
            }
        });
        master
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Adds or changes a task in the state, and sends `event` (when
    /// given) on every open stream, at the same moment.
    pub fn change(&self, task: FakeTask, event: Option<Value>) {
        let mut tasks = self.tasks.lock().expect("tasks");
        match tasks.iter_mut().find(|t| t.id == task.id) {
            Some(t) => *t = task,
            None => tasks.push(task),
        }
        if let Some(event) = event {
            let _ = self.events.send(event);
        }
    }

    pub fn task_added(task: &FakeTask) -> Value {
        json!({"type": "TASK_ADDED", "task_added": {"task": v1_task(task)}})
    }

    pub fn task_updated(task: &FakeTask) -> Value {
        json!({"type": "TASK_UPDATED", "task_updated": {
            "framework_id": {"value": "F"}, "state": task.state,
            "status": {"task_id": {"value": task.id}, "state": task.state,
                       "timestamp": std::time::SystemTime::now()
                           .duration_since(std::time::UNIX_EPOCH)
                           .map(|d| d.as_secs_f64()).unwrap_or(0.0)}}})
    }

    fn agents(&self) -> Vec<(String, String)> {
        (0..3)
            .map(|n| (agent_id(n), format!("slave(1)@10.0.0.{n}:5051")))
            .collect()
    }

    fn v0_state(&self) -> Value {
        let tasks: Vec<Value> = self
            .tasks
            .lock()
            .expect("tasks")
            .iter()
            .map(v0_task)
            .collect();
        let slaves: Vec<Value> = self
            .agents()
            .into_iter()
            .map(|(id, pid)| json!({"id": id, "hostname": "h", "pid": pid}))
            .collect();
        json!({"leader": format!("master@{}", self.address), "slaves": slaves,
               "frameworks": [{"id": "F", "name": "marathon",
                               "pid": "scheduler-1@10.0.1.1:8080", "tasks": tasks}]})
    }

    fn subscribed(&self) -> Value {
        let tasks: Vec<Value> = self
            .tasks
            .lock()
            .expect("tasks")
            .iter()
            .map(v1_task)
            .collect();
        let agents: Vec<Value> = self
            .agents()
            .into_iter()
            .map(|(id, pid)| json!({"agent_info": {"id": {"value": id}, "hostname": "h"}, "pid": pid}))
            .collect();
        json!({"type": "SUBSCRIBED", "subscribed": {"get_state": {
            "get_agents": {"agents": agents},
            "get_frameworks": {"frameworks": [{"framework_info": {
                "id": {"value": "F"}, "name": "marathon", "hostname": "10.0.1.1"}}]},
            "get_tasks": {"tasks": tasks}}}})
    }

    async fn connection(self: Arc<FakeMaster>, mut stream: TcpStream) {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        let head = String::from_utf8_lossy(&head).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        if stream.read_exact(&mut body).await.is_err() {
            return;
        }
        let request_line = head.lines().next().unwrap_or_default().to_string();
        if request_line.starts_with("GET /master/state ") {
            let body = self.v0_state().to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        } else if request_line.starts_with("POST /api/v1 ") && self.streams {
            self.stream(stream).await;
        } else {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
    }

    async fn stream(self: Arc<FakeMaster>, mut stream: TcpStream) {
        let mut events = self.events.subscribe();
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let mut next = Some(self.subscribed());
        let mut heartbeat = tokio::time::interval(Duration::from_secs(5));
        loop {
            let event = match next.take() {
                Some(event) => event,
                None => tokio::select! {
                    event = events.recv() => match event {
                        Ok(event) => event,
                        Err(_) => return,
                    },
                    _ = heartbeat.tick() => json!({"type": "HEARTBEAT"}),
                },
            };
            let record = event.to_string();
            let record = format!("{}\n{record}", record.len());
            let chunk = format!("{:x}\r\n{record}\r\n", record.len());
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    }
}
