"""The data format and the call bridge between the judge and the student's kernel, in one
process over a socket pair: values arrive as genuine data, lying objects cannot pass as data,
hostile messages are refused, and student code reaches nothing in the judge but the functions
a test handed it."""

from __future__ import annotations

import copy
import math
import socket
import threading

import numpy as np
import pytest
import sympy
import torch

from autograder import bridge, wire


def roundtrip(value):
    return wire.decode(wire.encode(value, _no_refs), _no_refs)


def _no_refs(value):
    raise TypeError(f"no references in this test: {type(value).__name__}")


x, y = sympy.symbols("x y")


@pytest.mark.parametrize("value", [
    None, True, 0, -3, 2**200, 1.5, float("inf"), -0.0, 1 + 2j, "text", b"\x00bytes",
    [1, [2.5, "a"]], (1, (2,)), {"a": 1, 2: [3]}, {1, 2}, frozenset({3}), slice(1, None, 2),
    np.arange(6, dtype=np.int32).reshape(2, 3), np.array([[1.5, np.nan]]), np.float32(2.5),
    np.array(True), np.zeros((0, 3)), np.array([1 + 1j], dtype=np.complex64),
])
def test_plain_values_roundtrip_exactly(value):
    got = roundtrip(value)
    assert type(got) is type(value)
    if isinstance(value, np.ndarray):
        assert got.dtype == value.dtype and got.shape == value.shape
        np.testing.assert_array_equal(got, value)
    elif isinstance(value, float) and math.isnan(value):
        assert math.isnan(got)
    else:
        assert got == value
        if isinstance(value, float):
            assert math.copysign(1, got) == math.copysign(1, value)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.int64,
                                   torch.bool, torch.complex64])
def test_tensors_roundtrip_with_dtype_and_grad(dtype):
    tensor = torch.arange(6).reshape(2, 3).to(dtype)
    if tensor.is_floating_point():
        tensor.requires_grad_(True)
    got = roundtrip(tensor)
    assert type(got) is torch.Tensor and got.dtype == dtype and got.shape == (2, 3)
    assert got.requires_grad == tensor.requires_grad and got.device.type == "cpu"
    assert torch.equal(got.detach(), tensor.detach())


@pytest.mark.parametrize("expr", [
    sympy.exp(x / 2) * sympy.sin(x / 3) ** 2, sympy.Rational(1, 2), sympy.Integer(-7),
    sympy.Float("0.1", 30), x**x, sympy.log(x**2 + 1) * sympy.sqrt(x), sympy.pi * sympy.E,
    sympy.Eq(x + y, 1), sympy.Symbol("w", positive=True), sympy.Function("f")(x, y),
    sympy.oo, sympy.I * x, sympy.S.Zero,
])
def test_sympy_expressions_roundtrip(expr):
    got = roundtrip(expr)
    assert got == expr and sympy.srepr(got) == sympy.srepr(expr)


class Liar(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)


@pytest.mark.parametrize("value", [Liar(1.0), np.zeros(2).view(LyingArray), object(),
                                   np.array([object()]), lambda: 1])
def test_objects_that_are_not_plain_data_go_by_reference(value):
    refs = []
    encoded = wire.encode(value, lambda v: refs.append(v) or {"r": 0})
    assert encoded == {"r": 0} and refs == [value]


@pytest.mark.parametrize("data, says", [
    ({"a": ["|O", [1], "AAAA"]}, "dtype"),
    ({"a": ["<f8", [3], "AAAA"]}, "does not match"),
    ({"a": ["<f8", [-1], ""]}, "bad shape"),
    ({"T": ["float64", [1], "AAAAAAAAAAA=", "mps", False]}, "cannot be transferred"),
    ({"s": ["eval", ["Integer", "1"]]}, "cannot be transferred"),
    ({"s": ["Symbol", "x", {"commutative": "yes"}]}, "bad symbol"),
    ({"s": ["Integer", "1" * 6000]}, "bad integer"),
    ({"s": ["Float", "__import__('os')", 53]}, "bad float"),
    ({"s": ["S", "Dummy"]}, "constant"),
    ({"zz": 1}, "unknown"),
    ({"T": ["float32", [2], "AAAAAAAAAAA=", "meta", False]}, "no data"),
    ([[[[[[]]]]]] * 1, None),
])
def test_hostile_messages_are_refused(data, says):
    def unknown(ref):
        raise wire.WireError("unknown reference")

    if says is None:
        assert wire.decode(data, unknown) == data
        return
    with pytest.raises(wire.WireError, match=says):
        wire.decode(data, unknown)


