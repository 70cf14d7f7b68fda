"""Figure size and margins computed from the labels, so every label lands inside the canvas.

Plotly draws tick labels into the margins, and neither the browser nor kaleido grows a
fixed margin to fit them.  Here the margins come from the longest label at the chosen
font size and the plot area from the number of tokens, so the same figure reads the
same on screen and in a PNG, SVG or PDF for a paper.

Text widths are estimated, not measured: a narrow character takes at most
NARROW_EM of the font size in the sans-serif fonts plotly uses, and a wide (CJK)
character one em (Noto Sans CJK's kana and kanji are exactly one em).  The estimate errs
on the generous side; the export tests measure the real boxes in Chromium, Japanese
labels and titles included.  Translated texts (i18n.LazyText) are measured as shown.
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from i18n import N_, lazy_pgettext
from viz.labels import without_index

DEFAULT_FONT = 12
MIN_FONT, MAX_FONT = 8, 32  # the sizes a figure accepts
SHRINK_FLOOR = 10  # long inputs shrink the font towards this, never below the size asked for
MIN_WIDTH, MAX_WIDTH = 300, 8000
MIN_SCALE, MAX_SCALE = 1.0, 4.0
LABEL_LIMIT = 128  # up to this many tokens, every token has its label
NARROW_EM = 0.62  # upper bound of a narrow glyph's advance, in ems
LINE_EM = 1.3  # one text line, in ems
MIN_PLOT, MAX_AUTO_PLOT = 360, 1600  # side of a computed plot area, in px
TICK_PAD = 8  # tick length + gap between a tick label and the plot
COLORBAR_PX = 34  # colour bar thickness + its tick labels' gap
WEIGHT = N_("weight")  # the colour bar title of attention weights
WEIGHT_BAR = (WEIGHT, "0.000")  # texts beside a weight colour bar
BACKGROUND = "#ffffff"
MAX_TITLE = 200  # characters of a custom figure title
MAX_SUBTITLE = 2000  # characters a subtitle keeps before it is cut to the canvas (past MAX_WIDTH at MIN_FONT)
# Plotly puts the title's first baseline at the middle of the top margin and hangs the
# subtitle below the title's last line, so the margin grows by two lines for one subtitle.
SUBTITLE_LINES = 2
TITLE_PAD = 8  # px kept free between a title line and the canvas's right edge
ELLIPSIS = "…"  # one em wide in the sans-serif fonts (wider than NARROW_EM)
# Every figure names its template: importing streamlit makes its own template the default, whose
# colours are placeholders ("#000001", …) that only Streamlit's theme replaces, so an export or
# a chart drawn with theme=None would show every line in black and tick marks the margins
# do not allow for.
TEMPLATE = "plotly"
# The key in a figure's layout.meta that says its FigureSettings title, subtitle and labels are
# applied (by finish, or by with_figure_options): they are not applied twice.
OPTIONS_APPLIED = "figure_options_applied"
CHART_TOP = 60  # px of a chart's top margin: its title (and a note line)
PLOTLY_MARGINS = {"l": 80, "r": 80, "t": 100, "b": 80}  # plotly's margins where a figure sets none
CHART_WIDTH = 700  # px plotly and kaleido draw a chart without a width at (its exports)
TITLE_SCALE = 1.4  # plotly's title font: 1.4 × the figure's font unless the figure sets one

SEPARATOR = lazy_pgettext("separator", "; ")  # between the parts of a subtitle or a caption's list
ORDINALS = {  # English suffixes; other languages write the bare number
    "st": lazy_pgettext("ordinal", "{k}st"),
    "nd": lazy_pgettext("ordinal", "{k}nd"),
    "rd": lazy_pgettext("ordinal", "{k}rd"),
    "th": lazy_pgettext("ordinal", "{k}th"),
}


@dataclass(frozen=True)
class FigureSettings:
    """How a figure is sized and labelled: the same settings drive the screen and every export.

    font_size      tick label size in px; titles are a little larger
    width          canvas width in px, or None to size it from the number of tokens
    scale          pixel density of PNG exports (2 = sharp on slides and in print)
    title          replaces each figure's own title ("" keeps it); cut to the canvas width
    subtitle       a small line under the title (the app: the model and the sentence), cut to
                   the canvas width with an ellipsis; "" for none
    index_labels   token labels keep their position prefix ("3·the"); False draws "the"
    special_lines  dotted guide lines along the rows and columns of special and global tokens
    """

    font_size: int = DEFAULT_FONT
    width: int | None = None
    scale: float = 2.0
    title: str = ""
    subtitle: str = ""
    index_labels: bool = True
    special_lines: bool = True

    def __post_init__(self) -> None:
        ok = (
            MIN_FONT <= self.font_size <= MAX_FONT
            and (self.width is None or MIN_WIDTH <= self.width <= MAX_WIDTH)
            and MIN_SCALE <= self.scale <= MAX_SCALE
        )
        if not ok:
            raise ValueError(
                N_(
                    "Figure settings out of range: font size "
                    "{min_font}–{max_font} px, width {min_width}–{max_width} px "
                    "(or automatic), scale {min_scale:g}–{max_scale:g}; got font {font}, width {width}, scale {scale}."
                ).format(
                    min_font=MIN_FONT,
                    max_font=MAX_FONT,
                    min_width=MIN_WIDTH,
                    max_width=MAX_WIDTH,
                    min_scale=MIN_SCALE,
                    max_scale=MAX_SCALE,
                    font=self.font_size,
                    width=self.width,
                    scale=self.scale,
                )
            )
        if len(self.title) > MAX_TITLE or len(self.subtitle) > MAX_SUBTITLE:
            raise ValueError(
                N_(
                    "A figure title takes at most {title_limit} characters and a subtitle {subtitle_limit}; "
                    "got {title} and {subtitle}. Shorten the title."
                ).format(
                    title_limit=MAX_TITLE,
                    subtitle_limit=MAX_SUBTITLE,
                    title=len(self.title),
                    subtitle=len(self.subtitle),
                )
            )
        if not isinstance(self.index_labels, bool) or not isinstance(self.special_lines, bool):
            raise TypeError(
                f"index_labels and special_lines are True or False; got {self.index_labels!r}, {self.special_lines!r}."
            )


def subtitle_of(model: str, text: str, text_b: str | None = None) -> str:
    """The subtitle naming a figure's input: "minilm · The cat sat … / Second sentence", the
    model folder's last part for a local model, whitespace runs as one space, at most
    MAX_SUBTITLE characters (the figure cuts it further to its width)."""
    name = model.rstrip("/").rsplit("/", 1)[-1] or model
    sentence = " / ".join(" ".join(part.split()) for part in (text, text_b or "") if part.strip())
    line = f"{name} · {sentence}" if sentence else name
    return line if len(line) <= MAX_SUBTITLE else line[: MAX_SUBTITLE - 1] + ELLIPSIS


def subtitle_lines(settings: FigureSettings) -> int:
    """The title lines of room the settings' subtitle takes in the top margin."""
    return SUBTITLE_LINES if settings.subtitle else 0


