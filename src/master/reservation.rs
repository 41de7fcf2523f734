//! Reservation and volume operations as Mesos validates and applies them:
//! RESERVE, UNRESERVE, CREATE and DESTROY, whether asked for in an ACCEPT
//! or by an operator. Pure functions over [`Resources`]: [`validate`]
//! checks an operation on its own (who may reserve what, dynamic
//! reservations only, well-formed volumes) and [`apply`] computes an
//! agent's new total, refusing what the agent does not have.

use std::collections::BTreeSet;

use wire::resources::{DiskInfo, ReservationKind, Resource, Resources, UNRESERVED};

/// An operation on reservations or volumes.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceOp {
    /// Push the innermost reservation of each resource onto what it sits on.
    Reserve(Resources),
    /// Pop the innermost (dynamic) reservation of each resource.
    Unreserve(Resources),
    /// Make each disk a persistent volume.
    Create(Resources),
    /// Turn each persistent volume back into plain disk.
    Destroy(Resources),
    /// Make a volume bigger by `addition`, plain disk of the same
    /// reservation.
    Grow {
        volume: Box<Resource>,
        addition: Box<Resource>,
    },
    /// Make a volume smaller by `subtract` MB, which becomes plain disk of
    /// the same reservation.
    Shrink {
        volume: Box<Resource>,
        subtract: f64,
    },
}

impl ResourceOp {
    /// Mesos's name of the operation.
    pub fn name(&self) -> &'static str {
        match self {
            ResourceOp::Reserve(_) => "RESERVE",
            ResourceOp::Unreserve(_) => "UNRESERVE",
            ResourceOp::Create(_) => "CREATE",
            ResourceOp::Destroy(_) => "DESTROY",
            ResourceOp::Grow { .. } => "GROW_VOLUME",
            ResourceOp::Shrink { .. } => "SHRINK_VOLUME",
        }
    }
}

/// Why an operation is refused; the text is what the caller answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// The request itself is wrong (400 for an operator).
    #[error("{0}")]
    Invalid(String),
    /// The agent does not have what the operation needs (409 for an
    /// operator).
    #[error("{0}")]
    Unavailable(String),
}

/// Who asks: the authenticated principal, if any, and for a framework its
/// roles (an operator may reserve for any role).
#[derive(Debug, Clone, Default)]
pub struct Requester<'a> {
    pub principal: Option<&'a str>,
    pub framework_roles: Option<&'a [String]>,
}

fn invalid(msg: String) -> Result<(), OpError> {
    Err(OpError::Invalid(msg))
}

/// Checks `op` as Mesos's operation validation does.
pub fn validate(op: &ResourceOp, who: &Requester<'_>) -> Result<(), OpError> {
    match op {
        ResourceOp::Reserve(rs) => validate_reserve(rs, who),
        ResourceOp::Unreserve(rs) => validate_unreserve(rs),
        ResourceOp::Create(rs) => validate_create(rs, who),
        ResourceOp::Destroy(rs) => validate_destroy(rs),
        ResourceOp::Grow { volume, addition } => validate_grow(volume, addition),
        ResourceOp::Shrink { volume, subtract } => validate_shrink(volume, *subtract),
    }
}

fn scalar_of(r: &Resource) -> Option<f64> {
    match r.value {
        wire::resources::Value::Scalar(m) => Some(m.as_f64()),
        _ => None,
    }
}

fn validate_grow(volume: &Resource, addition: &Resource) -> Result<(), OpError> {
    if !volume.is_persistent_volume() {
        return invalid(
            "Invalid GROW_VOLUME operation: 'volume' is not a persistent volume".into(),
        );
    }
    if addition.name != "disk"
        || addition
            .disk
            .as_ref()
            .is_some_and(|d| d.persistence.is_some())
    {
        return invalid(
            "Invalid GROW_VOLUME operation: 'addition' must be disk that is not a volume".into(),
        );
    }
    if !scalar_of(addition).is_some_and(|v| v > 0.0) {
        return invalid("Invalid GROW_VOLUME operation: 'addition' must be positive".into());
    }
    if addition.reservations != volume.reservations {
        return invalid(
            "Invalid GROW_VOLUME operation: 'addition' must have the reservations of the volume"
                .into(),
        );
    }
    Ok(())
}

