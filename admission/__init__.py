"""The admission core: what a ticket gate needs to decide a scan, and nothing of the server.

``sites`` (the site bitmask of a code), ``codes`` (Ed25519-signed e-ticket codes),
``rules`` (entry and exit rules), ``identity`` (GB 11643-1999 resident ID numbers and other
documents), ``qr`` (reading a QR code in a photo, with OpenCV when it is installed) and
``errors``. It imports no Flask, no database and no server package, so the turnstile
(``gate_client``) installs it on its own: ``pip install ./turnstile`` (docs/gates.md).
The server's ``ticketing`` and ``gates`` decide with the same functions.
"""
