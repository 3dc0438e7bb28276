"""The Nautes API server v0.4.2, emulated (contract §1.2-§3.4).

:class:`NautesApiServer` listens on 127.0.0.1 and answers the 32 routes of the real kratos server with
the same decoding, validation order, error bodies and success messages. It keeps no state: every request
works with the caller's GitLab token against GitLab (groups, projects, ``default.project`` and the tenant
repository, over REST and git smart HTTP) and writes secrets to Vault, exactly where the real server
would put them.
"""

from nautes_refstack.nautes.server import NautesApiServer

__all__ = ["NautesApiServer"]
