"""The staff console at ``/staff/`` (issue 16): sign-in, the role guard, and its pages.

Other parts of the console add their routes to the app ``init_staff_app`` makes, each
wrapped in ``require_role``; CSRF and the session are checked for all of them.
"""

from channels.staff.app import init_staff_app
from channels.staff.guard import STAFF_KEY, csrf_token, require_role

__all__ = ["STAFF_KEY", "csrf_token", "init_staff_app", "require_role"]
