"""Does the runtime guard put back every library and checker object that student code replaced
(module functions, ``sys.modules`` entries, torch class attributes, IPython hooks), name each
one exactly once, and stay silent when nothing was touched?

Every replacement goes through ``monkeypatch`` (or try/finally), so the test process is
restored even when the guard is not.
"""

from __future__ import annotations

import builtins
import math
import sys
import types
from types import SimpleNamespace

import numpy
import numpy.linalg
import numpy.testing
import pytest
import torch
import torch.nn.functional

import autograder
import autograder.checks
from autograder.guard import make_guard


def fake(*args, **kwargs):
    """What a cheat puts in place of a library or checker function."""
    return True


# (owner, attribute, name restore() reports); the genuine object is getattr(owner, attribute)
REPLACEABLE = [
    (numpy, "allclose", "numpy.allclose"),
    (numpy.linalg, "norm", "numpy.linalg.norm"),
    (numpy.testing, "assert_allclose", "numpy.testing.assert_allclose"),
    (torch, "allclose", "torch.allclose"),
    (torch.nn.functional, "conv2d", "torch.nn.functional.conv2d"),
    (torch.Tensor, "backward", "torch.Tensor.backward"),
    pytest.param(torch.Tensor, "add", "torch.Tensor.add", id="torch.Tensor.add"),
    pytest.param(torch.Tensor, "__eq__", "torch.Tensor.__eq__", id="torch.Tensor.__eq__"),
    (torch.nn.Module, "__call__", "torch.nn.Module.__call__"),
    (builtins, "abs", "builtins.abs"),
    (math, "sqrt", "math.sqrt"),
    (autograder.checks, "assert_close", "autograder.checks.assert_close"),
    (autograder, "checks", "autograder.checks"),
]


@pytest.mark.parametrize("owner, attr, name", [
    case if hasattr(case, "marks") else pytest.param(*case, id=case[2]) for case in REPLACEABLE])
def test_replaced_object_is_put_back_and_named(monkeypatch, owner, attr: str,
                                               name: str) -> None:
    """Is one replaced function (or submodule) reported by exactly its name and the genuine
    object put back, and does a second restore() find nothing?"""
    genuine = getattr(owner, attr)
    inherited = attr not in vars(owner)  # e.g. Tensor.add lives on torch._C.TensorBase
    restore = make_guard()
    try:
        setattr(owner, attr, types.ModuleType("fake") if attr == "checks" else fake)
        assert getattr(owner, attr) is not genuine
        assert restore() == [name]
        assert getattr(owner, attr) is genuine
        assert restore() == []
    finally:  # leave the test process as it was, whatever the guard did
        if inherited:
            if attr in vars(owner):
                delattr(owner, attr)
        else:
            setattr(owner, attr, genuine)


def test_deleted_function_is_put_back(monkeypatch) -> None:
    """Is a function the student deleted from numpy reported and put back?"""
    genuine = numpy.isclose
    restore = make_guard()
    monkeypatch.delattr(numpy, "isclose")
    assert not hasattr(numpy, "isclose")
    assert restore() == ["numpy.isclose"]
    assert numpy.isclose is genuine


def test_swapped_sys_modules_entry_is_put_back(monkeypatch) -> None:
    """Is a fake ``sys.modules["autograder.checks"]`` (what ``import`` in a test cell would then
    return) reported and the genuine module put back?"""
    restore = make_guard()
    monkeypatch.setitem(sys.modules, "autograder.checks", types.ModuleType("autograder.checks"))
    assert sys.modules["autograder.checks"] is not autograder.checks
    assert restore() == ["sys.modules['autograder.checks']"]
    assert sys.modules["autograder.checks"] is autograder.checks
    from autograder.checks import assert_close
    assert assert_close is autograder.checks.__dict__["assert_close"]


