"""热点: complaints of one category in one area within a sliding window, across all three bureaus
(one database in the default instance), ranked by growth over the window before. A cluster that
spans more than one bureau, or grows past workflows/assessment.yaml's threshold, alerts the
tri-bureau coordination office, once per cluster and window."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from ecoflow.complaints.models import Complaint, ComplaintCategory
from ecoflow.complaints.privacy import address_district
from ecoflow.extensions import db, dialect_insert
from ecoflow.norm.current import get_norm
from ecoflow.notifications.services import notify
from ecoflow.officers.models import Officer, RoleGrant
from ecoflow.timeutil import SHANGHAI

from .models import HotspotAlert
from .rules import get_rules
from .services import scope

log = logging.getLogger(__name__)


@dataclass
class Cluster:
    area: str
    category: str
    cases: int = 0
    previous: int = 0
    bureaus: set[str] = field(default_factory=set)
    districts: set[str] = field(default_factory=set)

    @property
    def growth(self) -> int:
        return self.cases - self.previous

    @property
    def crosses_border(self) -> bool:
        return len(self.bureaus) > 1

    @property
    def label(self) -> str:
        places = "、".join(sorted(self.districts)) or "未知区域"
        return f"{places}一带" if self.area.startswith("grid:") else places

    def as_dict(self) -> dict:
        categories = get_norm().catalog["categories"]
        return {
            "area": self.area, "label": self.label, "category": self.category,
            "category_label": categories.get(self.category, self.category), "cases": self.cases,
            "previous": self.previous, "growth": self.growth, "bureaus": sorted(self.bureaus),
            "crosses_border": self.crosses_border,
        }  # fmt: skip


def area_of(lat, lng, district: str | None, grid: float) -> str:
    """A grid cell where the complaint has coordinates (so a cluster can straddle a border), else
    its district. (Issue 6's district codes make the fallback exact.)"""
    if lat is not None and lng is not None:
        return f"grid:{math.floor(lat / grid) * grid:.3f},{math.floor(lng / grid) * grid:.3f}"
    return f"district:{(district or '未知')[:40]}"  # fits the alert's key, however odd the address


def find_hotspots(now: datetime, window_days: int | None = None) -> list[Cluster]:
    """The clusters of the window ending `now`, the fastest-growing first."""
    settings = get_rules().hotspots
    window = timedelta(days=window_days or settings["window_days"])
    cutoff = now - window
    place = (Complaint.bureau_code, Complaint.district_code, Complaint.address, Complaint.lat, Complaint.lng,
             (Complaint.received_at > cutoff).label("current"))  # fmt: skip
    in_window = (Complaint.received_at > now - 2 * window, Complaint.received_at <= now)
    # Each complaint's categories looked up by its key (a join reads every category row there is), and
    # counted here (grouping on the database sorts the addresses by collation: slower).
    categories = (
        select(func.aggregate_strings(ComplaintCategory.category, ","))
        .where(ComplaintCategory.complaint_id == Complaint.id)
        .scalar_subquery()
    )
    rows = db.session.execute(select(*place, categories, Complaint.id).where(*in_window)).all()
    # Not graded yet: the categories suggested at intake, so that the signal comes early.
    ungraded = [row[7] for row in rows if not row[6]]
    suggested = dict(
        db.session.execute(select(Complaint.id, Complaint.suggestion).where(Complaint.id.in_(ungraded))).all()
        if ungraded else []
    )  # fmt: skip
    counted = [(*row[:6], category, 1) for row in rows
               for category in (row[6].split(",") if row[6] else suggested[row[7]].get("categories", []))]  # fmt: skip
    clusters: dict[tuple[str, str], Cluster] = {}
    names = get_norm().routing.districts
    places: dict[tuple, tuple[str, str | None]] = {}
    for bureau, code, address, lat, lng, current, category, count in counted:
        if (code, address, lat, lng) not in places:
            district = code or address_district(address)
            name = names[code].name if code in names else district  # a division code by its name
            places[code, address, lat, lng] = area_of(lat, lng, district, settings["grid_degrees"]), name
        area, district = places[code, address, lat, lng]
        cluster = clusters.get((area, category))
        if cluster is None:
            cluster = clusters[area, category] = Cluster(area, category)
        if current:
            cluster.cases += count
            cluster.bureaus.add(bureau)
            if district:
                cluster.districts.add(district)
        else:
            cluster.previous += count
    listed = [c for c in clusters.values() if c.cases >= settings["min_cases"]]
    return sorted(listed, key=lambda c: (-c.growth, -c.cases, c.area, c.category))


def visible_hotspots(officer: Officer, query: dict, now: datetime) -> list[Cluster]:
    """The clusters touching the bureaus whose figures the officer sees (all, for the coordination office)."""
    bureaus = set(scope(officer, query))
    return [c for c in find_hotspots(now, query.get("window_days")) if c.bureaus & bureaus]


def window_start(now: datetime, window_days: int) -> datetime:
    """The start of the fixed window `now` falls in (local midnight), which keys an alert."""
    day = now.astimezone(SHANGHAI).date().toordinal()
    start = date.fromordinal(day - day % window_days)
    return datetime.combine(start, time(), tzinfo=SHANGHAI)


def raise_alerts(now: datetime) -> list[Cluster]:
    """Alert the coordination office to each cluster past a threshold, once per cluster and window.
    Flushes; the caller commits (the notices go out after)."""
    settings = get_rules().hotspots
    start = window_start(now, settings["window_days"])
    raised = []
    for cluster in find_hotspots(now):
        reasons = []
        if cluster.crosses_border:
            reasons.append("跨界（" + "、".join(sorted(cluster.bureaus)) + "）")
        if cluster.cases >= settings["alert_cases"]:
            reasons.append(f"{settings['window_days']}日内{cluster.cases}件")
        if not reasons:
            continue
        claimed = db.session.execute(
            dialect_insert(HotspotAlert)
            .values(area=cluster.area, category=cluster.category, window_start=start, raised_at=now,
                    cases=cluster.cases, bureaus=",".join(sorted(cluster.bureaus)), reason="；".join(reasons))
            .on_conflict_do_nothing(index_elements=["area", "category", "window_start"])
            .returning(HotspotAlert.id)
        ).scalar()  # fmt: skip
        if claimed is None:
            continue
        data = cluster.as_dict()
        message = (f"热点预警：{cluster.label}「{data['category_label']}」近{settings['window_days']}日"
                   f"{cluster.cases}件（前一周期{cluster.previous}件）。{'；'.join(reasons)}")  # fmt: skip
        notify(_coordinators(settings["alert_role"]), "hotspot", message, None, now)
        log.info("Hotspot alert: %s", message)
        raised.append(cluster)
    return raised


def _coordinators(role: str) -> list[int]:
    return db.session.scalars(
        select(RoleGrant.officer_id).join(Officer).where(RoleGrant.role == role, Officer.is_active.is_(True))
        .order_by(RoleGrant.officer_id)
    ).all()  # fmt: skip
