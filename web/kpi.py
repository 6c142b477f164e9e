"""Rows for the reports page from a KPI report object (``appliance.reports.Report``).

The switchboard's ``Box.reports`` can be::

    rep = await store.read(lambda c: report(c, start, end, utc_offset=offset,
                                            queue_thresholds=thresholds))
    return report_rows(rep, group, queue=queue, operator=operator)

Duck-typed on purpose: the report needs ``.queues``, ``.operators`` and ``.hours`` dicts of
objects with ``as_dict()`` giving at least offered, answered, abandoned, service_level,
asa and aht.
"""

from __future__ import annotations

from typing import Any

FIGURES = ("offered", "answered", "abandoned", "service_level", "asa", "aht")


def report_rows(report: Any, group: str, *, queue: str = "",
                operator: str = "") -> list[dict[str, Any]]:
    """``[{"key", offered, answered, abandoned, service_level, asa, aht, ...}]`` sorted
    by key.  A queue or operator filter keeps only that row of its own grouping (the
    report does not cross queues with operators)."""
    table = {"queue": report.queues, "operator": report.operators,
             "hour": report.hours}[group]
    wanted = {"queue": queue, "operator": operator}.get(group, "")
    rows = []
    for key, kpi in sorted(table.items()):
        if wanted and key != wanted:
            continue
        figures = kpi.as_dict()
        rows.append({"key": key, **{name: figures.get(name) for name in FIGURES},
                     **{k: v for k, v in figures.items() if k not in FIGURES}})
    return rows