def fit_text(text: str, font_size: float, room_px: float) -> str:
    """`text` as it is, or cut with an ellipsis so that its estimated width stays within room_px."""
    if text_px(text, font_size) <= room_px:
        return text
    used, kept = float(font_size), []  # the ellipsis takes one em
    for char in text:
        used += text_px(char, font_size)
        if used > room_px:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ELLIPSIS


def text_px(text: str, font_size: float) -> float:
    """Estimated width of `text` in px at `font_size` (generous: see the module docstring)."""
    ems = sum(1.0 if unicodedata.east_asian_width(char) in "WF" else NARROW_EM for char in str(text))
    return ems * font_size


def longest_px(labels: Sequence[str], font_size: float) -> float:
    return max((text_px(label, font_size) for label in labels), default=0.0)


def tick_step(n: int, cell_px: float, font_size: float) -> int:
    """Label every k-th position: 1 up to LABEL_LIMIT positions when a text line fits a
    cell, otherwise evenly thinned so that labels neither overlap nor exceed LABEL_LIMIT."""
    fit = max(1, math.ceil(font_size * LINE_EM / max(cell_px, 1e-9) - 1e-9))
    limit = max(1, math.ceil(n / LABEL_LIMIT))
    return max(fit, limit)


def thinning_note(n: int, step: int) -> str:
    """The caption that says labels were thinned ('' when every label is shown), as a
    LazyText: it is shown in the language of the moment."""
    if step <= 1:
        return ""
    return N_("labels show every {ordinal} of {n} positions").format(ordinal=_ordinal(step), n=n)


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return ORDINALS[suffix].format(k=k)


