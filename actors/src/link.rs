//! Links: who is told when a process exits (libprocess's `link`/`exited`).
//!
//! Local links are kept per linkee and fired when the linkee's actor stops
//! (or at once if it does not exist). A link to a remote process is recorded
//! here per remote node and also sent to that node as a `Link` control
//! message; the remote node answers with `Exited` when the linkee stops or
//! does not exist. When the session to a node breaks, or carries nothing for
//! the peer timeout, every link into that node fires. Each link fires once.
//!
//! How fast a dead node is detected: a process that dies takes its sockets
//! with it, so the kernel closes the connection and its links fire as soon
//! as the reader sees the end of the stream (milliseconds). A host that
//! vanishes silently (power loss, partition) is detected by the session
//! heartbeat: idle connections carry a heartbeat every
//! `NodeConfig::heartbeat_interval` (2 s) and a connection that carries
//! nothing for `NodeConfig::peer_timeout` (10 s) is closed.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

use wire::codec::control;
use wire::Message;

use crate::metrics::lock;
use crate::node::{read, Node};
use crate::pid::Pid;
use crate::process::ExitedNotice;

#[derive(Default)]
pub(crate) struct Links {
    /// Local linkee id -> the processes (local or remote) to tell.
    watchers: HashMap<Arc<str>, Vec<Pid>>,
    /// Remote node -> (local linker, remote linkee) pairs. A set: a master
    /// links each of thousands of agents, possibly all behind one node.
    remote: HashMap<SocketAddr, HashSet<(Pid, Pid)>>,
}

impl Links {
    /// Removes and returns who watches `linkee`, and forgets the links
    /// `linkee` itself made.
    pub(crate) fn take_watchers(&mut self, linkee: &Pid) -> Vec<Pid> {
        let watchers = self.watchers.remove(linkee.id()).unwrap_or_default();
        for list in self.watchers.values_mut() {
            list.retain(|w| w != linkee);
        }
        for list in self.remote.values_mut() {
            list.retain(|(linker, _)| linker != linkee);
        }
        watchers
    }
}

impl Node {
    /// Makes `linker` (a local process) be told when `linkee` exits.
    pub fn link(&self, linker: &Pid, linkee: &Pid) {
        if linkee.address() == self.address() {
            let mut links = lock(&self.inner.links);
            if read(&self.inner.registry).by_id.contains_key(linkee.id()) {
                let list = links.watchers.entry(linkee.id_arc().clone()).or_default();
                if !list.contains(linker) {
                    list.push(linker.clone());
                }
                return;
            }
            drop(links);
            self.notify_exited(linker, linkee.clone());
            return;
        }
        {
            let mut links = lock(&self.inner.links);
            let pairs = links.remote.entry(linkee.address()).or_default();
            if !pairs.insert((linker.clone(), linkee.clone())) {
                return;
            }
        }
        let link = control::Link {
            linker: linker.id().to_owned(),
            linkee: linkee.id().to_owned(),
        };
        self.session(linkee.address())
            .enqueue(&self.inner, "", "", control::Link::NAME, &link);
    }

    /// Tells `watcher` that `linkee` exited, wherever `watcher` lives.
    pub(crate) fn notify_exited(&self, watcher: &Pid, linkee: Pid) {
        if watcher.address() == self.address() {
            if let Some(entry) = self.entry(watcher.id()) {
                entry.exited.do_send(ExitedNotice(linkee));
            }
        } else {
            let exited = control::Exited {
                linker: watcher.id().to_owned(),
                linkee: linkee.id().to_owned(),
            };
            self.session(watcher.address()).enqueue(
                &self.inner,
                "",
                "",
                control::Exited::NAME,
                &exited,
            );
        }
    }

    /// The connection to `peer` is gone: fire every link into it.
    pub(crate) fn peer_lost(&self, peer: SocketAddr) {
        let pairs = {
            let mut links = lock(&self.inner.links);
            for list in links.watchers.values_mut() {
                list.retain(|w| w.address() != peer);
            }
            links.remote.remove(&peer).unwrap_or_default()
        };
        if !pairs.is_empty() {
            tracing::info!(%peer, links = pairs.len(), "connection lost; notifying linked processes");
        }
        for (linker, linkee) in pairs {
            self.notify_exited(&linker, linkee);
        }
    }

    /// `peer`'s process `linker` asks to be told when local `linkee` exits.
    pub(crate) fn remote_link(&self, peer: SocketAddr, link: control::Link) {
        let linker = Pid::new(link.linker, peer);
        let linkee = Pid::new(link.linkee, self.address());
        self.link(&linker, &linkee);
    }

    /// `peer` reports that its process `linkee` exited.
    pub(crate) fn remote_exited(&self, peer: SocketAddr, exited: control::Exited) {
        let linker = Pid::new(exited.linker, self.address());
        let linkee = Pid::new(exited.linkee, peer);
        let removed = {
            let mut links = lock(&self.inner.links);
            links
                .remote
                .get_mut(&peer)
                .is_some_and(|pairs| pairs.remove(&(linker.clone(), linkee.clone())))
        };
        if removed {
            self.notify_exited(&linker, linkee);
        }
    }
}
