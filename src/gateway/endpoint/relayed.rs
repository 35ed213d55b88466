//! Calls relayed to an upstream and answered as they go: run in the request's own task
//! ([`InPlace`]), what the upstream sends meanwhile streamed to the client, a 2026-07-28
//! client's disconnect read as its cancellation, and calls bridged for 2026-07-28 clients.

use super::*;

/// A request relayed to an upstream, answered as a stream.
pub(in crate::gateway) struct StreamedCall {
    pub(super) id: Value,
    pub(super) method: String,
    pub(super) params: Map<String, Value>,
}

/// A message within a session: a call to stream, or anything else.
pub(super) enum SessionMessage {
    /// It goes to an upstream and the client takes SSE: the upstream may send progress,
    /// logging or requests of its own before the result.
    Streamed(StreamedCall),
    /// Everything else, for [`stateful`].
    Other(Envelope),
}

/// Sorts a session's message; a streamed call's params are moved out, not copied.
pub(super) fn streamable_call(entry: &ServerEntry, message: Envelope, accepts_sse: bool) -> SessionMessage {
    let streams = accepts_sse
        && !entry.upstreams.is_empty()
        && message.is_v2()
        && message.id.as_ref().is_some_and(is_id)
        && match (message.method(), message.params_object()) {
            (Some(method), Some(params)) => relays(entry, method, params),
            _ => false,
        };
    match message {
        Envelope {
            id: Some(id),
            method: Some(Value::String(method)),
            params: Some(Value::Object(params)),
            ..
        } if streams => SessionMessage::Streamed(StreamedCall { id, method, params }),
        other => SessionMessage::Other(other),
    }
}

/// Whether a request goes to an upstream (and may stream what the upstream sends meanwhile).
pub(super) fn relays(entry: &ServerEntry, method: &str, params: &Map<String, Value>) -> bool {
    match method {
        "tools/call" => params
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|name| matches!(entry.target(name), Some(ToolTarget::Upstream(_)))),
        "prompts/get" | "resources/read" | "completion/complete" => true,
        _ => false,
    }
}

/// Answers a relayed request as an SSE stream: what the upstream sends during the call
/// (progress, logging, its own requests with gateway ids), then the response.
/// (basic/transports § Sending Messages to the Server: the server MAY send requests and
/// notifications related to the request before the response.)
pub(super) async fn stream_call(
    state: AppState,
    entry: Arc<ServerEntry>,
    version: String,
    mut ctx: CallCtx,
    call: StreamedCall,
    can_ask: bool,
) -> Response {
    let (sink_tx, mut sink_rx) = tokio::sync::mpsc::unbounded_channel();
    let (out_tx, out_rx) = tokio::sync::mpsc::unbounded_channel::<Relayed>();
    let relay_key = ctx.session.clone().unwrap_or_default();
    let leave = match &ctx.session {
        Some(session) => {
            ctx.cancel = Some(state.plane.relay.register_call(session, &call.id));
            Leave::Finish
        }
        None => {
            let (cancel, cancelled) = crate::plane::relay::CancelOnDrop::new();
            ctx.cancel = Some(cancelled);
            Leave::Cancel(cancel)
        }
    };
    ctx.sink = Some(sink_tx);
    let task = async move {
        let relay = &state.plane.relay;
        let session = ctx.session.clone();
        // Boxed: the spawned future stays small (see `bridge::start`).
        let handled =
            Box::pin(router::handle(&state, &entry, &version, &mut ctx, &call.method, &call.params));
        let reply = relay.drive(&relay_key, can_ask, &mut sink_rx, handled, &Notes(&out_tx)).await;
        if let Some(session) = &session {
            relay.finish_call(session, &call.id);
        }
        let message = match reply {
            Ok(result) => gatehouse_mcp::jsonrpc::result_message_text(&call.id, &result),
            // basic/utilities/cancellation: no response for a request the client cancelled.
            Err(err) if err.code == CANCELLED => return,
            Err(err) => json_text(&err.to_message(call.id)),
        };
        let _ = out_tx.send(Relayed::Answer(message));
    };
    relayed_response(task, out_rx, leave).await
}

/// A relayed request of a 2026-07-28 client: the upstream's requests become `input_required`
/// rounds ([`bridge`]); notifications stream first when the client takes SSE.
pub(super) async fn bridged(
    state: AppState,
    entry: Arc<ServerEntry>,
    key_id: String,
    call: StreamedCall,
    sse: bool,
    request_bytes: usize,
) -> Response {
    let to_message = |id: Value, reply: Result<Value, RpcError>| match reply {
        Ok(result) => gatehouse_mcp::jsonrpc::result_message_text(&id, &result),
        Err(err) => json_text(&err.to_message(id)),
    };
    if !sse {
        let (method, params, bytes) = (&call.method, call.params, Some(request_bytes));
        let reply = bridge::run(&state, &entry, &key_id, method, params, bytes, &mut |_| {}).await;
        return rpc_response_text(200, to_message(call.id, reply), false, None);
    }
    let (out_tx, out_rx) = tokio::sync::mpsc::unbounded_channel::<Relayed>();
    let task = async move {
        let notes = out_tx.clone();
        let mut on_note = move |msg: Value| {
            let _ = notes.send(Relayed::Note(msg));
        };
        let bytes = Some(request_bytes);
        let run = bridge::run(&state, &entry, &key_id, &call.method, call.params, bytes, &mut on_note);
        let reply = run.await;
        let _ = out_tx.send(Relayed::Answer(to_message(call.id, reply)));
    };
    // Dropping `bridge::run` drops its parked call, which cancels the upstream call.
    relayed_response(task, out_rx, Leave::Drop).await
}

