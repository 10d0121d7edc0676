"""WSGI entry point: ``gunicorn wsgi:app`` (settings from EC2BRIDGE_* variables)."""
from server.app import create_app

app = create_app()
