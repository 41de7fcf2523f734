//! The reservation and volume endpoints of Mesos's master:
//! `/master/reserve` and `/master/unreserve` (form fields `slaveId` and
//! `resources`), `/master/create-volumes` and `/master/destroy-volumes`
//! (`slaveId` and `volumes`). The resources are a JSON array of
//! `Resource`s, in either of Mesos's formats; each request is carried out
//! as the matching operator call is (202, 400 or 409).

use actors::http::{Method, Response, StatusCode};
use actors::{Cx, Reply, Request};
use wire::ids::AgentId;
use wire::mesos::ResourceOpKind;
use wire::resources::Resources;

use super::maintenance::refused;
use super::Master;

/// The form field that carries the resources of each kind.
fn field(kind: ResourceOpKind) -> &'static str {
    match kind {
        ResourceOpKind::Reserve | ResourceOpKind::Unreserve => "resources",
        ResourceOpKind::Create | ResourceOpKind::Destroy => "volumes",
    }
}

/// Reads `slaveId` and the resources from a form body.
pub fn parse_form(body: &[u8], kind: ResourceOpKind) -> Result<(AgentId, Resources), String> {
    let text = String::from_utf8_lossy(body);
    let form = actors::http::parse_query(text.trim());
    let value = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("Missing '{name}' query parameter in the request body"))
    };
    let agent = value("slaveId")?;
    let name = field(kind);
    let json = value(name)?;
    let list: Vec<wire::v1::types::Resource> = serde_json::from_str(&json)
        .map_err(|e| format!("Error in parsing '{name}' query parameter: {e}"))?;
    let resources = wire::v1::types::resources_from_v1(list)
        .map_err(|e| format!("Error in parsing '{name}' query parameter: {e}"))?;
    Ok((AgentId::new(agent), resources))
}

impl Master {
    /// `POST /master/reserve`, `/unreserve`, `/create-volumes`,
    /// `/destroy-volumes`.
    pub(super) fn resources_endpoint(
        &mut self,
        req: Request,
        kind: ResourceOpKind,
        cx: &mut Cx<'_, Self>,
    ) -> Reply {
        if let Some(reply) = refused(self, &req, &[Method::POST]) {
            return reply;
        }
        let (agent_id, resources) = match parse_form(&req.body, kind) {
            Ok(parsed) => parsed,
            Err(m) => return Reply::Now(Response::text(StatusCode::BAD_REQUEST, m)),
        };
        if self.core.state().agent(&agent_id).is_none() {
            return Reply::Now(Response::text(
                StatusCode::BAD_REQUEST,
                "No agent found with specified ID",
            ));
        }
        let op = crate::master::operations::resource_op(kind, resources);
        self.resource_operation(&agent_id, op, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_read_as_mesos_reads_them() {
        let reserve = "slaveId=a1&resources=%5B%7B%22name%22%3A%22cpus%22%2C%22type%22%3A%22SCALAR%22%2C%22scalar%22%3A%7B%22value%22%3A1%7D%2C%22role%22%3A%22web%22%2C%22reservation%22%3A%7B%22principal%22%3A%22ops%22%7D%7D%5D";
        let (agent, rs) = parse_form(reserve.as_bytes(), ResourceOpKind::Reserve).unwrap();
        assert_eq!(agent, AgentId::new("a1"));
        let web = rs.reserved_by_role();
        assert_eq!(web["web"].scalar("cpus"), 1.0);
        assert!(rs.iter().all(|r| r.is_dynamically_reserved()));
        let cases = [
            ("resources=[]", ResourceOpKind::Reserve, "Missing 'slaveId'"),
            (
                "slaveId=a",
                ResourceOpKind::Unreserve,
                "Missing 'resources'",
            ),
            (
                "slaveId=a&resources=[]",
                ResourceOpKind::Create,
                "Missing 'volumes'",
            ),
            (
                "slaveId=a&volumes=nope",
                ResourceOpKind::Destroy,
                "Error in parsing 'volumes'",
            ),
        ];
        for (body, kind, want) in cases {
            let err = parse_form(body.as_bytes(), kind).unwrap_err();
            assert!(err.contains(want), "{body}: {err}");
        }
    }
}
