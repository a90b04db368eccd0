"""The console's pages, one module per page, each an ``APIRouter`` named ``router``.

:data:`andon.web.routes.PAGES` lists them all; a new page is a module here plus a line there.
"""
