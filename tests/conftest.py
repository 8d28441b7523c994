"""Every cluster the tests start carries this session's scope (label io.hx.scope), so tests remove and
count only their own clusters, never a user's game day or another session's (docs/promises.md).

Set here, before any test or xdist worker starts: workers and `harness` subprocesses inherit it, and
scripts/test sets it itself so its leak check knows the scope.
"""
import os
import time
import uuid

os.environ.setdefault("HX_SCOPE", f"test-{time.strftime('%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}")
