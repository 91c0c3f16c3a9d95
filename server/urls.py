"""The public address printed in QR codes and links (posters, certificates, the two-rates survey).

``RUHU_PUBLIC_BASE_URL`` wins when it is set.  When it is not, a request answered by the server uses the
address the browser reached it at (so a demo on ``make run PORT=5101`` prints QR codes to port 5101), and a CLI
command, which has no request, uses ``http://$RUHU_HOST:$RUHU_PORT`` from its environment (``make`` exports
both from its HOST and PORT, the ones ``make run`` serves on; 127.0.0.1 and 5000 by default).  Behind a reverse proxy set ``RUHU_PUBLIC_BASE_URL``.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request


def public_base_url() -> str:
    configured = (current_app.config.get("RUHU_PUBLIC_BASE_URL") or "").strip()
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return current_app.config.get("RUHU_LOCAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
