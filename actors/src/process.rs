//! Processes: actix actors registered under an id on a node.
//!
//! A process is any type implementing [`Process`] plus one [`Handle<M>`] per
//! message it receives. The runtime wraps it in a [`ProcessActor`] (the actix
//! actor) that owns its lifecycle: registration, links, exits, HTTP routes.
//! Handlers run to completion on the process's arbiter thread and are the
//! only code that touches the process's state, so that state needs no lock.
//! Work that waits is started with [`Cx::defer`], whose result comes back as
//! an ordinary message in mailbox order (libprocess's `defer`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use actix::{Actor, ActorContext, Addr, AsyncContext, Context, Handler, Recipient, SpawnHandle};
use tokio::sync::oneshot;

use crate::http::{Reply, Request, Response};
use crate::node::Node;
use crate::pid::Pid;

/// A process: state plus handlers. See the module docs.
pub trait Process: Sized + Unpin + Send + 'static {
    /// Declares the messages this process accepts from other nodes and the
    /// HTTP routes it serves. Called once when the process is spawned.
    fn install(_install: &mut Install<Self>) {}

    /// Runs once, before any message is handled.
    fn started(&mut self, _cx: &mut Cx<'_, Self>) {}

    /// A linked process terminated, its node's connection broke, or it never
    /// existed (libprocess's `exited`).
    fn exited(&mut self, _pid: &Pid, _cx: &mut Cx<'_, Self>) {}

    /// Runs once after the process stopped handling messages.
    fn stopped(&mut self) {}
}

/// A process's handler for messages of type `M`.
pub trait Handle<M>: Process {
    fn handle(&mut self, message: M, from: &Pid, cx: &mut Cx<'_, Self>);
}

/// A message with its sender, as delivered to a process's mailbox.
pub struct Envelope<M> {
    pub from: Pid,
    pub body: M,
}

impl<M: Send + 'static> actix::Message for Envelope<M> {
    type Result = ();
}

/// What a handler can do besides changing its own state.
pub struct Cx<'a, P: Process> {
    ctx: &'a mut Context<ProcessActor<P>>,
    core: &'a Core,
}

/// The parts of a process that the runtime owns.
pub(crate) struct Core {
    pub(crate) pid: Pid,
    pub(crate) node: Node,
    /// Tells this incarnation's registry entry from a later process that
    /// reuses the id.
    pub(crate) serial: u64,
}

impl<P: Process> Cx<'_, P> {
    /// This process's pid.
    pub fn me(&self) -> &Pid {
        &self.core.pid
    }

    /// The node this process runs on.
    pub fn node(&self) -> &Node {
        &self.core.node
    }

    /// Sends `message` to `to`, local or remote; never blocks. Delivery is
    /// not confirmed: a message to a process that does not exist is dropped
    /// and counted.
    pub fn send<M: wire::Message>(&self, to: &Pid, message: M) {
        self.core.node.send(&self.core.pid, to, message);
    }

    /// Reports [`Process::exited`] for `pid` when it terminates or its node
    /// becomes unreachable.
    pub fn link(&self, pid: &Pid) {
        self.core.node.link(&self.core.pid, pid);
    }

    /// Delivers `message` to this process itself after `after`.
    pub fn delay<M>(&mut self, after: Duration, message: M) -> SpawnHandle
    where
        M: Send + 'static,
        P: Handle<M>,
    {
        let envelope = Envelope {
            from: self.core.pid.clone(),
            body: message,
        };
        self.ctx.notify_later(envelope, after)
    }

    /// Cancels a [`Cx::delay`] that has not fired yet.
    pub fn cancel(&mut self, handle: SpawnHandle) {
        self.ctx.cancel_future(handle);
    }

    /// Runs `work` and delivers `then(output)` to this process as a message,
    /// in mailbox order. The process keeps handling other messages meanwhile.
    pub fn defer<F, M>(&mut self, work: F, then: impl FnOnce(F::Output) -> M + 'static)
    where
        F: Future + 'static,
        M: Send + 'static,
        P: Handle<M>,
    {
        let addr = self.ctx.address();
        let me = self.core.pid.clone();
        actix::spawn(async move {
            let output = work.await;
            addr.do_send(Envelope {
                from: me,
                body: then(output),
            });
        });
    }

    /// This process's typed handle.
    pub fn handle(&self) -> ProcessRef<P> {
        ProcessRef {
            pid: self.core.pid.clone(),
            addr: self.ctx.address(),
        }
    }

    /// Terminates this process after the current handler.
    pub fn stop(&mut self) {
        self.ctx.stop();
    }
}

/// The actix actor that hosts a process.
pub struct ProcessActor<P: Process> {
    process: P,
    core: Core,
    routes: HashMap<String, RouteFn<P>>,
}

type RouteFn<P> = Box<dyn Fn(&mut P, Request, &mut Cx<'_, P>) -> Reply + Send>;

impl<P: Process> ProcessActor<P> {
    fn split<'a>(&'a mut self, ctx: &'a mut Context<Self>) -> (&'a mut P, Cx<'a, P>) {
        let cx = Cx {
            ctx,
            core: &self.core,
        };
        (&mut self.process, cx)
    }
}

