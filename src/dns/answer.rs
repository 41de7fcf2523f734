//! What to answer a query with, as Mesos-DNS's resolver decides it: names
//! inside the domain from the record set (authoritative, shuffled, SOA in
//! the authority section for NXDOMAIN and NODATA), others forwarded to
//! the zone's or the default resolvers, `SERVFAIL` before the first load;
//! and fitting a reply into the client's size with the TC bit. Pure: the
//! server does the sockets.
//!
//! A reply is encoded in one pass of hickory-proto's truncating encoder:
//! answers are emitted until the next one would not fit. SRV answers and
//! their targets' addresses are built once per name and record set
//! ([`Cache`]); a query only shuffles indices into them.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use hickory_proto::op::message::emit_message_parts;
use hickory_proto::op::{Header, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, NS, SOA, SRV};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use hickory_proto::ProtoError;

use super::config::Config;
use super::records::RecordSet;
use super::Loaded;

/// The smallest UDP size every client takes (RFC 1035 2.3.4).
pub const MIN_UDP_SIZE: usize = 512;

/// What the server does with a query.
#[derive(Debug)]
pub enum Decision {
    Reply(Reply),
    /// Outside the domain: relay to these upstreams, in order.
    Forward(Vec<SocketAddr>),
}

/// One answer; its owner is the question's name.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Ip(IpAddr),
    /// The `n`th record of the name's [`SrvAnswers`].
    Srv(usize),
}

/// A name's SRV records and, for the additional section, the first A and
/// AAAA record of each distinct target.
#[derive(Debug, Default)]
pub struct SrvAnswers {
    data: Vec<RData>,
    additionals: Vec<Record>,
}

impl SrvAnswers {
    fn build(targets: &[(String, u16)], rs: &RecordSet, config: &Config) -> SrvAnswers {
        let ttl = config.ttl;
        let mut out = SrvAnswers::default();
        let mut added: HashSet<&str> = HashSet::new();
        for (target, port) in targets {
            let Ok(target_name) = Name::from_str(target) else {
                continue;
            };
            out.data.push(RData::SRV(SRV::new(
                0,
                config.srv_record_default_weight,
                *port,
                target_name.clone(),
            )));
            if !added.insert(target) {
                continue;
            }
            if let Some(ip) = rs.a.get(target).and_then(|l| l.first()) {
                out.additionals.push(Record::from_rdata(
                    target_name.clone(),
                    ttl,
                    RData::A(A(*ip)),
                ));
            }
            if let Some(ip) = rs.aaaa.get(target).and_then(|l| l.first()) {
                out.additionals
                    .push(Record::from_rdata(target_name, ttl, RData::AAAA(AAAA(*ip))));
            }
        }
        out
    }
}

/// SRV answers by name, built on a name's first query and kept for as
/// long as the record set they were built from.
#[derive(Debug, Default)]
pub struct Cache {
    srv: Mutex<HashMap<String, Arc<SrvAnswers>>>,
}

impl Cache {
    /// `name`'s SRV answers; `None` when it has no SRV record.
    fn srv(&self, name: &str, rs: &RecordSet, config: &Config) -> Option<Arc<SrvAnswers>> {
        let mut map = match self.srv.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(found) = map.get(name) {
            return Some(found.clone());
        }
        let targets = rs.srv.get(name)?;
        let built = Arc::new(SrvAnswers::build(targets, rs, config));
        map.insert(name.to_string(), built.clone());
        Some(built)
    }
}

/// A reply ready to encode: the request's header and question, the
/// answers (in the order sent), and the authority section.
#[derive(Debug)]
pub struct Reply {
    header: Header,
    query: Option<Query>,
    answers: Vec<Answer>,
    srv: Option<Arc<SrvAnswers>>,
    authority: Vec<Record>,
    /// The answers' TTL.
    ttl: u32,
}

/// A resource record whose owner and data are borrowed.
struct Rr<'a> {
    owner: &'a Name,
    ttl: u32,
    data: Cow<'a, RData>,
}

