"""Does the course library pick the device it promises, seed every generator, stay quiet while
grading, and draw titled, labelled figures that it closes again?"""

from __future__ import annotations

import os
import random

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import cvcourse
from cvcourse import plot
from cvcourse.device import ENV_VAR, describe, device
from cvcourse.runtime import grading, progress
from cvcourse.seed import seed_everything

mpl.use("Agg")


@pytest.fixture(autouse=True)
def _no_figures_left():
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture
def no_gpu(monkeypatch):
    """torch sees no GPU, whatever machine runs the tests."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def fake_gpu(monkeypatch):
    """torch claims a GPU (device() only builds torch.device('cuda'), it never touches it)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


# --- device -------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["cpu", "CPU", " cpu "])
def test_device_cpu_forced_even_when_a_gpu_is_visible(monkeypatch, fake_gpu, value):
    """Does CVCOURSE_DEVICE=cpu (any case, stray spaces) give the CPU on a GPU machine?"""
    monkeypatch.setenv(ENV_VAR, value)
    assert device() == torch.device("cpu")


def set_device_env(monkeypatch, value: str | None) -> None:
    """Set CVCOURSE_DEVICE to ``value``, or unset it for None."""
    if value is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, value)


@pytest.mark.parametrize("value", [None, "", "auto", "AUTO"])
def test_device_auto_picks_cpu_without_a_gpu(monkeypatch, no_gpu, value):
    set_device_env(monkeypatch, value)
    assert device() == torch.device("cpu")


@pytest.mark.parametrize("value", [None, "auto", "cuda"])
def test_device_picks_cuda_when_a_gpu_is_visible(monkeypatch, fake_gpu, value):
    set_device_env(monkeypatch, value)
    assert device() == torch.device("cuda")


