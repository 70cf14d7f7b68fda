"""notebooks/quickstart.ipynb executed with nbclient in this venv's kernel, then read the way a
reader sees it: no error and no red stderr, the layer story printed, a labelled head heatmap,
the in-memory model giving the registry model's numbers, a corpus run, and a PNG whose edges
cut nothing.  In CI a missing nbclient, kernel or Chromium fails instead of skipping."""

from __future__ import annotations

import base64
import io
import sys

import numpy as np
import pytest
from png_edges import border_is_white
from tiers import IN_CI, ROOT

NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
PNG = ROOT / "out" / "quickstart" / "head.png"
KERNEL = "python3"
CELL_TIMEOUT_S = 180
PROBE = "import sys; print('kernel prefix:', sys.prefix)"  # appended: which Python ran the cells
FIGURE = "application/vnd.plotly.v1+json"
ROW_SUM_TOLERANCE = 1e-5  # float32 attention rows
SENTENCE_TOKENS = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "because", "it", "was", "tired", ".", "[SEP]"]


def _missing(what: str) -> None:
    message = f"{what}: run `make test` (it installs requirements-dev.txt into .venv)"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _read(path=NOTEBOOK):
    import nbformat

    return nbformat.read(path, as_version=4)


def _texts(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", ()) if output.output_type == "stream")


@pytest.fixture(scope="module")
def executed():
    """The notebook after one run from notebooks/ (as a reader opens it), with the probe cell."""
    try:
        import nbformat
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
        from nbclient import NotebookClient
    except ImportError as error:
        _missing(f"nbclient is not installed ({error})")
    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        _missing(f"no Jupyter kernel '{KERNEL}' (ipykernel)")
    notebook = _read()
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    PNG.unlink(missing_ok=True)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on an error
    return notebook


def _array(value) -> np.ndarray:
    """A plotly JSON array: a list, or (plotly 6+) {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict):
        shape = tuple(int(size) for size in value["shape"].split(","))
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.asarray(value, dtype=float)


def _code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_committed_notebook_has_no_outputs_and_the_python3_kernel():
    notebook = _read()
    assert notebook.metadata.kernelspec.name == KERNEL
    for cell in _code_cells(notebook):
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_cells_run_in_this_venv_without_error_or_stderr(executed):
    assert _texts(_code_cells(executed)[-1]).strip() == f"kernel prefix: {sys.prefix}"
    for cell in _code_cells(executed):
        for output in cell.outputs:
            assert output.output_type != "error", output
            assert output.get("name") != "stderr", (cell.source[:60], output.text)


def test_the_layer_story_is_printed(executed):
    story = next(_texts(cell) for cell in _code_cells(executed) if "analysis.diagnosis" in cell.source)
    assert "[info]" in story and "Best [CLS] sentence-summary candidate: layer" in story
    rows = [line.split() for line in story.splitlines() if line.strip()[:1].isdigit()]
    assert [int(row[0]) for row in rows] == [1, 2, 3, 4, 5, 6]
    for row in rows:
        shares = [float(value) for value in row[1:]]  # to CLS, to SEP, diagonal, rest
        assert len(shares) == 4 and abs(sum(shares) - 1) <= 0.03  # rounded to 2 decimals


def test_a_labelled_head_heatmap_is_displayed(executed):
    figures = [
        output.data[FIGURE]
        for cell in executed.cells
        for output in cell.get("outputs", ())
        if FIGURE in output.get("data", {})
    ]
    assert len(figures) == 1
    (figure,) = figures
    (heatmap,) = figure["data"]
    assert heatmap["type"] == "heatmap"
    assert figure["layout"]["title"]["text"] == "Layer 2, head 3"
    n = len(SENTENCE_TOKENS)
    weights = _array(heatmap["z"])  # [query, key]
    assert weights.shape == (n, n)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=ROW_SUM_TOLERANCE)
    expected = [f"{i}·{token}" for i, token in enumerate(SENTENCE_TOKENS)]
    assert figure["layout"]["xaxis"]["ticktext"] == expected
    assert figure["layout"]["yaxis"]["ticktext"] == expected


def test_the_model_in_memory_matches_the_registry_model(executed):
    text = next(_texts(cell) for cell in _code_cells(executed) if "from_objects(" in cell.source)
    assert "attention before: sdpa" in text  # transformers' default: switched by from_objects
    assert "attention after: eager | family: bert" in text
    assert "same attention as load_model('minilm'): True" in text


def test_the_corpus_run_scores_its_sentences(executed):
    text = next(_texts(cell) for cell in _code_cells(executed) if "run_corpus(" in cell.source)
    assert "24 sentences scored from sample_corpus.txt" in text
    assert "over 24 sentences" in text  # the corpus diagnosis, with its intervals


def test_the_exported_png_cuts_nothing_at_its_edges(executed):
    from PIL import Image

    text = next(_texts(cell) for cell in _code_cells(executed) if "figure_image(" in cell.source)
    if "PNG export unavailable" in text:
        _missing(f"no Chromium for kaleido ({text.strip()}); `make browser` installs it")
    assert "wrote out/quickstart/head.png" in text
    image = Image.open(io.BytesIO(PNG.read_bytes())).convert("RGB")
    figure = next(
        output.data[FIGURE]
        for cell in executed.cells
        for output in cell.get("outputs", ())
        if FIGURE in output.get("data", {})
    )
    assert image.size == (2 * figure["layout"]["width"], 2 * figure["layout"]["height"])  # scale 2
    assert border_is_white(image), "a label or the colour bar reaches the PNG's edge"
    assert (np.asarray(image) < 128).any(), "the PNG has no dark pixels: no text or heatmap was drawn"
