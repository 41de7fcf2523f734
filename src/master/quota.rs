//! Quota on the master (Mesos's `master/quota.cpp` and `quota_handler.cpp`):
//! reading `UPDATE_QUOTA`, `SET_QUOTA`, `REMOVE_QUOTA` and the `/quota`
//! endpoint's requests, checking them as Mesos does (a valid role that is
//! not `*` and is allowed by `--roles`, scalar non-negative amounts,
//! guarantees within limits, and the capacity heuristic unless `force`),
//! rendering `QuotaStatus` and a role's quota for `/roles` and
//! `GET_ROLES`, and the core's side: the configs kept in the records,
//! written to the registry, recovered from it and told to the allocator.
//!
//! Refusals are 400 with Mesos's kind of message, and 409 when only the
//! cluster's capacity stands in the way (`force` overrides it).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use wire::registry::{Operation as RegistryOp, QuotaConfig, Registry};
use wire::resources::{Milli, Value as ResourceValue, UNRESERVED};

use actors::http::Method;
use actors::{Reply, Request};

use super::core::Core;
use super::effects::{AllocatorCall, Effects};
use super::http::{json_reply, leader_only};
use super::view::MasterView;
use crate::v1_http::ApiError;

fn bad(text: impl Into<String>) -> ApiError {
    ApiError::BadRequest(text.into())
}

/// Reads `update_quota`: `{force, quota_configs: [{role, guarantees: {name:
/// {value}}, limits: {...}}]}`.
pub fn parse_update(payload: &Map<String, Value>) -> Result<(bool, Vec<QuotaConfig>), ApiError> {
    let force = parse_force(payload.get("force"), "update_quota.force")?;
    let configs = match payload.get("quota_configs") {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, c)| parse_config(c, &format!("update_quota.quota_configs[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("'update_quota.quota_configs' must be an array")),
    };
    Ok((force, configs))
}

fn parse_force(v: Option<&Value>, field: &str) -> Result<bool, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad(format!("'{field}' must be a boolean"))),
    }
}

fn parse_role(v: Option<&Value>, field: &str) -> Result<String, ApiError> {
    match v {
        Some(Value::String(role)) => Ok(role.clone()),
        None | Some(Value::Null) => Err(bad(format!("Expecting '{field}' to be present"))),
        Some(_) => Err(bad(format!("'{field}' must be a string"))),
    }
}

fn parse_config(v: &Value, field: &str) -> Result<QuotaConfig, ApiError> {
    let Value::Object(m) = v else {
        return Err(bad(format!("'{field}' must be an object")));
    };
    Ok(QuotaConfig {
        role: parse_role(m.get("role"), &format!("{field}.role"))?,
        guarantees: parse_scalars(m.get("guarantees"), &format!("{field}.guarantees"))?,
        limits: parse_scalars(m.get("limits"), &format!("{field}.limits"))?,
    })
}

/// `{"cpus": {"value": 1}}`: each amount a finite, non-negative number.
fn parse_scalars(v: Option<&Value>, field: &str) -> Result<BTreeMap<String, Milli>, ApiError> {
    let m = match v {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(bad(format!("'{field}' must be an object of scalars"))),
    };
    let mut out = BTreeMap::new();
    for (name, value) in m {
        let amount = value.get("value").and_then(Value::as_f64).ok_or_else(|| {
            bad(format!(
                "'{field}.{name}' must be a scalar such as {{\"value\": 1}}"
            ))
        })?;
        out.insert(name.clone(), amount_of(name, amount, field)?);
    }
    Ok(out)
}

fn amount_of(name: &str, amount: f64, field: &str) -> Result<Milli, ApiError> {
    if !amount.is_finite() {
        return Err(bad(format!("'{field}': '{name}' must be a finite number")));
    }
    if amount < 0.0 {
        return Err(bad(format!(
            "'{field}': negative quota for '{name}' ({amount}) is not allowed"
        )));
    }
    Ok(Milli::from_f64(amount))
}