def test_device_auto_on_this_machine_matches_torch(monkeypatch):
    """Unpatched: does auto agree with torch.cuda.is_available() here?"""
    monkeypatch.delenv(ENV_VAR, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert device().type == expected


def test_device_cuda_demanded_without_a_gpu_explains_the_fix(monkeypatch, no_gpu):
    monkeypatch.setenv(ENV_VAR, "cuda")
    with pytest.raises(RuntimeError) as info:
        device()
    message = str(info.value)
    assert "no GPU" in message
    assert f"{ENV_VAR}=cpu" in message


@pytest.mark.parametrize("value", ["gpu", "tpu", "cuda:0", "mps"])
def test_device_invalid_value_is_a_value_error_listing_the_choices(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(ValueError) as info:
        device()
    message = str(info.value)
    assert repr(value) in message
    assert "auto" in message and "cpu" in message and "cuda" in message


def test_device_verbose_prints_one_line_naming_cpu(monkeypatch, no_gpu, capsys):
    monkeypatch.setenv(ENV_VAR, "cpu")
    assert device(verbose=True) == torch.device("cpu")
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and err == ""
    assert "cpu" in out
    assert torch.__version__ in out
    assert f"{torch.get_num_threads()} threads" in out


def test_device_is_silent_unless_verbose(monkeypatch, no_gpu, capsys):
    monkeypatch.setenv(ENV_VAR, "cpu")
    device()
    assert capsys.readouterr() == ("", "")


def test_describe_cpu():
    assert describe(torch.device("cpu")) == (
        f"Running on cpu (torch {torch.__version__}, {torch.get_num_threads()} threads)"
    )


# --- seed_everything ----------------------------------------------------------------------------
def _draws():
    return (
        [random.random() for _ in range(5)],
        np.random.rand(5).tolist(),
        torch.rand(5).tolist(),
        torch.randint(0, 1000, (5,)).tolist(),
    )


def test_seed_everything_same_seed_same_sequences():
    seed_everything(123)
    first = _draws()
    seed_everything(123)
    assert _draws() == first


def test_seed_everything_matches_each_library_seeded_directly():
    """Is seed_everything(s) the same as seeding random, numpy and torch with s yourself?"""
    random.seed(42)
    np.random.seed(42)
    torch.manual_seed(42)
    reference = _draws()
    seed_everything(42)
    assert _draws() == reference


def test_seed_everything_different_seeds_differ():
    seed_everything(0)
    zero = _draws()
    seed_everything(1)
    one = _draws()
    for a, b in zip(zero, one, strict=True):
        assert a != b


@pytest.mark.parametrize("seed", [0, 7, 2**32 + 5])
def test_seed_everything_returns_a_default_rng_with_that_seed(seed):
    rng = seed_everything(seed)
    assert isinstance(rng, np.random.Generator)
    reference = np.random.default_rng(seed)
    assert np.array_equal(rng.random(6), reference.random(6))
    assert np.array_equal(rng.integers(0, 100, 6), reference.integers(0, 100, 6))


def test_seed_everything_returns_a_fresh_generator_each_call():
    a, b = seed_everything(3), seed_everything(3)
    assert a is not b
    assert a.random() == b.random()


@pytest.mark.parametrize("seed", [-1, -(2**40), 1.5, "0", None])
def test_seed_everything_rejects_negative_and_non_int_seeds(seed):
    with pytest.raises(ValueError, match="non-negative int"):
        seed_everything(seed)


def test_seed_everything_deterministic_mode(monkeypatch):
    """Does deterministic=True ask torch for deterministic algorithms, turn off cuDNN
    benchmarking and set a cuBLAS workspace, without overriding one the user chose?
    (torch's switch is recorded, not flipped: its first call costs seconds.)"""
    calls = []
    monkeypatch.setattr(torch, "use_deterministic_algorithms", lambda *a, **k: calls.append(a))
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    seed_everything(0, deterministic=True)
    assert calls == [(True,)]
    assert torch.backends.cudnn.benchmark is False
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    seed_everything(0, deterministic=True)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


def test_seed_everything_default_is_not_deterministic(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "use_deterministic_algorithms", lambda *a, **k: calls.append(a))
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    seed_everything(0)
    assert calls == []
    assert torch.backends.cudnn.benchmark is True
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ


# --- grading, progress --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, expected", [(None, False), ("", False), ("1", True), ("autograde", True)]
)
def test_grading_reads_nbgrader_execution(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    else:
        monkeypatch.setenv("NBGRADER_EXECUTION", value)
    assert grading() is expected


def test_progress_yields_every_item_and_writes_only_to_stdout(monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    items = [("a", 1), ("b", 2), ("c", 3)]
    assert list(progress(items, desc="epochs")) == items
    out, err = capsys.readouterr()
    assert err == ""
    assert "epochs" in out and "3/3" in out


def test_progress_accepts_a_generator_with_a_total(monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert list(progress((i * i for i in range(4)), desc="sq", total=4)) == [0, 1, 4, 9]
    out, err = capsys.readouterr()
    assert "4/4" in out and err == ""


def test_progress_is_an_iterator():
    it = progress(range(3))
    assert next(it) == 0
    assert list(it) == [1, 2]


def test_progress_is_silent_while_grading(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert list(progress(range(5), desc="epochs")) == [0, 1, 2, 3, 4]
    assert capsys.readouterr() == ("", "")


# --- plot ---------------------------------------------------------------------------------------
def _bowl(X, Y):
    return X**2 + 3 * Y**2


def test_grid_values_evaluates_f_on_the_meshgrid():
    X, Y, Z = plot.grid_values(_bowl, (-2.0, 1.0), (0.0, 3.0), n=7)
    xs, ys = np.linspace(-2.0, 1.0, 7), np.linspace(0.0, 3.0, 7)
    assert X.shape == Y.shape == Z.shape == (7, 7)
    assert np.array_equal(X[0], xs) and np.array_equal(Y[:, 0], ys)
    assert np.array_equal(Z, _bowl(*np.meshgrid(xs, ys)))
    assert Z.dtype == np.float64


def test_contour_titles_labels_and_colorbar():
    ax = plot.contour(_bowl, (-1, 1), (-2, 2), title="Bowl", xlabel="$w_1$", ylabel="$w_2$")
    assert isinstance(ax, plt.Axes)
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Bowl", "$w_1$", "$w_2$")
    assert len(ax.figure.axes) == 2  # the plot and its colorbar
    assert ax.get_xlim() == pytest.approx((-1, 1)) and ax.get_ylim() == pytest.approx((-2, 2))


def test_contour_draws_on_a_given_axes_without_a_colorbar():
    fig, ax = plt.subplots()
    assert plot.contour(_bowl, (-1, 1), (-1, 1), ax=ax, colorbar=False) is ax
    assert fig.axes == [ax]
    assert plt.get_fignums() == [fig.number]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x$", "$y$")


def test_surface_is_3d_with_title_and_labels():
    ax = plot.surface(_bowl, (-1, 1), (-1, 1), title="Loss surface", zlabel="$L$")
    assert ax.name == "3d"
    assert ax.get_title() == "Loss surface"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == ("$x$", "$y$", "$L$")
    assert len(ax.collections) == 1


def test_curves_plots_each_named_series():
    x = np.arange(1, 6)
    ys = {"train": x**2, "val": x**2 + 1.0}
    ax = plot.curves(x, ys, title="Loss", xlabel="epoch", ylabel="loss")
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Loss", "epoch", "loss")
    assert [line.get_label() for line in ax.lines] == ["train", "val"]
    for line, y in zip(ax.lines, ys.values(), strict=True):
        assert np.array_equal(line.get_xdata(), x) and np.array_equal(line.get_ydata(), y)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "val"]
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "linear")


@pytest.mark.parametrize("logx, logy", [(True, False), (False, True), (True, True)])
def test_curves_log_axes(logx, logy):
    x = np.logspace(-3, 0, 10)
    ax = plot.curves(x, {"err": x**2}, logx=logx, logy=logy)
    assert ax.get_xscale() == ("log" if logx else "linear")
    assert ax.get_yscale() == ("log" if logy else "linear")


def test_curves_single_series_has_no_legend_and_uses_a_given_axes():
    _, ax = plt.subplots()
    assert plot.curves([0, 1, 2], {"only": [1, 0, 1]}, ax=ax, style="--") is ax
    assert ax.get_legend() is None
    assert ax.lines[0].get_linestyle() == "--"


def test_paths_draws_each_trajectory_with_start_and_end_markers():
    _, ax = plt.subplots()
    trajectories = {
        "SGD": np.array([[1.0, 1.0], [0.5, 0.2], [0.1, 0.0]]),
        "Adam": [[-1.0, 0.5], [-0.2, 0.1]],
    }
    assert plot.paths(ax, trajectories) is ax
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGD", "Adam"]
    for i, points in enumerate(trajectories.values()):
        pts = np.asarray(points, dtype=float)
        path, start, end = ax.lines[3 * i : 3 * i + 3]
        assert np.array_equal(path.get_xydata(), pts)
        assert np.array_equal(start.get_xydata(), pts[:1])
        assert np.array_equal(end.get_xydata(), pts[-1:])
        assert (start.get_marker(), end.get_marker()) == ("o", "*")
        assert path.get_color() == end.get_color() == f"C{i}"


def test_image_grid_lays_out_images_with_titles():
    rng = np.random.default_rng(0)
    images = [rng.random((8, 8)) for _ in range(4)] + [rng.random((8, 8, 3))]
    titles = [f"img {i}" for i in range(5)]
    fig = plot.image_grid(images, titles=titles, ncols=2, suptitle="Samples")
    assert isinstance(fig, plt.Figure)
    assert len(fig.axes) == 6  # 3 rows x 2 columns, the last one empty
    assert all(not ax.axison for ax in fig.axes)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 5
    assert [ax.get_title() for ax in drawn] == titles
    for ax, img in zip(drawn, images, strict=True):
        assert np.array_equal(ax.images[0].get_array(), img)
    assert drawn[0].images[0].get_cmap().name == "gray"
    assert fig.get_suptitle() == "Samples"


@pytest.mark.parametrize("empty", [[], (), np.zeros((0, 8, 8))], ids=repr)
def test_image_grid_with_no_images_is_a_value_error(empty):
    with pytest.raises(ValueError, match="at least one image"):
        plot.image_grid(empty)
    assert plt.get_fignums() == []


def test_label_sets_title_and_axis_labels():
    _, ax = plt.subplots()
    assert plot.label(ax, "T", "x", "y") is ax
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("T", "x", "y")


def test_show_closes_the_given_figure():
    keep, _ = plt.subplots()
    fig, _ = plt.subplots()
    assert plot.show(fig) is None
    assert plt.get_fignums() == [keep.number]


def test_show_closes_the_current_figure():
    plot.curves([0, 1], {"a": [0, 1]})
    assert len(plt.get_fignums()) == 1
    plot.show()
    assert plt.get_fignums() == []


# --- setup --------------------------------------------------------------------------------------
def test_setup_seeds_styles_and_returns_the_device(monkeypatch, no_gpu, capsys):
    monkeypatch.delenv(ENV_VAR, raising=False)
    torch.manual_seed(5)
    reference = torch.rand(3)
    with mpl.rc_context():
        mpl.rcdefaults()
        assert mpl.rcParams["axes.spines.top"] is True
        dev = cvcourse.setup(5)
        styled = {key: mpl.rcParams[key] for key in plot.COURSE_STYLE}
        drawn = torch.rand(3)
    assert isinstance(dev, torch.device) and dev == torch.device("cpu")
    assert torch.equal(drawn, reference)
    assert styled == dict(mpl.RcParams(plot.COURSE_STYLE))  # validated like rcParams
    assert styled["axes.spines.top"] is False and styled["axes.titleweight"] == "bold"
    out, err = capsys.readouterr()
    assert "Running on cpu" in out and err == ""


def test_use_course_style_changes_the_defaults():
    with mpl.rc_context():
        mpl.rcdefaults()
        before = {key: mpl.rcParams[key] for key in plot.COURSE_STYLE}
        plot.use_course_style()
        after = {key: mpl.rcParams[key] for key in plot.COURSE_STYLE}
    changed = {key for key in plot.COURSE_STYLE if before[key] != after[key]}
    assert {"axes.grid", "axes.spines.top", "axes.spines.right", "legend.frameon"} <= changed


def test_package_exports():
    assert set(cvcourse.__all__) == {
        "describe",
        "device",
        "grading",
        "plot",
        "progress",
        "seed_everything",
        "setup",
    }
    for name in cvcourse.__all__:
        assert hasattr(cvcourse, name)


def test_seed_accepts_numpy_integers():
    """Does a numpy integer seed (e.g. from np.arange) seed exactly like the same int?"""
    cvcourse.seed_everything(np.int64(3))
    a = torch.rand(3)
    cvcourse.seed_everything(3)
    assert torch.equal(a, torch.rand(3))
    with pytest.raises(ValueError):
        cvcourse.seed_everything(True)


def test_image_grid_titles_must_match_images():
    with pytest.raises(ValueError, match="2 images but 1 titles"):
        plot.image_grid([np.zeros((2, 2)), np.ones((2, 2))], titles=["only one"])


# --- the lectures' example functions ---------------------------------------------------------
@pytest.mark.parametrize("t", [-2.0, 0.0, 1.3, 4.5])
def test_gradients_example_and_its_derivative_match_sympy_and_torch(t):
    from cvcourse import slides

    exact = float(sympy_value(slides.GRADIENTS_EXPR, {slides.T: t}))
    assert slides.gradients_f(t) == pytest.approx(exact, rel=1e-13, abs=1e-15)
    derivative = float(sympy_value(slides.GRADIENTS_EXPR.diff(slides.T), {slides.T: t}))
    assert slides.gradients_df(t) == pytest.approx(derivative, rel=1e-12, abs=1e-14)
    tt = torch.tensor(t, dtype=torch.float64, requires_grad=True)
    (torch.exp(tt / 2) * torch.sin(tt / 3) ** 2).backward()
    assert slides.gradients_df(t) == pytest.approx(tt.grad.item(), rel=1e-12, abs=1e-14)


def test_surface_gradient_matches_torch_autograd():
    from cvcourse import slides

    for w in np.random.default_rng(0).uniform(-2.5, 2.5, size=(5, 2)):
        wt = torch.tensor(w, requires_grad=True)
        value = -torch.cos((wt[0] - 0.1) * wt[1]) ** 2 - wt[0] * torch.sin(3 * wt[0] + wt[1])
        value.backward()
        assert slides.surface_f(w) == pytest.approx(value.item(), rel=1e-12)
        np.testing.assert_allclose(slides.surface_grad(w), wt.grad.numpy(), rtol=1e-10)
    grid = slides.surface(np.zeros((3, 4)), np.ones((3, 4)))
    assert grid.shape == (3, 4)


def sympy_value(expr, values):
    return expr.subs(values).evalf(30)


@pytest.fixture
def ipython_shell():
    """An IPython shell for one test; the others run outside IPython."""
    from IPython.core.interactiveshell import InteractiveShell

    existed = InteractiveShell.initialized()
    yield InteractiveShell.instance()
    if not existed:
        InteractiveShell.clear_instance()


@pytest.mark.parametrize("grading_run", [False, True])
def test_setup_draws_inline_figures_once_only_when_grading(monkeypatch, ipython_shell,
                                                           grading_run):
    """Graded runs skip the second draw that crops figures to a tight box (a sixth of a graded
    run's time); students keep the cropped figures."""
    from matplotlib.figure import Figure

    png = ipython_shell.display_formatter.formatters["image/png"]
    monkeypatch.setattr(png, "type_printers", {})
    if grading_run:
        monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    else:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    cvcourse.setup(seed=0)
    printer = png.type_printers.get(Figure)
    if grading_run:
        assert printer.keywords["bbox_inches"] is None
    else:
        assert printer is None  # left to matplotlib_inline's default, bbox_inches="tight"
