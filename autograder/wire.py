"""The data format between the student's kernel and the trusted judge: JSON with a few tags for
arrays, tensors and sympy trees. Decoding never unpickles or evaluates anything: it only builds
plain Python values, numpy arrays, torch tensors and allowlisted sympy classes, with size caps."""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import sys
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_FRAME = 256 * 2**20  # bytes in one message
MAX_DEPTH = 200  # nesting of containers and expression trees
MAX_DIGITS = 5000  # of an integer or a sympy Integer/Rational

_NUMPY_DTYPE = re.compile(r"^[<>|=][biufc](1|2|4|8|16)$")
_TORCH_DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128",
                 "int8", "int16", "int32", "int64", "uint8", "bool")
_SYMPY_SINGLETONS = ("Pi", "Exp1", "ImaginaryUnit", "Infinity", "NegativeInfinity",
                     "ComplexInfinity", "NaN", "Half", "One", "Zero", "NegativeOne",
                     "EulerGamma", "GoldenRatio", "Catalan", "BooleanTrue", "BooleanFalse")


class WireError(ValueError):
    """A message that is not in the format (too large, malformed, or a forbidden type)."""


# --- framing ------------------------------------------------------------------------------------
_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=True)


def pack(message: dict) -> bytes:
    body = _JSON.encode(message).encode()
    if len(body) > MAX_FRAME:
        raise WireError(f"message of {len(body) / 2**20:.0f} MiB is over the "
                        f"{MAX_FRAME // 2**20} MiB limit")
    return struct.pack(">I", len(body)) + body


def frame_length(header: bytes) -> int:
    (length,) = struct.unpack(">I", header)
    if length > MAX_FRAME:
        raise WireError(f"incoming message of {length} bytes is over the limit")
    return length


def unpack(body: bytes) -> dict:
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WireError(f"malformed message ({err})") from None
    if type(message) is not dict:
        raise WireError("a message must be a JSON object")
    return message


