"""What gunicorn serves: ``gunicorn wsgi:app``. Refuses to start without a secret key."""

from portal import create_app

app = create_app()
