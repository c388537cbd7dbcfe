"""The class server (``negsim class serve``): one server for the class, students at any seat in the browser.

Why this stack: a small ASGI app (Starlette, served by uvicorn) with plain HTML and JavaScript pages
and one websocket per seat, every file served by the app itself (no internet in the room; the QR
code is drawn server-side as SVG by segno). Rather than Solara (the dashboard's framework), because
what each seat may see is then explicit in every message the server sends, built by one function
per audience (``views``), and testable frame by frame; and a page is a few kilobytes a phone loads
at once. The game itself is ``sim.teaching.table`` (one engine thread per table) over the class's
SQLite database (``sim.teaching.classdb``).
"""