def test_many_replacements_at_once_are_all_put_back(monkeypatch) -> None:
    """With numpy, torch, builtins, the checks module and its ``sys.modules`` entry all replaced
    at once, does restore() name each exactly once and put every genuine object back?"""
    genuine = {"allclose": numpy.allclose, "backward": torch.Tensor.backward,
               "abs": builtins.abs, "assert_close": autograder.checks.assert_close}
    restore = make_guard()
    monkeypatch.setattr(numpy, "allclose", fake)
    monkeypatch.setattr(torch.Tensor, "backward", fake)
    monkeypatch.setattr(autograder.checks, "assert_close", fake)
    monkeypatch.setitem(sys.modules, "autograder.checks", types.ModuleType("autograder.checks"))
    monkeypatch.setattr(builtins, "abs", fake)
    assert restore() == ["autograder.checks.assert_close", "builtins.abs", "numpy.allclose",
                         "sys.modules['autograder.checks']", "torch.Tensor.backward"]
    assert numpy.allclose is genuine["allclose"]
    assert torch.Tensor.backward is genuine["backward"]
    assert builtins.abs is genuine["abs"]
    assert sys.modules["autograder.checks"] is autograder.checks
    assert autograder.checks.assert_close is genuine["assert_close"]
    assert restore() == []


def test_restore_works_when_the_builtins_it_could_use_are_replaced() -> None:
    """Does restore() still report and repair when student code replaced ``setattr``,
    ``sorted``, ``set``, ``vars``, ``getattr`` and ``list`` with functions that lie?"""
    names = ["getattr", "list", "set", "setattr", "sorted", "vars"]
    namespace = builtins.__dict__
    saved = {key: namespace[key] for key in names}
    restore = make_guard()
    try:
        for key in names:
            namespace[key] = lambda *a, **k: []
        tampered = restore()
        repaired = [key for key in names if namespace[key] is saved[key]]
    finally:
        namespace.update(saved)
    assert tampered == [f"builtins.{key}" for key in names]
    assert repaired == names


# --- no false alarms -----------------------------------------------------------------------------

def test_untouched_guard_reports_nothing() -> None:
    """Does a guard with nothing changed since its snapshot report nothing, twice?"""
    restore = make_guard()
    assert restore() == []
    assert restore() == []


def test_kernel_managed_builtins_are_not_reported(monkeypatch) -> None:
    """Is ``input`` (which ipykernel rebinds on every execution) neither reported nor reverted?"""
    restore = make_guard()
    monkeypatch.setattr(builtins, "input", fake)
    assert restore() == []
    assert builtins.input is fake


def test_new_attributes_are_not_reported(monkeypatch) -> None:
    """Are attributes that student code adds to a module (not replacing anything) left alone and
    unreported?"""
    restore = make_guard()
    monkeypatch.setattr(numpy, "student_helper", fake, raising=False)
    monkeypatch.setattr(torch.nn.functional, "my_activation", fake, raising=False)
    assert restore() == []
    assert numpy.student_helper is fake and torch.nn.functional.my_activation is fake


# --- IPython hooks -------------------------------------------------------------------------------

def course_cleanup(lines: list[str]) -> list[str]:
    return lines


def course_prompt(lines: list[str]) -> list[str]:
    return lines


def course_flush() -> None:
    """Stands in for the callback ipykernel registers (inline figures)."""


def make_shell() -> SimpleNamespace:
    """The parts of an IPython shell the guard reads, holding the course's own hooks."""
    return SimpleNamespace(
        input_transformers_cleanup=[course_cleanup], input_transformers_post=[],
        ast_transformers=[],
        events=SimpleNamespace(callbacks={"pre_run_cell": [], "post_execute": [course_flush]}))


def hook_list(shell: SimpleNamespace, key: str) -> list:
    if key.startswith("events."):
        return shell.events.callbacks[key[len("events."):]]
    return getattr(shell, key)


def evil_transformer(lines: list[str]) -> list[str]:
    return ["passed('ok')\n"]