@dataclass(frozen=True)
class MatrixLayout:
    """Pixel layout of one or more square heatmap panels side by side.

    width, height   canvas size in px
    margin          plotly margins {l, r, t, b} in px
    side            side of each square panel in px
    gaps            px between consecutive panels (len = panels − 1)
    x_step, y_step  label every k-th column / row
    font_size       tick label size in px
    settings        the settings it was computed from (title, subtitle, label options)
    """

    width: int
    height: int
    margin: dict
    side: float
    gaps: tuple[float, ...]
    x_step: int
    y_step: int
    font_size: int
    settings: FigureSettings = FigureSettings()

    def x_domains(self) -> list[tuple[float, float]]:
        """Each panel's horizontal domain as fractions of the plot area."""
        inner = max(self.width - self.margin["l"] - self.margin["r"], 1)
        domains, left = [], 0.0
        for index in range(len(self.gaps) + 1):
            domains.append(axis_domain(left / inner, (left + self.side) / inner))
            left += self.side + (self.gaps[index] if index < len(self.gaps) else 0.0)
        return domains


def axis_domain(low: float, high: float) -> tuple[float, float]:
    """An axis domain plotly accepts: both ends inside [0, 1], low ≤ high.  Fractions of a
    plot area computed in floating point can miss by a hair (1 − 6 × 1/6 = −5.6e-17), and
    plotly refuses such a domain outright."""
    low, high = _clamp(float(low), 0.0, 1.0), _clamp(float(high), 0.0, 1.0)
    return (low, high) if low <= high else (high, low)


def matrix_layout(
    y_labels: Sequence[str],
    x_labels: Sequence[str],
    settings: FigureSettings = FigureSettings(),
    title_lines: int = 1,
    panels: int = 1,
    gaps: Sequence[float] = (),
    colorbar: Sequence[str] = (),
    axis_titles: bool = True,
) -> MatrixLayout:
    """Square panels sized so every (thinned) label, the titles and the colour bar fit.

    x labels are drawn vertically under every panel, y labels left of the first one.
    `gaps` are the px between panels (e.g. room for a colour bar); `colorbar` holds the
    texts drawn beside the right-hand colour bar (its title and tick labels; () for none).
    With an automatic width, each label gets one text line of room (the font shrinks
    towards SHRINK_FLOOR for long inputs);
    with a fixed width the panels take what is left after the margins.
    """
    n = max(len(y_labels), len(x_labels), 1)
    extra = float(sum(gaps))
    title_lines += subtitle_lines(settings)
    if not settings.index_labels:
        y_labels, x_labels = [without_index(label) for label in y_labels], [without_index(label) for label in x_labels]
    if settings.width is None:
        font = _clamp(int(MAX_AUTO_PLOT / (n * LINE_EM)), _floor(settings), settings.font_size)
        side = _clamp(n * font * LINE_EM, MIN_PLOT, MAX_AUTO_PLOT)
        margin, x_step, y_step = _margins(y_labels, x_labels, font, side, title_lines, colorbar, axis_titles)
        width = margin["l"] + panels * side + extra + margin["r"]
    else:
        font, side = settings.font_size, float(settings.width) / panels
        for _ in range(3):  # margins depend on the labels shown, which depend on the side
            margin, x_step, y_step = _margins(y_labels, x_labels, font, side, title_lines, colorbar, axis_titles)
            side = max(40.0, (settings.width - margin["l"] - margin["r"] - extra) / panels)
            font = _clamp(int(side / (n * LINE_EM)), _floor(settings), settings.font_size)
        margin, x_step, y_step = _margins(y_labels, x_labels, font, side, title_lines, colorbar, axis_titles)
        # too narrow for the margins and panels of the smallest side: the canvas grows rather
        # than the panels overflowing the plot area (domains past 1)
        width = max(settings.width, math.ceil(margin["l"] + panels * side + extra + margin["r"]))
    return MatrixLayout(
        width=math.ceil(width),
        height=math.ceil(margin["t"] + side + margin["b"]),
        margin=margin,
        side=side,
        gaps=tuple(float(gap) for gap in gaps),
        x_step=x_step,
        y_step=y_step,
        font_size=font,
        settings=settings,
    )


