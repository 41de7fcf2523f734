//! A v1 HTTP scheduler for tests: it subscribes with a role (and
//! capabilities), reads its stream on a thread of its own, keeps the
//! outstanding offers and every other event, and makes calls.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);
const JSON: (&str, &str) = ("Content-Type", "application/json");

pub struct Scheduler {
    pub address: SocketAddr,
    pub framework_id: String,
    pub stream_id: String,
    rx: Receiver<Value>,
    /// Outstanding offers.
    pub offers: Vec<Value>,
    /// Every event but OFFERS, RESCIND and HEARTBEAT, in order.
    pub events: Vec<Value>,
    _stream: TcpStream,
}

impl Scheduler {
    /// Subscribes a framework `name` in `role`.
    pub fn subscribe(address: SocketAddr, name: &str, role: &str) -> Scheduler {
        Scheduler::subscribe_with(address, json!({"user": "root", "name": name, "role": role}))
    }

    /// Subscribes with this `framework_info`.
    pub fn subscribe_with(address: SocketAddr, framework_info: Value) -> Scheduler {
        let mut call = json!({
            "type": "SUBSCRIBE",
            "subscribe": {"framework_info": framework_info},
        });
        // A framework subscribing again names itself in the call too.
        if !framework_info["id"].is_null() {
            call["framework_id"] = framework_info["id"].clone();
        }
        let body = call.to_string();
        let mut s = TcpStream::connect(address).expect("connect");
        write!(
            s,
            "POST /api/v1/scheduler HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut r = BufReader::new(s.try_clone().expect("clone"));
        let mut line = String::new();
        let mut stream_id = String::new();
        r.read_line(&mut line).expect("status line");
        if !line.contains("200") {
            let mut rest = String::new();
            let _ = std::io::Read::read_to_string(&mut r, &mut rest);
            panic!("SUBSCRIBE answered {line}{rest}");
        }
        loop {
            line.clear();
            r.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("mesos-stream-id:") {
                stream_id = v.trim().to_owned();
            }
        }
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            super::read_records(r, tx);
        });
        let subscribed = rx.recv_timeout(WAIT).expect("SUBSCRIBED");
        assert_eq!(subscribed["type"], "SUBSCRIBED", "{subscribed}");
        let framework_id = subscribed["subscribed"]["framework_id"]["value"]
            .as_str()
            .expect("framework id")
            .to_owned();
        Scheduler {
            address,
            framework_id,
            stream_id,
            rx,
            offers: Vec::new(),
            events: Vec::new(),
            _stream: s,
        }
    }

    /// Takes in what arrived on the stream.
    pub fn drain(&mut self) {
        while let Ok(event) = self.rx.try_recv() {
            match event["type"].as_str() {
                Some("OFFERS") => {
                    if let Some(list) = event["offers"]["offers"].as_array() {
                        self.offers.extend(list.iter().cloned());
                    }
                }
                Some("RESCIND") => {
                    let id = &event["rescind"]["offer_id"]["value"];
                    self.offers.retain(|o| &o["id"]["value"] != id);
                }
                Some("HEARTBEAT") => {}
                _ => self.events.push(event),
            }
        }
    }

    /// The cpus of the outstanding offers, all agents together.
    pub fn offered_cpus(&mut self) -> f64 {
        self.drain();
        self.offers.iter().map(|o| scalar(o, "cpus")).sum()
    }

    /// Waits until the outstanding offers hold `cpus`, then checks they
    /// still do (and no more) a while later, over several allocation
    /// cycles.
    pub fn offered_settles_at(&mut self, cpus: f64, what: &str) {
        let reached = super::wait_until(WAIT, || (self.offered_cpus() - cpus).abs() < 1e-9);
        assert!(
            reached,
            "{what}: offered {} cpus, not {cpus}",
            self.offered_cpus()
        );
        let until = Instant::now() + Duration::from_millis(800);
        while Instant::now() < until {
            let now = self.offered_cpus();
            assert!(
                (now - cpus).abs() < 1e-9,
                "{what}: offered {now} cpus, not {cpus}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for an offer that `want` accepts and takes it out of the
    /// outstanding ones.
    pub fn take_offer(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let found = super::poll(WAIT, || {
            self.drain();
            let index = self.offers.iter().position(&want)?;
            Some(self.offers.remove(index))
        });
        found.unwrap_or_else(|| panic!("no offer with {what}: {:?}", self.offers))
    }

    /// Waits for an event (other than offers) that `want` accepts.
    pub fn wait_event(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let found = super::poll(WAIT, || {
            self.drain();
            self.events.iter().find(|e| want(e)).cloned()
        });
        found.unwrap_or_else(|| panic!("no event {what}: {:?}", self.events))
    }

    pub fn call(&self, call: Value) -> (u16, String) {
        let (status, _, text) = super::http_post(
            &self.address.to_string(),
            "/api/v1/scheduler",
            &[JSON, ("Mesos-Stream-Id", self.stream_id.as_str())],
            call.to_string().as_bytes(),
        );
        (status, text)
    }

    /// ACCEPTs `offer` with `operations` and no filter; asserts 202.
    pub fn accept(&self, offer: &Value, operations: Value) {
        let call = json!({
            "framework_id": {"value": self.framework_id},
            "type": "ACCEPT",
            "accept": {
                "offer_ids": [offer["id"]],
                "operations": operations,
                "filters": {"refuse_seconds": 0},
            },
        });
        let (status, text) = self.call(call);
        assert_eq!(status, 202, "ACCEPT: {text}");
    }

    /// DECLINEs `offer`, not to be offered those resources again for
    /// `seconds`; asserts 202.
    pub fn decline(&self, offer: &Value, seconds: f64) {
        let (status, text) = self.call(json!({
            "framework_id": {"value": self.framework_id},
            "type": "DECLINE",
            "decline": {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": seconds}},
        }));
        assert_eq!(status, 202, "DECLINE: {text}");
    }

    /// Acknowledges a status update event (one with a uuid).
    pub fn acknowledge(&self, update: &Value) {
        let status = &update["update"]["status"];
        if status["uuid"].is_null() {
            return;
        }
        let (code, text) = self.call(json!({
            "framework_id": {"value": self.framework_id},
            "type": "ACKNOWLEDGE",
            "acknowledge": {
                "agent_id": status["agent_id"],
                "task_id": status["task_id"],
                "uuid": status["uuid"],
            },
        }));
        assert_eq!(code, 202, "ACKNOWLEDGE: {text}");
    }

    /// Launches a task of `cpus` (and a little memory) on the first offer
    /// with that much, declining what is left of it without a filter.
    pub fn launch(&mut self, task: &str, cpus: f64) {
        let offer = self.take_offer("room for the task", |o| {
            scalar(o, "cpus") >= cpus && scalar(o, "mem") >= 32.0
        });
        let operations = json!([{"type": "LAUNCH", "launch": {"task_infos": [{
            "name": task,
            "task_id": {"value": task},
            "agent_id": offer["agent_id"],
            "resources": [
                {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
                {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
            ],
            "command": {"shell": true, "value": "sleep 60"},
        }]}}]);
        self.accept(&offer, operations);
    }
}

/// The sum of the scalar `name` in an offer.
pub fn scalar(offer: &Value, name: &str) -> f64 {
    offer["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"] == name)
        .filter_map(|r| r["scalar"]["value"].as_f64())
        .sum()
}