/// Reads a `QuotaRequest` (`SET_QUOTA`'s `quota_request`, or the body
/// POSTed to `/quota`): `{role, guarantee: [Resource], force}`. As in
/// Mesos 1.9+, the old guarantee sets the role's limits to the same
/// amounts.
pub fn parse_request(payload: &Map<String, Value>) -> Result<(bool, QuotaConfig), ApiError> {
    let force = parse_force(payload.get("force"), "quota_request.force")?;
    let role = parse_role(payload.get("role"), "quota_request.role")?;
    let list = match payload.get("guarantee") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list.clone(),
        Some(_) => return Err(bad("'quota_request.guarantee' must be an array")),
    };
    let mut guarantees = BTreeMap::new();
    for (i, r) in list.iter().enumerate() {
        let field = format!("quota_request.guarantee[{i}]");
        let name = r
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("Expecting '{field}.name' to be present")))?;
        match r.get("type").and_then(Value::as_str) {
            None | Some("SCALAR") => {}
            Some(other) => {
                return Err(bad(format!(
                    "'{field}': quota may only name scalar resources, not {other} '{name}'"
                )))
            }
        }
        match r.get("role").and_then(Value::as_str) {
            None | Some(UNRESERVED) => {}
            Some(role) => {
                return Err(bad(format!(
                    "'{field}': quota may not name resources reserved for '{role}'"
                )))
            }
        }
        if r.get("reservations")
            .and_then(Value::as_array)
            .is_some_and(|v| !v.is_empty())
        {
            return Err(bad(format!(
                "'{field}': quota may not name reserved resources"
            )));
        }
        let amount = r
            .get("scalar")
            .and_then(|s| s.get("value"))
            .and_then(Value::as_f64)
            .ok_or_else(|| bad(format!("'{field}' must carry a scalar value")))?;
        if guarantees.contains_key(name) {
            return Err(bad(format!("'{field}': '{name}' is named twice")));
        }
        guarantees.insert(name.to_owned(), amount_of(name, amount, &field)?);
    }
    if guarantees.is_empty() {
        return Err(bad("Quota request must name some resources in 'guarantee'"));
    }
    Ok((
        force,
        QuotaConfig {
            role,
            limits: guarantees.clone(),
            guarantees,
        },
    ))
}

/// Mesos's rules for a role name, and `*`, which takes no quota.
pub fn validate_role(role: &str, allowed: Option<&[String]>) -> Result<(), ApiError> {
    if role == UNRESERVED {
        return Err(bad(
            "Invalid role '*': setting quota for the default '*' role is not supported",
        ));
    }
    let invalid = |why: &str| Err(bad(format!("Invalid role '{role}': {why}")));
    if role.is_empty() {
        return invalid("a role name must not be empty");
    }
    if role.starts_with('/') || role.ends_with('/') || role.contains("//") {
        return invalid("'/' may not start or end a role, nor appear twice in a row");
    }
    for part in role.split('/') {
        if part == "." || part == ".." {
            return invalid("'.' and '..' are not role names");
        }
        if part.starts_with('-') {
            return invalid("a role may not start with '-'");
        }
        if part == "*" {
            return invalid("'*' is not allowed in a role");
        }
    }
    if role
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return invalid("whitespace, control characters and '\\' are not allowed");
    }
    if let Some(allowed) = allowed {
        if !allowed.iter().any(|r| r == role) {
            return Err(bad(format!(
                "Invalid role '{role}': not one of the roles the master allows (--roles)"
            )));
        }
    }
    Ok(())
}

