"""The issue's "done when": a manager finds every demo dossier by a word of its title, its
association's name with a typo, its SIRET and its reference — on both backends."""

from __future__ import annotations

import re

import sqlalchemy as sa

from grants.applications.models import Application, ApplicationState
from grants.database import db
from grants.organisations.models import Applicant
from grants.search.services import CANDIDATES, search
from tests.demo.test_seed import seed
from tests.factories import ManagerFactory


def found(user, query) -> set[int]:
    return {a.id for a in search(user, query, page_size=CANDIDATES, with_facets=False).applications}


def misspelled(name: str) -> str:
    """The name with its longest word's second letter left out ("Kaolack" → "Kolack")."""
    longest = max(re.findall(r"\w+", name), key=len)
    return name.replace(longest, longest[0] + longest[2:], 1)


def test_a_manager_finds_every_demo_dossier(app):
    seed(app)
    manager = ManagerFactory()
    dossiers = db.session.scalars(
        sa.select(Application).where(Application.state != ApplicationState.DRAFT)
        .options(sa.orm.selectinload(Application.applicant).selectinload(Applicant.organisation))
    ).all()
    assert dossiers
    typo_misses = []
    for application in dossiers:
        assert application.id in found(manager, application.reference), application.reference
        word = max(re.findall(r"\w+", application.title), key=len)
        assert application.id in found(manager, word), (application.title, word)
        organisation = application.applicant.organisation
        if organisation is None:
            continue
        assert application.id in found(manager, organisation.siret), organisation.siret
        if application.id not in found(manager, misspelled(organisation.name)):
            typo_misses.append((organisation.name, misspelled(organisation.name)))
    assert typo_misses == []
