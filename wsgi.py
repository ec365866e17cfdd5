"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi ..."""

from ecoflow import create_app

app = create_app()
