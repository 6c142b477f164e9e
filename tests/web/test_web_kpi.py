"""web.kpi turns a KPI report (appliance.reports.Report's shape) into page rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from web.kpi import report_rows


@dataclass
class Kpi:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    service_level: float | None = None
    asa: float | None = None
    aht: float | None = None
    occupancy: float | None = None

    def as_dict(self):
        return asdict(self)


@dataclass
class Report:
    queues: dict = field(default_factory=dict)
    operators: dict = field(default_factory=dict)
    hours: dict = field(default_factory=dict)


def test_rows_per_group_sorted_with_extra_figures_kept():
    rep = Report(queues={"support": Kpi(10, 8, 2, 0.7, 12.0, 200.0),
                         "billing": Kpi(3, 3, 0, 1.0, 5.0, 100.0)},
                 operators={"Olga": Kpi(answered=5, occupancy=0.6)},
                 hours={14: Kpi(offered=4), 9: Kpi(offered=9)})
    rows = report_rows(rep, "queue")
    assert [r["key"] for r in rows] == ["billing", "support"]
    assert rows[1]["service_level"] == 0.7 and rows[1]["abandoned"] == 2
    assert [r["key"] for r in report_rows(rep, "hour")] == [9, 14]
    assert report_rows(rep, "operator")[0]["occupancy"] == 0.6


def test_filter_keeps_only_its_own_grouping_row():
    rep = Report(queues={"a": Kpi(1), "b": Kpi(2)}, operators={"Olga": Kpi(3)})
    assert [r["key"] for r in report_rows(rep, "queue", queue="b")] == ["b"]
    assert [r["key"] for r in report_rows(rep, "queue", operator="Olga")] == ["a", "b"]
