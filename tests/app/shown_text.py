"""What a reader sees on an AppTest page, as (kind, text) pairs: headings, markdown and
captions, alerts, widget labels, help texts, placeholders, the options a selection widget
shows and its captions, expander and tab labels, table headers, and the words of every plotly
chart (titles, axis and colour-bar titles, legend names, annotations, buttons, hovers)."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

WIDGET_FIELDS = ("label", "help", "placeholder")
TEXT_ELEMENTS = {"title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success"}


def shown_text(at: AppTest) -> list[tuple[str, str]]:
    """Every text on the page the app drew in its last run."""
    found: list[tuple[str, str]] = []
    for node in at._tree:
        kind = getattr(node, "type", "")
        if kind in ("expander", "tab", "status"):
            found.append((kind, node.label))
            continue
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        if kind in TEXT_ELEMENTS:
            found.append((kind, node.value))
        elif kind == "plotly_chart":
            found += [("chart", text) for text in chart_words(json.loads(proto.spec))]
        elif kind in ("dataframe", "table"):
            found += [("column", column) for column in column_headers(node)]
        for name in WIDGET_FIELDS:
            text = getattr(proto, name, "") if hasattr(proto, name) else ""
            if isinstance(text, str) and text.strip():
                found.append((f"{kind}.{name}", text))
        for name in ("options", "captions"):
            if hasattr(proto, name) and not isinstance(getattr(proto, name), str):
                found += [(f"{kind}.{name}", _option_text(option)) for option in getattr(proto, name)]
    return found


def column_headers(node) -> list[str]:
    """A table's headers as drawn: the column order and the column_config labels applied."""
    config = json.loads(node.proto.columns or "{}") if node.type == "dataframe" else {}
    order = list(getattr(node.proto, "column_order", None) or node.value.columns)
    return [str((config.get(str(column)) or {}).get("label") or column) for column in order]


def _option_text(option) -> str:
    return option if isinstance(option, str) else getattr(option, "content", str(option))


def chart_words(spec: dict) -> list[str]:
    """The words of a plotly chart's spec (not its data values or tick labels, which are tokens)."""
    layout = spec.get("layout", {})
    words = [_title(layout.get("title"))]
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            words.append(_title(axis.get("title")))
        if name.startswith("coloraxis") and isinstance(axis, dict):
            words.append(_title(axis.get("colorbar", {}).get("title")))
    words += [annotation.get("text", "") for annotation in layout.get("annotations", [])]
    for menu in layout.get("updatemenus", []):
        words += [button.get("label", "") for button in menu.get("buttons", [])]
    for slider in layout.get("sliders", []):
        words.append(slider.get("currentvalue", {}).get("prefix", ""))
    for trace in spec.get("data", []):
        words += [str(trace.get("name", "")), str(trace.get("hovertemplate", ""))]
        words.append(_title(trace.get("colorbar", {}).get("title")))
        words += [str(text) for text in trace.get("colorbar", {}).get("ticktext", [])]
    return [word for word in words if word]


def _title(title) -> str:
    if isinstance(title, dict):
        return str(title.get("text", ""))
    return str(title or "")