/// A config's own consistency: guarantees within limits.
pub fn validate_config(config: &QuotaConfig, allowed: Option<&[String]>) -> Result<(), ApiError> {
    validate_role(&config.role, allowed)?;
    let over: Vec<String> = config
        .guarantees
        .iter()
        .filter(|(name, g)| config.limits.get(*name).is_some_and(|l| *g > l))
        .map(|(name, g)| {
            let l = config.limits.get(name).copied().unwrap_or_default();
            format!("{name}: {} > {}", g.as_f64(), l.as_f64())
        })
        .collect();
    if !over.is_empty() {
        return Err(bad(format!(
            "Invalid QuotaConfig for role '{}': guarantees are not within limits ({})",
            config.role,
            over.join(", ")
        )));
    }
    Ok(())
}

/// The cluster's scalars, every agent's total (all roles).
fn capacity(master: &MasterView<'_>) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for agent in master.state.agents().values() {
        for r in agent.info.resources.iter() {
            if let ResourceValue::Scalar(m) = r.value {
                *out.entry(r.name.clone()).or_default() += m.0;
            }
        }
    }
    out
}

/// The capacity heuristic: all guarantees, once `updates` apply, must fit
/// in the cluster.
fn check_capacity(master: &MasterView<'_>, updates: &[QuotaConfig]) -> Result<(), ApiError> {
    let mut after: BTreeMap<&str, &QuotaConfig> = master
        .state
        .quotas()
        .iter()
        .map(|(role, c)| (role.as_str(), c))
        .collect();
    for c in updates {
        after.insert(&c.role, c);
    }
    let mut guaranteed: BTreeMap<&str, i64> = BTreeMap::new();
    for c in after.values() {
        for (name, m) in &c.guarantees {
            *guaranteed.entry(name).or_default() += m.0;
        }
    }
    let capacity = capacity(master);
    let short: Vec<String> = guaranteed
        .iter()
        .filter(|(name, g)| **g > capacity.get(**name).copied().unwrap_or(0))
        .map(|(name, g)| {
            format!(
                "{name}: {} guaranteed, {} in the cluster",
                Milli(*g).as_f64(),
                Milli(capacity.get(*name).copied().unwrap_or(0)).as_f64()
            )
        })
        .collect();
    if short.is_empty() {
        return Ok(());
    }
    Err(ApiError::Conflict(format!(
        "Total quota guarantees exceed the cluster's capacity ({}); use 'force' to bypass this check",
        short.join(", ")
    )))
}

fn allowed_roles<'a>(master: &MasterView<'a>) -> Option<&'a [String]> {
    master.flags.roles.as_deref()
}

/// `UPDATE_QUOTA`: every config checked, then the capacity unless `force`.
pub fn check_update(
    master: &MasterView<'_>,
    force: bool,
    configs: Vec<QuotaConfig>,
) -> Result<Vec<QuotaConfig>, ApiError> {
    for (i, c) in configs.iter().enumerate() {
        validate_config(c, allowed_roles(master))?;
        if configs[..i].iter().any(|o| o.role == c.role) {
            return Err(bad(format!(
                "Invalid UPDATE_QUOTA: role '{}' is configured twice",
                c.role
            )));
        }
    }
    if !force {
        check_capacity(master, &configs)?;
    }
    Ok(configs)
}

/// `SET_QUOTA` / `POST /quota`: as Mesos, only for a role with no quota.
pub fn check_set(
    master: &MasterView<'_>,
    force: bool,
    config: QuotaConfig,
) -> Result<Vec<QuotaConfig>, ApiError> {
    validate_config(&config, allowed_roles(master))?;
    if master.state.quotas().contains_key(&config.role) {
        return Err(bad(format!(
            "Failed to validate set quota request: cannot set quota for role '{}' which already has quota",
            config.role
        )));
    }
    check_update(master, force, vec![config])
}

/// `REMOVE_QUOTA` / `DELETE /quota/<role>`: the role's quota becomes the
/// default.
pub fn check_remove(master: &MasterView<'_>, role: &str) -> Result<Vec<QuotaConfig>, ApiError> {
    validate_role(role, None)?;
    if !master.state.quotas().contains_key(role) {
        return Err(bad(format!(
            "Failed to validate remove quota request for role '{role}': no quota is set for this role"
        )));
    }
    Ok(vec![QuotaConfig {
        role: role.to_owned(),
        ..QuotaConfig::default()
    }])
}