def test_deep_nesting_and_huge_frames_are_refused():
    deep: list = []
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.WireError, match="deeply"):
        wire.decode(deep, _no_refs)
    with pytest.raises(wire.WireError, match="over the limit"):
        wire.frame_length((wire.MAX_FRAME + 1).to_bytes(4, "big"))


def test_sympy_decoding_does_no_arbitrary_work():
    huge_power = {"s": ["Pow", ["Integer", "2"], ["Pow", ["Integer", "10"], ["Integer", "100"]]]}
    got = wire.decode(huge_power, _no_refs)  # unevaluated: returns at once
    assert isinstance(got, sympy.Pow)


# --- the bridge -------------------------------------------------------------------------------
class Dual:
    def __init__(self, value, deriv):
        self.value, self.deriv = value, deriv

    def __mul__(self, other):
        other = other if isinstance(other, Dual) else Dual(other, 0.0)
        return Dual(self.value * other.value, self.value * other.deriv + self.deriv * other.value)

    __rmul__ = __mul__

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def _sgd_step(model, loss_fn, X, y, lr):
    """One step of plain gradient descent, as a student's train_epoch would take it."""
    loss = loss_fn(model(X), y)
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    return loss.item()


@pytest.fixture
def student_names():
    ours, theirs = socket.socketpair()
    namespace = {
        "Dual": Dual,
        "minimise": lambda f, x0: np.array([f(np.asarray(x0) + d) for d in (0.0, 1.0)]),
        "fails": lambda: [][1],
        "spy": lambda f, x0: f(x0),
        "liar": lambda: Liar(3.0),
        "ask_judge": None,
        "sgd_step": _sgd_step,
        "shrink": lambda model: model.__setattr__("weight", torch.nn.Parameter(torch.zeros(1))),
    }
    student = bridge.StudentSide(theirs)
    thread = threading.Thread(target=student.serve, args=(namespace,), daemon=True)
    thread.start()
    old, bridge._JUDGE = bridge._JUDGE, bridge.JudgeSide(ours)
    bridge._JUDGE.begin(30)
    yield bridge.student_names(list(namespace)), student
    bridge._JUDGE.end()
    thread.join(5)
    bridge._JUDGE = old


def test_calls_return_genuine_data_and_call_back_test_functions(student_names):
    names, _ = student_names
    seen = []
    got = names["minimise"](lambda z: seen.append(z) or float(z.sum()), [1.0, 2.0])
    assert type(got) is np.ndarray and got.tolist() == [3.0, 5.0]
    assert [type(z) for z in seen] == [np.ndarray, np.ndarray]


def test_student_objects_are_handles_whose_comparisons_are_refused(student_names):
    names, _ = student_names
    d = names["Dual"](3.0, 1.0) * names["Dual"](2.0, 0.0)
    assert (d.value, d.deriv) == (6.0, 2.0) and type(d).__name__ == "Dual"
    assert isinstance(d, names["Dual"]) and not isinstance(6.0, names["Dual"])
    with pytest.raises(TypeError, match="compared a student object"):
        d == 6.0  # noqa: B015
    with pytest.raises(TypeError, match="compared a student object"):
        bool(names["liar"]())


def test_test_functions_receive_only_data_never_student_objects(student_names):
    names, _ = student_names
    target = np.array([1.0, -2.0])  # an expected value: must never reach the student's kernel
    with pytest.raises(RuntimeError, match="only plain data"):  # as the student's code saw it
        names["spy"](lambda z: float(np.sum((z - target) ** 2)), names["Dual"](1.0, 0.0))


def test_student_errors_keep_their_builtin_type(student_names):
    names, _ = student_names
    with pytest.raises(IndexError):
        names["fails"]()


