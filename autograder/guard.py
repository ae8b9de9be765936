"""Runs inside the grading kernel: snapshot the libraries tests rely on before any student
code, and before each test cell put back whatever student code replaced, reporting it.

This is why a student who sets ``np.allclose = lambda *a, **k: True``, swaps
``sys.modules["autograder.checks"]`` or registers an IPython input transformer scores nothing
for it: the tests run against the genuine objects again.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import sys
from collections.abc import Callable

# Always snapshotted (imported if need be): what the checks and most tests use.
PROTECTED_MODULES = (
    "builtins", "math", "random", "numpy", "numpy.linalg", "numpy.random", "numpy.testing",
    "torch", "torch.nn", "torch.nn.functional", "torch.testing", "torch.autograd", "sympy",
    "autograder", "autograder.checks",
)
# Snapshotted when the notebook's own setup imported them (importing them costs seconds).
PROTECTED_IF_IMPORTED = ("scipy", "scipy.optimize", "scipy.linalg", "sklearn", "cvcourse",
                         "cvcourse.plot", "skimage")
# ipykernel itself rebinds these on every execution (stdin forwarding)
KERNEL_MANAGED = {"builtins": {"input", "raw_input", "getpass"}}
PROTECTED_CLASSES = (("torch", "Tensor"), ("torch.nn", "Module"),
                     ("IPython.core.interactiveshell", "InteractiveShell"),
                     ("ipykernel.zmqshell", "ZMQInteractiveShell"))
# Shell state that decides whether an error in a test cell is seen at all.
SHELL_ATTRIBUTES = ("custom_exceptions", "CustomTB", "showtraceback", "showsyntaxerror",
                    "run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell")
# Libraries that register IPython hooks lazily (matplotlib's inline backend on first plot).
TRUSTED_HOOK_PACKAGES = ("matplotlib", "matplotlib_inline", "ipykernel", "IPython", "ipywidgets",
                         "tqdm", "comm")


def _hook_lists(shell) -> dict[str, list]:
    """Every list of IPython hooks that can rewrite or swallow a cell, by name."""
    if shell is None:
        return {}
    lists = {"input_transformers_cleanup": shell.input_transformers_cleanup,
             "input_transformers_post": shell.input_transformers_post,
             "ast_transformers": shell.ast_transformers}
    manager = getattr(shell, "input_transformer_manager", None)
    for name in ("cleanup_transforms", "line_transforms", "token_transformers"):
        if isinstance(getattr(manager, name, None), list):
            lists[f"input_transformer_manager.{name}"] = getattr(manager, name)
    for event, callbacks in shell.events.callbacks.items():
        lists[f"events.{event}"] = callbacks
    return lists


def _package_dirs() -> tuple[str, ...]:
    """Install folders of the trusted packages, found without importing them (matplotlib's
    inline backend is often imported only after the snapshot)."""
    dirs = []
    for name in TRUSTED_HOOK_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin:
            dirs.append(spec.origin.rsplit("/", 1)[0] + "/")
    return tuple(dirs)


def _trusted(hook, package_dirs: tuple[str, ...]) -> bool:
    """A hook whose code lives in a library's own files (matplotlib's inline backend), not
    one written in a notebook cell; judged by the code's file, which a cell cannot fake by
    setting ``__module__``."""
    func = getattr(hook, "__func__", hook)
    code = getattr(func, "__code__", None)
    filename = getattr(code, "co_filename", "") if code is not None else ""
    return bool(filename) and filename.startswith(package_dirs)


def _is_module(value) -> bool:
    return type(value).__name__ == "module"


def _index(items: list, item) -> int:
    """Position of ``item`` by identity (``in`` would trust a lying ``__eq__``)."""
    for position, candidate in enumerate(items):
        if candidate is item:
            return position
    return -1


def make_guard(shell=None) -> Callable[[], list[str]]:
    """Snapshot now; return ``restore()``, which undoes later replacements and names them."""
    _setattr, _delattr, _sorted, _dict, _list = setattr, delattr, sorted, dict, list
    _vars, _sys_modules = vars, sys.modules
    modules = {name: sys.modules[name] for name in PROTECTED_IF_IMPORTED if name in sys.modules}
    for name in PROTECTED_MODULES:
        try:
            modules[name] = importlib.import_module(name)
        except ImportError:
            continue
    # Only functions, classes and submodules: plain data (counters, caches) may change legitimately.
    module_state = {name: {k: v for k, v in _vars(mod).items()
                           if (callable(v) or _is_module(v))
                           and k not in KERNEL_MANAGED.get(name, ())}
                    for name, mod in modules.items()}
    classes = {}
    for module_name, class_name in PROTECTED_CLASSES:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None)
        if isinstance(cls, type):
            classes[f"{module_name}.{class_name}"] = (cls, _dict(_vars(cls)))
    hook_lists = _hook_lists(shell)
    hooks = {key: _list(items) for key, items in hook_lists.items()}
    shell_state = {a: _vars(shell).get(a, restore_marker) for a in SHELL_ATTRIBUTES} \
        if shell is not None else {}
    package_dirs = _package_dirs()
    builtin_main = builtins

    def restore() -> list[str]:
        tampered = []
        for name, mod in modules.items():
            if _sys_modules.get(name) is not mod:
                tampered.append(f"sys.modules[{name!r}]")
                _sys_modules[name] = mod
            current = _vars(mod)
            for key, value in module_state[name].items():
                if current.get(key, restore) is not value:
                    tampered.append(f"{name}.{key}")
                    _setattr(mod, key, value)
        for label, (cls, state) in classes.items():
            current = _vars(cls)
            for key, value in state.items():
                if current.get(key, restore) is not value:
                    tampered.append(f"{label}.{key}")
                    _setattr(cls, key, value)
            for key in [k for k in current if k not in state]:  # e.g. Tensor.add shadowed
                tampered.append(f"{label}.{key}")
                _delattr(cls, key)
        if shell is not None:
            for attribute, before in shell_state.items():
                now = _vars(shell).get(attribute, restore_marker)
                if now is not before:
                    tampered.append(f"IPython shell.{attribute}")
                    if before is restore_marker:
                        _delattr(shell, attribute)
                    else:
                        _setattr(shell, attribute, before)
            current_lists = _hook_lists(shell)
            for key, before in hooks.items():
                target = current_lists.get(key)
                if target is None:  # the whole event list was removed
                    tampered.append(f"IPython {key}")
                    shell.events.callbacks[key[7:]] = _list(before)
                    continue
                added = [h for h in target if _index(before, h) < 0]
                missing = [h for h in before if _index(target, h) < 0]
                suspicious = [h for h in added if not _trusted(h, package_dirs)]
                if suspicious or missing:
                    tampered.append(f"IPython {key}")
                    target[:] = before + [h for h in added if _trusted(h, package_dirs)]
        if _sys_modules.get("builtins") is not builtin_main:
            _sys_modules["builtins"] = builtin_main
        return _sorted(set(tampered))

    return restore


restore_marker = object()  # "attribute was absent" in the shell snapshot


def snapshot_code(token: str) -> str:
    """Kernel code run after the course's setup cells, before the first student cell: keep
    ``restore`` under an unguessable name."""
    return (
        "import autograder.checks, autograder.guard\n"
        f"{token} = autograder.guard.make_guard(get_ipython())"
    )


def restore_code(token: str) -> str:
    """Kernel code run before each test cell: restore and print what was tampered with."""
    return f"print('{token}' + repr({token}()))"
