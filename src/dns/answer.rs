//! What to answer a query with, as Mesos-DNS's resolver decides it: names
//! inside the domain from the record set (authoritative, shuffled, SOA in
//! the authority section for NXDOMAIN and NODATA), others forwarded to
//! the zone's or the default resolvers, `SERVFAIL` before the first load;
//! and fitting a reply into the client's size with the TC bit. Pure: the
//! server does the sockets.

use std::net::SocketAddr;
use std::str::FromStr;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, NS, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::config::Config;
use super::Loaded;

/// The smallest UDP size every client takes (RFC 1035 2.3.4).
pub const MIN_UDP_SIZE: usize = 512;

/// What the server does with a query.
#[derive(Debug)]
pub enum Decision {
    Reply(Message),
    /// Outside the domain: relay to these upstreams, in order.
    Forward(Vec<SocketAddr>),
}

/// A reply to `request` with the header copied over.
fn reply_to(request: &Message, config: &Config) -> Message {
    let mut m = Message::new();
    m.set_id(request.id())
        .set_message_type(MessageType::Response)
        .set_op_code(request.op_code())
        .set_recursion_desired(request.recursion_desired())
        .set_recursion_available(config.recurse_on)
        .add_queries(request.queries().iter().cloned());
    m
}

/// An error reply (`FORMERR`, `SERVFAIL`, `REFUSED`, ...).
pub fn error_reply(request: &Message, config: &Config, rcode: ResponseCode) -> Message {
    let mut m = reply_to(request, config);
    m.set_response_code(rcode);
    m
}

/// `FORMERR` for a packet that did not decode, when its id can be read.
pub fn format_error(packet: &[u8]) -> Option<Vec<u8>> {
    let id = u16::from_be_bytes([*packet.first()?, *packet.get(1)?]);
    let mut m = Message::error_msg(id, OpCode::Query, ResponseCode::FormErr);
    m.set_message_type(MessageType::Response);
    m.to_vec().ok()
}

/// The lowercase question name with a trailing dot and `.*` removed.
fn clean_name(query: &Query) -> String {
    let mut name = query.name().to_ascii().to_ascii_lowercase();
    if !name.ends_with('.') {
        name.push('.');
    }
    name.replace(".*", "")
}

