"""The Key Account Service Portal."""

from __future__ import annotations

import importlib
import os
from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: layered config, extensions, blueprints, error pages, CLI. No side effects."""
    from portal import (
        admin,
        customer,
        errors,
        i18n,
        internal,
        permissions,
        rate_limits,
        rendering,
        security,
    )
    from portal import config as portal_config
    from portal.extensions import babel, csrf, db, htmx, login_manager, migrate

    app = Flask(
        __name__, instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or None, instance_relative_config=True
    )
    app.config.update(portal_config.DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(portal_config.environment_overrides())
    app.config.update(config or {})
    portal_config.finalise(app.config, app.instance_path)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "No secret key: set PORTAL_SECRET_KEY or SECRET_KEY in instance/config.py "
            "(`make run` writes a random one there on the first start)."
        )
    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    from portal import logs, metrics
    from portal.models import search as search_schema

    logs.init_app(app)
    metrics.init_app(app)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
        render_as_batch=True,
        compare_type=True,
        include_object=search_schema.include_object,
    )
    csrf.init_app(app)
    htmx.init_app(app)
    rate_limits.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    rendering.init_app(app)
    app.jinja_env.globals["permissions"] = permissions

    from portal import database

    database.init_app(app)
    from portal import page_cache

    page_cache.init_app(app)

    from portal import tasks
    from portal.services import background, unit_of_work
    from portal.services.messaging import notifications
    from portal.services.search import index as search_index

    notifications.install()
    unit_of_work.install()
    background.install()
    search_index.install()
    tasks.init_app(app)

    from portal import web

    app.url_map.converters["int"] = web.IdConverter
    from portal import health
    from portal.auth import views as auth_views
    from portal.finance import views as finance_views
    from portal.inbox import views as inbox_views
    from portal.manager import views as manager_views
    from portal.search import views as search_views
    from portal.survey import views as survey_views

    # A blueprint split over several modules names them (ROUTE_MODULES); their routes are added here.
    for package in (customer, internal, admin):
        for module in package.ROUTE_MODULES:
            importlib.import_module(f"{package.__name__}.{module}")
    for blueprint in (
        health.bp,
        metrics.bp,
        auth_views.bp,
        inbox_views.bp,
        search_views.bp,
        survey_views.bp,
        customer.bp,
        internal.bp,
        finance_views.bp,
        manager_views.bp,
        admin.bp,
    ):
        app.register_blueprint(blueprint)

    from portal import cli

    cli.init_app(app)
    return app