def _floor(settings: FigureSettings) -> int:
    return min(SHRINK_FLOOR, settings.font_size)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def panel_margins(
    y_labels: Sequence[str],
    x_labels: Sequence[str],
    font: float,
    side: float,
    title_lines: int = 1,
    colorbar: Sequence[str] = (),
    axis_titles: bool = True,
) -> tuple[dict, int, int]:
    """(margins in px, x label step, y label step) for square panels of `side` px with tick
    labels drawn at `font` px (see matrix_layout for the other arguments)."""
    return _margins(y_labels, x_labels, font, side, title_lines, colorbar, axis_titles)


def _margins(y_labels, x_labels, font, side, title_lines, colorbar, axis_titles) -> tuple[dict, int, int]:
    """(margins in px, x label step, y label step) for square panels of `side` px."""
    y_step = tick_step(len(y_labels), side / max(len(y_labels), 1), font)
    x_step = tick_step(len(x_labels), side / max(len(x_labels), 1), font)
    title_room = font * LINE_EM + 6 if axis_titles else 0
    left = TICK_PAD + title_room + longest_px(list(y_labels)[::y_step], font) + 6
    bottom = TICK_PAD + title_room + longest_px(list(x_labels)[::x_step], font) + 6
    right = COLORBAR_PX + longest_px(colorbar, font + 1) + 16 if colorbar else 20
    top = title_lines * (font + 4) * LINE_EM + 24
    margin = {key: max(0, math.ceil(value)) for key, value in (("l", left), ("r", right), ("t", top), ("b", bottom))}
    return margin, x_step, y_step


def axis_ticks(labels: Sequence[str], step: int, shown: Sequence[str] | None = None) -> dict:
    """Plotly axis settings that label every `step`-th category (all when step is 1).

    `shown` replaces the text drawn for each category (e.g. a block's first token)."""
    labels = list(labels)
    text = list(shown) if shown is not None else labels
    return dict(type="category", tickmode="array", tickvals=labels[::step], ticktext=text[::step])


def finish(fig: go.Figure, layout: MatrixLayout, title: str, note: str = "", **axes: dict) -> go.Figure:
    """Apply the computed size, margins, fonts and a white background in one layout update
    (plotly validates every call, so one call keeps a layer switch fast).  `note` becomes a
    small second title line (e.g. that labels were thinned); `axes` are extra settings per
    axis name ("xaxis", "yaxis2", …); every named axis, and xaxis/yaxis, get the tick font.
    Title and note may be LazyTexts: plotly gets them as text in the active language.

    The layout's settings may replace the title (title.text) and add a subtitle line under
    it (title.subtitle, at the tick font's size), both cut to the canvas width and written
    literally (no plotly markup), and draw the token labels without their position prefix."""
    settings = layout.settings
    room = layout.width - layout.margin["l"] - TITLE_PAD  # from the title's left edge to the canvas's right edge
    title_font = layout.font_size + 4
    head = _literal(fit_text(settings.title, title_font, room)) if settings.title else str(title)
    text = f"{head}<br><sup>{note}</sup>" if note else head
    subtitle = dict(
        text=_literal(fit_text(settings.subtitle, layout.font_size, room)), font=dict(size=layout.font_size)
    )
    font = dict(size=layout.font_size)
    axes.setdefault("xaxis", {})
    axes.setdefault("yaxis", {})
    for name, axis in axes.items():
        axis.update(tickfont=font, automargin=False, **({"tickangle": -90} if name.startswith("x") else {}))
        if not settings.index_labels and axis.get("ticktext") is not None:
            axis["ticktext"] = [without_index(str(label)) for label in axis["ticktext"]]
    fig.update_layout(
        template=TEMPLATE,
        title=dict(
            text=text,
            font=dict(size=title_font),
            x=0.0,
            xanchor="left",
            xref="paper",
            **({"subtitle": subtitle} if settings.subtitle else {}),
        ),
        width=layout.width,
        height=layout.height,
        margin=layout.margin,
        font=font,
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        meta=_marked_meta(fig.layout.meta),
        **axes,
    )
    return fig


def options_applied(fig: go.Figure) -> bool:
    """Whether the figure's title, subtitle and labels already follow its FigureSettings."""
    meta = fig.layout.meta
    return isinstance(meta, dict) and bool(meta.get(OPTIONS_APPLIED))