fn in_zone(name: &str, zone: &str) -> bool {
    let name = name.trim_end_matches('.');
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// Decides the answer to `request` with the records in `loaded`.
pub fn decide(request: &Message, loaded: Option<&Loaded>, config: &Config) -> Decision {
    if request.message_type() != MessageType::Query || request.op_code() != OpCode::Query {
        return Decision::Reply(error_reply(request, config, ResponseCode::NotImp));
    }
    let Some(query) = request.queries().first() else {
        return Decision::Reply(error_reply(request, config, ResponseCode::FormErr));
    };
    let name = clean_name(query);
    if !in_zone(&name, &config.domain) {
        if !config.external_on {
            return Decision::Reply(error_reply(request, config, ResponseCode::Refused));
        }
        let zone = config
            .zone_resolvers
            .iter()
            .filter(|(zone, _)| in_zone(&name, zone))
            .max_by_key(|(zone, _)| zone.len());
        let upstreams = zone.map_or(&config.resolvers, |(_, r)| r);
        if upstreams.is_empty() {
            return Decision::Reply(error_reply(request, config, ResponseCode::Refused));
        }
        return Decision::Forward(upstreams.clone());
    }
    let Some(loaded) = loaded else {
        return Decision::Reply(error_reply(request, config, ResponseCode::ServFail));
    };
    Decision::Reply(authoritative(request, query, &name, loaded, config))
}

fn name_of(text: &str) -> Option<Name> {
    Name::from_str(text).ok()
}

fn soa(owner: &Name, loaded: &Loaded, config: &Config) -> Option<Record> {
    Some(Record::from_rdata(
        owner.clone(),
        config.ttl,
        RData::SOA(SOA::new(
            name_of(&config.soa_mname)?,
            name_of(&config.soa_rname)?,
            loaded.serial,
            config.soa_refresh as i32,
            config.soa_retry as i32,
            config.soa_expire as i32,
            config.ttl,
        )),
    ))
}

fn authoritative(
    request: &Message,
    query: &Query,
    name: &str,
    loaded: &Loaded,
    config: &Config,
) -> Message {
    let rs = &loaded.records;
    let owner = query.name().clone();
    let ttl = config.ttl;
    let mut m = reply_to(request, config);
    m.set_authoritative(true);
    let qtype = query.query_type();
    let any = qtype == RecordType::ANY;
    let mut answers = Vec::new();
    let mut additionals = Vec::new();
    let mut authority = Vec::new();
    if qtype == RecordType::SRV || any {
        let mut added: Vec<&str> = Vec::new();
        for (target, port) in rs.srv.get(name).into_iter().flatten() {
            let Some(target_name) = name_of(target) else {
                continue;
            };
            answers.push(Record::from_rdata(
                owner.clone(),
                ttl,
                RData::SRV(SRV::new(
                    0,
                    config.srv_record_default_weight,
                    *port,
                    target_name.clone(),
                )),
            ));
            if added.contains(&target.as_str()) {
                continue;
            }
            added.push(target);
            if let Some(ip) = rs.a.get(target).and_then(|l| l.first()) {
                additionals.push(Record::from_rdata(
                    target_name.clone(),
                    ttl,
                    RData::A(A(*ip)),
                ));
            }
            if let Some(ip) = rs.aaaa.get(target).and_then(|l| l.first()) {
                additionals.push(Record::from_rdata(target_name, ttl, RData::AAAA(AAAA(*ip))));
            }
        }
    }
    if qtype == RecordType::A || any {
        for ip in rs.a.get(name).into_iter().flatten() {
            answers.push(Record::from_rdata(owner.clone(), ttl, RData::A(A(*ip))));
        }
    }
    if qtype == RecordType::AAAA || any {
        for ip in rs.aaaa.get(name).into_iter().flatten() {
            answers.push(Record::from_rdata(
                owner.clone(),
                ttl,
                RData::AAAA(AAAA(*ip)),
            ));
        }
    }
    if qtype == RecordType::SOA || any {
        authority.extend(soa(&owner, loaded, config));
    }
    if qtype == RecordType::NS || any {
        if let Some(ns) = name_of(&config.soa_mname) {
            authority.push(Record::from_rdata(owner.clone(), ttl, RData::NS(NS(ns))));
        }
    }
    if answers.is_empty() && !matches!(qtype, RecordType::SOA | RecordType::NS | RecordType::SRV) {
        // NXDOMAIN unless the name has records of another type (NODATA).
        if !rs.has_name(name) {
            m.set_response_code(ResponseCode::NXDomain);
        }
        authority.extend(soa(&owner, loaded, config));
    }
    fastrand::shuffle(&mut answers);
    m.insert_answers(answers);
    m.insert_name_servers(authority);
    m.insert_additionals(additionals);
    m
}

/// The request's UDP size: its EDNS payload size, at least 512.
pub fn udp_size(request: &Message) -> usize {
    request
        .extensions()
        .as_ref()
        .map_or(MIN_UDP_SIZE, |e| usize::from(e.max_payload()))
        .max(MIN_UDP_SIZE)
}

/// Encodes `m` into at most `max` bytes: additionals dropped first, then
/// answers from the back, the TC bit set when anything was dropped (and
/// `set_truncate_bit`). `None` only when even the bare reply does not
/// encode.
pub fn encode_within(mut m: Message, max: usize, set_truncate_bit: bool) -> Option<Vec<u8>> {
    if let Ok(bytes) = m.to_vec() {
        if bytes.len() <= max {
            return Some(bytes);
        }
    }
    m.set_truncated(set_truncate_bit);
    m.take_additionals();
    if let Ok(bytes) = m.to_vec() {
        if bytes.len() <= max {
            return Some(bytes);
        }
    }
    let answers = m.take_answers();
    // The most answers that fit, by bisection over how many are kept.
    let (mut lo, mut hi) = (0usize, answers.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        m.insert_answers(answers[..mid].to_vec());
        let fits = m.to_vec().is_ok_and(|b| b.len() <= max);
        m.take_answers();
        if fits {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    m.insert_answers(answers[..lo].to_vec());
    let bytes = m.to_vec().ok()?;
    if bytes.len() <= max {
        return Some(bytes);
    }
    m.take_name_servers();
    m.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::super::records::{self, Inputs};
    use super::super::state::{Agent, Cluster, Framework, Task};
    use super::*;

    fn loaded(tasks: usize) -> Loaded {
        let mut c = Cluster {
            leader: Some("10.0.0.1:5050".into()),
            ..Cluster::default()
        };
        c.agents.insert(
            "X-S1".into(),
            Agent {
                host: "10.0.0.2".into(),
                port: Some(5051),
                ips: vec![IpAddr::from([10, 0, 0, 2])],
            },
        );
        c.frameworks.insert(
            "F".into(),
            Framework {
                name: "marathon".into(),
                ips: vec![],
                port: None,
            },
        );
        for i in 0..tasks {
            let id = format!("web.{i}");
            c.tasks.insert(
                ("F".into(), id.clone()),
                Task {
                    id,
                    name: "web".into(),
                    framework_id: "F".into(),
                    agent_id: "X-S1".into(),
                    state: "TASK_RUNNING".into(),
                    ports: vec![31000 + i as u16],
                    ..Task::default()
                },
            );
        }
        let config = Config {
            masters: vec!["10.0.0.1:5050".into()],
            ..Config::default()
        };
        Loaded {
            records: records::build(
                &c,
                &Inputs {
                    config: &config,
                    self_ips: &[],
                },
            ),
            serial: 7,
        }
    }

    fn config() -> Config {
        Config {
            masters: vec!["10.0.0.1:5050".into()],
            resolvers: vec!["127.0.0.1:5300".parse().unwrap()],
            zone_resolvers: [("corp".to_string(), vec!["127.0.0.1:5301".parse().unwrap()])]
                .into_iter()
                .collect(),
            ..Config::default()
        }
    }

    fn query(name: &str, qtype: RecordType) -> Message {
        let mut m = Message::new();
        m.set_id(42)
            .set_recursion_desired(true)
            .add_query(Query::query(Name::from_str(name).unwrap(), qtype));
        m
    }

    fn reply(name: &str, qtype: RecordType, loaded: Option<&Loaded>) -> Message {
        match decide(&query(name, qtype), loaded, &config()) {
            Decision::Reply(m) => m,
            Decision::Forward(to) => panic!("forwarded to {to:?}"),
        }
    }

    #[test]
    fn rcodes_follow_mesos_dns() {
        let l = loaded(2);
        let cases = [
            (
                "web.marathon.mesos.",
                RecordType::A,
                ResponseCode::NoError,
                1,
                0,
            ),
            (
                "WEB.Marathon.MESOS",
                RecordType::A,
                ResponseCode::NoError,
                1,
                0,
            ),
            (
                "web.marathon.mesos.",
                RecordType::AAAA,
                ResponseCode::NoError,
                0,
                1,
            ),
            (
                "nope.marathon.mesos.",
                RecordType::A,
                ResponseCode::NXDomain,
                0,
                1,
            ),
            (
                "_web._tcp.marathon.mesos.",
                RecordType::A,
                ResponseCode::NoError,
                0,
                1,
            ),
            (
                "_web._tcp.marathon.mesos.",
                RecordType::SRV,
                ResponseCode::NoError,
                2,
                0,
            ),
            (
                "_nope._tcp.marathon.mesos.",
                RecordType::SRV,
                ResponseCode::NoError,
                0,
                0,
            ),
            ("mesos.", RecordType::SOA, ResponseCode::NoError, 0, 1),
            ("mesos.", RecordType::NS, ResponseCode::NoError, 0, 1),
            (
                "leader.mesos.",
                RecordType::ANY,
                ResponseCode::NoError,
                1,
                2,
            ),
            (
                "web.marathon.mesos.",
                RecordType::PTR,
                ResponseCode::NoError,
                0,
                1,
            ),
        ];
        for (name, qtype, rcode, answers, authority) in cases {
            let m = reply(name, qtype, Some(&l));
            assert_eq!(m.response_code(), rcode, "{name} {qtype}");
            assert_eq!(m.answers().len(), answers, "{name} {qtype}");
            assert_eq!(m.name_servers().len(), authority, "{name} {qtype}");
            assert!(m.authoritative());
            assert_eq!(m.id(), 42);
        }
    }

    #[test]
    fn srv_answers_carry_their_targets_addresses() {
        let l = loaded(1);
        let m = reply("_web._tcp.marathon.mesos.", RecordType::SRV, Some(&l));
        let Some(RData::SRV(srv)) = m.answers()[0].data().clone().into() else {
            panic!("not SRV: {m:?}");
        };
        assert_eq!(srv.port(), 31000);
        assert_eq!(m.additionals().len(), 1);
        assert_eq!(
            m.additionals()[0].data(),
            &RData::A(A(Ipv4Addr::new(10, 0, 0, 2)))
        );
    }

    #[test]
    fn before_the_first_load_names_in_the_domain_fail() {
        let m = reply("web.marathon.mesos.", RecordType::A, None);
        assert_eq!(m.response_code(), ResponseCode::ServFail);
    }

    #[test]
    fn outside_names_go_to_the_zones_or_the_default_resolvers() {
        let l = loaded(0);
        let to = |name: &str| match decide(&query(name, RecordType::A), Some(&l), &config()) {
            Decision::Forward(to) => to,
            Decision::Reply(m) => panic!("answered {m:?}"),
        };
        assert_eq!(to("example.org."), vec!["127.0.0.1:5300".parse().unwrap()]);
        assert_eq!(to("db.corp."), vec!["127.0.0.1:5301".parse().unwrap()]);
        let off = Config {
            external_on: false,
            ..config()
        };
        let Decision::Reply(m) = decide(&query("example.org.", RecordType::A), Some(&l), &off)
        else {
            panic!("forwarded with externalon false");
        };
        assert_eq!(m.response_code(), ResponseCode::Refused);
    }

    #[test]
    fn large_answers_are_truncated_with_the_tc_bit() {
        let l = loaded(100);
        let request = query("_web._tcp.marathon.mesos.", RecordType::SRV);
        let Decision::Reply(m) = decide(&request, Some(&l), &config()) else {
            panic!("forwarded");
        };
        assert_eq!(m.answers().len(), 100);
        let bytes = encode_within(m.clone(), udp_size(&request), true).unwrap();
        assert!(bytes.len() <= 512);
        let back = Message::from_vec(&bytes).unwrap();
        assert!(back.truncated());
        assert!(!back.answers().is_empty() && back.answers().len() < 100);
        let plain = encode_within(m.clone(), 512, false).unwrap();
        assert!(!Message::from_vec(&plain).unwrap().truncated());
        let whole = encode_within(m, 65535, true).unwrap();
        assert_eq!(Message::from_vec(&whole).unwrap().answers().len(), 100);
    }

    #[test]
    fn undecodable_packets_get_formerr_when_they_have_an_id() {
        let bytes = format_error(&[0x12, 0x34, 0xff]).unwrap();
        let m = Message::from_vec(&bytes).unwrap();
        assert_eq!((m.id(), m.response_code()), (0x1234, ResponseCode::FormErr));
        assert!(format_error(&[1]).is_none());
    }
}