/// What a request to `/quota` comes to.
pub enum Endpoint {
    /// Answered already (the status, a redirect, a refusal).
    Reply(Reply),
    /// Checked quotas to apply.
    Update(Vec<QuotaConfig>),
}

/// `/quota` (and `/master/quota`): `GET` the status, `POST` a
/// `QuotaRequest`, `DELETE /quota/<role>`.
pub fn endpoint(master: &MasterView<'_>, req: &Request) -> Endpoint {
    if let Some(redirect) = leader_only(master, req) {
        return Endpoint::Reply(redirect);
    }
    if !master.recovered {
        return Endpoint::Reply(
            ApiError::Unavailable("Master has not finished recovery".into()).reply(),
        );
    }
    let outcome = match req.method {
        Method::GET => return Endpoint::Reply(json_reply(req, status_json(master.state.quotas()))),
        Method::POST => serde_json::from_slice::<Value>(&req.body)
            .map_err(|e| bad(format!("Failed to parse the quota request JSON: {e}")))
            .and_then(|v| match v {
                Value::Object(m) => parse_request(&m),
                _ => Err(bad("The quota request must be a JSON object")),
            })
            .and_then(|(force, config)| check_set(master, force, config)),
        Method::DELETE => match req.path.trim_end_matches('/').split_once("/quota/") {
            Some((_, role)) if !role.is_empty() => check_remove(master, role),
            _ => Err(bad("Expecting a role: 'DELETE /quota/<role>'")),
        },
        ref other => {
            return Endpoint::Reply(Reply::Now(actors::http::Response::text(
                actors::http::StatusCode::METHOD_NOT_ALLOWED,
                format!("Expecting 'GET', 'POST' or 'DELETE', received '{other}'"),
            )))
        }
    };
    match outcome {
        Ok(configs) => Endpoint::Update(configs),
        Err(e) => Endpoint::Reply(e.reply()),
    }
}

/// The registry operation that stores `configs`.
pub fn registry_operation(configs: &[QuotaConfig]) -> RegistryOp {
    RegistryOp::UpdateQuota(configs.to_vec())
}

fn scalars_json(amounts: &BTreeMap<String, Milli>) -> Value {
    Value::Object(
        amounts
            .iter()
            .map(|(n, m)| (n.clone(), json!({ "value": m.as_f64() })))
            .collect(),
    )
}

/// `QuotaConfig` as the v1 API writes it.
pub fn config_json(c: &QuotaConfig) -> Value {
    let mut m = Map::new();
    m.insert("role".into(), json!(c.role));
    if !c.guarantees.is_empty() {
        m.insert("guarantees".into(), scalars_json(&c.guarantees));
    }
    if !c.limits.is_empty() {
        m.insert("limits".into(), scalars_json(&c.limits));
    }
    Value::Object(m)
}

/// `QuotaStatus`: the deprecated `infos` (roles with guarantees, as
/// `QuotaInfo {role, guarantee: [Resource]}`) and the `configs`.
pub fn status_json(quotas: &BTreeMap<String, QuotaConfig>) -> Value {
    let infos: Vec<Value> = quotas
        .values()
        .filter(|c| !c.guarantees.is_empty())
        .map(|c| {
            let guarantee: Vec<Value> = c
                .guarantees
                .iter()
                .map(|(n, m)| {
                    json!({"name": n, "type": "SCALAR", "scalar": {"value": m.as_f64()}, "role": "*"})
                })
                .collect();
            json!({"role": c.role, "guarantee": guarantee})
        })
        .collect();
    let configs: Vec<Value> = quotas.values().map(config_json).collect();
    json!({ "infos": infos, "configs": configs })
}