impl<P: Process> Actor for ProcessActor<P> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Routes need `&mut P` closures, so they are installed here, inside
        // the actor; the node-side tables were filled at spawn.
        let mut install = Install::new(ctx.address());
        P::install(&mut install);
        self.routes = install.routes;
        let (process, mut cx) = self.split(ctx);
        process.started(&mut cx);
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.core
            .node
            .process_stopped(&self.core.pid, self.core.serial);
        self.process.stopped();
    }
}

impl<P: Handle<M>, M: Send + 'static> Handler<Envelope<M>> for ProcessActor<P> {
    type Result = ();

    fn handle(&mut self, envelope: Envelope<M>, ctx: &mut Context<Self>) {
        let (process, mut cx) = self.split(ctx);
        process.handle(envelope.body, &envelope.from, &mut cx);
    }
}

/// A linked process exited.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub(crate) struct ExitedNotice(pub(crate) Pid);

impl<P: Process> Handler<ExitedNotice> for ProcessActor<P> {
    type Result = ();

    fn handle(&mut self, notice: ExitedNotice, ctx: &mut Context<Self>) {
        let (process, mut cx) = self.split(ctx);
        process.exited(&notice.0, &mut cx);
    }
}

/// Ask a process to terminate.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub(crate) struct Terminate;

impl<P: Process> Handler<Terminate> for ProcessActor<P> {
    type Result = ();

    fn handle(&mut self, _: Terminate, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// An HTTP request for one of the process's routes.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub(crate) struct RouteRequest {
    pub(crate) route: String,
    pub(crate) request: Request,
    pub(crate) reply: oneshot::Sender<Response>,
}

impl<P: Process> Handler<RouteRequest> for ProcessActor<P> {
    type Result = ();

    fn handle(&mut self, req: RouteRequest, ctx: &mut Context<Self>) {
        let ProcessActor {
            process,
            core,
            routes,
        } = self;
        let Some(route) = routes.get(&req.route) else {
            let _ = req.reply.send(Response::not_found());
            return;
        };
        let mut cx = Cx { ctx, core };
        match route(process, req.request, &mut cx) {
            Reply::Now(response) => {
                let _ = req.reply.send(response);
            }
            Reply::Later(future) => {
                actix::spawn(async move {
                    let _ = req.reply.send(future.await);
                });
            }
        }
    }
}

/// Runs a closure on the process's state, in mailbox order.
type CallFn<P, R> = Box<dyn FnOnce(&mut P, &mut Cx<'_, P>) -> R + Send>;

struct Call<P: Process, R>(CallFn<P, R>);

impl<P: Process, R: Send + 'static> actix::Message for Call<P, R> {
    type Result = R;
}

impl<P: Process, R: Send + 'static> Handler<Call<P, R>> for ProcessActor<P> {
    type Result = actix::MessageResult<Call<P, R>>;

    fn handle(&mut self, call: Call<P, R>, ctx: &mut Context<Self>) -> Self::Result {
        let (process, mut cx) = self.split(ctx);
        actix::MessageResult((call.0)(process, &mut cx))
    }
}

/// A typed handle to a local process: sends without a registry lookup.
pub struct ProcessRef<P: Process> {
    pid: Pid,
    addr: Addr<ProcessActor<P>>,
}

impl<P: Process> Clone for ProcessRef<P> {
    fn clone(&self) -> Self {
        ProcessRef {
            pid: self.pid.clone(),
            addr: self.addr.clone(),
        }
    }
}

impl<P: Process> ProcessRef<P> {
    pub(crate) fn new(pid: Pid, addr: Addr<ProcessActor<P>>) -> Self {
        ProcessRef { pid, addr }
    }

    pub(crate) fn addr(&self) -> &Addr<ProcessActor<P>> {
        &self.addr
    }

    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// Delivers `message` as if sent by `from`. The value is moved, never
    /// serialized.
    pub fn tell<M>(&self, from: &Pid, message: M)
    where
        M: Send + 'static,
        P: Handle<M>,
    {
        self.addr.do_send(Envelope {
            from: from.clone(),
            body: message,
        });
    }

    /// Runs `f` on the process's state in mailbox order and returns its
    /// result; `None` if the process has terminated.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut P, &mut Cx<'_, P>) -> R + Send + 'static,
    ) -> Option<R> {
        self.addr.send(Call(Box::new(f))).await.ok()
    }

    /// Whether the process is still running.
    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }
}