impl BinEncodable for Rr<'_> {
    fn emit(&self, encoder: &mut BinEncoder<'_>) -> Result<(), ProtoError> {
        // The wire form of RFC 1035 4.1.3, as `Record` writes it.
        self.owner.emit(encoder)?;
        self.data.record_type().emit(encoder)?;
        DNSClass::IN.emit(encoder)?;
        encoder.emit_u32(self.ttl)?;
        let place = encoder.place::<u16>()?;
        self.data.emit(encoder)?;
        let len = u16::try_from(encoder.len_since_place(&place))
            .map_err(|_| ProtoError::from("record data over 64 KiB"))?;
        place.replace(encoder, len)
    }
}

impl Reply {
    fn to(request: &Message, config: &Config) -> Reply {
        let mut header = Header::new();
        header
            .set_id(request.id())
            .set_message_type(MessageType::Response)
            .set_op_code(request.op_code())
            .set_recursion_desired(request.recursion_desired())
            .set_recursion_available(config.recurse_on);
        Reply {
            header,
            query: request.queries().first().cloned(),
            answers: Vec::new(),
            srv: None,
            authority: Vec::new(),
            ttl: config.ttl,
        }
    }

    pub fn response_code(&self) -> ResponseCode {
        self.header.response_code()
    }

    /// Encodes the reply into at most `max` bytes: answers, then
    /// authority, then additional records, each section as far as it fits;
    /// the TC bit set when anything was left out (and `set_truncate_bit`).
    /// `None` only when even the header and question do not encode.
    pub fn encode(&self, max: usize, set_truncate_bit: bool) -> Option<Vec<u8>> {
        let max = u16::try_from(max).unwrap_or(u16::MAX);
        let srv = self.srv.as_deref();
        let rrs: Vec<Rr<'_>> = match &self.query {
            Some(q) => self
                .answers
                .iter()
                .filter_map(|a| {
                    let data = match *a {
                        Answer::Ip(IpAddr::V4(ip)) => Cow::Owned(RData::A(A(ip))),
                        Answer::Ip(IpAddr::V6(ip)) => Cow::Owned(RData::AAAA(AAAA(ip))),
                        Answer::Srv(n) => Cow::Borrowed(srv?.data.get(n)?),
                    };
                    Some(Rr {
                        owner: q.name(),
                        ttl: self.ttl,
                        data,
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        let additionals = srv.map_or(&[][..], |s| s.additionals.as_slice());
        let mut bytes = Vec::with_capacity(usize::from(max).min(4096));
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_max_size(max);
        let header = emit_message_parts(
            &self.header,
            &mut self.query.iter(),
            &mut rrs.iter(),
            &mut self.authority.iter(),
            &mut additionals.iter(),
            None,
            &[],
            &mut encoder,
        )
        .ok()?;
        if header.truncated() && !set_truncate_bit {
            // TC is bit 1 of the header's third byte (RFC 1035 4.1.1).
            if let Some(flags) = bytes.get_mut(2) {
                *flags &= !0x02;
            }
        }
        Some(bytes)
    }
}

/// An error reply (`FORMERR`, `SERVFAIL`, `REFUSED`, ...).
pub fn error_reply(request: &Message, config: &Config, rcode: ResponseCode) -> Reply {
    let mut m = Reply::to(request, config);
    m.header.set_response_code(rcode);
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
    let mut name = query.name().to_ascii();
    name.make_ascii_lowercase();
    if !name.ends_with('.') {
        name.push('.');
    }
    if name.contains(".*") {
        name = name.replace(".*", "");
    }
    name
}

fn in_zone(name: &str, zone: &str) -> bool {
    let name = name.trim_end_matches('.');
    name.strip_suffix(zone)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
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
) -> Reply {
    let rs = &loaded.records;
    let owner = query.name();
    let mut m = Reply::to(request, config);
    m.header.set_authoritative(true);
    let qtype = query.query_type();
    let any = qtype == RecordType::ANY;
    if qtype == RecordType::SRV || any {
        if let Some(srv) = loaded.cache.srv(name, rs, config) {
            m.answers.extend((0..srv.data.len()).map(Answer::Srv));
            m.srv = Some(srv);
        }
    }
    if qtype == RecordType::A || any {
        let ips = rs.a.get(name).into_iter().flatten();
        m.answers.extend(ips.map(|ip| Answer::Ip(IpAddr::V4(*ip))));
    }
    if qtype == RecordType::AAAA || any {
        let ips = rs.aaaa.get(name).into_iter().flatten();
        m.answers.extend(ips.map(|ip| Answer::Ip(IpAddr::V6(*ip))));
    }
    if qtype == RecordType::SOA || any {
        m.authority.extend(soa(owner, loaded, config));
    }
    if qtype == RecordType::NS || any {
        if let Some(ns) = name_of(&config.soa_mname) {
            m.authority.push(Record::from_rdata(
                owner.clone(),
                config.ttl,
                RData::NS(NS(ns)),
            ));
        }
    }
    if m.answers.is_empty() && !matches!(qtype, RecordType::SOA | RecordType::NS | RecordType::SRV)
    {
        // NXDOMAIN unless the name has records of another type (NODATA).
        if !rs.has_name(name) {
            m.header.set_response_code(ResponseCode::NXDomain);
        }
        m.authority.extend(soa(owner, loaded, config));
    }
    fastrand::shuffle(&mut m.answers);
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

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::super::records::{self, Inputs};
    use super::super::state::{fixture, DiscoveryPort};
    use super::*;

    fn loaded(tasks: usize) -> Loaded {
        let c = fixture::cluster(
            (0..tasks).map(|i| fixture::task(&format!("web.{i}"), "web", 31000 + i as u16)),
        );
        let config = Config {
            masters: vec!["10.0.0.1:5050".into()],
            ..Config::default()
        };
        Loaded::new(
            records::build(
                &c,
                &Inputs {
                    config: &config,
                    self_ips: &[],
                },
            ),
            7,
        )
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

    /// The reply as a client decodes it, without a size limit.
    fn reply(name: &str, qtype: RecordType, loaded: Option<&Loaded>) -> Message {
        match decide(&query(name, qtype), loaded, &config()) {
            Decision::Reply(m) => Message::from_vec(&m.encode(65535, true).unwrap()).unwrap(),
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

    fn srv_ports(m: &Message) -> Vec<u16> {
        m.answers()
            .iter()
            .filter_map(|r| match r.data() {
                RData::SRV(srv) => Some(srv.port()),
                _ => None,
            })
            .collect()
    }

    /// Tasks on IPv6 (`v6`, with a DiscoveryInfo port so that its SRV
    /// target is the task's own address), on both (`dual`) and on the
    /// agent's IPv4 address (`v4`).
    fn loaded_v6() -> Loaded {
        let mut v6 = fixture::task("v6.1", "v6", 31001);
        v6.netinfo_ips = vec!["fd00::5".parse().unwrap()];
        v6.discovery_name = "v6".into();
        v6.discovery_ports = vec![DiscoveryPort {
            number: 80,
            name: "http".into(),
            protocol: "tcp".into(),
        }];
        let mut dual = fixture::task("dual.1", "dual", 31002);
        dual.netinfo_ips = vec![IpAddr::from([192, 168, 1, 5]), "fd00::6".parse().unwrap()];
        let v4 = fixture::task("v4.1", "v4", 31003);
        let c = fixture::cluster([v6, dual, v4]);
        Loaded::new(
            records::build(
                &c,
                &Inputs {
                    config: &config(),
                    self_ips: &[],
                },
            ),
            7,
        )
    }

    #[test]
    fn aaaa_answers_and_nodata_follow_mesos_dns() {
        use RecordType::{A as QA, AAAA as QAAAA, ANY};
        let l = loaded_v6();
        // name, qtype -> rcode, the answers' types, the authority's size.
        let cases: [(&str, RecordType, ResponseCode, &[RecordType], usize); 9] = [
            (
                "v6.marathon.mesos.",
                QAAAA,
                ResponseCode::NoError,
                &[QAAAA],
                0,
            ),
            // NODATA: the name has records, none of the type; SOA comes.
            ("v6.marathon.mesos.", QA, ResponseCode::NoError, &[], 1),
            (
                "v6.marathon.slave.mesos.",
                QA,
                ResponseCode::NoError,
                &[QA],
                0,
            ),
            (
                "v6.marathon.slave.mesos.",
                QAAAA,
                ResponseCode::NoError,
                &[],
                1,
            ),
            ("dual.marathon.mesos.", QA, ResponseCode::NoError, &[QA], 0),
            (
                "dual.marathon.mesos.",
                QAAAA,
                ResponseCode::NoError,
                &[QAAAA],
                0,
            ),
            (
                "dual.marathon.mesos.",
                ANY,
                ResponseCode::NoError,
                &[QA, QAAAA],
                2,
            ),
            ("v4.marathon.mesos.", QAAAA, ResponseCode::NoError, &[], 1),
            (
                "none.marathon.mesos.",
                QAAAA,
                ResponseCode::NXDomain,
                &[],
                1,
            ),
        ];
        for (name, qtype, rcode, types, authority) in cases {
            let m = reply(name, qtype, Some(&l));
            let mut got: Vec<RecordType> = m.answers().iter().map(|r| r.record_type()).collect();
            got.sort_unstable();
            assert_eq!(
                (m.response_code(), got.as_slice(), m.name_servers().len()),
                (rcode, types, authority),
                "{name} {qtype}"
            );
            if types.is_empty() {
                assert_eq!(m.name_servers()[0].record_type(), RecordType::SOA);
            }
        }
        let m = reply("v6.marathon.mesos.", QAAAA, Some(&l));
        assert_eq!(
            m.answers()[0].data(),
            &RData::AAAA(AAAA("fd00::5".parse().unwrap()))
        );
        // An SRV target on IPv6 brings its AAAA record along.
        let m = reply("_v6._tcp.marathon.mesos.", RecordType::SRV, Some(&l));
        assert_eq!(srv_ports(&m), vec![80]);
        let extra: Vec<&RData> = m.additionals().iter().map(|r| r.data()).collect();
        assert_eq!(extra, vec![&RData::AAAA(AAAA("fd00::5".parse().unwrap()))]);
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
        let bytes = m.encode(udp_size(&request), true).unwrap();
        assert!(bytes.len() <= 512);
        let back = Message::from_vec(&bytes).unwrap();
        assert!(back.truncated());
        assert!(!back.answers().is_empty() && back.answers().len() < 100);
        let plain = m.encode(512, false).unwrap();
        assert!(!Message::from_vec(&plain).unwrap().truncated());
        let whole = Message::from_vec(&m.encode(65535, true).unwrap()).unwrap();
        assert_eq!(whole.answers().len(), 100);
        assert!(!whole.truncated());
        // All 100 targets are on one agent: one distinct address each.
        assert_eq!(whole.additionals().len(), 100);
    }

    #[test]
    fn answers_are_shuffled_per_query() {
        let l = loaded(20);
        let order = || {
            srv_ports(&reply(
                "_web._tcp.marathon.mesos.",
                RecordType::SRV,
                Some(&l),
            ))
        };
        let first = order();
        let mut sorted = first.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (31000..31020).collect::<Vec<u16>>());
        // 20! orders: ten draws all equal to the first would be a bug.
        assert!((0..10).any(|_| order() != first));
    }

    #[test]
    fn undecodable_packets_get_formerr_when_they_have_an_id() {
        let bytes = format_error(&[0x12, 0x34, 0xff]).unwrap();
        let m = Message::from_vec(&bytes).unwrap();
        assert_eq!((m.id(), m.response_code()), (0x1234, ResponseCode::FormErr));
        assert!(format_error(&[1]).is_none());
    }
}
