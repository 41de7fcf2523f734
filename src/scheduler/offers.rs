//! Choosing the resources of a task out of an offer: the small piece of
//! offer arithmetic every framework needs (Mesos's `Resources::find`, as
//! `mesos-execute` uses it).

use wire::resources::{Resource, Resources, UNRESERVED};

/// Picks resources for a task from an offer: each wanted resource (written
/// for role `*`) is taken from the part reserved for `role` when that holds
/// all of it, otherwise from the unreserved part (as `mesos-execute` takes
/// from its role first). `None` when the offer cannot hold it.
pub fn pick_resources(offered: &Resources, wanted: &Resources, role: &str) -> Option<Resources> {
    let mut left = offered.clone();
    let mut picked = Resources::new();
    for r in wanted.iter() {
        let mut candidates = Vec::with_capacity(2);
        if role != UNRESERVED {
            candidates.push(r.clone().with_role(role));
        }
        candidates.push(r.clone().with_role(UNRESERVED));
        let one = |c: &Resource| {
            let mut single = Resources::new();
            single.add(c.clone()).ok().map(|_| single)
        };
        let chosen = candidates
            .iter()
            .filter_map(one)
            .find(|single| left.contains(single))?;
        left = left.minus(&chosen);
        picked = picked.plus(&chosen);
    }
    Some(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    #[test]
    fn resources_come_from_the_role_first_then_unreserved() {
        let offered = res("cpus(web):1;cpus:4;mem:512");
        assert_eq!(
            pick_resources(&offered, &res("cpus:1;mem:128"), "web"),
            Some(res("cpus(web):1;mem:128"))
        );
        assert_eq!(
            pick_resources(&offered, &res("cpus:2;mem:128"), "web"),
            Some(res("cpus:2;mem:128"))
        );
        assert_eq!(
            pick_resources(&offered, &res("cpus:1;mem:128"), "*"),
            Some(res("cpus:1;mem:128"))
        );
        assert_eq!(pick_resources(&offered, &res("mem:1024"), "*"), None);
        assert_eq!(pick_resources(&offered, &res("gpus:1"), "*"), None);
    }
}
