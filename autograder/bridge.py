"""Calls from the trusted judge kernel into the student's kernel, over one Unix socket.

The judge runs the test cells. A name the student defines (``random_search``, ``Dual``) is a
``Remote`` there: calling it, reading an attribute or applying an operator sends a request; the
student's kernel answers with plain data (``autograder.wire``), or with a handle for objects
that are not data (an instance of the student's class). Functions the test passes in (an
objective, ``np.sin``) stay in the judge and are called back. Expected values never leave the
judge, and nothing the student's kernel sends is executed or unpickled there.
"""

from __future__ import annotations

import base64
import io
import operator
import re
import socket
import time
from typing import Any

from autograder import wire

BRIDGE_ENV = "AUTOGRADER_BRIDGE"  # path of the judge's listening socket, for the launcher


class StudentTimeout(BaseException):  # noqa: N818 - BaseException: tests must not catch it
    """Student code did not answer within the cell's time limit."""


class StudentKernelDied(BaseException):  # noqa: N818
    """The student's kernel went away (exit, crash, memory cap) during a test."""


class StudentError(Exception):
    """Student code raised an exception that is not a builtin one (its name and message)."""


_BUILTIN_ERRORS = {name: obj for name, obj in __import__("builtins").__dict__.items()
                   if isinstance(obj, type) and issubclass(obj, Exception)}


class Endpoint:
    """One side of the socket: numbered requests, replies matched by number, and requests from
    the other side served while waiting (callbacks)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray()  # received bytes not yet returned as a message
        self.next_id = 0
        self.deadline: float | None = None

    # framing
    def send(self, message: dict) -> None:
        try:
            self.sock.sendall(wire.pack(message))
        except OSError:
            raise StudentKernelDied("the student's kernel closed the connection") from None

    def _fill(self, count: int) -> None:
        """Read until the buffer holds ``count`` bytes. What arrived stays buffered when the
        time runs out, so the frames after a timeout are read whole."""
        while len(self.buffer) < count:
            try:
                chunk = self.sock.recv(min(max(count - len(self.buffer), 1 << 16), 1 << 22))
            except TimeoutError:
                raise StudentTimeout("student code ran past the time limit") from None
            except OSError:
                chunk = b""
            if not chunk:
                raise StudentKernelDied("the student's kernel closed the connection")
            self.buffer += chunk

    def receive(self) -> dict:
        if self.deadline is None:
            self.sock.settimeout(None)
        else:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise StudentTimeout("student code ran past the time limit")
            self.sock.settimeout(remaining)
        self._fill(4)
        end = 4 + wire.frame_length(bytes(self.buffer[:4]))
        self._fill(end)
        body = bytes(self.buffer[4:end])
        del self.buffer[:end]
        return wire.unpack(body)

    # requests
    def request(self, message: dict) -> Any:
        self.next_id += 1
        request_id = message["id"] = self.next_id
        self.send(message)
        while True:
            incoming = self.receive()
            if "op" in incoming:
                self.serve_one(incoming)
            elif incoming.get("re") == request_id:
                return self.reply_value(incoming)
            # a reply to an abandoned request: ignore

    def reply_value(self, reply: dict) -> Any:
        if "error" in reply:
            name, text = (list(reply["error"]) + ["", ""])[:2]
            raise self.error(str(name), str(text))
        return self.decode(reply.get("ok"))

    def serve_one(self, message: dict) -> bool:
        """Answer one request; False when it was the end of a session."""
        if message.get("op") == "end":
            return False
        try:
            value = self.handle(message)
            reply = {"re": message.get("id"), "ok": self.encode(value), **self.after_call()}
        except (StudentTimeout, StudentKernelDied):
            raise
        except BaseException as err:  # noqa: BLE001 - every failure is reported to the caller
            reply = {"re": message.get("id"), "error": [type(err).__name__, str(err)[:2000]]}
        self.send(reply)
        return True

    # overridden per side
    def encode(self, value: Any) -> Any:
        raise NotImplementedError

    def decode(self, data: Any) -> Any:
        raise NotImplementedError

    def handle(self, message: dict) -> Any:
        raise NotImplementedError

    def after_call(self) -> dict:
        """What a reply carries besides the call's value (the student's side: module states)."""
        return {}

    def error(self, name: str, text: str) -> BaseException:
        return RuntimeError(f"{name}: {text}")


# --- the student's side -------------------------------------------------------------------------
_BINARY = {name: getattr(operator, name) for name in
           ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul")}
_UNARY = {"neg": operator.neg, "pos": operator.pos, "abs": abs, "len": len, "repr": repr,
          "str": str, "float": float, "int": int, "index": operator.index, "complex": complex,
          "list": list}


class StudentSide(Endpoint):
    """Runs in the student's kernel: answers the judge's requests with the student's objects."""

    def __init__(self, sock: socket.socket):
        super().__init__(sock)
        self.objects: list[Any] = []
        self.namespace: dict = {}
        self.modules: list[tuple[int, Any]] = []  # (judge's key, copy) received in this call

    def encode(self, value: Any) -> Any:
        return wire.encode(value, self._reference)

    def _reference(self, value: Any) -> dict:
        if isinstance(value, CallbackStub) and value.endpoint is self:
            return {"cb": value.key}
        self.objects.append(value)
        return {"r": len(self.objects) - 1, "type": type(value).__name__}

    def decode(self, data: Any) -> Any:
        return wire.decode(data, self._resolve)

    def _resolve(self, ref: dict) -> Any:
        if "r" in ref:
            return self.objects[ref["r"]]
        if "g" in ref:
            name = ref["g"]
            if name not in self.namespace:
                raise NameError(f"name {name!r} is not defined in the notebook")
            return self.namespace[name]
        if "cb" in ref:
            return CallbackStub(self, ref["cb"])
        if "M" in ref:
            import torch

            module = torch.load(io.BytesIO(base64.b64decode(ref["M"])), weights_only=False)
            self.modules.append((ref["key"], module))
            return module
        raise wire.WireError("unknown reference")

    def after_call(self) -> dict:
        sent, self.modules = self.modules, []
        if not sent:
            return {}
        return {"sync": [[key, self.encode(dict(module.state_dict()))] for key, module in sent]}

    def handle(self, message: dict) -> Any:
        self.modules = []
        op, target = message.get("op"), self.decode(message.get("target"))
        if op == "call":
            kwargs = {str(k): v for k, v in self.decode(message.get("kwargs", []))}
            return target(*self.decode(message.get("args", [])), **kwargs)
        if op == "getattr":
            return getattr(target, str(message["name"]))
        if op == "setattr":
            return setattr(target, str(message["name"]), self.decode(message["value"]))
        if op == "getitem":
            return target[self.decode(message["key"])]
        if op == "setitem":
            target[self.decode(message["key"])] = self.decode(message["value"])
            return None
        if op == "binop":
            other = self.decode(message["other"])
            fn = _BINARY[str(message["name"])]
            return fn(other, target) if message.get("reflected") else fn(target, other)
        if op == "unary":
            return _UNARY[str(message["name"])](target)
        if op == "isinstance":
            return isinstance(target, self.decode(message["cls"]))
        raise ValueError(f"unknown request {op!r}")

    def serve(self, namespace: dict) -> None:
        """Answer requests until the judge ends the session (one test cell)."""
        self.namespace = namespace
        self.deadline = None
        while self.serve_one(self.receive()):
            pass