/// A role's `quota` in `/roles`: `{role, guarantee, limit, consumed}`,
/// amounts by resource name.
pub fn role_quota_json(role: &str, quota: Option<&QuotaConfig>, consumed: Value) -> Value {
    let plain = |a: Option<&BTreeMap<String, Milli>>| -> Value {
        Value::Object(
            a.into_iter()
                .flatten()
                .map(|(n, m)| (n.clone(), json!(m.as_f64())))
                .collect(),
        )
    };
    json!({
        "role": role,
        "guarantee": plain(quota.map(|q| &q.guarantees)),
        "limit": plain(quota.map(|q| &q.limits)),
        "consumed": consumed,
    })
}

impl Core {
    /// New quotas for the roles named (a default config removes one): kept
    /// in the records and told to the allocator. The process writes them
    /// to the registry ([`registry_operation`]) and answers the operator
    /// once they are stored, as Mesos does.
    pub fn update_quota(&mut self, configs: Vec<QuotaConfig>, out: &mut Effects) {
        let roles: Vec<&str> = configs.iter().map(|c| c.role.as_str()).collect();
        tracing::info!(?roles, "updating quota at an operator's request");
        for c in &configs {
            self.state.set_quota(c.clone());
        }
        out.allocator(AllocatorCall::UpdateQuota(configs));
    }

    /// The quotas of a recovered registry, into the records.
    pub(super) fn recover_quota(&mut self, registry: &Registry) {
        for c in &registry.quota_configs {
            self.state.set_quota(c.clone());
        }
    }

