"""The Chainlit web front end: a thin adapter over :mod:`agent.runtime` (see ``ui/app.py``)."""
