"""The graphql-transport-ws connection, able to take live subscriptions over from Strawberry.

Strawberry's handler (parsing, validation, extensions, the resolver's access checks) starts
every operation as usual. A subscription whose resolver takes the ``LiveHandoff`` offered here
(see boka/resolvers/live_handoff.py) then runs without a task or generator of its own: the
fan-out hands it pre-rendered results and this connection writes them, once per subscriber,
through its ``SocketWriter``. The process's ``Live`` re-checks the principal of every
connection with such subscriptions every ``live_session_check_seconds`` (``check_session``:
closing with 4401 when the session ended), as the subscriptions that run inside Strawberry do
for themselves.

Memory per connection is kept near a bare websocket's (issue 10 goal 5: at most 1.3 times):
no timer or task of its own, no queue until a send must wait, and nothing kept of the finished
work of starting a subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import structlog
from graphql import GraphQLError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from boka.errors import SlowConsumerDropped, TenantSuspended
from boka.observability.logging import get_logger
from boka.resolvers.context import RequestContext
from boka.resolvers.live_handoff import Deliver, Fail, HandedOver, Rendered, current_handoff
from boka.resolvers.live_render import payload_text

log = get_logger("boka.web.live_socket")

SESSION_ENDED = 4401
# The connection's tenant was suspended while it had live subscriptions (reason TENANT_SUSPENDED).
TENANT_CLOSED = 4403
# The process's live fan-out lost events (its pub/sub connection to Redis broke): reconnect,
# subscribe again and re-read what the subscriptions show (RFC 6455 "Service Restart").
RECONNECT = 1012
# The live fan-out is not subscribed right now: try again shortly ("Try Again Later").
TRY_AGAIN_LATER = 1013


class _Finished:
    """Stands for the finished task of a handed-over operation (Strawberry cancels and
    awaits its operations' tasks when they end), so the task itself can go."""

    def cancel(self) -> bool:
        return False

    def __await__(self) -> Generator[Any, None, None]:
        return iter(())  # type: ignore[return-value]


_FINISHED = _Finished()


class _Resume:
    """Awaiting this finishes a coroutine that was started outside any task and is suspended
    on ``waiting_on`` (what it yielded): the task that awaits it takes over from there."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, waiting_on = self.coroutine, self.waiting_on
        while True:
            try:
                value = yield waiting_on
            except BaseException as error:  # noqa: BLE001 - cancellation goes in, too
                try:
                    waiting_on = coroutine.throw(error)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    waiting_on = coroutine.send(value)
                except StopIteration as stop:
                    return stop.value


class SocketWriter:
    """One websocket's fan-out frames, in order, never waited for by the fan-out.

    A frame is written at once (the send runs eagerly, without a task) while the socket keeps
    up, which is nearly always: the ASGI send then completes without suspending. When it must
    wait (the client reads slowly and the server's buffer is full), a task finishes that send
    and the frames queued behind it. More than ``limit`` queued frames: ``on_overflow``. The
    queue is made when first needed (an empty deque is some 600 bytes, on every socket).
    """

    __slots__ = ("_limit", "_on_overflow", "_queue", "_send", "_task", "closed")

    def __init__(self, send: Callable[[str], Awaitable[None]], limit: int, on_overflow: Callable[[], None]) -> None:
        self._send = send
        self._limit = limit
        self._on_overflow = on_overflow
        self._queue: deque[str] | None = None
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    @property
    def backlog(self) -> int:
        return len(self._queue) if self._queue is not None else 0

    def write(self, text: str, *, last_words: bool = False) -> None:
        """Write ``text`` now, or queue it behind a waiting send. ``last_words`` (the error
        and ``complete`` that end subscriptions) are queued even past the limit."""
        if self.closed:
            return
        if self._task is not None:  # a send is waiting for the socket: queue behind it
            if self._queue is None:
                self._queue = deque()
            if len(self._queue) >= self._limit and not last_words:
                self._queue.clear()
                self._on_overflow()
            else:
                self._queue.append(text)
            return
        coroutine = self._send(text)
        try:
            waiting_on = coroutine.send(None)  # type: ignore[attr-defined]
        except StopIteration:
            return  # written
        except Exception:  # noqa: BLE001 - the socket is gone; the handler cleans up on disconnect
            self.closed = True
            return
        self._task = asyncio.ensure_future(self._finish(_Resume(coroutine, waiting_on)))  # type: ignore[arg-type]

    async def _finish(self, pending: _Resume) -> None:
        try:
            await pending
            while self._queue:
                await self._send(self._queue.popleft())
        except Exception:  # noqa: BLE001
            self.closed = True
            self._queue = None
        finally:
            self._task = None

    def close(self) -> None:
        self.closed = True
        self._queue = None
        if self._task is not None:
            self._task.cancel()


class _LiveOperation:
    """A subscription of this connection that runs in the fan-out: how its frames look."""

    __slots__ = ("connection", "id", "prefix", "request_id", "running")

    def __init__(self, connection: LiveSocketHandler, operation_id: str, request_id: str | None) -> None:
        self.connection = connection
        self.id = operation_id
        self.prefix = '{"type":"next","id":' + json.dumps(operation_id) + ',"payload":'
        self.request_id = request_id
        self.running: HandedOver | None = None

    def deliver(self, rendered: Rendered) -> None:
        self.connection.writer.write(self.prefix + payload_text(rendered, self.request_id) + "}")

    def fail(self, error: Exception) -> None:
        self.connection.end_live(self.id, error)


class _SocketHandoff:
    def __init__(self, connection: LiveSocketHandler, operation: Operation[Any, Any]) -> None:
        self.connection = connection
        self.operation = operation
        self.variables = operation.variables

    def take(self, start: Callable[[Deliver, Fail], HandedOver]) -> None:
        self.connection.take(self.operation, start)


class LiveSocketHandler(BaseGraphQLTransportWSHandler[RequestContext, None]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.live: dict[str, _LiveOperation] = {}
        self._writer: SocketWriter | None = None

    async def handle(self) -> None:
        """Strawberry's loop over the connection's messages, one message at a time in
        ``_handle_next``: Strawberry's own loop kept the last message (on an idle live
        connection, the subscribe and its query text) for as long as the connection lived."""
        live = self.context.runtime.live
        live.connections.add(self)
        self.on_request_accepted()
        try:
            while await self._handle_next():
                pass
        except WebSocketDisconnected:
            pass
        finally:
            live.connections.discard(self)
            await self.shutdown()

    async def _handle_next(self) -> bool:
        """Read and handle the next message; False when the connection is done."""
        socket: WebSocket = self.websocket.ws  # type: ignore[attr-defined]
        if socket.application_state == WebSocketState.DISCONNECTED:
            return False
        try:
            text = await socket.receive_text()
        except WebSocketDisconnect:
            return False
        except KeyError:
            await self.handle_invalid_message("WebSocket message type must be text")
            return False
        try:
            message = self.view.decode_json(text)
        except json.JSONDecodeError:
            await self.handle_invalid_message("WebSocket message must be valid JSON")
            return False
        await self.handle_message(message)  # type: ignore[arg-type]
        return True

    async def reconnect(self) -> None:
        """Close with ``RECONNECT``: events this connection should have had were lost."""
        try:
            await self.websocket.close(code=RECONNECT, reason="Live updates were interrupted; reconnect and resync.")
        except Exception:  # noqa: BLE001 - already gone
            log.debug("live socket already closed", exc_info=True)

    async def handle_connection_init(self, message: Any) -> None:
        if not self.context.runtime.live.ready:
            await self.websocket.close(code=TRY_AGAIN_LATER, reason="Live updates are reconnecting; try again shortly.")
            return
        # Strawberry closes a refused connection_init with 4403 "Forbidden"; when the refusal
        # was a suspended tenant, the close reason says so (TENANT_SUSPENDED).
        websocket = self.websocket
        close = websocket.close

        async def close_saying_why(code: int, reason: str) -> None:
            failure = self.context.principal_failure
            if code == TENANT_CLOSED and isinstance(failure, TenantSuspended):
                reason = failure.code.value
            await close(code=code, reason=reason)

        websocket.close = close_saying_why  # type: ignore[method-assign]
        try:
            await super().handle_connection_init(message)
        finally:
            websocket.close = close  # type: ignore[method-assign]
        if self.connection_init_received:  # Strawberry cancelled its timeout: drop the task
            self.connection_init_timeout_task = None

    @property
    def writer(self) -> SocketWriter:
        if self._writer is None:
            socket: WebSocket = self.context.request  # type: ignore[assignment]
            send = socket.send

            def send_text(text: str) -> Awaitable[None]:
                return send({"type": "websocket.send", "text": text})

            self._writer = SocketWriter(
                send_text, self.context.runtime.settings.live_queue_size, self._too_slow
            )
        return self._writer

    # -- documents that cannot run --------------------------------------------------------

    async def _send_result_stream(self, operation: Operation[Any, Any], result_source: Any) -> None:
        try:
            await super()._send_result_stream(operation, result_source)
        except GraphQLError as error:  # a syntax error: Strawberry raises it from the stream
            self.schema.process_errors([error], None)
            await operation.send_initial_errors([error])

    async def _handle_pre_execution_error(self, operation: Operation[Any, Any], result: Any) -> None:
        """A document that fails to parse, names no operation it holds, or fails validation:
        an ``error`` message for that operation (graphql-transport-ws's answer to a subscribe
        that cannot run), with the errors shaped like every other; the connection and its
        other subscriptions carry on. (Strawberry closes the socket with 4400 for the first
        two, which a client such as graphql-ws reports as a dropped connection.)"""
        errors = []
        for error in result.errors:
            if isinstance(error.original_error, CannotGetOperationTypeError):
                # Strawberry leaves this one unshaped: no code, no request id.
                error = GraphQLError(error.original_error.as_http_error_reason())
                self.schema.process_errors([error], None)
            errors.append(error)
        await operation.send_initial_errors(errors)

    # -- taking subscriptions over ---------------------------------------------------------

    async def run_operation(self, operation: Operation[RequestContext, None]) -> None:
        # The tenant may have been suspended since connection_init: a suspended tenant's
        # principal fails (TENANT_SUSPENDED), so the operation answers that error. (From the
        # identity cache, which a tenant's change clears: no database read per subscribe.)
        resolved = self.context.resolved_principal
        if resolved is not None and resolved.tenant is not None:
            with contextlib.suppress(TenantSuspended):
                await self.context.refresh_principal()
        token = current_handoff.set(_SocketHandoff(self, operation))
        try:
            await super().run_operation(operation)
        finally:
            current_handoff.reset(token)
        if operation.id in self.live:
            # Handed over: Strawberry's operation stays only to hold its id. What started it
            # (this task, with its context, and the query text) is done with.
            operation.task = _FINISHED  # type: ignore[assignment]
            operation.query = ""

    def take(self, operation: Operation[Any, Any], start: Callable[[Deliver, Fail], HandedOver]) -> None:
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        live = _LiveOperation(self, operation.id, request_id)
        live.running = start(live.deliver, live.fail)
        self.live[operation.id] = live

    # Strawberry ends the operation once the resolver has handed it over: it stays registered
    # (its id taken, counted against the limit) and no ``complete`` goes out for it.

    def forget_id(self, id: str) -> None:
        if id in self.live:
            return
        super().forget_id(id)

    async def send_message(self, message: Message) -> None:
        if message.get("type") == "complete" and message.get("id") in self.live:
            return
        await super().send_message(message)

    async def cleanup_operation(self, operation_id: str) -> None:
        live = self.live.pop(operation_id, None)
        if live is not None and live.running is not None:
            live.running.cancel()
        await super().cleanup_operation(operation_id)

    async def shutdown(self) -> None:
        await super().shutdown()
        if self._writer is not None:
            self._writer.close()

    def end_live(self, operation_id: str, error: Exception) -> None:
        """End a handed-over subscription with ``error``, as Strawberry ends one whose resolver
        raised: a ``next`` carrying the error, then ``complete``."""
        live = self.live.pop(operation_id, None)
        if live is None:
            return
        if live.running is not None:
            live.running.cancel()
        self.operations.pop(operation_id, None)
        graphql_error = GraphQLError(str(error), original_error=error)
        with structlog.contextvars.bound_contextvars(request_id=live.request_id):
            self.schema.process_errors([graphql_error], None)
        payload = json.dumps({"data": None, "errors": [graphql_error.formatted]})
        self.writer.write(live.prefix + payload + "}", last_words=True)
        self.writer.write(json.dumps({"id": operation_id, "type": "complete"}), last_words=True)

    def _too_slow(self) -> None:
        log.warning("live subscriber too far behind; dropped", subscriptions=len(self.live))
        for operation_id in list(self.live):
            self.end_live(operation_id, SlowConsumerDropped("Too far behind; subscribe again."))

    # -- the session, checked again (by the process's Live, every live_session_check_seconds) --

    async def check_session(self) -> None:
        """Resolve the principal again, if this connection has live operations (in the fan-out
        or run by Strawberry): a session that ended closes it (4401), a suspended tenant too
        (4403, anonymous connections included), a changed role moves its subscriptions to what
        the role may see. Connections of one session share the read (IdentityCache.read_once)."""
        credentials = self.context.credentials
        if not (self.live or self.operations) or credentials is None:
            return
        try:
            principal = await self.context.refresh_principal()
        except TenantSuspended as suspended:
            await self.websocket.close(code=TENANT_CLOSED, reason=suspended.code.value)
            return
        except Exception:  # noqa: BLE001 - the database is away: try again next time
            log.warning("could not check a live connection's session", exc_info=True)
            return
        if credentials.token is not None and not principal.is_authenticated:
            await self.websocket.close(code=SESSION_ENDED, reason="The session has ended.")
            return
        for live in list(self.live.values()):
            if live.running is not None:
                live.running.principal_changed(principal)