/// What a relayed call's task passes to the response: messages the upstream sent during the
/// call, then the answer as text (none when the client cancelled the call).
pub(super) enum Relayed {
    Note(Value),
    Answer(String),
}

/// The notes half of a relayed call's channel, as [`crate::plane::relay::Relay::drive`]
/// takes it.
pub(super) struct Notes<'a>(&'a tokio::sync::mpsc::UnboundedSender<Relayed>);

impl crate::plane::relay::Outlet for Notes<'_> {
    async fn put(&self, msg: Value) {
        let _ = self.0.send(Relayed::Note(msg));
    }
}

/// A relayed call's task, run in place by the response that carries its messages: in the
/// request's own task, no spawn and no hand-over between tasks per call. What happens when the
/// response is dropped before the task ends (the client went away) is its [`Leave`].
pub(super) struct InPlace {
    task: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
    leave: Leave,
}

/// What a relayed call does when its client goes away before the answer.
pub(super) enum Leave {
    /// Runs to its end (2024-11-05 … 2025-11-25, basic/transports: a disconnection SHOULD NOT
    /// be read as a cancellation; the client cancels with `notifications/cancelled`).
    Finish,
    /// Is cancelled, then runs on so that it tells the upstream and cleans up (2026-07-28:
    /// the disconnect is the cancellation).
    Cancel(crate::plane::relay::CancelOnDrop),
    /// Is dropped: what it drives cancels itself when dropped (the MRTR bridge's call).
    Drop,
}

impl Drop for InPlace {
    fn drop(&mut self) {
        let Some(task) = self.task.take() else { return };
        let spawn = |task| {
            // Outside a runtime (it is shutting down) there is nothing left to finish it on.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(task);
            }
        };
        match std::mem::replace(&mut self.leave, Leave::Drop) {
            Leave::Finish => spawn(task),
            Leave::Cancel(cancel) => {
                drop(cancel);
                spawn(task);
            }
            Leave::Drop => drop(task),
        }
    }
}

impl std::future::Future for InPlace {
    type Output = ();

    /// Runs the task; ready once it has ended.
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let Some(task) = self.task.as_mut() else { return std::task::Poll::Ready(()) };
        let poll = task.as_mut().poll(cx);
        if poll.is_ready() {
            self.task = None;
        }
        poll
    }
}

/// The next message of a relayed call, running its task meanwhile; `None` once the task has
/// ended and everything it passed has been taken.
pub(super) async fn next_relayed(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Relayed>,
    task: &mut InPlace,
) -> Option<Relayed> {
    tokio::select! {
        biased;
        message = rx.recv() => message,
        // Ended: what it passed is queued, and the channel closed behind it.
        () = task => rx.recv().await,
    }
}

/// The SSE response of a relayed call, which `task` runs, passing what the upstream sends and
/// then the answer through `rx`. When the answer comes before anything else (most calls: no
/// progress, logging or requests from the upstream), it is one whole event with a length,
/// written at once; otherwise the response streams each message as it comes, the answer last,
/// and the stream runs the task as it is read. (A stream costs another write and another
/// wake-up of the client for its end.)
pub(super) async fn relayed_response(
    task: impl std::future::Future<Output = ()> + Send + 'static,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Relayed>,
    leave: Leave,
) -> Response {
    let mut task = InPlace { task: Some(Box::pin(task)), leave };
    let first = match next_relayed(&mut rx, &mut task).await {
        // The task has ended (the answer is the last thing it sends).
        Some(Relayed::Answer(answer)) => return rpc_response_text(200, answer, true, None),
        Some(Relayed::Note(note)) => json_text(&note),
        // Cancelled by the client: no answer.
        None => return sse_response(Body::empty()),
    };
    let events = stream::unfold((Some(first), Some((rx, task))), |(first, rest)| async move {
        let (msg, rest) = match (first, rest) {
            (Some(first), rest) => (first, rest),
            (None, Some((mut rx, mut task))) => match next_relayed(&mut rx, &mut task).await? {
                Relayed::Note(note) => (json_text(&note), Some((rx, task))),
                // The answer ends the stream.
                Relayed::Answer(answer) => (answer, None),
            },
            (None, None) => return None,
        };
        let event = transport::sse_event("message", &msg);
        Some((Ok::<_, Infallible>(axum::body::Bytes::from(event)), (None, rest)))
    });
    sse_response(Body::from_stream(events))
}