@pytest.mark.parametrize("key, tamper", [
    ("input_transformers_cleanup", lambda hooks: hooks.append(evil_transformer)),
    ("input_transformers_cleanup", lambda hooks: hooks.__setitem__(0, evil_transformer)),
    ("input_transformers_post", lambda hooks: hooks.append(evil_transformer)),
    ("ast_transformers", lambda hooks: hooks.append(object())),
    ("events.pre_run_cell", lambda hooks: hooks.append(fake)),
    ("events.post_execute", lambda hooks: hooks.clear()),
], ids=["append-cleanup", "replace-cleanup", "append-post", "append-ast", "register-event",
        "unregister-event"])
def test_ipython_hook_change_is_undone_and_named(key: str, tamper) -> None:
    """Is a transformer or event callback added, replaced or removed by student code reported
    as ``IPython <hook>`` and the hook list put back (the same list object, same contents)?"""
    shell = make_shell()
    hooks = hook_list(shell, key)
    before = list(hooks)
    restore = make_guard(shell)
    tamper(hooks)
    assert [id(h) for h in hooks] != [id(h) for h in before]
    assert restore() == [f"IPython {key}"]
    assert hook_list(shell, key) is hooks
    assert [id(h) for h in hooks] == [id(h) for h in before]
    assert restore() == []


def test_hook_registered_by_a_library_is_trusted() -> None:
    """Is a hook that a library registers lazily (IPython's own transformer here, matplotlib's
    inline backend in a real kernel) kept and not reported as tampering?"""
    from IPython.core.inputtransformer2 import leading_indent

    shell = make_shell()
    restore = make_guard(shell)
    shell.input_transformers_cleanup.append(leading_indent)
    assert restore() == []
    assert shell.input_transformers_cleanup == [course_cleanup, leading_indent]


def test_student_hook_claiming_a_library_module_is_still_caught() -> None:
    """Is a student's transformer reported and removed even when it claims to come from
    matplotlib's inline backend?"""
    shell = make_shell()
    restore = make_guard(shell)

    def disguised(lines):
        return ["passed('ok')\n"]

    disguised.__module__ = "matplotlib_inline.backend_inline"
    shell.input_transformers_cleanup.append(disguised)
    assert restore() == ["IPython input_transformers_cleanup"]
    assert shell.input_transformers_cleanup == [course_cleanup]


def test_removed_hook_comes_back_in_its_place() -> None:
    """When student code removes the first of two transformers, does it come back first (the
    order in which IPython applies them)?"""
    shell = make_shell()
    shell.input_transformers_cleanup.append(course_prompt)
    before = list(shell.input_transformers_cleanup)
    restore = make_guard(shell)
    del shell.input_transformers_cleanup[0]
    assert restore() == ["IPython input_transformers_cleanup"]
    assert shell.input_transformers_cleanup == before


def test_untouched_ipython_hooks_report_nothing() -> None:
    """Does a guard with a shell whose hooks are unchanged report nothing?"""
    restore = make_guard(make_shell())
    assert restore() == []


def test_transformer_that_claims_equality_is_still_caught() -> None:
    """Is a course transformer replaced by an object whose ``__eq__`` always says True still
    reported and removed?"""

    class Liar:
        def __call__(self, lines):
            return ["passed('ok')\n"]

        def __eq__(self, other):
            return True

        __hash__ = None

    shell = make_shell()
    restore = make_guard(shell)
    shell.input_transformers_cleanup[0] = Liar()
    assert restore() == ["IPython input_transformers_cleanup"]
    assert shell.input_transformers_cleanup == [course_cleanup]
    assert shell.input_transformers_cleanup[0] is course_cleanup


def test_cleared_event_table_is_rebuilt() -> None:
    """When student code empties ``get_ipython().events.callbacks`` (IPython then fails on the
    missing events), does restore() report it and rebuild the table instead of raising?"""
    shell = make_shell()
    restore = make_guard(shell)
    shell.events.callbacks.clear()
    assert "IPython events.post_execute" in restore()
    assert shell.events.callbacks == {"pre_run_cell": [], "post_execute": [course_flush]}