def _marked_meta(meta) -> dict:
    """layout.meta with the OPTIONS_APPLIED mark, keeping what a figure keeps there already."""
    kept = dict(meta) if isinstance(meta, dict) else ({} if meta is None else {"value": meta})
    return {**kept, OPTIONS_APPLIED: True}


def with_figure_options(fig: go.Figure, settings: FigureSettings) -> go.Figure:
    """A chart not built by `finish` (the bars and lines of chart_layout) with the settings'
    custom title, subtitle and label option, as `finish` applies them to the heatmaps.

    The custom title replaces the title's first line (a note after "<br>" stays); the subtitle
    is drawn under the title at the chart's font size; both are written literally and cut with
    an ellipsis to the room between the title's left edge and the canvas's right edge (the
    figure's width, else CHART_WIDTH, at which exports draw a chart: charts do not take the
    settings' width).  A subtitle grows the top margin, and
    a set height with it, by SUBTITLE_LINES title lines, so the plot keeps its size and the
    subtitle stays above it.  Token tick labels lose their "3·" prefix when index_labels is False.

    Pure: a new figure is returned; one already marked OPTIONS_APPLIED (by finish, or by an
    earlier call) and settings that change nothing return `fig` itself."""
    if options_applied(fig) or not (settings.title or settings.subtitle or not settings.index_labels):
        return fig
    fig = go.Figure(fig)
    title = fig.layout.title
    font = fig.layout.font.size or DEFAULT_FONT
    title_font = title.font.size or round(TITLE_SCALE * font)
    width = float(fig.layout.width or CHART_WIDTH)
    room = width - _title_left(fig, font, width) - TITLE_PAD
    update: dict = {"meta": _marked_meta(fig.layout.meta)}
    if settings.title:
        _own, br, note = (title.text or "").partition("<br>")
        update["title_text"] = _literal(fit_text(settings.title, title_font, room)) + br + note
    if settings.subtitle:
        text = _literal(fit_text(settings.subtitle, font, room))
        update["title_subtitle"] = dict(text=text, font=dict(size=font))
        grown = math.ceil(SUBTITLE_LINES * title_font * LINE_EM)
        update["margin_t"] = _margin(fig, "t") + grown
        if fig.layout.height is not None:
            update["height"] = fig.layout.height + grown
    fig.update_layout(**update)
    if not settings.index_labels:
        fig.for_each_xaxis(_drop_index)
        fig.for_each_yaxis(_drop_index)
    return fig


def _drop_index(axis) -> None:
    if axis.ticktext is not None:
        axis.ticktext = [without_index(str(label)) for label in axis.ticktext]


def _margin(fig: go.Figure, side: str) -> float:
    """A margin of the figure in px, plotly's default where the figure sets none."""
    value = fig.layout.margin[side]
    return value if value is not None else PLOTLY_MARGINS[side]


def _title_left(fig: go.Figure, font: float, width: float) -> float:
    """Estimated px from the canvas's left edge to the title's (plotly left-anchors a title
    at x < 1/3).  A title on the plot area (xref "paper") starts after the left margin and
    the y axis's tick labels and title, which automargin adds: estimated generously."""
    title = fig.layout.title
    x = title.x if title.x is not None else (fig.layout.template.layout.title.x or 0.0)
    if title.xref != "paper":
        return x * width
    axis_title = font * LINE_EM + 6 if fig.layout.yaxis.title.text else 0
    left = _margin(fig, "l") + TICK_PAD + axis_title + text_px("100%", font) + 6
    return left + x * max(width - left - _margin(fig, "r"), 0.0)


def _literal(text: str) -> str:
    """A user's text as plotly draws it literally: its <, > and & are not markup."""
    return html.escape(text, quote=False)


def chart_layout(fig: go.Figure, **layout) -> go.Figure:
    """Axis labels that push the margins as far as they need (kaleido honours automargin),
    a white background and a left-aligned title: for the small charts (bars, lines)."""
    fig.update_layout(
        template=TEMPLATE,
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        margin=dict(l=10, r=10, t=CHART_TOP, b=10),
        **layout,
    )
    fig.update_xaxes(automargin=True, showgrid=True, gridcolor="#e5e5e5")
    fig.update_yaxes(automargin=True, showgrid=True, gridcolor="#e5e5e5")
    return fig
