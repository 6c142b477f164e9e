"""The local web page: setup wizard, settings, operator panel, wallboard, call log,
reports and a JSON API (Tornado on the daemon's event loop).  Entry: ``web.app.make_app``."""