    /// After recovery, the allocator learns the recovered quotas.
    pub fn announce_quota(&self, out: &mut Effects) {
        let configs: Vec<QuotaConfig> = self.state.quotas().values().cloned().collect();
        if !configs.is_empty() {
            out.allocator(AllocatorCall::UpdateQuota(configs));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text).unwrap() {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn update_quota_payloads_are_read_or_refused() {
        let ok = parse_update(&map(
            r#"{"force":true,"quota_configs":[{"role":"dev","guarantees":{"cpus":{"value":1}},"limits":{"cpus":{"value":2.5},"mem":{"value":64}}}]}"#,
        ))
        .unwrap();
        assert!(ok.0);
        assert_eq!(ok.1[0].role, "dev");
        assert_eq!(ok.1[0].guarantees["cpus"], Milli(1000));
        assert_eq!(ok.1[0].limits["cpus"], Milli(2500));
        let refused = [
            (r#"{"quota_configs":{}}"#, "must be an array"),
            (r#"{"quota_configs":[{"guarantees":{}}]}"#, "role"),
            (
                r#"{"quota_configs":[{"role":"a","guarantees":{"cpus":{"value":-1}}}]}"#,
                "negative",
            ),
            (
                r#"{"quota_configs":[{"role":"a","limits":{"ports":{"ranges":{}}}}]}"#,
                "must be a scalar",
            ),
            (r#"{"force":"yes"}"#, "boolean"),
        ];
        for (body, text) in refused {
            let e = parse_update(&map(body)).unwrap_err();
            assert_eq!(e.status().as_u16(), 400, "{body}");
            assert!(e.to_string().contains(text), "{body}: {e}");
        }
    }

    #[test]
    fn quota_requests_set_guarantee_and_limit_alike() {
        let (force, c) = parse_request(&map(
            r#"{"role":"dev","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":2}}]}"#,
        ))
        .unwrap();
        assert!(!force);
        assert_eq!(c.guarantees, c.limits);
        let refused = [
            r#"{"role":"dev","guarantee":[]}"#,
            r#"{"role":"dev","guarantee":[{"name":"ports","type":"RANGES","ranges":{"range":[]}}]}"#,
            r#"{"role":"dev","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"dev"}]}"#,
            r#"{"role":"dev","guarantee":[{"name":"cpus","scalar":{"value":1}},{"name":"cpus","scalar":{"value":1}}]}"#,
            r#"{"guarantee":[{"name":"cpus","scalar":{"value":1}}]}"#,
        ];
        for body in refused {
            assert!(parse_request(&map(body)).is_err(), "{body}");
        }
    }

    #[test]
    fn roles_and_configs_are_checked_as_mesos_checks_them() {
        let cfg = |role: &str, g: i64, l: Option<i64>| QuotaConfig {
            role: role.into(),
            guarantees: BTreeMap::from([("cpus".to_string(), Milli(g))]),
            limits: l
                .map(|l| BTreeMap::from([("cpus".to_string(), Milli(l))]))
                .unwrap_or_default(),
        };
        let allowed = ["dev".to_string(), "eng/web".to_string()];
        let cases: [(QuotaConfig, Option<&[String]>, bool); 9] = [
            (cfg("dev", 1000, Some(2000)), None, true),
            (cfg("dev", 1000, None), None, true),
            (cfg("dev", 2000, Some(2000)), None, true),
            (cfg("dev", 3000, Some(2000)), None, false),
            (cfg("*", 1000, None), None, false),
            (cfg("-x", 1000, None), None, false),
            (cfg("a b", 1000, None), None, false),
            (cfg("eng/web", 1000, None), Some(&allowed), true),
            (cfg("ops", 1000, None), Some(&allowed), false),
        ];
        for (c, allowed, ok) in cases {
            assert_eq!(validate_config(&c, allowed).is_ok(), ok, "{c:?}");
        }
    }

    #[test]
    fn quota_is_recorded_told_to_the_allocator_and_recovered() {
        use crate::master::core::fixture::core;
        use crate::master::effects::Effect;
        let config = QuotaConfig {
            role: "dev".into(),
            guarantees: BTreeMap::from([("cpus".to_string(), Milli(1000))]),
            limits: BTreeMap::new(),
        };
        let mut c = core(|_| {});
        let mut out = Effects::default();
        c.update_quota(vec![config.clone()], &mut out);
        assert_eq!(c.state().quotas().get("dev"), Some(&config));
        let mut registry = Registry::default();
        registry_operation(std::slice::from_ref(&config))
            .apply(&mut registry)
            .unwrap();
        assert!(out
            .iter()
            .any(|e| matches!(e, Effect::Allocator(AllocatorCall::UpdateQuota(q)) if q.as_slice() == std::slice::from_ref(&config))));
        // A new master recovers it from the registry and tells its allocator.
        let mut next = core(|_| {});
        next.registry_recovered(registry);
        assert_eq!(next.state().quotas().get("dev"), Some(&config));
        let mut out = Effects::default();
        next.announce_quota(&mut out);
        assert!(out
            .iter()
            .any(|e| matches!(e, Effect::Allocator(AllocatorCall::UpdateQuota(q)) if q.as_slice() == std::slice::from_ref(&config))));
    }

    #[test]
    fn status_lists_infos_for_guarantees_and_every_config() {
        let mut quotas = BTreeMap::new();
        quotas.insert(
            "dev".to_string(),
            QuotaConfig {
                role: "dev".into(),
                guarantees: BTreeMap::from([("cpus".to_string(), Milli(1000))]),
                limits: BTreeMap::from([("cpus".to_string(), Milli(2000))]),
            },
        );
        quotas.insert(
            "ops".to_string(),
            QuotaConfig {
                role: "ops".into(),
                guarantees: BTreeMap::new(),
                limits: BTreeMap::from([("mem".to_string(), Milli(64000))]),
            },
        );
        let status = status_json(&quotas);
        assert_eq!(
            status["infos"],
            json!([{"role":"dev","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":1.0},"role":"*"}]}])
        );
        assert_eq!(
            status["configs"],
            json!([
                {"role":"dev","guarantees":{"cpus":{"value":1.0}},"limits":{"cpus":{"value":2.0}}},
                {"role":"ops","limits":{"mem":{"value":64.0}}}
            ])
        );
    }
}
