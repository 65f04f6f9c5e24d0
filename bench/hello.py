"""The ceiling: a bare Flask "hello world", served by the same gunicorn settings as the application.

No database, no session, no template: what is left of a request is gunicorn, WSGI and Flask's routing.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
