"""WSGI entry point for a WSGI server of your own: ``gunicorn -w 1 --threads 16 wsgi:app`` (settings from
EC2BRIDGE_* variables). ``ec2bridge serve`` runs gunicorn itself; keep one worker process per node, since
async jobs run in the serving process."""
from server.app import create_app

app = create_app()