def test_student_code_reaches_only_the_functions_it_was_given(student_names):
    with pytest.raises(PermissionError):
        bridge._JUDGE.handle({"op": "getattr", "target": {"g": "anything"}, "name": "x"})
    with pytest.raises(PermissionError):
        bridge._JUDGE.handle({"op": "call", "target": {"r": 0}})


def test_a_silent_student_times_out_and_the_session_stays_failed():
    ours, theirs = socket.socketpair()
    judge = bridge.JudgeSide(ours)
    judge.begin(0.3)
    with pytest.raises(bridge.StudentTimeout):
        judge.request({"op": "call", "target": {"g": "f"}})
    with pytest.raises(bridge.StudentTimeout):
        judge.request({"op": "call", "target": {"g": "f"}})
    theirs.close()
    assert judge.end() in ("timeout", "dead")


def test_meta_tensors_cross_as_shape_and_dtype_only():
    """How a test sizes a model too big to send: its parameters moved to the meta device."""
    huge = torch.empty(4096, 25088, device="meta", requires_grad=True)
    encoded = wire.encode(huge, _no_refs)
    assert len(str(encoded)) < 100
    got = wire.decode(encoded, _no_refs)
    assert got.device.type == "meta" and got.shape == huge.shape and got.requires_grad


def test_a_torch_module_a_test_passes_is_trained_in_place_as_in_one_process(student_names):
    names, _ = student_names
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    reference, before = copy.deepcopy(model), copy.deepcopy(model)
    params = list(model.parameters())  # a test's optimizer would hold these: kept, not replaced
    X, y = torch.randn(8, 3), torch.tensor([0, 1] * 4)
    loss = names["sgd_step"](model, torch.nn.CrossEntropyLoss(), X, y, 0.5)
    assert loss == pytest.approx(_sgd_step(reference, torch.nn.CrossEntropyLoss(), X, y, 0.5))
    assert all(a is b for a, b in zip(params, model.parameters(), strict=True))
    for got, want, old in zip(model.parameters(), reference.parameters(), before.parameters(),
                              strict=True):
        assert torch.allclose(got, want) and not torch.equal(got, old)


def test_modules_of_other_classes_cannot_be_passed_to_student_code(student_names):
    names, _ = student_names

    class Mine(torch.nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="torch.nn parts.*Mine"):
        names["sgd_step"](torch.nn.Sequential(Mine()), torch.nn.MSELoss(), 0, 0, 0.1)


def test_a_student_who_reshapes_a_passed_module_fails_the_test_loudly(student_names):
    names, _ = student_names
    with pytest.raises(RuntimeError, match="size mismatch"):
        names["shrink"](torch.nn.Linear(3, 2))


@pytest.mark.parametrize("sync", [
    [[5, {"d": []}]],  # a module the test never passed
    [[0, {"d": [["weight", {"f": 1.0}]]}]],  # not a tensor
    [[0, {"r": 0}]],  # a student object, not data
    [0],
])
def test_a_malformed_module_state_from_the_student_is_refused(sync):
    judge = bridge.JudgeSide(socket.socketpair()[0])
    judge.modules = [torch.nn.Linear(1, 1)]
    with pytest.raises((wire.WireError, TypeError)):
        judge._load_states(sync)


def test_state_dicts_devices_and_dtypes_cross_as_data():
    """What tests exchange with student models: a state_dict (an OrderedDict), a device, a dtype."""
    state = torch.nn.Linear(3, 2).state_dict()
    got = roundtrip(state)
    assert type(got) is dict and list(got) == ["weight", "bias"]
    assert all(torch.equal(got[k], state[k]) for k in state)
    assert roundtrip(torch.device("cpu")) == torch.device("cpu")
    assert roundtrip(torch.device("cuda", 1)) == torch.device("cuda:1")
    assert roundtrip(torch.float64) is torch.float64


@pytest.mark.parametrize("data", [{"dev": "cpu; import os"}, {"dev": "mps"}, {"dev": 3},
                                  {"dty": "object"}, {"dty": "float128"}])
def test_unknown_devices_and_dtypes_are_refused(data):
    with pytest.raises(wire.WireError, match="unknown torch"):
        wire.decode(data, _no_refs)
