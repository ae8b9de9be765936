"""Runs inside the grading kernel: snapshot the libraries tests rely on before any student
code, and before each test cell put back whatever student code replaced, reporting it.

This is why a student who sets ``np.allclose = lambda *a, **k: True``, swaps
``sys.modules["autograder.checks"]`` or registers an IPython input transformer scores nothing
for it: the tests run against the genuine objects again.
"""

from __future__ import annotations

import builtins
import importlib
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
PROTECTED_CLASSES = (("torch", "Tensor"), ("torch.nn", "Module"))


def _ipython_hooks(shell) -> dict[str, list]:
    if shell is None:
        return {}
    hooks = {
        "input_transformers_cleanup": list(shell.input_transformers_cleanup),
        "input_transformers_post": list(shell.input_transformers_post),
        "ast_transformers": list(shell.ast_transformers),
    }
    for event, callbacks in shell.events.callbacks.items():
        hooks[f"events.{event}"] = list(callbacks)
    return hooks


# Libraries that register IPython hooks lazily (matplotlib's inline backend on first plot).
TRUSTED_HOOK_MODULES = ("matplotlib", "matplotlib_inline", "ipykernel", "IPython", "ipywidgets",
                        "tqdm", "comm")


def _trusted(hook) -> bool:
    """A hook registered by a library, not by student code (defined in ``__main__``)."""
    func = getattr(hook, "__func__", hook)
    module = getattr(func, "__module__", None) or type(hook).__module__ or ""
    return module.split(".")[0] in TRUSTED_HOOK_MODULES


def _is_module(value) -> bool:
    return type(value).__name__ == "module"


def make_guard(shell=None) -> Callable[[], list[str]]:
    """Snapshot now; return ``restore()``, which undoes later replacements and names them."""
    _setattr, _sorted, _dict = setattr, sorted, dict
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
        if module_name in modules:
            cls = getattr(modules[module_name], class_name)
            classes[f"{module_name}.{class_name}"] = (cls, _dict(_vars(cls)))
    hooks = _ipython_hooks(shell)
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
        if shell is not None:
            now = _ipython_hooks(shell)
            for key, before in hooks.items():
                current = now.get(key, [])
                added = [h for h in current if h not in before and not _trusted(h)]
                missing = [h for h in before if h not in current]
                if added or missing:
                    tampered.append(f"IPython {key}")
                    kept = [h for h in current if h not in added] + missing
                    target = (shell.events.callbacks[key[7:]] if key.startswith("events.")
                              else getattr(shell, key))
                    target[:] = kept
        if _sys_modules.get("builtins") is not builtin_main:
            _sys_modules["builtins"] = builtin_main
        return _sorted(set(tampered))

    return restore


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