class CallbackStub:
    """A function of the test, seen from student code: calling it asks the judge."""

    def __init__(self, endpoint: StudentSide, key: int):
        self.endpoint, self.key = endpoint, key

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.endpoint.request({
            "op": "call", "target": {"cb": self.key},
            "args": self.endpoint.encode(list(args)),
            "kwargs": self.endpoint.encode([[k, v] for k, v in kwargs.items()])})

    def __repr__(self) -> str:
        return f"<function from the test #{self.key}>"


_STUDENT: StudentSide | None = None


def connect(path: str) -> None:
    """Called by the grading kernel's launcher, before any student code runs."""
    global _STUDENT
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    _STUDENT = StudentSide(sock)


def serve() -> None:
    """Executed in the student's kernel for the length of one test cell."""
    from IPython import get_ipython

    for _ in range(600):  # the launcher connects in the background while the kernel starts
        if _STUDENT is not None:
            break
        time.sleep(0.05)
    if _STUDENT is None:
        raise RuntimeError("this kernel is not connected to a judge")
    _STUDENT.serve(get_ipython().user_ns)


# --- the judge's side ---------------------------------------------------------------------------
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")


class JudgeSide(Endpoint):
    """Runs in the trusted judge kernel: sends calls, serves callbacks into test functions."""

    def __init__(self, sock: socket.socket):
        super().__init__(sock)
        self.callbacks: list[Any] = []
        self.status = "ok"
        self.closed = False
        self.remote_types: dict[str, type] = {}
        self.modules: list[Any] = []  # torch modules a test passed to student code

    def encode(self, value: Any) -> Any:
        return wire.encode(value, self._reference)

    def _reference(self, value: Any) -> dict:
        if isinstance(value, Remote):
            return object.__getattribute__(value, "_ref")
        if wire.is_torch_module(value):
            return self._send_module(value)
        if callable(value):
            self.callbacks.append(value)
            return {"cb": len(self.callbacks) - 1}
        raise TypeError(f"a {type(value).__name__} cannot be passed to student code: pass "
                        "numbers, arrays, tensors, sympy expressions, containers or functions")

    def _send_module(self, module: Any) -> dict:
        """A copy for the student's kernel: torch.nn parts only, whose classes it has too."""
        import torch

        foreign = sorted({type(m).__qualname__ for m in module.modules()
                          if not type(m).__module__.startswith("torch.nn.")})
        if foreign:
            raise TypeError(f"only modules built from torch.nn parts can be passed to student "
                            f"code, not {', '.join(foreign)}: build the test's model from them")
        buffer = io.BytesIO()
        torch.save(module, buffer)
        self.modules.append(module)
        return {"M": base64.b64encode(buffer.getvalue()).decode("ascii"),
                "key": len(self.modules) - 1}

    def reply_value(self, reply: dict) -> Any:
        if "sync" in reply:
            self._load_states(reply["sync"])
        return super().reply_value(reply)

    def _load_states(self, sync: Any) -> None:
        """Copy back what student code did to the modules a test passed it (training in place).
        Only tensors under the module's own names are accepted; load_state_dict checks shapes."""
        import torch

        for pair in wire.decode(sync, _data_only):
            key, state = pair if type(pair) is list and len(pair) == 2 else (None, None)
            if type(key) is not int or not 0 <= key < len(self.modules) or \
                    type(state) is not dict or not all(type(k) is str and torch.is_tensor(v)
                                                       for k, v in state.items()):
                raise wire.WireError("malformed module state from the student's kernel")
            with torch.no_grad():
                self.modules[key].load_state_dict(state, strict=True)

    def decode(self, data: Any) -> Any:
        return wire.decode(data, self._resolve)

    def _resolve(self, ref: dict) -> Any:
        if "cb" in ref and type(ref["cb"]) is int and 0 <= ref["cb"] < len(self.callbacks):
            return self.callbacks[ref["cb"]]
        if "r" in ref and type(ref["r"]) is int:
            name = ref.get("type")
            name = name if type(name) is str and _NAME.match(name) else "StudentObject"
            kind = self.remote_types.get(name)
            if kind is None:
                kind = self.remote_types[name] = type(name, (Remote,), {
                    "__slots__": (), "__module__": "student"})
            return kind(self, {"r": ref["r"]})
        raise wire.WireError("the student's kernel sent an unknown reference")

    def handle(self, message: dict) -> Any:
        # the only thing student code may ask of the judge: call a function the test passed in
        target = message.get("target")
        if message.get("op") != "call" or type(target) is not dict or set(target) != {"cb"}:
            raise PermissionError("student code may only call functions a test passed to it")
        fn = self._resolve(target)
        # plain data only: a student object here would make the test function run operators
        # in the student's kernel with the test's values (its expected target, say)
        kwargs = {str(k): v for k, v in wire.decode(message.get("kwargs", []), _data_only)}
        return fn(*wire.decode(message.get("args", []), _data_only), **kwargs)

    def error(self, name: str, text: str) -> BaseException:
        kind = _BUILTIN_ERRORS.get(name)
        if kind is not None and not issubclass(kind, (StudentError,)):
            try:
                return kind(text)
            except Exception:  # noqa: BLE001 - some builtin errors take other arguments
                pass
        return StudentError(f"{name}: {text}")

    def request(self, message: dict) -> Any:
        if self.status != "ok":
            raise (StudentTimeout if self.status == "timeout" else StudentKernelDied)(
                "the student's kernel stopped answering earlier in this test")
        try:
            return super().request(message)
        except StudentTimeout:
            self.status = "timeout"
            raise
        except StudentKernelDied:
            self.status = "dead"
            raise
        except wire.WireError:
            self.status = "broken"
            raise

    # test-cell sessions, driven by the executor
    def begin(self, seconds: float) -> None:
        self.status, self.deadline = "ok", time.monotonic() + seconds
        self.modules = []

    def end(self) -> str:
        status = self.status
        self.deadline = time.monotonic() + 2
        try:
            self.send({"op": "end"})
        except StudentKernelDied:
            status = "dead"
        self.deadline = None
        return status