/// One decoded remote message, ready to run its handler.
pub(crate) type Deliver<P> = Box<dyn FnOnce(&mut P, &mut Cx<'_, P>) + Send>;

/// Messages from one connection to one process, delivered as one mailbox
/// entry: a read usually holds many frames for the same process, and one
/// mailbox push per batch instead of per frame is most of what remote
/// delivery costs.
pub(crate) struct Batch<P: Process>(pub(crate) Vec<Deliver<P>>);

impl<P: Process> actix::Message for Batch<P> {
    type Result = ();
}

impl<P: Process> Handler<Batch<P>> for ProcessActor<P> {
    type Result = ();

    fn handle(&mut self, batch: Batch<P>, ctx: &mut Context<Self>) {
        for deliver in batch.0 {
            // A handler that stopped the process ends the batch, as it
            // would end the mailbox.
            if ctx.state() != actix::ActorState::Running {
                break;
            }
            let (process, mut cx) = self.split(ctx);
            deliver(process, &mut cx);
        }
    }
}

/// A batch being filled for one process: `Vec<Deliver<P>>` behind `Any`,
/// so the node can hold batches for processes of any type.
pub(crate) type Pending = Box<dyn Any + Send>;

/// Decodes a payload and adds it to the process's pending batch.
pub(crate) type Decoder =
    Box<dyn Fn(&[u8], Pid, &mut Pending) -> Result<(), wire::FrameError> + Send + Sync>;

/// Starts and sends a process's batches.
pub(crate) struct Batcher {
    pub(crate) start: Box<dyn Fn() -> Pending + Send + Sync>,
    pub(crate) send: Box<dyn Fn(Pending) + Send + Sync>,
}

/// What a process declares at spawn: see [`Process::install`].
pub struct Install<P: Process> {
    addr: Addr<ProcessActor<P>>,
    pub(crate) decoders: HashMap<&'static str, Decoder>,
    pub(crate) typed: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    routes: HashMap<String, RouteFn<P>>,
    pub(crate) errors: Vec<String>,
}

impl<P: Process> Install<P> {
    /// How the node batches remote messages for this process.
    pub(crate) fn batcher(&self) -> Batcher {
        let addr = self.addr.clone();
        Batcher {
            start: Box::new(|| Box::new(Vec::<Deliver<P>>::new())),
            send: Box::new(move |pending| {
                if let Ok(batch) = pending.downcast::<Vec<Deliver<P>>>() {
                    if !batch.is_empty() {
                        addr.do_send(Batch(*batch));
                    }
                }
            }),
        }
    }

    /// The runtime's own handlers every process has.
    pub(crate) fn exited(&self) -> Recipient<ExitedNotice> {
        self.addr.clone().recipient()
    }

    pub(crate) fn terminate(&self) -> Recipient<Terminate> {
        self.addr.clone().recipient()
    }

    pub(crate) fn http(&self) -> Recipient<RouteRequest> {
        self.addr.clone().recipient()
    }
}

impl<P: Process> Install<P> {
    pub(crate) fn new(addr: Addr<ProcessActor<P>>) -> Self {
        Install {
            addr,
            decoders: HashMap::new(),
            typed: HashMap::new(),
            routes: HashMap::new(),
            errors: Vec::new(),
        }
    }

    /// Accept `M` from any process, local (moved) or remote (decoded).
    pub fn message<M: wire::Message>(&mut self) -> &mut Self
    where
        P: Handle<M>,
    {
        let addr = self.addr.clone();
        let decoder: Decoder = Box::new(move |payload, from, pending| {
            let body = wire::codec::decode_payload::<M>(payload)?;
            match pending.downcast_mut::<Vec<Deliver<P>>>() {
                Some(batch) => batch.push(Box::new(move |p: &mut P, cx: &mut Cx<'_, P>| {
                    p.handle(body, &from, cx)
                })),
                // A batch of another process: cannot happen, but deliver
                // anyway rather than lose the message.
                None => addr.do_send(Envelope { from, body }),
            }
            Ok(())
        });
        if self.decoders.insert(M::NAME, decoder).is_some() {
            self.errors
                .push(format!("message name {} installed twice", M::NAME));
        }
        self.local::<M>()
    }

    /// Accept `M` from processes on this node only, by pid.
    pub fn local<M: Send + 'static>(&mut self) -> &mut Self
    where
        P: Handle<M>,
    {
        let recipient: Recipient<Envelope<M>> = self.addr.clone().recipient();
        self.typed.insert(TypeId::of::<M>(), Box::new(recipient));
        self
    }

    /// Serve `route` (for example `"/state"`) at `/<process id><route>`,
    /// in mailbox order.
    pub fn route(
        &mut self,
        route: &str,
        handler: impl Fn(&mut P, Request, &mut Cx<'_, P>) -> Reply + Send + 'static,
    ) -> &mut Self {
        self.routes.insert(route.to_owned(), Box::new(handler));
        self
    }

    pub(crate) fn route_names(&self) -> Vec<String> {
        self.routes.keys().cloned().collect()
    }
}

/// Builds the actor for a spawn; the node calls this on the target arbiter.
pub(crate) fn actor<P: Process>(process: P, pid: Pid, node: Node, serial: u64) -> ProcessActor<P> {
    ProcessActor {
        process,
        core: Core { pid, node, serial },
        routes: HashMap::new(),
    }
}
