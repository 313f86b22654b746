"""What every HTTP front (the API and the web UI) checks before a request reaches it: which Host names it answers
and which peers may speak for a client through X-Forwarded-* headers."""

from agent.web.guard import guard

__all__ = ["guard"]