# --- encoding (either side) ---------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode(value: Any, by_reference: Callable[[Any], dict], depth: int = 0) -> Any:
    """Plain data as JSON; anything else through ``by_reference`` (which may raise)."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is str or kind is int:
        return value
    if kind is float:
        return {"f": value}
    if kind is complex:
        return {"c": [value.real, value.imag]}
    if kind is list:
        return [encode(v, by_reference, depth + 1) for v in value]
    if kind is tuple:
        return {"t": [encode(v, by_reference, depth + 1) for v in value]}
    if kind is dict or kind is OrderedDict:  # a module's state_dict() is an OrderedDict
        return {"d": [[encode(k, by_reference, depth + 1), encode(v, by_reference, depth + 1)]
                      for k, v in value.items()]}
    if kind is set or kind is frozenset:
        return {"set": [encode(v, by_reference, depth + 1) for v in value],
                "frozen": kind is frozenset}
    if kind is bytes:
        return {"b": _b64(value)}
    if kind is slice:
        return {"sl": [encode(v, by_reference, depth + 1)
                       for v in (value.start, value.stop, value.step)]}
    if kind is np.ndarray and value.dtype.kind in "biufc":
        array = value if value.flags.c_contiguous else value.copy(order="C")
        return {"a": [array.dtype.str, list(array.shape), _b64(array.tobytes())]}
    if isinstance(value, np.generic) and kind.__module__ == "numpy" and \
            np.dtype(kind).kind in "biufc":
        return {"n": [np.dtype(kind).str, _b64(value.tobytes())]}
    if _is_instance(value, "torch", "Tensor"):
        return _encode_tensor(value)
    if _is_instance(value, "torch", "device"):
        return {"dev": str(value)}
    if _is_instance(value, "torch", "dtype"):
        return {"dty": str(value).removeprefix("torch.")}
    if _is_instance(value, "sympy", "Basic"):
        return {"s": _encode_sympy(value, depth)}
    return by_reference(value)


def is_torch_module(value: Any) -> bool:
    """A torch.nn.Module (sent to the student's kernel as a copy, never as data to the judge)."""
    return _is_instance(value, "torch.nn", "Module")


def _is_instance(value: Any, module: str, name: str) -> bool:
    """isinstance against a library class, without importing the library for plain values."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(value, getattr(loaded, name))


def _encode_tensor(value: Any) -> dict:
    import torch

    dtype = str(value.dtype).removeprefix("torch.")
    if dtype not in _TORCH_DTYPES:
        raise WireError(f"tensors of dtype {dtype} cannot be transferred")
    if value.device.type == "meta":  # shape and dtype only: how a test sizes a huge model
        return {"T": [dtype, list(value.shape), "", "meta", bool(value.requires_grad)]}
    tensor = torch.Tensor.contiguous(torch.Tensor.cpu(torch.Tensor.detach(value)))
    raw = tensor.view(torch.int16) if dtype == "bfloat16" else tensor
    data = raw.numpy().tobytes() if tensor.numel() else b""
    return {"T": [dtype, list(tensor.shape), _b64(data), value.device.type,
                  bool(value.requires_grad)]}


def _encode_sympy(expr: Any, depth: int) -> list:
    import sympy

    if depth > MAX_DEPTH:
        raise WireError("expression nested too deeply")
    kind = type(expr)
    if kind.__name__ in _SYMPY_SINGLETONS and expr is getattr(sympy.S, kind.__name__, None):
        return ["S", kind.__name__]
    if isinstance(expr, sympy.Symbol) and kind in (sympy.Symbol, sympy.Dummy):
        given = getattr(expr, "_assumptions_orig", expr.assumptions0)
        flags = {k: v for k, v in given.items() if type(v) is bool}
        return [kind.__name__, str(expr.name), flags]
    if kind is sympy.Integer or isinstance(expr, sympy.Integer):
        return ["Integer", str(int(expr))]
    if isinstance(expr, sympy.Rational):
        return ["Rational", str(int(expr.p)), str(int(expr.q))]
    if isinstance(expr, sympy.Float):
        return ["Float", str(expr), int(expr._prec)]
    if isinstance(expr, sympy.core.function.AppliedUndef):
        return ["Undef", str(kind.__name__), *[_encode_sympy(a, depth + 1) for a in expr.args]]
    return [kind.__name__, *[_encode_sympy(a, depth + 1) for a in expr.args]]


# --- decoding (the judge's side must never trust more than this) --------------------------------
def decode(data: Any, by_reference: Callable[[dict], Any], depth: int = 0) -> Any:
    """Inverse of ``encode``; references go to ``by_reference``. Raises WireError."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    kind = type(data)
    if data is None or kind is bool or kind is str:
        return data
    if kind is int:
        if data.bit_length() > MAX_DIGITS * 4:
            raise WireError("integer too large")
        return data
    if kind is float:  # a plain JSON number (only from hand-written messages)
        return data
    if kind is list:
        return [decode(v, by_reference, depth + 1) for v in data]
    if kind is not dict or len(data) == 0:
        raise WireError(f"unexpected {kind.__name__} in a message")
    tag = next(iter(data))
    body = data[tag]
    if tag == "f":
        return _float(body)
    if tag == "c":
        return complex(_float(body[0]), _float(body[1]))
    if tag == "t":
        return tuple(decode(v, by_reference, depth + 1) for v in _list(body))
    if tag == "d":
        out = {}
        for pair in _list(body):
            key, value = _list(pair)
            out[decode(key, by_reference, depth + 1)] = decode(value, by_reference, depth + 1)
        return out
    if tag == "set":
        items = [decode(v, by_reference, depth + 1) for v in _list(body)]
        return frozenset(items) if data.get("frozen") is True else set(items)
    if tag == "b":
        return _unb64(body)
    if tag == "sl":
        return slice(*[decode(v, by_reference, depth + 1) for v in _list(body)][:3])
    if tag == "a":
        return _decode_array(body)
    if tag == "n":
        dtype, raw = _list(body)
        return _decode_array([dtype, [], raw])[()]
    if tag == "T":
        return _decode_tensor(body)
    if tag == "s":
        return _decode_sympy(body)
    if tag == "dev":
        return _decode_device(body)
    if tag == "dty":
        if body not in _TORCH_DTYPES:
            raise WireError(f"unknown torch dtype {body!r}")
        import torch

        return getattr(torch, body)
    return by_reference(data)


def _float(value: Any) -> float:
    if type(value) not in (float, int):
        raise WireError("expected a number")
    return float(value)


def _list(value: Any) -> list:
    if type(value) is not list:
        raise WireError("expected a list")
    return value


def _unb64(text: Any) -> bytes:
    if type(text) is not str:
        raise WireError("expected base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise WireError("malformed base64") from None


def _shape(shape: Any) -> tuple[int, ...]:
    dims = _list(shape)
    if len(dims) > 32 or any(type(d) is not int or d < 0 for d in dims):
        raise WireError(f"bad shape {shape!r}")
    return tuple(dims)


_DTYPES: dict[str, np.dtype] = {}  # the allowed dtypes seen so far


def _dtype(name: Any) -> np.dtype:
    dt = _DTYPES.get(name) if type(name) is str else None
    if dt is None:
        if type(name) is not str or not _NUMPY_DTYPE.match(name):
            raise WireError(f"arrays of dtype {name!r} cannot be transferred")
        dt = _DTYPES[name] = np.dtype(name)
    return dt


def _decode_array(body: Any) -> np.ndarray:
    dtype, shape, raw = _list(body)
    dt = _dtype(dtype)
    dims, data = _shape(shape), _unb64(raw)
    if dt.itemsize * math.prod(dims) != len(data):
        raise WireError("array data does not match its shape")
    return np.frombuffer(data, dtype=dt).reshape(dims).copy()


def _decode_tensor(body: Any) -> Any:
    import torch

    dtype, shape, raw, device, requires_grad = _list(body)
    if dtype not in _TORCH_DTYPES:
        raise WireError(f"tensors of dtype {dtype!r} cannot be transferred")
    if device not in ("cpu", "cuda", "meta"):
        raise WireError(f"tensors on {device!r} cannot be transferred")
    dims, data = _shape(shape), _unb64(raw)
    torch_dtype = getattr(torch, dtype)
    if device == "meta":
        if data:
            raise WireError("a meta tensor carries no data")
        return torch.empty(dims, dtype=torch_dtype, device="meta",
                           requires_grad=requires_grad is True and torch_dtype.is_floating_point)
    storage = torch.int16 if dtype == "bfloat16" else torch_dtype
    itemsize = torch.empty((), dtype=storage).element_size()
    if itemsize * math.prod(dims) != len(data):
        raise WireError("tensor data does not match its shape")
    flat = torch.frombuffer(bytearray(data), dtype=storage) if data else \
        torch.empty(0, dtype=storage)
    tensor = flat.view(torch_dtype).reshape(dims).clone()
    if device == "cuda":
        if not torch.cuda.is_available():
            raise WireError("a CUDA tensor arrived, but the judge has no GPU")
        tensor = tensor.cuda()
    if requires_grad is True and tensor.is_floating_point():
        tensor.requires_grad_(True)
    return tensor


def _decode_device(name: Any) -> Any:
    import torch

    if type(name) is not str or not re.fullmatch(r"(cpu|cuda|meta)(:\d{1,2})?", name):
        raise WireError(f"unknown torch device {name!r}")
    return torch.device(name)


def _digits(text: Any) -> int:
    if type(text) is not str or len(text) > MAX_DIGITS or not re.fullmatch(r"-?\d+", text):
        raise WireError("bad integer in an expression")
    return int(text)


def _decode_sympy(tree: Any, depth: int = 0) -> Any:
    import sympy

    if depth > MAX_DEPTH:
        raise WireError("expression nested too deeply")
    node = _list(tree)
    if not node or type(node[0]) is not str:
        raise WireError("bad expression node")
    name, args = node[0], node[1:]
    if name == "S":
        if len(args) != 1 or args[0] not in _SYMPY_SINGLETONS:
            raise WireError("unknown sympy constant")
        return getattr(sympy.S, args[0])
    if name in ("Symbol", "Dummy"):
        label, flags = args
        if type(label) is not str or len(label) > 200 or type(flags) is not dict or \
                any(type(v) is not bool for v in flags.values()):
            raise WireError("bad symbol")
        return getattr(sympy, name)(label, **{str(k): v for k, v in flags.items()})
    if name == "Integer":
        return sympy.Integer(_digits(args[0]))
    if name == "Rational":
        return sympy.Rational(_digits(args[0]), _digits(args[1]))
    if name == "Float":
        text, precision = args
        if type(text) is not str or len(text) > 400 or type(precision) is not int or \
                not 1 <= precision <= 4000 or not re.fullmatch(r"-?[\d.]+(e[-+]?\d+)?", text):
            raise WireError("bad float in an expression")
        return sympy.Float(text, precision=precision)
    if name == "Undef":
        if not args or type(args[0]) is not str or len(args[0]) > 200:
            raise WireError("bad function name")
        return sympy.Function(args[0])(*[_decode_sympy(a, depth + 1) for a in args[1:]])
    children = [_decode_sympy(a, depth + 1) for a in args]
    cls = getattr(sympy, name, None)
    if not (isinstance(cls, type) and issubclass(cls, sympy.Basic)):
        raise WireError(f"sympy objects of type {name!r} cannot be transferred")
    with sympy.evaluate(False):  # no arbitrary work (2**10**100) while decoding
        return cls(*children)
