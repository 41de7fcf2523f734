//! The maintenance endpoints on the process (Mesos's
//! `/master/maintenance/schedule`, `/master/maintenance/status`,
//! `/master/machine/down`, `/master/machine/up`): each request is checked
//! against the records (`maintenance.rs` says what is allowed), refused
//! with a 4xx and the reason, or carried out through the core.

use actors::http::{Method, Response, StatusCode};
use actors::{Cx, Reply, Request};
use wire::maintenance::{parse_machine_ids, parse_schedule};

use super::Master;
use crate::master::http::{json_reply, leader_only};

fn text(status: StatusCode, message: impl Into<String>) -> Reply {
    Reply::Now(Response::text(status, message))
}

fn ok() -> Reply {
    Reply::Now(Response::new(StatusCode::OK, ""))
}

/// The leader-only, recovered-only checks every maintenance endpoint
/// makes, then whether the method is one it serves.
pub(super) fn refused(master: &Master, req: &Request, methods: &[Method]) -> Option<Reply> {
    if let Some(redirect) = leader_only(&master.view(), req) {
        return Some(redirect);
    }
    if !master.is_recovered() {
        return Some(text(
            StatusCode::SERVICE_UNAVAILABLE,
            "Master has not finished recovery",
        ));
    }
    if !methods.contains(&req.method) {
        let names: Vec<&str> = methods.iter().map(Method::as_str).collect();
        return Some(text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "Expecting one of {{ '{}' }}, received '{}'",
                names.join("', '"),
                req.method
            ),
        ));
    }
    None
}

impl Master {
    /// `GET` the schedule, or `POST` a new one.
    pub(super) fn maintenance_schedule(&mut self, req: Request, cx: &mut Cx<'_, Self>) -> Reply {
        if let Some(reply) = refused(self, &req, &[Method::GET, Method::POST]) {
            return reply;
        }
        if req.method == Method::GET {
            return json_reply(&req, self.core.state().maintenance().schedule_json());
        }
        let windows = match parse_schedule(&req.body) {
            Ok(windows) => windows,
            Err(e) => return text(StatusCode::BAD_REQUEST, e.0),
        };
        if let Err(e) = self.core.state().maintenance().check_schedule(&windows) {
            return text(StatusCode::BAD_REQUEST, e);
        }
        self.run(cx, |core, now, out| core.update_schedule(windows, now, out));
        ok()
    }

    /// `GET` the machines draining (with the frameworks' answers) and down.
    pub(super) fn maintenance_status(&mut self, req: Request) -> Reply {
        if let Some(reply) = refused(self, &req, &[Method::GET]) {
            return reply;
        }
        json_reply(&req, self.core.state().maintenance().status_json())
    }

    /// `POST` machines to bring down (`down`) or up.
    pub(super) fn machines(&mut self, req: Request, down: bool, cx: &mut Cx<'_, Self>) -> Reply {
        if let Some(reply) = refused(self, &req, &[Method::POST]) {
            return reply;
        }
        let ids = match parse_machine_ids(&req.body) {
            Ok(ids) => ids,
            Err(e) => return text(StatusCode::BAD_REQUEST, e.0),
        };
        let maintenance = self.core.state().maintenance();
        let checked = match down {
            true => maintenance.check_down(&ids),
            false => maintenance.check_up(&ids),
        };
        if let Err(e) = checked {
            return text(StatusCode::BAD_REQUEST, e);
        }
        self.run(cx, |core, _, out| match down {
            true => core.start_maintenance(ids, out),
            false => core.stop_maintenance(ids, out),
        });
        ok()
    }
}