fn validate_shrink(volume: &Resource, subtract: f64) -> Result<(), OpError> {
    if !volume.is_persistent_volume() {
        return invalid(
            "Invalid SHRINK_VOLUME operation: 'volume' is not a persistent volume".into(),
        );
    }
    let size = scalar_of(volume).unwrap_or_default();
    if !(subtract > 0.0 && subtract < size) {
        return invalid(format!(
            "Invalid SHRINK_VOLUME operation: 'subtract' must be more than 0 and less than the \
             volume's {size}"
        ));
    }
    Ok(())
}

fn validate_reserve(rs: &Resources, who: &Requester<'_>) -> Result<(), OpError> {
    if rs.is_empty() {
        return invalid("Invalid RESERVE operation: no resources to reserve".to_owned());
    }
    for r in rs.iter() {
        let Some(top) = r.reservations.last() else {
            return invalid(format!(
                "Invalid RESERVE operation: resource '{}' is not reserved for a role",
                r.name
            ));
        };
        if top.kind != ReservationKind::Dynamic {
            return invalid(format!(
                "Invalid RESERVE operation: the reservation of '{}' for role '{}' must be DYNAMIC",
                r.name, top.role
            ));
        }
        if top.role == UNRESERVED {
            return invalid("Invalid RESERVE operation: cannot reserve for role '*'".to_owned());
        }
        if r.is_persistent_volume() {
            return invalid(format!(
                "Invalid RESERVE operation: persistent volume '{}' cannot be reserved",
                r.persistence().map_or("", |p| p.id.as_str())
            ));
        }
        // As in Mesos, a principal is checked only when the caller has
        // one (authentication on); without, any principal may be named.
        if let Some(p) = who.principal {
            match top.principal.as_deref() {
                Some(q) if q != p => {
                    return invalid(format!(
                        "A reserve operation was attempted by authenticated principal '{p}', \
                         which does not match a reserved resource in the request with \
                         principal '{q}'"
                    ))
                }
                None => {
                    return invalid(format!(
                        "A reserve operation was attempted by authenticated principal '{p}', \
                         but a reserved resource in the request has no principal"
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(roles) = who.framework_roles {
            if !roles.contains(&top.role) {
                return invalid(format!(
                    "A reserve operation was attempted for a resource with role '{}', but the \
                     framework can only reserve resources with roles {}",
                    top.role,
                    roles.join(", ")
                ));
            }
        }
    }
    Ok(())
}

fn validate_unreserve(rs: &Resources) -> Result<(), OpError> {
    if rs.is_empty() {
        return invalid("Invalid UNRESERVE operation: no resources to unreserve".to_owned());
    }
    for r in rs.iter() {
        if !r.is_dynamically_reserved() {
            return invalid(format!(
                "Invalid UNRESERVE operation: resource '{}' of role '{}' is not dynamically \
                 reserved",
                r.name, r.role
            ));
        }
        if r.is_persistent_volume() {
            return invalid(format!(
                "Invalid UNRESERVE operation: a dynamically reserved persistent volume '{}' \
                 cannot be unreserved",
                r.persistence().map_or("", |p| p.id.as_str())
            ));
        }
    }
    Ok(())
}

fn validate_create(rs: &Resources, who: &Requester<'_>) -> Result<(), OpError> {
    if rs.is_empty() {
        return invalid("Invalid CREATE operation: no volumes to create".to_owned());
    }
    let mut ids = BTreeSet::new();
    for r in rs.iter() {
        if r.name != "disk" {
            return invalid(format!(
                "Invalid CREATE operation: only 'disk' becomes a volume, not '{}'",
                r.name
            ));
        }
        let Some(p) = r.persistence() else {
            return invalid(
                "Invalid CREATE operation: a volume needs disk.persistence with an id".to_owned(),
            );
        };
        if r.disk.as_ref().and_then(|d| d.volume.as_ref()).is_none() {
            return invalid(format!(
                "Invalid CREATE operation: volume '{}' needs disk.volume with a container_path",
                p.id
            ));
        }
        if !r.is_reserved() {
            return invalid(format!(
                "Invalid CREATE operation: persistent volume '{}' cannot be created from \
                 unreserved resources",
                p.id
            ));
        }
        if !ids.insert((r.role.clone(), p.id.clone())) {
            return invalid(format!(
                "Invalid CREATE operation: persistence id '{}' appears twice for role '{}'",
                p.id, r.role
            ));
        }
        if let (Some(me), Some(theirs)) = (who.principal, p.principal.as_deref()) {
            if me != theirs {
                return invalid(format!(
                    "A create operation was attempted by authenticated principal '{me}', which \
                     does not match a persistent volume in the request with principal '{theirs}'"
                ));
            }
        }
        if let Some(roles) = who.framework_roles {
            if !roles.iter().any(|x| r.allocatable_to(x)) {
                return invalid(format!(
                    "Invalid CREATE operation: volume '{}' of role '{}' is not in the \
                     framework's roles {}",
                    p.id,
                    r.role,
                    roles.join(", ")
                ));
            }
        }
    }
    Ok(())
}

fn validate_destroy(rs: &Resources) -> Result<(), OpError> {
    if rs.is_empty() {
        return invalid("Invalid DESTROY operation: no volumes to destroy".to_owned());
    }
    for r in rs.iter() {
        if !r.is_persistent_volume() {
            return invalid(format!(
                "Invalid DESTROY operation: resource '{}' is not a persistent volume",
                r.name
            ));
        }
    }
    Ok(())
}

fn one(r: Resource) -> Resources {
    let mut out = Resources::new();
    // A single resource cannot clash with itself.
    let _ = out.add(r);
    out
}

/// What a volume was made from: the same disk without persistence and
/// volume (a disk source stays).
fn plain_disk(r: &Resource) -> Resource {
    let source = r.disk.as_ref().and_then(|d| d.source.clone());
    r.clone().with_disk(source.map(|s| DiskInfo {
        persistence: None,
        volume: None,
        source: Some(s),
    }))
}

/// The total of an agent after `op` (which the caller has validated), or why the agent
/// cannot take it.
pub fn apply(total: &Resources, op: &ResourceOp) -> Result<Resources, OpError> {
    let (from, to) = match op {
        ResourceOp::Grow { volume, addition } => {
            let size =
                scalar_of(volume).unwrap_or_default() + scalar_of(addition).unwrap_or_default();
            let grown = Resource::clone(volume).with_size(size);
            (
                one(Resource::clone(volume)).plus(&one(Resource::clone(addition))),
                one(grown),
            )
        }
        ResourceOp::Shrink { volume, subtract } => {
            let size = scalar_of(volume).unwrap_or_default() - subtract;
            let freed = plain_disk(volume).with_size(*subtract);
            (
                one(Resource::clone(volume)),
                one(Resource::clone(volume).with_size(size)).plus(&one(freed)),
            )
        }
        _ => return apply_each(total, op),
    };
    if !total.contains(&from) {
        return Err(OpError::Unavailable(format!(
            "Insufficient resources: the agent does not have {from} available for this operation"
        )));
    }
    Ok(total.minus(&from).plus(&to))
}

fn apply_each(total: &Resources, op: &ResourceOp) -> Result<Resources, OpError> {
    let mut out = total.clone();
    type Map = fn(&Resource) -> Resource;
    let (list, from, to): (&Resources, Map, Map) = match op {
        ResourceOp::Reserve(rs) => (rs, |r| r.clone().pop_reservation(), Resource::clone),
        ResourceOp::Unreserve(rs) => (rs, Resource::clone, |r| r.clone().pop_reservation()),
        ResourceOp::Create(rs) => (rs, plain_disk, Resource::clone),
        ResourceOp::Destroy(rs) => (rs, Resource::clone, plain_disk),
        ResourceOp::Grow { .. } | ResourceOp::Shrink { .. } => return Ok(out),
    };
    for r in list.iter() {
        let needed = one(from(r));
        if !out.contains(&needed) {
            return Err(OpError::Unavailable(format!(
                "Insufficient resources: the agent does not have {needed} available for this \
                 operation"
            )));
        }
        if let ResourceOp::Create(_) = op {
            if let Some(p) = r.persistence() {
                let clash = out
                    .persistent_volumes()
                    .iter()
                    .any(|v| v.role == r.role && v.persistence().is_some_and(|q| q.id == p.id));
                if clash {
                    return Err(OpError::Unavailable(format!(
                        "Persistent volume '{}' already exists for role '{}'",
                        p.id, r.role
                    )));
                }
            }
        }
        out = out.minus(&needed).plus(&one(to(r)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use wire::resources::{Persistence, Reservation, Volume, VolumeMode};

    use super::*;

    fn res(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    fn dynamic(text: &str, role: &str, principal: Option<&str>) -> Resources {
        let mut out = Resources::new();
        for r in res(text).iter() {
            out.add(
                r.clone()
                    .push_reservation(Reservation::dynamic(role, principal)),
            )
            .unwrap();
        }
        out
    }

    fn volume(mb: f64, role: &str, id: &str) -> Resource {
        Resource::scalar("disk", mb)
            .with_role("*")
            .push_reservation(Reservation::dynamic(role, Some("ops")))
            .with_disk(Some(DiskInfo {
                persistence: Some(Persistence {
                    id: id.to_owned(),
                    principal: Some("ops".to_owned()),
                }),
                volume: Some(Volume {
                    container_path: "data".to_owned(),
                    mode: VolumeMode::Rw,
                }),
                source: None,
            }))
    }

    #[test]
    fn validation_refuses_as_mesos_does() {
        let roles = vec!["web".to_owned()];
        let framework = Requester {
            principal: Some("ops"),
            framework_roles: Some(&roles),
        };
        let operator = Requester {
            principal: None,
            framework_roles: None,
        };
        let cases: Vec<(ResourceOp, &Requester<'_>, Option<&str>)> = vec![
            (
                ResourceOp::Reserve(dynamic("cpus:1", "web", Some("ops"))),
                &framework,
                None,
            ),
            (
                ResourceOp::Reserve(dynamic("cpus:1", "db", None)),
                &operator,
                None,
            ),
            (
                ResourceOp::Reserve(res("cpus:1")),
                &framework,
                Some("is not reserved"),
            ),
            (
                ResourceOp::Reserve(res("cpus(web):1")),
                &framework,
                Some("must be DYNAMIC"),
            ),
            (
                ResourceOp::Reserve(dynamic("cpus:1", "web", Some("eve"))),
                &framework,
                Some("does not match"),
            ),
            (
                ResourceOp::Reserve(dynamic("cpus:1", "web", Some("ops"))),
                &operator,
                None,
            ),
            (
                ResourceOp::Reserve(dynamic("cpus:1", "web", None)),
                &framework,
                Some("has no principal"),
            ),
            (
                ResourceOp::Reserve(dynamic("cpus:1", "db", Some("ops"))),
                &framework,
                Some("can only reserve resources with roles web"),
            ),
            (
                ResourceOp::Reserve(Resources::new()),
                &operator,
                Some("no resources"),
            ),
            (
                ResourceOp::Unreserve(dynamic("mem:8", "web", None)),
                &operator,
                None,
            ),
            (
                ResourceOp::Unreserve(res("mem(web):8")),
                &operator,
                Some("not dynamically"),
            ),
            (
                ResourceOp::Unreserve(one(volume(8.0, "web", "v"))),
                &operator,
                Some("cannot be unreserved"),
            ),
            (
                ResourceOp::Create(one(volume(8.0, "web", "v"))),
                &framework,
                None,
            ),
            (
                ResourceOp::Create(dynamic("mem:8", "web", None)),
                &framework,
                Some("only 'disk'"),
            ),
            (
                ResourceOp::Create(dynamic("disk:8", "web", None)),
                &framework,
                Some("persistence"),
            ),
            (
                ResourceOp::Create(one(volume(8.0, "db", "v"))),
                &framework,
                Some("not in the framework's roles"),
            ),
            (
                ResourceOp::Destroy(one(volume(8.0, "web", "v"))),
                &operator,
                None,
            ),
            (
                ResourceOp::Destroy(dynamic("disk:8", "web", None)),
                &operator,
                Some("not a persistent volume"),
            ),
        ];
        for (op, who, want) in cases {
            let got = validate(&op, who);
            match want {
                None => assert_eq!(got, Ok(()), "{op:?}"),
                Some(text) => {
                    let err = got.unwrap_err();
                    assert!(matches!(err, OpError::Invalid(_)), "{op:?}");
                    assert!(err.to_string().contains(text), "{op:?}: {err}");
                }
            }
        }
    }

    #[test]
    fn reserve_and_unreserve_move_resources_between_roles() {
        let total = res("cpus:4;mem:1024;disk:100");
        let reserve = ResourceOp::Reserve(dynamic("cpus:1;mem:256", "web", Some("ops")));
        let after = apply(&total, &reserve).unwrap();
        assert_eq!(after.unreserved(), res("cpus:3;mem:768;disk:100"));
        assert_eq!(after.reserved_by_role()["web"].scalar("cpus"), 1.0);
        assert!(after.allocatable_to("web/api").scalar("mem") == 1024.0);
        assert!(after.allocatable_to("db").scalar("mem") == 768.0);
        // A refinement takes from the parent's reservation.
        let mut refined = Resources::new();
        for r in dynamic("cpus:1", "web", Some("ops")).iter() {
            refined
                .add(
                    r.clone()
                        .push_reservation(Reservation::dynamic("web/api", None)),
                )
                .unwrap();
        }
        let deeper = apply(&after, &ResourceOp::Reserve(refined.clone())).unwrap();
        assert_eq!(deeper.reserved_by_role()["web/api"].scalar("cpus"), 1.0);
        assert!(!deeper.reserved_by_role()["web"]
            .iter()
            .any(|r| r.name == "cpus"));
        // More than is there, or from a role that has none: refused.
        let greedy = ResourceOp::Reserve(dynamic("cpus:5", "web", None));
        assert!(matches!(
            apply(&total, &greedy),
            Err(OpError::Unavailable(_))
        ));
        assert!(matches!(
            apply(&total, &ResourceOp::Reserve(refined)),
            Err(OpError::Unavailable(_))
        ));
        let back = apply(
            &deeper,
            &ResourceOp::Unreserve(deeper.filter(|r| r.role == "web/api")),
        )
        .unwrap();
        let back = apply(
            &back,
            &ResourceOp::Unreserve(back.filter(Resource::is_reserved)),
        )
        .unwrap();
        assert_eq!(back, total);
    }

    #[test]
    fn volumes_are_made_from_reserved_disk_and_given_back() {
        let total = dynamic("disk:100", "web", Some("ops")).plus(&res("cpus:1"));
        let vol = one(volume(40.0, "web", "v1"));
        let with = apply(&total, &ResourceOp::Create(vol.clone())).unwrap();
        assert_eq!(with.persistent_volumes(), vol);
        assert_eq!(with.filter(|r| r.name == "disk").scalar("disk"), 100.0);
        assert!(matches!(
            apply(&with, &ResourceOp::Create(vol.clone())),
            Err(OpError::Unavailable(_))
        ));
        assert!(matches!(
            apply(&total, &ResourceOp::Create(one(volume(200.0, "web", "v2")))),
            Err(OpError::Unavailable(_))
        ));
        assert!(matches!(
            apply(&total, &ResourceOp::Destroy(vol.clone())),
            Err(OpError::Unavailable(_))
        ));
        assert_eq!(apply(&with, &ResourceOp::Destroy(vol)).unwrap(), total);
    }

    #[test]
    fn volumes_grow_from_and_shrink_into_their_reservation() {
        let total = dynamic("disk:100", "web", Some("ops"));
        let vol = volume(40.0, "web", "v1");
        let with = apply(&total, &ResourceOp::Create(one(vol.clone()))).unwrap();
        let addition = dynamic("disk:20", "web", Some("ops"))
            .iter()
            .next()
            .cloned()
            .unwrap();
        let grow = ResourceOp::Grow {
            volume: Box::new(vol.clone()),
            addition: Box::new(addition.clone()),
        };
        assert_eq!(validate(&grow, &Requester::default()), Ok(()));
        let grown = apply(&with, &grow).unwrap();
        assert_eq!(grown.persistent_volumes().scalar("disk"), 60.0);
        assert_eq!(grown.scalar("disk"), 100.0);
        let too_big = ResourceOp::Grow {
            volume: Box::new(vol.clone()),
            addition: Box::new(addition.clone().with_size(80.0)),
        };
        assert!(matches!(
            apply(&with, &too_big),
            Err(OpError::Unavailable(_))
        ));
        let shrink = ResourceOp::Shrink {
            volume: Box::new(vol.clone().with_size(60.0)),
            subtract: 50.0,
        };
        let small = apply(&grown, &shrink).unwrap();
        assert_eq!(small.persistent_volumes().scalar("disk"), 10.0);
        assert_eq!(small.scalar("disk"), 100.0);
        for (op, text) in [
            (
                ResourceOp::Shrink {
                    volume: Box::new(vol.clone()),
                    subtract: 40.0,
                },
                "less than",
            ),
            (
                ResourceOp::Grow {
                    volume: Box::new(addition.clone()),
                    addition: Box::new(addition.clone()),
                },
                "not a persistent volume",
            ),
            (
                ResourceOp::Grow {
                    volume: Box::new(vol.clone()),
                    addition: Box::new(Resource::scalar("disk", 5.0)),
                },
                "reservations of the volume",
            ),
        ] {
            let err = validate(&op, &Requester::default()).unwrap_err();
            assert!(err.to_string().contains(text), "{op:?}: {err}");
        }
    }
}