def _data_only(ref: dict) -> Any:
    raise TypeError("student code may pass only plain data (numbers, arrays, tensors, sympy "
                    "expressions, containers) to a function a test gave it")


class Remote:
    """A student object seen from the judge. Comparisons and truth tests are refused: they would
    run in the student's kernel, so a test must compare data (``.value``, ``len(...)``)."""

    __slots__ = ("_judge", "_ref")

    def __init__(self, judge: JudgeSide | None, ref: dict):
        object.__setattr__(self, "_judge", judge)  # None: whichever kernel is current (a name)
        object.__setattr__(self, "_ref", ref)

    def _ask(self, op: str, **fields: Any) -> Any:
        judge = object.__getattribute__(self, "_judge") or _current()
        if judge.closed:
            raise StudentKernelDied("this student object was lost when the kernel restarted")
        return judge.request({"op": op, "target": object.__getattribute__(self, "_ref"),
                              **{k: judge.encode(v) if k in ("args", "kwargs", "value",
                                                             "other", "key", "cls") else v
                                 for k, v in fields.items()}})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # protocol probes (numpy's __array__ ...) stay local
        return self._ask("getattr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._ask("setattr", name=name, value=value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ask("call", args=list(args), kwargs=[[k, v] for k, v in kwargs.items()])

    def __getitem__(self, key: Any) -> Any:
        return self._ask("getitem", key=key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._ask("setitem", key=key, value=value)

    def __instancecheck__(self, obj: Any) -> bool:
        return isinstance(obj, Remote) and obj._ask("isinstance", cls=self) is True

    def __iter__(self):
        return iter(self._ask("unary", name="list"))

    def __repr__(self) -> str:
        text = self._ask("unary", name="repr")
        return text if type(text) is str else "<student object>"

    def __str__(self) -> str:
        text = self._ask("unary", name="str")
        return text if type(text) is str else "<student object>"

    def __hash__(self) -> int:
        return id(self)

    def _refuse(self, *_: Any) -> Any:
        raise TypeError("a test compared a student object directly; compare its data instead "
                        "(an attribute such as .value, or the result converted to an array)")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __contains__ = _refuse


def _unary(name: str):
    def method(self: Remote) -> Any:
        return self._ask("unary", name=name)
    method.__name__ = f"__{name}__"
    return method


def _binary(name: str, reflected: bool):
    def method(self: Remote, other: Any) -> Any:
        return self._ask("binop", name=name, other=other, reflected=reflected)
    method.__name__ = f"__{'r' if reflected else ''}{name}__"
    return method


for _name in ("neg", "pos", "abs", "len", "float", "int", "index", "complex"):
    setattr(Remote, f"__{_name}__", _unary(_name))
for _name in _BINARY:
    setattr(Remote, f"__{_name}__", _binary(_name, False))
    setattr(Remote, f"__r{_name}__", _binary(_name, True))


_JUDGE: JudgeSide | None = None
_LISTENER: socket.socket | None = None


def listen(path: str) -> None:
    """In the judge: open the socket the next student kernel will connect to."""
    global _LISTENER
    if _LISTENER is not None:
        _LISTENER.close()
    _LISTENER = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _LISTENER.bind(path)
    import os

    os.chmod(path, 0o666)  # the sandboxed kernel runs as another user; the folder is private
    _LISTENER.listen(1)


def accept(path: str, seconds: float = 60) -> None:
    """In the judge: take the student kernel's connection and stop listening."""
    global _JUDGE, _LISTENER
    assert _LISTENER is not None, "listen() first"
    _LISTENER.settimeout(seconds)
    sock, _ = _LISTENER.accept()
    _LISTENER.close()
    _LISTENER = None
    import os

    os.unlink(path)
    if _JUDGE is not None:
        _JUDGE.closed = True
        _JUDGE.sock.close()
    _JUDGE = JudgeSide(sock)


def _current() -> JudgeSide:
    if _JUDGE is None:
        raise StudentKernelDied("the judge is not connected to a student kernel")
    return _JUDGE


def begin(seconds: float) -> None:
    """In the judge, before a test cell: student calls must answer within ``seconds``."""
    _current().begin(seconds)


def end() -> str:
    """In the judge, after a test cell: end the student's session; returns how it went."""
    return _current().end()


def student_names(names: list[str]) -> dict[str, Remote]:
    """Remotes for the names the student's answer cells define, for the judge's namespace."""
    return {name: Remote(None, {"g": name}) for name in names}
